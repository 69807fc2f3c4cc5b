"""The search space: levers (continuous, whole-number, choice) and the budget split (a simplex).

A candidate is a dict of the optimiser's parameters (one per lever, and ``share.<platform>``
coordinates for the budget split); :meth:`Space.overrides` turns it into the dotted-key
overrides of the base scenario that a run applies. The split over ``k`` platforms is searched
through ``k − 1`` coordinates in [0, 1] by stick-breaking: coordinate ``i`` takes the share
``b_i = 1 − (1 − u_i)^(1/(k − i))`` of what is left, which maps the uniform cube onto the uniform
distribution over the simplex (each ``b_i`` is Beta(1, k − i)), so a random start covers every
split evenly; ``min_share`` is kept for every platform by ``share = min + (1 − k·min)·s``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

SHARE_PREFIX = "share."


@dataclass(frozen=True)
class Numeric:
    """A continuous or whole-number lever between ``low`` and ``high`` (both reachable)."""

    key: str
    low: float
    high: float
    integer: bool = False
    log: bool = False

    def distribution(self):
        """The optuna distribution of this lever."""
        from optuna.distributions import FloatDistribution, IntDistribution

        if self.integer:
            return IntDistribution(int(self.low), int(self.high), log=self.log)
        return FloatDistribution(self.low, self.high, log=self.log)

    def value(self, x: Any) -> float | int:
        """The scenario value of an optimiser's value (whole numbers as ``int``)."""
        return int(round(x)) if self.integer else float(x)

    def grid(self, n: int) -> list[float | int]:
        """``n`` points from low to high (log-spaced for a log lever; whole numbers distinct)."""
        if n <= 1:
            return [self.value((self.low + self.high) / 2)]
        if self.log:
            points = np.geomspace(self.low, self.high, n)
        else:
            points = np.linspace(self.low, self.high, n)
        values = [self.value(p) for p in points]
        return list(dict.fromkeys(values))

    def clip(self, x: Any) -> float | int | None:
        """The value inside the bounds, or None if ``x`` lies outside them."""
        if not isinstance(x, int | float) or isinstance(x, bool):
            return None
        return self.value(x) if self.low <= x <= self.high else None

    @property
    def unit_step(self) -> float:
        """The step of "one more" for a marginal value: 1 of the lever's unit."""
        return 1.0


@dataclass(frozen=True)
class Choice:
    """A lever that takes one of a few listed values (``operation.mode``)."""

    key: str
    choices: tuple[Any, ...]

    def distribution(self):
        """The optuna distribution of this lever."""
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(list(self.choices))

    def value(self, x: Any) -> Any:
        """The scenario value (the choice itself)."""
        return x

    def grid(self, n: int) -> list[Any]:
        """Every choice."""
        return list(self.choices)

    def clip(self, x: Any) -> Any:
        """``x`` if it is one of the choices, else None."""
        return x if x in self.choices else None


Lever = Numeric | Choice


@dataclass(frozen=True)
class Simplex:
    """The ad budget's split over ``platforms``: shares ≥ ``min_share`` summing to ``total``."""

    platforms: tuple[str, ...]
    min_share: float = 0.0
    total: float = 1.0

    @property
    def names(self) -> list[str]:
        """The optimiser's coordinates (one fewer than the platforms)."""
        return [f"{SHARE_PREFIX}{p}" for p in self.platforms[:-1]]

    def shares(self, coords: list[float]) -> dict[str, float]:
        """Stick-breaking: coordinates in [0, 1]^(k−1) → shares on the simplex."""
        k = len(self.platforms)
        left, raw = 1.0, []
        for i, u in enumerate(coords):
            b = 1.0 - (1.0 - min(max(float(u), 0.0), 1.0)) ** (1.0 / (k - 1 - i))
            raw.append(left * b)
            left -= left * b
        raw.append(left)
        free = self.total - k * self.min_share
        shares = [round(self.min_share + free * s, 9) for s in raw]
        # The schema wants the shares of all platforms to sum to 1 within 1e-9: the last one
        # takes the rounding.
        shares[-1] = self.total - sum(shares[:-1])
        return dict(zip(self.platforms, shares, strict=True))

    def coords(self, shares: dict[str, float]) -> list[float] | None:
        """The inverse of :meth:`shares` (None when a share is below ``min_share``)."""
        k = len(self.platforms)
        free = self.total - k * self.min_share
        if free <= 0:
            return None
        s = [(shares[p] - self.min_share) / free for p in self.platforms]
        if min(s) < -1e-12:
            return None
        left, out = 1.0, []
        for i in range(k - 1):
            b = 0.0 if left <= 1e-15 else min(max(s[i] / left, 0.0), 1.0)
            out.append(1.0 - (1.0 - b) ** (k - 1 - i))
            left -= s[i]
        return out


