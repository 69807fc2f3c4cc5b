"""BG/NBD and Gamma-Gamma formulas against values computed independently.

Expected values here never call the package's formulas: likelihoods are written out with
``math.lgamma``; expectations are numerical integrals over the mixing distributions (λ
integrated analytically, p by quadrature with the Beta weight), which uses neither ₂F₁ nor
FHL's algebra; plus the one published number from Hardie's CDNOW spreadsheet.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import quad
from scipy.special import hyp2f1

from model.fitting.backtest import holdout_comparison, tracking_curves
from model.fitting.bgnbd import (
    BetaGeoModel,
    bgnbd_conditional_expected,
    bgnbd_expected_repeat,
    bgnbd_loglik,
    bgnbd_loglik_grad,
    bgnbd_p_alive,
)
from model.fitting.gamma_gamma import (
    gamma_gamma_conditional_mean,
    gamma_gamma_loglik,
    gamma_gamma_loglik_grad,
)

# FHL 2005 estimates on CDNOW, in weeks.
CDNOW = dict(r=0.243, alpha=4.414, a=0.793, b=2.426)
PARAMS = dict(r=0.7, alpha=5.0, a=0.9, b=2.2)
# (x, t_x, T) for a no-repeat customer, a one-repeat and a three-repeat customer.
CUSTOMERS = [(0, 0.0, 10.0), (1, 4.0, 12.0), (3, 7.5, 9.0)]


def lbeta(a: float, b: float) -> float:
    """Return log B(a, b) from math.lgamma."""
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def bgnbd_lik_by_hand(r, alpha, a, b, x, t_x, T) -> float:
    """FHL 2005 eq. (6), term by term in plain floats."""
    g = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha**r
    alive = math.exp(lbeta(a, b + x) - lbeta(a, b)) * g / (alpha + T) ** (r + x)
    dead = 0.0
    if x > 0:
        dead = math.exp(lbeta(a + 1, b + x - 1) - lbeta(a, b)) * g / (alpha + t_x) ** (r + x)
    return alive + dead


def test_bgnbd_loglik_equals_hand_computed():
    """Eq. (6) per customer equals the plain-float computation for x = 0, 1, 3."""
    x, t_x, T = map(np.array, zip(*CUSTOMERS, strict=True))
    got = bgnbd_loglik(**PARAMS, x=x, t_x=t_x, T=T)
    want = [math.log(bgnbd_lik_by_hand(**PARAMS, x=c[0], t_x=c[1], T=c[2])) for c in CUSTOMERS]
    assert_allclose(got, want, rtol=1e-12)
    # A concrete number, worked with a calculator for the x = 0 customer:
    # L = B(0.9, 2.2)/B(0.9, 2.2) · (5/15)^0.7 = 3^-0.7 → log L = −0.7·ln 3.
    assert got[0] == pytest.approx(-0.7 * math.log(3.0), rel=1e-12)


def test_bgnbd_loglik_is_finite_for_heavy_buyers():
    """A heavy buyer (x = 400) stays finite and exact: Γ(r+x) overflows near x = 171."""
    ll = bgnbd_loglik(**CDNOW, x=np.array([400.0]), t_x=np.array([38.0]), T=np.array([39.0]))
    r, alpha, a, b = CDNOW.values()
    x, t_x, T = 400.0, 38.0, 39.0
    common = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha) - lbeta(a, b)
    alive = lbeta(a, b + x) - (r + x) * math.log(alpha + T)
    dead = lbeta(a + 1, b + x - 1) - (r + x) * math.log(alpha + t_x)
    top = max(alive, dead)
    want = common + top + math.log(math.exp(alive - top) + math.exp(dead - top))
    assert np.isfinite(ll[0])
    assert ll[0] == pytest.approx(want, rel=1e-12)


def central_gradient(f, theta: list[float], rel: float = 1e-6) -> np.ndarray:
    """Central differences of f (summed over customers) in each parameter."""
    out = []
    for i, value in enumerate(theta):
        h = rel * value
        up, down = list(theta), list(theta)
        up[i], down[i] = value + h, value - h
        out.append((f(*up).sum() - f(*down).sum()) / (2 * h))
    return np.array(out)


def test_bgnbd_gradient_against_differences():
    """The analytic gradient used by the optimiser equals finite differences of eq. (6)."""
    x = np.array([0.0, 1.0, 3.0, 40.0])
    t_x = np.array([0.0, 4.0, 7.5, 36.0])
    T = np.array([10.0, 12.0, 9.0, 38.0])
    theta = list(PARAMS.values())
    ll, grad = bgnbd_loglik_grad(*theta, x, t_x, T)
    assert_allclose(ll, bgnbd_loglik(*theta, x, t_x, T), rtol=1e-13)
    want = central_gradient(lambda *th: bgnbd_loglik(*th, x, t_x, T), theta)
    assert_allclose(grad.sum(axis=1), want, rtol=1e-6)


def test_gamma_gamma_gradient_against_differences():
    """The analytic gradient equals finite differences of the Gamma-Gamma log-density."""
    x = np.array([1.0, 2.0, 7.0])
    m = np.array([35.0, 120.5, 80.0])
    theta = [6.25, 3.74, 15.44]
    ll, grad = gamma_gamma_loglik_grad(*theta, x, m)
    assert_allclose(ll, gamma_gamma_loglik(*theta, x, m), rtol=1e-13)
    want = central_gradient(lambda *th: gamma_gamma_loglik(*th, x, m), theta)
    assert_allclose(grad.sum(axis=1), want, rtol=1e-6)


def gg_logdens_by_hand(p, q, gamma, x, m) -> float:
    """The Gamma-Gamma log-density of m̄ written out with math.lgamma."""
    return (
        math.lgamma(p * x + q)
        - math.lgamma(p * x)
        - math.lgamma(q)
        + q * math.log(gamma)
        + p * x * math.log(x)
        + (p * x - 1) * math.log(m)
        - (p * x + q) * math.log(gamma + x * m)
    )


def gg_dens_by_integration(p, q, gamma, x, m) -> float:
    """f(m̄|x) = ∫ Gamma(m̄; px, rate νx) · Gamma(ν; q, rate γ) dν, by quadrature."""

    def integrand(nu: float) -> float:
        log_mean = (
            p * x * math.log(nu * x) + (p * x - 1) * math.log(m) - nu * x * m - math.lgamma(p * x)
        )
        log_nu = q * math.log(gamma) + (q - 1) * math.log(nu) - gamma * nu - math.lgamma(q)
        return math.exp(log_mean + log_nu)

    # Split at a multiple of ν's mean so quad sees where the mass is.
    split = 10 * q / gamma
    return quad(integrand, 0, split, limit=200)[0] + quad(integrand, split, np.inf, limit=200)[0]


@pytest.mark.parametrize(("x", "m"), [(1, 35.0), (2, 120.5), (5, 80.0)])
def test_gamma_gamma_loglik_equals_hand_and_integral(x, m):
    """The density of m̄ matches the closed form and the integral over ν."""
    p, q, gamma = 6.25, 3.74, 15.44  # FHL 2005 (RFM and CLV) CDNOW estimates
    got = gamma_gamma_loglik(p, q, gamma, np.array([x]), np.array([m]))[0]
    assert got == pytest.approx(gg_logdens_by_hand(p, q, gamma, x, m), rel=1e-12)
    assert math.exp(got) == pytest.approx(gg_dens_by_integration(p, q, gamma, x, m), rel=1e-7)


def test_gamma_gamma_conditional_mean_is_weighted_average():
    """E[value | x, m̄] weights population and own mean by px/(px+q−1)."""
    p, q, gamma = 6.25, 3.74, 15.44
    population = p * gamma / (q - 1)
    got = gamma_gamma_conditional_mean(p, q, gamma, np.array([0.0, 4.0]), np.array([0.0, 50.0]))
    w = p * 4 / (p * 4 + q - 1)  # weight on the customer's own mean (FHL 2005, eq. 5)
    assert_allclose(got, [population, (1 - w) * population + w * 50.0], rtol=1e-12)


def expected_repeat_by_integration(t, r, alpha, a, b) -> float:
    """E[X(t)] = E_p[(1 − E_λ e^{−λpt}) / p] with E_λ e^{−λs} = (α/(α+s))^r."""

    def h(p: float) -> float:
        if p == 0.0:  # the quadrature touches the endpoint; use the limit p → 0
            return r * t / alpha
        return -math.expm1(-r * math.log1p(p * t / alpha)) / p

    value, _ = quad(h, 0, 1, weight="alg", wvar=(a - 1, b - 1), limit=200)
    return value / math.exp(lbeta(a, b))


def conditional_by_integration(t, x, t_x, T, r, alpha, a, b) -> float:
    """E[Y(t)|x,t_x,T] = E[1{alive}(1 − e^{−λpt})/p · lik] / lik, λ integrated analytically."""
    c = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)

    def num(p: float) -> float:
        # (1−p)^x/p · C · [(α+T)^−(r+x) − (α+T+pt)^−(r+x)]
        alive = math.exp(c - (r + x) * math.log(alpha + T)) * (1 - p) ** x
        if p == 0.0:  # limit p → 0
            return alive * (r + x) * t / (alpha + T)
        return alive * -math.expm1(-(r + x) * math.log1p(p * t / (alpha + T))) / p

    def den(p: float) -> float:
        alive = math.exp(c - (r + x) * math.log(alpha + T)) * (1 - p) ** x
        dead = 0.0
        if x > 0:
            dead = math.exp(c - (r + x) * math.log(alpha + t_x)) * p * (1 - p) ** (x - 1)
        return alive + dead

    kw = dict(weight="alg", wvar=(a - 1, b - 1), limit=200)
    return quad(num, 0, 1, **kw)[0] / quad(den, 0, 1, **kw)[0]


@pytest.mark.parametrize("t", [1.0, 39.0, 78.0, 500.0])
def test_expected_repeat_against_integral(t):
    """E[X(t)] equals the quadrature over p, short to very long horizons."""
    got = bgnbd_expected_repeat(t, **CDNOW)
    assert float(got) == pytest.approx(expected_repeat_by_integration(t, *CDNOW.values()), rel=1e-7)


def test_expected_repeat_matches_fhl_eq7_as_written():
    """The Euler-transformed form equals eq. (7) as printed."""
    # The Euler-transformed evaluation must equal eq. (7) as printed where the latter is stable.
    r, alpha, a, b = CDNOW.values()
    t = np.array([5.0, 39.0, 78.0])
    z = t / (alpha + t)
    as_written = (
        (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))
    )
    assert_allclose(bgnbd_expected_repeat(t, **CDNOW), as_written, rtol=1e-10)
    assert bgnbd_expected_repeat(0.0, **CDNOW) == 0.0


def test_conditional_expectation_cdnow_published_value():
    """Hardie's CDNOW example: 1.226 purchases in the next 39 weeks."""
    # Hardie's spreadsheet for FHL 2005 (also lifetimes' test): x=2, t_x=30.43, T=38.86 weeks,
    # expected purchases in the next 39 weeks = 1.226.
    got = bgnbd_conditional_expected(
        39.0, np.array([2]), np.array([30.43]), np.array([38.86]), **CDNOW
    )
    assert float(got[0]) == pytest.approx(1.226, abs=5e-4)


