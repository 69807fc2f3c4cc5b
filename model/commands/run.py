"""``run.py run SCENARIO``: simulate one scenario and write its results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model._version import __version__
from model.commands.options import (
    add_overwrite_argument,
    add_progress_argument,
    add_set_argument,
    load_from_args,
    non_negative_int,
)
from model.kpis import HEADLINE

HEADLINE_KPIS = HEADLINE  # the registry's headline KPIs (model/kpis.py), in its order


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` command."""
    p = subparsers.add_parser(
        "run",
        help="simulate one scenario and write metrics, KPIs and plots",
        description="Simulate one scenario. Writes daily metrics (Parquet and CSV), "
        "summary.json (KPIs and provenance), the resolved scenario and PNG plots to --out.",
    )
    p.add_argument("scenario", help="scenario TOML file, e.g. scenarios/baseline.toml")
    p.add_argument("--seed", type=int, help="root seed (default: the scenario's sim.seed)")
    p.add_argument("--days", type=int, help="horizon in days (default: the scenario's sim.days)")
    add_set_argument(p)
    p.add_argument(
        "--replicate",
        type=non_negative_int,
        metavar="I",
        help="run replicate I of the seed, SeedSequence(seed, spawn_key=(I,)), as compare and "
        "sweep do: re-runs replicate I of a comparison's strategy file exactly",
    )
    p.add_argument(
        "--draw",
        metavar="PATH:ROW",
        help="apply row ROW of a comparison's draws.csv (its drawn market values, and its seed "
        "unless --seed): with --replicate, re-runs that cell of the comparison exactly",
    )
    p.add_argument(
        "--scale",
        type=float,
        metavar="F",
        help="run a faithful miniature at 0 < F ≤ 1 (same as --set market.scale=F)",
    )
    p.add_argument("--out", help="output directory (default: out/<scenario name>)")
    add_overwrite_argument(p)
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    add_progress_argument(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Validate, simulate, then write everything into a fresh output directory at once."""
    # Imported here, not at the top: building the parser (--help) must not load the simulator.
    from model.api import simulate
    from model.outputs import claim_output_dir, default_out, publish, write_json
    from model.resources import check_memory, scenario_run_bytes
    from model.scenario import scenario_to_toml
    from model.scenario.loader import scenario_files
    from model.seeds import replicate_seed

    asked = list(args.overrides)  # what the user set, for the header (not the draw's values)
    if args.draw is not None:  # the draw's values first: a --set on the command line wins
        from model.experiment.uncertainty import read_draw

        values, seed = read_draw(args.draw)
        args.overrides = [*(f"{k}={v!r}" for k, v in values.items()), *args.overrides]
        args.seed = seed if args.seed is None else args.seed
    if args.scale is not None:  # sugar, validated (and reported) like any --set
        args.overrides = [*args.overrides, f"market.scale={args.scale}"]
    scenario = load_from_args(args)
    out = Path(args.out) if args.out else default_out("out", scenario.name)
    inputs = scenario_files(args.scenario)
    claim = claim_output_dir(out, "run", overwrite=args.overwrite, inputs=inputs)
    check_memory(
        what=f"run {args.scenario}",
        size=scenario.market.size,
        per_run=scenario_run_bytes(scenario),
    )
    # The bar shows only on a terminal (tqdm's disable=None), never in a redirected log.
    seed = (
        scenario.sim.seed
        if args.replicate is None
        else replicate_seed(scenario.sim.seed, args.replicate)
    )
    result = simulate(scenario, seed=seed, progress=not args.no_progress)
    with publish(claim) as tmp:
        daily = result.daily.reset_index()  # the calendar date as a column
        daily.to_parquet(tmp / "daily.parquet", index=False)
        daily.to_csv(tmp / "daily.csv", index=False)
        provenance = {
            "package_version": __version__,
            "seed": scenario.sim.seed,
            "replicate": args.replicate,
            "seed_sequence": result.seed,
            "scenario_file": str(args.scenario),
            "overrides": args.overrides,
            "command": " ".join(["run.py", *sys.argv[1:]]) if sys.argv else "",
        }
        write_json(tmp / "summary.json", {**result.summary(), "provenance": provenance})
        header = (
            f"# Resolved scenario of {args.scenario} as run by sidomain {__version__}, "
            f"seed {scenario.sim.seed}.\n# Re-run it exactly: python run.py run <this file>"
            + ("" if args.replicate is None else f" --replicate {args.replicate}")
            + "\n"
        )
        (tmp / "scenario.toml").write_text(header + scenario_to_toml(scenario), encoding="utf-8")
        if not result.guides.empty:
            result.guides.to_csv(tmp / "guides.csv", index=False)
        if not args.no_plots:
            from model.plots import write_run_plots

            write_run_plots(result.daily, tmp)
    from model.formatting import kpi_table, run_header

    header = run_header(
        scenario.name,
        mode=scenario.operation.mode,
        days=scenario.sim.days,
        size=scenario.market.size,
        scale=scenario.market.scale,
        seed=scenario.sim.seed,
        replicate=args.replicate,
        draw=args.draw,
        overrides=asked,
    )
    print("\n".join([*header, *kpi_table(result.summary(), HEADLINE_KPIS)]))
    print(f"\nwrote {out}/")
    return 0
