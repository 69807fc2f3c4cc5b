"""Optimisation files: a base scenario, the levers to search, constraints, objective and risk.

One file (paths relative to the file)::

    name = "optimize_levers"             # optional; defaults to the file's stem
    description = "..."
    root_seed = 20260101                 # seeds of the search block (the confirmation's derive)
    draws = 4                            # draws of the uncertain market (0: the base market only)
    replicates = 2                       # replicate seeds per draw (a cell = draw × replicate)
    budget_evals = 48                    # candidates the search evaluates (--budget-evals)
    batch = 8                            # candidates proposed at once (never the worker count)

    [market]                             # the base scenario: the incumbent, and the market
    base = "baseline.toml"
    set = { "market.scale" = 0.05 }      # shared overrides (a miniature, a fixed fact)

    [uncertainty]                        # narrow, widen or fix a registry range, as in compare
    "outreach.p_response" = { value = 0.012, source = "push test, September 2026" }

    [objective]
    kpi = "value_created"                # any registry KPI with a direction
    risk = "mean"                        # or "cvar": mean of the worst `alpha` share of cells
    alpha = 0.2

    [levers]                             # dotted keys of side = "lever" parameters
    "diversion.incentive_yuan" = { low = 0.0, high = 30.0 }
    "outreach.pushes_per_week" = { low = 0, high = 7, integer = true }
    "operation.mode" = { choices = ["persona", "guides", "distribution"] }
    "budget.per_day_yuan" = { low = 5_000.0, high = 40_000.0, log = true }

    [budget_shares]                      # the ad budget's split over platforms: a simplex
    platforms = ["tmall", "jd"]          # default: every platform of the base
    min_share = 0.1

    [constraints]                        # each optional; on the mean over the block's cells
    max_marketing_spend_yuan = 8_000_000 # full-size yuan over the horizon (× market.scale)
    max_headcount = 12                   # accounts or guides employed at the end
    max_payback_day = 300                # the private domain pays back (vs payback_reference)
    max_unfollows_per_1000_pushes = 5.0
    payback_reference = { "operation.mode" = "none" }

    [confirm]                            # fresh seeds and draws for the best few and the base
    top = 3
    draws = 8
    replicates = 2

    [curves]                             # response curves through the recommendation
    points = 5

The file is read with the experiment engine's machinery (:mod:`model.experiment`): ``[market]``,
``[uncertainty]``, ``root_seed`` and ``draws`` mean what they mean in a comparison, the base is
resolved by :func:`model.experiment.base.resolve_base`, the uncertain parameters by
:func:`model.experiment.uncertainty.resolve_uncertainty` (a value the file or ``--set`` states is
not drawn), and every table forbids unknown keys and never converts values; a mistake is one
:class:`~model.errors.InputError` naming the file, the dotted field, the value and what is
allowed, in the engine's words (:func:`model.experiment.spec.read_spec`). Levers are checked
against the parameter registry: only ``side = "lever"`` keys, bounds inside the schema's,
choices among its words, and the base scenario validated at both ends of every range.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from model.errors import InputError
from model.experiment.base import (
    check_scenario_key,
    inner,
    resolve_base,
    validate_shared,
    with_stated_values,
)
from model.experiment.spec import (
    MAX_DRAWS,
    UNCERTAINTY_KEYS,
    Market,
    Table,
    UncertaintyEntry,
    did_you_mean,
    flatten,
    read_spec,
)
from model.experiment.uncertainty import Uncertainty, resolve_uncertainty
from model.kpis import KPIS
from model.optimize.space import Choice, Lever, Numeric, Simplex, Space
from model.resources import MAX_REPLICATES
from model.scenario import apply_overrides, validate
from model.scenario.params import parameter
from model.scenario.schema import MAX_SEED, Scenario

DEFAULT_OBJECTIVE = "value_created"
#: The KPI each named constraint bounds (``payback`` is computed against a reference).
CONSTRAINT_KPIS = {
    "max_marketing_spend_yuan": "cost_marketing",
    "max_headcount": "n_holders",
    "max_unfollows_per_1000_pushes": "unfollows_per_1000_pushes",
}
MAX_EVALS = 100_000
CHOICE_TYPES = (str, int, float, bool)


def _not_one(n: int | None) -> int | None:
    # The engine's rule for comparisons (model.experiment.spec): one draw is no sample.
    if n == 1:
        raise ValueError(
            "= 1: one random market says nothing about the others; give 0 (no draws: the base "
            "market only, noise only) or 2 or more"
        )
    return n


class ObjectiveTable(Table):
    """``[objective]``: the KPI to optimise and the risk measure over cells."""

    kpi: str = DEFAULT_OBJECTIVE
    risk: Literal["mean", "cvar"] = "mean"
    alpha: float = Field(0.2, gt=0, le=1, description="CVaR: the share of worst cells averaged")


class LeverEntry(Table):
    """One lever: a range ``{low, high, integer, log}`` or ``{choices = [...]}``."""

    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> LeverEntry:
        if self.choices is not None:
            if self.low is not None or self.high is not None or self.integer or self.log:
                raise ValueError("give either choices = [...] or a range { low, high }, not both")
            odd = [c for c in self.choices if not isinstance(c, CHOICE_TYPES)]
            if odd:
                raise ValueError(f"choices = {self.choices!r}: {odd[0]!r} is not a single value")
            if len(self.choices) < 2:
                raise ValueError(f"choices = {self.choices!r}: list at least two values")
            if len({repr(c) for c in self.choices}) != len(self.choices):
                raise ValueError(f"choices = {self.choices!r}: values repeat")
            return self
        if self.low is None or self.high is None:
            raise ValueError(
                "a lever needs low and high (e.g. { low = 0.0, high = 30.0 }) or choices = [...]"
            )
        if not self.low < self.high:
            raise ValueError(f"low = {self.low:g} must be below high = {self.high:g}")
        if self.log and self.low <= 0:
            raise ValueError(f"log = true needs low > 0, got {self.low:g}")
        if self.integer and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError("integer = true needs whole-number low and high")
        return self


class SharesTable(Table):
    """``[budget_shares]``: search the ad budget's split over platforms (a simplex)."""

    platforms: list[str] | None = Field(None, min_length=2)
    min_share: float = Field(0.0, ge=0, lt=1)


