"""The scenario schema: every parameter the simulator reads, defined once.

A scenario is the market (uncertain, not the brand's choice) plus the strategy (the levers).
Each field below is declared with :func:`param`, which records, beside pydantic's type and
bounds, the field's **unit**, its **side** (``market``: a fact about customers, platforms and
prices that the brand does not choose; ``lever``: the brand's choice; ``run``: how the run is
made), the **grade** and **source** of its default (A = filing, paper or data; B = platform rule
or large-vendor benchmark; C = company claim via press; D = folklore — sweep it), and, for the
uncertain ones (C and D, and B where the source is a range), a plausible **range**. This is the
one home of every default: ``scenarios/baseline.toml`` is generated from it
(``python -m model.scenario.params --write scenarios/baseline.toml``; a test keeps the two
identical) and ``python run.py params`` prints it as a table (see :mod:`model.scenario.params`).

Every model forbids unknown keys, so a typo is an error, never a silently ignored setting.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from model.calendar import DEFAULT_FESTIVALS, MONTH_DAYS, SeasonalProfile, valid_anchor
from model.calendar import Festival as Window

DOMAINS = ("prospect", "public", "private", "lapsed")

# --- limits that keep every valid scenario finishable ------------------------------------------
# Money is booked in whole fen in 64-bit integers (model/ledger.py): at most 9.2e18 fen.
#: Largest amount of any ``*_yuan`` parameter (per item or per day): ¥1 billion.
MAX_YUAN = 1e9
#: The run's books must stay this far below the int64 limit (worst case, see _books_fit).
MAX_BOOKS_FEN = 2**63 // 10
#: Mean purchases per customer per day (r / alpha_days, times rel_rate_private for members);
#: run time grows with it, and one order a day on average is beyond any brand's customers.
MAX_PURCHASE_RATE = 1.0
#: Mean invitations per purchase (times rel_referral_distribution in distribution mode).
MAX_INVITES = 100.0
#: Mean order value gg_p·gg_gamma/(gg_q − 1), yuan.
MAX_ORDER_YUAN = 1e6
#: Accounts or guides a run may employ: guides are Python objects visited every day.
MAX_HOLDERS = {"guides": 100_000, "accounts": 10_000_000}
#: Counts and day numbers are 32-bit integers in the simulator; seeds may be 64-bit.
MAX_INT = 2**31 - 1
MAX_SEED = 2**63 - 1
LARGEST_MARKET = 200_000_000


Side = Literal["market", "lever", "run"]
Grade = Literal["A", "B", "C", "D"]


def param(
    default: Any = ...,
    *,
    description: str,
    unit: str = "",
    side: Side,
    grade: Grade | None = None,
    source: str = "",
    range: tuple[float, float] | None = None,  # noqa: A002 - the word users read
    log: bool = False,
    **bounds: Any,
) -> Any:
    """A scenario field with its provenance: pydantic's ``Field`` plus unit, side, grade, range.

    Args:
        default: the baseline value (``...``: required).
        description: what the field means (shown in error messages and ``run.py params``).
        unit: the unit of the value ("yuan/day", "share", "days", ...; "" when dimensionless).
        side: "market" (uncertain facts), "lever" (the brand's choice) or "run".
        grade: A–D, the strength of the default's source (None for switches and labels).
        source: where the default comes from.
        range: a plausible (low, high) for uncertain values; sampled by uncertainty analyses.
        log: sample ``range`` on a log scale (values spanning an order of magnitude).
        **bounds: pydantic constraints (``ge``, ``le``, ``gt``, ``lt``) — what is *allowed*,
            which is wider than what is *plausible*.
    """
    if range is not None and not range[0] < range[1]:
        raise ValueError(f"range {range} must have low < high")
    extra = {
        "unit": unit,
        "side": side,
        "grade": grade,
        "source": source,
        "range": range,
        "log": log,
    }
    if "default_factory" in bounds:
        return Field(description=description, json_schema_extra=extra, **bounds)
    return Field(default, description=description, json_schema_extra=extra, **bounds)


class Strict(BaseModel):
    """Base for every scenario table: unknown keys and wrong types are errors.

    Strict: a value is never converted, so ``days = true``, ``"90"`` or ``"yes"`` are errors
    (a whole number is fine where a real number is expected); infinities and NaN are refused.
    """

    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, validate_assignment=True
    )

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value, info: ValidationInfo):
        name = info.field_name or ""
        if name.endswith("_yuan") and isinstance(value, float) and value > MAX_YUAN:
            raise ValueError(
                f"{value:g} yuan is more than the ¥{MAX_YUAN:,.0f} any amount may be: money "
                "is booked in whole fen in 64-bit integers, and larger amounts could overflow "
                "them"
            )
        if isinstance(value, int) and not isinstance(value, bool):
            limit = MAX_SEED if name == "seed" else MAX_INT
            if abs(value) > limit:
                raise ValueError(
                    f"{value} is more than {limit:,}, the largest "
                    + ("seed" if name == "seed" else "count or day number the simulator holds")
                )
        return value


class Sim(Strict):
    """Run settings."""

    days: int = param(
        365,
        description="horizon",
        unit="days",
        side="run",
        ge=1,
        le=3650,
        source="a year, DESIGN.md's default (docs/model.md §10)",
    )
    seed: int = param(
        42, description="root seed; replicate seeds are spawned from it", side="run", ge=0
    )


class Market(Strict):
    """The addressable market and the brand's starting customer base."""

    size: int = param(
        1_000_000,
        description="people in the market, prospects included",
        unit="people",
        side="market",
        source="scale choice: the team's own addressable market",
        ge=1,
        le=200_000_000,
    )
    initial_public: int = param(
        50_000,
        description="platform customers at day 0",
        unit="people",
        side="market",
        source="scale choice: the team's own customer base",
        ge=0,
    )
    initial_private: int = param(
        0,
        description="private-pool members at day 0",
        unit="people",
        side="market",
        source="the private domain starts empty",
        ge=0,
    )
    initial_p_active: float = param(
        0.6,
        description="share of the day-0 base still active (BG/NBD 'alive')",
        unit="share",
        side="market",
        grade="D",
        source="BG/NBD P(alive) of a mature base",
        range=(0.4, 0.8),
        ge=0,
        le=1,
    )
    gross_margin: float = param(
        0.55,
        description="gross profit / revenue",
        unit="share",
        side="market",
        grade="D",
        source="FMCG brand; a team knows its own",
        range=(0.4, 0.7),
        gt=0,
        le=1,
    )

    discount_rate_per_year: float = param(
        0.10,
        description="annual discount rate of future contribution (the brand's cost of capital)",
        unit="per year",
        side="market",
        grade="D",
        source="CAPM: China 10-year yield ≈ 2.5–3% + equity risk premium ≈ 6% "
        "(Damodaran's country premiums) at beta ≈ 1 gives ≈ 9%; 10% for a small brand. "
        "Use your finance team's hurdle rate",
        range=(0.05, 0.15),
        gt=0,
        le=1,
    )
    scale: float = param(
        1.0,
        description="run a faithful miniature: people, budgets, daily caps, capacities and "
        "fixed daily costs all × scale (model/scenario/scale.py)",
        unit="×",
        side="run",
        gt=0,
        le=1,
    )

    @model_validator(mode="after")
    def _base_fits_market(self) -> Market:
        if self.initial_public + self.initial_private > self.size:
            raise ValueError(
                f"initial_public + initial_private = "
                f"{self.initial_public + self.initial_private} exceeds size = {self.size}"
            )
        return self


_FHL = "Fader, Hardie & Lee 2005"
# The dropout and return parameters are one fitted set (a customer who drops more often but
# comes back is not BG/NBD's customer with a return bolted on).
_TWO_STATE = (
    "CDNOW master, fit-orders' two-state model on the standard 39 + 39-week split "
    "(benchmarks/backtest_real.py)"
)


class Behaviour(Strict):
    """Buying behaviour: BG/NBD rates and dropout, Gamma-Gamma order values (FHL 2005)."""

    r: float = param(
        0.5,
        description="shape of λ ~ Gamma(r, alpha_days)",
        side="market",
        grade="A",
        source=f"FMCG bought < once per 4 months (Bain/Kantar 2014); "
        f"CDNOW r 0.243 ({_FHL}); fit yours with fit-orders",
        gt=0,
    )
    alpha_days: float = param(
        60.0,
        description="rate of λ's Gamma; mean λ = r/alpha_days",
        unit="days",
        side="market",
        grade="A",
        source=f"mean one purchase per 120 days; CDNOW α 4.414 weeks ({_FHL})",
        gt=0,
    )
    a: float = param(
        0.83,
        description="p_drop ~ Beta(a, b): dormant after each repeat purchase with p_drop",
        side="market",
        grade="A",
        source=f"{_TWO_STATE}: a 0.830 (BG/NBD alone: 0.723; {_FHL} on the sample: 0.793)",
        gt=0,
    )
    b: float = param(
        1.59,
        description="p_drop ~ Beta(a, b)",
        side="market",
        grade="A",
        source=f"{_TWO_STATE}: b 1.585 (BG/NBD alone: 2.161; {_FHL} on the sample: 2.426)",
        gt=0,
    )
    return_rate_per_day: float = param(
        0.00196,
        description="rate at which a dormant customer returns to active (times the calendar's "
        "seasonal multiplier); 0 = BG/NBD: dormancy is forever",
        unit="per day",
        side="market",
        grade="A",
        source=f"{_TWO_STATE}: ρ 0.0137 per week (mean dormancy 73 weeks), LR 218 against "
        "BG/NBD; holdout error −3.8% against BG/NBD's −14.3%",
        range=(0.0, 0.005),
        ge=0,
        le=1,
    )
    heterogeneous: bool = param(
        True, description="False: every customer has λ = r/alpha_days", side="market"
    )
    dropout: bool = param(True, description="False: customers never go dormant", side="market")
    gg_p: float = param(
        6.25,
        description="order value ~ Gamma(gg_p, ν)",
        side="market",
        grade="A",
        source="CDNOW p 6.25 (FHL 2005, RFM and CLV)",
        gt=0,
    )
    gg_q: float = param(
        3.74,
        description="ν ~ Gamma(gg_q, gg_gamma); needs > 1",
        side="market",
        grade="A",
        source="CDNOW q 3.74 (FHL 2005, RFM and CLV)",
        gt=1,
    )
    gg_gamma: float = param(
        52.6,
        description="rate of ν; mean order = gg_p·gg_gamma/(gg_q−1)",
        unit="yuan",
        side="market",
        grade="D",
        source="price level: mean order ≈ ¥120",
        range=(35.0, 75.0),
        gt=0,
    )
    rel_rate_private: float = param(
        1.3,
        description="purchase-rate multiplier after joining the pool",
        unit="×",
        side="market",
        grade="C",
        source="Luckin +30% frequency after joining (press)",
        range=(1.0, 1.6),
        ge=0,
    )
    rel_drop_private: float = param(
        0.7,
        description="dropout multiplier for members",
        unit="×",
        side="market",
        grade="D",
        source="members go dormant less often",
        range=(0.5, 1.0),
        ge=0,
    )
    share_private_channel: float = param(
        0.6,
        description="share of members' own orders placed in the private channel",
        unit="share",
        side="market",
        grade="D",
        source="mini-program vs platform habit",
        range=(0.3, 0.9),
        ge=0,
        le=1,
    )

    @model_validator(mode="after")
    def _finishable(self) -> Behaviour:
        rate = self.r / self.alpha_days * max(1.0, self.rel_rate_private)
        if rate > MAX_PURCHASE_RATE:
            raise ValueError(
                "mean purchases per customer per day r / alpha_days"
                + (" × rel_rate_private" if self.rel_rate_private > 1 else "")
                + f" = {rate:.3g}: at most {MAX_PURCHASE_RATE:g} (one order a day on average); "
                "run time grows with it. alpha_days is a rate in days: r = 0.5, alpha_days = 60 "
                "is one purchase per 120 days"
            )
        mean_order = self.gg_p * self.gg_gamma / (self.gg_q - 1)
        if mean_order > MAX_ORDER_YUAN:
            raise ValueError(
                f"mean order value gg_p·gg_gamma/(gg_q − 1) = ¥{mean_order:,.4g}: at most "
                f"¥{MAX_ORDER_YUAN:,.0f}, so that revenue fits the books (whole fen in 64-bit "
                "integers); gg_q close to 1 makes it explode"
            )
        return self


class Platform(Strict):
    """One public platform the brand rents traffic from."""

    take_rate: float = param(
        0.05,
        description="platform commission on its GMV",
        unit="share",
        side="market",
        grade="C",
        source="PDD 3.0% of GMV 2019 (A); category commissions 0.5–5% (C)",
        range=(0.02, 0.08),
        ge=0,
        lt=1,
    )
    budget_share: float = param(
        1.0, description="share of the ad budget", unit="share", side="lever", ge=0, le=1
    )
    cac_floor_yuan: float = param(
        200.0,
        description="CAC floor: the cost of a customer as spend → 0 (c0 of the saturating curve "
        "b·tanh(S/(b·c0)); marginal and average CAC rise above it with spend)",
        unit="yuan",
        side="market",
        grade="D",
        source="PDD ≈¥77 (2018)–¥163 (2019) filings (A, crude); '¥200–300' articles (D)",
        range=(80.0, 400.0),
        log=True,
        gt=0,
    )
    daily_cap: float = param(
        300.0,
        description="b: most new customers a day the platform can deliver",
        unit="people/day",
        side="market",
        grade="D",
        source="at ¥20k/day the average CAC ≈ ¥200 (DESIGN.md; docs/model.md §10)",
        range=(150.0, 600.0),
        log=True,
        gt=0,
    )
    adstock_theta: float = param(
        0.3,
        description="geometric ad carry-over per day",
        side="market",
        grade="D",
        source="sweep 0–0.7 (DESIGN.md; docs/model.md §10)",
        range=(0.0, 0.7),
        ge=0,
        lt=1,
    )
    cac_inflation_per_year: float = param(
        0.15,
        description="yearly growth of the acquisition cost",
        unit="per year",
        side="market",
        grade="D",
        source="articles",
        range=(0.0, 0.4),
        ge=0,
        le=5,
    )
    retargeting_share_of_gmv: float = param(
        0.05,
        description="ad spend needed to keep reaching past buyers, per yuan of repeat GMV on "
        "the platform (a member's private-channel orders do not pay it)",
        unit="share",
        side="market",
        grade="D",
        source="ads + commission ≈ 3–4% of all GMV at Alibaba and PDD (filings, A), averaged "
        "over every merchant and order; brands quote 10–20% of platform sales on promotion, "
        "acquisition included (articles)",
        range=(0.0, 0.15),
        ge=0,
        lt=1,
    )
    p_defect_per_ban_day: float = param(
        0.003,
        description="while the platform bans the brand, P(an active non-member customer of "
        "its store defects) per ban day (≈ 9% over a 30-day ban)",
        unit="probability/day",
        side="market",
        grade="D",
        source="no data; the store drops out of search, favourites and feeds; the seeds' "
        "banned livestream account lost all of its followers",
        range=(0.0, 0.02),
        ge=0,
        le=1,
    )

    @field_validator("daily_cap", mode="after")
    @classmethod
    def _cap_within_a_market(cls, value: float) -> float:
        if value > LARGEST_MARKET:
            raise ValueError(
                f"{value:g} new customers a day is more than the largest market holds "
                f"({LARGEST_MARKET:,} people); use a cap ≤ market.size"
            )
        return value


class Acquisition(Strict):
    """How paid acquisition turns spend into customers."""

    mode: Literal["saturating", "bass"] = param(
        "saturating",
        description="saturating: tanh spend curve (pymc-marketing); bass: "
        "constant rate per prospect (for docking)",
        side="market",
    )
    p_innovation_per_year: float = param(
        0.03,
        description="bass mode: Bass p, per prospect",
        unit="per year",
        side="market",
        grade="A",
        source="Sultan, Farley & Lehmann 1990",
        ge=0,
        le=50,
    )


def _iso_date(value: Any) -> Any:
    """Read a date written as "YYYY-MM-DD" (a TOML date is read as one already)."""
    if isinstance(value, str):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD, e.g. 2025-11-01")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date") from None
    if hasattr(value, "hour"):  # a TOML date-time
        raise ValueError(f"{value} has a time of day: write the date alone, YYYY-MM-DD")
    return value


