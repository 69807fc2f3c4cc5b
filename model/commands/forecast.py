"""``run.py forecast SCENARIO``: fan-chart bands of the KPIs over the next N months.

Parses the options and calls :func:`model.calibration.forecasting.forecast`, which validates
everything (the posterior's draws included) and checks ``--out`` before any replicate runs.
"""

from __future__ import annotations

import argparse

from model.calibration.spec import DEFAULT_MONTHS, DEFAULT_REPLICATES, MAX_MONTHS
from model.commands.options import (
    add_execution_arguments,
    add_overwrite_argument,
    add_set_argument,
    command_line,
    load_from_args,
    positive_int,
    set_overrides,
    shows_progress,
)

DEFAULT_OUT = "out/forecast"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forecast`` command."""
    p = subparsers.add_parser(
        "forecast",
        help="forecast customers, orders and contribution with 50%%/90%% bands",
        description="Run R replicates over N months (30 days each) and write the quantile "
        "bands (p05, p25, p50, p75, p95) of customers by domain, orders, monthly and "
        "cumulative contribution to DIR/forecast_bands.csv, every replicate to "
        "DIR/forecast_runs.parquet, a fan chart DIR/forecast.png and DIR/forecast.json. "
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
        help=f"months to forecast, 30 days each, at most {MAX_MONTHS} ({DEFAULT_MONTHS})",
    )
    p.add_argument(
        "--replicates",
        type=positive_int,
        default=DEFAULT_REPLICATES,
        metavar="R",
        help=f"replicates ({DEFAULT_REPLICATES})",
    )
    add_execution_arguments(p)
    add_set_argument(p)
    p.add_argument("--out", metavar="DIR", help=f"output directory ({DEFAULT_OUT}/<scenario>)")
    add_overwrite_argument(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Forecast into ``--out`` and print the bands at a few months."""
    from model.calibration.forecasting import forecast
    from model.outputs import default_out

    # The default folder is named after the scenario (after --set), so read that first.
    out = args.out or default_out(DEFAULT_OUT, load_from_args(args).name)
    result = forecast(
        args.scenario,
        months=args.months,
        replicates=args.replicates,
        seed=args.seed,
        posterior=args.posterior,
        overrides=set_overrides(args),
        workers=args.workers,
        scheduler=args.scheduler,
        out=out,
        overwrite=args.overwrite,
        progress=shows_progress(args),
        command=command_line(args),
    )
    print_summary(result.summary(formatted=True))
    record = result.record
    source = f" with posterior draws from {record['posterior']}" if record["posterior"] else ""
    print(
        f"\n{record['replicates']} replicates × {record['months']} months{source} in "
        f"{record['elapsed_s']:.1f} s"
    )
    print(f"wrote {out}/ (forecast_bands.csv, forecast_runs.parquet, forecast.png, forecast.json)")
    return 0


def print_summary(table) -> None:
    """Median and 90% band per KPI at a few months (``ForecastResult.summary(formatted=True)``)."""
    months = list(dict.fromkeys(table["month"]))
    cells = {
        (row.metric, row.month): f"{row.p50} [{row.p05}, {row.p95}]" for row in table.itertuples()
    }
    metrics = list(dict.fromkeys(table["metric"]))
    width = {m: max(len(cells[k, m]) for k in metrics) for m in months}
    name = max(map(len, metrics))
    print(
        f"{'median [90% band]':<{name}}  "
        + "   ".join(f"{'month ' + str(m):>{width[m]}}" for m in months)
    )
    for metric in metrics:
        line = "   ".join(f"{cells[metric, m]:>{width[m]}}" for m in months)
        print(f"{metric:<{name}}  {line}")
