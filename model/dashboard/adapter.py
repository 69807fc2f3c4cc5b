"""The dashboard's one door into the model: files, levers, runs, summaries, saving.

Everything the page shows comes through here, and nothing else in :mod:`model.dashboard` imports
the model, so a change to the scenario schema, the simulator or the comparison summaries lands
in this file only. The functions are plain Python (no web library), so tests and notebooks can
call them too.

What a run is: the edited strategy and the file's reference strategy, both at the chosen run
size, over ``replicates`` replicates with common random numbers (replicate ``i`` of both uses
``replicate_seed(seed, i)``, exactly as ``run.py compare`` does, through the comparison's own
task function and summary), plus one run of the edited strategy on ``sim.seed`` itself, which is
what ``run.py run`` does with the saved scenario: the "this seed" column reproduces on the
command line to the last digit.

Seams (features of the issue waiting for the model):

* ``market.scale`` (the faithful miniature): until the scenario has it, :func:`miniature` scales
  the market size, the initial base, the ad budgets and the platforms' daily caps by one factor;
  replace its body by the ``market.scale`` override when the option lands. Staff capacities are
  *not* scaled here, so at small sizes the private domain's fixed staff costs weigh more than at
  full size (the page says so).
* ``value_created``: shown first when the model's KPIs include it and the KPI direction table
  knows it (:data:`HEADLINE_KPIS`); nothing is computed here.
* Robust verdicts (P(best), expected regret, "what would have to be true"): not on this branch
  yet; :class:`RunResult` has no field for them and the page shows none. Once
  ``model.verdict.robust_summary`` is here (same table shape as ``summarise``, plus P(best) and
  regret columns), :func:`execute` calls it in place of ``summarise`` and the results table
  gains those columns; "what would have to be true" needs runs over market draws.
"""

from __future__ import annotations

import math
import os
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
import pandas as pd

from model._version import __version__
from model.api import simulate
from model.compare.spec import DIRECTIONS, load_comparison
from model.compare.summary import summarise
from model.errors import InputError
from model.experiment.tasks import RunTask, run_task
from model.scenario import apply_overrides, load_scenario, scenario_to_toml, validate
from model.scenario.loader import read_toml
from model.scenario.schema import Scenario

EDITED = "edited"
REFERENCE = "reference"
DEFAULT_REPLICATES = 5
MAX_REPLICATES = 100

# Run sizes offered, as fractions of the file's market; the first is the quick default.
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

