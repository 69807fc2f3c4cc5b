"""Sweep and sensitivity specs: the experiment file with a ``[sweep]`` table of parameter axes.

The file format is the experiment engine's (:mod:`model.experiment.spec`)::

    name = "outreach_vs_incentive"          # optional; defaults to the file's stem
    replicates = 3                          # runs per point, seeds replicate_seed(root_seed, i)
    root_seed = 20240601
    kpis = ["roi", "contribution", "repurchase_rate_90d"]   # analysed, printed and plotted

    [market]                                # the base scenario and fixed overrides of every
    base = "../baseline.toml"               # point (older spelling: scenario = "..." and
    set = { "market.size" = 30000 }         # a [set] table)

    [sweep]                                 # swept parameters, by dotted key
    "outreach.pushes_per_week" = [0, 1, 2, 4, 7]            # listed values: full grid
    "diversion.p_join_max" = { low = 0.05, high = 0.3 }    # a range: sampled

    [sample]                                # only when [sweep] has ranges
    method = "lhs"                          # or "sobol" (scipy.stats.qmc); n points
    n = 16

    [sensitivity]                           # only for `run.py sensitivity`
    methods = ["morris", "sobol"]
    sobol_n = 32                            # Saltelli base sample (power of 2): N·(D+2) points
    morris_trajectories = 10
    morris_levels = 4

Listed values form a full grid; ranges (``low``, ``high``, optional ``log = true`` and
``integer = true``) are sampled by Latin hypercube or Sobol, and the sampled points are crossed
with the grid of listed values. Which way is better for a KPI comes from the KPI registry only.

``run = "package.module:function"`` swaps the simulator for one of the registered stand-ins
(:data:`model.experiment.tasks.RUN_FUNCTIONS`); the tests use them to drive the same machinery
cheaply. No other module can be named: a data file never chooses code to import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.errors import InputError
from model.experiment.base import check_scenario_key, resolve_base
from model.experiment.design import Range, grid, sample
from model.experiment.spec import Sensitivity, did_you_mean, read_spec
from model.experiment.tasks import DEFAULT_RUN, RUN_FUNCTIONS
from model.kpis import KPIS
from model.scenario.params import parameter

KPI_NAMES = tuple(KPIS)
DEFAULT_KPIS = ("roi", "contribution", "repurchase_rate_90d")


@dataclass(frozen=True)
class Param:
    """One swept parameter: listed values (a grid axis) or a range (sampled)."""

    key: str
    values: tuple[Any, ...] | None = None
    range: Range | None = None

    @property
    def is_range(self) -> bool:
        """Sampled from a range rather than listed."""
        return self.range is not None

    @property
    def side(self) -> str:
        """``"market"`` (a fact the brand does not choose), ``"lever"`` or ``"run"``."""
        try:
            return parameter(self.key).side
        except KeyError:
            return "run"  # list items, shocks: settings of the run, not market facts


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep or sensitivity spec. Build it with :func:`load_spec`."""

    path: Path
    name: str
    scenario_path: Path
    base_raw: dict[str, Any]  # the resolved base scenario with the fixed overrides applied
    fixed: dict[str, Any]
    params: tuple[Param, ...]
    method: str  # "grid", "lhs" or "sobol"
    n_samples: int
    replicates: int
    root_seed: int
    kpis: tuple[str, ...]
    run: str = DEFAULT_RUN
    sensitivity: Sensitivity | None = None
    description: str = ""

    def direction(self, kpi: str) -> str:
        """Which way is better for a KPI: the registry's ``higher``, ``lower`` or ``neutral``."""
        return KPIS[kpi].direction

    @property
    def market_params(self) -> list[str]:
        """The swept parameters that are facts about the market (not a choice)."""
        return [p.key for p in self.params if p.side == "market"]

    def points(self) -> list[dict[str, Any]]:
        """Every point of the design, in a stable order: grid of listed values × samples."""
        listed = grid({p.key: p.values for p in self.params if not p.is_range})
        ranged = [p.range for p in self.params if p.is_range]
        if not ranged:
            return listed
        samples = sample(ranged, self.n_samples, self.root_seed, self.method)
        return [{**g, **s} for g in listed for s in samples]


