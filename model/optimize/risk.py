"""The objective over a block's cells: mean or CVaR, constraints, paired payback, P(beats).

Values are turned into *scores* where higher is better (a "lower is better" KPI is negated), so
one rule serves every KPI; results are reported back in the KPI's own unit.

* **Mean**: the sample average over cells (the sample-average approximation of the expectation).
* **CVaR at level α**: the mean of the worst α share of cells (Rockafellar & Uryasev 2000, the
  discrete form: with n cells the worst ⌊αn⌋ count fully and the next one by the remainder).
  Cells are draws × replicates, so the tail holds bad markets and bad luck alike.
* **Against the incumbent** (the confirmation): the difference of the risk measure with a
  cluster-bootstrap band and one-sided lower bound (here: CVaR has no closed form), and the
  paired per-cell view — difference band, P(beats) with its Wilson interval — from the robust
  verdict of comparisons (:func:`model.verdict.robust.robust_summary`).
* **Constraints** bound the mean of a KPI over cells (the SAA of its expectation); the payback
  constraint bounds the payback day of the *mean* paired difference curve between the candidate
  and a reference on the same cells (the first day from which the mean cumulative difference
  stays above zero).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.verdict.robust import robust_summary

INCUMBENT = "incumbent"
#: One-sided confidence with which a confirmed candidate must beat the incumbent.
BEAT_CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000


def scores(values: np.ndarray, direction: str) -> np.ndarray:
    """Values as scores where higher is better (NaN stays NaN)."""
    values = np.asarray(values, dtype=float)
    return values if direction == "higher" else -values


def cvar(score: np.ndarray, alpha: float) -> float:
    """Mean of the worst ``alpha`` share of the scores (NaN if any score is NaN)."""
    s = np.sort(np.asarray(score, dtype=float))
    if s.size == 0 or np.isnan(s).any():
        return float("nan")
    mass = alpha * s.size
    whole = int(math.floor(mass + 1e-12))
    total = s[:whole].sum()
    if whole < s.size and mass > whole:
        total += (mass - whole) * s[whole]
    return float(total / mass)


def risk_score(score: np.ndarray, measure: str, alpha: float) -> float:
    """The risk measure of scores over cells (NaN if any cell is undefined)."""
    score = np.asarray(score, dtype=float)
    if score.size == 0 or np.isnan(score).any():
        return float("nan")
    return float(score.mean()) if measure == "mean" else cvar(score, alpha)


def in_unit(score: float, direction: str) -> float:
    """A score back in the KPI's unit."""
    return score if direction == "higher" else -score


def payback_day(cum: np.ndarray, reference: np.ndarray) -> float:
    """First day from which the mean cumulative difference stays > 0 (inf: never).

    Args:
        cum: cells × days cumulative contribution of the candidate.
        reference: the same for the reference, on the same cells.
    """
    if cum is None or reference is None or cum.shape != reference.shape or cum.size == 0:
        return float("inf")
    diff = np.nanmean(cum - reference, axis=0)
    if np.isnan(diff).any() or diff[-1] <= 0:
        return float("inf")
    behind = np.flatnonzero(diff <= 0)
    return 0.0 if behind.size == 0 else float(behind[-1] + 1)


@dataclass(frozen=True)
class Beat:
    """How a candidate does against the incumbent on the same cells.

    Attributes:
        diff: the candidate's risk measure minus the incumbent's, in the KPI's unit
            (positive: better for "higher", read with the direction).
        diff_score: the same in scores (positive: better).
        diff_low, diff_high: a 90% cluster-bootstrap band of ``diff`` (draws resampled).
        lower_bound: the one-sided 95% lower bound of ``diff_score``.
        cell_median, cell_p10, cell_p90: the paired per-cell difference in the KPI's unit.
        p_beats, p_beats_low, p_beats_high: share of cells where the candidate is better (ties
            half), with a 95% Wilson interval on the effective number of cells.
        beats: ``lower_bound > 0``: better with 95% confidence.
    """

    diff: float
    diff_score: float
    diff_low: float
    diff_high: float
    lower_bound: float
    cell_median: float
    cell_p10: float
    cell_p90: float
    p_beats: float
    p_beats_low: float
    p_beats_high: float
    beats: bool


def compare_to_incumbent(
    candidate: np.ndarray,
    incumbent: np.ndarray,
    draws: np.ndarray,
    *,
    direction: str,
    measure: str,
    alpha: float,
    seed: int,
) -> Beat:
    """Paired comparison of a candidate with the incumbent on one block.

    The band and the lower bound come from a cluster bootstrap: whole draws are resampled with
    their replicates (cells of one draw share a market, so they are not independent); with one
    draw the cells themselves are resampled. The bootstrap's generator is seeded, so the verdict
    is reproducible.
    """
    a = scores(candidate, direction)
    b = scores(incumbent, direction)
    ok = ~(np.isnan(a) | np.isnan(b))
    nan = float("nan")
    if not ok.all():
        return Beat(nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, False)
    draws = np.asarray(draws)
    clusters = draws if np.unique(draws).size > 1 else np.arange(draws.size)
    labels = np.unique(clusters)
    members = [np.flatnonzero(clusters == lab) for lab in labels]
    diff_score = risk_score(a, measure, alpha) - risk_score(b, measure, alpha)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0xB007,)))
    boot = np.empty(BOOTSTRAP_RESAMPLES)
    for i in range(BOOTSTRAP_RESAMPLES):
        pick = np.concatenate([members[j] for j in rng.integers(0, len(members), len(members))])
        boot[i] = risk_score(a[pick], measure, alpha) - risk_score(b[pick], measure, alpha)
    lower = float(np.quantile(boot, 1 - BEAT_CONFIDENCE))
    low, high = np.quantile(boot, [0.05, 0.95])
    sign = 1.0 if direction == "higher" else -1.0
    band = (sign * low, sign * high) if sign > 0 else (sign * high, sign * low)
    paired = _paired(candidate, incumbent, draws, direction)
    return Beat(
        diff=sign * diff_score,
        diff_score=diff_score,
        diff_low=float(band[0]),
        diff_high=float(band[1]),
        lower_bound=lower,
        cell_median=float(paired["diff_vs_reference_median"]),
        cell_p10=float(paired["diff_vs_reference_p10"]),
        cell_p90=float(paired["diff_vs_reference_p90"]),
        p_beats=float(paired["p_beats_reference"]),
        p_beats_low=float(paired["p_beats_reference_low"]),
        p_beats_high=float(paired["p_beats_reference_high"]),
        beats=bool(lower > 0 and diff_score > 0),
    )


def _paired(
    candidate: np.ndarray, incumbent: np.ndarray, draws: np.ndarray, direction: str
) -> pd.Series:
    """The robust verdict's paired view of a candidate against the incumbent on the same cells.

    :func:`model.verdict.robust.robust_summary` with the incumbent as the reference: the
    per-cell difference's median and 10th/90th percentiles, and P(beats) with its 95% Wilson
    interval on the effective number of cells (cells of one draw share a market).
    """
    draws = np.asarray(draws)
    replicate = pd.Series(draws).groupby(draws).cumcount().to_numpy()
    runs = pd.DataFrame(
        {
            "strategy": ["candidate"] * draws.size + [INCUMBENT] * draws.size,
            "draw": np.concatenate([draws, draws]),
            "replicate": np.concatenate([replicate, replicate]),
            "objective": np.concatenate([np.asarray(candidate), np.asarray(incumbent)]),
        }
    )
    summary = robust_summary(runs, INCUMBENT, ["objective"], directions={"objective": direction})
    return summary.set_index("strategy").loc["candidate"]
