"""``run.py forecast SCENARIO``: fan-chart bands of the KPIs over the next N months.

Each replicate ``i`` runs with ``replicate_seed(seed, i)``; with ``--posterior DIR`` (the
output of ``calibrate``) replicate ``i`` also takes the ``i``-th draw of the posterior
(resampled by weight with a seeded rng) as scenario overrides, so the bands hold parameter
and process uncertainty together.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from model.commands.common import (
    add_overwrite_argument,
    add_set_argument,
    load_from_args,
    positive_int,
    write_json,
)
from model.errors import InputError

DEFAULT_OUT = "out/forecast"
DEFAULT_MONTHS = 12
DEFAULT_REPLICATES = 40
MAX_MONTHS = 121  # 3650 days, the simulator's longest horizon


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forecast`` command."""
    p = subparsers.add_parser(
        "forecast",
        help="forecast customers, orders and contribution with 50%%/90%% bands",
        description="Run R replicates over N months (30 days each) and write the quantile "
        "bands (p05, p25, p50, p75, p95) of customers by domain, orders, monthly and "
        "cumulative contribution to DIR/forecast_bands.csv with a fan chart DIR/forecast.png. "
        "With --posterior DIR from `calibrate`, each replicate uses its own posterior draw. "
        "At the baseline's 1M people a replicate of 12 months takes a few seconds; for a "
        "quick look shrink the market, e.g. --set market.size=100000 --set "
        "market.initial_public=5000.",
    )
    p.add_argument("scenario", help="scenario TOML file, e.g. scenarios/baseline.toml")
    p.add_argument(
        "--posterior",
        metavar="DIR",
        help="a calibrate output directory: replicate i uses posterior draw i",
    )
    p.add_argument(
        "--months",
        type=positive_int,
        default=DEFAULT_MONTHS,
        metavar="N",
        help=f"months to forecast, 30 days each ({DEFAULT_MONTHS})",
    )
    p.add_argument(
        "--replicates",
        type=positive_int,
        default=DEFAULT_REPLICATES,
        metavar="R",
        help=f"replicates ({DEFAULT_REPLICATES})",
    )
    p.add_argument("--seed", type=int, help="root seed (default: the scenario's sim.seed)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=positive_int, metavar="N",
        help="local processes (1: in-process; default: every core)",
    )
    where.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="run the replicates on a Dask cluster"
    )
    add_set_argument(p)
    p.add_argument("--out", metavar="DIR", help=f"output directory ({DEFAULT_OUT}/<scenario>)")
    add_overwrite_argument(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


def read_posterior(directory: str | Path):
    """Read ``DIR/posterior.csv`` (parameter columns and ``weight``) written by calibrate.

    Raises:
        InputError: no such file, no weight column, no parameters, or bad weights.
    """
    import numpy as np
    import pandas as pd

    path = Path(directory) / "posterior.csv"
    if not path.is_file():
        raise InputError(
            "no posterior.csv here; --posterior takes the --out directory of `run.py calibrate`",
            file=str(directory),
        )
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"not a readable CSV ({err})", file=str(path)) from None
    if "weight" not in frame.columns:
        raise InputError(
            f"no 'weight' column (columns: {', '.join(frame.columns)}); expected the "
            "posterior.csv written by `run.py calibrate`",
            file=str(path),
        )
    params = [c for c in frame.columns if c != "weight"]
    if not params or frame.empty:
        raise InputError("no parameter columns or no rows", file=str(path))
    for col in frame.columns:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(float)) | (values < 0 if col == "weight" else False)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                f"line {i + 2}, column {col!r}: {frame[col].iloc[i]!r} is not "
                + ("a weight ≥ 0" if col == "weight" else "a number"),
                file=str(path),
            )
        frame[col] = values.astype(float)
    if frame["weight"].sum() <= 0:
        raise InputError("every weight is 0", file=str(path))
    return frame


