"""Purchase clocks in continuous time: when the next purchase falls, and how a rate change moves it.

A customer buying at rate ``r`` has their next purchase after a hazard ``H ~ Exp(1)`` is spent:
``t_next = start + H / r``. The hazard is drawn once per clock, keyed by the customer and the
clock's number (:mod:`model.draws`), so under two strategies the same customer buys at the same
moments until their rates differ. When the rate changes at ``now`` (joining the private domain,
unfollowing), the hazard still to be spent, ``r_old·(t_next − now)``, is Exp(1) and independent of
the past (memorylessness), so spending it at the new rate is exact and keeps the pairing: no
fresh draw, the purchase just moves earlier or later.

Every conversion between hazard and time goes through :func:`next_time` and
:func:`remaining_hazard`. A time-varying multiplier m(t) (a seasonal calendar) would enter here
alone: with M(t) = ∫₀ᵗ m, ``next_time = M⁻¹(M(start) + H/r)`` and
``remaining_hazard = r·(M(t_next) − M(now))``.
"""

from __future__ import annotations

import numpy as np


def next_time(start: np.ndarray | float, hazard: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """When a clock started at ``start`` has spent ``hazard`` at ``rate`` (inf at rate 0)."""
    with np.errstate(divide="ignore"):
        return start + hazard / rate


def remaining_hazard(t_next: np.ndarray, now: float, rate: np.ndarray) -> np.ndarray:
    """The hazard a clock due at ``t_next`` still has to spend from ``now`` at ``rate``."""
    return (t_next - now) * rate


def rescaled(
    t_next: np.ndarray, now: float, old_rate: np.ndarray, new_rate: np.ndarray
) -> np.ndarray:
    """The due time after the rate changes from ``old_rate`` to ``new_rate`` at ``now``.

    ``t_next`` must be finite and ≥ ``now`` (a running clock that has not fired yet).
    """
    return next_time(now, remaining_hazard(t_next, now, old_rate), new_rate)
