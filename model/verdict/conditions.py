"""What would have to be true: the region of the market parameters where a verdict flips.

Scenario discovery (Bryant & Lempert 2010) with PRIM, the patient rule induction method
(Friedman & Fisher 1999), on the draws of a comparison under uncertainty. For a pair of
strategies A and B the outcome of a draw is "A loses to B": the mean over the draw's replicates
of the paired difference A − B (on common seeds) is worse than zero in the KPI's direction.
PRIM then looks for a box of the drawn parameters that holds those draws densely.

Pairs: the leader against the runner-up (best and second by median of the KPI over all cells,
the ranking rule of :func:`model.verdict.describe_verdict`), and every strategy against the
reference. Of a pair, the side that wins in most draws is the verdict; the box describes where
it **loses** — so every row of :meth:`Conditions.to_frame` reads "``strategy`` loses to
``versus`` where ``low`` < ``parameter`` < ``high``" (NaN: no bound on that side), whichever
way the pair was asked.

The box, by the scenario-discovery convention:

1. PRIM peels a trajectory of ever smaller boxes (:func:`peeling_trajectory`: quantile steps of
   5%, a box holds at least 5% of the draws).
2. On each box of the trajectory, bounds that are not significant are lifted one at a time,
   least significant first (quasi-p value > 0.05: the one-sided binomial test of Bryant &
   Lempert, whether the box is denser than the same box without that bound; each side of a
   parameter is tested on its own, so a peel that shaved one odd draw off the bottom goes),
   and parameters are dropped, weakest first, until at most ``max_dims`` (3) remain.
3. Of these boxes, the one with the best balance of coverage (share of the losing draws
   inside) and density (share of the draws inside that lose) is kept: the highest harmonic
   mean 2·c·d/(c + d); ties go to fewer parameters, then more coverage.
4. The kept box must be denser than chance: a one-sided binomial test of its density against
   the share of all draws that lose, at 0.05 divided by the number of candidate boxes it was
   chosen from (Bonferroni: the choice itself must not manufacture significance). Otherwise no
   box is reported.

Parameters that the registry samples on a log scale are handed to PRIM as log10, so the box's
bounds fall at geometric midpoints between draws and the plot uses log axes; PRIM itself works
on quantiles and is unchanged by the transform.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator
from scipy.stats import binom

from model.plots import save
from model.verdict.robust import DIRECTIONS
from model.verdict.words import ParamText, kpi_label, kpi_value, number, param_text, percent

# Quasi-p value above which a restriction is dropped (Bryant & Lempert 2010).
QP_MAX = 0.05
# A box must be denser than the share of all draws that lose with this significance (divided
# among the candidate boxes the best one was chosen from).
BOX_P_MAX = 0.05
# Fewer losing draws than this: too few to say where.
MIN_LOSING = 3
# PRIM's peeling step and the smallest box, as shares of the draws.
PEEL_ALPHA = 0.05
MASS_MIN = 0.05

CONDITION_COLUMNS = [
    "strategy",
    "versus",
    "parameter",
    "low",
    "high",
    "coverage",
    "density",
    "mass",
    "share_losing",
    "n_draws",
    "metric",
]


@dataclass(frozen=True, eq=False)  # holds tables: compare findings field by field
class Finding:
    """Where one strategy loses to another, over the parameter draws.

    Attributes:
        strategy: the side that wins in most draws; the box says where it loses.
        versus: the other side.
        metric: the KPI compared.
        status: ``"box"`` (a region was found), ``"never"`` (``strategy`` loses in no draw),
            ``"too_few"`` (it loses in fewer than :data:`MIN_LOSING` draws), ``"no_box"``
            (no box of at most ``max_dims`` parameters is denser than chance) or
            ``"no_draws"`` (no draw where both ran with a defined value).
        n_draws: draws where the pair could be compared.
        n_losing: draws where ``strategy`` loses.
        limits: the box's restricted parameters, most significant first, as
            ``(parameter, low, high)`` in the parameter's units; NaN = no bound on that side.
        coverage: share of the losing draws inside the box.
        density: share of the draws inside the box that lose.
        mass: share of the draws inside the box.
        advantage: per draw, ``strategy``'s mean advantage over ``versus`` (positive = better,
            in the KPI's unit), indexed by draw.
        x: the drawn parameter values of those draws (columns: parameters).
    """

    strategy: str
    versus: str
    metric: str
    status: str
    n_draws: int
    n_losing: int
    limits: tuple[tuple[str, float, float], ...] = ()
    coverage: float = math.nan
    density: float = math.nan
    mass: float = math.nan
    advantage: pd.Series = field(default_factory=lambda: pd.Series(dtype=float), repr=False)
    x: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def share_losing(self) -> float:
        """Share of all compared draws where ``strategy`` loses."""
        return self.n_losing / self.n_draws if self.n_draws else math.nan

    def sentence(self) -> str:
        """The finding in words, with the registry's descriptions and units."""
        label = kpi_label(self.metric, in_sentence=True)
        s, v, n, k = self.strategy, self.versus, self.n_draws, self.n_losing
        if self.status == "no_draws":
            return f"{s} and {v} could not be compared on {label} in any draw."
        if self.status == "never":
            return (
                f"{s} is at least as good as {v} on {label} in all {n} draws: within the "
                "plausible ranges nothing flips this verdict."
            )
        if self.status == "too_few":
            return (
                f"{s} loses to {v} on {label} in only {k} of {n} draws: too few to say "
                "which conditions make it lose."
            )
        if self.status == "no_box":
            return (
                f"{s} loses to {v} on {label} in {k} of {n} draws ({percent(k / n)}), but no "
                "region of at most a few parameters holds those draws more densely than "
                "chance: the losses look like noise or depend on many parameters at once."
            )
        inside = round(self.mass * n)
        where = " and ".join(_bound_text(param_text(p), lo, hi) for p, lo, hi in self.limits)
        return (
            f"{s} loses to {v} on {label} where {where} (covers {percent(self.coverage)} of "
            f"the {k} draws where it loses; {percent(self.density)} of the {inside} draws in "
            f"that region lose, against {percent(self.share_losing)} of all {n} draws)."
        )


