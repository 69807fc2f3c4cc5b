"""The calendar in the simulator: dates, the profile's sources, festivals, dated budgets."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from model import simulate
from model.calendar import MONTH_DAYS
from model.dynamics import acquisition as acq
from model.errors import InputError
from model.scenario.loader import validate
from model.scenario.schema import NBS_MONTHS, Scenario
from model.simulation import PrivateDomainModel
from tests.helpers import baseline_with

# NBS online retail sales of physical goods, 2023, cumulative (¥100M), as the releases give them.
NBS_2023 = {2: 17_476, 4: 37_164, 5: 48_055, 6: 60_600, 7: 69_856, 9: 90_435, 12: 130_174}


def test_default_profile_reproduces_the_nbs_months():
    """Over 2023 the default profile's sales a day, period by period, are NBS's (within 1%).

    The month multipliers and the Spring Festival and 618 lifts were derived from these figures
    (schema.py's calendar comment): each NBS period's share of the year's sales a day is the
    mean of s(date) over the period relative to its mean over the year.
    """
    profile = Scenario().calendar.profile()
    days = np.datetime64("2023-01-01") + np.arange(365)
    s = profile.multipliers(days)
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    previous = 0
    for last, cumulative in NBS_2023.items():
        period = (month > previous) & (month <= last)
        nbs = (cumulative - NBS_2023.get(previous, 0)) / period.sum() / (NBS_2023[12] / 365)
        assert s[period].mean() / s.mean() == pytest.approx(nbs, rel=0.01), (previous, last)
        previous = last
    assert float(MONTH_DAYS @ np.array(NBS_MONTHS)) / 365 == pytest.approx(1, abs=1e-3)


def test_days_carry_dates_and_the_profile():
    """The daily table is indexed by date (start_date + day), Double 11 is Nov 1–11.

    Every column stays a number; the tidy frame carries the date as a column.
    """
    scenario = baseline_with(market__scale=0.02)
    result = simulate(scenario, seed=1)
    by_date = result.daily
    assert by_date.index.name == "date"
    assert by_date.index[0] == pd.Timestamp("2025-01-01")
    assert (by_date.index - pd.Timestamp("2025-01-01")).days.tolist() == by_date["day"].tolist()
    assert all(pd.api.types.is_numeric_dtype(dtype) for dtype in by_date.dtypes)
    november = scenario.calendar.month_multipliers[10]
    window = by_date.loc["2025-11-01":"2025-11-11"]
    assert window["rel_purchase_rate"].to_numpy() == pytest.approx(2.0 * november)
    assert (window["rel_cac"] == 1.5).all()
    assert by_date.loc["2025-11-12", "rel_purchase_rate"] == pytest.approx(november)
    # The 2025 lunar new year is Jan 29: its window (Jan 22 – Feb 5) dips.
    assert by_date.loc["2025-01-22", "rel_purchase_rate"] == pytest.approx(0.77 * 0.93)
    frame = result.to_frame()
    assert {"day", "date"} <= set(frame.columns)
    assert frame["date"].iloc[0] == pd.Timestamp("2025-01-01")
    assert frame["value"].dtype == float


def test_disabled_calendar_keeps_the_dates_and_flattens_the_rates():
    result = simulate(baseline_with(market__scale=0.02, calendar__enabled=False), seed=1)
    assert (result.daily[["rel_purchase_rate", "rel_cac"]] == 1.0).all().all()
    assert result.daily.index[-1] == pd.Timestamp("2025-12-31")


def spontaneous(daily: pd.DataFrame) -> pd.Series:
    """Orders from purchase clocks: every order but first orders and push orders."""
    return (
        daily["orders_public"]
        + daily["orders_private"]
        - daily["new_paid"]
        - daily["new_referred"]
        - daily["orders_push"]
    )


def test_double_11_lifts_orders_by_its_lift_within_a_poisson_interval():
    """Orders a day in Nov 1–11 are twice those of the two weeks either side.

    A fixed base that never drops out (no acquisition): each customer buys as a Poisson process
    at λ·s(date), so a day's orders are Poisson with mean s(date)·Σλ, and October and November
    share one month multiplier. The window's mean over the surrounding weeks' is the lift, 2.0,
    within 4 standard errors of the ratio of two Poisson means (delta method).
    """
    n = 100_000
    scenario = baseline_with(
        market__size=n,
        market__initial_public=n,
        market__initial_p_active=1.0,
        behaviour__dropout=False,
        budget__per_day_yuan=0.0,
        operation__mode="none",
    )
    daily = simulate(scenario, seed=7).daily
    orders = spontaneous(daily)
    window = orders.loc["2025-11-01":"2025-11-11"]
    around = pd.concat(
        [orders.loc["2025-10-18":"2025-10-31"], orders.loc["2025-11-12":"2025-11-25"]]
    )
    ratio = window.mean() / around.mean()
    se = ratio * np.sqrt(1 / window.sum() + 1 / around.sum())
    assert abs(ratio - 2.0) < 4 * se, (ratio, se)
    assert se < 0.05  # the interval has teeth: a lift of 1.8 or 2.2 would fail


def test_double_11_in_the_baseline_orders_and_cac():
    """The shipped market across Double 11: orders double, and new customers cost more.

    Repeat orders a day in the window against the weeks around it come out at the lift (1.98
    measured at 1/5 scale; the active base drifts by < 2% over those six weeks). New customers
    a day follow the acquisition curve b·tanh(S*/(b·c0·rel_cac))·prospects/N day by day: the
    realised count in the window and around it each lie within a Poisson interval of the curve,
    and the window's CAC is the higher one.
    """
    scenario = baseline_with(market__scale=0.2)
    model = PrivateDomainModel(scenario, seed=3)
    model.run()
    daily = pd.DataFrame(model.recorder.as_dict())
    daily["date"] = pd.to_datetime(scenario.calendar.dates(0, len(daily)))
    daily = daily.set_index("date")
    orders = spontaneous(daily)
    window, before, after = (
        ("2025-11-01", "2025-11-11"),
        ("2025-10-18", "2025-10-31"),
        (
            "2025-11-12",
            "2025-11-25",
        ),
    )
    around = pd.concat([orders.loc[slice(*before)], orders.loc[slice(*after)]])
    assert orders.loc[slice(*window)].mean() > 1.7 * around.mean()

    # Expected new customers a day from the curve, with the model's own platform and budget.
    p = model.platforms[0].terms
    scaled = model.settings
    spend = scaled.budget.per_day_yuan
    carry, expected = 0.0, []
    prospects = np.concatenate(
        [[scaled.market.size - scaled.market.initial_public], daily["n_prospect"].to_numpy()[:-1]]
    )
    for d in range(len(daily)):
        carry = acq.adstock(spend, carry, p.adstock_theta)
        c0 = acq.inflated_c0(p.cac_floor_yuan, p.cac_inflation_per_year, d, model.rel_cac[d])
        expected.append(
            acq.expected_new_customers(carry, c0, p.daily_cap, prospects[d], scaled.market.size)
        )
    expected = pd.Series(expected, index=daily.index)
    new = daily["new_paid"]
    for span in (window, (before[0], after[1])):
        got, want = new.loc[slice(*span)].sum(), expected.loc[slice(*span)].sum()
        assert abs(got - want) < 4 * np.sqrt(want), (span, got, want)
    cac = daily["cost_ad"] / 1.0
    in_window = cac.loc[slice(*window)].sum() / new.loc[slice(*window)].sum()
    outside = (cac.loc[slice(*before)].sum() + cac.loc[slice(*after)].sum()) / (
        new.loc[slice(*before)].sum() + new.loc[slice(*after)].sum()
    )
    curve = (expected.loc[slice(*before)].mean() + expected.loc[slice(*after)].mean()) / 2
    assert in_window > 1.2 * outside
    assert curve / expected.loc[slice(*window)].mean() == pytest.approx(1.46, abs=0.03)


def test_pulses_in_dates_equal_pulses_in_days():
    """A campaign written with dates runs on exactly the days the day numbers name."""
    base = dict(market__scale=0.02, sim__days=330, budget__kind="pulses")
    by_day = baseline_with(
        **base, budget__pulses=[{"start_day": 304, "days": 11, "per_day_yuan": 30_000.0}]
    )
    by_date = baseline_with(
        **base,
        budget__pulses=[
            {"start_date": "2025-11-01", "end_date": "2025-11-11", "per_day_yuan": 30_000.0}
        ],
    )
    a, b = simulate(by_day, seed=2).daily, simulate(by_date, seed=2).daily
    pd.testing.assert_frame_equal(a, b)
    spend = b["cost_ad"]
    assert spend.loc["2025-11-01":"2025-11-11"].min() > spend.loc["2025-10-31"] + 500
    # A TOML date (unquoted) reads the same as the quoted string.
    toml_date = baseline_with(
        **base,
        budget__pulses=[
            {"start_date": date(2025, 11, 1), "end_date": date(2025, 11, 11), "per_day_yuan": 1.0}
        ],
    )
    assert toml_date.budget.pulses[0].span(date(2025, 1, 1)) == (304, 11)


@pytest.mark.parametrize(
    ("raw", "fragments"),
    [
        (
            {"calendar": {"festivals": {"double_12": {"days_before": 40}}}},
            ["calendar.festivals", "double_12 overlaps"],
        ),
        (
            {"calendar": {"festivals": {"double11": {"lift": 2.0}}}},
            ["calendar.festivals.double11", "did you mean 'double_11'"],
        ),
        (
            {"calendar": {"festivals": {"double_11": {"anchor": "11/11"}}}},
            ["calendar.festivals.double_11.anchor", "'11/11'", '"MM-DD"'],
        ),
        ({"calendar": {"start_date": "2025/01/01"}}, ["calendar.start_date", "YYYY-MM-DD"]),
        ({"calendar": {"start_date": "1980-01-01"}}, ["calendar.start_date", "1990-01-01"]),
        ({"calendar": {"month_multipliers": [1.0] * 11}}, ["calendar.month_multipliers", "12"]),
        (
            {"calendar": {"month_multipliers": [2.0] * 12}},
            ["calendar.month_multipliers", "day-weighted mean", "is 2"],
        ),
        (
            {"calendar": {"festivals": {"double_11": {"lift": 0.0}}}},
            ["calendar.festivals.double_11.lift = 0.0", "greater than 0"],
        ),
        (
            {
                "budget": {
                    "pulses": [
                        {"start_date": "2024-11-01", "end_date": "2024-11-11", "per_day_yuan": 1.0}
                    ]
                }
            },
            ["budget.pulses.0.start_date = 2024-11-01", "before the run's first day", "2025-01-01"],
        ),
        (
            {
                "budget": {
                    "pulses": [
                        {"start_date": "2026-11-01", "end_date": "2026-11-11", "per_day_yuan": 1.0}
                    ]
                }
            },
            ["budget.pulses.0.start_date = 2026-11-01", "after the run's last day", "2025-12-31"],
        ),
        (
            {"budget": {"pulses": [{"start_date": "2025-11-01", "days": 3, "per_day_yuan": 1.0}]}},
            ["budget.pulses.0", "not both"],
        ),
        (
            {
                "budget": {
                    "pulses": [
                        {"start_date": "2025-11-11", "end_date": "2025-11-01", "per_day_yuan": 1.0}
                    ]
                }
            },
            ["budget.pulses.0", "end_date = 2025-11-01 is before start_date = 2025-11-11"],
        ),
        (
            {"behaviour": {"return_rate_per_day": -0.1}},
            ["behaviour.return_rate_per_day = -0.1", "greater than or equal to 0"],
        ),
    ],
)
def test_calendar_input_errors_name_the_field(raw, fragments):
    with pytest.raises(InputError) as err:
        validate(raw, source="calendar.toml")
    message = str(err.value)
    assert message.startswith("calendar.toml: ")
    for fragment in fragments:
        assert fragment in message, (fragment, message)
