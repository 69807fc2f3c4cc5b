"""Each shipped comparison file loads as promised and runs end to end (on a tiny market)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import model.cli
from model.compare import load_comparison

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [
    "compare_operating_modes",
    "compare_business_types",
    "stress_platform_ban",
    "compare_festival_timing",
]
TINY = [
    "market.size=20000",
    "market.initial_public=1000",
    "budget.per_day_yuan=700.0",
    "sim.days=60",
]
# The festival comparison's campaigns are dated across the year: it keeps its 365 days.
TINY_YEAR = [kv for kv in TINY if not kv.startswith("sim.days")]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_comparison_loads_with_its_promises(name):
    """The reference, descriptions, shocks, and uncertainty on by default (10 draws × 3)."""
    spec = load_comparison(ROOT / "scenarios" / f"{name}.toml")
    assert spec.reference in spec.names and len(spec.names) >= 2
    assert (spec.draws, spec.replicates) == (10, 3) and spec.uncertainty.enabled
    assert len(spec.uncertainty.drawn) >= 15
    for strategy in spec.strategies:
        assert strategy.description and strategy.scenario.name == strategy.name
    if name == "compare_festival_timing":
        # One year's budget, ¥7.3M in every strategy: only its timing differs.
        for strategy in spec.strategies:
            budget, days = strategy.scenario.budget, strategy.scenario.sim.days
            start = strategy.scenario.calendar.start_date
            extra = sum(p.per_day_yuan * p.span(start)[1] for p in budget.pulses)
            assert budget.per_day_yuan * days + extra == pytest.approx(7.3e6, rel=1e-5)
    elif name != "compare_business_types":
        assert spec.strategy("public_only").scenario.operation.mode == "none"
        assert spec.reference == "public_only"
        assert not spec.uncertainty.stated
    if name == "stress_platform_ban":
        for strategy in spec.strategies:
            (shock,) = strategy.scenario.shocks
            assert (shock.kind, shock.platform, shock.day, shock.duration_days) == (
                "ban",
                "tmall",
                120,
                30,
            )


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_comparison_runs_end_to_end(name, tmp_path, capsys):
    """The real command on the shipped file, shrunk: every strategy ranked, every file there."""
    out = tmp_path / "o"
    tiny = TINY_YEAR if name == "compare_festival_timing" else TINY
    sets = [a for kv in tiny for a in ("--set", kv)]
    argv = [
        "compare",
        str(ROOT / "scenarios" / f"{name}.toml"),
        "--workers",
        "1",
        "--draws",
        "2",
        "--replicates",
        "1",
        "--no-plots",
        *sets,
        "--out",
        str(out),
    ]
    assert model.cli.main(argv) == 0, capsys.readouterr().err
    spec = load_comparison(ROOT / "scenarios" / f"{name}.toml")
    ranking = pd.read_csv(out / "ranking.csv")
    assert sorted(ranking["strategy"]) == sorted(spec.names)
    assert ranking["metric"].eq(spec.rank_by).all()
    assert {"conditions.csv", "draws.csv", "report.html"} <= {p.name for p in out.iterdir()}
