"""Write a comparison's files: the one place in ``model.compare`` that touches the disk.

Files (all into one directory, published by :mod:`model.outputs`: complete or absent, never
half-written; an existing directory is written into only if it is a comparison's own):

* ``report.html`` — self-contained (images embedded): verdict, ranking, conditions, KPI tables,
  plots, the ranges drawn and where they come from, provenance;
* ``comparison.csv`` — one row per strategy and KPI: median, 10–90% band, paired difference
  with the reference, P(beats the reference), P(best), regret
  (:func:`model.verdict.robust_summary`);
* ``ranking.csv`` — the ranking KPI's rows, best first;
* ``conditions.csv`` and ``conditions.png`` — where each verdict flips (with draws only);
* ``draws.csv`` — one row per draw: ``draw``, ``seed`` and the drawn values;
* ``runs.parquet`` — tidy per-run, per-day results: scenario, strategy, draw, replicate, seed,
  day, metric, value;
* ``kpis.parquet`` and ``kpis.csv`` — one row per run with every KPI;
* ``failures.csv`` — only if some run raised or was lost;
* ``provenance.json`` and ``scenarios/<strategy>.toml`` — version, seeds, the drawn and stated
  parameters, each strategy's resolved scenario (``sim.seed`` = the root seed), which re-runs any
  of its runs exactly: ``run.py run FILE --draw DIR/draws.csv:d --replicate i``;
* the PNG plots.
"""

from __future__ import annotations

from pathlib import Path

from model._version import __version__
from model.compare.plots import write_comparison_plots
from model.compare.report import render_report
from model.compare.tables import rerun_command
from model.outputs import OutputDir, claim_output_dir, publish, safe_name, write_json


def write_outputs(
    result, out: str | Path | OutputDir, *, plots: bool = True, overwrite: bool = False
) -> Path:
    """Write every file of a comparison into ``out`` (published whole, see above).

    Args:
        result: a :class:`model.compare.result.ComparisonResult`.
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
    spec = result.spec
    summary = result.summary()
    ranking = result.ranking()
    conditions = result.conditions()
    stems = _stems(spec.names)
    drawn = spec.uncertainty.enabled
    with publish(claim) as tmp:
        result.to_frame().to_parquet(tmp / "runs.parquet", index=False)
        result.kpis.to_parquet(tmp / "kpis.parquet", index=False)
        result.kpis.to_csv(tmp / "kpis.csv", index=False)
        summary.to_csv(tmp / "comparison.csv", index=False)
        ranking.to_csv(tmp / "ranking.csv", index=False)
        result.draws.to_csv(tmp / "draws.csv", index=False)
        if conditions is not None:
            conditions.to_frame().to_csv(tmp / "conditions.csv", index=False)
        if not result.failures.empty:
            result.failures.to_csv(tmp / "failures.csv", index=False)
        write_json(tmp / "provenance.json", result.provenance())
        (tmp / "scenarios").mkdir()
        for name, text in result.resolved_scenarios().items():
            example = rerun_command(
                claim.shown, stems[name], draws=drawn, replicate=min(2, spec.replicates - 1)
            )
            header = (
                f"# Strategy {name!r} of comparison {spec.name!r}, resolved by sidomain "
                f"{__version__}; sim.seed is the comparison's root seed.\n"
                "# Re-run any of its runs exactly (draw d, replicate i: the rows of "
                "kpis.csv), e.g.\n"
                f"#   {example}\n"
            )
            (tmp / "scenarios" / f"{stems[name]}.toml").write_text(header + text, encoding="utf-8")
        images = write_comparison_plots(result, tmp) if plots else []
        if plots and conditions is not None:
            conditions.plot(tmp / "conditions.png")
            images.append("conditions.png")
        (tmp / "report.html").write_text(
            render_report(
                result,
                summary,
                ranking,
                conditions,
                {name: tmp / name for name in images},
                out=claim.shown,
                stems=stems,
            ),
            encoding="utf-8",
        )
    return Path(claim.shown)


def _stems(names: list[str]) -> dict[str, str]:
    """A safe, distinct file stem per strategy (two names that read alike get a ``_``)."""
    used: set[str] = set()
    stems = {}
    for name in names:
        stem = safe_name(name, fallback="strategy")
        while stem.lower() in used:
            stem += "_"
        used.add(stem.lower())
        stems[name] = stem
    return stems