class ConstraintsTable(Table):
    """``[constraints]``: limits every recommended point must keep (means over cells)."""

    max_marketing_spend_yuan: float | None = Field(None, gt=0)
    max_headcount: int | None = Field(None, ge=0)
    max_payback_day: int | None = Field(None, ge=0)
    max_unfollows_per_1000_pushes: float | None = Field(None, ge=0)
    payback_reference: dict[str, Any] = Field(default_factory=lambda: {"operation.mode": "none"})


class ConfirmTable(Table):
    """``[confirm]``: how many of the best are re-run, on how many fresh draws and seeds."""

    top: int = Field(3, ge=1, le=100)
    draws: int | None = Field(None, ge=0, le=MAX_DRAWS)
    replicates: int | None = Field(None, ge=1, le=MAX_REPLICATES)
    root_seed: int | None = Field(None, ge=0, le=MAX_SEED)

    check_draws = field_validator("draws")(_not_one)


class CurvesTable(Table):
    """``[curves]``: points per lever of the response curves (0: none)."""

    points: int = Field(5, ge=0, le=101)


class OptimizeFile(Table):
    """An optimisation file as written (before the base scenario is resolved).

    The engine's tables (:mod:`model.experiment.spec`): ``[market]`` and ``[uncertainty]`` as in
    a comparison, and the same checks and messages (:func:`model.experiment.spec.read_spec`).
    """

    name: str | None = None
    description: str = ""
    root_seed: int = Field(20260101, ge=0, le=MAX_SEED)
    draws: int = Field(4, ge=0, le=MAX_DRAWS)
    replicates: int = Field(2, ge=1, le=MAX_REPLICATES)
    budget_evals: int = Field(48, ge=1, le=MAX_EVALS)
    batch: int = Field(8, ge=1, le=1000)
    market: Market
    uncertainty: dict[str, UncertaintyEntry] = Field(default_factory=dict)
    objective: ObjectiveTable = Field(default_factory=ObjectiveTable)
    levers: dict[str, LeverEntry] = Field(default_factory=dict)
    budget_shares: SharesTable | None = None
    constraints: ConstraintsTable = Field(default_factory=ConstraintsTable)
    confirm: ConfirmTable = Field(default_factory=ConfirmTable)
    curves: CurvesTable = Field(default_factory=CurvesTable)

    # What model.experiment.base.resolve_base reads besides [market]: an optimisation file
    # has no older sweep spelling (scenario = ..., [set]).
    scenario: ClassVar[None] = None
    set: ClassVar[None] = None
    kind: ClassVar[str] = "optimisation"

    check_draws = field_validator("draws")(_not_one)

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        """Nested TOML tables become dotted keys (``[levers.outreach] pushes_per_week = ...``)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("levers"), dict):
            data["levers"] = flatten(data["levers"], leaf=_is_lever_entry)
        if isinstance(data.get("market"), dict) and isinstance(data["market"].get("set"), dict):
            data["market"] = {**data["market"], "set": flatten(data["market"]["set"])}
        if isinstance(data.get("uncertainty"), dict):
            data["uncertainty"] = {
                k: v if isinstance(v, dict) else {"value": v}
                for k, v in flatten(data["uncertainty"], leaf=_is_uncertainty_entry).items()
            }
        constraints = data.get("constraints")
        if isinstance(constraints, dict) and isinstance(constraints.get("payback_reference"), dict):
            data["constraints"] = {
                **constraints,
                "payback_reference": flatten(constraints["payback_reference"]),
            }
        return data


def _is_uncertainty_entry(value: Any) -> bool:
    return isinstance(value, dict) and bool(set(value) & UNCERTAINTY_KEYS)


def _is_lever_entry(value: Any) -> bool:
    return isinstance(value, dict) and bool(set(value) & {"low", "high", "choices"})


# --- the resolved spec --------------------------------------------------------------------------


@dataclass(frozen=True)
class Constraint:
    """One limit: ``kpi`` (mean over cells) must stay at or below ``limit``.

    Attributes:
        name: the spec's key (``max_headcount``).
        kpi: the KPI it bounds (``"payback"`` for the paired payback day).
        limit: the bound in the run's own units (money × ``market.scale``).
        shown: the bound as the user wrote it, for messages.
    """

    name: str
    kpi: str
    limit: float
    shown: float


@dataclass(frozen=True)
class OptimizeSpec:
    """A validated optimisation. Build it with :func:`load_spec`.

    Attributes:
        name, description: labels.
        path: the file it came from (``None`` when built in code).
        base_path: the base scenario file.
        base_raw: the base with the shared overrides applied (a raw scenario dict).
        base: the incumbent: the validated base scenario.
        space: the levers and the budget simplex.
        objective: the KPI; ``direction`` is "higher" or "lower".
        risk, alpha: "mean", or "cvar" with its level.
        constraints: the limits.
        payback_reference: overrides of the base that give the payback's reference.
        root_seed, draws, replicates: the search block.
        budget_evals, batch: the search's size and batch.
        confirm_top, confirm_draws, confirm_replicates, confirm_seed: the confirmation block.
        curve_points: points per lever of the response curves.
        scale: ``market.scale`` of the base (1 when the schema has none).
        uncertainty: the uncertain market parameters, drawn or stated
            (:mod:`model.experiment.uncertainty`); its ``draws`` is the larger block's.
        shared_overrides: every shared override (``[market] set``, ``[uncertainty]`` values,
            ``--set``).
    """

    name: str
    description: str
    path: Path | None
    base_path: Path | None
    base_raw: dict[str, Any]
    base: Scenario
    space: Space
    objective: str
    direction: str
    risk: str
    alpha: float
    constraints: tuple[Constraint, ...]
    payback_reference: dict[str, Any]
    root_seed: int
    draws: int
    replicates: int
    budget_evals: int
    batch: int
    confirm_top: int
    confirm_draws: int
    confirm_replicates: int
    confirm_seed: int
    curve_points: int
    scale: float = 1.0
    uncertainty: Uncertainty | None = None
    shared_overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """The file name for messages."""
        return str(self.path) if self.path else f"<optimisation {self.name}>"


def load_spec(
    path: str | os.PathLike,
    *,
    budget_evals: int | None = None,
    cli_set: dict | None = None,
    root_seed: int | None = None,
) -> OptimizeSpec:
    """Read, check and resolve an optimisation file.

    Args:
        path: the TOML file.
        budget_evals: overrides the file's ``budget_evals`` (``--budget-evals``).
        cli_set: ``--set`` overrides of the shared market, applied after the file's.
        root_seed: overrides the file's ``root_seed`` (``--seed``); the confirmation's seed is
            derived from it unless the file gives one.

    Raises:
        InputError: naming the file, the field, the value and what is allowed; also a spec
            whose constraints no lever setting can meet (exit 2 before any run).
    """
    path = Path(path)
    src = str(path)
    spec: OptimizeFile = read_spec(path, model=OptimizeFile, what="optimisation file")
    if root_seed is not None:
        spec = spec.model_copy(update={"root_seed": int(root_seed)})
    name = spec.name if spec.name is not None else path.stem
    if not name.strip():
        raise InputError(f"name = {name!r}: must be a non-empty string", file=src)
    base = resolve_base(spec, path, cli_set)
    shared, known = with_stated_values(base, spec.uncertainty, src)
    market_raw = shared.raw
    market = validate_shared(shared, src, name=name)
    raw = {**market_raw, "name": name}
    stated_by = {"[market] set": base.file_set, "[uncertainty]": known, "--set": base.cli_set}
    confirm_draws = spec.confirm.draws if spec.confirm.draws is not None else 2 * spec.draws
    uncertainty = resolve_uncertainty(
        spec.uncertainty,
        market,
        stated_by,
        draws=max(spec.draws, confirm_draws),
        enabled=True,
        src=src,
    )
    if max(spec.draws, confirm_draws) > 0 and not uncertainty.drawn:
        raise InputError(
            "no uncertain market parameter is left to draw (the file or --set states every "
            "one); set draws = 0 and [confirm] draws = 0 for the base market only",
            file=src,
        )
    kpi_info = KPIS.get(spec.objective.kpi)
    if kpi_info is None or kpi_info.direction == "neutral":
        rankable = [k for k, v in KPIS.items() if v.direction != "neutral"]
        why = "is neutral (descriptive only)" if kpi_info else "is not a KPI"
        hint = did_you_mean(spec.objective.kpi, rankable) or "."
        raise InputError(
            f"objective.kpi = {spec.objective.kpi!r}: {why}{hint} Allowed: {', '.join(rankable)}",
            file=src,
        )
    levers = tuple(_lever(key, entry, market, src) for key, entry in spec.levers.items())
    simplex = _simplex(spec.budget_shares, market, src, {lv.key for lv in levers})
    if not levers and simplex is None:
        raise InputError(
            "levers: none given; name at least one, e.g. [levers] "
            '"diversion.incentive_yuan" = { low = 0.0, high = 30.0 }',
            file=src,
        )
    space = Space(levers, simplex)
    _check_corners(space, raw, src)
    scale = float(getattr(market.market, "scale", 1.0))
    constraints = _constraints(spec.constraints, market, scale, src)
    for key in spec.constraints.payback_reference:
        check_scenario_key(key, raw, src, table="constraints.payback_reference")
    try:
        validate(apply_overrides(raw, spec.constraints.payback_reference), source=src)
    except InputError as err:
        raise InputError(f"constraints.payback_reference: {inner(err)}", file=src) from None
    _check_feasible(space, market, constraints, raw, src)
    evals = budget_evals if budget_evals is not None else spec.budget_evals
    if not 1 <= evals <= MAX_EVALS:
        raise InputError(f"--budget-evals {evals}: must be between 1 and {MAX_EVALS:,}", file=src)
    confirm_seed = spec.confirm.root_seed
    if confirm_seed is None:
        confirm_seed = derived_seed(spec.root_seed, "confirm")
    elif confirm_seed == spec.root_seed:
        raise InputError(
            f"confirm.root_seed = {confirm_seed}: equals root_seed; the confirmation needs fresh "
            "seeds (leave it out to derive one)",
            file=src,
        )
    return OptimizeSpec(
        name=name,
        description=spec.description,
        path=path,
        base_path=base.path,
        base_raw=raw,
        base=market,
        space=space,
        objective=spec.objective.kpi,
        direction=kpi_info.direction,
        risk=spec.objective.risk,
        alpha=spec.objective.alpha,
        constraints=constraints,
        payback_reference=dict(spec.constraints.payback_reference),
        root_seed=spec.root_seed,
        draws=spec.draws,
        replicates=spec.replicates,
        budget_evals=evals,
        batch=spec.batch,
        confirm_top=spec.confirm.top,
        confirm_draws=confirm_draws,
        confirm_replicates=spec.confirm.replicates or spec.replicates,
        confirm_seed=confirm_seed,
        curve_points=spec.curves.points,
        scale=scale,
        uncertainty=uncertainty,
        shared_overrides=shared.overrides,
    )


def derived_seed(root_seed: int, purpose: str) -> int:
    """A seed for another block of the same study, never equal to ``root_seed``."""
    digest = hashlib.sha256(f"{int(root_seed)}:{purpose}".encode()).digest()
    seed = int.from_bytes(digest[:4], "little") % (MAX_SEED + 1)
    return seed if seed != root_seed else (seed + 1) % (MAX_SEED + 1)


def _lever(key: str, entry: LeverEntry, base: Scenario, src: str) -> Lever:
    where = f"levers.{key}"
    try:
        info = parameter(key)
    except KeyError:
        raise InputError(
            f"{where}: not a scenario parameter (see `run.py params` for the keys)", file=src
        ) from None
    if info.side != "lever":
        levers = [p.key for p in _lever_params(base)]
        raise InputError(
            f"{where}: a {info.side} parameter ({info.description}), not the brand's choice; "
            f'only side = "lever" keys can be optimised{did_you_mean(key, levers) or "."}',
            file=src,
        )
    parts = key.split(".")
    if parts[0] == "platforms" and parts[1] not in base.platforms:
        raise InputError(
            f"{where}: the base has no platform {parts[1]!r} (it has {', '.join(base.platforms)})",
            file=src,
        )
    if key.endswith(".budget_share"):
        raise InputError(f"{where}: search the platforms' split with [budget_shares]", file=src)
    if entry.choices is not None:
        if info.kind not in ("choice", "bool"):
            raise InputError(
                f"{where}: choices = {entry.choices!r}, but {key} is a {info.kind}; give a range "
                "{ low = ..., high = ... } instead",
                file=src,
            )
        allowed = list(info.choices) if info.kind == "choice" else [True, False]
        for c in entry.choices:
            if c not in allowed or isinstance(c, bool) != (info.kind == "bool"):
                raise InputError(
                    f"{where}: choice {c!r} is not allowed; allowed: "
                    f"{', '.join(map(repr, allowed))}",
                    file=src,
                )
        return Choice(key, tuple(entry.choices))
    if info.kind not in ("float", "int"):
        raise InputError(
            f"{where}: {key} is a {info.kind}; give choices = [...] "
            f"({', '.join(map(repr, info.choices or (True, False)))})",
            file=src,
        )
    integer = entry.integer or info.kind == "int"
    if info.kind == "int" and (entry.low != int(entry.low) or entry.high != int(entry.high)):
        raise InputError(f"{where}: {key} is a whole number; give whole-number bounds", file=src)
    for side, value in (("low", entry.low), ("high", entry.high)):
        for name, bound in info.bounds:
            ok = {
                "ge": value >= bound,
                "gt": value > bound,
                "le": value <= bound,
                "lt": value < bound,
            }[name]
            if not ok:
                raise InputError(
                    f"{where}.{side} = {value:g}: outside what {key} allows ({info.allowed()})",
                    file=src,
                )
    return Numeric(key, float(entry.low), float(entry.high), integer=integer, log=entry.log)


def _lever_params(base: Scenario) -> list:
    from model.scenario.params import parameters

    return [p for p in parameters(base.platforms) if p.side == "lever"]


def _simplex(table: SharesTable | None, base: Scenario, src: str, levers: set) -> Simplex | None:
    if table is None:
        return None
    names = table.platforms or list(base.platforms)
    for name in names:
        if name not in base.platforms:
            raise InputError(
                f"budget_shares.platforms: {name!r} is not a platform of the base (it has "
                f"{', '.join(base.platforms)})",
                file=src,
            )
    if len(set(names)) != len(names) or len(names) < 2:
        raise InputError(
            f"budget_shares.platforms = {names!r}: list two or more different platforms",
            file=src,
        )
    if table.min_share * len(names) > 1:
        raise InputError(
            f"budget_shares.min_share = {table.min_share:g}: {len(names)} platforms × "
            f"{table.min_share:g} is more than the whole budget; at most {1 / len(names):.3g}",
            file=src,
        )
    fixed = {k: p.budget_share for k, p in base.platforms.items() if k not in names}
    total = 1.0 - sum(fixed.values())
    if total <= 0:
        raise InputError(
            f"budget_shares.platforms: the other platforms ({', '.join(fixed)}) already take the "
            "whole budget in the base; list them too",
            file=src,
        )
    return Simplex(tuple(names), table.min_share, total)


def _check_corners(space: Space, raw: dict[str, Any], src: str) -> None:
    """Validate the base with every lever at its low and at its high end (and every choice)."""
    for overrides, what in space.corners():
        try:
            validate(apply_overrides(raw, overrides), source=src, overridden=overrides.keys())
        except InputError as err:
            raise InputError(
                f"levers: with {what} the scenario is invalid: {inner(err)}", file=src
            ) from None


def _constraints(
    table: ConstraintsTable, base: Scenario, scale: float, src: str
) -> tuple[Constraint, ...]:
    out = []
    for name, kpi in CONSTRAINT_KPIS.items():
        value = getattr(table, name)
        if value is None:
            continue
        limit = float(value) * scale if name == "max_marketing_spend_yuan" else float(value)
        out.append(Constraint(name, kpi, limit, float(value)))
    if table.max_payback_day is not None:
        days = base.sim.days
        if table.max_payback_day >= days:
            raise InputError(
                f"constraints.max_payback_day = {table.max_payback_day}: the horizon has days 0–"
                f"{days - 1}; a payback can only be seen within it",
                file=src,
            )
        out.append(
            Constraint(
                "max_payback_day",
                "payback",
                float(table.max_payback_day),
                float(table.max_payback_day),
            )
        )
    return tuple(out)


def _check_feasible(
    space: Space, base: Scenario, constraints: tuple[Constraint, ...], raw: dict, src: str
) -> None:
    """Refuse, before any run, constraints that no lever setting can meet."""
    days = base.sim.days
    for c in constraints:
        if (
            c.name == "max_marketing_spend_yuan"
            and base.budget.kind == "constant"
            and not any(s.kind == "ban" for s in base.shocks)
        ):
            low = space.lowest("budget.per_day_yuan", base.budget.per_day_yuan)
            floor = low * days * (c.limit / c.shown)
            if floor > c.limit:
                raise InputError(
                    f"constraints.max_marketing_spend_yuan = {c.shown:,.0f}: infeasible — the ad "
                    f"budget alone costs at least ¥{low * days:,.0f} over {days} days "
                    f"(budget.per_day_yuan ≥ {low:,.0f}); raise the limit or lower the budget "
                    "lever's low bound",
                    file=src,
                )
        if c.name == "max_headcount":
            floor = space.lowest_headcount(base)
            if floor > c.limit:
                raise InputError(
                    f"constraints.max_headcount = {int(c.shown)}: infeasible — every allowed "
                    f"operating mode starts with at least {floor} accounts or guides "
                    "(operation.accounts_initial / guides_initial); raise the limit, lower those, "
                    'or allow operation.mode = "none"',
                    file=src,
                )
