"""Evaluators: a batch of candidates in, per candidate the KPIs over a block's cells out.

The optimiser only needs this small interface (:class:`Evaluator`)::

    evaluations = evaluator.evaluate(candidates, block)   # candidates: dotted-key overrides
    evaluations[i].kpis["value_created"]                  # one value per cell (NaN: undefined)
    evaluations[i].cum                                    # cells × days cumulative contribution

* :class:`EngineEvaluator` runs on the experiment engine (:mod:`model.experiment`): each
  (candidate, cell) is one :class:`~model.experiment.tasks.RunTask` — the base scenario with
  the cell's market draw and the candidate's overrides, seeded ``replicate_seed(draw seed, i)``
  — keyed by its content; :func:`model.experiment.engine.execute` runs only what the
  content-addressed Parquet store lacks, through the executor seam, so results never depend on
  the worker count, the order of completion or an interruption (a rerun resumes).
* :class:`FunctionEvaluator` calls a module-level function ``fn(candidate, cell)`` in-process:
  constructed objectives with known optima for the method's tests.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyarrow.parquet as pq

from model.errors import InputError
from model.experiment import engine
from model.experiment.store import FINISHED, KPI_PREFIX, SERIES_PREFIX, ResultStore
from model.experiment.tasks import DEFAULT_RUN, RunTask, canonical_json
from model.optimize.block import Block, Cell
from model.scenario import apply_overrides, validate

#: The daily series the payback constraint reads.
CUM = "cum_contribution"
LOST = "run lost: its worker kept dying; run again to retry"


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


def assemble(candidate: dict[str, Any], records: list[dict[str, Any] | None]) -> Evaluation:
    """One candidate's evaluation from its cells' records (``status, error, kpis, cum``)."""
    names = sorted({k for r in records if r for k in (r.get("kpis") or {})})
    kpis = {
        name: np.array([_number((r.get("kpis") or {}).get(name)) if r else np.nan for r in records])
        for name in names
    }
    errors = tuple(
        LOST if r is None else (r["error"] if r["status"] != "ok" else None) for r in records
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
    return np.nan if value is None or value != value else float(value)


def _invalid(candidate: dict[str, Any], why: str, n: int) -> Evaluation:
    return Evaluation(dict(candidate), {}, None, tuple([why] * n), invalid=why)


# --- the experiment engine ----------------------------------------------------------------------


class EngineEvaluator:
    """Runs candidates through the experiment engine's run task and store.

    Args:
        base_raw: the base scenario as a raw dict, shared overrides applied.
        store: the engine's content-addressed store (finished runs are reused).
        executor: from :func:`model.execution.open_executor` (the caller closes it).
        source: the spec's file name, for messages about invalid candidates.
        run: a registered run function (:data:`model.experiment.tasks.RUN_FUNCTIONS`); the
            simulator unless a test asks for a stand-in.
        retries: resubmissions of a run whose worker died.
        progress: a label for a progress bar, or None.
        series: bring back the daily tables (the payback constraint reads ``cum_contribution``).
    """

    def __init__(
        self,
        base_raw: dict[str, Any],
        store: ResultStore,
        executor: cf.Executor,
        *,
        source: str = "<base>",
        run: str = DEFAULT_RUN,
        retries: int = 2,
        progress: str | None = None,
        series: bool = False,
    ) -> None:
        self.base_raw = base_raw
        self.store = store
        self.executor = executor
        self.source = source
        self.run = run
        self.retries = retries
        self.progress = progress
        self.series = series
        self.n_ran = 0
        self.n_reused = 0
        self.n_lost = 0
        self._resolved: dict[str, dict[str, Any]] = {}
        self._records: dict[str, dict[str, Any]] = {}
        self._read_parts: set[str] = set()
        self._refresh()
        #: Finished runs found in the store when it was opened (a resume reuses them).
        self.n_stored = sum(r["status"] in FINISHED for r in self._records.values())

    def task(self, candidate: dict[str, Any], cell: Cell) -> RunTask:
        """The run of one candidate on one cell (raises InputError for an invalid candidate)."""
        overrides = {**cell.market, **candidate}
        memo = canonical_json(overrides)
        resolved = self._resolved.get(memo)
        if resolved is None:
            raw = apply_overrides(self.base_raw, overrides)
            scenario = validate(raw, source=self.source, overridden=overrides.keys())
            resolved = self._resolved[memo] = scenario.model_dump(mode="json")
        return RunTask(
            "candidate", cell.replicate, cell.root_seed, resolved, run=self.run, series=self.series
        )

    def evaluate(self, candidates: Sequence[dict[str, Any]], block: Block) -> list[Evaluation]:
        """Evaluate every candidate on every cell of the block; reuse stored runs."""
        plans: list[list[RunTask] | str] = []
        for candidate in candidates:
            try:
                plans.append([self.task(candidate, cell) for cell in block.cells])
            except InputError as err:
                plans.append(str(err))
        rows = [
            ({"candidate": i}, t) for i, p in enumerate(plans) if isinstance(p, list) for t in p
        ]
        plan = engine.plan(block.name, rows)
        todo = [t for t in plan.tasks if not self._done(t.key)]
        self.n_reused += len(plan.tasks) - len(todo)
        if todo:
            report = engine.execute(
                plan,
                self.store,
                todo,
                executor=self.executor,
                retries=self.retries,
                progress=self.progress,
            )
            self.n_ran += report.n_ran - report.n_lost
            self.n_lost += report.n_lost
            self._refresh()
        out = []
        for candidate, p in zip(candidates, plans, strict=True):
            if isinstance(p, str):
                out.append(_invalid(candidate, p, len(block)))
            else:
                out.append(assemble(candidate, [self._finished(t.key) for t in p]))
        return out

    def _finished(self, key: str) -> dict[str, Any] | None:
        record = self._records.get(key)
        return record if record is not None and record["status"] in FINISHED else None

    def _done(self, key: str) -> bool:
        record = self._finished(key)
        # A run stored without its daily table (by a spec without the payback constraint) is
        # run again when the table is needed.
        return record is not None and not (
            self.series and record["status"] == "ok" and record["cum"] is None
        )

    def _refresh(self) -> None:
        """Read the store's part files not read yet (a finished row wins over a lost one)."""
        for part in self.store.part_files():
            if part.name in self._read_parts:
                continue
            self._read_parts.add(part.name)
            names = pq.read_schema(part).names
            cum = SERIES_PREFIX + CUM
            wanted = [
                c
                for c in names
                if c in ("run_key", "status", "error") or c.startswith(KPI_PREFIX) or c == cum
            ]
            for row in pq.read_table(part, columns=wanted).to_pylist():
                series = row.get(cum)
                new = {
                    "status": row["status"],
                    "error": row.get("error"),
                    "kpis": {
                        c[len(KPI_PREFIX) :]: v for c, v in row.items() if c.startswith(KPI_PREFIX)
                    },
                    "cum": None if series is None else np.asarray(series, dtype=float),
                }
                old = self._records.get(row["run_key"])
                # A finished row is never replaced by a lost one, only by one with the series.
                if old is not None and old["status"] in FINISHED:
                    if new["status"] not in FINISHED or new["cum"] is None:
                        continue
                self._records[row["run_key"]] = new


# --- constructed objectives ---------------------------------------------------------------------


class FunctionEvaluator:
    """Evaluates ``fn(candidate, cell) -> {"kpis": {...}, "cum": array or None}`` in-process.

    For the method's tests: ``fn`` draws its randomness only from the cell (its seed and
    market), as the simulator does, so candidates are paired exactly as on the engine.
    """

    def __init__(self, fn: Callable[[dict[str, Any], Cell], dict[str, Any]]) -> None:
        self.fn = fn

    def evaluate(self, candidates: Sequence[dict[str, Any]], block: Block) -> list[Evaluation]:
        """Call ``fn`` for every candidate on every cell."""
        out = []
        for candidate in candidates:
            records = []
            for cell in block.cells:
                result = self.fn(dict(candidate), cell)
                records.append(
                    {
                        "status": "ok",
                        "error": None,
                        "kpis": dict(result.get("kpis", {})),
                        "cum": result.get("cum"),
                    }
                )
            out.append(assemble(candidate, records))
        return out
