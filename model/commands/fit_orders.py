"""``run.py fit-orders``: fit BG/NBD and Gamma-Gamma to a team's own order export."""

from __future__ import annotations

import argparse
import sys

from model.commands.options import add_overwrite_argument
from model.outputs import claim_output_dir, publish

DEFAULT_OUT = "out/fit"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fit-orders`` sub-parser."""
    p = subparsers.add_parser(
        "fit-orders",
        help="fit BG/NBD, the two-state model and Gamma-Gamma to an order export; backtest",
        description="Fit BG/NBD (repeat purchasing, the reference), the two-state model "
        "(dormant customers return; with a seasonal profile when calibration spans a year) and "
        "Gamma-Gamma (order value) by maximum likelihood to a CSV of orders (customer id, date, "
        "amount), write the fitted behaviour as scenario fragments in daily units, and with "
        "--holdout-end compare both models' forecasts of holdout repeat transactions with what "
        "happened.",
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
    p.add_argument(
        "--seasonality",
        choices=["auto", "none"],
        default="auto",
        help="auto (default): estimate month multipliers and festival lifts when calibration "
        "spans a year or more; none: never",
    )
    p.add_argument(
        "--calendar",
        metavar="FILE.toml",
        help="a scenario or fragment whose [calendar] profile to use when none is estimated",
    )
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", help=f"({DEFAULT_OUT})")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Fit the export and write its outputs; every output appears only if all steps succeed."""
    # Imported here so `run.py --help` stays fast.
    import pandas as pd

    from model.fitting.order_log import fit_order_export, write_fit_outputs
    from model.fitting.orders import OrderColumns

    claim = claim_output_dir(args.out, "fit-orders", overwrite=args.overwrite, inputs=[args.orders])
    result = fit_order_export(
        args.orders,
        args.calibration_end,
        args.holdout_end,
        time_unit=args.time_unit,
        columns=OrderColumns(args.customer_col, args.date_col, args.amount_col),
        date_format=args.date_format,
        seasonality=args.seasonality,
        calendar_file=args.calendar,
    )
    for note in result.notes:
        print(f"note: {note}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    with publish(claim) as out:
        write_fit_outputs(out, result)
    _print_report(args, result.record, result.fit.holdout, pd)
    return 0


def _print_report(args, record, holdout, pd) -> None:
    unit = record["time_unit"]
    bg, ts, gg = record["bgnbd"], record["two_state"], record["gamma_gamma"]
    print(
        f"{record['n_customers']} customers ({record['n_repeat_customers']} with repeat "
        f"purchases), {record['n_transactions']} transactions from {record['n_orders']} orders; "
        f"dates read as {record['date_format']}"
    )
    print(f"BG/NBD ({unit}s):    " + _params_line(bg, ("r", "alpha", "a", "b")))
    print(f"two-state ({unit}s): " + _params_line(ts, ("r", "alpha", "a", "b", "rho")))
    print(
        f"  log-likelihood {ts['loglik']:.1f} vs BG/NBD {bg['loglik']:.1f} "
        f"(LR {ts['lr_vs_bgnbd']:.1f}); AIC {ts['aic']:.1f} vs {bg['aic']:.1f}"
    )
    print(f"seasonal profile: {record['seasonality']['why']}")
    season = record["seasonality"]
    if season["source"] == "estimated":
        months = ", ".join(f"{v:.2f}" for v in season["month_multipliers"])
        print(f"  month multipliers Jan–Dec: {months}")
        for name, lift in season["lifts"].items():
            se = season["se"]["lifts"][name]
            print(f"  {name}: lift {lift:.2f}" + (f" (se {se:.2g})" if se is not None else ""))
    print("Gamma-Gamma:          " + _params_line(gg, ("p", "q", "gamma")))
    if holdout is not None:
        h = record["holdout"]
        table = holdout["bgnbd"].by_frequency[["n_customers", "actual_per_customer"]].copy()
        for name, res in holdout.items():
            table[f"{name}_per_customer"] = res.by_frequency["predicted_per_customer"]
        with pd.option_context("display.float_format", "{:.2f}".format):
            print(table.to_string())
        print(f"holdout to {record['holdout_end']}: {h['actual_repeat']} repeat transactions")
        for name, label in (("bgnbd", "BG/NBD"), ("two_state", "two-state")):
            m = h[name]
            error = "undefined" if m["error_pct"] is None else f"{m['error_pct']:+.1f}%"
            corr = "n/a" if m["correlation"] is None else f"{m['correlation']:.3f}"
            print(
                f"  {label:<10} forecast {m['predicted_repeat']:.1f}, error {error}, "
                f"per-customer RMSE {m['rmse']:.3f}, correlation {corr}"
            )
    print(f"wrote {args.out}/")


def _params_line(block: dict, names: tuple[str, ...]) -> str:
    parts = []
    for n in names:
        se = block["se"][n]
        parts.append(f"{n}={block[n]:.4g}" + (f" (se {se:.2g})" if se is not None else ""))
    return ", ".join(parts)