def load_spec(
    path: str | Path,
    *,
    kind: str = "sweep",
    overrides: dict[str, Any] | None = None,
    root_seed: int | None = None,
) -> SweepSpec:
    """Read and validate a sweep or sensitivity spec.

    Args:
        path: the spec TOML file.
        kind: ``"sweep"`` or ``"sensitivity"`` (which needs ranges only, and takes
            ``[sensitivity]`` or its defaults).
        overrides: dotted-key overrides of every point from the command line (``--scale``).
        root_seed: overrides the spec's ``root_seed`` (``--seed``).

    Returns:
        The spec, with the base scenario resolved and every swept key checked against the
        scenario schema (every point's scenario is validated when the plan is built).

    Raises:
        InputError: naming the file, the field, the value and what is allowed.
    """
    path = Path(path)
    src = str(path)
    spec = read_spec(path)
    if spec.kind == "comparison":
        raise InputError(
            "is a comparison ([[strategies]]), not a sweep: run it with `python run.py compare`",
            file=src,
        )
    for key in ("reference", "rank_by", "draws", "strategies"):
        if getattr(spec, key) is not None:
            raise InputError(f"{key}: belongs to comparison files, not sweep specs", file=src)
    if spec.uncertainty:
        raise InputError(
            "uncertainty: belongs to comparison files; a sweep samples market parameters by "
            "listing their ranges in [sweep]",
            file=src,
        )
    base = resolve_base(spec, path, overrides)
    name = spec.name if spec.name is not None else path.stem
    if not name.strip():
        raise InputError(f"name = {name!r}: must be a non-empty string", file=src)
    if not spec.sweep:
        raise InputError(
            '[sweep]: required, the parameters to vary, e.g. "outreach.pushes_per_week" = '
            "[1, 2, 4]",
            file=src,
        )
    table = "sweep"
    params = []
    for key, entry in spec.sweep.items():
        check_scenario_key(key, base.raw, src, table=table)
        if key in base.overrides:
            raise InputError(f"{key}: both fixed in {base.where} and swept in [sweep]", file=src)
        if entry.is_range:
            params.append(
                Param(
                    key,
                    range=Range(key, entry.low, entry.high, log=entry.log, integer=entry.integer),
                )
            )
        else:
            params.append(Param(key, values=tuple(entry.values)))
    kpis = list(spec.kpis) if spec.kpis is not None else list(DEFAULT_KPIS)
    for kpi in kpis:
        if kpi not in KPI_NAMES:
            raise InputError(
                f"kpis: {kpi!r} is not a KPI{did_you_mean(kpi, KPI_NAMES) or '.'} Allowed: "
                f"{', '.join(KPI_NAMES)}",
                file=src,
            )
    has_ranges = any(p.is_range for p in params)
    method, n_samples = "grid", 0
    if kind == "sweep" and has_ranges:
        method = spec.sample.method if spec.sample else "lhs"
        n_samples = spec.sample.n if spec.sample else 16
    elif kind == "sweep" and spec.sample is not None:
        raise InputError(
            "[sample]: only used with ranges in [sweep], which lists values only", file=src
        )
    sensitivity = None
    if kind == "sensitivity":
        listed = [p.key for p in params if not p.is_range]
        if listed:
            raise InputError(
                f"sweep.{listed[0]}: sensitivity needs a range {{ low = ..., high = ... }} for "
                "every parameter, not listed values",
                file=src,
            )
        sensitivity = spec.sensitivity or Sensitivity()
    run = spec.run if spec.run is not None else DEFAULT_RUN
    if run not in RUN_FUNCTIONS:
        raise InputError(
            f"run = {repr(run)[:60]}: not a registered run function; a spec may only name one of "
            f"{', '.join(RUN_FUNCTIONS)} (a data file never chooses code to import)",
            file=src,
        )
    seed = root_seed if root_seed is not None else spec.root_seed
    if seed is None:
        seed = base.raw.get("sim", {}).get("seed", 42)
    return SweepSpec(
        path=path,
        name=name,
        scenario_path=base.path,
        base_raw=base.raw,
        fixed=base.file_set,
        params=tuple(params),
        method=method,
        n_samples=n_samples,
        replicates=spec.replicates or 1,
        root_seed=int(seed),
        kpis=tuple(kpis),
        run=run,
        sensitivity=sensitivity,
        description=spec.description,
    )
