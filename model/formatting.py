"""One formatting layer for every surface: terminal tables, CSV label rows, plots and reports.

Values are shown in their unit from the KPI registry (:mod:`model.kpis`): money in ¥ with
thousands separators (``compact``: ¥k / ¥M for narrow columns and plot ticks), shares and ROI as
percentages, day KPIs in days, counts with separators. Differences are signed and shares'
differences are in percentage points. An undefined value is ``n/a``, explained by
:data:`NA_LEGEND` wherever it can appear. Labels for parameters come from the parameter
registry (:mod:`model.scenario.params`), never from dotted keys alone.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

from model.kpis import KPIS

NA = "n/a"
NA_LEGEND = (
    "n/a = undefined in that run: no customer old enough for the window, nothing to divide by "
    "(no paid customers, no pushes, no members), or never paid back within the horizon"
)
MINUS = "−"  # U+2212: a real minus sign lines up with digits in tables


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _sign(value: float, signed: bool) -> str:
    if value < 0:
        return MINUS
    return "+" if signed and value > 0 else ""


def yuan(value: float | None, *, compact: bool = False, signed: bool = False) -> str:
    """Money: ``¥1,311,816``; compact ``¥1.31M`` / ``¥749k``; negative ``−¥7.6k``."""
    if _is_missing(value):
        return NA
    sign, x = _sign(value, signed), abs(float(value))
    if compact and x >= 999_500:
        return f"{sign}¥{x / 1e6:.3g}M"
    if compact and x >= 1_000:
        return f"{sign}¥{x / 1e3:.3g}k"
    if x >= 100 or x == 0:
        return f"{sign}¥{x:,.0f}"
    return f"{sign}¥{x:.2f}"


def percent(value: float | None, *, signed: bool = False, points: bool = False) -> str:
    """A share or ratio as a percentage (``12.3%``); a difference in points (``+1.2 pp``)."""
    if _is_missing(value):
        return NA
    sign, x = _sign(value, signed), abs(float(value)) * 100
    digits = 1 if x < 1000 else 0
    return f"{sign}{x:,.{digits}f} pp" if points else f"{sign}{x:,.{digits}f}%"


def count(value: float | None, *, compact: bool = False, signed: bool = False) -> str:
    """People, orders, groups: ``8,123``; compact ``8.1k``."""
    if _is_missing(value):
        return NA
    sign, x = _sign(value, signed), abs(float(value))
    if compact and x >= 999_500:
        return f"{sign}{x / 1e6:.3g}M"
    if compact and x >= 10_000:
        return f"{sign}{x / 1e3:.3g}k"
    return f"{sign}{x:,.0f}" if x == round(x) or x >= 100 else f"{sign}{x:,.1f}"


def format_value(
    value: Any, unit: str, *, compact: bool = False, signed: bool = False, diff: bool = False
) -> str:
    """A value in a unit of the KPI registry.

    Args:
        value: the number (None/NaN: ``n/a``).
        unit: one of the registry's units (``yuan``, ``ratio``, ``share``, ``days``, ``count``,
            ``per_1000``, ``rate``).
        compact: short money and counts (¥k / ¥M, 8.1k) for narrow columns and ticks.
        signed: show ``+`` on positive values (differences).
        diff: the value is a difference: shares and ratios in percentage points, days as a
            number of days rather than a day index.
    """
    if _is_missing(value):
        return NA
    signed = signed or diff
    if unit == "yuan":
        return yuan(value, compact=compact, signed=signed)
    if unit in ("share", "ratio"):
        return percent(value, signed=signed, points=diff)
    if unit == "days":
        n = float(value)
        # A day index is whole (a median of an even count of runs can fall between two days);
        # a difference of days keeps a decimal when it has one.
        digits = 0 if n == round(n) or not diff else 1
        text = f"{_sign(n, signed)}{abs(n):,.{digits}f}"
        return f"{text} days" if diff else f"day {text}"
    if unit == "count":
        return count(value, compact=compact, signed=signed)
    if unit == "per_1000":
        return f"{_sign(value, signed)}{abs(float(value)):.3g} per 1,000"
    if unit == "rate":
        return f"{_sign(value, signed)}{abs(float(value)):.3g}/member/month"
    raise ValueError(f"unknown unit {unit!r}")


def format_kpi(name: str, value: Any, **options: Any) -> str:
    """A KPI's value in its registry unit (see :func:`format_value` for the options)."""
    return format_value(value, KPIS[name].unit, **options)


