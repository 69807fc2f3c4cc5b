"""The parameter registry: one home for every default, its unit, side, grade, source and range."""

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from model.scenario import load_scenario
from model.scenario.params import TABLES, baseline_toml, parameter, parameters, rows, uncertain
from model.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"

# Market parameters graded C or D that deliberately have no plausible range of their own.
NO_RANGE = {
    # Tied to the offer a strategy makes (1 = no offer): a strategy sets it with its discount.
    "outreach.offer_uplift",
}


def test_baseline_file_is_generated_from_the_schema():
    """scenarios/baseline.toml is exactly what the parameter definitions render."""
    assert BASELINE.read_text(encoding="utf-8") == baseline_toml(), (
        "scenarios/baseline.toml differs from the schema's parameter definitions; run "
        "python -m model.scenario.params --write scenarios/baseline.toml"
    )


def test_baseline_file_resolves_to_the_schema_defaults():
    """Loading the shipped baseline gives the schema's defaults, field for field."""
    loaded = load_scenario(BASELINE).model_dump()
    defaults = Scenario(name="baseline").model_dump()
    loaded.pop("description")
    defaults.pop("description")
    assert loaded == defaults


def test_every_table_is_covered_and_every_field_has_provenance():
    """Each schema table is listed and each field was declared with unit, side and source.

    ``parameters()`` raises on a field declared with a bare ``Field``.
    """
    assert set(Scenario.model_fields) == {*TABLES, "name", "description", "shocks"}
    params = parameters(["tmall"])
    assert len(params) == len({p.key for p in params}) > 80
    for p in params:
        assert p.side in ("market", "lever", "run"), p.key
        assert p.grade in (None, "A", "B", "C", "D"), p.key
        if p.grade is not None:
            assert p.source, f"{p.key} has a grade but no source"


def test_uncertain_market_parameters_have_plausible_ranges_inside_the_allowed_bounds():
    """C and D market parameters carry a plausible range inside the allowed bounds.

    Documented exceptions aside; every range contains the default.
    """
    for p in parameters(["tmall"]):
        if p.side == "market" and p.grade in ("C", "D") and p.key not in NO_RANGE:
            assert p.range is not None, f"{p.key} is graded {p.grade} but has no range"
        if p.range is None:
            continue
        low, high = p.range
        assert low < high
        assert low <= p.default <= high, f"{p.key}: default {p.default} outside {p.range}"
        for name, bound in p.bounds:
            ok = {"ge": low >= bound, "gt": low > bound, "le": high <= bound, "lt": high < bound}[
                name
            ]
            assert ok, f"{p.key}: range {p.range} breaks the allowed bound {name} {bound}"
        if p.log:
            assert low > 0, f"{p.key}: a log range needs low > 0"


def test_lookup_by_key_including_any_platform_name():
    """parameter() resolves platform fields for any platform name and refuses unknown keys."""
    assert parameter("platforms.jd.cac_floor_yuan").unit == "yuan"
    assert parameter("outreach.pushes_per_week").side == "lever"
    assert parameter("outreach.p_response").uncertain
    with pytest.raises(KeyError):
        parameter("outreach.pushes_per_wek")
    keys = [p.key for p in uncertain(load_scenario(BASELINE, {"platforms.jd.budget_share": 0.0}))]
    assert "platforms.tmall.cac_floor_yuan" in keys and "platforms.jd.cac_floor_yuan" in keys
    assert all(parameter(k).side == "market" for k in keys)


def test_rows_mark_values_that_differ_from_the_defaults():
    """The params table shows a scenario's own values and flags the changed ones."""
    table = {r["key"]: r for r in rows(load_scenario(BASELINE, {"outreach.p_response": 0.03}))}
    assert table["outreach.p_response"]["value"] == 0.03
    assert table["outreach.p_response"]["changed"]
    assert not table["outreach.pushes_per_week"]["changed"]


def test_params_command_prints_the_table_and_csv():
    """`run.py params` lists parameters; --uncertain keeps market ranges; --csv is machine-read."""
    run = [sys.executable, "run.py", "params", "scenarios/baseline.toml"]
    out = subprocess.run(
        [*run, "--uncertain", "--csv"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    table = list(csv.DictReader(io.StringIO(out)))
    assert {r["key"] for r in table} == {p.key for p in uncertain(load_scenario(BASELINE))}
    assert all(r["side"] == "market" and r["range_low"] for r in table)
    text = subprocess.run(
        [*run, "--set", "outreach.p_response=0.04"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(ln for ln in text.splitlines() if ln.startswith("outreach.p_response "))
    assert "0.04 *" in line and "0.005–0.05 (log)" in line
    bad = subprocess.run(
        [*run, "--set", "outreach.p_response=2"], cwd=ROOT, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "p_response" in bad.stderr and "Traceback" not in bad.stderr
