"""The customer population: one struct-of-arrays over the whole addressable market.

Customers are rows, not Python objects (shared/STYLE.md: ~100x faster than one Mesa agent
each). Every person in the market has a row from day 0, prospects included, with latent traits
drawn once at creation from the ``traits`` generator: the same people, with the same tastes,
face every strategy of a comparison (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from model.scenario.schema import Behaviour

# Domain codes, in the order of schema.DOMAINS.
PROSPECT, PUBLIC, PRIVATE, LAPSED = 0, 1, 2, 3

# How a customer first came to the brand.
SOURCE_NONE, SOURCE_INITIAL, SOURCE_PAID, SOURCE_REFERRAL = 0, 1, 2, 3
SOURCES = {SOURCE_INITIAL: "initial", SOURCE_PAID: "paid", SOURCE_REFERRAL: "referral"}

NEVER = -1  # day-index sentinel: "has not happened"


@dataclass
class Population:
    """Per-customer state. ``uid`` is the row index; ``size`` rows, fixed for the run."""

    size: int
    # Where the customer is and whether BG/NBD considers them alive.
    domain: np.ndarray  # int8
    active: np.ndarray  # bool
    # Latent traits (drawn once).
    lam: np.ndarray  # float32, purchases per day while active, public-domain rate
    p_drop: np.ndarray  # float32, P(dormant) after each purchase
    nu: np.ndarray  # float32, Gamma-Gamma rate; mean order value = gg_p / nu
    # Outreach.
    fatigue: np.ndarray  # float32, decayed count of pushes received
    ti_fatigue: np.ndarray  # int32, day `fatigue` was last brought up to date
    # History.
    n_orders: np.ndarray  # int32
    ti_first_order: np.ndarray  # int32
    ti_second_order: np.ndarray  # int32
    ti_last_order: np.ndarray  # int32
    ti_joined_private: np.ndarray  # int32
    ti_lapsed: np.ndarray  # int32
    acquired_by: np.ndarray  # int8, SOURCE_*
    platform: np.ndarray  # int8, home platform index
    group: np.ndarray  # int32, community group, -1 none
    holder: np.ndarray  # int32, account or guide holding the member, -1 none
    referrer: np.ndarray  # int32, uid of the referrer, -1 none
    # Money, per customer (revenue exact in fen; contribution for LTV, approximate).
    revenue_fen: np.ndarray  # int64
    ltv_180: np.ndarray  # float32, contribution within 180 days of the first order
    ltv_365: np.ndarray  # float32
    pv_contribution: np.ndarray  # float64, yuan: contribution discounted to day 0 (valuation)
    # Continuous time of the next spontaneous purchase; inf while dormant or not a customer.
    t_next: np.ndarray  # float64
    # Purchase clocks started so far: the running clock's number is n_clocks - 1, and its
    # Exp(1) hazard is keyed by (uid, that number) (model/dynamics/clock.py).
    n_clocks: np.ndarray  # int32
    counts: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.int64))

    @classmethod
    def create(cls, size: int, behaviour: Behaviour, rng: np.random.Generator) -> Population:
        """Everyone starts as a prospect with traits drawn from the behaviour's mixing laws."""
        if behaviour.heterogeneous:
            # λ ~ Gamma(shape r, rate alpha): numpy takes the scale, 1/alpha.
            lam = rng.gamma(behaviour.r, 1.0 / behaviour.alpha_days, size)
        else:
            lam = np.full(size, behaviour.r / behaviour.alpha_days)
        if behaviour.dropout:
            p_drop = rng.beta(behaviour.a, behaviour.b, size)
        else:
            p_drop = np.zeros(size)
        nu = rng.gamma(behaviour.gg_q, 1.0 / behaviour.gg_gamma, size)

        def days(fill: int = NEVER) -> np.ndarray:
            return np.full(size, fill, dtype=np.int32)

        pop = cls(
            size=size,
            domain=np.zeros(size, dtype=np.int8),
            active=np.zeros(size, dtype=bool),
            lam=lam.astype(np.float32),
            p_drop=p_drop.astype(np.float32),
            nu=np.maximum(nu, 1e-12).astype(np.float32),
            fatigue=np.zeros(size, dtype=np.float32),
            ti_fatigue=days(0),
            n_orders=np.zeros(size, dtype=np.int32),
            ti_first_order=days(),
            ti_second_order=days(),
            ti_last_order=days(),
            ti_joined_private=days(),
            ti_lapsed=days(),
            acquired_by=np.zeros(size, dtype=np.int8),
            platform=np.zeros(size, dtype=np.int8),
            group=days(),
            holder=days(),
            referrer=days(),
            revenue_fen=np.zeros(size, dtype=np.int64),
            ltv_180=np.zeros(size, dtype=np.float32),
            ltv_365=np.zeros(size, dtype=np.float32),
            pv_contribution=np.zeros(size, dtype=np.float64),
            t_next=np.full(size, np.inf),
            n_clocks=np.zeros(size, dtype=np.int32),
        )
        pop.counts[PROSPECT] = size
        return pop

    def move(self, uids: np.ndarray, to: int) -> None:
        """Move customers to another domain, keeping the per-domain counts current.

        Counts are kept incrementally so that no daily metric has to scan millions of rows.
        """
        if len(uids) == 0:
            return
        self.counts -= np.bincount(self.domain[uids], minlength=4)
        self.domain[uids] = to
        self.counts[to] += len(uids)

    def n_active(self) -> int:
        """Active customers (a scan; used only for metrics, not on the hot path)."""
        return int(np.count_nonzero(self.active))
