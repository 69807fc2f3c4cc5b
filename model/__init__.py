"""A Mesa simulator of how a brand splits effort between public platforms and its private domain.

Notebook use::

    from model import load_scenario, simulate
    result = simulate(load_scenario("scenarios/baseline.toml"), seed=1)
    result.summary(); result.to_frame(); result.plot()
"""

import importlib
from typing import Any

from model._version import __version__

# Public names and the module each comes from. Imported on first use (PEP 562), so that
# `import model.execution` in a sweep worker does not pay for pandas, matplotlib and Mesa
# before it needs them: worker start-up is what limits parallel speed-up on short runs.
_EXPORTS = {
    "InputError": "model.errors",
    "Scenario": "model.scenario",
    "SimulationResult": "model.results",
    "load_scenario": "model.scenario",
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
