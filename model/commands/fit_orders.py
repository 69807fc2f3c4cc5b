"""``run.py fit-orders``: fit BG/NBD and Gamma-Gamma to a team's own order export."""

from __future__ import annotations

import argparse
import math
import sys

from model.commands.options import add_overwrite_argument
from model.errors import InputError
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
    """Read, fit, backtest and write; every output appears only if all steps succeed."""
    # Imported here so `run.py --help` stays fast.
    import pandas as pd

    from model.fitting.bgnbd import HOMOGENEOUS_P
    from model.fitting.orders import (
        OrderColumns,
        parse_cli_date,
        read_orders,
        rfm_summary,
        to_transactions,
    )
    from model.fitting.pipeline import fit_order_log
    from model.fitting.report import (
        fit_record,
        plot_backtest,
        write_by_frequency,
        write_fit_json,
        write_fragment,
        write_summary,
        write_two_state_fragment,
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

    given = _read_calendar(args.calendar) if args.calendar else None
    try:
        fit = fit_order_log(tx, summary, cal_end, hold_end, args.time_unit, args.seasonality, given)
    except ValueError as err:  # Gamma-Gamma: too few customers with repeat spend
        raise InputError(
            f"{err} worth more than 0 by --calibration-end {args.calibration_end}; choose a later "
            "calibration end, or check that --amount-col holds the order values",
            file=args.orders,
        ) from None
    record = fit_record(
        source=str(args.orders),
        time_unit=args.time_unit,
        calibration_end=cal_end,
        holdout_end=hold_end,
        fit=fit,
        date_format=orders.attrs["date_format"],
        n_orders=len(orders),
        n_transactions=len(tx),
    )

    bg = fit.bgnbd
    if bg.params_["a"] + bg.params_["b"] > HOMOGENEOUS_P:
        print(
            "note: BG/NBD a and b ran to the boundary: dropout looks the same for every "
            f"customer (p = {bg.params_['a'] / (bg.params_['a'] + bg.params_['b']):.3g}); "
            "see the NOTE in fitted_behaviour.toml"
        )
    weak = not_identified(record)
    if weak:
        shown = ", ".join(f"{name} = {value:.3g}" for name, value in weak.items())
        print(
            f"warning: too little data for a stable fit: {record['n_customers']} customers, "
            f"{record['n_repeat_customers']} of them with repeat purchases by "
            f"--calibration-end; {shown} "
            + ("is" if len(weak) == 1 else "are")
            + " not pinned down (standard error undefined or larger than the value). Treat "
            "the fitted fragments as placeholders: fit a longer export or more customers",
            file=sys.stderr,
        )
    with publish(claim) as out:
        write_fit_json(out, record)
        write_fragment(out, record)
        write_two_state_fragment(out, record, (last_day + pd.Timedelta(days=1)).date())
        write_summary(out, summary.assign(p_active_two_state=fit.p_active))
        if fit.holdout is not None:
            write_by_frequency(out, fit.holdout)
            plot_backtest(out, fit.tracking, fit.holdout, cal_end)

    _print_report(args, record, fit.holdout, pd)
    return 0


#: The fitted values a scenario takes whose precision says whether the data sufficed: BG/NBD's
#: purchase-rate heterogeneity (r, alpha) and Gamma-Gamma's spread of spend (q). Its p and gamma
#: are left out: only their ratio is well determined even on hundreds of customers.
IDENTIFIED = {"bgnbd": ("r", "alpha"), "gamma_gamma": ("q",)}


def not_identified(record: dict) -> dict[str, float]:
    """Fitted values whose standard error is undefined or larger than the value itself.

    Two customers, for example, give BG/NBD r = 1e7 with no standard error: the data cannot
    tell the spread of purchase rates, and the optimiser wanders off to the boundary.
    """
    weak = {}
    for model, names in IDENTIFIED.items():
        for name in names:
            value, se = record[model][name], record[model]["se"][name]
            if se is None or not math.isfinite(se) or se > abs(value):
                weak[name] = value
    return weak


def _read_calendar(path: str):
    """The [calendar] profile of a TOML file (scenario or fragment)."""
    import tomllib

    from model.fitting.calendar import SeasonalProfile

    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError as err:
        raise InputError("--calendar: no such file", file=path) from err
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"--calendar: not valid TOML ({err})", file=path) from err
    table = raw.get("calendar")
    if not isinstance(table, dict):
        raise InputError("--calendar: the file has no [calendar] table", file=path)
    return SeasonalProfile.from_table(table, path)


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
