"""The few, rich operators, as Mesa agents: platforms, the brand, the private operation, guides.

Customers are arrays (model/population.py); these agents hold the operators' state (adstock,
bans, budgets, accounts, groups, guides) and decide from it. The model calls them in the
order documented on :class:`model.simulation.PrivateDomainModel`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import mesa
import numpy as np

from model.dynamics import acquisition as acq
from model.ledger import to_fen
from model.scenario.schema import Budget, Operation, Platform, Shock


@dataclass
class _Effect:
    kind: str
    factor: float
    until: float  # exclusive day; inf for permanent


class PlatformAgent(mesa.Agent):
    """A rented public platform: CAC curve, adstock, take rate, bans and other shocks."""

    def __init__(self, model: mesa.Model, name: str, index: int, terms: Platform) -> None:
        super().__init__(model)
        self.name = name
        self.index = index
        # This platform's section of the scenario: its terms to the brand (take rate, CAC
        # floor, daily cap, defection) and the brand's settings on it (budget share, adstock).
        # Not `platform`: that would read p.platform.take_rate on the platform agent itself.
        self.terms = terms
        self.carry = 0.0  # adstock S*_{t-1}
        self.effects: list[_Effect] = []

    # --- shocks -------------------------------------------------------------------------
    def start_shock(self, shock: Shock, day: int) -> None:
        """Begin a shock today (a ban for D days, a CAC jump, an algorithm change)."""
        until = day + shock.duration_days if shock.duration_days is not None else math.inf
        self.effects.append(_Effect(shock.kind, shock.factor, until))

    def _active(self, kind: str, day: int) -> list[_Effect]:
        return [e for e in self.effects if e.kind == kind and e.until > day]

    def is_banned(self, day: int) -> bool:
        """Whether the platform bans the brand today: no paid acquisition, no platform sales."""
        return bool(self._active("ban", day))

    def cac_multiplier(self, day: int) -> float:
        """Product of active CAC-jump factors."""
        return math.prod(e.factor for e in self._active("cac_jump", day))

    def cap_multiplier(self, day: int) -> float:
        """Product of active algorithm-change factors on the daily cap (reach)."""
        return math.prod(e.factor for e in self._active("algorithm_change", day))

    # --- acquisition --------------------------------------------------------------------
    def expected_acquisitions(
        self,
        spend: float,
        day: int,
        prospects_left: int,
        market_size: int,
        rel_cac: float = 1.0,
    ) -> tuple[float, float]:
        """Today's spend actually charged and expected new customers (saturating curve).

        ``rel_cac`` is the calendar's multiplier on acquisition cost today (festival windows).
        """
        if self.is_banned(day):
            # No ads run and the platform serves none of the carried-over impressions either;
            # the carry-over still decays, so acquisition restarts cold after the ban.
            self.carry = acq.adstock(0.0, self.carry, self.terms.adstock_theta)
            return 0.0, 0.0
        self.carry = acq.adstock(spend, self.carry, self.terms.adstock_theta)
        c0 = acq.inflated_c0(
            self.terms.cac_floor_yuan,
            self.terms.cac_inflation_per_year,
            day,
            self.cac_multiplier(day) * rel_cac,
        )
        cap = self.terms.daily_cap * self.cap_multiplier(day)
        return spend, acq.expected_new_customers(self.carry, c0, cap, prospects_left, market_size)


class BrandAgent(mesa.Agent):
    """The brand: its paid-acquisition budget schedule and, optionally, an adaptive split.

    With ``budget.adaptive`` the brand reviews each platform's realised CAC every
    ``review_every_days`` and moves ``adaptive_step`` of the budget from the dearest platform
    to the cheapest (never below ``min_share``) — the "move budget to the better channel" rule.
    """

    def __init__(
        self,
        model: mesa.Model,
        budget: Budget,
        days: int,
        shares: np.ndarray | None = None,
        day_zero: date | None = None,
    ) -> None:
        super().__init__(model)
        self.budget = budget
        self.days = days
        self.day_zero = day_zero or date(2025, 1, 1)  # the date of day 0 (pulses in dates)
        self.shares = np.array([1.0]) if shares is None else np.array(shares, dtype=float)
        self._period_spend = np.zeros(len(self.shares))
        self._period_new = np.zeros(len(self.shares))

    def observe(self, platform: int, spend: float, new_customers: int) -> None:
        """Record one platform's spend and new customers today (for the adaptive review)."""
        self._period_spend[platform] += spend
        self._period_new[platform] += new_customers

    def review(self, day: int) -> None:
        """At the end of a review period, shift budget towards the cheaper platform."""
        b = self.budget
        if not b.adaptive or len(self.shares) < 2 or (day + 1) % b.review_every_days:
            return
        spent = self._period_spend > 0
        if spent.sum() >= 2:
            cac = np.full(len(self.shares), np.nan)
            cac[spent] = self._period_spend[spent] / np.maximum(self._period_new[spent], 1)
            best, worst = int(np.nanargmin(cac)), int(np.nanargmax(cac))
            move = min(b.adaptive_step, self.shares[worst] - b.min_share)
            if best != worst and move > 0:
                self.shares[worst] -= move
                self.shares[best] += move
        self._period_spend[:] = 0
        self._period_new[:] = 0

    def spend_on(self, day: int) -> float:
        """Total ad budget for a day (yuan), before the split across platforms."""
        b = self.budget
        if b.kind == "ramp" and self.days > 1:
            base = b.per_day_yuan + (b.ramp_to_per_day_yuan - b.per_day_yuan) * day / (
                self.days - 1
            )
        else:
            base = b.per_day_yuan
        if b.kind == "pulses":
            for pulse in b.pulses:
                first, length = pulse.span(self.day_zero)
                if first <= day < first + length:
                    base += pulse.per_day_yuan
        return base


