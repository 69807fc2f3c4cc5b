"""Verdicts under uncertainty: pure functions on a comparison's experiment table.

No simulation and no files: the experiment engine runs every strategy on the same K draws of
the uncertain market parameters (and the same replicate seeds within a draw) and hands the
tables here.

* :func:`robust_summary` — per strategy and KPI: P(best), P(beats the reference), the paired
  difference with its band, expected and 90th-percentile regret, the minimax-regret choice;
  :func:`describe_verdict` says it in words (:mod:`model.verdict.robust`).
* :func:`find_conditions` — "what would have to be true": the region of the drawn parameters
  where a verdict flips, found by PRIM, as a table, sentences and a plot
  (:mod:`model.verdict.conditions`).
"""

from model.verdict.robust import COLUMNS, cautions, describe_verdict, robust_summary

__all__ = ["COLUMNS", "cautions", "describe_verdict", "robust_summary"]
