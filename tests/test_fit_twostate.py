"""The two-state model (return from dormancy) and the seasonal calendar.

Likelihoods and expectations are checked against independent computations that never call
the package's recursion: the likelihood of each history written out interval by interval
(hypo-exponential densities) and integrated over λ and p with scipy's adaptive quadrature;
E[X(t)] and E[Y(t) | history] as integrals of the two-state Markov chain's closed forms over
the same mixing distributions; BG/NBD's closed forms at ρ → 0. Recovery: logs drawn by the
exact event simulator of :mod:`model.fitting.synthetic` with known seasonality and return
rate are fitted back inside their 95% intervals.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import quad
from scipy.stats import chi2

from model.errors import InputError
from model.fitting import twostate as ts
from model.fitting.bgnbd import BetaGeoModel, bgnbd_conditional_expected, bgnbd_loglik
from model.fitting.calendar import (
    DEFAULT_FESTIVALS,
    SPRING_FESTIVAL,
    SeasonalProfile,
    normalise_months,
    operational_time,
)
from model.fitting.orders import rfm_summary, to_transactions
from model.fitting.synthetic import simulate_two_state_orders

START = pd.Timestamp("2024-01-01")
CAL_END = pd.Timestamp("2024-07-01")
# Hand-made histories: purchase days since START for each customer (the first is day 0 or
# later); calibration ends on day 182.
DAYS = {
    "none": [10],
    "one": [0, 30],
    "quick": [5, 6, 8],
    "gap": [0, 12, 150, 160],
    "busy": [0, 3, 9, 14, 40, 41, 90, 120, 170, 182],
}
PARAMS = np.array([0.7, 35.0, 0.9, 2.6, 0.01])  # r, alpha (days), a, b, rho (per day)


def hand_transactions() -> pd.DataFrame:
    rows = [(c, START + pd.Timedelta(days=d)) for c, ds in DAYS.items() for d in ds]
    return pd.DataFrame(rows, columns=["customer_id", "date"]).assign(amount=1.0)


@pytest.fixture(scope="module")
def hand():
    """Histories, segment lengths and λ grid of the hand-made customers (both conventions)."""
    tx = to_transactions(hand_transactions(), same_day="keep")
    summary = rfm_summary(tx, CAL_END, time_unit="day")
    out = {}
    for first_dropout in (False, True):
        hist = ts.histories(tx, summary, CAL_END, 1.0, first_dropout=first_dropout)
        lengths = hist.lengths()
        v, step = ts.lambda_grid(hist, lengths, PARAMS[0], PARAMS[1])
        out[first_dropout] = (summary, hist, lengths, v, step)
    return out


def likelihood_by_quadrature(days, end, params, first_dropout=False) -> float:
    """∫∫ Π(interval densities) dGamma(λ) dBeta(p), written out with no recursion."""
    r, alpha, a, b, rho = params
    t = np.asarray(days, dtype=float) - days[0]
    taus, c, x, T = np.diff(t), end - days[-1], len(days) - 1, end - days[0]

    def hypo(lam, tau):  # density of Exp(ρ) + Exp(λ)
        return lam * rho * (math.exp(-rho * tau) - math.exp(-lam * tau)) / (lam - rho)

    def surv_dormant(lam, c):  # P(no purchase within c | just dropped out)
        return (lam * math.exp(-rho * c) - rho * math.exp(-lam * c)) / (lam - rho)

    def given(lam, p):
        val = 1.0
        for j, tau in enumerate(taus):
            plain = lam * math.exp(-lam * tau)
            val *= plain if (j == 0 and not first_dropout) else (1 - p) * plain + p * hypo(lam, tau)
        if x == 0 and not first_dropout:
            return val * math.exp(-lam * c)
        return val * ((1 - p) * math.exp(-lam * c) + p * surv_dormant(lam, c))

    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    def over_p(lam):
        kw = dict(weight="alg", wvar=(a - 1, b - 1), epsabs=0, epsrel=1e-11, limit=200)
        return quad(lambda p: given(lam, p), 0, 1, **kw)[0] / math.exp(log_beta)

    def density(lam):
        log_g = r * math.log(alpha) + (r - 1) * math.log(lam) - alpha * lam - math.lgamma(r)
        return over_p(lam) * math.exp(log_g)

    mode = (r + x) / (alpha + T)
    edges = [0.0] + [mode * f for f in (1e-6, 1e-3, 0.01, 0.1, 0.5, 1, 2, 5, 20, 100)] + [np.inf]
    kw = dict(epsabs=0, epsrel=1e-10, limit=200)
    pieces = zip(edges[:-1], edges[1:], strict=True)
    return math.log(sum(quad(density, lo, hi, **kw)[0] for lo, hi in pieces))


@pytest.mark.parametrize("first_dropout", [False, True])
def test_loglik_equals_quadrature_of_the_written_out_likelihood(hand, first_dropout):
    """Every hand-made history's log-likelihood agrees with the adaptive-quadrature value."""
    summary, hist, lengths, v, step = hand[first_dropout]
    got = ts.loglik(PARAMS, hist, lengths, v, step).per_customer
    end = (CAL_END - START).days
    for i, cid in enumerate(summary.index):
        want = likelihood_by_quadrature(DAYS[cid], end, PARAMS, first_dropout)
        # The grid (step ≤ 0.5 in log λ and ≤ one posterior width) is accurate to ~1e-7.
        assert got[i] == pytest.approx(want, abs=1e-6), cid


