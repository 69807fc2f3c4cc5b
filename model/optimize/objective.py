"""What a candidate scores on a block: the risk measure of the objective and its constraints."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from model.optimize.evaluate import Evaluation
from model.optimize.risk import cvar, in_unit, payback_day, risk_score, scores
from model.optimize.spec import Constraint

#: What an undefined (n/a) constraint KPI means in a cell: no message sent, no unfollow. Any other
#: undefined constraint KPI counts as a breach.
UNDEFINED_MEANS = {"unfollows_per_1000_pushes": 0.0}


@dataclass(frozen=True)
class Assessment:
    """One candidate on one block, summarised.

    Attributes:
        score: the risk measure in scores (higher is better; NaN if a cell is undefined).
        value: the same in the KPI's unit.
        mean, cvar: the mean and the CVaR of the KPI over cells, in its unit.
        p10, p90: the 10th and 90th percentiles of the KPI over cells.
        constraints: each constraint's measured value (mean over cells; payback day), in the
            file's units (a miniature's money scaled back to full size).
        violations: how far each constraint is exceeded (≤ 0: kept).
        error: why the candidate has no score (an invalid scenario, a run that raised).
    """

    score: float
    value: float
    mean: float
    cvar: float
    p10: float
    p90: float
    constraints: dict[str, float] = field(default_factory=dict)
    violations: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def feasible(self) -> bool:
        """Scored, and every constraint kept."""
        return (
            self.error is None
            and math.isfinite(self.score)
            and all(v <= 0 for v in self.violations.values())
        )


@dataclass(frozen=True)
class Objective:
    """The objective KPI, its direction and risk measure, and the constraints."""

    kpi: str
    direction: str
    risk: str = "mean"
    alpha: float = 0.2
    constraints: tuple[Constraint, ...] = ()

    @property
    def needs_series(self) -> bool:
        """The payback constraint needs every run's daily cumulative contribution."""
        return any(c.kpi == "payback" for c in self.constraints)

    def assess(self, ev: Evaluation, reference: Evaluation | None = None) -> Assessment:
        """Score one evaluation; ``reference`` is the payback's reference on the same block."""
        nan = float("nan")
        values = ev.values(self.kpi)
        if not ev.ok:
            return Assessment(nan, nan, nan, nan, nan, nan, error=ev.first_error)
        s = scores(values, self.direction)
        score = risk_score(s, self.risk, self.alpha)
        error = None
        if not math.isfinite(score):
            error = f"{self.kpi} is undefined (n/a) in some cells"
        measured, violations = {}, {}
        for c in self.constraints:
            if c.kpi == "payback":
                ref_cum = reference.cum if reference is not None else None
                value = payback_day(ev.cum, ref_cum)
            else:
                cells = ev.values(c.kpi)
                if c.kpi in UNDEFINED_MEANS:
                    cells = np.where(np.isnan(cells), UNDEFINED_MEANS[c.kpi], cells)
                value = float(np.mean(cells)) if not np.isnan(cells).any() else float("inf")
            # Shown in the file's units (a miniature's money × 1/scale); judged in the run's.
            measured[c.name] = value * c.shown / c.limit if c.limit else value
            violations[c.name] = value - c.limit
        ok = not np.isnan(values).any()
        return Assessment(
            score=score,
            value=in_unit(score, self.direction) if math.isfinite(score) else nan,
            mean=float(np.mean(values)) if ok else nan,
            cvar=in_unit(cvar(s, self.alpha), self.direction) if ok else nan,
            p10=float(np.quantile(values, 0.1)) if ok else nan,
            p90=float(np.quantile(values, 0.9)) if ok else nan,
            constraints=measured,
            violations=violations,
            error=error,
        )
