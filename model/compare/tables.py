"""A comparison's tables in words and units: shared by the terminal and the HTML report.

Every number goes through :mod:`model.formatting` (¥ with ¥k/¥M, %, percentage points, days,
``n/a``), so the terminal, ``report.html`` and the plots agree.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from model import formatting as fmt
from model.compare.spec import PAIRED_KPIS
from model.scenario.params import parameter
from model.verdict.robust import FEW_CELLS

#: Marks a P(beats) that rests on fewer than :data:`FEW_CELLS` cells.
FEW = "!"


def kpi_text(metric: str, value: Any, **options: Any) -> str:
    """A KPI's value in its unit: the registry's, or a paired KPI's (the payback day)."""
    paired = PAIRED_KPIS.get(metric)
    if paired is not None:
        return fmt.format_value(value, paired.unit, **options)
    return fmt.format_kpi(metric, value, **options)


def kpi_name(metric: str, *, with_unit: bool = False) -> str:
    """A KPI's label: the registry's, or a paired KPI's."""
    paired = PAIRED_KPIS.get(metric)
    if paired is not None:
        return f"{paired.label} (days)" if with_unit else paired.label
    return fmt.kpi_label(metric, with_unit=with_unit)


def band(metric: str, median: Any, p10: Any, p90: Any, *, diff: bool = False) -> str:
    """``median [p10, p90]`` in the KPI's unit (``n/a`` when undefined in every run)."""
    values = [kpi_text(metric, v, compact=True, diff=diff) for v in (median, p10, p90)]
    if all(v == fmt.NA for v in values):
        return fmt.NA
    return f"{values[0]} [{values[1]}, {values[2]}]"


def diff_band(metric: str, row: Any) -> str:
    """A summary row's paired difference with the reference, ``median [p10, p90]``, signed."""
    return band(
        metric,
        row["diff_vs_reference_median"],
        row["diff_vs_reference_p10"],
        row["diff_vs_reference_p90"],
        diff=True,
    )


def share(p: Any, low: Any = None, high: Any = None) -> str:
    """A probability as ``83% [61–95%]`` (the interval when given)."""
    text = fmt.percent(p)
    if text == fmt.NA or low is None or _missing(low):
        return text.replace(".0%", "%")
    return f"{text} [{fmt.percent(low)}–{fmt.percent(high)}]".replace(".0%", "%")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def ranking_rows(ranking: pd.DataFrame, reference: str, metric: str) -> list[dict[str, str]]:
    """One row of words per strategy, best first: what the ranking tables show.

    Keys: ``rank, strategy, value, diff, p_beats, p_best, regret, note`` (``note`` says which
    strategy is the minimax-regret choice; ``p_beats`` ends in :data:`FEW` when it rests on
    fewer than 10 cells).
    """
    rows = []
    for _, r in ranking.iterrows():
        is_ref = r["strategy"] == reference
        few = int(r["n_cells"]) < FEW_CELLS
        regret = (
            f"{kpi_text(metric, r['regret_mean'], compact=True, diff=True)} / "
            f"{kpi_text(metric, r['regret_p90'], compact=True, diff=True)}"
        )
        rows.append(
            {
                "rank": str(int(r["rank"])),
                "strategy": r["strategy"] + (" (reference)" if is_ref else ""),
                "value": band(metric, r["median"], r["p10"], r["p90"]),
                "diff": "—" if is_ref else diff_band(metric, r),
                "p_beats": "—"
                if is_ref
                else share(
                    r["p_beats_reference"], r["p_beats_reference_low"], r["p_beats_reference_high"]
                )
                + (f" {FEW}" if few else ""),
                "p_best": share(r["p_best"]),
                "regret": regret.replace("+", ""),
                "note": "← minimax regret" if bool(r["minimax_regret"]) else "",
            }
        )
    return rows


def payback_lines(summary: pd.DataFrame, kpis: pd.DataFrame, reference: str) -> list[str]:
    """Per strategy, when the private domain pays back against the reference, in words."""
    rows = summary[(summary["metric"] == "payback_day") & (summary["strategy"] != reference)]
    out = []
    for _, r in rows.iterrows():
        own = kpis.loc[kpis["strategy"] == r["strategy"], "payback_day"]
        never = float(own.isna().mean()) if len(own) else math.nan
        if int(r["n"]) == 0:
            out.append(f"{r['strategy']}: never ahead of {reference} by the horizon's end")
            continue
        out.append(
            f"{r['strategy']}: {band('payback_day', r['median'], r['p10'], r['p90'])} "
            f"(median [p10, p90] of the cells where it pays back); never within the horizon in "
            f"{share(never)} of cells"
        )
    return out


def few_cells_note(ranking: pd.DataFrame) -> str | None:
    """The footnote for :data:`FEW`, or None when every P(beats) rests on 10 cells or more."""
    n = int(ranking["n_cells"].min()) if len(ranking) else 0
    if n >= FEW_CELLS:
        return None
    return (
        f"{FEW} P(beats) rests on only {n} cells (draws × replicates), fewer than "
        f"{FEW_CELLS}: read its interval, not the point value; add --replicates or --draws."
    )


def uncertainty_rows(spec) -> list[dict[str, str]]:
    """The drawn market parameters: key, what it is, range, scale, where the range is from."""
    rows = []
    for d in spec.uncertainty.drawn:
        p = parameter(d.key)
        unit = f" {p.unit}" if p.unit not in ("", "share", "probability") else ""
        rows.append(
            {
                "key": d.key,
                "what": p.description,
                "range": f"{_num(d.range.low)} – {_num(d.range.high)}{unit}",
                "scale": "log" if d.range.log else "linear",
                "base": _num(d.base),
                "from": "this file" if d.origin == "file" else f"registry (grade {p.grade})",
                "source": d.source,
            }
        )
    return rows


def stated_rows(spec) -> list[dict[str, str]]:
    """The uncertain market parameters the file or command line states (not drawn)."""
    return [
        {"key": s.key, "value": _num(s.value), "where": s.where, "source": s.source}
        for s in spec.uncertainty.stated
    ]


def rerun_command(out: str, stem: str, *, draws: bool, draw: int = 0, replicate: int = 0) -> str:
    """The command that re-runs one run of a strategy from a comparison's written files."""
    draw_arg = f" --draw {out}/draws.csv:{draw}" if draws else ""
    return f"python run.py run {out}/scenarios/{stem}.toml{draw_arg} --replicate {replicate}"


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
