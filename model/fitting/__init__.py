"""Fit BG/NBD and Gamma-Gamma to a team's own order export (DESIGN.md §6).

The pieces, in the order ``run.py fit-orders`` uses them:

- :mod:`model.fitting.orders` reads and validates the CSV and builds the per-customer
  frequency / recency / T / monetary summary (the only module here that reads files).
- :mod:`model.fitting.bgnbd` and :mod:`model.fitting.gamma_gamma` hold the likelihoods, the
  closed-form expectations and the maximum-likelihood fits (pure functions on arrays).
- :mod:`model.fitting.backtest` compares holdout repeat transactions with the model's forecast.
- :mod:`model.fitting.report` writes ``fit.json``, the scenario fragment and the plot.
- :mod:`model.fitting.synthetic` draws order logs from known parameters, for recovery tests.
"""

from model.fitting.bgnbd import (
    BetaGeoModel,
    bgnbd_conditional_expected,
    bgnbd_expected_repeat,
    bgnbd_loglik,
)
from model.fitting.gamma_gamma import (
    GammaGammaModel,
    gamma_gamma_conditional_mean,
    gamma_gamma_loglik,
)
from model.fitting.orders import read_orders, rfm_summary, to_transactions

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "bgnbd_conditional_expected",
    "bgnbd_expected_repeat",
    "bgnbd_loglik",
    "gamma_gamma_conditional_mean",
    "gamma_gamma_loglik",
    "read_orders",
    "rfm_summary",
    "to_transactions",
]
