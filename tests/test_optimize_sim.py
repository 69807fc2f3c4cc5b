"""The optimiser on the real simulator, at a miniature size, against a fine grid.

The red packet for joining the pool (``diversion.incentive_yuan``) has an interior optimum: a
bigger packet brings more joins with diminishing returns (saturating P(join)) while each join
costs the whole packet, so contribution rises, then falls. A fine grid of every whole yuan from
0 to 30, run on the same block of cells (same seeds, common random numbers), is the reference
optimum of the very objective the optimiser sees (the sample average on that block); the
optimiser, with 12 candidates, must land within ¥4 of it, and its value within 2.5% of the
curve's rise (from ¥0 to the top) of the grid's best. The grid's runs are stored first, so the
optimiser's whole-yuan candidates reuse them: the test costs the grid's 62 runs and a few more.
The payback constraint's daily series are tested through the engine's store on a 60-day market.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from model import optimize
from model.execution import open_executor
from model.experiment.store import ResultStore
from model.optimize.block import make_block
from model.optimize.evaluate import EngineEvaluator

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
# A faithful 1/20 miniature of the baseline market (model/scenario/scale.py).
MINIATURE = {"market.scale": 0.05}

pytestmark = pytest.mark.slow


def write_spec(path: Path, **top) -> Path:
    spec = {
        "name": "red_packet",
        "draws": 0,
        "replicates": 2,
        "budget_evals": 12,
        "batch": 4,
        "root_seed": 11,
        "market": {"base": str(BASELINE), "set": MINIATURE},
        "objective": {"kpi": "contribution"},
        "levers": {"diversion.incentive_yuan": {"low": 0, "high": 30, "integer": True}},
        "confirm": {"top": 2, "draws": 0, "replicates": 2},
        "curves": {"points": 0},
    }
    spec.update(top)
    path.write_text(tomli_w.dumps(spec), encoding="utf-8")
    return path


def test_red_packet_interior_optimum_on_the_simulator_matches_a_fine_grid(tmp_path):
    spec = optimize.load_spec(write_spec(tmp_path / "s.toml"))
    with open_executor(1) as executor:
        evaluator = EngineEvaluator(spec.base_raw, ResultStore(tmp_path / "store"), executor)
        block = make_block("search", spec.uncertainty, spec.draws, spec.replicates, spec.root_seed)
        grid = list(range(31))
        evs = evaluator.evaluate([{"diversion.incentive_yuan": x} for x in grid], block)
        curve = np.array([ev.values("contribution").mean() for ev in evs])
        top = int(np.argmax(curve))
        rise = curve[top] - curve[0]
        # The reference really is interior: it rises, then falls.
        assert 0 < grid[top] < 30
        assert rise > 0 and curve[top] - curve[-1] > 0.1 * rise

        result = optimize.run(spec, evaluator=evaluator)
    best = max(
        (t for t in result.trials if t.assessment.feasible), key=lambda t: t.assessment.score
    )
    x = best.candidate["diversion.incentive_yuan"]
    assert abs(x - grid[top]) <= 4
    assert curve[top] - best.assessment.value <= 0.025 * rise
    assert best.assessment.value == pytest.approx(curve[grid.index(x)])
    assert evaluator.n_ran - len(grid) * len(block) < 12 * len(block)  # the grid was reused


def test_cli_writes_a_runnable_recommendation_and_resumes(tmp_path):
    spec = write_spec(tmp_path / "s.toml", budget_evals=6, batch=3)
    out = tmp_path / "out"
    cmd = [sys.executable, "run.py", "optimize", str(spec), "--out", str(out), "--workers", "2"]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    for name in (
        "recommendation.toml",
        "trace.csv",
        "confirmation.csv",
        "summary.json",
        "report.html",
    ):
        assert (out / name).is_file(), name
    trace = (out / "trace.csv").read_text()
    confirmation = (out / "confirmation.csv").read_text()
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "runs: 0 made" in again.stdout
    assert (out / "trace.csv").read_text() == trace
    assert (out / "confirmation.csv").read_text() == confirmation

    run_out = tmp_path / "run"
    ran = subprocess.run(
        [
            sys.executable,
            "run.py",
            "run",
            str(out / "recommendation.toml"),
            "--out",
            str(run_out),
            "--no-plots",
            "--days",
            "30",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr
    assert (run_out / "summary.json").is_file()

    # Usable in a comparison: as the shared market's base, against the incumbent's levers.
    comparison = tmp_path / "compare.toml"
    comparison.write_text(
        tomli_w.dumps(
            {
                "name": "recommended_vs_incumbent",
                "reference": "incumbent",
                "replicates": 2,
                "draws": 0,
                "market": {"base": str(out / "recommendation.toml")},
                "strategies": [
                    {"name": "recommended", "set": {}},
                    {"name": "incumbent", "set": {"diversion.incentive_yuan": 3.0}},
                ],
            }
        ),
        encoding="utf-8",
    )
    compared = subprocess.run(
        [
            sys.executable,
            "run.py",
            "compare",
            str(comparison),
            "--out",
            str(tmp_path / "cmp"),
            "--workers",
            "1",
            "--no-plots",
            "--set",
            "sim.days=30",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert compared.returncode == 0, compared.stderr
    assert (tmp_path / "cmp" / "comparison.csv").is_file()


def test_the_payback_constraint_reads_daily_series_from_the_engines_store(tmp_path):
    spec = optimize.load_spec(
        write_spec(
            tmp_path / "s.toml",
            market={"base": str(BASELINE), "set": {"market.scale": 0.01, "sim.days": 60}},
        )
    )
    block = make_block("search", spec.uncertainty, 0, 2, spec.root_seed)
    candidates = [{"diversion.incentive_yuan": 0}, {"operation.mode": "none"}]
    store = ResultStore(tmp_path / "store")
    with open_executor(1) as executor:
        plain = EngineEvaluator(spec.base_raw, store, executor)
        plain.evaluate(candidates, block)
        assert plain.n_ran == 4
        # Runs stored without their daily tables are run again when the payback needs them.
        daily = EngineEvaluator(spec.base_raw, store, executor, series=True)
        evs = daily.evaluate(candidates, block)
        assert daily.n_ran == 4
        for ev in evs:
            assert ev.cum.shape == (2, 60)
            # The last day's cumulative contribution is the run's contribution KPI.
            assert ev.cum[:, -1] == pytest.approx(ev.values("contribution"), rel=1e-9)
        again = EngineEvaluator(spec.base_raw, store, executor, series=True)
        again_evs = again.evaluate(candidates, block)
        assert again.n_ran == 0 and again.n_reused == 4
        assert np.array_equal(again_evs[0].cum, evs[0].cum)
