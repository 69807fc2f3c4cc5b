"""The comparison's summarising functions on hand-made KPI tables with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.compare.spec import DIRECTIONS
from model.compare.summary import COLUMNS, ranking, summarise


def table(**columns) -> pd.DataFrame:
    """KPI rows from {strategy: {kpi: [values by replicate]}}."""
    rows = []
    for strategy, kpis in columns.items():
        n = len(next(iter(kpis.values())))
        for i in range(n):
            values = {k: v[i] for k, v in kpis.items()}
            rows.append({"strategy": strategy, "replicate": i, **values})
    return pd.DataFrame(rows)


def test_band_is_linear_quantiles_of_defined_values():
    """Median and 10–90% band: linear quantiles, NaNs left out."""
    # 1..11: p10 at position 1 (value 2), median at 5 (6), p90 at 9 (10).
    row = summarise(table(a={"roi": np.arange(1.0, 12)}), "a", ["roi"]).iloc[0]
    assert (row["p10"], row["median"], row["p90"]) == (2.0, 6.0, 10.0)
    # NaN (undefined KPI) is left out, not counted as zero.
    values = np.array([np.nan, *range(1, 12), np.nan], dtype=float)
    row = summarise(table(a={"roi": values}), "a", ["roi"]).iloc[0]
    assert (row["p10"], row["median"], row["p90"], row["n"]) == (2.0, 6.0, 10.0, 11)
    row = summarise(table(a={"roi": [np.nan, np.nan]}), "a", ["roi"]).iloc[0]
    assert np.isnan([row["p10"], row["median"], row["p90"]]).all()


def p_beats(strategy, reference, metric, directions=None) -> float:
    """P(beats) of ``s`` against ``r`` on one KPI, through the summary."""
    kpis = table(r={metric: reference}, s={metric: strategy})
    out = summarise(kpis, "r", [metric], **({"directions": directions} if directions else {}))
    return out.set_index("strategy").loc["s", "p_beats_reference"]


def test_p_beats_counts_wins_and_half_ties():
    """P(beats): wins count 1, ties ½, in the KPI's better direction."""
    strategy = [1, 2, 3, 4]
    reference = [0, 2, 5, 1]
    # Higher is better: wins on replicates 0 and 3, a tie on 1, a loss on 2 -> (2 + 0.5)/4.
    assert p_beats(strategy, reference, "contribution") == 0.625
    # Lower is better (a cost): one win (replicate 2) and the tie -> 1.5/4.
    assert p_beats(strategy, reference, "cac_paid") == 0.375
    assert p_beats(reference, reference, "contribution") == 0.5
    # Pairs with an undefined side are dropped ...
    assert p_beats([1, np.nan, 3], [0, 1, 5], "contribution") == 0.5
    # ... unless undefined means "worst" (payback never reached within the horizon).
    assert p_beats(
        [10, np.nan, np.nan], [np.nan, 20, np.nan], "payback_day", {"payback_day": "lower"}
    ) == pytest.approx((1 + 0 + 0.5) / 3)
    with pytest.raises(ValueError):
        p_beats([1], [2], "x", {"x": "bigger"})
    # A descriptive (neutral) KPI is summarised, never "beaten".
    assert np.isnan(p_beats([1, 2], [0, 0], "n_public"))


def test_summarise_constructed_case():
    """Bands, paired differences and P(beats) on a table with known answers."""
    ref = np.arange(10.0)  # reference contribution 0..9
    diffs = np.arange(1.0, 11.0)  # strategy beats it by 1..10 on the same replicate
    cac_ref = np.full(10, 100.0)
    cac = np.array([90.0, 100, 110, 120, 130, 140, 150, 160, 170, 180])  # cheaper once, tie once
    kpis = table(
        ref={"contribution": ref, "cac_paid": cac_ref},
        better={"contribution": ref + diffs, "cac_paid": cac},
    )
    out = summarise(kpis, "ref", ["contribution", "cac_paid"])
    assert list(out.columns) == COLUMNS
    row = out.set_index(["strategy", "metric"]).loc[("better", "contribution")]
    # Strategy values 1, 3, 5, ..., 19: p10 = 1 + 0.9*2 = 2.8, median 10, p90 = 17.2.
    assert row["median"] == pytest.approx(10.0)
    assert row["p10"] == pytest.approx(2.8)
    assert row["p90"] == pytest.approx(17.2)
    # Paired differences 1..10: p10 = 1.9, median 5.5, p90 = 9.1 (linear interpolation).
    assert row["diff_vs_reference_median"] == pytest.approx(5.5)
    assert row["diff_vs_reference_p10"] == pytest.approx(1.9)
    assert row["diff_vs_reference_p90"] == pytest.approx(9.1)
    assert row["p_beats_reference"] == 1.0
    assert row["direction"] == "higher" and row["n"] == 10 and row["n_pairs"] == 10

    cac_row = out.set_index(["strategy", "metric"]).loc[("better", "cac_paid")]
    # Lower is better for a cost: one win (90 < 100), one tie (100), eight losses.
    assert cac_row["p_beats_reference"] == pytest.approx(0.15)
    assert cac_row["diff_vs_reference_median"] == pytest.approx(35.0)
    assert cac_row["direction"] == "lower"

    ref_rows = out[out["strategy"] == "ref"]
    diff_cols = [c for c in COLUMNS if c.startswith("diff_vs_reference")]
    assert (ref_rows[diff_cols].to_numpy() == 0.0).all()
    assert (ref_rows["p_beats_reference"] == 0.5).all()


