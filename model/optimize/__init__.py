"""Recommend the levers: robust optimisation of a strategy under a budget, confirmed on fresh seeds.

``from model import optimize``::

    spec = optimize.load_spec("scenarios/optimize_levers.toml")
    result = optimize.run(spec, "out/optimize_levers")
    print(result.verdict())
    result.trace()                  # every candidate evaluated
    result.recommendation           # None when nothing beat the incumbent on fresh seeds

Built on the experiment engine (:mod:`model.experiment`): the file is read by its spec model,
the market draws are its Latin hypercube, and every run is its run task in its content-addressed
store (so resume and worker-count reproducibility are the engine's).

* :mod:`~model.optimize.spec` — the optimisation file: base, levers, budget simplex, constraints,
  objective and risk measure, checked against the parameter and KPI registries;
* :mod:`~model.optimize.space` — levers and the budget split as the optimiser's parameters;
* :mod:`~model.optimize.block` — the fixed cells (market draws × seeds) candidates share;
* :mod:`~model.optimize.evaluate` — the evaluator interface: the engine's, and constructed ones;
* :mod:`~model.optimize.risk`, :mod:`~model.optimize.objective` — mean, CVaR, constraints,
  payback, the paired comparison with the incumbent;
* :mod:`~model.optimize.search` — TPE over the levers, in fixed batches;
* :mod:`~model.optimize.confirm` — the best few and the incumbent on fresh seeds and draws;
* :mod:`~model.optimize.curves` — response curves, marginal values, the risk–return frontier;
* :mod:`~model.optimize.runner`, :mod:`~model.optimize.report` — the whole run and its outputs.
"""

from model.optimize.runner import OptimizationResult, run
from model.optimize.spec import OptimizeSpec, load_spec

__all__ = ["OptimizationResult", "OptimizeSpec", "load_spec", "run"]
