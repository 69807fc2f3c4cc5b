"""Fixed-size sampling of a day's private-domain decisions (model/sampling.py, docs/model.md §4.6).

What must hold: each customer is chosen with their own probability (exactly when a class's
probabilities are equal), a class chooses ⌊Σp⌋ or ⌊Σp⌋ + 1 of its deciders, Σp on average, and
one more decider changes at most one other decision (so two strategies still pair).
"""

from __future__ import annotations

import numpy as np
import pytest

from model import sampling
from model.prospects import stratified_order

KEY = np.uint64(0x5DEECE66D2026)
Z = 4.0  # two-sided ~6e-5: a false alarm in 16,000 such checks


def _classes(uids: np.ndarray, n_classes: int) -> np.ndarray:
    return (uids % n_classes).astype(np.int8)


def test_a_class_chooses_floor_or_ceil_of_its_expected_count_and_its_mean_exactly():
    uids = np.arange(1000, 1600)
    classes = _classes(uids, 4)
    p = 0.07
    days = 400
    sizes = np.array(
        [
            np.bincount(classes[sampling.choose(KEY, uids, p, d, classes)], minlength=4)
            for d in range(days)
        ]
    )
    expected = np.bincount(classes, minlength=4) * p  # 150 deciders a class: 10.5
    assert set(np.unique(sizes)) <= {10, 11}
    # The rounding is a Bernoulli(frac) per class and day: its mean is within Z sd of frac.
    frac = expected - np.floor(expected)
    sd = np.sqrt(frac * (1 - frac) / days)
    assert np.all(np.abs(sizes.mean(axis=0) - expected) <= Z * sd)


def test_each_customer_is_chosen_with_their_probability_when_a_class_shares_it():
    uids = np.arange(600)
    classes = _classes(uids, 3)
    p, days = 0.05, 600
    chosen = np.array([sampling.choose(KEY, uids, p, d, classes) for d in range(days)])
    # Days are independent (keyed uniforms): a group of customers' count is binomial
    # (days × group size, p) at most (fixed size within a day only narrows it).
    for group in np.array_split(np.arange(len(uids)), 6):
        trials = days * len(group)
        rate = chosen[:, group].mean()
        assert abs(rate - p) <= Z * np.sqrt(p * (1 - p) / trials), (group[0], rate)


def test_unequal_probabilities_are_met_to_the_order_of_one_over_the_sample_size():
    """Pareto sampling (Rosén 1997): π_i = p_i (1 + O(1/k)); allowed: p/k on top of the noise."""
    uids = np.arange(2000)
    classes = np.zeros(len(uids), dtype=np.int8)
    p = np.where(uids % 2 == 0, 0.02, 0.10)  # Σp = 120 a day
    days = 300
    chosen = np.array([sampling.choose(KEY, uids, p, d, classes) for d in range(days)])
    k = p.sum()
    for target in (0.02, 0.10):
        group = p == target
        trials = days * group.sum()
        rate = chosen[:, group].mean()
        assert abs(rate - target) <= Z * np.sqrt(target * (1 - target) / trials) + target / k


def test_certain_and_impossible_decisions():
    uids = np.arange(50)
    classes = _classes(uids, 2)
    p = np.where(uids < 10, 1.0, np.where(uids < 20, 0.0, 0.3))
    for d in range(50):
        chosen = sampling.choose(KEY, uids, p, d, classes)
        assert chosen[:10].all() and not chosen[10:20].any()
    assert sampling.choose(KEY, uids[:0], 0.5, 0, classes[:0]).shape == (0,)


@pytest.mark.parametrize("day", range(40))
def test_one_more_decider_changes_at_most_one_other_decision(day):
    """The class size ⌊Σp + 1 − v⌋ rises by 0 or 1 and the chosen are the smallest ranks."""
    rng = np.random.default_rng(day)
    uids = np.sort(rng.choice(100_000, size=300, replace=False))
    p = rng.uniform(0.0, 0.3, size=len(uids))
    classes = (rng.random(len(uids)) * 3).astype(np.int8)
    j = int(rng.integers(len(uids)))
    keep = np.arange(len(uids)) != j
    with_j = sampling.choose(KEY, uids, p, day, classes)
    without_j = sampling.choose(KEY, uids[keep], p[keep], day, classes[keep])
    assert (with_j[keep] != without_j).sum() <= 1


