"""ABC-SMC with pyABC: calibrate private-domain parameters to monthly series (DESIGN §6).

An order export shows buying behaviour (fitted by :mod:`model.fitting`), but not how readily
platform buyers join the pool, how fast pushes drive members away, or how well referrals
convert. Those are calibrated here by likelihood-free inference: draw parameters from a prior,
simulate the monthly series, keep the draws whose series are close to the observed ones, and
shrink the tolerance generation by generation (Toni et al. 2009; pyABC, Schälte et al. 2022).

**Seeds and reproducibility.** pyABC draws proposals from numpy's *global* RNG inside each job
and re-seeds it from OS entropy at the start of every job (``EPSMixin``). We wrap the executor
(:class:`SeededJobs`) so that re-seed comes instead from ``(seed, generation, job id)``; the
simulation itself is seeded from ``(seed, parameter values)`` (:func:`simulation_seed`). pyABC
keeps the first N accepted particles *by job id*, not by completion order, so:

* ``--workers 1`` (in-process), ``--workers N`` (local pool) and a Dask cluster whose workers
  have one thread each give the same posterior for a given ``--seed`` — each job runs alone in
  its process with its own seeded RNG; only the count of extra simulations started after the
  N-th acceptance (wasted work, not stored) differs;
* Dask workers with several threads run jobs side by side in one process, sharing numpy's
  global RNG, so the posterior is statistically equivalent but not bit-identical;
* a resumed run continues the same chain of generations, but the adaptive distance and the
  epsilon are re-initialised from the last stored population, so it is not bit-identical to a
  run that was never interrupted.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.api import simulate
from model.calibration.series import MonthlySeries, monthly_metrics
from model.calibration.spec import ParamRange
from model.errors import InputError
from model.scenario import apply_overrides, validate


def check_params(raw: dict[str, Any], params: list[ParamRange], source: str) -> None:
    """Validate every parameter through the scenario loader at the corners of its range.

    An unknown key gets the loader's "did you mean" message; a range the schema does not allow
    (a probability above 1, p_join_max below p_join_base, an integer field) fails here, before
    any simulation or file is written.
    """
    from model.scenario.loader import field_type

    keys = [p.key for p in params]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise InputError(f"--param {sorted(dupes)[0]!r} is given twice")
    for p in params:
        if field_type(p.key) is int:
            raise InputError(
                f"--param {p.key}={p.low:g}:{p.high:g}: {p.key} is a whole number, but ABC-SMC "
                "draws real numbers from a uniform prior; calibrate a real-valued parameter "
                "(a probability, a rate, an amount) instead"
            )
        # The midpoint too: a range may be valid at both ends but not between (rarely).
        for label, value in (("LOW", p.low), ("HIGH", p.high), ("midpoint", (p.low + p.high) / 2)):
            try:
                validate(apply_overrides(raw, {p.key: value}), source=source, overridden=[p.key])
            except InputError as err:
                raise InputError(
                    f"--param {p.key}={p.low:g}:{p.high:g} ({label} {value:g}): {err}"
                ) from None
    # Every parameter at its low end together, and at its high end together: cross-field rules
    # (p_join_max ≥ p_join_base) and limits on products (the purchase rate) apply jointly.
    for label, corner in (
        ("every LOW", {p.key: p.low for p in params}),
        ("every HIGH", {p.key: p.high for p in params}),
    ):
        if len(params) < 2:
            break
        try:
            validate(apply_overrides(raw, corner), source=source, overridden=list(corner))
        except InputError as err:
            ranges = " ".join(f"{p.key}={p.low:g}:{p.high:g}" for p in params)
            raise InputError(f"--param {ranges} (with {label}): {err}") from None


def simulation_seed(seed: int, values: dict[str, float]) -> np.random.SeedSequence:
    """The seed of one simulation: the root seed and the exact bits of the drawn parameters.

    The same parameters always give the same series, whichever worker runs them and in which
    order, so the sampler's acceptances are reproducible.
    """
    bits = [struct.unpack("<Q", struct.pack("<d", float(values[k])))[0] for k in sorted(values)]
    return np.random.SeedSequence([int(seed), *bits])


class SeriesModel:
    """The pyABC model: parameters → simulated monthly series (a picklable callable).

    Args:
        raw: the resolved raw scenario (``resolve_raw`` + ``--set`` overrides).
        months: the simulated month numbers that are observed.
        columns: the observed series.
        seed: root seed of the calibration.
        source: scenario file name for error messages.
    """

    def __init__(
        self,
        raw: dict[str, Any],
        months: tuple[int, ...],
        columns: tuple[str, ...],
        seed: int,
        source: str = "<scenario>",
    ) -> None:
        self.raw = apply_overrides(raw, {"sim.days": 30 * max(months)})
        self.months = tuple(months)
        self.columns = tuple(columns)
        self.seed = int(seed)
        self.source = source

    def scenario(self, values: dict[str, float]):
        """The scenario with these parameter values."""
        return validate(apply_overrides(self.raw, values), source=self.source, overridden=values)

    def series(self, values: dict[str, float], seed: np.random.SeedSequence) -> dict:
        """Simulate once and return the monthly series (float arrays) by column."""
        result = simulate(self.scenario(values), seed=seed)
        return monthly_metrics(result.daily, self.months, self.columns)

    def __call__(self, parameters: dict[str, float]) -> dict[str, np.ndarray]:
        """Simulate for one parameter draw (the call pyABC makes)."""
        values = {k: float(v) for k, v in dict(parameters).items()}
        return self.series(values, simulation_seed(self.seed, values))


def _seeded_job(entropy: list[int], fn: Callable[..., Any], *args: Any) -> Any:
    """Run one pyABC job with numpy's and Python's global RNGs seeded from ``entropy``.

    pyABC's job function calls ``np.random.seed()`` and ``random.seed()`` without arguments
    first thing; for the job's duration those calls seed from our entropy instead of the OS.
    """
    state = np.random.SeedSequence(entropy).generate_state(8)
    np_seed, py_seed = np.random.seed, random.seed

    def seeded_np(seed=None):
        np_seed(state if seed is None else seed)

    def seeded_py(a=None, version=2):
        py_seed(int.from_bytes(state.tobytes(), "little") if a is None else a, version)

    np.random.seed, random.seed = seeded_np, seeded_py
    try:
        return fn(*args)
    finally:
        np.random.seed, random.seed = np_seed, py_seed


class SeededJobs:
    """An Executor adapter that gives every pyABC job a seed from (seed, generation, job id).

    Wraps an executor from :func:`model.execution.open_executor`; ``generation`` is set by
    :func:`make_sampler`'s sampler before each generation (−1 = pyABC's calibration sample).
    """

    def __init__(self, executor, seed: int) -> None:
        self.executor = executor
        self.seed = int(seed)
        self.generation = 0

    def submit(self, fn, *args, **kwargs):
        """Submit ``fn(*args)``; the last argument is pyABC's list of job ids."""
        job_ids = args[-1]
        entropy = [self.seed, self.generation + 1, int(job_ids[0])]
        return self.executor.submit(_seeded_job, entropy, fn, *args, **kwargs)


