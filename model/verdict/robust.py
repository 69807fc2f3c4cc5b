"""The robust verdict of a comparison: P(best), P(beats the reference), regret, minimax regret.

The input is the experiment table of a comparison under uncertainty: one row per run with
``strategy``, ``draw`` (the index of a draw of the uncertain market parameters), ``replicate``
and one column per KPI. Every strategy runs on the same draws and, within a draw, on the same
replicate seeds, so a *cell* (draw, replicate) is one market and one stream of chance that all
strategies share. A table without a ``draw`` column is a noise-only comparison: one draw.

Per strategy and KPI (a tidy table, one row per strategy and KPI, :data:`COLUMNS`):

* ``median, p10, p90`` of the KPI and ``diff_vs_reference_*`` of the paired difference from the
  reference, over cells (linear quantiles; the spread a strategist would see, noise included);
* ``p_beats_reference``: the share of cells where the strategy is better than the reference on
  the same cell (ties count half; the reference against itself is 0.5);
* ``p_best``: the share of cells where the strategy is the best of all (ties split evenly);
* ``regret_mean, regret_p90, regret_max``: what choosing this strategy costs against the best
  strategy of the same draw, in the KPI's unit (``best − this`` for "higher is better",
  mirrored for "lower"), as mean, 90th percentile and worst case over the draws;
* ``minimax_regret``: True for the strategy whose worst regret is smallest.

Noise and what we don't know are kept apart as follows. P(best) and P(beats) are shares of
cells: they answer "how often does this strategy come out ahead in one run of the future",
noise included, and in a one-draw comparison they are exactly the noise-only P(beats) of
:mod:`model.compare.summary`. **Regret is computed per draw on the mean over the draw's
replicates**, not per cell: the best of several noisy values is biased upwards (E max ≥
max E), so per-cell regret would charge each strategy for replicate noise — two identical
strategies with noise σ per run would each show an expected regret of σ/√π. Averaging R
replicates first shrinks that bias by √R, and what remains of the regret is then mostly
the market parameters: the minimax choice is the strategy that loses least in the worst
*market*, not in the unluckiest seed.

Intervals: ``p_*_low`` and ``p_*_high`` are a 95% Wilson score interval, so that "100%" from
8 independent cells reads as [68%, 100%]. Cells of one draw share the market, so they are not
independent: the interval uses the effective number of cells n / (1 + (m − 1)·ρ), with m the
replicates per draw and ρ their within-draw correlation (one-way ANOVA estimator, clipped to
[0, 1]; ρ = 1 when every cell agrees, so a unanimous result rests on the draws alone: "100%"
from 4 draws × 2 replicates reads as [51%, 100%]). With one draw the replicates are
independent and n counts them all.

Undefined values (NaN: e.g. ``cac_paid`` with no paid customer) are left out of quantiles,
pairs and regret, except for a KPI in :data:`UNDEFINED_IS_WORST` (``payback_day``: undefined
means "never paid back"), where an undefined value loses to any defined one in P(best) and
P(beats) — the rule of :mod:`model.compare.summary`. A missing run (a failure) drops its cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd

from model.kpis import KPIS
from model.verdict.words import kpi_label, kpi_value, percent, shortfall

QUANTILES = (0.1, 0.5, 0.9)
CONFIDENCE = 0.95
UNDEFINED_IS_WORST = frozenset({"payback_day"})

# Below these a verdict gets a caution in words.
FEW_CELLS = 10
FEW_DRAWS = 10
FEW_REPLICATES = 2

COLUMNS = [
    "strategy",
    "metric",
    "median",
    "p10",
    "p90",
    "diff_vs_reference_median",
    "diff_vs_reference_p10",
    "diff_vs_reference_p90",
    "p_beats_reference",
    "p_beats_reference_low",
    "p_beats_reference_high",
    "p_best",
    "p_best_low",
    "p_best_high",
    "regret_mean",
    "regret_p90",
    "regret_max",
    "minimax_regret",
    "direction",
    "n",
    "n_pairs",
    "n_cells",
    "n_draws",
    "n_replicates",
]

#: Which way is better, per KPI, from the registry ("neutral": descriptive only).
DIRECTIONS: dict[str, str] = {name: k.direction for name, k in KPIS.items()}


def wilson_interval(p: float, n: float, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a proportion.

    Args:
        p: the observed share.
        n: the number of (effective) independent trials; may be fractional.
        confidence: the interval's coverage.

    Returns:
        ``(low, high)``; NaNs when ``p`` is NaN or ``n`` is not positive.
    """
    if not np.isfinite(p) or not n > 0:
        return (np.nan, np.nan)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * np.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def effective_n(outcomes: np.ndarray, draws: np.ndarray) -> float:
    """The number of independent cells that clustered outcomes are worth.

    Args:
        outcomes: one value in [0, 1] per cell (1 win, 0 loss, ½ a tie).
        draws: the draw of each cell (cells of one draw share the market).

    Returns:
        ``n / (1 + (m − 1)·ρ)`` with ``m`` the mean cells per draw and ``ρ`` the within-draw
        correlation (one-way ANOVA, clipped to [0, 1], 1 when every outcome is the same);
        ``n`` itself with one draw or one cell per draw.
    """
    y = np.asarray(outcomes, dtype=float)
    d = np.asarray(draws)
    n = y.size
    labels, groups = np.unique(d, return_inverse=True)
    k = labels.size
    if n == 0 or k <= 1 or k == n:
        return float(n)
    sizes = np.bincount(groups).astype(float)
    means = np.bincount(groups, weights=y) / sizes
    msb = float(np.sum(sizes * (means - y.mean()) ** 2) / (k - 1))
    msw = float(np.sum((y - means[groups]) ** 2) / (n - k))
    n0 = (n - np.sum(sizes**2) / n) / (k - 1)
    denominator = msb + (n0 - 1) * msw
    rho = 1.0 if denominator <= 0 else float(np.clip((msb - msw) / denominator, 0.0, 1.0))
    return float(n / (1 + (n / k - 1) * rho))


