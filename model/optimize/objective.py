"""What a candidate scores on a block: the risk measure of the objective and its constraints.

A search judges a limit with room to spare (:class:`Margin`): the candidates it hands to the
confirmation must keep each limit there too, on fresh cells, not only on the cells they were
picked on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

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
        violations: how far each constraint is exceeded (≤ 0: kept), in the run's units,
            with the margin's room added where the objective has a :class:`Margin`.
        room: the margin's room below each limit, in the file's units (0 without a margin).
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
    room: dict[str, float] = field(default_factory=dict)
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
class Margin:
    """The room a search keeps below each limit on a mean, so that its picks keep it when fresh.

    The search block's mean ``m`` of a constrained KPI and the confirmation's mean on fresh
    cells are two estimates of one expectation. With ``s`` the standard deviation of the
    search block's cluster means (its market draws; its cells when the market is not drawn),
    ``k`` search clusters and ``k'`` fresh ones, the fresh mean lies below

        m + t · s · √(1/k + 1/k'),   t the one-sided ``level`` Student quantile on k − 1 df,

    with probability ``level`` (a prediction bound). A search counts a candidate as keeping a
    limit only when that bound does, so a candidate it finds on a binding limit is not refused
    on the fresh cells half the time. A block with one cluster has no spread to go on: no room.

    Attributes:
        clusters: the search block's cluster of each cell.
        fresh_clusters: how many clusters the fresh block has.
        level: the chance that the fresh mean keeps a limit the search kept.
    """

    clusters: tuple[int, ...]
    fresh_clusters: int
    level: float = 0.95

    def room(self, cells: np.ndarray) -> float:
        """The room below a limit for a KPI with these per-cell values (0 with one cluster)."""
        labels, where = np.unique(np.asarray(self.clusters), return_inverse=True)
        k = len(labels)
        if k < 2 or self.fresh_clusters < 1:
            return 0.0
        means = np.bincount(where, weights=cells) / np.bincount(where)
        t = float(special.stdtrit(k - 1, self.level))
        return t * float(np.std(means, ddof=1)) * math.sqrt(1.0 / k + 1.0 / self.fresh_clusters)


@dataclass(frozen=True)
class Objective:
    """The objective KPI, its direction and risk measure, the constraints and their margin."""

    kpi: str
    direction: str
    risk: str = "mean"
    alpha: float = 0.2
    constraints: tuple[Constraint, ...] = ()
    margin: Margin | None = None

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
        measured, violations, room = {}, {}, {}
        for c in self.constraints:
            extra = 0.0
            if c.kpi == "payback":
                # A day read off the mean curve: no per-cell spread to keep room for.
                ref_cum = reference.cum if reference is not None else None
                value = payback_day(ev.cum, ref_cum)
            else:
                cells = ev.values(c.kpi)
                if c.kpi in UNDEFINED_MEANS:
                    cells = np.where(np.isnan(cells), UNDEFINED_MEANS[c.kpi], cells)
                value = float(np.mean(cells)) if not np.isnan(cells).any() else float("inf")
                if self.margin is not None and math.isfinite(value):
                    extra = self.margin.room(cells)
            # Shown in the file's units (a miniature's money × 1/scale); judged in the run's.
            to_file = c.shown / c.limit if c.limit else 1.0
            measured[c.name] = value * to_file
            room[c.name] = extra * to_file
            violations[c.name] = value + extra - c.limit
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
            room=room,
            error=error,
        )
