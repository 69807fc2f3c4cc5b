"""Value at the horizon: discounting and the expected residual contribution of the base.

A one-year run that stops counting at its last day treats a pool of loyal members and an
empty pool alike. This module values what the brand owns at the horizon T: for every customer
still active, the expected discounted contribution of the orders they will place after T.

**What the residual assumes after T** (the world the docking test simulates): the customer
base as it stands at T, and nothing else — no new acquisition, no diversion, no referral, no
pushes, no shocks — on the scenario's calendar, with dormant customers returning at
``return_rate_per_day``. Members stay members (unfollows happen only on receiving a push) and keep
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
on for three years after T adds ¥28–71k (replicates 0–2) of contribution discounted to day 0
from the same customers — their extra and reactivated orders outweigh the unfollows (less than
before the calendar and returns were on by default, when it was ¥133–153k: a push now mostly
brings a return forward). Leaving out the fixed overheads leans the other way, by more for
persona (its content team and tools over those three years: ≈ ¥104k discounted to day 0 at
that scale) and far less for the other modes (tools only, ≈ ¥17k). docs/model.md §8.1 gives
the commands that reproduce these numbers.

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
probability p'; a dormant one returns at rate ρ. With the calendar, both rates are multiplied by
s(t) (:mod:`model.calendar`), so the customer's state is a two-state Markov chain in
operational time τ(t) = ∫₀ᵗ s (t measured from T): with κ = p'λ' + ρ and π = ρ/κ,

    P(active at t | active at T)  = π + (1 − π) e^(−κτ(t)),
    P(active at t | dormant at T) = π (1 − e^(−κτ(t)))

(ρ = 0: e^(−p'λ'τ) and 0, BG/NBD's permanent dropout). Purchases come at λ's(t) while
active, each discounted at the continuous daily rate δ, so over (T, T + H]

    E_active  = λ' [π J(0) + (1 − π) J(κ)],    E_dormant = λ' π [J(0) − J(κ)],
    J(κ) = ∫₀ᴴ s(t) e^(−κτ(t) − δt) dt,

and a member's seat is paid over the discounted active days, the same with K(κ) = ∫₀ᴴ
e^(−κτ(t) − δt) dt. Without a calendar (s = 1) J = K = (1 − e^(−(δ + κ)H))/(δ + κ) and, at
ρ = 0, E_active = λ'(1 − e^(−(δ + p'λ')H))/(δ + p'λ') (λ'/(δ + p'λ') for H = ∞). With one,
s is constant within each day, so J is a sum of exact per-day integrals; it is tabulated on a
grid of κ and interpolated (cubic in log-log, relative error below 1e-7), and for H = ∞ the
year after T is taken to repeat: J(κ) = J_year(κ)/(1 − e^(−κτ(365) − 365δ)) (the Spring
Festival's date moves by up to three weeks from year to year; a refinement that would not
change a yearly sum). Times the expected contribution of one order: the Gamma-Gamma mean value
gg_p/ν times the margin left after what each channel takes.

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


class Outlook:
    """Time after the horizon T as the residual sees it: discounting, a horizon, the calendar.

    Gives J(κ) = ∫₀ᴴ s(t) e^(−κτ(t) − δt) dt and K(κ) = ∫₀ᴴ e^(−κτ(t) − δt) dt, with τ(t) =
    ∫₀ᵗ s (see the module docstring).

    Args:
        delta: Continuous daily discount rate (> 0 unless the horizon is finite).
        horizon_days: How far past T (infinite: the customers' whole remaining life).
        season: The calendar's daily multipliers from T on, one value a day: at least
            ``horizon_days`` of them, or for an infinite horizon one year (365 days), taken to
            repeat. None: s = 1.
    """

    # κ grid for the tabulated integrals: customers' κ = p'λ' + ρ lie far inside it (rates
    # are at most a few a day); below its bottom J and K are flat to within 1e-8 relative.
    _KAPPA = np.concatenate([[0.0], np.logspace(-10, 3, 1301)])

    def __init__(
        self, delta: float, horizon_days: float = math.inf, season: np.ndarray | None = None
    ) -> None:
        self.delta = delta
        self.horizon = horizon_days
        self.season = None if season is None else np.asarray(season, dtype=float)
        self._splines = None
        if self.season is not None:
            days = 365 if math.isinf(horizon_days) else math.ceil(horizon_days)
            if len(self.season) < days:
                raise ValueError(f"season has {len(self.season)} days; {days} are needed")
            self.season = self.season[:days]

    def integrals(self, kappa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(J(κ), K(κ)) for each κ ≥ 0."""
        kappa = np.asarray(kappa, dtype=float)
        if self.season is None:
            rate = kappa + self.delta
            with np.errstate(divide="ignore", invalid="ignore"):
                if math.isinf(self.horizon):
                    out = 1.0 / rate
                else:
                    out = np.where(rate > 0, -np.expm1(-rate * self.horizon) / rate, self.horizon)
            return out, out
        if self._splines is None:
            self._splines = self._tabulate()
        x = np.log(np.maximum(kappa, self._KAPPA[1]))
        return tuple(np.exp(spline(x)) for spline in self._splines)

    def _tabulate(self):
        """J and K on the κ grid, exactly (sum of per-day integrals), as log-log splines."""
        from scipy.interpolate import CubicSpline

        s = self.season
        n = len(s)
        length = np.ones(n)
        if not math.isinf(self.horizon):
            length[-1] = self.horizon - (n - 1)  # a fractional last day
        start = np.arange(n, dtype=float)
        tau = np.concatenate([[0.0], np.cumsum(s * length)])
        k = self._KAPPA[1:, None]
        # Day d contributes e^(−κτ_d − δd) ∫₀^len e^(−(κ s_d + δ) u) du (times s_d for J).
        rate = k * s + self.delta
        with np.errstate(divide="ignore", invalid="ignore"):
            segment = np.where(rate > 0, -np.expm1(-rate * length) / rate, length)
        weight = np.exp(-k * tau[:-1] - self.delta * start) * segment
        j, kk = (weight * s).sum(axis=1), weight.sum(axis=1)
        if math.isinf(self.horizon):  # the year repeats: a geometric series of years
            again = -np.expm1(-k[:, 0] * tau[-1] - self.delta * n)
            j, kk = j / again, kk / again
        x = np.log(self._KAPPA[1:])
        return CubicSpline(x, np.log(j)), CubicSpline(x, np.log(kk))


def _chain(lam, p_drop, return_rate):
    """κ = p'λ' + ρ and π = ρ/κ of the two-state chain (π = 0 where κ = 0)."""
    kappa = np.asarray(p_drop, dtype=float) * np.asarray(lam, dtype=float) + return_rate
    with np.errstate(divide="ignore", invalid="ignore"):
        pi = np.where(kappa > 0, return_rate / np.where(kappa > 0, kappa, 1.0), 0.0)
    return kappa, pi


def expected_discounted_orders(
    lam: np.ndarray,
    p_drop: np.ndarray,
    delta: float,
    horizon_days: float = math.inf,
    *,
    return_rate: float = 0.0,
    active: np.ndarray | bool = True,
    season: np.ndarray | None = None,
) -> np.ndarray:
    """Expected discounted purchases over the next ``horizon_days``, from today's state.

    Args:
        lam: purchase rate per day while active (λ', uplift included).
        p_drop: probability of going dormant after each purchase (p', multiplier included).
        delta: continuous daily discount rate (> 0 unless every p' > 0 or H is finite).
        horizon_days: how far ahead (infinite: the whole remaining life).
        return_rate: ρ, the dormant customers' return rate per day (0: BG/NBD).
        active: the state today, per customer (dormant customers buy only once back).
        season: the calendar's daily multipliers from today (see :class:`Outlook`).

    Returns:
        λ'[πJ(0) + (1 − π)J(κ)] if active, λ'π[J(0) − J(κ)] if dormant (module docstring),
        valued today: λ'(1 − e^(−(δ + p'λ')H))/(δ + p'λ') for an active customer at ρ = 0
        without a calendar.
    """
    return _orders(lam, p_drop, return_rate, active, Outlook(delta, horizon_days, season))


def _orders(lam, p_drop, return_rate, active, outlook: Outlook) -> np.ndarray:
    lam = np.asarray(lam, dtype=float)
    j, j0 = _integrals(lam, p_drop, return_rate, outlook, 0)
    out = _from_state(j, j0, lam, p_drop, return_rate, active) * lam
    # A customer who never buys (λ' = 0) is worth nothing, whatever the limits say.
    return np.where(lam > 0, out, 0.0)


def expected_discounted_active_days(
    lam: np.ndarray,
    p_drop: np.ndarray,
    delta: float,
    horizon_days: float = math.inf,
    *,
    return_rate: float = 0.0,
    active: np.ndarray | bool = True,
    season: np.ndarray | None = None,
) -> np.ndarray:
    """Expected discounted days active over the next ``horizon_days``, from today's state.

    The same chain as :func:`expected_discounted_orders` with K for J: ∫₀ᴴ e^(−(δ + p'λ')s) ds
    for an active customer at ρ = 0 without a calendar. The upkeep of a member's seat is paid
    over this many (discounted) days.
    """
    return _active_days(lam, p_drop, return_rate, active, Outlook(delta, horizon_days, season))


def _active_days(lam, p_drop, return_rate, active, outlook: Outlook) -> np.ndarray:
    k, k0 = _integrals(lam, p_drop, return_rate, outlook, 1)
    return _from_state(k, k0, lam, p_drop, return_rate, active)


def _integrals(lam, p_drop, return_rate, outlook: Outlook, which: int):
    kappa, _ = _chain(lam, p_drop, return_rate)
    at = outlook.integrals(kappa)[which]
    at_zero = outlook.integrals(np.zeros(1))[which][0] if return_rate > 0 else 0.0
    return at, at_zero


def _from_state(at, at_zero, lam, p_drop, return_rate, active):
    _, pi = _chain(lam, p_drop, return_rate)
    if return_rate == 0:  # π = 0: the closed form, and no 0·∞ when δ = 0
        return np.where(active, at, 0.0)
    return np.where(active, pi * at_zero + (1 - pi) * at, pi * (at_zero - at))


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


def residual_by_customer(
    active: np.ndarray,
    lam: np.ndarray,
    p_drop: np.ndarray,
    value_per_order: np.ndarray,
    rate_per_year: float,
    horizon_days: float = math.inf,
    upkeep_per_day: np.ndarray | float = 0.0,
    *,
    return_rate: float = 0.0,
    season: np.ndarray | None = None,
) -> np.ndarray:
    """Each customer's expected discounted contribution after the horizon, valued at it.

    Args:
        active: the state at the horizon: active, or dormant (worth something only if they
            return: ``return_rate`` > 0).
        lam: purchase rate λ' per day, uplift included.
        p_drop: dropout probability p' after each purchase, multiplier included.
        value_per_order: expected contribution of one order (:func:`contribution_per_order`).
        rate_per_year: annual discount rate.
        horizon_days: how far past T (infinite by default).
        upkeep_per_day: cost of serving the customer while active (a member's seat), yuan.
        return_rate: ρ, dormant customers' return rate per day (0: BG/NBD, dormancy for good).
        season: the calendar's daily multipliers from the horizon on (:class:`Outlook`).
    """
    outlook = Outlook(daily_rate(rate_per_year), horizon_days, season)
    value = _orders(lam, p_drop, return_rate, active, outlook) * value_per_order
    if np.any(upkeep_per_day):
        value = value - upkeep_per_day * _active_days(lam, p_drop, return_rate, active, outlook)
    return value
