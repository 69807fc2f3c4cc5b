"""Fixed-size sampling of a day's private-domain decisions: fewer Monte-Carlo surprises.

Who joins after a platform order, who buys or wakes up after a push and who unfollows are
decisions only a private domain makes: the public-only reference has no draw to pair them with
(docs/model.md §4.6), so their Monte-Carlo noise reaches a comparison's paired difference
whole. Drawn as independent Bernoulli trials, a day's number of joiners is binomial, and
*which* customers join is a simple random sample: both add noise that says nothing about the
strategy.

Here each decision keeps its customer's own keyed uniform ``u`` (:mod:`model.draws`) and its
probability ``p``, and the day's deciders are sampled with a fixed size within value classes:

- **Pareto order sampling** (Rosén 1997, "On sampling with probability proportional to size",
  J. Stat. Plan. Inference 62): rank each decider by
  ``ξ = [u / (1 − u)] / [p / (1 − p)]`` and take the ``k`` smallest. With ``k = Σ p`` every
  customer is chosen with probability ``p`` up to a correction of order ``1/k`` (exactly ``p``
  when the ``p`` are equal); ``p = 1`` is always chosen, ``p = 0`` never.
- **Random rounding:** ``k = ⌊Σ p⌋ + 1[v < frac(Σ p)]`` with ``v`` a keyed uniform of the class
  and day, so the expected number chosen is ``Σ p`` exactly.
- **Value classes** (stratified sampling): the size is fixed within each class of customers of
  similar expected value (:func:`value_classes`), so the day's choice is balanced across light
  and heavy buyers instead of whatever a simple random sample happens to give.

Each customer's chance is the model's ``p``; what goes is the binomial spread of the day's
count and the luck of the draw across value classes. A customer far below the threshold is
chosen whatever a few others do, so two private strategies still pair decision by decision: the
threshold moves only as much as the day's set of deciders differs. On the main comparison this
cut the spread of the paired difference from public-only by 12–26% (README, *Pairing*).
"""

from __future__ import annotations

import numpy as np

from model import draws

# Value classes: enough that a class is homogeneous, few enough that a class still sees several
# deciders a day in a 1/20 miniature (a class with none that day simply chooses none).
N_VALUE_CLASSES = 16

# Deciders ranked above this (odds of u over 3 × the odds of p) are not chosen unless their
# class runs short: P(rank ≤ 3) = 3o/(1 + 3o) ≈ 3p for a small p.
_CANDIDATE_RANK = 3.0


def expected_value(
    lam: np.ndarray, p_drop: np.ndarray, nu: np.ndarray, mean_value_scale: float, days: int
) -> np.ndarray:
    """A customer's expected spend over ``days`` from their traits, active from day 0.

    BG/NBD: purchases at rate λ until a dropout after each with probability p, so the expected
    count is (1 − e^(−λ·p·t)) / p (λ·t when p = 0); Gamma-Gamma: mean order value
    ``mean_value_scale`` / ν. Only its ranking is used (the value classes).
    """
    # In place, one market-sized array at a time (this runs over every person at set-up).
    rate = lam.astype(np.float64)
    rate *= days
    p = p_drop.astype(np.float64)
    value = rate * p
    np.negative(value, out=value)
    np.expm1(value, out=value)
    np.negative(value, out=value)
    dies = p > 0
    np.divide(value, p, out=value, where=dies)
    np.copyto(value, rate, where=~dies)
    value *= mean_value_scale
    value /= nu.astype(np.float64)
    return value


def value_classes(expected_value: np.ndarray, n_classes: int = N_VALUE_CLASSES) -> np.ndarray:
    """Class 0..n-1 of each customer by quantile of ``expected_value`` (int8, fixed for a run)."""
    if len(expected_value) == 0:
        return np.zeros(0, dtype=np.int8)
    edges = np.quantile(expected_value, np.linspace(0, 1, n_classes + 1)[1:-1])
    # The number of edges at or below each value (searchsorted's side="right"), an edge a pass.
    classes = np.zeros(len(expected_value), dtype=np.int8)
    for edge in edges:
        classes += expected_value >= edge
    return classes


def choose(
    key: np.uint64,
    uids: np.ndarray,
    p: np.ndarray | float,
    day: int,
    classes: np.ndarray,
    part: int = 1,
) -> np.ndarray:
    """Which of ``uids`` are chosen today: a boolean mask, a fixed-size sample per value class.

    Args:
        key: the decision's stream key (the same uniforms as a Bernoulli draw would use).
        uids: today's deciders (distinct customer ids).
        p: each decider's probability (a scalar or one per uid); clipped to [0, 1].
        day: today (the counter of the keyed uniforms).
        classes: each decider's value class (:func:`value_classes`), aligned with ``uids``.
        part: which word of a class's keyed draw rounds its sample size (1, 2, …): two
            decisions on one stream and day (buy and reactivate after a push) use different parts.

    Returns:
        A mask over ``uids``; customer ``i`` is chosen with probability ``p[i]`` (exactly when
        the ``p`` of its class are equal, to order 1/k otherwise), and each class chooses
        ``⌊Σ p⌋`` or ``⌊Σ p⌋ + 1`` of its deciders, ``Σ p`` on average.
    """
    n = len(uids)
    if n == 0:
        return np.zeros(0, dtype=bool)
    p = np.clip(np.broadcast_to(np.asarray(p, dtype=np.float64), (n,)), 0.0, 1.0)
    u = draws.uniform(key, uids, day)
    with np.errstate(divide="ignore", invalid="ignore"):
        rank = (u / (1.0 - u)) * ((1.0 - p) / p)  # Pareto ranking: smaller is chosen first
    rank[p >= 1.0] = -1.0
    rank[p <= 0.0] = np.inf
    n_classes = int(classes.max()) + 1
    expected = np.bincount(classes, weights=p, minlength=n_classes)
    present = np.flatnonzero(np.bincount(classes, minlength=n_classes))
    # A class's rounding uniform: word `part` of the keyed draw at (class, day). Word 0 at a
    # (uid, day) is a customer's decision uniform; words ≥ 1 are never used for decisions.
    v = np.zeros(n_classes)
    v[present] = draws.to_uniform(draws.word(draws.hash_words(key, present, day), part))
    size = np.floor(expected).astype(np.int64)
    size += v < expected - size
    # The k smallest ranks of each class. They are among the candidates ranked below
    # _CANDIDATE_RANK (about 3p of a class's deciders, against the p it chooses) unless a class
    # has fewer candidates than it chooses, which sends that rare call through all deciders:
    # either way the same deciders are chosen, and only a few are sorted.
    candidates = np.flatnonzero(rank <= _CANDIDATE_RANK)
    if np.any(np.bincount(classes[candidates], minlength=n_classes) < size):
        candidates = np.arange(n)
    order = candidates[np.lexsort((rank[candidates], classes[candidates]))]
    sorted_classes = classes[order]
    first = np.searchsorted(sorted_classes, np.arange(n_classes))
    position = np.arange(len(order)) - first[sorted_classes]
    chosen = np.zeros(n, dtype=bool)
    chosen[order[position < size[sorted_classes]]] = True
    return chosen & (p > 0.0)
