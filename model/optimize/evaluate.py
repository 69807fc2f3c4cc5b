"""Evaluators: a batch of candidates in, per candidate the KPIs over a block's cells out.

The optimiser only needs this small interface (:class:`Evaluator`)::

    evaluations = evaluator.evaluate(candidates, block)   # candidates: dotted-key overrides
    evaluations[i].kpis["value_created"]                  # one value per cell (NaN: undefined)
    evaluations[i].cum                                    # cells × days cumulative contribution

Two implementations share the plumbing (:class:`StoredEvaluator`): every (candidate, cell) is
one run with a content address; finished runs come from the :class:`EvaluationStore` and only
missing ones go through the executor seam (:func:`model.execution.map_runs`), so results never
depend on the worker count, the order of completion or an interruption.

* :class:`SimulatorEvaluator` runs the simulator on the base scenario with the cell's market
  draw and the candidate's overrides, seeded by ``replicate_seed(block seed, cell index)``.
* :class:`FunctionEvaluator` calls a module-level function ``fn(candidate, cell) -> {kpi: value}``:
  constructed objectives with known optima for the method's tests.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from model._version import __version__
from model.errors import InputError
from model.execution import map_runs
from model.optimize.block import Block, Cell
from model.optimize.store import EvaluationStore
from model.scenario import apply_overrides, validate
from model.sweep.runs import canonical_json, run_key


@dataclass(frozen=True)
class Evaluation:
    """One candidate on one block.

    Attributes:
        candidate: its dotted-key overrides.
        kpis: per KPI, one value per cell (NaN where undefined or the run raised).
        cum: cumulative contribution per cell and day (None when not asked for).
        errors: per cell, the error of a run that raised (None where it ran).
        invalid: why the candidate's scenario is invalid (no run was made), else None.
    """

    candidate: dict[str, Any]
    kpis: dict[str, np.ndarray]
    cum: np.ndarray | None
    errors: tuple[str | None, ...]
    invalid: str | None = None

    @property
    def ok(self) -> bool:
        """Every cell ran."""
        return self.invalid is None and all(e is None for e in self.errors)

    @property
    def first_error(self) -> str | None:
        """The first problem, for the trace."""
        return self.invalid or next((e for e in self.errors if e is not None), None)

    def values(self, kpi: str) -> np.ndarray:
        """One KPI over the cells (all NaN when the KPI is missing)."""
        n = len(self.errors)
        return self.kpis.get(kpi, np.full(n, np.nan))


class Evaluator(Protocol):
    """What the optimiser needs: a batch of candidates evaluated on a block."""

    def evaluate(self, candidates: Sequence[dict[str, Any]], block: Block) -> list[Evaluation]:
        """One :class:`Evaluation` per candidate, in the given order."""
        ...


@dataclass(frozen=True)
class _Task:
    key: str
    run: Callable[[Any], dict[str, Any]]
    payload: Any


class StoredEvaluator:
    """Runs what the store lacks through an executor; subclasses say what a run is.

    Args:
        store: finished runs (a fresh in-memory one when None).
        executor: from :func:`model.execution.open_executor`; None runs in-process.
        retries: resubmissions of a run whose worker died.
        progress: a label for a progress bar, or None.
        series: bring back the daily cumulative contribution (the payback constraint).
    """

    def __init__(
        self,
        store: EvaluationStore | None = None,
        executor: cf.Executor | None = None,
        *,
        retries: int = 2,
        progress: str | None = None,
        series: bool = False,
    ) -> None:
        self.store = store if store is not None else EvaluationStore()
        self.executor = executor
        self.retries = retries
        self.progress = progress
        self.series = series
        self.n_ran = 0
        self.n_reused = 0
        self.n_lost = 0

    def task(self, candidate: dict[str, Any], cell: Cell) -> _Task:
        """The run of one candidate on one cell (raises InputError for an invalid candidate)."""
        raise NotImplementedError

    def evaluate(self, candidates: Sequence[dict[str, Any]], block: Block) -> list[Evaluation]:
        """Evaluate every candidate on every cell of the block; reuse stored runs."""
        plans: list[list[_Task] | str] = []
        for candidate in candidates:
            try:
                plans.append([self.task(candidate, cell) for cell in block.cells])
            except InputError as err:
                plans.append(str(err))
        wanted: dict[str, _Task] = {}
        for plan in plans:
            if isinstance(plan, list):
                for t in plan:
                    if t.key in self.store:
                        continue
                    wanted.setdefault(t.key, t)
        reused = sum(len(p) for p in plans if isinstance(p, list)) - len(wanted)
        self.n_reused += reused
        self._run(list(wanted.values()))
        out = []
        for candidate, plan in zip(candidates, plans, strict=True):
            if isinstance(plan, str):
                out.append(_invalid(candidate, plan, len(block)))
            else:
                out.append(self._assemble(candidate, plan))
        return out

    def _run(self, tasks: list[_Task]) -> None:
        if not tasks:
            return
        from model.execution import InProcessExecutor

        executor = self.executor or InProcessExecutor()
        try:
            for task, outcome in map_runs(
                executor, _call, tasks, retries=self.retries, progress=self.progress
            ):
                if outcome.lost:
                    self.n_lost += 1
                    continue
                self.n_ran += 1
                if outcome.ok:
                    record = {"status": "ok", "error": None, **outcome.value}
                else:
                    record = {"status": "error", "error": outcome.error, "kpis": {}, "cum": None}
                self.store.put(task.key, record)
        finally:
            self.store.flush()

    def _assemble(self, candidate: dict[str, Any], plan: list[_Task]) -> Evaluation:
        records = [self.store.get(t.key) for t in plan]
        names = sorted({k for r in records if r for k in (r.get("kpis") or {})})
        kpis = {
            name: np.array(
                [_number((r.get("kpis") or {}).get(name)) if r else np.nan for r in records]
            )
            for name in names
        }
        errors = tuple(
            "run lost: its worker kept dying; run again to retry"
            if r is None
            else (r["error"] if r["status"] != "ok" else None)
            for r in records
        )
        cum = None
        series = [r.get("cum") if r and r["status"] == "ok" else None for r in records]
        if any(c is not None for c in series):
            length = max(len(c) for c in series if c is not None)
            cum = np.full((len(records), length), np.nan)
            for i, c in enumerate(series):
                if c is not None:
                    cum[i, : len(c)] = c
        return Evaluation(dict(candidate), kpis, cum, errors)


def _number(value: Any) -> float:
    return np.nan if value is None else float(value)


def _invalid(candidate: dict[str, Any], why: str, n: int) -> Evaluation:
    return Evaluation(dict(candidate), {}, None, tuple([why] * n), invalid=why)


def _call(task: _Task) -> dict[str, Any]:
    return task.run(task.payload)


# --- the simulator ------------------------------------------------------------------------------


class SimulatorEvaluator(StoredEvaluator):
    """Runs the simulator: the base, the cell's market draw, then the candidate's overrides.

    Args:
        base_raw: the base scenario as a raw dict, shared overrides applied.
        source: the spec's file name, for messages about invalid candidates.
        **kwargs: as :class:`StoredEvaluator`.
    """

    def __init__(self, base_raw: dict[str, Any], *, source: str = "<base>", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_raw = base_raw
        self.source = source
        self._resolved: dict[str, dict[str, Any]] = {}

    def task(self, candidate: dict[str, Any], cell: Cell) -> _Task:
        """The run of one candidate on one cell, keyed by its resolved scenario and seed."""
        overrides = {**cell.market, **candidate}
        memo = canonical_json(overrides)
        resolved = self._resolved.get(memo)
        if resolved is None:
            raw = apply_overrides(self.base_raw, overrides)
            scenario = validate(raw, source=self.source, overridden=overrides.keys())
            resolved = self._resolved[memo] = scenario.model_dump(mode="json")
        key = run_key(resolved, cell.root_seed, cell.seed_index)
        if self.series:
            key = hashlib.sha256(f"{key}:cum".encode()).hexdigest()
        payload = (resolved, cell.root_seed, cell.seed_index, self.series)
        return _Task(key, simulate_cell, payload)


def simulate_cell(payload: tuple[dict[str, Any], int, int, bool]) -> dict[str, Any]:
    """Worker: simulate one resolved scenario on one seed; its numeric KPIs (and series)."""
    from model.api import simulate
    from model.scenario.schema import Scenario
    from model.seeds import replicate_seed

    resolved, root_seed, index, series = payload
    result = simulate(Scenario.model_validate(resolved), replicate_seed(root_seed, index))
    kpis = {}
    for name, value in result.summary().items():
        if value is None or isinstance(value, bool | int | float | np.integer | np.floating):
            kpis[name] = None if value is None else float(value)
    cum = result.daily["cum_contribution"].to_numpy(dtype=float) if series else None
    return {"kpis": kpis, "cum": cum}


# --- constructed objectives ---------------------------------------------------------------------


class FunctionEvaluator(StoredEvaluator):
    """Evaluates ``fn(candidate, cell) -> {"kpis": {...}, "cum": array or None}``.

    ``fn`` must be a module-level function (picklable by reference) that draws its randomness
    only from the cell (its seed index and market), as the simulator does.
    """

    def __init__(self, fn: Callable[[dict[str, Any], Cell], dict[str, Any]], **kwargs: Any):
        super().__init__(**kwargs)
        self.fn = fn

    def task(self, candidate: dict[str, Any], cell: Cell) -> _Task:
        """The call of one candidate on one cell, keyed by the function and its arguments."""
        name = f"{self.fn.__module__}:{self.fn.__qualname__}"
        key = hashlib.sha256(
            canonical_json(
                {
                    "version": __version__,
                    "fn": name,
                    "candidate": candidate,
                    "root_seed": cell.root_seed,
                    "seed_index": cell.seed_index,
                    "market": cell.market,
                }
            ).encode()
        ).hexdigest()
        return _Task(key, _FunctionCall(self.fn), (dict(candidate), cell))


@dataclass(frozen=True)
class _FunctionCall:
    fn: Callable[[dict[str, Any], Cell], dict[str, Any]]

    def __call__(self, payload: tuple[dict[str, Any], Cell]) -> dict[str, Any]:
        candidate, cell = payload
        out = self.fn(candidate, cell)
        return {"kpis": dict(out.get("kpis", {})), "cum": out.get("cum")}
