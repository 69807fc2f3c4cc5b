"""``calibrate``: fit private-domain parameters to monthly series by ABC-SMC, resumably.

The one function behind ``run.py calibrate``; a notebook calls it the same way::

    from model import calibrate
    cal = calibrate("scenarios/baseline.toml", "monthly.csv", out="out/cal",
                    overrides={"market.size": 50_000}, populations=2, population_size=20)
    cal.summary(); cal.to_frame(); cal.plot()

Every input is validated first (scenario and overrides, the series, every parameter range at
its corners, the seed, the output folder, the memory the runs need); only then is ``out``
created. The pyABC history lives in ``out/abc.db``: calling again with the same inputs continues
from its last finished generation. The other files (:data:`FILES`) are rewritten, each
atomically, at the end of every call.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.calibration.abc import SeriesModel, check_params, predictive_series, run_abc
from model.calibration.inputs import resolve_scenario
from model.calibration.plots import posterior_predictive
from model.calibration.posterior import (
    draw_parameters,
    generations,
    posterior_table,
    summarise,
)
from model.calibration.series import MonthlySeries, read_series
from model.calibration.spec import (
    DAYS_PER_MONTH,
    DEFAULT_POPULATION_SIZE,
    DEFAULT_POPULATIONS,
    DEFAULT_PREDICTIVE_DRAWS,
    MAX_MONTHS,
    ParamRange,
    default_params,
    param_ranges,
)
from model.errors import InputError
from model.execution import map_runs, open_executor
from model.outputs import (
    atomic_write,
    claim_output_dir,
    open_output_dir,
    remove_own_files,
    write_json,
)
from model.resources import check_memory, concurrency, scenario_run_bytes
from model.scenario.schema import MAX_SEED, Scenario

#: Everything a calibration writes into its folder (recorded in the folder's output marker).
FILES = (
    "abc.db",
    "calibration.json",
    "posterior.csv",
    "posterior.json",
    "posterior_predictive.csv",
    "posterior_predictive.png",
)
#: How each fingerprinted input is named when a continuation is refused.
_INPUT_NAMES = {
    "scenario": "scenario (file or --set)",
    "series": "--series",
    "params": "--param",
    "population_size": "--population-size",
    "seed": "--seed",
}


@dataclass
class CalibrationResult:
    """What a calibration produced; the same is in its folder's files.

    Attributes:
        posterior: the last generation's weighted particles: a column per parameter, ``weight``.
        predictive: ``month, series, observed, p05, p50, p95`` of simulations from posterior
            draws (the posterior-predictive check).
        series: the observed monthly series.
        record: what ``posterior.json`` holds: per parameter the prior and the posterior's
            median, 90% interval and mean; generations, acceptances, epsilons; provenance.
        out: the folder with ``abc.db`` and the files.
    """

    posterior: pd.DataFrame
    predictive: pd.DataFrame
    series: MonthlySeries
    record: dict[str, Any]
    out: Path

    def summary(self) -> pd.DataFrame:
        """One row per parameter: prior range, posterior median, 90% interval and mean."""
        table = pd.DataFrame(self.record["parameters"]).T
        table.index.name = "parameter"
        return table[
            ["prior_low", "prior_high", "q05", "median", "q95", "mean", "interval_share_of_prior"]
        ]

    def to_frame(self) -> pd.DataFrame:
        """The weighted particles (a column per parameter and ``weight``), for ``forecast``."""
        return self.posterior.copy()

    def plot(self, path: str | os.PathLike | None = None):
        """The posterior-predictive check: observed months over the simulations' 90% band."""
        return posterior_predictive(self.series.to_frame(), self.predictive, path=path)


