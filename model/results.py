"""Results of one simulation run: tidy tables, KPIs, plots, provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from model._version import __version__


@dataclass
class SimulationResult:
    """What one run produced.

    Attributes:
        scenario_name: the scenario's name.
        strategy: the strategy label (comparisons set it; a plain run uses the scenario name).
        replicate: replicate index within a study (0 for a plain run).
        seed: printable seed identity (root entropy and spawn key).
        daily: one row a day, indexed by its calendar date (``date``): ``day`` and one column
            a metric (wide). ``daily.reset_index()`` has the date as a column.
        kpis: the summary KPIs (docs/model.md §8.2).
        scenario: the resolved scenario as a plain dict (provenance).
        guides: per-guide P&L in guides mode (empty otherwise).
        orders: every order when the run recorded them, else None.
    """

    scenario_name: str
    strategy: str
    replicate: int
    seed: str
    daily: pd.DataFrame
    kpis: dict[str, Any]
    scenario: dict[str, Any]
    guides: pd.DataFrame = field(default_factory=pd.DataFrame)
    orders: pd.DataFrame | None = None

    def summary(self) -> dict[str, Any]:
        """The KPIs as a dict (None where a KPI is undefined)."""
        return dict(self.kpis)

    def to_frame(self) -> pd.DataFrame:
        """Tidy long table: scenario, strategy, replicate, seed, day, date, metric, value."""
        long = self.daily.reset_index().melt(
            id_vars=["day", "date"], var_name="metric", value_name="value"
        )
        long.insert(0, "seed", self.seed)
        long.insert(0, "replicate", self.replicate)
        long.insert(0, "strategy", self.strategy)
        long.insert(0, "scenario", self.scenario_name)
        long["day"] = long["day"].astype(np.int32)
        return long

    def provenance(self) -> dict[str, Any]:
        """Version, seed and the resolved scenario: enough to reproduce the run."""
        return {
            "package_version": __version__,
            "seed": self.seed,
            "replicate": self.replicate,
            "scenario": self.scenario,
        }

    def plot(self, path: str | None = None):
        """Customers by domain, contribution and the cost breakdown in one figure."""
        from model.plots import run_overview

        return run_overview(self.daily, title=self.scenario_name, path=path)
