"""Comparison files: one shared market, several strategies, a reference, draws of the unknown.

The file format is the experiment engine's (:mod:`model.experiment.spec`); a comparison is the
file with ``[[strategies]]``::

    name = "compare_operating_modes"        # optional; defaults to the file's stem
    description = "..."
    reference = "public_only"               # the strategy every other one is judged against
    rank_by = "contribution"                # optional: the KPI to rank by (a registry KPI)
    kpis = ["contribution", "roi", ...]     # optional: KPIs to summarise (default: headline)
    replicates = 3                          # per draw; --replicates overrides
    draws = 12                              # draws of the uncertain market; --draws overrides
    root_seed = 20260101                    # default; --seed overrides (else the base's seed)

    [market]                                # the shared market: not a strategy's choice
    base = "baseline.toml"                  # the base scenario
    set = { "market.size" = 300_000 }       # optional overrides by dotted key

    [uncertainty]                           # optional: narrow, widen or fix registry ranges
    "outreach.p_response" = { low = 0.01, high = 0.03, source = "push test 2026-09" }

    [[strategies]]
    name = "public_only"
    description = "No private domain: platforms only."
    set = { "operation.mode" = "none" }     # overrides of the market, by dotted key

Every strategy's scenario (named after the strategy) is resolved and validated when the file is
read, before any run starts, so a typo in the fourth strategy never costs three runs; which
market parameters are drawn is decided here too (:mod:`model.experiment.uncertainty`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from model.errors import InputError
from model.experiment.base import (
    inner,
    resolve_base,
    validate_shared,
    with_stated_values,
    with_values,
)
from model.experiment.spec import MAX_DRAWS, ExperimentFile, did_you_mean, read_spec
from model.experiment.uncertainty import Uncertainty, resolve_uncertainty
from model.kpis import HEADLINE, KPI
from model.kpis import KPIS as REGISTRY
from model.resources import MAX_REPLICATES
from model.scenario import apply_overrides, validate
from model.scenario.schema import MAX_SEED, Scenario

#: The KPIs a comparison summarises by default: the registry's headline KPIs.
KPIS = HEADLINE
#: KPIs of a comparison rather than of a run: computed from two runs paired on one cell.
PAYBACK = KPI(
    "payback_day",
    "lower",
    "days",
    "Payback day vs the reference",
    "first day from which the strategy's cumulative contribution stays ahead of the "
    "reference's on the same cell (model.metrics.paired_payback_day; n/a: never within the "
    "horizon)",
)
PAIRED_KPIS: dict[str, KPI] = {PAYBACK.name: PAYBACK}
#: Which way is better, per KPI, from the registry ("neutral": summarised, never ranked), and
#: for the paired KPIs.
DIRECTIONS: dict[str, str] = {name: k.direction for name, k in {**REGISTRY, **PAIRED_KPIS}.items()}
RANKABLE = tuple(k for k, way in DIRECTIONS.items() if way != "neutral")
#: The ranking KPI when the file names none: value created once the registry has it.
DEFAULT_RANK_BY = "value_created" if "value_created" in DIRECTIONS else "contribution"
#: Replicates per draw, and draws, when the file and the command line say nothing. Chosen so
#: the main job (4 strategies, 1M people, a year) fits its time on a 2-core laptop; see README.
DEFAULT_REPLICATES = 3
DEFAULT_DRAWS = 10


@dataclass(frozen=True)
class Strategy:
    """One strategy of a comparison: its overrides and the scenario they resolve to."""

    name: str
    description: str
    overrides: dict[str, Any]
    scenario: Scenario


@dataclass(frozen=True)
class ComparisonSpec:
    """A validated comparison. Build it with :func:`load_comparison`.

    Attributes:
        replicates: replicates per draw (per cell's market).
        uncertainty: the drawn and the stated market parameters, and the number of draws.
        market_overrides: every shared override (the file's ``[market] set``, its
            ``[uncertainty]`` values, ``--set``), applied before each strategy's own.
    """

    path: Path
    name: str
    description: str
    base_path: Path
    market_overrides: dict[str, Any]
    strategies: tuple[Strategy, ...]
    reference: str
    replicates: int
    root_seed: int
    rank_by: str
    kpis: tuple[str, ...]
    uncertainty: Uncertainty

    @property
    def names(self) -> list[str]:
        """Strategy names in file order."""
        return [s.name for s in self.strategies]

    @property
    def draws(self) -> int:
        """K, the number of draws of the uncertain market (1: noise only)."""
        return self.uncertainty.draws

    def strategy(self, name: str) -> Strategy:
        """The strategy called ``name``."""
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)

    @cached_property
    def draw_table(self) -> pd.DataFrame:
        """One row per draw: ``draw``, ``seed`` and the drawn values (``draws.csv``)."""
        return self.uncertainty.table(self.root_seed)


def load_comparison(
    path: str | Path,
    *,
    replicates: int | None = None,
    root_seed: int | None = None,
    draws: int | None = None,
    uncertainty: bool = True,
    market_overrides: dict[str, Any] | None = None,
) -> ComparisonSpec:
    """Read and validate a comparison file.

    Args:
        path: the comparison TOML file.
        replicates: overrides the file's ``replicates`` (per draw).
        root_seed: overrides the file's ``root_seed``.
        draws: overrides the file's ``draws``.
        uncertainty: False: no draws, the base market only (a noise-only comparison, with
            ``draws × replicates`` replicates unless ``replicates`` is given: the same runs).
            A file's ``draws = 0`` means the same.
        market_overrides: extra dotted-key overrides of the shared market (``--set``), applied
            after the file's and before each strategy's own; a key set here is not drawn.

    Returns:
        The comparison with every strategy's scenario resolved and validated.

    Raises:
        InputError: naming the file, the field, the bad value and what is allowed.
    """
    path = Path(path)
    src = str(path)
    spec = read_spec(path)
    _check_kind(spec, src)
    base = resolve_base(spec, path, market_overrides)
    name = spec.name if spec.name is not None else path.stem
    if not name.strip():
        raise InputError(f"name = {name!r}: must be a non-empty string", file=src)

    shared, known = with_stated_values(base, spec.uncertainty, src)
    market_raw = shared.raw
    market = validate_shared(shared, src, name=name)

    strategies = tuple(
        _strategy(i, entry, market_raw, src) for i, entry in enumerate(spec.strategies or ())
    )
    names = [s.name for s in strategies]
    for i, name_i in enumerate(names):
        if name_i in names[:i]:
            raise InputError(f"strategies[{i}].name = {name_i!r}: used by two strategies", file=src)
    reference = _reference(spec.reference, names, src)

    stated_by = {
        "[market] set": base.file_set,
        "[uncertainty]": known,
        "--set": base.cli_set,
        **{f"strategy {s.name!r}": s.overrides for s in strategies},
    }
    file_draws = DEFAULT_DRAWS if spec.draws is None else spec.draws
    n_draws = _count(draws, file_draws, DEFAULT_DRAWS, "--draws", "draws", 0, MAX_DRAWS, src)
    if n_draws == 1:
        raise InputError("--draws = 1: give 2 or more (or --no-uncertainty)", file=src)
    uncertainty = uncertainty and n_draws > 0
    drawn = resolve_uncertainty(
        spec.uncertainty, market, stated_by, draws=n_draws, enabled=uncertainty, src=src
    )
    if uncertainty and not drawn.drawn:
        raise InputError(
            "no uncertain market parameter is left to draw (the file or --set states every "
            "one); run with --no-uncertainty for the noise-only comparison",
            file=src,
        )
    # Without draws, the same number of runs: draws × replicates of the base market (a file
    # that asks for no draws means its replicates as written).
    per_draw = spec.replicates or DEFAULT_REPLICATES
    default = per_draw if uncertainty or n_draws == 0 else per_draw * n_draws
    n_rep = _count(replicates, None, default, "--replicates", "replicates", 1, MAX_REPLICATES, src)
    seed = (
        root_seed
        if root_seed is not None
        else (spec.root_seed if spec.root_seed is not None else market.sim.seed)
    )
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        where = "--seed" if root_seed is not None else "root_seed"
        raise InputError(
            f"{where} = {seed!r}: must be a whole number from 0 to {MAX_SEED}", file=src
        )
    rank_by, kpis = _kpis(spec, src)
    return ComparisonSpec(
        path=path,
        name=name,
        description=spec.description,
        base_path=base.path,
        market_overrides={**base.file_set, **known, **base.cli_set},
        strategies=strategies,
        reference=reference,
        replicates=n_rep,
        root_seed=seed,
        rank_by=rank_by,
        kpis=kpis,
        uncertainty=drawn,
    )


def _check_kind(spec: ExperimentFile, src: str) -> None:
    if spec.kind == "sweep":
        raise InputError(
            "is a sweep spec ([sweep]), not a comparison: run it with `python run.py sweep`",
            file=src,
        )
    if not spec.strategies:
        raise InputError(
            f"strategies = {spec.strategies!r}: required, a list of [[strategies]] tables, "
            "each with name, description and set",
            file=src,
        )
    for key in ("sample", "sensitivity", "run", "scenario", "set"):
        if getattr(spec, key) is not None:
            raise InputError(
                f"{key}: belongs to sweep specs; a comparison names its base as [market] base "
                "and its shared overrides as [market] set",
                file=src,
            )


def _strategy(i: int, entry, market_raw: dict[str, Any], src: str) -> Strategy:
    where = f"strategies[{i}]"
    name = entry.name
    if not name.strip() or any(c in name for c in "/\\\x00") or name != name.strip():
        raise InputError(
            f"{where}.name = {name!r}: a non-empty name without slashes or surrounding spaces "
            "(it names files)",
            file=src,
        )
    try:
        raw = apply_overrides(market_raw, entry.set)
        raw["name"] = name
        raw["description"] = entry.description
        scenario = validate(raw, source=src, overridden=entry.set.keys())
    except InputError as err:
        raise InputError(
            f"strategy {name!r} ({where}.set): {with_values(inner(err), entry.set)}", file=src
        ) from None
    return Strategy(name, entry.description, dict(entry.set), scenario)


def _reference(reference: str | None, names: list[str], src: str) -> str:
    if reference is None:
        raise InputError(
            "reference: required, but missing; name the strategy the others are judged "
            f"against, one of {names}",
            file=src,
        )
    if reference not in names:
        raise InputError(
            f"reference = {reference!r}: not a strategy in this file"
            f"{did_you_mean(reference, names)}; one of {names}",
            file=src,
        )
    return reference


def _count(
    cli: int | None,
    file: int | None,
    default: int,
    flag: str,
    key: str,
    low: int,
    high: int,
    src: str,
) -> int:
    value = cli if cli is not None else (file if file is not None else default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        where = flag if cli is not None else key
        raise InputError(
            f"{where} = {value!r}: must be a whole number from {low} to {high:,} (a spread "
            "narrows as 1/√n: 10,000 already pins it to 1%)",
            file=src,
        )
    return value


def _kpis(spec: ExperimentFile, src: str) -> tuple[str, tuple[str, ...]]:
    kpis = list(spec.kpis) if spec.kpis is not None else list(KPIS)
    for i, kpi in enumerate(kpis):
        if kpi not in DIRECTIONS:
            raise InputError(
                f"kpis[{i}] = {kpi!r}: not a KPI{did_you_mean(kpi, list(DIRECTIONS))}; "
                f"allowed: {', '.join(DIRECTIONS)}",
                file=src,
            )
    rank_by = spec.rank_by if spec.rank_by is not None else DEFAULT_RANK_BY
    if rank_by not in RANKABLE:
        why = (
            "is descriptive (neither more nor less is better): it is summarised, never ranked"
            if DIRECTIONS.get(rank_by) == "neutral"
            else f"not a KPI{did_you_mean(rank_by, list(RANKABLE))}"
        )
        raise InputError(
            f"rank_by = {rank_by!r}: {why}; rank by one of {', '.join(RANKABLE)}", file=src
        )
    return rank_by, tuple(dict.fromkeys([rank_by, *kpis, *PAIRED_KPIS]))