def calibrate(
    scenario: str | os.PathLike | Scenario,
    series: str | os.PathLike | MonthlySeries,
    *,
    out: str | os.PathLike,
    params: Mapping[str, tuple[float, float]] | Iterable[str | ParamRange] | None = None,
    overrides: dict[str, Any] | None = None,
    populations: int = DEFAULT_POPULATIONS,
    population_size: int = DEFAULT_POPULATION_SIZE,
    predictive_draws: int = DEFAULT_PREDICTIVE_DRAWS,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    command: str | None = None,
) -> CalibrationResult:
    """Calibrate private-domain parameters to monthly series by ABC-SMC (pyABC).

    Args:
        scenario: a scenario file (its bases are resolved) or a loaded scenario.
        series: the observed monthly CSV (``month`` and any of ``SERIES_COLUMNS``) or a
            :class:`~model.calibration.series.MonthlySeries`.
        out: the folder for ``abc.db`` and the result files; an existing calibration there
            with the same inputs is continued.
        params: calibrated parameters with uniform priors, ``{"referral.p_convert": (0, 0.2)}``
            or ``["referral.p_convert=0:0.2"]``; default: ``DEFAULT_PRIORS``.
        overrides: dotted-key scenario overrides (``--set``), e.g. ``{"market.size": 50_000}``.
        populations: total generations, finished ones in ``abc.db`` included.
        population_size: accepted particles per generation.
        predictive_draws: posterior draws simulated for the posterior-predictive check.
        seed: root seed (default: the scenario's ``sim.seed``).
        workers: 1 in-process, N a local pool, None every core.
        scheduler: a Dask scheduler address instead of local workers.
        overwrite: allow ``out`` to be a folder this tool did not create, or a calibration
            with other inputs (started over: only its own files are removed).
        progress: pyABC's line per generation and a bar over the predictive draws on stderr;
            False keeps pyABC to warnings.
        log: called with each status line (starting, resuming); None: quiet.
        command: the command line, recorded in ``posterior.json``.

    Returns:
        The posterior, the predictive check and the record; the files are in ``out``.

    Raises:
        InputError: any input is invalid or ``out`` may not be written; nothing is written.
        RuntimeError: a posterior-predictive simulation failed.
    """
    say = log or (lambda _text: None)
    for name, value in (
        ("--populations", populations),
        ("--population-size", population_size),
        ("--predictive-draws", predictive_draws),
    ):
        if int(value) < 1:
            raise InputError(f"{name} {value}: must be at least 1")

    # --- validate everything before anything is written ------------------------------------
    given = resolve_scenario(scenario, overrides)
    raw, source = given.raw, given.source
    observed = series if isinstance(series, MonthlySeries) else read_series(series)
    observed.check_fits(given.scenario.market.size)
    horizon = observed.horizon_days
    if max(observed.months) > MAX_MONTHS:
        raise InputError(
            f"month {max(observed.months)} is day {horizon}: the simulator runs at most "
            f"{MAX_MONTHS * DAYS_PER_MONTH} days ({MAX_MONTHS} months)",
            file=observed.source,
        )
    ranges = default_params(raw) if params is None else param_ranges(params)
    if not ranges:
        raise InputError("no parameter to calibrate: give at least one --param KEY=LOW:HIGH")
    check_params(raw, ranges, source)
    seed = given.scenario.sim.seed if seed is None else int(seed)
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"--seed {seed}: must be from 0 to {MAX_SEED}")
    inputs = [*given.files]
    if not isinstance(series, MonthlySeries):
        inputs.append(Path(series))
    claim = claim_output_dir(out, "calibrate", overwrite=overwrite, inputs=inputs)
    db_path = claim.path / "abc.db"
    meta_path = claim.path / "calibration.json"
    fingerprint = _fingerprint(raw, observed, ranges, population_size, seed)
    start_over = False
    if db_path.exists():
        changed = _changed_inputs(meta_path, fingerprint, claim.shown)
        ours = "abc.db" in claim.previous
        if changed and not (overwrite and ours):
            raise InputError(
                f"{claim.shown}/abc.db was started with a different {_and(changed)}; a "
                "calibration can only be continued with the same inputs: use another --out"
                + (
                    ", or pass --overwrite to start over (its abc.db and posterior files are "
                    "removed, nothing else)"
                    if ours
                    else ""
                )
            )
        start_over = bool(changed)
    check_memory(
        what=f"calibrate {source}",
        size=given.scenario.market.size,
        per_run=scenario_run_bytes(given.scenario),
        parallel=concurrency(workers, population_size),
        scheduler=scheduler,
    )

    # --- run ---------------------------------------------------------------------------------
    def prepare() -> None:
        # Called once the executor is open (a Dask scheduler that cannot be reached is bad
        # input too, and must leave nothing behind).
        if start_over:
            remove_own_files(claim, FILES)
        open_output_dir(claim, FILES)
        if db_path.exists():
            return
        write_json(
            meta_path,
            {
                "scenario_file": source,
                "overrides": given.overrides,
                "series_file": observed.source,
                "fingerprint": fingerprint,
            },
        )
        say(
            f"starting a new calibration in {claim.shown}/abc.db: {len(ranges)} parameters, "
            f"{len(observed.columns)} series × {len(observed.months)} months ({horizon} days), "
            f"{populations} generations of {population_size}"
        )

    def on_resume(done: int) -> None:
        more = max(0, populations - done)
        say(
            f"resuming {claim.shown}/abc.db: {done} generation{'s' * (done != 1)} already "
            "finished, "
            + (
                f"running {more} more"
                if more
                else f"nothing to run for --populations {populations}"
            )
        )

    model = SeriesModel(raw, observed.months, observed.columns, seed, source=source)
    started = time.perf_counter()
    with open_executor(workers=workers, scheduler=scheduler) as executor, _pyabc_log(progress):
        prepare()
        run = run_abc(
            str(db_path),
            model,
            ranges,
            observed,
            populations=populations,
            population_size=population_size,
            executor=executor,
            seed=seed,
            on_resume=on_resume,
        )
        posterior = posterior_table(run.history)
        draws = draw_parameters(posterior, predictive_draws, seed, [p.key for p in ranges])
        tasks = [(model, values, i) for i, values in enumerate(draws)]
        sims = {}
        bar = "posterior predictive" if progress else None
        for task, outcome in map_runs(executor, predictive_series, tasks, progress=bar):
            if not outcome.ok:
                raise RuntimeError(f"posterior-predictive run {task[2]} failed: {outcome.error}")
            sims[task[2]] = outcome.value
    elapsed = time.perf_counter() - started

    # --- write ---------------------------------------------------------------------------------
    gens = generations(run.history)
    record = {
        "parameters": summarise(posterior, {p.key: (p.low, p.high) for p in ranges}),
        "generations": len(gens),
        "generations_this_run": run.generations_run,
        "resumed": run.resumed,
        "population_size": population_size,
        "epsilon_schedule": [g["epsilon"] for g in gens],
        "acceptance": [
            {k: g[k] for k in ("t", "accepted", "simulations", "acceptance_rate")} for g in gens
        ],
        "total_simulations": int(run.history.total_nr_simulations),
        "distance": "adaptive weighted L1 over every month of every series, scaled by MAD",
        "epsilon_note": "each generation re-fits the distance weights, so epsilons of "
        "different generations are on different scales and need not fall",
        "simulations_note": "simulations started per generation, including those a pool "
        "started after the last needed acceptance (they vary with --workers; the particles "
        "and weights do not)",
        "seed": seed,
        "elapsed_s": round(elapsed, 2),
        "series_file": observed.source,
        "series": list(observed.columns),
        "months": list(observed.months),
        "days_per_month": DAYS_PER_MONTH,
        "scenario_file": source,
        "overrides": given.overrides,
        "command": command,
    }
    result = CalibrationResult(
        posterior=posterior,
        predictive=_predictive_bands(observed, sims),
        series=observed,
        record=record,
        out=claim.path,
    )
    atomic_write(claim.path / "posterior.csv", lambda p: posterior.to_csv(p, index=False))
    write_json(claim.path / "posterior.json", record)
    atomic_write(
        claim.path / "posterior_predictive.csv",
        lambda p: result.predictive.to_csv(p, index=False),
    )
    atomic_write(claim.path / "posterior_predictive.png", lambda p: result.plot(path=p))
    return result


