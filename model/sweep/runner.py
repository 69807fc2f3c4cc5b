"""Run a sweep: plan the runs, skip the stored ones, execute the rest, summarise.

``run_sweep(spec, out)`` is resumable by construction: the plan is a list of content-addressed
runs, the store already holds some of them, and only the others are submitted. Interrupt it
(Ctrl-C, ``kill -9``, a crash) and run it again: it runs exactly the missing runs. Add points or
replicates: every stored run is reused.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from model._version import __version__
from model.errors import InputError
from model.execution import map_runs, open_executor
from model.outputs import OutputDir, claim_output_dir, open_output_dir
from model.resources import MAX_RUNS, check_count, check_memory, concurrency, run_bytes
from model.scenario import apply_overrides, validate
from model.sweep.runs import DEFAULT_RUN, RunTask, execute, run_key
from model.sweep.sampling import design_points
from model.sweep.spec import SweepSpec
from model.sweep.store import (
    KPI_PREFIX,
    STORE_FILES,
    ResultStore,
    looks_like_store,
    read_manifest,
    result_hash,
    write_manifest,
)

Log = Callable[[str], None]


@dataclass
class Plan:
    """The runs of a spec: points, their seeds, and one task per distinct run."""

    kind: str
    spec: SweepSpec
    points: list[dict[str, Any]]
    point_seeds: list[int]
    keys: list[list[str]]  # keys[point][replicate]
    tasks: list[RunTask]  # distinct runs, point-major

    def manifest(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON plan written to ``DIR/sweep.json``."""
        spec = self.spec
        return {
            "kind": self.kind,
            "name": spec.name,
            "spec": str(spec.path),
            "scenario": str(spec.scenario_path),
            "package_version": __version__,
            "params": [p.key for p in spec.params],
            "method": spec.method,
            "replicates": spec.replicates,
            "root_seed": spec.root_seed,
            "kpis": list(spec.kpis),
            "objectives": {k: spec.direction(k) for k in spec.kpis},
            "points": [
                {"point": i, "params": point, "root_seed": seed, "runs": keys}
                for i, (point, seed, keys) in enumerate(
                    zip(self.points, self.point_seeds, self.keys, strict=True))
            ],
            **(extra or {}),
        }


def build_plan(spec: SweepSpec, points: list[dict[str, Any]] | None = None, *,
               point_seeds: list[int] | None = None, kind: str = "sweep") -> Plan:
    """Validate every point's scenario and key every run, before anything is submitted.

    Args:
        spec: a loaded spec.
        points: dotted-key values per point; default: the spec's design (grid × samples).
        point_seeds: a root seed per point (sensitivity's seed dummy); default the spec's.
        kind: recorded in the manifest.

    Raises:
        InputError: the first point whose scenario is invalid, naming the spec and the point.
    """
    points = design_points(spec) if points is None else points
    check_count(len(points) * spec.replicates, MAX_RUNS,
                f"{spec.path}: points × replicates ({len(points):,} × {spec.replicates:,})")
    point_seeds = point_seeds or [spec.root_seed] * len(points)
    keys: list[list[str]] = []
    tasks: list[RunTask] = []
    seen: set[str] = set()
    for i, (point, seed) in enumerate(zip(points, point_seeds, strict=True)):
        source = f"{spec.path} (point {i}: {point})"
        try:
            raw = apply_overrides(spec.base_raw, point)
        except InputError as err:
            raise InputError(str(err), file=source) from None
        raw.setdefault("name", spec.name)
        scenario = validate(raw, source=source)
        resolved = scenario.model_dump(mode="json")
        row = []
        for rep in range(spec.replicates):
            key = run_key(resolved, seed, rep, run=spec.run)
            row.append(key)
            if key not in seen:
                seen.add(key)
                tasks.append(RunTask(key, resolved, int(seed), rep, spec.run))
        keys.append(row)
    return Plan(kind, spec, points, [int(s) for s in point_seeds], keys, tasks)


@dataclass
class ExecutionReport:
    """What one invocation did."""

    n_runs: int
    n_reused: int
    n_ran: int
    n_failed: int = 0
    n_lost: int = 0


def claim_store(out: str | Path | OutputDir, kind: str, *, overwrite: bool = False,
                inputs: list[Path] | tuple[Path, ...] = ()) -> OutputDir:
    """Check that a sweep or sensitivity run may write its store into ``out``.

    New, empty, or a store of either kind (see :func:`model.outputs.claim_output_dir`).
    """
    if isinstance(out, OutputDir):
        return out
    other = "sensitivity" if kind == "sweep" else "sweep"
    return claim_output_dir(out, kind, overwrite=overwrite, inputs=inputs, compatible=(other,),
                            recognise=looks_like_store)


