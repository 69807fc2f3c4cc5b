"""The dashboard's one door into the model: files, levers, runs, verdicts, saving.

Everything the page shows comes through here, and nothing else in :mod:`model.dashboard` imports
the model, so a change to the scenario schema, the simulator or the comparison engine lands in
this file only. The functions are plain Python (no web library), so tests and notebooks can call
them too.

What a run is: **the file's comparison, through the comparison engine**
(:func:`model.compare.runner.run_comparison`), at the chosen run size (``market.scale``, the
faithful miniature of ``run.py run/compare --scale F``), draws of the uncertain market,
replicates per draw and root seed — with the edited strategy added beside the file's own when a
lever differs from the file (as ``<name> (edited)``). A scenario file is a comparison of the
scenario as written (the reference) with its edited copy. So the file's strategies give exactly
the KPIs of ``run.py compare FILE --scale F --draws K --replicates R --seed S`` (same run keys,
same draws, same seeds), and the verdict is the engine's: P(best), P(beats the reference) with
intervals, regret, the minimax-regret choice, the verdict in words and, with draws, "what would
have to be true" (:mod:`model.verdict`). Plus one run of the edited strategy on its seed on the
base market: what ``run.py run`` does with the saved scenario, so the "this seed" column
reproduces on the command line to the last digit.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
import pandas as pd

from model import formatting
from model._version import __version__
from model.api import simulate
from model.compare.runner import comparison_plan, run_comparison
from model.compare.spec import ComparisonSpec, Strategy, load_comparison
from model.dashboard.jobs import ReportingExecutor
from model.errors import InputError
from model.execution import default_workers
from model.kpis import KPIS
from model.scenario import apply_overrides, load_scenario, scenario_to_toml, validate
from model.scenario.loader import read_toml
from model.scenario.schema import Scenario

# A quick answer in a meeting: 10 draws of the uncertain market × 1 replicate each, at 1/20 of
# the market. Ten draws is where the verdict stops warning about too few draws and cells
# (model.verdict.robust: FEW_DRAWS, FEW_CELLS); one replicate a draw spends the runs on markets,
# which is what P(best) and regret are about (the page says the draw means carry noise). With
# the draws off the same number of runs goes to replicates of the base market (noise only).
DEFAULT_DRAWS = 10
DEFAULT_REPLICATES = 1
DEFAULT_NOISE_REPLICATES = DEFAULT_DRAWS * DEFAULT_REPLICATES
MAX_DRAWS = 200
MAX_REPLICATES = 100
EDITED_SUFFIX = " (edited)"

# Run sizes offered, as fractions of the file's market (``market.scale``); the first is the
# quick default.
SCALES = (1 / 20, 1 / 50, 1 / 10, 1 / 4, 1 / 2, 1.0)
DEFAULT_SCALE = SCALES[0]

# The levers a strategist moves, in page order: (dotted key, label, fallback unit, step).
# ``platforms.*`` expands to one control per platform of the scenario. Bounds come from the
# schema; so does the unit once the schema's field metadata carries one (:func:`_schema_unit`).
LEVER_TABLE = (
    ("budget.per_day_yuan", "Ad budget", "¥ per day", 1000.0),
    ("platforms.*.budget_share", "Budget share: {platform}", "share of the ad budget", 0.05),
    ("diversion.incentive_yuan", "Red packet to join", "¥ per member who joins", 0.5),
    ("outreach.pushes_per_week", "Pushes per week", "mass messages per member per week", 0.5),
    ("outreach.targeting", "Push targeting", "", None),
    ("referral.reward_yuan", "Referral reward", "¥ per converted referral", 1.0),
    ("operation.mode", "Operating mode", "", None),
)

# KPIs in the results table, first to last (labels, units and directions: model/kpis.py).
SHOWN_KPIS = (
    "value_created",
    "contribution",
    "roi",
    "repurchase_rate_90d",
    "n_private",
    "share_private_gmv",
)

# Daily series for the plots (the run's daily table columns).
DOMAIN_SERIES = ("n_public", "n_private", "n_lapsed")
CONTRIBUTION_SERIES = "cum_contribution"


# --- the file --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StrategyView:
    """One strategy of the file: its name, what it is, and its resolved scenario."""

    name: str
    description: str
    scenario: Scenario


@dataclass(frozen=True)
class Study:
    """What the dashboard was opened on: a comparison file, or a single scenario file.

    A single scenario is one strategy whose reference is itself as written in the file, so the
    page compares the edited levers with the file's.
    """

    path: Path
    name: str
    description: str
    kind: str  # "comparison" or "scenario"
    strategies: tuple[StrategyView, ...]
    reference: str
    seed: int

    @property
    def names(self) -> list[str]:
        """Strategy names in file order."""
        return [s.name for s in self.strategies]

    def strategy(self, name: str) -> StrategyView:
        """The strategy called ``name``."""
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)


def load_study(path: str | Path) -> Study:
    """Read a comparison file (has ``[[strategies]]``) or a scenario file, validated.

    Raises:
        InputError: the loaders' messages (file, field, value, what is allowed).
    """
    path = Path(path)
    raw = read_toml(path)
    if "strategies" in raw:
        spec = load_comparison(path)
        strategies = tuple(StrategyView(s.name, s.description, s.scenario) for s in spec.strategies)
        return Study(
            path,
            spec.name,
            spec.description,
            "comparison",
            strategies,
            spec.reference,
            spec.root_seed,
        )
    scenario = load_scenario(path)
    view = StrategyView(scenario.name, scenario.description, scenario)
    return Study(
        path,
        scenario.name,
        scenario.description,
        "scenario",
        (view,),
        view.name,
        scenario.sim.seed,
    )


# --- levers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lever:
    """One control: a scenario field, its label, unit and the schema's allowed values.

    Attributes:
        key: the dotted scenario key (``outreach.pushes_per_week``).
        label: what the page calls it.
        unit: the unit (from the schema's metadata when present, else the lever table).
        description: the schema's description of the field.
        options: the allowed values of a choice (empty for a number).
        low, high: the schema's bounds (None: unbounded).
        low_inclusive, high_inclusive: whether the bound itself is allowed.
        integer: whole numbers only.
        step: the control's step.
    """

    key: str
    label: str
    unit: str
    description: str
    options: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    integer: bool = False
    step: float | None = None

    @property
    def is_choice(self) -> bool:
        """A choice among named options rather than a number."""
        return bool(self.options)

    def bounds_text(self) -> str:
        """The allowed range in words, e.g. ``0–7`` or ``≥ 0``."""
        if self.is_choice:
            return " | ".join(self.options)
        low = None if self.low is None else f"{_plain(self.low)}"
        high = None if self.high is None else f"{_plain(self.high)}"
        if low is not None and high is not None:
            return f"{low}–{high}"
        if low is not None:
            return f"{'≥' if self.low_inclusive else '>'} {low}"
        if high is not None:
            return f"{'≤' if self.high_inclusive else '<'} {high}"
        return "any"

    def title(self) -> str:
        """Label with unit and range, for the control."""
        unit = f", {self.unit}" if self.unit else ""
        return f"{self.label} ({self.bounds_text()}{unit})"


def levers_for(scenario: Scenario) -> list[Lever]:
    """The lever controls for a scenario (one budget share per platform), in page order."""
    levers = []
    for key, label, unit, step in LEVER_TABLE:
        if ".*." in key:
            head, tail = key.split(".*.")
            for platform in getattr(scenario, head):
                levers.append(
                    _lever(f"{head}.{platform}.{tail}", label.format(platform=platform), unit, step)
                )
        else:
            levers.append(_lever(key, label, unit, step))
    return levers


def lever_values(scenario: Scenario, levers: list[Lever]) -> dict[str, Any]:
    """The scenario's current value of every lever."""
    data = scenario.model_dump(mode="json")
    return {lever.key: _get_dotted(data, lever.key) for lever in levers}


def schema_field(dotted: str):
    """The pydantic ``FieldInfo`` of a dotted scenario key (``platforms.NAME.x`` included)."""
    node: Any = Scenario
    info = None
    parts = dotted.split(".")
    i = 0
    while i < len(parts):
        info = node.model_fields[parts[i]]
        annotation = info.annotation
        if typing.get_origin(annotation) is dict:  # platforms.<name>: skip the name
            node = typing.get_args(annotation)[1]
            i += 2
            continue
        node = annotation
        i += 1
    return info


def _lever(key: str, label: str, unit: str, step: float | None) -> Lever:
    info = schema_field(key)
    unit = _schema_unit(info) or unit
    description = info.description or ""
    if typing.get_origin(info.annotation) is typing.Literal:
        options = tuple(str(o) for o in typing.get_args(info.annotation))
        return Lever(key, label, unit, description, options=options)
    low = high = None
    low_inclusive = high_inclusive = True
    for bound in info.metadata:
        if isinstance(bound, annotated_types.Ge):
            low = float(bound.ge)
        elif isinstance(bound, annotated_types.Gt):
            low, low_inclusive = float(bound.gt), False
        elif isinstance(bound, annotated_types.Le):
            high = float(bound.le)
        elif isinstance(bound, annotated_types.Lt):
            high, high_inclusive = float(bound.lt), False
    integer = info.annotation is int
    return Lever(
        key,
        label,
        unit,
        description,
        low=low,
        high=high,
        low_inclusive=low_inclusive,
        high_inclusive=high_inclusive,
        integer=integer,
        step=1.0 if integer else step,
    )


def _schema_unit(info) -> str | None:
    """The unit the schema's field metadata gives, if it gives one.

    Seam: the schema is gaining unit/source/grade metadata for every field; until it does,
    the lever table's unit is used. Adjust this one function to the metadata's final form.
    """
    extra = info.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("unit"), str):
        return extra["unit"]
    return None