class Pulse(Strict):
    """Extra spend on top of the base schedule for a while: in day numbers or in dates."""

    start_day: int | None = param(
        None, description="first day of the campaign", unit="day", side="lever", ge=0
    )
    days: int | None = param(None, description="campaign length", unit="days", side="lever", ge=1)
    start_date: date | None = param(
        None,
        description="first date of the campaign (instead of start_day and days)",
        side="lever",
    )
    end_date: date | None = param(
        None, description="last date of the campaign, inclusive", side="lever"
    )
    per_day_yuan: float = param(
        description="extra spend a day", unit="yuan/day", side="lever", ge=0
    )

    _dates = field_validator("start_date", "end_date", mode="before")(_iso_date)

    @model_validator(mode="after")
    def _one_schedule(self) -> Pulse:
        by_day = (self.start_day is not None, self.days is not None)
        by_date = (self.start_date is not None, self.end_date is not None)
        if any(by_day) and any(by_date):
            raise ValueError(
                "give the campaign in day numbers (start_day, days) or in dates (start_date, "
                "end_date), not both"
            )
        if not (all(by_day) or all(by_date)):
            raise ValueError(
                "a pulse needs start_day and days, or start_date and end_date (inclusive)"
            )
        if self.start_date is not None and self.end_date < self.start_date:
            raise ValueError(f"end_date = {self.end_date} is before start_date = {self.start_date}")
        return self

    def span(self, day_zero: date) -> tuple[int, int]:
        """First day number and length of the campaign in a run whose day 0 is ``day_zero``."""
        if self.start_date is None:
            return self.start_day, self.days
        return (self.start_date - day_zero).days, (self.end_date - self.start_date).days + 1


