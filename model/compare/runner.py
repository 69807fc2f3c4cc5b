"""Run a comparison: every strategy × every replicate, common random numbers, any executor.

Replicate ``i`` of *every* strategy runs on ``model.seeds.replicate_seed(root_seed, i)``, and the
simulator draws each process (acquisition, purchases, outreach, ...) from its own stream spawned
from that seed (DESIGN §5). So two strategies on the same replicate face the same market luck,
and their paired difference measures the strategy, not the noise.

Runs go through :func:`model.execution.open_executor` / :func:`model.execution.map_runs`;
results are keyed by (strategy, replicate), never by completion order, so they are identical
whatever the worker count.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model._version import __version__
from model.api import simulate
from model.compare.spec import ComparisonSpec, load_comparison
from model.compare.summary import ranking, summarise
from model.execution import map_runs, open_executor
from model.outputs import (
    MARKER,
    OutputDir,
    atomic_write,
    claim_output_dir,
    open_output_dir,
    read_marker,
    remove_stale_temporaries,
    safe_name,
)
from model.resources import (
    COMPARE_BYTES_PER_RUN_DAY,
    MAX_REPLICATES,
    check_memory,
    concurrency,
    scenario_run_bytes,
)
from model.scenario import scenario_to_toml
from model.scenario.schema import Scenario
from model.seeds import replicate_seed, seed_label


@dataclass(frozen=True)
class RunTask:
    """One run: picklable plain data, its seed carried inside (not implied by its position)."""

    strategy: str
    replicate: int
    root_seed: int
    scenario: Scenario


@dataclass(frozen=True)
class RunRecord:
    """What a worker sends back: the daily table and the KPIs (no orders, small to pickle)."""

    strategy: str
    replicate: int
    seed: str
    daily: pd.DataFrame
    kpis: dict[str, Any]


def run_task(task: RunTask) -> RunRecord:
    """Simulate one (strategy, replicate) on its common-random-numbers seed."""
    result = simulate(
        task.scenario,
        replicate_seed(task.root_seed, task.replicate),
        strategy=task.strategy,
        replicate=task.replicate,
    )
    return RunRecord(task.strategy, task.replicate, result.seed, result.daily, result.kpis)


class RunCache:
    """Finished runs of a comparison on disk, so an interrupted comparison resumes.

    One pickle per run, named by the run's content address (package version, resolved
    scenario, root seed, replicate — ``model.sweep.runs.run_key`` — plus the strategy name, the
    label the record carries), written whole (:func:`model.outputs.atomic_write`). The folder
    carries this tool's marker: a folder that is not a run cache is refused, and
    :meth:`clear` removes only the cache's own files. The CLI keeps it beside the output
    directory (``.NAME.runs``) and clears it once the outputs are written.
    """

    COMMAND = "compare-runs"

    def __init__(self, root: str | Path | OutputDir) -> None:
        self.claim = (
            root
            if isinstance(root, OutputDir)
            else claim_output_dir(root, self.COMMAND, option="cache")
        )
        self.root = Path(self.claim.shown)
        self._opened = False

    def key(self, task: RunTask) -> str:
        """The file stem of one task's record."""
        from model.sweep.runs import run_key

        content = run_key(task.scenario.model_dump(mode="json"), task.root_seed, task.replicate)
        return f"{content[:40]}-{safe_name(task.strategy, fallback='strategy')}"

    def load(self, task: RunTask) -> RunRecord | None:
        """The cached record of a task, or None (also for a file that cannot be read back)."""
        path = self.root / f"{self.key(task)}.pkl"
        if not path.is_file():
            return None
        try:
            with path.open("rb") as fh:
                record = pickle.load(fh)
        except Exception:  # noqa: BLE001 - an unreadable cache entry is simply run again
            return None
        return record if isinstance(record, RunRecord) else None

    def save(self, task: RunTask, record: RunRecord) -> None:
        """Store one finished run atomically."""
        if not self._opened:
            open_output_dir(self.claim, [])
            self._opened = True
        atomic_write(
            self.root / f"{self.key(task)}.pkl",
            pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL),
        )

    def clear(self) -> None:
        """Remove the cache's own files (after the outputs are safely written)."""
        if not self.root.is_dir() or read_marker(self.root) is None:
            return
        for path in self.root.glob("*.pkl"):
            path.unlink(missing_ok=True)
        remove_stale_temporaries(self.root)
        (self.root / MARKER).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.root.rmdir()  # kept if anything else is inside


def make_tasks(spec: ComparisonSpec) -> list[RunTask]:
    """Every (strategy, replicate) of a comparison, replicate-major so early results pair up."""
    return [
        RunTask(s.name, i, spec.root_seed, s.scenario)
        for i in range(spec.replicates)
        for s in spec.strategies
    ]


