"""Run an optimisation: search on one block, confirm on a fresh one, trace the curves.

::

    from model import optimize
    spec = optimize.load_spec("scenarios/optimize_levers.toml")
    result = optimize.run(spec, "out/optimize_levers", workers=2)
    result.summary(); result.trace(); result.recommendation   # None: nothing beat the base

Steps: (1) the search block (``draws × replicates`` cells of ``root_seed``) and the search
(:mod:`model.optimize.search`); (2) the confirmation block (fresh draws and seeds) with the best
``confirm.top`` candidates and the incumbent (:mod:`model.optimize.confirm`); (3) the response
curves through the recommendation (or, when nothing is recommended, through the search's best)
on the confirmation block, and the frontier when the risk measure is CVaR
(:mod:`model.optimize.curves`). Every run goes through the experiment engine: one run task,
stored by its content address in the engine's Parquet store ``OUT/runs/`` as it finishes
(:mod:`model.experiment.store`), so an interrupted optimisation resumes where it stopped and
results are the same on any number of workers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model._version import __version__
from model.errors import InputError
from model.experiment import engine
from model.experiment.store import ResultStore
from model.experiment.tasks import DEFAULT_RUN, RunTask, canonical_json
from model.optimize.block import Block, make_block
from model.optimize.confirm import Confirmation, confirm
from model.optimize.curves import frontier, response_curves
from model.optimize.evaluate import EngineEvaluator, Evaluator
from model.optimize.objective import Margin, Objective
from model.optimize.search import Trial, ranked, search
from model.optimize.spec import OptimizeSpec
from model.outputs import OutputDir, claim_output_dir, open_output_dir
from model.scenario import apply_overrides, validate

#: The engine's store of finished runs, inside the output folder.
STORE = "runs"
#: The files an optimisation writes in its output folder (the store is a folder of its own).
FILES = (
    f"{STORE}/",
    "recommendation.toml",
    "trace.csv",
    "confirmation.csv",
    "search_draws.csv",
    "confirm_draws.csv",
    "curves.csv",
    "marginal.csv",
    "frontier.csv",
    "summary.json",
    "report.html",
    "curves.png",
    "frontier.png",
)


@dataclass
class OptimizationResult:
    """What an optimisation found.

    Attributes:
        spec: the validated spec.
        objective: the objective, risk measure and constraints.
        search_block, trials: the search's block and every candidate, in proposal order.
        confirmation: the fresh-block verdict on the best few and the incumbent.
        curves, marginal: response curves and marginal values through the optimum.
        frontier: the risk–return frontier (CVaR only; else empty).
        runs: counts of runs made, reused from the store and lost.
    """

    spec: OptimizeSpec
    objective: Objective
    search_block: Block
    trials: list[Trial]
    confirmation: Confirmation
    curves: pd.DataFrame
    marginal: pd.DataFrame
    frontier: pd.DataFrame
    runs: dict[str, int] = field(default_factory=dict)

    @property
    def recommendation(self):
        """The confirmed recommendation (:class:`~model.optimize.confirm.Confirmed`) or None."""
        return self.confirmation.recommendation

    @property
    def curve_through(self) -> str:
        """Which point the curves go through."""
        rec = self.recommendation
        if rec is not None:
            return rec.label
        best = ranked(self.trials)
        return "the search's best (not recommended)" if best else "the incumbent"

    def recommended_overrides(self) -> dict[str, Any]:
        """The recommendation's lever settings (empty: keep the incumbent)."""
        rec = self.recommendation
        return dict(rec.candidate) if rec is not None else {}

    def trace(self) -> pd.DataFrame:
        """Every evaluation of the search, one row per candidate, in proposal order."""
        rows = []
        for t in self.trials:
            a = t.assessment
            row: dict[str, Any] = {"trial": t.number, "phase": t.phase, "batch": t.batch}
            row.update(t.candidate)
            row.update(
                {
                    "objective": a.value,
                    "mean": a.mean,
                    "cvar": a.cvar if self.objective.risk == "cvar" else math.nan,
                    "p10": a.p10,
                    "p90": a.p90,
                }
            )
            for name, value in a.constraints.items():
                row[f"constraint.{name}"] = value
                row[f"room.{name}"] = a.room.get(name, 0.0)
            row["feasible"] = a.feasible
            row["error"] = a.error
            rows.append(row)
        return pd.DataFrame(rows)

    def confirmation_table(self) -> pd.DataFrame:
        """The incumbent and the confirmed candidates on the fresh block."""
        rows = []
        for c in (self.confirmation.incumbent, *self.confirmation.candidates):
            a, b = c.fresh, c.beat
            row: dict[str, Any] = {
                "label": c.label,
                "trial": c.trial.number if c.trial else None,
                "search_objective": c.trial.assessment.value if c.trial else math.nan,
                "objective": a.value,
                "mean": a.mean,
                "p10": a.p10,
                "p90": a.p90,
                "diff_vs_incumbent": b.diff if b else math.nan,
                "diff_low": b.diff_low if b else math.nan,
                "diff_high": b.diff_high if b else math.nan,
                "diff_cell_median": b.cell_median if b else math.nan,
                "diff_cell_p10": b.cell_p10 if b else math.nan,
                "diff_cell_p90": b.cell_p90 if b else math.nan,
                "p_beats": b.p_beats if b else math.nan,
                "p_beats_low": b.p_beats_low if b else math.nan,
                "p_beats_high": b.p_beats_high if b else math.nan,
                "recommendable": c.recommendable,
                "recommended": self.recommendation is c,
                "why": c.why,
            }
            for name, value in a.constraints.items():
                row[f"constraint.{name}"] = value
            row.update({f"set.{k}": v for k, v in c.candidate.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        """The verdict as plain data (also ``summary.json``)."""
        rec = self.recommendation
        s = self.spec
        out: dict[str, Any] = {
            "name": s.name,
            "objective": s.objective,
            "direction": s.direction,
            "risk": s.risk,
            "alpha": s.alpha if s.risk == "cvar" else None,
            "recommended": rec is not None,
            "recommendation": self.recommended_overrides(),
            "incumbent_objective": self.confirmation.incumbent.fresh.value,
            "search": {
                "block": _block_info(self.search_block),
                "candidates": len(self.trials),
                "feasible": sum(t.assessment.feasible for t in self.trials),
            },
            "confirmation": {
                "block": _block_info(self.confirmation.block),
                "candidates": [
                    {
                        "label": c.label,
                        "objective": c.fresh.value,
                        "why": c.why,
                        "recommendable": c.recommendable,
                    }
                    for c in self.confirmation.candidates
                ],
            },
            "constraints": {c.name: c.shown for c in s.constraints},
            "runs": dict(self.runs),
            "package_version": __version__,
        }
        if rec is not None:
            b = rec.beat
            out["confirmed"] = {
                "label": rec.label,
                "objective": rec.fresh.value,
                "diff_vs_incumbent": b.diff,
                "band_90": [b.diff_low, b.diff_high],
                "p_beats": b.p_beats,
                "p_beats_95": [b.p_beats_low, b.p_beats_high],
                "constraints": rec.fresh.constraints,
            }
        return out

    def verdict(self) -> str:
        """The recommendation in one paragraph of words."""
        from model.optimize.report import verdict_text

        return verdict_text(self)

    def write(self, out: str | Path, *, plots: bool = True) -> list[str]:
        """Write the outputs into ``out`` (each file whole); return their names."""
        from model.optimize.report import write_outputs

        return write_outputs(self, Path(out), plots=plots)


def _block_info(block: Block) -> dict[str, int]:
    return {
        "root_seed": block.root_seed,
        "draws": block.n_draws if block.drawn else 0,
        "replicates": block.n_replicates,
        "cells": len(block),
    }


def claim(out: str | Path, spec: OptimizeSpec, *, overwrite: bool = False) -> OutputDir:
    """Check, before any run, that the optimisation may write (and resume) in ``out``."""
    from model.scenario.loader import scenario_files

    inputs = [p for p in (spec.path,) if p is not None]
    if spec.base_path is not None:
        inputs += scenario_files(spec.base_path)
    return claim_output_dir(out, "optimize", overwrite=overwrite, inputs=inputs)


def objective_of(spec: OptimizeSpec) -> Objective:
    """The spec's objective, risk measure and constraints."""
    return Objective(spec.objective, spec.direction, spec.risk, spec.alpha, spec.constraints)


def run(
    spec: OptimizeSpec,
    out: str | Path | OutputDir | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    retries: int = 2,
    overwrite: bool = False,
    progress: bool = False,
    plots: bool = True,
    log: Callable[[str], None] | None = None,
    evaluator: Evaluator | None = None,
    run_function: str = DEFAULT_RUN,
) -> OptimizationResult:
    """Search, confirm, trace the curves; write the outputs into ``out`` if given.

    Args:
        spec: from :func:`model.optimize.load_spec`.
        out: the output folder (None: nothing written, runs kept in memory only).
        workers: local processes (1: in-process; None: every core).
        scheduler: a Dask scheduler address instead of local processes.
        retries: resubmissions of a run whose worker died.
        overwrite: as ``--overwrite``.
        progress: progress bars on stderr.
        plots: write the figures.
        log: a function for progress lines (``print``).
        evaluator: evaluate with this instead of the engine (constructed objectives).
        run_function: the engine's run function (a registered stand-in for tests).
    """
    from model.execution import open_executor

    say = log or (lambda _line: None)
    claimed = None
    if out is not None:
        claimed = out if isinstance(out, OutputDir) else claim(out, spec, overwrite=overwrite)
    objective = objective_of(spec)
    if evaluator is not None:
        result = _optimise(spec, objective, evaluator, say)
        if claimed is not None:
            open_output_dir(claimed, FILES)
            result.write(claimed.path, plots=plots)
        return result
    with contextlib.ExitStack() as stack:
        executor = stack.enter_context(open_executor(workers, scheduler, retries=retries))
        check_memory(spec, executor, scheduler=scheduler, run_function=run_function)
        if claimed is not None:
            # Only now that the executor is up and the memory checked: a refusal writes nothing.
            open_output_dir(claimed, FILES)
            root = claimed.path
        else:
            root = stack.enter_context(tempfile.TemporaryDirectory(prefix="sidomain-optimize-"))
        sim = EngineEvaluator(
            spec.base_raw,
            ResultStore(root),
            executor,
            source=spec.source,
            run=run_function,
            retries=retries,
            progress="runs" if progress else None,
            series=objective.needs_series,
        )
        if sim.n_stored and claimed is not None:
            say(f"resuming: {sim.n_stored} finished runs found in {claimed.shown}/{STORE}")
        result = _optimise(spec, objective, sim, say)
        result.runs = {"ran": sim.n_ran, "reused": sim.n_reused, "lost": sim.n_lost}
    if sim.n_lost:
        raise RuntimeError(
            f"{sim.n_lost} runs lost their worker {retries + 1} times; run the same command "
            "again to retry them (finished runs are kept)"
        )
    if claimed is not None:
        result.write(claimed.path, plots=plots)
    return result


def check_memory(
    spec: OptimizeSpec,
    executor: Any,
    *,
    scheduler: str | None = None,
    run_function: str = DEFAULT_RUN,
) -> None:
    """Refuse, before any run, an optimisation whose largest run does not fit in memory here.

    The engine's check (:func:`model.experiment.engine.check_plan_memory`) on the incumbent and
    every corner of the levers (a mode with a referral graph weighs more), as many at once as
    the executor has workers.

    Raises:
        InputError: with the estimate and what would fit.
    """
    points = [{}, *(overrides for overrides, _ in spec.space.corners())]
    rows = [
        (
            {"corner": i},
            RunTask(
                "corner",
                0,
                spec.root_seed,
                validate(apply_overrides(spec.base_raw, overrides), source=spec.source),
                run=run_function,
                series=False,
            ),
        )
        for i, overrides in enumerate(points)
    ]
    plan = engine.plan(f"{spec.name} (its levers' extremes)", rows)
    engine.check_plan_memory(plan, workers=None, scheduler=scheduler, executor=executor)


def _optimise(
    spec: OptimizeSpec, objective: Objective, evaluator: Evaluator, say: Callable[[str], None]
) -> OptimizationResult:
    search_block = make_block(
        "search", spec.uncertainty, spec.draws, spec.replicates, spec.root_seed
    )
    fresh = make_block(
        "confirm", spec.uncertainty, spec.confirm_draws, spec.confirm_replicates, spec.confirm_seed
    )
    reference_candidate = spec.payback_reference if objective.needs_series else None
    reference = None
    if reference_candidate is not None:
        reference = evaluator.evaluate([reference_candidate], search_block)[0]
    incumbent = spec.space.params_of(_base_values(spec))
    say(
        f"search: {spec.budget_evals} candidates in batches of {spec.batch}, each on "
        f"{len(search_block)} cells ({search_block.grid})"
    )
    # The search keeps room below each limit on a mean, so its best few keep the limits on the
    # fresh cells too; the confirmation then judges the plain mean there.
    margin = Margin(tuple(search_block.clusters.tolist()), len(np.unique(fresh.clusters)))
    trials = search(
        spec.space,
        dataclasses.replace(objective, margin=margin),
        evaluator,
        search_block,
        budget=spec.budget_evals,
        batch=spec.batch,
        seed=spec.root_seed,
        incumbent=incumbent,
        reference=reference,
        log=say,
    )
    best_all = ranked(trials)
    if not best_all:
        raise InputError(_infeasible_message(spec, trials), file=spec.source)
    base_key = _canonical(spec.space.overrides(incumbent)) if incumbent is not None else None
    best = [t for t in best_all if _canonical(t.candidate) != base_key][: spec.confirm_top]
    say(
        f"confirm: the best {len(best)} and the incumbent on {len(fresh)} fresh cells "
        f"({fresh.grid}, seed {fresh.root_seed})"
    )
    confirmation = confirm(
        objective,
        evaluator,
        fresh,
        best,
        reference_candidate=reference_candidate,
        seed=spec.confirm_seed,
    )
    rec = confirmation.recommendation
    through = rec.candidate if rec is not None else (best[0].candidate if best else None)
    curves = marginal = pd.DataFrame()
    if through is not None and spec.curve_points > 0:
        say(
            f"curves: {spec.curve_points} points per lever through "
            f"{rec.label if rec else 'the search best'} on the fresh cells"
        )
        curves, marginal = response_curves(
            spec.space,
            objective,
            evaluator,
            fresh,
            through,
            points=spec.curve_points,
            reference=confirmation.reference,
            days=spec.base.sim.days,
            scale=spec.scale,
        )
    front = frontier(trials, spec.direction) if spec.risk == "cvar" else pd.DataFrame()
    return OptimizationResult(
        spec, objective, search_block, trials, confirmation, curves, marginal, front
    )


def _base_values(spec: OptimizeSpec) -> dict[str, Any]:
    from model.scenario.params import value_of

    out = {}
    for key in spec.space.keys:
        try:
            out[key] = value_of(spec.base, key)
        except (AttributeError, KeyError):
            pass
    return out


def _canonical(candidate: dict[str, Any]) -> str:
    return canonical_json(candidate)


def _infeasible_message(spec: OptimizeSpec, trials: list[Trial]) -> str:
    errors = [t.assessment.error for t in trials if t.assessment.error]
    if len(errors) == len(trials):
        return f"optimisation: no candidate could be scored; the first problem: {errors[0]}"
    closest: dict[str, float] = {}
    for t in trials:
        for name, v in t.assessment.violations.items():
            closest[name] = min(closest.get(name, math.inf), v)
    binding = [
        f"{c.name} = {c.shown:,.4g} (the best candidate still exceeds it by "
        f"{closest[c.name] * (c.shown / c.limit if c.limit else 1):,.4g}"
        + (", counting the room kept for fresh cells" if _has_room(trials, c.name) else "")
        + ")"
        for c in spec.constraints
        if closest.get(c.name, 0) > 0
    ]
    return (
        f"infeasible: none of the {len(trials)} candidates met the constraints"
        + (f"; never met: {'; '.join(binding)}" if binding else "")
        + ". Loosen those constraints or widen the levers' ranges (the runs are kept: a rerun "
        "reuses them)"
    )


def _has_room(trials: list[Trial], name: str) -> bool:
    return any(t.assessment.room.get(name, 0.0) > 0 for t in trials)
