"""Paid acquisition on a public platform (docs/model.md §7.2)."""

from __future__ import annotations

import math


def adstock(spend: float, carry: float, theta: float) -> float:
    """Geometric ad carry-over: S*_t = S_t + θ·S*_{t−1}."""
    return spend + theta * carry


def expected_new_customers(
    effective_spend: float, c0: float, daily_cap: float, prospects_left: int, market_size: int
) -> float:
    """Expected new customers from effective spend: ``b·tanh(S*/(b·c0)) × prospects/market``.

    The first customer costs ``c0``; the curve saturates at ``daily_cap`` (b) a day, so the
    marginal CAC ``c0 / cosh²(S*/(b·c0))`` rises with spend (the saturation pymc-marketing uses).
    Depletion scales it by the share of the market still to be won.
    """
    if effective_spend <= 0 or prospects_left <= 0:
        return 0.0
    reach = daily_cap * math.tanh(effective_spend / (daily_cap * c0))
    return reach * prospects_left / market_size


def marginal_cac(effective_spend: float, c0: float, daily_cap: float) -> float:
    """Cost of one more customer at this spend level (full market): c0·cosh²(S*/(b·c0))."""
    return c0 * math.cosh(effective_spend / (daily_cap * c0)) ** 2


def bass_daily_probability(p_per_year: float) -> float:
    """The daily adoption probability of a prospect under a constant Bass innovation rate."""
    return 1.0 - math.exp(-p_per_year / 365.0)


def inflated_c0(c0: float, inflation_per_year: float, day: int, multiplier: float) -> float:
    """First-customer CAC on a day, after yearly inflation and any CAC-jump shocks."""
    return c0 * (1.0 + inflation_per_year) ** (day / 365.0) * multiplier
