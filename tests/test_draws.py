"""Counter-based draws (model/draws.py): their laws, their independence, and the coupling.

Every statistical check uses fixed keys, so it is deterministic; its threshold is the test's
critical value at level 0.001 (Kolmogorov–Smirnov: 1.95/√n; chi-square: the 0.999 quantile), so
a correct generator fails a given check with probability 0.001 over the choice of key.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from model import draws
from model.dynamics import clock
from model.seeds import KEYED, replicate_seed, stream_keys
from tests.helpers import ROOT

KEY = np.uint64(0x243F6A8885A308D3)  # fixed stream keys (digits of pi)
OTHER = np.uint64(0x13198A2E03707344)
N = 200_000
KS_CRIT = 1.95 / np.sqrt(N)  # KS critical value at level 0.001


def ks(sample: np.ndarray, cdf) -> float:
    return stats.kstest(sample, cdf).statistic


def chi2_grid(x: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[float, float]:
    """Chi-square of a bins×bins grid of uniform pairs against independence, and its 0.999 cut."""
    counts = np.histogram2d(x, y, bins=bins, range=[[0, 1], [0, 1]])[0]
    expected = len(x) / bins**2
    return float(((counts - expected) ** 2 / expected).sum()), stats.chi2.ppf(0.999, bins**2 - 1)


def test_uniforms_over_customers_and_over_counters():
    uid = np.arange(N)
    across_customers = draws.uniform(KEY, uid, 7)
    along_one_customer = draws.uniform(KEY, np.full(N, 12345), uid)  # counters 0..N-1
    for u in (across_customers, along_one_customer):
        assert ((u > 0) & (u < 1)).all()
        assert ks(u, "uniform") < KS_CRIT


@pytest.mark.parametrize(
    "pair",
    ["next counter", "next customer", "other stream", "next word"],
)
def test_uniform_pairs_are_independent(pair):
    uid = np.arange(N)
    x = draws.uniform(KEY, uid, 3)
    y = {
        "next counter": lambda: draws.uniform(KEY, uid, 4),
        "next customer": lambda: draws.uniform(KEY, uid + 1, 3),
        "other stream": lambda: draws.uniform(OTHER, uid, 3),
        "next word": lambda: draws.to_uniform(draws.word(draws.hash_words(KEY, uid, 3), 1)),
    }[pair]()
    statistic, critical = chi2_grid(x, y)
    assert statistic < critical
    # And no linear dependence: |r| < 3.3/√n is the 0.001 two-sided cut.
    assert abs(np.corrcoef(x, y)[0, 1]) < 3.3 / np.sqrt(N)


def test_low_bits_are_uniform_too():
    """The ``u * deg`` neighbour pick and Bernoulli cuts use the whole word: spot-check bits."""
    words = draws.hash_words(KEY, np.arange(N), 0)
    for bit in (0, 11, 32, 63):
        ones = int(((words >> np.uint64(bit)) & np.uint64(1)).sum())
        assert abs(ones - N / 2) < 3.3 * np.sqrt(N / 4), bit


def test_exponential_law():
    e = draws.exponential(KEY, np.arange(N), 0)
    assert ks(e, "expon") < KS_CRIT


@pytest.mark.parametrize("shape", [0.3, 1.0, 6.25, 50.0])
def test_gamma_law_is_exact(shape):
    g = draws.gamma(KEY, np.arange(N), 5, shape)
    assert ks(g, stats.gamma(shape).cdf) < KS_CRIT


def test_poisson_ppf_equals_scipy():
    u = np.concatenate([np.linspace(1e-9, 1 - 1e-9, 4001), draws.uniform(KEY, np.arange(5000), 0)])
    for mean in (0.01, 0.3, 1.0, 4.2, 60.0, 300.0, 2500.0):
        assert (draws.poisson_ppf(u, mean) == stats.poisson.ppf(u, mean)).all(), mean
    assert (draws.poisson_ppf(u, 0.0) == 0).all()


def test_poisson_ppf_is_monotone_in_the_mean():
    """Nearby means: counts never cross, differ by at most one, and by the mean gap on average.

    The quantile coupling moves a count only as much as the law demands: E[high − low] is the
    difference of the means, 0.3 (the least any coupling can achieve). With 0/1 differences the
    sample mean has sd √(0.3·0.7/N) ≈ 0.001, so 0.005 is five of them.
    """
    u = draws.uniform(KEY, np.arange(N), 0)
    low, high = draws.poisson_ppf(u, 60.0), draws.poisson_ppf(u, 60.3)
    step = high - low
    assert step.min() == 0 and step.max() == 1
    assert step.mean() == pytest.approx(0.3, abs=0.005)


def test_binomial_ppf_equals_scipy():
    """The same count as scipy.stats.binom.ppf where the model draws one.

    That is a day's new customers of a market: n up to 2·10^7 prospects, a daily probability up
    to 1%.
    """
    for u in (1e-6, 0.1, 0.5, 0.93):
        assert draws.binomial_ppf(u, 100_000, 8e-5) == stats.binom.ppf(u, 100_000, 8e-5)
    rng = np.random.default_rng(4)
    u = draws.uniform(KEY, np.arange(3000), 0)
    n = (10 ** rng.uniform(0, 7.3, len(u))).astype(np.int64)
    p = 10 ** rng.uniform(-8, -2, len(u))
    ours = [draws.binomial_ppf(float(a), int(b), float(c)) for a, b, c in zip(u, n, p, strict=True)]
    np.testing.assert_array_equal(ours, stats.binom.ppf(u, n, p).astype(np.int64))
    assert draws.binomial_ppf(0.5, 0, 0.1) == 0
    assert draws.binomial_ppf(0.5, 10, 1.0) == 10


def test_drawing_imports_no_scipy_stats():
    """scipy.stats costs ≈ 0.35 s at import: the simulator's draws must not need it."""
    code = "import sys, model.simulation; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


