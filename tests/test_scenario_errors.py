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
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_scenario_message(name):
    with pytest.raises(InputError) as err:
        load_scenario(DATA / name)
    message = str(err.value)
    for fragment in CASES[name]:
        assert fragment in message, f"{fragment!r} not in {message!r}"


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
