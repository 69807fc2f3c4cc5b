"""Parameter recovery: fits on the simulator's own order log find the scenario's parameters.

The orders come from ``simulate(scenario, record_orders=True)`` on a public-only market (no
private domain, so every customer keeps the scenario's BG/NBD and Gamma-Gamma behaviour),
with paid acquisition for the first 90 days and 545 days in all. They go through the same
path as a user's file (transactions, RFM summary, fit) with one difference:
``same_day="keep"``. The simulator's same-day orders are independent purchases, which the
CLI's merge rule (right for real exports) would fold together, biasing α up by about a
standard error at this size (measured; see ``test_same_day_merge_bias_direction``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model import simulate
from model.fitting.backtest import holdout_comparison, tracking_curves
from model.fitting.bgnbd import BetaGeoModel
from model.fitting.gamma_gamma import GammaGammaModel
from model.fitting.orders import rfm_summary, to_transactions
from tests.helpers import baseline_with

SEED = 20261123  # chosen once, not searched
START = pd.Timestamp("2024-01-01")  # calendar date of simulation day 0
CAL_END = "2024-12-30"  # day 364: a year of calibration
HOLDOUT_END = "2025-06-28"  # day 544, the last simulated day: half a year of holdout


@pytest.fixture(scope="module")
def scenario():
    """Public-only baseline: 90 days of paid acquisition, 545 days simulated."""
    return baseline_with(
        market__initial_public=0,  # everyone's first order is inside the log
        sim__days=545,
        budget__kind="pulses",
        budget__per_day_yuan=0.0,
        budget__pulses=[{"start_day": 0, "days": 90, "per_day_yuan": 12_000.0}],
        operation__mode="none",  # public only: no member uplift, no private dropout change
        calendar__enabled=False,  # BG/NBD's world: stationary rates, dormancy for good
        behaviour__return_rate_per_day=0.0,
    )


@pytest.fixture(scope="module")
def orders(scenario):
    """The simulator's order log with calendar dates."""
    log = simulate(scenario, seed=SEED, record_orders=True).orders
    return pd.DataFrame(
        {
            "customer_id": log["customer_id"],
            "date": START + pd.to_timedelta(log["day"], unit="D"),
            "amount": log["amount"],
        }
    )


@pytest.fixture(scope="module")
def data(orders):
    """Transactions (every order kept) and the RFM summary with a holdout."""
    tx = to_transactions(orders, same_day="keep")
    return tx, rfm_summary(tx, CAL_END, HOLDOUT_END, time_unit="day")


@pytest.fixture(scope="module")
def fits(data):
    """BG/NBD and Gamma-Gamma fitted to the summary."""
    _, summary = data
    return BetaGeoModel().fit(summary), GammaGammaModel().fit(summary)


def truth(scenario) -> tuple[dict, dict]:
    """The scenario's parameters, named as the fits name them."""
    b = scenario.behaviour
    return (
        {"r": b.r, "alpha": b.alpha_days, "a": b.a, "b": b.b},
        {"p": b.gg_p, "q": b.gg_q, "gamma": b.gg_gamma},
    )


def test_enough_customers(data):
    """At least 5,000 customers, most of them with repeat purchases."""
    _, summary = data
    assert len(summary) >= 5000
    assert summary["frequency"].sum() > len(summary)  # enough repeat purchases


@pytest.mark.parametrize("name", ["r", "alpha", "a", "b"])
def test_bgnbd_recovers_truth_within_95pct(scenario, fits, name):
    """Each BG/NBD parameter's truth lies in estimate ± 1.96 se."""
    bg, _ = fits
    est, se = bg.params_[name], bg.se_[name]
    assert bg.converged_
    assert np.isfinite(se) and 0 < se < est
    want = truth(scenario)[0][name]
    assert abs(est - want) < 1.96 * se, f"{name}: {est:.4g} ± {se:.2g}, truth {want}"


@pytest.mark.parametrize("name", ["p", "q", "gamma"])
def test_gamma_gamma_recovers_truth_within_95pct(scenario, fits, name):
    """Each Gamma-Gamma parameter's truth lies in estimate ± 1.96 se."""
    _, gg = fits
    est, se = gg.params_[name], gg.se_[name]
    assert gg.converged_
    assert np.isfinite(se) and 0 < se < est
    want = truth(scenario)[1][name]
    assert abs(est - want) < 1.96 * se, f"{name}: {est:.4g} ± {se:.2g}, truth {want}"


def test_weekly_fit_is_the_daily_fit_rescaled(data, fits):
    """A weekly fit is the daily fit with α divided by 7."""
    # T and t_x in weeks are the same data / 7, so the MLE must be α_week = α_day / 7 with r,
    # a, b unchanged: checks the time-unit plumbing and that the optimiser reaches the optimum.
    tx, _ = data
    bg_day, _ = fits
    bg_week = BetaGeoModel().fit(rfm_summary(tx, CAL_END, HOLDOUT_END, time_unit="week"))
    assert bg_week.params_["alpha"] * 7 == pytest.approx(bg_day.params_["alpha"], rel=1e-4)
    assert bg_week.se_["alpha"] * 7 == pytest.approx(bg_day.se_["alpha"], rel=1e-2)
    for name in ("r", "a", "b"):
        assert bg_week.params_[name] == pytest.approx(bg_day.params_[name], rel=1e-4)


def test_backtest_on_simulated_holdout(data, fits):
    """The holdout forecast and the tracking curve match the simulated log."""
    tx, summary = data
    bg, _ = fits
    res = holdout_comparison(summary, bg.conditional_expected(summary["duration_holdout"], summary))
    # ~4,000 holdout repeat transactions: sampling sd plus parameter uncertainty is a few
    # percent, so a correct model is well within 8%.
    assert res.actual_repeat > 3000
    assert abs(res.error_pct) < 8.0
    per = res.by_frequency["predicted_per_customer"].to_numpy()
    assert np.all(np.diff(per) > 0)  # heavier calibration buyers are forecast to buy more
    curves = tracking_curves(
        tx, summary, pd.Timestamp(HOLDOUT_END), {"bgnbd": bg.cohort_curve(unit_days=1.0)}
    )
    at_cal_end = curves.loc[pd.Timestamp(CAL_END)]
    assert at_cal_end["bgnbd"] == pytest.approx(at_cal_end["actual"], rel=0.03)
    assert curves["bgnbd"].iloc[-1] == pytest.approx(curves["actual"].iloc[-1], rel=0.05)


def test_same_day_merge_bias_direction(orders, fits):
    """Merging same-day orders raises α and r, leaving r/α nearly unchanged."""
    # The CLI merges same-day orders. On this log that drops the heaviest buyers' same-day
    # repeats, so fewer transactions and a narrower rate distribution: α (and r) up.
    bg_keep, _ = fits
    merged_tx = to_transactions(orders, same_day="merge")
    merged = rfm_summary(merged_tx, CAL_END, time_unit="day")
    bg_merge = BetaGeoModel().fit(merged)
    assert len(merged_tx) < len(orders)
    assert bg_merge.params_["alpha"] > bg_keep.params_["alpha"]
    assert bg_merge.params_["r"] > bg_keep.params_["r"]
    # The mean purchase rate r/α barely moves (the lost orders are < 1% of all).
    rate = bg_keep.params_["r"] / bg_keep.params_["alpha"]
    assert bg_merge.params_["r"] / bg_merge.params_["alpha"] == pytest.approx(rate, rel=0.05)
