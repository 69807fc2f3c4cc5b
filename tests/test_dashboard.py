"""The dashboard without a browser: controls, runs, cancellation, tabs, save-as, the command.

The page object (``model.dashboard.app.Dashboard``) is driven directly: set a control's value,
call ``run()``, ``poll()`` until the background run finishes, read what the page would show.
The browser test (``test_dashboard_browser.py``) checks the same page in Chromium.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip(
    "bokeh", reason="the dashboard extra is not installed: pip install -e '.[dashboard]'"
)

import pandas as pd  # noqa: E402
import psutil  # noqa: E402

from model.api import simulate  # noqa: E402
from model.compare.runner import RunTask, run_task  # noqa: E402
from model.compare.spec import load_comparison  # noqa: E402
from model.dashboard import adapter  # noqa: E402
from model.dashboard.app import Dashboard  # noqa: E402
from model.errors import InputError  # noqa: E402
from model.scenario import load_scenario, scenario_to_toml  # noqa: E402
from model.scenario.params import parameter  # noqa: E402
from model.scenario.schema import Operation, Outreach  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMPARISON = ROOT / "scenarios" / "compare_operating_modes.toml"
BASELINE = ROOT / "scenarios" / "baseline.toml"
SMALL_SCALE = "1"  # index into adapter.SCALES: 1/50 of the market, 20k people


@pytest.fixture(scope="module", autouse=True)
def no_processes_left_behind():
    """Stop the runs' forkserver after this module: later tests count this process's children."""
    yield
    from multiprocessing import forkserver

    forkserver._forkserver._stop()  # CPython's own tests stop it this way (no public API)


@pytest.fixture(scope="module")
def study():
    return adapter.load_study(COMPARISON)


def wait(dash: Dashboard, timeout: float = 120) -> None:
    """Poll the page until its run is no longer running."""
    deadline = time.monotonic() + timeout
    while dash.job is not None and dash.job.state == "running":
        assert time.monotonic() < deadline, "the run did not finish in time"
        dash.poll()
        time.sleep(0.02)


def loader_message(path: Path, overrides: dict) -> str:
    """The scenario loader's own message for these overrides, without its file prefix."""
    with pytest.raises(InputError) as err:
        load_scenario(path, overrides)
    return str(err.value).split(": ", 1)[1].removesuffix(" [from an override, not the file]")


# --- controls --------------------------------------------------------------------------------


def test_controls_show_the_files_values_and_the_schemas_bounds(study):
    dash = Dashboard(study)
    assert dash.strategy_select.options == ["public_only", "persona", "guides", "distribution"]
    dash.select_strategy("distribution")
    scenario = study.strategy("distribution").scenario
    c = dash.controls
    assert c["referral.reward_yuan"].value == scenario.referral.reward_yuan == 15.0
    assert c["outreach.pushes_per_week"].value == scenario.outreach.pushes_per_week
    assert c["budget.per_day_yuan"].value == scenario.budget.per_day_yuan
    assert c["diversion.incentive_yuan"].value == scenario.diversion.incentive_yuan
    assert c["platforms.tmall.budget_share"].value == 1.0
    assert c["operation.mode"].value == "distribution"
    assert c["outreach.targeting"].value == scenario.outreach.targeting
    # Bounds and choices are the schema's, not copies.
    pushes = Outreach.model_fields["pushes_per_week"].metadata
    assert (c["outreach.pushes_per_week"].low, c["outreach.pushes_per_week"].high) == (
        pushes[0].ge,
        pushes[1].le,
    )
    assert (c["platforms.tmall.budget_share"].low, c["platforms.tmall.budget_share"].high) == (0, 1)
    assert c["budget.per_day_yuan"].low == 0 and c["budget.per_day_yuan"].high is None
    assert c["operation.mode"].options == ["none", "persona", "guides", "distribution"]
    assert tuple(c["operation.mode"].options) == Operation.model_fields["mode"].annotation.__args__
    assert "0–7" in c["outreach.pushes_per_week"].title
    # The strategies side by side: the distribution column shows its ¥15 reward.
    assert re.search(
        r"Referral reward</td>(<td[^>]*>10</td>){3}<td[^>]*>15</td>", dash.strategies_div.text
    )


def test_one_control_per_platform():
    raw_levers = adapter.levers_for(
        load_scenario(
            BASELINE,
            {
                "platforms.jd": {"budget_share": 0.3},
                "platforms.tmall.budget_share": 0.7,
            },
        )
    )
    keys = [lever.key for lever in raw_levers]
    assert "platforms.tmall.budget_share" in keys and "platforms.jd.budget_share" in keys


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("outreach.pushes_per_week", 9),
        ("platforms.tmall.budget_share", 0.5),
        ("referral.reward_yuan", -1),
        ("outreach.pushes_per_week", None),
    ],
)
def test_bad_input_shows_the_loaders_message_and_runs_nothing(study, key, value):
    dash = Dashboard(study)
    dash.controls[key].value = value
    dash.run()
    assert dash.job is None
    assert "data-state='invalid'" in dash.status.text
    expected = loader_message(BASELINE, {key: value})
    assert expected in dash.status.text.replace("&#x27;", "'")


