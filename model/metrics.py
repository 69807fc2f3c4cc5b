"""Daily metrics and the KPIs (docs/model.md §8.2).

Names follow shared/STYLE.md: ``n_`` stocks, ``new_`` daily flows, ``cum_`` totals,
``share_`` fractions. Money is recorded in yuan (the ledger's fen / 100).
"""

from __future__ import annotations

import math

import numpy as np

from model import valuation
from model.kpis import KPIS
from model.ledger import COST_LINES, LINES
from model.population import (
    NEVER,
    SOURCE_INITIAL,
    SOURCE_PAID,
    SOURCE_REFERRAL,
    SOURCES,
    Population,
)

STOCKS = (
    "n_prospect",
    "n_public",
    "n_private",
    "n_lapsed",
    "n_active",
    "n_groups",
    "n_holders",
    "n_platforms_banned",
)
FLOWS = (
    "new_paid",
    "new_diverted",
    "new_referred",
    "new_unfollowed",
    "new_reactivated",
    "new_returned",
    "new_returned_early",
    "new_dormant",
    "new_join_rejected",
    "orders_public",
    "orders_private",
    "orders_push",
    "orders_push_pulled",
    "orders_lost_ban",
    "new_dormant_ban",
    "new_released_holders",
    "messages_sent",
)
# Incremental accounting of members' orders, yuan a day (memo lines: not in the ledger).
ATTRIBUTION = ("contribution_incremental", "gmv_incremental", "gmv_channel_shifted")
MONEY = LINES
# Marketing costs paid to platforms (acquisition and retargeting ads); the rest is private-side.
PUBLIC_SIDE_COSTS = ("cost_ad", "cost_retargeting")
CUMULATIVE = ("cum_revenue", "cum_cost_marketing", "cum_contribution")
# The calendar's multipliers of the day (model/calendar.py; 1 when it is disabled).
CALENDAR = ("rel_purchase_rate", "rel_cac")
DAILY_METRICS = ("day", *STOCKS, *FLOWS, *ATTRIBUTION, *MONEY, *CUMULATIVE, *CALENDAR)


# Which way is better, per KPI: derived from the one registry (model/kpis.py). "neutral" KPIs
# (descriptive stocks such as n_public) are summarised but never ranked.
KPI_DIRECTIONS: dict[str, str] = {name: k.direction for name, k in KPIS.items()}


class MetricRecorder:
    """Preallocated daily table: one row a day, one column a metric (cheap to fill)."""

    def __init__(self, days: int) -> None:
        self.values = np.zeros((days, len(DAILY_METRICS)))
        self.column = {name: i for i, name in enumerate(DAILY_METRICS)}
        self.days_recorded = 0

    def record(self, day: int, stocks: dict, flows: dict, money_fen: dict) -> None:
        """Store one day's stocks, flows and ledger lines (fen converted to yuan)."""
        row = self.values[day]
        row[self.column["day"]] = day
        for name, value in stocks.items():
            row[self.column[name]] = value
        for name, value in flows.items():
            row[self.column[name]] = value
        for name, fen in money_fen.items():
            row[self.column[name]] = fen / 100.0
        prev = self.values[day - 1] if day > 0 else None
        for cum, line in zip(
            CUMULATIVE, ("revenue", "cost_marketing", "contribution"), strict=True
        ):
            before = prev[self.column[cum]] if prev is not None else 0.0
            # Summed from fen so the cumulative line is exact to the cent.
            row[self.column[cum]] = round(before + money_fen[line] / 100.0, 2)
        self.days_recorded = day + 1

    def as_dict(self) -> dict[str, np.ndarray]:
        """Column name → daily values for the recorded days."""
        rows = self.values[: self.days_recorded]
        return {name: rows[:, i] for name, i in self.column.items()}


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


