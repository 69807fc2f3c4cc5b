"""Designs: the points of a sweep (grid × Latin hypercube or Sobol) as dotted-key dicts."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from model.sweep.spec import Param, SweepSpec

# Salt for the sampler's stream, kept apart from every replicate's stream of the same root seed.
SAMPLER_SPAWN_KEY = 0x5A3D


def sampler_rng(root_seed: int) -> np.random.Generator:
    """The design's own generator, derived from the root seed (not from the replicates')."""
    return np.random.default_rng(np.random.SeedSequence(int(root_seed),
                                                        spawn_key=(SAMPLER_SPAWN_KEY,)))


def scale(param: Param, u: float) -> float | int:
    """Map a unit-interval coordinate to the parameter's range (log and integer aware)."""
    assert param.low is not None and param.high is not None
    if param.log:
        value = float(np.exp(np.log(param.low) + u * (np.log(param.high) - np.log(param.low))))
    else:
        value = param.low + u * (param.high - param.low)
    if param.integer:
        # floor over [low, high + 1) gives every integer the same share of the unit interval
        return int(min(param.high, np.floor(param.low + u * (param.high + 1 - param.low))))
    return float(value)


def unit_sample(method: str, d: int, n: int, root_seed: int) -> np.ndarray:
    """Draw ``n`` points in [0, 1)^d by Latin hypercube or scrambled Sobol."""
    from scipy.stats import qmc  # imported here: scipy.stats costs ~0.5 s at `import model`

    rng = sampler_rng(root_seed)
    if method == "lhs":
        return qmc.LatinHypercube(d, rng=rng).random(n)
    if method == "sobol":
        # Sobol balance needs a power of 2; other n are allowed but scipy warns, so say why.
        engine = qmc.Sobol(d, scramble=True, rng=rng)
        m = int(np.ceil(np.log2(max(n, 1))))
        return engine.random_base2(m)[:n]
    raise ValueError(f"unknown sampling method {method!r}")


def design_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every point of a sweep spec, in a stable order: grid of listed values × samples."""
    listed = [p for p in spec.params if not p.is_range]
    ranged = [p for p in spec.params if p.is_range]
    grid = [dict(zip([p.key for p in listed], combo, strict=True))
            for combo in itertools.product(*[p.values for p in listed])] or [{}]
    if not ranged:
        return grid
    units = unit_sample(spec.method, len(ranged), spec.n_samples, spec.root_seed)
    samples = [{p.key: scale(p, float(u)) for p, u in zip(ranged, row, strict=True)}
               for row in units]
    return [{**g, **s} for g in grid for s in samples]