def test_loglik_at_zero_return_is_bgnbd(hand):
    """ρ → 0 turns the two-state likelihood into BG/NBD's, FHL 2005 eq. (6)."""
    summary, hist, lengths, v, step = hand[False]
    theta = np.r_[PARAMS[:4], 1e-12]
    got = ts.loglik(theta, hist, lengths, v, step).per_customer
    want = bgnbd_loglik(*PARAMS[:4], summary["frequency"], summary["recency"], summary["T"])
    assert_allclose(got, want, rtol=0, atol=2e-6)


def test_gradient_against_differences(hand):
    """Analytic gradients in the parameters and in each segment length."""
    _, hist, lengths, v, step = hand[False]
    res = ts.loglik(PARAMS, hist, lengths, v, step)
    for k in range(5):
        up, dn = PARAMS.copy(), PARAMS.copy()
        h = 1e-6 * PARAMS[k]
        up[k] += h
        dn[k] -= h
        fd = (
            ts.loglik(up, hist, lengths, v, step).value
            - ts.loglik(dn, hist, lengths, v, step).value
        ) / (2 * h)
        assert res.grad[k] == pytest.approx(fd, rel=1e-5, abs=1e-8)
    for j in range(len(lengths)):
        if lengths[j] == 0:
            continue
        up, dn = lengths.copy(), lengths.copy()
        up[j] += 1e-5
        dn[j] -= 1e-5
        fd = (
            ts.loglik(PARAMS, hist, up, v, step).value - ts.loglik(PARAMS, hist, dn, v, step).value
        ) / 2e-5
        assert res.grad_lengths[j] == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_seasonal_gradient_against_differences():
    """Gradient of the seasonal likelihood in the month factors and festival lifts."""
    rng = np.random.default_rng(3)
    orders = simulate_two_state_orders(
        150,
        r=0.8,
        alpha_days=30.0,
        a=1.0,
        b=3.0,
        return_rate_per_day=0.02,
        horizon_days=500,
        cohort_days=200,
        rng=rng,
        start="2023-01-01",
    )
    tx = to_transactions(orders, same_day="keep")
    summary = rfm_summary(tx, "2024-04-30", time_unit="day")
    hist = ts.histories(tx, summary, "2024-04-30", 1.0)
    design = ts.season_design(hist)
    assert [f.name for f in design.festivals] == [f.name for f in DEFAULT_FESTIVALS]
    v, step = ts.lambda_grid(hist, hist.lengths(), 0.8, 30.0)
    theta = np.r_[0.8, 30.0, 1.0, 3.0, 0.02, np.linspace(0.7, 1.3, 11), [0.6, 1.2, 1.8, 2.5, 1.1]]
    _, grad, _ = ts.seasonal_loglik(theta, hist, design, v, step)
    for k in range(5, len(theta)):
        h = 1e-6 * theta[k]
        up, dn = theta.copy(), theta.copy()
        up[k] += h
        dn[k] -= h
        fd = (
            ts.seasonal_loglik(up, hist, design, v, step)[0]
            - ts.seasonal_loglik(dn, hist, design, v, step)[0]
        ) / (2 * h)
        assert grad[k] / theta[k] == pytest.approx(fd, rel=1e-5)


