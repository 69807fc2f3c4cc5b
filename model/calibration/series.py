"""Monthly series: read and validate a team's monthly CSV, and aggregate simulator output alike.

A **month** is 30 simulated days: month 1 is days 0–29, month *m* is days 30(m−1) … 30m−1.
Stocks are read on the month's last day, flows are summed over the month:

============== ===================================================== ========
column         meaning                                               kind
============== ===================================================== ========
``n_private``  members of the private pool at month end              stock
``n_public``   platform customers not in the pool at month end       stock
``joins``      new members: ``new_diverted + new_referred``          flow
``unfollows``  members who unfollowed / deleted: ``new_unfollowed``  flow
``orders``     ``orders_public + orders_private``                    flow
============== ===================================================== ========

The forecast adds ``n_lapsed`` (stock), ``contribution`` (flow, yuan) and ``cum_contribution``
(stock, yuan). Reading the CSV is this module's only file access.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.calibration.spec import DAYS_PER_MONTH, MONTHLY_METRICS, SERIES_COLUMNS
from model.errors import InputError
from model.textfiles import read_text

# How each monthly metric comes out of the daily table: a stock at month end, or a monthly sum.
_STOCKS = {
    "n_private": ("n_private",),
    "n_public": ("n_public",),
    "n_lapsed": ("n_lapsed",),
    "cum_contribution": ("cum_contribution",),
}
_FLOWS = {
    "joins": ("new_diverted", "new_referred"),
    "unfollows": ("new_unfollowed",),
    "orders": ("orders_public", "orders_private"),
    "contribution": ("contribution",),
}
_MONTH_INT = re.compile(r"^\d+$")
_MONTH_YM = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True)
class MonthlySeries:
    """Observed monthly series.

    Attributes:
        months: simulated month numbers (1 = days 0–29), strictly increasing.
        labels: the month as written in the file (``"3"`` or ``"2024-03"``).
        values: column name → observed values, one per month.
        source: the file it came from.
    """

    months: tuple[int, ...]
    labels: tuple[str, ...]
    values: dict[str, np.ndarray]
    source: str = "<series>"

    @property
    def columns(self) -> tuple[str, ...]:
        """The series present, in :data:`SERIES_COLUMNS` order."""
        return tuple(c for c in SERIES_COLUMNS if c in self.values)

    @property
    def horizon_days(self) -> int:
        """Days to simulate to cover the last observed month."""
        return DAYS_PER_MONTH * max(self.months)

    def check_fits(self, market_size: int) -> None:
        """Refuse series that the scenario's market cannot produce (sizes are absolute).

        Raises:
            InputError: a month's members, customers or joins exceed ``market.size``.
        """
        counts = [c for c in ("n_private", "n_public", "joins", "unfollows") if c in self.values]
        if {"n_private", "n_public"} <= self.values.keys():
            both = self.values["n_private"] + self.values["n_public"]
            if (both > market_size).any():
                i = int(np.argmax(both > market_size))
                raise InputError(
                    f"month {self.labels[i]}: n_private + n_public = {both[i]:,.0f} people, more "
                    f"than the scenario's market.size = {market_size:,}; the series' sizes are "
                    "absolute, so set market.size to your market (e.g. --set market.size=...)",
                    file=self.source,
                )
        for col in counts:
            too_big = self.values[col] > market_size
            if too_big.any():
                i = int(np.argmax(too_big))
                raise InputError(
                    f"month {self.labels[i]}, column {col!r}: {self.values[col][i]:,.0f} is more "
                    f"than the scenario's market.size = {market_size:,} people; the series' "
                    "sizes are absolute, so set market.size to your market (e.g. --set "
                    "market.size=...)",
                    file=self.source,
                )

    def as_sumstats(self) -> dict[str, np.ndarray]:
        """The observed summary statistics for pyABC: one float array per series."""
        return {c: np.asarray(self.values[c], dtype=float) for c in self.columns}

    def to_frame(self) -> pd.DataFrame:
        """One row a month: ``month, label`` and the series."""
        frame = pd.DataFrame({"month": list(self.months), "label": list(self.labels)})
        for c in self.columns:
            frame[c] = self.values[c]
        return frame


def monthly_metrics(
    daily: pd.DataFrame | dict[str, np.ndarray],
    months: int | tuple[int, ...] | list[int],
    metrics: tuple[str, ...] | list[str] = MONTHLY_METRICS,
) -> dict[str, np.ndarray]:
    """Aggregate a run's daily table into monthly values.

    Args:
        daily: the daily metrics (``SimulationResult.daily`` or the recorder's dict).
        months: a month count N (months 1…N) or the month numbers wanted.
        metrics: names from :data:`MONTHLY_METRICS`.

    Returns:
        Metric name → one float per requested month.

    Raises:
        ValueError: the run is shorter than the last month asked for.
    """
    wanted = list(range(1, months + 1)) if isinstance(months, int) else list(months)
    n_days = len(daily["day"])
    if max(wanted) * DAYS_PER_MONTH > n_days:
        raise ValueError(
            f"the run has {n_days} days; month {max(wanted)} needs {max(wanted) * DAYS_PER_MONTH}"
        )
    ends = np.asarray(wanted) * DAYS_PER_MONTH  # exclusive end day of each month
    out: dict[str, np.ndarray] = {}
    for name in metrics:
        if name in _STOCKS:
            col = np.asarray(daily[_STOCKS[name][0]], dtype=float)
            out[name] = col[ends - 1]
        elif name in _FLOWS:
            total = sum(np.asarray(daily[c], dtype=float) for c in _FLOWS[name])
            cum = np.concatenate([[0.0], np.cumsum(total)])
            out[name] = cum[ends] - cum[ends - DAYS_PER_MONTH]
        else:
            raise ValueError(f"unknown monthly metric {name!r}; allowed: {MONTHLY_METRICS}")
    return out


def read_series(path: str | os.PathLike) -> MonthlySeries:
    """Read and validate a monthly CSV.

    The file has a ``month`` column (``1, 2, …`` or ``YYYY-MM``; months may skip but must
    increase; with ``YYYY-MM`` the first listed month is simulated month 1) and any non-empty
    subset of :data:`SERIES_COLUMNS`, each a number ≥ 0 in every row.

    Raises:
        InputError: naming the file, the line and column, the bad value and what is allowed.
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError("no such file (expected a monthly series CSV)", file=name)
    text = read_text(path, what="monthly series CSV").text
    allowed = ", ".join(SERIES_COLUMNS)
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            if not record or all(not f.strip() for f in record):
                continue
            if header is None:
                header = [h.strip() for h in record]
                header_line = reader.line_num
                continue
            rows.append((reader.line_num, [f.strip() for f in record]))
    except csv.Error as err:
        raise InputError(f"line {reader.line_num}: not valid CSV ({err})", file=name) from None

    if header is None:
        raise InputError(
            f"the file is empty; expected a header row 'month,' followed by any of {allowed}, "
            "then one row per month",
            file=name,
        )
    if "month" not in header:
        raise InputError(
            f"line {header_line}: no 'month' column (header: {', '.join(header)}); "
            "the first column should be month (1, 2, … or YYYY-MM)",
            file=name,
        )
    seen: set[str] = set()
    for col in header:
        if col in seen:
            raise InputError(f"line {header_line}: column {col!r} appears twice", file=name)
        seen.add(col)
        if col != "month" and col not in SERIES_COLUMNS:
            close = difflib.get_close_matches(col, SERIES_COLUMNS, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(
                f"line {header_line}: unknown column {col!r}{hint} Allowed: month, {allowed}",
                file=name,
            )
    columns = [c for c in header if c != "month"]
    if not columns:
        raise InputError(
            f"line {header_line}: only a 'month' column; add at least one of {allowed}",
            file=name,
        )
    if not rows:
        raise InputError(
            f"line {header_line + 1}: no rows after the header; expected one row per month",
            file=name,
        )

    i_month = header.index("month")
    labels: list[str] = []
    months: list[int] = []
    values: dict[str, list[float]] = {c: [] for c in columns}
    ym_origin: tuple[int, int] | None = None
    kind: str | None = None
    for line, record in rows:
        if len(record) != len(header):
            raise InputError(
                f"line {line}: {len(record)} fields, but the header has {len(header)} "
                f"({', '.join(header)})",
                file=name,
            )
        label = record[i_month]
        month, this_kind = _parse_month(label, line, name)
        if kind is None:
            kind = this_kind
        elif this_kind != kind:
            raise InputError(
                f"line {line}, column 'month': {label!r} mixes month styles; use either "
                "1, 2, … or YYYY-MM throughout",
                file=name,
            )
        if kind == "ym":
            if ym_origin is None:
                ym_origin = month
            month = (month[0] - ym_origin[0]) * 12 + (month[1] - ym_origin[1]) + 1
        if months and month <= months[-1]:
            raise InputError(
                f"line {line}, column 'month': {label!r} is not after the previous month "
                f"{labels[-1]!r}; months must increase",
                file=name,
            )
        labels.append(label)
        months.append(month)
        for col in columns:
            values[col].append(_parse_value(record[header.index(col)], col, line, name))
    return MonthlySeries(
        months=tuple(months),
        labels=tuple(labels),
        values={c: np.asarray(v, dtype=float) for c, v in values.items()},
        source=name,
    )


def _parse_month(label: str, line: int, file: str):
    if _MONTH_INT.match(label):
        month = int(label)
        if month < 1:
            raise InputError(
                f"line {line}, column 'month': {label!r}; months count from 1 "
                "(month 1 = simulated days 0–29)",
                file=file,
            )
        return month, "int"
    match = _MONTH_YM.match(label)
    if match and 1 <= int(match.group(2)) <= 12:
        return (int(match.group(1)), int(match.group(2))), "ym"
    raise InputError(
        f"line {line}, column 'month': {label!r} is not a month; use 1, 2, … or YYYY-MM "
        "(e.g. 2024-03)",
        file=file,
    )


def _parse_value(text: str, col: str, line: int, file: str) -> float:
    try:
        value = float(text.replace(",", "").replace("_", "")) if text else math.nan
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        shown = repr(text) if text else "an empty cell"
        raise InputError(
            f"line {line}, column {col!r}: {shown} is not a number; expected a count ≥ 0 "
            "in every row",
            file=file,
        )
    if value < 0:
        raise InputError(
            f"line {line}, column {col!r}: {text!r} is negative; expected a count ≥ 0",
            file=file,
        )
    return value


def write_series(series_or_frame: MonthlySeries | pd.DataFrame, path: str | os.PathLike) -> None:
    """Write monthly series as a CSV that :func:`read_series` reads back."""
    if isinstance(series_or_frame, MonthlySeries):
        frame = series_or_frame.to_frame().drop(columns="label")
    else:
        frame = series_or_frame
    frame.to_csv(path, index=False)


def simulated_series(daily: pd.DataFrame, months: int, columns=SERIES_COLUMNS) -> pd.DataFrame:
    """A run's monthly series as a DataFrame (``month`` and the columns): synthetic data."""
    values = monthly_metrics(daily, months, tuple(columns))
    frame = pd.DataFrame({"month": np.arange(1, months + 1)})
    for c in columns:
        frame[c] = values[c]
    return frame
