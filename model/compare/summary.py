"""Summaries of a comparison: pure functions on KPI tables, no files, no simulation.

The input is one row per run: ``strategy``, ``replicate`` and one column per KPI (None/NaN
where a KPI is undefined in that run, e.g. ``cac_paid`` with no paid customers). Replicate ``i``
of every strategy ran on the same seed (common random numbers), so strategy minus reference on
the same replicate is a *paired* difference: the market noise both runs shared cancels out.

Per strategy and KPI we report (DESIGN §5):

* the median and 10–90% band of the KPI over replicates (``np.quantile``, linear);
* the median and 10–90% band of the paired difference strategy − reference;
* ``p_beats_reference``: the share of replicates where the strategy is *better* than the
  reference, where better follows :data:`model.compare.spec.DIRECTIONS` (higher for most KPIs,
  lower for cost-like ones), and a tie counts half. The reference against itself is 0.5.

Undefined values are left out of the quantiles and the differences (``n`` and ``n_pairs`` say
how many runs and pairs counted). One exception in ``p_beats_reference``: a KPI in
:data:`UNDEFINED_IS_WORST` (``payback_day``: undefined means "not paid back within the
horizon") counts as worse than any defined value, and two undefined values tie.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from model.compare.spec import DIRECTIONS

QUANTILES = (0.1, 0.5, 0.9)
UNDEFINED_IS_WORST = frozenset({"payback_day"})

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
    "direction",
    "n",
    "n_pairs",
]


def band(values: np.ndarray | Sequence[float]) -> tuple[float, float, float]:
    """``(p10, median, p90)`` of the defined (finite) values; NaNs if there are none."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return (np.nan, np.nan, np.nan)
    p10, p50, p90 = np.quantile(arr, QUANTILES)
    return (float(p10), float(p50), float(p90))


def p_beats(
    strategy: np.ndarray | Sequence[float],
    reference: np.ndarray | Sequence[float],
    direction: str,
    *,
    undefined_is_worst: bool = False,
) -> float:
    """Share of paired replicates where ``strategy`` is better than ``reference``; ties count ½.

    Args:
        strategy: the strategy's KPI, one value per replicate.
        reference: the reference's KPI on the same replicates, in the same order.
        direction: ``"higher"`` or ``"lower"`` is better (``"neutral"``: no comparison).
        undefined_is_worst: NaN loses to any defined value (two NaNs tie) instead of dropping
            the pair.

    Returns:
        A share in [0, 1], or NaN when no pair counts or the KPI is ``"neutral"`` (descriptive:
        neither direction is better).
    """
    if direction == "neutral":
        return np.nan
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction = {direction!r}: must be 'higher', 'lower' or 'neutral'")
    a = np.asarray(strategy, dtype=float)
    b = np.asarray(reference, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired arrays differ in shape: {a.shape} vs {b.shape}")
    if direction == "lower":  # flip so that "higher is better" below
        a, b = -a, -b
    if undefined_is_worst:
        a = np.where(np.isnan(a), -np.inf, a)
        b = np.where(np.isnan(b), -np.inf, b)
    keep = ~(np.isnan(a) | np.isnan(b))
    if not keep.any():
        return np.nan
    a, b = a[keep], b[keep]
    wins = np.count_nonzero(a > b) + 0.5 * np.count_nonzero(a == b)
    return float(wins / a.size)


def paired(kpis: pd.DataFrame, metric: str, strategy: str, reference: str) -> pd.DataFrame:
    """The strategy's and the reference's values of one KPI side by side, by replicate."""
    # An inner join on replicate: a run that failed drops its pair (it is not "undefined").
    own = kpis.loc[kpis["strategy"] == strategy, ["replicate", metric]]
    ref = kpis.loc[kpis["strategy"] == reference, ["replicate", metric]]
    both = own.merge(ref, on="replicate", suffixes=("_s", "_r")).sort_values("replicate")
    return pd.DataFrame(
        {
            "strategy": pd.to_numeric(both[f"{metric}_s"], errors="coerce").astype(float).values,
            "reference": pd.to_numeric(both[f"{metric}_r"], errors="coerce").astype(float).values,
        },
        index=pd.Index(both["replicate"].to_numpy(), name="replicate"),
    )


def summarise(
    kpis: pd.DataFrame,
    reference: str,
    metrics: Sequence[str],
    *,
    directions: Mapping[str, str] = DIRECTIONS,
    strategies: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per strategy and KPI: bands, paired differences and P(beats the reference).

    Args:
        kpis: one row per run with ``strategy``, ``replicate`` and the KPI columns.
        reference: the strategy the others are judged against.
        metrics: the KPI columns to summarise.
        directions: ``"higher"``/``"lower"`` is better, per KPI.
        strategies: row order (default: order of first appearance in ``kpis``).

    Returns:
        A table with :data:`COLUMNS`.
    """
    if kpis.duplicated(["strategy", "replicate"]).any():
        raise ValueError("kpis has more than one row for some (strategy, replicate)")
    order = list(strategies) if strategies is not None else list(dict.fromkeys(kpis["strategy"]))
    if reference not in order:
        raise ValueError(f"reference {reference!r} is not among the strategies {order}")
    rows = []
    for name in order:
        own = kpis[kpis["strategy"] == name]
        for metric in metrics:
            direction = directions[metric]
            values = pd.to_numeric(own[metric], errors="coerce").to_numpy(dtype=float)
            p10, p50, p90 = band(values)
            pair = paired(kpis, metric, name, reference)
            both = pair.dropna()
            diff = (both["strategy"] - both["reference"]).to_numpy()
            if name == reference:
                # Exactly zero, not "x − x" in floating point with NaNs around it.
                diff = np.zeros(len(both))
            d10, d50, d90 = band(diff)
            rows.append(
                {
                    "strategy": name,
                    "metric": metric,
                    "median": p50,
                    "p10": p10,
                    "p90": p90,
                    "diff_vs_reference_median": d50,
                    "diff_vs_reference_p10": d10,
                    "diff_vs_reference_p90": d90,
                    "p_beats_reference": p_beats(
                        pair["strategy"].to_numpy(),
                        pair["reference"].to_numpy(),
                        direction,
                        undefined_is_worst=metric in UNDEFINED_IS_WORST,
                    ),
                    "direction": direction,
                    "n": int(np.isfinite(values).sum()),
                    "n_pairs": len(both),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def ranking(
    summary: pd.DataFrame, rank_by: str, *, directions: Mapping[str, str] = DIRECTIONS
) -> pd.DataFrame:
    """The strategies ordered best first by the median of ``rank_by``.

    Args:
        summary: the output of :func:`summarise`.
        rank_by: the KPI to rank by.
        directions: which way is better, per KPI.

    Returns:
        The ``rank_by`` rows of the summary, best first, with a ``rank`` column (1 = best).
        Strategies whose KPI is undefined in every run come last.
    """
    rows = summary[summary["metric"] == rank_by].copy()
    ascending = directions[rank_by] == "lower"
    rows = rows.sort_values("median", ascending=ascending, na_position="last", kind="stable")
    rows.insert(0, "rank", range(1, len(rows) + 1))
    return rows.reset_index(drop=True)
