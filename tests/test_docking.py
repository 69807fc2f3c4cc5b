"""Analytic docking (docs/model.md §11): the simulator reproduces Bass and BG/NBD closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import hyp2f1

from model import load_scenario, simulate, valuation
from model.population import PRIVATE, PROSPECT
from model.seeds import replicate_seed
from model.simulation import PrivateDomainModel
from tests.helpers import ROOT, baseline_with


def bass_F(t_years: np.ndarray, p: float, q: float) -> np.ndarray:
    """Bass (1969) cumulative adoption share."""
    e = np.exp(-(p + q) * t_years)
    return (1 - e) / (1 + (q / p) * e)


def bgnbd_expected_repeats(t: float, r: float, alpha: float, a: float, b: float) -> float:
    """FHL (2005) eq. 7: E[X(t)] repeat purchases in (0, t] of a customer who bought at 0."""
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


@pytest.mark.slow
def test_bass_docking_within_001():
    """Bass docking: the mean adoption curve follows F(t) within 0.01 for ten years.

    Constant innovation p plus fully mixed referral q, no dropout, mean over replicates.
    """
    p_year, q_year = 0.03, 0.38  # Sultan, Farley & Lehmann 1990
    lam = 0.01  # purchases per member per day (identical for all: heterogeneous = false)
    invites = 1.0
    # Expected referred adopters per member per day = λ · invites · p_convert · (1 − F),
    # so Bass's q (per day) fixes p_convert:
    p_convert = q_year / 365 / (lam * invites)
    # Replicate spread of F at the inflection is ≈ 0.004 at 200k people (it scales as
    # 1/sqrt(size); measured 0.013 at 20k), so the mean of 4 has a standard error ≈ 0.002:
    # the 0.01 tolerance is then ≥ 4 standard errors away on every day.
    size, days, replicates = 200_000, 3650, 4
    scenario = baseline_with(
        market__size=size,
        market__initial_public=0,
        sim__days=days,
        acquisition__mode="bass",
        acquisition__p_innovation_per_year=p_year,
        budget__per_day_yuan=0.0,
        behaviour__heterogeneous=False,
        behaviour__dropout=False,
        behaviour__r=lam,
        behaviour__alpha_days=1.0,
        behaviour__rel_rate_private=1.0,
        diversion__p_join_base=1.0,  # every adopter becomes a referring member at once
        diversion__p_join_max=1.0,
        outreach__enabled=False,
        referral__invites_per_purchase_base=invites,
        referral__invites_per_purchase_max=invites,
        referral__p_convert=p_convert,
        operation__accounts_max=1000,
        calendar__enabled=False,  # Bass's F(t) has constant p and q: no seasons
    )
    adopted = np.mean(
        [
            1 - simulate(scenario, seed=replicate_seed(11, i)).daily["n_prospect"].to_numpy() / size
            for i in range(replicates)
        ],
        axis=0,
    )
    t = (np.arange(days) + 1) / 365
    gap = np.abs(adopted - bass_F(t, p_year, q_year))
    assert gap.max() < 0.01, f"max |F_sim − F_bass| = {gap.max():.4f} on day {gap.argmax()}"
    # The curve is really S-shaped over the horizon, so the check has teeth.
    assert adopted[365] < 0.1 and adopted[-1] > 0.75


def cohort_repeats(seed: int = 5, n: int = 200_000, days: int = 365, **overrides):
    """A public-only cohort of ``n`` customers who all bought on day 0 and are active.

    Returns the scenario, the mean repeat purchases per customer by the end of each day, and
    operational time M at the start of each day 0 … days (Σ of the calendar's multipliers).
    """
    scenario = baseline_with(
        market__size=n,
        market__initial_public=n,
        market__initial_p_active=1.0,
        sim__days=days,
        budget__per_day_yuan=0.0,
        operation__mode="none",
        **overrides,
    )
    model = PrivateDomainModel(scenario, seed=seed)
    model.run()
    assert model.pop.counts[PROSPECT] == 0
    repeats = np.cumsum(model.recorder.as_dict()["orders_public"]) / n
    return scenario, repeats, np.concatenate([[0.0], np.cumsum(model.rel_rate)])


def test_bgnbd_docking_within_2_percent():
    """BG/NBD docking: a public-only cohort makes E[X(t)] repeat purchases on average.

    No outreach, no calendar, no return from dormancy; FMCG defaults r 0.5, α 60 days.
    """
    scenario, repeats, _ = cohort_repeats(
        calendar__enabled=False, behaviour__return_rate_per_day=0.0
    )
    b = scenario.behaviour
    for t in (30, 90, 180, 365):
        expected = bgnbd_expected_repeats(t, b.r, b.alpha_days, b.a, b.b)
        assert repeats[t - 1] == pytest.approx(expected, rel=0.02), f"t={t}"


def test_calendar_docking_within_2_percent():
    """With the calendar, BG/NBD holds in operational time: E[X(t)] = E_BG/NBD[X(M(t))].

    M(t) = ∫₀ᵗ s is the sum of the days' multipliers (model/dynamics/clock.py). Starting on
    Sep 1 the year holds Double 11 and Double 12 early and the Spring Festival's dip; the
    stationary formula at calendar time t is off by 16% at 90 days (measured), far beyond 2%.
    """
    scenario, repeats, optime = cohort_repeats(
        calendar__start_date="2025-09-01", behaviour__return_rate_per_day=0.0
    )
    b = scenario.behaviour
    for t in (30, 90, 180, 365):
        expected = bgnbd_expected_repeats(optime[t], b.r, b.alpha_days, b.a, b.b)
        assert repeats[t - 1] == pytest.approx(expected, rel=0.02), f"t={t}"
    stationary = bgnbd_expected_repeats(90, b.r, b.alpha_days, b.a, b.b)
    assert repeats[89] > 1.1 * stationary  # the festivals' extra purchases are there


@pytest.mark.parametrize("rho", [0.01, None])  # None: the shipped return_rate_per_day
def test_two_state_docking_within_2_percent(rho):
    """Return from dormancy: the cohort follows the two-state model's closed-form E[X(t)].

    fit-orders' forecast (model/fitting/twostate.expected_repeat: E_{λ,p}[m_A(t)] of the
    active/dormant chain), evaluated at operational time M(t), with the scenario's own
    parameters, calendar on. Teeth: BG/NBD at M(t), the same customers without returns, misses
    by far more than 2% (measured at a year: by 13% at the shipped ρ 0.00196/day, 43% at 0.01).
    """
    from model.fitting.twostate import expected_repeat

    overrides = {} if rho is None else {"behaviour__return_rate_per_day": rho}
    scenario, repeats, optime = cohort_repeats(seed=6, **overrides)
    b = scenario.behaviour
    rho = b.return_rate_per_day
    for t in (30, 90, 180, 365):
        expected = expected_repeat(optime[t], b.r, b.alpha_days, b.a, b.b, rho)
        assert repeats[t - 1] == pytest.approx(float(expected), rel=0.02), f"t={t}"
    without = bgnbd_expected_repeats(optime[365], b.r, b.alpha_days, b.a, b.b)
    assert repeats[364] > 1.08 * without


def residual_docking(mode: str, seed: int, rate: float = 0.10, at_day: int = 150, **overrides):
    """Run to ``at_day``, value the base, run on a year in the residual's world, compare.

    The shipped calendar and return from dormancy unless ``overrides`` say otherwise.

    Returns the expected and realised totals over the customers who had bought by ``at_day``
    (valued at it), the standard error of the realised total, the expected total without
    discounting, and the model with its state at ``at_day`` (customers, active, domain).
    """
    horizon = 365
    scenario = baseline_with(
        market__size=60_000,
        market__initial_public=6_000,
        market__discount_rate_per_year=rate,
        sim__days=at_day + horizon,
        operation__mode=mode,
        outreach__pushes_per_week=3.0,
        **overrides,
    )
    model = PrivateDomainModel(scenario, seed=seed)
    for _ in range(at_day):
        model.step()
    pop = model.pop
    customers = pop.n_orders > 0
    expected = model.residual_by_customer(horizon, upkeep=False)[customers]
    discounted = model.settings
    model.settings = discounted.model_copy(
        update={"market": discounted.market.model_copy(update={"discount_rate_per_year": 1e-9})}
    )
    undiscounted = float(model.residual_by_customer(horizon, upkeep=False)[customers].sum())
    model.settings = discounted
    pv = pop.pv_contribution.copy()
    active, domain = pop.active.copy(), pop.domain.copy()
    model.wind_down()
    for _ in range(horizon):
        model.step()
    realised = ((pop.pv_contribution - pv) * np.exp(model.delta * at_day))[customers]
    # Customers are independent given the state at day T, and E[x_i] = r_i if the valuation
    # is right, so Σ(x_i − r_i)² estimates the variance of the realised total.
    se = float(np.sqrt(np.sum((realised - expected) ** 2)))
    if model.return_rate == 0:
        assert (realised[~active[customers]] == 0).all()  # nothing after T wakes the dormant
    state = (customers, active, domain)
    return float(expected.sum()), float(realised.sum()), se, undiscounted, model, state


@pytest.mark.parametrize("mode", ["none", "persona", "guides", "distribution"])
def test_residual_value_docks_with_the_simulation_past_the_horizon(mode):
    """The valuation at day T is what the same customers bring in the residual's world.

    After day T = 150 nothing is acquired, pushed, joined or referred (``wind_down``); the
    two-state closed form on the calendar (model/valuation.py: λ'[πJ(0) + (1 − π)J(κ)] for the
    active, λ'π[J(0) − J(κ)] for the dormant) × contribution per order over the customers at T
    must match their simulated contribution over H = 365 days, discounted alike, within 4
    standard errors of the simulated total (≈ 1% of it here).
    """
    expected, realised, se, _, model, (customers, active, domain) = residual_docking(mode, 3)
    assert abs(realised - expected) < 4 * se, (realised, expected, se)
    if mode == "none":
        return
    # Teeth: valuing the members as platform customers (no uplift, no lower dropout, no
    # channel saving) misses by far more than 4 standard errors.
    pop, beh, m = model.pop, model.beh, model.settings.market
    platform_cost = model.take_rates[0] + model.retargeting_rates[0]
    flat = valuation.residual_by_customer(
        active[customers],
        pop.lam[customers].astype(float),
        pop.p_drop[customers].astype(float),
        beh.gg_p / pop.nu[customers].astype(float) * (m.gross_margin - platform_cost),
        m.discount_rate_per_year,
        365,
    )
    assert (domain[customers & active] == PRIVATE).sum() > 500
    assert abs(flat.sum() - expected) > 4 * se


def test_residual_value_is_discounted():
    """At 50% a year discounting is worth 10+ standard errors: it docks, undiscounted not."""
    expected, realised, se, undiscounted, _, _ = residual_docking("persona", 3, rate=0.5)
    assert abs(realised - expected) < 4 * se
    assert undiscounted - realised > 10 * se


def pushes_after_the_horizon(scale: float, replicate: int, years: int = 3) -> tuple[float, float]:
    """The year's customers' discounted contribution over ``years`` after it: without, with pushes.

    Nothing else goes on after the year: no acquisition, joins or referrals (``wind_down``).
    """
    horizon = 365 * years
    out = []
    for pushes in (False, True):
        scenario = load_scenario(
            ROOT / "scenarios" / "baseline.toml",
            {"market.scale": scale, "sim.days": 365 + horizon},
        )
        model = PrivateDomainModel(scenario, replicate_seed(20260101, replicate))
        for _ in range(365):
            model.step()
        customers = model.pop.n_orders > 0
        before = model.pop.pv_contribution.copy()
        model.wind_down()
        if pushes:
            outreach = model.settings.outreach.model_copy(update={"enabled": True})
            model.settings = model.settings.model_copy(update={"outreach": outreach})
        for _ in range(horizon):
            model.step()
        out.append(float((model.pop.pv_contribution - before)[customers].sum()))
    return out[0], out[1]


def test_leaving_pushes_out_of_the_residual_is_conservative():
    """Pushes kept on after the horizon add value: the residual, which leaves them out, is low.

    Their extra and reactivated orders outweigh the unfollows, by little: measured with this
    procedure at 1/20 scale, replicates 0–5: −0.4%, +0.5%, +1.8%, +1.9%, +2.1%, +1.3% of the
    total (a push mostly brings forward returns that happen anyway); at market.scale 0.2,
    replicates 0–2, +¥71k, +¥28k, +¥45k on ≈ ¥3.1M (before the day's decisions were sampled
    with a fixed size). One replicate can go either way, so the claim is on the mean of six:
    above zero by Student's one-sided 95% critical value (t = 2.015 at 5 degrees of freedom)
    times its standard error.
    """
    gains = []
    for replicate in range(6):
        without, with_pushes = pushes_after_the_horizon(0.05, replicate)
        gains.append(with_pushes / without - 1.0)
    se = np.std(gains, ddof=1) / np.sqrt(len(gains))
    assert np.mean(gains) > 2.015 * se, gains


def test_residual_value_docks_without_calendar_or_returns():
    """BG/NBD's world (no calendar, permanent dormancy): the original closed form docks."""
    expected, realised, se, *_ = residual_docking(
        "persona", 4, calendar__enabled=False, behaviour__return_rate_per_day=0.0
    )
    assert abs(realised - expected) < 4 * se, (realised, expected, se)


def test_residual_values_the_dormant_and_the_calendar():
    """Teeth for the extension: leaving out the dormant's returns, or the calendar, misses.

    At the shipped return rate the customers dormant at T bring ≈ 10% of the year's total back
    (measured), and the year after T = May 31 holds 618, Double 11 and Double 12; either
    simplification is off by more than 4 standard errors of the simulated total.
    """
    expected, realised, se, _, model, (customers, active, _) = residual_docking("persona", 5)
    assert abs(realised - expected) < 4 * se
    dormant = customers & ~active
    assert dormant.sum() > 1000
    value = model.residual_by_customer(365, upkeep=False)
    assert value[dormant].sum() > 4 * se  # returns are worth something, and tested above
    flat = model.residual_by_customer  # the same valuation on a flat calendar
    model.optime, optime = None, model.optime
    without_season = float(flat(365, upkeep=False)[customers].sum())
    model.optime = optime
    assert abs(realised - without_season) > 4 * se
