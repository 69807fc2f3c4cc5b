"""Comparison plots: KPI distributions, paired differences, a contribution fan, customers by domain.

Every function takes plain tables (no simulation) and returns the figure (the CLI selects the
Agg backend); :func:`write_comparison_plots` saves them as PNG for the report and for slides.
Axes show values in their unit (¥k / ¥M, %, days) through :mod:`model.formatting`, and KPIs by
their registry label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from model import formatting as fmt
from model.compare.spec import DIRECTIONS
from model.kpis import HEADLINE, KPIS
from model.plots import DOMAIN_COLOURS, DOMAIN_COLUMNS, save

# The KPIs in the distribution grid: the registry's headline KPIs that have a better direction.
DISTRIBUTION_KPIS = tuple(k for k in HEADLINE if KPIS[k].direction != "neutral")


def unit_axis(axis, metric: str, *, diff: bool = False) -> None:
    """Tick labels of a KPI axis in the KPI's unit (¥k / ¥M, %, days); at most 6 ticks.

    Units too long for a tick (per 1,000 pushes, per member per month) are left to the title.
    """
    axis.set_major_locator(MaxNLocator(6))
    if metric in KPIS and KPIS[metric].unit not in ("per_1000", "rate"):
        axis.set_major_formatter(
            FuncFormatter(lambda x, _pos: fmt.format_kpi(metric, x, compact=True, diff=diff))
        )


def _pairs(kpis: pd.DataFrame, strategy: str, reference: str, metric: str) -> np.ndarray:
    """Strategy − reference of one KPI on every common cell (draw, replicate)."""
    cell = [c for c in ("draw", "replicate") if c in kpis]
    own = kpis[kpis["strategy"] == strategy].set_index(cell)[metric].astype(float)
    ref = kpis[kpis["strategy"] == reference].set_index(cell)[metric].astype(float)
    return (own - ref).dropna().to_numpy()


def _colours(names: Sequence[str]) -> dict[str, str]:
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {name: cycle[i % len(cycle)] for i, name in enumerate(names)}


def kpi_distributions(
    kpis: pd.DataFrame,
    strategies: Sequence[str],
    metrics: Sequence[str],
    *,
    reference: str | None = None,
    directions: Mapping[str, str] | None = None,
):
    """One panel per KPI: each strategy's replicates as dots over a 10–50–90% bar.

    Args:
        kpis: one row per run (strategy, replicate, KPI columns).
        strategies: the strategies in display order.
        metrics: KPI columns to draw (undefined everywhere: skipped).
        reference: drawn in bold on the axis.
        directions: "higher"/"lower" per KPI, shown in the panel title.
    """
    metrics = [m for m in metrics if m in kpis and kpis[m].notna().any()]
    ncols = min(3, max(1, len(metrics)))
    nrows = max(1, math.ceil(len(metrics) / ncols))
    height = 0.45 * len(strategies) + 1.4
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, height * nrows), squeeze=False)
    colours = _colours(strategies)
    rng = np.random.default_rng(0)  # jitter only: fixed so the PNG is reproducible
    for ax, metric in zip(axes.flat, metrics, strict=False):
        for y, name in enumerate(strategies):
            values = kpis.loc[kpis["strategy"] == name, metric].astype(float).dropna().to_numpy()
            if values.size == 0:
                continue
            p10, p50, p90 = np.quantile(values, (0.1, 0.5, 0.9))
            ax.hlines(y, p10, p90, color=colours[name], lw=5, alpha=0.35)
            ax.plot([p50], [y], marker="|", ms=16, mew=2.5, color=colours[name])
            jitter = rng.uniform(-0.18, 0.18, values.size)
            ax.scatter(values, y + jitter, s=8, color=colours[name], alpha=0.6, lw=0)
        ax.set_yticks(range(len(strategies)), strategies)
        for label in ax.get_yticklabels():
            if label.get_text() == reference:
                label.set_fontweight("bold")
        ax.invert_yaxis()
        arrow = ""
        if directions and directions.get(metric) in ("higher", "lower"):
            arrow = f" ({directions[metric]} is better)"
        label = fmt.kpi_label(metric, with_unit=True) if metric in KPIS else metric
        ax.set_title(f"{label}{arrow}", fontsize="medium")
        unit_axis(ax.xaxis, metric)
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    fig.suptitle("KPIs over cells (draw × replicate): dots are runs, bar 10–90%, tick median")
    return fig


def contribution_fan(series: Mapping[str, pd.DataFrame], *, metric: str = "cum_contribution"):
    """Cumulative contribution over time per strategy: the median and a 10–90% band.

    Args:
        series: per strategy, a day × replicate table of the metric.
        metric: the metric's name, for the axis label.
    """
    fig, ax = plt.subplots(figsize=(10, 5.5))
    colours = _colours(list(series))
    for name, table in series.items():
        q = table.quantile([0.1, 0.5, 0.9], axis=1).T
        ax.fill_between(q.index, q[0.1], q[0.9], color=colours[name], alpha=0.2, lw=0)
        ax.plot(q.index, q[0.5], color=colours[name], label=name, lw=2)
    ax.axhline(0, color="grey", lw=0.6)
    ax.set(
        title="Cumulative contribution: median and 10–90% band over cells",
        xlabel="day",
        ylabel="cumulative contribution",
    )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: fmt.yuan(x, compact=True)))
    ax.legend(loc="best", frameon=True)
    ax.grid(alpha=0.3)
    return fig


def customers_by_domain(domains: Mapping[str, Mapping[str, pd.DataFrame]]):
    """Customers per domain over time, one panel per strategy (median and 10–90% band).

    Args:
        domains: per strategy, per domain column (``n_public``, ``n_private``, ``n_lapsed``), a
            day × replicate table.
    """
    names = list(domains)
    ncols = min(2, max(1, len(names)))
    nrows = max(1, math.ceil(len(names) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(7 * ncols, 3.8 * nrows), squeeze=False, sharey=True
    )
    for ax, name in zip(axes.flat, names, strict=False):
        for column, label in DOMAIN_COLUMNS.items():
            table = domains[name].get(column)
            if table is None:
                continue
            q = table.quantile([0.1, 0.5, 0.9], axis=1).T
            colour = DOMAIN_COLOURS[label]
            ax.fill_between(q.index, q[0.1], q[0.9], color=colour, alpha=0.2, lw=0)
            ax.plot(q.index, q[0.5], color=colour, label=label, lw=2)
        ax.set(title=name, xlabel="day", ylabel="customers")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize="small")
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(
        "Customers by domain (median and 10–90% band over cells); lapsed = former "
        "members, dormant platform buyers stay public"
    )
    return fig


def paired_differences(kpis: pd.DataFrame, strategies: Sequence[str], reference: str, metric: str):
    """Strategy − reference on the same cell, one row per strategy (common draws and seeds)."""
    others = [s for s in strategies if s != reference]
    fig, ax = plt.subplots(figsize=(9, 0.6 * max(1, len(others)) + 1.6))
    colours = _colours(strategies)
    rng = np.random.default_rng(0)
    for y, name in enumerate(others):
        diff = _pairs(kpis, name, reference, metric)
        if diff.size == 0:
            continue
        p10, p50, p90 = np.quantile(diff, (0.1, 0.5, 0.9))
        ax.hlines(y, p10, p90, color=colours[name], lw=6, alpha=0.35)
        ax.plot([p50], [y], marker="|", ms=18, mew=2.5, color=colours[name])
        ax.scatter(
            diff, y + rng.uniform(-0.15, 0.15, diff.size), s=9, color=colours[name], alpha=0.6, lw=0
        )
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(others)), others)
    ax.invert_yaxis()
    label = fmt.kpi_label(metric) if metric in KPIS else metric
    ax.set(
        title=f"{label}: paired difference vs {reference} (same market draw and seed)",
        xlabel=f"{label} − {reference}",
    )
    unit_axis(ax.xaxis, metric, diff=True)
    ax.grid(axis="x", alpha=0.3)
    return fig


def write_comparison_plots(result, out_dir: str | Path) -> list[str]:
    """Write the comparison's PNGs into ``out_dir``; return their file names in report order.

    Args:
        result: a :class:`model.compare.result.ComparisonResult`.
        out_dir: an existing directory.
    """
    out_dir = Path(out_dir)
    spec = result.spec
    names = spec.names
    written: list[tuple[str, object]] = []
    metrics = [m for m in DISTRIBUTION_KPIS if m in spec.kpis] or list(spec.kpis)[:9]
    written.append(
        (
            "kpi_distributions.png",
            kpi_distributions(
                result.kpis, names, metrics, reference=spec.reference, directions=DIRECTIONS
            ),
        )
    )
    if len(names) > 1:
        written.append(
            (
                "paired_differences.png",
                paired_differences(result.kpis, names, spec.reference, spec.rank_by),
            )
        )
    written.append(("contribution_fan.png", contribution_fan(result.series("cum_contribution"))))
    per_domain = {column: result.series(column) for column in DOMAIN_COLUMNS}
    domains = {
        name: {col: per_domain[col][name] for col in DOMAIN_COLUMNS if name in per_domain[col]}
        for name in names
    }
    written.append(("customers_by_domain.png", customers_by_domain(domains)))
    for filename, fig in written:
        save(fig, out_dir / filename)
    return [filename for filename, _ in written]