class Budget(Strict):
    """The paid-acquisition budget schedule (a lever)."""

    kind: Literal["constant", "ramp", "pulses"] = param(
        "constant", description="schedule", side="lever"
    )
    per_day_yuan: float = param(
        20_000.0, description="spend per day (ramp: at day 0)", unit="yuan/day", side="lever", ge=0
    )
    ramp_to_per_day_yuan: float = param(
        0.0, description="ramp: spend on the last day", unit="yuan/day", side="lever", ge=0
    )
    pulses: list[Pulse] = param(
        default_factory=list, description="pulses: added campaigns", side="lever"
    )
    adaptive: bool = param(
        False, description="move budget towards the platform with lower CAC", side="lever"
    )
    review_every_days: int = param(
        30, description="adaptive: days between reviews", unit="days", side="lever", ge=1
    )
    adaptive_step: float = param(
        0.1, description="adaptive: share moved per review", unit="share", side="lever", gt=0, le=1
    )
    min_share: float = param(
        0.05, description="adaptive: floor per platform", unit="share", side="lever", ge=0, le=0.5
    )


class Outreach(Strict):
    """Pushes to private members (a lever) and how members respond (the market)."""

    enabled: bool = param(True, description="send pushes at all", side="lever")
    pushes_per_week: float = param(
        2.0,
        description="mass messages a week; ≤ 7: one a day",
        unit="per week",
        side="lever",
        grade="B",
        source="WeCom: one mass message per member per day",
        ge=0,
        le=7,
    )
    targeting: Literal["all", "active", "tiered"] = param(
        "all",
        description="who gets a push: all members, active ones, or warm/cold tiers",
        side="lever",
    )
    tier_recency_days: int = param(
        60, description="tiered: 'warm' if bought this recently", unit="days", side="lever", ge=1
    )
    tier_cold_every: int = param(
        4, description="tiered: cold members get every n-th push", side="lever", ge=1
    )
    p_response: float = param(
        0.02,
        description="P(an active recipient buys at once)",
        unit="probability",
        side="market",
        grade="D",
        source="sweep 0.5–5%",
        range=(0.005, 0.05),
        log=True,
        ge=0,
        le=1,
    )
    offer_uplift: float = param(
        1.0,
        description="multiplier on p_response from the offer",
        unit="×",
        side="market",
        grade="D",
        source="set with the offer a strategy makes; 1 = no offer",
        ge=0,
    )
    offer_discount: float = param(
        0.0, description="discount on push orders", unit="share", side="lever", ge=0, lt=1
    )
    pull_forward_share: float = param(
        0.33,
        description="share of push orders that replace the member's next spontaneous order "
        "(bought earlier, not extra)",
        unit="share",
        side="market",
        grade="A",
        source="van Heerde, Leeflang & Wittink 2004 (Marketing Science): cross-period effects "
        "≈ 1/3 of a promotion bump in four scanner datasets; Gupta 1988: < 14% for coffee",
        range=(0.1, 0.6),
        ge=0,
        le=1,
    )
    p_reactivate: float = param(
        0.01,
        description="P(a dormant recipient reactivates): the push brings their return forward",
        unit="probability",
        side="market",
        grade="D",
        source="盘活 rates are not published",
        range=(0.002, 0.05),
        log=True,
        ge=0,
        le=1,
    )
    reactivation_window_days: int = param(
        90,
        description="a push's wake-up is credited to the push (new_reactivated) only if the "
        "member would not have returned on their own within this many days; otherwise it "
        "counts as a return brought forward (new_returned)",
        unit="days",
        side="run",
        source="a quarter: the span a reactivation campaign is judged over",
        ge=1,
        le=3650,
    )
    p_unfollow_base: float = param(
        0.003,
        description="P(unfollow) per push at fatigue 1",
        unit="probability",
        side="market",
        grade="B",
        source="email 0.1–0.3% (Mailchimp, B); SMS 0.5–3.7% (B/C)",
        range=(0.001, 0.02),
        log=True,
        ge=0,
        le=1,
    )
    unfollow_convexity: float = param(
        1.5,
        description="P(unfollow) = base·fatigue^k",
        side="market",
        grade="D",
        source="convex in fatigue (DESIGN.md; docs/model.md §7.5)",
        range=(1.0, 2.5),
        ge=1,
        le=5,
    )
    fatigue_half_life_days: float = param(
        3.0,
        description="push fatigue halves in this long",
        unit="days",
        side="market",
        grade="D",
        source="folklore",
        range=(1.0, 14.0),
        log=True,
        gt=0,
    )
    cost_per_message_yuan: float = param(
        0.0,
        description="cost per message sent",
        unit="yuan",
        side="market",
        grade="B",
        source="WeCom mass messages are free",
        ge=0,
    )


