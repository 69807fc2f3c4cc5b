"""``run.py fit-orders``: reading order exports, broken-file messages, and the outputs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

import model.cli
from model.errors import InputError
from model.fitting.orders import OrderColumns, read_orders, rfm_summary, to_transactions

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "orders"
GOOD = DATA / "good.csv"
CAL_END, HOLDOUT_END = "2024-12-30", "2025-06-28"


@pytest.fixture
def cli():
    """``model.cli.main``, in-process."""
    return model.cli.main


# --- reading -------------------------------------------------------------------------------


def test_custom_columns_dates_and_same_day_rule():
    """Chinese headers, YYYY/MM/DD with times, blank lines and the same-day merge."""
    orders = read_orders(
        DATA / "custom_columns.csv", OrderColumns("会员ID", "下单时间", "实付金额")
    )
    assert orders.attrs["date_format"] == "YYYY/MM/DD"
    # Line 5 is blank, so the fourth order is on line 6 as an editor shows it.
    assert orders["line"].tolist() == [2, 3, 4, 6, 7]
    assert orders["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-03-05",
        "2024-03-05",
        "2024-03-06",
        "2024-04-01",
        "2024-05-20",
    ]
    tx = to_transactions(orders)
    m01 = tx[tx["customer_id"] == "m01"]
    # Two orders on 2024-03-05 (14:22 and 18:01) are one transaction of 129 + 20.50.
    assert m01["amount"].tolist() == [149.5, 59.9]
    assert m01["n_orders"].tolist() == [2, 1]


def test_gbk_encoded_export_is_read(tmp_path):
    """A GBK export from Excel on Chinese Windows is decoded."""
    path = tmp_path / "gbk.csv"
    path.write_bytes("客户,日期,金额\n张三,2024-01-02,10\n".encode("gbk"))
    orders = read_orders(path, OrderColumns("客户", "日期", "金额"))
    assert orders["customer_id"].tolist() == ["张三"]


def test_day_first_detected_when_a_row_decides(tmp_path):
    """DD/MM/YYYY is chosen when one day > 12 rules out MM/DD."""
    path = tmp_path / "dmy.csv"
    path.write_text("customer_id,date,amount\nc1,05/03/2024,10\nc1,25/03/2024,12\n")
    orders = read_orders(path)
    assert orders.attrs["date_format"] == "DD/MM/YYYY"
    assert orders["date"].dt.month.tolist() == [3, 3]


def test_explicit_date_format_resolves_ambiguity():
    """--date-format settles a column that reads both ways."""
    orders = read_orders(DATA / "ambiguous_dates.csv", date_format="%m/%d/%Y")
    assert orders["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-05-03", "2024-06-04"]


def test_rfm_summary_by_hand():
    """Frequency, recency, T, monetary and holdout counts on a hand-made log."""
    d = pd.Timestamp
    tx = to_transactions(
        pd.DataFrame(
            {
                "customer_id": ["a", "a", "a", "a", "b", "c", "a"],
                "date": [
                    d("2024-01-01"),
                    d("2024-01-08"),
                    d("2024-01-08"),
                    d("2024-01-29"),
                    d("2024-01-15"),
                    d("2024-02-10"),
                    d("2024-02-05"),
                ],
                "amount": [100.0, 30.0, 20.0, 70.0, 40.0, 5.0, 11.0],
            }
        )
    )
    s = rfm_summary(tx, "2024-01-31", "2024-02-14", time_unit="week")
    # c's first transaction is after calibration end: not a calibration customer.
    assert s.index.tolist() == ["a", "b"]
    a, b = s.loc["a"], s.loc["b"]
    # a: first 01-01, repeats 01-08 (30+20 merged) and 01-29; T = 30 days.
    assert a["frequency"] == 2
    assert a["recency"] == pytest.approx(28 / 7)
    assert a["T"] == pytest.approx(30 / 7)
    assert a["monetary"] == pytest.approx((50 + 70) / 2)
    assert a["frequency_holdout"] == 1 and a["monetary_holdout"] == 11.0
    assert b["frequency"] == 0 and b["recency"] == 0 and b["monetary"] == 0
    assert b["T"] == pytest.approx(16 / 7)
    assert s["duration_holdout"].iloc[0] == pytest.approx(14 / 7)


# --- broken files --------------------------------------------------------------------------

BROKEN = [
    # file, line, column, bad value (or None), words that say what is allowed
    ("missing_column.csv", 1, "date", "order_date", "--date-col"),
    ("bad_date.csv", 4, "date", "2024-02-30", "YYYY-MM-DD"),
    ("bad_amount.csv", 5, "amount", "¥80.50", "non-negative numbers"),
    ("negative_amount.csv", 3, "amount", "-80.50", ">= 0"),
    ("empty.csv", 1, None, None, "customer_id, date, amount"),
    ("header_only.csv", 2, None, None, "at least one order"),
    ("ambiguous_dates.csv", 2, "date", "05/03/2024", "--date-format"),
]


@pytest.mark.parametrize(("name", "line", "column", "value", "allowed"), BROKEN)
def test_broken_file_gives_one_clear_message(
    cli, capsys, tmp_path, name, line, column, value, allowed
):
    """Each broken file: exit 2, one line naming file, line, column, value, rule."""
    out = tmp_path / "fit"
    status = cli(["fit-orders", str(DATA / name), "--calibration-end", CAL_END, "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("error: ")  # one message, no traceback
    assert name in err
    assert f"line {line}" in err
    if column is not None:
        assert f"column '{column}'" in err
    if value is not None:
        assert value in err
    assert allowed in err
    assert not out.exists()
    assert not any(tmp_path.iterdir())  # no partial directory left behind either


def test_error_keeps_previous_output(cli, tmp_path):
    """A failed run leaves an earlier output directory untouched."""
    out = tmp_path / "fit"
    out.mkdir()
    (out / "fit.json").write_text("{}")
    status = cli(
        ["fit-orders", str(DATA / "bad_date.csv"), "--calibration-end", CAL_END, "--out", str(out)]
    )
    assert status == 2
    assert (out / "fit.json").read_text() == "{}"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--calibration-end", "30/12/2024"], "--calibration-end '30/12/2024'"),
        (["--calibration-end", CAL_END, "--holdout-end", "2024-06-01"], "must be after"),
        (["--calibration-end", "2023-01-01"], "before the first order"),
    ],
)
def test_bad_dates_on_the_command_line(cli, capsys, tmp_path, args, needle):
    """Bad --calibration-end/--holdout-end values are refused with exit 2."""
    status = cli(["fit-orders", str(GOOD), *args, "--out", str(tmp_path / "fit")])
    assert status == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "fit").exists()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("customer_id,date,amount\nc1,2024-01-05,1\nc1,9024-03-05,2\n", "line 3, column 'date'"),
        ("customer_id;date;amount\nc1;2024-01-05;1\n", "separated by something other"),
        ("customer_id,date,amount\nc1,2024-01-05,1\n,2024-03-05,3\n", "empty customer id"),
        ("customer_id,date,amount\nc1,2024-01-05,1\nc2,2024-03-05\n", "line 3: 2 fields"),
        ("customer_id,date,amount\nc1,2024-01-05,1\nc1,2024-01-09 lunch,1\n", "line 3"),
    ],
)
def test_other_bad_rows(tmp_path, text, needle):
    """Out-of-range year, wrong separator, empty id, short row, junk after the date."""
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(needle)):
        read_orders(path)


def test_input_error_type_from_reader():
    """The reader raises InputError with the file, line and column."""
    with pytest.raises(InputError, match=r"negative_amount\.csv: line 3, column 'amount'"):
        read_orders(DATA / "negative_amount.csv")


# --- a good file ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_fit(tmp_path_factory):
    """One in-process fit of good.csv with a holdout, shared by the tests below."""
    out = tmp_path_factory.mktemp("good") / "fit"
    args = [
        "fit-orders",
        str(GOOD),
        "--calibration-end",
        CAL_END,
        "--holdout-end",
        HOLDOUT_END,
        "--out",
        str(out),
    ]
    return model.cli.main(args), out


def test_good_file_writes_all_outputs(good_fit):
    """A good file writes fit.json, the fragment, summary.csv and the PNGs."""
    status, out = good_fit
    assert status == 0
    names = {p.name for p in out.iterdir()}
    assert names == {
        ".sidomain-output.json",  # the marker that makes a rerun replace only these files
        "fit.json",
        "fitted_behaviour.toml",
        "fitted_two_state.toml",
        "summary.csv",
        "backtest.png",
        "backtest_by_frequency.csv",
    }
    assert (out / "backtest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_library_call_gives_what_the_command_writes(good_fit, tmp_path):
    """fit_order_export + write_fit_outputs (a notebook's calls) write the command's files."""
    from model.fitting.order_log import fit_order_export, write_fit_outputs

    _, out = good_fit
    result = fit_order_export(GOOD, CAL_END, HOLDOUT_END)
    assert result.warnings == [] and result.record["n_customers"] == 600
    write_fit_outputs(tmp_path, result)
    for name in ("fit.json", "summary.csv", "backtest_by_frequency.csv"):
        assert (tmp_path / name).read_text() == (out / name).read_text(), name


def test_fit_json_content(good_fit):
    """fit.json has parameters with standard errors and a consistent holdout."""
    _, out = good_fit
    fit = json.loads((out / "fit.json").read_text())
    assert fit["time_unit"] == "day"
    assert fit["n_customers"] == 600
    assert fit["n_orders"] == 1958 and fit["n_transactions"] < 1958  # split orders merged
    for block, names in (("bgnbd", "r alpha a b"), ("gamma_gamma", "p q gamma")):
        for name in names.split():
            assert fit[block][name] > 0
            assert 0 < fit[block]["se"][name] < fit[block][name]
    # The fixture was drawn with r=0.5, α=60 days, a=0.8, b=2.4 from 600 customers.
    assert abs(fit["bgnbd"]["r"] - 0.5) < 1.96 * fit["bgnbd"]["se"]["r"]
    assert abs(fit["bgnbd"]["alpha"] - 60.0) < 1.96 * fit["bgnbd"]["se"]["alpha"]
    h = fit["holdout"]
    for name in ("bgnbd", "two_state"):
        m = h[name]
        assert h["actual_repeat"] == sum(row["actual_repeat"] for row in m["by_frequency"])
        assert m["predicted_repeat"] == pytest.approx(
            sum(row["predicted_repeat"] for row in m["by_frequency"]), rel=1e-9
        )
        assert m["error_pct"] == pytest.approx(
            100 * (m["predicted_repeat"] - h["actual_repeat"]) / h["actual_repeat"], rel=1e-9
        )
        assert abs(m["error_pct"]) < 15  # 600 customers: ~300 holdout transactions
        assert 0 < m["rmse"] < 3 and 0 < m["correlation"] < 1
    # good.csv is a BG/NBD log: the two-state fit (one parameter more, ρ) nests BG/NBD, so
    # its log-likelihood is at least BG/NBD's and the likelihood-ratio statistic stays below
    # χ²₁'s 95% quantile (conservative at the ρ = 0 boundary).
    ts = fit["two_state"]
    assert ts["loglik"] >= fit["bgnbd"]["loglik"] - 1e-6
    assert ts["n_params"] == 5
    assert ts["lr_vs_bgnbd"] < chi2.ppf(0.95, 1)
    assert set(ts["se"]) == {"r", "alpha", "a", "b", "rho"}


def test_no_profile_when_customers_joined_in_few_months(good_fit):
    """good.csv spans 365 days but everyone joined in Jan–Mar: no profile, and it says why."""
    _, out = good_fit
    season = json.loads((out / "fit.json").read_text())["seasonality"]
    assert season["source"] == "none"
    assert "3 calendar months" in season["why"]


# A log with seasons: 700 customers acquired through 2023 by the two-state model with a
# month profile and festival lifts, orders to 2024-09-30 (written by the test, not shipped).
SEASONAL_MONTHS = [0.8, 0.6, 0.9, 1.0, 1.0, 1.2, 0.9, 0.9, 1.0, 1.1, 1.4, 1.3]
SEASONAL_LIFTS = {"spring_festival": 0.5, "mid_year_618": 2.0, "double_11": 3.0}


@pytest.fixture(scope="module")
def seasonal_fit(tmp_path_factory):
    """fit-orders on the seasonal log: calibration to 2024-03-31, holdout to 2024-09-30."""
    from model.fitting.calendar import DEFAULT_FESTIVALS, SeasonalProfile, normalise_months
    from model.fitting.synthetic import simulate_two_state_orders

    profile = SeasonalProfile(
        tuple(normalise_months(np.array(SEASONAL_MONTHS))), SEASONAL_LIFTS, DEFAULT_FESTIVALS
    )
    orders = simulate_two_state_orders(
        700,
        r=0.8,
        alpha_days=40.0,
        a=1.0,
        b=3.0,
        return_rate_per_day=0.01,
        horizon_days=638,
        cohort_days=365,
        rng=np.random.default_rng(20261201),
        start="2023-01-01",
        profile=profile,
    )
    root = tmp_path_factory.mktemp("seasonal")
    path = root / "seasonal.csv"
    orders.assign(date=orders["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    out = root / "fit"
    args = ["fit-orders", str(path), "--calibration-end", "2024-03-31"]
    status = model.cli.main([*args, "--holdout-end", "2024-09-30", "--out", str(out)])
    return status, out


def test_seasonal_profile_estimated(seasonal_fit):
    """A year and a quarter of calibration, acquisitions all year: the profile is estimated.

    Its month multipliers are jointly within χ²₁₁'s 99.9% quantile of the truth (11 free
    multipliers), Double 11's lift within 3 standard errors of 3.
    """
    status, out = seasonal_fit
    assert status == 0
    fit = json.loads((out / "fit.json").read_text())
    season = fit["seasonality"]
    assert season["source"] == "estimated"
    months = np.array(season["month_multipliers"])
    se = np.array(season["se"]["month_multipliers"])
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    assert days @ months == pytest.approx(365, rel=1e-9)  # day-weighted mean 1
    truth = np.array(SEASONAL_MONTHS) * 365 / (days @ np.array(SEASONAL_MONTHS))
    assert float(np.sum(((months - truth) / se) ** 2)) < chi2.ppf(0.999, 11)
    assert set(season["lifts"]) == {f["name"] for f in season["festivals"]}
    assert abs(season["lifts"]["double_11"] - 3.0) < 3 * season["se"]["lifts"]["double_11"]
    # The two-state model with returns and seasons beats BG/NBD on its own log.
    assert fit["two_state"]["lr_vs_bgnbd"] > chi2.ppf(0.999, fit["two_state"]["n_params"] - 4)
    frag = tomllib.loads((out / "fitted_two_state.toml").read_text())
    cal = frag["calendar"]
    assert cal["profile_source"] == "estimated"
    assert cal["month_multipliers"] == pytest.approx(months, rel=1e-3)
    assert cal["festivals"]["double_11"]["anchor"] == "11-11"
    assert cal["festivals"]["double_11"]["lift"] == pytest.approx(
        season["lifts"]["double_11"], rel=1e-3
    )
    assert frag["behaviour"]["return_rate_per_day"] == pytest.approx(
        fit["two_state"]["rho"], rel=1e-4
    )  # a day fit


def test_two_state_fragment(good_fit):
    """fitted_two_state.toml carries the two-state parameters in days and the calendar."""
    _, out = good_fit
    fit = json.loads((out / "fit.json").read_text())
    frag = tomllib.loads((out / "fitted_two_state.toml").read_text())
    beh = frag["behaviour"]
    assert set(beh) == {
        "r",
        "alpha_days",
        "a",
        "b",
        "return_rate_per_day",
        "gg_p",
        "gg_q",
        "gg_gamma",
    }
    ts = fit["two_state"]
    assert beh["r"] == pytest.approx(ts["r"], rel=1e-4)
    # good.csv is a BG/NBD log: nobody returns, ρ runs to its boundary 0 and the fragment
    # says so instead of writing a meaningless 1e-9 with a mean dormancy of a million years.
    assert ts["rho"] * 365 < 1e-3
    assert beh["return_rate_per_day"] == 0.0
    assert "NOTE: no customer returned" in (out / "fitted_two_state.toml").read_text()
    cal = frag["calendar"]
    assert cal["start_date"] == "2025-06-29"  # the day after the last order (06-28)
    assert cal["profile_source"] == "none"
    assert cal["month_multipliers"] == [1] * 12
    assert "festivals" not in cal


def test_given_calendar_is_used_when_calibration_is_short(cli, seasonal_fit, tmp_path, capsys):
    """Half a year of calibration: the profile comes from --calendar, and the output says so."""
    _, out_year = seasonal_fit
    out = tmp_path / "fit"
    args = [
        "fit-orders",
        str(GOOD),
        "--calibration-end",
        "2024-06-30",
        "--calendar",
        str(out_year / "fitted_two_state.toml"),
        "--out",
        str(out),
    ]
    assert cli(args) == 0
    assert "seasonal profile: given" in capsys.readouterr().out
    season = json.loads((out / "fit.json").read_text())["seasonality"]
    given = tomllib.loads((out_year / "fitted_two_state.toml").read_text())["calendar"]
    assert season["source"] == "given"
    assert season["month_multipliers"] == pytest.approx(given["month_multipliers"])


def test_bad_calendar_file(cli, capsys, tmp_path):
    """A [calendar] with 11 multipliers: exit 2, one message naming file and field."""
    bad = tmp_path / "cal.toml"
    bad.write_text("[calendar]\nmonth_multipliers = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n")
    out = tmp_path / "fit"
    args = ["fit-orders", str(GOOD), "--calibration-end", "2024-06-30"]
    status = cli([*args, "--calendar", str(bad), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert "cal.toml" in err and "calendar.month_multipliers" in err and "12 positive" in err
    assert not out.exists()


def test_summary_csv_matches_fit(good_fit):
    """summary.csv has one row per customer and agrees with fit.json."""
    _, out = good_fit
    s = pd.read_csv(out / "summary.csv")
    assert list(s.columns[:5]) == ["customer_id", "frequency", "recency", "T", "monetary"]
    assert len(s) == 600
    fit = json.loads((out / "fit.json").read_text())
    assert int((s["frequency"] > 0).sum()) == fit["n_repeat_customers"]
    assert s["frequency_holdout"].sum() == fit["holdout"]["actual_repeat"]


def test_fragment_is_a_loadable_scenario(good_fit, tmp_path):
    """The fragment parses as TOML and loads through the scenario loader."""
    _, out = good_fit
    fit = json.loads((out / "fit.json").read_text())
    text = (out / "fitted_behaviour.toml").read_text()
    frag = tomllib.loads(text)
    assert frag["base"] == "baseline.toml"
    assert "set base to the path of your baseline scenario" in text.lower()
    beh = frag["behaviour"]
    assert set(beh) == {
        "r",
        "alpha_days",
        "a",
        "b",
        "gg_p",
        "gg_q",
        "gg_gamma",
        "return_rate_per_day",
    }
    assert beh["return_rate_per_day"] == 0.0 and frag["calendar"] == {"enabled": False}
    assert beh["alpha_days"] == pytest.approx(fit["bgnbd"]["alpha"], rel=1e-4)  # a day fit
    assert beh["gg_gamma"] == pytest.approx(fit["gamma_gamma"]["gamma"], rel=1e-4)
    scenario_mod = pytest.importorskip("model.scenario")
    shutil.copy(out / "fitted_behaviour.toml", tmp_path / "fitted_behaviour.toml")
    (tmp_path / "baseline.toml").write_text("")  # the schema's defaults stand in for a baseline
    scenario = scenario_mod.load_scenario(tmp_path / "fitted_behaviour.toml")
    assert scenario.behaviour.alpha_days == beh["alpha_days"]
    assert scenario.behaviour.gg_q == beh["gg_q"]


def test_weekly_fit_gives_the_same_daily_fragment(cli, good_fit, tmp_path):
    """A weekly fit gives alpha_days = 7·alpha_weeks, the same as a daily fit."""
    _, out_day = good_fit
    out = tmp_path / "fit_week"
    status = cli(
        [
            "fit-orders",
            str(GOOD),
            "--calibration-end",
            CAL_END,
            "--time-unit",
            "week",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    week = json.loads((out / "fit.json").read_text())
    day = tomllib.loads((out_day / "fitted_behaviour.toml").read_text())["behaviour"]
    frag = tomllib.loads((out / "fitted_behaviour.toml").read_text())["behaviour"]
    assert week["time_unit"] == "week"
    assert "holdout" not in week and not (out / "backtest.png").exists()
    assert frag["alpha_days"] == pytest.approx(7 * week["bgnbd"]["alpha"], rel=1e-4)
    assert frag["alpha_days"] == pytest.approx(day["alpha_days"], rel=1e-3)
    assert frag["r"] == pytest.approx(day["r"], rel=1e-3)


def test_real_process(tmp_path):
    """run.py in a real process: success with the backtest line, and exit 2."""
    out = tmp_path / "fit"
    done = subprocess.run(
        [
            sys.executable,
            "run.py",
            "fit-orders",
            str(GOOD),
            "--calibration-end",
            CAL_END,
            "--holdout-end",
            HOLDOUT_END,
            "--seasonality",
            "none",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "error" in done.stdout and "%" in done.stdout  # the backtest line
    fit = json.loads((out / "fit.json").read_text())
    assert f"{fit['holdout']['two_state']['error_pct']:+.1f}%" in done.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "run.py",
            "fit-orders",
            str(DATA / "negative_amount.csv"),
            "--calibration-end",
            CAL_END,
            "--out",
            str(tmp_path / "bad"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "negative_amount.csv: line 3, column 'amount'" in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_good_fixture_is_reproducible():
    """good.csv is still what make_good.py writes."""
    # good.csv was written by tests/data/orders/make_good.py; guard against hand edits.
    orders = read_orders(GOOD)
    assert len(orders) == 1958
    assert orders["customer_id"].nunique() == 600
    assert np.isclose(orders["amount"].sum(), pd.read_csv(GOOD)["amount"].sum())


def test_short_calibration_at_the_dropout_boundary_still_writes_everything(cli, tmp_path, capsys):
    """Six months of good.csv drive a and b to the boundary; the fit must still finish."""
    out = tmp_path / "fit"
    args = [
        "fit-orders",
        str(GOOD),
        "--calibration-end",
        "2024-06-30",
        "--holdout-end",
        "2024-12-31",
        "--out",
        str(out),
    ]
    assert cli(args) == 0
    assert "ran to the boundary" in capsys.readouterr().out
    record = json.loads((out / "fit.json").read_text())
    assert record["holdout"]["bgnbd"]["error_pct"] is not None
    assert record["holdout"]["two_state"]["error_pct"] is not None
    assert "NOTE: a and b ran to the boundary" in (out / "fitted_behaviour.toml").read_text()
