"""The scenario schema: every parameter the simulator reads, with its unit and allowed range.

A scenario is the market (uncertain, not the brand's choice: ``market``, ``behaviour``,
``platforms``, ``acquisition``, ``shocks``) plus the strategy (the levers: ``budget``,
``outreach``, ``diversion``, ``referral``, ``operation``). Comparisons and sweeps override
either side by dotted key. Defaults with their sources and grades live in
``scenarios/baseline.toml``; the defaults here only make partial test scenarios convenient.

Every model forbids unknown keys, so a typo is an error, never a silently ignored setting.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

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

    days: int = Field(365, ge=1, le=3650, description="horizon in days")
    seed: int = Field(42, ge=0, description="root seed; replicate seeds are spawned from it")


class Market(Strict):
    """The addressable market and the brand's starting customer base."""

    size: int = Field(100_000, ge=1, le=200_000_000, description="people in the market")
    initial_public: int = Field(0, ge=0, description="platform customers at day 0")
    initial_private: int = Field(0, ge=0, description="private-pool members at day 0")
    initial_p_active: float = Field(1.0, ge=0, le=1, description="share of the base still active")
    gross_margin: float = Field(0.5, gt=0, le=1, description="gross profit / revenue")

    @model_validator(mode="after")
    def _base_fits_market(self) -> Market:
        if self.initial_public + self.initial_private > self.size:
            raise ValueError(
                f"initial_public + initial_private = "
                f"{self.initial_public + self.initial_private} exceeds size = {self.size}"
            )
        return self


