"""The table of experiments: plan the runs, run what the store lacks, read the outcomes back.

EMA Workbench's ``perform_experiments`` shape: a :class:`Plan` holds one row per experiment —
its axes (a comparison's ``strategy`` and ``draw``, a sweep's ``point`` and parameter values),
``replicate``, ``root_seed`` and the run's content address ``run_key`` — and one
:class:`~model.experiment.tasks.RunTask` per distinct run. Two experiments with the same content
(a strategy identical to the reference, coinciding design points) share one run.

Resuming needs no flag: :func:`missing` lists the runs the store lacks and :func:`execute` runs
only those, storing each outcome as it finishes (:mod:`model.experiment.store`). Interrupt it and
run it again: it runs exactly the rest. Results are keyed by content, never by completion order,
worker or backend, so they are identical on any number of workers and after a resume.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from model._version import __version__
from model.execution import RunOutcome, map_runs, open_executor
from model.experiment.store import KPI_PREFIX, SERIES_PREFIX, ResultStore
from model.experiment.tasks import DEFAULT_RUN, RunTask, run_task
from model.resources import MAX_RUNS, check_count, check_memory, concurrency, run_bytes
from model.seeds import seed_label


@dataclass
class Plan:
    """The experiments of one file: the table and its distinct runs.

    Attributes:
        name: the experiment's name (for messages).
        table: one row per experiment: its axes, ``replicate``, ``root_seed``, ``run_key``.
        tasks: the distinct runs, in the table's order.
    """

    name: str
    table: pd.DataFrame
    tasks: list[RunTask]


def check_size(count: int, what: str) -> None:
    """Refuse a plan of more than :data:`model.resources.MAX_RUNS` experiments, before planning.

    Args:
        count: the number of experiments.
        what: the plan in words, e.g. ``"spec.toml: points × replicates (16 × 2)"``.
    """
    check_count(count, MAX_RUNS, what)


def plan(name: str, rows: Iterable[tuple[dict[str, Any], RunTask]]) -> Plan:
    """Build the table of experiments from (axes, task) pairs.

    Args:
        name: the experiment's name.
        rows: each experiment's axes (``{"strategy": ..., "draw": ...}``) and its run.
    """
    records, tasks = [], {}
    for axes, task in rows:
        key = task.key
        records.append(
            {**axes, "replicate": task.replicate, "root_seed": task.root_seed, "run_key": key}
        )
        tasks.setdefault(key, task)
    return Plan(name, pd.DataFrame(records), list(tasks.values()))


def check_plan_memory(
    plan: Plan,
    *,
    workers: int | None,
    scheduler: str | None,
    executor: cf.Executor | None = None,
    held: int = 0,
    held_per_replicate: int = 0,
) -> None:
    """Refuse a plan whose largest run (and kept results) cannot fit in memory here.

    Raises:
        InputError: with the estimate and what would fit (:func:`model.resources.check_memory`).
    """
    if not plan.tasks or plan.tasks[0].run != DEFAULT_RUN:
        return  # stand-in run functions do not simulate a market
    size, per_run = max((_task_bytes(t.scenario) for t in plan.tasks), key=lambda sb: sb[1])
    parallel = (
        int(getattr(executor, "workers", 1) or 1)
        if executor
        else concurrency(workers, len(plan.tasks))
    )
    check_memory(
        what=f"{plan.name!r}: {len(plan.tasks):,} runs",
        size=size,
        per_run=per_run,
        parallel=parallel,
        held=held,
        held_per_replicate=held_per_replicate,
        scheduler=scheduler,
    )


def _task_bytes(scenario: dict[str, Any]) -> tuple[int, int]:
    """The people a run simulates and its memory (a miniature runs at ``market.scale``)."""
    market, referral, operation = scenario["market"], scenario["referral"], scenario["operation"]
    size = int(round(market["size"] * market.get("scale", 1.0)))
    graph = operation["mode"] != "none" and referral["enabled"] and referral["network"] != "mixed"
    degree = int(referral["mean_degree"]) if graph else None
    return size, run_bytes(size, graph_degree=degree)


def missing(plan: Plan, store: ResultStore) -> list[RunTask]:
    """The plan's runs that the store has no result for (a lost run counts as missing)."""
    done = store.finished_keys()
    return [t for t in plan.tasks if t.key not in done]


