"""The valuation's closed forms against direct Monte-Carlo of the process they describe."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.valuation import (
    contribution_per_order,
    daily_rate,
    day_factors,
    expected_discounted_active_days,
    expected_discounted_orders,
    present_value,
    residual_by_customer,
)


def test_daily_rate_compounds_to_the_annual_rate():
    assert math.exp(365 * daily_rate(0.10)) == pytest.approx(1.10, rel=1e-12)
    assert daily_rate(0.0) == 0.0
    with pytest.raises(ValueError):
        daily_rate(-1.0)


def test_present_value_discounts_each_day_at_its_midpoint():
    daily = np.array([100.0, 0.0, 50.0])
    d = daily_rate(0.2)
    assert present_value(daily, 0.2) == pytest.approx(
        100 * math.exp(-0.5 * d) + 50 * math.exp(-2.5 * d)
    )
    assert day_factors(2, 0.2, start_day=365)[0] == pytest.approx(math.exp(-365.5 * d))
    assert present_value(daily, 0.0) == 150.0


def simulate_discounted_purchases(lam, p, delta, horizon, n, rng, active_days=False):
    """Direct simulation: purchases at rate λ, each followed by dropout with probability p.

    Returns each customer's discounted purchase count or, with ``active_days``, their
    discounted time alive ∫ e^(−δt) dt up to the dropout or the horizon.
    """
    total = np.zeros(n)
    t = np.zeros(n)
    end = np.full(n, float(horizon))
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1.0 / lam, len(idx))
        within = t[idx] <= horizon
        buyers = idx[within]
        total[buyers] += np.exp(-delta * t[buyers])
        alive[idx[~within]] = False
        gone = buyers[rng.random(len(buyers)) < p]
        end[gone] = t[gone]
        alive[gone] = False
    if active_days:
        return -np.expm1(-delta * end) / delta
    return total


@pytest.mark.parametrize(
    ("lam", "p", "rate", "horizon"),
    [(1 / 30, 0.25, 0.10, math.inf), (1 / 120, 0.1, 0.10, 365.0), (0.2, 0.02, 0.5, math.inf)],
)
def test_expected_discounted_orders_matches_direct_simulation(lam, p, rate, horizon):
    delta = daily_rate(rate)
    n = 40_000
    sims = simulate_discounted_purchases(lam, p, delta, horizon, n, np.random.default_rng(1))
    expected = expected_discounted_orders(np.array([lam]), np.array([p]), delta, horizon)[0]
    # Mean of n i.i.d. draws: 4 standard errors is a false-alarm rate of 6e-5.
    assert abs(sims.mean() - expected) < 4 * sims.std() / math.sqrt(n)
    # And the check has teeth: ignoring discounting or dropout would be far outside it.
    assert abs(sims.mean() - expected) * 10 < abs(expected - lam / (p * lam))


@pytest.mark.parametrize(("lam", "p", "horizon"), [(1 / 30, 0.25, math.inf), (1 / 120, 0.1, 365.0)])
def test_expected_discounted_active_days_matches_direct_simulation(lam, p, horizon):
    """The member's seat is paid over ∫ e^(−(δ + p'λ')s) ds discounted days."""
    delta = daily_rate(0.10)
    n = 40_000
    rng = np.random.default_rng(2)
    sims = simulate_discounted_purchases(lam, p, delta, horizon, n, rng, active_days=True)
    expected = expected_discounted_active_days(np.array([lam]), np.array([p]), delta, horizon)[0]
    assert abs(sims.mean() - expected) < 4 * sims.std() / math.sqrt(n)


def test_finite_horizon_tends_to_the_infinite_one():
    lam, p, delta = np.array([0.01, 0.1]), np.array([0.3, 0.05]), daily_rate(0.1)
    inf = expected_discounted_orders(lam, p, delta)
    assert np.allclose(expected_discounted_orders(lam, p, delta, 1e7), inf)
    assert (expected_discounted_orders(lam, p, delta, 365.0) < inf).all()
    assert expected_discounted_orders(np.array([0.0]), np.array([0.0]), delta)[0] == 0.0


def test_contribution_per_order_splits_by_channel():
    value = contribution_per_order(
        mean_value=np.array([100.0, 100.0]),
        gross_margin=0.5,
        share_private=np.array([0.0, 0.6]),
        private_cost_rate=np.array([0.0, 0.03]),
        platform_cost_rate=np.array([0.1, 0.1]),
    )
    assert value == pytest.approx([40.0, 100 * (0.6 * 0.47 + 0.4 * 0.4)])


def test_upkeep_is_charged_over_the_active_life():
    kw = dict(active=np.array([True]), lam=np.array([0.01]), p_drop=np.array([0.2]))
    gross = residual_by_customer(**kw, value_per_order=np.array([50.0]), rate_per_year=0.1)
    net = residual_by_customer(
        **kw, value_per_order=np.array([50.0]), rate_per_year=0.1, upkeep_per_day=0.1
    )
    assert gross[0] - net[0] == pytest.approx(0.1 / (daily_rate(0.1) + 0.002))


def test_dormant_customers_have_no_residual():
    out = residual_by_customer(
        active=np.array([True, False]),
        lam=np.array([0.01, 0.01]),
        p_drop=np.array([0.2, 0.2]),
        value_per_order=np.array([50.0, 50.0]),
        rate_per_year=0.1,
    )
    assert out[1] == 0.0 and out[0] == pytest.approx(50 * 0.01 / (daily_rate(0.1) + 0.002))
