"""What ``run.py compare`` prints: the ranking with its uncertainty, the verdict, the conditions."""

from __future__ import annotations

import textwrap

from model import formatting as fmt
from model.compare.tables import few_cells_note, kpi_name, payback_lines, ranking_rows

WIDTH = 100


def plan_line(spec) -> str:
    """What the comparison runs, in one line."""
    n = len(spec.strategies)
    if spec.uncertainty.enabled:
        cells = (
            f"{spec.draws} draws of {len(spec.uncertainty.drawn)} uncertain market "
            f"parameters × {spec.replicates} replicates"
        )
    else:
        cells = f"the base market (no draws: noise only) × {spec.replicates} replicates"
    runs = n * spec.draws * spec.replicates
    return f"{spec.name}: {n} strategies on {cells} = {runs:,} runs (root seed {spec.root_seed})"


def comparison_text(result, ranking, verdict: list[str], conditions) -> str:
    """The terminal's account of a comparison.

    Args:
        result: a :class:`model.compare.result.ComparisonResult`.
        ranking: ``result.ranking()``.
        verdict: ``result.verdict()``.
        conditions: ``result.conditions()`` (None without draws).
    """
    spec = result.spec
    metric = spec.rank_by
    kpi = kpi_name(metric, with_unit=True)
    way = "higher" if ranking["direction"].iloc[0] == "higher" else "lower"
    header = {
        "rank": "rank",
        "strategy": "strategy",
        "value": f"{kpi} [p10, p90]",
        "diff": f"− {spec.reference} [p10, p90]",
        "p_beats": "P(beats ref) [95%]",
        "p_best": "P(best)",
        "regret": "regret mean/p90",
        "note": "",
    }
    rows = ranking_rows(ranking, spec.reference, metric)
    lines = [
        plan_line(spec),
        f"Ranked by median {kpi_name(metric)} ({way} is better) against "
        f"{spec.reference}; bands are 10–90% over cells (draw × replicate).",
        "",
    ]
    lines += _table(header, rows)
    note = few_cells_note(ranking)
    if note:
        lines += _wrap(note)
    if any(fmt.NA in " ".join(r.values()) for r in rows):
        lines += _wrap(fmt.NA_LEGEND)
    paybacks = payback_lines(result.summary(), result.kpis, spec.reference)
    if paybacks:
        lines += [
            "",
            f"Pays back against {spec.reference} (first day its cumulative "
            "contribution stays ahead on the same cell):",
        ]
        for text in paybacks:
            lines += _wrap(text, "  ")
    lines += ["", "Verdict:"]
    for sentence in verdict:
        lines += _wrap(sentence, "  ")
    if conditions is not None:
        lines += ["", "What would have to be true (where each verdict flips, by PRIM):"]
        for sentence in conditions.sentences():
            lines += _wrap(sentence, "  ")
    return "\n".join(lines)


def _table(header: dict[str, str], rows: list[dict[str, str]]) -> list[str]:
    keys = list(header)
    widths = {k: max(len(header[k]), *(len(r[k]) for r in rows)) for k in keys}
    left = {"strategy", "note"}

    def line(cells: dict[str, str]) -> str:
        return "  ".join(
            cells[k].ljust(widths[k]) if k in left else cells[k].rjust(widths[k]) for k in keys
        ).rstrip()

    return [line(header), line({k: "-" * widths[k] for k in keys}), *map(line, rows)]


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ")
