"""Experiment files: one pydantic model for comparisons, sweeps and sensitivity designs.

One file format (paths relative to the file)::

    name = "compare_operating_modes"        # optional; defaults to the file's stem
    description = "..."
    replicates = 3                          # runs per cell, seeds replicate_seed(seed, i)
    root_seed = 20260101
    kpis = ["contribution", "roi"]          # optional: KPIs to summarise (registry names)

    [market]                                # the shared market: base scenario and fixed facts
    base = "baseline.toml"
    set = { "market.size" = 300_000 }       # dotted-key overrides of every run

    # A comparison: a strategy axis, a reference, a ranking KPI, draws of the uncertain market
    reference = "public_only"
    rank_by = "contribution"
    draws = 12                              # draws of the uncertain market (0: none, noise only)
    [uncertainty]                           # narrow, widen or fix a registry range
    "behaviour.rel_rate_private" = { low = 1.0, high = 1.3, source = "fit-orders 2026-10" }
    "outreach.p_response" = { value = 0.012, source = "push test, September 2026" }
    [[strategies]]
    name = "public_only"
    description = "..."
    set = { "operation.mode" = "none" }

    # A sweep or a sensitivity design: parameter axes
    [sweep]
    "outreach.pushes_per_week" = [1, 2, 4]                  # listed values: a full grid
    "diversion.p_join_max" = { low = 0.05, high = 0.3 }    # a range: sampled
    [sample]                                # ranges in a sweep: method = "lhs" | "sobol", n
    [sensitivity]                           # `run.py sensitivity`: methods, sobol_n, ...

A file with ``[[strategies]]`` is a comparison, one with ``[sweep]`` a sweep or sensitivity
design. Sweep files may also name their base the older way, ``scenario = "..."`` with the fixed
overrides in ``[set]``; both spellings mean the same. Keys may be quoted dotted keys or nested
TOML tables. Every table forbids unknown keys and values are never converted (``"3"`` is not a
number), as in scenario files; a mistake is one message naming the file, the dotted field, the
value and what is allowed, with "did you mean" for a typo (:func:`read_spec`).
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from model.errors import InputError
from model.resources import MAX_REPLICATES
from model.scenario.loader import read_toml
from model.scenario.schema import MAX_SEED

#: Most draws of the uncertain market parameters in one comparison.
MAX_DRAWS = 10_000
RANGE_KEYS = frozenset({"low", "high", "log", "integer"})
UNCERTAINTY_KEYS = frozenset({"low", "high", "log", "value", "source"})


class Table(BaseModel):
    """A table of an experiment file: unknown keys and wrong types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Market(Table):
    """``[market]``: the base scenario and the overrides every run shares."""

    base: str = Field(description="the base scenario's path, relative to this file")
    set: dict[str, Any] = Field(default_factory=dict, description="dotted-key overrides")


class StrategyEntry(Table):
    """One ``[[strategies]]`` table: a name, what it does, and its overrides of the market."""

    name: str
    description: str = ""
    set: dict[str, Any] = Field(default_factory=dict)


class SweepEntry(Table):
    """One parameter of ``[sweep]``: listed ``values`` (a list in the file) or a range."""

    values: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> SweepEntry:
        if self.values is not None:
            if not self.values:
                raise ValueError("= []: list at least one value")
            if len({repr(v) for v in self.values}) != len(self.values):
                raise ValueError(f"= {self.values!r}: values repeat")
            return self
        if self.low is None or self.high is None:
            raise ValueError("a range needs both low and high, e.g. { low = 0.05, high = 0.3 }")
        if not self.low < self.high:
            raise ValueError(f"low = {self.low:g} must be below high = {self.high:g}")
        if self.log and self.low <= 0:
            raise ValueError(f"log = true needs low > 0, got {self.low:g}")
        return self

    @property
    def is_range(self) -> bool:
        """Sampled from a range rather than listed."""
        return self.values is None


