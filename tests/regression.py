"""Regression baselines for the shipped scenarios: what they are and how they are computed.

Covered: the shipped baseline and every strategy of every shipped comparison file, each run
once at a fixed seed. The stored KPIs in tests/baselines/ change only when someone runs
``python tests/update_baseline.py`` on purpose (starsim's update_baseline.py pattern) and commits
the result with a reason.
"""

from __future__ import annotations

import json
from pathlib import Path

from model import load_scenario, simulate
from model.compare import load_comparison

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BASELINE_DIR = ROOT / "tests" / "baselines"
COMPARISONS = [
    "compare_operating_modes.toml",
    "compare_business_types.toml",
    "stress_platform_ban.toml",
    "compare_festival_timing.toml",
]
# A faithful 1/5 miniature of the shipped market (model/scenario/scale.py: people, budgets,
# caps, capacities and fixed costs together) so the check is quick and still the same business.
OVERRIDES = {"market.scale": 0.2}
SEED = 2024


def shipped() -> list[str]:
    """Names of the shipped runs: ``baseline`` and ``<comparison>::<strategy>``."""
    names = ["baseline"]
    for file in COMPARISONS:
        spec = load_comparison(SCENARIOS / file, market_overrides=OVERRIDES)
        names += [f"{Path(file).stem}::{s.name}" for s in spec.strategies]
    return names


def compute(name: str) -> dict:
    """KPIs of one shipped run under the regression overrides."""
    if name == "baseline":
        scenario = load_scenario(SCENARIOS / "baseline.toml", OVERRIDES)
    else:
        file, strategy = name.split("::")
        spec = load_comparison(SCENARIOS / f"{file}.toml", market_overrides=OVERRIDES)
        scenario = spec.strategy(strategy).scenario
    return simulate(scenario, seed=SEED).summary()


def stored_path(name: str) -> Path:
    """Where the stored KPIs of a shipped run live."""
    return BASELINE_DIR / (name.replace("::", "__") + ".json")


def load_stored(name: str) -> dict:
    """The committed KPIs."""
    return json.loads(stored_path(name).read_text())
