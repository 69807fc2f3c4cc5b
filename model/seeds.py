"""Seeds: one root seed per study; replicate seeds, set-up generators and draw keys from it.

Replicate ``i`` of root seed ``s`` is ``SeedSequence(s, spawn_key=(i,))``, the same as
``SeedSequence(s).spawn(n)[i]`` for any ``n > i``: it depends on neither the number of
replicates, the submission order nor the worker that runs it.

Inside a run, randomness comes in two kinds (common random numbers, docs/model.md §4.6):

- **Set-up generators** (:data:`GENERATORS`): ``numpy.random.Generator`` objects, each used
  once, while the model is built, for one thing: the customers' latent traits, the order in
  which paid acquisition reaches prospects, the order in which fully mixed referral reaches
  them, the referral graph. Each has its own stream, so building the graph (private strategies
  only) cannot shift the traits or the queues. ``mesa`` seeds Mesa's own generators
  (``model.rng``, ``model.random``: agent-set shuffles and anything else Mesa does); the
  model's processes never draw from it, so nothing Mesa does can move a customer's draw.
- **Keyed streams** (:data:`KEYED`): one 64-bit key per decision. A variate is a hash of
  (key, customer uid, per-customer counter or day) — see :mod:`model.draws` — so a customer's
  draws do not depend on who else draws that day, and two strategies pair customer by customer.

Both orders are fixed: appending a name is safe, reordering or removing one changes every
result (it did once, on purpose, when the processes moved to keyed draws).
"""

from __future__ import annotations

import numpy as np

# Set-up generators, each a child SeedSequence of the replicate (spawn key 1000 + position).
GENERATORS = (
    "traits",  # λ, p_drop, ν of every person in the market (Population.create)
    "paid_queue",  # random order of the market for the initial base and paid acquisition
    "referral_queue",  # random order of the market for fully mixed referral (by value class)
    "network",  # the referral graph (small_world, scale_free)
    "mesa",  # Mesa's model.rng / model.random; not drawn from by the model's processes
)

# Keyed streams: word i of SeedSequence(entropy, spawn_key + (2000,)).generate_state(n, uint64).
# The counter each is keyed by is in the comment (uid = customer id).
KEYED = (
    "shock_start",  # (shock index, day): a random shock starts today
    "acquisition",  # (platform index, day): the day's new paid customers
    "home_platform",  # (uid, 0): home platform of the initial base and referred customers
    "initial_active",  # (uid, 0): the initial base's BG/NBD "alive" flag
    "purchase_clock",  # (uid, clock number): Exp(1) hazard of the next spontaneous purchase
    "channel",  # (uid, order id): a member's order in the mini-program or on the platform
    "order_value",  # (uid, order id): Gamma-Gamma order value
    "dropout",  # (uid, order id): dormant after a repeat purchase
    "push_response",  # (uid, day): buy after a push (active) or reactivate (dormant)
    "unfollow",  # (uid, day): unfollow after a push
    "join",  # (uid, day): a platform buyer joins the private domain
    "referral",  # (uid, order id): conversions (mixed) or invitations (graph) of an order
    "referral_invite",  # (uid, order id), word per invitation: graph neighbour and conversion
    "pull_forward",  # (uid, order id): a push order replaces the next spontaneous order
    "ban_defection",  # (uid, day): a platform customer defects on a day the platform bans
    "return_clock",  # (uid, clock number at dormancy): Exp(1) hazard of the return to active
)


def replicate_seed(root_seed: int, replicate: int) -> np.random.SeedSequence:
    """The seed sequence of one replicate of a study."""
    return np.random.SeedSequence(int(root_seed), spawn_key=(int(replicate),))


def as_seed_sequence(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    """Accept an int (root seed, replicate 0's parent) or an explicit SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        return np.random.SeedSequence()
    return np.random.SeedSequence(int(seed))


def _child(seed: np.random.SeedSequence, index: int) -> np.random.SeedSequence:
    # Built from (entropy, spawn_key) rather than seed.spawn(), which depends on how many
    # children the object has already handed out: a reused SeedSequence must give the same run.
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, index))


def spawn_generators(seed: np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """One independent set-up generator per name in :data:`GENERATORS`."""
    return {
        name: np.random.default_rng(_child(seed, 1000 + i)) for i, name in enumerate(GENERATORS)
    }


def stream_keys(seed: np.random.SeedSequence) -> dict[str, np.uint64]:
    """One 64-bit key per keyed stream in :data:`KEYED` (prefix-stable: appending is safe)."""
    words = _child(seed, 2000).generate_state(len(KEYED), np.uint64)
    return dict(zip(KEYED, words, strict=True))


def seed_label(seed: np.random.SeedSequence) -> str:
    """A short printable identity of a seed sequence, for provenance."""
    return f"{seed.entropy}" + "".join(f"/{k}" for k in seed.spawn_key)
