"""Value at the horizon: discounting and the expected residual contribution of the base.

A one-year run that stops counting at its last day treats a pool of loyal members and an
empty pool alike. This module values what the brand owns at the horizon T: for every customer
still active, the expected discounted contribution of the orders they will place after T.

**What the residual assumes after T** (the world the docking test simulates): the customer
base as it stands at T, and nothing else — no new acquisition, no diversion, no referral, no
pushes, no shocks. Members stay members (unfollows happen only on receiving a push) and keep
their private purchase-rate uplift, dropout multiplier and channel split; everyone else buys on
their home platform. A member keeps that uplift because someone serves them, so each active
member is charged their seat's **upkeep** while they stay active: their share of an account's
operator or a guide's salary (cost per holder / members per holder) and of a group's upkeep
(cost per group / group cap) — what the operation costs per member when capacity follows the
pool (``release_below_fill``).

Left out, on purpose, are the choices after T that no strategy in the run has made: the
pushes' future orders (extra and pulled-forward ones, and the unfollows they cause) and the
operation's fixed overheads (the persona content team, tools). Leaving out pushes is
conservative for the private domain: measured on the baseline at 1/5 scale, keeping its pushes
on for three years after T adds ¥133–153k (3 replicates) of discounted contribution from the
same customers — their extra and reactivated orders outweigh the unfollows. Leaving out the
fixed overheads leans the other way, by about as much for persona (its content team and tools
over those three years: ≈ ¥114k discounted at that scale) and far less for the other modes
(tools only). The README gives the numbers and the command.

**Why the latent state and not a BG/NBD posterior.** Fader, Hardie & Lee's conditional
expectation E[X(t) | x, t_x, T] is what an analyst computes from an order history because λ,
p and "alive" are hidden. The simulator knows them, and its customers are not pure BG/NBD after
T-altering events (a member's rate rises at joining; pushes reactivate and end lives; bans drop
customers): a posterior under the pure model would be misspecified, and its error would be
ours, not sampling noise. Conditioning on the true state is the exact expectation given
everything the model knows; averaged over customers it equals what the posterior would give if
the model were pure BG/NBD (tower property), with less noise, and the docking test can check it
to within Monte-Carlo error.

**The formula.** An active customer buys at rate λ' and goes dormant after each purchase with
probability p', so they are alive at time s after T with probability exp(−p'λ's) and the
expected number of purchases in (T, T + H], each discounted at the continuous daily rate δ, is

    ∫₀ᴴ λ' e^(−(δ + p'λ') s) ds = λ' (1 − e^(−(δ + p'λ') H)) / (δ + p'λ')

(λ' / (δ + p'λ') for H = ∞). Times the expected contribution of one order: the Gamma-Gamma
mean value gg_p/ν times the margin left after what each channel takes.

**Discounting.** An annual rate r is the continuous daily rate δ = ln(1 + r)/365. A day's flow
is discounted at the day's midpoint, exp(−δ(d + ½)), the mean of exp(−δt) over a day of
uniformly spread orders; the residual, valued at the end of the last day T, by exp(−δT).
"""

from __future__ import annotations

import math

import numpy as np


def daily_rate(rate_per_year: float) -> float:
    """The continuous daily discount rate δ of an annual rate r: ln(1 + r) / 365."""
    if rate_per_year <= -1:
        raise ValueError(f"annual discount rate {rate_per_year} must be above -1")
    return math.log1p(rate_per_year) / 365.0


def day_factors(days: int, rate_per_year: float, start_day: int = 0) -> np.ndarray:
    """Discount factors to day 0 of days ``start_day … start_day + days − 1`` (at midday)."""
    delta = daily_rate(rate_per_year)
    return np.exp(-delta * (np.arange(start_day, start_day + days) + 0.5))


def present_value(daily: np.ndarray, rate_per_year: float) -> float:
    """A daily series (day 0 first) discounted to day 0: Σ x_d exp(−δ(d + ½))."""
    daily = np.asarray(daily, dtype=float)
    return float(np.dot(daily, day_factors(len(daily), rate_per_year)))


