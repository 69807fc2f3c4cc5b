"""Figures of sweeps and sensitivity runs, written to ``DIR/plots`` (no pyplot state touched).

Values are shown in their KPI's unit and parameters by their registry label
(:mod:`model.formatting`); colour scales put "better" at the same (yellow) end for every KPI,
marked on the colour bar; log-sampled parameters are drawn on log axes read in plain numbers;
scatter panels of sampled designs give each parameter's Spearman rank correlation with the KPI.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from model import formatting as fmt
from model.experiment.store import read_manifest
from model.kpis import KPIS
from model.outputs import atomic_write
from model.sweep.analysis import point_summary
from model.sweep.reading import load_sweep


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A half-written figure never replaces a good one.
    return atomic_write(path, lambda p: fig.savefig(p, dpi=110, bbox_inches="tight", format="png"))


def sweep_plots(out: str | Path) -> list[Path]:
    """One figure per KPI: a heatmap for two swept parameters, lines for one, scatter else.

    Values are replicate means per point; line plots add the 10–90% band over replicates.
    """
    out = Path(out)
    manifest = read_manifest(out)
    params: list[str] = manifest["params"]
    logs = set(manifest.get("log_params", []))
    wide = load_sweep(out, wide=True)
    paths = []
    for kpi in manifest["kpis"]:
        table = point_summary(wide, params, kpi)
        if table["mean"].notna().sum() == 0:
            continue
        grid = manifest.get("method") == "grid"
        if len(params) == 2 and grid:
            fig = heatmap(table, params[0], params[1], kpi)
        elif len(params) == 1:
            fig = lines(table, params[0], kpi, log=params[0] in logs)
        else:
            fig = scatter(table, params, kpi, logs=logs)
        paths.append(_save(fig, out / "plots" / f"{kpi}.png"))
    return paths


def _kpi_text(kpi: str, value: float) -> str:
    return fmt.format_kpi(kpi, value, compact=True) if kpi in KPIS else f"{value:.3g}"


def _kpi_title(kpi: str) -> str:
    if kpi not in KPIS:
        return kpi
    way = KPIS[kpi].direction
    better = {"higher": " (higher is better)", "lower": " (lower is better)"}.get(way, "")
    return f"{fmt.kpi_label(kpi)}{better}"


def heatmap(table: pd.DataFrame, x: str, y: str, kpi: str) -> Figure:
    """Replicate mean of ``kpi`` over a grid of two parameters, with values written in.

    The colour scale's yellow end is the better one for every KPI (reversed where lower is
    better); a descriptive KPI keeps the plain scale.
    """
    pivot = table.pivot_table(index=y, columns=x, values="mean", aggfunc="mean")
    fig = Figure(figsize=(1.1 * pivot.shape[1] + 3.5, 0.6 * pivot.shape[0] + 2.8))
    ax = fig.subplots()
    lower = kpi in KPIS and KPIS[kpi].direction == "lower"
    cmap = "viridis_r" if lower else "viridis"
    image = ax.imshow(pivot.to_numpy(float), origin="lower", aspect="auto", cmap=cmap)
    ax.set_xticks(range(pivot.shape[1]), [_label(v) for v in pivot.columns])
    ax.set_yticks(range(pivot.shape[0]), [_label(v) for v in pivot.index])
    ax.set_xlabel(_axis_label(x, 60))
    ax.set_ylabel(_axis_label(y, 40))
    finite = pivot.to_numpy(float)
    mid = np.nanmean(finite) if np.isfinite(finite).any() else 0.0
    for (i, j), value in np.ndenumerate(finite):
        if np.isfinite(value):
            dark = value > mid if lower else value < mid
            ax.text(
                j,
                i,
                _kpi_text(kpi, value),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if dark else "black",
            )
    bar = fig.colorbar(image, ax=ax, label="mean over replicates")
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: _kpi_text(kpi, v)))
    if kpi in KPIS and KPIS[kpi].direction in ("higher", "lower"):
        # Say where "better" is: the yellow end, at the top or bottom of the bar by direction.
        bar.ax.text(
            0.5,
            -0.02 if lower else 1.02,
            "better",
            transform=bar.ax.transAxes,
            ha="center",
            va="top" if lower else "bottom",
            fontsize=8,
            fontweight="bold",
        )
    ax.set_title(_kpi_title(kpi))
    return fig


def _log_axis(axis) -> None:
    """A log axis read in plain numbers (0.001, 0.002, 0.005, 0.01), not 10⁻³."""
    axis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _p: f"{v:g}" if f"{v:.0e}"[0] in "25" else ""))


def _axis_label(key: str, width: int = 34) -> str:
    # Wrapped so that side-by-side panels' labels never run into each other.
    return textwrap.fill(fmt.param_label(key), width)


def _label(value: object) -> str:
    # Swept values may be numbers or words (outreach.targeting = ["all", "active"]).
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def lines(table: pd.DataFrame, x: str, kpi: str, *, log: bool = False) -> Figure:
    """Replicate mean of ``kpi`` against one parameter with the 10–90% band."""
    table = table.sort_values(x)
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(table[x], table["p10"], table["p90"], alpha=0.25, label="10–90% band")
    ax.plot(table[x], table["mean"], marker="o", label="mean")
    ax.set_xlabel(_axis_label(x))
    if log:
        ax.set_xscale("log")
        _log_axis(ax.xaxis)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: _kpi_text(kpi, v)))
    ax.legend()
    ax.set_title(_kpi_title(kpi))
    return fig


def scatter(
    table: pd.DataFrame,
    params: list[str],
    kpi: str,
    *,
    logs: set[str] | frozenset[str] = frozenset(),
) -> Figure:
    """Replicate mean of ``kpi`` against each parameter (sampled designs)."""
    n = len(params)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(4.4 * cols, 3.6 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for i, (ax, param) in enumerate(zip(axes, params, strict=False)):
        ax.scatter(table[param], table["mean"], s=14)
        ax.set_xlabel(_axis_label(param), fontsize=8)
        if param in logs:
            ax.set_xscale("log")
            _log_axis(ax.xaxis)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: _kpi_text(kpi, v)))
        ax.tick_params(which="both", labelsize=8)
        if i % cols == 0 and kpi in KPIS:
            ax.set_ylabel(fmt.kpi_label(kpi), fontsize=8)
        # How strongly and which way the parameter moves the KPI across the points (ranks).
        rho = table[param].rank().corr(table["mean"].rank())
        if np.isfinite(rho):
            ax.set_title(f"Spearman ρ = {fmt.MINUS if rho < 0 else '+'}{abs(rho):.2f}", fontsize=8)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(f"{_kpi_title(kpi)}: mean over replicates per point")
    return fig


def sensitivity_plot(indices: pd.DataFrame, kpi: str, path: Path) -> Path:
    """Bars of total Sobol indices (and Morris μ*) per parameter, with the dummy's band."""
    methods = [m for m in ("sobol", "morris") if (indices["method"] == m).any()]
    fig = Figure(
        figsize=(7 * len(methods), 0.45 * indices["parameter"].nunique() + 2), layout="constrained"
    )
    axes = np.atleast_1d(fig.subplots(1, len(methods)))
    for ax, method in zip(axes, methods, strict=True):
        index_name = "ST" if method == "sobol" else "mu_star"
        sub = indices[
            (indices["method"] == method)
            & (indices["metric"] == kpi)
            & (indices["index"] == index_name)
        ].sort_values("value")
        if sub.empty:
            ax.set_visible(False)
            continue
        colors = ["0.6" if p == "dummy" else "C0" for p in sub["parameter"]]
        names = [
            "dummy: the seed (noise floor)"
            if p == "dummy"
            else f"{fmt.param_label(p, with_unit=False)}\n{p}"
            for p in sub["parameter"]
        ]
        ax.barh(names, sub["value"], xerr=sub["conf"], color=colors)
        dummy = sub[sub["parameter"] == "dummy"]
        if not dummy.empty:
            band = float(dummy["value"].iloc[0] + dummy["conf"].iloc[0])
            ax.axvline(band, color="C3", linestyle="--", label="dummy (noise floor)")
            ax.legend(loc="lower right", fontsize=8)
        if method == "sobol":
            ax.set_xlabel("total Sobol index ST (share of the KPI's variance)")
        else:
            # μ* is a mean absolute change of the KPI: in its unit (¥, percentage points).
            ax.set_xlabel("Morris μ*: mean absolute effect on the KPI")
            if kpi in KPIS and KPIS[kpi].unit not in ("per_1000", "rate"):
                ax.xaxis.set_major_formatter(
                    FuncFormatter(
                        lambda v, _p: fmt.format_kpi(kpi, v, compact=True, diff=True).lstrip("+")
                    )
                )
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title(f"{_kpi_title(kpi)}: {method}")
    return _save(fig, path)
