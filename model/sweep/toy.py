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