def expected_discounted_orders(
    lam: np.ndarray,
    p_drop: np.ndarray,
    delta: float,
    horizon_days: float = math.inf,
) -> np.ndarray:
    """Expected discounted purchases of active customers over the next ``horizon_days``.

    Args:
        lam: purchase rate per day while active (λ', uplift included).
        p_drop: probability of going dormant after each purchase (p', multiplier included).
        delta: continuous daily discount rate (> 0 unless every p' > 0).
        horizon_days: how far ahead (infinite: the whole remaining life).

    Returns:
        λ'(1 − e^(−(δ + p'λ')H)) / (δ + p'λ') per customer, valued at the start.
    """
    lam = np.asarray(lam, dtype=float)
    hazard = delta + np.asarray(p_drop, dtype=float) * lam
    with np.errstate(divide="ignore", invalid="ignore"):
        if math.isinf(horizon_days):
            out = lam / hazard
        else:
            out = lam * -np.expm1(-hazard * horizon_days) / hazard
    # A customer who never buys (λ' = 0) or never leaves and is not discounted has no finite
    # limit in the second case; the first is simply zero.
    return np.where(lam > 0, out, 0.0)


def contribution_per_order(
    mean_value: np.ndarray,
    gross_margin: float,
    share_private: np.ndarray,
    private_cost_rate: np.ndarray,
    platform_cost_rate: np.ndarray,
) -> np.ndarray:
    """Expected contribution of one order: value × margin left after the channel's cut.

    Args:
        mean_value: expected order value (Gamma-Gamma gg_p/ν), yuan.
        gross_margin: gross profit / list value.
        share_private: probability the order goes to the private channel (0 for non-members).
        private_cost_rate: commission on a private-channel order, as a share of its value.
        platform_cost_rate: platform fee plus retargeting on a repeat platform order, as a
            share of its value.
    """
    private = gross_margin - private_cost_rate
    public = gross_margin - platform_cost_rate
    return mean_value * (share_private * private + (1.0 - share_private) * public)


def expected_discounted_active_days(
    lam: np.ndarray,
    p_drop: np.ndarray,
    delta: float,
    horizon_days: float = math.inf,
) -> np.ndarray:
    """Expected discounted days an active customer stays active over the next ``horizon_days``.

    Alive at time s with probability exp(−p'λ's), so ∫₀ᴴ e^(−(δ + p'λ')s) ds; the upkeep of a
    member's seat is paid over this many (discounted) days.
    """
    hazard = delta + np.asarray(p_drop, dtype=float) * np.asarray(lam, dtype=float)
    with np.errstate(divide="ignore"):
        if math.isinf(horizon_days):
            return 1.0 / hazard
        return -np.expm1(-hazard * horizon_days) / hazard


def residual_by_customer(
    active: np.ndarray,
    lam: np.ndarray,
    p_drop: np.ndarray,
    value_per_order: np.ndarray,
    rate_per_year: float,
    horizon_days: float = math.inf,
    upkeep_per_day: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Each customer's expected discounted contribution after the horizon, valued at it.

    Args:
        active: BG/NBD "alive" at the horizon (dormant customers are worth nothing: nothing
            after T wakes them).
        lam: purchase rate λ' per day, uplift included.
        p_drop: dropout probability p' after each purchase, multiplier included.
        value_per_order: expected contribution of one order (:func:`contribution_per_order`).
        rate_per_year: annual discount rate.
        horizon_days: how far past T (infinite by default).
        upkeep_per_day: cost of serving the customer while active (a member's seat), yuan.
    """
    delta = daily_rate(rate_per_year)
    value = expected_discounted_orders(lam, p_drop, delta, horizon_days) * value_per_order
    if np.any(upkeep_per_day):
        value = value - upkeep_per_day * expected_discounted_active_days(
            lam, p_drop, delta, horizon_days
        )
    return np.where(active, value, 0.0)
