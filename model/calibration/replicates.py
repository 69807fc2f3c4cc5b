"""Forecast bands: run replicates over N months and summarise them (no files here).

Each replicate ``i`` is seeded by ``replicate_seed(seed, i)``; with a posterior, replicate
``i`` also uses posterior draw ``i`` as scenario overrides, so the bands carry parameter and
process uncertainty together. Replicates run through the executor seam
(:func:`model.execution.map_runs`) and are keyed by replicate, so the bands do not depend on
the worker count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.api import simulate
from model.calibration.series import monthly_metrics
from model.calibration.spec import DAYS_PER_MONTH, FORECAST_METRICS
from model.execution import map_runs
from model.scenario import apply_overrides, validate
from model.scenario.schema import Scenario
from model.seeds import replicate_seed

#: The quantiles of the bands table.
QUANTILES = {"p05": 0.05, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p95": 0.95}


@dataclass(frozen=True)
class ForecastTask:
    """One replicate: its index, root seed, scenario, horizon and posterior draw (if any)."""

    replicate: int
    seed: int
    scenario: Scenario
    months: int
    overrides: dict[str, float] = field(default_factory=dict)


def with_overrides(scenario: Scenario, overrides: dict[str, float]) -> Scenario:
    """The scenario with dotted-key overrides, validated by the scenario loader."""
    if not overrides:
        return scenario
    raw = apply_overrides(scenario.model_dump(mode="json"), overrides)
    return validate(raw, source=f"<{scenario.name} + posterior draw>", overridden=overrides)


def run_replicate(task: ForecastTask) -> dict[str, np.ndarray]:
    """Simulate one replicate and return its monthly KPIs (module-level: picklable)."""
    scenario = with_overrides(task.scenario, task.overrides)
    result = simulate(
        scenario,
        seed=replicate_seed(task.seed, task.replicate),
        days=task.months * DAYS_PER_MONTH,
        replicate=task.replicate,
    )
    return monthly_metrics(result.daily, task.months, FORECAST_METRICS)


def make_tasks(
    scenario: Scenario,
    *,
    months: int,
    replicates: int,
    seed: int,
    draws: list[dict[str, float]] | None = None,
) -> list[ForecastTask]:
    """The replicate tasks; ``draws[i]`` (if given) are replicate i's parameter overrides."""
    if draws is not None and len(draws) < replicates:
        raise ValueError(f"{len(draws)} posterior draws for {replicates} replicates")
    return [
        ForecastTask(i, int(seed), scenario, int(months), dict(draws[i]) if draws else {})
        for i in range(replicates)
    ]


def run_replicates(
    executor, tasks: list[ForecastTask], progress: str | None = None
) -> pd.DataFrame:
    """Run every task through the executor seam; a long table ``replicate, month, metric, value``.

    Raises:
        RuntimeError: a replicate failed (the message names it and the error): bands with
            missing replicates would silently be too narrow.
    """
    rows = []
    for task, outcome in map_runs(executor, run_replicate, tasks, progress=progress):
        if not outcome.ok:
            raise RuntimeError(f"forecast replicate {task.replicate} failed: {outcome.error}")
        for metric, values in outcome.value.items():
            for m, v in enumerate(values, start=1):
                rows.append((task.replicate, m, metric, float(v)))
    frame = pd.DataFrame(rows, columns=["replicate", "month", "metric", "value"])
    return frame.sort_values(["replicate", "metric", "month"], kind="stable").reset_index(drop=True)


def bands(runs: pd.DataFrame, metrics=FORECAST_METRICS) -> pd.DataFrame:
    """Quantile bands over replicates: ``month, metric, p05, p25, p50, p75, p95``.

    Quantiles are numpy's default (linear), so ``p50`` is exactly the median of the replicates.
    """
    out = []
    for metric in metrics:
        sub = runs[runs["metric"] == metric]
        wide = sub.pivot(index="month", columns="replicate", values="value").sort_index()
        q = np.quantile(wide.to_numpy(float), list(QUANTILES.values()), axis=1)
        block = pd.DataFrame({"month": wide.index.to_numpy(), "metric": metric})
        for j, name in enumerate(QUANTILES):
            block[name] = q[j]
        out.append(block)
    return pd.concat(out, ignore_index=True)