def test_run_size_is_market_scale_and_levers_are_never_drawn(study):
    # The run size is the one faithful miniature (market.scale), not a hand-made copy: the
    # edited scenario is the file's strategy with market.scale set, everything else as written.
    scenario = study.strategy("guides").scenario
    values = adapter.lever_values(scenario, adapter.levers_for(scenario))
    edited = adapter.edited_scenario(study, "guides", values, scale=1 / 20, seed=42)
    full, mini = scenario.model_dump(), edited.model_dump()
    full["market"]["scale"], full["sim"]["seed"], full["name"] = 1 / 20, 42, mini["name"]
    assert mini == full
    # A lever is each strategy's choice, never a drawn market parameter: an edited strategy
    # runs on exactly the draws the file's strategies run on.
    for lever in adapter.levers_for(scenario):
        assert parameter(lever.key).side == "lever", lever.key


def test_unchanged_levers_add_no_strategy_and_edits_add_one(study):
    scenario = study.strategy("persona").scenario
    values = adapter.lever_values(scenario, adapter.levers_for(scenario))
    same = adapter.prepare_run(
        study, "persona", values, scale=1 / 50, seed=1, draws=2, replicates=1, workers=1
    )
    assert same.focus == "persona" and [s.name for s in same.spec.strategies] == study.names
    assert same.n_runs == 1 + 4 * 2
    edited = adapter.prepare_run(
        study,
        "persona",
        {**values, "outreach.pushes_per_week": 3},
        scale=1 / 50,
        seed=1,
        draws=0,
        replicates=3,
        others=False,
        workers=1,
    )
    assert edited.focus == "persona (edited)"
    names = [s.name for s in edited.spec.strategies]
    assert names == ["public_only", "persona", "persona (edited)"]
    assert not edited.spec.uncertainty.enabled and edited.n_runs == 1 + 3 * 3
    for draws in (1, -2, adapter.MAX_DRAWS + 1):
        with pytest.raises(InputError, match="draws"):
            adapter.prepare_run(
                study, "persona", values, scale=1 / 50, seed=1, draws=draws, replicates=1
            )