@pytest.mark.parametrize(
    ("t", "x", "t_x", "T"),
    [(39.0, 0, 0.0, 38.0), (39.0, 1, 2.0, 30.0), (52.0, 4, 20.0, 21.0), (300.0, 12, 35.0, 38.0)],
)
def test_conditional_expectation_against_integral(t, x, t_x, T):
    """Eq. (10) equals the posterior expectation by quadrature."""
    got = bgnbd_conditional_expected(t, np.array([x]), np.array([t_x]), np.array([T]), **CDNOW)
    want = conditional_by_integration(t, x, t_x, T, *CDNOW.values())
    assert float(got[0]) == pytest.approx(want, rel=1e-6)


def test_p_alive_against_likelihood_split():
    """P(alive) is the alive term's share of the likelihood."""
    # P(alive) is the share of the likelihood in the 'alive at T' term.
    r, alpha, a, b = PARAMS.values()
    x, t_x, T = 3, 7.5, 9.0
    g = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha**r
    alive = math.exp(lbeta(a, b + x) - lbeta(a, b)) * g / (alpha + T) ** (r + x)
    want = alive / bgnbd_lik_by_hand(r, alpha, a, b, x, t_x, T)
    got = bgnbd_p_alive(np.array([x]), np.array([t_x]), np.array([T]), **PARAMS)
    assert float(got[0]) == pytest.approx(want, rel=1e-12)


