"""An optimisation's outputs: the recommendation as a scenario, tables, figures, a report.

Files (each written whole, :func:`model.outputs.atomic_write`):

* ``recommendation.toml`` — the base scenario with the recommended levers, fully resolved, so
  ``run.py run`` runs it and a comparison can name it as its base. When nothing beat the
  incumbent it is the incumbent itself, named ``<spec>_incumbent`` and saying so. A miniature's
  ``market.scale`` from the optimisation file is not carried over (the levers are for the real
  market; the header says how to rerun the miniature).
* ``trace.csv`` — every candidate of the search: its levers, objective, constraints.
* ``confirmation.csv`` — the incumbent and the best few on the fresh block, with the verdict.
* ``curves.csv``, ``marginal.csv``, ``curves.png`` — response curves and marginal values.
* ``frontier.csv``, ``frontier.png`` — the risk–return frontier (CVaR only).
* ``summary.json``, ``report.html`` — the verdict as data, and one self-contained page.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from model.formatting import format_kpi, kpi_label, param_label
from model.outputs import atomic_write, write_json

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Noto Sans SC", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; vertical-align: top; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
.good { color: #1a7f37; } .bad { color: #b42318; } .muted { color: #777; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
code { background: #f3f3f3; padding: 0 0.25em; }
"""


def _measure(result) -> str:
    o = result.objective
    label = kpi_label(o.kpi)
    return label if o.risk == "mean" else f"CVaR {o.alpha:.0%} of {label}"


def _value(result, x: float, diff: bool = False) -> str:
    return format_kpi(result.objective.kpi, x, diff=diff)


