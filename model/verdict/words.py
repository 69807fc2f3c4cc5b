"""How the verdict names KPIs, amounts and parameters in sentences and on plots.

Values, labels and percentages come from the shared formatting layer (:mod:`model.formatting`,
fed by the KPI and parameter registries). This module adds what a verdict needs on top of it:
a name the registries lack (a constructed case's ``x1``) shown as it is, an amount lost shown
without sign, and a parameter's bound in its unit with the registry's log flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from model import formatting
from model.kpis import KPIS
from model.scenario.params import parameter

percent = formatting.percent


def number(value: float) -> str:
    """Three significant digits, thousands separators from 1,000 on, ``n/a`` for NaN."""
    if value is None or not math.isfinite(value):
        return formatting.NA
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def kpi_label(metric: str, *, in_sentence: bool = False) -> str:
    """The registry's label of a KPI (the name itself if unregistered).

    ``in_sentence``: for use mid-sentence ("value created"); an acronym ("ROI") keeps its
    capitals.
    """
    label = formatting.kpi_label(metric) if metric in KPIS else metric
    if in_sentence and label[1:2].islower():
        return label[0].lower() + label[1:]
    return label


def kpi_value(metric: str, value: float, *, diff: bool = False) -> str:
    """A KPI's value (or signed difference) in its unit, compact (``¥1.2M``, ``+¥98k``)."""
    if metric not in KPIS:
        return number(value)
    return formatting.format_kpi(metric, value, compact=True, diff=diff)


def shortfall(metric: str, value: float) -> str:
    """An amount lost (a regret ≥ 0) in the KPI's unit, without a sign: ``¥65k``, ``4.1 pp``."""
    return kpi_value(metric, value, diff=True).removeprefix("+")


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
        """The registry's description and unit over the dotted key (the key if unregistered)."""
        label = formatting.param_label(self.key)
        return self.key if label == self.key else f"{label}\n{self.key}"


def param_text(key: str) -> ParamText:
    """The registry's description, unit and log flag of a dotted key (bare for unknown keys)."""
    try:
        p = parameter(key)
    except KeyError:
        return ParamText(key)
    return ParamText(key, p.description, p.unit, p.log)
