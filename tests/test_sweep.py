"""Sweeps: specs, designs, the content-addressed store, resume, failures and the tidy table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import model.cli
from model.errors import InputError
from model.execution import LocalPoolExecutor
from model.experiment.store import ResultStore
from model.experiment.tasks import run_key
from model.sweep import load_sweep
from model.sweep.runner import build_plan, run_sweep
from model.sweep.spec import load_spec
from tests.helpers import BASELINE, REAL_SPEC, ROOT

TOY_SPEC = f"""
name = "toy"
scenario = "{BASELINE.as_posix()}"
run = "tests.toy:toy_run"
replicates = {{replicates}}
root_seed = 3
kpis = ["roi", "contribution"]

[sweep]
outreach.pushes_per_week = {{pushes}}
"diversion.incentive_yuan" = [0.0, 6.0]
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def toy_spec(tmp_path, pushes=(1, 3), replicates=2, name="spec.toml"):
    return load_spec(
        write(tmp_path, TOY_SPEC.format(pushes=list(pushes), replicates=replicates), name)
    )


# --- specs and designs -------------------------------------------------------------------------


def test_grid_spec_gives_the_full_grid_with_nested_and_quoted_keys(tmp_path):
    spec = toy_spec(tmp_path, pushes=(1, 2, 4))
    points = spec.points()
    assert len(points) == 6
    assert points[0] == {"outreach.pushes_per_week": 1, "diversion.incentive_yuan": 0.0}
    assert points[-1] == {"outreach.pushes_per_week": 4, "diversion.incentive_yuan": 6.0}
    assert spec.method == "grid" and spec.replicates == 2


def test_sampled_spec_stays_in_range_and_is_reproducible(tmp_path):
    text = f"""
scenario = "{BASELINE.as_posix()}"
[sweep]
"diversion.p_join_max" = {{ low = 0.05, high = 0.3 }}
"outreach.p_unfollow_base" = {{ low = 0.001, high = 0.02, log = true }}
"operation.guides_initial" = {{ low = 1, high = 4, integer = true }}
"outreach.targeting" = ["all", "active"]
[sample]
method = "sobol"
n = 8
"""
    spec = load_spec(write(tmp_path, text))
    a, b = spec.points(), spec.points()
    assert a == b and len(a) == 16  # 2 listed values × 8 Sobol samples
    pj = np.array([p["diversion.p_join_max"] for p in a])
    pu = np.array([p["outreach.p_unfollow_base"] for p in a])
    assert pj.min() >= 0.05 and pj.max() <= 0.3
    assert pu.min() >= 0.001 and pu.max() <= 0.02
    assert {p["operation.guides_initial"] for p in a} <= {1, 2, 3, 4}
    # Each Sobol half has 4 points in each half of the log range: balance is kept.
    half = np.log(pu[:8]) < (np.log(0.001) + np.log(0.02)) / 2
    assert half.sum() == 4


def test_root_seed_defaults_to_the_base_scenarios_seed(tmp_path):
    """No root_seed in the file: the base's sim.seed, else the schema's default (one default)."""
    from model.scenario.schema import Sim

    text = TOY_SPEC.format(pushes=[1], replicates=1).replace("root_seed = 3\n", "")
    assert load_spec(write(tmp_path, text)).root_seed == 42 == Sim.model_fields["seed"].default
    stated = text.replace("[sweep]", '[set]\n"sim.seed" = 7\n\n[sweep]')
    assert load_spec(write(tmp_path, stated, "seeded.toml")).root_seed == 7


def test_shipped_specs_load_and_validate_every_point():
    paths = sorted((ROOT / "scenarios" / "sweeps").glob("*.toml"))
    kinds = ["sensitivity" if "sensitivity" in path.stem else "sweep" for path in paths]
    assert {"sweep", "sensitivity"} <= set(kinds), "no shipped sweep or sensitivity spec found"
    for path, kind in zip(paths, kinds, strict=True):
        spec = load_spec(path, kind=kind)
        if kind == "sweep":
            plan = build_plan(spec)
            assert 10 <= len(plan.tasks) <= 100, path
            assert spec.base_raw["market"]["size"] <= 50_000


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("replicates = 2", "replicats = 2"), "replicats: unknown key; did you mean 'replicates'?"),
        (
            ("outreach.pushes_per_week =", "outreach.pushes_per_wek ="),
            "sweep.outreach.pushes_per_wek: the scenario has no parameter "
            "'outreach.pushes_per_wek'; did you mean 'outreach.pushes_per_week'?",
        ),
        (
            ("[1, 3]", "[1, 9]"),
            "outreach.pushes_per_week = 9: Input should be less than or equal to 7",
        ),
        (('kpis = ["roi"', 'kpis = ["rio"'), "kpis: 'rio' is not a KPI; did you mean 'roi'?"),
        (
            ("[1, 3]", "{ low = 3, high = 1 }"),
            "sweep.outreach.pushes_per_week: low = 3 must be below high = 1",
        ),
        (("[1, 3]", "[]"), "sweep.outreach.pushes_per_week = []: list at least one value"),
    ],
)
def test_bad_specs_name_file_field_value_and_what_is_allowed(tmp_path, edit, message):
    text = TOY_SPEC.format(pushes=[1, 3], replicates=2).replace(*edit)
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        build_plan(load_spec(path))
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_cli_bad_spec_exits_2_and_writes_nothing(tmp_path):
    path = write(tmp_path, TOY_SPEC.format(pushes=[1, 3], replicates=2).replace("[1, 3]", "[1, 9]"))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "run.py", "sweep", str(path), "--out", str(out), "--workers", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "(point 2: " in proc.stderr
    assert "pushes_per_week = 9: Input should be less than or equal to 7" in proc.stderr
    assert not out.exists()


