"""Reading a sweep directory: its plan (``sweep.json``) joined with the stored runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from model.experiment.store import KPI_PREFIX, ResultStore, read_manifest, result_hash


def load_runs(out: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """The manifest and one wide row per (point, replicate) of the directory's current plan."""
    manifest = read_manifest(out)
    index = pd.DataFrame(
        [
            {
                "run_key": key,
                "point": p["point"],
                "replicate": rep,
                "seed": p["root_seed"],
                **{k: p["params"].get(k) for k in manifest["params"]},
            }
            for p in manifest["points"]
            for rep, key in enumerate(p["runs"])
        ]
    )
    stored = ResultStore(out).read()
    stored = stored.drop(columns=[c for c in ("root_seed", "replicate", "seed") if c in stored])
    runs = index.merge(stored, on="run_key", how="left")
    runs["status"] = runs["status"].fillna("missing")
    return manifest, runs


def load_sweep(
    out: str | Path, *, wide: bool = False, metrics: list[str] | str | None = None
) -> pd.DataFrame:
    """The results of a sweep (or sensitivity) directory as a tidy table, for notebooks.

    Long format (default), one row per run and metric::

        run_key, point, replicate, seed, <one column per swept parameter, by dotted key>,
        status, error, metric, value

    ``seed`` is the root seed; the run drew from ``replicate_seed(seed, replicate)``. ``status``
    is ``ok``, ``error`` (the run raised; ``value`` is NaN and ``error`` says why), ``lost`` or
    ``missing`` (not run yet). ``wide=True`` gives one row per run with a column per metric.

    Args:
        out: the ``--out`` directory of ``run.py sweep`` / ``run.py sensitivity``.
        wide: one row per run instead of one per run and metric.
        metrics: KPI names to include; default the spec's ``kpis``; ``"all"`` every stored KPI.
    """
    manifest, runs = load_runs(out)
    if metrics == "all":
        names = sorted(c[len(KPI_PREFIX) :] for c in runs.columns if c.startswith(KPI_PREFIX))
    else:
        names = list(metrics or manifest["kpis"])
    for name in names:
        if f"{KPI_PREFIX}{name}" not in runs:
            runs[f"{KPI_PREFIX}{name}"] = float("nan")
    ids = ["run_key", "point", "replicate", "seed", *manifest["params"], "status", "error"]
    wide_frame = runs[ids + [f"{KPI_PREFIX}{n}" for n in names]].rename(
        columns={f"{KPI_PREFIX}{n}": n for n in names}
    )
    if wide:
        return wide_frame.sort_values(["point", "replicate"]).reset_index(drop=True)
    long = wide_frame.melt(id_vars=ids, value_vars=names, var_name="metric", value_name="value")
    return long.sort_values(["point", "replicate", "metric"]).reset_index(drop=True)


def sweep_hash(out: str | Path) -> str:
    """The result hash of the directory's current plan (see ``store.result_hash``)."""
    _, runs = load_runs(out)
    return result_hash(runs.drop_duplicates("run_key"))
