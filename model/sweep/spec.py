"""Sweep and sensitivity specs: one TOML file naming a scenario, what to vary and what to keep.

A spec (paths are relative to the spec file)::

    name = "outreach_vs_incentive"          # optional; defaults to the file's stem
    scenario = "../baseline.toml"           # the base scenario
    replicates = 3                          # runs per point, seeds replicate_seed(root_seed, i)
    root_seed = 20240601
    kpis = ["roi", "contribution", "repurchase_rate_90d"]   # analysed, printed and plotted

    [set]                                   # fixed overrides on every point (dotted keys)
    "market.size" = 30000

    [sweep]                                 # swept parameters, by dotted key
    "outreach.pushes_per_week" = [0, 1, 2, 4, 7]            # listed values: full grid
    "diversion.p_join_max" = { low = 0.05, high = 0.3 }    # a range: sampled

    [sample]                                # only when [sweep] has ranges
    method = "lhs"                          # or "sobol" (scipy.stats.qmc); n points
    n = 16

    [objectives]                            # "max" (default for most KPIs) or "min"
    cac_paid = "min"

    [sensitivity]                           # only for `run.py sensitivity`
    methods = ["morris", "sobol"]
    sobol_n = 32                            # Saltelli base sample (power of 2): N·(D+2) points
    morris_trajectories = 10
    morris_levels = 4

Listed values form a full grid; ranges (``low``, ``high``, optional ``log = true`` and
``integer = true``) are sampled by Latin hypercube or Sobol, and the sampled points are crossed
with the grid of listed values. Keys may be quoted dotted keys or nested tables.

``run = "package.module:function"`` swaps the run function (default
``model.sweep.runs:run_point``, which calls ``simulate(...).summary()``) for one of the
registered stand-ins (``model.sweep.runs.RUN_FUNCTIONS``); the tests use them to drive the same
machinery cheaply. No other module can be named: a data file never chooses code to import.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from model.errors import InputError
from model.metrics import KPI_DIRECTIONS
from model.resources import MAX_REPLICATES
from model.scenario import apply_overrides, resolve_raw
from model.scenario.loader import read_toml
from model.scenario.schema import Scenario
from model.sweep.runs import DEFAULT_RUN, RUN_FUNCTIONS

# KPIs of SimulationResult.summary() worth sweeping (others in the summary are stored too), and
# those minimised by default: both from the one direction table in model/metrics.py.
KPI_NAMES = tuple(KPI_DIRECTIONS)
MINIMISE = frozenset(k for k, way in KPI_DIRECTIONS.items() if way == "lower")

TOP_KEYS = (
    "name",
    "description",
    "scenario",
    "replicates",
    "root_seed",
    "kpis",
    "set",
    "sweep",
    "sample",
    "objectives",
    "sensitivity",
    "run",
)
RANGE_KEYS = ("low", "high", "log", "integer")
SAMPLE_KEYS = ("method", "n")
SENSITIVITY_KEYS = ("methods", "sobol_n", "morris_trajectories", "morris_levels", "resamples")


@dataclass(frozen=True)
class Param:
    """One swept parameter: listed values (grid) or a range (sampled)."""

    key: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @property
    def is_range(self) -> bool:
        """Whether the parameter is sampled from a range rather than listed."""
        return self.values is None


@dataclass(frozen=True)
class SensitivityOptions:
    """The ``[sensitivity]`` table."""

    methods: tuple[str, ...] = ("morris", "sobol")
    sobol_n: int = 32
    morris_trajectories: int = 10
    morris_levels: int = 4
    resamples: int = 200


@dataclass(frozen=True)
class SweepSpec:
    """A validated spec. Build it with :func:`load_spec`."""

    path: Path
    name: str
    scenario_path: Path
    base_raw: dict[str, Any]  # the resolved base scenario with [set] applied
    fixed: dict[str, Any]
    params: tuple[Param, ...]
    method: str  # "grid", "lhs" or "sobol"
    n_samples: int
    replicates: int
    root_seed: int
    kpis: tuple[str, ...]
    objectives: dict[str, str]
    run: str = DEFAULT_RUN
    sensitivity: SensitivityOptions | None = None
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def direction(self, kpi: str) -> str:
        """'max' or 'min': which way is better for a KPI."""
        return self.objectives.get(kpi, "min" if kpi in MINIMISE else "max")


def load_spec(path: str | Path, *, kind: str = "sweep") -> SweepSpec:
    """Read and validate a sweep or sensitivity spec.

    Args:
        path: the spec TOML file.
        kind: ``"sweep"`` or ``"sensitivity"`` (which needs ranges and a ``[sensitivity]``
            table, or takes its defaults).

    Returns:
        The spec, with the base scenario resolved and every swept key checked against the
        scenario schema.

    Raises:
        InputError: naming the file, the field, the value and what is allowed.
    """
    path = Path(path)
    raw = read_toml(path)
    src = str(path)
    _check_keys(raw, TOP_KEYS, "", src)

    scenario_ref = raw.get("scenario")
    if not isinstance(scenario_ref, str) or not scenario_ref.strip() or "\x00" in scenario_ref:
        raise InputError(
            f"scenario = {scenario_ref!r}: required, the base scenario's path relative to the "
            "spec (e.g. scenario = \"../baseline.toml\")",
            file=src,
        )
    scenario_path = (path.parent / scenario_ref).resolve()
    if not scenario_path.is_file():
        raise InputError(f"scenario = {scenario_ref!r}: no such file {scenario_path}", file=src)
    if scenario_path == path.resolve():
        raise InputError(
            f"scenario = {scenario_ref!r}: points at this spec itself; it must name a scenario "
            'file, e.g. scenario = "../baseline.toml"',
            file=src,
        )
    base = resolve_raw(scenario_path)
    if "sweep" in base or "strategies" in base:
        raise InputError(
            f"scenario = {scenario_ref!r}: is a sweep or comparison file, not a scenario",
            file=src,
        )
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"name = {name!r}: must be a non-empty string", file=src)

    fixed = _flatten(raw.get("set", {}), "set", src, leaf=lambda v: True)
    for key in fixed:
        check_scenario_key(key, base, src, table="set")
    try:
        base_raw = apply_overrides(base, fixed)
    except InputError as err:
        raise InputError(f"[set] {err}", file=src) from None

    params = tuple(_parse_param(k, v, src) for k, v in _flatten_sweep(raw.get("sweep"), src))
    if not params:
        raise InputError("[sweep]: no parameters to vary; add e.g. \"outreach.pushes_per_week\" "
                         "= [1, 2, 4]", file=src)
    for param in params:
        check_scenario_key(param.key, base_raw, src, table="sweep")
        if param.key in fixed:
            raise InputError(f"{param.key}: both fixed in [set] and swept in [sweep]", file=src)

    replicates = _int(raw.get("replicates", 1), "replicates", src, low=1, high=MAX_REPLICATES)
    root_seed = _int(raw.get("root_seed", base_raw.get("sim", {}).get("seed", 42)), "root_seed",
                     src, low=0, high=2**63 - 1)

    kpis = raw.get("kpis", ["roi", "contribution", "repurchase_rate_90d"])
    if not isinstance(kpis, list) or not kpis or not all(isinstance(k, str) for k in kpis):
        raise InputError(f"kpis = {kpis!r}: a non-empty list of KPI names", file=src)
    for kpi in kpis:
        _check_name(kpi, KPI_NAMES, "kpis", src)

    objectives = raw.get("objectives", {})
    if not isinstance(objectives, dict):
        raise InputError(f"[objectives] = {objectives!r}: a table of kpi = \"max\"|\"min\"",
                         file=src)
    for kpi, way in objectives.items():
        _check_name(kpi, KPI_NAMES, "objectives", src)
        if way not in ("max", "min"):
            raise InputError(f"objectives.{kpi} = {way!r}: must be \"max\" or \"min\"", file=src)

    has_ranges = any(p.is_range for p in params)
    sample = raw.get("sample", {})
    if not isinstance(sample, dict):
        raise InputError(f"[sample] = {sample!r}: a table with method and n", file=src)
    _check_keys(sample, SAMPLE_KEYS, "sample.", src)
    method, n_samples = "grid", 0
    if kind == "sweep" and has_ranges:
        method = sample.get("method", "lhs")
        if method not in ("lhs", "sobol"):
            raise InputError(f"sample.method = {method!r}: must be \"lhs\" or \"sobol\"", file=src)
        n_samples = _int(sample.get("n", 16), "sample.n", src, low=1, high=1_000_000)
    elif kind == "sweep" and sample:
        raise InputError("[sample]: only used with ranges in [sweep], which has listed values "
                         "only", file=src)

    sensitivity = None
    if kind == "sensitivity":
        listed = [p.key for p in params if not p.is_range]
        if listed:
            raise InputError(
                f"sweep.{listed[0]}: sensitivity needs a range {{ low = ..., high = ... }} for "
                "every parameter, not listed values",
                file=src,
            )
        sensitivity = _parse_sensitivity(raw.get("sensitivity", {}), src)

    run = raw.get("run", DEFAULT_RUN)
    if run not in RUN_FUNCTIONS:
        raise InputError(
            f"run = {repr(run)[:60]}: not a registered run function; a spec may only name one of "
            f"{', '.join(RUN_FUNCTIONS)} (a data file never chooses code to import)",
            file=src,
        )

    return SweepSpec(
        path=path,
        name=str(name),
        scenario_path=scenario_path,
        base_raw=base_raw,
        fixed=fixed,
        params=params,
        method=method,
        n_samples=n_samples,
        replicates=replicates,
        root_seed=root_seed,
        kpis=tuple(kpis),
        objectives=dict(objectives),
        run=run,
        sensitivity=sensitivity,
        description=str(raw.get("description", "")),
        raw=raw,
    )


# --- parsing helpers ------------------------------------------------------------------------


def _check_keys(table: dict[str, Any], allowed: tuple[str, ...], prefix: str, src: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(
                f"{prefix}{key}: unknown key{hint} Allowed here: {', '.join(allowed)}", file=src
            )


def _check_name(name: str, allowed: tuple[str, ...], table: str, src: str) -> None:
    if name not in allowed:
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(
            f"{table}: {name!r} is not a KPI{hint} Allowed: {', '.join(allowed)}", file=src
        )


def _int(value: Any, name: str, src: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name} = {value!r}: must be an integer from {low} to {high}", file=src)
    return value


def _is_range_table(value: Any) -> bool:
    return isinstance(value, dict) and ("low" in value or "high" in value)


def _flatten(table: Any, name: str, src: str, leaf: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(table, dict):
        raise InputError(f"[{name}] = {table!r}: must be a table of dotted keys", file=src)
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and not _is_range_table(value):
            flat.update(_flatten(value, name, src, leaf, prefix=f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def _flatten_sweep(table: Any, src: str) -> list[tuple[str, Any]]:
    if table is None:
        raise InputError("[sweep]: required, the parameters to vary by dotted key", file=src)
    return list(_flatten(table, "sweep", src, leaf=None).items())


def _parse_param(key: str, value: Any, src: str) -> Param:
    where = f"sweep.{key}"
    if isinstance(value, list):
        if not value:
            raise InputError(f"{where} = []: list at least one value", file=src)
        if len({repr(v) for v in value}) != len(value):
            raise InputError(f"{where} = {value!r}: values repeat", file=src)
        return Param(key=key, values=tuple(value))
    if isinstance(value, dict):
        _check_keys(value, RANGE_KEYS, f"{where}.", src)
        low, high = value.get("low"), value.get("high")
        for bound, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise InputError(f"{where}.{bound} = {v!r}: a number is required", file=src)
        if not low < high:
            raise InputError(f"{where}: low = {low} must be below high = {high}", file=src)
        log = bool(value.get("log", False))
        if log and low <= 0:
            raise InputError(f"{where}: log = true needs low > 0, got {low}", file=src)
        return Param(key=key, low=float(low), high=float(high), log=log,
                     integer=bool(value.get("integer", False)))
    raise InputError(
        f"{where} = {value!r}: give a list of values [a, b, ...] or a range "
        "{ low = ..., high = ... }",
        file=src,
    )


def _parse_sensitivity(table: Any, src: str) -> SensitivityOptions:
    if not isinstance(table, dict):
        raise InputError(f"[sensitivity] = {table!r}: must be a table", file=src)
    _check_keys(table, SENSITIVITY_KEYS, "sensitivity.", src)
    methods = table.get("methods", ["morris", "sobol"])
    if isinstance(methods, str):
        methods = [methods]
    if not methods or any(m not in ("morris", "sobol") for m in methods):
        raise InputError(f"sensitivity.methods = {methods!r}: a list of \"morris\", \"sobol\"",
                         file=src)
    sobol_n = _int(table.get("sobol_n", 32), "sensitivity.sobol_n", src, low=2, high=2**20)
    if sobol_n & (sobol_n - 1):
        raise InputError(f"sensitivity.sobol_n = {sobol_n}: must be a power of 2 (Saltelli)",
                         file=src)
    return SensitivityOptions(
        methods=tuple(methods),
        sobol_n=sobol_n,
        morris_trajectories=_int(table.get("morris_trajectories", 10),
                                 "sensitivity.morris_trajectories", src, low=2, high=10_000),
        morris_levels=_int(table.get("morris_levels", 4), "sensitivity.morris_levels", src,
                           low=2, high=100),
        resamples=_int(table.get("resamples", 200), "sensitivity.resamples", src, low=10,
                       high=100_000),
    )


def check_scenario_key(key: str, base_raw: dict[str, Any], src: str, *, table: str) -> None:
    """Raise unless ``key`` names a settable parameter of the scenario schema.

    Dictionary tables (``platforms.tmall``) must name an entry of the base scenario, lists
    (``shocks.0``) an existing index.
    """
    parts = key.split(".")
    node: Any = Scenario
    raw_node: Any = base_raw
    for i, part in enumerate(parts):
        where = f"{table}.{key}"
        if isinstance(node, type) and issubclass(node, BaseModel):
            fields = list(node.model_fields)
            if part not in fields:
                close = difflib.get_close_matches(part, fields, n=1, cutoff=0.6)
                hint = f"; did you mean {'.'.join([*parts[:i], close[0]])!r}?" if close else ""
                raise InputError(
                    f"{where}: the scenario has no parameter {'.'.join(parts[: i + 1])!r}{hint} "
                    f"Allowed here: {', '.join(fields)}",
                    file=src,
                )
            annotation = node.model_fields[part].annotation
            origin = typing.get_origin(annotation)
            raw_node = raw_node.get(part) if isinstance(raw_node, dict) else None
            if origin in (dict, list):
                node = ("container", origin, typing.get_args(annotation)[-1])
            else:
                node = annotation
            continue
        if isinstance(node, tuple) and node[0] == "container":
            _, origin, inner = node
            if origin is dict:
                entries = sorted(raw_node) if isinstance(raw_node, dict) else []
                if part not in entries:
                    raise InputError(
                        f"{where}: {'.'.join(parts[:i])} has no entry {part!r}; the scenario has "
                        f"{entries}",
                        file=src,
                    )
                raw_node = raw_node[part]
            else:
                size = len(raw_node) if isinstance(raw_node, list) else 0
                if not part.isdigit() or int(part) >= size:
                    raise InputError(
                        f"{where}: {'.'.join(parts[:i])} has {size} items; {part!r} is no index",
                        file=src,
                    )
                raw_node = raw_node[int(part)]
            node = inner
            continue
        raise InputError(f"{where}: {'.'.join(parts[:i])} is a value, not a table", file=src)
    if isinstance(node, type) and issubclass(node, BaseModel) or isinstance(node, tuple):
        raise InputError(f"{table}.{key}: is a table; name one parameter inside it", file=src)
