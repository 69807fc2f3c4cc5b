"""Helpers the tests import: paths and small scenarios built from the shipped baseline.

Fixtures live in ``tests/conftest.py``; plain functions and constants a test module imports
live here (a conftest is pytest's to load, not a module to import from).
"""

from __future__ import annotations

from pathlib import Path

from model.scenario import apply_overrides, resolve_raw, validate

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"

# A real-model sweep small enough for tests: 3 × 2 points × 2 replicates of 20k people, 90 days.
REAL_SPEC = f"""
name = "tiny"
scenario = "{BASELINE.as_posix()}"
replicates = 2
root_seed = 5
kpis = ["roi", "contribution", "n_private"]

[set]
"market.size" = 20000
"market.initial_public" = 1000
"budget.per_day_yuan" = 700.0
"sim.days" = 90

[sweep]
"outreach.pushes_per_week" = [1, 3, 7]
"diversion.incentive_yuan" = [0.0, 6.0]
"""


def baseline_with(**overrides):
    """The shipped baseline with dotted overrides (use '__' for '.': market__size=1000)."""
    raw = apply_overrides(
        resolve_raw(BASELINE), {k.replace("__", "."): v for k, v in overrides.items()}
    )
    raw["name"] = "test"
    return validate(raw, source="test")
