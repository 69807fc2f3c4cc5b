"""The simulator: a Mesa model whose customers are arrays and whose operators are agents."""

from __future__ import annotations

import mesa
import numpy as np

from model.agents import BrandAgent, PlatformAgent, PrivateOperationAgent
from model.dynamics import network, outreach
from model.dynamics.acquisition import bass_daily_probability
from model.dynamics.curves import exponential_delays, saturating
from model.ledger import Ledger, to_fen
from model.metrics import FLOWS as DAILY_FLOWS
from model.metrics import MetricRecorder
from model.population import (
    LAPSED,
    PRIVATE,
    PROSPECT,
    PUBLIC,
    SOURCE_INITIAL,
    SOURCE_PAID,
    SOURCE_REFERRAL,
    Population,
)
from model.prospects import ProspectQueue
from model.scenario.schema import Scenario
from model.seeds import as_seed_sequence, seed_label, spawn_streams

PRIVATE_CHANNEL = -1  # channel code of an order placed in the brand's own mini-program


class PrivateDomainModel(mesa.Model):
    """Customers moving between public platforms and the brand's private domain.

    One step is one day. The daily process order (DESIGN §3) — changing it is a design
    decision, so it is written here once:

    1. **Shocks**: scheduled or random platform events start (ban for D days: no paid
       acquisition and no platform sales; CAC jump; algorithm change on reach).
    2. **Paid acquisition**: each platform turns its share of the day's budget, carried over by
       geometric adstock, into new customers on a tanh saturation curve scaled by the prospects
       left (or, in ``bass`` mode, each prospect adopts with a constant daily probability). New
       customers become PUBLIC and place a first order on the platform.
    3. **Spontaneous purchases**: active customers buy in continuous time at rate λ·rel (rel =
       ``rel_rate_private`` for members), so P(≥1 purchase today) = 1 − exp(−λ·rel). Members'
       orders go to the private channel (share, or all of them while their platform bans the
       brand); others' go to their platform, and are lost during a ban. After each repeat
       purchase the customer goes dormant with probability p_drop·rel_drop.
    4. **Private outreach**: on push days the targeting rule picks members; each push adds
       fatigue; active recipients may buy at once (at the offer's discount), dormant ones may
       reactivate, and any may unfollow with a hazard convex in fatigue → LAPSED.
    5. **Diversion**: each platform order carries an invitation; PUBLIC buyers (and LAPSED
       ones after a cooldown, at a lower rate) join with a probability rising in the red
       packet; joiners need a seat with an account or guide (hired or refused per the mode)
       and are put in a community group.
    6. **Referral**: members' purchases (steps 3–4) send Poisson invitations; each converts a
       prospect with a probability scaled by the prospects left (mixed) or reaching only the
       inviter's prospect neighbours (graph). Referred customers join PRIVATE with a first order.
    7. **Operating mode economics**: staff (accounts, content, guides' salaries, group
       upkeep) and tools are booked; commissions were booked with each order.
    8. **Ledger and metrics**: platform fees on the day's platform revenue, the contribution
       identity closed in fen, daily metrics recorded; on review days an adaptive brand moves
       budget towards the platform with the lower realised CAC (used from tomorrow).
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int | np.random.SeedSequence | None = None,
        *,
        record_orders: bool = False,
    ) -> None:
        self.seed_sequence = as_seed_sequence(seed if seed is not None else scenario.sim.seed)
        streams = spawn_streams(self.seed_sequence)
        super().__init__(rng=streams["model"])
        self.cfg = scenario  # mesa.Model already owns an attribute called `scenario`
        self.seed_label = seed_label(self.seed_sequence)
        self.streams = streams
        self.day = 0
        self.days = scenario.sim.days
        self.beh = scenario.behaviour
        self.record_orders = record_orders
        self._orders: list[tuple[np.ndarray, ...]] = []

        n = scenario.market.size
        self.pop = Population.create(n, self.beh, streams["population"])
        self.queue = ProspectQueue(n, streams["population"])
        self.platforms = [
            PlatformAgent(self, name, i, cfg)
            for i, (name, cfg) in enumerate(scenario.platforms.items())
        ]
        self.take_rates = np.array([p.cfg.take_rate for p in self.platforms])
        self.budget_shares = np.array([p.cfg.budget_share for p in self.platforms])
        self.brand = BrandAgent(self, scenario.budget, self.days, self.budget_shares)
        self.private = scenario.has_private_domain
        self.operation = PrivateOperationAgent(self, scenario.operation) if self.private else None
        self.graph = None
        if self.private and scenario.referral.enabled and scenario.referral.network != "mixed":
            r = scenario.referral
            self.graph = network.build(r.network, n, r.mean_degree, r.rewire_p, streams["network"])
        self.ledger = Ledger(self.days, scenario.market.gross_margin)
        self.recorder = MetricRecorder(self.days)
        self._platform_revenue = np.zeros(len(self.platforms), dtype=np.int64)
        self._banned = np.zeros(len(self.platforms), dtype=bool)
        self.flows = dict.fromkeys(DAILY_FLOWS, 0)
        self._seed_initial_base()

    # ===================================================================== initial state ==
    def _seed_initial_base(self) -> None:
        m, pop, rng = self.cfg.market, self.pop, self.streams["population"]
        n_base = m.initial_public + m.initial_private
        if n_base == 0:
            return
        uids = self.queue.take(n_base, pop.domain)
        pop.move(uids, PUBLIC)
        pop.acquired_by[uids] = SOURCE_INITIAL
        pop.platform[uids] = self._draw_platforms(rng, len(uids))
        # History before day 0 is unknown: the base counts as a cohort whose first order was
        # on day 0 (not booked as revenue: it happened before the simulation).
        pop.n_orders[uids] = 1
        pop.ti_first_order[uids] = 0
        pop.ti_last_order[uids] = 0
        alive = uids[rng.random(len(uids)) < m.initial_p_active]
        pop.active[alive] = True
        members = uids[m.initial_public :]
        if len(members):
            self._join_private(members, day=0)
        pop.t_next[alive] = exponential_delays(rng, self._rates(alive))

    def _draw_platforms(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if len(self.platforms) == 1:
            return np.zeros(n, dtype=np.int8)
        return rng.choice(len(self.platforms), size=n, p=self.budget_shares).astype(np.int8)

    # ======================================================================= helpers ==
    def _rates(self, uids: np.ndarray) -> np.ndarray:
        """Current purchase rate per day: λ, times rel_rate_private for members."""
        rel = np.where(self.pop.domain[uids] == PRIVATE, self.beh.rel_rate_private, 1.0)
        return self.pop.lam[uids] * rel

    def _reschedule(self, uids: np.ndarray, start: float, rng: np.random.Generator) -> None:
        """Redraw the next purchase time from ``start`` (memoryless: valid after any change)."""
        if len(uids):
            self.pop.t_next[uids] = start + exponential_delays(rng, self._rates(uids))

    def _book_orders(
        self,
        uids: np.ndarray,
        channel: np.ndarray,
        day: int,
        rng: np.random.Generator,
        discount: float = 0.0,
    ) -> None:
        """Draw order values (Gamma-Gamma), book revenue, commissions and customer history.

        ``uids`` must be unique within one call. ``channel`` is a platform index or
        PRIVATE_CHANNEL per order.
        """
        if len(uids) == 0:
            return
        pop, ledger = self.pop, self.ledger
        values = rng.gamma(self.beh.gg_p, 1.0, len(uids)) / pop.nu[uids] * (1.0 - discount)
        fen = np.rint(values * 100.0).astype(np.int64)
        is_private = channel == PRIVATE_CHANNEL

        n_before = pop.n_orders[uids]
        pop.ti_first_order[uids[n_before == 0]] = day
        pop.ti_second_order[uids[n_before == 1]] = day
        pop.n_orders[uids] = n_before + 1
        pop.ti_last_order[uids] = day
        pop.revenue_fen[uids] += fen

        ledger.book("revenue_private", int(fen[is_private].sum()))
        ledger.book("revenue_public", int(fen[~is_private].sum()))
        public_channel = channel[~is_private]
        self._platform_revenue += np.bincount(
            public_channel, weights=fen[~is_private], minlength=len(self.platforms)
        ).astype(np.int64)

        # Per-customer contribution (for LTV): gross profit − platform fee − commission.
        yuan = fen / 100.0
        margin = self.cfg.market.gross_margin
        contrib = yuan * margin
        contrib[~is_private] -= yuan[~is_private] * self.take_rates[public_channel]
        commission = self._commissions(uids[is_private], fen[is_private], day)
        contrib[is_private] -= commission
        pop.contribution[uids] += contrib
        age = day - pop.ti_first_order[uids]
        pop.ltv_180[uids] += np.where(age < 180, contrib, 0.0).astype(np.float32)
        pop.ltv_365[uids] += np.where(age < 365, contrib, 0.0).astype(np.float32)

        self.flows["orders_private"] += int(is_private.sum())
        self.flows["orders_public"] += int((~is_private).sum())
        if self.record_orders:
            self._orders.append((uids.copy(), np.full(len(uids), day, np.int32), fen, channel))

    def _commissions(self, uids: np.ndarray, fen: np.ndarray, day: int) -> np.ndarray:
        """Commission (yuan) per private order: guides on members' GMV, KOCs on referred orders."""
        out = np.zeros(len(uids))
        if len(uids) == 0 or not self.private:
            return out
        op, c = self.operation, self.cfg.operation
        pop = self.pop
        if op.mode == "guides":
            owner = pop.owner[uids]
            held = (owner >= 0) & (pop.domain[uids] == PRIVATE)
            gmv = np.bincount(owner[held], weights=fen[held], minlength=op.n_holders)
            commission = np.rint(gmv * c.guide_commission_rate).astype(np.int64)
            gross = np.rint(gmv * self.cfg.market.gross_margin).astype(np.int64)
            for i in np.flatnonzero(gmv):
                guide = op.guides[i]
                guide.gmv_fen += int(gmv[i])
                guide.commission_fen += int(commission[i])
                guide.gross_profit_fen += int(gross[i])
            self.ledger.book("cost_commission", int(commission.sum()))
            out[held] = fen[held] * c.guide_commission_rate / 100.0
        elif op.mode == "distribution":
            referred = pop.referrer[uids] >= 0
            total = int(np.rint(fen[referred].sum() * c.distributor_commission_rate))
            self.ledger.book("cost_commission", total)
            out[referred] = fen[referred] * c.distributor_commission_rate / 100.0
        return out

    def _after_purchase(self, uids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Dropout after repeat purchases; returns the mask of those who went dormant."""
        pop = self.pop
        rel = np.where(pop.domain[uids] == PRIVATE, self.beh.rel_drop_private, 1.0)
        drop = rng.random(len(uids)) < pop.p_drop[uids] * rel
        gone = uids[drop]
        pop.active[gone] = False
        pop.t_next[gone] = np.inf
        self.flows["new_dormant"] += len(gone)
        return drop

    def _join_private(self, uids: np.ndarray, day: int) -> np.ndarray:
        """Seat joiners with an owner and a group; returns those who found room."""
        owners, groups = self.operation.place(len(uids), day)
        joined = uids[: len(owners)]
        self.flows["new_join_rejected"] += len(uids) - len(joined)
        pop = self.pop
        pop.move(joined, PRIVATE)
        pop.owner[joined] = owners
        pop.group[joined] = groups
        pop.ti_joined_private[joined] = day
        pop.fatigue[joined] = 0.0
        pop.ti_fatigue[joined] = day
        return joined

    # =========================================================================== step ==
    def step(self) -> None:
        """Advance one day through the eight phases of the class docstring."""
        d = self.day
        self.flows = dict.fromkeys(DAILY_FLOWS, 0)
        self._platform_revenue[:] = 0
        self._apply_shocks(d)  # 1
        platform_buyers = [self._acquire(d)]  # 2
        member_purchases, public_purchases = self._spontaneous_purchases(d)  # 3
        platform_buyers.append(public_purchases)
        member_purchases.append(self._outreach(d))  # 4
        self._diversion(d, np.concatenate(platform_buyers))  # 5
        self._referral(d, np.concatenate(member_purchases))  # 6
        self._operating_costs()  # 7
        self._close_day(d)  # 8
        self.brand.review(d)
        self.day += 1

    def run(self, days: int | None = None, progress: bool = False) -> None:
        """Run ``days`` steps (default: to the scenario's horizon)."""
        days = self.days - self.day if days is None else days
        steps = range(days)
        if progress:
            from tqdm import tqdm

            # disable=None: no bar when stderr is not a terminal (CI logs, pipes).
            steps = tqdm(steps, desc="simulating", unit="day", leave=False, disable=None)
        for _ in steps:
            self.step()

    # 1 ---------------------------------------------------------------------------------
    def _apply_shocks(self, d: int) -> None:
        rng = self.streams["shocks"]
        for shock in self.cfg.shocks:
            if shock.p_per_day is not None:
                starts = rng.random() < shock.p_per_day  # drawn every day: same stream use
            else:
                starts = shock.day == d
            if starts:
                for p in self.platforms:
                    if shock.platform in ("*", p.name):
                        p.start_shock(shock, d)
        self._banned[:] = [p.is_banned(d) for p in self.platforms]

    # 2 ---------------------------------------------------------------------------------
    def _acquire(self, d: int) -> np.ndarray:
        rng, pop = self.streams["acquisition"], self.pop
        n_market = self.cfg.market.size
        budget = self.brand.spend_on(d)
        new_by_platform = []
        for p in self.platforms:
            share = self.brand.shares[p.index]
            spend, expected = p.expected_acquisitions(
                budget * share, d, int(pop.counts[PROSPECT]), n_market
            )
            self.ledger.book("cost_ad", to_fen(spend))
            if self.cfg.acquisition.mode == "saturating":
                n_new = rng.poisson(expected)
            else:
                n_new = (
                    0
                    if p.is_banned(d)
                    else rng.binomial(
                        int(pop.counts[PROSPECT]),
                        bass_daily_probability(self.cfg.acquisition.p_innovation_per_year) * share,
                    )
                )
            uids = self.queue.take(int(n_new), pop.domain)
            self.brand.observe(p.index, spend, len(uids))
            pop.platform[uids] = p.index
            new_by_platform.append(uids)
        uids = np.concatenate(new_by_platform)
        if len(uids) == 0:
            return uids
        pop.move(uids, PUBLIC)
        pop.acquired_by[uids] = SOURCE_PAID
        pop.active[uids] = True
        self._book_orders(uids, pop.platform[uids].astype(np.int64), d, rng)
        # The first order opens the BG/NBD clock at the start of day d: repeat purchases may
        # follow later the same day.
        pop.t_next[uids] = d + exponential_delays(rng, self._rates(uids))
        self.flows["new_paid"] += len(uids)
        return uids

    # 3 ---------------------------------------------------------------------------------
    def _spontaneous_purchases(self, d: int) -> tuple[list[np.ndarray], np.ndarray]:
        rng, pop = self.streams["purchases"], self.pop
        share_private = self.beh.share_private_channel
        members_bought: list[np.ndarray] = []
        platform_bought: list[np.ndarray] = []
        due = np.flatnonzero(pop.t_next < d + 1)
        while len(due):
            is_member = pop.domain[due] == PRIVATE
            home = pop.platform[due].astype(np.int64)
            banned = self._banned[home]
            to_private = is_member & ((rng.random(len(due)) < share_private) | banned)
            lost = ~is_member & banned
            self.flows["orders_lost_ban"] += int(lost.sum())
            buyers = due[~lost]
            channel = np.where(to_private, PRIVATE_CHANNEL, home)[~lost]
            self._book_orders(buyers, channel, d, rng)
            members_bought.append(buyers[is_member[~lost]])
            platform_bought.append(buyers[channel != PRIVATE_CHANNEL])
            dropped = self._after_purchase(buyers, rng)
            again = np.concatenate([buyers[~dropped], due[lost]])
            pop.t_next[again] += exponential_delays(rng, self._rates(again))
            due = again[pop.t_next[again] < d + 1]
        public = np.concatenate(platform_bought) if platform_bought else np.empty(0, np.int64)
        return members_bought, public

    # 4 ---------------------------------------------------------------------------------
    def _outreach(self, d: int) -> np.ndarray:
        o = self.cfg.outreach
        empty = np.empty(0, dtype=np.int64)
        if not (self.private and o.enabled and outreach.is_push_day(d, o.pushes_per_week)):
            return empty
        rng, pop = self.streams["outreach"], self.pop
        members = np.flatnonzero(pop.domain == PRIVATE)
        to = outreach.select_recipients(
            members,
            pop.active,
            pop.ti_last_order,
            targeting=o.targeting,
            day=d,
            recency_days=o.tier_recency_days,
            cold_every=o.tier_cold_every,
            index=outreach.push_index(d, o.pushes_per_week),
        )
        if len(to) == 0:
            return empty
        self.flows["messages_sent"] += len(to)
        self.ledger.book("cost_messaging", to_fen(o.cost_per_message_yuan * len(to)))
        fatigue = outreach.decayed_fatigue(
            pop.fatigue[to], pop.ti_fatigue[to], d, o.fatigue_half_life_days
        ) + np.float32(1.0)
        pop.fatigue[to] = fatigue
        pop.ti_fatigue[to] = d

        u_buy, u_unfollow = rng.random(len(to)), rng.random(len(to))
        active = pop.active[to]
        rel_service = (
            self.cfg.operation.rel_response_guides if self.operation.mode == "guides" else 1.0
        )
        p_buy = min(1.0, o.p_response * o.offer_uplift * rel_service)
        buyers = to[active & (u_buy < p_buy)]
        self._book_orders(buyers, np.full(len(buyers), PRIVATE_CHANNEL), d, rng, o.offer_discount)
        self.flows["orders_push"] += len(buyers)
        self._after_purchase(buyers, rng)
        # The same uniform decides buying (if active) or reactivation (if dormant).
        woken = to[~active & (u_buy < o.p_reactivate)]
        pop.active[woken] = True
        self._reschedule(woken, d + 1, rng)
        self.flows["new_reactivated"] += len(woken)

        leaving = to[
            u_unfollow < outreach.p_unfollow(fatigue, o.p_unfollow_base, o.unfollow_convexity)
        ]
        self._lapse(leaving, d, rng)
        return buyers

    def _lapse(self, uids: np.ndarray, d: int, rng: np.random.Generator) -> None:
        pop = self.pop
        self.operation.release(pop.owner[uids], pop.group[uids])
        pop.move(uids, LAPSED)
        pop.owner[uids] = -1
        pop.group[uids] = -1
        pop.ti_lapsed[uids] = d
        self._reschedule(uids[pop.active[uids]], d + 1, rng)
        self.flows["new_unfollowed"] += len(uids)

    # 5 ---------------------------------------------------------------------------------
    def _diversion(self, d: int, platform_buyers: np.ndarray) -> None:
        v = self.cfg.diversion
        if not (self.private and v.enabled) or len(platform_buyers) == 0:
            return
        rng, pop = self.streams["diversion"], self.pop
        self.ledger.book("cost_messaging", to_fen(v.cost_per_card_yuan * len(platform_buyers)))
        buyers = np.unique(platform_buyers)
        dom = pop.domain[buyers]
        eligible = (dom == PUBLIC) | (
            (dom == LAPSED) & (d - pop.ti_lapsed[buyers] >= v.lapsed_cooldown_days)
        )
        buyers, dom = buyers[eligible], dom[eligible]
        p_join = saturating(v.incentive_yuan, v.p_join_base, v.p_join_max, v.incentive_scale_yuan)
        p = np.where(dom == LAPSED, p_join * v.rel_join_lapsed, p_join)
        joiners = buyers[rng.random(len(buyers)) < p]
        joined = self._join_private(joiners, d)
        self.ledger.book("cost_incentive", to_fen(v.incentive_yuan * len(joined)))
        self._reschedule(joined[pop.active[joined]], d + 1, rng)
        self.flows["new_diverted"] += len(joined)

    # 6 ---------------------------------------------------------------------------------
    def _referral(self, d: int, purchasers: np.ndarray) -> None:
        r = self.cfg.referral
        if not (self.private and r.enabled) or len(purchasers) == 0:
            return
        rng, pop = self.streams["referral"], self.pop
        mean_invites = saturating(
            r.reward_yuan,
            r.invites_per_purchase_base,
            r.invites_per_purchase_max,
            r.reward_scale_yuan,
        )
        if self.operation.mode == "distribution":
            mean_invites *= self.cfg.operation.rel_referral_distribution
        invites = rng.poisson(mean_invites, len(purchasers))
        if self.graph is None:
            # Fully mixed: an invite reaches a random person, a prospect with prob P/N.
            p = r.p_convert * pop.counts[PROSPECT] / self.cfg.market.size
            converted = rng.binomial(invites, p)
            referrers = np.repeat(purchasers, converted)
            new = self.queue.take(len(referrers), pop.domain)
            referrers = referrers[: len(new)]
        else:
            inviters = np.repeat(purchasers, invites)
            targets = self.graph.random_neighbours(rng, inviters)
            hit = targets >= 0
            hit[hit] = pop.domain[targets[hit]] == PROSPECT
            hit &= rng.random(len(targets)) < r.p_convert
            new, first = np.unique(targets[hit], return_index=True)
            referrers = inviters[hit][first]
        if len(new) == 0:
            return
        joined = self._join_private(new, d)
        referrers = referrers[: len(joined)]
        pop.acquired_by[joined] = SOURCE_REFERRAL
        pop.referrer[joined] = referrers
        pop.platform[joined] = self._draw_platforms(rng, len(joined))
        pop.active[joined] = True
        self._book_orders(joined, np.full(len(joined), PRIVATE_CHANNEL), d, rng)
        self._reschedule(joined, d + 1, rng)
        self.ledger.book("cost_referral", to_fen(r.reward_yuan * len(joined)))
        self.flows["new_referred"] += len(joined)

    # 7 ---------------------------------------------------------------------------------
    def _operating_costs(self) -> None:
        if not self.private:
            return
        staff, tools = self.operation.daily_costs()
        self.ledger.book("cost_staff", staff)
        self.ledger.book("cost_tools", tools)

    # 8 ---------------------------------------------------------------------------------
    def _close_day(self, d: int) -> None:
        fees = np.rint(self._platform_revenue * self.take_rates).astype(np.int64)
        self.ledger.book("platform_fees", int(fees.sum()))
        money = self.ledger.close_day(d)
        pop = self.pop
        op = self.operation
        stocks = {
            "n_prospect": pop.counts[PROSPECT],
            "n_public": pop.counts[PUBLIC],
            "n_private": pop.counts[PRIVATE],
            "n_lapsed": pop.counts[LAPSED],
            "n_active": pop.n_active(),
            "n_groups": op.n_live_groups() if op else 0,
            "n_holders": op.n_holders if op else 0,
            "n_platforms_banned": int(self._banned.sum()),
        }
        self.recorder.record(d, stocks, self.flows, money)

    # ====================================================================== results ==
    def orders_frame(self):
        """Every order of the run: customer_id, day, amount, channel (needs record_orders)."""
        import pandas as pd

        if not self.record_orders:
            raise RuntimeError("orders were not recorded: pass record_orders=True")
        if not self._orders:
            return pd.DataFrame({"customer_id": [], "day": [], "amount": [], "channel": []})
        uids, days, fen, channel = (
            np.concatenate(parts) for parts in zip(*self._orders, strict=True)
        )
        names = np.array(["private"] + [p.name for p in self.platforms])
        return pd.DataFrame(
            {
                "customer_id": uids,
                "day": days,
                "amount": fen / 100.0,
                "channel": names[channel + 1],
            }
        )
