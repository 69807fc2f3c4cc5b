"""Calibration by ABC-SMC: series I/O, input errors, resume, reproducibility, recovery."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.api import simulate
from model.calibration.abc import SeriesModel, check_params, run_abc, simulation_seed
from model.calibration.posterior import (
    draw_parameters,
    posterior_table,
    summarise,
    weighted_quantile,
)
from model.calibration.series import (
    MonthlySeries,
    monthly_metrics,
    read_series,
    simulated_series,
)
from model.calibration.spec import ParamRange, default_params, param_ranges, parse_param
from model.cli import main
from model.errors import InputError
from model.execution import open_executor
from model.scenario import apply_overrides, load_scenario, resolve_raw
from model.seeds import replicate_seed

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"
SERIES = ROOT / "tests" / "data" / "series"
SMALL = ROOT / "tests" / "data" / "scenarios" / "small.toml"


# --- monthly series ---------------------------------------------------------------------------


def test_monthly_metrics_are_month_end_stocks_and_monthly_sums(small_baseline):
    daily = simulate(small_baseline, seed=3).daily
    m = monthly_metrics(daily, 6)
    assert m["n_private"][1] == daily["n_private"].iloc[59]  # month 2 ends on day 59
    assert m["n_public"][5] == daily["n_public"].iloc[179]
    days = slice(60, 90)  # month 3 = days 60..89
    assert m["joins"][2] == (daily["new_diverted"] + daily["new_referred"]).iloc[days].sum()
    assert m["unfollows"][2] == daily["new_unfollowed"].iloc[days].sum()
    assert m["orders"][2] == (daily["orders_public"] + daily["orders_private"]).iloc[days].sum()
    assert m["contribution"].sum() == pytest.approx(daily["cum_contribution"].iloc[179], abs=0.01)
    # Months may be picked: a gap is fine.
    picked = monthly_metrics(daily, [2, 5], ("n_private",))
    np.testing.assert_array_equal(picked["n_private"], m["n_private"][[1, 4]])
    with pytest.raises(ValueError, match="month 7 needs 210"):
        monthly_metrics(daily, 7)


def test_read_series_integer_and_calendar_months():
    s = read_series(SERIES / "valid.csv")
    assert s.months == (1, 2)
    assert s.columns == ("n_private", "joins", "unfollows", "orders")
    np.testing.assert_array_equal(s.values["unfollows"], [10, 67])
    assert s.horizon_days == 60
    ym = read_series(SERIES / "valid_yyyy_mm.csv")
    assert ym.months == (1, 2, 4)  # 2024-11 is month 1; 2025-01 is missing
    assert ym.labels[-1] == "2025-02"
    assert ym.horizon_days == 120


BROKEN = {
    "empty.csv": ["empty.csv", "the file is empty", "month"],
    "no_month.csv": ["no_month.csv", "line 1", "no 'month' column", "mon, n_private"],
    "unknown_column.csv": ["unknown column 'n_privat'", "did you mean 'n_private'?", "Allowed"],
    "only_month.csv": ["only a 'month' column", "n_private, joins, unfollows, orders, n_public"],
    "no_rows.csv": ["line 2", "no rows after the header"],
    "non_numeric.csv": ["line 3, column 'n_private'", "'abc' is not a number", "count ≥ 0"],
    "empty_cell.csv": ["line 3, column 'n_private'", "an empty cell is not a number"],
    "negative.csv": ["line 3, column 'n_private'", "'-5' is negative"],
    "bad_month.csv": ["line 3, column 'month'", "'March' is not a month", "YYYY-MM"],
    "months_not_increasing.csv": ["line 3, column 'month'", "'1' is not after", "increase"],
    "mixed_months.csv": ["line 3, column 'month'", "mixes month styles"],
    "ragged.csv": ["line 2", "2 fields, but the header has 3"],
    "duplicate_column.csv": ["column 'n_private' appears twice"],
    "month_zero.csv": ["line 2, column 'month'", "months count from 1"],
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_series_file_exits_2_and_writes_nothing(name, tmp_path, capsys):
    out = tmp_path / "cal"
    code = main(
        [
            "calibrate",
            str(SMALL),
            "--series",
            str(SERIES / name),
            "--out",
            str(out),
            "--workers",
            "1",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and str(SERIES / name) in err
    for fragment in BROKEN[name]:
        assert fragment in err, (fragment, err)
    assert not out.exists()


def test_missing_series_file(tmp_path, capsys):
    code = main(
        [
            "calibrate",
            str(SMALL),
            "--series",
            str(tmp_path / "nope.csv"),
            "--out",
            str(tmp_path / "cal"),
        ]
    )
    assert code == 2
    assert "nope.csv: no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("param", "fragments"),
    [
        (
            "diversion.p_join_mx=0.05:0.3",
            ["diversion.p_join_mx", "unknown key; did you mean 'p_join_max'?", "Allowed here"],
        ),
        ("outreach.p_unfollow_base=0.02:0.01", ["LOW = 0.02 must be below HIGH = 0.01"]),
        ("outreach.p_unfollow_base=0.01", ["expected dotted.key=LOW:HIGH"]),
        ("outreach.p_unfollow_base=a:0.1", ["bounds 'a' and '0.1' must be numbers"]),
        (
            "referral.p_convert=0.5:1.5",
            ["HIGH 1.5", "referral.p_convert = 1.5", "less than or equal to 1"],
        ),
        (
            "diversion.p_join_max=0.01:0.2",
            ["LOW 0.01", "p_join_max = 0.01 is below p_join_base = 0.03"],
        ),
        ("diversion.lapsed_cooldown_days=10:95", ["lapsed_cooldown_days is a whole number"]),
        ("operation.group_cap=100:300", ["group_cap is a whole number"]),
    ],
)
def test_bad_param_exits_2_with_its_message(param, fragments, tmp_path, capsys):
    out = tmp_path / "cal"
    code = main(
        [
            "calibrate",
            str(SMALL),
            "--series",
            str(SERIES / "valid.csv"),
            "--param",
            param,
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not out.exists()


def test_default_priors_follow_the_scenario():
    raw = apply_overrides(resolve_raw(BASELINE), {"diversion.p_join_base": 0.05})
    params = {p.key: (p.low, p.high) for p in default_params(raw)}
    assert params == {
        "diversion.p_join_max": (0.05, 0.40),  # raised to the scenario's p_join_base
        "outreach.p_unfollow_base": (0.001, 0.037),
        "referral.p_convert": (0.0, 0.20),
    }
    check_params(raw, default_params(raw), "baseline")  # every corner is a valid scenario
    assert parse_param(" referral.p_convert = 0.01 : 0.1 ").high == 0.1


def test_simulation_seed_depends_on_parameters_only():
    a = simulation_seed(5, {"x": 0.1, "y": 0.2})
    b = simulation_seed(5, {"y": 0.2, "x": 0.1})
    c = simulation_seed(5, {"x": 0.1, "y": np.nextafter(0.2, 1)})
    assert a.generate_state(4).tolist() == b.generate_state(4).tolist()
    assert a.generate_state(4).tolist() != c.generate_state(4).tolist()


def test_weighted_quantile_matches_the_plain_median_with_equal_weights():
    x = np.array([3.0, 1.0, 2.0, 10.0])
    assert weighted_quantile(x, np.ones(4), 0.5) == np.median(x)
    assert weighted_quantile(x, np.array([0, 0, 1, 0.0]) + 1e-12, 0.5) == pytest.approx(2.0)


# --- CLI: resume and reproducibility ----------------------------------------------------------


def _write_small_series(path: Path, months: int = 2) -> None:
    scenario = load_scenario(
        BASELINE, {"market.size": 20_000, "market.initial_public": 1_000, "sim.days": 30 * months}
    )
    simulated_series(simulate(scenario, seed=11).daily, months).to_csv(path, index=False)


def _calibrate(series: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "calibrate",
            str(SMALL),
            "--series",
            str(series),
            "--out",
            str(out),
            "--population-size",
            "8",
            "--predictive-draws",
            "4",
            "--seed",
            "3",
            *extra,
        ]
    )


def _populations(db: Path) -> pd.DataFrame:
    with sqlite3.connect(db) as con:
        return pd.read_sql(
            "SELECT t, nr_samples, epsilon, population_end_time FROM populations ORDER BY t", con
        )


def test_calibrate_resumes_from_the_last_finished_generation(tmp_path, capsys):
    series = tmp_path / "series.csv"
    _write_small_series(series)
    out = tmp_path / "cal"
    assert _calibrate(series, out, "--populations", "1", "--workers", "1") == 0
    first = capsys.readouterr().out
    assert "starting a new calibration" in first
    for name in (
        "abc.db",
        "posterior.csv",
        "posterior.json",
        "posterior_predictive.png",
        "posterior_predictive.csv",
        "calibration.json",
    ):
        assert (out / name).stat().st_size > 0, name
    before = _populations(out / "abc.db")
    assert before["t"].tolist() == [-1, 0]  # pyABC's calibration sample, then generation 0

    assert _calibrate(series, out, "--populations", "2", "--workers", "1") == 0
    second = capsys.readouterr().out
    assert "resuming" in second and "1 generation already finished, running 1 more" in second
    after = _populations(out / "abc.db")
    assert after["t"].tolist() == [-1, 0, 1]  # exactly one new generation, no new prior sample
    pd.testing.assert_frame_equal(after.iloc[:2], before)
    record = json.loads((out / "posterior.json").read_text())
    assert record["generations"] == 2 and record["generations_this_run"] == 1
    assert record["resumed"] is True
    assert [a["t"] for a in record["acceptance"]] == [0, 1]
    assert all(a["accepted"] == 8 for a in record["acceptance"])
    assert record["epsilon_schedule"] == pytest.approx(after["epsilon"].iloc[1:].tolist())
    posterior = pd.read_csv(out / "posterior.csv")
    assert len(posterior) == 8 and posterior["weight"].sum() == pytest.approx(1.0)

    # Asking for no more generations than are stored runs nothing new.
    assert _calibrate(series, out, "--populations", "2", "--workers", "1") == 0
    assert "nothing to run" in capsys.readouterr().out
    assert _populations(out / "abc.db")["t"].tolist() == [-1, 0, 1]

    # Different inputs cannot continue the same history.
    code = _calibrate(series, out, "--populations", "3", "--workers", "1", "--seed", "4")
    assert code == 2
    assert "was started with a different --seed" in capsys.readouterr().err


def test_a_changed_scenario_is_named_once_in_the_refusal(tmp_path, capsys):
    series = tmp_path / "series.csv"
    _write_small_series(series)
    out = tmp_path / "cal"
    assert _calibrate(series, out, "--populations", "1", "--workers", "1") == 0
    capsys.readouterr()
    code = _calibrate(series, out, "--populations", "1", "--set", "outreach.pushes_per_week=3")
    assert code == 2
    err = capsys.readouterr().err
    assert "was started with a different scenario (file or --set); a calibration" in err


def test_calibrate_function_returns_what_the_command_writes(tmp_path):
    """``from model import calibrate``: the same posterior as the CLI, and its files."""
    from model import calibrate, forecast

    series = tmp_path / "series.csv"
    _write_small_series(series)
    assert _calibrate(series, tmp_path / "cli", "--populations", "1", "--workers", "1") == 0
    cal = calibrate(
        SMALL,
        series,
        out=tmp_path / "lib",
        populations=1,
        population_size=8,
        predictive_draws=4,
        seed=3,
        workers=1,
    )
    cli_posterior = pd.read_csv(tmp_path / "cli" / "posterior.csv")
    pd.testing.assert_frame_equal(cal.to_frame(), cli_posterior)
    pd.testing.assert_frame_equal(cal.to_frame(), pd.read_csv(tmp_path / "lib" / "posterior.csv"))
    summary = cal.summary()
    record = json.loads((tmp_path / "lib" / "posterior.json").read_text())
    assert list(summary.index) == list(record["parameters"])
    for key, row in summary.iterrows():
        assert row["median"] == record["parameters"][key]["median"]
        assert row["prior_low"] <= row["q05"] <= row["median"] <= row["q95"] <= row["prior_high"]
    assert len(cal.plot().axes) >= len(cal.series.columns)
    # A forecast takes the result itself as its posterior: replicate i uses draw i.
    fc = forecast(SMALL, months=1, replicates=3, seed=5, posterior=cal, workers=1)
    assert fc.record["posterior"] == str(cal.out)
    draw = draw_parameters(cal.posterior, 3, 5)[0]
    scenario = load_scenario(SMALL, draw)
    first = simulate(scenario, seed=replicate_seed(5, 0), days=30).daily["n_private"].iloc[29]
    runs = fc.to_frame()
    pool = runs[(runs["replicate"] == 0) & (runs["metric"] == "n_private")]["value"]
    assert pool.tolist() == [first]


def test_param_ranges_from_a_mapping_are_checked_like_the_option():
    assert param_ranges({"referral.p_convert": (0, 0.2)}) == [
        ParamRange("referral.p_convert", 0.0, 0.2)
    ]
    with pytest.raises(InputError, match="LOW = 0.3 must be below HIGH = 0.1"):
        param_ranges({"referral.p_convert": (0.3, 0.1)})
    with pytest.raises(InputError, match="expected \\(LOW, HIGH\\), two numbers"):
        param_ranges({"referral.p_convert": 0.3})


def test_calibration_is_the_same_in_process_and_on_a_local_pool(tmp_path):
    series = tmp_path / "series.csv"
    _write_small_series(series)
    assert _calibrate(series, tmp_path / "w1", "--populations", "2", "--workers", "1") == 0
    assert _calibrate(series, tmp_path / "w2", "--populations", "2", "--workers", "2") == 0
    one = pd.read_csv(tmp_path / "w1" / "posterior.csv")
    two = pd.read_csv(tmp_path / "w2" / "posterior.csv")
    pd.testing.assert_frame_equal(one, two)
    eps1 = json.loads((tmp_path / "w1" / "posterior.json").read_text())["epsilon_schedule"]
    eps2 = json.loads((tmp_path / "w2" / "posterior.json").read_text())["epsilon_schedule"]
    assert eps1 == eps2


# --- parameter recovery (DESIGN §8) -----------------------------------------------------------

TRUTH = {
    "diversion.p_join_max": 0.15,
    "outreach.p_unfollow_base": 0.006,
    "referral.p_convert": 0.08,
}


@pytest.mark.slow
def test_calibration_recovers_known_private_domain_parameters(tmp_path):
    """Series from the simulator at known values; the 90% intervals contain them."""
    overrides = {"market.size": 30_000, "market.initial_public": 1_500, "sim.days": 180}
    raw = apply_overrides(resolve_raw(BASELINE), overrides)
    raw["name"] = "recovery"
    truth_scenario = load_scenario(BASELINE, {**overrides, **TRUTH})
    observed = monthly_metrics(
        simulate(truth_scenario, seed=7).daily, 6, ("n_private", "joins", "unfollows", "orders")
    )
    series = MonthlySeries(tuple(range(1, 7)), tuple(map(str, range(1, 7))), observed)
    params = default_params(raw)
    model = SeriesModel(raw, series.months, series.columns, seed=1)
    with open_executor(workers=2) as executor:
        run = run_abc(
            str(tmp_path / "abc.db"),
            model,
            params,
            series,
            populations=4,
            population_size=60,
            executor=executor,
            seed=3,
        )
    summary = summarise(posterior_table(run.history), {p.key: (p.low, p.high) for p in params})
    for key, value in TRUTH.items():
        s = summary[key]
        assert s["q05"] <= value <= s["q95"], (key, value, s)
    # Teeth: the pool and joins pin down diversion, the unfollow series the unfollow hazard.
    assert summary["diversion.p_join_max"]["interval_share_of_prior"] < 0.4
    assert summary["outreach.p_unfollow_base"]["interval_share_of_prior"] < 0.6
    print({k: {q: round(v, 5) for q, v in s.items()} for k, s in summary.items()})


def test_calibration_is_the_same_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    series = tmp_path / "series.csv"
    _write_small_series(series)
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=50
    ) as cluster:
        code = _calibrate(
            series,
            tmp_path / "dask",
            "--populations",
            "2",
            "--scheduler",
            cluster.scheduler_address,
        )
    assert code == 0
    assert _calibrate(series, tmp_path / "w1", "--populations", "2", "--workers", "1") == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "dask" / "posterior.csv"),
        pd.read_csv(tmp_path / "w1" / "posterior.csv"),
    )


def test_unreachable_scheduler_writes_nothing(tmp_path, capsys, monkeypatch):
    """The output directory appears only once the executor is open."""
    import model.calibration.calibrating

    def unreachable(*args, **kwargs):
        raise InputError("--scheduler tcp://127.0.0.1:9: no Dask scheduler answered")

    monkeypatch.setattr(model.calibration.calibrating, "open_executor", unreachable)
    out = tmp_path / "cal"
    code = main(
        [
            "calibrate",
            str(SMALL),
            "--series",
            str(SERIES / "valid.csv"),
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--out",
            str(out),
        ]
    )
    assert code == 2
    assert "127.0.0.1:9" in capsys.readouterr().err
    assert not out.exists()
