"""Calibration and forecasting (DESIGN §6).

- :mod:`model.calibration.spec` names what both are made of (months, series, priors, defaults);
  plain Python, so the command line builds its help without the simulator.
- :mod:`model.calibration.series` reads and validates a monthly series CSV and aggregates a
  run's daily table into the same monthly series (a month = 30 simulated days from day 0).
- :mod:`model.calibration.inputs` resolves a scenario with overrides and reads a posterior.
- :mod:`model.calibration.abc` calibrates private-domain parameters (diversion, unfollow,
  referral) to those series by ABC-SMC with pyABC, on the executor seam.
- :mod:`model.calibration.posterior` summarises a posterior and resamples draws from it.
- :mod:`model.calibration.replicates` runs replicates over N months (optionally one posterior
  draw each) and reduces them to quantile bands.
- :mod:`model.calibration.plots` draws the posterior-predictive check and the fan chart.
- :mod:`model.calibration.calibrating` and :mod:`model.calibration.forecasting` hold the two
  entry points, :func:`calibrate` and :func:`forecast`, with their result objects and files.
"""

import importlib
from typing import Any

# Public names and the module each comes from, imported on first use (PEP 562): the names in
# ``spec`` cost nothing, the rest bring numpy, pandas, the simulator and pyABC with them.
_EXPORTS = {
    "CalibrationResult": "model.calibration.calibrating",
    "DAYS_PER_MONTH": "model.calibration.spec",
    "DEFAULT_PRIORS": "model.calibration.spec",
    "FORECAST_METRICS": "model.calibration.spec",
    "ForecastResult": "model.calibration.forecasting",
    "MonthlySeries": "model.calibration.series",
    "ParamRange": "model.calibration.spec",
    "SERIES_COLUMNS": "model.calibration.spec",
    "bands": "model.calibration.replicates",
    "calibrate": "model.calibration.calibrating",
    "draw_parameters": "model.calibration.posterior",
    "forecast": "model.calibration.forecasting",
    "make_tasks": "model.calibration.replicates",
    "monthly_metrics": "model.calibration.series",
    "read_posterior": "model.calibration.inputs",
    "read_series": "model.calibration.series",
    "run_replicates": "model.calibration.replicates",
    "simulated_series": "model.calibration.series",
    "summarise": "model.calibration.posterior",
    "weighted_quantile": "model.calibration.posterior",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'model.calibration' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
