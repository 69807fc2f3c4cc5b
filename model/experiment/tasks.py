"""One run task for every experiment: plain data, its seed inside, keyed by its content.

A run is identified by what determines its result, never by where or when it ran::

    run_key = sha256(canonical JSON of {package version, resolved scenario, root seed, replicate})

(plus the run function's name when it is not the simulator's). The resolved scenario is
``Scenario.model_dump(mode="json")`` without ``name``, ``description`` and ``sim.seed`` (labels,
and a seed the experiment's root seed replaces), so the same parameters reached through another
file, point order or strategy name reuse the stored run. Replicate ``i`` draws from
``model.seeds.replicate_seed(root_seed, i)``.

Workers call :func:`run_task`; it imports only the registered run functions
(:data:`RUN_FUNCTIONS`): a data file never chooses code to import.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from model._version import __version__
from model.seeds import replicate_seed, seed_label

#: The simulator. Other run functions are cheap stand-ins for tests (``model.sweep.toy``).
DEFAULT_RUN = "model.experiment.tasks:simulate_point"
#: The run functions an experiment file's ``run = "module:function"`` may name.
RUN_FUNCTIONS = (
    DEFAULT_RUN,
    "model.sweep.toy:toy_run",
    "model.sweep.toy:toy_run_slow",
)

RunFunction = Callable[[dict[str, Any], np.random.SeedSequence], Any]


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal content, equal text."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def hashable_scenario(resolved: dict[str, Any]) -> dict[str, Any]:
    """The part of a resolved scenario that determines results (labels and sim.seed dropped)."""
    out = copy.deepcopy(resolved)
    out.pop("name", None)
    out.pop("description", None)
    out.get("sim", {}).pop("seed", None)
    return out


def run_key(
    resolved: dict[str, Any],
    root_seed: int,
    replicate: int,
    version: str = __version__,
    run: str = DEFAULT_RUN,
) -> str:
    """The content address of one run (hex sha256).

    A run function other than the simulator is part of the key, so a stand-in's results never
    pass for the simulator's.
    """
    payload: dict[str, Any] = {
        "package_version": version,
        "scenario": hashable_scenario(resolved),
        "root_seed": int(root_seed),
        "replicate": int(replicate),
    }
    if run != DEFAULT_RUN:
        payload["run"] = run
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run: plain data, cheap to pickle.

    Attributes:
        label: what the run is in its experiment (a strategy's name, a sweep's name); not part
            of its key.
        replicate: the replicate index: the run draws from ``replicate_seed(root_seed, i)``.
        root_seed: the root seed of the run's cell (a comparison's draw, a sweep's point).
        scenario: the resolved scenario (a ``Scenario`` is turned into its JSON dict).
        run: the registered run function.
        series: bring the daily table back (comparisons: fan charts and ``runs.parquet``).
    """

    label: str
    replicate: int
    root_seed: int
    scenario: Any
    run: str = DEFAULT_RUN
    series: bool = True

    def __post_init__(self) -> None:
        if hasattr(self.scenario, "model_dump"):
            object.__setattr__(self, "scenario", self.scenario.model_dump(mode="json"))

    @cached_property
    def key(self) -> str:
        """The run's content address (:func:`run_key`)."""
        return run_key(self.scenario, self.root_seed, self.replicate, run=self.run)

    @property
    def seed(self) -> np.random.SeedSequence:
        """The seed sequence the run draws from."""
        return replicate_seed(self.root_seed, self.replicate)


@dataclass(frozen=True)
class RunRecord:
    """What a worker sends back: the KPIs and, if asked, the daily table (no orders)."""

    label: str
    replicate: int
    seed: str
    kpis: dict[str, float | None]
    daily: pd.DataFrame | None = None


def resolve_run_function(path: str) -> RunFunction:
    """Import one of the registered :data:`RUN_FUNCTIONS` (``"package.module:function"``).

    Raises:
        ValueError: ``path`` is not registered.
    """
    if path not in RUN_FUNCTIONS:
        raise ValueError(f"run function {path!r} is not one of {', '.join(RUN_FUNCTIONS)}")
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def run_task(task: RunTask) -> RunRecord:
    """Worker entry point: run one task; keep its numeric KPIs (and its daily table if asked)."""
    out = resolve_run_function(task.run)(task.scenario, task.seed)
    summary, daily = (out, None) if isinstance(out, dict) else (out.summary(), out.daily)
    kpis: dict[str, float | None] = {}
    for name, value in summary.items():
        if value is None or isinstance(value, bool | int | float | np.integer | np.floating):
            kpis[name] = None if value is None else float(value)
    return RunRecord(
        task.label, task.replicate, seed_label(task.seed), kpis, daily if task.series else None
    )


def simulate_point(scenario: dict[str, Any], seed: np.random.SeedSequence):
    """The real run function: validate the resolved scenario and simulate it."""
    from model.api import simulate
    from model.scenario.schema import Scenario

    return simulate(Scenario.model_validate(scenario), seed)