def kpi_label(name: str, *, with_unit: bool = False) -> str:
    """A KPI's human label (``Contribution``), optionally with its unit (``Contribution (¥)``)."""
    k = KPIS[name]
    if not with_unit:
        return k.label
    unit = {
        "yuan": "¥",
        "share": "%",
        "ratio": "%",
        "days": "days",
        "per_1000": "per 1,000",
        "rate": "per member per month",
    }.get(k.unit)
    return f"{k.label} ({unit})" if unit else k.label


def param_label(key: str, *, with_unit: bool = True) -> str:
    """A parameter's label for axes and tables: its description and unit, from the registry.

    Unknown keys (e.g. run options) fall back to the dotted key itself.
    """
    from model.scenario.params import parameter

    try:
        p = parameter(key)
    except KeyError:
        return key
    text = p.description[0].upper() + p.description[1:]
    return f"{text} [{p.unit}]" if with_unit and p.unit else text


# --- what a run prints: a header that says what ran, and its KPI table ---------------------------

OPERATING_MODES = {
    "none": "public only (no private domain)",
    "persona": "central persona",
    "guides": "shopping guides",
    "distribution": "KOC distribution",
}


def _scale_text(scale: float) -> str:
    inverse = 1.0 / scale
    return f"1/{inverse:.0f}" if abs(inverse - round(inverse)) < 1e-9 else f"{scale:g}"


def run_header(
    name: str,
    *,
    mode: str,
    days: int,
    size: int,
    scale: float = 1.0,
    seed: int,
    replicate: int | None = None,
    draw: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """What ran, in words: scenario, operating mode, horizon, market, seed and overrides.

    Args:
        name: the scenario's name.
        mode: ``operation.mode``.
        days: the horizon.
        size: ``market.size`` (full size; a miniature simulates ``size × scale`` people).
        scale: ``market.scale``.
        seed: the root seed.
        replicate: the replicate of the seed that ran (None: the seed itself).
        draw: where the market's drawn values came from (``draws.csv:5``), if any.
        overrides: the ``--set KEY=VALUE`` items given on the command line.

    Returns:
        The header's lines (the first starts with the scenario's name).
    """
    market = f"market of {count(size)} people"
    if scale < 1:
        people = count(round(size * scale))
        market = f"{people} people (a {_scale_text(scale)} miniature of {count(size)})"
    seed_text = f"seed {seed}" + ("" if replicate is None else f", replicate {replicate}")
    lines = [f"{name}: {OPERATING_MODES.get(mode, mode)}, {days:,} days, {market}, {seed_text}"]
    if draw:
        lines.append(f"  market drawn: {draw}")
    lines.append("  overrides: " + (", ".join(overrides) if overrides else "none"))
    return lines


def kpi_table(kpis: dict[str, Any], names: tuple[str, ...] | list[str]) -> list[str]:
    """KPI lines for a terminal: label, value in its unit, and the key in ``summary.json``.

    A legend line follows when a value is ``n/a``.
    """
    rows = [(KPIS[n].label, format_kpi(n, kpis.get(n)), n) for n in names]
    label_w = max(len(r[0]) for r in rows)
    value_w = max(len(r[1]) for r in rows)
    lines = [f"  {label:<{label_w}}  {value:>{value_w}}  {key}" for label, value, key in rows]
    if any(value == NA for _, value, _ in rows):
        lines += textwrap.wrap(NA_LEGEND, 96, initial_indent="  ", subsequent_indent="  ")
    return lines
