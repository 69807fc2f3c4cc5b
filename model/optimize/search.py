"""The search: optuna's TPE over the levers, on one fixed block of cells, in fixed batches.

Sample-average approximation: every candidate is scored on the same block (same draws, same
seeds), so the objective is a deterministic function of the levers and the optimiser sees a
noise-free (if rugged) surface. Candidates are proposed ``batch`` at a time (the batch size is
part of the spec, never the worker count), all of a batch are evaluated together through the
executor, and their scores are told back in proposal order; with the sampler's seed fixed the
sequence of candidates is therefore the same on 1 or 20 workers and after a resume, where every
stored run is reused and the same candidates are proposed again.

Why TPE (optuna's ``TPESampler``, multivariate, constant liar for batches): the space mixes
choices (``operation.mode``, ``outreach.targeting``), whole numbers (pushes a week) and
continuous levers, and an evaluation costs tens of simulations, so budgets are tens to a few
hundred candidates — the regime TPE is built for, with categorical support that CMA-ES lacks.
Constraints go to the sampler as constraint values (optuna's constrained TPE), so it learns where
the feasible region lies; the incumbent (the base scenario) is the first candidate.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from model.optimize.block import Block
from model.optimize.evaluate import Evaluation, Evaluator
from model.optimize.objective import Assessment, Objective
from model.optimize.space import Space


@dataclass(frozen=True)
class Trial:
    """One evaluated candidate of the search.

    Attributes:
        number: its order of proposal (0 is the incumbent when it lies inside the bounds).
        batch: the batch it was proposed in.
        params: the optimiser's parameters.
        candidate: the dotted-key overrides of the base.
        assessment: its score and constraints on the search block.
        phase: ``"tpe"`` (the global search) or ``"polish"`` (the local compass search).
    """

    number: int
    batch: int
    params: dict[str, Any]
    candidate: dict[str, Any]
    assessment: Assessment
    phase: str = "tpe"


def startup_trials(budget: int) -> int:
    """Random candidates before TPE models the surface: a quarter of the budget, 3 to 10."""
    return min(10, max(3, budget // 4))


def polish_budget(budget: int, distributions: dict[str, Any]) -> int:
    """Evaluations kept for the local polish: a quarter of the budget (none below 8)."""
    return budget // 4 if distributions and budget >= 8 else 0


def search(
    space: Space,
    objective: Objective,
    evaluator: Evaluator,
    block: Block,
    *,
    budget: int,
    batch: int,
    seed: int,
    incumbent: dict[str, Any] | None = None,
    reference: Evaluation | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Trial]:
    """Run the search and return every trial in proposal order.

    Two phases: TPE over the whole space (three quarters of the budget), then a local polish of
    the best feasible point by compass search (:func:`polish`), which TPE — a global, sampling
    method — does poorly: it places an interior optimum within a few per cent of the range and
    almost never proposes a bound exactly, where budget optima often lie.

    Args:
        space: the levers and budget split.
        objective: what to maximise (scores) and the constraints.
        evaluator: evaluates a batch of candidates on the block.
        block: the fixed cells of the search.
        budget: how many candidates to evaluate at most.
        batch: how many TPE proposes before their scores are told.
        seed: the sampler's seed.
        incumbent: the base's lever values (its parameters); evaluated first if inside bounds.
        reference: the payback reference evaluated on the block (for the payback constraint).
        log: a function for one line per batch.
    """
    import optuna

    distributions = space.distributions()
    local = polish_budget(budget, distributions)
    trials: list[Trial] = []

    def run_batch(params: list[dict[str, Any]], batch_no: int, phase: str) -> list[Trial]:
        candidates = [space.overrides(p) for p in params]
        evaluations = evaluator.evaluate(candidates, block)
        done = []
        for p, candidate, ev in zip(params, candidates, evaluations, strict=True):
            t = Trial(
                len(trials), batch_no, dict(p), candidate, objective.assess(ev, reference), phase
            )
            trials.append(t)
            done.append(t)
        if log is not None:
            feasible = [t for t in trials if t.assessment.feasible]
            shown = "none feasible yet"
            if feasible:
                best = max(feasible, key=lambda t: t.assessment.score).assessment.value
                shown = f"best {_in_unit(objective, best)} ({objective.risk} over the cells)"
            log(f"search: {len(trials)}/{budget} candidates evaluated, {shown}")
        return done

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=int(seed) % 2**32,
            multivariate=True,
            constant_liar=True,
            n_startup_trials=startup_trials(budget - local),
        )
        study = optuna.create_study(direction="maximize", sampler=sampler)
        if incumbent is not None:
            study.enqueue_trial(incumbent)
        b = 0
        while len(trials) < budget - local:
            asked = [
                study.ask(distributions) for _ in range(min(batch, budget - local - len(trials)))
            ]
            for t, done in zip(asked, run_batch([t.params for t in asked], b, "tpe"), strict=True):
                a = done.assessment
                failed = a.error is not None or not math.isfinite(a.score)
                for c in objective.constraints:
                    t.set_constraint(
                        c.name, 1.0 if failed else _relative(a.violations[c.name], c.limit)
                    )
                if failed:
                    study.tell(t, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(t, a.score)
            b += 1
    polish(
        distributions, trials, lambda params: run_batch(params, b, "polish"), budget - len(trials)
    )
    return trials


#: The compass search's first step, as a share of each numeric parameter's range.
FIRST_STEP = 0.05


def polish(
    distributions: dict[str, Any],
    trials: list[Trial],
    run_batch: Callable[[list[dict[str, Any]]], list[Trial]],
    budget: int,
) -> None:
    """Compass search from the best feasible trial: each choice swapped, each number moved ± a step.

    Each round evaluates the best point with one parameter changed: a choice lever set to each of
    its other choices once (a mode TPE tried only with other settings gets its chance), a numeric
    one moved down or up by its step (clipped to the bounds, so a point near a bound tries the
    bound itself); the best improving move is taken and its step doubled, otherwise every step
    halves (whole numbers stop at 1).
    Stops when the budget is spent or no step is left. Deterministic: the rounds depend only on
    the scores.
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    best = max(
        (t for t in trials if t.assessment.feasible),
        key=lambda t: (t.assessment.score, -t.number),
        default=None,
    )
    if best is None or budget <= 0:
        return
    steps: dict[str, float] = {}
    for name, d in distributions.items():
        if isinstance(d, FloatDistribution):
            steps[name] = FIRST_STEP * _width(d)
        elif isinstance(d, IntDistribution):
            steps[name] = max(1, round(FIRST_STEP * _width(d)))
    current, score, used = dict(best.params), best.assessment.score, 0
    seen = {_canonical(current)}
    choices = {
        n: d.choices for n, d in distributions.items() if isinstance(d, CategoricalDistribution)
    }
    swapped: set[tuple[str, Any]] = set()
    while used < budget:
        moves, names = [], []
        for name, options in choices.items():
            for option in options:
                # Each other choice once: from the first point, or from where a swap led.
                if option != current[name] and (name, option) not in swapped:
                    swapped.add((name, option))
                    seen.add(_canonical({**current, name: option}))
                    moves.append({**current, name: option})
                    names.append(name)
        for name, step in steps.items():
            for sign in (-1, 1):
                moved = {**current, name: _move(distributions[name], current[name], sign * step)}
                key = _canonical(moved)
                if moved[name] != current[name] and key not in seen:
                    seen.add(key)
                    moves.append(moved)
                    names.append(name)
        if not moves:
            if not steps:
                break
            steps = _halve(steps, distributions)
            continue
        done = run_batch(moves[: budget - used])
        used += len(done)
        better = [
            (t, name)
            for t, name in zip(done, names, strict=False)
            if t.assessment.feasible and t.assessment.score > score
        ]
        if not better:
            steps = _halve(steps, distributions)
            continue
        # The best improving move of each parameter; when several parameters improve, their
        # moves together are tried too (one more evaluation), as most levers act nearly apart.
        per_name: dict[str, Trial] = {}
        for t, name in better:
            if name not in per_name or t.assessment.score > per_name[name].assessment.score:
                per_name[name] = t
        grown, top = max(per_name.items(), key=lambda nt: nt[1].assessment.score)
        grown = [grown]
        if len(per_name) > 1 and used < budget:
            combined = {**current, **{n: t.params[n] for n, t in per_name.items()}}
            if _canonical(combined) not in seen:
                seen.add(_canonical(combined))
                (both,) = run_batch([combined])
                used += 1
                if both.assessment.feasible and both.assessment.score > top.assessment.score:
                    top, grown = both, list(per_name)
        current, score = dict(top.params), top.assessment.score
        for name in grown:
            if name in steps:
                # A step that paid off is doubled: a long way to a bound takes few rounds.
                steps[name] = min(2 * steps[name], _width(distributions[name]))