# Cohorts. Repurchase and LTV are measured on the customers the run acquired (paid ads and
# referral): the day-0 base's first order is synthetic (it happened before the run, on an
# unknown day), so its "repurchase" is only P(an order within the window) and would flatter
# any strategy that keeps the base. The base is reported separately (``*_initial``).
ACQUIRED = (SOURCE_PAID, SOURCE_REFERRAL)


def _cohort(pop: Population, sources: tuple[int, ...]) -> np.ndarray:
    return np.isin(pop.acquired_by, sources)


def observed_for(pop: Population, window: int, last_day: int) -> np.ndarray:
    """Customers whose whole ``window`` lies within the run.

    The one window convention of every repurchase and LTV KPI: a window of W days starts on the
    day of the first order and covers it and the W − 1 days after (ages 0 … W − 1); a customer
    counts only if that whole window is observed, i.e. first order ≤ last day + 1 − W.
    """
    return (pop.ti_first_order != NEVER) & (pop.ti_first_order <= last_day + 1 - window)


def repurchase_rate(
    pop: Population, window: int, last_day: int, sources: tuple[int, ...] = ACQUIRED
) -> float | None:
    """Share of a cohort with a second order within ``window`` days of the first.

    Among the cohort's customers observed for the whole window (:func:`observed_for`); a second
    order counts if placed at an age of at most ``window − 1`` days. None if nobody qualifies.
    """
    old_enough = observed_for(pop, window, last_day) & _cohort(pop, sources)
    n = int(np.count_nonzero(old_enough))
    if n == 0:
        return None
    second = pop.ti_second_order[old_enough]
    first = pop.ti_first_order[old_enough]
    hit = (second != NEVER) & (second - first < window)
    return float(np.count_nonzero(hit)) / n


def ltv(
    pop: Population, window: int, last_day: int, sources: tuple[int, ...] = ACQUIRED
) -> float | None:
    """Mean contribution per customer of a cohort in the ``window`` days from the first order.

    Contribution of an order: gross profit − platform fee, retargeting or commission (the costs
    booked with the order); among the cohort's customers observed for the whole window
    (:func:`observed_for`). None if nobody qualifies (e.g. ``ltv_365`` of a one-year run).
    """
    old_enough = observed_for(pop, window, last_day) & _cohort(pop, sources)
    n = int(np.count_nonzero(old_enough))
    if n == 0:
        return None
    values = pop.ltv_180 if window == 180 else pop.ltv_365
    return float(values[old_enough].astype(np.float64).mean())


def paired_payback_day(cum_contribution: np.ndarray, cum_reference: np.ndarray) -> int | None:
    """The private domain's payback: first day from which a strategy stays ahead of its reference.

    Both arguments are cumulative contribution series of the same length, from two runs paired
    on the same seed (a strategy and the comparison's reference, e.g. public-only). Returns the
    first day ``d`` with ``cum_contribution[t] − cum_reference[t] > 0`` for every ``t ≥ d``, or
    None if the difference is not positive on the last day (not paid back within the horizon).
    """
    diff = np.asarray(cum_contribution, dtype=float) - np.asarray(cum_reference, dtype=float)
    if len(diff) == 0 or diff[-1] <= 0:
        return None
    behind = np.flatnonzero(diff <= 0)
    return 0 if len(behind) == 0 else int(behind[-1]) + 1


