"""Write a comparison's files: the one place in ``model.compare`` that touches the disk.

Files (all into one directory, published by :mod:`model.outputs`: complete or absent, never
half-written; an existing directory is written into only if it is a comparison's own):

* ``runs.parquet`` — tidy per-run, per-day results: scenario, strategy, replicate, seed, day,
  metric, value;
* ``kpis.parquet`` and ``kpis.csv`` — one row per run with every KPI;
* ``comparison.csv`` — one row per strategy and KPI: median, 10–90% band, paired difference
  with the reference and P(beats the reference);
* ``ranking.csv`` — the ranking KPI's rows, best first;
* ``failures.csv`` — only if some run raised or was lost;
* ``provenance.json`` and ``scenarios/<strategy>.toml`` — version, seeds, resolved scenarios
  (the strategy's name made a safe file name);
* the PNG plots and ``report.html`` (self-contained: images embedded).
"""

from __future__ import annotations

from pathlib import Path

from model.compare.plots import write_comparison_plots
from model.compare.report import render_report
from model.outputs import OutputDir, claim_output_dir, publish, safe_name, write_json


def write_outputs(
    result, out: str | Path | OutputDir, *, plots: bool = True, overwrite: bool = False
) -> Path:
    """Write every file of a comparison into ``out`` (published whole, see above).

    Args:
        result: a :class:`model.compare.runner.ComparisonResult`.
        out: the output directory (or one already claimed by the CLI); a directory that is
            not an earlier comparison's output is refused unless ``overwrite``.
        plots: draw the PNG plots (and embed them in the report).
        overwrite: write into a directory this tool did not create (see ``model.outputs``).

    Returns:
        The output directory.

    Raises:
        InputError: ``out`` may not be written (see :func:`model.outputs.claim_output_dir`).
    """
    claim = (
        out
        if isinstance(out, OutputDir)
        else claim_output_dir(out, "compare", overwrite=overwrite, inputs=[result.spec.path])
    )
    summary = result.summary()
    ranking = result.ranking()
    with publish(claim) as tmp:
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
        used: set[str] = set()
        for name, text in result.resolved_scenarios().items():
            header = (
                f"# Resolved scenario of strategy {name!r} in comparison {result.spec.name!r}.\n"
                "# Re-run one replicate with: python run.py run <this file>\n"
            )
            stem = safe_name(name, fallback="strategy")
            while stem.lower() in used:  # two names that read alike as file names
                stem += "_"
            used.add(stem.lower())
            (scen_dir / f"{stem}.toml").write_text(header + text, encoding="utf-8")
        images = write_comparison_plots(result, tmp) if plots else []
        (tmp / "report.html").write_text(
            render_report(result, summary, ranking, {name: tmp / name for name in images}),
            encoding="utf-8",
        )
    return Path(claim.shown)