@dataclass
class ComparisonResult:
    """What a comparison produced.

    Attributes:
        spec: the validated comparison (strategies, reference, seeds).
        kpis: one row per finished run: scenario, strategy, replicate, seed and the KPIs.
        daily: wide daily tables keyed by (strategy, replicate).
        failures: one row per run that raised or was lost (strategy, replicate, error).
    """

    spec: ComparisonSpec
    kpis: pd.DataFrame
    daily: dict[tuple[str, int], pd.DataFrame]
    failures: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> pd.DataFrame:
        """Per strategy and KPI: median, 10–90% band, paired difference, P(beats reference)."""
        return summarise(self.kpis, self.spec.reference, self.spec.kpis, strategies=self.spec.names)

    def ranking(self) -> pd.DataFrame:
        """The strategies best first by the median of ``rank_by``."""
        return ranking(self.summary(), self.spec.rank_by)

    def to_frame(self) -> pd.DataFrame:
        """Tidy per-run, per-day rows: scenario, strategy, replicate, seed, day, metric, value."""
        frames = []
        keys = zip(self.kpis["strategy"], self.kpis["replicate"], strict=True)
        seeds = dict(zip(keys, self.kpis["seed"], strict=True))
        for (strategy, rep), daily in self._ordered_daily():
            long = daily.melt(id_vars="day", var_name="metric", value_name="value")
            long.insert(0, "seed", seeds[(strategy, rep)])
            long.insert(0, "replicate", rep)
            long.insert(0, "strategy", strategy)
            long.insert(0, "scenario", self.spec.name)
            frames.append(long)
        if not frames:
            return pd.DataFrame(
                columns=["scenario", "strategy", "replicate", "seed", "day", "metric", "value"]
            )
        out = pd.concat(frames, ignore_index=True)
        out["day"] = out["day"].astype(np.int32)
        out["replicate"] = out["replicate"].astype(np.int32)
        out["value"] = out["value"].astype(float)
        for col in ("scenario", "strategy", "seed", "metric"):
            out[col] = out[col].astype("category")
        return out

    def series(self, metric: str) -> dict[str, pd.DataFrame]:
        """Per strategy, one daily metric as a day × replicate table (for fan charts)."""
        out: dict[str, pd.DataFrame] = {}
        for name in self.spec.names:
            cols = {
                rep: daily.set_index("day")[metric]
                for (s, rep), daily in self._ordered_daily()
                if s == name
            }
            if cols:
                out[name] = pd.DataFrame(cols)
        return out

    def provenance(self) -> dict[str, Any]:
        """Enough to reproduce every run: version, seeds, the resolved scenario per strategy."""
        spec = self.spec
        return {
            "package_version": __version__,
            "comparison": spec.name,
            "comparison_file": str(spec.path),
            "base_scenario": str(spec.base_path),
            "market_overrides": spec.market_overrides,
            "reference": spec.reference,
            "rank_by": spec.rank_by,
            "root_seed": spec.root_seed,
            "replicates": spec.replicates,
            "replicate_seeds": [
                seed_label(replicate_seed(spec.root_seed, i)) for i in range(spec.replicates)
            ],
            "strategies": {
                s.name: {"description": s.description, "overrides": s.overrides}
                for s in spec.strategies
            },
        }

    def resolved_scenarios(self) -> dict[str, str]:
        """Each strategy's resolved scenario as TOML (runnable with ``run.py run``)."""
        return {s.name: scenario_to_toml(s.scenario) for s in self.spec.strategies}

    def write(self, out: str | Path, *, plots: bool = True, overwrite: bool = False) -> Path:
        """Write every output file into ``out`` (whole; see :mod:`model.compare.outputs`)."""
        from model.compare.outputs import write_outputs

        return write_outputs(self, out, plots=plots, overwrite=overwrite)

    def _ordered_daily(self):
        order = {name: i for i, name in enumerate(self.spec.names)}
        return sorted(self.daily.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))


def check_plan(spec: ComparisonSpec, *, workers: int | None, scheduler: str | None) -> None:
    """Refuse a comparison that cannot fit in memory, before any run starts.

    Raises:
        InputError: with the estimate and what would fit (see :mod:`model.resources`).
    """
    runs = len(spec.strategies) * spec.replicates
    largest = max(spec.strategies, key=lambda s: scenario_run_bytes(s.scenario)).scenario
    days = max(s.scenario.sim.days for s in spec.strategies)
    check_memory(
        what=f"comparison {spec.name!r}: {len(spec.strategies)} strategies × "
        f"{spec.replicates:,} replicates × {days} days",
        size=largest.market.size,
        per_run=scenario_run_bytes(largest),
        parallel=concurrency(workers, runs),
        held=runs * days * COMPARE_BYTES_PER_RUN_DAY,
        held_per_replicate=len(spec.strategies) * days * COMPARE_BYTES_PER_RUN_DAY,
        scheduler=scheduler,
    )


