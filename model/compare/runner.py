"""Run a comparison: every strategy × every draw × every replicate, through the experiment engine.

Cell (draw ``d``, replicate ``i``) of *every* strategy runs on the same market (draw ``d``'s
values of the uncertain parameters) and the same seed, ``replicate_seed(seed_d, i)`` with
``seed_d`` the draw's root seed (the comparison's root seed itself without draws): common draws
and common random numbers, so strategy − reference on a cell measures the strategy, not the
market or the luck. Runs go through :func:`model.experiment.engine.execute` into a
content-addressed store, so an interrupted comparison resumes, and results are identical on any
number of workers.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.compare.result import ID_COLUMNS, ComparisonResult
from model.compare.spec import ComparisonSpec, load_comparison
from model.compare.summary import paired_payback
from model.errors import InputError
from model.experiment import engine
from model.experiment.store import KPI_PREFIX, SERIES_PREFIX, ResultStore
from model.experiment.tasks import RunTask, run_task  # noqa: F401 - a comparison's run task
from model.outputs import (
    MARKER,
    OutputDir,
    claim_output_dir,
    open_output_dir,
    read_marker,
    remove_stale_temporaries,
)
from model.resources import COMPARE_BYTES_PER_RUN_DAY
from model.scenario import apply_overrides, validate

STORE_COMMAND = "compare-runs"


def comparison_plan(spec: ComparisonSpec) -> engine.Plan:
    """The table of experiments: strategy × draw × replicate, every scenario validated.

    Raises:
        InputError: a draw whose values make a strategy's scenario invalid (naming both).
    """
    n = len(spec.strategies) * spec.draws * spec.replicates
    engine.check_size(
        n,
        f"{spec.path}: strategies × draws × replicates "
        f"({len(spec.strategies)} × {spec.draws} × {spec.replicates})",
    )
    draws = spec.draw_table
    keys = [d.key for d in spec.uncertainty.drawn] if spec.uncertainty.enabled else []
    rows = []
    for draw in draws.to_dict("records"):
        d = int(draw["draw"])
        values = {k: _plain(draw[k]) for k in keys}
        scenarios = {s.name: _at_draw(s, values, d, spec) for s in spec.strategies}
        for i in range(spec.replicates):
            for s in spec.strategies:
                task = RunTask(s.name, i, int(draw["seed"]), scenarios[s.name])
                rows.append(({"strategy": s.name, "draw": d}, task))
    return engine.plan(spec.name, rows)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _at_draw(strategy, values: dict[str, Any], draw: int, spec: ComparisonSpec):
    if not values:
        return strategy.scenario
    raw = apply_overrides(strategy.scenario.model_dump(mode="json"), values)
    try:
        return validate(raw, source=str(spec.path), overridden=values.keys())
    except InputError as err:
        shown = ", ".join(f"{k} = {v:g}" for k, v in values.items())
        raise InputError(
            f"draw {draw} of the uncertain market makes strategy {strategy.name!r} invalid "
            f"({str(err).removeprefix(f'{spec.path}: ')}); narrow the ranges in [uncertainty]. "
            f"The draw: {shown}",
            file=str(spec.path),
        ) from None


class RunStore:
    """A comparison's finished runs on disk, beside its output, until the outputs are written.

    The engine's content-addressed store (:class:`model.experiment.store.ResultStore`) in a
    folder marked as this tool's (command ``compare-runs``): a folder that is not one is
    refused, and :meth:`clear` removes only its own files. The CLI keeps it at ``.NAME.runs``
    beside the output directory; after Ctrl-C or a crash the same command reuses its runs.
    """

    def __init__(self, root: str | Path | OutputDir) -> None:
        self.claim = (
            root
            if isinstance(root, OutputDir)
            else claim_output_dir(root, STORE_COMMAND, option="run cache")
        )
        self.root = Path(self.claim.path)
        self.store = ResultStore(self.root)

    def open(self) -> None:
        """Create the folder and its marker (called once runs are about to be stored)."""
        open_output_dir(self.claim, ["runs/"])

    def clear(self) -> None:
        """Remove the store's own files (after the outputs are safely written)."""
        if not self.root.is_dir() or read_marker(self.root) is None:
            return
        for part in self.store.part_files():
            part.unlink(missing_ok=True)
        for folder in (self.store.runs_dir, self.root):
            remove_stale_temporaries(folder)
        (self.root / MARKER).unlink(missing_ok=True)
        for folder in (self.store.runs_dir, self.root):
            with contextlib.suppress(OSError):
                folder.rmdir()  # kept if anything else is inside