def _show(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def changes(result) -> list[tuple[str, Any, Any]]:
    """``(key, incumbent value, recommended value)`` for every lever the recommendation sets."""
    from model.scenario.params import value_of

    out = []
    for key, value in result.recommended_overrides().items():
        try:
            before = value_of(result.spec.base, key)
        except (AttributeError, KeyError):
            before = None
        out.append((key, before, value))
    return out


def _scale_note(result) -> str:
    from model.kpis import KPIS

    scale = result.spec.scale
    if scale >= 1 or KPIS[result.objective.kpi].unit != "yuan":
        return ""
    return (
        f"\n(A miniature at market.scale = {scale:g}: yuan totals are the miniature's; "
        f"× {1 / scale:g} for the full-size market.)"
    )


def verdict_text(result) -> str:
    """The recommendation in a few sentences."""
    rec = result.recommendation
    inc = result.confirmation.incumbent
    measure = _measure(result)
    fresh = result.confirmation.block
    where = f"{len(fresh)} fresh cells ({fresh.grid})"
    if rec is None:
        lines = [
            f"No recommendation: none of the {len(result.confirmation.candidates)} best candidates "
            f"beat the incumbent on {where} with 95% confidence while keeping every constraint. "
            f"Keep the incumbent ({measure} {_value(result, inc.fresh.value)})."
        ]
        lines += [f"  {c.label}: {c.why}" for c in result.confirmation.candidates]
        return "\n".join(lines) + _scale_note(result)
    b = rec.beat
    changed = (
        "; ".join(f"{k}: {_show(a)} → {_show(v)}" for k, a, v in changes(result) if a != v)
        or "no lever changes"
    )
    return (
        f"Recommended ({rec.label}): {changed}.\n"
        f"On {where}: {measure} {_value(result, rec.fresh.value)} against the incumbent's "
        f"{_value(result, inc.fresh.value)}: {_value(result, b.diff, diff=True)} "
        f"[90% band {_value(result, b.diff_low, diff=True)}, "
        f"{_value(result, b.diff_high, diff=True)}], P(beats the incumbent in a cell) "
        f"{b.p_beats:.0%} [{b.p_beats_low:.0%}, {b.p_beats_high:.0%}]." + _scale_note(result)
    )


def recommendation_toml(result) -> str:
    """The recommended (or incumbent) scenario, resolved, with a header saying what it is."""
    from model.scenario import apply_overrides, validate
    from model.scenario.loader import resolve_raw, scenario_to_toml

    spec = result.spec
    raw = apply_overrides(spec.base_raw, result.recommended_overrides())
    note = ""
    if "market.scale" in spec.shared_overrides and spec.base_path is not None:
        original = resolve_raw(spec.base_path).get("market", {}).get("scale", 1.0)
        raw["market"]["scale"] = original
        mini = spec.shared_overrides["market.scale"]
        note = (
            f"# Optimised on a miniature (market.scale = {mini}); this file is the full-size "
            f"market. Rerun the miniature with\n#   --set market.scale={mini}\n"
        )
    rec = result.recommendation
    raw["name"] = f"{spec.name}_{'recommended' if rec else 'incumbent'}"
    raw["description"] = (
        f"Recommended by `run.py optimize` ({spec.name}): beats the incumbent on fresh seeds"
        if rec
        else f"No candidate of `run.py optimize` ({spec.name}) beat the incumbent on fresh seeds: "
        "this is the incumbent, unchanged"
    )
    scenario = validate(raw, source="recommendation")
    header = [f"# {raw['description']}.", f"# {verdict_text(result).splitlines()[0]}"]
    for key, before, after in changes(result):
        header.append(f"#   {key}: {_show(before)} → {_show(after)}")
    return "\n".join(header) + "\n" + note + "\n" + scenario_to_toml(scenario)


def write_outputs(result, out: Path, *, plots: bool = True) -> list[str]:
    """Write every output file into ``out``; return the names written."""
    written = []

    def put(name: str, content) -> None:
        atomic_write(out / name, content)
        written.append(name)

    put("recommendation.toml", recommendation_toml(result))
    put("trace.csv", result.trace().to_csv(index=False))
    put("confirmation.csv", result.confirmation_table().to_csv(index=False))
    # The markets of each block, as a comparison's draws.csv (draw, its root seed, the values).
    put("search_draws.csv", result.search_block.draw_table.to_csv(index=False))
    put("confirm_draws.csv", result.confirmation.block.draw_table.to_csv(index=False))
    if not result.curves.empty:
        put("curves.csv", result.curves.to_csv(index=False))
        put("marginal.csv", result.marginal.to_csv(index=False))
    if not result.frontier.empty:
        put("frontier.csv", result.frontier.to_csv(index=False))
    write_json(out / "summary.json", result.summary())
    written.append("summary.json")
    images = {}
    if plots:
        from model.optimize import plots as figures

        if not result.curves.empty:
            put("curves.png", lambda p: figures.curves_figure(result, p))
            images["curves.png"] = out / "curves.png"
        if not result.frontier.empty:
            put("frontier.png", lambda p: figures.frontier_figure(result, p))
            images["frontier.png"] = out / "frontier.png"
    put("report.html", render_report(result, images))
    return written


def _e(x: Any) -> str:
    return html.escape(str(x))


def _img(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{_e(Path(path).name)}" src="data:image/png;base64,{data}">'


def _table(frame: pd.DataFrame, columns: dict[str, tuple[str, Any]]) -> str:
    """An HTML table; ``columns`` maps a column to its heading and a formatter."""
    head = "".join(f"<th>{_e(label)}</th>" for label, _ in columns.values())
    body = []
    for _, row in frame.iterrows():
        cells = []
        for col, (_label, show) in columns.items():
            v = row.get(col)
            missing = v is None or (isinstance(v, float) and math.isnan(v))
            text = "n/a" if missing else show(v)
            cls = ' class="l"' if isinstance(v, str) else ""
            cells.append(f"<td{cls}>{_e(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_report(result, images: dict[str, Path]) -> str:
    """The optimisation's report section as one self-contained HTML page."""
    spec = result.spec
    rec = result.recommendation
    verdict = verdict_text(result).replace("\n", "<br>")
    cls = "good" if rec else "bad"
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(spec.name)}</title>"
        f"<style>{CSS}</style></head><body>",
        f"<h1>Optimisation: {_e(spec.name)}</h1>",
        f"<p class='muted'>{_e(spec.description)}</p>",
        "<h2>Recommendation</h2>",
        f"<p class='{cls}'>{verdict}</p>",
    ]
    if rec:
        rows = "".join(
            f"<tr><td class='l'>{_e(param_label(k))}<br><code>{_e(k)}</code></td>"
            f"<td>{_e(_show(a))}</td><td>{_e(_show(v))}</td></tr>"
            for k, a, v in changes(result)
        )
        parts.append(
            f"<table><tr><th class='l'>lever</th><th>incumbent</th>"
            f"<th>recommended</th></tr>{rows}</table>"
        )
    conf = result.confirmation_table()

    def value(x: float) -> str:
        return _value(result, x)

    def diff(x: float) -> str:
        return _value(result, x, diff=True)

    parts += [
        "<h2>Confirmation on fresh seeds and draws</h2>",
        "<p>The search scores candidates on one fixed block of cells; its winner is partly the "
        "luckiest on that block. The best few and the incumbent are run again on a fresh block; "
        "a candidate is recommended only if it beats the incumbent there with 95% confidence "
        "(cluster bootstrap over draws) and keeps every constraint. <i>search</i> is the score "
        "on the search block, <i>fresh</i> on the new one.</p>",
        _table(
            conf,
            {
                "label": ("", str),
                "search_objective": ("search", value),
                "objective": ("fresh", value),
                "diff_vs_incumbent": ("vs incumbent", diff),
                "diff_low": ("band 5%", diff),
                "diff_high": ("band 95%", diff),
                "p_beats": ("P(beats)", lambda p: f"{p:.0%}"),
                "why": ("verdict", str),
            },
        ),
    ]
    if not result.marginal.empty:
        parts += [
            f"<h2>Response curves through {_e(result.curve_through)}</h2>",
            "<p>Each lever moved over its range with the others at the optimum, on the fresh "
            "cells; the line is the mean paired difference from the optimum, the band its "
            "10–90% range over cells. Marginal value: the change of the objective per unit of "
            "the lever at the optimum (90% interval from the per-draw means).</p>",
            _table(
                result.marginal,
                {
                    "lever": ("lever", str),
                    "unit": ("unit", str),
                    "at": ("at", _show),
                    "per_unit": ("per unit", diff),
                    "low": ("low", diff),
                    "high": ("high", diff),
                },
            ),
        ]
    for name in ("curves.png", "frontier.png"):
        if name in images:
            parts.append(_img(images[name]))
    if not result.frontier.empty:
        parts.append(
            "<p>Risk–return frontier: every feasible candidate of the search by its mean "
            "and its CVaR on the search block; the efficient ones (no other is better "
            "on both) are joined.</p>"
        )
    s = result.summary()
    parts += [
        "<h2>Search</h2>",
        f"<p>{s['search']['candidates']} candidates on {s['search']['block']['cells']} cells "
        f"({result.search_block.grid}, root seed {s['search']['block']['root_seed']}); "
        f"{s['search']['feasible']} met every constraint with room to spare: a limit on a mean "
        "counts as kept in the search only if its one-sided 95% prediction bound for the "
        "fresh cells keeps it (the room is in <code>trace.csv</code>, columns "
        f"<code>room.*</code>). Runs: {_e(json.dumps(s['runs']))}. "
        "Every candidate is in <code>trace.csv</code>.</p>",
        "<h2>Provenance</h2>",
        f"<pre>{_e(json.dumps(s, indent=2, ensure_ascii=False, default=str))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)
