"""``run.py sweep``: a parameter sweep, resumable, in-process, on local cores or a Dask cluster."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator

from model.commands.common import add_overwrite_argument, non_negative_int, positive_int

DEFAULT_OUT = "out/sweeps"


def add_execution_arguments(p: argparse.ArgumentParser) -> None:
    """``--workers``, ``--scheduler``, ``--retries``, ``--out``: shared with ``sensitivity``."""
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="local processes (1: in-process; default: every core)",
    )
    where.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on a Dask cluster through its scheduler address instead of local processes",
    )
    p.add_argument(
        "--retries",
        type=non_negative_int,
        default=2,
        metavar="K",
        help="resubmissions of a run whose worker died (a run that raises is recorded, not "
        "retried) (2)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help=f"results directory; running again resumes it ({DEFAULT_OUT}/<spec name>)",
    )
    add_overwrite_argument(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` sub-parser."""
    p = subparsers.add_parser(
        "sweep",
        help="run a parameter sweep (grid, Latin hypercube or Sobol) with replicates",
        description="Run every point of a sweep spec (TOML: base scenario, swept parameters, "
        "replicates, root seed, KPIs) and store one row per run in Parquet under --out. "
        "Running the same command again runs only the runs that are missing, so an "
        "interrupted sweep resumes and added points or replicates reuse finished runs. Prints "
        "the best point per KPI and writes plots to DIR/plots.",
    )
    p.add_argument("spec", metavar="SPEC.toml", help="sweep spec, e.g. "
                   "scenarios/sweeps/outreach_vs_incentive.toml")
    add_execution_arguments(p)
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load and validate the spec, run what is missing, print the summary."""
    from model.sweep.runner import run_sweep
    from model.sweep.spec import load_spec

    spec = load_spec(args.spec, kind="sweep")
    out, claim = claim_for(args, spec, "sweep")
    with resume_hint(out):
        result = run_sweep(
            spec,
            claim,
            workers=args.workers,
            scheduler=args.scheduler,
            retries=args.retries,
            progress=not args.no_progress,
            plots=not args.no_plots,
            log=print,
        )
    r = result.report
    print(f"ran {r.n_ran} runs this time ({r.n_failed} raised, {r.n_lost} lost); "
          f"reused {r.n_reused}")
    print(f"{r.n_runs - result.n_missing}/{r.n_runs} runs stored, "
          f"{result.n_failed_total} failed (recorded with their error), "
          f"{result.n_missing} missing")
    print(f"result hash {result.result_hash}")
    print_best(result.best)
    for path in result.plots:
        print(f"wrote {path}")
    print(f"table: from model import load_sweep; load_sweep({str(out)!r})")
    if result.n_missing:
        print(f"{result.n_missing} runs lost their worker {args.retries + 1} times; run the "
              "same command again to retry them", file=sys.stderr)
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
        from model.sweep.store import ResultStore

        stored = len(ResultStore(out).finished_keys())
        print(f"\ninterrupted: {stored} finished runs are stored in {out}; run the same "
              "command again to run only the missing ones", file=sys.stderr)
        raise


def print_best(best) -> None:
    """Print the best point per KPI: parameters, replicate mean and 10–90% band."""
    if best is None or best.empty:
        print("no finished runs to rank")
        return
    print("best point per KPI (mean over replicates, 10–90% band):")
    fixed = {"kpi", "direction", "point", "mean", "median", "p10", "p90", "n"}
    for _, row in best.iterrows():
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in row.items() if k not in fixed)
        print(f"  {row['kpi']} ({row['direction']}): {_fmt(row['mean'])} "
              f"[{_fmt(row['p10'])}, {_fmt(row['p90'])}] at point {row['point']}: {params}")


def _fmt(value) -> str:
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)
