"""Compare operating strategies side by side on one market, with uncertainty (DESIGN §5).

Notebook use::

    from model.compare import run_comparison
    res = run_comparison("scenarios/compare_operating_modes.toml", replicates=8, workers=1)
    res.ranking()          # best first by median contribution (or the file's rank_by)
    res.summary()          # per strategy and KPI: median, 10–90%, paired difference, P(beats)
    res.write("out/cmp")   # Parquet, CSV, PNG and a self-contained report.html

The command line does the same: ``python run.py compare FILE``.
"""

from model.compare.runner import ComparisonResult, run_comparison
from model.compare.spec import DIRECTIONS, KPIS, ComparisonSpec, load_comparison
from model.compare.summary import p_beats, ranking, summarise

__all__ = [
    "DIRECTIONS",
    "KPIS",
    "ComparisonResult",
    "ComparisonSpec",
    "load_comparison",
    "p_beats",
    "ranking",
    "run_comparison",
    "summarise",
]