# --- run keys and the store --------------------------------------------------------------------


def test_run_key_depends_on_content_not_labels(tmp_path):
    spec = toy_spec(tmp_path)
    plan = build_plan(spec)
    task = plan.tasks[0]
    toy = {"run": spec.run}
    relabelled = {**task.scenario, "name": "other", "description": "x"}
    assert run_key(relabelled, task.root_seed, 0, **toy) == task.key
    assert run_key(task.scenario, task.root_seed, 1, **toy) != task.key
    assert run_key(task.scenario, task.root_seed + 1, 0, **toy) != task.key
    assert run_key(task.scenario, task.root_seed, 0, version="9.9", **toy) != task.key
    # The simulator's runs and a stand-in's never share a key.
    assert run_key(task.scenario, task.root_seed, 0) != task.key
    assert len({t.key for t in plan.tasks}) == 8


def test_resume_and_extension_reuse_every_finished_run(tmp_path):
    out = tmp_path / "out"
    first = run_sweep(toy_spec(tmp_path, replicates=1), out, workers=1, progress=False, plots=False)
    assert (first.report.n_ran, first.report.n_reused) == (4, 0)
    # More replicates and points: only the new runs are run.
    bigger = run_sweep(
        toy_spec(tmp_path, pushes=(1, 3, 5), replicates=2),
        out,
        workers=1,
        progress=False,
        plots=False,
    )
    assert (bigger.report.n_runs, bigger.report.n_reused, bigger.report.n_ran) == (12, 4, 8)
    again = run_sweep(
        toy_spec(tmp_path, pushes=(1, 3, 5), replicates=2),
        out,
        workers=1,
        progress=False,
        plots=False,
    )
    assert again.report.n_ran == 0 and again.result_hash == bigger.result_hash
    # A fresh directory computes the same numbers.
    fresh = run_sweep(
        toy_spec(tmp_path, pushes=(1, 3, 5), replicates=2),
        tmp_path / "fresh",
        workers=1,
        progress=False,
        plots=False,
    )
    assert fresh.result_hash == bigger.result_hash
    # Part files only, never a temporary one left behind.
    assert all(p.name.startswith("part-") for p in (out / "runs").iterdir())


def test_a_run_that_raises_is_recorded_and_the_others_finish(tmp_path):
    spec = toy_spec(tmp_path, pushes=(1, 7), replicates=2)
    result = run_sweep(spec, tmp_path / "out", workers=2, progress=False, plots=False)
    assert result.report.n_ran == 8
    assert result.report.n_failed == 4 and result.n_failed_total == 4
    assert result.n_missing == 0
    table = load_sweep(tmp_path / "out", wide=True)
    failed = table[table["status"] == "error"]
    assert set(failed["outreach.pushes_per_week"]) == {7}
    assert failed["error"].str.startswith("ValueError: toy model: 7 pushes").all()
    assert failed["roi"].isna().all()
    ok = table[table["status"] == "ok"]
    assert len(ok) == 4 and ok["roi"].notna().all()
    # Recorded errors are results: a resume does not run them again.
    again = run_sweep(spec, tmp_path / "out", workers=1, progress=False, plots=False)
    assert again.report.n_ran == 0 and again.n_failed_total == 4


