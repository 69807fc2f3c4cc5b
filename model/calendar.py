"""The purchase calendar: a multiplier on customers' purchase and return rates by date.

One definition for the simulator and the fitting code (:mod:`model.fitting` re-exports it):
the festival dates, the windows and the profile a scenario's ``[calendar]`` table describes.
It needs numpy only (dates are ``datetime64[D]``; pandas ``DatetimeIndex`` works too), so the
scenario schema and the simulator can use it without importing pandas.

A seasonal profile is a month-of-year multiplier (12 numbers whose day-weighted mean over a
365-day year is 1) times, inside named festival windows, that festival's lift:

    s(date) = month_multiplier[month(date)] · lift[festival(date)]   (lift = 1 outside windows)

It multiplies *both* the purchase rate of active customers and the return rate of dormant
ones, so it speeds up or slows down the customer's clock: the two-state model (and BG/NBD) run
in operational time Λ(t) = ∫ s, and every formula in calendar time is the stationary formula
with durations replaced by their integrated multiplier. (A festival wakes dormant customers as
well as prompting active ones; dropout stays per purchase.)

Festival windows are anchored on a fixed month-day (Double 11 on 11-11) or on the lunar new
year (``spring_festival``, from :data:`SPRING_FESTIVAL`, 1990–2100), and run from
``days_before`` the anchor to ``days_after`` it, inclusive. Windows must not overlap.

The same representation is the scenario's ``[calendar]`` table (see :meth:`to_toml_table`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from model.errors import InputError

# Lunar new year's day (春节), MMDD for 1990, 1991, …, 2100. Computed with the `holidays`
# package's Chinese lunisolar calendar and checked against `lunardate` (identical 1990–2099).
_SF_TABLE = (
    "0127 0215 0204 0123 0210 0131 0219 0207 0128 0216 "
    "0205 0124 0212 0201 0122 0209 0129 0218 0207 0126 "
    "0214 0203 0123 0210 0131 0219 0208 0128 0216 0205 "
    "0125 0212 0201 0122 0210 0129 0217 0206 0126 0213 "
    "0203 0123 0211 0131 0219 0208 0128 0215 0204 0124 "
    "0212 0201 0122 0210 0130 0217 0206 0126 0214 0202 "
    "0123 0211 0201 0219 0208 0128 0215 0204 0124 0212 "
    "0202 0121 0209 0129 0217 0205 0126 0214 0203 0123 "
    "0211 0131 0219 0207 0127 0215 0205 0124 0212 0202 "
    "0122 0209 0129 0217 0206 0126 0214 0203 0124 0210 "
    "0130 0218 0207 0127 0215 0205 0125 0212 0201 0121 "
    "0209"
)
SPRING_FESTIVAL: dict[int, date] = {
    1990 + i: date(1990 + i, int(md[:2]), int(md[2:])) for i, md in enumerate(_SF_TABLE.split())
}

# Days in each month of a 365-day year: the month multipliers' normalisation weights.
MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)


@dataclass(frozen=True)
class Festival:
    """A named window of days around an anchor date, every year.

    Attributes:
        name: Identifier used in fit.json and the ``[calendar.festivals]`` table.
        anchor: ``"MM-DD"`` (a fixed date) or ``"spring_festival"`` (lunar new year).
        days_before: The window starts this many days before the anchor.
        days_after: The window ends this many days after the anchor (inclusive).
    """

    name: str
    anchor: str
    days_before: int
    days_after: int

    def anchor_date(self, year: int) -> date | None:
        """The anchor in ``year`` (None outside the Spring Festival table)."""
        if self.anchor == "spring_festival":
            return SPRING_FESTIVAL.get(year)
        month, day = (int(v) for v in self.anchor.split("-"))
        return date(year, month, day)

    def windows(self, first: date, last: date) -> list[tuple[date, date]]:
        """Every (start, end) window, inclusive, that touches [first, last]."""
        out = []
        for year in range(first.year - 1, last.year + 2):
            anchor = self.anchor_date(year)
            if anchor is None:
                continue
            start = anchor - timedelta(days=self.days_before)
            end = anchor + timedelta(days=self.days_after)
            if end >= first and start <= last:
                out.append((start, end))
        return out


# The festivals a fit looks for. Windows follow the platforms' campaign calendars (grade B:
# platform rules): Tmall's Double 11 sells from Nov 1 (the first payment wave) to Nov 11; JD's
# 618 runs Jun 1–18; Double 12 peaks Dec 12 after two days of warm-up; 38 "Queen's Day" runs
# Mar 1–8; around the lunar new year couriers stop for about a week either side (春节停运),
# so that window usually has a lift below 1.
DEFAULT_FESTIVALS: tuple[Festival, ...] = (
    Festival("spring_festival", "spring_festival", 7, 7),
    Festival("womens_day_38", "03-08", 7, 0),
    Festival("mid_year_618", "06-18", 17, 0),
    Festival("double_11", "11-11", 10, 0),
    Festival("double_12", "12-12", 2, 0),
)


def normalise_months(relative: np.ndarray) -> np.ndarray:
    """Scale 12 positive month factors so their day-weighted mean over a year is 1."""
    relative = np.asarray(relative, dtype=float)
    return relative * MONTH_DAYS.sum() / float(MONTH_DAYS @ relative)


@dataclass(frozen=True)
class SeasonalProfile:
    """Month multipliers and festival lifts on customers' purchase and return rates.

    Attributes:
        month_multipliers: January … December; normalised so that their day-weighted mean
            over a 365-day year is 1 (the purchase model's rates are then those of an average
            non-festival day).
        lifts: Festival name → multiplier on top of the month's inside its window.
        festivals: The windows ``lifts`` refers to (by name).
        source: ``"estimated"``, ``"given"`` (read from a file) or ``"none"``.
        rel_cac: Festival name → multiplier on the platforms' acquisition cost inside its
            window (the simulator's paid acquisition; purchase models ignore it).
    """

    month_multipliers: tuple[float, ...] = (1.0,) * 12
    lifts: Mapping[str, float] = field(default_factory=dict)
    festivals: tuple[Festival, ...] = DEFAULT_FESTIVALS
    source: str = "none"
    rel_cac: Mapping[str, float] = field(default_factory=dict)

    def is_flat(self) -> bool:
        """True when every multiplier is 1 (stationary rates)."""
        return all(m == 1.0 for m in self.month_multipliers) and all(
            v == 1.0 for v in self.lifts.values()
        )

    def festival_index(self, days) -> np.ndarray:
        """Index into ``self.festivals`` of each day's window, −1 outside every window.

        Args:
            days: Dates (anything ``numpy.asarray(days, "datetime64[D]")`` reads: a
                ``datetime64`` array, a pandas ``DatetimeIndex``, a list of ``date``).
        """
        values = as_days(days)
        out = np.full(len(values), -1, dtype=np.int64)
        if len(values) == 0:
            return out
        first, last = values.min().astype(object), values.max().astype(object)
        for k, fest in enumerate(self.festivals):
            for start, end in fest.windows(first, last):
                inside = (values >= np.datetime64(start)) & (values <= np.datetime64(end))
                if np.any(inside & (out >= 0)):
                    raise ValueError(f"festival window {fest.name} overlaps another window")
                out[inside] = k
        return out

    def multipliers(self, days) -> np.ndarray:
        """s(date) for each day (dates as for :meth:`festival_index`)."""
        values = as_days(days)
        s = np.asarray(self.month_multipliers, dtype=float)[month_index(values)]
        return s * self._per_festival(self.lifts)[self.festival_index(values)]

    def cac_multipliers(self, days) -> np.ndarray:
        """The multiplier on platforms' acquisition cost for each day: ``rel_cac`` in windows."""
        return self._per_festival(self.rel_cac)[self.festival_index(days)]

    def _per_festival(self, values: Mapping[str, float]) -> np.ndarray:
        # One value per festival and a trailing 1.0, which index −1 (no window) picks.
        return np.array([values.get(f.name, 1.0) for f in self.festivals] + [1.0])

    def to_toml_table(self, start_date: date) -> list[str]:
        """Lines of the ``[calendar]`` table a scenario (and the simulator) reads.

        Without a profile (source ``"none"``) the table switches the calendar off: rates fitted
        without one are averages over the year, festivals included, and a seasonal profile
        on top would count the festivals twice. Festivals the table leaves out keep the base
        scenario's window and lift (a prior the data could not update).
        """
        months = ", ".join(f"{m:.4g}" for m in self.month_multipliers)
        lines = [
            "[calendar]",
            f'start_date = "{start_date.isoformat()}"  # calendar date of simulation day 0',
            f'profile_source = "{self.source}"',
        ]
        if self.source == "none":
            lines.append(
                "enabled = false  # rates fitted without a profile are averages over the year"
            )
        lines += [
            "# Multiply purchase AND return rates; day-weighted mean over a year = 1.",
            f"month_multipliers = [{months}]",
        ]
        if any(f.name not in self.lifts for f in DEFAULT_FESTIVALS) and self.source != "none":
            lines.append("# Festivals not listed keep the base scenario's windows and lifts.")
        for fest in self.festivals:
            if fest.name not in self.lifts:
                continue
            lines += [
                "",
                f"[calendar.festivals.{fest.name}]",
                f'anchor = "{fest.anchor}"',
                f"days_before = {fest.days_before}",
                f"days_after = {fest.days_after}",
                f"lift = {self.lifts[fest.name]:.4g}",
            ]
        return lines

    @classmethod
    def from_table(cls, table: Mapping[str, Any], file: str) -> SeasonalProfile:
        """Read a ``[calendar]`` table (as :meth:`to_toml_table` writes it).

        Raises:
            InputError: Naming the file, the dotted field, the value and what is allowed.
        """
        months = table.get("month_multipliers", [1.0] * 12)
        if (
            not isinstance(months, list)
            or len(months) != 12
            or not all(isinstance(m, int | float) and m > 0 for m in months)
        ):
            raise InputError(
                f"calendar.month_multipliers = {months!r}: expected a list of 12 positive "
                "numbers (January … December)",
                file=file,
            )
        festivals, lifts = [], {}
        for name, spec in (table.get("festivals") or {}).items():
            where = f"calendar.festivals.{name}"
            if not isinstance(spec, Mapping):
                raise InputError(f"{where}: expected a table", file=file)
            anchor = spec.get("anchor")
            if not valid_anchor(anchor):
                raise InputError(
                    f'{where}.anchor = {anchor!r}: expected "MM-DD" or "spring_festival"',
                    file=file,
                )
            for key in ("days_before", "days_after"):
                value = spec.get(key, 0)
                if not isinstance(value, int) or not 0 <= value <= 60:
                    raise InputError(
                        f"{where}.{key} = {value!r}: expected a whole number of days 0–60",
                        file=file,
                    )
            lift = spec.get("lift")
            if not isinstance(lift, int | float) or lift <= 0:
                raise InputError(f"{where}.lift = {lift!r}: expected a number > 0", file=file)
            festivals.append(
                Festival(name, anchor, spec.get("days_before", 0), spec.get("days_after", 0))
            )
            lifts[name] = float(lift)
        total = float(MONTH_DAYS @ np.asarray(months, dtype=float))
        if abs(total / MONTH_DAYS.sum() - 1) > 1e-3:
            raise InputError(
                f"calendar.month_multipliers = {months!r}: their day-weighted mean over a year "
                f"is {total / MONTH_DAYS.sum():.4g}; it must be 1 (divide each by it)",
                file=file,
            )
        return cls(tuple(float(m) for m in months), lifts, tuple(festivals), source="given")


def valid_anchor(anchor: Any) -> bool:
    """Whether ``anchor`` is "spring_festival" or a month-day "MM-DD" of every year (not 02-29)."""
    if anchor == "spring_festival":
        return True
    if not isinstance(anchor, str) or len(anchor) != 5 or anchor[2] != "-":
        return False
    try:
        date(2001, int(anchor[:2]), int(anchor[3:]))
    except ValueError:
        return False
    return True


def operational_time(profile: SeasonalProfile, origin, n_days: int) -> np.ndarray:
    """Λ at the start of each day 0 … n_days after ``origin``: Λ[d] = Σ_{u<d} s(u), in days.

    An order dated day d sits at the start of that day (as in the RFM summary, where T and
    recency are day differences), so the interval between orders on days d0 < d1 spans days
    d0 … d1−1 and lasts Λ[d1] − Λ[d0] operational days.
    """
    return np.concatenate([[0.0], np.cumsum(profile.multipliers(day_range(origin, n_days)))])


def as_days(days) -> np.ndarray:
    """Dates as a ``datetime64[D]`` array (from dates, datetimes, strings or a DatetimeIndex)."""
    return np.asarray(days, dtype="datetime64[D]").reshape(-1)


def day_range(first, n_days: int) -> np.ndarray:
    """``n_days`` consecutive dates from ``first`` (a date or anything ``datetime64`` reads)."""
    return np.datetime64(first, "D") + np.arange(n_days)


def month_index(days: np.ndarray) -> np.ndarray:
    """Month of each ``datetime64[D]`` date, 0 = January … 11 = December."""
    return days.astype("datetime64[M]").astype(np.int64) % 12
