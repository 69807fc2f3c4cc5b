"""Counter-based random draws: each variate is a pure function of (stream, customer, counter).

Common random numbers (docs/model.md §4.6) pair two strategies replicate by replicate. With ordinary
generators the pairing decays: a process that draws one array a day for whoever is due draws a
different array as soon as one more customer is due, and every customer after that one gets
someone else's luck. Here nothing depends on who else is drawing. A variate is a hash of

    (the stream's 64-bit key, the customer's uid, a per-customer counter [, a word index])

so customer ``u``'s ``k``-th purchase interval, or their push response on day ``d``, is the
same number under every strategy, whatever happens to anyone else. Two strategies then differ
only where their rules differ (starsim's "slot" CRN gets this by drawing a market-sized array
per call, O(N) a day per decision; hashing costs O(events)).

The hash is SplitMix64's finaliser (Steele, Lea & Flood 2014, "Fast splittable pseudorandom
number generators"; Stafford's "Mix13" constants) applied twice, absorbing the key and uid
first and the counter second::

    s = mix(key + uid·G1)          # one SplitMix64 seed per (stream, customer)
    w = mix(s + counter·G2)        # that seed's SplitMix64 output number ``counter``
    word j ≥ 1 = mix(w + j·G3)     # further independent words of the same draw

For a fixed (stream, customer) the words over counters are exactly a SplitMix64 sequence, a
generator that passes BigCrush; distinct customers and streams get unrelated seeds (two seeds
coincide only if two 64-bit keys differ by an exact multiple of G1 in a window of 2·market size:
probability ~1e-11). numpy's uint64 array arithmetic wraps modulo 2^64, which is what the hash
needs (all arithmetic here is on arrays, never on numpy scalars, which would warn).

Distributions are built exactly from these uniforms: exponential by −log u, gamma by
Marsaglia & Tsang (2000) with a fixed sequence of hashed attempts per draw, Poisson and
binomial counts by inverse CDF of one uniform (monotone in the mean, so a small change of
mean changes the count rarely and by one), Bernoulli by ``u < p``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

# SplitMix64 (Steele et al. 2014): the golden-ratio increment and Stafford's Mix13 multipliers.
_G1 = np.uint64(0x9E3779B97F4A7C15)
_G2 = np.uint64(0xD1B54A32D192ED03)  # a second odd increment, for the counter
_G3 = np.uint64(0xAEF17502108EF2D9)  # and a third, for extra words of one draw
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
_TO_UNIT = 2.0**-53


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, in place on a uint64 array (a bijection of 64-bit words)."""
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


_MASK = (1 << 64) - 1
_INT = {g: int(g) for g in (_G1, _G2, _G3)}  # the increments as Python ints, for scalars


def _times(x: np.ndarray | int, factor: np.uint64) -> np.ndarray | np.uint64:
    """``x · factor`` mod 2^64: a scalar for one int (cheap to broadcast), else a uint64 array."""
    if type(x) is np.ndarray:
        x = x.astype(np.uint64)
        x *= factor
        return x
    return np.uint64((int(x) * _INT[factor]) & _MASK)


def hash_words(key: np.uint64 | int, uid: np.ndarray, counter: np.ndarray | int) -> np.ndarray:
    """The first 64-bit word of the draw at (key, uid, counter), one per uid.

    Args:
        key: the stream's 64-bit key (:func:`model.seeds.stream_keys`).
        uid: customer ids (or any non-negative integer index: a platform, a shock).
        counter: a per-customer event counter or the day, one for all or one per uid.

    Returns:
        uint64 words, elementwise: word ``i`` depends on ``uid[i]`` and ``counter[i]`` only.
    """
    z = _times(np.asarray(uid), _G1)
    if len(z) == 0:
        return z
    z += np.uint64(key)
    _mix(z)
    z += _times(counter, _G2)
    return _mix(z)


def word(first: np.ndarray, j: int | np.ndarray) -> np.ndarray:
    """Word ``j ≥ 1`` of the draws whose first words are ``first`` (a new array).

    ``first`` may have a leading axis of words (shape ``(k, n)``) with ``j`` of shape ``(k, 1)``.
    """
    return _mix(first + _times(j, _G3))


def to_uniform(words: np.ndarray) -> np.ndarray:
    """Uniforms on the open interval (0, 1) from the top 53 bits: safe for log and ppf."""
    out = (words >> _S11).astype(np.float64)
    out += 0.5
    out *= _TO_UNIT
    return out


