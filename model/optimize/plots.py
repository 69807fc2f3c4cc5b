"""Figures of an optimisation: response curves through the optimum and the risk–return frontier.

Each function takes a finished :class:`~model.optimize.runner.OptimizationResult` and writes
one PNG (the CLI selects the Agg backend).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from model.formatting import format_kpi, kpi_label, param_label
from model.plots import save


def curves_figure(result, path: str | Path) -> None:
    """One panel per lever: the paired difference from the optimum, mean and 10–90% band."""
    curves = result.curves
    kpi = result.objective.kpi
    levers = list(dict.fromkeys(curves["lever"]))
    ncols = min(3, len(levers))
    nrows = math.ceil(len(levers) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.6 * nrows), squeeze=False)
    marginal = result.marginal.set_index("lever") if not result.marginal.empty else None
    for ax, lever in zip(axes.flat, levers, strict=False):
        rows = curves[curves["lever"] == lever]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in rows["value"])
        if numeric:
            rows = rows.sort_values("value")
            x = rows["value"].astype(float).to_numpy()
            ax.fill_between(x, rows["diff_p10"], rows["diff_p90"], alpha=0.25, lw=0)
            ax.plot(x, rows["diff_mean"], marker="o")
            at = rows[rows["at_optimum"]]
            ax.plot(
                at["value"].astype(float),
                at["diff_mean"],
                marker="*",
                ms=14,
                color="C3",
                ls="none",
                label="optimum",
            )
            bad = rows[~rows["feasible"].astype(bool)]
            if not bad.empty:
                ax.plot(
                    bad["value"].astype(float),
                    bad["diff_mean"],
                    "x",
                    color="k",
                    ms=8,
                    label="breaks a constraint",
                )
        else:
            pos = np.arange(len(rows))
            low = rows["diff_mean"] - rows["diff_p10"]
            high = rows["diff_p90"] - rows["diff_mean"]
            colours = ["C3" if a else "C0" for a in rows["at_optimum"]]
            ax.bar(pos, rows["diff_mean"], yerr=[low, high], color=colours, alpha=0.7, capsize=4)
            ax.set_xticks(pos, [str(v) for v in rows["value"]])
            for x, at in zip(pos, rows["at_optimum"], strict=True):
                if at:
                    ax.plot([x], [0], marker="*", ms=14, color="C3", ls="none", label="optimum")
            ax.legend(fontsize=7, loc="best")
        ax.axhline(0, color="grey", lw=0.8)
        # The registry's words for the lever (the dotted key is in curves.csv and the report).
        title = param_label(lever)
        if marginal is not None and lever in marginal.index:
            m = marginal.loc[lever]
            title += (
                f"\nmarginal {format_kpi(kpi, m['per_unit'], diff=True)} per unit "
                f"[{format_kpi(kpi, m['low'], diff=True)}, "
                f"{format_kpi(kpi, m['high'], diff=True)}]"
            )
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(f"Δ {kpi_label(kpi)} vs optimum", fontsize=8)
        ax.yaxis.set_major_formatter(
            FuncFormatter(lambda v, _p: format_kpi(kpi, v, compact=True, diff=True))
        )
        ax.tick_params(labelsize=8)
        if numeric:
            ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[len(levers) :]:
        ax.axis("off")
    fig.suptitle(
        f"Response curves through {result.curve_through} (fresh cells; band 10–90%)", fontsize=10
    )
    fig.tight_layout()
    save(fig, path)


def frontier_figure(result, path: str | Path) -> None:
    """Mean against CVaR of every feasible search candidate; the efficient ones joined."""
    f = result.frontier
    kpi = result.objective.kpi
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ax.scatter(f["cvar"], f["mean"], s=14, color="C0", alpha=0.5, label="candidates")
    eff = f[f["efficient"]].sort_values("cvar")
    ax.plot(eff["cvar"], eff["mean"], "-o", color="C3", ms=5, label="frontier")
    rec = result.recommendation
    if rec is not None and rec.trial is not None:
        a = rec.trial.assessment
        ax.plot([a.cvar], [a.mean], "*", ms=16, color="k", label="recommended (search block)")
    ax.set_xlabel(f"CVaR {result.objective.alpha:.0%} of {kpi_label(kpi)}")
    ax.set_ylabel(f"Mean {kpi_label(kpi)}")
    ax.set_title("Risk–return frontier of the search", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, path)