def test_holdout_comparison_sums_and_buckets():
    """Holdout totals, error and the 0…7+ buckets add up per customer."""
    summary = pd.DataFrame(
        {
            "frequency": [0, 1, 9, 7],
            "recency": [0.0, 4.0, 30.0, 33.0],
            "T": [10.0, 12.0, 38.0, 38.0],
            "frequency_holdout": [0, 1, 5, 2],
            "duration_holdout": [39.0] * 4,
        },
        index=pd.Index(list("abcd"), name="customer_id"),
    )
    pred = bgnbd_conditional_expected(
        39.0, summary["frequency"], summary["recency"], summary["T"], **CDNOW
    )
    res = holdout_comparison(summary, pred)
    each = [
        conditional_by_integration(39.0, x, tx, T, *CDNOW.values())
        for x, tx, T in zip(summary["frequency"], summary["recency"], summary["T"], strict=True)
    ]
    assert res.actual_repeat == 8
    assert res.predicted_repeat == pytest.approx(sum(each), rel=1e-6)
    assert res.error_pct == pytest.approx(100 * (sum(each) - 8) / 8, rel=1e-6)
    actual = np.array([0, 1, 5, 2])
    assert res.rmse == pytest.approx(np.sqrt(np.mean((np.array(each) - actual) ** 2)), rel=1e-6)
    assert res.correlation == pytest.approx(np.corrcoef(each, actual)[0, 1], rel=1e-6)
    table = res.by_frequency
    assert list(table.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table.loc["7+", "n_customers"] == 2
    assert table.loc["7+", "actual_repeat"] == 7
    assert table.loc["7+", "predicted_repeat"] == pytest.approx(each[2] + each[3], rel=1e-6)
    assert table.loc["3", "n_customers"] == 0


def test_tracking_curve_sums_cohorts():
    """The tracking curve counts repeats and sums E[X] over cohorts."""
    day = pd.Timestamp("2024-01-01")
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "z"],
            "date": [
                day,
                day + pd.Timedelta(days=3),
                day + pd.Timedelta(days=9),
                day + pd.Timedelta(days=2),
                day + pd.Timedelta(days=5),
                day + pd.Timedelta(days=4),
            ],
            "amount": [1.0] * 6,
        }
    )
    # 'z' is not in the summary (first seen in the holdout): excluded from both curves.
    summary = pd.DataFrame(
        {"first_date": [day, day + pd.Timedelta(days=2)]}, index=pd.Index(["a", "b"])
    )
    params = dict(r=0.5, alpha=60.0, a=0.8, b=2.4)
    bg = BetaGeoModel()
    bg.params_ = params
    end = day + pd.Timedelta(days=10)
    curves = tracking_curves(tx, summary, end, {"model": bg.cohort_curve(unit_days=7.0)})
    assert len(curves) == 11
    assert curves["actual"].tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3]
    # Day 10: customer a is 10 days old, b is 8 days old; weekly parameters.
    want = expected_repeat_by_integration(
        10 / 7, *params.values()
    ) + expected_repeat_by_integration(8 / 7, *params.values())
    assert curves["model"].iloc[-1] == pytest.approx(want, rel=1e-7)
    assert curves["model"].iloc[0] == 0.0


