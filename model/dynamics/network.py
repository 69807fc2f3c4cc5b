"""Social graphs for referral, built for millions of nodes as CSR arrays (no Python objects).

``small_world``: a Watts–Strogatz ring lattice with each edge's far end rewired with
probability ``rewire_p``. ``scale_free``: a Chung–Lu graph whose expected degrees follow a
power law with exponent 3 (the Barabási–Albert exponent), which is vectorisable where
preferential attachment is sequential.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Graph:
    """Undirected graph in CSR form: neighbours of i are ``indices[indptr[i]:indptr[i+1]]``."""

    indptr: np.ndarray  # int64, n+1
    indices: np.ndarray  # int32

    @property
    def degree(self) -> np.ndarray:
        """Number of neighbours per node."""
        return np.diff(self.indptr)

    def random_neighbours(self, nodes: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One uniformly drawn neighbour per node, from one U(0, 1) each (-1 for isolated nodes)."""
        start = self.indptr[nodes]
        deg = self.indptr[nodes + 1] - start
        pick = np.minimum((u * deg).astype(np.int64), np.maximum(deg - 1, 0))
        out = np.full(len(nodes), -1, dtype=np.int64)
        has = deg > 0
        out[has] = self.indices[start[has] + pick[has]]
        return out


def _csr(n: int, u: np.ndarray, v: np.ndarray) -> Graph:
    """Symmetric CSR from an edge list.

    Ids are int32 and intermediates are freed early: at 10M nodes and degree 10 each array of
    directed edges is 400 MB.
    """
    keep = u != v  # no self-loops
    u, v = u[keep], v[keep]
    src = np.concatenate([u, v])
    dst = np.concatenate([v, u])
    del u, v, keep
    order = np.argsort(src, kind="stable")
    counts = np.bincount(src, minlength=n)
    del src
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return Graph(indptr=indptr, indices=dst[order])


def small_world(n: int, mean_degree: int, rewire_p: float, rng: np.random.Generator) -> Graph:
    """Watts–Strogatz: ring of n nodes, each linked to mean_degree/2 on each side, rewired."""
    half = max(1, mean_degree // 2)
    u = np.repeat(np.arange(n, dtype=np.int32), half)
    v = u.astype(np.int64)
    v += np.tile(np.arange(1, half + 1), n)
    v %= n
    v = v.astype(np.int32)
    rewire = rng.random(len(v), dtype=np.float32) < rewire_p
    v[rewire] = rng.integers(0, n, int(rewire.sum()), dtype=np.int32)
    return _csr(n, u, v)


def scale_free(n: int, mean_degree: int, rng: np.random.Generator) -> Graph:
    """Chung–Lu graph with Pareto (exponent 3) expected degrees of the given mean."""
    weights = rng.pareto(2.0, n) + 1.0  # density ∝ w^-3
    cum = np.cumsum(weights)
    m = n * mean_degree // 2
    u = np.searchsorted(cum, rng.random(m) * cum[-1], side="right").astype(np.int32)
    v = np.searchsorted(cum, rng.random(m) * cum[-1], side="right").astype(np.int32)
    return _csr(n, np.minimum(u, n - 1), np.minimum(v, n - 1))


def build(kind: str, n: int, mean_degree: int, rewire_p: float, rng: np.random.Generator) -> Graph:
    """Build the referral graph named by ``referral.network``."""
    if kind == "small_world":
        return small_world(n, mean_degree, rewire_p, rng)
    if kind == "scale_free":
        return scale_free(n, mean_degree, rng)
    raise ValueError(f"no graph for network = {kind!r}")
