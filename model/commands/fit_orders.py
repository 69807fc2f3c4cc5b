"""``run.py fit-orders``: fit BG/NBD and Gamma-Gamma to a team's own order export."""

from __future__ import annotations

import argparse
import sys

from model.commands.common import add_overwrite_argument
from model.errors import InputError
from model.outputs import claim_output_dir, publish

DEFAULT_OUT = "out/fit"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fit-orders`` sub-parser."""
    p = subparsers.add_parser(
        "fit-orders",
        help="fit BG/NBD and Gamma-Gamma to an order export; backtest on a holdout",
        description="Fit BG/NBD (repeat purchasing) and Gamma-Gamma (order value) by maximum "
        "likelihood to a CSV of orders (customer id, date, amount), write the fitted "
        "behaviour as a scenario fragment in daily units, and with --holdout-end compare the "
        "forecast of repeat transactions in the holdout with what happened.",
    )
    p.add_argument("orders", metavar="ORDERS.csv", help="order export, one order per row")
    p.add_argument(
        "--calibration-end",
        required=True,
        metavar="DATE",
        help="last day (YYYY-MM-DD, inclusive) of the period the model is fitted on",
    )
    p.add_argument(
        "--holdout-end",
        metavar="DATE",
        help="last day (inclusive) of the holdout period to backtest on",
    )
    p.add_argument(
        "--time-unit",
        choices=["day", "week"],
        default="day",
        help="time unit of the fit (default: day); the fragment is always in days",
    )
    p.add_argument("--customer-col", default="customer_id", metavar="C", help="(customer_id)")
    p.add_argument("--date-col", default="date", metavar="D", help="(date)")
    p.add_argument("--amount-col", default="amount", metavar="A", help="(amount, yuan)")
    p.add_argument(
        "--date-format",
        metavar="FMT",
        help="strptime format of the date part, e.g. %%d/%%m/%%Y, if detection is ambiguous",
    )
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"({DEFAULT_OUT})")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read, fit, backtest and write; every output appears only if all steps succeed."""
    # Imported here so `run.py --help` stays fast.
    import pandas as pd

    from model.fitting.backtest import holdout_comparison, tracking_curves
    from model.fitting.bgnbd import HOMOGENEOUS_P, BetaGeoModel
    from model.fitting.gamma_gamma import GammaGammaModel
    from model.fitting.orders import (
        TIME_UNITS,
        OrderColumns,
        parse_cli_date,
        read_orders,
        rfm_summary,
        to_transactions,
    )
    from model.fitting.report import (
        fit_record,
        plot_backtest,
        write_by_frequency,
        write_fit_json,
        write_fragment,
        write_summary,
    )

    cal_end = parse_cli_date(args.calibration_end, "--calibration-end")
    hold_end = parse_cli_date(args.holdout_end, "--holdout-end") if args.holdout_end else None
    if hold_end is not None and hold_end <= cal_end:
        raise InputError(
            f"--holdout-end {args.holdout_end}: must be after --calibration-end "
            f"{args.calibration_end}"
        )
    columns = OrderColumns(args.customer_col, args.date_col, args.amount_col)
    claim = claim_output_dir(args.out, "fit-orders", overwrite=args.overwrite, inputs=[args.orders])
    orders = read_orders(args.orders, columns, date_format=args.date_format)
    if not orders.attrs["encoding"].startswith("UTF-8") or orders.attrs["delimiter"] != "comma":
        print(
            f"note: read {args.orders} as {orders.attrs['encoding']}, "
            f"{orders.attrs['delimiter']}-separated"
        )
    tx = to_transactions(orders)

    first_day, last_day = tx["date"].min(), tx["date"].max()
    if cal_end < first_day:
        raise InputError(
            f"--calibration-end {args.calibration_end}: before the first order "
            f"({first_day.date()}); choose a date between {first_day.date()} and "
            f"{last_day.date()}",
            file=args.orders,
        )
    summary = rfm_summary(tx, cal_end, hold_end, args.time_unit)
    if (summary["frequency"] > 0).sum() < 2:
        raise InputError(
            f"fewer than 2 customers bought again by --calibration-end {args.calibration_end}; "
            "BG/NBD and Gamma-Gamma need repeat purchases: choose a later calibration end or a "
            "longer export",
            file=args.orders,
        )
    if hold_end is not None and hold_end > last_day:
        print(
            f"warning: --holdout-end {hold_end.date()} is after the last order "
            f"({last_day.date()}); the holdout's actual count may be incomplete",
            file=sys.stderr,
        )

    bg = BetaGeoModel().fit(summary)
    try:
        gg = GammaGammaModel().fit(summary)
    except ValueError as err:
        raise InputError(
            f"{err} worth more than 0 by --calibration-end {args.calibration_end}; choose a later "
            "calibration end, or check that --amount-col holds the order values",
            file=args.orders,
        ) from None
    holdout = holdout_comparison(summary, bg.params_) if hold_end is not None else None
    record = fit_record(
        source=str(args.orders),
        time_unit=args.time_unit,
        calibration_end=cal_end,
        holdout_end=hold_end,
        summary=summary,
        bgnbd=bg,
        gamma_gamma=gg,
        holdout=holdout,
        date_format=orders.attrs["date_format"],
        n_orders=len(orders),
        n_transactions=len(tx),
    )

    if bg.params_["a"] + bg.params_["b"] > HOMOGENEOUS_P:
        print(
            "note: BG/NBD a and b ran to the boundary: dropout looks the same for every "
            f"customer (p = {bg.params_['a'] / (bg.params_['a'] + bg.params_['b']):.3g}); "
            "see the NOTE in fitted_behaviour.toml"
        )
    with publish(claim) as out:
        write_fit_json(out, record)
        write_fragment(out, record)
        write_summary(out, summary)
        if holdout is not None:
            unit_days = TIME_UNITS[args.time_unit]
            tracking = tracking_curves(tx, summary, bg.params_, hold_end, unit_days)
            write_by_frequency(out, holdout)
            plot_backtest(out, tracking, holdout, cal_end, args.time_unit)

    _print_report(args, record, holdout, pd)
    return 0


def _print_report(args, record, holdout, pd) -> None:
    unit = record["time_unit"]
    bg, gg = record["bgnbd"], record["gamma_gamma"]
    print(
        f"{record['n_customers']} customers ({record['n_repeat_customers']} with repeat "
        f"purchases), {record['n_transactions']} transactions from {record['n_orders']} orders; "
        f"dates read as {record['date_format']}"
    )
    print(f"BG/NBD ({unit}s):  " + _params_line(bg, ("r", "alpha", "a", "b")))
    print("Gamma-Gamma:     " + _params_line(gg, ("p", "q", "gamma")))
    if holdout is not None:
        with pd.option_context("display.float_format", "{:.2f}".format):
            print(holdout.by_frequency.to_string())
        print(
            f"holdout to {record['holdout_end']}: forecast {holdout.predicted_repeat:.1f} repeat "
            f"transactions, actual {holdout.actual_repeat}, error {holdout.error_pct:+.1f}%"
        )
    print(f"wrote {args.out}/")


def _params_line(block: dict, names: tuple[str, ...]) -> str:
    parts = []
    for n in names:
        se = block["se"][n]
        parts.append(f"{n}={block[n]:.4g}" + (f" (se {se:.2g})" if se is not None else ""))
    return ", ".join(parts)
