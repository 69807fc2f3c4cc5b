"""Read a team's order export and turn it into the per-customer RFM summary.

This is the only fitting module that reads files. Everything it rejects raises one
:class:`~model.errors.InputError` naming the file, the 1-based line number as an editor shows
it (the header is line 1), the column, the bad value and what is allowed.

CSV rules (also in the README):

- Comma-separated; a file whose header has tabs and no commas is read as tab-separated (Excel's
  "Unicode text"). Encodings: UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text", with
  or without BOM), GBK/GB18030 (Excel on simplified-Chinese Windows), Big5 and
  Windows-1252/latin-1 are detected (:mod:`model.textfiles`) and the one used is reported; a
  file that is not text is refused. Blank lines are skipped.
- A header row naming at least the customer, date and amount columns (defaults
  ``customer_id``, ``date``, ``amount``); other columns are ignored.
- Dates: the part before the first space or ``T`` is the date; an optional time after it
  (``14:22``, ``14:22:05``, fractions and a ``Z``/``+08:00`` zone allowed; hours 0–23,
  minutes and seconds 0–59) is checked and then dropped, so orders count on the calendar day
  as written, with no time-zone conversion. The date part must parse with ONE format for the
  whole column, tried in this order:
  ``YYYY-MM-DD`` (ISO), ``YYYY/MM/DD``, ``YYYY.MM.DD``, ``YYYYMMDD``, ``YYYY年MM月DD日``,
  ``DD/MM/YYYY``, ``MM/DD/YYYY``; leading zeros optional. If a column reads both as
  day-first and month-first, it is ambiguous and refused; pass ``--date-format``.
  Dates must lie between 1990-01-01 and 2100-12-31 (catches typos such as 9024), and so must
  ``--calibration-end`` and ``--holdout-end``.
- Amounts: plain non-negative numbers in yuan (``129``, ``129.50``); no currency symbols or
  thousands separators. Zero is allowed (free samples) but such orders add no value, and a
  file whose amounts are all zero is refused.
- Several orders by one customer on one calendar day are one transaction, amounts summed:
  BG/NBD models purchase occasions, and a basket split into two orders is one occasion.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from model.errors import InputError
from model.textfiles import read_text

# Tried in this order; the first format under which every row parses wins (except the
# day/month pair, see _detect_date_format). Human-readable names go into error messages.
DATE_FORMATS: list[tuple[str, str]] = [
    ("%Y-%m-%d", "YYYY-MM-DD"),
    ("%Y/%m/%d", "YYYY/MM/DD"),
    ("%Y.%m.%d", "YYYY.MM.DD"),
    ("%Y%m%d", "YYYYMMDD"),
    ("%Y年%m月%d日", "YYYY年MM月DD日"),
    ("%d/%m/%Y", "DD/MM/YYYY"),
    ("%m/%d/%Y", "MM/DD/YYYY"),
]
_AMBIGUOUS_PAIR = ("%d/%m/%Y", "%m/%d/%Y")
ALLOWED_DATES = ", ".join(name for _, name in DATE_FORMATS)
# An optional time of day after the date: HH:MM[:SS[.fff]] with an optional zone; hours 0-23,
# minutes and seconds 0-59 (checked after the match).
_TIME_RE = r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?"

TIME_UNITS = {"day": 1.0, "week": 7.0}
DATE_MIN, DATE_MAX = np.datetime64("1990-01-01", "s"), np.datetime64("2100-12-31", "s")


@dataclass(frozen=True)
class OrderColumns:
    """Names of the three columns the fit needs."""

    customer: str = "customer_id"
    date: str = "date"
    amount: str = "amount"


def read_orders(
    path: str | os.PathLike,
    columns: OrderColumns | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Read and validate an order export.

    Args:
        path: CSV file, one order per row.
        columns: Which columns hold the customer id, date and amount.
        date_format: An explicit ``strptime`` format for the date part, overriding detection.

    Returns:
        DataFrame with columns ``customer_id`` (str), ``date`` (datetime64, midnight),
        ``amount`` (float, yuan) and ``line`` (1-based line in the file), one row per order.
        ``df.attrs["date_format"]`` names the date format used.

    Raises:
        InputError: A missing column, empty file, unparseable date or amount, or negative
            amount; the message names the file, line, column, value and what is allowed.
    """
    columns = columns or OrderColumns()
    path = Path(path)
    name = str(path)
    decoded = read_text(path, what="CSV order export")
    text = decoded.text
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first and "," not in first else ","

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    last_line = 0
    try:
        for record in reader:
            start = last_line + 1  # a quoted field may span lines; report where the row starts
            last_line = reader.line_num
            if not record or all(not f.strip() for f in record):
                continue
            if header is None:
                header, header_line = [h.strip() for h in record], start
                continue
            rows.append(record)
            lines.append(start)
    except csv.Error as err:
        raise InputError(f"line {reader.line_num}: not valid CSV ({err})", file=name) from err

    wanted = [columns.customer, columns.date, columns.amount]
    if header is None:
        raise InputError(
            f"line 1: the file is empty; expected a header row with the columns "
            f"{', '.join(wanted)} and then one order per line",
            file=name,
        )
    idx = {}
    for role, col in zip(("customer", "date", "amount"), wanted, strict=True):
        if col not in header:
            raise InputError(_missing_column_message(col, role, header, header_line), file=name)
        idx[col] = header.index(col)
    if not rows:
        raise InputError(
            f"line {header_line + 1}: no orders after the header row (columns "
            f"{', '.join(wanted)}); expected at least one order per line",
            file=name,
        )

    width = len(header)
    for record, line in zip(rows, lines, strict=True):
        if len(record) != width:
            missing = [c for c in wanted if idx[c] >= len(record)]
            where = f", column '{missing[0]}' is missing" if missing else ""
            raise InputError(
                f"line {line}: {len(record)} fields but the header (line {header_line}) has "
                f"{width}{where}; a comma inside a value must be quoted",
                file=name,
            )

    line_arr = np.asarray(lines, dtype=np.int64)
    cust = pd.Series([r[idx[columns.customer]].strip() for r in rows], dtype=object)
    raw_date = pd.Series([r[idx[columns.date]].strip() for r in rows], dtype=object)
    raw_amount = pd.Series([r[idx[columns.amount]].strip() for r in rows], dtype=object)

    empty = (cust == "").to_numpy()
    if empty.any():
        i = int(np.argmax(empty))
        raise InputError(
            f"line {line_arr[i]}, column '{columns.customer}': empty customer id; every order "
            "needs the id of the customer who placed it",
            file=name,
        )

    dates, fmt_name = _parse_dates(raw_date, line_arr, columns.date, name, date_format)
    amounts = _parse_amounts(raw_amount, line_arr, columns.amount, name)
    out = pd.DataFrame(
        {"customer_id": cust.to_numpy(), "date": dates, "amount": amounts, "line": line_arr}
    )
    out.attrs["date_format"] = fmt_name
    out.attrs["file"] = name
    out.attrs["encoding"] = decoded.name
    out.attrs["delimiter"] = "tab" if delimiter == "\t" else "comma"
    return out