def _get_dotted(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node[part]
    return node


def _plain(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:g}"


# --- the scenario a run uses -----------------------------------------------------------------


def edited_scenario(
    study: Study,
    strategy: str,
    values: Mapping[str, Any],
    *,
    scale: float = 1.0,
    seed: int | None = None,
) -> Scenario:
    """The strategy's scenario with the controls' values, at a run size and seed.

    Args:
        study: the file.
        strategy: the strategy the controls edit.
        values: dotted lever keys to the controls' values.
        scale: run size as a fraction of the file's market: ``market.scale``, the faithful
            miniature (:mod:`model.scenario.scale`) that ``run.py run --scale`` runs.
        seed: ``sim.seed`` of the result (default: the file's).

    Raises:
        InputError: the scenario loader's message when a value is not allowed.
    """
    base = study.strategy(strategy).scenario
    overrides = {**values, "market.scale": scale, "sim.seed": study.seed if seed is None else seed}
    raw = apply_overrides(base.model_dump(mode="json"), overrides)
    raw["name"] = f"{study.name}-{strategy}-edited"
    return validate(raw, source=f"dashboard controls of {strategy!r}")


def changed_levers(study: Study, strategy: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The controls whose value differs from the file's."""
    scenario = study.strategy(strategy).scenario
    original = lever_values(scenario, levers_for(scenario))
    return {k: v for k, v in values.items() if k not in original or original[k] != v}


def scale_label(scenario: Scenario, scale: float) -> str:
    """``1/20: 50,000 people`` for the run-size control."""
    people = max(1, round(scenario.market.size * scale))
    name = "full size" if scale == 1 else f"1/{round(1 / scale)}"
    return f"{name}: {people:,} people"


def _scenario_as_comparison(study: Study, **options: Any) -> ComparisonSpec:
    """A scenario file as a comparison of one strategy, the scenario as written (the reference).

    Written as a comparison file in a temporary folder and read by the comparison loader, so
    draws, seeds and KPIs are decided exactly as for any comparison file.
    """
    name = study.reference
    text = (
        f"name = {_toml_str(study.name)}\n"
        f"reference = {_toml_str(name)}\n"
        f"[market]\nbase = {_toml_str(str(study.path.resolve()))}\n"
        f"[[strategies]]\nname = {_toml_str(name)}\n"
        f'description = "as written in the file"\nset = {{}}\n'
    )
    with tempfile.TemporaryDirectory(prefix="sidomain-dashboard-") as folder:
        path = Path(folder) / f"{study.name}.toml"
        path.write_text(text, encoding="utf-8")
        spec = load_comparison(path, **options)
    return dataclasses.replace(spec, path=study.path)


def _toml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- a run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRequest:
    """Everything a run needs, as plain picklable data (it runs in another process).

    Attributes:
        spec: the comparison to run: the file's strategies (plus the edited one) at the run
            size, with its draws, replicates per draw and root seed.
        strategy: the file's strategy the controls edit.
        focus: the strategy the results table shows against the reference: the edited copy,
            or ``strategy`` itself when no lever differs from the file.
        scenario: the edited scenario on its seed: the "this seed" run and what Save writes.
        scale: the run size.
        workers: processes the runs go to (1: in the run's own process).
    """

    spec: ComparisonSpec
    strategy: str
    focus: str
    scenario: Scenario
    scale: float
    workers: int = 1

    @property
    def n_runs(self) -> int:
        """Runs in total: the seed run plus the comparison's distinct runs."""
        return 1 + len(comparison_plan(self.spec).tasks)


def prepare_run(
    study: Study,
    strategy: str,
    values: Mapping[str, Any],
    *,
    scale: float,
    seed: int,
    draws: int,
    replicates: int,
    others: bool = True,
    workers: int | None = None,
) -> RunRequest:
    """Validate the controls and build the run.

    Args:
        study: the file.
        strategy: the strategy the controls edit.
        values: the controls' values by dotted key.
        scale: the run size (``market.scale``).
        seed: the comparison's root seed and the edited scenario's ``sim.seed``.
        draws: draws of the uncertain market (0: none, the base market only: noise only).
        replicates: replicates per draw.
        others: compare with the file's other strategies too (False: the strategy, its edited
            copy and the reference only: fewer runs, P(best) among those).
        workers: processes for the runs (default: every core).

    Raises:
        InputError: the loader's message for a bad control, or what the counts allow.
    """
    if not isinstance(replicates, int) or not 1 <= replicates <= MAX_REPLICATES:
        raise InputError(
            f"replicates = {replicates!r}: must be a whole number from 1 to {MAX_REPLICATES}",
            file="dashboard",
        )
    if not isinstance(draws, int) or not (draws == 0 or 2 <= draws <= MAX_DRAWS):
        raise InputError(
            f"draws = {draws!r}: must be a whole number from 2 to {MAX_DRAWS} (or the draws "
            "switched off)",
            file="dashboard",
        )
    if not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed = {seed!r}: must be a whole number ≥ 0", file="dashboard")
    if scale not in SCALES:
        raise InputError(f"run size = {scale!r}: must be one of {SCALES}", file="dashboard")
    scenario = edited_scenario(study, strategy, values, scale=scale, seed=seed)
    options = {
        "replicates": replicates,
        "draws": draws or None,
        "uncertainty": draws > 0,
        "root_seed": seed,
        "market_overrides": {"market.scale": scale},
    }
    if study.kind == "comparison":
        spec = load_comparison(study.path, **options)
    else:
        spec = _scenario_as_comparison(study, **options)
    kept = spec.strategies
    if not others:
        kept = tuple(s for s in kept if s.name in (strategy, spec.reference))
    spec = dataclasses.replace(
        spec, strategies=kept, kpis=tuple(dict.fromkeys([*spec.kpis, *SHOWN_KPIS]))
    )
    focus = strategy
    changed = changed_levers(study, strategy, values)
    if changed:
        focus = strategy + EDITED_SUFFIX
        original = spec.strategy(strategy)
        edited = Strategy(
            focus,
            f"{strategy} with the dashboard's levers",
            {**original.overrides, **changed},
            scenario,
        )
        spec = dataclasses.replace(spec, strategies=(*spec.strategies, edited))
    n = default_workers() if workers is None else workers
    return RunRequest(spec, strategy, focus, scenario, scale, max(1, n))


@dataclass
class RunResult:
    """What the page shows after a run (computed in the run's process).

    Attributes:
        strategy: the file's strategy the controls edited.
        focus: the strategy shown against the reference (``strategy`` or its edited copy).
        reference: the reference strategy.
        seed: the root seed (and the edited scenario's ``sim.seed``).
        scale: the run size.
        scenario: the edited scenario as run (what "Save as scenario" writes).
        seed_kpis: KPIs of the edited scenario on its seed: what ``run.py run`` prints.
        summary: the engine's robust summary: per strategy and KPI, median and 10–90% band,
            the paired difference from the reference, P(beats the reference) and P(best) with
            95% intervals, regret (:func:`model.verdict.robust_summary`).
        rank_by: the KPI the verdict ranks by.
        verdict: the verdict in words (:func:`model.verdict.describe_verdict`).
        conditions: "what would have to be true", one sentence per pair (empty without draws).
        drawn: the parameters drawn: key, label, low, high, log, source.
        stated: the uncertain parameters stated rather than drawn: key, value, where.
        draws, replicates: draws of the market (1: noise only) and replicates per draw.
        uncertainty: whether the market was drawn.
        series: per daily metric and strategy (focus, reference), a day × cell table.
        kpis: the KPIs in the results table, in order.
        elapsed_s: wall time of the runs.
        n_runs: runs done (the seed run included).
        n_failed: runs that raised or were lost (the others still count).
    """

    strategy: str
    focus: str
    reference: str
    seed: int
    scale: float
    scenario: Scenario
    seed_kpis: dict[str, Any]
    summary: pd.DataFrame
    rank_by: str
    verdict: list[str]
    conditions: list[str]
    drawn: list[dict[str, Any]]
    stated: list[dict[str, Any]]
    draws: int
    replicates: int
    uncertainty: bool
    series: dict[str, dict[str, pd.DataFrame]]
    kpis: tuple[str, ...]
    elapsed_s: float
    n_runs: int = 0
    n_failed: int = 0

    @property
    def strategies(self) -> list[str]:
        """The strategies compared, in order."""
        return list(dict.fromkeys(self.summary["strategy"]))


def execute(request: RunRequest, report: Callable[[int, int], None] | None = None) -> RunResult:
    """Run the seed run and the comparison; compute the verdict.

    Args:
        request: from :func:`prepare_run`.
        report: called with (runs done, runs in total) after each run.

    Returns:
        The result the page shows.
    """
    start = time.perf_counter()
    total = request.n_runs
    seed = request.scenario.sim.seed
    seed_kpis = simulate(request.scenario, seed=seed).summary()
    done = [1]
    if report:
        report(1, total)

    def one_more() -> None:  # a resubmitted run (a worker died) ends twice: cap at the total
        done[0] = min(done[0] + 1, total)
        if report:
            report(done[0], total)

    workers = min(request.workers, total - 1)
    with ReportingExecutor(workers, one_more) as executor:
        result = run_comparison(request.spec, executor=executor)
    spec = request.spec
    summary = result.summary()
    conditions = result.conditions()
    provenance = result.provenance()
    drawn = [{**d, "label": formatting.param_label(d["key"])} for d in provenance["drawn"]]
    shown = tuple(k for k in SHOWN_KPIS if k in result.kpis.columns)
    pair = (request.focus, spec.reference)
    series = {
        metric: {name: frame for name, frame in result.series(metric).items() if name in pair}
        for metric in (*DOMAIN_SERIES, CONTRIBUTION_SERIES)
    }
    return RunResult(
        strategy=request.strategy,
        focus=request.focus,
        reference=spec.reference,
        seed=seed,
        scale=request.scale,
        scenario=request.scenario,
        seed_kpis=seed_kpis,
        summary=summary,
        rank_by=spec.rank_by,
        verdict=result.verdict(),
        conditions=conditions.sentences() if conditions is not None else [],
        drawn=drawn,
        stated=provenance["stated"],
        draws=spec.draws,
        replicates=spec.replicates,
        uncertainty=spec.uncertainty.enabled,
        series=series,
        kpis=shown,
        elapsed_s=time.perf_counter() - start,
        n_runs=total,  # all ran (a pool's last count may trail its result by a moment)
        n_failed=len(result.failures),
    )


# --- showing numbers -------------------------------------------------------------------------


def kpi_label(kpi: str) -> str:
    """The KPI registry's label."""
    return formatting.kpi_label(kpi) if kpi in KPIS else kpi


NA = formatting.NA
NA_LEGEND = formatting.NA_LEGEND
percent = formatting.percent


def format_kpi(kpi: str, value: Any, *, diff: bool = False) -> str:
    """A KPI value (or a paired difference) in its unit, as every other surface shows it."""
    return formatting.format_kpi(kpi, value, diff=diff)


# --- saving ----------------------------------------------------------------------------------


def default_save_path(study: Study, strategy: str, folder: str | Path = "out/dashboard") -> Path:
    """A path that does not exist yet: ``out/dashboard/<file>-<strategy>-edited[-N].toml``."""
    folder = Path(folder)
    stem = f"{study.name}-{strategy}-edited"
    path = folder / f"{stem}.toml"
    n = 2
    while path.exists():
        path = folder / f"{stem}-{n}.toml"
        n += 1
    return path


def save_scenario(scenario: Scenario, path: str | Path, *, source: str, scale: float) -> Path:
    """Write a resolved scenario as TOML that ``run.py run`` and ``compare`` accept.

    Never overwrites a file (finished work is never lost); written under a temporary name and
    renamed, so a reader never sees half a file.

    Raises:
        InputError: the path is not a new ``.toml`` file in a folder that can be created.
    """
    path = Path(path)
    if path.suffix != ".toml":
        raise InputError("must end in .toml", file=str(path))
    if path.exists():
        raise InputError(
            "already exists; choose another name (nothing was written)", file=str(path)
        )
    size = "full size" if scale == 1 else f"{scale:g} of the file's market (a miniature)"
    header = (
        f"# Saved by the sidomain {__version__} dashboard from {source}, run size {size}.\n"
        f"# Every value is resolved; reproduce the dashboard's 'this seed' column with:\n"
        f"#   python run.py run {path}\n"
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(header + scenario_to_toml(scenario), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror}", file=str(path)) from None
    return path
