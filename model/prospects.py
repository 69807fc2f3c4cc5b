"""Drawing prospects uniformly at random without scanning the market every day.

Prospects are exchangeable (their traits were drawn i.i.d.), so taking them in the order of
one random permutation, fixed at the start, is the same as drawing uniformly each day. The
referral graph can convert prospects out of order; those are skipped lazily when the pointer
reaches them. Amortised cost: O(new customers), not O(market).

Fully mixed referral, a private strategy's own draw, takes its prospects in a stratified order
(:func:`stratified_order`): still uniform for each person, but balanced across value classes
in every stretch, so who happens to be referred adds less noise (docs/model.md §4.6).
"""

from __future__ import annotations

import numpy as np

from model.population import PROSPECT


class ProspectQueue:
    """A random order of the market (stratified by ``classes`` if given), taken from the front."""

    def __init__(
        self, size: int, rng: np.random.Generator, classes: np.ndarray | None = None
    ) -> None:
        dtype = np.int32 if size < 2**31 else np.int64
        if classes is None:
            self.order = rng.permutation(size).astype(dtype)
        else:
            self.order = stratified_order(classes, rng).astype(dtype)
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


def stratified_order(classes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order of the market in which every stretch holds each class in proportion.

    Each class is shuffled, and its ``k``-th member of ``n_c`` is placed at (k + v_c) / n_c on
    a common [0, 1) line (one random offset v_c per class): the classes interleave
    systematically, so the first ``m`` people taken hold m·n_c/N ± 1 of class c (a stratified
    sample) while each person's place in the order is still uniform.
    """
    size = len(classes)
    shuffled = rng.permutation(size)
    by_class = shuffled[np.argsort(classes[shuffled], kind="stable")]
    counts = np.bincount(classes, minlength=int(classes.max()) + 1 if size else 0)
    starts = np.cumsum(counts) - counts
    cls = classes[by_class]
    rank = np.arange(size) - starts[cls]
    offset = rng.random(len(counts))
    position = (rank + offset[cls]) / counts[cls]
    return by_class[np.argsort(position, kind="stable")]