def uniform(key, uid: np.ndarray, counter: np.ndarray | int) -> np.ndarray:
    """U(0, 1) per uid, keyed by (stream, uid, counter)."""
    return to_uniform(hash_words(key, uid, counter))


def exponential(key, uid: np.ndarray, counter: np.ndarray | int) -> np.ndarray:
    """Exp(1) per uid, keyed by (stream, uid, counter): −log u."""
    return -np.log(uniform(key, uid, counter))


def gamma(key, uid: np.ndarray, counter: np.ndarray | int, shape: float) -> np.ndarray:
    """Gamma(shape, scale 1) per uid, keyed by (stream, uid, counter), exact.

    Marsaglia & Tsang (2000): with d = a − 1/3, c = 1/√(9d), draw x ~ N(0, 1) and u ~ U(0, 1)
    and accept d·v, v = (1 + c·x)³, when v > 0 and log u < x²/2 + d − d·v + d·log v. Attempt
    ``i`` of a draw takes its normal from word 2i+1 of the draw's hash (by the inverse normal
    CDF) and its u from word 2i+2, and attempts go on until every draw is accepted, so the law
    is exact and each draw still depends on its own key alone. Acceptance is 95% at a = 1 and
    above 98% for a ≥ 3; attempts are evaluated two at a time, so a third is rarely needed.
    For a < 1, Gamma(a) = Gamma(a + 1)·U^(1/a) with U from word 0.
    """
    first = hash_words(key, uid, counter)
    if len(first) == 0:
        return np.empty(0)
    boost = shape < 1.0
    a = shape + 1.0 if boost else shape
    d = a - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    out = np.empty(len(first))
    todo = np.arange(len(first))
    attempt = 0
    while len(todo):
        # Attempts `attempt` and `attempt + 1` at once: words shaped (2 attempts, 2, draws).
        j = np.arange(2 * attempt + 1, 2 * attempt + 5, dtype=np.uint64).reshape(2, 2, 1)
        u = to_uniform(word(first[todo], j))
        x = special.ndtri(u[:, 0])
        v = 1.0 + c * x
        ok = v > 0
        v = np.where(ok, v * v * v, 1.0)
        ok &= np.log(u[:, 1]) < 0.5 * x * x + d * (1.0 - v + np.log(v))
        done = ok[0] | ok[1]
        out[todo[done]] = d * np.where(ok[0], v[0], v[1])[done]  # the first attempt that passed
        todo = todo[~done]
        attempt += 2
    if boost:
        out *= to_uniform(first) ** (1.0 / shape)
    return out


def poisson_ppf(u: np.ndarray | float, mean: float) -> np.ndarray:
    """Poisson(mean) counts by inverse CDF of the uniforms ``u`` (one mean for all).

    The CDF is tabulated once per call up to mean + 12√mean + 30 (the tail beyond holds less
    than 1e-30) and searched, so a day's draws cost one small table; the result equals
    ``scipy.stats.poisson.ppf`` (tested). Monotone in ``mean`` for a fixed ``u``: two strategies
    whose means differ slightly draw the same count on most days.
    """
    u = np.asarray(u, dtype=np.float64)
    if mean <= 0 or u.size == 0:
        return np.zeros(u.shape, dtype=np.int64)
    top = int(np.ceil(mean + 12.0 * np.sqrt(mean) + 30.0))
    k = np.arange(top + 1)
    cdf = np.cumsum(np.exp(k * np.log(mean) - mean - special.gammaln(k + 1.0)))
    return np.minimum(np.searchsorted(cdf, u, side="left"), top).astype(np.int64)


def binomial_ppf(u: float, n: int, p: float) -> int:
    """One Binomial(n, p) count by inverse CDF of ``u`` (a market-level count: one a day).

    The smallest k with P(X ≤ k) ≥ u, searched from the normal approximation's guess with the
    binomial CDF ``scipy.special.bdtr``: the same count as ``scipy.stats.binom.ppf`` (tested),
    without importing ``scipy.stats`` (≈ 0.35 s at every command's start).
    """
    if n <= 0 or p <= 0:
        return 0
    if p >= 1.0:
        return int(n)
    guess = n * p + special.ndtri(u) * np.sqrt(n * p * (1.0 - p))
    k = int(min(max(np.floor(guess), 0), n))
    while k > 0 and special.bdtr(k - 1, n, p) >= u:
        k -= 1
    while k < n and special.bdtr(k, n, p) < u:
        k += 1
    return k


def categorical(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Category index per uniform, with probabilities ``p`` (inverse CDF over the categories)."""
    cum = np.cumsum(p)
    return np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), len(p) - 1)