def main(args: argparse.Namespace) -> int:
    """Validate, run the replicates through the executor seam, write and print the bands."""
    from model.calibration.forecast import bands, make_tasks, run_replicates, with_overrides
    from model.calibration.plots import fan_chart
    from model.calibration.posterior import draw_parameters
    from model.execution import open_executor
    from model.outputs import claim_output_dir, default_out, publish
    from model.resources import (
        MAX_REPLICATES,
        check_count,
        check_memory,
        concurrency,
        scenario_run_bytes,
    )
    from model.scenario.loader import scenario_files

    scenario = load_from_args(args)
    if args.months > MAX_MONTHS:
        raise InputError(f"--months {args.months}: at most {MAX_MONTHS} (3650 simulated days)")
    seed = scenario.sim.seed if args.seed is None else int(args.seed)
    if seed < 0:
        raise InputError(f"--seed {seed}: must be ≥ 0")
    check_count(args.replicates, MAX_REPLICATES, "--replicates")
    draws = None
    if args.posterior:
        posterior = read_posterior(args.posterior)
        draws = draw_parameters(posterior, args.replicates, seed)
        # Validate every draw now: a key this scenario lacks or a value it does not allow
        # should be one clear message, not a failed replicate.
        for values in draws:
            try:
                with_overrides(scenario, values)
            except InputError as err:
                raise InputError(
                    f"--posterior {args.posterior}: a draw does not fit {args.scenario}: {err}"
                ) from None
    out = Path(args.out) if args.out else default_out(DEFAULT_OUT, scenario.name)
    inputs = scenario_files(args.scenario)
    if args.posterior:
        inputs.append(Path(args.posterior) / "posterior.csv")
    claim = claim_output_dir(out, "forecast", overwrite=args.overwrite, inputs=inputs)
    check_memory(
        what=f"forecast of {args.scenario}: {args.replicates} replicates",
        size=scenario.market.size,
        per_run=scenario_run_bytes(scenario),
        parallel=concurrency(args.workers, args.replicates),
        scheduler=args.scheduler,
    )
    tasks = make_tasks(
        scenario, months=args.months, replicates=args.replicates, seed=seed, draws=draws
    )

    started = time.perf_counter()
    with open_executor(workers=args.workers, scheduler=args.scheduler) as executor:
        runs = run_replicates(
            executor, tasks, progress=None if args.no_progress else "forecast"
        )
    elapsed = time.perf_counter() - started
    table = bands(runs)

    with publish(claim) as tmp:
        table.to_csv(tmp / "forecast_bands.csv", index=False)
        runs.to_parquet(tmp / "forecast_runs.parquet", index=False)
        title = f"{scenario.name}: {args.replicates} replicates" + (
            ", posterior draws" if draws else ""
        )
        fan_chart(table, tmp / "forecast.png", title=title)
        write_json(
            tmp / "forecast.json",
            {
                "scenario_file": str(args.scenario),
                "overrides": args.overrides,
                "posterior": str(args.posterior) if args.posterior else None,
                "months": args.months,
                "days_per_month": 30,
                "replicates": args.replicates,
                "seed": seed,
                "elapsed_s": round(elapsed, 2),
                "command": " ".join(["run.py", *sys.argv[1:]]) if sys.argv else "",
            },
        )
    print_bands(table, args.months)
    source = f" with posterior draws from {args.posterior}" if draws else ""
    print(f"\n{args.replicates} replicates × {args.months} months{source} in {elapsed:.1f} s")
    print(f"wrote {out}/ (forecast_bands.csv, forecast.png)")
    return 0


def print_bands(table, months: int) -> None:
    """Median and 90% band per KPI at a few months (the CSV has every month and quantile)."""
    from model.commands.common import format_value

    shown = sorted({m for m in (1, 3, 6, 12, 24, 36, months) if m <= months})
    print("KPI: median [90% band] at month " + ", ".join(map(str, shown)))
    width = max(len(m) for m in table["metric"].unique())
    for metric, block in table.groupby("metric", sort=False):
        block = block.set_index("month")
        cells = [
            f"{format_value(block.at[m, 'p50'])} "
            f"[{format_value(block.at[m, 'p05'])}, {format_value(block.at[m, 'p95'])}]"
            for m in shown
        ]
        print(f"  {metric:<{width}}  " + "   ".join(cells))