class UncertaintyEntry(Table):
    """One key of ``[uncertainty]``: a range to draw from, or a fixed value; with its source."""

    low: float | None = None
    high: float | None = None
    log: bool | None = None
    value: Any = None
    source: str = ""

    @model_validator(mode="after")
    def _range_or_value(self) -> UncertaintyEntry:
        has_range = self.low is not None or self.high is not None
        if self.value is not None and (has_range or self.log is not None):
            raise ValueError("give either a value (a known fact) or low/high (a range), not both")
        if self.value is None and not has_range:
            raise ValueError(
                "give low and/or high (a range to draw from) or value (a known fact), e.g. "
                '{ low = 1.0, high = 1.3, source = "fit-orders 2026-10" }'
            )
        return self


class Sample(Table):
    """``[sample]``: how a sweep's ranges are sampled."""

    method: Literal["lhs", "sobol"] = "lhs"
    n: int = Field(16, ge=1, le=1_000_000)


class Sensitivity(Table):
    """``[sensitivity]``: the SALib designs of ``run.py sensitivity``."""

    methods: list[Literal["morris", "sobol"]] = Field(
        default_factory=lambda: ["morris", "sobol"], min_length=1
    )
    sobol_n: int = Field(32, ge=2, le=2**20)
    morris_trajectories: int = Field(10, ge=2, le=10_000)
    morris_levels: int = Field(4, ge=2, le=100)
    resamples: int = Field(200, ge=10, le=100_000)

    @field_validator("sobol_n")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if n & (n - 1):
            raise ValueError(f"= {n}: must be a power of 2 (Saltelli)")
        return n


