"""Runs of a sweep: content-addressed keys, picklable tasks and the function a worker calls.

A run is identified by what determines its result, never by where or when it ran::

    run_key = sha256(canonical JSON of {package version, resolved scenario, root seed, replicate})

(plus the run function's name when it is not the simulator's).

The resolved scenario is ``Scenario.model_dump(mode="json")`` without ``name``, ``description``
and ``sim.seed`` (labels, and a seed the sweep's root seed replaces), so the same parameters
reached through another spec, point order or file name reuse the stored run. Replicate ``i``
draws from ``model.seeds.replicate_seed(root_seed, i)``.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from model._version import __version__
from model.seeds import replicate_seed

RunFunction = Callable[[dict[str, Any], np.random.SeedSequence], dict[str, Any]]


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal content, equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def hashable_scenario(resolved: dict[str, Any]) -> dict[str, Any]:
    """The part of a resolved scenario that determines results (labels and sim.seed dropped)."""
    out = copy.deepcopy(resolved)
    out.pop("name", None)
    out.pop("description", None)
    out.get("sim", {}).pop("seed", None)
    return out


DEFAULT_RUN = "model.sweep.runs:run_point"


def run_key(resolved: dict[str, Any], root_seed: int, replicate: int,
            version: str = __version__, run: str = DEFAULT_RUN) -> str:
    """The content address of one run (hex sha256).

    A run function other than the simulator (``run = ...`` in a spec: stand-ins, experiments)
    is part of the key, so its results never pass for the simulator's.
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
    """Everything a worker needs for one run: plain data, cheap to pickle."""

    run_key: str
    scenario: dict[str, Any]  # resolved, JSON-able
    root_seed: int
    replicate: int
    run: str  # "module:function"


#: The run functions a spec's ``run = "module:function"`` may name. A data file must not choose
#: code to import: only these are ever imported (the simulator, and the cheap stand-ins of
#: ``model.sweep.toy`` that the tests and demos use).
RUN_FUNCTIONS = (
    DEFAULT_RUN,
    "model.sweep.toy:toy_run",
    "model.sweep.toy:toy_run_slow",
)


def resolve_run_function(path: str) -> RunFunction:
    """Import one of the registered :data:`RUN_FUNCTIONS` (``"package.module:function"``).

    Raises:
        ValueError: ``path`` is not registered.
    """
    if path not in RUN_FUNCTIONS:
        raise ValueError(f"run function {path!r} is not one of {', '.join(RUN_FUNCTIONS)}")
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def execute(task: RunTask) -> dict[str, float | None]:
    """Worker entry point: run one task and keep the numeric KPIs of its summary."""
    fn = resolve_run_function(task.run)
    summary = fn(task.scenario, replicate_seed(task.root_seed, task.replicate))
    kpis: dict[str, float | None] = {}
    for name, value in summary.items():
        if value is None or isinstance(value, bool | int | float | np.integer | np.floating):
            kpis[name] = None if value is None else float(value)
    return kpis


def run_point(scenario: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, Any]:
    """The real run function: validate the resolved scenario, simulate, return its KPIs."""
    from model.api import simulate
    from model.scenario.schema import Scenario

    return simulate(Scenario.model_validate(scenario), seed).summary()