def check_plan_memory(plan: Plan, *, workers: int | None, scheduler: str | None,
                      executor: cf.Executor | None = None) -> None:
    """Refuse a plan whose largest run cannot fit in memory on this machine's workers."""
    sizes = [(t.scenario["market"]["size"], _graph_degree(t.scenario)) for t in plan.tasks]
    if not sizes:
        return
    size, degree = max(sizes, key=lambda sd: run_bytes(sd[0], graph_degree=sd[1]))
    parallel = int(getattr(executor, "workers", 1) or 1) if executor else concurrency(
        workers, len(plan.tasks))
    check_memory(what=f"{plan.kind} {plan.spec.name!r}", size=size,
                 per_run=run_bytes(size, graph_degree=degree), parallel=parallel,
                 scheduler=scheduler)


def _graph_degree(scenario: dict[str, Any]) -> int | None:
    referral, operation = scenario["referral"], scenario["operation"]
    if operation["mode"] != "none" and referral["enabled"] and referral["network"] != "mixed":
        return int(referral["mean_degree"])
    return None


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
    if plan.spec.run == DEFAULT_RUN:  # stand-in run functions do not simulate a market
        check_plan_memory(plan, workers=workers, scheduler=scheduler, executor=executor)
    out = claim.path
    store = ResultStore(out)
    done = store.finished_keys()
    todo = [t for t in plan.tasks if t.run_key not in done]
    if reverse:
        todo = todo[::-1]
    report = ExecutionReport(n_runs=len(plan.tasks), n_reused=len(plan.tasks) - len(todo),
                             n_ran=0)
    where = (f"Dask at {scheduler}" if scheduler else
             "in-process" if workers == 1 else f"{workers or 'all'} local processes")
    say(f"{plan.spec.name}: {len(plan.points)} points × {plan.spec.replicates} replicates = "
        f"{len(plan.tasks)} runs; {report.n_reused} already stored, running {len(todo)} "
        f"({'given executor' if executor else where}) into {out}")
    if not todo:
        open_output_dir(claim, STORE_FILES)
        write_manifest(out, plan.manifest(manifest_extra))
        return report
    ctx = contextlib.nullcontext(executor) if executor else open_executor(
        workers, scheduler, retries=retries)
    # The executor opens first: an unreachable scheduler fails before anything is written.
    with ctx as ex:
        open_output_dir(claim, STORE_FILES)
        write_manifest(out, plan.manifest(manifest_extra))
        _run_into_store(plan, todo, ex, store, retries, progress, report)
    return report


def _run_into_store(plan: Plan, todo: list[RunTask], ex: cf.Executor, store: ResultStore,
                    retries: int, progress: bool, report: ExecutionReport) -> None:
    with store.writer() as writer:
        for task, outcome in map_runs(ex, execute, todo, retries=retries,
                                      progress=plan.spec.name if progress else None):
            row: dict[str, Any] = {
                "run_key": task.run_key,
                "root_seed": task.root_seed,
                "replicate": task.replicate,
                "status": "ok" if outcome.ok else ("lost" if outcome.lost else "error"),
                "error": outcome.error,
                "traceback": outcome.traceback,
                "attempts": outcome.attempts,
                "elapsed_s": outcome.elapsed_s,
                "package_version": __version__,
            }
            if outcome.ok:
                row.update({f"{KPI_PREFIX}{k}": v for k, v in outcome.value.items()})
            writer.add(row)
            report.n_ran += 1
            report.n_failed += row["status"] == "error"
            report.n_lost += row["status"] == "lost"


# --- reading results ---------------------------------------------------------------------------