def run_comparison(
    path: str | Path | ComparisonSpec,
    *,
    replicates: int | None = None,
    draws: int | None = None,
    uncertainty: bool = True,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    retries: int = 2,
    market_overrides: dict[str, Any] | None = None,
    out: str | Path | None = None,
    progress: bool = False,
    store: str | Path | OutputDir | RunStore | None = None,
    log=None,
) -> ComparisonResult:
    """Run every strategy of a comparison on the same draws and seeds, and summarise it.

    Args:
        path: the comparison TOML file (or an already loaded spec).
        replicates: replicates per draw; overrides the file's.
        draws: draws of the uncertain market; overrides the file's.
        uncertainty: False: the noise-only comparison on the base market.
        seed: the root seed; overrides the file's ``root_seed``.
        workers: 1 in-process; N a local pool; None every core.
        scheduler: a Dask scheduler address instead of local workers.
        retries: resubmissions of a run whose worker died (a run that raises is data).
        market_overrides: dotted-key overrides of the shared market (``--set``), e.g.
            ``{"market.size": 20_000, "sim.days": 180}`` for a quick look; not drawn.
        out: when given, write every output file (Parquet, CSV, PNG, report.html) there.
        progress: show a progress bar.
        store: a directory for finished runs; runs already there are reused, not rerun, so an
            interrupted comparison resumes (see :class:`RunStore`); default a temporary one.
        log: where to print what is reused (e.g. ``print``).

    Returns:
        The comparison's KPIs, daily tables and draws; ``summary()``, ``ranking()``,
        ``verdict()``, ``conditions()``, ``to_frame()``.

    Example::

        from model import run_comparison
        res = run_comparison("scenarios/compare_operating_modes.toml", draws=4, replicates=2)
        res.ranking()[["rank", "strategy", "median", "p_best", "regret_p90"]]
    """
    if isinstance(path, ComparisonSpec):
        if any(x is not None for x in (replicates, draws, seed, market_overrides)) or (
            not uncertainty
        ):
            raise ValueError("settings other than where to run need the file's path, not a spec")
        spec = path
    else:
        spec = load_comparison(
            path,
            replicates=replicates,
            root_seed=seed,
            draws=draws,
            uncertainty=uncertainty,
            market_overrides=market_overrides,
        )
    plan = comparison_plan(spec)
    days = max(s.scenario.sim.days for s in spec.strategies)
    per_run_day = days * COMPARE_BYTES_PER_RUN_DAY
    engine.check_plan_memory(
        plan,
        workers=workers,
        scheduler=scheduler,
        held=len(plan.table) * per_run_day,
        held_per_replicate=len(spec.strategies) * spec.draws * per_run_day,
    )
    with contextlib.ExitStack() as stack:
        if store is None:
            store = stack.enter_context(tempfile.TemporaryDirectory(prefix="sidomain-runs-"))
            runs = RunStore(claim_output_dir(store, STORE_COMMAND, option="run cache"))
        else:
            runs = store if isinstance(store, RunStore) else RunStore(store)
        todo = engine.missing(plan, runs.store)
        reused = len(plan.tasks) - len(todo)
        if reused and log:
            log(f"resuming: {reused} finished runs reused from {runs.claim.shown}")
        label = f"compare {spec.name}" if progress else None
        engine.execute(
            plan,
            runs.store,
            todo,
            prepare=runs.open,
            workers=workers,
            scheduler=scheduler,
            retries=retries,
            progress=label,
        )
        result = _result(spec, engine.outcomes(plan, runs.store, series=True))
    if out is not None:
        result.write(out)
    return result


def _result(spec: ComparisonSpec, table: pd.DataFrame) -> ComparisonResult:
    ok = table[table["status"] == "ok"]
    failed = table[table["status"] != "ok"]
    failures = pd.DataFrame(
        {
            "strategy": failed["strategy"],
            "draw": failed["draw"],
            "replicate": failed["replicate"],
            "lost": failed["status"].isin(["lost", "missing"]),
            "error": failed["error"],
        }
    ).reset_index(drop=True)
    if ok.empty:
        first = failures["error"].dropna()
        raise RuntimeError(
            f"every run of comparison {spec.name!r} failed; first error: "
            f"{first.iloc[0] if len(first) else 'none recorded'}"
        )
    kpi_cols = [c for c in ok.columns if c.startswith(KPI_PREFIX)]
    kpis = ok[["strategy", "draw", "replicate", "seed", *kpi_cols]].rename(
        columns={c: c[len(KPI_PREFIX) :] for c in kpi_cols}
    )
    kpis.insert(0, "scenario", spec.name)
    for col in kpis.columns.difference(ID_COLUMNS):
        # None (an undefined KPI) becomes NaN, so every KPI column is numeric in Parquet.
        kpis[col] = pd.to_numeric(kpis[col], errors="coerce").astype(float)
    kpis["draw"] = kpis["draw"].astype(int)
    kpis["replicate"] = kpis["replicate"].astype(int)
    series_cols = [c for c in ok.columns if c.startswith(SERIES_PREFIX)]
    daily = {}
    for row in ok[["strategy", "draw", "replicate", *series_cols]].to_dict("records"):
        frame = pd.DataFrame(
            {
                c[len(SERIES_PREFIX) :]: np.asarray(row[c], dtype=float)
                for c in series_cols
                if row[c] is not None
            }
        )
        if "day" in frame:
            frame["day"] = frame["day"].astype(np.int32)
        daily[(row["strategy"], int(row["draw"]), int(row["replicate"]))] = frame
    kpis["payback_day"] = paired_payback(kpis, daily, spec.reference)
    order = {name: i for i, name in enumerate(spec.names)}
    kpis = kpis.sort_values(
        ["strategy", "draw", "replicate"], key=lambda c: c.map(order) if c.name == "strategy" else c
    )
    draws = spec.draw_table
    return ComparisonResult(spec, kpis.reset_index(drop=True), daily, draws, failures)
