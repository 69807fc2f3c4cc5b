"""A local dashboard to move a strategy's levers, run it small and compare with the reference.

``python run.py dashboard [FILE]`` serves it on the loopback address (see
:mod:`model.dashboard.server`). The page (:mod:`model.dashboard.app`, Bokeh) never calls the
model itself: everything it shows comes through :mod:`model.dashboard.adapter`, the one module
that calls ``load_scenario`` / ``load_comparison`` / ``simulate`` and the comparison engine
(``run_comparison``, whose result carries the robust verdict), so model changes land in one
file. Runs go to a separate process per run
(:mod:`model.dashboard.jobs`), so the page stays responsive and Cancel really stops the work.

Bokeh is an optional dependency (``pip install -e ".[dashboard]"``); the adapter and the jobs
need only the model's own dependencies.
"""
