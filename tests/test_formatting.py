"""The formatting layer: every surface shows values in their unit, the same way."""

import json
import math
from pathlib import Path

import pytest

from model.formatting import (
    NA,
    NA_LEGEND,
    format_kpi,
    format_value,
    kpi_label,
    kpi_table,
    param_label,
    run_header,
)
from model.kpis import KPIS

ROOT = Path(__file__).resolve().parents[1]


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


# --- the run's header and KPI table -----------------------------------------------------------


def test_run_header_says_what_ran():
    lines = run_header(
        "baseline",
        mode="guides",
        days=730,
        size=1_000_000,
        scale=0.1,
        seed=7,
        replicate=2,
        overrides=["outreach.pushes_per_week=3"],
    )
    assert lines[0] == (
        "baseline: shopping guides, 730 days, 100,000 people (a 1/10 miniature of 1,000,000), "
        "seed 7, replicate 2"
    )
    assert lines[1] == "  overrides: outreach.pushes_per_week=3"
    plain = run_header("x", mode="none", days=365, size=20_000, seed=42)
    assert plain == [
        "x: public only (no private domain), 365 days, market of 20,000 people, seed 42",
        "  overrides: none",
    ]
    drawn = run_header("x", mode="persona", days=90, size=1000, scale=0.37, seed=1, draw="d.csv:5")
    assert "(a 0.37 miniature of 1,000)" in drawn[0] and "  market drawn: d.csv:5" in drawn


def test_kpi_table_shows_units_keys_and_explains_na():
    lines = kpi_table(
        {"contribution": -7600.0, "roi": 0.169, "k_factor": None},
        ["contribution", "roi", "k_factor"],
    )
    assert lines[0].split() == ["Contribution", "−¥7,600", "contribution"]
    assert lines[1].split() == ["ROI", "16.9%", "roi"]
    assert lines[2].split() == ["K-factor", "n/a", "k_factor"]
    assert " ".join(line.strip() for line in lines[3:]) == NA_LEGEND
    assert not any("n/a =" in line for line in kpi_table({"roi": 0.1}, ["roi"]))


def test_run_command_prints_the_header_and_the_table(tmp_path, capsys):
    from model.cli import main

    small = ROOT / "tests" / "data" / "scenarios" / "small.toml"
    argv = ["run", str(small), "--out", str(tmp_path / "r"), "--no-plots", "--days", "20"]
    argv += ["--set", "operation.mode=guides", "--scale", "0.5", "--seed", "9", "--replicate", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "small: shopping guides, 20 days, 10,000 people (a 1/2 miniature of 20,000), seed 9, "
        "replicate 1"
    )
    assert out[1] == "  overrides: operation.mode=guides"  # seed, days and scale are above
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    row = next(line for line in out if line.split()[-1:] == ["value_created"])
    assert format_kpi("value_created", summary["value_created"]) in row
