"""Directional tests (docs/model.md §11): push harder, lose more members; spend more, pay more.

Each pair runs on the same market with the same seed (common random numbers), and the effects
asserted are many standard errors wide (noted per test), so a pass is not luck.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model import simulate
from model.compare import load_comparison
from model.dynamics.acquisition import marginal_cac
from model.population import PRIVATE
from model.seeds import replicate_seed
from model.simulation import PrivateDomainModel
from tests.helpers import ROOT, baseline_with


def small(**kw):
    base = dict(market__size=50_000, market__initial_public=2_500, sim__days=180)
    base.update(kw)
    return baseline_with(**base)


def test_more_pushes_more_unfollows():
    # Unfollows are in the hundreds at 1 push a week; a Poisson count of n has sd √n, and
    # 4 pushes a week with convex fatigue at least doubles them.
    low = simulate(small(outreach__pushes_per_week=1.0), seed=1).summary()
    high = simulate(small(outreach__pushes_per_week=4.0), seed=1).summary()
    assert low["cum_new_unfollowed"] > 100
    assert high["cum_new_unfollowed"] > 2 * low["cum_new_unfollowed"]
    # Convexity: the unfollow rate per push rises too, not just the count.
    assert high["unfollows_per_1000_pushes"] > 1.5 * low["unfollows_per_1000_pushes"]


def test_more_spend_higher_marginal_cac():
    spends = [5_000.0, 20_000.0, 60_000.0]
    runs = [
        simulate(small(budget__per_day_yuan=s, market__size=500_000), seed=2).summary()
        for s in spends
    ]
    customers = np.array([r["cum_new_paid"] for r in runs], dtype=float)
    cost = np.array([r["cac_paid"] * r["cum_new_paid"] for r in runs])
    marginal = np.diff(cost) / np.diff(customers)
    # Thousands of customers per run: Poisson noise ≈ 1–2%, far below these gaps.
    assert customers[0] < customers[1] < customers[2]
    assert marginal[0] < marginal[1]
    assert runs[0]["cac_paid"] < runs[1]["cac_paid"] < runs[2]["cac_paid"]
    # And the curve itself: c0·cosh² rises strictly with spend.
    assert (
        marginal_cac(5_000, 200, 300)
        < marginal_cac(20_000, 200, 300)
        < marginal_cac(60_000, 200, 300)
    )


def test_no_diversion_no_private_pool():
    daily = simulate(small(diversion__enabled=False, referral__enabled=True), seed=3).daily
    assert daily["n_private"].max() == 0
    assert daily["new_diverted"].sum() == 0 and daily["new_referred"].sum() == 0
    with_diversion = simulate(small(), seed=3).daily
    assert with_diversion["n_private"].iloc[-1] > 1000


def test_ban_stops_paid_acquisition_and_platform_sales_during_it():
    scenario = small(shocks=[{"kind": "ban", "platform": "tmall", "day": 60, "duration_days": 30}])
    daily = simulate(scenario, seed=4).daily
    during = daily.iloc[60:90]
    assert (during["new_paid"] == 0).all()
    assert (during["cost_ad"] == 0).all()
    assert (during["orders_public"] == 0).all()
    assert during["orders_lost_ban"].sum() > 0
    assert during["orders_private"].sum() > 0  # members keep buying in the mini-program
    # ≈100 new customers a day before and after (Poisson, sd 10): never near zero outside it.
    assert daily.iloc[30:60]["new_paid"].min() > 50 and daily.iloc[91:120]["new_paid"].min() > 50


def test_no_referral_no_referred_joins():
    daily = simulate(small(referral__enabled=False), seed=5).daily
    assert daily["new_referred"].sum() == 0
    # With referral on, ≈50 referred joins in this market (Poisson, sd ≈ 7): > 20 is 4 sd out.
    assert simulate(small(), seed=5).daily["new_referred"].sum() > 20


def test_public_only_has_no_private_costs():
    s = simulate(small(operation__mode="none"), seed=6).summary()
    assert s["n_private"] == 0 and s["share_private_gmv"] == 0
    daily = simulate(small(operation__mode="none"), seed=6).daily
    for line in ("cost_incentive", "cost_referral", "cost_commission", "cost_staff", "cost_tools"):
        assert daily[line].sum() == 0


@pytest.mark.parametrize("factor", [2.0])
def test_cac_jump_raises_cac(factor):
    base = simulate(small(), seed=7).summary()
    jumped = simulate(
        small(shocks=[{"kind": "cac_jump", "day": 0, "factor": factor}]), seed=7
    ).summary()
    assert jumped["cac_paid"] > 1.3 * base["cac_paid"]


def test_bigger_red_packet_more_joins_with_diminishing_returns():
    joins = [
        simulate(small(diversion__incentive_yuan=x), seed=8).summary()["cum_new_diverted"]
        for x in (0.0, 5.0, 10.0)
    ]
    assert joins[0] < joins[1] < joins[2]
    assert joins[2] - joins[1] < joins[1] - joins[0]


def test_reject_rule_refuses_joins_when_full():
    scenario = small(
        operation__on_full="reject",
        operation__accounts_initial=1,
        operation__friend_cap_per_account=500,
    )
    s = simulate(scenario, seed=9)
    assert s.summary()["n_private"] <= 500
    assert s.daily["new_join_rejected"].sum() > 0


def two_platforms(**kw):
    return small(
        platforms={
            "tmall": {"budget_share": 0.5, "cac_floor_yuan": 200.0},
            "douyin": {"budget_share": 0.5, "cac_floor_yuan": 400.0, "take_rate": 0.08},
        },
        **kw,
    )


def test_ban_on_one_platform_leaves_the_other_selling():
    scenario = two_platforms(
        shocks=[{"kind": "ban", "platform": "douyin", "day": 30, "duration_days": 30}]
    )
    daily = simulate(scenario, seed=10).daily.iloc[30:60]
    assert (daily["new_paid"] > 0).mean() > 0.9  # tmall keeps acquiring (≈50 a day)
    assert daily["orders_lost_ban"].sum() > 0 and daily["orders_public"].sum() > 0


def test_adaptive_budget_moves_to_the_cheaper_platform():
    fixed = simulate(two_platforms(), seed=11).summary()
    adaptive = simulate(two_platforms(budget__adaptive=True), seed=11).summary()
    # douyin's first customer costs twice tmall's: moving budget to tmall lowers the blended
    # CAC by far more than the ≈1–2% Poisson noise of a few thousand acquisitions.
    assert adaptive["cac_paid"] < 0.95 * fixed["cac_paid"]


# --- pushes that pull forward (issue 8, item 2) ------------------------------------------------


def coffee(scale: float = 0.05, **outreach):
    """The shipped coffee chain (compare_business_types.toml) as a miniature, offer overridden."""
    spec = load_comparison(
        ROOT / "scenarios" / "compare_business_types.toml",
        market_overrides={"market.scale": scale},
    )
    scenario = spec.strategy("coffee_coupon_pushes").scenario
    return scenario.model_copy(update={"outreach": scenario.outreach.model_copy(update=outreach)})


def test_pulled_forward_push_orders_replace_spontaneous_ones():
    """The larger the share of push orders that replace a spontaneous one, the fewer orders.

    Paired on one seed. With share 1 every push order spends the member's running purchase
    clock without an order, so at most one spontaneous order goes per push order (none when
    the replaced one would have fallen after the horizon); the pushes themselves are the same
    draws. Measured: 3,052 push orders; 69,883 orders at share 0, 68,825 at share 1, 67,059
    with no push response at all.
    """
    totals, contribution = {}, {}
    for share in (0.0, 0.33, 1.0):
        run = simulate(small(outreach__pull_forward_share=share, sim__days=365), seed=12)
        d = run.daily
        totals[share] = d["orders_public"].sum() + d["orders_private"].sum()
        contribution[share] = run.summary()["contribution"]
        pulled = d["orders_push_pulled"].sum()
        assert pulled == 0 if share == 0.0 else pulled > 0
        if share == 1.0:
            assert pulled == d["orders_push"].sum() > 2_000
    silent = simulate(small(outreach__p_response=0.0, sim__days=365), seed=12).daily
    no_push_orders = silent["orders_public"].sum() + silent["orders_private"].sum()
    assert totals[0.0] > totals[1.0] > no_push_orders
    assert 0 < totals[0.0] - totals[1.0] <= pulled
    assert contribution[0.0] > contribution[1.0]


def test_a_deep_coupon_loses_money_for_the_coffee_chain():
    """45% off with twice the response earns less this year than no coupon, replicate by replicate.

    The coupon's discount is a cost on every push order, and a third of push orders are
    orders the member would have placed anyway at full price (pulled forward). Measured at
    1/10 scale: −¥34k contribution on ≈ −¥80k; the replicate spread of the paired difference
    is a few ¥k.

    It sells more, and its extra member orders bring referrals: a larger pool at the horizon.
    Since dormant customers return (behaviour.return_rate_per_day), a member is kept for ever,
    so that pool's residual value pays the year's loss back: measured at 1/20 scale over 12
    replicates, discounted contribution −¥18.7k ± 0.4k, residual +¥18.8k ± 3.3k, value created
    +¥0.05k ± 3.2k (± one standard error of the mean paired difference). Value created is no
    longer lower replicate by replicate (under permanent dormancy it was), so it is not
    asserted here.
    """
    no_coupon = coffee(offer_uplift=1.0, offer_discount=0.0)
    deep = coffee(offer_uplift=2.0, offer_discount=0.45)
    for i in range(3):
        seed = replicate_seed(7, i)
        without = simulate(no_coupon, seed=seed).summary()
        with_coupon = simulate(deep, seed=seed).summary()
        assert with_coupon["contribution"] < without["contribution"]
        assert with_coupon["npv_contribution"] < without["npv_contribution"]
        assert with_coupon["orders"] > without["orders"]  # it does sell more
        assert with_coupon["cum_new_referred"] > without["cum_new_referred"]


# --- rented repeat orders (item 3) -------------------------------------------------------------


def test_retargeting_widens_the_private_domains_lead():
    """Platform repeat orders pay retargeting; members' private orders do not.

    So the dearer it is to reach one's own past buyers, the more the pool is worth against
    public-only (paired on one seed).
    """
    lead = []
    for share in (0.0, 0.10):
        persona, public = (
            simulate(
                small(operation__mode=mode, platforms__tmall__retargeting_share_of_gmv=share),
                seed=13,
            ).summary()
            for mode in ("persona", "none")
        )
        if share == 0.0:
            assert persona["cost_retargeting"] == public["cost_retargeting"] == 0
        else:
            assert persona["cost_retargeting"] < public["cost_retargeting"]
        lead.append(persona["contribution"] - public["contribution"])
    assert lead[1] > lead[0]


# --- bans that cost (item 4) -------------------------------------------------------------------

BAN = [{"kind": "ban", "platform": "tmall", "day": 60, "duration_days": 30}]


def test_an_order_lost_to_a_ban_faces_the_dropout_draw():
    """Lost orders end lives at the dropout rate: p_drop ≈ 0.25 for all (Beta(250, 750)).

    new_dormant_ban counts Binomial(orders lost, 0.25): 4 binomial sds either side.
    """
    daily = simulate(
        small(
            shocks=BAN,
            behaviour__a=250.0,
            behaviour__b=750.0,
            platforms__tmall__p_defect_per_ban_day=0.0,
        ),
        seed=14,
    ).daily
    lost, gone = daily["orders_lost_ban"].sum(), daily["new_dormant_ban"].sum()
    assert lost > 500
    assert abs(gone - 0.25 * lost) < 4 * np.sqrt(lost * 0.25 * 0.75)


def test_a_ban_loses_store_customers_for_good():
    """Per-ban-day defection: fewer active customers after the ban, members untouched."""
    runs = {
        q: simulate(small(shocks=BAN, platforms__tmall__p_defect_per_ban_day=q), seed=15).daily
        for q in (0.0, 0.01)
    }
    after = {q: d.iloc[90] for q, d in runs.items()}
    defected = runs[0.01]["new_dormant_ban"].sum() - runs[0.0]["new_dormant_ban"].sum()
    # 1 − 0.99³⁰ = 26% of the store's few thousand active non-members: hundreds.
    assert defected > 300
    assert after[0.01]["n_active"] < after[0.0]["n_active"] - 0.8 * defected
    # Members keep buying in the mini-program during the ban either way.
    assert runs[0.01].iloc[60:90]["orders_private"].sum() > 0
    no_ban = simulate(small(platforms__tmall__p_defect_per_ban_day=0.01), seed=15).daily
    assert no_ban["new_dormant_ban"].sum() == 0


# --- capacity both ways (item 5) ---------------------------------------------------------------


def shrinking_pool(**kw):
    """A big day-0 pool, no new joins, heavy pushing: the pool shrinks by unfollows."""
    return small(
        market__initial_public=0,
        market__initial_private=12_000,
        sim__days=365,
        diversion__enabled=False,
        referral__enabled=False,
        budget__per_day_yuan=0.0,
        outreach__pushes_per_week=5.0,
        outreach__p_unfollow_base=0.004,
        operation__friend_cap_per_account=1_000,
        **kw,
    )


def test_holders_are_released_as_the_pool_shrinks_without_thrashing():
    model = PrivateDomainModel(shrinking_pool(), seed=16)
    model.run()
    d = pd.DataFrame(model.recorder.as_dict())
    op, cap, fill = model.operation, 1_000, model.settings.operation.release_below_fill
    assert d["n_holders"].iloc[0] == 12 and d["n_private"].iloc[-1] < 0.6 * 12_000
    # Released one by one as the pool shrinks, never re-hired (no thrashing), never below
    # the initial team, and always with room for everyone held.
    assert (np.diff(d["n_holders"]) <= 0).all()
    assert d["new_released_holders"].sum() == 12 - d["n_holders"].iloc[-1] > 3
    assert (d["n_private"] <= d["n_holders"] * cap).all()
    # Hysteresis: one more release would need the pool at ≤ fill of one holder fewer.
    k = d["n_holders"].iloc[-1]
    assert k == op.min_holders or d["n_private"].iloc[-1] > (k - 1) * cap * fill
    # The released holders' members moved: every member's holder is a live one.
    slots = model.pop.holder[model.pop.domain == PRIVATE]
    assert op.live[slots].all()
    assert sorted(h.released_day is None for h in op.holders).count(False) == 12 - k
    # Staff paid only while employed: the accounts line follows the live count.
    account = model.settings.operation.account_cost_per_day_yuan
    groups = model.settings.operation.group_cost_per_day_yuan * d["n_groups"]
    content = model.settings.operation.content_cost_per_day_yuan
    assert np.allclose(d["cost_staff"], d["n_holders"] * account + content + groups)


def test_freed_group_seats_are_refilled_before_new_groups_open():
    """With churn, new groups open only when every existing one is full."""
    model = PrivateDomainModel(
        small(sim__days=365, outreach__pushes_per_week=4.0, operation__group_cap=50), seed=17
    )
    model.run()
    d = pd.DataFrame(model.recorder.as_dict())
    joins = d["new_diverted"].sum() + d["new_referred"].sum()
    peak = d["n_private"].max()
    assert d["new_unfollowed"].sum() > 0.2 * joins  # real churn
    # Refill: at most ceil(peak / cap) groups ever opened; without it, one per 50 joins.
    assert model.operation.n_groups <= -(-peak // 50) < -(-joins // 50)
    assert (d["n_groups"] <= -(-d["n_private"] // 50) + model.operation.n_groups).all()


# --- incremental accounting (item 6) -----------------------------------------------------------


def test_with_no_uplift_a_members_order_is_worth_only_its_channel_saving():
    """No uplift, no pushes, no referral: nothing is incremental but the platform's cut.

    A private order saves the take rate and retargeting; a member's platform order saves
    nothing; no GMV is incremental.
    """
    s = simulate(
        small(
            behaviour__rel_rate_private=1.0,
            outreach__enabled=False,
            referral__enabled=False,
        ),
        seed=18,
    )
    k, daily = s.summary(), s.daily
    assert k["gmv_incremental"] == 0
    saving = 0.05 + 0.05  # take_rate + retargeting_share_of_gmv
    assert k["contribution_incremental"] == pytest.approx(
        saving * daily["revenue_private"].sum(), rel=1e-3
    )
    assert k["gmv_channel_shifted"] == pytest.approx(daily["revenue_private"].sum(), rel=1e-9)


def test_guides_pnl_is_incremental_not_gross():
    """A guide is credited with what its members add, not all their private gross profit."""
    model = PrivateDomainModel(small(operation__mode="guides", sim__days=365), seed=19)
    model.run()
    guides = model.operation.guides
    margin = model.settings.market.gross_margin
    incremental = sum(g.incremental_fen for g in guides)
    gross = sum(g.gmv_fen * margin - g.commission_fen for g in guides)
    assert 0 < incremental < 0.8 * gross
    daily = model.recorder.as_dict()
    assert daily["gmv_incremental"].sum() > 0 and daily["gmv_channel_shifted"].sum() > 0


def test_pushes_are_credited_only_beyond_the_base_rate():
    """With customers returning on their own, pushes are credited only with the difference.

    A wake-up on day d is credited (new_reactivated) only if the member's own return clock
    would not have run out within ``reactivation_window_days`` = W of d + 1; otherwise it is a
    return brought forward (new_returned_early, part of new_returned). The return clock of a
    member still dormant at the push is Exp(ρ) from d + 1 (memoryless; calendar off), so each
    wake-up is credited with probability exp(−ρW): at ρ = 0.01/day and W = 90 days, 0.407 —
    within 4 binomial standard errors over thousands of wake-ups. At ρ = 0 every wake-up is
    credited and nobody returns on their own.
    """
    kw = dict(
        market__size=60_000,
        market__initial_public=0,
        market__initial_private=6_000,
        market__initial_p_active=0.3,  # most members start dormant
        sim__days=120,
        calendar__enabled=False,
        outreach__pushes_per_week=7.0,
        outreach__p_reactivate=0.2,
        outreach__p_unfollow_base=0.0,
    )
    rho, window = 0.01, 90
    daily = simulate(small(behaviour__return_rate_per_day=rho, **kw), seed=21).daily
    credited = daily["new_reactivated"].sum()
    early = daily["new_returned_early"].sum()
    woken = credited + early
    share = np.exp(-rho * window)
    assert woken > 2_000
    assert abs(credited / woken - share) < 4 * np.sqrt(share * (1 - share) / woken)
    # Total returns add up: on their own (clock ran out) + brought forward + credited.
    assert daily["new_returned"].sum() > early > 0

    base = simulate(small(behaviour__return_rate_per_day=0.0, **kw), seed=21).daily
    assert base["new_returned"].sum() == 0 and base["new_returned_early"].sum() == 0
    assert base["new_reactivated"].sum() > 2_000