def _band(values: np.ndarray) -> tuple[float, float, float]:
    arr = values[np.isfinite(values)]
    if arr.size == 0:
        return (np.nan, np.nan, np.nan)
    p10, p50, p90 = np.quantile(arr, QUANTILES)
    return (float(p10), float(p50), float(p90))


def _cube(
    runs: pd.DataFrame, metric: str, order: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values (strategy × cell), which runs exist, and each cell's draw."""
    cells = runs[["draw", "replicate"]].drop_duplicates().sort_values(["draw", "replicate"])
    index = pd.MultiIndex.from_frame(cells)
    wide = runs.assign(_v=pd.to_numeric(runs[metric], errors="coerce").astype(float))
    wide = wide.pivot(index=["draw", "replicate"], columns="strategy", values="_v")
    present = runs.assign(_p=True).pivot(
        index=["draw", "replicate"], columns="strategy", values="_p"
    )
    values = wide.reindex(index=index, columns=list(order)).to_numpy(dtype=float).T
    exists = present.reindex(index=index, columns=list(order)).notna().to_numpy().T
    return values, exists, cells["draw"].to_numpy()


def _shares_of_best(oriented: np.ndarray) -> np.ndarray:
    """Per cell (column), 1/k for each of the k strategies tied for best, 0 for the others."""
    top = oriented.max(axis=0, keepdims=True)
    winners = oriented == top
    return winners / winners.sum(axis=0, keepdims=True)


def _oriented(values: np.ndarray, direction: str, undefined_is_worst: bool) -> np.ndarray:
    """Values flipped so that higher is better; undefined → −∞ where it counts as worst."""
    out = values if direction == "higher" else -values
    if undefined_is_worst:
        out = np.where(np.isnan(out), -np.inf, out)
    return out


def _metric_rows(
    runs: pd.DataFrame, metric: str, direction: str, reference: str, order: Sequence[str]
) -> list[dict]:
    values, exists, cell_draw = _cube(runs, metric, order)
    ref = list(order).index(reference)
    ranked = direction in ("higher", "lower")
    worst = metric in UNDEFINED_IS_WORST
    oriented = _oriented(values, direction, worst) if ranked else values

    # Cells where every strategy ran and (unless undefined counts as worst) is defined: the
    # common ground for P(best) and regret.
    complete = exists.all(axis=0)
    if not worst:
        complete &= np.isfinite(values).all(axis=0)
    best_share = _shares_of_best(oriented[:, complete]) if ranked and complete.any() else None

    # Regret per draw on the means over the draw's complete cells, in the KPI's unit (defined
    # values only: an undefined payback has no amount to lose).
    regret = None
    defined = complete & np.isfinite(values).all(axis=0)
    if ranked and defined.any():
        _, groups = np.unique(cell_draw[defined], return_inverse=True)
        counts = np.bincount(groups)
        means = np.stack([np.bincount(groups, weights=row) for row in values[:, defined]])
        means = means / counts
        good = means if direction == "higher" else -means
        regret = good.max(axis=0, keepdims=True) - good
    # What the verdict rests on: draws with a complete cell, and the fewest replicates of any.
    _, per_draw = np.unique(cell_draw[complete], return_counts=True)

    rows = []
    for i, name in enumerate(order):
        own = values[i, exists[i]]
        p10, p50, p90 = _band(own)
        pair = exists[i] & exists[ref]
        both = pair & np.isfinite(values[i]) & np.isfinite(values[ref])
        diff = values[i, both] - values[ref, both] if i != ref else np.zeros(both.sum())
        d10, d50, d90 = _band(diff)
        row = {
            "strategy": name,
            "metric": metric,
            "median": p50,
            "p10": p10,
            "p90": p90,
            "diff_vs_reference_median": d50,
            "diff_vs_reference_p10": d10,
            "diff_vs_reference_p90": d90,
            "p_beats_reference": np.nan,
            "p_beats_reference_low": np.nan,
            "p_beats_reference_high": np.nan,
            "p_best": np.nan,
            "p_best_low": np.nan,
            "p_best_high": np.nan,
            "regret_mean": np.nan,
            "regret_p90": np.nan,
            "regret_max": np.nan,
            "minimax_regret": False,
            "direction": direction,
            "n": int(np.isfinite(own).sum()),
            "n_pairs": int(both.sum()),
            "n_cells": int(complete.sum()),
            "n_draws": int(per_draw.size),
            "n_replicates": int(per_draw.min()) if per_draw.size else 0,
        }
        if ranked:
            counted = pair & ~(np.isnan(oriented[i]) | np.isnan(oriented[ref]))
            if counted.any():
                a, b = oriented[i, counted], oriented[ref, counted]
                wins = (a > b) + 0.5 * (a == b)
                p = float(wins.mean())
                # The reference against itself is ½ by definition, not an estimate.
                low, high = (
                    wilson_interval(p, effective_n(wins, cell_draw[counted]))
                    if i != ref
                    else (np.nan, np.nan)
                )
                row.update(p_beats_reference=p, p_beats_reference_low=low)
                row.update(p_beats_reference_high=high)
            if best_share is not None:
                share = best_share[i]
                p = float(share.mean())
                low, high = wilson_interval(p, effective_n(share, cell_draw[complete]))
                row.update(p_best=p, p_best_low=low, p_best_high=high)
            if regret is not None:
                r = regret[i]
                row.update(
                    regret_mean=float(r.mean()),
                    regret_p90=float(np.quantile(r, 0.9)),
                    regret_max=float(r.max()),
                )
        rows.append(row)
    if regret is not None:
        # The smallest worst-case regret; ties go to the smaller expected regret, then order.
        choice = min(range(len(order)), key=lambda j: (regret[j].max(), regret[j].mean(), j))
        rows[choice]["minimax_regret"] = True
    return rows


def robust_summary(
    runs: pd.DataFrame,
    reference: str,
    metrics: Sequence[str],
    *,
    directions: Mapping[str, str] | None = None,
    strategies: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per strategy and KPI: bands, paired differences, P(best), P(beats), regret.

    Args:
        runs: one row per run with ``strategy``, ``replicate``, optionally ``draw`` (absent: a
            noise-only comparison, one draw) and the KPI columns.
        reference: the strategy the others are judged against.
        metrics: the KPI columns to summarise.
        directions: ``"higher"``, ``"lower"`` or ``"neutral"`` per KPI (default: the KPI
            registry). Neutral KPIs get bands and differences, no P values or regret.
        strategies: row order (default: order of first appearance in ``runs``).

    Returns:
        A table with :data:`COLUMNS`, one row per strategy and KPI (strategies in order, each
        with its KPIs in the order of ``metrics``): the columns of
        :func:`model.compare.summary.summarise` with the same meanings, generalised to cells,
        and the new ones.

    Raises:
        ValueError: a missing column, a duplicated run, an unknown reference or direction.
    """
    directions = DIRECTIONS if directions is None else directions
    if "draw" not in runs.columns:
        runs = runs.assign(draw=0)
    missing = [c for c in ("strategy", "replicate", *metrics) if c not in runs.columns]
    if missing:
        raise ValueError(f"runs has no column {', '.join(map(repr, missing))}")
    if runs.duplicated(["strategy", "draw", "replicate"]).any():
        raise ValueError("runs has more than one row for some (strategy, draw, replicate)")
    order = list(strategies) if strategies is not None else list(dict.fromkeys(runs["strategy"]))
    if reference not in order:
        raise ValueError(f"reference {reference!r} is not among the strategies {order}")
    runs = runs[runs["strategy"].isin(order)]
    rows = []
    for metric in metrics:
        direction = directions.get(metric)
        if direction not in ("higher", "lower", "neutral"):
            raise ValueError(
                f"KPI {metric!r} has direction {direction!r}: must be 'higher', 'lower' or "
                "'neutral' (add it to the KPI registry)"
            )
        rows += _metric_rows(runs, metric, direction, reference, order)
    # Rows by strategy, then KPI: the order of model/compare/summary.py's table.
    rank = {(s, m): (i, j) for i, s in enumerate(order) for j, m in enumerate(metrics)}
    rows.sort(key=lambda row: rank[(row["strategy"], row["metric"])])
    return pd.DataFrame(rows, columns=COLUMNS)


def cautions(summary: pd.DataFrame, metric: str) -> list[str]:
    """What a verdict on ``metric`` rests on, in words, when it rests on too little.

    Args:
        summary: the output of :func:`robust_summary`.
        metric: the KPI of the verdict.

    Returns:
        Zero or more sentences: too few cells, too few draws, too few replicates per draw, one
        draw only (no parameter uncertainty).
    """
    rows = summary[summary["metric"] == metric]
    if rows.empty:
        raise ValueError(f"the summary has no rows for {metric!r}")
    n_cells = int(rows["n_cells"].min())
    n_draws = int(rows["n_draws"].min())
    n_rep = int(rows["n_replicates"].min())
    out = []
    if n_draws == 1:
        out.append(
            "One market only (no parameter draws): the P values measure simulation noise, "
            "not what we don't know about the market, and the regret is that of one market."
        )
    elif n_draws < FEW_DRAWS:
        out.append(
            f"Only {n_draws} parameter draws: the worst-case regret is the worst of "
            f"{n_draws} markets, and a box of conditions is a rough sketch."
        )
    if n_cells < FEW_CELLS:
        out.append(
            f"Only {n_cells} cells (draws × replicates): a share such as P(best) can move by "
            "tens of points with more runs — read the intervals, not the point values."
        )
    if n_draws > 1 and n_rep <= FEW_REPLICATES:
        out.append(
            f"Each draw has only {n_rep} replicate{'s' if n_rep != 1 else ''}: the draw means "
            "behind regret and the conditions still carry Monte-Carlo noise, which inflates "
            "regret where strategies are close."
        )
    return out


def describe_verdict(summary: pd.DataFrame, metric: str) -> list[str]:
    """The verdict on one KPI in words: best by median, minimax-regret choice, cautions.

    Args:
        summary: the output of :func:`robust_summary`.
        metric: the KPI the strategies are ranked by.

    Returns:
        Sentences: the best strategy by median with its P(best); the minimax-regret choice and
        whether it agrees; what the verdict rests on; then :func:`cautions`.
    """
    rows = summary[summary["metric"] == metric]
    if rows.empty:
        raise ValueError(f"the summary has no rows for {metric!r}")
    label = kpi_label(metric)
    in_sentence = kpi_label(metric, in_sentence=True)
    direction = rows["direction"].iloc[0]
    if direction not in ("higher", "lower"):
        return [f"{label} is descriptive (neither direction is better): no verdict."]
    ranked = rows.sort_values(
        "median", ascending=direction == "lower", na_position="last", kind="stable"
    )
    best = ranked.iloc[0]
    chosen = rows[rows["minimax_regret"]]
    n_draws, n_rep = int(rows["n_draws"].min()), int(rows["n_replicates"].min())
    median = kpi_value(metric, best["median"])
    p_best = f"{percent(best['p_best'])} [{percent(best['p_best_low'])}–"
    p_best += f"{percent(best['p_best_high'])}]"
    out = [
        f"By median {in_sentence}, {best['strategy']} is best ({median}); it is the best "
        f"strategy in {p_best} of cells."
    ]
    if chosen.empty:
        out.append("No regret could be computed (no draw where every strategy is defined).")
    else:
        mm = chosen.iloc[0]
        if mm["strategy"] == best["strategy"]:
            out.append(
                f"{best['strategy']} is also the minimax-regret choice: in the worst of the "
                f"{n_draws} markets it falls {shortfall(metric, mm['regret_max'])} "
                f"short of that market's best strategy (expected regret "
                f"{shortfall(metric, mm['regret_mean'])}); the two criteria agree."
            )
        else:
            out.append(
                f"The minimax-regret choice is {mm['strategy']}: in its worst market it falls "
                f"{shortfall(metric, mm['regret_max'])} short of the best strategy, "
                f"against {shortfall(metric, best['regret_max'])} for "
                f"{best['strategy']}. The criteria disagree: {best['strategy']} does better in "
                f"the typical market, {mm['strategy']} loses less where the market turns "
                "against it."
            )
    out.append(
        f"This rests on {n_draws} parameter draw{'s' if n_draws != 1 else ''} × {n_rep} "
        f"replicate{'s' if n_rep != 1 else ''} ({int(rows['n_cells'].min())} cells); regret is "
        "taken on each draw's mean over its replicates."
    )
    return out + cautions(summary, metric)