def test_categorical_frequencies():
    p = np.array([0.5, 0.3, 0.2])
    picks = draws.categorical(draws.uniform(KEY, np.arange(N), 0), p)
    counts = np.bincount(picks, minlength=3)
    assert stats.chisquare(counts, p * N).pvalue > 0.001


@pytest.mark.parametrize("draw", ["uniform", "exponential", "gamma", "gamma<1"])
def test_a_customers_draw_does_not_depend_on_who_else_draws(draw):
    """Coupling: adding, removing or reordering other customers leaves u's draw unchanged."""
    fn = {
        "uniform": lambda uid, c: draws.uniform(KEY, uid, c),
        "exponential": lambda uid, c: draws.exponential(KEY, uid, c),
        "gamma": lambda uid, c: draws.gamma(KEY, uid, c, 1.2),  # 5% rejected: several attempts
        "gamma<1": lambda uid, c: draws.gamma(KEY, uid, c, 0.4),
    }[draw]
    everyone = np.arange(50_000)
    counters = everyone % 7
    full = fn(everyone, counters)
    subset = np.random.default_rng(0).choice(50_000, 3_000, replace=False)  # any order
    assert (fn(subset, counters[subset]) == full[subset]).all()
    assert fn(np.array([42]), 42 % 7)[0] == full[42]
    # And the counter matters: the next event of the same customer is a fresh draw.
    assert (fn(everyone, counters + 1) != full).mean() > 0.99


def test_stream_keys_distinct_and_reproducible():
    keys = stream_keys(replicate_seed(1, 0))
    assert list(keys) == list(KEYED)
    assert len(set(keys.values())) == len(KEYED)
    assert stream_keys(replicate_seed(1, 0)) == keys
    assert stream_keys(replicate_seed(1, 1))["join"] != keys["join"]


def test_clock_rescaling_is_exact():
    """A clock whose rate changes at s: the time left after s is Exp(new rate), whatever the past.

    Start N clocks at rate 0.5; at s = 1, those still running switch to rate 2. By
    memorylessness their residual times must be Exp(2), exactly as a fresh draw would be.
    """
    hazard = draws.exponential(KEY, np.arange(N), 0)
    t_next = clock.next_time(0.0, hazard, np.full(N, 0.5))
    running = t_next > 1.0
    moved = clock.rescaled(t_next[running], 1.0, 0.5, 2.0)
    residual = moved - 1.0
    crit = 1.95 / np.sqrt(running.sum())
    assert ks(residual, stats.expon(scale=0.5).cdf) < crit
    # Order is kept: a clock due earlier before the change is due earlier after it.
    assert (np.argsort(moved, kind="stable") == np.argsort(t_next[running], kind="stable")).all()
    assert np.isinf(clock.next_time(3.0, np.ones(2), np.zeros(2))).all()
