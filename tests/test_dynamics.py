"""Unit checks of the pure dynamics against their closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.agents import BrandAgent
from model.dynamics import acquisition as acq
from model.dynamics import network, outreach
from model.dynamics.curves import saturating
from model.population import PROSPECT, PUBLIC
from model.prospects import ProspectQueue
from model.scenario.schema import Budget


def test_saturation_curve_and_marginal_cac():
    # Small spend: ≈ spend / c0 customers (the first customer costs c0).
    assert acq.expected_new_customers(200.0, 200.0, 300.0, 10, 10) == pytest.approx(1.0, rel=1e-4)
    # Large spend: the daily cap.
    assert acq.expected_new_customers(1e9, 200.0, 300.0, 10, 10) == pytest.approx(300.0)
    # At ¥20k/day, b = 300, c0 = ¥200: average CAC = 20000 / (300·tanh(1/3)) ≈ ¥207 (DESIGN §7).
    n = acq.expected_new_customers(20_000.0, 200.0, 300.0, 1, 1)
    assert 20_000 / n == pytest.approx(20_000 / (300 * math.tanh(1 / 3)))
    assert 200 < 20_000 / n < 215
    # Depletion: half the market left, half the customers.
    assert acq.expected_new_customers(20_000.0, 200.0, 300.0, 5, 10) == pytest.approx(n / 2)
    # The marginal CAC is the inverse slope of the curve.
    eps = 1e-3
    slope = (acq.expected_new_customers(20_000 + eps, 200, 300, 1, 1) - n) / eps
    assert acq.marginal_cac(20_000, 200, 300) == pytest.approx(1 / slope, rel=1e-4)


def test_adstock_geometric_sum():
    carry = 0.0
    for _ in range(200):
        carry = acq.adstock(100.0, carry, 0.3)
    assert carry == pytest.approx(100 / (1 - 0.3))


def test_inflation_compounds_yearly():
    assert acq.inflated_c0(200, 0.15, 365, 1.0) == pytest.approx(230)
    assert acq.inflated_c0(200, 0.15, 730, 2.0) == pytest.approx(200 * 1.15**2 * 2)


@pytest.mark.parametrize("k", [0.5, 1, 2, 3.5, 7])
def test_push_days_spread_k_per_week(k):
    days = [d for d in range(700) if outreach.is_push_day(d, k)]
    assert len(days) == round(k * 100)
    assert len(set(days)) == len(days)  # never two mass messages on one day


def test_fatigue_halves_per_half_life():
    f = outreach.decayed_fatigue(np.array([4.0], np.float32), np.array([0]), 6, 3.0)
    assert f[0] == pytest.approx(1.0)
    p = outreach.p_unfollow(np.array([1.0, 4.0]), 0.003, 1.5)
    assert p == pytest.approx([0.003, 0.003 * 8])


def test_saturating_incentive_matches_design_default():
    # DESIGN §7: 8% join rate with a ¥3 red packet.
    assert saturating(3.0, 0.03, 0.15, 5.0) == pytest.approx(0.084, abs=0.001)
    assert saturating(0.0, 0.03, 0.15, 5.0) == 0.03


def test_prospect_queue_takes_each_prospect_once_and_skips_converted():
    rng = np.random.default_rng(1)
    domain = np.zeros(1000, dtype=np.int8)
    queue = ProspectQueue(1000, rng)
    domain[queue.order[:10]] = PUBLIC  # converted out of order (e.g. graph referral)
    taken = queue.take(500, domain)
    assert len(taken) == len(np.unique(taken)) == 500
    assert (domain[taken] == PROSPECT).all()
    domain[taken] = PUBLIC
    rest = queue.take(10_000, domain)
    assert len(rest) == 1000 - 10 - 500
    assert queue.take(5, np.full(1000, PUBLIC, np.int8)).size == 0


@pytest.mark.parametrize("kind", ["small_world", "scale_free"])
def test_graphs_are_symmetric_with_the_mean_degree(kind):
    g = network.build(kind, 20_000, 10, 0.1, np.random.default_rng(2))
    deg = g.degree
    assert deg.mean() == pytest.approx(10, rel=0.05)
    # Symmetric: the edge multiset equals its reverse.
    src = np.repeat(np.arange(20_000), deg)
    fwd = np.sort(src.astype(np.int64) * 20_000 + g.indices)
    rev = np.sort(g.indices.astype(np.int64) * 20_000 + src)
    assert (fwd == rev).all()
    if kind == "scale_free":
        assert deg.max() > 10 * deg.mean()  # heavy tail
    else:
        assert deg.max() < 3 * deg.mean()


def test_budget_schedules():
    import mesa

    model = mesa.Model(rng=0)
    ramp = BrandAgent(model, Budget(kind="ramp", per_day_yuan=100, ramp_to_per_day_yuan=300), 3)
    assert [ramp.spend_on(d) for d in range(3)] == [100, 200, 300]
    pulses = BrandAgent(
        model,
        Budget(
            kind="pulses", per_day_yuan=10, pulses=[{"start_day": 1, "days": 2, "per_day_yuan": 5}]
        ),
        5,
    )
    assert [pulses.spend_on(d) for d in range(5)] == [10, 15, 15, 10, 10]