def expected_by_integral(t, r, alpha, a, b, rho, beta=None) -> float:
    """E_{λ~Gamma(r, β), p~Beta(a, b)}[m_A(t)] by nested adaptive quadrature (β = α)."""
    beta = alpha if beta is None else beta
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    def m_active(lam, p):
        kappa = lam * p + rho
        pi = rho / kappa
        return lam * (pi * t + (1 - pi) * (-math.expm1(-kappa * t)) / kappa)

    def over_p(lam):
        kw = dict(weight="alg", wvar=(a - 1, b - 1), epsabs=0, epsrel=1e-10)
        return quad(lambda p: m_active(lam, p), 0, 1, **kw)[0] / math.exp(log_beta)

    def density(lam):
        return math.exp(r * math.log(beta) + (r - 1) * math.log(lam) - beta * lam - math.lgamma(r))

    edges = [0.0, 0.01 * r / beta, r / beta, 10 * r / beta, np.inf]
    return sum(
        quad(lambda lam: over_p(lam) * density(lam), lo, hi, epsabs=0, epsrel=1e-9, limit=200)[0]
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    )


@pytest.mark.parametrize("t", [7.0, 90.0, 400.0])
def test_expected_repeat_against_integral(t):
    """E[X(t)] by Gauss–Laguerre × Gauss–Jacobi equals nested adaptive quadrature."""
    got = float(ts.expected_repeat(t, *PARAMS))
    assert got == pytest.approx(expected_by_integral(t, *PARAMS), rel=1e-7)


def test_expected_repeat_without_return_is_bgnbd():
    """ρ → 0: E[X(t)] is BG/NBD's eq. (7); and returns add purchases at long horizons."""
    from model.fitting.bgnbd import bgnbd_expected_repeat

    t = np.array([10.0, 100.0, 500.0])
    assert_allclose(
        ts.expected_repeat(t, *PARAMS[:4], 1e-12), bgnbd_expected_repeat(t, *PARAMS[:4]), rtol=1e-7
    )
    assert np.all(ts.expected_repeat(t, *PARAMS) > bgnbd_expected_repeat(t, *PARAMS[:4]))


def test_conditional_expected_against_integral_and_bgnbd(hand):
    """E[Y(t) | history]: x = 0 in closed-form mixing; ρ → 0 equals BG/NBD's eq. (10)."""
    summary, hist, lengths, v, step = hand[False]
    t = 60.0
    params = dict(zip(ts.PARAM_NAMES, PARAMS, strict=True))
    got, p_active = ts.conditional_expected(t, params, hist, lengths, v, step)
    # The x = 0 customer is active with λ ~ Gamma(r, α + T).
    i = list(summary.index).index("none")
    T = summary.loc["none", "T"]
    assert got[i] == pytest.approx(expected_by_integral(t, *PARAMS, beta=PARAMS[1] + T), rel=1e-7)
    assert p_active[i] == 1.0
    # ρ → 0: BG/NBD's conditional expectation and P(alive) for every customer.
    params0 = {**params, "rho": 1e-12}
    got0, p_active0 = ts.conditional_expected(t, params0, hist, lengths, v, step)
    want = bgnbd_conditional_expected(
        t, summary["frequency"], summary["recency"], summary["T"], *PARAMS[:4]
    )
    assert_allclose(got0, want, rtol=1e-5)
    # Returns raise the forecast most for the customer silent longest ("gap" bought on day
    # 160 after a 138-day gap; "quick" has been silent since day 8).
    gain = got / got0
    assert gain[list(summary.index).index("quick")] > gain[list(summary.index).index("busy")]


