"""Comparison files: one shared market, several strategies, one of them the reference.

A comparison file (paths relative to the file)::

    name = "compare_operating_modes"        # optional; defaults to the file's stem
    description = "..."
    reference = "public_only"               # the strategy every other one is judged against
    replicates = 40                         # default; --replicates overrides
    root_seed = 20240601                    # default; --seed overrides (else the base's sim.seed)
    rank_by = "contribution"                # optional KPI to rank by (default contribution)
    kpis = ["contribution", "roi", ...]     # optional: KPIs to summarise (default: KPIS)

    [market]                                # the shared market: not a strategy's choice
    base = "baseline.toml"                  # the base scenario
    set = { "market.size" = 300_000 }       # optional overrides by dotted key

    [[strategies]]
    name = "public_only"
    description = "No private domain: platforms only."
    set = { "operation.mode" = "none" }     # overrides of the market, by dotted key

Overrides may be written as quoted dotted keys (``"operation.mode" = "none"``) or as TOML
nested tables (``operation.mode = "none"``, which TOML reads as ``{operation = {mode = ...}}``);
both are flattened to dotted keys. Lists (``shocks = [...]``) replace the whole list.

Every strategy's scenario is resolved and validated against the scenario schema when the file
is read, before any run starts, so a typo in the fourth strategy never costs three runs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.errors import InputError
from model.kpis import HEADLINE
from model.metrics import KPI_DIRECTIONS
from model.resources import MAX_REPLICATES
from model.scenario import apply_overrides, resolve_raw, validate
from model.scenario.loader import read_toml
from model.scenario.schema import MAX_SEED, Scenario

# The KPIs a comparison summarises by default, and which way is better for each: both from the
# KPI registry (model/kpis.py).
KPIS = HEADLINE
DIRECTIONS = KPI_DIRECTIONS
RANKABLE = tuple(k for k, way in DIRECTIONS.items() if way != "neutral")

TOP_KEYS = (
    "name",
    "description",
    "reference",
    "replicates",
    "root_seed",
    "rank_by",
    "kpis",
    "market",
    "strategies",
)
MARKET_KEYS = ("base", "set")
STRATEGY_KEYS = ("name", "description", "set")
DEFAULT_RANK_BY = "value_created"
DEFAULT_REPLICATES = 20


@dataclass(frozen=True)
class Strategy:
    """One strategy of a comparison: its overrides and the scenario they resolve to."""

    name: str
    description: str
    overrides: dict[str, Any]
    scenario: Scenario


@dataclass(frozen=True)
class ComparisonSpec:
    """A validated comparison. Build it with :func:`load_comparison`."""

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
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> list[str]:
        """Strategy names in file order."""
        return [s.name for s in self.strategies]

    def strategy(self, name: str) -> Strategy:
        """The strategy called ``name``."""
        for s in self.strategies:
            if s.name == name:
                return s
        raise KeyError(name)


def load_comparison(
    path: str | Path,
    *,
    replicates: int | None = None,
    root_seed: int | None = None,
    market_overrides: dict[str, Any] | None = None,
) -> ComparisonSpec:
    """Read and validate a comparison file.

    Args:
        path: the comparison TOML file.
        replicates: overrides the file's ``replicates``.
        root_seed: overrides the file's ``root_seed``.
        market_overrides: extra dotted-key overrides of the shared market (``--set``), applied
            after the file's ``[market] set`` and before each strategy's own overrides.

    Returns:
        The comparison with every strategy's scenario resolved and validated.

    Raises:
        InputError: naming the file, the field, the bad value and what is allowed.
    """
    path = Path(path)
    src = str(path)
    raw = read_toml(path)
    _check_keys(raw, TOP_KEYS, "", src)

    # --- the shared market ------------------------------------------------------------------
    market = raw.get("market")
    if not isinstance(market, dict):
        raise InputError(
            f"market = {market!r}: required, a table naming the base scenario, e.g.\n"
            '  [market]\n  base = "baseline.toml"',
            file=src,
        )
    _check_keys(market, MARKET_KEYS, "market", src)
    base_ref = market.get("base")
    if not isinstance(base_ref, str) or not base_ref.strip() or "\x00" in base_ref:
        raise InputError(
            f"market.base = {base_ref!r}: required, the base scenario's path relative to this "
            'file (e.g. base = "baseline.toml")',
            file=src,
        )
    base_path = (path.parent / base_ref).resolve()
    if not base_path.is_file():
        raise InputError(f"market.base = {base_ref!r}: no such file {base_path}", file=src)
    if base_path == path.resolve():
        raise InputError(
            f"market.base = {base_ref!r}: points at this comparison file itself; it must name "
            'a scenario file, e.g. base = "baseline.toml"',
            file=src,
        )
    file_market = _overrides(market.get("set", {}), "market.set", src)
    market_set = {**file_market, **(market_overrides or {})}
    base_raw = resolve_raw(base_path)
    market_table = base_raw.get("market")
    if "strategies" in base_raw or isinstance(market_table, dict) and "base" in market_table:
        raise InputError(
            f"market.base = {base_ref!r}: is a comparison file, not a scenario; it must name a "
            'scenario file, e.g. base = "baseline.toml"',
            file=src,
        )

    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise InputError(f"name = {name!r}: must be a non-empty string", file=src)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise InputError(f"description = {description!r}: must be a string", file=src)

    try:
        market_raw = apply_overrides(base_raw, market_set)
    except InputError as err:
        raise InputError(f"in the shared market ([market] or --set): {err}", file=src) from None
    market_raw["name"] = name
    try:
        market_scenario = validate(market_raw, source=src, overridden=market_set.keys())
    except InputError as err:
        message = _with_values(_inner(err), market_set)
        # Name the place the user must edit: the command line or the file's [market] table.
        from_cli = any(
            message.startswith(k) or f" {k}" in message for k in (market_overrides or {})
        )
        where = "in --set" if from_cli else "in the shared market ([market])"
        raise InputError(f"{where}: {message}", file=src) from None

    # --- strategies -------------------------------------------------------------------------
    entries = raw.get("strategies")
    if not isinstance(entries, list) or not entries:
        raise InputError(
            f"strategies = {_short(entries)}: required, a list of [[strategies]] tables, each "
            "with name, description and set",
            file=src,
        )
    strategies: list[Strategy] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"strategies[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"{where} = {_short(entry)}: must be a table", file=src)
        _check_keys(entry, STRATEGY_KEYS, where, src)
        sname = entry.get("name")
        if not isinstance(sname, str) or not sname.strip():
            raise InputError(f"{where}.name = {sname!r}: required, a non-empty string", file=src)
        if any(c in sname for c in "/\\") or sname != sname.strip():
            raise InputError(
                f"{where}.name = {sname!r}: no slashes or surrounding spaces (it names files)",
                file=src,
            )
        if sname in seen:
            raise InputError(f"{where}.name = {sname!r}: used by two strategies", file=src)
        seen.add(sname)
        sdesc = entry.get("description", "")
        if not isinstance(sdesc, str):
            raise InputError(f"{where}.description = {sdesc!r}: must be a string", file=src)
        overrides = _overrides(entry.get("set", {}), f"{where}.set", src)
        try:
            sraw = apply_overrides(market_raw, overrides)
            sraw["name"] = name
            sraw["description"] = sdesc
            scenario = validate(sraw, source=src, overridden=overrides.keys())
        except InputError as err:
            raise InputError(
                f"strategy {sname!r} ({where}.set): {_with_values(_inner(err), overrides)}",
                file=src,
            ) from None
        strategies.append(Strategy(sname, sdesc, overrides, scenario))

    names = [s.name for s in strategies]
    reference = raw.get("reference")
    if reference is None:
        raise InputError(
            f"reference: required, but missing; name the strategy the others are judged "
            f"against, one of {names}",
            file=src,
        )
    if reference not in names:
        hint = _did_you_mean(str(reference), names)
        raise InputError(
            f"reference = {reference!r}: not a strategy in this file{hint}; one of {names}",
            file=src,
        )

    # --- run settings -----------------------------------------------------------------------
    n_rep = replicates if replicates is not None else raw.get("replicates", DEFAULT_REPLICATES)
    if not isinstance(n_rep, int) or isinstance(n_rep, bool) or not 1 <= n_rep <= MAX_REPLICATES:
        where = "--replicates" if replicates is not None else "replicates"
        raise InputError(
            f"{where} = {n_rep!r}: must be a whole number from 1 to {MAX_REPLICATES:,} (the "
            "spread of a KPI narrows as 1/√replicates: 10,000 already pins it to 1%)",
            file=src,
        )
    seed = root_seed if root_seed is not None else raw.get("root_seed", market_scenario.sim.seed)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        where = "--seed" if root_seed is not None else "root_seed"
        raise InputError(
            f"{where} = {seed!r}: must be a whole number from 0 to {MAX_SEED}", file=src
        )

    kpis = raw.get("kpis", list(KPIS))
    if not isinstance(kpis, list) or not kpis or not all(isinstance(k, str) for k in kpis):
        raise InputError(f"kpis = {_short(kpis)}: must be a non-empty list of KPI names", file=src)
    for i, kpi in enumerate(kpis):
        if kpi not in DIRECTIONS:
            hint = _did_you_mean(kpi, list(DIRECTIONS))
            raise InputError(
                f"kpis[{i}] = {kpi!r}: not a comparable KPI{hint}; allowed: "
                f"{', '.join(DIRECTIONS)}",
                file=src,
            )
    rank_by = raw.get("rank_by", DEFAULT_RANK_BY)
    if rank_by not in RANKABLE:
        hint = _did_you_mean(str(rank_by), list(RANKABLE))
        raise InputError(
            f"rank_by = {rank_by!r}: not a KPI with a better direction{hint}; allowed: "
            f"{', '.join(RANKABLE)}",
            file=src,
        )
    if rank_by not in kpis:
        kpis = [rank_by, *kpis]

    return ComparisonSpec(
        path=path,
        name=name,
        description=description,
        base_path=base_path,
        market_overrides=market_set,
        strategies=tuple(strategies),
        reference=reference,
        replicates=n_rep,
        root_seed=seed,
        rank_by=rank_by,
        kpis=tuple(dict.fromkeys(kpis)),
        raw=raw,
    )


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c.d": 2}`` → ``{"a.b": 1, "c.d": 2}``; lists stay whole values."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            # An empty table sets nothing (rather than replacing a whole section with {}).
            flat.update(flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


def _overrides(table: Any, where: str, src: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise InputError(
            f"{where} = {_short(table)}: must be a table of dotted keys, e.g. "
            '{ "operation.mode" = "persona" }',
            file=src,
        )
    return flatten(table)


def _check_keys(table: dict[str, Any], allowed: tuple[str, ...], where: str, src: str) -> None:
    for key in table:
        if key not in allowed:
            field_name = f"{where}.{key}" if where else key
            hint = _did_you_mean(key, list(allowed))
            raise InputError(
                f"{field_name}: unknown key{hint or '.'} Allowed here: {', '.join(allowed)}",
                file=src,
            )


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _inner(err: InputError) -> str:
    """An InputError's message without its ``file:`` prefix (we add our own context)."""
    text = str(err)
    prefix = f"{err.file}: " if err.file else ""
    return text.removeprefix(prefix)


def _with_values(message: str, overrides: dict[str, Any]) -> str:
    """Name the overridden value in schema messages that give only the key (unknown keys)."""
    # The loader tags override errors "[from an override, not the file]"; here the override
    # *is* in the comparison file, and the message already says which table it came from.
    message = message.replace(" [from an override, not the file]", "")
    for key, value in overrides.items():
        message = message.replace(f"{key}: unknown key", f"{key} = {_short(value)}: unknown key")
    return message


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
