"""The comparison report: one self-contained HTML file, and the terminal's ranking table.

The HTML embeds its images as base64 and carries its own CSS, so it can be mailed or dropped in
a chat as one file. It holds the ranking, the per-KPI tables, the plots, what each strategy
changes from the baseline, and the provenance needed to reproduce every run.
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

from model._version import __version__

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Noto Sans SC", sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: right; vertical-align: top; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
tr.ref td { background: #fbf6e6; } .muted { color: #777; }
.good { color: #1a7f37; } .bad { color: #b42318; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
code { background: #f3f3f3; padding: 0 0.25em; }
"""

PLOT_CAPTIONS = {
    "kpi_distributions.png": "Every replicate of every strategy, per KPI: dots are runs, the bar "
    "spans the 10–90% band, the tick is the median.",
    "paired_differences.png": "Paired differences with the reference on the ranking KPI: each dot "
    "is one replicate seed run under both strategies (common random numbers).",
    "contribution_fan.png": "Cumulative contribution over time: median line and 10–90% band.",
    "customers_by_domain.png": "Customers per domain over time (median and 10–90% band); "
    "prospects left out.",
}


def fmt(value: Any) -> str:
    """A number for people: thousands separators, three significant digits, n/a for NaN."""
    if value is None:
        return "n/a"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if x == int(x) and abs(x) < 1000:
        return f"{int(x)}"
    return f"{x:.3g}"


def fmt_band(median: Any, p10: Any, p90: Any) -> str:
    """``median [p10, p90]`` (just ``n/a`` when the KPI was undefined in every run)."""
    if fmt(median) == "n/a" and fmt(p10) == "n/a":
        return "n/a"
    return f"{fmt(median)} [{fmt(p10)}, {fmt(p90)}]"


def diff_band(row: Any) -> str:
    """The paired difference of a summary row as ``median [p10, p90]``."""
    return fmt_band(
        row["diff_vs_reference_median"], row["diff_vs_reference_p10"], row["diff_vs_reference_p90"]
    )


def fmt_p(p: Any) -> str:
    """A probability as a percentage."""
    try:
        x = float(p)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not math.isfinite(x) else f"{100 * x:.0f}%"


def ranking_text(ranking: pd.DataFrame, spec) -> str:
    """The terminal's ranking table: median and 10–90% band, paired difference, P(beats)."""
    kpi = spec.rank_by
    header = [
        "rank",
        "strategy",
        f"{kpi} median [p10, p90]",
        f"vs {spec.reference} median [p10, p90]",
        "P(beats ref)",
    ]
    rows = [
        [
            str(int(r["rank"])),
            r["strategy"] + (" (reference)" if r["strategy"] == spec.reference else ""),
            fmt_band(r["median"], r["p10"], r["p90"]),
            "—" if r["strategy"] == spec.reference else diff_band(r),
            "—" if r["strategy"] == spec.reference else fmt_p(r["p_beats_reference"]),
        ]
        for _, r in ranking.iterrows()
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    align = ["r", "l", "r", "r", "r"]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if a == "r" else c.ljust(w)
            for c, w, a in zip(cells, widths, align, strict=True)
        )

    direction = "higher" if spec_direction(kpi) == "higher" else "lower"
    title = (
        f"{spec.name}: ranked by median {kpi} ({direction} is better), "
        f"{spec.replicates} replicates, root seed {spec.root_seed}"
    )
    return "\n".join([title, line(header), line(["-" * w for w in widths]), *map(line, rows)])


def spec_direction(kpi: str) -> str:
    """Which way is better for a KPI (see :data:`model.compare.spec.DIRECTIONS`)."""
    from model.compare.spec import DIRECTIONS

    return DIRECTIONS[kpi]


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


