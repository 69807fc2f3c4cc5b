"""Shared fixtures: small scenarios built from the shipped baseline (helpers: tests/helpers.py)."""

from __future__ import annotations

import os

# Tests write image files only; never look for a display.
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest

from tests.helpers import baseline_with


@pytest.fixture
def small_baseline():
    """The baseline at 50k people and 180 days: every mechanism on, runs in well under 1 s."""
    return baseline_with(market__size=50_000, market__initial_public=2_500, sim__days=180)
