"""Global sensitivity with SALib: Morris as the cheap screen, Sobol (Saltelli) for the shares.

Which levers and market uncertainties drive roi, contribution and repurchase most? Both methods
run on **replicate means** per design point, through the same executor and result store as a
sweep (so they resume, and reuse runs).

The noise floor is a **dummy parameter that is the random seed**: each design row carries a
dummy coordinate u ∈ [0, 1) that sets the point's root seed (and changes nothing else). Its
index is then exactly what Monte-Carlo noise in the replicate means produces, and a parameter
whose index is not above the dummy's band (index + confidence half-width) cannot be told apart
from noise at this design size. A real parameter's runs keep the seed of their design row
(common random numbers), so a lever with no effect gets an index of exactly 0.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.experiment.design import SAMPLER_SPAWN_KEY
from model.outputs import OutputDir, atomic_write
from model.sweep.reading import load_sweep
from model.sweep.runner import Log, build_plan, execute_plan
from model.sweep.spec import Param, SweepSpec

DUMMY = "dummy"


def _problem(params: tuple[Param, ...]) -> dict[str, Any]:
    # SALib samples the unit cube; Range.at maps to each range (log and integer aware).
    return {
        "num_vars": len(params) + 1,
        "names": [p.key for p in params] + [DUMMY],
        "bounds": [[0.0, 1.0]] * (len(params) + 1),
    }


def dummy_seed(root_seed: int, u: float) -> int:
    """The root seed a design row's dummy coordinate selects (63-bit, from sha256)."""
    text = f"{int(root_seed)}:{float(u).hex()}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 1


