"""The simulator: a Mesa model whose customers are arrays and whose operators are agents."""

from __future__ import annotations

import math
import warnings

import mesa
import numpy as np

from model import draws, sampling, valuation
from model.agents import BrandAgent, PlatformAgent, PrivateOperationAgent
from model.dynamics import clock, network, outreach
from model.dynamics.acquisition import bass_daily_probability
from model.dynamics.curves import saturating
from model.ledger import Ledger, to_fen
from model.metrics import ATTRIBUTION, FLOWS, MetricRecorder
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
from model.scenario.scale import apply_scale
from model.scenario.schema import Scenario
from model.seeds import as_seed_sequence, seed_label, spawn_generators, stream_keys

PRIVATE_CHANNEL = -1  # channel code of an order placed in the brand's own mini-program

# Order ids. Every order of a customer has one, and every decision about that order (its value,
# its channel, dropout after it, the invitations it sends) is drawn at (stream, uid, order id),
# so the same order gets the same luck under every strategy. A spontaneous purchase is numbered
# by the purchase clock that fired it (0, 1, 2, ...); a push purchase on day d is PUSH_ORDER + d
# (at most one push a day); the first order, paid or referred, is FIRST_ORDER.
PUSH_ORDER = 1 << 32
FIRST_ORDER = 1 << 40

# Purchases falling due are found among the customers whose clock runs out within this many
# days, listed by one scan of the market per period and kept up to date as clocks are set,
# instead of scanning every customer every day (measured: ≈15% of a 1M-customer run).
LOOKAHEAD_DAYS = 16


