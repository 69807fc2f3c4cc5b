"""Fit purchase models to a team's own order export (docs/model.md §6).

The pieces, in the order ``run.py fit-orders`` uses them:

- :mod:`model.fitting.orders` reads and validates the CSV and builds the per-customer
  frequency / recency / T / monetary summary (the only module here that reads files).
- :mod:`model.fitting.bgnbd` and :mod:`model.fitting.gamma_gamma` hold the likelihoods, the
  closed-form expectations and the maximum-likelihood fits (pure functions on arrays).
- :mod:`model.fitting.twostate` holds the two-state model (dormant customers return), and
  :mod:`model.fitting.calendar` the seasonal profile it can run on (month multipliers and
  festival lifts, the scenario's ``[calendar]``).
- :mod:`model.fitting.pipeline` fits them all to one log and backtests them side by side.
- :mod:`model.fitting.backtest` compares holdout repeat transactions with each model's
  forecast.
- :mod:`model.fitting.report` writes ``fit.json``, the scenario fragments and the plot.
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
from model.fitting.twostate import TwoStateModel

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "TwoStateModel",
    "bgnbd_conditional_expected",
    "bgnbd_expected_repeat",
    "bgnbd_loglik",
    "gamma_gamma_conditional_mean",
    "gamma_gamma_loglik",
    "read_orders",
    "rfm_summary",
    "to_transactions",
]
