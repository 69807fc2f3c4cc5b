"""Forecast bands: files written, ordered quantiles, seeds, posterior draws widen the bands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.api import simulate
from model.calibration.posterior import draw_parameters
from model.calibration.replicates import QUANTILES, bands
from model.calibration.spec import FORECAST_METRICS
from model.cli import main
from model.scenario import load_scenario
from model.seeds import replicate_seed

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "scenarios" / "small.toml"
SERIES = ROOT / "tests" / "data" / "series"
MONTHS, REPLICATES, SEED = 3, 9, 21


def _forecast(out: Path, *extra: str) -> int:
    return main(
        [
            "forecast",
            str(SMALL),
            "--months",
            str(MONTHS),
            "--replicates",
            str(REPLICATES),
            "--seed",
            str(SEED),
            "--out",
            str(out),
            "--no-progress",
            *extra,
        ]
    )


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    out = tmp_path_factory.mktemp("forecast") / "plain"
    assert _forecast(out, "--workers", "1") == 0
    return out


def test_forecast_writes_bands_and_fan_chart(plain, capsys):
    for name in ("forecast_bands.csv", "forecast.png", "forecast.json", "forecast_runs.parquet"):
        assert (plain / name).stat().st_size > 0, name
    table = pd.read_csv(plain / "forecast_bands.csv")
    assert list(table.columns) == ["month", "metric", *QUANTILES]
    assert set(table["metric"]) == set(FORECAST_METRICS)
    assert len(table) == MONTHS * len(FORECAST_METRICS)
    q = table[list(QUANTILES)].to_numpy()
    assert np.all(np.diff(q, axis=1) >= 0), "p05 ≤ p25 ≤ p50 ≤ p75 ≤ p95"
    meta = json.loads((plain / "forecast.json").read_text())
    assert meta["replicates"] == REPLICATES and meta["seed"] == SEED and meta["months"] == MONTHS
    # Monthly contribution adds up to the cumulative line, replicate by replicate.
    runs = pd.read_parquet(plain / "forecast_runs.parquet")
    wide = runs.pivot_table(index=["replicate", "month"], columns="metric", values="value")
    cum = wide["contribution"].groupby(level="replicate").cumsum()
    np.testing.assert_allclose(cum, wide["cum_contribution"], atol=0.05)


def test_first_month_median_equals_separate_runs_with_the_same_seeds(plain):
    scenario = load_scenario(SMALL)
    pools = [
        simulate(scenario, seed=replicate_seed(SEED, i), days=30 * MONTHS)
        .daily["n_private"]
        .iloc[29]
        for i in range(REPLICATES)
    ]
    table = pd.read_csv(plain / "forecast_bands.csv")
    row = table[(table["metric"] == "n_private") & (table["month"] == 1)].iloc[0]
    assert row["p50"] == np.median(pools)
    assert row["p05"] == np.quantile(pools, 0.05)


def test_bands_are_the_same_on_a_local_pool(plain, tmp_path):
    assert _forecast(tmp_path / "pool", "--workers", "2") == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(plain / "forecast_bands.csv"),
        pd.read_csv(tmp_path / "pool" / "forecast_bands.csv"),
    )


def test_posterior_draws_widen_the_bands(plain, tmp_path, capsys):
    out = tmp_path / "post"
    assert _forecast(out, "--workers", "1", "--posterior", str(SERIES / "posterior_wide")) == 0
    assert "with posterior draws" in capsys.readouterr().out
    without = pd.read_csv(plain / "forecast_bands.csv").set_index(["metric", "month"])
    with_post = pd.read_csv(out / "forecast_bands.csv").set_index(["metric", "month"])
    width = lambda t: t["p95"] - t["p05"]  # noqa: E731
    for metric in ("n_private", "n_lapsed"):
        assert (width(with_post.loc[metric]) >= width(without.loc[metric])).all(), metric
    # Same seeds: the posterior run's first replicate uses draw 0 with replicate seed 0.
    posterior = pd.read_csv(SERIES / "posterior_wide" / "posterior.csv")
    draw = draw_parameters(posterior, REPLICATES, SEED)[0]
    scenario = load_scenario(SMALL, draw)
    daily = simulate(scenario, seed=replicate_seed(SEED, 0), days=30 * MONTHS).daily
    runs = pd.read_parquet(out / "forecast_runs.parquet")
    first = runs[(runs["replicate"] == 0) & (runs["metric"] == "n_private")]
    assert first["value"].tolist() == daily["n_private"].iloc[[29, 59, 89]].tolist()


def test_forecast_function_gives_the_commands_bands_and_files(plain, tmp_path):
    """``from model import forecast``: the bands the command wrote, then the same files."""
    from model import forecast
    from model.calibration.forecasting import FILES

    fc = forecast(SMALL, months=MONTHS, replicates=REPLICATES, seed=SEED, workers=1)
    pd.testing.assert_frame_equal(fc.bands, pd.read_csv(plain / "forecast_bands.csv"))
    pd.testing.assert_frame_equal(fc.to_frame(), pd.read_parquet(plain / "forecast_runs.parquet"))
    summary = fc.summary()
    assert list(summary.columns) == ["metric", "month", "p05", "p50", "p95"]
    assert sorted(set(summary["month"])) == [1, 3]  # month 1 and the last
    row = summary[(summary["metric"] == "orders") & (summary["month"] == 3)].iloc[0]
    band = fc.bands[(fc.bands["metric"] == "orders") & (fc.bands["month"] == 3)].iloc[0]
    assert (row["p05"], row["p50"], row["p95"]) == (band["p05"], band["p50"], band["p95"])
    text = fc.summary(formatted=True).set_index(["metric", "month"])
    assert "¥" in text.at[("cum_contribution", 3), "p50"]
    assert text.at[("orders", 3), "p50"] == f"{band['p50']:,.0f}"  # a count, no unit sign
    assert len(fc.plot().axes) >= len(FORECAST_METRICS)
    written = fc.write(tmp_path / "lib")
    assert sorted(p.name for p in written.iterdir() if not p.name.startswith(".")) == sorted(FILES)
    pd.testing.assert_frame_equal(
        pd.read_csv(written / "forecast_bands.csv"), pd.read_csv(plain / "forecast_bands.csv")
    )


def test_posterior_draws_are_seeded_and_follow_the_weights():
    posterior = pd.DataFrame({"x": [1.0, 2.0, 3.0], "weight": [0.0, 0.25, 0.75]})
    a = draw_parameters(posterior, 400, seed=1)
    assert a[:5] == draw_parameters(posterior, 5, seed=1)  # draw i does not depend on n
    xs = np.array([d["x"] for d in a])
    assert not (xs == 1.0).any()
    assert np.mean(xs == 3.0) == pytest.approx(0.75, abs=0.07)


def test_bands_quantiles_are_numpys():
    runs = pd.DataFrame(
        {"replicate": [0, 1, 2, 3], "month": 1, "metric": "orders", "value": [4.0, 1.0, 3.0, 2.0]}
    )
    row = bands(runs, ("orders",)).iloc[0]
    assert (row["p05"], row["p25"], row["p50"], row["p75"], row["p95"]) == pytest.approx(
        (1.15, 1.75, 2.5, 3.25, 3.85)
    )


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--posterior", "nowhere"], ["nowhere: no posterior.csv here"]),
        (
            ["--posterior", str(SERIES / "posterior_bad_key")],
            ["a draw does not fit", "did you mean 'p_join_max'?"],
        ),
        (["--months", "200"], ["--months 200: at most 121"]),
        (["--set", "outreach.pushes_per_wek=3"], ["did you mean 'pushes_per_week'?"]),
    ],
)
def test_bad_forecast_input_exits_2(args, fragments, tmp_path, capsys):
    out = tmp_path / "f"
    assert _forecast(out, "--workers", "1", *args) == 2
    err = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not out.exists()
