"""A Mesa simulator of how a brand splits effort between public platforms and its private domain.

Notebook use::

    from model import load_scenario, simulate
    result = simulate(load_scenario("scenarios/baseline.toml"), seed=1)
    result.summary(); result.to_frame(); result.plot()

    from model import calibrate, forecast
    cal = calibrate("scenarios/baseline.toml", "monthly.csv", out="out/cal")
    fc = forecast("scenarios/baseline.toml", posterior=cal, months=12)
    fc.summary(); fc.plot(); fc.write("out/forecast")
"""

import importlib
import warnings
from typing import Any

from model._version import __version__

# Mesa imports tqdm.auto for its batch runner, which we never use; in a notebook without
# ipywidgets that import warns "IProgress not found" on every `import mesa`. Our own bars are
# plain tqdm on stderr, so the warning asks for something nothing here needs.
warnings.filterwarnings("ignore", message="IProgress not found", module="tqdm")

# Public names and the module each comes from. Imported on first use (PEP 562), so that
# `import model.execution` in a sweep worker does not pay for pandas, matplotlib and Mesa
# before it needs them: worker start-up is what limits parallel speed-up on short runs.
_EXPORTS = {
    "CalibrationResult": "model.calibration.calibrating",
    "ForecastResult": "model.calibration.forecasting",
    "InputError": "model.errors",
    "Scenario": "model.scenario",
    "SimulationResult": "model.results",
    "load_scenario": "model.scenario",
    "calibrate": "model.calibration.calibrating",
    "forecast": "model.calibration.forecasting",
    "load_sweep": "model.sweep",
    "run_comparison": "model.compare",
    "simulate": "model.api",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'model' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
