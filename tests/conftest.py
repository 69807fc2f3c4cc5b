"""Shared fixtures: small scenarios built from the shipped baseline."""

from __future__ import annotations

import os
from pathlib import Path

# Tests write image files only; never look for a display.
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest

from model.scenario import apply_overrides, resolve_raw, validate

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def baseline_with(**overrides):
    """The shipped baseline with dotted overrides (use '__' for '.': market__size=1000)."""
    raw = apply_overrides(
        resolve_raw(BASELINE), {k.replace("__", "."): v for k, v in overrides.items()}
    )
    raw["name"] = "test"
    return validate(raw, source="test")


@pytest.fixture
def small_baseline():
    """The baseline at 50k people and 180 days: every mechanism on, runs in well under 1 s."""
    return baseline_with(market__size=50_000, market__initial_public=2_500, sim__days=180)