def load_runs(out: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """The manifest and one wide row per (point, replicate) of the directory's current plan."""
    manifest = read_manifest(out)
    index = pd.DataFrame(
        [
            {"run_key": key, "point": p["point"], "replicate": rep, "seed": p["root_seed"],
             **{k: p["params"].get(k) for k in manifest["params"]}}
            for p in manifest["points"]
            for rep, key in enumerate(p["runs"])
        ]
    )
    stored = ResultStore(out).read()
    stored = stored.drop(columns=[c for c in ("root_seed", "replicate") if c in stored])
    runs = index.merge(stored, on="run_key", how="left")
    runs["status"] = runs["status"].fillna("missing")
    return manifest, runs


def load_sweep(out: str | Path, *, wide: bool = False,
               metrics: list[str] | str | None = None) -> pd.DataFrame:
    """The results of a sweep (or sensitivity) directory as a tidy table, for notebooks.

    Long format (default), one row per run and metric::

        run_key, point, replicate, seed, <one column per swept parameter, by dotted key>,
        status, error, metric, value

    ``seed`` is the root seed; the run drew from ``replicate_seed(seed, replicate)``. ``status``
    is ``ok``, ``error`` (the run raised; ``value`` is NaN and ``error`` says why), ``lost`` or
    ``missing`` (not run yet). ``wide=True`` gives one row per run with a column per metric.

    Args:
        out: the ``--out`` directory of ``run.py sweep`` / ``run.py sensitivity``.
        wide: one row per run instead of one per run and metric.
        metrics: KPI names to include; default the spec's ``kpis``; ``"all"`` every stored KPI.
    """
    manifest, runs = load_runs(out)
    if metrics == "all":
        names = sorted(c[len(KPI_PREFIX):] for c in runs.columns if c.startswith(KPI_PREFIX))
    else:
        names = list(metrics or manifest["kpis"])
    for name in names:
        if f"{KPI_PREFIX}{name}" not in runs:
            runs[f"{KPI_PREFIX}{name}"] = float("nan")
    ids = ["run_key", "point", "replicate", "seed", *manifest["params"], "status", "error"]
    wide_frame = runs[ids + [f"{KPI_PREFIX}{n}" for n in names]].rename(
        columns={f"{KPI_PREFIX}{n}": n for n in names})
    if wide:
        return wide_frame.sort_values(["point", "replicate"]).reset_index(drop=True)
    long = wide_frame.melt(id_vars=ids, value_vars=names, var_name="metric", value_name="value")
    return long.sort_values(["point", "replicate", "metric"]).reset_index(drop=True)


def sweep_hash(out: str | Path) -> str:
    """The result hash of the directory's current plan (see ``store.result_hash``)."""
    _, runs = load_runs(out)
    return result_hash(runs.drop_duplicates("run_key"))


def point_summary(wide: pd.DataFrame, params: list[str], kpi: str) -> pd.DataFrame:
    """Per point: mean, median and the 10–90% band of a KPI over replicates that finished."""
    ok = wide[wide["status"] == "ok"]
    grouped = ok.groupby("point")[kpi]
    summary = pd.DataFrame({
        "mean": grouped.mean(),
        "median": grouped.median(),
        "p10": grouped.quantile(0.1),
        "p90": grouped.quantile(0.9),
        "n": grouped.count(),
    })
    first = wide.drop_duplicates("point").set_index("point")[params]
    return first.join(summary, how="left")


def best_points(out: str | Path, top: int = 1) -> pd.DataFrame:
    """The best point(s) per KPI of the spec, by the replicate mean in the KPI's direction."""
    manifest = read_manifest(out)
    wide = load_sweep(out, wide=True)
    rows = []
    for kpi in manifest["kpis"]:
        table = point_summary(wide, manifest["params"], kpi).dropna(subset=["mean"])
        if table.empty:
            continue
        way = manifest["objectives"].get(kpi, "max")
        table = table.sort_values("mean", ascending=(way == "min")).head(top)
        for point, row in table.iterrows():
            rows.append({"kpi": kpi, "direction": way, "point": point, **row.to_dict()})
    return pd.DataFrame(rows)


@dataclass
class SweepResult:
    """What ``run_sweep`` did and found."""

    out: Path
    report: ExecutionReport
    result_hash: str
    n_failed_total: int
    n_missing: int
    best: pd.DataFrame
    plots: list[Path] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The tidy table (``load_sweep(out)``)."""
        return load_sweep(self.out)

    def summary(self) -> dict[str, Any]:
        """Counts and the hash."""
        r = self.report
        return {"runs": r.n_runs, "reused": r.n_reused, "ran": r.n_ran,
                "failed": self.n_failed_total, "missing": self.n_missing,
                "result_hash": self.result_hash}


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
        Counts (ran, reused, failed), the result hash, the best point per KPI and plot paths.
    """
    plan = build_plan(spec)
    report = execute_plan(plan, out, workers=workers, scheduler=scheduler, executor=executor,
                          retries=retries, progress=progress, reverse=reverse, log=log,
                          overwrite=overwrite)
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
        plots=paths,
    )