class HolderAgent(mesa.Agent):
    """An account or a guide holding members: its seat count lives in the operation's arrays.

    Its P&L is on **incremental** contribution: for every order its members place, the order's
    contribution minus what the same customer would have brought anyway at their base rate on
    their home platform (see ``PrivateDomainModel._book_orders``), less the holder's own cost
    (an account's operator or a guide's salary). Overheads shared by the operation (content
    team, groups, tools) are not split over holders.
    """

    def __init__(self, model: mesa.Model, index: int, hired_day: int) -> None:
        super().__init__(model)
        self.index = index  # seat-array slot; stays the holder's for good
        self.hired_day = hired_day
        self.released_day: int | None = None
        self.gmv_fen = 0  # members' private-channel GMV
        self.commission_fen = 0
        self.cost_fen = 0  # salary (guides) or operator (accounts)
        self.incremental_fen = 0  # members' orders' contribution beyond their baseline

    @property
    def profit_fen(self) -> int:
        """Incremental contribution of its members' orders (commission paid) − own cost."""
        return self.incremental_fen - self.cost_fen


class AccountAgent(HolderAgent):
    """A WeCom account (persona, distribution modes): an operator holding up to the friend cap."""


class GuideAgent(HolderAgent):
    """A shopping guide (导购): holds members, earns a salary and a commission on their GMV."""

    @property
    def salary_fen(self) -> int:
        """Salary paid so far (the guide's own cost)."""
        return self.cost_fen


