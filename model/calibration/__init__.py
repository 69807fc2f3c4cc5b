"""Calibration and forecasting (DESIGN §6).

- :mod:`model.calibration.series` reads and validates a monthly series CSV and aggregates a
  run's daily table into the same monthly series (a month = 30 simulated days from day 0).
- :mod:`model.calibration.abc` calibrates private-domain parameters (diversion, unfollow,
  referral) to those series by ABC-SMC with pyABC, on the executor seam.
- :mod:`model.calibration.posterior` summarises a posterior and resamples draws from it.
- :mod:`model.calibration.forecast` runs replicates over N months (optionally one posterior
  draw each) and reduces them to quantile bands.
- :mod:`model.calibration.plots` draws the posterior-predictive check and the fan chart.
"""

from model.calibration.forecast import FORECAST_METRICS, bands, make_tasks, run_replicates
from model.calibration.posterior import draw_parameters, summarise, weighted_quantile
from model.calibration.series import (
    DAYS_PER_MONTH,
    SERIES_COLUMNS,
    MonthlySeries,
    monthly_metrics,
    read_series,
    simulated_series,
)

__all__ = [
    "DAYS_PER_MONTH",
    "FORECAST_METRICS",
    "SERIES_COLUMNS",
    "MonthlySeries",
    "bands",
    "draw_parameters",
    "make_tasks",
    "monthly_metrics",
    "read_series",
    "run_replicates",
    "simulated_series",
    "summarise",
    "weighted_quantile",
]
