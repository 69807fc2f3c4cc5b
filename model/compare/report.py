"""The comparison report: one self-contained HTML file.

The HTML embeds its images as base64 and carries its own CSS, so it can be mailed or dropped in
a chat as one file. It says the verdict in words first, then the ranking with its uncertainty,
what would have to be true for the verdict to flip, what was drawn and from where, the per-KPI
tables, the plots, and how to re-run any run exactly. Every number is formatted in its unit by
:mod:`model.formatting`.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from model import formatting as fmt
from model._version import __version__
from model.compare.explain import READING, WHAT_TO_DO
from model.compare.tables import (
    band,
    diff_band,
    few_cells_note,
    kpi_name,
    payback_lines,
    ranking_rows,
    rerun_command,
    share,
    stated_rows,
    uncertainty_rows,
)
from model.compare.terminal import plan_line

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Noto Sans SC", sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; vertical-align: top; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
tr.ref td { background: #fbf6e6; } .muted { color: #777; } .warn { color: #b54708; }
.good { color: #1a7f37; } .bad { color: #b42318; }
.verdict { background: #f3f8ff; border-left: 4px solid #4C72B0; padding: 0.6em 1em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
code { background: #f3f3f3; padding: 0 0.25em; }
"""

PLOT_CAPTIONS = {
    "kpi_distributions.png": "Every run of every strategy, per KPI: dots are runs (one per "
    "cell), the bar spans the 10–90% band, the tick is the median.",
    "paired_differences.png": "Paired differences with the reference on the ranking KPI: each "
    "dot is one cell (the same market draw and seed under both strategies).",
    "contribution_fan.png": "Cumulative contribution over time: median and 10–90% band over cells.",
    "customers_by_domain.png": "Customers per domain over time (median and 10–90% band); "
    "prospects left out. Lapsed = former members who stopped buying; dormant platform buyers "
    "stay 'public'.",
    "conditions.png": "Where a verdict flips: each dot is a draw of the market (red: the usual "
    "winner loses there), the rectangle is the box PRIM found.",
}


def _e(text: Any) -> str:
    return html.escape(str(text))


