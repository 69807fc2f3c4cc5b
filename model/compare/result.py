"""What a comparison produced, and its views: the robust summary, the verdict, the conditions.

A :class:`ComparisonResult` holds plain tables (one row per run, the daily tables, the draws);
every view is computed from them (:mod:`model.verdict`), and :meth:`ComparisonResult.write`
writes the files (:mod:`model.compare.outputs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model._version import __version__
from model.compare.spec import DIRECTIONS, ComparisonSpec
from model.compare.summary import ranking
from model.outputs import OutputDir
from model.scenario import scenario_to_toml
from model.verdict import Conditions, describe_verdict, find_conditions, robust_summary

ID_COLUMNS = ["scenario", "strategy", "draw", "replicate", "seed"]


@dataclass
class ComparisonResult:
    """What a comparison produced.

    Attributes:
        spec: the validated comparison (strategies, reference, draws, seeds).
        kpis: one row per finished run: scenario, strategy, draw, replicate, seed, the KPIs
            and ``payback_day`` (paired with the reference on the same cell).
        daily: wide daily tables keyed by (strategy, draw, replicate).
        draws: one row per draw: draw, seed, the drawn values (``draws.csv``).
        failures: one row per run that raised or was lost (strategy, draw, replicate, error).
    """

    spec: ComparisonSpec
    kpis: pd.DataFrame
    daily: dict[tuple[str, int, int], pd.DataFrame]
    draws: pd.DataFrame
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def summary(self) -> pd.DataFrame:
        """Per strategy and KPI: bands, paired differences, P(best), P(beats), regret."""
        if "summary" not in self._cache:
            self._cache["summary"] = self._summary()
        return self._cache["summary"].copy()

    def _summary(self) -> pd.DataFrame:
        return robust_summary(
            self.kpis,
            self.spec.reference,
            self.spec.kpis,
            directions=DIRECTIONS,
            strategies=self.spec.names,
        )

    def ranking(self) -> pd.DataFrame:
        """The strategies best first by the median of ``rank_by``."""
        return ranking(self.summary(), self.spec.rank_by)

    def verdict(self) -> list[str]:
        """The verdict on ``rank_by`` in words (best median, minimax regret, cautions)."""
        return describe_verdict(self.summary(), self.spec.rank_by)

    def conditions(self) -> Conditions | None:
        """Where the verdicts flip over the drawn parameters (None without draws)."""
        if "conditions" not in self._cache:
            self._cache["conditions"] = self._conditions()
        return self._cache["conditions"]

    def _conditions(self) -> Conditions | None:
        if not self.spec.uncertainty.enabled or self.draws["draw"].nunique() < 2:
            return None
        keys = [d.key for d in self.spec.uncertainty.drawn]
        return find_conditions(
            self.kpis,
            self.draws[["draw", *keys]],
            self.spec.rank_by,
            self.spec.reference,
            strategies=self.spec.names,
        )

    def to_frame(self) -> pd.DataFrame:
        """Tidy per-run, per-day rows.

        Columns: scenario, strategy, draw, replicate, seed, day, metric, value.
        """
        frames = []
        seeds = self.kpis.set_index(["strategy", "draw", "replicate"])["seed"]
        for key, daily in self._ordered_daily():
            long = daily.melt(id_vars="day", var_name="metric", value_name="value")
            for col, value in zip(ID_COLUMNS[1:], (*key, seeds.loc[key]), strict=True):
                long[col] = value
            frames.append(long)
        columns = [*ID_COLUMNS, "day", "metric", "value"]
        if not frames:
            return pd.DataFrame(columns=columns)
        out = pd.concat(frames, ignore_index=True)
        out["scenario"] = self.spec.name
        out = out[columns]
        for col in ("day", "draw", "replicate"):
            out[col] = out[col].astype(np.int32)
        out["value"] = out["value"].astype(float)
        for col in ("scenario", "strategy", "seed", "metric"):
            out[col] = out[col].astype("category")
        return out

    def series(self, metric: str) -> dict[str, pd.DataFrame]:
        """Per strategy, one daily metric as a day × cell table (for fan charts)."""
        out: dict[str, pd.DataFrame] = {}
        for name in self.spec.names:
            cols = {
                (d, i): daily.set_index("day")[metric]
                for (s, d, i), daily in self._ordered_daily()
                if s == name
            }
            if cols:
                out[name] = pd.DataFrame(cols)
        return out

    def provenance(self) -> dict[str, Any]:
        """Enough to reproduce every run: version, seeds, draws, the strategies' overrides."""
        spec = self.spec
        u = spec.uncertainty
        return {
            "package_version": __version__,
            "comparison": spec.name,
            "comparison_file": str(spec.path),
            "base_scenario": str(spec.base_path),
            "market_overrides": spec.market_overrides,
            "reference": spec.reference,
            "rank_by": spec.rank_by,
            "root_seed": spec.root_seed,
            "replicates_per_draw": spec.replicates,
            "draws": spec.draws,
            "uncertainty": u.enabled,
            "seeds": "cell (d, i) runs on SeedSequence(seed_d, spawn_key=(i,)), seed_d the "
            "draw's seed in draws.csv (the root seed without draws)",
            "drawn": [
                {
                    "key": d.key,
                    "low": d.range.low,
                    "high": d.range.high,
                    "log": d.range.log,
                    "from": d.origin,
                    "source": d.source,
                }
                for d in u.drawn
            ]
            if u.enabled
            else [],
            "stated": [
                {"key": s.key, "value": s.value, "where": s.where, "source": s.source}
                for s in u.stated
            ],
            "strategies": {
                s.name: {"description": s.description, "overrides": s.overrides}
                for s in spec.strategies
            },
        }

    def resolved_scenarios(self) -> dict[str, str]:
        """Each strategy's resolved scenario as TOML, ``sim.seed`` the comparison's root seed."""
        out = {}
        for s in self.spec.strategies:
            scenario = s.scenario.model_copy(
                update={"sim": s.scenario.sim.model_copy(update={"seed": self.spec.root_seed})}
            )
            out[s.name] = scenario_to_toml(scenario)
        return out

    def write(
        self, out: str | Path | OutputDir, *, plots: bool = True, overwrite: bool = False
    ) -> Path:
        """Write every output file into ``out`` (whole; see :mod:`model.compare.outputs`)."""
        from model.compare.outputs import write_outputs

        return write_outputs(self, out, plots=plots, overwrite=overwrite)

    def _ordered_daily(self):
        order = {name: i for i, name in enumerate(self.spec.names)}
        return sorted(self.daily.items(), key=lambda kv: (kv[0][1], kv[0][2], order[kv[0][0]]))
