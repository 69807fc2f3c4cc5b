"""The plots of one run: customers by state, contribution, where the money went.

Each axis carries one quantity in its unit (money in ¥k / ¥M through :mod:`model.formatting`):
daily and cumulative contribution are separate panels rather than twin axes whose zeros do not
line up. The x-axis is the run's ``day`` (other columns, such as a calendar ``date``, are
ignored). matplotlib only; the CLI selects the Agg backend.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from model import formatting as fmt

# The three domains a customer can be in once they have bought (prospects are left out: they
# dwarf the rest). Comparison plots draw the same columns in the same colours.
DOMAIN_COLUMNS = {"n_public": "public", "n_private": "private", "n_lapsed": "lapsed"}
DOMAIN_COLOURS = {"public": "#4C72B0", "private": "#55A868", "lapsed": "#C44E52"}
# What each state means, said on the plot: "lapsed" is easily read as "stopped buying", which
# is "dormant" here and cuts across the domains.
STATE_MEANING = {
    "public": "public: bought on a platform, not a member",
    "private": "private: member of the brand's pool",
    "lapsed": "lapsed: ex-member who unfollowed",
    "dormant": "of which dormant: stopped buying (any domain)",
}
DORMANT_COLOUR = "black"

# The costs of a run, grouped by who is paid. "Commission" is the brand paying its own guides
# or KOCs; the platform's take on each order is "platform fees".
PLATFORM_COSTS = {
    "platform_fees": "Platform fees: take rate on platform orders",
    "cost_ad": "Acquisition ads",
    "cost_retargeting": "Retargeting ads on repeat platform orders",
}
PRIVATE_COSTS = {
    "cost_discount": "Coupon discounts on push orders",
    "cost_incentive": "Red packets for joining",
    "cost_referral": "Referral rewards",
    "cost_commission": "Commission to guides / KOCs (not the platform's)",
    "cost_staff": "Staff: accounts, guides, content, groups",
    "cost_messaging": "Messages (pushes)",
    "cost_cards": "Package join cards",
    "cost_tools": "Tools (SCRM software)",
}
SIDE_COLOURS = {"platforms": "#4C72B0", "private": "#55A868"}


def _money_axis(axis) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _p: fmt.yuan(v, compact=True)))


def _new_axes(ax, size=(8, 4.5)):
    return ax if ax is not None else plt.subplots(figsize=size)[1]


def ban_spans(daily: pd.DataFrame) -> list[tuple[int, int]]:
    """First and last day of each stretch when at least one platform bans the brand."""
    if "n_platforms_banned" not in daily:
        return []
    banned = (daily["n_platforms_banned"].to_numpy() > 0).astype(int)
    edges = np.diff(np.concatenate([[0], banned, [0]]))
    days = daily["day"].to_numpy()
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(int(days[a]), int(days[b])) for a, b in zip(starts, ends, strict=True)]


def _shade_bans(ax, daily: pd.DataFrame) -> None:
    # A ban explains a dip: shade its days (labelled once, for the legend).
    for i, (first, last) in enumerate(ban_spans(daily)):
        ax.axvspan(
            first - 0.5,
            last + 0.5,
            color="grey",
            alpha=0.15,
            lw=0,
            label="platform ban" if i == 0 else None,
        )


def dormant(daily: pd.DataFrame) -> pd.Series:
    """Customers who stopped buying, in any domain: everyone who bought minus the active."""
    customers = sum(daily[c] for c in DOMAIN_COLUMNS)
    return customers - daily["n_active"]


def customers_by_domain(daily: pd.DataFrame, ax=None, title: str = "Customers by domain"):
    """Customers per domain over time, stacked, with the dormant among them as a line."""
    ax = _new_axes(ax)
    labels = list(DOMAIN_COLUMNS.values())
    ax.stackplot(
        daily["day"],
        *[daily[c] for c in DOMAIN_COLUMNS],
        labels=[STATE_MEANING[name] for name in labels],
        colors=[DOMAIN_COLOURS[name] for name in labels],
        alpha=0.85,
    )
    if "n_active" in daily:
        ax.plot(
            daily["day"],
            dormant(daily),
            color=DORMANT_COLOUR,
            lw=1.4,
            ls="--",
            label=STATE_MEANING["dormant"],
        )
    _shade_bans(ax, daily)
    ax.set(title=title, xlabel="day", ylabel="customers (prospects not shown)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt.count(v, compact=True)))
    ax.set_xlim(daily["day"].min(), daily["day"].max())
    ax.legend(loc="upper left", fontsize="small")
    return ax


def contribution_daily(daily: pd.DataFrame, ax=None, title: str = "Daily contribution"):
    """Each day's contribution (bars) and its 7-day mean (line), ¥ a day."""
    ax = _new_axes(ax)
    values = daily["contribution"]
    colours = np.where(values >= 0, "#8172B2", "#C44E52")
    ax.bar(daily["day"], values, color=colours, alpha=0.45, width=1.0, label="day")
    ax.plot(
        daily["day"],
        values.rolling(7, min_periods=1).mean(),
        color="#3B2F7A",
        lw=1.3,
        label="7-day mean",
    )
    ax.axhline(0, color="grey", lw=0.6)
    _shade_bans(ax, daily)
    ax.set(title=title, xlabel="day", ylabel="contribution a day")
    _money_axis(ax.yaxis)
    ax.legend(loc="upper left", fontsize="small")
    return ax


