"""Confirmation: the best few candidates and the incumbent, re-run on fresh seeds and draws.

The search's best score is biased upwards: among many candidates scored on one block, the
winner is partly the one whose luck on that block was best (the optimiser's curse). So the
best ``top`` distinct feasible candidates and the incumbent (the base scenario) are run again
on a fresh block: a new root seed and new draws of the market. A candidate is *recommendable*
when, on the fresh block, it keeps every constraint and beats the incumbent with 95% confidence
(the one-sided lower bound of its risk-measure difference, by a cluster bootstrap over draws,
is above zero, :func:`model.optimize.risk.compare_to_incumbent`). The recommendation is the
recommendable candidate with the best fresh score; if none is recommendable there is no
recommendation, and the result says why for each candidate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from model.formatting import format_kpi
from model.optimize.block import Block
from model.optimize.evaluate import Evaluation, Evaluator
from model.optimize.objective import Assessment, Objective
from model.optimize.risk import INCUMBENT, Beat, compare_to_incumbent
from model.optimize.search import Trial


@dataclass(frozen=True)
class Confirmed:
    """One candidate (or the incumbent) on the fresh block.

    Attributes:
        label: ``incumbent`` or ``candidate N`` (N its rank in the search).
        trial: the search trial it came from (None for the incumbent).
        candidate: its overrides of the base.
        fresh: its assessment on the fresh block.
        beat: its paired comparison with the incumbent (None for the incumbent).
        recommendable: beats the incumbent and keeps every constraint on the fresh block.
        why: the verdict in words.
    """

    label: str
    trial: Trial | None
    candidate: dict[str, Any]
    fresh: Assessment
    beat: Beat | None
    recommendable: bool
    why: str


@dataclass(frozen=True)
class Confirmation:
    """The confirmation step's result."""

    block: Block
    incumbent: Confirmed
    candidates: tuple[Confirmed, ...]
    evaluations: dict[str, Evaluation]
    reference: Evaluation | None

    @property
    def recommendation(self) -> Confirmed | None:
        """The recommendable candidate with the best fresh score, or None."""
        ok = [c for c in self.candidates if c.recommendable]
        return max(ok, key=lambda c: c.fresh.score) if ok else None


def confirm(
    objective: Objective,
    evaluator: Evaluator,
    block: Block,
    best: list[Trial],
    *,
    reference_candidate: dict[str, Any] | None = None,
    seed: int = 0,
) -> Confirmation:
    """Run the best trials and the incumbent on the fresh block and judge them.

    Args:
        objective: the objective, risk measure and constraints.
        evaluator: evaluates candidates on the block.
        block: the fresh block.
        best: the search's best distinct feasible trials, best first (the incumbent's own
            candidate is left out: it is the incumbent).
        reference_candidate: the payback reference's overrides (payback constraint only).
        seed: the bootstrap's seed.
    """
    candidates = [{}] + [t.candidate for t in best]
    if reference_candidate is not None:
        candidates.append(reference_candidate)
    evaluations = evaluator.evaluate(candidates, block)
    reference = evaluations[-1] if reference_candidate is not None else None
    inc_eval = evaluations[0]
    inc = objective.assess(inc_eval, reference)
    inc_values = inc_eval.values(objective.kpi)
    incumbent = Confirmed(INCUMBENT, None, {}, inc, None, False, _incumbent_words(inc, objective))
    out, stored = [], {INCUMBENT: inc_eval}
    for rank, (trial, ev) in enumerate(zip(best, evaluations[1 : 1 + len(best)], strict=True), 1):
        label = f"candidate {rank}"
        stored[label] = ev
        fresh = objective.assess(ev, reference)
        beat = None
        if fresh.error is None and inc.error is None:
            beat = compare_to_incumbent(
                ev.values(objective.kpi),
                inc_values,
                block.draws,
                direction=objective.direction,
                measure=objective.risk,
                alpha=objective.alpha,
                seed=seed + rank,
            )
        ok, why = _verdict(fresh, beat, objective)
        out.append(Confirmed(label, trial, trial.candidate, fresh, beat, ok, why))
    return Confirmation(block, incumbent, tuple(out), stored, reference)


def _measure(objective: Objective) -> str:
    if objective.risk == "mean":
        return f"mean {objective.kpi}"
    return f"CVaR{round(100 * objective.alpha)}% of {objective.kpi}"


def _incumbent_words(a: Assessment, objective: Objective) -> str:
    if a.error is not None:
        return f"the incumbent has no score on the fresh block: {a.error}"
    broken = [f"{k} ({_num(a.constraints[k])})" for k, v in a.violations.items() if v > 0]
    text = f"{_measure(objective)} {format_kpi(objective.kpi, a.value)}"
    return text + (f"; breaks {', '.join(broken)}" if broken else "")


def _verdict(a: Assessment, beat: Beat | None, objective: Objective) -> tuple[bool, str]:
    if a.error is not None:
        return False, f"not recommended: no score on the fresh block ({a.error})"
    limits = {c.name: c.shown for c in objective.constraints}
    broken = [
        f"{name} = {_num(a.constraints[name])} (limit {_num(limits[name])})"
        for name, v in a.violations.items()
        if v > 0
    ]
    if beat is None or not math.isfinite(beat.diff):
        return False, "not recommended: the incumbent has no score to compare with"
    diff = format_kpi(objective.kpi, beat.diff, diff=True)
    band = (
        f"[{format_kpi(objective.kpi, beat.diff_low, diff=True)}, "
        f"{format_kpi(objective.kpi, beat.diff_high, diff=True)}]"
    )
    p = f"P(beats) {beat.p_beats:.0%}"
    if broken:
        return False, f"not recommended: on fresh seeds it breaks {'; '.join(broken)}"
    if not beat.beats:
        return False, (
            f"not recommended: does not beat the incumbent on fresh seeds ({diff} {band}, {p}; "
            "its 95% lower bound is not above zero)"
        )
    return True, f"beats the incumbent on fresh seeds: {diff} {band}, {p}"


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "never"
    return f"{x:,.4g}"
