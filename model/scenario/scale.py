"""Faithful miniatures: ``market.scale`` shrinks everything that grows with the market.

Shrinking only ``market.size`` for a quick look keeps the daily ad cap, the staff and the fixed
costs at full size, so a small run is a different business, not a small copy of the same one
(at 1/10 of the people the baseline's fixed private-domain costs alone would be ten times as
heavy per customer). :func:`apply_scale` multiplies by ``scale``

* the people: ``market.size``, ``market.initial_public``, ``market.initial_private``;
* the money per day: the ad budget (``per_day_yuan``, ``ramp_to_per_day_yuan``, every pulse),
  every fixed daily cost of the operation (accounts, content, guides' salaries, group upkeep,
  tools);
* the capacities: each platform's ``daily_cap`` (the most new customers a day), the members an
  account or a guide holds and a group's cap.

So the miniature has as many accounts, guides and groups as the full run, each holding
``scale`` times the members at ``scale`` times the cost, and the saturating acquisition curve
``b·tanh(S/(b·c0))`` gives ``scale`` times the customers at ``scale`` times the spend. Prices
per unit (CAC floor, red packet, reward, per message and card), rates, probabilities and counts
of staff are unchanged. Per-capita KPIs (ROI, repurchase, shares, contribution per person)
agree with the full run within sampling error; yuan and people totals are the miniature's own,
``scale`` times the full run's in expectation. Capacities are rounded to whole people (at least
one), a relative error below 1/(2·capacity).

The scale is applied once, when a model is built from a scenario: the scenario a run reports
(its provenance, ``scenario.toml``) keeps the full-size values and the scale, so re-running it
makes the same miniature.
"""

from __future__ import annotations

from typing import Any

from model.scenario.schema import Scenario

# Dotted keys (``*`` = every platform) multiplied by the scale, by kind.
PEOPLE = ("market.size", "market.initial_public", "market.initial_private")
MONEY_PER_DAY = (
    "budget.per_day_yuan",
    "budget.ramp_to_per_day_yuan",
    "budget.pulses.*.per_day_yuan",
    "operation.account_cost_per_day_yuan",
    "operation.content_cost_per_day_yuan",
    "operation.guide_salary_per_day_yuan",
    "operation.group_cost_per_day_yuan",
    "operation.tools_cost_per_day_yuan",
)
CAPACITIES = (
    "platforms.*.daily_cap",
    "operation.friend_cap_per_account",
    "operation.guide_capacity",
    "operation.group_cap",
)
SCALED = PEOPLE + MONEY_PER_DAY + CAPACITIES


def _scale_at(node: Any, path: list[str], factor: float, whole: bool) -> None:
    head, *rest = path
    if head == "*":
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            _scale_at(child, rest, factor, whole)
        return
    if rest:
        _scale_at(node[head], rest, factor, whole)
        return
    value = node[head] * factor
    if whole:  # at least one of whatever there was some of
        value = max(1, round(value)) if node[head] > 0 else 0
    node[head] = value


def apply_scale(scenario: Scenario) -> Scenario:
    """The miniature of ``scenario`` at ``scenario.market.scale`` (itself when the scale is 1).

    The result is an ordinary scenario of a smaller market with ``market.scale = 1``: applying
    the function again changes nothing.
    """
    factor = scenario.market.scale
    if factor == 1.0:
        return scenario
    raw = scenario.model_dump()
    raw["market"]["scale"] = 1.0
    for key in SCALED:
        # People and seats are whole; a daily cap is an expected rate and stays real.
        whole = key in PEOPLE or (key in CAPACITIES and not key.endswith("daily_cap"))
        _scale_at(raw, key.split("."), factor, whole)
    # Rounded separately, a base that filled the market could overflow it by one person.
    market = raw["market"]
    market["initial_public"] = min(market["initial_public"], market["size"])
    market["initial_private"] = min(
        market["initial_private"], market["size"] - market["initial_public"]
    )
    return Scenario.model_validate(raw)