class Diversion(Strict):
    """Invitations on platform orders into the private pool (a lever) and who joins (market)."""

    enabled: bool = param(True, description="invite platform buyers at all", side="lever")
    p_join_base: float = param(
        0.03,
        description="P(join) with no red packet",
        unit="probability",
        side="market",
        grade="D",
        source="none traceable; DESIGN.md: sweep 2–20% joins (docs/model.md §10)",
        range=(0.01, 0.05),
        ge=0,
        le=1,
    )
    p_join_max: float = param(
        0.15,
        description="P(join) with an unlimited red packet",
        unit="probability",
        side="market",
        grade="D",
        source="8.4% at ¥3 = DESIGN.md's 8%; sweep 2–20% joins (docs/model.md §10)",
        range=(0.05, 0.30),
        ge=0,
        le=1,
    )
    incentive_yuan: float = param(
        3.0, description="red packet paid on joining", unit="yuan", side="lever", ge=0
    )
    incentive_scale_yuan: float = param(
        5.0,
        description="red packet's diminishing-returns scale",
        unit="yuan",
        side="market",
        grade="D",
        source="folklore",
        range=(2.0, 10.0),
        gt=0,
    )
    cost_per_card_yuan: float = param(
        0.05,
        description="package card / SMS per platform order",
        unit="yuan",
        side="lever",
        grade="D",
        source="printing quotes",
        range=(0.02, 0.10),
        ge=0,
    )
    lapsed_cooldown_days: int = param(
        90, description="before a lapsed member is re-invited", unit="days", side="lever", ge=0
    )
    rel_join_lapsed: float = param(
        0.3,
        description="P(join) multiplier for lapsed ex-members",
        unit="×",
        side="market",
        grade="D",
        source="folklore",
        range=(0.1, 0.6),
        ge=0,
        le=1,
    )

    @model_validator(mode="after")
    def _max_above_base(self) -> Diversion:
        if self.p_join_max < self.p_join_base:
            raise ValueError(
                f"p_join_max = {self.p_join_max} is below p_join_base = {self.p_join_base}"
            )
        return self


