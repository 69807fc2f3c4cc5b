"""``run.py calibrate SCENARIO --series MONTHLY.csv``: ABC-SMC of private-domain parameters.

Everything the user typed is validated first (scenario, ``--set``, the series file, every
``--param`` through the scenario loader); only then is ``--out`` created. The pyABC history
lives in ``DIR/abc.db``: running the same command again continues from its last finished
generation. ``posterior.csv``, ``posterior.json``, ``posterior_predictive.csv`` and
``posterior_predictive.png`` are rewritten (each atomically) at the end of every run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from model.commands.common import (
    add_overwrite_argument,
    add_set_argument,
    positive_int,
    require_file,
    write_json,
)
from model.errors import InputError

DEFAULT_OUT = "out/calibrate"
DEFAULT_POPULATIONS = 4
DEFAULT_POPULATION_SIZE = 100
DEFAULT_PREDICTIVE = 40
#: Everything calibrate writes into its folder (recorded in the folder's output marker).
FILES = (
    "abc.db",
    "calibration.json",
    "posterior.csv",
    "posterior.json",
    "posterior_predictive.csv",
    "posterior_predictive.png",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` command."""
    from model.calibration.abc import DEFAULT_PRIORS
    from model.calibration.series import SERIES_COLUMNS

    defaults = "; ".join(f"{k}={lo:g}:{hi:g}" for k, (lo, hi) in DEFAULT_PRIORS.items())
    p = subparsers.add_parser(
        "calibrate",
        help="fit diversion, unfollow and referral parameters to monthly series by ABC-SMC",
        description="Calibrate private-domain parameters that an order export cannot show to "
        "monthly series by ABC-SMC (pyABC). The series CSV has a 'month' column (1, 2, … or "
        f"YYYY-MM; a month = 30 simulated days from day 0) and any of {', '.join(SERIES_COLUMNS)} "
        "(pool and public customers at month end; joins = diverted + referred, unfollows and "
        "orders summed per month). The history is kept in DIR/abc.db: running the same "
        "command again continues from the last finished generation. Writes posterior.csv, "
        "posterior.json and posterior_predictive.png to DIR.",
    )
    p.add_argument("scenario", help="scenario TOML file, e.g. scenarios/baseline.toml")
    p.add_argument("--series", required=True, metavar="MONTHLY.csv", help="observed series")
    p.add_argument(
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="KEY=LOW:HIGH",
        help=f"a calibrated parameter with a uniform prior (repeatable); default: {defaults}",
    )
    p.add_argument(
        "--populations",
        type=positive_int,
        default=DEFAULT_POPULATIONS,
        metavar="K",
        help=f"total ABC-SMC generations, finished ones in DIR/abc.db included "
        f"({DEFAULT_POPULATIONS})",
    )
    p.add_argument(
        "--population-size",
        type=positive_int,
        default=DEFAULT_POPULATION_SIZE,
        metavar="N",
        help=f"accepted particles per generation ({DEFAULT_POPULATION_SIZE})",
    )
    p.add_argument(
        "--predictive-draws",
        type=positive_int,
        default=DEFAULT_PREDICTIVE,
        metavar="N",
        help=f"posterior draws simulated for the posterior-predictive plot ({DEFAULT_PREDICTIVE})",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=positive_int, metavar="N", help="local processes (1: in-process; "
        "default: every core)"
    )
    where.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="run the simulations on a Dask cluster"
    )
    p.add_argument("--seed", type=int, help="root seed (default: the scenario's sim.seed)")
    add_set_argument(p)
    p.add_argument("--out", metavar="DIR", help=f"output directory ({DEFAULT_OUT}/<scenario>)")
    add_overwrite_argument(p)
    p.set_defaults(func=main)


def _fingerprint(raw, series, params, population_size, seed) -> dict:
    """The inputs that must not change between a run and its continuation."""
    return {
        "scenario": hashlib.sha256(
            json.dumps(raw, sort_keys=True, default=str).encode()
        ).hexdigest()[:16],
        "series": {
            "months": list(series.months),
            **{c: series.values[c].tolist() for c in series.columns},
        },
        "params": {p.key: [p.low, p.high] for p in params},
        "population_size": population_size,
        "seed": seed,
    }


