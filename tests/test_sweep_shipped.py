"""Each shipped sweep and sensitivity spec loads and runs end to end (on a short horizon)."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.sweep import load_spec, run_sensitivity, run_sweep

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = sorted((ROOT / "scenarios" / "sweeps").glob("*.toml"))


def test_every_shipped_spec_is_tested():
    """A new spec in scenarios/sweeps must be added here."""
    assert {p.stem for p in SWEEPS} == {
        "market_uncertainty_lhs",
        "outreach_vs_incentive",
        "sensitivity_market",
    }


@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_shipped_spec_runs_end_to_end(path, tmp_path):
    """Every point runs (on a shorter horizon), and what is reported fits what is swept.

    A best point over levers, ranges over market parameters, indices for designs.
    """
    if path.stem.startswith("sensitivity"):
        # 416 runs: a smaller market and a month keep them to a few seconds.
        small = {"sim.days": 30, "market.size": 5_000, "market.initial_public": 2_000}
        spec = load_spec(path, kind="sensitivity", overrides=small)
        result = run_sensitivity(spec, tmp_path / "o", workers=1, progress=False, plots=False)
        assert result.n_failed == 0 and not result.indices.empty
        assert set(result.indices["metric"]) == set(spec.kpis) - set(result.skipped)
        return
    spec = load_spec(path, overrides={"sim.days": 100})
    result = run_sweep(spec, tmp_path / "o", workers=1, progress=False, plots=False)
    assert result.n_failed_total == 0 and result.n_missing == 0
    assert result.report.n_runs == len(spec.points()) * spec.replicates
    if spec.market_params:
        assert spec.market_params == [p.key for p in spec.params]
        assert result.best.empty
        assert set(result.ranges["kpi"]) == set(spec.kpis)
    else:
        assert result.ranges.empty
        assert set(result.best["kpi"]) == set(spec.kpis)