def test_cohort_curve_spline_matches_exact_values():
    """With a seasonal profile the tracking curve's spline equals exact E[X] to 1e-7."""
    rng = np.random.default_rng(4)
    months = normalise_months(np.array([1, 0.8, 1, 1, 1, 1.3, 1, 1, 1, 1, 1.5, 1.2]))
    profile = SeasonalProfile(tuple(months), {"double_11": 2.5}, DEFAULT_FESTIVALS, "given")
    orders = simulate_two_state_orders(
        200,
        r=0.8,
        alpha_days=30.0,
        a=1.0,
        b=3.0,
        return_rate_per_day=0.02,
        horizon_days=400,
        cohort_days=100,
        rng=rng,
        start="2023-01-01",
        profile=profile,
    )
    tx = to_transactions(orders, same_day="keep")
    summary = rfm_summary(tx, "2023-08-31", time_unit="day")
    hist = ts.histories(tx, summary, "2023-08-31", 1.0)
    model = ts.TwoStateModel().fit(hist, dict(r=0.8, alpha=30.0, a=1.0, b=3.0), profile=profile)
    offsets, grid = np.array([0, 17, 60]), np.arange(0, 400, 7)
    got = ts.cohort_curve(model)(offsets, grid)
    op = operational_time(profile, hist.origin, 400)
    age = np.clip(op[grid][None, :] - op[offsets][:, None], 0, None)
    prm = model.params_
    want = ts.expected_repeat(age, prm["r"], prm["alpha"], prm["a"], prm["b"], prm["rho"])
    assert_allclose(got, want, rtol=1e-7, atol=1e-12)


# --- the calendar --------------------------------------------------------------------------


def test_spring_festival_dates():
    """Lunar new year from the table: known dates, and always between Jan 21 and Feb 20."""
    assert SPRING_FESTIVAL[1997] == date(1997, 2, 7)
    assert SPRING_FESTIVAL[2024] == date(2024, 2, 10)
    assert SPRING_FESTIVAL[2025] == date(2025, 1, 29)
    assert SPRING_FESTIVAL[2026] == date(2026, 2, 17)
    assert set(SPRING_FESTIVAL) == set(range(1990, 2101))
    assert all(date(y, 1, 21) <= d <= date(y, 2, 20) for y, d in SPRING_FESTIVAL.items())


def test_profile_multipliers_and_operational_time():
    """s(date) = month multiplier × festival lift; Λ sums it day by day."""
    months = normalise_months(np.arange(1.0, 13.0))
    assert float(
        np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]) @ months
    ) == pytest.approx(365)
    profile = SeasonalProfile(
        tuple(months), {"double_11": 3.0, "spring_festival": 0.5}, DEFAULT_FESTIVALS
    )
    days = pd.to_datetime(["2024-11-01", "2024-11-11", "2024-11-12", "2024-02-03", "2024-02-02"])
    s = profile.multipliers(pd.DatetimeIndex(days))
    # Double 11 runs Nov 1–11; the 2024 Spring Festival (Feb 10) window Feb 3–17.
    assert_allclose(s, [3 * months[10], 3 * months[10], months[10], 0.5 * months[1], months[1]])
    op = operational_time(profile, pd.Timestamp("2024-11-10"), 3)
    assert_allclose(op, [0, 3 * months[10], 6 * months[10], 6 * months[10] + months[10]])


