"""Compare operating strategies side by side on one market, under what we don't know (DESIGN §5).

Notebook use::

    from model.compare import run_comparison
    res = run_comparison("scenarios/compare_operating_modes.toml", draws=4, replicates=2,
                         workers=1)
    res.ranking()          # best first by median of rank_by, with P(best) and regret
    res.summary()          # per strategy and KPI: bands, paired difference, P(beats), regret
    res.verdict()          # the verdict in words
    res.conditions()       # where it flips over the drawn market parameters (PRIM)
    res.write("out/cmp")   # Parquet, CSV, PNG and a self-contained report.html

The command line does the same: ``python run.py compare FILE``.
"""

from model.compare.result import ComparisonResult
from model.compare.runner import run_comparison
from model.compare.spec import DIRECTIONS, KPIS, ComparisonSpec, load_comparison
from model.compare.summary import ranking, summarise

__all__ = [
    "DIRECTIONS",
    "KPIS",
    "ComparisonResult",
    "ComparisonSpec",
    "load_comparison",
    "ranking",
    "run_comparison",
    "summarise",
]
