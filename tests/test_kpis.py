"""The KPI registry: every KPI a run reports is defined once, and every list derives from it."""

from pathlib import Path

from model import load_scenario, simulate
from model.commands.run import HEADLINE_KPIS
from model.compare.plots import DISTRIBUTION_KPIS
from model.compare.spec import KPIS as COMPARE_DEFAULTS
from model.kpis import DIRECTIONS, HEADLINE, KPIS
from model.metrics import KPI_DIRECTIONS

SMALL = Path(__file__).parent / "data" / "scenarios" / "small.toml"


def test_every_reported_kpi_is_registered_and_every_registered_kpi_is_reported():
    """A run's summary (guides mode, for the guide KPI) has exactly the registry's KPIs."""
    summary = simulate(load_scenario(SMALL, {"operation.mode": "guides"}), seed=1).summary()
    assert set(summary) == set(KPIS)


def test_directions_units_and_labels_are_complete():
    """Each KPI says which way is better, its unit and a label.

    Stocks that are neither better nor worse when larger are neutral (moving buyers into the
    pool lowers n_public).
    """
    for k in KPIS.values():
        assert k.direction in ("higher", "lower", "neutral")
        assert k.unit in ("yuan", "ratio", "share", "days", "count", "per_1000", "rate")
        assert k.label and k.definition
    assert KPIS["n_public"].direction == "neutral"
    assert KPIS["cac_paid"].direction == KPIS["cost_marketing"].direction == "lower"
    assert "n_public" not in DIRECTIONS and DIRECTIONS["contribution"] == "higher"


def test_every_kpi_list_derives_from_the_registry():
    """The run table, comparison defaults, plot grid and direction table come from one place."""
    assert tuple(HEADLINE_KPIS) == HEADLINE == tuple(COMPARE_DEFAULTS)
    assert set(DISTRIBUTION_KPIS) <= set(HEADLINE)
    assert all(KPIS[k].direction != "neutral" for k in DISTRIBUTION_KPIS)
    assert KPI_DIRECTIONS == {name: k.direction for name, k in KPIS.items()}
