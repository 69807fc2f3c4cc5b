"""Parameter recovery: fits on synthetic order logs find the parameters that generated them.

The order log comes from :func:`model.fitting.synthetic.simulate_orders`, a direct event
simulation of BG/NBD + Gamma-Gamma in continuous time (dates floored to days, as an export
would record them), and goes through the same path as a user's file: same-day merge, RFM
summary, fit.

TODO(simulator): also recover from ``model.simulate(scenario, seed=..., record_orders=True)
.orders`` once the simulator records orders; its public-only, no-outreach cohort should give
back the scenario's ``[behaviour]`` parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.fitting.backtest import holdout_comparison, tracking_curves
from model.fitting.bgnbd import BetaGeoModel
from model.fitting.gamma_gamma import GammaGammaModel
from model.fitting.orders import rfm_summary, to_transactions
from model.fitting.synthetic import simulate_orders

# DESIGN.md §7 defaults: FMCG-like BG/NBD in days, CDNOW-shaped Gamma-Gamma, mean order
# p·γ/(q−1) ≈ ¥114.
TRUTH_BG = dict(r=0.5, alpha=60.0, a=0.8, b=2.4)
TRUTH_GG = dict(p=6.25, q=3.74, gamma=50.0)
SEED = 20261123  # chosen once, not searched
CAL_END = "2024-12-30"  # day 364: a year of calibration
HOLDOUT_END = "2025-06-28"  # day 544: half a year of holdout, the last day simulated


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(SEED)
    orders = simulate_orders(
        5000,
        r=TRUTH_BG["r"],
        alpha_days=TRUTH_BG["alpha"],
        a=TRUTH_BG["a"],
        b=TRUTH_BG["b"],
        gg_p=TRUTH_GG["p"],
        gg_q=TRUTH_GG["q"],
        gg_gamma=TRUTH_GG["gamma"],
        horizon_days=545,
        cohort_days=90,
        rng=rng,
    )
    tx = to_transactions(orders)
    summary = rfm_summary(tx, CAL_END, HOLDOUT_END, time_unit="day")
    return tx, summary


@pytest.fixture(scope="module")
def fits(synthetic):
    _, summary = synthetic
    return BetaGeoModel().fit(summary), GammaGammaModel().fit(summary)


def test_summary_has_every_customer(synthetic):
    _, summary = synthetic
    assert len(summary) == 5000  # all acquired in the first 90 days, before calibration end
    assert summary["frequency"].sum() > 5000  # enough repeat purchases to identify the model


@pytest.mark.parametrize("name", ["r", "alpha", "a", "b"])
def test_bgnbd_recovers_truth_within_95pct(fits, name):
    bg, _ = fits
    est, se = bg.params_[name], bg.se_[name]
    assert bg.converged_
    assert np.isfinite(se) and 0 < se < est
    assert abs(est - TRUTH_BG[name]) < 1.96 * se, f"{name}: {est:.4g} ± {se:.2g}"


@pytest.mark.parametrize("name", ["p", "q", "gamma"])
def test_gamma_gamma_recovers_truth_within_95pct(fits, name):
    _, gg = fits
    est, se = gg.params_[name], gg.se_[name]
    assert gg.converged_
    assert np.isfinite(se) and 0 < se < est
    assert abs(est - TRUTH_GG[name]) < 1.96 * se, f"{name}: {est:.4g} ± {se:.2g}"


def test_weekly_fit_is_the_daily_fit_rescaled(synthetic, fits):
    # T and t_x in weeks are the same data /7, so the MLE must be α_week = α_day / 7 with r, a,
    # b unchanged: checks the time-unit plumbing and that the optimiser reaches the optimum.
    tx, _ = synthetic
    bg_day, _ = fits
    weekly = rfm_summary(tx, CAL_END, HOLDOUT_END, time_unit="week")
    bg_week = BetaGeoModel().fit(weekly)
    assert bg_week.params_["alpha"] * 7 == pytest.approx(bg_day.params_["alpha"], rel=1e-4)
    assert bg_week.se_["alpha"] * 7 == pytest.approx(bg_day.se_["alpha"], rel=1e-2)
    for name in ("r", "a", "b"):
        assert bg_week.params_[name] == pytest.approx(bg_day.params_[name], rel=1e-4)


def test_backtest_on_synthetic_holdout(synthetic, fits):
    tx, summary = synthetic
    bg, _ = fits
    res = holdout_comparison(summary, bg.params_)
    # Half a year of holdout holds ~2,700 repeat transactions; their sampling sd plus the
    # parameter uncertainty is a few percent, so a correct model is well within 8%.
    assert res.actual_repeat > 2000
    assert abs(res.error_pct) < 8.0
    # Heavier calibration buyers buy more in the holdout, in the data and in the forecast.
    per = res.by_frequency["predicted_per_customer"].to_numpy()
    assert np.all(np.diff(per) > 0)
    curves = tracking_curves(tx, summary, bg.params_, pd.Timestamp(HOLDOUT_END), unit_days=1.0)
    at_cal_end = curves.loc[pd.Timestamp(CAL_END)]
    assert at_cal_end["model"] == pytest.approx(at_cal_end["actual"], rel=0.03)
    assert curves["model"].iloc[-1] == pytest.approx(curves["actual"].iloc[-1], rel=0.05)
