"""Summaries of a comparison: pure functions on KPI tables, no files, no simulation.

The summary itself is the robust verdict's (:func:`model.verdict.robust_summary`): per strategy
and KPI, the median and 10–90% band over cells, the paired difference with the reference and
its band, P(beats the reference) and P(best) with intervals, expected and 90th-percentile
regret, and the minimax-regret choice. Directions come from the KPI registry; a neutral KPI is
summarised, never ranked. :func:`summarise` is its noise-only view (one draw: the columns a
comparison had before parameter draws), kept for callers that need only those.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from model.compare.spec import DIRECTIONS
from model.metrics import paired_payback_day
from model.verdict import robust_summary

#: The columns of the noise-only summary (a prefix of the robust summary's, plus counts).
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
        kpis: one row per run with ``strategy``, ``replicate`` and the KPI columns (and
            ``draw`` when the market was drawn).
        reference: the strategy the others are judged against.
        metrics: the KPI columns to summarise.
        directions: ``"higher"``/``"lower"``/``"neutral"`` per KPI (default: the registry).
        strategies: row order (default: order of first appearance in ``kpis``).

    Returns:
        A table with :data:`COLUMNS`.
    """
    full = robust_summary(kpis, reference, metrics, directions=directions, strategies=strategies)
    return full[COLUMNS]


def ranking(
    summary: pd.DataFrame, rank_by: str, *, directions: Mapping[str, str] = DIRECTIONS
) -> pd.DataFrame:
    """The strategies ordered best first by the median of ``rank_by``.

    Args:
        summary: the output of :func:`summarise` or :func:`model.verdict.robust_summary`.
        rank_by: the KPI to rank by (not a neutral one).
        directions: which way is better, per KPI.

    Returns:
        The ``rank_by`` rows of the summary, best first, with a ``rank`` column (1 = best).
        Strategies whose KPI is undefined in every run come last.

    Raises:
        ValueError: ``rank_by`` is neutral (descriptive: never ranked).
    """
    if directions.get(rank_by) not in ("higher", "lower"):
        raise ValueError(f"{rank_by!r} has no better direction: it is summarised, not ranked")
    rows = summary[summary["metric"] == rank_by].copy()
    ascending = directions[rank_by] == "lower"
    rows = rows.sort_values("median", ascending=ascending, na_position="last", kind="stable")
    rows.insert(0, "rank", range(1, len(rows) + 1))
    return rows.reset_index(drop=True)


def paired_payback(
    kpis: pd.DataFrame, daily: Mapping[tuple[str, int, int], pd.DataFrame], reference: str
) -> pd.Series:
    """Per run, the private domain's payback day against the reference on the same cell.

    The first day from which the run's cumulative contribution stays ahead of the reference's
    run of the same (draw, replicate) (:func:`model.metrics.paired_payback_day`); NaN when it
    never does within the horizon, and for the reference itself (nothing to pay back against).

    Args:
        kpis: one row per run with ``strategy``, ``draw`` and ``replicate``.
        daily: each run's daily table by (strategy, draw, replicate), with ``cum_contribution``.
        reference: the reference strategy.
    """
    values = []
    for strategy, draw, rep in zip(kpis["strategy"], kpis["draw"], kpis["replicate"], strict=True):
        own, ref = daily.get((strategy, draw, rep)), daily.get((reference, draw, rep))
        day = None
        if strategy != reference and own is not None and ref is not None:
            day = paired_payback_day(
                own["cum_contribution"].to_numpy(), ref["cum_contribution"].to_numpy()
            )
        values.append(math.nan if day is None else float(day))
    return pd.Series(values, index=kpis.index, name="payback_day", dtype=float)