class PrivateOperationAgent(mesa.Agent):
    """The private operation: accounts or guides with capacity, community groups, their costs.

    **Capacity both ways.** Holders (accounts or guides) are hired when today's joiners do not
    fit (``on_full = "hire"``) and released, at the end of a day, while the members would fit in
    one fewer at a fill of ``release_below_fill`` or less, never below the initial team; the
    released holder's members move to the others (WeCom's customer transfer on staff leaving).
    Hiring waits for a full team and releasing for a team one holder lighter still
    ``release_below_fill`` full, so after a release at least (1 − fill)·capacity·(k − 1)
    joiners arrive before the next hire: no thrashing. Under ``on_full = "reject"`` the team is
    fixed and never released. Slots of released holders stay empty (capacity 0), so a
    member's ``holder`` slot never needs renumbering. **Groups** are refilled before new ones open:
    joiners take free seats in the oldest groups with room first; a group with no members
    costs nothing (upkeep is per live group).
    """

    def __init__(self, model: mesa.Model, plan: Operation) -> None:
        super().__init__(model)
        # The scenario's [operation] section: how the brand means to run its private domain
        # (mode, capacities, hiring rule, costs); the state of the operation lives beside it.
        self.plan = plan
        self.mode = plan.mode
        self.holder_class = GuideAgent if plan.mode == "guides" else AccountAgent
        if plan.mode == "guides":
            self.capacity = min(plan.guide_capacity, plan.friend_cap_per_account)
            initial, self.max_holders = plan.guides_initial, plan.guides_max
        else:
            self.capacity = plan.friend_cap_per_account
            initial, self.max_holders = plan.accounts_initial, plan.accounts_max
        self.min_holders = min(initial, self.max_holders)
        self.holders: list[HolderAgent] = []  # every holder ever, by slot (released ones too)
        self.holder_members = np.zeros(0, dtype=np.int64)
        self.live = np.zeros(0, dtype=bool)
        self._hire(self.min_holders, day=0)
        self.group_size = np.zeros(16, dtype=np.int64)
        self.n_groups = 0  # groups ever opened

    @property
    def guides(self) -> list[GuideAgent]:
        """Every guide ever employed, in hiring order (released ones included)."""
        return [h for h in self.holders if isinstance(h, GuideAgent)]

    @property
    def n_holders(self) -> int:
        """Accounts (persona, distribution) or guides (guides mode) currently employed."""
        return int(np.count_nonzero(self.live))

    def _room(self) -> np.ndarray:
        return np.where(self.live, self.capacity - self.holder_members, 0)

    def _hire(self, n: int, day: int) -> None:
        if n <= 0:
            return
        start = len(self.holders)
        self.holder_members = np.concatenate([self.holder_members, np.zeros(n, dtype=np.int64)])
        self.live = np.concatenate([self.live, np.ones(n, dtype=bool)])
        self.holders += [self.holder_class(self.model, start + i, day) for i in range(n)]

    def seat(self, n: int, room: np.ndarray | None = None) -> np.ndarray:
        """Holder slots for ``n`` members among the live holders with room (first slots first)."""
        room = self._room() if room is None else room
        slots = np.searchsorted(np.cumsum(room), np.arange(n), side="right")
        self.holder_members += np.bincount(slots, minlength=len(room))
        return slots

    def place(self, n: int, day: int) -> tuple[np.ndarray, np.ndarray]:
        """Seat ``n`` joiners: a holder with room (hiring if the rule allows) and a group.

        Returns the holder slots and groups of the first ``k ≤ n`` joiners who found room; the
        rest fail to join (no account or guide could take them).
        """
        free = int(self._room().sum())
        if free < n and self.plan.on_full == "hire":
            self._hire(min(-(-(n - free) // self.capacity), self.max_holders - self.n_holders), day)
            free = int(self._room().sum())
        k = min(n, free)
        if k == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        return self.seat(k), self._assign_groups(k)

    def _assign_groups(self, k: int) -> np.ndarray:
        cap = self.plan.group_cap
        room = cap - self.group_size[: self.n_groups]
        cum = np.cumsum(room)
        refill = min(k, int(cum[-1]) if self.n_groups else 0)
        groups = np.empty(k, dtype=np.int64)
        groups[:refill] = np.searchsorted(cum, np.arange(refill), side="right")
        groups[refill:] = self.n_groups + np.arange(k - refill) // cap
        self.n_groups = max(self.n_groups, int(groups[-1]) + 1)
        if self.n_groups > len(self.group_size):
            grown = np.zeros(max(2 * len(self.group_size), self.n_groups), dtype=np.int64)
            grown[: len(self.group_size)] = self.group_size
            self.group_size = grown
        self.group_size += np.bincount(groups, minlength=len(self.group_size))
        return groups

    def release(self, slots: np.ndarray, groups: np.ndarray) -> None:
        """Members who unfollowed free their seat with their holder and in their group."""
        if len(slots):
            self.holder_members -= np.bincount(slots, minlength=len(self.holder_members))
            self.group_size -= np.bincount(groups, minlength=len(self.group_size))

    def holder_to_release(self) -> int | None:
        """The slot to release today under the hysteresis rule (class docstring), if any.

        The live holder with the fewest members (the newest among equals), so the fewest
        members change hands.
        """
        k = self.n_holders
        if self.plan.on_full != "hire" or k <= self.min_holders:
            return None
        members = int(self.holder_members[self.live].sum())
        if members > (k - 1) * self.capacity * self.plan.release_below_fill:
            return None
        load = np.where(self.live, self.holder_members, np.iinfo(np.int64).max)
        return int(len(load) - 1 - np.argmin(load[::-1]))

    def seat_elsewhere(self, n: int, slot: int) -> np.ndarray:
        """Owners for the ``n`` members of a holder about to be released, among the others."""
        room = self._room()
        room[slot] = 0
        return self.seat(n, room)

    def retire(self, slot: int, day: int) -> None:
        """Release a holder whose members have been moved to others (seats already given)."""
        holder = self.holders[slot]
        holder.released_day = day
        self.live[slot] = False
        self.holder_members[slot] = 0
        holder.remove()  # leaves Mesa's registry; its P&L stays in self.holders

    def n_live_groups(self) -> int:
        """Groups with at least one member (each costs community staff time)."""
        return int(np.count_nonzero(self.group_size[: self.n_groups]))

    def daily_costs(self) -> tuple[int, int]:
        """Today's staff and tools cost (fen): accounts/guides, content, groups, software."""
        c = self.plan
        if self.mode == "guides":
            per_holder = to_fen(c.guide_salary_per_day_yuan)
            content = 0
        else:
            per_holder = to_fen(c.account_cost_per_day_yuan)
            content = to_fen(c.content_cost_per_day_yuan) if self.mode == "persona" else 0
        for slot in np.flatnonzero(self.live):
            self.holders[slot].cost_fen += per_holder
        staff = per_holder * self.n_holders + content
        staff += to_fen(c.group_cost_per_day_yuan) * self.n_live_groups()
        return staff, to_fen(c.tools_cost_per_day_yuan)
