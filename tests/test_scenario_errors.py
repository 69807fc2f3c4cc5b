"""Broken scenario files (pymc-marketing's wrong_*.yml pattern): each gives its clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from model import load_scenario
from model.errors import InputError
from model.scenario import parse_set

DATA = Path(__file__).parent / "data" / "scenarios"

CASES = {
    # file: fragments the message must contain (file, dotted field, value, what is allowed)
    "wrong_unknown_key.toml": [
        "wrong_unknown_key.toml",
        "outreach.pushes_per_wek",
        "unknown key",
        "did you mean 'pushes_per_week'",
    ],
    "wrong_unknown_section.toml": ["outreech", "did you mean 'outreach'"],
    "wrong_out_of_range.toml": ["diversion.p_join_max = 1.5", "less than or equal to 1"],
    "wrong_type.toml": ["market.size = 'a million'", "valid integer"],
    "wrong_choice.toml": [
        "operation.mode = 'guide'",
        "'none', 'persona', 'guides' or 'distribution'",
    ],
    "wrong_syntax.toml": ["wrong_syntax.toml", "not valid TOML", "line 2"],
    "wrong_missing_base.toml": ["base = 'no_such_baseline.toml'", "no such file"],
    "wrong_budget_shares.toml": ["budget_share must sum to 1", "1.5"],
    "wrong_shock.toml": ["shocks.0.platform = 'taobao'", "['tmall']"],
    # Encodings: scenario files are UTF-8 without a BOM, and the message says what they are.
    "wrong_bom.toml": ["wrong_bom.toml", "byte-order mark (BOM)", "UTF-8 without a BOM"],
    "wrong_utf16.toml": ["wrong_utf16.toml", "UTF-16 LE", "must be UTF-8"],
    "wrong_gbk.toml": ["wrong_gbk.toml", "GBK/GB18030", "must be UTF-8"],
    "wrong_binary_base.toml": [
        "wrong_binary_base.toml",
        "base = 'not_text.bin'",
        "not a text file",
    ],
    # Syntax and structure.
    "wrong_duplicate_key.toml": ["line 5", "'days' is given twice", "days = 40"],
    "wrong_nested.toml": ["nested more than 32 levels"],
    "wrong_base_cycle.toml": [
        "base files form a cycle",
        "wrong_base_cycle.toml → wrong_base_cycle.toml",
    ],
    # Strict types: nothing is converted.
    "wrong_bool_for_int.toml": ["sim.days = true", "valid integer", "not true/false"],
    "wrong_string_for_int.toml": ["sim.days = '90'", "valid integer", "not quoted"],
    "wrong_string_for_bool.toml": ["outreach.enabled = 'yes'", "true or false"],
    # Values that would validate field by field but crash or hang the run.
    "wrong_inf.toml": ["budget.per_day_yuan = inf", "finite number"],
    "wrong_huge_money.toml": [
        "operation.tools_cost_per_day_yuan",
        "1e+17",
        "¥1,000,000,000",
        "64-bit",
    ],
    "wrong_huge_cap.toml": ["platforms.tmall.daily_cap", "1e+20", "200,000,000"],
    "wrong_invites.toml": ["invites_per_purchase_max = 1e+20", "at most 100"],
    "wrong_purchase_rate.toml": ["r / alpha_days", "at most 1 (one order a day"],
    "wrong_books.toml": ["books could reach", "market.size × sim.days", "64-bit"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_scenario_message(name):
    with pytest.raises(InputError) as err:
        load_scenario(DATA / name)
    message = str(err.value)
    for fragment in CASES[name]:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_every_wrong_fixture_is_tested():
    assert {p.name for p in DATA.glob("wrong_*.toml")} == set(CASES)


def test_whole_numbers_are_fine_for_real_valued_fields():
    s = load_scenario(DATA / "small.toml", {"budget.per_day_yuan": 5000, "sim.days": 30})
    assert s.budget.per_day_yuan == 5000.0 and isinstance(s.budget.per_day_yuan, float)


@pytest.mark.parametrize(
    ("assignment", "fragments"),
    [
        # Text that starts like a TOML array, table or string must parse as one.
        ('shocks=[{kind="ban", day=1}', ["--set shocks=", "not valid TOML", "Unclosed array"]),
        ("shocks.5.day=1", ["shocks.5", "shocks is empty", "set the whole list"]),
        ("sim.days.x=1", ["sim.days = 60 is a value, not a table"]),
        ("market.size=inf", ["market.size = inf", "valid integer"]),
        ("sim.days=true", ["sim.days = true", "valid integer", "from an override"]),
        ("outreach.pushes_per_week=nan", ["finite number"]),
    ],
)
def test_bad_set_values_say_what_is_wrong(assignment, fragments):
    with pytest.raises(InputError) as err:
        load_scenario(DATA / "small.toml", dict([parse_set(assignment)]))
    for fragment in fragments:
        assert fragment in str(err.value), (fragment, str(err.value))


def test_override_errors_say_they_came_from_an_override():
    with pytest.raises(InputError, match=r"outreach.pushes_per_week = 9.*from an override"):
        load_scenario(DATA / "small.toml", {"outreach.pushes_per_week": 9})


def test_set_values_parse_as_toml_with_bare_strings():
    assert parse_set("outreach.pushes_per_week=3") == ("outreach.pushes_per_week", 3)
    assert parse_set("market.gross_margin = 0.4") == ("market.gross_margin", 0.4)
    assert parse_set("operation.mode=guides") == ("operation.mode", "guides")
    assert parse_set("outreach.enabled=false") == ("outreach.enabled", False)
    assert parse_set('shocks=[{kind="ban", day=3, duration_days=2}]')[1][0]["day"] == 3
    with pytest.raises(InputError, match="expected dotted.key=value"):
        parse_set("outreach.pushes_per_week")


def test_small_fixture_is_valid_and_inherits():
    s = load_scenario(DATA / "small.toml")
    assert s.market.size == 20_000 and s.sim.days == 60
    assert s.behaviour.r == 0.5  # from the baseline
