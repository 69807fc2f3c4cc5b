"""Regression baselines for the shipped scenarios: what they are and how they are computed.

The stored KPIs in tests/baselines/ change only when someone runs
``python tests/update_baseline.py`` on purpose (starsim's update_baseline.py pattern) and
commits the result with a reason.
"""

from __future__ import annotations

import json
from pathlib import Path

from model import load_scenario, simulate

ROOT = Path(__file__).resolve().parents[1]
BASELINE_DIR = ROOT / "tests" / "baselines"
# Shipped single scenarios (comparison and sweep specs are checked by their own tests).
SHIPPED = ["baseline.toml"]
# A smaller market than shipped so the check is quick; everything else as shipped.
OVERRIDES = {"market.size": 200_000, "market.initial_public": 10_000, "sim.seed": 2024}


def compute(name: str) -> dict:
    """KPIs of one shipped scenario under the regression overrides."""
    scenario = load_scenario(ROOT / "scenarios" / name, OVERRIDES)
    return simulate(scenario).summary()


def stored_path(name: str) -> Path:
    """Where the stored KPIs of a shipped scenario live."""
    return BASELINE_DIR / (Path(name).stem + ".json")


def load_stored(name: str) -> dict:
    """The committed KPIs."""
    return json.loads(stored_path(name).read_text())
