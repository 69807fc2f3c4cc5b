"""Fit every purchase model to one order log and backtest them side by side.

The one library entry point behind ``run.py fit-orders`` and ``benchmarks/backtest_real.py``
(a notebook can call it too): BG/NBD (the reference), the two-state model with return from
dormancy (with a seasonal profile estimated, given or none) and Gamma-Gamma, then with a
holdout the per-customer forecasts and the tracking curves of both purchase models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.fitting.backtest import HoldoutResult, holdout_comparison, tracking_curves
from model.fitting.bgnbd import BetaGeoModel
from model.fitting.calendar import SeasonalProfile
from model.fitting.gamma_gamma import GammaGammaModel
from model.fitting.orders import TIME_UNITS
from model.fitting.twostate import TwoStateModel, cohort_curve, histories

# A seasonal profile is estimated only when calibration covers every day of the year at
# least once (from the first purchase to the calibration end), and when customers were
# acquired in at least 6 different calendar months: if everyone started buying at the same
# time of year, a month's multiplier cannot be told apart from the customers' age in that
# month (CDNOW's customers all joined in Q1 1997; its one-year calibration gave multipliers
# that carried the first weeks' buying into the next January–June, +11% on the holdout).
MIN_SEASONAL_SPAN_DAYS = 365
MIN_ACQUISITION_MONTHS = 6
MODELS = ("bgnbd", "two_state")


@dataclass
class OrderFit:
    """Everything a fit of one order log produced.

    Attributes:
        summary: The per-customer RFM table (with holdout columns when there is a holdout).
        bgnbd: The fitted BG/NBD model.
        two_state: The fitted two-state model (``profile_`` holds the seasonal profile used).
        gamma_gamma: The fitted spend model.
        seasonality: How the seasonal profile was chosen, in words.
        holdout: Model name → holdout comparison (None without a holdout).
        tracking: Cumulative repeat transactions per day, actual and per model (None without a
            holdout).
        p_active: The two-state model's P(active at calibration end), per customer.
    """

    summary: pd.DataFrame
    bgnbd: BetaGeoModel
    two_state: TwoStateModel
    gamma_gamma: GammaGammaModel
    seasonality: str
    holdout: dict[str, HoldoutResult] | None
    tracking: pd.DataFrame | None
    p_active: np.ndarray


def choose_profile(
    span_days: int, acquisition_months: int, seasonality: str, given: SeasonalProfile | None
) -> tuple[bool, SeasonalProfile | None, str]:
    """Decide whether to estimate a seasonal profile, use a given one, or none.

    Args:
        span_days: Days from the first purchase to calibration end, both included.
        acquisition_months: Distinct calendar months (1–12) of customers' first purchases.
        seasonality: ``"auto"`` or ``"none"``.
        given: A profile to fall back on.

    Returns:
        ``(estimate, profile, explanation)``.
    """
    long_enough = span_days >= MIN_SEASONAL_SPAN_DAYS
    spread = acquisition_months >= MIN_ACQUISITION_MONTHS
    if seasonality == "auto" and long_enough and spread:
        why = (
            f"estimated: calibration spans {span_days} days (≥ {MIN_SEASONAL_SPAN_DAYS}) and "
            f"customers joined in {acquisition_months} calendar months"
        )
        return True, None, why
    if seasonality == "none":
        why = "seasonality switched off"
    elif not long_enough:
        why = (
            f"calibration spans {span_days} days (< {MIN_SEASONAL_SPAN_DAYS}), too short to "
            "estimate one"
        )
    else:
        why = (
            f"customers joined in only {acquisition_months} calendar months (< "
            f"{MIN_ACQUISITION_MONTHS}): month effects would be confounded with their age"
        )
    if given is not None:
        return False, given, f"given ({why}): the profile from the calendar file"
    return False, None, f"none ({why}): rates are constant through the year"


def fit_order_log(
    transactions: pd.DataFrame,
    summary: pd.DataFrame,
    calibration_end: pd.Timestamp,
    holdout_end: pd.Timestamp | None,
    time_unit: str = "day",
    seasonality: str = "auto",
    given_profile: SeasonalProfile | None = None,
) -> OrderFit:
    """Fit BG/NBD, the two-state model and Gamma-Gamma; backtest with a holdout.

    Args:
        transactions: From :func:`model.fitting.orders.to_transactions`.
        summary: From :func:`model.fitting.orders.rfm_summary` on the same transactions.
        calibration_end: Last calibration day (inclusive).
        holdout_end: Last holdout day, or None.
        time_unit: ``"day"`` or ``"week"``, as the summary.
        seasonality: ``"auto"`` (estimate when calibration spans a year) or ``"none"``.
        given_profile: The profile to use when none is estimated (e.g. a scenario's).

    Returns:
        An :class:`OrderFit`.

    Raises:
        ValueError: From Gamma-Gamma, when fewer than 2 customers have repeat spend.
    """
    unit = TIME_UNITS[time_unit]
    bg = BetaGeoModel().fit(summary)
    gg = GammaGammaModel().fit(summary)
    hist = histories(transactions, summary, calibration_end, unit)
    # Days covered, both ends included (a log from Jan 1 to Dec 31 covers 365).
    span = int(hist.end_day - hist.first_day.min()) + 1 if len(hist.first_day) else 0
    first = hist.origin + pd.to_timedelta(hist.first_day, unit="D")
    months = int(pd.DatetimeIndex(first).month.nunique())
    estimate, profile, why = choose_profile(span, months, seasonality, given_profile)
    ts = TwoStateModel().fit(hist, bg.params_, profile=profile, estimate_seasonality=estimate)

    holdout = tracking = None
    if holdout_end is not None:
        days = np.full(len(summary), int((holdout_end - calibration_end) / pd.Timedelta(days=1)))
        ts_pred, p_active = ts.conditional_expected(days)
        holdout = {
            "bgnbd": holdout_comparison(summary, bg.conditional_expected(days / unit, summary)),
            "two_state": holdout_comparison(summary, ts_pred),
        }
        tracking = tracking_curves(
            transactions,
            summary,
            holdout_end,
            {"bgnbd": bg.cohort_curve(unit), "two_state": cohort_curve(ts)},
        )
    else:
        _, p_active = ts.conditional_expected(np.zeros(len(summary), dtype=int))
    return OrderFit(summary, bg, ts, gg, why, holdout, tracking, p_active)