def test_value_classes_are_quantile_classes_of_expected_value():
    value = np.random.default_rng(1).gamma(0.5, 1.0, size=16_000)
    classes = sampling.value_classes(value, n_classes=16)
    assert np.all(np.bincount(classes, minlength=16) == 1000)
    # Ordered: every customer of a higher class is worth at least every one of a lower class.
    tops = [value[classes == c].max() for c in range(15)]
    bottoms = [value[classes == c].min() for c in range(1, 16)]
    assert np.all(np.array(tops) <= np.array(bottoms))


def test_expected_value_is_the_bgnbd_expected_count_times_the_mean_order_value():
    lam = np.array([0.01, 0.01, 0.02], dtype=np.float32)
    p = np.array([0.0, 0.2, 0.2], dtype=np.float32)
    nu = np.array([0.5, 0.5, 0.25], dtype=np.float32)
    got = sampling.expected_value(lam, p, nu, mean_value_scale=3.0, days=365)
    count = np.array(
        [3.65, (1 - np.exp(-0.01 * 0.2 * 365)) / 0.2, (1 - np.exp(-0.02 * 0.2 * 365)) / 0.2]
    )
    np.testing.assert_allclose(got, count * 3.0 / nu, rtol=1e-6)


def test_a_stratified_order_holds_every_class_in_proportion_in_every_prefix():
    rng = np.random.default_rng(7)
    classes = rng.integers(0, 8, size=10_000).astype(np.int8)
    order = stratified_order(classes, np.random.default_rng(3))
    assert np.array_equal(np.sort(order), np.arange(len(classes)))
    share = np.bincount(classes, minlength=8) / len(classes)
    for m in (1, 17, 250, 1234, 9999):
        counts = np.bincount(classes[order[:m]], minlength=8)
        # Class c's members sit at (rank + v_c)/n_c: a prefix cut at x holds x·n_c ± 1 of
        # them, and the cut x is m/N to within 8 classes' rounding: ± 2 in all.
        assert np.all(np.abs(counts - m * share) <= 2), (m, counts - m * share)


def test_a_stratified_order_is_a_different_random_order_for_each_generator():
    classes = np.repeat(np.arange(4), 250).astype(np.int8)
    a = stratified_order(classes, np.random.default_rng(1))
    b = stratified_order(classes, np.random.default_rng(2))
    assert not np.array_equal(a, b)
    # Within a class the order is a uniform shuffle: the first member taken is any of them.
    firsts = {int(stratified_order(classes, np.random.default_rng(s))[0]) for s in range(40)}
    assert len(firsts) > 20


def test_the_model_chooses_the_expected_number_of_joiners_buyers_leavers_and_wakers(monkeypatch):
    """In a run, every decision sampled with a fixed size keeps its expected count.

    Each class and day chooses ⌊Σp⌋ or ⌊Σp⌋ + 1 (checked on every call); over the run, the
    choices differ from Σp only by the roundings, independent Bernoulli(frac) surprises whose
    variance Σ frac(1 − frac) bounds the total's deviation (here at Z sd).
    """
    from model.simulation import PrivateDomainModel
    from tests.helpers import baseline_with

    calls: dict[int, list[tuple[float, int, float]]] = {}
    original = sampling.choose

    def recording(key, uids, p, day, classes, part=1):
        chosen = original(key, uids, p, day, classes, part)
        p_all = np.clip(np.broadcast_to(np.asarray(p, dtype=float), (len(uids),)), 0.0, 1.0)
        for c in np.unique(classes):
            in_c = classes == c
            expected = p_all[in_c].sum()
            got = int(chosen[in_c].sum())
            assert got in (np.floor(expected), np.floor(expected) + 1), (c, expected, got)
            frac = expected - np.floor(expected)
            calls.setdefault((int(key), part), []).append((expected, got, frac * (1 - frac)))
        return chosen

    monkeypatch.setattr(sampling, "choose", recording)
    scenario = baseline_with(
        market__size=40_000,
        market__initial_public=2_000,
        sim__days=120,
        outreach__pushes_per_week=3,
    )
    model = PrivateDomainModel(scenario, seed=11)
    model.run()
    names = {int(k): name for name, k in model.keys.items()}
    seen = set()
    for (key, part), rows in calls.items():
        expected, got, var = (np.array(x) for x in zip(*rows, strict=True))
        name = names[key] + ("" if part == 1 else f"/{part}")
        seen.add(name)
        assert abs(got.sum() - expected.sum()) <= Z * np.sqrt(var.sum()) + 1e-9, name
    assert {"join", "push_response", "push_response/2", "unfollow"} <= seen