class Referral(Strict):
    """Member referrals (裂变): the reward is a lever; the response and the network are market."""

    enabled: bool = param(True, description="run a referral programme at all", side="lever")
    invites_per_purchase_base: float = param(
        0.2,
        description="mean invitations a member's purchase sends with no reward",
        unit="invites",
        side="market",
        grade="D",
        source="folklore",
        range=(0.05, 0.5),
        ge=0,
    )
    invites_per_purchase_max: float = param(
        1.0,
        description="mean invitations with an unlimited reward",
        unit="invites",
        side="market",
        grade="D",
        source="folklore",
        range=(0.5, 2.0),
        ge=0,
    )
    reward_yuan: float = param(
        10.0, description="paid per converted referral", unit="yuan", side="lever", ge=0
    )
    reward_scale_yuan: float = param(
        20.0,
        description="reward's diminishing-returns scale",
        unit="yuan",
        side="market",
        grade="D",
        source="folklore",
        range=(10.0, 40.0),
        gt=0,
    )
    p_convert: float = param(
        0.05,
        description="P(an invitation converts a prospect)",
        unit="probability",
        side="market",
        grade="D",
        source="folklore",
        range=(0.01, 0.10),
        ge=0,
        le=1,
    )
    network: Literal["mixed", "small_world", "scale_free"] = param(
        "mixed", description="mixed: anyone; otherwise only the inviter's neighbours", side="market"
    )
    mean_degree: int = param(
        10,
        description="graph: mean neighbours",
        side="market",
        grade="D",
        source="folklore",
        range=(5, 30),
        log=True,
        ge=2,
        le=200,
    )
    rewire_p: float = param(
        0.1,
        description="small_world: rewiring probability",
        side="market",
        grade="D",
        source="Watts–Strogatz's example",
        range=(0.01, 0.3),
        log=True,
        ge=0,
        le=1,
    )

    @model_validator(mode="after")
    def _max_above_base(self) -> Referral:
        if self.invites_per_purchase_max > MAX_INVITES:
            raise ValueError(
                f"invites_per_purchase_max = {self.invites_per_purchase_max:g}: at most "
                f"{MAX_INVITES:g} invitations per purchase on average (each is drawn and "
                "checked, so the run's memory and time grow with it)"
            )
        if self.invites_per_purchase_max < self.invites_per_purchase_base:
            raise ValueError(
                f"invites_per_purchase_max = {self.invites_per_purchase_max} is below "
                f"invites_per_purchase_base = {self.invites_per_purchase_base}"
            )
        return self


class Operation(Strict):
    """The private operation: mode, accounts, groups, guides, distributors (a lever)."""

    mode: Literal["none", "persona", "guides", "distribution"] = param(
        "persona",
        description="operating mode of the private domain (none = public only)",
        side="lever",
    )
    on_full: Literal["hire", "reject"] = param(
        "hire", description="when no holder has room", side="lever"
    )
    group_cap: int = param(
        200,
        description="members per community group",
        unit="members",
        side="lever",
        grade="B",
        source="WeCom customer-group cap",
        ge=1,
        le=500,
    )
    group_cost_per_day_yuan: float = param(
        5.0,
        description="community upkeep per live group",
        unit="yuan/day",
        side="lever",
        grade="D",
        source="folklore",
        range=(2.0, 15.0),
        ge=0,
    )
    tools_cost_per_day_yuan: float = param(
        100.0,
        description="SCRM and mini-program",
        unit="yuan/day",
        side="lever",
        grade="D",
        source="SaaS list prices",
        range=(50.0, 300.0),
        ge=0,
    )
    friend_cap_per_account: int = param(
        5000,
        description="friends one WeCom account can hold",
        unit="members",
        side="lever",
        grade="B",
        source="WeCom friend cap",
        ge=1,
        le=50_000,
    )
    release_below_fill: float = param(
        0.8,
        description="release an account or guide when the members would fit in one fewer at "
        "this fill or less (never below the initial team); the gap to 1 is the hysteresis",
        unit="share",
        side="lever",
        grade="D",
        source="a 20% margin before the next hire: no hire-release thrashing",
        ge=0,
        lt=1,
    )
    accounts_initial: int = param(1, description="accounts at day 0", side="lever", ge=0)
    accounts_max: int = param(
        1000, description="most accounts the operation will run", side="lever", ge=0
    )
    account_cost_per_day_yuan: float = param(
        300.0,
        description="staff per account",
        unit="yuan/day",
        side="lever",
        grade="D",
        source="one operator per account",
        range=(200.0, 500.0),
        ge=0,
    )
    content_cost_per_day_yuan: float = param(
        500.0,
        description="persona content team",
        unit="yuan/day",
        side="lever",
        grade="D",
        source="folklore",
        range=(200.0, 1500.0),
        ge=0,
    )
    guide_capacity: int = param(
        1500,
        description="members one guide can serve",
        unit="members",
        side="lever",
        grade="D",
        source="retail chains quote 1–2k",
        ge=1,
    )
    guides_initial: int = param(2, description="guides at day 0", side="lever", ge=0)
    guides_max: int = param(
        500, description="most guides the operation will employ", side="lever", ge=0
    )
    guide_salary_per_day_yuan: float = param(
        250.0,
        description="salary per guide",
        unit="yuan/day",
        side="lever",
        grade="D",
        source="≈ ¥7.5k/month, store-staff level",
        range=(150.0, 400.0),
        ge=0,
    )
    guide_commission_rate: float = param(
        0.03,
        description="on members' private GMV",
        unit="share",
        side="lever",
        grade="D",
        source="1–5% in retail guide schemes",
        range=(0.01, 0.08),
        ge=0,
        le=1,
    )
    rel_response_guides: float = param(
        1.5,
        description="guides' 1:1 service: push response ×",
        unit="×",
        side="market",
        grade="D",
        source="sweep 1–2",
        range=(1.0, 2.5),
        ge=0,
    )
    distributor_commission_rate: float = param(
        0.10,
        description="KOC commission on referred customers' private orders",
        unit="share",
        side="lever",
        grade="D",
        source="5–20% on distribution mini-programs",
        range=(0.05, 0.20),
        ge=0,
        le=1,
    )
    rel_referral_distribution: float = param(
        2.0,
        description="KOCs' invitations ×",
        unit="×",
        side="market",
        grade="D",
        source="sweep 1–4",
        range=(1.0, 4.0),
        ge=0,
    )


