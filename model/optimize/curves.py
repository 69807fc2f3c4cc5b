"""Response curves through the optimum, marginal values, and the risk–return frontier.

**Curves.** Each lever is moved over its range while every other lever stays at the optimum,
and each point is run on the confirmation block (fresh seeds, the optimum's own cells), so a
point's difference from the optimum is paired cell by cell: the curve shows how much moving one
lever costs, with the 10–90% band of that paired difference over cells. A budget split is
moved one platform at a time, the other platforms keeping their proportions.

**Marginal values.** For a numeric lever, two extra points a small step either side of the
optimum (5% of the range; one for whole numbers) give the change of the objective per unit of
the lever — per ¥1 of red packet, per ¥1 a day of ad budget, per push a week — as the mean of
the per-cell central differences, with a 90% interval from the spread of the per-draw means
(cells of one draw share a market). At an optimum inside the range it should be near zero; at a
bound, its sign says which way the bound binds.

**Frontier.** With CVaR as the risk measure, every feasible candidate of the search has a mean
and a CVaR on the search block; the candidates no other beats on both form the risk–return
frontier — what a given level of protection against bad markets costs in expected value.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from model.optimize.block import Block
from model.optimize.evaluate import Evaluation, Evaluator
from model.optimize.objective import Objective
from model.optimize.search import Trial
from model.optimize.space import Numeric, Space

STEP_SHARE = 0.05
MARGINAL_CONFIDENCE = 0.90
CURVE_COLUMNS = [
    "lever",
    "value",
    "at_optimum",
    "objective",
    "mean",
    "p10",
    "p90",
    "diff_mean",
    "diff_p10",
    "diff_p90",
    "feasible",
    "error",
]
MARGINAL_COLUMNS = ["lever", "unit", "at", "step", "per_unit", "low", "high", "n_cells"]


@dataclass(frozen=True)
class _Point:
    lever: str
    value: Any
    candidate: dict[str, Any]
    role: str  # "curve", "step_down", "step_up"


def _points(space: Space, optimum: dict[str, Any], n: int) -> list[_Point]:
    """Every point of every curve (and the marginal steps) as overrides of the base."""
    out: list[_Point] = []
    for lv in space.levers:
        at = optimum[lv.key]
        values = lv.grid(n) if isinstance(lv, Numeric) else list(lv.choices)
        for v in dict.fromkeys([*values, at]):
            out.append(_Point(lv.key, v, {**optimum, lv.key: v}, "curve"))
        if isinstance(lv, Numeric):
            h = 1.0 if lv.integer else STEP_SHARE * (lv.high - lv.low)
            down, up = lv.value(max(lv.low, at - h)), lv.value(min(lv.high, at + h))
            out.append(_Point(lv.key, down, {**optimum, lv.key: down}, "step_down"))
            out.append(_Point(lv.key, up, {**optimum, lv.key: up}, "step_up"))
    if space.simplex is not None:
        sx = space.simplex
        k = len(sx.platforms)
        shares = {p: optimum[f"platforms.{p}.budget_share"] for p in sx.platforms}
        top = sx.total - sx.min_share * (k - 1)
        for p in sx.platforms:
            excess = {q: v - sx.min_share for q, v in shares.items() if q != p}
            total_excess = sum(excess.values())
            grid = [float(x) for x in np.linspace(sx.min_share, top, max(n, 2))]
            for s in dict.fromkeys([*grid, shares[p]]):
                free = sx.total - s - sx.min_share * (k - 1)
                moved = {p: s}
                for q, e in excess.items():
                    weight = e / total_excess if total_excess > 0 else 1 / (k - 1)
                    moved[q] = sx.min_share + free * weight
                last = sx.platforms[-1]
                moved[last] = sx.total - sum(v for q, v in moved.items() if q != last)
                candidate = {
                    **optimum,
                    **{f"platforms.{q}.budget_share": v for q, v in moved.items()},
                }
                out.append(_Point(f"platforms.{p}.budget_share", s, candidate, "curve"))
    return out


def response_curves(
    space: Space,
    objective: Objective,
    evaluator: Evaluator,
    block: Block,
    optimum: dict[str, Any],
    *,
    points: int = 5,
    reference: Evaluation | None = None,
    days: int = 365,
    scale: float = 1.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The response curves and marginal values through ``optimum`` on ``block``.

    Args:
        space: the levers.
        objective: the objective, risk measure and constraints.
        evaluator: evaluates candidates on the block.
        block: the confirmation block.
        optimum: the optimum's overrides (every lever and share set).
        points: grid points per numeric lever (plus the optimum and the marginal steps).
        reference: the payback reference on the block.
        days: the horizon (for the ad budget's value per yuan spent).
        scale: ``market.scale`` (the same).

    Returns:
        ``(curves, marginal)``: tables with :data:`CURVE_COLUMNS` and :data:`MARGINAL_COLUMNS`.
    """
    if points <= 0:
        return pd.DataFrame(columns=CURVE_COLUMNS), pd.DataFrame(columns=MARGINAL_COLUMNS)
    pts = _points(space, optimum, points)
    evs = evaluator.evaluate([optimum, *[p.candidate for p in pts]], block)
    at_opt, evs = evs[0], evs[1:]
    base = at_opt.values(objective.kpi)
    rows = []
    for p, ev in zip(pts, evs, strict=True):
        if p.role != "curve":
            continue
        a = objective.assess(ev, reference)
        diff = ev.values(objective.kpi) - base
        ok = not np.isnan(diff).any()
        rows.append(
            {
                "lever": p.lever,
                "value": p.value,
                "at_optimum": p.candidate == optimum,
                "objective": a.value,
                "mean": a.mean,
                "p10": a.p10,
                "p90": a.p90,
                "diff_mean": float(diff.mean()) if ok else np.nan,
                "diff_p10": float(np.quantile(diff, 0.1)) if ok else np.nan,
                "diff_p90": float(np.quantile(diff, 0.9)) if ok else np.nan,
                "feasible": a.feasible,
                "error": a.error,
            }
        )
    marginal = []
    by_key = {(p.lever, p.role): (p, ev) for p, ev in zip(pts, evs, strict=True)}
    for lv in space.levers:
        if not isinstance(lv, Numeric):
            continue
        (down, ev_down), (up, ev_up) = by_key[(lv.key, "step_down")], by_key[(lv.key, "step_up")]
        step = float(up.value) - float(down.value)
        if step <= 0:
            continue
        slope = (ev_up.values(objective.kpi) - ev_down.values(objective.kpi)) / step
        mean, low, high = _mean_interval(slope, block.draws)
        marginal.append(
            {
                "lever": lv.key,
                "unit": _unit(lv.key),
                "at": optimum[lv.key],
                "step": step,
                "per_unit": mean,
                "low": low,
                "high": high,
                "n_cells": int(np.count_nonzero(~np.isnan(slope))),
            }
        )
        if lv.key == "budget.per_day_yuan":
            # One more yuan a day is `days × scale` yuan spent in the run's own market.
            spent = days * scale
            marginal.append(
                {
                    "lever": "budget: per yuan spent",
                    "unit": "yuan",
                    "at": optimum[lv.key],
                    "step": step * spent,
                    "per_unit": mean / spent,
                    "low": low / spent,
                    "high": high / spent,
                    "n_cells": marginal[-1]["n_cells"],
                }
            )
    return pd.DataFrame(rows, columns=CURVE_COLUMNS), pd.DataFrame(
        marginal, columns=MARGINAL_COLUMNS
    )