def render_report(
    result,
    summary: pd.DataFrame,
    ranking: pd.DataFrame,
    images: Mapping[str, Path],
) -> str:
    """The whole report as one HTML string.

    Args:
        result: a :class:`model.compare.runner.ComparisonResult`.
        summary: ``result.summary()``.
        ranking: ``result.ranking()``.
        images: PNG file name → path, in display order (embedded as base64).
    """
    spec = result.spec
    ref = spec.reference
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(spec.name)}: strategy comparison</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(spec.name)}</h1>",
    ]
    if spec.description:
        parts.append(f"<p>{_e(spec.description)}</p>")
    n_runs = len(result.kpis)
    parts.append(
        f'<p class="muted">{len(spec.strategies)} strategies × {spec.replicates} replicates '
        f"({n_runs} runs finished) on common random numbers: replicate <i>i</i> of every strategy "
        f"uses the same seed, so differences are paired. Reference: <b>{_e(ref)}</b>. "
        f"Bands are 10–90% over replicates. Comparison file: <code>{_e(spec.path)}</code>; "
        f"sidomain {_e(__version__)}.</p>"
    )

    # --- ranking -----------------------------------------------------------------------------
    direction = spec_direction(spec.rank_by)
    parts.append(
        f"<h2>Ranking by median {_e(spec.rank_by)} ({direction} is better)</h2>"
        "<table><tr><th>rank</th><th class=l>strategy</th><th class=l>what it does</th>"
        f"<th>{_e(spec.rank_by)}: median [p10, p90]</th>"
        f"<th>difference vs {_e(ref)}: median [p10, p90]</th><th>P(beats {_e(ref)})</th></tr>"
    )
    for _, r in ranking.iterrows():
        is_ref = r["strategy"] == ref
        diff = (
            "reference" if is_ref else diff_band(r)
        )
        parts.append(
            f"<tr{' class=ref' if is_ref else ''}><td>{int(r['rank'])}</td>"
            f"<td class=l><b>{_e(r['strategy'])}</b></td>"
            f"<td class=l>{_e(spec.strategy(r['strategy']).description)}</td>"
            f"<td>{_e(fmt_band(r['median'], r['p10'], r['p90']))}</td><td>{_e(diff)}</td>"
            f"<td>{'—' if is_ref else fmt_p(r['p_beats_reference'])}</td></tr>"
        )
    parts.append("</table>")
    parts.append(
        '<p class="muted">P(beats) is the share of replicates in which the strategy did better '
        "than the reference on the same seed; ties count half. 50% means no detectable edge.</p>"
    )

    # --- strategies --------------------------------------------------------------------------
    parts.append("<h2>What each strategy changes</h2>")
    parts.append(
        f"<p>Shared market: <code>{_e(spec.base_path.name)}</code> with "
        f"{_override_list(spec.market_overrides)}</p>"
    )
    parts.append("<table><tr><th class=l>strategy</th><th class=l>description</th>"
                 "<th class=l>overrides of the shared market</th></tr>")
    for s in spec.strategies:
        parts.append(
            f"<tr{' class=ref' if s.name == ref else ''}><td class=l><b>{_e(s.name)}</b>"
            f"{' (reference)' if s.name == ref else ''}</td><td class=l>{_e(s.description)}</td>"
            f"<td class=l>{_override_list(s.overrides)}</td></tr>"
        )
    parts.append("</table>")

    # --- KPI tables --------------------------------------------------------------------------
    parts.append("<h2>Every KPI</h2>")
    parts.append(
        "<table><tr><th class=l>KPI</th><th class=l>strategy</th><th>median [p10, p90]</th>"
        f"<th>difference vs {_e(ref)}: median [p10, p90]</th><th>P(beats {_e(ref)})</th>"
        "<th>runs defined</th></tr>"
    )
    for metric in spec.kpis:
        rows = summary[summary["metric"] == metric]
        better = "↑ better" if spec_direction(metric) == "higher" else "↓ better"
        for i, (_, r) in enumerate(rows.iterrows()):
            is_ref = r["strategy"] == ref
            label = (
                f'<td class=l rowspan="{len(rows)}"><b>{_e(metric)}</b><br>'
                f'<span class="muted">{better}</span></td>'
                if i == 0
                else ""
            )
            p = r["p_beats_reference"]
            cls = ""
            if not is_ref and isinstance(p, float) and math.isfinite(p):
                cls = " class=good" if p >= 0.9 else (" class=bad" if p <= 0.1 else "")
            diff = (
                "reference"
                if is_ref
                else fmt_band(
                    r["diff_vs_reference_median"],
                    r["diff_vs_reference_p10"],
                    r["diff_vs_reference_p90"],
                )
            )
            parts.append(
                f"<tr{' class=ref' if is_ref else ''}>{label}<td class=l>{_e(r['strategy'])}</td>"
                f"<td>{_e(fmt_band(r['median'], r['p10'], r['p90']))}</td><td>{_e(diff)}</td>"
                f"<td{cls}>{'—' if is_ref else fmt_p(p)}</td><td>{int(r['n'])}</td></tr>"
            )
    parts.append("</table>")

    # --- plots -------------------------------------------------------------------------------
    if images:
        parts.append("<h2>Plots</h2>")
        for name, path in images.items():
            caption = PLOT_CAPTIONS.get(name, "")
            parts.append(f"<figure>{_image_tag(path)}<figcaption class=muted>{_e(caption)}"
                         "</figcaption></figure>")

    # --- failures ----------------------------------------------------------------------------
    if not result.failures.empty:
        parts.append("<h2>Runs that did not finish</h2><table><tr><th class=l>strategy</th>"
                     "<th>replicate</th><th class=l>error</th></tr>")
        for _, f in result.failures.iterrows():
            parts.append(f"<tr><td class=l>{_e(f['strategy'])}</td><td>{int(f['replicate'])}</td>"
                         f"<td class=l>{_e(f['error'])}</td></tr>")
        parts.append("</table>")

    # --- provenance --------------------------------------------------------------------------
    prov = result.provenance()
    parts.append("<h2>Provenance</h2><ul>")
    parts.append(f"<li>package: sidomain {_e(prov['package_version'])}</li>")
    parts.append(f"<li>comparison file: <code>{_e(prov['comparison_file'])}</code></li>")
    parts.append(f"<li>base scenario: <code>{_e(prov['base_scenario'])}</code></li>")
    parts.append(f"<li>root seed: <code>{_e(prov['root_seed'])}</code>; replicate <i>i</i> uses "
                 "<code>SeedSequence(root_seed, spawn_key=(i,))</code></li>")
    parts.append(f"<li>replicate seeds: <code>{_e(', '.join(prov['replicate_seeds']))}</code></li>")
    parts.append("</ul><h3>Resolved scenario per strategy</h3>")
    for name, text in result.resolved_scenarios().items():
        parts.append(f"<details><summary>{_e(name)}</summary><pre>{_e(text)}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)
