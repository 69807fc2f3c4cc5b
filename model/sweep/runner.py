"""Run a sweep: plan the points through the experiment engine, run what is missing, summarise.

``run_sweep(spec, out)`` is resumable by construction: the plan is a table of content-addressed
runs (:mod:`model.experiment.engine`), the store in ``out`` already holds some of them, and only
the others are submitted. Interrupt it (Ctrl-C, ``kill -9``, a crash) and run it again: it runs
exactly the missing runs. Add points or replicates: every stored run is reused.

What a sweep reports depends on what it varies. Over **levers** (the brand's choices) the best
point per KPI is a choice a strategist can make. Over **market parameters** (facts the brand does
not choose) there is no best point to pick: the sweep reports the range of each KPI across the
plausible markets and how strongly each parameter moves it (rank correlation); a sweep over both
reports the best lever setting on average over the market points.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from model._version import __version__
from model.errors import InputError
from model.experiment import engine
from model.experiment.engine import ExecutionReport
from model.experiment.store import (
    STORE_FILES,
    ResultStore,
    looks_like_store,
    result_hash,
    write_manifest,
)
from model.experiment.tasks import RunTask
from model.outputs import OutputDir, claim_output_dir, open_output_dir
from model.scenario import apply_overrides, validate
from model.sweep.analysis import best_points, market_ranges
from model.sweep.reading import load_runs, load_sweep
from model.sweep.spec import SweepSpec

Log = Callable[[str], None]


@dataclass
class Plan:
    """The runs of a spec: its points, their seeds, and the engine's table of experiments."""

    kind: str
    spec: SweepSpec
    points: list[dict[str, Any]]
    point_seeds: list[int]
    experiments: engine.Plan

    @property
    def tasks(self) -> list[RunTask]:
        """The distinct runs, point-major."""
        return self.experiments.tasks

    def manifest(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON plan written to ``DIR/sweep.json``."""
        spec = self.spec
        table = self.experiments.table
        keys = table.groupby("point", sort=True)["run_key"].apply(list)
        return {
            "kind": self.kind,
            "name": spec.name,
            "spec": str(spec.path),
            "scenario": str(spec.scenario_path),
            "package_version": __version__,
            "params": [p.key for p in spec.params],
            "market_params": spec.market_params,
            "log_params": [p.key for p in spec.params if p.is_range and p.range.log],
            "method": spec.method,
            "replicates": spec.replicates,
            "root_seed": spec.root_seed,
            "kpis": list(spec.kpis),
            "directions": {k: spec.direction(k) for k in spec.kpis},
            "points": [
                {"point": i, "params": point, "root_seed": seed, "runs": keys[i]}
                for i, (point, seed) in enumerate(zip(self.points, self.point_seeds, strict=True))
            ],
            **(extra or {}),
        }


def build_plan(
    spec: SweepSpec,
    points: list[dict[str, Any]] | None = None,
    *,
    point_seeds: list[int] | None = None,
    kind: str = "sweep",
) -> Plan:
    """Validate every point's scenario and key every run, before anything is submitted.

    Args:
        spec: a loaded spec.
        points: dotted-key values per point; default: the spec's design (grid × samples).
        point_seeds: a root seed per point (sensitivity's seed dummy); default the spec's.
        kind: recorded in the manifest.

    Raises:
        InputError: the first point whose scenario is invalid, naming the spec and the point.
    """
    points = spec.points() if points is None else points
    engine.check_size(
        len(points) * spec.replicates,
        f"{spec.path}: points × replicates ({len(points):,} × {spec.replicates:,})",
    )
    point_seeds = point_seeds or [spec.root_seed] * len(points)
    rows = []
    for i, (point, seed) in enumerate(zip(points, point_seeds, strict=True)):
        source = f"{spec.path} (point {i}: {point})"
        try:
            raw = apply_overrides(spec.base_raw, point)
        except InputError as err:
            raise InputError(str(err), file=source) from None
        raw.setdefault("name", spec.name)
        scenario = validate(raw, source=source).model_dump(mode="json")
        for rep in range(spec.replicates):
            task = RunTask(spec.name, rep, int(seed), scenario, run=spec.run, series=False)
            rows.append(({"point": i}, task))
    return Plan(kind, spec, points, [int(s) for s in point_seeds], engine.plan(spec.name, rows))


def claim_store(
    out: str | Path | OutputDir,
    kind: str,
    *,
    overwrite: bool = False,
    inputs: list[Path] | tuple[Path, ...] = (),
) -> OutputDir:
    """Check that a sweep or sensitivity run may write its store into ``out``.

    New, empty, or a store of either kind (see :func:`model.outputs.claim_output_dir`).
    """
    if isinstance(out, OutputDir):
        return out
    other = "sensitivity" if kind == "sweep" else "sweep"
    return claim_output_dir(
        out,
        kind,
        overwrite=overwrite,
        inputs=inputs,
        compatible=(other,),
        recognise=looks_like_store,
    )


def execute_plan(
    plan: Plan,
    out: str | Path | OutputDir,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: cf.Executor | None = None,
    retries: int = 2,
    progress: bool = True,
    reverse: bool = False,
    manifest_extra: dict[str, Any] | None = None,
    log: Log | None = None,
    overwrite: bool = False,
) -> ExecutionReport:
    """Write the plan's manifest, run the runs the store lacks, and store every outcome.

    Args:
        plan: from :func:`build_plan`.
        out: the output directory (created; may hold runs of earlier invocations; another
            folder is refused unless ``overwrite``, see :func:`claim_store`).
        workers: local processes (1: in-process; None: every core).
        scheduler: a Dask scheduler address; overrides ``workers``.
        executor: an already open executor (overrides both; the caller closes it).
        retries: resubmissions of a run whose worker died.
        progress: show a progress bar.
        reverse: submit in reverse order (a test that results ignore order).
        manifest_extra: extra fields for ``sweep.json``.
        log: where to print plan lines (e.g. ``print``).
        overwrite: allow a folder this tool did not create (see :mod:`model.outputs`).
    """
    say = log or (lambda _msg: None)
    claim = claim_store(out, plan.kind, overwrite=overwrite)
    engine.check_plan_memory(
        plan.experiments, workers=workers, scheduler=scheduler, executor=executor
    )
    store = ResultStore(claim.path)
    todo = engine.missing(plan.experiments, store)
    where = (
        f"Dask at {scheduler}"
        if scheduler
        else "in-process"
        if workers == 1
        else f"{workers or 'all'} local processes"
    )
    say(
        f"{plan.spec.name}: {len(plan.points)} points × {plan.spec.replicates} replicates = "
        f"{len(plan.tasks)} runs; {len(plan.tasks) - len(todo)} already stored, running "
        f"{len(todo)} ({'given executor' if executor else where}) into {claim.path}"
    )

    def prepare() -> None:
        open_output_dir(claim, STORE_FILES)
        write_manifest(claim.path, plan.manifest(manifest_extra))

    return engine.execute(
        plan.experiments,
        store,
        todo,
        prepare=prepare,
        workers=workers,
        scheduler=scheduler,
        executor=executor,
        retries=retries,
        progress=plan.spec.name if progress else None,
        reverse=reverse,
    )


@dataclass
class SweepResult:
    """What ``run_sweep`` did and found."""

    out: Path
    report: ExecutionReport
    result_hash: str
    n_failed_total: int
    n_missing: int
    best: pd.DataFrame
    ranges: pd.DataFrame = field(default_factory=pd.DataFrame)
    plots: list[Path] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The tidy table (``load_sweep(out)``)."""
        return load_sweep(self.out)

    def summary(self) -> dict[str, Any]:
        """Counts and the hash."""
        r = self.report
        return {
            "runs": r.n_runs,
            "reused": r.n_reused,
            "ran": r.n_ran,
            "failed": self.n_failed_total,
            "missing": self.n_missing,
            "result_hash": self.result_hash,
        }


def run_sweep(
    spec: SweepSpec,
    out: str | Path | OutputDir,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: cf.Executor | None = None,
    retries: int = 2,
    progress: bool = True,
    reverse: bool = False,
    plots: bool = True,
    log: Log | None = None,
    overwrite: bool = False,
) -> SweepResult:
    """Run (or resume) a sweep into ``out`` and summarise it.

    Every point's scenario is validated before anything runs or is written. See
    :func:`execute_plan` for the arguments.

    Returns:
        Counts (ran, reused, failed), the result hash, the best lever setting per KPI (none
        over market parameters alone), the ranges over market points, and plot paths.
    """
    plan = build_plan(spec)
    report = execute_plan(
        plan,
        out,
        workers=workers,
        scheduler=scheduler,
        executor=executor,
        retries=retries,
        progress=progress,
        reverse=reverse,
        log=log,
        overwrite=overwrite,
    )
    out = Path(out)
    _, runs = load_runs(out)
    distinct = runs.drop_duplicates("run_key")
    paths: list[Path] = []
    if plots:
        from model.sweep.plots import sweep_plots

        paths = sweep_plots(out)
    return SweepResult(
        out=Path(out),
        report=report,
        result_hash=result_hash(distinct),
        n_failed_total=int((distinct["status"] == "error").sum()),
        n_missing=int(distinct["status"].isin(["missing", "lost"]).sum()),
        best=best_points(out),
        ranges=market_ranges(out),
        plots=paths,
    )
