"""Designs: points of the unit cube (Latin hypercube, Sobol) mapped onto parameter ranges.

Used for a sweep's sampled ranges and for a comparison's draws of the uncertain market; the
sampler's stream is derived from the experiment's root seed but kept apart from every
replicate's stream (its own spawn key), so the design never shares random numbers with a run.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Salt for the sampler's stream, kept apart from every replicate's stream of the same root seed.
SAMPLER_SPAWN_KEY = 0x5A3D


@dataclass(frozen=True)
class Range:
    """A parameter's range: sampled uniformly, or uniformly in its logarithm.

    Attributes:
        key: the dotted scenario key.
        low, high: the bounds (both reachable; ``integer`` values cover ``[low, high]``).
        log: sample the logarithm uniformly (values spanning an order of magnitude).
        integer: whole numbers only.
    """

    key: str
    low: float
    high: float
    log: bool = False
    integer: bool = False

    def at(self, u: float) -> float | int:
        """Map a unit-interval coordinate to the range (log and integer aware)."""
        u = min(max(float(u), 0.0), 1.0)
        # Integers: the interval [low, high + 1) so that every whole number gets an equal share.
        top = self.high + 1 if self.integer else self.high
        if self.log:
            value = float(np.exp(np.log(self.low) + u * (np.log(top) - np.log(self.low))))
        else:
            value = self.low + u * (top - self.low)
        if self.integer:
            return int(min(self.high, np.floor(value)))
        return float(min(value, self.high))


def sampler_rng(root_seed: int) -> np.random.Generator:
    """The design's own generator, derived from the root seed (not from the replicates')."""
    return np.random.default_rng(
        np.random.SeedSequence(int(root_seed), spawn_key=(SAMPLER_SPAWN_KEY,))
    )


def unit_sample(method: str, d: int, n: int, root_seed: int) -> np.ndarray:
    """Draw ``n`` points in [0, 1)^d by Latin hypercube (``"lhs"``) or scrambled Sobol."""
    from scipy.stats import qmc  # imported here: scipy.stats costs ~0.5 s at `import model`

    rng = sampler_rng(root_seed)
    if method == "lhs":
        return qmc.LatinHypercube(d, rng=rng).random(n)
    if method == "sobol":
        # Sobol balance needs a power of 2: draw the next one and keep the first n.
        engine = qmc.Sobol(d, scramble=True, rng=rng)
        m = int(np.ceil(np.log2(max(n, 1))))
        return engine.random_base2(m)[:n]
    raise ValueError(f"unknown sampling method {method!r}")


def sample(ranges: Sequence[Range], n: int, root_seed: int, method: str = "lhs") -> list[dict]:
    """``n`` points over the ranges, each a ``{key: value}`` dict, in a stable order."""
    if not ranges:
        return [{} for _ in range(n)]
    units = unit_sample(method, len(ranges), n, root_seed)
    return [{r.key: r.at(u) for r, u in zip(ranges, row, strict=True)} for row in units]


def grid(listed: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of listed values (one empty point when nothing is listed)."""
    keys = list(listed)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*listed.values())]