class Behaviour(Strict):
    """Buying behaviour: BG/NBD rates and dropout, Gamma-Gamma order values (FHL 2005)."""

    r: float = Field(0.5, gt=0, description="shape of λ ~ Gamma(r, alpha_days)")
    alpha_days: float = Field(60.0, gt=0, description="rate of λ (days); mean λ = r/alpha_days")
    a: float = Field(0.8, gt=0, description="p_drop ~ Beta(a, b)")
    b: float = Field(2.4, gt=0, description="p_drop ~ Beta(a, b)")
    heterogeneous: bool = Field(True, description="False: every customer has λ = r/alpha_days")
    dropout: bool = Field(True, description="False: customers never go dormant")
    gg_p: float = Field(6.25, gt=0, description="order value ~ Gamma(gg_p, ν)")
    gg_q: float = Field(3.74, gt=1, description="ν ~ Gamma(gg_q, gg_gamma); needs > 1")
    gg_gamma: float = Field(
        52.6, gt=0, description="rate of ν; mean order = gg_p·gg_gamma/(gg_q−1)"
    )
    rel_rate_private: float = Field(1.3, ge=0, description="purchase-rate multiplier in private")
    rel_drop_private: float = Field(0.7, ge=0, description="dropout multiplier in private")
    share_private_channel: float = Field(
        0.6, ge=0, le=1, description="share of members' own orders placed in the private channel"
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

    take_rate: float = Field(0.05, ge=0, lt=1, description="commission on platform GMV")
    budget_share: float = Field(1.0, ge=0, le=1, description="share of the ad budget")
    c0_yuan: float = Field(200.0, gt=0, description="cost of the first customer (yuan)")
    daily_cap: float = Field(300.0, gt=0, description="b: most new customers a day")
    adstock_theta: float = Field(0.3, ge=0, lt=1, description="geometric ad carry-over")
    cac_inflation_per_year: float = Field(0.15, ge=0, le=5, description="yearly CAC growth")

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

    mode: Literal["saturating", "bass"] = Field(
        "saturating", description="saturating: tanh spend curve; bass: constant rate per prospect"
    )
    p_innovation_per_year: float = Field(
        0.03, ge=0, le=50, description="bass mode: Bass p, per prospect per year"
    )


class Pulse(Strict):
    """Extra spend on top of the base schedule for a while."""

    start_day: int = Field(ge=0)
    days: int = Field(ge=1)
    per_day_yuan: float = Field(ge=0)


class Budget(Strict):
    """The paid-acquisition budget schedule (a lever)."""

    kind: Literal["constant", "ramp", "pulses"] = "constant"
    per_day_yuan: float = Field(20_000.0, ge=0, description="spend per day (ramp: at day 0)")
    ramp_to_per_day_yuan: float = Field(0.0, ge=0, description="ramp: spend on the last day")
    pulses: list[Pulse] = Field(default_factory=list, description="pulses: added campaigns")
    adaptive: bool = Field(False, description="move budget towards the platform with lower CAC")
    review_every_days: int = Field(30, ge=1, description="adaptive: days between reviews")
    adaptive_step: float = Field(0.1, gt=0, le=1, description="adaptive: share moved per review")
    min_share: float = Field(0.05, ge=0, le=0.5, description="adaptive: floor per platform")


class Outreach(Strict):
    """Pushes to private members (a lever)."""

    enabled: bool = True
    pushes_per_week: float = Field(2.0, ge=0, le=7, description="≤ 7: one mass message a day")
    targeting: Literal["all", "active", "tiered"] = "all"
    tier_recency_days: int = Field(60, ge=1, description="tiered: 'warm' if bought this recently")
    tier_cold_every: int = Field(4, ge=1, description="tiered: cold members get every n-th push")
    p_response: float = Field(0.02, ge=0, le=1, description="P(active recipient buys at once)")
    offer_uplift: float = Field(1.0, ge=0, description="multiplier on p_response from the offer")
    offer_discount: float = Field(0.0, ge=0, lt=1, description="discount on push orders")
    p_reactivate: float = Field(0.01, ge=0, le=1, description="P(dormant recipient reactivates)")
    p_unfollow_base: float = Field(0.003, ge=0, le=1, description="P(unfollow) at fatigue 1")
    unfollow_convexity: float = Field(1.5, ge=1, le=5, description="P = base·fatigue^k")
    fatigue_half_life_days: float = Field(7.0, gt=0, description="decay of push fatigue")
    cost_per_message_yuan: float = Field(0.0, ge=0, description="per message sent")


class Diversion(Strict):
    """Invitations on platform orders into the private pool (a lever)."""

    enabled: bool = True
    p_join_base: float = Field(0.03, ge=0, le=1, description="P(join) with no red packet")
    p_join_max: float = Field(0.15, ge=0, le=1, description="P(join) with an unlimited one")
    incentive_yuan: float = Field(3.0, ge=0, description="red packet paid on joining")
    incentive_scale_yuan: float = Field(5.0, gt=0, description="diminishing-returns scale")
    cost_per_card_yuan: float = Field(0.05, ge=0, description="package card / SMS per order")
    lapsed_cooldown_days: int = Field(90, ge=0, description="before a lapsed member is re-invited")
    rel_join_lapsed: float = Field(0.3, ge=0, le=1, description="P(join) multiplier for lapsed")

    @model_validator(mode="after")
    def _max_above_base(self) -> Diversion:
        if self.p_join_max < self.p_join_base:
            raise ValueError(
                f"p_join_max = {self.p_join_max} is below p_join_base = {self.p_join_base}"
            )
        return self


class Referral(Strict):
    """Member referrals (裂变) (a lever; the network is market)."""

    enabled: bool = True
    invites_per_purchase_base: float = Field(0.2, ge=0, description="mean invites, no reward")
    invites_per_purchase_max: float = Field(1.0, ge=0, description="mean invites, rich reward")
    reward_yuan: float = Field(10.0, ge=0, description="paid per converted referral")
    reward_scale_yuan: float = Field(20.0, gt=0, description="diminishing-returns scale")
    p_convert: float = Field(0.05, ge=0, le=1, description="P(an invite converts a prospect)")
    network: Literal["mixed", "small_world", "scale_free"] = Field(
        "mixed", description="mixed: anyone; otherwise only the inviter's neighbours"
    )
    mean_degree: int = Field(10, ge=2, le=200, description="graph: mean neighbours")
    rewire_p: float = Field(0.1, ge=0, le=1, description="small_world: rewiring probability")

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

    mode: Literal["none", "persona", "guides", "distribution"] = Field(
        "persona", description="none = public only (no private domain)"
    )
    on_full: Literal["hire", "reject"] = Field("hire", description="when no holder has room")
    group_cap: int = Field(200, ge=1, le=500, description="members per community group")
    group_cost_per_day_yuan: float = Field(5.0, ge=0, description="community ops per group")
    tools_cost_per_day_yuan: float = Field(100.0, ge=0, description="SCRM and mini-program")
    friend_cap_per_account: int = Field(5000, ge=1, le=50_000, description="WeCom friend cap")
    accounts_initial: int = Field(1, ge=0)
    accounts_max: int = Field(1000, ge=0)
    account_cost_per_day_yuan: float = Field(300.0, ge=0, description="staff per account")
    content_cost_per_day_yuan: float = Field(500.0, ge=0, description="persona content team")
    guide_capacity: int = Field(1500, ge=1, description="members one guide can serve")
    guides_initial: int = Field(2, ge=0)
    guides_max: int = Field(500, ge=0)
    guide_salary_per_day_yuan: float = Field(250.0, ge=0)
    guide_commission_rate: float = Field(0.03, ge=0, le=1, description="on members' private GMV")
    rel_response_guides: float = Field(1.0, ge=0, description="guides' 1:1 service multiplier")
    distributor_commission_rate: float = Field(
        0.10, ge=0, le=1, description="on referred customers' private orders"
    )
    rel_referral_distribution: float = Field(2.0, ge=0, description="KOC invite multiplier")


class Shock(Strict):
    """A platform event, scheduled at a day or drawn at random each day."""

    kind: Literal["ban", "cac_jump", "algorithm_change"]
    platform: str = Field("*", description="platform name, or * for every platform")
    day: int | None = Field(None, ge=0, description="scheduled start day")
    p_per_day: float | None = Field(None, gt=0, le=1, description="random start probability")
    duration_days: int | None = Field(None, ge=1, description="None: permanent (not for ban)")
    factor: float = Field(1.0, gt=0, description="cac_jump: × c0; algorithm_change: × daily_cap")

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
        self._finishable()
        if self.operation.mode == "none" and self.market.initial_private > 0:
            raise ValueError(
                f"operation.mode = 'none' has no private pool to hold market.initial_private = "
                f"{self.market.initial_private}; set it to 0"
            )
        return self

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
