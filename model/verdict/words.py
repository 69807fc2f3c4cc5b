"""Numbers and names in words for the verdict's sentences: KPI labels and units, parameters.

KPI labels and units come from the KPI registry (:mod:`model.kpis`), parameter descriptions,
units and log flags from the parameter registry (:mod:`model.scenario.params`). A name that
neither registry knows (a constructed test case's ``x1``) is shown as it is, without unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from model.kpis import KPIS
from model.scenario.params import parameter


def kpi_label(metric: str) -> str:
    """The registry's short label of a KPI (the name itself if unregistered)."""
    k = KPIS.get(metric)
    return k.label if k is not None else metric


def kpi_unit(metric: str) -> str:
    """The registry's unit of a KPI ("" if unregistered)."""
    k = KPIS.get(metric)
    return k.unit if k is not None else ""


def number(value: float) -> str:
    """Three significant digits, thousands separators from 1,000 on, ``n/a`` for NaN."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def amount(value: float, unit: str, *, difference: bool = False) -> str:
    """A KPI value with its unit: ``¥98k``, ``¥1.2M``, ``37%``, ``12 days``, ``1.4``.

    Args:
        value: the value.
        unit: the KPI's unit in the registry.
        difference: the value is a difference of two values (a share then reads in percentage
            points, ``4.1 pp``).
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    if unit == "yuan":
        sign = "−" if value < 0 else ""
        x = abs(value)
        if x >= 1e6:
            return f"{sign}¥{x / 1e6:.3g}M"
        if x >= 1e3:
            return f"{sign}¥{x / 1e3:.3g}k"
        return f"{sign}¥{x:.3g}"
    if unit == "share":
        return f"{100 * value:.3g}" + (" pp" if difference else "%")
    if unit == "days":
        return f"{number(value)} days"
    return number(value)


def percent(p: float) -> str:
    """A probability as a whole percentage (``n/a`` for NaN)."""
    return "n/a" if p is None or not math.isfinite(p) else f"{100 * p:.0f}%"


@dataclass(frozen=True)
class ParamText:
    """How a drawn parameter is named in sentences and on plot axes.

    Attributes:
        key: the dotted key (``outreach.p_response``).
        description: the registry's description ("" if unregistered).
        unit: the registry's unit ("" if unregistered or dimensionless).
        log: the registry samples its range on a log scale.
    """

    key: str
    description: str = ""
    unit: str = ""
    log: bool = False

    def value(self, x: float) -> str:
        """A bound of this parameter with its unit where the unit helps (``4.2 days``)."""
        text = number(x)
        if self.unit in ("", "probability", "share"):
            return text
        if self.unit == "×":
            return f"{text}×"
        return f"{text} {self.unit}"

    def axis_label(self) -> str:
        """``key [unit]`` for a plot axis."""
        shown = self.unit if self.unit not in ("", "×") else ""
        return f"{self.key} [{shown}]" if shown else self.key


def param_text(key: str) -> ParamText:
    """The registry's description, unit and log flag of a dotted key (bare for unknown keys)."""
    try:
        p = parameter(key)
    except KeyError:
        return ParamText(key)
    return ParamText(key, p.description, p.unit, p.log)