def test_profile_table_round_trip_and_errors():
    """to_toml_table → from_table gives the profile back; bad tables name the field."""
    import tomllib

    months = normalise_months(np.linspace(0.8, 1.2, 12))
    profile = SeasonalProfile(
        tuple(months), {"double_11": 2.0, "mid_year_618": 1.5}, DEFAULT_FESTIVALS
    )
    text = "\n".join(profile.to_toml_table(date(2025, 1, 1)))
    table = tomllib.loads(text)["calendar"]
    back = SeasonalProfile.from_table(table, "x.toml")
    assert back.source == "given"
    assert_allclose(back.month_multipliers, months, rtol=1e-3)
    assert back.lifts == pytest.approx({"double_11": 2.0, "mid_year_618": 1.5})
    days = pd.date_range("2024-01-01", "2025-12-31")
    assert_allclose(back.multipliers(days), profile.multipliers(days), rtol=1e-3)
    bad = {**table, "festivals": {"x": {"anchor": "13-40", "lift": 1.0}}}
    with pytest.raises(InputError, match=r"calendar\.festivals\.x\.anchor = '13-40'"):
        SeasonalProfile.from_table(bad, "x.toml")
    with pytest.raises(InputError, match="day-weighted mean"):
        SeasonalProfile.from_table({"month_multipliers": [2.0] * 12}, "x.toml")


# --- recovery ------------------------------------------------------------------------------

SEED = 20261130  # chosen once, not searched
TRUTH = dict(r=0.8, alpha=40.0, a=1.0, b=3.0, rho=0.01)  # days
MONTHS = normalise_months(np.array([0.8, 0.6, 0.9, 1.0, 1.0, 1.2, 0.9, 0.9, 1.0, 1.1, 1.4, 1.3]))
LIFTS = {"spring_festival": 0.5, "mid_year_618": 2.0, "double_11": 3.0}  # others: 1
N_CUSTOMERS = 2500


@pytest.fixture(scope="module")
def recovered():
    """2,500 customers acquired through 2023, orders to 2024-12-31, calibration to 2024-06-30."""
    profile = SeasonalProfile(tuple(MONTHS), LIFTS, DEFAULT_FESTIVALS, "given")
    orders = simulate_two_state_orders(
        N_CUSTOMERS,
        r=TRUTH["r"],
        alpha_days=TRUTH["alpha"],
        a=TRUTH["a"],
        b=TRUTH["b"],
        return_rate_per_day=TRUTH["rho"],
        horizon_days=730,
        cohort_days=365,
        rng=np.random.default_rng(SEED),
        start="2023-01-01",
        profile=profile,
    )
    tx = to_transactions(orders, same_day="keep")
    summary = rfm_summary(tx, "2024-06-30", "2024-12-31", time_unit="day")
    hist = ts.histories(tx, summary, "2024-06-30", 1.0)
    bg = BetaGeoModel().fit(summary)
    model = ts.TwoStateModel().fit(hist, bg.params_, estimate_seasonality=True)
    return summary, model


def test_recovers_the_purchase_and_return_parameters(recovered):
    """r, α, a, b, ρ: jointly inside the 95% Wald region; ρ inside its own 95% interval."""
    _, model = recovered
    assert model.converged_
    est = np.array([model.params_[k] for k in ts.PARAM_NAMES])
    truth = np.array([TRUTH[k] for k in ts.PARAM_NAMES])
    dev = est - truth
    d2 = float(dev @ np.linalg.solve(model.cov_[:5, :5], dev))
    assert d2 < chi2.ppf(0.95, 5), f"{dict(zip(ts.PARAM_NAMES, est, strict=True))}, d²={d2:.2f}"
    assert abs(model.params_["rho"] - TRUTH["rho"]) < 1.96 * model.se_["rho"]