# --- the calendar -------------------------------------------------------------------------------
# Defaults of the seasonal profile, reproduced from the National Bureau of Statistics' monthly
# online retail sales of physical goods (实物商品网上零售额, cumulative, 2023, ¥100M: Jan–Feb
# 17,476; Jan–Apr 37,164; Jan–May 48,055; H1 ≈ 60,600; Jan–Jul 69,856; Jan–Sep 90,435; year
# 130,174; NBS releases Jan–Feb and some months only together). Each period's sales a day,
# relative to the year's, is its month multiplier times the lift of the festival days inside it;
# assumptions, one per unknown: 38 lifts 1.2 and Double 12 1.3 (no monthly split shows them),
# Double 11 2.0, Jan–Feb's months at Mar–Apr's level, June's at the mean of May and July. That
# gives the Spring Festival 0.77 and 618 1.48, and the month multipliers below (normalised:
# day-weighted mean 1; tests/test_calendar.py re-derives the NBS ratios from them).
_NBS = (
    "NBS monthly online retail sales of physical goods, 2023 (Jan–Feb, Mar–Apr, May, Jun, Jul, "
    "Aug–Sep and Oct–Dec as NBS's cumulative releases allow; festival days taken out with the "
    "[calendar.festivals] lifts)"
)
NBS_MONTHS = (0.930, 0.930, 0.930, 0.930, 1.039, 0.961, 0.883, 0.998, 0.998, 1.131, 1.131, 1.131)
_WINDOW = {f.name: f for f in DEFAULT_FESTIVALS}
_W_SPRING_FESTIVAL = "couriers' shutdown (春节停运) about a week either side of the lunar new year"
_W_WOMENS_DAY_38 = "Tmall's 38 campaign runs Mar 1–8"
_W_MID_YEAR_618 = "JD's 618 runs Jun 1–18"
_W_DOUBLE_11 = "Tmall sells from Nov 1 (first payment wave) to Nov 11"
_W_DOUBLE_12 = "Double 12 peaks Dec 12 after two days of warm-up"
_NO_CAC_DATA = (
    "no published series; agencies quote auction prices (CPC/CPM) up 30–100% in the big "
    "festivals while conversion rises too"
)


def _anchor(name: str, what: str, source: str) -> Any:
    """A default festival's anchor, from model.calendar.DEFAULT_FESTIVALS."""
    return param(
        _WINDOW[name].anchor,
        description=f'{what}: "MM-DD", or "spring_festival" (lunar new year, 1990–2100)',
        side="market",
        grade="B",
        source=source,
    )


def _days(name: str, side: Literal["before", "after"], source: str) -> Any:
    """A default festival's window, from model.calendar.DEFAULT_FESTIVALS."""
    w = _WINDOW[name]
    return param(
        w.days_before if side == "before" else w.days_after,
        description="the window starts this many days before the anchor"
        if side == "before"
        else "the window ends this many days after the anchor (inclusive)",
        unit="days",
        side="market",
        grade="B",
        source=source,
        ge=0,
        le=60,
    )


class FestivalSpec(Strict):
    """A festival window every year, its lift on purchase and return rates and on CAC."""

    anchor: str
    days_before: int
    days_after: int
    lift: float
    rel_cac: float

    @field_validator("anchor")
    @classmethod
    def _anchor(cls, value: str) -> str:
        if not valid_anchor(value):
            raise ValueError(
                f'{value!r}: expected "MM-DD" (a date every year, not 02-29) or "spring_festival"'
            )
        return value


def _lift(default: float, grade: Grade, source: str, low: float, high: float) -> Any:
    return param(
        default,
        description="multiplier on purchase and return rates inside the window, on top of the "
        "month's (< 1: a dip)",
        unit="×",
        side="market",
        grade=grade,
        source=source,
        range=(low, high),
        gt=0,
        le=20,
    )


def _rel_cac(default: float, grade: Grade, source: str, low: float, high: float) -> Any:
    return param(
        default,
        description="multiplier on every platform's acquisition cost (the CAC floor c0) inside "
        "the window",
        unit="×",
        side="market",
        grade=grade,
        source=source,
        range=(low, high),
        gt=0,
        le=20,
    )


class SpringFestival(FestivalSpec):
    """春节: couriers stop around the lunar new year, so online orders dip."""

    anchor: str = _anchor("spring_festival", "the lunar new year", _W_SPRING_FESTIVAL)
    days_before: int = _days("spring_festival", "before", _W_SPRING_FESTIVAL)
    days_after: int = _days("spring_festival", "after", _W_SPRING_FESTIVAL)
    lift: float = _lift(
        0.77, "A", f"{_NBS}: Jan–Feb 2023 a day at 0.83 of the year's, Mar–Apr at 0.91", 0.5, 1.0
    )
    rel_cac: float = _rel_cac(1.0, "D", "advertisers pause while couriers do", 0.8, 1.2)


class WomensDay38(FestivalSpec):
    """38 女王节 (Women's Day), Tmall's spring campaign."""

    anchor: str = _anchor("womens_day_38", "Women's Day", _W_WOMENS_DAY_38)
    days_before: int = _days("womens_day_38", "before", _W_WOMENS_DAY_38)
    days_after: int = _days("womens_day_38", "after", _W_WOMENS_DAY_38)
    lift: float = _lift(
        1.2, "D", "a smaller campaign than 618; NBS's Mar–Apr release cannot show it", 1.0, 1.5
    )
    rel_cac: float = _rel_cac(1.1, "D", _NO_CAC_DATA, 1.0, 1.4)


class MidYear618(FestivalSpec):
    """618, JD's anniversary sale, now every platform's mid-year festival."""

    anchor: str = _anchor("mid_year_618", "618", _W_MID_YEAR_618)
    days_before: int = _days("mid_year_618", "before", _W_MID_YEAR_618)
    days_after: int = _days("mid_year_618", "after", _W_MID_YEAR_618)
    lift: float = _lift(
        1.48,
        "A",
        f"{_NBS}: June 2023 a day at 1.17 of the year's, May 0.99, July 0.84",
        1.2,
        2.0,
    )
    rel_cac: float = _rel_cac(1.3, "D", _NO_CAC_DATA, 1.0, 2.0)