class ExperimentFile(Table):
    """A comparison, sweep or sensitivity file as written (before any scenario is resolved)."""

    name: str | None = None
    description: str = ""
    market: Market | None = None
    scenario: str | None = Field(None, description="the base scenario (older sweep spelling)")
    set: dict[str, Any] | None = Field(None, description="overrides (older sweep spelling)")
    replicates: int | None = Field(None, ge=1, le=MAX_REPLICATES)
    root_seed: int | None = Field(None, ge=0, le=MAX_SEED)
    kpis: list[str] | None = Field(None, min_length=1)
    # comparisons
    reference: str | None = None
    rank_by: str | None = None
    draws: int | None = Field(None, ge=0, le=MAX_DRAWS)
    uncertainty: dict[str, UncertaintyEntry] = Field(default_factory=dict)
    strategies: list[StrategyEntry] | None = None
    # sweeps and sensitivity designs
    sweep: dict[str, SweepEntry] | None = None
    sample: Sample | None = None
    sensitivity: Sensitivity | None = None
    run: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        """Nested TOML tables become dotted keys; a [sweep] list becomes ``values``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key in ("set", "sweep", "uncertainty"):
            if isinstance(data.get(key), dict):
                data[key] = flatten(data[key], leaf=_LEAVES[key])
        if isinstance(data.get("market"), dict) and isinstance(data["market"].get("set"), dict):
            data["market"] = {**data["market"], "set": flatten(data["market"]["set"])}
        if isinstance(data.get("strategies"), list):
            data["strategies"] = [
                {**s, "set": flatten(s["set"])}
                if isinstance(s, dict) and isinstance(s.get("set"), dict)
                else s
                for s in data["strategies"]
            ]
        if isinstance(data.get("sweep"), dict):
            data["sweep"] = {
                k: {"values": v} if isinstance(v, list) else v for k, v in data["sweep"].items()
            }
        if isinstance(data.get("uncertainty"), dict):
            data["uncertainty"] = {
                k: v if isinstance(v, dict) else {"value": v}
                for k, v in data["uncertainty"].items()
            }
        return data

    @field_validator("draws")
    @classmethod
    def _not_one(cls, n: int | None) -> int | None:
        if n == 1:
            raise ValueError(
                "= 1: one random market says nothing about the others; give 0 (no "
                "draws: the base market only, a noise-only comparison) or 2 or more"
            )
        return n

    @property
    def kind(self) -> str | None:
        """``"comparison"`` (``[[strategies]]``), ``"sweep"`` (``[sweep]``) or None."""
        if self.strategies is not None:
            return "comparison"
        return "sweep" if self.sweep is not None else None


def _is_range(value: Any) -> bool:
    return isinstance(value, dict) and bool(set(value) & {"low", "high"})


def _is_uncertainty_entry(value: Any) -> bool:
    return isinstance(value, dict) and bool(set(value) & UNCERTAINTY_KEYS)


_LEAVES = {"set": None, "sweep": _is_range, "uncertainty": _is_uncertainty_entry}


def flatten(table: dict[str, Any], prefix: str = "", leaf=None) -> dict[str, Any]:
    """``{"a": {"b": 1}, "c.d": 2}`` → ``{"a.b": 1, "c.d": 2}``; lists stay whole values.

    Args:
        table: a TOML table.
        prefix: the dotted key of ``table`` itself.
        leaf: a test for tables that are values (a range ``{low, high}``), not nesting.
    """
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and not (leaf and leaf(value)):
            # An empty table sets nothing (rather than replacing a whole section with {}).
            flat.update(flatten(value, dotted, leaf))
        else:
            flat[dotted] = value
    return flat


def read_spec(path: str | Path) -> ExperimentFile:
    """Read and check the structure of an experiment file (scenarios are resolved later).

    Raises:
        InputError: the file cannot be read, is not TOML, or a table, key or value is wrong.
    """
    src = str(path)
    raw = read_toml(path, what="experiment file")
    if "objectives" in raw:
        raise InputError(
            "objectives: no longer read; which way is better for a KPI comes from the KPI "
            "registry (model/kpis.py), so every command ranks alike: delete the [objectives] "
            "table",
            file=src,
        )
    try:
        return ExperimentFile.model_validate(raw)
    except ValidationError as err:
        raise InputError(_describe(err.errors()[0]), file=src) from None


# --- error messages -----------------------------------------------------------------------------

_EXPECTED = {
    "int_type": "a whole number such as 4 (not quoted, no decimal point)",
    "float_type": "a number such as 0.5 (not quoted)",
    "bool_type": "true or false (not quoted)",
    "string_type": 'text in quotes, e.g. "persona"',
    "finite_number": "a finite number (inf and nan are not allowed)",
    "list_type": "a list in brackets [...]",
    "dict_type": 'a table of dotted keys, e.g. { "operation.mode" = "persona" }',
}
_TABLE_HINTS = {
    "sweep": "give a list of values [a, b, ...] or a range { low = ..., high = ... }",
    "uncertainty": 'give a range { low = ..., high = ..., source = "..." } or a value',
    "strategies": "each [[strategies]] entry is a table with name, description and set",
}


def _path(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _clean(loc: tuple) -> tuple:
    # Pydantic adds a validator's or a union member's name to some locations: drop those.
    return tuple(
        p for p in loc if isinstance(p, int) or not p.startswith(("function-", "list[", "dict["))
    )


def _describe(error: dict[str, Any]) -> str:
    loc = _clean(error["loc"])
    path = _path(loc)
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        allowed = [k for k in _fields_at(loc[:-1]) if k != "values"]
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        return f"{path}: unknown key{hint} Allowed here: {', '.join(allowed)}"
    if kind == "missing":
        return f"{path}: required, but missing"
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        return f"{path} {message}" if message.startswith("= ") else f"{path}: {message}"
    if kind in ("model_type", "model_attributes_type") and loc and loc[0] in _TABLE_HINTS:
        return f"{path} = {_short(value)}: {_TABLE_HINTS[loc[0]]}"
    if kind in ("model_type", "model_attributes_type"):
        return f"{path} = {_short(value)}: must be a table, e.g. [{path}] with keys inside"
    expected = _EXPECTED.get(kind)
    hint = f"; write {expected}" if expected else ""
    return f"{path} = {_short(value)}: {error['msg']}{hint}"


def _fields_at(loc: tuple) -> list[str]:
    """The keys allowed in the table at ``loc`` (for "Allowed here")."""
    node: Any = ExperimentFile
    for part in loc:
        if isinstance(node, tuple):  # inside a list or a table of entries: an index or a key
            node = node[1]
            continue
        if not (isinstance(node, type) and issubclass(node, BaseModel)):
            return []
        field = node.model_fields.get(str(part))
        if field is None:
            return []
        node = _unwrap(field.annotation)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → X; ``list[X]`` and ``dict[str, X]`` → ("items", X)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else annotation
    if typing.get_origin(annotation) in (list, dict):
        return ("items", typing.get_args(annotation)[-1])
    return annotation


def _short(value: Any) -> str:
    # As the value would be written in TOML where that differs from Python.
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    """``; did you mean 'x'?`` for the closest option, or an empty string."""
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
