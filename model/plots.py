"""Plots people would rather look at than read (matplotlib; the CLI selects the Agg backend)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from model.ledger import COST_LINES

DOMAIN_COLUMNS = {"n_public": "public", "n_private": "private", "n_lapsed": "lapsed"}
DOMAIN_COLOURS = {"public": "#4C72B0", "private": "#55A868", "lapsed": "#C44E52"}


def customers_by_domain(daily: pd.DataFrame, ax=None, title: str = "Customers by domain"):
    """Stacked customers per domain over time (prospects left out: they dwarf the rest)."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    ax.stackplot(
        daily["day"],
        *[daily[c] for c in DOMAIN_COLUMNS],
        labels=list(DOMAIN_COLUMNS.values()),
        colors=list(DOMAIN_COLOURS.values()),
        alpha=0.85,
    )
    ax.set(title=title, xlabel="day", ylabel="customers")
    ax.legend(loc="upper left")
    return ax


def contribution(daily: pd.DataFrame, ax=None, title: str = "Contribution"):
    """Daily contribution (bars) and cumulative contribution (line), yuan."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    ax.bar(daily["day"], daily["contribution"], color="#8172B2", alpha=0.5, label="daily", width=1)
    ax.set(title=title, xlabel="day", ylabel="daily (¥)")
    twin = ax.twinx()
    twin.plot(daily["day"], daily["cum_contribution"], color="black", label="cumulative")
    twin.axhline(0, color="grey", lw=0.5)
    twin.set_ylabel("cumulative (¥)")
    ax.legend(loc="upper left")
    twin.legend(loc="lower right")
    return ax


def cost_breakdown(daily: pd.DataFrame, ax=None, title: str = "Cost breakdown"):
    """Cumulative cost per ledger line, stacked over time."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    lines = [c for c in COST_LINES if daily[c].sum() > 0]
    ax.stackplot(
        daily["day"],
        *[daily[c].cumsum() for c in lines],
        labels=[c.removeprefix("cost_") for c in lines],
        alpha=0.85,
    )
    ax.set(title=title, xlabel="day", ylabel="cumulative cost (¥)")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def save(fig, path) -> None:
    """Write a figure as PNG and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_overview(daily: pd.DataFrame, title: str = "", path=None):
    """The three run plots side by side; saved to ``path`` when given."""
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.5))
    customers_by_domain(daily, axes[0])
    contribution(daily, axes[1])
    cost_breakdown(daily, axes[2])
    if title:
        fig.suptitle(title)
    if path is not None:
        save(fig, path)
    return fig


def write_run_plots(daily: pd.DataFrame, out_dir) -> list[str]:
    """The run command's PNGs: one file per plot, so each can go into a slide."""
    written = []
    for name, draw in (
        ("customers_by_domain.png", customers_by_domain),
        ("contribution.png", contribution),
        ("cost_breakdown.png", cost_breakdown),
    ):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        draw(daily, ax)
        save(fig, out_dir / name)
        written.append(name)
    return written
