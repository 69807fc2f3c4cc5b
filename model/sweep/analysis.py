"""What a sweep found: per-point summaries, the best lever setting, ranges over the market.

Only levers are choices. Over levers the best point per KPI is the one with the best mean over
replicates; over market parameters (facts the brand does not choose) there is no best point,
only the range of the KPI across the plausible markets and how strongly each parameter moves it.
Directions come from the KPI registry (recorded in the sweep's manifest); neutral KPIs are never
ranked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.experiment.store import read_manifest
from model.sweep.reading import load_sweep


def point_summary(wide: pd.DataFrame, params: list[str], kpi: str) -> pd.DataFrame:
    """Per point: mean, median and the 10–90% band of a KPI over replicates that finished."""
    ok = wide[wide["status"] == "ok"]
    grouped = ok.groupby("point")[kpi]
    summary = pd.DataFrame(
        {
            "mean": grouped.mean(),
            "median": grouped.median(),
            "p10": grouped.quantile(0.1),
            "p90": grouped.quantile(0.9),
            "n": grouped.count(),
        }
    )
    first = wide.drop_duplicates("point").set_index("point")[params]
    return first.join(summary, how="left")


def best_points(out: str | Path, top: int = 1) -> pd.DataFrame:
    """The best lever setting per ranked KPI, by the mean over replicates (and market points).

    Only levers are choices: over a grid of levers the best point; when market parameters are
    swept too, the lever setting whose mean over the market points is best (their columns are
    left out). Empty when the sweep varies no lever. Neutral KPIs are never ranked.
    """
    manifest = read_manifest(out)
    wide = load_sweep(out, wide=True)
    market = set(manifest.get("market_params", []))
    levers = [p for p in manifest["params"] if p not in market]
    rows = []
    if not levers:
        return pd.DataFrame(rows)
    for kpi in manifest["kpis"]:
        way = manifest.get("directions", {}).get(kpi, "higher")
        if way == "neutral":
            continue
        table = point_summary(wide, manifest["params"], kpi).dropna(subset=["mean"])
        if table.empty:
            continue
        if market:
            table = (
                table.groupby(levers, sort=False)
                .agg(
                    mean=("mean", "mean"),
                    p10=("mean", lambda s: s.quantile(0.1)),
                    p90=("mean", lambda s: s.quantile(0.9)),
                    n=("n", "sum"),
                )
                .reset_index()
            )
            table.index = pd.Index([None] * len(table), name="point")
        table = table.sort_values("mean", ascending=(way == "lower")).head(top)
        for point, row in table.iterrows():
            rows.append({"kpi": kpi, "direction": way, "point": point, **row.to_dict()})
    return pd.DataFrame(rows)


def market_ranges(out: str | Path) -> pd.DataFrame:
    """Per KPI, the range of the point means over the market points, and what moves them.

    Each swept market parameter's Spearman rank correlation with the point means (−1…1: how
    strongly and which way it moves the KPI). Empty when no market parameter is swept.
    """
    from scipy.stats import spearmanr

    manifest = read_manifest(out)
    market = list(manifest.get("market_params", []))
    if not market:
        return pd.DataFrame()
    wide = load_sweep(out, wide=True)
    rows = []
    for kpi in manifest["kpis"]:
        table = point_summary(wide, manifest["params"], kpi).dropna(subset=["mean"])
        if len(table) < 2:
            continue
        means = table["mean"].to_numpy(float)
        row: dict[str, Any] = {
            "kpi": kpi,
            "min": float(means.min()),
            "p10": float(np.quantile(means, 0.1)),
            "median": float(np.median(means)),
            "p90": float(np.quantile(means, 0.9)),
            "max": float(means.max()),
            "n_points": len(means),
        }
        for key in market:
            x = pd.to_numeric(table[key], errors="coerce").to_numpy(float)
            constant = np.ptp(x) == 0 or np.ptp(means) == 0
            row[key] = np.nan if constant else float(spearmanr(x, means).statistic)
        rows.append(row)
    return pd.DataFrame(rows)
