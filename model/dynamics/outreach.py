"""Private outreach: push days, targeting, fatigue and the unfollow hazard (docs/model.md §7.5)."""

from __future__ import annotations

import math

import numpy as np


def is_push_day(day: int, pushes_per_week: float) -> bool:
    """Spread ``pushes_per_week`` evenly: a push on day d when floor((d+1)k/7) > floor(dk/7).

    With k ≤ 7 there is at most one mass message per member per day (WeCom's rule).
    """
    k = pushes_per_week
    return k > 0 and math.floor((day + 1) * k / 7 + 1e-9) > math.floor(day * k / 7 + 1e-9)


def push_index(day: int, pushes_per_week: float) -> int:
    """How many pushes happened before this day (used by tiered targeting)."""
    return math.floor(day * pushes_per_week / 7 + 1e-9)


def decayed_fatigue(
    fatigue: np.ndarray, ti_fatigue: np.ndarray, day: int, half_life_days: float
) -> np.ndarray:
    """Fatigue brought forward to ``day``: halves every ``half_life_days`` without pushes.

    Kept lazily (value + day of last update) so days without pushes cost nothing.
    """
    return fatigue * np.exp2(-(day - ti_fatigue) / half_life_days).astype(np.float32)


def p_unfollow(fatigue: np.ndarray, base: float, convexity: float) -> np.ndarray:
    """Unfollow probability per push: ``base · fatigue^k`` (fatigue ≥ 1 counts this push).

    Convex in fatigue (k ≥ 1): the third push in a week costs more members than the first.
    """
    return np.minimum(1.0, base * np.power(fatigue, convexity))


def select_recipients(
    members: np.ndarray,
    active: np.ndarray,
    ti_last_order: np.ndarray,
    *,
    targeting: str,
    day: int,
    recency_days: int,
    cold_every: int,
    index: int,
) -> np.ndarray:
    """Pick the members a push goes to.

    ``all``: every member. ``active``: only members BG/NBD considers alive (a brand can see
    this as "bought recently or opened messages"; the model uses the latent flag, an optimistic
    targeting oracle). ``tiered``: warm members (bought within ``recency_days``) get every
    push, cold ones every ``cold_every``-th.
    """
    if targeting == "all":
        return members
    if targeting == "active":
        return members[active[members]]
    warm = (ti_last_order[members] >= 0) & (day - ti_last_order[members] <= recency_days)
    if index % cold_every == 0:
        return members
    return members[warm]


def credited_wake_ups(t_return: np.ndarray, day: int, window_days: int) -> np.ndarray:
    """Which dormant members woken by a push on ``day`` the push is credited with.

    A push wakes a dormant member from tomorrow, ``day + 1``: it brings their return forward.
    With a positive return rate they would have come back on their own at ``t_return`` (their
    return clock; inf when the rate is 0), so only the difference is the push's: a wake-up
    counts as a reactivation only if the member would not have returned within
    ``window_days`` of tomorrow. With return rate ρ (calendar off) that leaves each wake-up
    credited with probability exp(−ρ·window_days).
    """
    return np.asarray(t_return) >= day + 1 + window_days
