"""A Mesa simulator of how a brand splits effort between public platforms and its private domain.

Notebook use::

    from model import load_scenario, simulate
    result = simulate(load_scenario("scenarios/baseline.toml"), seed=1)
    result.summary(); result.to_frame(); result.plot()
"""

from model._version import __version__
from model.api import simulate
from model.compare import run_comparison
from model.errors import InputError
from model.results import SimulationResult
from model.scenario import Scenario, load_scenario
from model.sweep import load_sweep

__all__ = [
    "InputError",
    "Scenario",
    "SimulationResult",
    "__version__",
    "load_scenario",
    "load_sweep",
    "run_comparison",
    "simulate",
]