def _image_tag(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{_e(Path(path).name)}" src="data:image/png;base64,{data}">'


def _override_list(overrides: Mapping[str, Any]) -> str:
    if not overrides:
        return '<span class="muted">nothing: the shared market as it is</span>'
    items = "".join(
        f"<li><code>{_e(k)} = {_e(json.dumps(v, ensure_ascii=False))}</code></li>"
        for k, v in overrides.items()
    )
    return f"<ul>{items}</ul>"


def _table(
    header: list[str], rows: list[list[str]], *, left: int = 1, classes: list[str] | None = None
) -> str:
    head = "".join(
        f"<th{' class=l' if i < left else ''}>{_e(h)}</th>" for i, h in enumerate(header)
    )
    body = []
    for j, row in enumerate(rows):
        cls = f" class={classes[j]}" if classes and classes[j] else ""
        cells = "".join(f"<td{' class=l' if i < left else ''}>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_report(
    result,
    summary: pd.DataFrame,
    ranking: pd.DataFrame,
    conditions,
    images: Mapping[str, Path],
    *,
    out: str = "OUT",
    stems: Mapping[str, str] | None = None,
) -> str:
    """The whole report as one HTML string.

    Args:
        result: a :class:`model.compare.result.ComparisonResult`.
        summary: ``result.summary()``.
        ranking: ``result.ranking()``.
        conditions: ``result.conditions()`` (None without draws).
        images: PNG file name → path, in display order (embedded as base64).
        out: the output directory as the user named it (for re-run commands).
        stems: each strategy's file stem under ``scenarios/``.
    """
    spec = result.spec
    ref, metric = spec.reference, spec.rank_by
    stems = stems or {s: s for s in spec.names}
    label = kpi_name(metric)
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(spec.name)}: strategy comparison</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(spec.name)}</h1>",
    ]
    if spec.description:
        parts.append(f"<p>{_e(spec.description)}</p>")
    parts.append(
        f'<p class="muted">{_e(plan_line(spec))}; {len(result.kpis):,} runs finished. '
        f"Every strategy runs on the same market draws and, within a draw, the same replicate "
        f"seeds, so differences are paired. Reference: <b>{_e(ref)}</b>. Comparison file: "
        f"<code>{_e(spec.path)}</code>; sidomain {_e(__version__)}.</p>"
    )

    # --- verdict and ranking -------------------------------------------------------------------
    parts.append("<h2>Verdict</h2><div class=verdict>")
    parts += [f"<p>{_e(s)}</p>" for s in result.verdict()]
    parts.append("</div>")
    way = "higher" if ranking["direction"].iloc[0] == "higher" else "lower"
    parts.append(f"<h2>Ranking by median {_e(label)} ({way} is better)</h2>")
    rows = ranking_rows(ranking, ref, metric)
    parts.append(
        _table(
            [
                "rank",
                "strategy",
                "what it does",
                f"{label}: median [p10, p90]",
                f"difference vs {ref}: median [p10, p90]",
                f"P(beats {ref}) [95%]",
                "P(best)",
                "regret: mean / 90th percentile",
                "",
            ],
            [
                [
                    r["rank"],
                    f"<b>{_e(r['strategy'])}</b>",
                    _e(spec.strategy(r["strategy"].removesuffix(" (reference)")).description),
                    _e(r["value"]),
                    _e(r["diff"]),
                    _e(r["p_beats"]).replace(
                        " !", ' <span class=warn title="fewer than 10 cells">!</span>'
                    ),
                    _e(r["p_best"]),
                    _e(r["regret"]),
                    _e(r["note"]),
                ]
                for r in rows
            ],
            left=3,
            classes=["ref" if r["strategy"].endswith("(reference)") else "" for r in rows],
        )
    )
    note = few_cells_note(ranking)
    if note:
        parts.append(f"<p class=warn>{_e(note)}</p>")
    parts.append(f"<p class=muted>{READING}</p>")
    paybacks = payback_lines(summary, result.kpis, ref)
    if paybacks:
        parts.append(
            f"<h3>When the private domain pays back against {_e(ref)}</h3><p>The first day from "
            "which a strategy's cumulative contribution stays ahead of the reference's on the "
            "same cell:</p><ul>" + "".join(f"<li>{_e(x)}</li>" for x in paybacks) + "</ul>"
        )

    # --- conditions ----------------------------------------------------------------------------
    parts.append("<h2>What would have to be true</h2>")
    if conditions is None:
        parts.append(
            "<p>This comparison ran on the base market only (no parameter draws), so it cannot "
            "say which facts about the market would change the verdict: run it without "
            "<code>--no-uncertainty</code>.</p>"
        )
    else:
        parts += [f"<p>{_e(s)}</p>" for s in conditions.sentences()]
        if "conditions.png" in images:
            parts.append(
                f"<figure>{_image_tag(images['conditions.png'])}<figcaption class=muted>"
                f"{_e(PLOT_CAPTIONS['conditions.png'])}</figcaption></figure>"
            )
        parts.append(f"<p class=muted>{WHAT_TO_DO}</p>")

    # --- uncertainty ---------------------------------------------------------------------------
    parts.append("<h2>What we don't know: the market draws</h2>")
    u = spec.uncertainty
    if u.enabled:
        from_file = sum(d.origin == "file" for d in u.drawn)
        parts.append(
            f"<p>{spec.draws} draws (Latin hypercube, seeded from the root seed) of "
            f"{len(u.drawn)} uncertain market parameters: {len(u.drawn) - from_file} ranges "
            f"from the parameter registry (<code>python run.py params</code>), {from_file} "
            "from this file's <code>[uncertainty]</code>. Each draw's values and seed are in "
            "<code>draws.csv</code>.</p>"
        )
        parts.append(
            _table(
                [
                    "parameter",
                    "what it is",
                    "range drawn",
                    "scale",
                    "base value",
                    "range from",
                    "source",
                ],
                [
                    [
                        f"<code>{_e(r['key'])}</code>",
                        _e(r["what"]),
                        _e(r["range"]),
                        r["scale"],
                        _e(r["base"]),
                        _e(r["from"]),
                        _e(r["source"]),
                    ]
                    for r in uncertainty_rows(spec)
                ],
                left=2,
            )
        )
    else:
        parts.append(
            "<p>None drawn: <code>--no-uncertainty</code> ran the noise-only "
            "comparison on the base market.</p>"
        )
    stated = stated_rows(spec)
    if stated:
        parts.append(
            "<p>Stated, not drawn (a value the file or the command line sets is taken as a "
            "fact about this market; a strategy's value applies to that strategy, the others "
            "keep the base's):</p>"
        )
        parts.append(
            _table(
                ["parameter", "value", "stated in", "source"],
                [
                    [
                        f"<code>{_e(r['key'])}</code>",
                        _e(r["value"]),
                        _e(r["where"]),
                        _e(r["source"]),
                    ]
                    for r in stated
                ],
            )
        )

    # --- strategies ----------------------------------------------------------------------------
    parts.append("<h2>What each strategy changes</h2>")
    parts.append(
        f"<p>Shared market: <code>{_e(spec.base_path.name)}</code> with "
        f"{_override_list(spec.market_overrides)}</p>"
    )
    parts.append(
        _table(
            ["strategy", "description", "overrides of the shared market"],
            [
                [
                    f"<b>{_e(s.name)}</b>{' (reference)' if s.name == ref else ''}",
                    _e(s.description),
                    _override_list(s.overrides),
                ]
                for s in spec.strategies
            ],
            left=3,
            classes=["ref" if s.name == ref else "" for s in spec.strategies],
        )
    )

    # --- KPI tables ----------------------------------------------------------------------------
    parts.append("<h2>Every KPI</h2>")
    parts.append(_kpi_table(summary, spec))
    parts.append(f"<p class=muted>{_e(fmt.NA_LEGEND)}.</p>")

    # --- plots ---------------------------------------------------------------------------------
    shown = {k: v for k, v in images.items() if k != "conditions.png"}
    if shown:
        parts.append("<h2>Plots</h2>")
        for name, path in shown.items():
            parts.append(
                f"<figure>{_image_tag(path)}<figcaption class=muted>"
                f"{_e(PLOT_CAPTIONS.get(name, ''))}</figcaption></figure>"
            )

    # --- failures ------------------------------------------------------------------------------
    if not result.failures.empty:
        parts.append("<h2>Runs that did not finish</h2>")
        parts.append(
            _table(
                ["strategy", "draw", "replicate", "error"],
                [
                    [
                        _e(f["strategy"]),
                        str(int(f["draw"])),
                        str(int(f["replicate"])),
                        _e(f["error"]),
                    ]
                    for _, f in result.failures.iterrows()
                ],
            )
        )

    # --- provenance ----------------------------------------------------------------------------
    first = spec.names[0]
    parts.append("<h2>Re-running a run, and provenance</h2>")
    parts.append(
        "<p>Each strategy's resolved scenario is in <code>scenarios/</code> with "
        "<code>sim.seed</code> = the root seed. Run <i>(draw d, replicate i)</i> of a strategy "
        f"— a row of <code>kpis.csv</code> — re-runs exactly with, for {_e(first)}:</p><pre>"
        + _e(
            rerun_command(out, stems[first], draws=u.enabled, draw=0, replicate=0)
            .replace("draws.csv:0", "draws.csv:d")
            .replace("--replicate 0", "--replicate i")
        )
        + "</pre>"
    )
    parts.append("<ul>")
    parts.append(f"<li>package: sidomain {_e(__version__)}</li>")
    parts.append(f"<li>comparison file: <code>{_e(spec.path)}</code></li>")
    parts.append(f"<li>base scenario: <code>{_e(spec.base_path)}</code></li>")
    parts.append(
        f"<li>root seed: <code>{_e(spec.root_seed)}</code>; draw <i>d</i> has its "
        "own seed (<code>draws.csv</code>), and replicate <i>i</i> of a draw uses "
        "<code>SeedSequence(seed, spawn_key=(i,))</code></li>"
    )
    parts.append("</ul><h3>Resolved scenario per strategy</h3>")
    for name, text in result.resolved_scenarios().items():
        parts.append(f"<details><summary>{_e(name)}</summary><pre>{_e(text)}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _kpi_table(summary: pd.DataFrame, spec) -> str:
    ref = spec.reference
    out = [
        "<table><tr><th class=l>KPI</th><th class=l>strategy</th><th>median [p10, p90]</th>"
        f"<th>difference vs {_e(ref)}: median [p10, p90]</th><th>P(beats {_e(ref)})</th>"
        "<th>P(best)</th><th>runs defined</th></tr>"
    ]
    for metric in spec.kpis:
        rows = summary[summary["metric"] == metric]
        way = rows["direction"].iloc[0] if len(rows) else "neutral"
        better = {"higher": "↑ better", "lower": "↓ better"}.get(way, "descriptive")
        for i, (_, r) in enumerate(rows.iterrows()):
            is_ref = r["strategy"] == ref
            head = (
                f'<td class=l rowspan="{len(rows)}"><b>{_e(kpi_name(metric))}</b><br>'
                f'<span class="muted">{better}</span></td>'
                if i == 0
                else ""
            )
            p = r["p_beats_reference"]
            cls = ""
            if not is_ref and isinstance(p, float) and math.isfinite(p):
                cls = " class=good" if p >= 0.9 else (" class=bad" if p <= 0.1 else "")
            diff = "reference" if is_ref else diff_band(metric, r)
            out.append(
                f"<tr{' class=ref' if is_ref else ''}>{head}<td class=l>{_e(r['strategy'])}</td>"
                f"<td>{_e(band(metric, r['median'], r['p10'], r['p90']))}</td><td>{_e(diff)}</td>"
                f"<td{cls}>{'—' if is_ref else _e(share(p))}</td><td>{_e(share(r['p_best']))}"
                f"</td><td>{int(r['n'])}</td></tr>"
            )
    out.append("</table>")
    return "".join(out)
