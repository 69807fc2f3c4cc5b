"""``run.py calibrate SCENARIO --series MONTHLY.csv``: ABC-SMC of private-domain parameters.

Parses the options and calls :func:`model.calibration.calibrating.calibrate`, which validates
everything before it creates ``--out``, keeps the pyABC history in ``DIR/abc.db`` (the same
command again continues from the last finished generation) and rewrites the posterior files.
"""

from __future__ import annotations

import argparse
import sys

from model.calibration.spec import (
    DEFAULT_POPULATION_SIZE,
    DEFAULT_POPULATIONS,
    DEFAULT_PREDICTIVE_DRAWS,
    DEFAULT_PRIORS,
    SERIES_COLUMNS,
)
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

DEFAULT_OUT = "out/calibrate"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` command."""
    defaults = "; ".join(f"{k}={lo:g}:{hi:g}" for k, (lo, hi) in DEFAULT_PRIORS.items())
    p = subparsers.add_parser(
        "calibrate",
        help="fit diversion, unfollow and referral parameters to monthly series by ABC-SMC",
        description="Calibrate private-domain parameters that an order export cannot show to "
        "monthly series by ABC-SMC (pyABC). The series CSV has a 'month' column (1, 2, … or "
        f"YYYY-MM; a month = 30 simulated days from day 0) and any of {', '.join(SERIES_COLUMNS)} "
        "(pool and public customers at month end; joins = diverted + referred, unfollows and "
        "orders summed per month). The history is kept in DIR/abc.db: running the same "
        "command again continues from the last finished generation. Writes posterior.csv, "
        "posterior.json, posterior_predictive.csv and posterior_predictive.png to DIR, and "
        "calibration.json (the inputs a continuation must match).",
    )
    p.add_argument("scenario", help="scenario TOML file, e.g. scenarios/baseline.toml")
    p.add_argument("--series", required=True, metavar="MONTHLY.csv", help="observed series")
    p.add_argument(
        "--param",
        dest="params",
        action="append",
        default=None,
        metavar="KEY=LOW:HIGH",
        help=f"a calibrated parameter with a uniform prior (repeatable); default: {defaults}",
    )
    p.add_argument(
        "--populations",
        type=positive_int,
        default=DEFAULT_POPULATIONS,
        metavar="K",
        help=f"total ABC-SMC generations, finished ones in DIR/abc.db included "
        f"({DEFAULT_POPULATIONS})",
    )
    p.add_argument(
        "--population-size",
        type=positive_int,
        default=DEFAULT_POPULATION_SIZE,
        metavar="N",
        help=f"accepted particles per generation ({DEFAULT_POPULATION_SIZE})",
    )
    p.add_argument(
        "--predictive-draws",
        type=positive_int,
        default=DEFAULT_PREDICTIVE_DRAWS,
        metavar="N",
        help="posterior draws simulated for the posterior-predictive check "
        f"({DEFAULT_PREDICTIVE_DRAWS})",
    )
    add_execution_arguments(p)
    add_set_argument(p)
    p.add_argument("--out", metavar="DIR", help=f"output directory ({DEFAULT_OUT}/<scenario>)")
    add_overwrite_argument(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Calibrate (or continue), then print the posterior."""
    from model.calibration.calibrating import calibrate
    from model.outputs import default_out

    # The default folder is named after the scenario (after --set), so read that first.
    out = args.out or default_out(DEFAULT_OUT, load_from_args(args).name)
    try:
        result = calibrate(
            args.scenario,
            args.series,
            out=out,
            params=args.params,
            overrides=set_overrides(args),
            populations=args.populations,
            population_size=args.population_size,
            predictive_draws=args.predictive_draws,
            seed=args.seed,
            workers=args.workers,
            scheduler=args.scheduler,
            overwrite=args.overwrite,
            progress=shows_progress(args),
            log=print,
            command=command_line(args),
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: finished generations are kept in {out}/abc.db; run the same command "
            "again to continue from the last one",
            file=sys.stderr,
        )
        raise
    print_posterior(result.record)
    print(
        f"\nwrote {out}/ (abc.db, calibration.json, posterior.csv, posterior.json, "
        "posterior_predictive.csv, posterior_predictive.png)"
    )
    return 0


def print_posterior(record: dict) -> None:
    """The posterior per parameter, then the epsilon schedule and acceptances."""
    n = record["generations"]
    print(
        f"\nposterior after {n} generation{'s' * (n != 1)} "
        f"({record['generations_this_run']} this run, {record['elapsed_s']:.0f} s), "
        f"{record['population_size']} particles:"
    )
    summary = record["parameters"]
    width = max(len(k) for k in summary)
    print(f"  {'parameter':<{width}}  {'prior':>17}  {'median':>9}  {'90% interval':>21}")
    for key, s in summary.items():
        prior = f"{s['prior_low']:.4g}–{s['prior_high']:.4g}"
        interval = f"{s['q05']:.4g} – {s['q95']:.4g}"
        print(f"  {key:<{width}}  {prior:>17}  {s['median']:>9.4g}  {interval:>21}")
    eps = ", ".join(f"{e:.3g}" for e in record["epsilon_schedule"])
    acc = ", ".join(f"{a['accepted']}/{a['simulations']}" for a in record["acceptance"])
    print(f"  epsilon by generation: {eps}\n  accepted/simulated: {acc}")