def test_dashboard_gives_the_command_lines_kpis_at_the_same_scale_and_seed(study, tmp_path):
    """A dashboard run at scale F is run.py compare / run --scale F with the same seed."""
    scale, seed, draws = 1 / 50, 11, 2
    scenario = study.strategy("guides").scenario
    values = adapter.lever_values(scenario, adapter.levers_for(scenario))
    request = adapter.prepare_run(
        study, "guides", values, scale=scale, seed=seed, draws=draws, replicates=1, workers=1
    )
    result = adapter.execute(request)
    out = tmp_path / "cmp"
    cli = [sys.executable, "run.py", "compare", str(COMPARISON), "--scale", str(scale)]
    cli += ["--seed", str(seed), "--draws", str(draws), "--replicates", "1", "--workers", "1"]
    proc = subprocess.run(
        [*cli, "--out", str(out), "--no-plots", "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    # The whole robust summary is the command line's comparison.csv (the same runs, the same
    # draws): bands, paired differences, P(best), P(beats) and their intervals, regret.
    theirs = pd.read_csv(out / "comparison.csv").set_index(["strategy", "metric"])
    ours = result.summary.set_index(["strategy", "metric"])
    columns = ["median", "p10", "p90", "diff_vs_reference_median", "p_beats_reference"]
    columns += ["p_best", "p_best_low", "p_best_high", "regret_mean", "regret_p90"]
    for name in study.names:
        for kpi in ("value_created", "contribution", "roi", "n_private"):
            for col in columns:
                assert ours.loc[(name, kpi), col] == pytest.approx(
                    theirs.loc[(name, kpi), col], rel=1e-9, abs=1e-9, nan_ok=True
                ), (name, kpi, col)
            mm = bool(ours.loc[(name, kpi), "minimax_regret"])
            assert mm == bool(theirs.loc[(name, kpi), "minimax_regret"])
    draws_csv = pd.read_csv(out / "draws.csv")
    assert [d["key"] for d in result.drawn] == list(draws_csv.columns[2:])
    assert result.draws == draws and result.focus == "guides"
    # 'this seed' is run.py run on the strategy's file at --scale F with --seed S.
    strategy_file = tmp_path / "guides.toml"
    strategy_file.write_text(scenario_to_toml(scenario), encoding="utf-8")
    run = [sys.executable, "run.py", "run", str(strategy_file), "--scale", str(scale)]
    run += ["--seed", str(seed), "--out", str(tmp_path / "run"), "--no-plots"]
    proc = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    for kpi in adapter.SHOWN_KPIS:
        assert result.seed_kpis[kpi] == summary[kpi], kpi


def test_a_scenario_file_is_one_strategy_judged_against_itself():
    study = adapter.load_study(BASELINE)
    assert study.kind == "scenario" and study.names == ["baseline"]
    assert study.reference == "baseline" and study.seed == 42
    values = adapter.lever_values(
        load_scenario(BASELINE), adapter.levers_for(study.strategy("baseline").scenario)
    )
    request = adapter.prepare_run(
        study,
        "baseline",
        {**values, "diversion.incentive_yuan": 8.0},
        scale=1 / 50,
        seed=3,
        draws=0,
        replicates=2,
        workers=1,
    )
    assert request.spec.path == BASELINE and request.spec.reference == "baseline"
    result = adapter.execute(request)
    assert result.strategies == ["baseline", "baseline (edited)"]
    assert result.scenario.diversion.incentive_yuan == 8.0 and result.scenario.market.scale == 0.02
    # The reference is the file as written, replicate i on replicate_seed(3, i).
    as_written = load_scenario(BASELINE, {"market.scale": 1 / 50})
    ref = [run_task(RunTask("baseline", i, 3, as_written)).kpis["roi"] for i in (0, 1)]
    row = result.summary.set_index(["strategy", "metric"]).loc[("baseline", "roi")]
    assert row["median"] == pytest.approx(sum(ref) / 2, rel=1e-12)


# --- runs ------------------------------------------------------------------------------------


def test_run_then_save_reproduces_on_the_command_line(study, tmp_path):
    dash = Dashboard(study, save_folder=tmp_path)
    dash.select_strategy("guides")
    dash.controls["outreach.pushes_per_week"].value = 3
    dash.size_select.value = SMALL_SCALE
    dash.draw_toggle.active = False  # noise only: the replicates' default follows
    assert dash.draws_input.disabled
    assert dash.replicates_input.value == adapter.DEFAULT_NOISE_REPLICATES
    dash.replicates_input.value = 2
    dash.others_toggle.active = False  # guides, its edited copy and the reference
    dash.seed_input.value = 7
    dash.run()
    assert dash.run_button.disabled and not dash.cancel_button.disabled
    wait(dash)
    assert dash.job.state == "done", dash.job.error
    assert "data-state='done'" in dash.status.text and not dash.run_button.disabled
    result = dash.result
    assert result.scenario.outreach.pushes_per_week == 3 and result.scenario.sim.seed == 7
    assert result.scenario.operation.mode == "guides" and result.scenario.market.scale == 1 / 50
    assert result.strategies == ["public_only", "guides", "guides (edited)"]

    # Save as scenario: the file loads back to the same resolved scenario ...
    target = tmp_path / "guides3.toml"
    dash.save_path.value = str(target)
    dash.save()
    assert "data-state='saved'" in dash.save_status.text, dash.save_status.text
    loaded = load_scenario(target)
    assert loaded.model_dump() == result.scenario.model_dump()
    # ... and `run.py run` on it (simulate on sim.seed) gives the 'this seed' column exactly.
    kpis = simulate(loaded, seed=loaded.sim.seed).summary()
    for kpi in result.kpis:
        cell = re.search(
            rf"<tr data-kpi='{kpi}'><td>[^<]*</td><td class='seed-value' "
            rf"data-value='([^']*)'>([^<]*)</td>",
            dash.results_div.text,
        )
        assert cell, kpi
        assert float(cell.group(1)) == kpis[kpi]
        assert cell.group(2) == adapter.format_kpi(kpi, kpis[kpi])
    # The bands are the comparison engine's, on common random numbers: replicate i of the
    # reference is run_task on replicate_seed(7, i) of the reference scenario at the same size.
    reference = load_comparison(COMPARISON, market_overrides={"market.scale": 1 / 50})
    reference = reference.strategy("public_only").scenario
    ref = [run_task(RunTask("reference", i, 7, reference)).kpis["contribution"] for i in (0, 1)]
    row = result.summary.set_index(["strategy", "metric"]).loc[("public_only", "contribution")]
    assert row["median"] == pytest.approx(sum(ref) / 2, rel=1e-12)
    assert (row["p10"], row["p90"]) == pytest.approx(
        (min(ref) + 0.1 * (max(ref) - min(ref)), min(ref) + 0.9 * (max(ref) - min(ref)))
    )
    # The verdict panel: P(best) of each strategy (shares of cells: they add up to one),
    # the minimax-regret choice, the verdict in words, and that nothing was drawn.
    verdict = dash.verdict_div.text
    p_best = re.findall(
        r"<tr data-strategy='([^']*)'.*?class='p-best' data-value='([^']*)'", verdict
    )
    assert sorted(name for name, _ in p_best) == sorted(result.strategies)
    assert sum(float(p) for _, p in p_best) == pytest.approx(1.0)
    assert verdict.count("✓ minimax") == 1 and "is best" in verdict
    assert "One market only" in verdict and "Nothing was drawn" in verdict
    # `compare` accepts the saved file as a base.
    comparison = tmp_path / "cmp.toml"
    comparison.write_text(
        'reference = "as_saved"\n[market]\nbase = "guides3.toml"\n'
        '[[strategies]]\nname = "as_saved"\nset = {}\n'
        '[[strategies]]\nname = "two_pushes"\nset = { "outreach.pushes_per_week" = 2 }\n'
    )
    spec = load_comparison(comparison)
    assert spec.strategy("as_saved").scenario.outreach == loaded.outreach


def test_save_never_overwrites_and_needs_toml(study, tmp_path):
    dash = Dashboard(study, save_folder=tmp_path)
    existing = tmp_path / "x.toml"
    existing.write_text("keep me")
    dash.save_path.value = str(existing)
    dash.save()
    assert "already exists" in dash.save_status.text and existing.read_text() == "keep me"
    dash.save_path.value = str(tmp_path / "x.txt")
    dash.save()
    assert "must end in .toml" in dash.save_status.text
    assert not (tmp_path / "x.txt").exists()
    # A bad control is reported on save too, and nothing is written.
    dash.controls["outreach.pushes_per_week"].value = 8
    dash.save_path.value = str(tmp_path / "y.toml")
    dash.save()
    assert "outreach.pushes_per_week = 8" in dash.save_status.text
    assert not (tmp_path / "y.toml").exists()


def test_cancel_kills_the_runs_process_and_its_workers(study):
    dash = Dashboard(study, workers=2)
    dash.size_select.value = str(adapter.SCALES.index(1.0))  # full size: seconds per run
    dash.replicates_input.value = 20
    dash.run()
    process = dash.job.process
    deadline = time.monotonic() + 120
    while dash.job.done < 1:  # wait until it is really computing, in its pool
        assert time.monotonic() < deadline
        dash.poll()
        time.sleep(0.05)
    workers = psutil.Process(process.pid).children()
    while not workers:
        assert time.monotonic() < deadline
        time.sleep(0.05)
        workers = psutil.Process(process.pid).children()
    dash.cancel()
    assert dash.job.state == "cancelled"
    assert not process.is_alive() and process.exitcode == -signal.SIGKILL
    _, alive = psutil.wait_procs(workers, timeout=10)  # not our children: no exit codes
    assert alive == [], alive
    assert "data-state='cancelled'" in dash.status.text
    assert not dash.run_button.disabled and dash.cancel_button.disabled and dash.result is None


def test_two_tabs_do_not_share_runs(study):
    slow, quick = Dashboard(study), Dashboard(study)
    slow.size_select.value = str(adapter.SCALES.index(1.0))
    slow.replicates_input.value = 20
    quick.size_select.value = SMALL_SCALE
    quick.replicates_input.value = 1
    quick.controls["outreach.pushes_per_week"].value = 5
    slow.run()
    quick.run()
    assert slow.job is not quick.job and slow.job.process.pid != quick.job.process.pid
    slow.cancel()  # cancelling one tab leaves the other running
    wait(quick)
    assert slow.job.state == "cancelled" and slow.result is None
    assert quick.job.state == "done"
    assert quick.result.scenario.outreach.pushes_per_week == 5
    assert slow.controls["outreach.pushes_per_week"].value == 2.0


# --- the command -----------------------------------------------------------------------------


def test_command_rejects_a_bad_file_before_serving():
    proc = subprocess.run(
        [sys.executable, "run.py", "dashboard", "tests/data/scenarios/wrong_out_of_range.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: tests/data/scenarios/wrong_out_of_range.toml: ")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_command_serves_the_page_and_bokehjs_on_loopback():
    proc = subprocess.Popen(
        [sys.executable, "run.py", "dashboard"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line + proc.stderr.read() if proc.poll() is not None else line
        url = match.group(0)
        page = urllib.request.urlopen(url, timeout=60).read().decode()
        scripts = re.findall(r'<script src="([^"]+)"', page)
        assert scripts and all(s.startswith("/static/js/") for s in scripts), scripts
        assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from elsewhere
        js = urllib.request.urlopen(url + scripts[0].lstrip("/"), timeout=60)
        assert js.status == 200 and len(js.read()) > 100_000  # BokehJS itself, from the wheel
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0
