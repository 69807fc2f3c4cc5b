"""``forecast``: quantile bands of the KPIs over the next N months, with posterior draws or not.

The one function behind ``run.py forecast``; a notebook calls it the same way::

    from model import forecast
    fc = forecast("scenarios/baseline.toml", months=12, replicates=40,
                  overrides={"market.size": 100_000}, posterior="out/cal")
    fc.summary(); fc.to_frame(); fc.plot(); fc.write("out/forecast")

Replicate ``i`` runs with ``replicate_seed(seed, i)``; with a posterior (a calibrate folder, its
result or its table) it also takes posterior draw ``i`` (resampled by weight with a seeded
generator) as scenario overrides, so the bands hold parameter and process uncertainty together.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from model.calibration.calibrating import CalibrationResult
from model.calibration.inputs import check_posterior, read_posterior, resolve_scenario
from model.calibration.plots import fan_chart
from model.calibration.posterior import draw_parameters
from model.calibration.replicates import bands, make_tasks, run_replicates, with_overrides
from model.calibration.spec import (
    DAYS_PER_MONTH,
    DEFAULT_MONTHS,
    DEFAULT_REPLICATES,
    MAX_MONTHS,
)
from model.errors import InputError
from model.execution import open_executor
from model.formatting import format_value
from model.kpis import KPIS
from model.outputs import OutputDir, claim_output_dir, publish, write_json
from model.resources import (
    MAX_REPLICATES,
    check_count,
    check_memory,
    concurrency,
    scenario_run_bytes,
)
from model.scenario.schema import MAX_SEED, Scenario

#: The files a forecast writes.
FILES = ("forecast_bands.csv", "forecast_runs.parquet", "forecast.png", "forecast.json")
#: Months the summary shows by default (those within the horizon, and the last).
SUMMARY_MONTHS = (1, 3, 6, 12, 24, 36)

Posterior = str | os.PathLike | pd.DataFrame | CalibrationResult


@dataclass
class ForecastResult:
    """What a forecast produced.

    Attributes:
        bands: ``month, metric, p05, p25, p50, p75, p95`` over the replicates.
        runs: every replicate's monthly values: ``replicate, month, metric, value``.
        record: what ``forecast.json`` holds (scenario, overrides, posterior, months,
            replicates, seed, time, command).
        inputs: files the forecast read (never written over by :meth:`write`).
    """

    bands: pd.DataFrame
    runs: pd.DataFrame
    record: dict[str, Any]
    inputs: tuple[Path, ...] = field(default=())

    @property
    def title(self) -> str:
        """The fan chart's title: scenario, replicates, whether posterior draws were used."""
        r = self.record
        return f"{r['scenario']}: {r['replicates']} replicates" + (
            ", posterior draws" if r["posterior"] else ""
        )

    def summary(
        self, months: Iterable[int] | None = None, *, formatted: bool = False
    ) -> pd.DataFrame:
        """Median and 90% band of each KPI at a few months (the bands table has them all).

        Args:
            months: the months to show; default 1, 3, 6, 12, 24, 36 within the horizon, and
                the last.
            formatted: the values as text in their units (``−¥1.2M``, ``8,414``).

        Returns:
            ``metric, month, p05, p50, p95``, metrics in forecast order.
        """
        last = int(self.record["months"])
        if months is None:
            months = sorted({m for m in (*SUMMARY_MONTHS, last) if m <= last})
        table = self.bands[self.bands["month"].isin(list(months))]
        table = table[["metric", "month", "p05", "p50", "p95"]].reset_index(drop=True)
        if formatted:
            for col in ("p05", "p50", "p95"):
                table[col] = [
                    _shown(value, metric_unit(metric))
                    for metric, value in zip(table["metric"], table[col], strict=True)
                ]
        return table

    def to_frame(self) -> pd.DataFrame:
        """Every replicate's monthly values: ``replicate, month, metric, value``."""
        return self.runs.copy()

    def plot(self, path: str | os.PathLike | None = None):
        """The fan chart: per KPI the median with 50% and 90% bands by month."""
        return fan_chart(self.bands, path, title=self.title)

    def write(self, out: str | os.PathLike | OutputDir, *, overwrite: bool = False) -> Path:
        """Write the files into ``out``, whole or not at all (see :mod:`model.outputs`).

        ``forecast_bands.csv`` (the bands), ``forecast_runs.parquet`` (every replicate),
        ``forecast.png`` (the fan chart) and ``forecast.json`` (the record).

        Raises:
            InputError: ``out`` is not a folder this command may write (see
                :func:`model.outputs.claim_output_dir`).
        """
        claim = (
            out
            if isinstance(out, OutputDir)
            else claim_output_dir(out, "forecast", overwrite=overwrite, inputs=self.inputs)
        )
        with publish(claim) as tmp:
            self.bands.to_csv(tmp / "forecast_bands.csv", index=False)
            self.runs.to_parquet(tmp / "forecast_runs.parquet", index=False)
            self.plot(tmp / "forecast.png")
            write_json(tmp / "forecast.json", self.record)
        return Path(claim.shown)


