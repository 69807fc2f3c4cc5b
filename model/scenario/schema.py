"""The scenario schema: every parameter the simulator reads, with its unit and allowed range.

A scenario is the market (uncertain, not the brand's choice: ``market``, ``behaviour``,
``platforms``, ``acquisition``, ``shocks``) plus the strategy (the levers: ``budget``,
``outreach``, ``diversion``, ``referral``, ``operation``). Comparisons and sweeps override
either side by dotted key. Defaults with their sources and grades live in
``scenarios/baseline.toml``; the defaults here only make partial test scenarios convenient.

Every model forbids unknown keys, so a typo is an error, never a silently ignored setting.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DOMAINS = ("prospect", "public", "private", "lapsed")


class Strict(BaseModel):
    """Base for every scenario table: unknown keys and wrong types are errors."""

    model_config = ConfigDict(extra="forbid", strict=False, validate_assignment=True)


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


class Platform(Strict):
    """One public platform the brand rents traffic from."""

    take_rate: float = Field(0.05, ge=0, lt=1, description="commission on platform GMV")
    budget_share: float = Field(1.0, ge=0, le=1, description="share of the ad budget")
    c0_yuan: float = Field(200.0, gt=0, description="cost of the first customer (yuan)")
    daily_cap: float = Field(300.0, gt=0, description="b: most new customers a day")
    adstock_theta: float = Field(0.3, ge=0, lt=1, description="geometric ad carry-over")
    cac_inflation_per_year: float = Field(0.15, ge=0, le=5, description="yearly CAC growth")


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
        if self.operation.mode == "none" and self.market.initial_private > 0:
            raise ValueError(
                f"operation.mode = 'none' has no private pool to hold market.initial_private = "
                f"{self.market.initial_private}; set it to 0"
            )
        return self

    @property
    def has_private_domain(self) -> bool:
        """Whether the brand runs a private domain at all (mode other than 'none')."""
        return self.operation.mode != "none"
