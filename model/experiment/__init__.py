"""The experiment engine: comparisons, sweeps and sensitivity designs are all tables of runs.

EMA Workbench's ``perform_experiments`` shape: one table of experiments (strategy × parameter
point × draw of the uncertain market × replicate), each row a run keyed by its content, and one
table of outcomes. ``run.py compare``, ``run.py sweep`` and ``run.py sensitivity`` are thin
clients that build the table and read the outcomes back.

* :mod:`model.experiment.spec` — one pydantic model for every experiment file;
* :mod:`model.experiment.base` — the base scenario and its shared overrides, resolved;
* :mod:`model.experiment.uncertainty` — the uncertain market parameters, their ranges and draws;
* :mod:`model.experiment.design` — grids, Latin hypercubes and Sobol designs;
* :mod:`model.experiment.tasks` — one run task (plain data, its seed inside) and its key;
* :mod:`model.experiment.store` — the content-addressed Parquet store of finished runs;
* :mod:`model.experiment.engine` — plan the table, run what the store lacks, read it back.
"""
