"""``run.py compare FILE``: several strategies on the same draws of the market; a robust verdict."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from model.commands.experiment_args import add_scale_argument, shared_overrides
from model.commands.options import (
    add_execution_arguments,
    add_overwrite_argument,
    positive_int,
    require_file,
    shows_progress,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` command."""
    p = subparsers.add_parser(
        "compare",
        help="compare strategies across draws of the uncertain market; write a robust verdict",
        description="Run every strategy of a comparison file on the same K draws of the "
        "uncertain market parameters (Latin hypercube over their plausible ranges) and, within "
        "a draw, the same R replicate seeds; rank them with P(best), P(beats the reference), "
        "regret and the minimax-regret choice; find where the verdict flips (PRIM); write "
        "comparison.csv, conditions.csv, draws.csv, runs.parquet, plots and a self-contained "
        "report.html to --out.",
    )
    p.add_argument("file", help="comparison TOML, e.g. scenarios/compare_operating_modes.toml")
    p.add_argument(
        "--replicates",
        type=positive_int,
        metavar="R",
        help="replicates per draw (default: the file's; without draws, draws × replicates)",
    )
    p.add_argument(
        "--draws",
        type=positive_int,
        metavar="K",
        help="draws of the uncertain market parameters (default: the file's, else 10)",
    )
    p.add_argument(
        "--no-uncertainty",
        action="store_true",
        help="no draws: every strategy on the base market only, the noise-only comparison",
    )
    add_execution_arguments(
        p, retries=True, seed_default="the file's root_seed, else the base's sim.seed"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a value of the shared market for every strategy (before the strategies' own "
        "overrides); a market parameter set here is a stated fact, not drawn, e.g. "
        "--set market.size=200000 (repeatable)",
    )
    add_scale_argument(p)
    p.add_argument("--out", help="output directory (default: out/<comparison name>)")
    add_overwrite_argument(p)
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Validate the whole file first, run (resuming), then write everything into --out at once."""
    # Imported here: `run.py --help` and the other commands need none of it.
    from model.compare.runner import STORE_COMMAND, RunStore, run_comparison
    from model.compare.spec import load_comparison
    from model.compare.terminal import comparison_text
    from model.outputs import claim_output_dir, default_out
    from model.scenario.loader import scenario_files

    require_file(args.file, "comparison")
    spec = load_comparison(
        args.file,
        replicates=args.replicates,
        root_seed=args.seed,
        draws=args.draws,
        uncertainty=not args.no_uncertainty,
        market_overrides=shared_overrides(args),
    )
    out = Path(args.out) if args.out else default_out("out", spec.name)
    inputs = [args.file, *scenario_files(spec.base_path)]
    claim = claim_output_dir(out, "compare", overwrite=args.overwrite, inputs=inputs)
    # Finished runs wait beside the output until it is written: Ctrl-C or a crash loses no
    # finished run, and the same command resumes.
    store = claim.path.with_name(f".{claim.path.name}.runs")
    runs = RunStore(
        claim_output_dir(store, STORE_COMMAND, overwrite=args.overwrite, option="run cache")
    )
    start = time.perf_counter()
    try:
        result = run_comparison(
            spec,
            workers=args.workers,
            scheduler=args.scheduler,
            retries=args.retries,
            progress=shows_progress(args),
            store=runs,
            log=print,
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished runs are kept in {runs.claim.shown}; run the same command "
            "to resume",
            file=sys.stderr,
        )
        raise
    elapsed = time.perf_counter() - start
    result.write(claim, plots=not args.no_plots)
    runs.clear()
    print(comparison_text(result, result.ranking(), result.verdict(), result.conditions()))
    if not result.failures.empty:
        print(f"\n{len(result.failures)} run(s) did not finish: see {out}/failures.csv")
    print(f"\n{len(result.kpis):,} runs in {elapsed:.1f} s; wrote {out}/ (open report.html)")
    return 0
