"""Posterior-predictive and fan-chart plots (matplotlib; the CLI selects the Agg backend)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from model.formatting import count, yuan

TITLES = {
    "n_private": "Private pool (month end)",
    "n_public": "Public customers (month end)",
    "n_lapsed": "Lapsed members (month end)",
    "joins": "Joins per month",
    "unfollows": "Unfollows per month",
    "orders": "Orders per month",
    "contribution": "Contribution per month (¥)",
    "cum_contribution": "Cumulative contribution (¥)",
}
COLOUR = "#55A868"
#: Panels in yuan: their ticks read ¥k / ¥M instead of a 1e6 offset.
MONEY = ("contribution", "cum_contribution")


def _grid(n: int, width: float = 4.2, height: float = 3.2):
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _axes(ax, metric: str) -> None:
    """Whole months on x (never 1.5); on y money as ¥k / ¥M, counts with separators."""
    ax.set_xlabel("month (30 days)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if metric in MONEY:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: yuan(v, compact=True)))
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: count(v)))


def posterior_predictive(
    observed: pd.DataFrame, predictive: pd.DataFrame, path: str | Path | None = None
):
    """Observed series as points over the median and 90% band of posterior simulations.

    Args:
        observed: ``month`` and one column per series.
        predictive: ``month, series, p05, p50, p95``.
        path: write a PNG here (and close the figure) if given.

    Returns:
        The figure.
    """
    columns = [c for c in observed.columns if c not in ("month", "label")]
    fig, axes = _grid(len(columns))
    for ax, col in zip(axes, columns, strict=True):
        band = predictive[predictive["series"] == col].sort_values("month")
        ax.fill_between(
            band["month"],
            band["p05"],
            band["p95"],
            color=COLOUR,
            alpha=0.3,
            label="90% of posterior simulations",
        )
        ax.plot(band["month"], band["p50"], color=COLOUR, label="median")
        ax.plot(observed["month"], observed[col], "o", color="black", ms=4, label="observed")
        ax.set_title(TITLES.get(col, col))
        _axes(ax, col)
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle("Posterior predictive check")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110, format="png")
        plt.close(fig)
    return fig


def fan_chart(bands: pd.DataFrame, path: str | Path | None = None, title: str = "Forecast"):
    """One panel per KPI: median line, 50% (p25–p75) and 90% (p05–p95) bands by month.

    Args:
        bands: ``month, metric, p05, p25, p50, p75, p95``.
        path: write a PNG here (and close the figure) if given.
        title: figure title.

    Returns:
        The figure.
    """
    metrics = list(dict.fromkeys(bands["metric"]))
    fig, axes = _grid(len(metrics))
    for ax, metric in zip(axes, metrics, strict=True):
        b = bands[bands["metric"] == metric].sort_values("month")
        ax.fill_between(b["month"], b["p05"], b["p95"], color=COLOUR, alpha=0.2, label="90%")
        ax.fill_between(b["month"], b["p25"], b["p75"], color=COLOUR, alpha=0.45, label="50%")
        ax.plot(b["month"], b["p50"], color="black", lw=1.2, label="median")
        ax.set_title(TITLES.get(metric, metric))
        _axes(ax, metric)
        if np.all(b["p05"] >= 0):
            ax.set_ylim(bottom=0)
        else:
            ax.axhline(0, color="grey", lw=0.5)
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110, format="png")
        plt.close(fig)
    return fig
