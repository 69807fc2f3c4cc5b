"""Posterior summaries and posterior draws (pure: tables in, tables and dicts out)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Stream id of the rng that resamples posterior draws by weight (kept apart from run seeds).
POSTERIOR_DRAW_STREAM = 0x504F5354  # "POST"


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Weighted quantile by the midpoint rule (the 50% of equal weights is the plain median).

    Each sample sits at the middle of its weight's slice of the cumulative distribution and
    the quantile interpolates linearly between neighbours.
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order] / weights.sum()
    centres = np.cumsum(w) - w / 2
    return float(np.interp(q, centres, v))


def posterior_table(history, t: int | None = None) -> pd.DataFrame:
    """The weighted particles of generation ``t`` (default: the last): params + ``weight``."""
    frame, weights = history.get_distribution(m=0, t=history.max_t if t is None else t)
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    frame["weight"] = np.asarray(weights, dtype=float)
    return frame.reset_index(drop=True)


def summarise(
    posterior: pd.DataFrame, priors: dict[str, tuple[float, float]]
) -> dict[str, dict[str, float]]:
    """Per parameter: weighted median, 5% and 95% quantiles, mean, and the prior range."""
    w = posterior["weight"].to_numpy(float)
    out = {}
    for key, (low, high) in priors.items():
        x = posterior[key].to_numpy(float)
        q05, q50, q95 = (weighted_quantile(x, w, q) for q in (0.05, 0.5, 0.95))
        out[key] = {
            "median": q50,
            "q05": q05,
            "q95": q95,
            "mean": float(np.average(x, weights=w)),
            "prior_low": low,
            "prior_high": high,
            "interval_share_of_prior": (q95 - q05) / (high - low),
        }
    return out


def generations(history) -> list[dict[str, Any]]:
    """One record per finished generation: epsilon, simulations run, particles accepted."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]  # t = −1 is pyABC's calibration sample from the prior
    return [
        {
            "t": int(row.t),
            "epsilon": float(row.epsilon),
            "simulations": int(row.samples),
            "accepted": int(row.particles),
            "acceptance_rate": float(row.particles) / float(row.samples) if row.samples else None,
        }
        for row in pops.itertuples()
    ]


def draw_parameters(
    posterior: pd.DataFrame, n: int, seed: int, params: list[str] | None = None
) -> list[dict[str, float]]:
    """Resample ``n`` parameter sets from a weighted posterior with a seeded rng.

    Draw ``i`` is the same for a given seed and posterior, whatever ``n`` ≥ i+1: the indices
    are drawn one by one from one stream.
    """
    params = params or [c for c in posterior.columns if c != "weight"]
    w = posterior["weight"].to_numpy(float)
    if len(w) == 0 or not np.all(np.isfinite(w)) or w.sum() <= 0:
        raise ValueError("the posterior has no positive weights")
    cdf = np.cumsum(w / w.sum())
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), POSTERIOR_DRAW_STREAM]))
    idx = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(w) - 1)
    values = posterior[params].to_numpy(float)
    return [{p: float(values[i, j]) for j, p in enumerate(params)} for i in idx]