def test_recovers_the_seasonal_profile(recovered):
    """Month multipliers and lifts jointly inside the 95% region; Double 11's lift alone too."""
    _, model = recovered
    profile = model.profile_
    assert profile.source == "estimated"
    rel_truth = MONTHS[1:] / MONTHS[0]
    lifts = [LIFTS.get(f.name, 1.0) for f in profile.festivals]
    est = np.r_[
        np.array(profile.month_multipliers[1:]) / profile.month_multipliers[0],
        [profile.lifts[f.name] for f in profile.festivals],
    ]
    dev = est - np.r_[rel_truth, lifts]
    d2 = float(dev @ np.linalg.solve(model.cov_[5:, 5:], dev))
    assert d2 < chi2.ppf(0.95, len(dev)), f"d²={d2:.2f}"
    se = model.profile_se_["lifts"]["double_11"]
    assert abs(profile.lifts["double_11"] - LIFTS["double_11"]) < 1.96 * se


def test_holdout_forecast_on_the_simulated_log(recovered):
    """The conditional forecast of the second half of 2024 is within 3 standard errors."""
    summary, model = recovered
    days = np.full(len(summary), 184)
    pred, _ = model.conditional_expected(days)
    actual = summary["frequency_holdout"].to_numpy(float)
    # The total's standard error from the customers' own scatter around their forecasts.
    se_total = math.sqrt(float(np.sum((actual - pred) ** 2)))
    assert abs(pred.sum() - actual.sum()) < 3 * se_total
    assert actual.sum() > 4000


def test_gamma_return_rate_likelihood(hand):
    """Heterogeneous returns: a huge shape gives the homogeneous likelihood; exact gradient."""
    _, hist, lengths, v, step = hand[False]
    homogeneous = ts.loglik(PARAMS, hist, lengths, v, step).value
    # Shape 1e6: ρ's spread is 0.1% of its mean, and the likelihood moves by ~1e-6.
    value, _, _ = ts.loglik_gamma_return(np.r_[PARAMS, 1e6], hist, lengths, v, step)
    assert value == pytest.approx(homogeneous, abs=1e-5)
    theta = np.r_[PARAMS, 0.8]
    value, grad, _ = ts.loglik_gamma_return(theta, hist, lengths, v, step)
    for k in range(6):
        h = 1e-6 * theta[k]
        up, dn = theta.copy(), theta.copy()
        up[k] += h
        dn[k] -= h
        fd = (
            ts.loglik_gamma_return(up, hist, lengths, v, step)[0]
            - ts.loglik_gamma_return(dn, hist, lengths, v, step)[0]
        ) / (2 * h)
        assert grad[k] == pytest.approx(fd, rel=1e-4, abs=1e-7)


def test_two_state_fragment_converts_weeks_to_days():
    """A weekly fit's α is multiplied by 7 and its ρ divided by 7 in the fragment."""
    import tomllib

    from model.fitting.report import two_state_fragment

    se = {"r": 0.01, "alpha": 0.2, "a": 0.05, "b": 0.1, "rho": 0.001}
    record = {
        "source": "orders.csv",
        "time_unit": "week",
        "calibration_end": "1997-09-30",
        "n_customers": 10,
        "bgnbd": {"loglik": -100.0},
        "two_state": {
            "r": 0.23,
            "alpha": 3.8,
            "a": 0.83,
            "b": 1.58,
            "rho": 0.0137,
            "se": se,
            "loglik": -90.0,
            "lr_vs_bgnbd": 20.0,
            "mean_dormancy": 1 / 0.0137,
        },
        "gamma_gamma": {"p": 6.0, "q": 3.7, "gamma": 15.0, "se": {"p": 1, "q": 1, "gamma": 1}},
        "seasonality": {"source": "none", "why": "none (test)"},
    }
    frag = tomllib.loads(two_state_fragment(record, date(1998, 7, 1)))
    beh = frag["behaviour"]
    assert beh["alpha_days"] == pytest.approx(7 * 3.8, rel=1e-4)
    assert beh["return_rate_per_day"] == pytest.approx(0.0137 / 7, rel=1e-4)
    assert beh["r"] == pytest.approx(0.23) and beh["b"] == pytest.approx(1.58)
    assert frag["calendar"]["start_date"] == "1998-07-01"
    assert frag["calendar"]["month_multipliers"] == [1] * 12
