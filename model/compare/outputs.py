"""Write a comparison's files: the one place in ``model.compare`` that touches the disk.

Files (all into one directory, replaced atomically: complete or absent, never half-written):

* ``runs.parquet`` — tidy per-run, per-day results: scenario, strategy, replicate, seed, day,
  metric, value;
* ``kpis.parquet`` and ``kpis.csv`` — one row per run with every KPI;
* ``comparison.csv`` — one row per strategy and KPI: median, 10–90% band, paired difference
  with the reference and P(beats the reference);
* ``ranking.csv`` — the ranking KPI's rows, best first;
* ``failures.csv`` — only if some run raised or was lost;
* ``provenance.json`` and ``scenarios/<strategy>.toml`` — version, seeds, resolved scenarios;
* the PNG plots and ``report.html`` (self-contained: images embedded).
"""

from __future__ import annotations

from pathlib import Path

from model.commands.common import write_json
from model.compare.plots import write_comparison_plots
from model.compare.report import render_report
from model.outputs import atomic_output_dir


def write_outputs(result, out: str | Path, *, plots: bool = True) -> Path:
    """Write every file of a comparison into ``out`` (atomically).

    Args:
        result: a :class:`model.compare.runner.ComparisonResult`.
        out: the output directory; an existing one is replaced only when all is written.
        plots: draw the PNG plots (and embed them in the report).

    Returns:
        The output directory.
    """
    out = Path(out)
    summary = result.summary()
    ranking = result.ranking()
    with atomic_output_dir(out) as tmp:
        result.to_frame().to_parquet(tmp / "runs.parquet", index=False)
        result.kpis.to_parquet(tmp / "kpis.parquet", index=False)
        result.kpis.to_csv(tmp / "kpis.csv", index=False)
        summary.to_csv(tmp / "comparison.csv", index=False)
        ranking.to_csv(tmp / "ranking.csv", index=False)
        if not result.failures.empty:
            result.failures.to_csv(tmp / "failures.csv", index=False)
        write_json(tmp / "provenance.json", result.provenance())
        scen_dir = tmp / "scenarios"
        scen_dir.mkdir()
        for name, text in result.resolved_scenarios().items():
            header = (
                f"# Resolved scenario of strategy {name!r} in comparison {result.spec.name!r}.\n"
                "# Re-run one replicate with: python run.py run <this file>\n"
            )
            (scen_dir / f"{name}.toml").write_text(header + text)
        images = write_comparison_plots(result, tmp) if plots else []
        (tmp / "report.html").write_text(
            render_report(result, summary, ranking, {name: tmp / name for name in images}),
            encoding="utf-8",
        )
    return out
