"""Scenario files: schema, loading and overrides."""

from model.scenario.loader import (
    apply_overrides,
    load_scenario,
    parse_set,
    resolve_raw,
    scenario_to_toml,
    validate,
)
from model.scenario.schema import Scenario

__all__ = [
    "Scenario",
    "apply_overrides",
    "load_scenario",
    "parse_set",
    "resolve_raw",
    "scenario_to_toml",
    "validate",
]