def _missing_column_message(col: str, role: str, header: list[str], line: int) -> str:
    option = {"customer": "--customer-col", "date": "--date-col", "amount": "--amount-col"}[role]
    msg = (
        f"line {line}, column '{col}': no such column in the header; the header has "
        f"{', '.join(repr(h) for h in header)}. Name the {role} column with {option}"
    )
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        return msg + "; the file looks separated by something other than commas: save it as CSV"
    close = difflib.get_close_matches(col, header, n=1, cutoff=0.6)
    # Also catch 'order_date' for 'date' or 'Amount' for 'amount', which difflib scores low.
    low = col.lower()
    close = close or [h for h in header if h and (low in h.lower() or h.lower() in low)]
    if close:
        msg += f" (did you mean {option} {close[0]!r}?)"
    return msg


def _parse_dates(
    raw: pd.Series, lines: np.ndarray, col: str, file: str, date_format: str | None
) -> tuple[np.ndarray, str]:
    parts = raw.str.split(r"[T ]", n=1, regex=True, expand=True)
    date_part = parts[0]
    time_part = parts[1].fillna("").str.strip() if parts.shape[1] > 1 else None
    if time_part is not None:
        fields = time_part.str.extract(f"^{_TIME_RE}$").astype(float)
        in_range = (fields[0] <= 23) & (fields[1] <= 59) & (fields[2].isna() | (fields[2] <= 59))
        bad_time = ~((time_part == "") | in_range).to_numpy()
        if bad_time.any():
            i = int(np.argmax(bad_time))
            raise InputError(
                f"line {lines[i]}, column '{col}': cannot read {raw.iloc[i]!r} as a date; "
                "after the date only a time of day such as 14:22 or 14:22:05 may follow "
                f"(hours 0–23, minutes and seconds 0–59). Allowed date formats: {ALLOWED_DATES}",
                file=file,
            )
    if date_format is not None:
        candidates = [(date_format, date_format)]
    else:
        candidates = DATE_FORMATS
    # Parse format by format and stop at the first that reads every row (and, for the
    # day-/month-first pair, its twin too, to detect ambiguity): large exports are ISO.
    parsed: dict[str, np.ndarray] = {}
    ok: dict[str, np.ndarray] = {}
    full: list[str] = []
    for fmt, _ in candidates:
        if full and not (full[0] in _AMBIGUOUS_PAIR and fmt in _AMBIGUOUS_PAIR):
            break
        try:
            parsed[fmt] = pd.to_datetime(date_part, format=fmt, errors="coerce").to_numpy()
        except (ValueError, TypeError) as err:  # only --date-format can be malformed
            raise InputError(
                f"--date-format {fmt!r}: not a date format ({err}); use strptime codes such "
                "as %Y-%m-%d or %d/%m/%Y"
            ) from None
        ok[fmt] = ~np.isnat(parsed[fmt])
        if ok[fmt].all():
            full.append(fmt)
    if date_format is None and set(_AMBIGUOUS_PAIR) <= set(full):
        first = int(lines[0])
        raise InputError(
            f"line {first}, column '{col}': dates such as {raw.iloc[0]!r} read both as "
            "DD/MM/YYYY and as MM/DD/YYYY and no row decides which; pass --date-format "
            "'%d/%m/%Y' or '%m/%d/%Y', or export dates as YYYY-MM-DD",
            file=file,
        )
    if full:
        fmt = full[0]
        values = parsed[fmt].astype("datetime64[s]")
        # A typo such as 9024 for 2024 parses fine but is no order date (and would overflow
        # pandas' nanosecond timestamps): refuse anything outside a plausible range.
        outside = (values < DATE_MIN) | (values > DATE_MAX)
        if outside.any():
            i = int(np.argmax(outside))
            raise InputError(
                f"line {lines[i]}, column '{col}': {raw.iloc[i]!r} is outside the allowed "
                f"range {DATE_MIN.astype('datetime64[D]')} to {DATE_MAX.astype('datetime64[D]')}",
                file=file,
            )
        return values.astype("datetime64[ns]"), dict(candidates)[fmt]
    # No format fits the whole column: blame the first row that fails under the format that
    # fits most rows, since that is most likely the format the export meant.
    best = max(candidates, key=lambda c: ok[c[0]].sum())
    i = int(np.argmax(~ok[best[0]]))
    if ok[best[0]].sum() == 0:
        hint = f"allowed date formats: {ALLOWED_DATES}"
    else:
        hint = (
            f"the rest of the column reads as {best[1]}; the whole column must use one of: "
            f"{ALLOWED_DATES}"
        )
    if date_format is not None:
        hint = f"expected the --date-format {date_format!r}"
    raise InputError(
        f"line {lines[i]}, column '{col}': cannot read {raw.iloc[i]!r} as a date; {hint}",
        file=file,
    )