def test_load_sweep_is_tidy_and_wide_on_request(tmp_path):
    out = tmp_path / "out"
    run_sweep(toy_spec(tmp_path), out, workers=1, progress=False, plots=False)
    long = load_sweep(out)
    assert list(long.columns) == [
        "run_key",
        "point",
        "replicate",
        "seed",
        "outreach.pushes_per_week",
        "diversion.incentive_yuan",
        "status",
        "error",
        "metric",
        "value",
    ]
    assert len(long) == 4 * 2 * 2 and set(long["metric"]) == {"roi", "contribution"}
    wide = load_sweep(out, wide=True)
    assert len(wide) == 8 and {"roi", "contribution"} <= set(wide.columns)
    # The toy's roi: 0.5 − 0.05·(pushes − 3)² + 0.02·incentive + noise(sd 0.01).
    expect = (
        0.5
        - 0.05 * (wide["outreach.pushes_per_week"] - 3) ** 2
        + 0.02 * wide["diversion.incentive_yuan"]
    )
    assert np.abs(wide["roi"] - expect).max() < 0.05
    everything = load_sweep(out, metrics="all")
    assert "repurchase_rate_90d" in set(everything["metric"])
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["points"][0]["runs"][0] == wide.loc[0, "run_key"]


# --- same numbers whichever executor --------------------------------------------------------


def test_real_model_hash_identical_in_process_1_and_2_processes_and_reversed(tmp_path):
    spec = load_spec(write(tmp_path, REAL_SPEC))
    kw = {"progress": False, "plots": False}
    serial = run_sweep(spec, tmp_path / "serial", workers=1, **kw)
    assert serial.report.n_ran == 12 and serial.n_failed_total == 0
    with LocalPoolExecutor(1) as one:
        single = run_sweep(spec, tmp_path / "one", executor=one, **kw)
    double = run_sweep(spec, tmp_path / "two", workers=2, reverse=True, **kw)
    assert serial.result_hash == single.result_hash == double.result_hash
    table = load_sweep(tmp_path / "two", wide=True)
    assert table["n_private"].gt(0).all()
    # More pushes lose more members to unfollows (a directional check on stored numbers).
    means = table.groupby("outreach.pushes_per_week")["n_private"].mean()
    assert means[1] > means[7]


def test_cli_sweep_prints_counts_best_points_and_writes_plots(tmp_path):
    path = write(tmp_path, REAL_SPEC)
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "run.py",
            "sweep",
            str(path),
            "--out",
            str(out),
            "--workers",
            "2",
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "running 12" in proc.stdout
    assert "12/12 runs stored, 0 failed" in proc.stdout
    assert "ROI (higher is better):" in proc.stdout and "at point" in proc.stdout
    assert {p.name for p in (out / "plots").iterdir()} == {
        "roi.png",
        "contribution.png",
        "n_private.png",
    }
    assert pd.read_parquet(out / "runs").shape[0] == 12


def test_lost_runs_are_run_again_and_temporaries_are_ignored(tmp_path):
    spec = toy_spec(tmp_path, replicates=1)
    plan = build_plan(spec)
    store = ResultStore(tmp_path / "out")
    with store.writer() as writer:
        # One run whose worker kept dying: stored, but not a result.
        writer.add(
            {
                "run_key": plan.tasks[0].key,
                "root_seed": 3,
                "replicate": 0,
                "status": "lost",
                "error": "worker lost after 3 attempts: KilledWorker",
            }
        )
    # A part file caught half-written by kill -9 keeps its temporary name: never read.
    (store.runs_dir / ".part-1-999999-1.tmp").write_bytes(b"PAR1 garbage")
    assert store.finished_keys() == set()
    result = run_sweep(spec, tmp_path / "out", workers=1, progress=False, plots=False)
    assert (result.report.n_ran, result.report.n_reused) == (4, 0)
    assert result.n_missing == 0
    stored = store.read()
    assert stored.set_index("run_key").loc[plan.tasks[0].key, "status"] == "ok"
    assert not (store.runs_dir / ".part-1-999999-1.tmp").exists()  # pid 999999 is dead


def test_one_parameter_gives_line_plots_and_sampled_gives_scatter(tmp_path):
    one = write(
        tmp_path,
        TOY_SPEC.format(pushes=[1, 2, 3, 4], replicates=3).replace(
            '"diversion.incentive_yuan" = [0.0, 6.0]', ""
        ),
        "one.toml",
    )
    result = run_sweep(load_spec(one), tmp_path / "one", workers=1, progress=False)
    assert [p.name for p in result.plots] == ["roi.png", "contribution.png"]
    # The toy's roi peaks at 3 pushes a week: the best point says so.
    best = result.best.set_index("kpi")
    assert best.loc["roi", "outreach.pushes_per_week"] == 3
    sampled = write(
        tmp_path,
        TOY_SPEC.format(pushes="{ low = 0.5, high = 6.0 }", replicates=1)
        + '[sample]\nmethod = "lhs"\nn = 5\n',
        "sampled.toml",
    )
    result = run_sweep(load_spec(sampled), tmp_path / "sampled", workers=1, progress=False)
    assert result.report.n_runs == 10 and all(p.stat().st_size > 0 for p in result.plots)


