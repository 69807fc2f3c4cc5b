"""Parameter sweeps and global sensitivity over scenarios, laptop to Dask cluster.

Clients of the experiment engine (:mod:`model.experiment`):

* ``run.py sweep SPEC`` / :func:`run_sweep`: grid, Latin hypercube or Sobol designs with
  replicates, resumable (content-addressed Parquet store), through :mod:`model.execution`;
  the best point over levers, ranges and rank correlations over market parameters.
* ``run.py sensitivity SPEC`` / :func:`run_sensitivity`: SALib Morris and Sobol indices on
  replicate means, with the seed as a dummy parameter for the noise floor.
* :func:`load_sweep`: a results directory as a tidy table for notebooks.
"""

from model.sweep.reading import load_sweep, sweep_hash
from model.sweep.runner import run_sweep
from model.sweep.sensitivity import run_sensitivity
from model.sweep.spec import load_spec

__all__ = ["load_spec", "load_sweep", "run_sensitivity", "run_sweep", "sweep_hash"]
