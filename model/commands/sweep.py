"""``run.py sweep``: a parameter sweep, resumable, in-process, on local cores or a Dask cluster."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

from model.commands.experiment_args import add_scale_argument, scale_override
from model.commands.options import (
    add_execution_arguments,
    add_overwrite_argument,
    shows_progress,
)

DEFAULT_OUT = "out/sweeps"


def add_sweep_arguments(p: argparse.ArgumentParser) -> None:
    """Where runs execute, the seed, ``--out`` and ``--overwrite``: shared with ``sensitivity``."""
    add_execution_arguments(p, retries=True, seed_default="the spec's root_seed")
    p.add_argument(
        "--out",
        metavar="DIR",
        help=f"results directory; running again resumes it ({DEFAULT_OUT}/<spec name>)",
    )
    add_overwrite_argument(p)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` sub-parser."""
    p = subparsers.add_parser(
        "sweep",
        help="run a parameter sweep (grid, Latin hypercube or Sobol) with replicates",
        description="Run every point of a sweep spec (TOML: base scenario, swept parameters, "
        "replicates, root seed, KPIs) and store one row per run in Parquet under --out. "
        "Running the same command again runs only the runs that are missing, so an "
        "interrupted sweep resumes and added points or replicates reuse finished runs. Prints "
        "the best lever setting per KPI (over market parameters: their ranges and rank "
        "correlations instead, as the market is not a choice) and writes plots to DIR/plots.",
    )
    p.add_argument(
        "spec",
        metavar="SPEC.toml",
        help="sweep spec, e.g. scenarios/sweeps/outreach_vs_incentive.toml",
    )
    add_sweep_arguments(p)
    add_scale_argument(p)
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load and validate the spec, run what is missing, print the summary."""
    from model.sweep.runner import run_sweep
    from model.sweep.spec import load_spec

    spec = load_spec(args.spec, kind="sweep", overrides=scale_override(args), root_seed=args.seed)
    out, claim = claim_for(args, spec, "sweep")
    with resume_hint(out):
        result = run_sweep(
            spec,
            claim,
            workers=args.workers,
            scheduler=args.scheduler,
            retries=args.retries,
            progress=shows_progress(args),
            plots=not args.no_plots,
            log=print,
        )
    r = result.report
    print(
        f"ran {r.n_ran} runs this time ({r.n_failed} raised, {r.n_lost} lost); reused {r.n_reused}"
    )
    print(
        f"{r.n_runs - result.n_missing}/{r.n_runs} runs stored, "
        f"{result.n_failed_total} failed (recorded with their error), "
        f"{result.n_missing} missing"
    )
    print(f"result hash {result.result_hash}")
    print_best(result.best)
    print_ranges(result.ranges)
    for path in result.plots:
        print(f"wrote {path}")
    print(f"table: from model import load_sweep; load_sweep({str(out)!r})")
    if result.n_missing:
        print(
            f"{result.n_missing} runs lost their worker {args.retries + 1} times; run the "
            "same command again to retry them",
            file=sys.stderr,
        )
        return 1
    return 0


def claim_for(args: argparse.Namespace, spec, kind: str):
    """The output folder of a sweep or sensitivity run, checked before any run starts."""
    from pathlib import Path

    from model.outputs import default_out
    from model.scenario.loader import scenario_files
    from model.sweep.runner import claim_store

    out = Path(args.out) if args.out else default_out(DEFAULT_OUT, spec.name)
    inputs = [Path(args.spec), *scenario_files(spec.scenario_path)]
    return out, claim_store(out, kind, overwrite=args.overwrite, inputs=inputs)


@contextlib.contextmanager
def resume_hint(out) -> Iterator[None]:
    """On Ctrl-C (or SIGTERM: the CLI turns it into one), say how to resume; exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        from model.experiment.store import ResultStore

        stored = len(ResultStore(out).finished_keys())
        print(
            f"\ninterrupted: {stored} finished runs are stored in {out}; run the same "
            "command again to run only the missing ones",
            file=sys.stderr,
        )
        raise


def print_best(best) -> None:
    """Print the best lever setting per KPI: mean, 10–90% band, then each lever's value."""
    if best is None or best.empty:
        return
    from model import formatting as fmt

    print("best lever setting per KPI (mean over replicates, 10–90% band):")
    fixed = {"kpi", "direction", "point", "mean", "median", "p10", "p90", "n"}
    for _, row in best.iterrows():
        kpi = row["kpi"]
        where = "" if row["point"] is None else f" at point {row['point']}"
        print(
            f"  {fmt.kpi_label(kpi)} ({row['direction']} is better): "
            f"{_with_band(kpi, row['mean'], row['p10'], row['p90'])}{where}:"
        )
        for key, value in row.items():
            if key not in fixed:
                print(f"    {key} = {_plain(value)}  ({fmt.param_label(key)})")


def _with_band(kpi: str, mean: float, low: float, high: float) -> str:
    """``¥7,768 [¥7,322, ¥8,239]``; a unit written after the number comes once, at the end."""
    from model import formatting as fmt
    from model.kpis import KPIS

    texts = [fmt.format_kpi(kpi, v) for v in (mean, low, high)]
    suffix = SUFFIX_UNITS.get(KPIS[kpi].unit, "")
    if suffix and all(t.endswith(suffix) for t in texts):
        bare = [t[: -len(suffix)] for t in texts]
        return f"{bare[0]} [{bare[1]}, {bare[2]}]{suffix}"
    return f"{texts[0]} [{texts[1]}, {texts[2]}]"


# Units model.formatting writes after the number (¥ and % stay on every number of a band).
SUFFIX_UNITS = {"per_1000": " per 1,000", "rate": "/member/month"}


def print_ranges(ranges) -> None:
    """Print, per KPI, its range over the market points and each market parameter's pull."""
    if ranges is None or ranges.empty:
        return
    from model import formatting as fmt

    print(
        "market parameters are facts, not choices, so there is no best point: per KPI, the "
        "range of the replicate means over the points, and each market parameter's rank "
        "correlation with them (−1…+1):"
    )
    stats = {"kpi", "min", "p10", "median", "p90", "max", "n_points"}
    for _, row in ranges.iterrows():
        kpi = row["kpi"]
        money = [fmt.format_kpi(kpi, row[c], compact=True) for c in ("min", "median", "max")]
        print(
            f"  {fmt.kpi_label(kpi)}: {money[0]} to {money[2]} (median {money[1]} over "
            f"{int(row['n_points'])} points)"
        )
        pulls = sorted(
            ((k, v) for k, v in row.items() if k not in stats),
            key=lambda kv: -abs(kv[1]) if kv[1] == kv[1] else 0,
        )
        for key, rho in pulls:
            shown = "n/a (constant)" if rho != rho else f"{rho:+.2f}"
            print(f"    {shown:>15}  {key} ({fmt.param_label(key, with_unit=False)})")


def _plain(value) -> str:
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)