class Double11(FestivalSpec):
    """双11 (Singles' Day), the year's largest festival."""

    anchor: str = _anchor("double_11", "Double 11", _W_DOUBLE_11)
    days_before: int = _days("double_11", "before", _W_DOUBLE_11)
    days_after: int = _days("double_11", "after", _W_DOUBLE_11)
    lift: float = _lift(
        2.0,
        "A",
        "NBS online retail of physical goods: November 2024 a day at 1.29 of Sep–Oct's gives "
        "1.8 if the rest of November buys at the Sep–Oct rate (a floor: the 2024 presale began "
        "Oct 14); Oct–Dec 2023 against Aug–Sep gives at most 3.3",
        1.5,
        3.0,
    )
    rel_cac: float = _rel_cac(1.5, "D", _NO_CAC_DATA, 1.0, 2.5)


class Double12(FestivalSpec):
    """双12, Taobao's year-end sale."""

    anchor: str = _anchor("double_12", "Double 12", _W_DOUBLE_12)
    days_before: int = _days("double_12", "before", _W_DOUBLE_12)
    days_after: int = _days("double_12", "after", _W_DOUBLE_12)
    lift: float = _lift(
        1.3, "D", "a smaller festival; NBS's Oct–Dec release cannot show it", 1.0, 2.0
    )
    rel_cac: float = _rel_cac(1.2, "D", _NO_CAC_DATA, 1.0, 1.6)


class Festivals(Strict):
    """The festival windows of the calendar (the names fit-orders estimates lifts for)."""

    spring_festival: SpringFestival = Field(default_factory=SpringFestival)
    womens_day_38: WomensDay38 = Field(default_factory=WomensDay38)
    mid_year_618: MidYear618 = Field(default_factory=MidYear618)
    double_11: Double11 = Field(default_factory=Double11)
    double_12: Double12 = Field(default_factory=Double12)


FIRST_DATE, LAST_START_DATE = date(1990, 1, 1), date(2090, 12, 31)


class Calendar(Strict):
    """Dates of the run's days and the seasonal profile of purchase rates and CAC.

    Day ``d`` of a run is ``start_date + d``. With the calendar enabled, active customers'
    purchase rates and dormant customers' return rates are multiplied by s(date) = month
    multiplier × the lift of the festival window the date falls in (fit-orders' profile,
    :mod:`model.calendar`), and every platform's acquisition cost by the window's ``rel_cac``.
    The behaviour's rates are then those of an average non-festival day (the month multipliers'
    day-weighted mean is 1), as fit-orders estimates them.
    """

    enabled: bool = param(
        True,
        description="seasonal rates and festival CAC; false: every day is an average day "
        "(the days keep their dates)",
        side="market",
    )
    start_date: date = param(
        date(2025, 1, 1),
        description="calendar date of day 0",
        side="run",
        source="a calendar year: the Spring Festival, 38, 618, Double 11 and Double 12",
    )
    profile_source: Literal["defaults", "given", "estimated", "none"] = param(
        "defaults",
        description="where the profile comes from: defaults (these sources), given (a file), "
        "estimated (fit-orders), none",
        side="market",
    )
    month_multipliers: list[float] = param(
        default_factory=lambda: list(NBS_MONTHS),
        description="January … December multipliers on purchase and return rates (day-weighted "
        "mean 1)",
        unit="×",
        side="market",
        grade="A",
        source=_NBS,
    )
    festivals: Festivals = Field(default_factory=Festivals)

    _start = field_validator("start_date", mode="before")(_iso_date)

    @field_validator("start_date")
    @classmethod
    def _in_table(cls, value: date) -> date:
        if not FIRST_DATE <= value <= LAST_START_DATE:
            raise ValueError(
                f"{value}: between {FIRST_DATE} and {LAST_START_DATE} (the Spring Festival "
                "table covers 1990–2100)"
            )
        return value

    @field_validator("month_multipliers")
    @classmethod
    def _months(cls, value: list[float]) -> list[float]:
        if len(value) != 12 or any(m <= 0 for m in value):
            raise ValueError(f"{value!r}: expected 12 positive numbers, January … December")
        mean = float(MONTH_DAYS @ value) / MONTH_DAYS.sum()
        if abs(mean - 1) > 1e-3:
            raise ValueError(
                f"their day-weighted mean over a year is {mean:.4g}; it must be 1 (divide each "
                "by it)"
            )
        return value

    def profile(self) -> SeasonalProfile:
        """The seasonal profile the simulator runs on (flat when the calendar is disabled)."""
        if not self.enabled:
            return SeasonalProfile(source="none")
        fests = [(name, getattr(self.festivals, name)) for name in Festivals.model_fields]
        return SeasonalProfile(
            tuple(self.month_multipliers),
            {name: f.lift for name, f in fests},
            tuple(Window(name, f.anchor, f.days_before, f.days_after) for name, f in fests),
            self.profile_source,
            {name: f.rel_cac for name, f in fests},
        )

    def dates(self, first_day: int, n_days: int) -> np.ndarray:
        """The dates of days ``first_day … first_day + n_days − 1`` (``datetime64[D]``)."""
        return np.datetime64(self.start_date + timedelta(days=first_day), "D") + np.arange(n_days)


class Shock(Strict):
    """A platform event, scheduled at a day or drawn at random each day."""

    kind: Literal["ban", "cac_jump", "algorithm_change"] = param(
        description="the event", side="market"
    )
    platform: str = param("*", description="platform name, or * for every platform", side="market")
    day: int | None = param(
        None, description="scheduled start day", unit="day", side="market", ge=0
    )
    p_per_day: float | None = param(
        None,
        description="random start probability per day",
        unit="probability",
        side="market",
        gt=0,
        le=1,
    )
    duration_days: int | None = param(
        None, description="None: permanent (not for ban)", unit="days", side="market", ge=1
    )
    factor: float = param(
        1.0,
        description="cac_jump: × c0; algorithm_change: × daily_cap",
        unit="×",
        side="market",
        gt=0,
    )

    @model_validator(mode="after")
    def _one_trigger(self) -> Shock:
        if (self.day is None) == (self.p_per_day is None):
            raise ValueError("give exactly one of day (scheduled) or p_per_day (random)")
        if self.kind == "ban" and self.duration_days is None:
            raise ValueError("a ban needs duration_days")
        return self