def _parse_amounts(raw: pd.Series, lines: np.ndarray, col: str, file: str) -> np.ndarray:
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            f"line {lines[i]}, column '{col}': {raw.iloc[i]!r} is not a number; amounts must "
            "be plain non-negative numbers in yuan such as 129 or 129.50 (no currency "
            "symbols, no thousands separators)",
            file=file,
        )
    neg = values < 0
    if not neg.any() and (values == 0).all():
        raise InputError(
            f"column '{col}': every amount is 0; the fit needs order values in yuan (is "
            "--amount-col the right column?)",
            file=file,
        )
    if neg.any():
        i = int(np.argmax(neg))
        raise InputError(
            f"line {lines[i]}, column '{col}': negative amount {raw.iloc[i]!r}; amounts must "
            "be >= 0 (drop refunds and returns from the export, or net them into the order)",
            file=file,
        )
    return values


def to_transactions(orders: pd.DataFrame, same_day: str = "merge") -> pd.DataFrame:
    """Turn orders into transactions, by default merging a customer's orders on one day.

    Args:
        orders: Columns ``customer_id``, ``date`` and ``amount`` (as from
            :func:`read_orders`, or any DataFrame with those columns).
        same_day: ``"merge"`` (the CLI's rule): several orders by one customer on one
            calendar day are one transaction with the amounts summed, because in a real export
            they are usually one shopping occasion split by warehouse, coupon or payment.
            ``"keep"``: every order is its own transaction, right for simulated logs where
            same-day orders are independent purchases. Merging such a log loses the few
            same-day repeats of the heaviest buyers, which BG/NBD reads as less heterogeneity:
            with the BG/NBD defaults DESIGN.md suggested (r 0.5, α 60 days, a 0.8, b 2.4;
            docs/model.md §10) α came out ≈ 4–6% high (r ≈ 2–3%), measured before the baseline
            took the two-state fit's a and b; the recovery tests assert the direction.

    Returns:
        One row per transaction: ``customer_id``, ``date`` (midnight), ``amount`` and
        ``n_orders``, sorted by customer and date.
    """
    df = pd.DataFrame(
        {
            "customer_id": orders["customer_id"].astype(str).to_numpy(),
            "date": pd.to_datetime(orders["date"]).dt.normalize().to_numpy(),
            "amount": orders["amount"].to_numpy(dtype=float),
        }
    )
    if same_day == "keep":
        out = df.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)
        out["n_orders"] = 1
        return out
    if same_day != "merge":
        raise ValueError(f"same_day={same_day!r}: allowed are 'merge' and 'keep'")
    out = (
        df.groupby(["customer_id", "date"], sort=True)
        .agg(amount=("amount", "sum"), n_orders=("amount", "size"))
        .reset_index()
    )
    return out