@dataclass
class ExecutionReport:
    """What one invocation did."""

    n_runs: int
    n_reused: int
    n_ran: int = 0
    n_failed: int = 0
    n_lost: int = 0


def execute(
    plan: Plan,
    store: ResultStore,
    todo: list[RunTask],
    *,
    prepare: Callable[[], None] = lambda: None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: cf.Executor | None = None,
    retries: int = 2,
    progress: str | None = None,
    reverse: bool = False,
) -> ExecutionReport:
    """Run ``todo`` (from :func:`missing`) and store every outcome as it finishes.

    Args:
        plan: the plan (for the counts).
        store: where outcomes go.
        todo: the runs to run.
        prepare: called once the executor is up and before anything is written (creates the
            store's folder and marker): an unreachable scheduler fails before any write.
        workers: local processes (1: in-process; None: every core).
        scheduler: a Dask scheduler address; overrides ``workers``.
        executor: an already open executor (overrides both; the caller closes it).
        retries: resubmissions of a run whose worker died (a run that raises is data).
        progress: a label for a progress bar; None: quiet.
        reverse: submit in reverse order (a test that results ignore order).
    """
    report = ExecutionReport(n_runs=len(plan.tasks), n_reused=len(plan.tasks) - len(todo))
    if not todo:
        prepare()
        return report
    todo = todo[::-1] if reverse else todo
    ctx = (
        contextlib.nullcontext(executor)
        if executor
        else open_executor(workers, scheduler, retries=retries)
    )
    with ctx as ex:
        prepare()
        with store.writer() as writer:
            for task, outcome in map_runs(ex, run_task, todo, retries=retries, progress=progress):
                row = outcome_row(task, outcome)
                writer.add(row)
                report.n_ran += 1
                report.n_failed += row["status"] == "error"
                report.n_lost += row["status"] == "lost"
    return report


def outcome_row(task: RunTask, outcome: RunOutcome) -> dict[str, Any]:
    """One stored row: the run's identity, status, KPIs and (if kept) daily series."""
    row: dict[str, Any] = {
        "run_key": task.key,
        "root_seed": task.root_seed,
        "replicate": task.replicate,
        "seed": seed_label(task.seed),
        "status": "ok" if outcome.ok else ("lost" if outcome.lost else "error"),
        "error": outcome.error,
        "traceback": outcome.traceback,
        "attempts": outcome.attempts,
        "elapsed_s": outcome.elapsed_s,
        "package_version": __version__,
    }
    if outcome.ok:
        record = outcome.value
        row.update({f"{KPI_PREFIX}{k}": v for k, v in record.kpis.items()})
        if record.daily is not None:
            for column in record.daily.columns:
                row[f"{SERIES_PREFIX}{column}"] = record.daily[column].to_numpy(np.float64)
    return row


def outcomes(plan: Plan, store: ResultStore, *, series: bool = False) -> pd.DataFrame:
    """The table of experiments joined with what the store holds for each run.

    ``status`` is ``ok``, ``error`` (the run raised: ``error`` says why), ``lost`` or
    ``missing``; KPI columns are ``kpi.<name>``, daily series ``series.<metric>`` (lists).
    """
    stored = store.read(series=series)
    stored = stored[stored["run_key"].isin(set(plan.table["run_key"]))]
    stored = stored.drop(columns=[c for c in ("root_seed", "replicate") if c in stored])
    out = plan.table.merge(stored, on="run_key", how="left")
    out["status"] = out["status"].fillna("missing")
    return out
