"""Figures of sweeps and sensitivity runs, written to ``DIR/plots`` (no pyplot state touched)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from model.outputs import atomic_write
from model.sweep.runner import load_sweep, point_summary
from model.sweep.store import read_manifest


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
            fig = lines(table, params[0], kpi)
        else:
            fig = scatter(table, params, kpi)
        paths.append(_save(fig, out / "plots" / f"{kpi}.png"))
    return paths


def heatmap(table: pd.DataFrame, x: str, y: str, kpi: str) -> Figure:
    """Replicate mean of ``kpi`` over a grid of two parameters, with values written in."""
    pivot = table.pivot_table(index=y, columns=x, values="mean", aggfunc="mean")
    fig = Figure(figsize=(1.1 * pivot.shape[1] + 3, 0.6 * pivot.shape[0] + 2.5))
    ax = fig.subplots()
    image = ax.imshow(pivot.to_numpy(float), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(pivot.shape[1]), [_label(v) for v in pivot.columns])
    ax.set_yticks(range(pivot.shape[0]), [_label(v) for v in pivot.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    finite = pivot.to_numpy(float)
    mid = np.nanmean(finite) if np.isfinite(finite).any() else 0.0
    for (i, j), value in np.ndenumerate(finite):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=8,
                    color="white" if value < mid else "black")
    fig.colorbar(image, ax=ax, label=f"{kpi} (mean over replicates)")
    ax.set_title(kpi)
    return fig


def _label(value: object) -> str:
    # Swept values may be numbers or words (outreach.targeting = ["all", "active"]).
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def lines(table: pd.DataFrame, x: str, kpi: str) -> Figure:
    """Replicate mean of ``kpi`` against one parameter with the 10–90% band."""
    table = table.sort_values(x)
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.fill_between(table[x], table["p10"], table["p90"], alpha=0.25, label="10–90% band")
    ax.plot(table[x], table["mean"], marker="o", label="mean")
    ax.set_xlabel(x)
    ax.set_ylabel(kpi)
    ax.legend()
    ax.set_title(kpi)
    return fig


def scatter(table: pd.DataFrame, params: list[str], kpi: str) -> Figure:
    """Replicate mean of ``kpi`` against each parameter (sampled designs)."""
    n = len(params)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(4 * cols, 3.2 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, param in zip(axes, params, strict=False):
        ax.scatter(table[param], table["mean"], s=14)
        ax.set_xlabel(param, fontsize=8)
        ax.set_ylabel(kpi)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(f"{kpi}: mean over replicates per point")
    return fig


def sensitivity_plot(indices: pd.DataFrame, kpi: str, path: Path) -> Path:
    """Bars of total Sobol indices (and Morris μ*) per parameter, with the dummy's band."""
    methods = [m for m in ("sobol", "morris") if (indices["method"] == m).any()]
    fig = Figure(figsize=(7 * len(methods), 0.45 * indices["parameter"].nunique() + 2),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(methods)))
    for ax, method in zip(axes, methods, strict=True):
        index_name = "ST" if method == "sobol" else "mu_star"
        sub = indices[(indices["method"] == method) & (indices["metric"] == kpi)
                      & (indices["index"] == index_name)].sort_values("value")
        if sub.empty:
            ax.set_visible(False)
            continue
        colors = ["0.6" if p == "dummy" else "C0" for p in sub["parameter"]]
        ax.barh(sub["parameter"], sub["value"], xerr=sub["conf"], color=colors)
        dummy = sub[sub["parameter"] == "dummy"]
        if not dummy.empty:
            band = float(dummy["value"].iloc[0] + dummy["conf"].iloc[0])
            ax.axvline(band, color="C3", linestyle="--", label="dummy (noise floor)")
            ax.legend(loc="lower right", fontsize=8)
        ax.set_xlabel("total Sobol index ST" if method == "sobol" else "Morris μ*")
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title(f"{kpi}: {method}")
    return _save(fig, path)