class Scenario(Strict):
    """A whole scenario: market + strategy. Load it with ``model.load_scenario``."""

    name: str = "scenario"
    description: str = ""
    sim: Sim = Field(default_factory=Sim)
    market: Market = Field(default_factory=Market)
    behaviour: Behaviour = Field(default_factory=Behaviour)
    platforms: dict[str, Platform] = Field(default_factory=lambda: {"tmall": Platform()})
    acquisition: Acquisition = Field(default_factory=Acquisition)
    budget: Budget = Field(default_factory=Budget)
    outreach: Outreach = Field(default_factory=Outreach)
    diversion: Diversion = Field(default_factory=Diversion)
    referral: Referral = Field(default_factory=Referral)
    operation: Operation = Field(default_factory=Operation)
    calendar: Calendar = Field(default_factory=Calendar)
    shocks: list[Shock] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if not self.platforms:
            raise ValueError("platforms: at least one platform is needed")
        total = sum(p.budget_share for p in self.platforms.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"platforms.*.budget_share must sum to 1, got {total:g}")
        for i, shock in enumerate(self.shocks):
            if shock.platform != "*" and shock.platform not in self.platforms:
                raise ValueError(
                    f"shocks.{i}.platform = {shock.platform!r} is not one of the platforms "
                    f"{sorted(self.platforms)} (or '*')"
                )
        self._calendar_fits()
        self._finishable()
        if self.operation.mode == "none" and self.market.initial_private > 0:
            raise ValueError(
                f"operation.mode = 'none' has no private pool to hold market.initial_private = "
                f"{self.market.initial_private}; set it to 0"
            )
        return self

    def _calendar_fits(self) -> None:
        """Festival windows may not overlap; campaigns in dates must fall in the run."""
        cal = self.calendar
        last = cal.start_date + timedelta(days=self.sim.days - 1)
        try:  # over the run and the year after it, which the residual value looks at
            cal.profile().festival_index(cal.dates(0, self.sim.days + 366))
        except ValueError as err:
            raise ValueError(
                f"calendar.festivals: {err}; shorten days_before/days_after so that the "
                "windows stay apart"
            ) from None
        for i, pulse in enumerate(self.budget.pulses):
            if pulse.start_date is None:
                continue
            where = f"budget.pulses.{i}.start_date = {pulse.start_date}"
            if pulse.start_date < cal.start_date:
                raise ValueError(
                    f"{where} is before the run's first day, calendar.start_date = {cal.start_date}"
                )
            if pulse.start_date > last:
                raise ValueError(
                    f"{where} is after the run's last day, {last} (calendar.start_date + "
                    f"sim.days − 1)"
                )

    def _finishable(self) -> None:
        """Refuse plans that validate field by field but could not finish (time, overflow)."""
        op = self.operation
        if op.mode == "distribution":
            invites = self.referral.invites_per_purchase_max * op.rel_referral_distribution
            if invites > MAX_INVITES:
                raise ValueError(
                    f"referral.invites_per_purchase_max × operation.rel_referral_distribution = "
                    f"{invites:g} invitations per purchase: at most {MAX_INVITES:g}"
                )
        if op.mode != "none":
            kind = "guides" if op.mode == "guides" else "accounts"
            capacity = (
                min(op.guide_capacity, op.friend_cap_per_account)
                if kind == "guides"
                else op.friend_cap_per_account
            )
            initial, most = (
                (op.guides_initial, op.guides_max)
                if kind == "guides"
                else (op.accounts_initial, op.accounts_max)
            )
            needed = min(most, max(initial, math.ceil(self.market.size / capacity)))
            if needed > MAX_HOLDERS[kind]:
                raise ValueError(
                    f"operation: the run could employ {needed:,} {kind} (market.size "
                    f"{self.market.size:,} / {capacity:,} members each, capped by "
                    f"operation.{kind}_max = {most:,}); at most {MAX_HOLDERS[kind]:,}: raise "
                    f"the capacity or lower operation.{kind}_max"
                )
        terms = self._books_bound_fen()
        total = sum(terms.values())
        if total > MAX_BOOKS_FEN:
            largest = max(terms, key=terms.get)
            raise ValueError(
                f"the run's books could reach ¥{total / 100:.3g} (largest: {largest}), more "
                f"than the ¥{MAX_BOOKS_FEN / 100:.3g} that whole fen in 64-bit integers hold "
                "with a safety margin; lower that amount, market.size or sim.days"
            )

    def _books_bound_fen(self) -> dict[str, float]:
        """A generous upper bound (fen) of each money flow over the whole run."""
        n, days = self.market.size, self.sim.days
        b, o, v, r, op, beh = (
            self.budget,
            self.outreach,
            self.diversion,
            self.referral,
            self.operation,
            self.behaviour,
        )
        ad = max(b.per_day_yuan, b.ramp_to_per_day_yuan) + sum(p.per_day_yuan for p in b.pulses)
        holder = max(op.account_cost_per_day_yuan, op.guide_salary_per_day_yuan)
        staff = (
            op.content_cost_per_day_yuan
            + op.tools_cost_per_day_yuan
            + holder * min(n, max(op.accounts_max, op.guides_max, 1))
            + op.group_cost_per_day_yuan * n / op.group_cap
        )
        # Per person and day at most one push, one card per order, one join, one reward.
        rate = beh.r / beh.alpha_days * max(1.0, beh.rel_rate_private)
        per_person = (
            o.cost_per_message_yuan
            + v.incentive_yuan
            + r.reward_yuan
            + (v.cost_per_card_yuan * 20 * rate)
        )
        # Revenue: 20× the mean rate and order value covers the heterogeneity of both.
        revenue = 20 * rate * beh.gg_p * beh.gg_gamma / (beh.gg_q - 1)
        return {
            "budget.per_day_yuan × sim.days": 100.0 * days * ad,
            "operation costs × sim.days": 100.0 * days * staff,
            "per-member costs × market.size × sim.days": 100.0 * days * n * per_person,
            "revenue (purchase rate × order value × market.size × sim.days)": (
                100.0 * days * n * revenue
            ),
        }

    @property
    def has_private_domain(self) -> bool:
        """Whether the brand runs a private domain at all (mode other than 'none')."""
        return self.operation.mode != "none"
