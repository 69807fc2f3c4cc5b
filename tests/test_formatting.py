"""The formatting layer: every surface shows values in their unit, the same way."""

import math

import pytest

from model.formatting import NA, format_kpi, format_value, kpi_label, param_label
from model.kpis import KPIS


@pytest.mark.parametrize(
    ("value", "options", "text"),
    [
        (1_311_816.4, {}, "¥1,311,816"),
        (1_311_816.4, {"compact": True}, "¥1.31M"),
        (749_000, {"compact": True, "signed": True}, "+¥749k"),
        (-7_600, {"compact": True}, "−¥7.6k"),
        (12.345, {}, "¥12.35"),
        (0, {}, "¥0"),
    ],
)
def test_money_is_in_yuan_with_separators(value, options, text):
    assert format_value(value, "yuan", **options) == text


def test_shares_ratios_days_counts_and_rates():
    assert format_kpi("roi", 0.169) == "16.9%"
    assert format_kpi("share_private_gmv", 0.123) == "12.3%"
    assert format_kpi("share_private_gmv", 0.012, diff=True) == "+1.2 pp"
    # A day index (the comparison-level payback day is one; no per-run KPI is in days).
    assert format_value(1, "days") == "day 1"
    assert format_value(-5, "days", diff=True) == "−5 days"
    assert format_kpi("n_private", 8123) == "8,123"
    assert format_kpi("n_private", 81_234, compact=True) == "81.2k"
    assert format_kpi("unfollows_per_1000_pushes", 3.21) == "3.21 per 1,000"
    assert format_kpi("k_factor", 0.0512) == "0.0512/member/month"


@pytest.mark.parametrize("missing", [None, math.nan, math.inf])
def test_undefined_values_are_na_in_every_unit(missing):
    for name in KPIS:
        assert format_kpi(name, missing) == NA


def test_every_registry_unit_is_formatted():
    for name in KPIS:
        assert format_kpi(name, 1.0)
    with pytest.raises(ValueError):
        format_value(1.0, "furlongs")


def test_labels_come_from_the_registries():
    assert kpi_label("contribution", with_unit=True) == "Contribution (¥)"
    assert param_label("outreach.p_response") == "P(an active recipient buys at once) [probability]"
    assert param_label("platforms.jd.cac_floor_yuan").endswith("[yuan]")
    assert param_label("not.a.key") == "not.a.key"