@dataclass(frozen=True)
class Space:
    """Everything the search may change: the levers and, optionally, the budget split."""

    levers: tuple[Lever, ...]
    simplex: Simplex | None = None

    def distributions(self) -> dict[str, Any]:
        """Optuna distributions by parameter name, in a fixed order."""
        from optuna.distributions import FloatDistribution

        out = {lv.key: lv.distribution() for lv in self.levers}
        if self.simplex is not None:
            for name in self.simplex.names:
                out[name] = FloatDistribution(0.0, 1.0)
        return out

    @property
    def keys(self) -> list[str]:
        """The dotted scenario keys a candidate sets."""
        out = [lv.key for lv in self.levers]
        if self.simplex is not None:
            out += [f"platforms.{p}.budget_share" for p in self.simplex.platforms]
        return out

    def overrides(self, params: dict[str, Any]) -> dict[str, Any]:
        """A candidate's dotted-key overrides of the base scenario."""
        out = {lv.key: lv.value(params[lv.key]) for lv in self.levers}
        if self.simplex is not None:
            coords = [params[n] for n in self.simplex.names]
            for p, share in self.simplex.shares(coords).items():
                out[f"platforms.{p}.budget_share"] = share
        return out

    def params_of(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """The optimiser's parameters of a point given as scenario values (None if outside)."""
        params: dict[str, Any] = {}
        for lv in self.levers:
            x = lv.clip(values.get(lv.key))
            if x is None:
                return None
            params[lv.key] = x
        if self.simplex is not None:
            shares = {p: values.get(f"platforms.{p}.budget_share") for p in self.simplex.platforms}
            if any(v is None for v in shares.values()):
                return None
            coords = self.simplex.coords(shares)
            if coords is None:
                return None
            params.update(zip(self.simplex.names, coords, strict=True))
        return params

    def corners(self) -> Iterator[tuple[dict[str, Any], str]]:
        """Overrides with each lever at each end (or choice), the others at their first value."""
        first = {}
        for lv in self.levers:
            first[lv.key] = lv.value(lv.low) if isinstance(lv, Numeric) else lv.choices[0]
        for lv in self.levers:
            ends = (lv.low, lv.high) if isinstance(lv, Numeric) else lv.choices
            for end in ends:
                point = {**first, lv.key: lv.value(end)}
                yield point, f"{lv.key} = {_show(lv.value(end))}"
        yield (
            {
                lv.key: lv.value(lv.high) if isinstance(lv, Numeric) else lv.choices[-1]
                for lv in self.levers
            },
            "every lever at its high end",
        )

    def lever(self, key: str) -> Lever | None:
        """The lever of a dotted key, if it is searched."""
        return next((lv for lv in self.levers if lv.key == key), None)

    def lowest(self, key: str, default: float) -> float:
        """The lowest value a key can take: its lever's low bound, else the base's value."""
        lv = self.lever(key)
        if isinstance(lv, Numeric):
            return lv.low
        return default

    def lowest_headcount(self, base) -> int:
        """The fewest accounts or guides any allowed operating mode starts with."""
        mode_lever = self.lever("operation.mode")
        modes = mode_lever.choices if isinstance(mode_lever, Choice) else (base.operation.mode,)
        floors = []
        for mode in modes:
            if mode == "none":
                floors.append(0)
            elif mode == "guides":
                floors.append(
                    self.lowest("operation.guides_initial", base.operation.guides_initial)
                )
            else:
                floors.append(
                    self.lowest("operation.accounts_initial", base.operation.accounts_initial)
                )
        return int(math.ceil(min(floors)))


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)
