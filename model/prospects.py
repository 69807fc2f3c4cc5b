"""Drawing prospects uniformly at random without scanning the market every day.

Prospects are exchangeable (their traits were drawn i.i.d.), so taking them in the order of
one random permutation, fixed at the start, is the same as drawing uniformly each day. The
referral graph can convert prospects out of order; those are skipped lazily when the pointer
reaches them. Amortised cost: O(new customers), not O(market).
"""

from __future__ import annotations

import numpy as np

from model.population import PROSPECT


class ProspectQueue:
    """A random order of the market, consumed from the front."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        dtype = np.int32 if size < 2**31 else np.int64
        self.order = rng.permutation(size).astype(dtype)
        self.pointer = 0

    def take(self, n: int, domain: np.ndarray) -> np.ndarray:
        """The next ``n`` customers who are still prospects (fewer if the market runs out)."""
        taken: list[np.ndarray] = []
        need = n
        while need > 0 and self.pointer < len(self.order):
            chunk = self.order[self.pointer : self.pointer + need + need // 4 + 16]
            is_prospect = domain[chunk] == PROSPECT
            positions = np.flatnonzero(is_prospect)[:need]
            if len(positions) < need:
                self.pointer += len(chunk)
            else:
                self.pointer += int(positions[-1]) + 1
            taken.append(chunk[positions])
            need -= len(positions)
        if not taken:
            return np.empty(0, dtype=np.int64)
        return np.concatenate(taken).astype(np.int64)