def _predictive_bands(series: MonthlySeries, sims: dict[int, dict[str, np.ndarray]]):
    """Per series and month: the observed value and the 5/50/95% of the simulations."""
    rows = []
    for col in series.columns:
        stack = np.array([sims[i][col] for i in sorted(sims)])
        q = np.quantile(stack, [0.05, 0.5, 0.95], axis=0)
        for j, month in enumerate(series.months):
            rows.append((month, col, series.values[col][j], q[0, j], q[1, j], q[2, j]))
    return pd.DataFrame(rows, columns=["month", "series", "observed", "p05", "p50", "p95"])


def _fingerprint(raw, series: MonthlySeries, params, population_size: int, seed: int) -> dict:
    """The inputs that must not change between a run and its continuation."""
    return {
        "scenario": hashlib.sha256(
            json.dumps(raw, sort_keys=True, default=str).encode()
        ).hexdigest()[:16],
        "series": {
            "months": list(series.months),
            **{c: series.values[c].tolist() for c in series.columns},
        },
        "params": {p.key: [p.low, p.high] for p in params},
        "population_size": population_size,
        "seed": seed,
    }


def _changed_inputs(meta_path: Path, fingerprint: dict, shown: str) -> list[str]:
    """What differs between these inputs and the stored calibration's (empty: nothing)."""
    if not meta_path.exists():
        raise InputError(
            f"{shown}/abc.db exists but {meta_path.name} is missing, so it cannot be checked "
            "against these inputs; use another --out"
        )
    try:
        stored = json.loads(meta_path.read_text(encoding="utf-8")).get("fingerprint", {})
    except (ValueError, AttributeError):
        stored = {}
    return [_INPUT_NAMES[k] for k in fingerprint if stored.get(k) != fingerprint[k]]


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@contextlib.contextmanager
def _pyabc_log(progress: bool) -> Iterator[None]:
    """PyABC logs a line per generation at INFO: shown as progress, else only its warnings."""
    import pyabc  # noqa: F401 - its import sets the logger's level, so it must come first

    logger = logging.getLogger("ABC")
    level = logger.level
    if not progress:
        logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)