def _design_seed(root_seed: int, method: str) -> int:
    # The sampler's own seed, apart from every replicate stream of the same root.
    digest = hashlib.sha256(f"{root_seed}:{SAMPLER_SPAWN_KEY}:{method}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def design(spec: SweepSpec, method: str) -> np.ndarray:
    """The unit-cube design matrix (last column the dummy) of one SALib method."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    opts = spec.sensitivity
    assert opts is not None
    problem = _problem(spec.params)
    seed = _design_seed(spec.root_seed, method)
    if method == "sobol":
        return sobol_sample.sample(problem, opts.sobol_n, calc_second_order=False, seed=seed)
    if method == "morris":
        return morris_sample.sample(
            problem, opts.morris_trajectories, num_levels=opts.morris_levels, seed=seed
        )
    raise ValueError(f"unknown method {method!r}")


def _rows_to_points(spec: SweepSpec, x: np.ndarray) -> tuple[list[dict[str, Any]], list[int]]:
    points, seeds = [], []
    for row in x:
        # Unit-cube coordinates of exactly 1.0 (Morris' top level) stay inside the range.
        points.append(
            {p.key: p.range.at(float(u)) for p, u in zip(spec.params, row[:-1], strict=True)}
        )
        seeds.append(dummy_seed(spec.root_seed, row[-1]))
    return points, seeds


@dataclass
class SensitivityResult:
    """Indices per method, KPI and parameter, with what ran and the figures."""

    out: Path
    indices: pd.DataFrame  # method, metric, parameter, index, value, conf
    n_points: int
    n_runs: int  # distinct runs (design points that coincide share their runs)
    n_ran: int
    n_reused: int
    n_failed: int
    skipped: dict[str, str] = field(default_factory=dict)  # metric -> why not analysed
    plots: list[Path] = field(default_factory=list)

    def ranking(self, metric: str, method: str = "sobol") -> pd.DataFrame:
        """Parameters by decreasing total index (Sobol ST or Morris μ*), with the noise floor.

        Columns: parameter, value, conf, above_noise (value − conf > dummy value + conf).
        """
        index = "ST" if method == "sobol" else "mu_star"
        sub = self.indices[
            (self.indices["method"] == method)
            & (self.indices["metric"] == metric)
            & (self.indices["index"] == index)
        ]
        dummy = sub[sub["parameter"] == DUMMY]
        floor = float((dummy["value"] + dummy["conf"]).iloc[0]) if len(dummy) else 0.0
        ranked = sub[sub["parameter"] != DUMMY].sort_values("value", ascending=False)
        ranked = ranked[["parameter", "value", "conf"]].reset_index(drop=True)
        ranked["noise_floor"] = floor
        ranked["above_noise"] = (ranked["value"] - ranked["conf"]) > floor
        return ranked

    def to_frame(self) -> pd.DataFrame:
        """The tidy index table."""
        return self.indices


def run_sensitivity(
    spec: SweepSpec,
    out: str | Path | OutputDir,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: cf.Executor | None = None,
    retries: int = 2,
    progress: bool = True,
    plots: bool = True,
    log: Log | None = None,
    overwrite: bool = False,
) -> SensitivityResult:
    """Run the Morris and/or Sobol designs of a spec and compute indices on replicate means.

    Args:
        spec: loaded with ``load_spec(path, kind="sensitivity")``.
        out: results directory (resumable, shared store with sweeps).
        workers: local processes (1: in-process; None: every core).
        scheduler: a Dask scheduler address; overrides ``workers``.
        executor: an already open executor (overrides both; the caller closes it).
        retries: resubmissions of a run whose worker died.
        progress: show a progress bar.
        plots: write ``DIR/plots/sensitivity_<kpi>.png``.
        log: where to print plan lines (e.g. ``print``).
        overwrite: allow a folder this tool did not create (see :mod:`model.outputs`).

    Returns:
        The indices (also written to ``DIR/indices.csv``) and run counts.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    opts = spec.sensitivity
    assert opts is not None, "load the spec with kind='sensitivity'"
    problem = _problem(spec.params)

    # One plan for all methods: shared points (and runs) are stored once.
    designs = {m: design(spec, m) for m in opts.methods}
    points: list[dict[str, Any]] = []
    seeds: list[int] = []
    spans: dict[str, tuple[int, int]] = {}
    for method, x in designs.items():
        p, s = _rows_to_points(spec, x)
        spans[method] = (len(points), len(points) + len(p))
        points += p
        seeds += s
    plan = build_plan(spec, points, point_seeds=seeds, kind="sensitivity")
    report = execute_plan(
        plan,
        out,
        workers=workers,
        scheduler=scheduler,
        executor=executor,
        retries=retries,
        progress=progress,
        log=log,
        overwrite=overwrite,
        manifest_extra={"designs": {m: list(v) for m, v in spans.items()}},
    )
    out = Path(out)

    wide = load_sweep(out, wide=True)
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for kpi in spec.kpis:
        # Replicate means per point; a point with any failed replicate has no mean.
        per_point = wide.groupby("point").agg(
            mean=(kpi, "mean"), n_ok=("status", lambda s: int((s == "ok").sum()))
        )
        y_all = per_point["mean"].where(per_point["n_ok"] == spec.replicates)
        y_all = y_all.reindex(range(len(points))).to_numpy(float)
        if not np.isfinite(y_all).all():
            bad = int((~np.isfinite(y_all)).sum())
            skipped[kpi] = f"{bad} of {len(points)} points have no value (failed or undefined)"
            continue
        if np.ptp(y_all) == 0:
            skipped[kpi] = "constant over the design"
            continue
        for method, (start, stop) in spans.items():
            y = y_all[start:stop]
            x = designs[method]
            if method == "sobol":
                res = sobol_analyze.analyze(
                    problem,
                    y,
                    calc_second_order=False,
                    num_resamples=opts.resamples,
                    seed=_design_seed(spec.root_seed, "sobol-boot"),
                )
                pairs = (("S1", "S1_conf"), ("ST", "ST_conf"))
            else:
                res = morris_analyze.analyze(
                    problem,
                    x,
                    y,
                    num_levels=opts.morris_levels,
                    num_resamples=opts.resamples,
                    seed=_design_seed(spec.root_seed, "morris-boot"),
                )
                pairs = (("mu_star", "mu_star_conf"), ("sigma", None), ("mu", None))
            for name_i, name in enumerate(problem["names"]):
                for index, conf in pairs:
                    rows.append(
                        {
                            "method": method,
                            "metric": kpi,
                            "parameter": name,
                            "index": index,
                            "value": float(res[index][name_i]),
                            "conf": float(res[conf][name_i]) if conf else float("nan"),
                        }
                    )
    indices = pd.DataFrame(
        rows, columns=["method", "metric", "parameter", "index", "value", "conf"]
    )
    atomic_write(out / "indices.csv", lambda p: indices.to_csv(p, index=False))
    result = SensitivityResult(
        out=out,
        indices=indices,
        n_points=len(points),
        n_runs=report.n_runs,
        n_ran=report.n_ran,
        n_reused=report.n_reused,
        n_failed=int(wide.drop_duplicates("run_key")["status"].eq("error").sum()),
        skipped=skipped,
    )
    if plots and not indices.empty:
        from model.sweep.plots import sensitivity_plot

        result.plots = [
            sensitivity_plot(indices, kpi, out / "plots" / f"sensitivity_{kpi}.png")
            for kpi in spec.kpis
            if kpi not in skipped
        ]
    return result
