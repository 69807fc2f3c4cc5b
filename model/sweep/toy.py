"""Cheap stand-in run functions, with fault injection, for tests and demos of the run seam.

They exercise :mod:`model.execution` and the sweep store without the simulator: module-level so
local pools and Dask workers import them by name, and deterministic given their task's seed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def square_with_seed(task: int) -> tuple[int, float]:
    """The task squared, plus a draw that depends only on the task (never the worker)."""
    rng = np.random.default_rng(np.random.SeedSequence(12345, spawn_key=(int(task),)))
    return task * task, float(rng.random())


def raise_on_odd(task: int) -> int:
    """Raise for odd tasks: a run error, recorded as data."""
    if task % 2:
        raise ValueError(f"odd task {task}")
    return task


def die_once(task: tuple[int, str]) -> int:
    """Task 3 kills its worker process on its first attempt (a marker file in folder remembers)."""
    index, folder = task
    if index == 3:
        marker = Path(folder) / f"died-{index}-{os.getpid()}"
        earlier = list(Path(folder).glob(f"died-{index}-*"))
        if not earlier:
            marker.touch()
            os._exit(7)
    return index * 10


def sleep_then_square(task: int) -> int:
    """Sleep a second then square: keeps workers busy while a test kills the parent."""
    import time

    time.sleep(1.0)
    return task * task


def toy_run(scenario: dict, seed: np.random.SeedSequence) -> dict[str, float]:
    """A cheap stand-in for ``simulate(...).summary()`` with a known structure.

    * ``contribution`` is dominated by ``diversion.p_join_max`` (×1e6), with a little from
      ``behaviour.rel_rate_private`` and noise (sd 2,000) from the seed;
    * ``roi`` peaks at 3 pushes a week and rises with the red packet;
    * ``repurchase_rate_90d`` follows ``behaviour.rel_rate_private``;
    * ``n_public`` (descriptive: neither more nor less is better) grows with the pushes;
    * ``referral.p_convert`` has no effect on anything (the null lever of the sensitivity test).

    Raises:
        ValueError: at 7 pushes a week (fault injection: a run that raises is data).
    """
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=3)
    pushes = scenario["outreach"]["pushes_per_week"]
    if pushes == 7:
        raise ValueError("toy model: 7 pushes a week is refused (fault injection)")
    incentive = scenario["diversion"]["incentive_yuan"]
    p_join_max = scenario["diversion"]["p_join_max"]
    rel_rate = scenario["behaviour"]["rel_rate_private"]
    return {
        "contribution": 1e6 * p_join_max + 2e4 * rel_rate + 2e3 * noise[0],
        "roi": 0.5 - 0.05 * (pushes - 3) ** 2 + 0.02 * incentive + 0.01 * noise[1],
        "repurchase_rate_90d": 0.2 + 0.1 * rel_rate + 0.005 * noise[2],
        "n_public": 1000.0 + 100.0 * pushes,
        "payback_day": None,
    }


def toy_run_slow(scenario: dict, seed: np.random.SeedSequence) -> dict[str, float]:
    """:func:`toy_run` taking 0.2 s, so a test can interrupt a sweep part-way."""
    import time

    time.sleep(0.2)
    return toy_run(scenario, seed)