def kpis(
    daily: dict[str, np.ndarray],
    pop: Population,
    holders: list | None,
    *,
    residual_value: float,
    discount_rate_per_year: float,
) -> dict:
    """The summary KPIs of a run (None where a KPI is undefined, e.g. no cohort old enough).

    Args:
        daily: the recorded daily metrics.
        pop: the population at the horizon.
        holders: every account or guide the private operation employed (None: public only).
        residual_value: the customers' expected discounted contribution after the horizon,
            valued at day 0 (``PrivateDomainModel.residual_value``).
        discount_rate_per_year: the annual rate the daily contribution is discounted at.

    Money KPIs are the run's own yuan (a miniature's are ``market.scale`` times the full
    market's); per-capita KPIs divide by the people in the market simulated, so they compare
    across scales.
    """
    total = {name: float(np.sum(daily[name])) for name in (*FLOWS, *ATTRIBUTION, *MONEY)}
    days = len(daily["day"])
    last = days - 1
    revenue = total["revenue"]
    private_side = sum(total[c] for c in COST_LINES if c not in PUBLIC_SIDE_COSTS)
    joined = total["new_diverted"] + total["new_referred"]
    mean_private = float(np.mean(daily["n_private"])) if days else 0.0
    acquired = _cohort(pop, ACQUIRED) & (pop.n_orders > 0)
    base = _cohort(pop, (SOURCE_INITIAL,))
    npv = valuation.present_value(daily["contribution"], discount_rate_per_year)
    value_created = npv + residual_value
    out = {
        "value_created": round(value_created, 2),
        "npv_contribution": round(npv, 2),
        "residual_value": round(residual_value, 2),
        "value_created_per_capita": value_created / pop.size,
        "contribution_per_capita": total["contribution"] / pop.size,
        "revenue": round(revenue, 2),
        "contribution": round(total["contribution"], 2),
        "cost_marketing": round(total["cost_marketing"], 2),
        "roi": _ratio(total["contribution"], total["cost_marketing"]),
        "cac_paid": _ratio(total["cost_ad"], total["new_paid"]),
        "cost_per_private_member": _ratio(private_side, joined),
        "repurchase_rate_30d": repurchase_rate(pop, 30, last),
        "repurchase_rate_90d": repurchase_rate(pop, 90, last),
        "repurchase_rate_180d": repurchase_rate(pop, 180, last),
        "repeat_customer_share": _ratio(
            int(np.count_nonzero(acquired & (pop.n_orders >= 2))), int(np.count_nonzero(acquired))
        ),
        "ltv_180": ltv(pop, 180, last),
        "ltv_365": ltv(pop, 365, last),
        "share_private_gmv": _ratio(total["revenue_private"], revenue),
        "unfollows_per_1000_pushes": (
            1000.0 * total["new_unfollowed"] / total["messages_sent"]
            if total["messages_sent"]
            else None
        ),
        "k_factor": (
            total["new_referred"] / (mean_private * days / 30.0) if mean_private > 0 else None
        ),
    }
    for window in (30, 90, 180):
        out[f"repurchase_rate_{window}d_initial"] = repurchase_rate(
            pop, window, last, (SOURCE_INITIAL,)
        )
    # The base's synthetic first order is one of its n_orders: two or more means a real one.
    out["repeat_customer_share_initial"] = _ratio(
        int(np.count_nonzero(base & (pop.n_orders >= 2))), int(np.count_nonzero(base))
    )
    for code, name in SOURCES.items():
        out[f"ltv_180_{name}"] = ltv(pop, 180, last, (code,))
        out[f"ltv_365_{name}"] = ltv(pop, 365, last, (code,))
    for name in (
        "n_prospect",
        "n_public",
        "n_private",
        "n_lapsed",
        "n_active",
        "n_groups",
        "n_holders",
    ):
        out[name] = int(daily[name][-1]) if days else 0
    for name in ("new_paid", "new_diverted", "new_referred", "new_unfollowed", "messages_sent"):
        out[f"cum_{name}"] = int(total[name])
    out["cum_new_dormant_ban"] = int(total["new_dormant_ban"])
    out["orders"] = int(total["orders_public"] + total["orders_private"])
    out["cost_retargeting"] = round(total["cost_retargeting"], 2)
    for name in ATTRIBUTION:
        out[name] = round(total[name], 2)
    out["share_holders_profitable"] = (
        float(np.mean([h.profit_fen > 0 for h in holders])) if holders else None
    )
    # JSON has no NaN: undefined ratios are None.
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()
    }
