"""``run.py optimize SPEC``: recommend the levers, confirmed on fresh seeds and draws."""

from __future__ import annotations

import argparse
import sys

from model.commands.options import (
    add_execution_arguments,
    add_overwrite_argument,
    add_set_argument,
    positive_int,
    set_overrides,
    shows_progress,
)

DEFAULT_OUT = "out/optimize"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``optimize`` sub-parser."""
    p = subparsers.add_parser(
        "optimize",
        help="search the levers for the best strategy under constraints, confirmed on fresh seeds",
        description="Search the levers of an optimisation file (TPE, then a local polish) on one "
        "fixed block of market draws and seeds, re-run the best few and the base scenario on "
        "fresh ones, and recommend the best that beats the base there with 95% confidence "
        "(or say that none does). Writes recommendation.toml (runnable with run.py run), "
        "trace.csv, confirmation.csv, response curves and a report. Running the same command "
        "again resumes: finished runs are reused.",
    )
    p.add_argument(
        "spec", metavar="SPEC.toml", help="optimisation file, e.g. scenarios/optimize_levers.toml"
    )
    p.add_argument(
        "--budget-evals",
        type=positive_int,
        metavar="N",
        help="candidates the search evaluates (default: the file's budget_evals)",
    )
    add_execution_arguments(p, retries=True, seed_default="the file's root_seed")
    p.add_argument(
        "--out", metavar="DIR", help=f"output folder ({DEFAULT_OUT}/<name>); running again resumes"
    )
    add_set_argument(p)
    add_overwrite_argument(p)
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the spec, claim the folder, optimise, print the verdict."""
    from pathlib import Path

    from model.optimize import load_spec
    from model.optimize import run as optimise
    from model.optimize.runner import claim
    from model.outputs import default_out

    spec = load_spec(
        args.spec,
        budget_evals=args.budget_evals,
        cli_set=set_overrides(args),
        root_seed=args.seed,
    )
    out = Path(args.out) if args.out else default_out(DEFAULT_OUT, spec.name)
    claimed = claim(out, spec, overwrite=args.overwrite)
    try:
        result = optimise(
            spec,
            claimed,
            workers=args.workers,
            scheduler=args.scheduler,
            retries=args.retries,
            progress=shows_progress(args),
            plots=not args.no_plots,
            log=print,
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished runs are kept in {out}/runs; run the same command "
            "again to resume",
            file=sys.stderr,
        )
        raise
    except RuntimeError as err:  # runs lost their worker: run again to retry them
        print(f"error: {err}", file=sys.stderr)
        return 1
    runs = result.runs
    print(f"runs: {runs.get('ran', 0)} made, {runs.get('reused', 0)} reused from the store")
    print(result.verdict())
    print(f"wrote {out}/recommendation.toml, trace.csv, confirmation.csv, report.html")
    return 0