def _bound_text(p: ParamText, low: float, high: float) -> str:
    name = f"{p.key} ({p.description})" if p.description else p.key
    if math.isnan(low):
        return f"{name} < {p.value(high)}"
    if math.isnan(high):
        return f"{name} > {p.value(low)}"
    return f"{p.value(low)} < {name} < {p.value(high)}"


@dataclass(frozen=True, eq=False)
class Conditions:
    """The findings of :func:`find_conditions`, one per pair of strategies."""

    metric: str
    direction: str
    findings: tuple[Finding, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per restricted parameter of each box (:data:`CONDITION_COLUMNS`).

        Empty (with the columns) when no pair has a box.
        """
        rows = [
            {
                "strategy": f.strategy,
                "versus": f.versus,
                "parameter": p,
                "low": lo,
                "high": hi,
                "coverage": f.coverage,
                "density": f.density,
                "mass": f.mass,
                "share_losing": f.share_losing,
                "n_draws": f.n_draws,
                "metric": f.metric,
            }
            for f in self.findings
            if f.status == "box"
            for p, lo, hi in f.limits
        ]
        return pd.DataFrame(rows, columns=CONDITION_COLUMNS)

    def sentences(self) -> list[str]:
        """Each finding in words, in the order the pairs were asked."""
        return [f.sentence() for f in self.findings]

    def plot(self, path: str | Path) -> Path:
        """Write a PNG: one panel per box found, the draws coloured by outcome, the box drawn.

        A box on two or more parameters is shown on its two most significant ones; a box on one
        parameter against the per-draw advantage. With no box the figure says so.

        Args:
            path: the PNG file to write.

        Returns:
            ``path``.
        """
        boxes = [f for f in self.findings if f.status == "box"]
        ncols = min(2, max(1, len(boxes)))
        nrows = max(1, math.ceil(len(boxes) / ncols))
        fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols, 4.6 * nrows), squeeze=False)
        if not boxes:
            ax = axes[0, 0]
            ax.axis("off")
            ax.text(
                0.5,
                0.5,
                f"No verdict on {kpi_label(self.metric)} flips within the drawn ranges\n"
                "in a region PRIM could find.",
                ha="center",
                va="center",
            )
        for ax, finding in zip(axes.flat, boxes, strict=False):
            _panel(ax, finding, self.metric)
        for ax in list(axes.flat)[max(1, len(boxes)) :]:
            ax.axis("off")
        save(fig, path)
        return Path(path)


def _panel(ax, f: Finding, metric: str) -> None:
    loses = (f.advantage < 0).to_numpy()
    colour = np.where(loses, "#b42318", "#8a8a8a")
    first = param_text(f.limits[0][0])
    xs = f.x[first.key].to_numpy()
    if len(f.limits) >= 2:
        second = param_text(f.limits[1][0])
        ys = f.x[second.key].to_numpy()
        ax.set_ylabel(second.axis_label())
        if second.log:
            ax.set_yscale("log")
        y_lo, y_hi = f.limits[1][1], f.limits[1][2]
    else:
        ys = f.advantage.to_numpy()
        ax.set_ylabel(f"{kpi_label(metric)}: {f.strategy}'s advantage over {f.versus}")
        ax.axhline(0, color="k", lw=0.8)
        y_lo, y_hi = math.nan, math.nan
    ax.scatter(xs, ys, c=colour, s=22, alpha=0.85, edgecolors="none")
    if first.log:
        ax.set_xscale("log")
    ax.set_xlabel(first.axis_label())
    ax.margins(0.04)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    _, x_lo, x_hi = f.limits[0]
    left = x0 if math.isnan(x_lo) else x_lo
    right = x1 if math.isnan(x_hi) else x_hi
    bottom = y0 if math.isnan(y_lo) else y_lo
    top = y1 if math.isnan(y_hi) else y_hi
    ax.add_patch(
        Rectangle(
            (left, bottom),
            right - left,
            top - bottom,
            facecolor=(0.71, 0.14, 0.09, 0.08),  # the red of a loss, faint; the edge solid
            edgecolor="#b42318",
            lw=1.2,
        )
    )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    more = f" (+{len(f.limits) - 2} more)" if len(f.limits) > 2 else ""
    ax.set_title(
        f"{f.strategy} loses to {f.versus} (red): box{more} covers {percent(f.coverage)}, "
        f"density {percent(f.density)}",
        fontsize=9.5,
    )
    plain = FuncFormatter(lambda v, _: number(v))
    for axis, log in ((ax.xaxis, first.log), (ax.yaxis, len(f.limits) >= 2 and second.log)):
        if log:  # a range of one decade or so needs ticks at 1, 2 and 5
            axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    if len(f.limits) < 2:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: kpi_value(metric, v, diff=True)))


# --- the search ---------------------------------------------------------------------------------


def _inside(x: np.ndarray, bounds: dict[int, tuple[float, float]]) -> np.ndarray:
    mask = np.ones(x.shape[0], dtype=bool)
    for j, (lo, hi) in bounds.items():
        if not math.isnan(lo):
            mask &= x[:, j] >= lo
        if not math.isnan(hi):
            mask &= x[:, j] <= hi
    return mask


def _without(
    bounds: dict[int, tuple[float, float]], j: int, side: int
) -> dict[int, tuple[float, float]]:
    """The bounds with one side (0 low, 1 high) of parameter ``j`` lifted."""
    out = dict(bounds)
    lo, hi = out.pop(j)
    lo, hi = (math.nan, hi) if side == 0 else (lo, math.nan)
    if not (math.isnan(lo) and math.isnan(hi)):
        out[j] = (lo, hi)
    return out


def _quasi_p(
    x: np.ndarray, y: np.ndarray, bounds: dict[int, tuple[float, float]], j: int, side: int
) -> float:
    """P(a box as dense as this one | the density without that bound), one-sided binomial."""
    inside = _inside(x, bounds)
    p = y[_inside(x, _without(bounds, j, side))].mean()
    return float(binom.sf(y[inside].sum() - 1, inside.sum(), p))


def _prune(
    x: np.ndarray, y: np.ndarray, bounds: dict[int, tuple[float, float]], max_dims: int
) -> dict[int, tuple[float, float]]:
    """Lift insignificant bounds and surplus parameters, weakest first.

    Returns:
        The bounds left, most significant parameter first.
    """
    bounds = dict(bounds)
    while bounds:
        qp = {
            (j, side): _quasi_p(x, y, bounds, j, side)
            for j, limits in bounds.items()
            for side in (0, 1)
            if not math.isnan(limits[side])
        }
        if len(bounds) > max_dims:
            # Too many parameters: drop the one whose most significant bound is weakest.
            strength = {j: min(v for (k, _), v in qp.items() if k == j) for j in bounds}
            del bounds[max(strength, key=lambda j: (strength[j], j))]
            continue
        worst = max(qp, key=lambda key: (qp[key], key))
        if qp[worst] > QP_MAX:
            bounds = _without(bounds, *worst)
            continue
        strength = {j: min(v for (k, _), v in qp.items() if k == j) for j in bounds}
        return dict(sorted(bounds.items(), key=lambda item: (strength[item[0]], item[0])))
    return bounds


def peeling_trajectory(
    x: np.ndarray, y: np.ndarray, *, alpha: float = PEEL_ALPHA, mass_min: float = MASS_MIN
) -> list[tuple[np.ndarray, np.ndarray]]:
    """PRIM's peeling (Friedman & Fisher 1999): ever smaller boxes, from the whole range inwards.

    Each step considers, for every parameter, removing the ``alpha`` share of the points still
    in the box from below or from above, and makes the peel with the highest gain in the mean
    of ``y`` per share of points removed (a tie goes to the peel that keeps more points). A new
    bound lies half-way between the last point peeled and the first point kept, so it does not
    sit on a draw. Peeling stops when every peel would leave fewer than ``mass_min`` of all points.

    Args:
        x: points × parameters (log-scaled parameters already as log10).
        y: 1 where the outcome of interest happened (the verdict flips), else 0.
        alpha: share of the box's points one peel removes.
        mass_min: smallest share of all points a box may hold.

    Returns:
        The trajectory as ``(low, high)`` bound arrays per box, the whole data range first.
    """
    n, d = x.shape
    y = np.asarray(y, dtype=float)
    lo, hi = x.min(axis=0).astype(float), x.max(axis=0).astype(float)
    inside = np.ones(n, dtype=bool)
    trajectory = [(lo.copy(), hi.copy())]
    min_points = max(1, math.ceil(mass_min * n))
    while True:
        xs, ys = x[inside], y[inside]
        best = None  # (gain, points kept, parameter, side, keep mask, new bound)
        for j in range(d):
            col = xs[:, j]
            for side in ("low", "high"):
                if side == "low":
                    keep = col >= np.quantile(col, alpha)
                    if keep.all():
                        keep = col > col.min()
                else:
                    keep = col <= np.quantile(col, 1 - alpha)
                    if keep.all():
                        keep = col < col.max()
                kept = int(keep.sum())
                if kept < min_points or kept == len(col):
                    continue
                if side == "low":
                    bound = (col[~keep].max() + col[keep].min()) / 2
                else:
                    bound = (col[~keep].min() + col[keep].max()) / 2
                # Kwakkel's "lenient" objective: the gain in mean per share of points peeled,
                # so a peel that removes many tied points must earn its size.
                key = ((ys[keep].mean() - ys.mean()) * n / (len(col) - kept), kept)
                if best is None or key > best[:2]:
                    best = (*key, j, side, keep, bound)
        if best is None:
            return trajectory
        _, _, j, side, keep, bound = best
        if side == "low":
            lo[j] = bound
        else:
            hi[j] = bound
        inside[np.flatnonzero(inside)[~keep]] = False
        trajectory.append((lo.copy(), hi.copy()))


def _best_box(x: pd.DataFrame, y: np.ndarray, max_dims: int):
    """PRIM's trajectory pruned to significant restrictions; the box with the best balance."""
    values = x.to_numpy(dtype=float)
    data_lo, data_hi = values.min(axis=0), values.max(axis=0)
    best, best_key = None, None
    trajectory = peeling_trajectory(values, y)
    candidates = len(trajectory) - 1  # every peeled box was a chance to find a pattern
    for box_lo, box_hi in trajectory:
        bounds = {}
        for j in range(values.shape[1]):
            lo = box_lo[j] if box_lo[j] > data_lo[j] else math.nan
            hi = box_hi[j] if box_hi[j] < data_hi[j] else math.nan
            if not (math.isnan(lo) and math.isnan(hi)):
                bounds[j] = (float(lo), float(hi))
        bounds = _prune(values, y, bounds, max_dims)
        if not bounds:
            continue
        inside = _inside(values, bounds)
        hits = y[inside].sum()
        coverage, density = hits / y.sum(), hits / inside.sum()
        balance = 2 * coverage * density / (coverage + density) if hits else 0.0
        key = (balance, -len(bounds), coverage)
        if best_key is None or key > best_key:
            best_key = key
            best = (bounds, coverage, density, inside.mean(), inside)
    return None if best is None else (*best, candidates)


def _advantage(runs: pd.DataFrame, metric: str, direction: str, a: str, b: str) -> pd.Series:
    """Per draw: the mean over common replicates of a's advantage over b (positive: better)."""
    own = runs.loc[runs["strategy"] == a, ["draw", "replicate", metric]]
    other = runs.loc[runs["strategy"] == b, ["draw", "replicate", metric]]
    both = own.merge(other, on=["draw", "replicate"], suffixes=("_a", "_b"))
    diff = pd.to_numeric(both[f"{metric}_a"], errors="coerce") - pd.to_numeric(
        both[f"{metric}_b"], errors="coerce"
    )
    if direction == "lower":
        diff = -diff
    diff = diff.astype(float)
    keep = np.isfinite(diff.to_numpy())
    return diff[keep].groupby(both.loc[keep, "draw"].to_numpy()).mean().rename_axis("draw")


def _pairs(
    runs: pd.DataFrame, metric: str, direction: str, reference: str, order: Sequence[str]
) -> list[tuple[str, str]]:
    values = pd.to_numeric(runs[metric], errors="coerce").astype(float)
    medians = values.groupby(runs["strategy"]).median().reindex(order)
    ranked = medians.sort_values(ascending=direction == "lower", na_position="last", kind="stable")
    pairs = []
    if len(ranked) >= 2:
        pairs.append((ranked.index[0], ranked.index[1]))
    pairs += [(s, reference) for s in order if s != reference]
    seen, out = set(), []
    for a, b in pairs:
        if frozenset((a, b)) not in seen:
            seen.add(frozenset((a, b)))
            out.append((a, b))
    return out


def _finding(
    advantage: pd.Series, draws: pd.DataFrame, metric: str, a: str, b: str, max_dims: int
) -> Finding:
    # The verdict of the pair is the side that wins in most draws; describe where it loses.
    if (advantage < 0).sum() > (advantage > 0).sum():
        a, b, advantage = b, a, -advantage
    loses = (advantage < 0).to_numpy()
    x = draws.loc[advantage.index]
    base = dict(
        strategy=a,
        versus=b,
        metric=metric,
        n_draws=int(advantage.size),
        n_losing=int(loses.sum()),
        advantage=advantage,
        x=x,
    )
    if advantage.empty:
        return Finding(status="no_draws", **base)
    if loses.sum() == 0:
        return Finding(status="never", **base)
    if loses.sum() < MIN_LOSING:
        return Finding(status="too_few", **base)
    varying = [c for c in x.columns if x[c].nunique() > 1]
    texts = {c: param_text(c) for c in varying}
    scaled = pd.DataFrame(
        {c: np.log10(x[c]) if texts[c].log and (x[c] > 0).all() else x[c] for c in varying}
    ).astype(float)
    found = _best_box(scaled, loses, max_dims) if varying else None
    if found is not None:
        bounds, coverage, density, mass, inside, candidates = found
        p_chance = binom.sf(loses[inside].sum() - 1, inside.sum(), loses.mean())
        # The kept box is the best of `candidates` boxes: Bonferroni keeps the chance of
        # reporting a box where nothing matters below BOX_P_MAX despite that choice.
        if p_chance <= BOX_P_MAX / candidates:
            limits = []
            for j, (lo, hi) in bounds.items():
                name = varying[j]
                log = texts[name].log and (x[name] > 0).all()
                lo, hi = (10**lo, 10**hi) if log else (lo, hi)
                limits.append((name, float(lo), float(hi)))
            return Finding(
                status="box",
                limits=tuple(limits),
                coverage=float(coverage),
                density=float(density),
                mass=float(mass),
                **base,
            )
    return Finding(status="no_box", **base)


def find_conditions(
    runs: pd.DataFrame,
    draws: pd.DataFrame,
    metric: str,
    reference: str,
    *,
    direction: str | None = None,
    strategies: Sequence[str] | None = None,
    max_dims: int = 3,
) -> Conditions:
    """Where each verdict on ``metric`` flips, by PRIM on the draws.

    The pairs: the leader against the runner-up, each strategy against the reference.

    Args:
        runs: one row per run with ``strategy``, ``draw``, ``replicate`` and the KPI column.
        draws: one row per draw: ``draw`` and one column per drawn parameter (dotted keys,
            values in the parameter's units).
        metric: the KPI the verdict is on.
        reference: the reference strategy.
        direction: ``"higher"`` or ``"lower"`` is better (default: the KPI registry).
        strategies: the strategies in order (ties in the ranking go to the earlier).
        max_dims: the most parameters a box may restrict.

    Returns:
        The :class:`Conditions`: one :class:`Finding` per pair, with ``to_frame()``,
        ``sentences()`` and ``plot(path)``.

    Raises:
        ValueError: a missing column, a draw of ``runs`` absent from ``draws``, a KPI without
            a better direction, an unknown reference.
    """
    direction = direction if direction is not None else DIRECTIONS.get(metric)
    if direction not in ("higher", "lower"):
        raise ValueError(
            f"KPI {metric!r} has direction {direction!r}: conditions need 'higher' or 'lower'"
        )
    for table, name, needed in (
        (runs, "runs", ("strategy", "draw", "replicate", metric)),
        (draws, "draws", ("draw",)),
    ):
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise ValueError(f"{name} has no column {', '.join(map(repr, missing))}")
    if draws["draw"].duplicated().any():
        raise ValueError("draws has more than one row for some draw")
    unknown = set(runs["draw"]) - set(draws["draw"])
    if unknown:
        raise ValueError(f"runs has draws that the draws table lacks: {sorted(unknown)[:5]}")
    if max_dims < 1:
        raise ValueError(f"max_dims = {max_dims}: must be at least 1")
    order = list(strategies) if strategies is not None else list(dict.fromkeys(runs["strategy"]))
    if reference not in order:
        raise ValueError(f"reference {reference!r} is not among the strategies {order}")
    params = draws.set_index("draw").apply(pd.to_numeric, errors="raise").astype(float)
    findings = tuple(
        _finding(_advantage(runs, metric, direction, a, b), params, metric, a, b, max_dims)
        for a, b in _pairs(runs, metric, direction, reference, order)
    )
    return Conditions(metric=metric, direction=direction, findings=findings)
