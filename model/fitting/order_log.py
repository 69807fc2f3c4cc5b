"""Fit a team's own order export end to end: read, check, fit, backtest, write.

What ``run.py fit-orders`` does, as library calls a notebook can make::

    from model.fitting.order_log import fit_order_export, write_fit_outputs

    result = fit_order_export("orders.csv", "2026-06-30", holdout_end="2026-09-30")
    result.record["two_state"]["rho"], result.warnings
    write_fit_outputs("out/fit", result)   # fit.json, the fragments, summary, backtest

Every check that depends on the data (a calibration end before the first order, too few repeat
buyers, a holdout past the last order, parameters the data cannot pin down) is made here, so a
notebook gets the same messages as the command line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from model.errors import InputError
from model.fitting.bgnbd import HOMOGENEOUS_P
from model.fitting.orders import (
    OrderColumns,
    parse_cli_date,
    read_orders,
    rfm_summary,
    to_transactions,
)
from model.fitting.pipeline import OrderFit, fit_order_log
from model.fitting.report import (
    fit_record,
    plot_backtest,
    write_by_frequency,
    write_fit_json,
    write_fragment,
    write_summary,
    write_two_state_fragment,
)

#: The fitted values a scenario takes whose precision says whether the data sufficed: BG/NBD's
#: purchase-rate heterogeneity (r, alpha) and Gamma-Gamma's spread of spend (q). Its p and gamma
#: are left out: only their ratio is well determined even on hundreds of customers.
IDENTIFIED = {"bgnbd": ("r", "alpha"), "gamma_gamma": ("q",)}


@dataclass
class OrderExportFit:
    """An order export fitted: the record ``fit.json`` holds, the fit, and what to tell the user.

    Attributes:
        record: everything ``fit.json`` holds (parameters with standard errors, backtest).
        fit: the fitted models, tracking series and holdout comparison.
        summary: one row per customer (frequency, recency, T, holdout count).
        calibration_end: the last day of the calibration period.
        last_order_day: the export's last order date (the two-state fragment starts the day
            after it).
        notes: plain remarks (how the file was read, a boundary fit).
        warnings: what the user should distrust (a holdout past the data, too little data).
    """

    record: dict[str, Any]
    fit: OrderFit
    summary: pd.DataFrame
    calibration_end: pd.Timestamp
    last_order_day: pd.Timestamp
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def fit_order_export(
    path: str | Path,
    calibration_end: str,
    holdout_end: str | None = None,
    *,
    time_unit: str = "day",
    columns: OrderColumns | None = None,
    date_format: str | None = None,
    seasonality: str = "auto",
    calendar_file: str | Path | None = None,
) -> OrderExportFit:
    """Read an order export and fit BG/NBD, the two-state model and Gamma-Gamma to it.

    Args:
        path: the CSV of orders (customer id, date, amount).
        calibration_end: last day (YYYY-MM-DD, inclusive) of the period the models are fitted on.
        holdout_end: last day (inclusive) of the holdout to backtest on; None: no backtest.
        time_unit: ``day`` or ``week`` (the fragments are always in days).
        columns: the export's column names (default ``customer_id``, ``date``, ``amount``).
        date_format: strptime format of the date part when detection is ambiguous.
        seasonality: ``auto`` (estimate when calibration spans a year) or ``none``.
        calendar_file: a scenario or fragment whose ``[calendar]`` profile to use when none is
            estimated.

    Raises:
        InputError: a date out of order, an unreadable file, or too little data to fit.
    """
    cal_end = parse_cli_date(calibration_end, "--calibration-end")
    hold_end = parse_cli_date(holdout_end, "--holdout-end") if holdout_end else None
    if hold_end is not None and hold_end <= cal_end:
        raise InputError(
            f"--holdout-end {holdout_end}: must be after --calibration-end {calibration_end}"
        )
    given = read_calendar(calendar_file) if calendar_file else None
    orders = read_orders(path, columns or OrderColumns(), date_format=date_format)
    notes, warnings = [], []
    if not orders.attrs["encoding"].startswith("UTF-8") or orders.attrs["delimiter"] != "comma":
        notes.append(
            f"read {path} as {orders.attrs['encoding']}, {orders.attrs['delimiter']}-separated"
        )
    tx = to_transactions(orders)

    first_day, last_day = tx["date"].min(), tx["date"].max()
    if cal_end < first_day:
        raise InputError(
            f"--calibration-end {calibration_end}: before the first order "
            f"({first_day.date()}); choose a date between {first_day.date()} and "
            f"{last_day.date()}",
            file=path,
        )
    summary = rfm_summary(tx, cal_end, hold_end, time_unit)
    if (summary["frequency"] > 0).sum() < 2:
        raise InputError(
            f"fewer than 2 customers bought again by --calibration-end {calibration_end}; "
            "BG/NBD and Gamma-Gamma need repeat purchases: choose a later calibration end or a "
            "longer export",
            file=path,
        )
    if hold_end is not None and hold_end > last_day:
        warnings.append(
            f"--holdout-end {hold_end.date()} is after the last order ({last_day.date()}); "
            "the holdout's actual count may be incomplete"
        )
    try:
        fit = fit_order_log(tx, summary, cal_end, hold_end, time_unit, seasonality, given)
    except ValueError as err:  # Gamma-Gamma: too few customers with repeat spend
        raise InputError(
            f"{err} worth more than 0 by --calibration-end {calibration_end}; choose a later "
            "calibration end, or check that --amount-col holds the order values",
            file=path,
        ) from None
    record = fit_record(
        source=str(path),
        time_unit=time_unit,
        calibration_end=cal_end,
        holdout_end=hold_end,
        fit=fit,
        date_format=orders.attrs["date_format"],
        n_orders=len(orders),
        n_transactions=len(tx),
    )

    bg = fit.bgnbd.params_
    if bg["a"] + bg["b"] > HOMOGENEOUS_P:
        notes.append(
            "BG/NBD a and b ran to the boundary: dropout looks the same for every "
            f"customer (p = {bg['a'] / (bg['a'] + bg['b']):.3g}); see the NOTE in "
            "fitted_behaviour.toml"
        )
    weak = not_identified(record)
    if weak:
        shown = ", ".join(f"{name} = {value:.3g}" for name, value in weak.items())
        warnings.append(
            f"too little data for a stable fit: {record['n_customers']} customers, "
            f"{record['n_repeat_customers']} of them with repeat purchases by "
            f"--calibration-end; {shown} "
            + ("is" if len(weak) == 1 else "are")
            + " not pinned down (standard error undefined or larger than the value). Treat "
            "the fitted fragments as placeholders: fit a longer export or more customers"
        )
    return OrderExportFit(record, fit, summary, cal_end, last_day, notes, warnings)


def write_fit_outputs(out: str | Path, result: OrderExportFit) -> None:
    """Write ``fit.json``, both scenario fragments, the customer summary and the backtest.

    ``out`` is a directory the caller owns (``run.py fit-orders`` writes into the temporary
    folder that :func:`model.outputs.publish` renames into place when everything is written).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fit = result.fit
    write_fit_json(out, result.record)
    write_fragment(out, result.record)
    start = (result.last_order_day + pd.Timedelta(days=1)).date()
    write_two_state_fragment(out, result.record, start)
    write_summary(out, result.summary.assign(p_active_two_state=fit.p_active))
    if fit.holdout is not None:
        write_by_frequency(out, fit.holdout)
        plot_backtest(out, fit.tracking, fit.holdout, result.calibration_end)


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


def read_calendar(path: str | Path):
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
    return SeasonalProfile.from_table(table, str(path))
