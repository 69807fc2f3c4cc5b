"""Verdicts under uncertainty: pure functions on a comparison's experiment table.

No simulation and no files (a plot is written only where a caller passes a path): the
experiment engine runs every strategy on the same K draws of the uncertain market parameters
(and the same replicate seeds within a draw) and hands the tables here.

* :func:`robust_summary` — per strategy and KPI: P(best), P(beats the reference) with
  intervals, the paired difference with its band, expected, 90th-percentile and worst regret,
  the minimax-regret choice; :func:`describe_verdict` says it in words, :func:`cautions` says
  when it rests on too little (:mod:`model.verdict.robust`).
* :func:`find_conditions` — "what would have to be true": for the leader against the
  runner-up and each strategy against the reference, the region of the drawn parameters where
  the verdict flips, found by PRIM; a :class:`Conditions` with ``to_frame()``, ``sentences()``
  and ``plot(path)`` (:mod:`model.verdict.conditions`).
"""

from model.verdict.conditions import CONDITION_COLUMNS, Conditions, Finding, find_conditions
from model.verdict.robust import COLUMNS, cautions, describe_verdict, robust_summary

__all__ = [
    "COLUMNS",
    "CONDITION_COLUMNS",
    "Conditions",
    "Finding",
    "cautions",
    "describe_verdict",
    "find_conditions",
    "robust_summary",
]