def _can_resume(meta_path: Path, fingerprint: dict, out: str) -> list[str]:
    """What differs between this command's inputs and the stored calibration's (empty: none)."""
    if not meta_path.exists():
        raise InputError(
            f"{out}/abc.db exists but {meta_path.name} is missing, so it cannot be checked "
            "against these inputs; use another --out"
        )
    try:
        stored = json.loads(meta_path.read_text(encoding="utf-8")).get("fingerprint", {})
    except (ValueError, AttributeError):
        stored = {}
    what = {"scenario": "the scenario or --set", "series": "--series", "params": "--param",
            "population_size": "--population-size", "seed": "--seed"}
    return [what[k] for k in fingerprint if stored.get(k) != fingerprint[k]]


def main(args: argparse.Namespace) -> int:
    """Validate every input, run (or continue) ABC-SMC, write and print the posterior."""
    import numpy as np
    import pandas as pd

    from model.calibration.abc import SeriesModel, check_params, default_params, parse_param
    from model.calibration.plots import posterior_predictive
    from model.calibration.posterior import generations, summarise
    from model.calibration.series import DAYS_PER_MONTH, read_series
    from model.outputs import (
        atomic_write,
        claim_output_dir,
        default_out,
        open_output_dir,
        remove_own_files,
    )
    from model.resources import check_memory, concurrency, scenario_run_bytes
    from model.scenario import apply_overrides, parse_set, resolve_raw, validate
    from model.scenario.loader import scenario_files

    # --- validate everything before anything is written ---------------------------------
    require_file(args.scenario)
    raw = resolve_raw(args.scenario)
    raw.setdefault("name", Path(args.scenario).stem)
    overrides = dict(parse_set(item) for item in args.overrides)
    raw = apply_overrides(raw, overrides)
    scenario = validate(raw, source=str(args.scenario), overridden=overrides.keys())
    series = read_series(args.series)
    series.check_fits(scenario.market.size)
    horizon = series.horizon_days
    if horizon > 3650:
        raise InputError(
            f"month {max(series.months)} is day {horizon}: the simulator runs at most 3650 days "
            "(121 months)",
            file=args.series,
        )
    params = [parse_param(t) for t in args.params] or default_params(raw)
    check_params(raw, params, str(args.scenario))
    seed = scenario.sim.seed if args.seed is None else int(args.seed)
    if not 0 <= seed < 2**63:
        raise InputError(f"--seed {seed}: must be from 0 to {2**63 - 1}")
    out = Path(args.out) if args.out else default_out(DEFAULT_OUT, scenario.name)
    inputs = [*scenario_files(args.scenario), Path(args.series)]
    claim = claim_output_dir(out, "calibrate", overwrite=args.overwrite, inputs=inputs)
    db_path = out / "abc.db"
    meta_path = out / "calibration.json"
    fingerprint = _fingerprint(raw, series, params, args.population_size, seed)
    start_over = False
    if db_path.exists():
        changed = _can_resume(meta_path, fingerprint, str(out))
        ours = "abc.db" in claim.previous
        if changed and not (args.overwrite and ours):
            raise InputError(
                f"{out}/abc.db was started with a different {', '.join(changed)}; a "
                "calibration can only be continued with the same inputs: use another --out"
                + (", or pass --overwrite to start over (its abc.db and posterior files are "
                   "removed, nothing else)" if ours else "")
            )
        start_over = bool(changed)
    check_memory(
        what=f"calibrate {args.scenario}",
        size=scenario.market.size,
        per_run=scenario_run_bytes(scenario),
        parallel=concurrency(args.workers, args.population_size),
        scheduler=args.scheduler,
    )

    # --- run ------------------------------------------------------------------------------
    def prepare() -> None:
        # Called once the executor is open (a Dask scheduler that cannot be reached is bad
        # input too, and must leave nothing behind).
        if start_over:
            remove_own_files(claim, FILES)
        open_output_dir(claim, FILES)
        if db_path.exists():
            return
        write_json(
            meta_path,
            {
                "scenario_file": str(args.scenario),
                "overrides": args.overrides,
                "series_file": str(args.series),
                "fingerprint": fingerprint,
            },
        )
        print(
            f"starting a new calibration in {db_path}: {len(params)} parameters, "
            f"{len(series.columns)} series × {len(series.months)} months ({horizon} days), "
            f"{args.populations} generations of {args.population_size}"
        )

    def on_resume(done: int) -> None:
        more = max(0, args.populations - done)
        print(
            f"resuming {db_path}: {done} generation{'s' * (done != 1)} already finished, "
            + (f"running {more} more" if more else f"nothing to run for --populations "
               f"{args.populations}")
        )

    model = SeriesModel(raw, series.months, series.columns, seed, source=str(args.scenario))
    started = time.perf_counter()
    try:
        run, posterior, sims = _run(args, model, params, series, seed, db_path, prepare, on_resume)
    except KeyboardInterrupt:
        print(
            f"interrupted: finished generations are kept in {db_path}; run the same command "
            "again to continue from the last one",
            file=sys.stderr,
        )
        raise
    history = run.history
    elapsed = time.perf_counter() - started

    # --- write ----------------------------------------------------------------------------
    priors = {p.key: (p.low, p.high) for p in params}
    summary = summarise(posterior, priors)
    gens = generations(history)
    rows = []
    for col in series.columns:
        stack = np.array([sims[i][col] for i in sorted(sims)])
        q = np.quantile(stack, [0.05, 0.5, 0.95], axis=0)
        for j, month in enumerate(series.months):
            rows.append((month, col, series.values[col][j], q[0, j], q[1, j], q[2, j]))
    predictive = pd.DataFrame(
        rows, columns=["month", "series", "observed", "p05", "p50", "p95"]
    )
    record = {
        "parameters": summary,
        "generations": len(gens),
        "generations_this_run": run.generations_run,
        "resumed": run.resumed,
        "population_size": args.population_size,
        "epsilon_schedule": [g["epsilon"] for g in gens],
        "acceptance": [
            {k: g[k] for k in ("t", "accepted", "simulations", "acceptance_rate")} for g in gens
        ],
        "total_simulations": int(history.total_nr_simulations),
        "distance": "adaptive weighted L1 over every month of every series, scaled by MAD",
        "epsilon_note": "each generation re-fits the distance weights, so epsilons of "
        "different generations are on different scales and need not fall",
        "simulations_note": "simulations started per generation, including those a pool "
        "started after the last needed acceptance (they vary with --workers; the particles "
        "and weights do not)",
        "seed": seed,
        "series_file": str(args.series),
        "series": list(series.columns),
        "months": list(series.months),
        "days_per_month": DAYS_PER_MONTH,
        "scenario_file": str(args.scenario),
        "overrides": args.overrides,
        "command": " ".join(["run.py", *sys.argv[1:]]) if sys.argv else "",
    }
    atomic_write(out / "posterior.csv", lambda p: posterior.to_csv(p, index=False))
    write_json(out / "posterior.json", record)
    atomic_write(out / "posterior_predictive.csv", lambda p: predictive.to_csv(p, index=False))
    atomic_write(
        out / "posterior_predictive.png",
        lambda p: posterior_predictive(series.to_frame(), predictive, path=p),
    )

    # --- print ----------------------------------------------------------------------------
    print(
        f"\nposterior after {len(gens)} generation{'s' * (len(gens) != 1)} "
        f"({run.generations_run} this run, {elapsed:.0f} s), {args.population_size} particles:"
    )
    width = max(len(k) for k in summary)
    print(f"  {'parameter':<{width}}  {'prior':>17}  {'median':>9}  {'90% interval':>21}")
    for key, s in summary.items():
        prior = f"{s['prior_low']:.4g}–{s['prior_high']:.4g}"
        interval = f"{s['q05']:.4g} – {s['q95']:.4g}"
        print(f"  {key:<{width}}  {prior:>17}  {s['median']:>9.4g}  {interval:>21}")
    eps = ", ".join(f"{g['epsilon']:.3g}" for g in gens)
    acc = ", ".join(f"{g['accepted']}/{g['simulations']}" for g in gens)
    print(f"  epsilon by generation: {eps}\n  accepted/simulated: {acc}")
    print(f"\nwrote {out}/ (abc.db, posterior.csv, posterior.json, posterior_predictive.png)")
    return 0



def _run(args, model, params, series, seed, db_path, prepare, on_resume):
    """ABC-SMC, then the posterior-predictive simulations, on one executor."""
    from model.calibration.abc import predictive_series, run_abc
    from model.calibration.posterior import draw_parameters, posterior_table
    from model.execution import map_runs, open_executor

    with open_executor(workers=args.workers, scheduler=args.scheduler) as executor:
        prepare()
        run = run_abc(
            str(db_path),
            model,
            params,
            series,
            populations=args.populations,
            population_size=args.population_size,
            executor=executor,
            seed=seed,
            on_resume=on_resume,
        )
        posterior = posterior_table(run.history)
        draws = draw_parameters(posterior, args.predictive_draws, seed, [p.key for p in params])
        tasks = [(model, values, i) for i, values in enumerate(draws)]
        sims = {}
        for task, outcome in map_runs(executor, predictive_series, tasks):
            if not outcome.ok:
                raise RuntimeError(f"posterior-predictive run {task[2]} failed: {outcome.error}")
            sims[task[2]] = outcome.value
    return run, posterior, sims