def parse_cli_date(value: str, option: str) -> pd.Timestamp:
    """Parse a ``--calibration-end``/``--holdout-end`` value (``YYYY-MM-DD``).

    Raises:
        InputError: Naming the option, the value and the allowed format.
    """
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(
            f"{option} {value!r}: not a date; use YYYY-MM-DD, e.g. 2024-06-30"
        ) from None
    low, high = DATE_MIN.astype("datetime64[D]"), DATE_MAX.astype("datetime64[D]")
    if not low <= np.datetime64(day) <= high:
        raise InputError(f"{option} {value}: outside the allowed range {low} to {high}")
    return pd.Timestamp(day)


def rfm_summary(
    transactions: pd.DataFrame,
    calibration_end: pd.Timestamp | str,
    holdout_end: pd.Timestamp | str | None = None,
    time_unit: str = "day",
) -> pd.DataFrame:
    """Build the per-customer frequency / recency / T / monetary table.

    Calibration covers transactions on or before ``calibration_end`` (inclusive). Only
    customers whose first transaction falls in it are summarised: the model is conditional on
    the first purchase, so customers first seen in the holdout have nothing to predict.

    Args:
        transactions: Output of :func:`to_transactions`.
        calibration_end: Last day of the calibration period.
        holdout_end: Last day of the holdout period, or None for no holdout.
        time_unit: ``"day"`` or ``"week"`` (7 days); recency, T and holdout duration use it.

    Returns:
        DataFrame indexed by ``customer_id`` with ``frequency`` (repeat transactions in
        calibration), ``recency`` (time from first to last transaction), ``T`` (time from first
        transaction to calibration end), ``monetary`` (mean value of the repeat transactions,
        0 when frequency is 0, as Gamma-Gamma uses it), ``first_date``, and with a holdout also
        ``frequency_holdout`` (transactions in the holdout), ``monetary_holdout`` and
        ``duration_holdout``.
    """
    if time_unit not in TIME_UNITS:
        raise InputError(f"time unit {time_unit!r}: allowed are {', '.join(TIME_UNITS)}")
    unit = TIME_UNITS[time_unit]
    cal_end = pd.Timestamp(calibration_end)
    tx = transactions.sort_values(["customer_id", "date"], kind="stable")
    cal = tx[tx["date"] <= cal_end]
    g = cal.groupby("customer_id", sort=True)
    first = g["date"].min()
    last = g["date"].max()
    n = g.size()
    total = g["amount"].sum()
    first_amount = g["amount"].first()  # sorted by date, so the first transaction's value
    freq = (n - 1).astype(np.int64)
    repeat_total = total - first_amount
    monetary = np.where(freq > 0, repeat_total / freq.clip(lower=1), 0.0)
    day = np.timedelta64(1, "D")
    out = pd.DataFrame(
        {
            "frequency": freq,
            "recency": ((last - first) / day).astype(float) / unit,
            "T": ((cal_end - first) / day).astype(float) / unit,
            "monetary": monetary,
            "first_date": first,
        }
    )
    out.index.name = "customer_id"
    if holdout_end is not None:
        hold_end = pd.Timestamp(holdout_end)
        hold = tx[(tx["date"] > cal_end) & (tx["date"] <= hold_end)]
        hold = hold[hold["customer_id"].isin(out.index)]
        hg = hold.groupby("customer_id")
        out["frequency_holdout"] = hg.size().reindex(out.index, fill_value=0).astype(np.int64)
        out["monetary_holdout"] = (
            hg["amount"].mean().reindex(out.index, fill_value=0.0).astype(float)
        )
        out["duration_holdout"] = ((hold_end - cal_end) / day) / unit
    return out