# --- levers are choices, the market is not -------------------------------------------------

MARKET_TOY = f"""
name = "toy_market"
run = "tests.toy:toy_run"
replicates = 2
root_seed = 5
kpis = ["roi", "contribution", "n_public"]

[market]
base = "{BASELINE.as_posix()}"

[sweep]
"diversion.p_join_max" = {{ low = 0.05, high = 0.30 }}
"behaviour.rel_rate_private" = {{ low = 1.0, high = 1.6 }}
{{levers}}

[sample]
n = 12
"""


def test_a_sweep_over_the_market_reports_ranges_not_a_best_point(tmp_path):
    """Market parameters are not choices: ranges and rank correlations, no best point."""
    spec = load_spec(write(tmp_path, MARKET_TOY.replace("{levers}", "")))
    assert spec.market_params == ["diversion.p_join_max", "behaviour.rel_rate_private"]
    result = run_sweep(spec, tmp_path / "o", workers=1, progress=False, plots=False)
    assert result.best.empty
    ranges = result.ranges.set_index("kpi")
    # The toy's contribution is 1e6·p_join_max + 2e4·rel_rate + noise(sd 2e3): p_join_max
    # orders the points almost perfectly, rel_rate (a 12k spread against 250k) hardly.
    row = ranges.loc["contribution"]
    assert row["diversion.p_join_max"] > 0.95
    assert abs(row["behaviour.rel_rate_private"]) < 0.6
    assert 0.05e6 < row["min"] < row["median"] < row["max"] < 0.33e6
    assert row["n_points"] == 12


def test_a_sweep_over_levers_and_market_picks_the_lever_on_average(tmp_path):
    """Best lever setting by its mean over the market points; neutral KPIs are never ranked."""
    text = MARKET_TOY.replace("{levers}", '"outreach.pushes_per_week" = [1, 3, 5]')
    result = run_sweep(
        load_spec(write(tmp_path, text)), tmp_path / "o", workers=1, progress=False, plots=False
    )
    best = result.best.set_index("kpi")
    # The toy's roi peaks at 3 pushes a week whatever the market.
    assert best.loc["roi", "outreach.pushes_per_week"] == 3
    assert best.loc["roi", "n"] == 12 * 2
    assert "diversion.p_join_max" not in best.columns
    assert "n_public" not in best.index  # descriptive: summarised, not ranked
    assert set(result.ranges["kpi"]) == {"roi", "contribution", "n_public"}


def test_cli_sweep_draws_no_progress_bar_into_a_log(tmp_path):
    """Into a pipe, as into a redirected log, no bar is drawn even without --no-progress."""
    path = write(tmp_path, MARKET_TOY.replace("{levers}", ""))
    proc = subprocess.run(
        [
            sys.executable,
            "run.py",
            "sweep",
            str(path),
            "--out",
            str(tmp_path / "o"),
            "--workers",
            "1",
            "--no-plots",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "%|" not in proc.stderr and "run/s" not in proc.stderr
    assert "no best point" in proc.stdout and "rank" in proc.stdout


def test_scale_runs_every_point_as_a_faithful_miniature(tmp_path):
    """Sweep --scale F is market.scale = F on every point (the runs' keys say so)."""
    path = write(tmp_path, TOY_SPEC.format(pushes=[1, 3], replicates=1))
    out = tmp_path / "o"
    assert (
        model.cli.main(
            [
                "sweep",
                str(path),
                "--scale",
                "0.5",
                "--workers",
                "1",
                "--no-plots",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    manifest = json.loads((out / "sweep.json").read_text())
    scaled = build_plan(load_spec(path, overrides={"market.scale": 0.5}))
    plain = build_plan(load_spec(path))
    assert [k for p in manifest["points"] for k in p["runs"]] == [t.key for t in scaled.tasks]
    assert {t.key for t in scaled.tasks}.isdisjoint(t.key for t in plain.tasks)
    assert all(t.scenario["market"]["scale"] == 0.5 for t in scaled.tasks)


def test_the_best_setting_band_writes_a_trailing_unit_once():
    from model.commands.sweep import _with_band

    assert (
        _with_band("unfollows_per_1000_pushes", 1.21, 0.36, 1.83) == "1.21 [0.36, 1.83] per 1,000"
    )
    assert _with_band("contribution", 7768, 7322, 8239) == "¥7,768 [¥7,322, ¥8,239]"
    assert _with_band("roi", 0.649, 0.612, 0.69) == "64.9% [61.2%, 69.0%]"