# KPIs in the results table, first to last: (KPI, label, format). Only those the run's KPIs
# contain and the direction table knows are shown (``value_created`` is the seam).
HEADLINE_KPIS = (
    ("value_created", "Value created", "money"),
    ("contribution", "Contribution", "money"),
    ("roi", "ROI", "ratio"),
    ("repurchase_rate_90d", "Repurchase within 90 days", "share"),
    ("n_private", "Private pool (members at the end)", "count"),
    ("share_private_gmv", "Private share of revenue", "share"),
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
        scale: run size as a fraction of the file's market (see :func:`miniature`).
        seed: ``sim.seed`` of the result (default: the file's).

    Raises:
        InputError: the scenario loader's message when a value is not allowed.
    """
    base = study.strategy(strategy).scenario
    overrides = {**values, "sim.seed": study.seed if seed is None else seed}
    raw = apply_overrides(base.model_dump(mode="json"), overrides)
    raw["name"] = f"{study.name}-{strategy}-edited"
    scenario = validate(raw, source=f"dashboard controls of {strategy!r}")
    return miniature(scenario, scale)


def miniature(scenario: Scenario, scale: float) -> Scenario:
    """The scenario at ``scale`` of its market: a quick, smaller run of the same strategy.

    Seam: stands in for the coming ``market.scale`` option, and will become the single override
    ``{"market.scale": scale}``. Until then it scales, by the same factor, the market size and
    the initial base (rounded to whole people), the ad budgets (daily, ramp, pulses) and every
    platform's daily cap. Staff capacities are not scaled, so the private domain's fixed staff
    costs weigh more at small sizes than at full size.
    """
    if not 0 < scale <= 1:
        raise InputError(f"run size = {scale!r}: must be in (0, 1]", file="dashboard")
    if scale == 1:
        return scenario
    raw = scenario.model_dump(mode="json")
    market = raw["market"]
    market["size"] = max(1, round(market["size"] * scale))
    market["initial_public"] = round(market["initial_public"] * scale)
    market["initial_private"] = round(market["initial_private"] * scale)
    budget = raw["budget"]
    budget["per_day_yuan"] *= scale
    budget["ramp_to_per_day_yuan"] *= scale
    for pulse in budget["pulses"]:
        pulse["per_day_yuan"] *= scale
    for platform in raw["platforms"].values():
        platform["daily_cap"] *= scale
    return validate(raw, source=f"dashboard run size {scale:g}")


def scale_label(scenario: Scenario, scale: float) -> str:
    """``1/20 — 50,000 people`` for the run-size control."""
    people = max(1, round(scenario.market.size * scale))
    name = "full size" if scale == 1 else f"1/{round(1 / scale)}"
    return f"{name}: {people:,} people"


# --- a run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRequest:
    """Everything a run needs, as plain picklable data (it runs in another process)."""

    strategy: str
    reference: str
    scenario: Scenario
    reference_scenario: Scenario
    replicates: int

    @property
    def n_runs(self) -> int:
        """Runs in total: the seed run plus both strategies' replicates."""
        return 1 + 2 * self.replicates


@dataclass
class RunResult:
    """What the page shows after a run.

    Attributes:
        strategy, reference: the names of the edited strategy and of the reference.
        seed: ``sim.seed`` of the edited scenario.
        scenario: the edited scenario as run (what "Save as scenario" writes).
        seed_kpis: KPIs of the edited scenario on ``sim.seed``: what ``run.py run`` prints.
        summary: per label (``edited``/``reference``) and KPI: median, 10–90% band, paired
            difference and P(beats the reference), over the replicates
            (:func:`model.compare.summary.summarise`).
        series: per daily metric and label, a day × replicate table.
        kpis: the headline KPIs shown, in order.
        elapsed_s: wall time of the runs.
    """

    strategy: str
    reference: str
    seed: int
    scenario: Scenario
    seed_kpis: dict[str, Any]
    summary: pd.DataFrame
    series: dict[str, dict[str, pd.DataFrame]]
    kpis: tuple[str, ...]
    elapsed_s: float
    n_runs: int = 0
    replicates: int = 0


def prepare_run(
    study: Study,
    strategy: str,
    values: Mapping[str, Any],
    *,
    scale: float,
    seed: int,
    replicates: int,
) -> RunRequest:
    """Validate the controls and build the run (raises InputError with the loader's message)."""
    if not isinstance(replicates, int) or not 1 <= replicates <= MAX_REPLICATES:
        raise InputError(
            f"replicates = {replicates!r}: must be a whole number from 1 to {MAX_REPLICATES}",
            file="dashboard",
        )
    if not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed = {seed!r}: must be a whole number ≥ 0", file="dashboard")
    scenario = edited_scenario(study, strategy, values, scale=scale, seed=seed)
    reference = miniature(study.strategy(study.reference).scenario, scale)
    reference = reference.model_copy(
        update={"sim": reference.sim.model_copy(update={"seed": seed})}
    )
    return RunRequest(strategy, study.reference, scenario, reference, replicates)


def execute(request: RunRequest, report: Callable[[int, int], None] | None = None) -> RunResult:
    """Run the seed run and both strategies' replicates; summarise them.

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
    if report:
        report(1, total)
    tasks = [
        RunTask(label, i, seed, scenario)
        for i in range(request.replicates)
        for label, scenario in (
            (EDITED, request.scenario),
            (REFERENCE, request.reference_scenario),
        )
    ]
    rows, daily = [], {}
    for done, task in enumerate(tasks, start=2):
        record = run_task(task)
        rows.append({"strategy": task.label, "replicate": task.replicate, **record.kpis})
        daily[(task.label, task.replicate)] = record.daily
        if report:
            report(done, total)
    kpis = pd.DataFrame(rows)
    shown = tuple(k for k, _, _ in HEADLINE_KPIS if k in kpis.columns and k in DIRECTIONS)
    for k in shown:
        kpis[k] = pd.to_numeric(kpis[k], errors="coerce").astype(float)
    summary = summarise(kpis, REFERENCE, shown, strategies=[EDITED, REFERENCE])
    series = {
        metric: {
            label: pd.DataFrame(
                {
                    rep: frame.set_index("day")[metric]
                    for (lab, rep), frame in daily.items()
                    if lab == label
                }
            )
            for label in (EDITED, REFERENCE)
        }
        for metric in (*DOMAIN_SERIES, CONTRIBUTION_SERIES)
    }
    return RunResult(
        strategy=request.strategy,
        reference=request.reference,
        seed=seed,
        scenario=request.scenario,
        seed_kpis=seed_kpis,
        summary=summary,
        series=series,
        kpis=shown,
        elapsed_s=time.perf_counter() - start,
        n_runs=total,
        replicates=request.replicates,
    )


# --- showing numbers -------------------------------------------------------------------------


def kpi_label(kpi: str) -> str:
    """The page's name for a KPI."""
    return {k: label for k, label, _ in HEADLINE_KPIS}.get(kpi, kpi)


def format_kpi(kpi: str, value: Any) -> str:
    """A KPI value as the page shows it: ``¥1,234,567``, ``12.3%``, ``1.23``, ``4,567``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    kind = {k: fmt for k, _, fmt in HEADLINE_KPIS}.get(kpi, "ratio")
    value = float(value)
    if kind == "money":
        sign = "−" if value < 0 else ""
        return f"{sign}¥{abs(value):,.0f}"
    if kind == "share":
        return f"{100 * value:.1f}%"
    if kind == "count":
        return f"{value:,.0f}"
    return f"{value:.3f}".replace("-", "−")


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
