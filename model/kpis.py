"""The KPI registry: every KPI a run reports, defined once.

Each KPI has a direction (which way is better), a unit, a label and a one-line definition, and
says whether it is a headline (shown first: in the run's terminal table, a comparison's
defaults, the distribution plots). Every list of KPIs elsewhere — comparison defaults, sweep
names, ranking directions, plot grids, formatted tables — is derived from :data:`KPIS`, so a
KPI's direction or unit can never disagree between two places. ``model/metrics.py`` computes
the values; this module only describes them (it imports nothing from the package).

Directions are explicit on purpose: a KPI missing here is an error, never a silent "higher is
better" (a cost ranked upside down is exactly the mistake this table exists to prevent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower", "neutral"]

# Units a formatter knows how to show.
#   yuan        money, ¥ with thousands separators (¥k / ¥M where columns are narrow)
#   ratio       a dimensionless multiple (ROI: contribution per yuan of marketing cost)
#   share       a fraction in [0, 1], shown as a percentage
#   days        a day count or day index
#   count       people, orders, groups
#   per_1000    events per 1,000 of something (unfollows per 1,000 pushes)
#   rate        events per member per month (the K-factor)
Unit = Literal["yuan", "ratio", "share", "days", "count", "per_1000", "rate"]


@dataclass(frozen=True)
class KPI:
    """One KPI's definition.

    Attributes:
        name: the key in ``SimulationResult.summary()`` and in every output table.
        direction: ``"higher"`` or ``"lower"`` is better; ``"neutral"`` for quantities that are
            descriptive only (ranking by them is refused).
        unit: how the value is measured and shown (see ``Unit``).
        label: a short human label for tables and plots.
        definition: one line saying exactly what is counted.
        headline: shown first (terminal table, comparison defaults, distribution plots).
    """

    name: str
    direction: Direction
    unit: Unit
    label: str
    definition: str
    headline: bool = False


def _k(
    name: str,
    direction: Direction,
    unit: Unit,
    label: str,
    definition: str,
    headline: bool = False,
) -> KPI:
    return KPI(name, direction, unit, label, definition, headline)


_DEFINITIONS: tuple[KPI, ...] = (
    # --- value: the horizon's cash plus what the customers are still worth (model/valuation.py)
    _k(
        "value_created",
        "higher",
        "yuan",
        "Value created",
        "npv_contribution + residual_value: the year's discounted contribution plus the "
        "customers' expected discounted contribution after it (both valued at day 0)",
        True,
    ),
    _k(
        "npv_contribution",
        "higher",
        "yuan",
        "NPV of contribution",
        "daily contribution discounted to day 0 at market.discount_rate_per_year",
    ),
    _k(
        "residual_value",
        "higher",
        "yuan",
        "Residual value",
        "customers active at the horizon: expected discounted contribution of their future "
        "orders, no acquisition, pushes or joins after it, discounted to day 0",
        True,
    ),
    _k(
        "value_created_per_capita",
        "higher",
        "yuan",
        "Value created per person",
        "value_created / people in the market simulated (compares across market.scale)",
    ),
    _k(
        "contribution_per_capita",
        "higher",
        "yuan",
        "Contribution per person",
        "contribution / people in the market simulated (compares across market.scale)",
    ),
    # --- money over the horizon ---------------------------------------------------------------
    _k(
        "contribution",
        "higher",
        "yuan",
        "Contribution",
        "gross profit − platform fees − marketing cost, summed over the horizon",
        True,
    ),
    _k("roi", "higher", "ratio", "ROI", "contribution / marketing cost", True),
    _k("revenue", "higher", "yuan", "Revenue", "order value after discounts, all channels", True),
    _k(
        "cost_marketing",
        "lower",
        "yuan",
        "Marketing cost",
        "acquisition and retargeting ads + coupon discounts + incentives + referral rewards "
        "+ commissions + staff + messaging + join cards + tools",
        True,
    ),
    _k(
        "cac_paid",
        "lower",
        "yuan",
        "Paid CAC",
        "acquisition ad spend (retargeting excluded) / customers acquired by paid ads",
        True,
    ),
    _k(
        "cost_per_private_member",
        "lower",
        "yuan",
        "Cost per member",
        "private-side costs (all marketing but platform ads) / members who joined (diverted "
        "+ referred)",
        True,
    ),
    # --- repurchase and lifetime value -------------------------------------------------------
    # On the cohorts the run acquired (paid ads, referral): the day-0 base's first order is
    # synthetic, so the base is reported apart (``*_initial``). One window convention: W days
    # from the first order's day (ages 0 … W − 1), among customers whose whole window is in the
    # run (model.metrics.observed_for).
    *(
        _k(
            f"repurchase_rate_{w}d",
            "higher",
            "share",
            f"Repurchase within {w} days",
            f"acquired customers (paid, referral) with a second order within {w} days of the "
            f"first, among those whose whole {w}-day window is in the run",
            w == 90,
        )
        for w in (30, 90, 180)
    ),
    _k(
        "repeat_customer_share",
        "higher",
        "share",
        "Repeat customers",
        "acquired customers (paid, referral) with two or more orders / acquired customers",
    ),
    *(
        _k(
            f"repurchase_rate_{w}d_initial",
            "higher",
            "share",
            f"Day-0 base: an order within {w} days",
            f"day-0 base customers with an order in the first {w} days of the run (their first "
            "order, before the run, is synthetic)",
        )
        for w in (30, 90, 180)
    ),
    _k(
        "repeat_customer_share_initial",
        "higher",
        "share",
        "Day-0 base: buyers",
        "day-0 base customers with at least one order in the run / the base",
    ),
    *(
        _k(
            f"ltv_{w}",
            "higher",
            "yuan",
            f"LTV {w} days",
            f"mean contribution per acquired customer (paid, referral) in the {w} days from the "
            f"first order, among those whose whole window is in the run (n/a if none is)",
            w == 180,
        )
        for w in (180, 365)
    ),
    # --- the private domain ------------------------------------------------------------------
    _k(
        "share_private_gmv",
        "higher",
        "share",
        "Private share of GMV",
        "private-channel revenue / revenue",
        True,
    ),
    _k(
        "unfollows_per_1000_pushes",
        "lower",
        "per_1000",
        "Unfollows per 1,000 pushes",
        "members who unfollowed per 1,000 messages sent",
        True,
    ),
    _k(
        "k_factor",
        "higher",
        "rate",
        "K-factor",
        "referred joins per member per month (30 days)",
        True,
    ),
    # --- final stocks ------------------------------------------------------------------------
    _k(
        "n_prospect",
        "neutral",
        "count",
        "Prospects left",
        "people in the market who never bought, at the end",
    ),
    # Moving a platform buyer into the pool lowers n_public: neither direction is "better".
    _k(
        "n_public",
        "neutral",
        "count",
        "Platform customers",
        "customers who bought on a platform and are not members, at the end",
        True,
    ),
    _k(
        "n_private",
        "higher",
        "count",
        "Pool members",
        "members of the brand's private pool at the end",
        True,
    ),
    _k(
        "n_lapsed",
        "lower",
        "count",
        "Lapsed ex-members",
        "ex-members who unfollowed (dormant platform buyers stay 'platform customers')",
        True,
    ),
    _k(
        "n_active",
        "higher",
        "count",
        "Active customers",
        "customers still buying (BG/NBD 'alive') at the end",
    ),
    _k(
        "n_groups",
        "neutral",
        "count",
        "Community groups",
        "community groups with at least one member at the end",
    ),
    _k(
        "n_holders",
        "neutral",
        "count",
        "Accounts or guides",
        "WeCom accounts (persona, distribution) or guides (guides mode) employed at the end",
    ),
    # --- totals over the horizon -------------------------------------------------------------
    _k(
        "cum_new_paid",
        "higher",
        "count",
        "Paid acquisitions",
        "customers acquired by paid ads over the horizon",
    ),
    _k(
        "cum_new_diverted",
        "higher",
        "count",
        "Diverted joins",
        "platform buyers who joined the pool over the horizon",
    ),
    _k(
        "cum_new_referred",
        "higher",
        "count",
        "Referred joins",
        "prospects brought in by members' referrals over the horizon",
    ),
    _k(
        "cum_new_unfollowed",
        "lower",
        "count",
        "Unfollows",
        "members who unfollowed over the horizon",
    ),
    _k(
        "cum_messages_sent",
        "neutral",
        "count",
        "Messages sent",
        "push messages sent over the horizon",
    ),
    _k(
        "cum_new_dormant_ban",
        "lower",
        "count",
        "Lost to bans",
        "customers gone dormant because of a ban: dropout after an order lost to it, or "
        "defection on a ban day",
    ),
    _k("orders", "higher", "count", "Orders", "orders in all channels over the horizon"),
    _k(
        "cost_retargeting",
        "lower",
        "yuan",
        "Retargeting",
        "ad spend to keep reaching past buyers: its share of every repeat platform order",
    ),
    # --- incremental accounting of members' orders (PrivateDomainModel._book_orders) ---------
    _k(
        "contribution_incremental",
        "higher",
        "yuan",
        "Incremental contribution",
        "members' orders' contribution beyond what they would have brought anyway at their base "
        "rate on their home platform (referred customers: all of it), before staff and tools",
    ),
    _k(
        "gmv_incremental",
        "higher",
        "yuan",
        "Incremental GMV",
        "members' order value beyond their base rate (uplift, extra push orders, referred "
        "customers)",
    ),
    _k(
        "gmv_channel_shifted",
        "neutral",
        "yuan",
        "Channel-shifted GMV",
        "private-channel order value members would have placed on their platform anyway",
    ),
    _k(
        "share_holders_profitable",
        "higher",
        "share",
        "Profitable accounts or guides",
        "accounts or guides (released ones included) whose members' incremental contribution "
        "exceeds their own cost (operator or salary); n/a: public only",
    ),
)

# LTV per acquisition source: the same window convention, one cohort each.
_SOURCES = {"initial": "the day-0 base", "paid": "paid ads", "referral": "referral"}
_BY_SOURCE = tuple(
    _k(
        f"ltv_{w}_{source}",
        "higher",
        "yuan",
        f"LTV {w} days ({source})",
        f"mean contribution per customer acquired by {who} in the {w} days from the first order "
        "(the base's: from day 0), among those whose whole window is in the run",
    )
    for w in (180, 365)
    for source, who in _SOURCES.items()
)

KPIS: dict[str, KPI] = {k.name: k for k in (*_DEFINITIONS, *_BY_SOURCE)}

#: Names of the KPIs shown first, in registry order.
HEADLINE: tuple[str, ...] = tuple(k.name for k in KPIS.values() if k.headline)

#: Which way is better, for every KPI that can be ranked.
DIRECTIONS: dict[str, str] = {
    k.name: k.direction for k in KPIS.values() if k.direction != "neutral"
}


def kpi(name: str) -> KPI:
    """The definition of one KPI (KeyError naming the allowed ones if unknown)."""
    try:
        return KPIS[name]
    except KeyError:
        raise KeyError(f"unknown KPI {name!r}; known: {', '.join(KPIS)}") from None
