"""Draw order logs from known parameters (for recovery tests and demos).

:func:`simulate_orders` draws from BG/NBD + Gamma-Gamma; :func:`simulate_two_state_orders`
from the two-state model with return from dormancy and an optional seasonal profile. Both are
direct event simulations, independent of the likelihood code they are used to check.

BG/NBD: continuous time in days, λ ~ Gamma(r, rate α), p ~ Beta(a, b); while alive a customer
buys at Poisson rate λ and after each repeat purchase drops out with probability p. Spend:
ν ~ Gamma(q, rate γ) per customer, each transaction's value ~ Gamma(p_gg, rate ν).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.fitting.calendar import SeasonalProfile, operational_time


def simulate_orders(
    n_customers: int,
    *,
    r: float,
    alpha_days: float,
    a: float,
    b: float,
    gg_p: float,
    gg_q: float,
    gg_gamma: float,
    horizon_days: float,
    cohort_days: float,
    rng: np.random.Generator,
    start: str = "2024-01-01",
) -> pd.DataFrame:
    """Simulate an order export.

    Args:
        n_customers: Customers, each making a first purchase at a time uniform on
            [0, cohort_days).
        r: λ per day ~ Gamma(r, rate alpha_days).
        alpha_days: Rate of λ's distribution, days.
        a: Dropout probability p ~ Beta(a, b).
        b: See ``a``.
        gg_p: Each order's value ~ Gamma(gg_p, rate ν).
        gg_q: ν ~ Gamma(gg_q, rate gg_gamma).
        gg_gamma: Rate of ν's distribution (yuan).
        horizon_days: Purchases after this many days from ``start`` are not recorded.
        cohort_days: Width of the acquisition window.
        rng: Random generator (the only source of randomness).
        start: Calendar date of day 0.

    Returns:
        DataFrame ``customer_id, date, amount`` (one row per purchase, date = the calendar day
        the continuous purchase time falls on), sorted by customer and time.
    """
    lam = rng.gamma(r, 1.0 / alpha_days, n_customers)
    p_drop = rng.beta(a, b, n_customers)
    nu = rng.gamma(gg_q, 1.0 / gg_gamma, n_customers)
    t = rng.uniform(0.0, cohort_days, n_customers)

    ids = [np.arange(n_customers)]
    times = [t.copy()]
    active = np.arange(n_customers)
    # One pass per purchase number: every still-active customer draws the wait to their next
    # purchase; those past the horizon stop, the rest buy and then flip their dropout coin.
    while active.size:
        t[active] += rng.exponential(1.0, active.size) / lam[active]
        active = active[t[active] <= horizon_days]
        ids.append(active.copy())
        times.append(t[active].copy())
        active = active[rng.random(active.size) >= p_drop[active]]
    cid = np.concatenate(ids)
    tt = np.concatenate(times)
    amount = rng.gamma(gg_p, 1.0 / nu[cid])
    order = np.lexsort((tt, cid))
    cid, tt, amount = cid[order], tt[order], amount[order]
    dates = pd.Timestamp(start) + pd.to_timedelta(np.floor(tt), unit="D")
    return pd.DataFrame(
        {
            "customer_id": np.char.add("c", cid.astype(str)),
            "date": dates,
            "amount": np.round(amount, 2),
        }
    )


def simulate_two_state_orders(
    n_customers: int,
    *,
    r: float,
    alpha_days: float,
    a: float,
    b: float,
    return_rate_per_day: float,
    horizon_days: float,
    cohort_days: float,
    rng: np.random.Generator,
    start: str = "2024-01-01",
    profile: SeasonalProfile | None = None,
    gg_p: float = 6.25,
    gg_q: float = 3.74,
    gg_gamma: float = 50.0,
) -> pd.DataFrame:
    """Simulate an order export from the two-state model (:mod:`model.fitting.twostate`).

    An exact event simulation of the model, independent of its likelihood: λ ~ Gamma(r, rate
    alpha_days), p ~ Beta(a, b); an active customer's next purchase comes after Exp(λ); after
    each repeat purchase they turn dormant with probability p, and a dormant one first waits
    Exp(return_rate_per_day) to return, then Exp(λ) to buy. With a seasonal profile every
    wait runs in operational time Λ(t) = ∫ s (rates multiplied by s(date)), mapped back to
    calendar time through the inverse of Λ.

    Args:
        n_customers: Customers, each first buying at a calendar time uniform on
            [0, cohort_days) days from ``start``.
        r: λ per day ~ Gamma(r, rate alpha_days), as in :func:`simulate_orders`.
        alpha_days: Rate of λ's distribution, days.
        a: Dropout probability p ~ Beta(a, b).
        b: See ``a``.
        return_rate_per_day: ρ, the rate at which dormant customers return (0: never).
        horizon_days: Purchases after this many days from ``start`` are not recorded.
        cohort_days: Width of the acquisition window.
        rng: Random generator (the only source of randomness).
        start: Calendar date of day 0.
        profile: Seasonal multipliers on purchase and return rates (None: flat).
        gg_p: Each order's value ~ Gamma(gg_p, rate ν).
        gg_q: ν ~ Gamma(gg_q, rate gg_gamma).
        gg_gamma: Rate of ν's distribution (yuan).

    Returns:
        DataFrame ``customer_id, date, amount``, sorted by customer and time.
    """
    n_days = int(np.ceil(horizon_days)) + 1
    if profile is None:
        op_grid = np.arange(n_days + 1, dtype=float)
    else:
        op_grid = operational_time(profile, pd.Timestamp(start), n_days)
    day_grid = np.arange(n_days + 1, dtype=float)
    op_horizon = float(np.interp(horizon_days, day_grid, op_grid))

    lam = rng.gamma(r, 1.0 / alpha_days, n_customers)
    p_drop = rng.beta(a, b, n_customers)
    nu = rng.gamma(gg_q, 1.0 / gg_gamma, n_customers)
    t0 = rng.uniform(0.0, cohort_days, n_customers)
    s = np.interp(t0, day_grid, op_grid)  # operational time of the current event

    ids = [np.arange(n_customers)]
    times = [s.copy()]
    dormant = np.zeros(n_customers, dtype=bool)
    live = np.arange(n_customers)
    while live.size:
        wait = rng.exponential(1.0, live.size) / lam[live]
        back = dormant[live]
        if return_rate_per_day > 0:
            wait[back] += rng.exponential(1.0 / return_rate_per_day, int(back.sum()))
        else:
            wait[back] = np.inf
        s[live] += wait
        live = live[s[live] <= op_horizon]
        ids.append(live.copy())
        times.append(s[live].copy())
        dormant[live] = rng.random(live.size) < p_drop[live]
    cid = np.concatenate(ids)
    tt = np.interp(np.concatenate(times), op_grid, day_grid)  # back to calendar days
    amount = rng.gamma(gg_p, 1.0 / nu[cid])
    order = np.lexsort((tt, cid))
    cid, tt, amount = cid[order], tt[order], amount[order]
    dates = pd.Timestamp(start) + pd.to_timedelta(np.floor(tt), unit="D")
    return pd.DataFrame(
        {
            "customer_id": np.char.add("c", cid.astype(str)),
            "date": dates,
            "amount": np.round(amount, 2),
        }
    )