def _unit(key: str) -> str:
    from model.scenario.params import parameter

    try:
        return parameter(key).unit
    except KeyError:
        return ""


def _mean_interval(x: np.ndarray, draws: np.ndarray) -> tuple[float, float, float]:
    """Mean of per-cell values and a normal interval from the per-draw means' spread."""
    ok = ~np.isnan(x)
    if not ok.any():
        return (np.nan, np.nan, np.nan)
    x, draws = x[ok], np.asarray(draws)[ok]
    labels = np.unique(draws)
    units = np.array([x[draws == d].mean() for d in labels]) if labels.size > 1 else x
    mean = float(x.mean())
    if units.size < 2:
        return (mean, np.nan, np.nan)
    z = NormalDist().inv_cdf(0.5 + MARGINAL_CONFIDENCE / 2)
    se = float(units.std(ddof=1) / np.sqrt(units.size))
    return (mean, mean - z * se, mean + z * se)


def frontier(trials: list[Trial], direction: str) -> pd.DataFrame:
    """Feasible search candidates with their mean and CVaR; ``efficient`` marks the frontier."""
    sign = 1.0 if direction == "higher" else -1.0
    rows = [
        {
            "trial": t.number,
            "mean": t.assessment.mean,
            "cvar": t.assessment.cvar,
            "mean_score": sign * t.assessment.mean,
            "cvar_score": t.assessment.score,
        }
        for t in trials
        if t.assessment.feasible
    ]
    frame = pd.DataFrame(rows, columns=["trial", "mean", "cvar", "mean_score", "cvar_score"])
    if frame.empty:
        frame["efficient"] = []
        return frame.drop(columns=["mean_score", "cvar_score"])
    return _mark_efficient(frame)


def _mark_efficient(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    m = frame["mean_score"].to_numpy()
    c = frame["cvar_score"].to_numpy()
    efficient = []
    for i in range(len(frame)):
        dominated = ((m >= m[i]) & (c >= c[i]) & ((m > m[i]) | (c > c[i]))).any()
        efficient.append(not dominated)
    frame["efficient"] = efficient
    return frame.drop(columns=["mean_score", "cvar_score"]).sort_values("mean")
