"""Figures of sweeps and sensitivity runs, written to ``DIR/plots`` (no pyplot state touched).

Values are shown in their KPI's unit and parameters by their registry label
(:mod:`model.formatting`); colour scales put "better" at the same (yellow) end for every KPI;
log-sampled parameters are drawn on log axes.
"""

from __future__ import annotations

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
    ax.set_xlabel(fmt.param_label(x))
    ax.set_ylabel(fmt.param_label(y))
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
    ax.set_title(_kpi_title(kpi))
    return fig


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
    ax.set_xlabel(fmt.param_label(x))
    if log:
        ax.set_xscale("log")
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
    for ax, param in zip(axes, params, strict=False):
        ax.scatter(table[param], table["mean"], s=14)
        ax.set_xlabel(fmt.param_label(param), fontsize=8, wrap=True)
        if param in logs:
            ax.set_xscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: _kpi_text(kpi, v)))
        ax.tick_params(labelsize=8)
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
        ax.set_xlabel("total Sobol index ST" if method == "sobol" else "Morris μ*")
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title(f"{_kpi_title(kpi)}: {method}")
    return _save(fig, path)
