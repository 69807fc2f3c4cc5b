"""``run.py sensitivity``: which levers and uncertainties drive the KPIs (SALib Morris, Sobol)."""

from __future__ import annotations

import argparse

from model.commands.options import shows_progress
from model.commands.sweep import add_sweep_arguments, claim_for, resume_hint


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sensitivity`` sub-parser."""
    p = subparsers.add_parser(
        "sensitivity",
        help="global sensitivity (Morris screen, Sobol indices) of KPIs to swept ranges",
        description="Sample the ranges in a spec's [sweep] table with Morris trajectories and "
        "a Saltelli (Sobol) design, run every point with replicates through the same executor "
        "and resumable store as `sweep`, and compute indices on replicate means. A dummy "
        "parameter (the random seed) gives the noise floor: parameters not above it cannot be "
        "told apart from Monte-Carlo noise.",
    )
    p.add_argument(
        "spec",
        metavar="SPEC.toml",
        help="spec with ranges, e.g. scenarios/sweeps/sensitivity_market.toml",
    )
    add_sweep_arguments(p)
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the designs and print the ranking per KPI."""
    from model.sweep.sensitivity import run_sensitivity
    from model.sweep.spec import load_spec

    spec = load_spec(args.spec, kind="sensitivity", root_seed=args.seed)
    out, claim = claim_for(args, spec, "sensitivity")
    with resume_hint(out):
        result = run_sensitivity(
            spec,
            claim,
            workers=args.workers,
            scheduler=args.scheduler,
            retries=args.retries,
            progress=shows_progress(args),
            plots=not args.no_plots,
            log=print,
        )
    print(
        f"ran {result.n_ran} runs this time, reused {result.n_reused}; "
        f"{result.n_failed} of {result.n_runs} failed (recorded with their error)"
    )
    assert spec.sensitivity is not None
    for kpi in spec.kpis:
        if kpi in result.skipped:
            print(f"{kpi}: not analysed: {result.skipped[kpi]}")
            continue
        for method in spec.sensitivity.methods:
            ranked = result.ranking(kpi, method)
            label = "total Sobol index ST" if method == "sobol" else "Morris mu*"
            floor = ranked["noise_floor"].iloc[0] if len(ranked) else float("nan")
            print(f"{kpi} — {label} (noise floor from the dummy: {floor:.3g}):")
            for _, row in ranked.iterrows():
                flag = "" if row["above_noise"] else "   (not above noise)"
                print(f"  {row['parameter']:<40} {row['value']:10.3g} ± {row['conf']:.2g}{flag}")
    print(f"wrote {out / 'indices.csv'}")
    for path in result.plots:
        print(f"wrote {path}")
    return 0
