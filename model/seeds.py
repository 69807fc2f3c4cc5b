"""Seeds: one root seed per study, replicate seeds and per-process streams spawned from it.

Replicate ``i`` of root seed ``s`` is ``SeedSequence(s, spawn_key=(i,))``, the same as
``SeedSequence(s).spawn(n)[i]`` for any ``n > i``: it depends on neither the number of
replicates, the submission order nor the worker that runs it. Inside a run every process draws
from its own stream (common random numbers, DESIGN §5), so changing outreach does not re-draw
acquisition.
"""

from __future__ import annotations

import numpy as np

# The order here is fixed forever: appending is safe, reordering changes every result.
STREAMS = (
    "population",
    "shocks",
    "acquisition",
    "purchases",
    "outreach",
    "diversion",
    "referral",
    "network",
    "model",
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


def spawn_streams(seed: np.random.SeedSequence) -> dict[str, np.random.Generator]:
    """One independent generator per process, keyed by :data:`STREAMS`."""
    # Built from (entropy, spawn_key) rather than seed.spawn(), which depends on how many
    # children the object has already handed out: a reused SeedSequence must give the same run.
    return {
        name: np.random.default_rng(
            np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 1000 + i))
        )
        for i, name in enumerate(STREAMS)
    }


def seed_label(seed: np.random.SeedSequence) -> str:
    """A short printable identity of a seed sequence, for provenance."""
    return f"{seed.entropy}" + "".join(f"/{k}" for k in seed.spawn_key)
