"""``run.py compare FILE``: run several strategies on one market and report who wins how often."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from model.commands.common import add_overwrite_argument, positive_int, require_file
from model.compare.report import ranking_text
from model.compare.runner import RunCache, run_comparison
from model.compare.spec import load_comparison
from model.outputs import claim_output_dir, default_out
from model.scenario import parse_set
from model.scenario.loader import scenario_files


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` command."""
    p = subparsers.add_parser(
        "compare",
        help="compare strategies on one market with common random numbers; write a report",
        description="Run every strategy of a comparison file over R replicates with common "
        "random numbers (replicate i of every strategy uses the same seed) and write runs.parquet, "
        "kpis.parquet, comparison.csv (median, 10-90% band, paired difference with the "
        "reference, P(beats the reference)), PNG plots and a self-contained report.html to --out.",
    )
    p.add_argument("file", help="comparison TOML, e.g. scenarios/compare_operating_modes.toml")
    p.add_argument(
        "--replicates", type=positive_int, help="replicates per strategy (default: the file's)"
    )
    p.add_argument(
        "--seed", type=int, help="root seed (default: the file's root_seed, else the base's)"
    )
    p.add_argument(
        "--workers", type=positive_int, help="local processes (default: every core; 1: in-process)"
    )
    p.add_argument(
        "--scheduler", help="Dask scheduler address (tcp://HOST:PORT) instead of --workers"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override the shared market for every strategy (before the strategies' own "
        "overrides), e.g. --set market.size=200000 (repeatable)",
    )
    p.add_argument("--out", help="output directory (default: out/<comparison name>)")
    add_overwrite_argument(p)
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Validate the whole file first, run, then write everything into --out at once."""
    require_file(args.file, "comparison")
    # --set changes the shared market (before each strategy's own overrides), e.g. a smaller
    # market.size for a quick look.
    market = dict(parse_set(item) for item in args.overrides)
    spec = load_comparison(
        args.file, replicates=args.replicates, root_seed=args.seed, market_overrides=market
    )
    out = Path(args.out) if args.out else default_out("out", spec.name)
    inputs = [args.file, *scenario_files(spec.base_path)]
    claim = claim_output_dir(out, "compare", overwrite=args.overwrite, inputs=inputs)
    # Finished runs wait beside the output until it is written: Ctrl-C or a crash loses no
    # finished run, and the same command resumes.
    cache = claim.path.with_name(f".{claim.path.name}.runs")
    runs = RunCache(
        claim_output_dir(cache, RunCache.COMMAND, overwrite=args.overwrite, option="run cache")
    )
    start = time.perf_counter()
    try:
        result = run_comparison(
            spec, workers=args.workers, scheduler=args.scheduler, progress=True, cache=runs
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished runs are kept in {runs.root}; run the same command to resume",
            file=sys.stderr,
        )
        raise
    elapsed = time.perf_counter() - start
    result.write(claim, plots=not args.no_plots)
    runs.clear()
    print(ranking_text(result.ranking(), spec))
    if not result.failures.empty:
        print(f"\n{len(result.failures)} run(s) did not finish: see {out}/failures.csv")
    print(f"\n{len(result.kpis)} runs in {elapsed:.1f} s; wrote {out}/ (open report.html)")
    return 0