def forecast(
    scenario: str | os.PathLike | Scenario,
    *,
    months: int = DEFAULT_MONTHS,
    replicates: int = DEFAULT_REPLICATES,
    seed: int | None = None,
    posterior: Posterior | None = None,
    overrides: dict[str, Any] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | os.PathLike | None = None,
    overwrite: bool = False,
    progress: bool = False,
    command: str | None = None,
) -> ForecastResult:
    """Run replicates over the next ``months`` months and reduce them to quantile bands.

    Args:
        scenario: a scenario file (its bases are resolved) or a loaded scenario.
        months: months to forecast, 30 simulated days each, from the scenario's day-0 state.
        replicates: replicates (each its own seed and, with a posterior, its own draw).
        seed: root seed (default: the scenario's ``sim.seed``).
        posterior: a calibrate output folder, a :class:`CalibrationResult` or a table of
            weighted particles (a column per parameter and ``weight``).
        overrides: dotted-key scenario overrides (``--set``), e.g. ``{"market.size": 100_000}``.
        workers: 1 in-process, N a local pool, None every core.
        scheduler: a Dask scheduler address instead of local workers.
        out: write the files here (checked before any run starts); None: write nothing.
        overwrite: allow ``out`` to be a folder this tool did not create.
        progress: a progress bar over the replicates on stderr.
        command: the command line, recorded in ``forecast.json``.

    Returns:
        The bands and every replicate's monthly values.

    Raises:
        InputError: an input is invalid or ``out`` may not be written; nothing is written.
        RuntimeError: a replicate failed (bands without it would be too narrow).
    """
    given = resolve_scenario(scenario, overrides)
    if int(months) < 1:
        raise InputError(f"--months {months}: must be at least 1")
    if int(months) > MAX_MONTHS:
        raise InputError(
            f"--months {months}: at most {MAX_MONTHS} ({MAX_MONTHS * DAYS_PER_MONTH} simulated "
            "days)"
        )
    seed = given.scenario.sim.seed if seed is None else int(seed)
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"--seed {seed}: must be from 0 to {MAX_SEED}")
    if int(replicates) < 1:
        raise InputError(f"--replicates {replicates}: must be at least 1")
    check_count(replicates, MAX_REPLICATES, "--replicates")
    inputs = [*given.files]
    draws, shown = None, None
    if posterior is not None:
        table, shown, path = _posterior_table(posterior)
        if path is not None:
            inputs.append(path)
        draws = draw_parameters(table, replicates, seed)
        # Validate every draw now: a key this scenario lacks or a value it does not allow
        # should be one clear message, not a failed replicate.
        for values in draws:
            try:
                with_overrides(given.scenario, values)
            except InputError as err:
                raise InputError(
                    f"--posterior {shown}: a draw does not fit {given.source}: {err}"
                ) from None
    claim = (
        None
        if out is None
        else claim_output_dir(out, "forecast", overwrite=overwrite, inputs=inputs)
    )
    check_memory(
        what=f"forecast of {given.source}: {replicates} replicates",
        size=given.scenario.market.size,
        per_run=scenario_run_bytes(given.scenario),
        parallel=concurrency(workers, replicates),
        scheduler=scheduler,
    )
    tasks = make_tasks(given.scenario, months=months, replicates=replicates, seed=seed, draws=draws)

    started = time.perf_counter()
    with open_executor(workers=workers, scheduler=scheduler) as executor:
        runs = run_replicates(executor, tasks, progress="forecast" if progress else None)
    result = ForecastResult(
        bands=bands(runs),
        runs=runs,
        record={
            "scenario": given.scenario.name,
            "scenario_file": given.source,
            "overrides": given.overrides,
            "posterior": shown,
            "months": int(months),
            "days_per_month": DAYS_PER_MONTH,
            "replicates": int(replicates),
            "seed": seed,
            "elapsed_s": round(time.perf_counter() - started, 2),
            "command": command,
        },
        inputs=tuple(inputs),
    )
    if claim is not None:
        result.write(claim)
    return result


def _shown(value: float, unit: str) -> str:
    # Quantiles interpolate between replicates; people and orders are shown whole all the same.
    return format_value(round(value) if unit == "count" else value, unit, compact=True)


def metric_unit(metric: str) -> str:
    """A monthly metric's unit from the KPI registry; a running total has its flow's unit."""
    kpi = KPIS.get(metric.removeprefix("cum_"))
    return kpi.unit if kpi is not None else "count"  # joins, unfollows: people a month


def _posterior_table(posterior: Posterior) -> tuple[pd.DataFrame, str, Path | None]:
    """The weighted particles, how to name them in messages, and the file they came from."""
    if isinstance(posterior, CalibrationResult):
        out = posterior.out
        return check_posterior(posterior.posterior), str(out), out / "posterior.csv"
    if isinstance(posterior, pd.DataFrame):
        return check_posterior(posterior), "<table>", None
    return read_posterior(posterior), str(posterior), Path(posterior) / "posterior.csv"