def run_comparison(
    path: str | Path | ComparisonSpec,
    *,
    replicates: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    market_overrides: dict[str, Any] | None = None,
    out: str | Path | None = None,
    progress: bool = False,
    cache: str | Path | OutputDir | RunCache | None = None,
) -> ComparisonResult:
    """Run every strategy of a comparison file over its replicates, with common random numbers.

    Args:
        path: the comparison TOML file (or an already loaded spec).
        replicates: overrides the file's ``replicates``.
        seed: the root seed; overrides the file's ``root_seed``.
        workers: 1 in-process; N a local pool; None every core.
        scheduler: a Dask scheduler address instead of local workers.
        market_overrides: dotted-key overrides of the shared market, e.g.
            ``{"market.size": 20_000, "sim.days": 180}`` for a quick look.
        out: when given, write every output file (Parquet, CSV, PNG, report.html) there.
        progress: show a progress bar.
        cache: a directory for finished runs; runs already there are reused, not rerun, so an
            interrupted comparison resumes (see :class:`RunCache`).

    Returns:
        The comparison's KPIs and daily tables; ``summary()``, ``ranking()``, ``to_frame()``.

    Example::

        from model import run_comparison
        res = run_comparison("scenarios/compare_operating_modes.toml", replicates=8)
        res.ranking()[["rank", "strategy", "median", "p10", "p90", "p_beats_reference"]]
    """
    if isinstance(path, ComparisonSpec):
        if market_overrides:
            raise ValueError("market_overrides need the comparison file's path, not a loaded spec")
        spec = path
        if replicates is not None or seed is not None:
            if (replicates is not None and not 1 <= replicates <= MAX_REPLICATES) or (
                seed is not None and seed < 0
            ):
                raise ValueError(
                    f"replicates = {replicates} must be 1 to {MAX_REPLICATES}, seed = {seed} ≥ 0"
                )
            spec = dataclasses.replace(
                spec,
                replicates=spec.replicates if replicates is None else int(replicates),
                root_seed=spec.root_seed if seed is None else int(seed),
            )
    else:
        spec = load_comparison(
            path, replicates=replicates, root_seed=seed, market_overrides=market_overrides
        )
    tasks = make_tasks(spec)
    check_plan(spec, workers=workers, scheduler=scheduler)
    records: dict[tuple[str, int], RunRecord] = {}
    store = cache if isinstance(cache, RunCache) or cache is None else RunCache(cache)
    if store is not None:
        for task in tasks:
            cached = store.load(task)
            if cached is not None:
                records[(task.strategy, task.replicate)] = cached
        tasks = [t for t in tasks if (t.strategy, t.replicate) not in records]
        if records and progress:
            print(f"resuming: {len(records)} finished runs reused from {store.root}")
    failures = []
    label = f"compare {spec.name}" if progress else None
    with open_executor(workers=workers, scheduler=scheduler) as executor:
        for task, outcome in map_runs(executor, run_task, tasks, progress=label):
            if outcome.ok:
                records[(task.strategy, task.replicate)] = outcome.value
                if store is not None:
                    store.save(task, outcome.value)
            else:
                failures.append(
                    {
                        "strategy": task.strategy,
                        "replicate": task.replicate,
                        "lost": outcome.lost,
                        "error": outcome.error,
                    }
                )
    rows = []
    for s in spec.strategies:
        for i in range(spec.replicates):
            rec = records.get((s.name, i))
            if rec is not None:
                rows.append(
                    {
                        "scenario": spec.name,
                        "strategy": s.name,
                        "replicate": i,
                        "seed": rec.seed,
                        **rec.kpis,
                    }
                )
    kpis = pd.DataFrame(rows)
    for col in kpis.columns.difference(["scenario", "strategy", "replicate", "seed"]):
        # None (an undefined KPI) becomes NaN, so every KPI column is numeric in Parquet.
        kpis[col] = pd.to_numeric(kpis[col], errors="coerce").astype(float)
    if kpis.empty:
        raise RuntimeError(
            f"every run of comparison {spec.name!r} failed; first error: "
            f"{failures[0]['error'] if failures else 'none recorded'}"
        )
    result = ComparisonResult(
        spec=spec,
        kpis=kpis,
        daily={key: rec.daily for key, rec in records.items()},
        failures=pd.DataFrame(failures, columns=["strategy", "replicate", "lost", "error"]),
    )
    if out is not None:
        result.write(out)
    return result