def contribution_cumulative(daily: pd.DataFrame, ax=None, title: str = "Cumulative contribution"):
    """Contribution summed from day 0 (one line, with the zero line), ¥."""
    ax = _new_axes(ax)
    cum = daily["cum_contribution"]
    ax.plot(daily["day"], cum, color="black", lw=1.8)
    ax.axhline(0, color="grey", lw=0.6)
    _shade_bans(ax, daily)
    ax.set(title=title, xlabel="day", ylabel="contribution since day 0")
    _money_axis(ax.yaxis)
    # The final total in words, in a corner the line leaves free (low when it ends above 0).
    last = float(cum.iloc[-1])
    ax.text(
        0.99,
        0.05 if last >= 0 else 0.94,
        f"day {int(daily['day'].iloc[-1])}: {fmt.yuan(last, compact=True)}",
        transform=ax.transAxes,
        ha="right",
        va="bottom" if last >= 0 else "top",
        fontsize="small",
    )
    return ax


def contribution(daily: pd.DataFrame, axes=None):
    """Daily contribution above, cumulative below: two panels, one quantity each."""
    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True)
        fig.suptitle("Contribution: gross profit − platform fees − marketing cost")
    top, bottom = axes
    contribution_daily(daily, top)
    contribution_cumulative(daily, bottom)
    top.set_xlabel("")
    return axes


def cost_totals(daily: pd.DataFrame) -> pd.DataFrame:
    """Every cost of the run over the horizon: ``line, label, side, yuan, share``."""
    rows = [
        (line, label, side, float(daily[line].sum()) if line in daily else 0.0)
        for side, lines in (("platforms", PLATFORM_COSTS), ("private", PRIVATE_COSTS))
        for line, label in lines.items()
    ]
    table = pd.DataFrame(rows, columns=["line", "label", "side", "yuan"])
    total = table["yuan"].sum()
    table["share"] = table["yuan"] / total if total > 0 else np.nan
    return table


def cost_breakdown(daily: pd.DataFrame, ax=None, title: str = "Where the money went"):
    """Every cost over the horizon as a bar, paid to platforms first, each with ¥ and share.

    Bars make the small lines readable next to ad spend (a stacked area hides them); every
    line is listed, at ¥0 too, so two runs' plots line up row for row.
    """
    ax = _new_axes(ax, size=(8, 5))
    table = cost_totals(daily)
    y = np.arange(len(table))
    ax.barh(y, table["yuan"], color=[SIDE_COLOURS[s] for s in table["side"]], alpha=0.85)
    ax.set_yticks(y, table["label"], fontsize="small")
    ax.invert_yaxis()
    top = float(table["yuan"].max()) or 1.0
    ax.set_xlim(0, top * 1.35)  # room for the value written after the longest bar
    for i, (value, share) in enumerate(zip(table["yuan"], table["share"], strict=True)):
        text = fmt.yuan(value, compact=True)
        if np.isfinite(share) and value > 0:
            text += f"  {fmt.percent(share)}"
        ax.text(value + top * 0.01, i, text, va="center", fontsize="small")
    _money_axis(ax.xaxis)
    ax.set(title=title, xlabel="total over the run")
    sides = table.groupby("side")["yuan"].sum()
    names = {"platforms": "paid to platforms", "private": "private domain"}
    handles = [plt.Rectangle((0, 0), 1, 1, color=SIDE_COLOURS[s], alpha=0.85) for s in names]
    ax.legend(
        handles,
        [f"{name} {fmt.yuan(sides.get(side, 0.0), compact=True)}" for side, name in names.items()],
        loc="lower right",
        fontsize="small",
    )
    ax.grid(axis="x", alpha=0.3)
    return ax


def save(fig, path) -> None:
    """Write a figure as PNG and free it."""
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_overview(daily: pd.DataFrame, title: str = "", path=None):
    """The run's plots in one figure; saved to ``path`` when given.

    Left: customers by domain above, where the money went below. Right: daily contribution
    above cumulative contribution, on one day axis.
    """
    fig = plt.figure(figsize=(15, 9), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(1, 1))
    customers_by_domain(daily, fig.add_subplot(grid[0, 0]))
    cost_breakdown(daily, fig.add_subplot(grid[1, 0]))
    day_ax = fig.add_subplot(grid[0, 1])
    contribution(daily, (day_ax, fig.add_subplot(grid[1, 1], sharex=day_ax)))
    if title:
        fig.suptitle(title)
    if path is not None:
        save(fig, path)
    return fig


def write_run_plots(daily: pd.DataFrame, out_dir) -> list[str]:
    """The run command's PNGs: one file per view, so each can go into a slide."""
    views = {
        "customers_by_domain.png": lambda: customers_by_domain(daily).figure,
        "contribution.png": lambda: contribution(daily)[0].figure,
        "cost_breakdown.png": lambda: cost_breakdown(daily).figure,
    }
    for name, draw in views.items():
        save(draw(), out_dir / name)
    return list(views)
