"""Response curves shared by several processes."""

from __future__ import annotations

import math


def saturating(x: float, at_zero: float, at_infinity: float, scale: float) -> float:
    """A level rising from ``at_zero`` towards ``at_infinity`` with diminishing returns in ``x``.

    ``at_zero + (at_infinity - at_zero) * (1 - exp(-x / scale))``: the first yuan of a red
    packet or reward does the most, each further yuan less.
    """
    return at_zero + (at_infinity - at_zero) * (1.0 - math.exp(-x / scale))
