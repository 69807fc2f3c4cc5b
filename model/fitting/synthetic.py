"""Draw order logs from known BG/NBD + Gamma-Gamma parameters (for recovery tests and demos).

A direct event simulation, independent of the likelihood code it is used to check:
continuous time in days, λ ~ Gamma(r, rate α), p ~ Beta(a, b); while alive a customer buys at
Poisson rate λ and after each repeat purchase drops out with probability p. Spend: ν ~
Gamma(q, rate γ) per customer, each transaction's value ~ Gamma(p_gg, rate ν).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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
