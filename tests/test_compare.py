"""``run.py compare``: common draws and random numbers, exact zeros, the CLI's files, bad files."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import model.cli
from model.compare import load_comparison, run_comparison
from model.errors import InputError
from model.experiment.store import ResultStore

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "compare"
SMALL = DATA / "small.toml"
BASELINE = ROOT / "scenarios" / "baseline.toml"

OUTPUT_FILES = (
    "runs.parquet",
    "kpis.parquet",
    "kpis.csv",
    "comparison.csv",
    "ranking.csv",
    "draws.csv",
    "provenance.json",
    "kpi_distributions.png",
    "paired_differences.png",
    "contribution_fan.png",
    "customers_by_domain.png",
    "report.html",
)
DRAWN_FILES = ("conditions.csv", "conditions.png")


@pytest.fixture
def cli():
    """``model.cli.main``, in-process."""
    return model.cli.main


def write_comparison(
    path: Path,
    strategies: str,
    *,
    reference: str,
    replicates: int = 4,
    draws: int = 0,
    market: str = "",
    extra: str = "",
) -> Path:
    """A comparison file on a small market (20k people, 120 days) with the given strategies."""
    path.write_text(
        f'name = "t"\nreference = "{reference}"\nreplicates = {replicates}\ndraws = {draws}\n'
        f"root_seed = 11\n{extra}\n"
        f'[market]\nbase = "{BASELINE.as_posix()}"\n[market.set]\n'
        '"market.size" = 20_000\n"market.initial_public" = 5_000\n"sim.days" = 120\n'
        '"budget.per_day_yuan" = 1_000.0\n"platforms.tmall.daily_cap" = 15.0\n'
        f"{market}\n{strategies}"
    )
    return path


# --- common random numbers and common draws -------------------------------------------------


def test_common_random_numbers_shrink_the_spread_of_paired_differences(tmp_path):
    """Replicate i of both strategies on one seed: the paired difference is far less noisy."""
    spec_file = write_comparison(
        tmp_path / "crn.toml",
        '[[strategies]]\nname = "push2"\n'
        '[[strategies]]\nname = "push4"\nset = { "outreach.pushes_per_week" = 4.0 }\n',
        reference="push2",
        replicates=16,
    )
    crn = run_comparison(spec_file, workers=1).kpis
    other = run_comparison(spec_file, workers=1, seed=12345).kpis  # independent seeds

    def values(kpis, strategy, metric):
        return kpis[kpis["strategy"] == strategy].sort_values("replicate")[metric].to_numpy()

    for metric in ("contribution", "revenue"):
        paired = values(crn, "push4", metric) - values(crn, "push2", metric)
        independent = values(other, "push4", metric) - values(crn, "push2", metric)
        # Measured 0.16 (contribution) and 0.15 (revenue) of the independent spread with
        # keyed per-customer draws, 0.33 with the per-process streams they replaced. With 16
        # replicates each spread carries ≈18% sampling error, so 0.25 leaves room for that and
        # still rejects the old pairing. What is left is the pushes' own luck: who buys or
        # leaves after a third and fourth weekly push exists only in push4.
        assert np.std(paired, ddof=1) < 0.25 * np.std(independent, ddof=1), metric
    # The same replicate index means the same seed in every strategy.
    seeds = crn.pivot(index="replicate", columns="strategy", values="seed")
    assert (seeds["push2"] == seeds["push4"]).all()
    assert seeds["push2"].nunique() == 16


def test_strategy_identical_to_reference_differs_by_exactly_zero(tmp_path):
    """A strategy identical to the reference differs from it by exactly zero, on every draw."""
    spec_file = write_comparison(
        tmp_path / "same.toml",
        '[[strategies]]\nname = "persona"\nset = { "operation.mode" = "persona" }\n'
        '[[strategies]]\nname = "same"\ndescription = "the baseline unchanged"\n'
        '[[strategies]]\nname = "guides"\nset = { "operation.mode" = "guides" }\n',
        reference="persona",
        replicates=2,
        draws=3,
    )
    result = run_comparison(spec_file, workers=1)
    summary = result.summary()
    same = summary[summary["strategy"] == "same"]
    diffs = same[["diff_vs_reference_median", "diff_vs_reference_p10", "diff_vs_reference_p90"]]
    defined = same["n_pairs"] > 0
    assert defined.sum() >= 10 and (same.loc[defined, "n_cells"] == 6).all()
    assert (diffs[defined].to_numpy() == 0.0).all()
    ranked = defined & (same["direction"] != "neutral")
    assert (same.loc[ranked, "p_beats_reference"] == 0.5).all()
    # Descriptive stocks (n_public: neither more nor fewer is better) are never "beaten".
    assert same.loc[same["direction"] == "neutral", "p_beats_reference"].isna().all()
    assert same.loc[same["direction"] == "neutral", "p_best"].isna().all()
    # Two identical strategies share their runs (one content address) and their regret.
    contribution = summary[summary["metric"] == "contribution"].set_index("strategy")
    assert contribution.loc["same", "regret_mean"] == contribution.loc["persona", "regret_mean"]
    # ... and a real change does move things (the test is not vacuous).
    assert contribution.loc["guides", "diff_vs_reference_median"] != 0.0


def test_every_strategy_runs_on_the_same_draws_and_seeds(tmp_path):
    """Cell (d, i): one market (the draw's values) and one seed for every strategy."""
    from model.compare.runner import comparison_plan

    spec = load_comparison(
        write_comparison(
            tmp_path / "d.toml",
            '[[strategies]]\nname = "none"\nset = { "operation.mode" = "none" }\n'
            '[[strategies]]\nname = "persona"\n',
            reference="none",
            replicates=2,
            draws=4,
        )
    )
    plan = comparison_plan(spec)
    assert len(plan.table) == 2 * 4 * 2
    draws = spec.draw_table.set_index("draw")
    tasks = {t.key: t for t in plan.tasks}
    keys = [d.key for d in spec.uncertainty.drawn]
    for (draw, rep), cell in plan.table.groupby(["draw", "replicate"]):
        seeds = {tasks[k].root_seed for k in cell["run_key"]}
        assert seeds == {draws.loc[draw, "seed"]} and set(cell["replicate"]) == {rep}
        for key in cell["run_key"]:
            scenario = tasks[key].scenario
            for dotted in keys:
                node = scenario
                for part in dotted.split("."):
                    node = node[part]
                assert node == draws.loc[draw, dotted], dotted
    # Draws have seeds of their own: cells of different draws are independent.
    assert draws["seed"].nunique() == 4 and 11 not in set(draws["seed"])


# --- the command line ------------------------------------------------------------------------


def test_compare_cli_writes_every_file_and_is_worker_independent(cli, tmp_path, capsys):
    """The CLI writes every file, names every strategy, and 1 or 2 workers agree to the bit."""
    outs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        assert (
            cli(
                [
                    "compare",
                    str(SMALL),
                    "--workers",
                    str(workers),
                    "--draws",
                    "3",
                    "--replicates",
                    "2",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        outs[workers] = out
    printed = capsys.readouterr().out
    for out in outs.values():
        for name in (*OUTPUT_FILES, *DRAWN_FILES):
            assert (out / name).is_file(), name
        for strategy in ("public_only", "persona", "guides"):
            assert (out / "scenarios" / f"{strategy}.toml").is_file()
    # The terminal shows the ranking with P(best), regret, the verdict and the conditions, and
    # flags P(beats) resting on fewer than 10 cells (3 draws × 2 replicates = 6).
    for needle in (
        "public_only (reference)",
        "P(best)",
        "regret mean/p90",
        "Verdict:",
        "minimax",
        "What would have to be true",
        "rests on only 6 cells",
        "Pays back against public_only",
        "¥",
    ):
        assert needle in printed, needle

    one, two = outs[1], outs[2]
    for name in ("runs.parquet", "kpis.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(one / name), pd.read_parquet(two / name))
    for name in ("comparison.csv", "draws.csv", "conditions.csv", "ranking.csv"):
        assert (one / name).read_text() == (two / name).read_text(), name

    runs = pd.read_parquet(one / "runs.parquet")
    assert list(runs.columns) == [
        "scenario",
        "strategy",
        "draw",
        "replicate",
        "seed",
        "day",
        "metric",
        "value",
    ]
    assert len(runs.groupby(["strategy", "draw", "replicate"], observed=True)) == 3 * 3 * 2
    comparison = pd.read_csv(one / "comparison.csv")
    assert list(comparison.columns[:9]) == [
        "strategy",
        "metric",
        "median",
        "p10",
        "p90",
        "diff_vs_reference_median",
        "diff_vs_reference_p10",
        "diff_vs_reference_p90",
        "p_beats_reference",
    ]
    assert {"p_best", "regret_mean", "regret_p90", "direction", "n", "n_pairs"} <= set(
        comparison.columns
    )
    assert set(comparison["strategy"]) == {"public_only", "persona", "guides"}
    draws = pd.read_csv(one / "draws.csv")
    assert len(draws) == 3 and list(draws.columns[:2]) == ["draw", "seed"]
    conditions = pd.read_csv(one / "conditions.csv")
    assert list(conditions.columns[:7]) == [
        "strategy",
        "versus",
        "parameter",
        "low",
        "high",
        "coverage",
        "density",
    ]

    report = (one / "report.html").read_text(encoding="utf-8")
    for strategy in ("public_only", "persona", "guides"):
        assert strategy in report
    assert report.count("data:image/png;base64,") == 5
    assert 'src="http' not in report and "<link" not in report  # self-contained
    for needle in (
        "Verdict",
        "Ranking by median Value created",
        "What would have to be true",
        "What we don't know",
        "registry",
        "What each strategy changes",
        "operation.mode",
        "provenance",
        "root seed",
        "Resolved scenario",
        "--draw",
        "n/a = undefined",
        "¥",
    ):
        assert needle in report, needle


def test_flags_override_file_defaults(cli, tmp_path):
    """--replicates, --seed and --set override the file; --no-plots skips the figures."""
    out = tmp_path / "o"
    assert (
        cli(
            [
                "compare",
                str(SMALL),
                "--workers",
                "1",
                "--replicates",
                "2",
                "--seed",
                "5",
                "--set",
                "sim.days=60",
                "--no-plots",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    kpis = pd.read_parquet(out / "kpis.parquet")
    assert sorted(kpis["replicate"].unique()) == [0, 1] and set(kpis["draw"]) == {0}
    assert kpis["seed"].iloc[0].startswith("5/")
    # --set changes the shared market of every strategy.
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs.groupby("strategy", observed=True)["day"].max().eq(59).all()
    assert not (out / "kpi_distributions.png").exists()  # --no-plots
    assert not (out / "conditions.csv").exists()  # no draws, no conditions


def test_no_uncertainty_runs_the_same_number_of_runs_on_the_base_market(tmp_path):
    """--no-uncertainty: one market, draws × replicates replicates, the root seed's own."""
    spec_file = write_comparison(
        tmp_path / "n.toml",
        '[[strategies]]\nname = "a"\n[[strategies]]\nname = "b"\n',
        reference="a",
        replicates=2,
        draws=3,
    )
    drawn = load_comparison(spec_file)
    plain = load_comparison(spec_file, uncertainty=False)
    assert (drawn.draws, drawn.replicates) == (3, 2) and drawn.uncertainty.enabled
    assert (plain.draws, plain.replicates) == (1, 6) and not plain.uncertainty.enabled
    assert plain.draw_table.to_dict("records") == [{"draw": 0, "seed": 11}]
    assert load_comparison(spec_file, uncertainty=False, replicates=4).replicates == 4


# --- bad comparison files --------------------------------------------------------------------

BAD_FILES = {
    "wrong_unknown_strategy_key.toml": [
        "strategies[1].sett",
        "unknown key",
        "did you mean 'set'?",
        "name, description, set",
    ],
    "wrong_missing_reference.toml": ["reference", "required", "'public_only', 'persona'"],
    "wrong_reference_name.toml": [
        "reference = 'public_onyl'",
        "did you mean 'public_only'?",
        "'public_only', 'persona'",
    ],
    "wrong_schema_key.toml": [
        "strategy 'guides'",
        "strategies[1].set",
        "operation.mod = 'guides'",
        "unknown key",
        "did you mean 'mode'?",
        "Allowed here: mode,",
    ],
    "wrong_schema_value.toml": [
        "strategy 'franchise'",
        "operation.mode = 'franchise'",
        "'none', 'persona', 'guides' or 'distribution'",
    ],
    "wrong_syntax.toml": ["not valid TOML", "line 7"],
    "wrong_top_key.toml": ["replicate: unknown key", "did you mean 'replicates'?"],
    "wrong_uncertainty_lever.toml": [
        "uncertainty.outreach.pushes_per_week",
        "is a lever parameter",
        "only market parameters",
    ],
    "wrong_uncertainty_range.toml": [
        "uncertainty.outreach.p_response",
        "low = 0.05 must be below high = 0.01",
    ],
    "wrong_uncertainty_bound.toml": [
        "uncertainty.diversion.p_join_max.high = 1.5",
        "less than or equal to 1",
    ],
    "wrong_uncertainty_key.toml": [
        "uncertainty.outreach.p_respons",
        "not a scenario parameter",
        "did you mean 'outreach.p_response'?",
    ],
    "wrong_uncertainty_twice.toml": [
        "uncertainty.outreach.p_response",
        "[market] set sets it to 0.02",
        "keep one",
    ],
    "wrong_draws.toml": ["draws = 1", "give 0 (no draws"],
    "wrong_rank_by_neutral.toml": ["rank_by = 'n_public'", "descriptive", "never ranked"],
    "wrong_sweep_table.toml": ["sample: belongs to sweep specs"],
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_comparison_files_fail_clearly(cli, tmp_path, capsys, name):
    """A broken file: one message naming file, field, value and what is allowed; exit 2."""
    path = DATA / name
    out = tmp_path / "out"
    assert cli(["compare", str(path), "--workers", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: "), err
    assert err.count("\n") == 1, err  # one message, no traceback
    for needle in BAD_FILES[name]:
        assert needle in err, (needle, err)
    assert not out.exists()
    assert not list(tmp_path.iterdir())  # no partial directory either
    with pytest.raises(InputError):
        load_comparison(path)


def test_every_bad_fixture_is_tested():
    """Each wrong_*.toml fixture has its expected message here."""
    assert {p.name for p in DATA.glob("wrong_*.toml")} == set(BAD_FILES)


def test_a_sweep_spec_is_not_a_comparison(cli, tmp_path, capsys):
    """Each command says which command a file of the other kind needs."""
    spec = ROOT / "scenarios" / "sweeps" / "outreach_vs_incentive.toml"
    assert cli(["compare", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert "not a comparison: run it with `python run.py sweep`" in capsys.readouterr().err
    assert cli(["sweep", str(SMALL), "--out", str(tmp_path / "o")]) == 2
    assert "not a sweep: run it with `python run.py compare`" in capsys.readouterr().err


# --- resuming --------------------------------------------------------------------------------


def test_stored_runs_are_reused_and_only_missing_runs_run(tmp_path, monkeypatch):
    """An interrupted comparison resumes: finished runs come from the store, not a rerun."""
    import model.experiment.engine as engine

    store = tmp_path / "store"
    first = run_comparison(SMALL, replicates=2, workers=1, store=store)
    assert len(ResultStore(store).finished_keys()) == 6  # 3 strategies × 2 replicates

    ran = []
    real = engine.run_task

    def counting(task):
        ran.append((task.label, task.replicate))
        return real(task)

    monkeypatch.setattr(engine, "run_task", counting)
    more = run_comparison(SMALL, replicates=3, workers=1, store=store)
    assert sorted(ran) == [("guides", 2), ("persona", 2), ("public_only", 2)]
    fresh = run_comparison(SMALL, replicates=3, workers=1)
    pd.testing.assert_frame_equal(more.kpis, fresh.kpis)
    pd.testing.assert_frame_equal(more.to_frame(), fresh.to_frame())
    pd.testing.assert_frame_equal(
        more.kpis[more.kpis["replicate"] < 2].reset_index(drop=True),
        first.kpis.reset_index(drop=True),
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_cli_resumes_after_ctrl_c_and_cleans_up(tmp_path):
    """SIGINT mid-comparison keeps finished runs; the same command then runs only the rest."""
    out = tmp_path / "cmp"
    store = tmp_path / ".cmp.runs"
    cmd = [
        sys.executable,
        "run.py",
        "compare",
        str(SMALL),
        "--workers",
        "1",
        "--replicates",
        "3",
        "--draws",
        "12",
        "--out",
        str(out),
        "--no-plots",
    ]
    # A shell without job control starts background jobs with SIGINT ignored, and an ignored
    # signal stays ignored across exec: run under such a shell (CI, `pytest &`), the child
    # never saw the Ctrl-C and finished with 0. Give it the default disposition.
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 120
    while not ResultStore(store).part_files() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "run the same command to resume" in err
    kept = len(ResultStore(store).finished_keys())
    assert 1 <= kept < 108 and not out.exists()

    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"resuming: {kept} finished runs reused" in again.stdout
    assert (out / "comparison.csv").is_file() and not store.exists()
    resumed = pd.read_parquet(out / "kpis.parquet")
    fresh = run_comparison(SMALL, replicates=3, draws=12, workers=1)
    pd.testing.assert_frame_equal(
        resumed.reset_index(drop=True), fresh.kpis.reset_index(drop=True), check_dtype=False
    )
    # A log, not a terminal: no progress bar in it.
    assert "run/s" not in again.stderr and "%|" not in again.stderr


def test_scale_is_sugar_for_setting_the_market_scale(cli, tmp_path):
    """--scale F runs exactly what --set market.scale=F runs."""
    runs = {}
    for name, flags in (("scale", ["--scale", "0.5"]), ("set", ["--set", "market.scale=0.5"])):
        out = tmp_path / name
        assert (
            cli(
                [
                    "compare",
                    str(SMALL),
                    "--workers",
                    "1",
                    "--replicates",
                    "1",
                    "--no-plots",
                    *flags,
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        runs[name] = pd.read_parquet(out / "kpis.parquet")
    pd.testing.assert_frame_equal(runs["scale"], runs["set"])
    plain = run_comparison(SMALL, replicates=1, workers=1).kpis
    assert (runs["scale"]["orders"] < plain["orders"]).all()  # half the market, fewer orders