class PrivateDomainModel(mesa.Model):
    """Customers moving between public platforms and the brand's private domain.

    One Mesa step is one day: during step ``n`` (Mesa's ``steps`` counts it from 1) the model
    simulates day ``d = n − 1``, and ``running`` turns False after day ``sim.days − 1``, so
    ``run_model()`` stops at the horizon. Past it, ``step()`` does nothing but warn (the daily
    arrays end there). The daily process order (docs/model.md §3.1) — changing it is a design
    decision, so it is written here once:

    1. **Shocks**: scheduled or random platform events start (ban for D days: no paid
       acquisition and no platform sales; CAC jump; algorithm change on reach). On each ban
       day every active non-member customer of the banned store defects (goes dormant) with
       ``p_defect_per_ban_day``.
    2. **Paid acquisition**: each platform turns its share of the day's budget, carried over by
       geometric adstock, into new customers on a tanh saturation curve scaled by the prospects
       left (or, in ``bass`` mode, each prospect adopts with a constant daily probability); the
       calendar multiplies the curve's CAC floor by the festival window's ``rel_cac``. New
       customers become PUBLIC and place a first order on the platform.
    3. **Spontaneous purchases and returns**: active customers buy in continuous time at rate
       λ·rel·s(t) (rel = ``rel_rate_private`` for members; s the calendar's multiplier of the
       day: month × festival lift), so P(≥1 purchase today) = 1 − exp(−λ·rel·s). Members'
       orders go to the private channel (share, or all of them while their platform bans the
       brand); others' go to their platform, and are lost during a ban. After each repeat
       purchase the customer goes dormant with probability p_drop·rel_drop; an order lost to a
       ban faces the same dropout draw. A dormant customer returns to active at
       ``return_rate_per_day``·s(t) (their return clock) and buys again from that moment
       (``new_returned``). A repeat platform order pays the platform's retargeting share on
       top of its fee.
    4. **Private outreach**: on push days the targeting rule picks members; each push adds
       fatigue; active recipients may buy at once (at the offer's discount), dormant ones may
       wake up (their return brought forward to tomorrow: credited to the push as
       ``new_reactivated`` only if they would not have returned on their own within
       ``reactivation_window_days``, else counted in ``new_returned``), and any may unfollow
       with a hazard convex in fatigue → LAPSED. A share
       ``pull_forward_share`` of push orders replace the member's next spontaneous order (that
       clock is spent without an order); the others are extra. Dormancy after a push order
       follows the rule after any order: the dropout draw. Who buys, wakes up or unfollows
       is sampled with a fixed size within value classes (``model/sampling.py``).
    5. **Diversion**: each platform order carries an invitation; PUBLIC buyers (and LAPSED
       ones after a cooldown, at a lower rate) join with a probability rising in the red
       packet (the day's joiners sampled with a fixed size within value classes); joiners
       need a seat with an account or guide (hired or refused per the mode) and are put in a
       community group, refilling free seats in existing groups first.
    6. **Referral**: members' purchases (steps 3–4) send Poisson invitations; each converts a
       prospect with a probability scaled by the prospects left (mixed) or reaching only the
       inviter's prospect neighbours (graph). Referred customers join PRIVATE with a first order.
    7. **Operating mode economics**: accounts or guides are released while the pool would fit
       in one fewer at ``release_below_fill`` (their members move to the others); staff
       (accounts, content, guides' salaries, upkeep per live group) and tools are booked;
       commissions, coupon discounts and retargeting were booked with each order.
    8. **Ledger and metrics**: platform fees on the day's platform revenue, the contribution
       identity closed in fen (gross profit on the list value), daily metrics recorded; on
       review days an adaptive brand moves budget towards the platform with the lower realised
       CAC (used from tomorrow).

    After the last day the customers still active are valued (:meth:`residual_value`,
    :mod:`model.valuation`). Every member order is also attributed (incremental accounting,
    :meth:`_book_orders`). A scenario with ``market.scale < 1`` is simulated as its faithful
    miniature (:mod:`model.scenario.scale`).

    Randomness: every per-customer decision is a keyed draw (:mod:`model.draws`) at (stream,
    uid, counter), the counter being the customer's purchase-clock number, an order id (see
    ``FIRST_ORDER``, ``PUSH_ORDER``) or the day; market-level counts are keyed by (platform or
    shock, day). Nothing depends on how many others draw, so two strategies on one seed pair
    customer by customer. A new mechanism draws the same way: append a stream to
    ``model.seeds.KEYED`` and key it by the customer and a counter that means the same under
    every strategy (an order id, the day, a per-customer event count).

    Purchase clocks are set only by :meth:`_start_clocks` (a fresh keyed hazard) and
    :meth:`_change_domain` (the hazard left, spent at the new rate: :mod:`model.dynamics.clock`),
    return clocks by :meth:`_start_returns`; anything that starts a customer buying, changes
    their rate or ends their activity goes through them, which keeps the pairing and the list of
    clocks due (:meth:`_due`) right. Every clock runs in the calendar's operational time
    (``self.optime``; None when the calendar is flat), so the seasons move purchases without a
    single extra draw. A rate change (joining, unfollowing) and a clock started outside steps
    2–3 take effect from the start of the next day.

    Day ``d`` is the date ``calendar.start_date + d`` (the daily table's ``date`` column).
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int | np.random.SeedSequence | None = None,
        *,
        record_orders: bool = False,
    ) -> None:
        self.seed_sequence = as_seed_sequence(seed if seed is not None else scenario.sim.seed)
        generators = spawn_generators(self.seed_sequence)
        super().__init__(rng=generators["mesa"])
        # A miniature (market.scale < 1) is built here, once: the model runs the smaller market,
        # while the caller's scenario keeps the full-size values and the scale (provenance).
        self.scale = scenario.market.scale
        scenario = apply_scale(scenario)
        # The (scaled) scenario the model runs: every section of it, read as settings.market,
        # settings.operation... Not `scenario`: mesa.Model owns that attribute.
        self.settings = scenario
        self.seed_label = seed_label(self.seed_sequence)
        self.keys = stream_keys(self.seed_sequence)
        self.days = scenario.sim.days
        self.beh = scenario.behaviour
        self.return_rate = self.beh.return_rate_per_day
        # The calendar: today's multiplier on purchase and return rates and on acquisition
        # cost; purchase and return clocks run in its operational time (None: flat).
        self.profile = scenario.calendar.profile()
        dates = scenario.calendar.dates(0, self.days)
        self.rel_rate = self.profile.multipliers(dates)
        self.rel_cac = self.profile.cac_multipliers(dates)
        self.optime = None if self.profile.is_flat() else clock.OperationalTime(self.rel_rate)
        self.record_orders = record_orders
        self._orders: list[tuple[np.ndarray, ...]] = []

        n = scenario.market.size
        self.pop = Population.create(n, self.beh, generators["traits"])
        self.paid_queue = ProspectQueue(n, generators["paid_queue"])
        self.platforms = [
            PlatformAgent(self, name, i, terms)
            for i, (name, terms) in enumerate(scenario.platforms.items())
        ]
        self.take_rates = np.array([p.terms.take_rate for p in self.platforms])
        self.retargeting_rates = np.array(
            [p.terms.retargeting_share_of_gmv for p in self.platforms]
        )
        self.defection_rates = np.array([p.terms.p_defect_per_ban_day for p in self.platforms])
        # Incremental accounting: the share of a member's spontaneous order that the customer
        # would have placed anyway, at their base rate on their home platform (1/uplift).
        # (Capped at 1: a member who buys less than before brings no negative attribution.)
        self.baseline_share = 1.0 / max(self.beh.rel_rate_private, 1.0)
        self.delta = valuation.daily_rate(scenario.market.discount_rate_per_year)
        self.budget_shares = np.array([p.terms.budget_share for p in self.platforms])
        self.brand = BrandAgent(
            self, scenario.budget, self.days, self.budget_shares, scenario.calendar.start_date
        )
        self.private = scenario.has_private_domain
        # Classes of expected value within which a day's private-domain decisions are sampled
        # with a fixed size (model/sampling.py); the public-only reference makes none.
        self.value_class = (
            sampling.value_classes(
                sampling.expected_value(
                    self.pop.lam, self.pop.p_drop, self.pop.nu, self.beh.gg_p, self.days
                )
            )
            if self.private
            else None
        )
        self.operation = PrivateOperationAgent(self, scenario.operation) if self.private else None
        r = scenario.referral
        refers = self.private and r.enabled
        # Fully mixed referral reaches prospects in its own random order, so the prospects it
        # converts leave paid acquisition's order otherwise as it is (pairing with public_only).
        self.referral_queue = (
            ProspectQueue(n, generators["referral_queue"], classes=self.value_class)
            if refers and r.network == "mixed"
            else None
        )
        self.graph = None
        if refers and r.network != "mixed":
            self.graph = network.build(
                r.network, n, r.mean_degree, r.rewire_p, generators["network"]
            )
        self.ledger = Ledger(self.days, scenario.market.gross_margin)
        self.recorder = MetricRecorder(self.days)
        self._platform_revenue = np.zeros(len(self.platforms), dtype=np.int64)
        self._banned = np.zeros(len(self.platforms), dtype=bool)
        self.flows = dict.fromkeys((*FLOWS, *ATTRIBUTION), 0)
        # Market-level uniforms, keyed by (platform or shock, day): drawn for the whole horizon
        # at once (the same numbers as drawing them day by day, at a fraction of the calls).
        self._u_acquisition = self._daily_uniforms("acquisition", len(self.platforms))
        self._u_shock_start = self._daily_uniforms("shock_start", len(scenario.shocks))
        self._soon_until = 0  # clocks due before this day are listed in self._soon
        self._soon: list[np.ndarray] = []
        self._seed_initial_base()

    # ===================================================================== initial state ==
    def _seed_initial_base(self) -> None:
        m, pop = self.settings.market, self.pop
        n_base = m.initial_public + m.initial_private
        if n_base == 0:
            return
        uids = self.paid_queue.take(n_base, pop.domain)
        pop.move(uids, PUBLIC)
        pop.acquired_by[uids] = SOURCE_INITIAL
        pop.platform[uids] = self._home_platforms(uids)
        # History before day 0 is unknown: the base counts as a cohort whose first order was
        # on day 0 (not booked as revenue: it happened before the simulation).
        pop.n_orders[uids] = 1
        pop.ti_first_order[uids] = 0
        pop.ti_last_order[uids] = 0
        is_alive = draws.uniform(self.keys["initial_active"], uids, 0) < m.initial_p_active
        alive = uids[is_alive]
        pop.active[alive] = True
        members = uids[m.initial_public :]
        if len(members):
            self._join_private(members, day=0)
        self._start_clocks(alive, 0.0)
        self._start_returns(uids[~is_alive], 0.0)  # dormant since before day 0

    def _daily_uniforms(self, stream: str, n: int) -> np.ndarray:
        """U(0, 1) keyed by (index, day) for indices 0..n-1 and every day: shape (n, days)."""
        index = np.repeat(np.arange(n), self.days)
        day = np.tile(np.arange(self.days), n)
        return draws.uniform(self.keys[stream], index, day).reshape(n, self.days)

    def _home_platforms(self, uids: np.ndarray) -> np.ndarray:
        """Home platform of customers who arrive without a paid order, by budget share."""
        if len(self.platforms) == 1:
            return np.zeros(len(uids), dtype=np.int8)
        u = draws.uniform(self.keys["home_platform"], uids, 0)
        return draws.categorical(u, self.budget_shares).astype(np.int8)

    # ======================================================================= helpers ==
    def _rates(self, uids: np.ndarray) -> np.ndarray:
        """Current purchase rate per day: λ, times rel_rate_private for members."""
        rel = np.where(self.pop.domain[uids] == PRIVATE, self.beh.rel_rate_private, 1.0)
        return self.pop.lam[uids] * rel

    def _start_clocks(self, uids: np.ndarray, start: float | np.ndarray) -> None:
        """Start each customer's next purchase clock at ``start`` (a fresh keyed hazard)."""
        if len(uids) == 0:
            return
        pop = self.pop
        hazard = draws.exponential(self.keys["purchase_clock"], uids, pop.n_clocks[uids])
        pop.n_clocks[uids] += 1
        pop.t_next[uids] = clock.next_time(start, hazard, self._rates(uids), self.optime)
        self._watch(uids)

    def _start_returns(self, uids: np.ndarray, start: float | np.ndarray) -> None:
        """Customers gone dormant at ``start``: the time they would return on their own.

        A dormant customer returns at ``return_rate_per_day`` times the calendar's multiplier,
        so their return clock is a purchase clock at that rate (``t_next`` holds it while they
        are dormant). Its Exp(1) hazard is keyed by the customer and ``n_clocks``, which a
        dormancy spell does not advance and the return (a new purchase clock) does: one draw
        per spell, the same under every strategy. Return rate 0: dormant for good (inf).
        """
        if len(uids) == 0:
            return
        pop = self.pop
        if self.return_rate == 0:
            pop.t_next[uids] = np.inf
            return
        hazard = draws.exponential(self.keys["return_clock"], uids, pop.n_clocks[uids])
        pop.t_next[uids] = clock.next_time(start, hazard, self.return_rate, self.optime)
        self._watch(uids)

    def _change_domain(self, uids: np.ndarray, to: int, now: float) -> None:
        """Move customers to a domain whose purchase rate differs, from time ``now`` on.

        Running purchase clocks keep their hazard left and spend it at the new rate (exact and
        paired: see :mod:`model.dynamics.clock`); a dormant customer's return clock does not
        depend on the domain and stays as it is.
        """
        pop = self.pop
        running = uids[np.isfinite(pop.t_next[uids]) & pop.active[uids]]
        old_rate = self._rates(running)
        pop.move(uids, to)
        if len(running):
            pop.t_next[running] = clock.rescaled(
                pop.t_next[running], now, old_rate, self._rates(running), self.optime
            )
            self._watch(running)

    def _watch(self, uids: np.ndarray) -> None:
        """List customers whose clock was just set if it runs out within the look-ahead."""
        soon = uids[self.pop.t_next[uids] < self._soon_until]
        if len(soon):
            self._soon.append(soon)

    def _due(self, d: int) -> np.ndarray:
        """Customers whose clock runs out by the end of day ``d``, in uid order.

        A purchase clock for active customers, a return clock for dormant ones. The same as
        ``np.flatnonzero(t_next < d + 1)``: every clock is set through :meth:`_start_clocks`,
        :meth:`_start_returns` or :meth:`_change_domain`, which list it when it runs out before
        ``_soon_until``, and the market is scanned afresh when that day is reached.
        """
        t_next = self.pop.t_next
        if d >= self._soon_until:
            self._soon_until = d + LOOKAHEAD_DAYS
            self._soon = [np.flatnonzero(t_next < self._soon_until)]
        soon = np.concatenate(self._soon)
        t = t_next[soon]
        self._soon = [soon[(t >= d + 1) & (t < self._soon_until)]]  # still to come this period
        return np.unique(soon[t < d + 1])  # a clock set twice is listed twice

    def _book_orders(
        self,
        uids: np.ndarray,
        channel: np.ndarray,
        day: int,
        order_ids: np.ndarray | int,
        discount: float = 0.0,
        baseline_share: np.ndarray | float = 0.0,
    ) -> None:
        """Draw order values (Gamma-Gamma); book revenue, costs, history and attribution.

        ``uids`` must be unique within one call. ``channel`` is a platform index or
        PRIVATE_CHANNEL per order; ``order_ids`` key the value draws (see ``PUSH_ORDER``).
        ``discount`` is the coupon on these orders (booked as ``cost_discount``: the margin is
        on the list value). A repeat order on a platform pays its retargeting share.

        Members' orders are also attributed (incremental accounting): ``baseline_share`` is the
        share of each order the member would have placed anyway at their base rate on their
        home platform — ``1/rel_rate_private`` for a spontaneous order or a push order that
        replaced one, 0 for an extra push order; always 0 for referred customers, who would not
        be customers at all. Each order's incremental contribution is its contribution minus
        that share of a full-price repeat order on the home platform; it is credited to the
        member's holder (account or guide) and summed in the day's ``contribution_incremental``;
        ``gmv_incremental`` is the order value beyond the baseline and ``gmv_channel_shifted``
        the private-channel value that would have been platform GMV anyway.
        """
        if len(uids) == 0:
            return
        pop, ledger = self.pop, self.ledger
        shape = self.beh.gg_p
        values = draws.gamma(self.keys["order_value"], uids, order_ids, shape) / pop.nu[uids]
        list_fen = np.rint(values * 100.0).astype(np.int64)
        fen = np.rint(values * (1.0 - discount) * 100.0).astype(np.int64)
        discount_fen = list_fen - fen
        is_private = channel == PRIVATE_CHANNEL
        public = ~is_private
        public_channel = channel[public]

        n_before = pop.n_orders[uids]
        pop.ti_first_order[uids[n_before == 0]] = day
        pop.ti_second_order[uids[n_before == 1]] = day
        pop.n_orders[uids] = n_before + 1
        pop.ti_last_order[uids] = day
        pop.revenue_fen[uids] += fen

        # Rented repeat orders: the platform is paid again to show the brand to its own buyers.
        retarget_fen = np.zeros(len(uids), dtype=np.int64)
        repeat = public & (n_before >= 1)
        retarget_fen[repeat] = np.rint(
            fen[repeat] * self.retargeting_rates[channel[repeat]]
        ).astype(np.int64)
        commission_fen = np.zeros(len(uids), dtype=np.int64)
        commission_fen[is_private] = self._commissions(uids[is_private], fen[is_private])

        ledger.book("revenue_private", int(fen[is_private].sum()))
        ledger.book("revenue_public", int(fen[public].sum()))
        ledger.book("cost_discount", int(discount_fen.sum()))
        ledger.book("cost_retargeting", int(retarget_fen.sum()))
        ledger.book("cost_commission", int(commission_fen.sum()))
        self._platform_revenue += np.bincount(
            public_channel, weights=fen[public], minlength=len(self.platforms)
        ).astype(np.int64)

        # Per-customer contribution (LTV, valuation): margin on the list value − discount −
        # platform fee, retargeting or commission.
        margin = self.settings.market.gross_margin
        contrib = (list_fen * margin - discount_fen - retarget_fen - commission_fen) / 100.0
        contrib[public] -= fen[public] / 100.0 * self.take_rates[public_channel]
        age = day - pop.ti_first_order[uids]
        pop.ltv_180[uids] += np.where(age < 180, contrib, 0.0).astype(np.float32)
        pop.ltv_365[uids] += np.where(age < 365, contrib, 0.0).astype(np.float32)
        pop.pv_contribution[uids] += contrib * np.exp(-self.delta * (day + 0.5))

        if self.private:
            self._attribute(
                uids, is_private, list_fen, fen, commission_fen, contrib, baseline_share
            )
        self.flows["orders_private"] += int(is_private.sum())
        self.flows["orders_public"] += int(public.sum())
        if self.record_orders:
            self._orders.append((uids.copy(), np.full(len(uids), day, np.int32), fen, channel))

    def _commissions(self, uids: np.ndarray, fen: np.ndarray) -> np.ndarray:
        """Commission (fen) per private order: guides on members' GMV, KOCs on referred orders."""
        out = np.zeros(len(uids), dtype=np.int64)
        if len(uids) == 0 or not self.private:
            return out
        c, pop = self.settings.operation, self.pop
        if self.operation.mode == "guides":
            held = (pop.holder[uids] >= 0) & (pop.domain[uids] == PRIVATE)
            out[held] = np.rint(fen[held] * c.guide_commission_rate)
        elif self.operation.mode == "distribution":
            referred = pop.referrer[uids] >= 0
            out[referred] = np.rint(fen[referred] * c.distributor_commission_rate)
        return out

    def _attribute(
        self,
        uids: np.ndarray,
        is_private: np.ndarray,
        list_fen: np.ndarray,
        fen: np.ndarray,
        commission_fen: np.ndarray,
        contrib: np.ndarray,
        baseline_share: np.ndarray | float,
    ) -> None:
        """Incremental accounting of members' orders (see :meth:`_book_orders`)."""
        pop = self.pop
        member = pop.domain[uids] == PRIVATE
        if not member.any():
            return
        uids, is_private, commission_fen = uids[member], is_private[member], commission_fen[member]
        list_fen, fen, contrib = list_fen[member], fen[member], contrib[member]
        w = np.broadcast_to(np.asarray(baseline_share, dtype=float), member.shape)[member]
        w = np.where(pop.acquired_by[uids] == SOURCE_REFERRAL, 0.0, w)
        home = pop.platform[uids].astype(np.int64)
        margin = self.settings.market.gross_margin
        anyway = (
            w * list_fen / 100.0 * (margin - self.take_rates[home] - self.retargeting_rates[home])
        )
        incremental = contrib - anyway
        self.flows["contribution_incremental"] += float(incremental.sum())
        self.flows["gmv_incremental"] += float(((1.0 - w) * fen).sum() / 100.0)
        self.flows["gmv_channel_shifted"] += float((w * fen)[is_private].sum() / 100.0)
        holder = pop.holder[uids]
        held = holder >= 0
        op = self.operation
        slots = len(op.holders)
        credit = np.rint(np.bincount(holder[held], incremental[held] * 100.0, minlength=slots))
        sold = held & is_private
        gmv = np.bincount(holder[sold], fen[sold], minlength=slots)
        paid = np.bincount(holder[sold], commission_fen[sold], minlength=slots)
        for i in np.flatnonzero((credit != 0) | (gmv != 0)):
            holder = op.holders[i]
            holder.incremental_fen += int(credit[i])
            holder.gmv_fen += int(gmv[i])
            holder.commission_fen += int(paid[i])

    def _after_purchase(
        self, uids: np.ndarray, order_ids: np.ndarray | int, when: np.ndarray | float
    ) -> np.ndarray:
        """Dropout after repeat purchases made at ``when``; returns the mask of those who left.

        The dormant start their return clock at the moment of the purchase.
        """
        if len(uids) == 0:
            return np.zeros(0, dtype=bool)
        pop = self.pop
        rel = np.where(pop.domain[uids] == PRIVATE, self.beh.rel_drop_private, 1.0)
        u = draws.uniform(self.keys["dropout"], uids, order_ids)
        drop = u < pop.p_drop[uids] * rel
        gone = uids[drop]
        pop.active[gone] = False
        self._start_returns(gone, when[drop] if np.ndim(when) else when)
        self.flows["new_dormant"] += len(gone)
        return drop

    def _join_private(self, uids: np.ndarray, day: int) -> np.ndarray:
        """Seat joiners with a holder and a group; returns those who found room.

        Their purchase rate changes from the start of the next day.
        """
        slots, groups = self.operation.place(len(uids), day)
        joined = uids[: len(slots)]
        self.flows["new_join_rejected"] += len(uids) - len(joined)
        pop = self.pop
        self._change_domain(joined, PRIVATE, now=day + 1)
        pop.holder[joined] = slots
        pop.group[joined] = groups
        pop.ti_joined_private[joined] = day
        pop.fatigue[joined] = 0.0
        pop.ti_fatigue[joined] = day
        return joined

    # =========================================================================== step ==
    def step(self) -> None:
        """Simulate one day through the eight phases of the class docstring.

        Mesa has already counted this step (``self.steps``), so today is ``steps − 1``.
        """
        d = self.steps - 1
        if d >= self.days:
            warnings.warn(
                f"step(): day {d} is past the horizon of {self.days} days (sim.days); nothing "
                "is simulated. Build the model with a longer sim.days to go further.",
                RuntimeWarning,
                stacklevel=3,
            )
            return
        self.flows = dict.fromkeys((*FLOWS, *ATTRIBUTION), 0)
        self._platform_revenue[:] = 0
        self._apply_shocks(d)  # 1
        platform_buyers = [self._acquire(d)]  # 2
        member_orders, public_buyers = self._spontaneous_purchases(d)  # 3
        platform_buyers.append(public_buyers)
        member_orders.append(self._outreach(d))  # 4
        self._diversion(d, np.concatenate(platform_buyers))  # 5
        self._referral(d, *(np.concatenate(part) for part in zip(*member_orders, strict=True)))  # 6
        self._operating_costs(d)  # 7
        self._close_day(d)  # 8
        self.brand.review(d)
        if d + 1 >= self.days:
            self.running = False

    def run(self, progress: bool = False) -> None:
        """Run to the horizon (Mesa's ``run_model``), optionally with a progress bar."""
        if not progress:
            self.run_model()
            return
        from tqdm import tqdm

        # disable=None: no bar when stderr is not a terminal (CI logs, pipes).
        with tqdm(
            total=self.days,
            initial=self.steps,
            desc="simulating",
            unit="day",
            leave=False,
            disable=None,
        ) as bar:
            while self.running:
                self.step()
                bar.update()

    # 1 ---------------------------------------------------------------------------------
    def _apply_shocks(self, d: int) -> None:
        for i, shock in enumerate(self.settings.shocks):
            if shock.p_per_day is not None:
                starts = self._u_shock_start[i, d] < shock.p_per_day
            else:
                starts = shock.day == d
            if starts:
                for p in self.platforms:
                    if shock.platform in ("*", p.name):
                        p.start_shock(shock, d)
        self._banned[:] = [p.is_banned(d) for p in self.platforms]
        self._defect_during_ban(d)

    def _defect_during_ban(self, d: int) -> None:
        """Each ban day, active non-member customers of a banned store may defect.

        The store is gone from their search results, favourites and feeds; members are not at
        risk (the private channel still reaches them). Defectors go dormant (no push reaches a
        non-member; like every dormant customer they return at ``return_rate_per_day``, never
        at 0); together with lost orders' dropout they are the store's customers who do not
        come back after the ban.
        """
        at_risk = self._banned & (self.defection_rates > 0)
        if not at_risk.any():
            return
        pop = self.pop
        rate = np.where(at_risk, self.defection_rates, 0.0)
        exposed = np.flatnonzero(pop.active & (pop.domain != PRIVATE))
        exposed = exposed[at_risk[pop.platform[exposed]]]
        u = draws.uniform(self.keys["ban_defection"], exposed, d)
        gone = exposed[u < rate[pop.platform[exposed]]]
        pop.active[gone] = False
        self._start_returns(gone, float(d + 1))
        self.flows["new_dormant"] += len(gone)
        self.flows["new_dormant_ban"] += len(gone)

    # 2 ---------------------------------------------------------------------------------
    def _acquire(self, d: int) -> np.ndarray:
        pop = self.pop
        n_market = self.settings.market.size
        budget = self.brand.spend_on(d)
        u = self._u_acquisition[:, d]
        new_by_platform = []
        for p in self.platforms:
            share = self.brand.shares[p.index]
            spend, expected = p.expected_acquisitions(
                budget * share, d, int(pop.counts[PROSPECT]), n_market, self.rel_cac[d]
            )
            self.ledger.book("cost_ad", to_fen(spend))
            if self.settings.acquisition.mode == "saturating":
                n_new = int(draws.poisson_ppf(u[p.index], expected))
            elif p.is_banned(d):
                n_new = 0
            else:
                p_day = bass_daily_probability(self.settings.acquisition.p_innovation_per_year)
                n_new = draws.binomial_ppf(u[p.index], int(pop.counts[PROSPECT]), p_day * share)
            uids = self.paid_queue.take(n_new, pop.domain)
            self.brand.observe(p.index, spend, len(uids))
            pop.platform[uids] = p.index
            new_by_platform.append(uids)
        uids = np.concatenate(new_by_platform)
        if len(uids) == 0:
            return uids
        pop.move(uids, PUBLIC)
        pop.acquired_by[uids] = SOURCE_PAID
        pop.active[uids] = True
        self._book_orders(uids, pop.platform[uids].astype(np.int64), d, FIRST_ORDER)
        # The first order opens the BG/NBD clock at the start of day d: repeat purchases may
        # follow later the same day.
        self._start_clocks(uids, float(d))
        self.flows["new_paid"] += len(uids)
        return uids

    # 3 ---------------------------------------------------------------------------------
    def _spontaneous_purchases(
        self, d: int
    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
        """Every purchase clock that runs out today, and every return from dormancy.

        A dormant customer whose return clock runs out is active again from that moment: their
        next purchase clock starts there (and may run out today too). Returns members' (uids,
        order ids), for referral, and the platform buyers.
        """
        pop = self.pop
        share_private = self.beh.share_private_channel
        member_orders: list[tuple[np.ndarray, np.ndarray]] = []
        platform_bought: list[np.ndarray] = []
        due = self._due(d)
        while len(due):
            back = ~pop.active[due]
            if back.any():
                returning = due[back]
                pop.active[returning] = True
                self.flows["new_returned"] += len(returning)
                self._start_clocks(returning, pop.t_next[returning])
                due = np.sort(
                    np.concatenate([due[~back], returning[pop.t_next[returning] < d + 1]])
                )
                if len(due) == 0:
                    break
            order = (pop.n_clocks[due] - 1).astype(np.int64)  # the clock that ran out
            is_member = pop.domain[due] == PRIVATE
            home = pop.platform[due].astype(np.int64)
            banned = self._banned[home]
            to_private = banned & is_member
            if share_private > 0 and is_member.any():
                u = draws.uniform(self.keys["channel"], due[is_member], order[is_member])
                to_private[is_member] |= u < share_private
            lost = ~is_member & banned
            self.flows["orders_lost_ban"] += int(lost.sum())
            buyers, bought = due[~lost], order[~lost]
            channel = np.where(to_private, PRIVATE_CHANNEL, home)[~lost]
            self._book_orders(buyers, channel, d, bought, baseline_share=self.baseline_share)
            bought_member = is_member[~lost]
            member_orders.append((buyers[bought_member], bought[bought_member]))
            platform_bought.append(buyers[channel != PRIVATE_CHANNEL])
            dropped = self._after_purchase(buyers, bought, pop.t_next[buyers])
            # An order lost to a ban is a purchase opportunity gone: the customer faces the
            # same dropout draw (same key) the purchase would have brought.
            lost_uids = due[lost]
            gave_up = self._after_purchase(lost_uids, order[lost], pop.t_next[lost_uids])
            self.flows["new_dormant_ban"] += int(gave_up.sum())
            again = np.concatenate([buyers[~dropped], lost_uids[~gave_up]])
            self._start_clocks(again, pop.t_next[again])
            # Next round: purchases still due today, and the just-dormant back today already.
            nxt = np.sort(np.concatenate([again, buyers[dropped], lost_uids[gave_up]]))
            due = nxt[pop.t_next[nxt] < d + 1]
        public = np.concatenate(platform_bought) if platform_bought else np.empty(0, np.int64)
        return member_orders, public

    # 4 ---------------------------------------------------------------------------------
    def _outreach(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """Today's push, if any; returns the push buyers and their order ids."""
        o = self.settings.outreach
        empty = np.empty(0, dtype=np.int64)
        if not (self.private and o.enabled and outreach.is_push_day(d, o.pushes_per_week)):
            return empty, empty
        pop = self.pop
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
            return empty, empty
        self.flows["messages_sent"] += len(to)
        self.ledger.book("cost_messaging", to_fen(o.cost_per_message_yuan * len(to)))
        fatigue = outreach.decayed_fatigue(
            pop.fatigue[to], pop.ti_fatigue[to], d, o.fatigue_half_life_days
        ) + np.float32(1.0)
        pop.fatigue[to] = fatigue
        pop.ti_fatigue[to] = d

        active = pop.active[to]
        rel_service = (
            self.settings.operation.rel_response_guides if self.operation.mode == "guides" else 1.0
        )
        p_buy = min(1.0, o.p_response * o.offer_uplift * rel_service)
        reachable = to[active]
        order = PUSH_ORDER + d
        buyers = reachable[
            sampling.choose(
                self.keys["push_response"],
                reachable,
                p_buy,
                d,
                self.value_class[reachable],
            )
        ]
        # Pull-forward: a share of push orders replace the member's next spontaneous order
        # (bought earlier at the coupon's price, not extra); the rest are extra orders.
        pulled = draws.uniform(self.keys["pull_forward"], buyers, order) < o.pull_forward_share
        self._book_orders(
            buyers,
            np.full(len(buyers), PRIVATE_CHANNEL),
            d,
            order,
            o.offer_discount,
            baseline_share=np.where(pulled, self.baseline_share, 0.0),
        )
        self.flows["orders_push"] += len(buyers)
        self.flows["orders_push_pulled"] += int(pulled.sum())
        # Dormancy after a push order follows the rule after any order: the dropout draw.
        dropped = self._after_purchase(buyers, order, float(d + 1))
        # A surviving pull-forward buyer's next spontaneous purchase is the one just made: the
        # running clock is spent without an order and the following one starts where it ended.
        replaced = buyers[pulled & ~dropped]
        self._start_clocks(replaced, pop.t_next[replaced])
        # The same uniform decides buying (if active) or reactivation (if dormant). A wake-up
        # brings the member's return forward to tomorrow; it is credited to the push only if
        # their own return clock would not have run out within the window anyway.
        dormant = to[~active]
        woken = dormant[
            sampling.choose(
                self.keys["push_response"],
                dormant,
                o.p_reactivate,
                d,
                self.value_class[dormant],
                part=2,
            )
        ]
        credited = outreach.credited_wake_ups(pop.t_next[woken], d, o.reactivation_window_days)
        pop.active[woken] = True
        self._start_clocks(woken, float(d + 1))
        self.flows["new_reactivated"] += int(credited.sum())
        self.flows["new_returned"] += int((~credited).sum())
        self.flows["new_returned_early"] += int((~credited).sum())

        p_leave = outreach.p_unfollow(fatigue, o.p_unfollow_base, o.unfollow_convexity)
        leaving = to[sampling.choose(self.keys["unfollow"], to, p_leave, d, self.value_class[to])]
        self._lapse(leaving, d)
        return buyers, np.full(len(buyers), order, dtype=np.int64)

    def _lapse(self, uids: np.ndarray, d: int) -> None:
        pop = self.pop
        self.operation.release(pop.holder[uids], pop.group[uids])
        self._change_domain(uids, LAPSED, now=d + 1)
        pop.holder[uids] = -1
        pop.group[uids] = -1
        pop.ti_lapsed[uids] = d
        self.flows["new_unfollowed"] += len(uids)

    # 5 ---------------------------------------------------------------------------------
    def _diversion(self, d: int, platform_buyers: np.ndarray) -> None:
        v = self.settings.diversion
        if not (self.private and v.enabled) or len(platform_buyers) == 0:
            return
        pop = self.pop
        self.ledger.book("cost_cards", to_fen(v.cost_per_card_yuan * len(platform_buyers)))
        buyers = np.unique(platform_buyers)
        dom = pop.domain[buyers]
        eligible = (dom == PUBLIC) | (
            (dom == LAPSED) & (d - pop.ti_lapsed[buyers] >= v.lapsed_cooldown_days)
        )
        buyers, dom = buyers[eligible], dom[eligible]
        p_join = saturating(v.incentive_yuan, v.p_join_base, v.p_join_max, v.incentive_scale_yuan)
        p = np.where(dom == LAPSED, p_join * v.rel_join_lapsed, p_join)
        joiners = buyers[sampling.choose(self.keys["join"], buyers, p, d, self.value_class[buyers])]
        joined = self._join_private(joiners, d)
        self.ledger.book("cost_incentive", to_fen(v.incentive_yuan * len(joined)))
        self.flows["new_diverted"] += len(joined)

    # 6 ---------------------------------------------------------------------------------
    def _referral(self, d: int, purchasers: np.ndarray, order_ids: np.ndarray) -> None:
        r = self.settings.referral
        if not (self.private and r.enabled) or len(purchasers) == 0:
            return
        pop = self.pop
        mean_invites = saturating(
            r.reward_yuan,
            r.invites_per_purchase_base,
            r.invites_per_purchase_max,
            r.reward_scale_yuan,
        )
        if self.operation.mode == "distribution":
            mean_invites *= self.settings.operation.rel_referral_distribution
        u = draws.uniform(self.keys["referral"], purchasers, order_ids)
        if self.graph is None:
            # Fully mixed: an invite reaches a random person, a prospect with prob P/N, and
            # converts with p_convert. Poisson(m) invitations each converting with prob q are
            # Poisson(m·q) conversions (thinning), drawn from the order's one uniform.
            q = r.p_convert * pop.counts[PROSPECT] / self.settings.market.size
            converted = draws.poisson_ppf(u, mean_invites * q)
            referrers = np.repeat(purchasers, converted)
            new = self.referral_queue.take(len(referrers), pop.domain)
            referrers = referrers[: len(new)]
        else:
            invites = draws.poisson_ppf(u, mean_invites)
            inviters = np.repeat(purchasers, invites)
            # Invitation j of an order uses words 2j+1 (neighbour) and 2j+2 (conversion).
            first = np.repeat(
                draws.hash_words(self.keys["referral_invite"], purchasers, order_ids), invites
            )
            j = np.arange(len(inviters)) - np.repeat(np.cumsum(invites) - invites, invites)
            targets = self.graph.random_neighbours(
                inviters, draws.to_uniform(draws.word(first, 2 * j + 1))
            )
            hit = targets >= 0
            hit[hit] = pop.domain[targets[hit]] == PROSPECT
            hit &= draws.to_uniform(draws.word(first, 2 * j + 2)) < r.p_convert
            new, first_hit = np.unique(targets[hit], return_index=True)
            referrers = inviters[hit][first_hit]
        if len(new) == 0:
            return
        joined = self._join_private(new, d)
        referrers = referrers[: len(joined)]
        pop.acquired_by[joined] = SOURCE_REFERRAL
        pop.referrer[joined] = referrers
        pop.platform[joined] = self._home_platforms(joined)
        pop.active[joined] = True
        self._book_orders(joined, np.full(len(joined), PRIVATE_CHANNEL), d, FIRST_ORDER)
        self._start_clocks(joined, float(d + 1))
        self.ledger.book("cost_referral", to_fen(r.reward_yuan * len(joined)))
        self.flows["new_referred"] += len(joined)

    # 7 ---------------------------------------------------------------------------------
    def _operating_costs(self, d: int) -> None:
        if not self.private:
            return
        self._release_holders(d)
        staff, tools = self.operation.daily_costs()
        self.ledger.book("cost_staff", staff)
        self.ledger.book("cost_tools", tools)

    def _release_holders(self, d: int) -> None:
        """Let accounts or guides go while the pool has shrunk (rule: PrivateOperationAgent).

        The released holder's members move to the others (WeCom's customer transfer); rare,
        so finding them with one scan of the market is cheap. Released today, not paid today.
        """
        op, pop = self.operation, self.pop
        while (slot := op.holder_to_release()) is not None:
            members = np.flatnonzero(pop.holder == slot)
            pop.holder[members] = op.seat_elsewhere(len(members), slot)
            op.retire(slot, d)
            self.flows["new_released_holders"] += 1

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
            "rel_purchase_rate": self.rel_rate[d],
            "rel_cac": self.rel_cac[d],
        }
        self.recorder.record(d, stocks, self.flows, money)

    # ==================================================================== valuation ==
    def residual_by_customer(
        self, horizon_days: float = math.inf, *, upkeep: bool = True
    ) -> np.ndarray:
        """Each customer's expected discounted contribution after today, valued today (yuan).

        What it assumes after today — the base as it stands, no acquisition, pushes, joins,
        referrals or shocks (:meth:`wind_down`) — and why it conditions on the latent state is
        in :mod:`model.valuation`. Per order: the Gamma-Gamma mean gg_p/ν times the margin left
        after the platform fee and retargeting (platform orders) or the commission (private
        orders), with members' channel split, purchase-rate uplift and dropout multiplier; less,
        with ``upkeep``, an active member's seat (holder cost / capacity + group cost / group
        cap) a day while they stay active. Dormant customers are worth their expected orders
        after returning (``return_rate_per_day``; nothing at 0), on the scenario's calendar.
        """
        pop, beh = self.pop, self.beh
        # Customers, active or dormant ("alive" in the two-state sense: they can still buy).
        alive = np.flatnonzero(pop.active if self.return_rate == 0 else pop.n_orders > 0)
        member = pop.domain[alive] == PRIVATE
        lam = pop.lam[alive] * np.where(member, beh.rel_rate_private, 1.0)
        p_drop = np.minimum(pop.p_drop[alive] * np.where(member, beh.rel_drop_private, 1.0), 1.0)
        home = pop.platform[alive].astype(np.int64)
        commission = np.zeros(len(alive))
        plan = self.settings.operation
        if self.private and self.operation.mode == "guides":
            commission[member & (pop.holder[alive] >= 0)] = plan.guide_commission_rate
        elif self.private and self.operation.mode == "distribution":
            commission[pop.referrer[alive] >= 0] = plan.distributor_commission_rate
        per_order = valuation.contribution_per_order(
            mean_value=beh.gg_p / pop.nu[alive].astype(np.float64),
            gross_margin=self.settings.market.gross_margin,
            share_private=np.where(member, beh.share_private_channel, 0.0),
            private_cost_rate=commission,
            platform_cost_rate=self.take_rates[home] + self.retargeting_rates[home],
        )
        seat = 0.0
        if upkeep and self.private:
            op = self.operation
            holder = (
                plan.guide_salary_per_day_yuan
                if op.mode == "guides"
                else plan.account_cost_per_day_yuan
            )
            seat = np.where(
                member, holder / op.capacity + plan.group_cost_per_day_yuan / plan.group_cap, 0.0
            )
        out = np.zeros(pop.size)
        out[alive] = valuation.residual_by_customer(
            pop.active[alive],
            lam,
            p_drop,
            per_order,
            self.settings.market.discount_rate_per_year,
            horizon_days,
            upkeep_per_day=seat,
            return_rate=self.return_rate,
            season=self._season_after(horizon_days),
        )
        return out

    def _season_after(self, horizon_days: float) -> np.ndarray | None:
        """The calendar's multipliers from today on, as the valuation reads them (None: flat)."""
        if self.optime is None:
            return None
        days = 365 if math.isinf(horizon_days) else math.ceil(horizon_days)
        today = self.recorder.days_recorded
        return self.profile.multipliers(self.settings.calendar.dates(today, days))

    def residual_value(self) -> float:
        """The customers' residual value at the end of the last day simulated, discounted to 0."""
        end = self.recorder.days_recorded
        return float(np.exp(-self.delta * end) * self.residual_by_customer().sum())

    def wind_down(self) -> None:
        """From the next day on: no acquisition spend, pushes, joins, referrals or new shocks.

        The world the residual value assumes after the horizon (:mod:`model.valuation`); the
        docking test runs the model on in it to check the valuation. Staff and tools are still
        paid (they are not customers' contribution) and holders are released as the pool
        shrinks.
        """
        c = self.settings
        self.settings = c.model_copy(
            update={
                "budget": c.budget.model_copy(update={"kind": "constant", "per_day_yuan": 0.0}),
                "outreach": c.outreach.model_copy(update={"enabled": False}),
                "diversion": c.diversion.model_copy(update={"enabled": False}),
                "referral": c.referral.model_copy(update={"enabled": False}),
                "shocks": [],
            }
        )
        self.brand.budget = self.settings.budget
        for platform in self.platforms:
            platform.carry = 0.0  # no ads still to be served
            platform.effects = [e for e in platform.effects if e.kind != "ban"]

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