def _width(d) -> float:
    from optuna.distributions import IntDistribution

    if isinstance(d, IntDistribution):
        return d.high - d.low
    return math.log(d.high / d.low) if d.log else d.high - d.low


def _move(d, x: float, delta: float) -> float:
    from optuna.distributions import IntDistribution

    if isinstance(d, IntDistribution):
        return int(min(max(x + delta, d.low), d.high))
    if d.log:
        return float(min(max(math.exp(math.log(x) + delta), d.low), d.high))
    return float(min(max(x + delta, d.low), d.high))


def _halve(steps: dict[str, float], distributions: dict[str, Any]) -> dict[str, float]:
    """Halve every step; drop whole-number steps below 1 and continuous ones below 0.1%."""
    from optuna.distributions import IntDistribution

    out = {}
    for name, step in steps.items():
        d = distributions[name]
        if isinstance(d, IntDistribution):
            if step > 1:
                out[name] = max(1, step // 2)
            continue
        if step / 2 >= 1e-3 * _width(d):
            out[name] = step / 2
    return out


def _relative(violation: float, limit: float) -> float:
    # Constrained TPE reads only the sign (≤ 0 feasible) and the size of a breach; scaling by the
    # limit keeps money and per-1,000 constraints comparable.
    if not math.isfinite(violation):
        return 1e6
    return violation / max(abs(limit), 1.0)


def ranked(trials: list[Trial]) -> list[Trial]:
    """Feasible trials, best score first, each candidate once (earliest proposal kept)."""
    seen, out = set(), []
    for t in sorted(
        (t for t in trials if t.assessment.feasible),
        key=lambda t: (-t.assessment.score, t.number),
    ):
        key = _canonical(t.candidate)
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _canonical(candidate: dict[str, Any]) -> str:
    from model.experiment.tasks import canonical_json

    return canonical_json(candidate)


def _in_unit(objective: Objective, value: float) -> str:
    """The objective's value in its KPI's unit (``¥4.83M``); a plain number for other KPIs."""
    from model.verdict.words import kpi_label, kpi_value

    return f"{kpi_label(objective.kpi, in_sentence=True)} {kpi_value(objective.kpi, value)}"