def make_sampler(executor, seed: int):
    """A ConcurrentFutureSampler on our executor seam, with deterministic job seeds."""
    from pyabc.sampler import ConcurrentFutureSampler

    class _Sampler(ConcurrentFutureSampler):
        def sample_until_n_accepted(self, n, simulate_one, t, **kwargs):
            self.client.generation = t
            return super().sample_until_n_accepted(n, simulate_one, t, **kwargs)

    workers = int(getattr(executor, "workers", 1) or 1)
    # In-process: one job at a time. A pool: a few queued jobs per worker keep it busy without
    # starting many simulations that the N-th acceptance makes useless.
    return _Sampler(
        cfuture_executor=SeededJobs(executor, seed),
        client_max_jobs=1 if workers == 1 else 2 * workers,
    )


def make_abc(model: SeriesModel, params: list[ParamRange], population_size: int, sampler):
    """The ABCSMC object: uniform priors, adaptive L1 distance, median epsilon."""
    import pyabc

    prior = pyabc.Distribution(**{p.key: pyabc.RV("uniform", p.low, p.width) for p in params})
    # Distance: a weighted L1 norm over every month of every series, each entry scaled by its
    # median absolute deviation across the latest generation's simulations, re-fitted every
    # generation (pyABC's AdaptivePNormDistance; Prangle 2017, Schälte et al. 2022). Without the
    # scaling the pool size (thousands) would swamp the unfollows (tens) and the parameter they
    # identify; refitting keeps the weights right as the posterior narrows. L1 rather than L2
    # because one noisy month (a simulated spike) should not decide a whole acceptance.
    distance = pyabc.AdaptivePNormDistance(p=1, scale_function=pyabc.distance.mad)
    return pyabc.ABCSMC(
        model,
        prior,
        distance,
        population_size=population_size,
        sampler=sampler,
        eps=pyabc.MedianEpsilon(),
    )