def test_paired_means_same_replicate_not_same_rank():
    """Differences pair runs by replicate (the same seed)."""
    # The strategy is 1 better on every replicate: its band overlaps the reference's almost
    # wholly (10-40 vs 11-41), yet the paired difference is exactly 1 with no spread.
    ref = np.array([10.0, 20, 30, 40])
    strategy = np.array([11.0, 21, 31, 41])
    kpis = table(ref={"roi": ref}, s={"roi": strategy})
    row = summarise(kpis, "ref", ["roi"]).set_index("strategy").loc["s"]
    assert row["diff_vs_reference_p10"] == row["diff_vs_reference_p90"] == pytest.approx(1.0)
    assert row["p_beats_reference"] == 1.0


def test_failed_run_drops_its_pair_not_counted_as_undefined():
    """A missing run drops its pair; it is not 'never paid back'."""
    kpis = table(ref={"payback_day": [5.0, 5, 5]}, s={"payback_day": [4.0, 6, 4]})
    kpis = kpis[~((kpis["strategy"] == "s") & (kpis["replicate"] == 1))]  # replicate 1 failed
    # payback_day is a comparison-level KPI (paired, model.metrics.paired_payback_day), not in
    # the per-run registry: its direction is given here.
    row = (
        summarise(kpis, "ref", ["payback_day"], directions={"payback_day": "lower"})
        .set_index("strategy")
        .loc["s"]
    )
    assert row["n_pairs"] == 2
    assert row["p_beats_reference"] == 1.0


def test_ranking_follows_direction():
    """Ranking puts the best first: highest, or lowest for costs."""
    kpis = table(
        a={"contribution": [1.0, 2, 3], "cac_paid": [50.0, 50, 50]},
        b={"contribution": [5.0, 6, 7], "cac_paid": [80.0, 80, 80]},
        c={"contribution": [3.0, 4, 5], "cac_paid": [20.0, 20, 20]},
    )
    summary = summarise(kpis, "a", ["contribution", "cac_paid"])
    assert ranking(summary, "contribution")["strategy"].tolist() == ["b", "c", "a"]
    assert ranking(summary, "cac_paid")["strategy"].tolist() == ["c", "a", "b"]
    assert ranking(summary, "cac_paid")["rank"].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="summarised, not ranked"):
        ranking(summarise(kpis.assign(n_public=1.0), "a", ["n_public"]), "n_public")


def test_direction_table_marks_costs_lower():
    """Cost-like KPIs are better lower, the rest higher."""
    for kpi in (
        "cac_paid",
        "cost_per_private_member",
        "unfollows_per_1000_pushes",
        "cost_marketing",
    ):
        assert DIRECTIONS[kpi] == "lower"
    for kpi in ("contribution", "roi", "repurchase_rate_90d", "n_private", "ltv_180"):
        assert DIRECTIONS[kpi] == "higher"


def test_paired_payback_is_the_first_day_a_strategy_stays_ahead_on_its_cell():
    """Per run, against the reference's run of the same (draw, replicate); NaN: never."""
    from model.compare.summary import paired_payback

    def run(*cum):
        return pd.DataFrame({"day": range(len(cum)), "cum_contribution": cum})

    daily = {
        ("ref", 0, 0): run(0, -10, -20, -30, -40),
        ("a", 0, 0): run(0, -15, -18, -25, -20),  # ahead from day 2 on, for good
        ("b", 0, 0): run(0, 5, -25, -29, -41),  # ahead, behind again, ends behind: never
        ("ref", 1, 0): run(0, 1, 2, 3, 4),
        ("a", 1, 0): run(1, 2, 3, 4, 5),  # ahead from day 0
    }
    kpis = pd.DataFrame(
        {
            "strategy": ["ref", "a", "b", "ref", "a"],
            "draw": [0, 0, 0, 1, 1],
            "replicate": [0, 0, 0, 0, 0],
        }
    )
    got = paired_payback(kpis, daily, "ref")
    assert got.iloc[1] == 2.0 and np.isnan(got.iloc[2])
    assert np.isnan(got.iloc[0]) and np.isnan(got.iloc[3])  # the reference pays back nothing
    assert got.iloc[4] == 0.0