def test_conditional_expectation_at_the_homogeneous_dropout_boundary():
    """At a, b → ∞ with a/(a+b) = p fixed (a fit can run there) the expectation is finite.

    It equals the limit E[Y(t)|alive] = (1 − ((α+T)/(α+T+p·t))^(r+x)) / p times P(alive) with
    odds p/(1−p).
    """
    from model.fitting.bgnbd import bgnbd_conditional_expected

    r, alpha, p = 0.44, 54.7, 0.19
    x, t_x, T, t = np.array([0.0, 3.0]), np.array([0.0, 100.0]), np.array([150.0, 150.0]), 184.0
    huge = bgnbd_conditional_expected(t, x, t_x, T, r, alpha, p * 3.6e6, (1 - p) * 3.6e6)
    alive_head = (1 - ((alpha + T) / (alpha + T + p * t)) ** (r + x)) / p
    odds = np.where(x > 0, p / (1 - p) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    np.testing.assert_allclose(huge, alive_head / (1 + odds), rtol=1e-6)
    # Continuous with the general formula just below the switch (a + b = 5,000).
    near = bgnbd_conditional_expected(t, x, t_x, T, r, alpha, p * 5e3, (1 - p) * 5e3)
    np.testing.assert_allclose(near, huge, rtol=2e-3)