def _log_to_current_stderr() -> None:
    """Point pyABC's log handler at today's ``sys.stderr``.

    pyABC binds a StreamHandler to the ``sys.stderr`` of import time; when that stream has
    since been replaced (a notebook cell, a test capturing output), logging would write to a
    closed file.
    """
    import logging
    import sys

    import pyabc  # noqa: F401 - importing it installs the handler

    for handler in logging.getLogger("ABC").handlers:
        if type(handler) is logging.StreamHandler and handler.stream is not sys.stderr:
            # Not setStream(): it flushes the old stream first, which may be closed.
            handler.acquire()
            try:
                handler.stream = sys.stderr
            finally:
                handler.release()


@dataclass(frozen=True)
class CalibrationRun:
    """What :func:`run_abc` did."""

    resumed: bool
    generations_before: int
    generations_run: int
    history: Any  # pyabc.History


def run_abc(
    db_path: str,
    model: SeriesModel,
    params: list[ParamRange],
    series: MonthlySeries,
    *,
    populations: int,
    population_size: int,
    executor,
    seed: int,
    on_resume: Callable[[int], None] | None = None,
) -> CalibrationRun:
    """Start or continue an ABC-SMC run stored in ``db_path`` until it has ``populations``.

    Args:
        db_path: the sqlite file of the history (created if missing, else continued).
        model: the simulator wrapper.
        params: calibrated parameters and their priors.
        series: the observed series.
        populations: total generations wanted (finished ones in the file count).
        population_size: accepted particles per generation.
        executor: from :func:`model.execution.open_executor`.
        seed: root seed of job and simulation seeds.
        on_resume: called with the number of finished generations when continuing.

    Returns:
        The run record with the pyABC history.
    """
    import os

    _log_to_current_stderr()
    abc = make_abc(model, params, population_size, make_sampler(executor, seed))
    db = "sqlite:///" + os.path.abspath(db_path)
    if os.path.exists(db_path):
        history = abc.load(db, 1)
        # pyABC stores each generation only once it is complete, so max_t counts finished ones.
        done = int(history.max_t) + 1
        resumed = True
        if on_resume is not None:
            on_resume(done)
    else:
        history = abc.new(db, series.as_sumstats())
        done = 0
        resumed = False
    todo = max(0, populations - done)
    if todo:
        history = abc.run(max_nr_populations=todo)
    ran = int(history.max_t) + 1 - done if history.n_populations else 0
    return CalibrationRun(resumed, done, ran, history)


def predictive_series(task: tuple[SeriesModel, dict[str, float], int]) -> dict[str, np.ndarray]:
    """One posterior-predictive simulation: ``(model, parameter values, draw index)``.

    Seeded by ``replicate_seed(model.seed, i)``: fresh process noise for each draw, independent
    of the seeds the calibration itself used.
    """
    from model.seeds import replicate_seed

    model, values, i = task
    return model.series(values, replicate_seed(model.seed, i))
