"""Purchase clocks in continuous time: when the next purchase falls, and how a rate change moves it.

A customer buying at rate ``r`` has their next purchase after a hazard ``H ~ Exp(1)`` is spent:
``t_next = start + H / r``. The hazard is drawn once per clock, keyed by the customer and the
clock's number (:mod:`model.draws`), so under two strategies the same customer buys at the same
moments until their rates differ. When the rate changes at ``now`` (joining the private domain,
unfollowing), the hazard still to be spent, ``r_old·(t_next − now)``, is Exp(1) and independent of
the past (memorylessness), so spending it at the new rate is exact and keeps the pairing: no
fresh draw, the purchase just moves earlier or later.

**The calendar.** With a seasonal multiplier m(t) on every rate (:mod:`model.calendar`: month
multipliers and festival lifts, constant within a day), a clock runs in operational time
M(t) = ∫₀ᵗ m: the hazard spent between t₀ and t₁ at rate r is r·(M(t₁) − M(t₀)), so

    t_next = M⁻¹(M(start) + H/r),    remaining hazard = r·(M(t_next) − M(now)).

This is exact (an inhomogeneous Poisson process is a homogeneous one in operational time) and
keeps the keyed exponential variates: the calendar moves purchases, it draws nothing.
:class:`OperationalTime` holds M for the run's days; every conversion between hazard and time
goes through :func:`next_time` and :func:`remaining_hazard`, which take it (None: M(t) = t).
"""

from __future__ import annotations

import numpy as np


class OperationalTime:
    """M(t) = ∫₀ᵗ m for a daily multiplier m > 0, constant within each day, and its inverse.

    ``multipliers[d]`` is m on day d = [d, d + 1). Past the last tabulated day M grows at the
    mean multiplier of the last (up to) 365 days: clocks that far out run past the run's
    horizon, where their exact timing is never used, and the extension keeps M increasing so
    that a clock can still be rescaled consistently.
    """

    def __init__(self, multipliers: np.ndarray) -> None:
        m = np.asarray(multipliers, dtype=float)
        if len(m) == 0 or not np.all(m > 0):
            raise ValueError("operational time needs positive daily multipliers")
        self.m = m
        self.days = len(m)
        self.cum = np.concatenate([[0.0], np.cumsum(m)])  # M at the start of each day
        self.tail = float(m[-365:].mean())

    def at(self, t: np.ndarray | float) -> np.ndarray:
        """M(t) (inf stays inf)."""
        t = np.asarray(t, dtype=float)
        inside = np.isfinite(t) & (t < self.days)
        day = np.where(inside, np.floor(np.where(inside, t, 0.0)), 0).astype(np.int64)
        day = np.clip(day, 0, self.days - 1)
        beyond = self.cum[-1] + (t - self.days) * self.tail
        return np.where(inside, self.cum[day] + self.m[day] * (t - day), beyond)

    def inverse(self, value: np.ndarray) -> np.ndarray:
        """M⁻¹(value): the time at which M reaches ``value`` (inf stays inf)."""
        value = np.asarray(value, dtype=float)
        inside = value < self.cum[-1]
        day = np.clip(np.searchsorted(self.cum, value, side="right") - 1, 0, self.days - 1)
        with np.errstate(invalid="ignore"):
            within = day + (value - self.cum[day]) / self.m[day]
            beyond = self.days + (value - self.cum[-1]) / self.tail
        return np.where(inside, within, beyond)


def next_time(
    start: np.ndarray | float,
    hazard: np.ndarray,
    rate: np.ndarray | float,
    optime: OperationalTime | None = None,
) -> np.ndarray:
    """When a clock started at ``start`` has spent ``hazard`` at ``rate`` (inf at rate 0)."""
    with np.errstate(divide="ignore"):
        if optime is None:
            return start + hazard / rate
        # Never before the start: rounding in M⁻¹(M(start)) could otherwise cost an ulp.
        return np.maximum(optime.inverse(optime.at(start) + hazard / rate), start)


def remaining_hazard(
    t_next: np.ndarray, now: float, rate: np.ndarray, optime: OperationalTime | None = None
) -> np.ndarray:
    """The hazard a clock due at ``t_next`` still has to spend from ``now`` at ``rate``."""
    if optime is None:
        return (t_next - now) * rate
    return (optime.at(t_next) - optime.at(now)) * rate


def rescaled(
    t_next: np.ndarray,
    now: float,
    old_rate: np.ndarray,
    new_rate: np.ndarray,
    optime: OperationalTime | None = None,
) -> np.ndarray:
    """The due time after the rate changes from ``old_rate`` to ``new_rate`` at ``now``.

    ``t_next`` must be finite and ≥ ``now`` (a running clock that has not fired yet).
    """
    return next_time(now, remaining_hazard(t_next, now, old_rate, optime), new_rate, optime)
