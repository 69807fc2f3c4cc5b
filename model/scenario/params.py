"""The parameter registry: every scenario parameter with its unit, side, grade, source and range.

The facts live on the schema's fields (:func:`model.scenario.schema.param`); this module reads
them into flat, dotted-key records that the rest of the package uses: ``run.py params`` prints
them, uncertainty analyses sample the ``range`` of the uncertain ``market`` parameters, and
:func:`baseline_toml` renders the shipped ``scenarios/baseline.toml`` so that file can never
disagree with the schema (a test compares them)::

    python -m model.scenario.params --write scenarios/baseline.toml

Platform parameters are per platform: their keys are ``platforms.<name>.<field>`` for the
platforms a scenario defines (``platforms.*.<field>`` when no scenario is given).
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from model.scenario.schema import Platform, Scenario

# Tables of a scenario in the order they are written. Not parameters: ``name`` and
# ``description`` (labels) and ``shocks`` (a list of events, each validated by the schema).
TABLES = (
    "sim",
    "market",
    "behaviour",
    "platforms",
    "acquisition",
    "budget",
    "outreach",
    "diversion",
    "referral",
    "operation",
    "calendar",
)


@dataclass(frozen=True)
class ParamInfo:
    """One scenario parameter.

    Attributes:
        key: dotted key as used by ``--set`` and spec files (``outreach.p_response``).
        default: the baseline value.
        description: what it means.
        unit: its unit ("" when dimensionless).
        side: "market" (uncertain facts), "lever" (the brand's choice) or "run".
        grade: A–D strength of the default's source (None for switches and labels).
        source: where the default comes from.
        range: plausible (low, high) for uncertain parameters, else None.
        log: ``range`` is sampled on a log scale.
        kind: "float", "int", "bool", "choice" or "list".
        choices: the allowed words of a choice.
        bounds: pydantic's allowed bounds (``ge``, ``gt``, ``le``, ``lt``) — wider than
            ``range``.
    """

    key: str
    default: Any
    description: str
    unit: str
    side: str
    grade: str | None
    source: str
    range: tuple[float, float] | None
    log: bool
    kind: str
    choices: tuple[str, ...] = ()
    bounds: tuple[tuple[str, float], ...] = ()

    @property
    def uncertain(self) -> bool:
        """A market parameter with a plausible range: what uncertainty analyses sample."""
        return self.side == "market" and self.range is not None

    def allowed(self) -> str:
        """The allowed values in words (``≥ 0, ≤ 1``; a choice's words)."""
        if self.choices:
            return " | ".join(self.choices)
        signs = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
        return ", ".join(f"{signs[k]} {_number(v)}" for k, v in self.bounds) or "any"


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _kind(annotation: Any) -> tuple[str, tuple[str, ...]]:
    if typing.get_origin(annotation) is typing.Literal:
        return "choice", tuple(str(a) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # `int | None`
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is list:
        return "list", ()
    return {bool: "bool", int: "int", float: "float", str: "str"}.get(annotation, "other"), ()


def _bounds(field: FieldInfo) -> tuple[tuple[str, float], ...]:
    out = []
    for meta in field.metadata:
        for name in ("ge", "gt", "le", "lt"):
            value = getattr(meta, name, None)
            if value is not None:
                out.append((name, value))
    return tuple(out)


def _info(key: str, field: FieldInfo) -> ParamInfo:
    extra = field.json_schema_extra or {}
    if not isinstance(extra, dict) or "side" not in extra:
        raise TypeError(f"schema field {key} was not declared with param(): no provenance")
    kind, choices = _kind(field.annotation)
    default = field.get_default(call_default_factory=True)
    return ParamInfo(
        key=key,
        default=default,
        description=field.description or "",
        unit=str(extra["unit"]),
        side=str(extra["side"]),
        grade=extra["grade"],
        source=str(extra["source"]),
        range=tuple(extra["range"]) if extra["range"] is not None else None,
        log=bool(extra["log"]),
        kind=kind,
        choices=choices,
        bounds=_bounds(field),
    )


def _table_params(prefix: str, model: type[BaseModel]) -> list[ParamInfo]:
    """The parameters of a table, and of the tables inside it (``calendar.festivals.*``)."""
    out: list[ParamInfo] = []
    for name, field in model.model_fields.items():
        if _is_table(field.annotation):
            out += _table_params(f"{prefix}.{name}", field.annotation)
        else:
            out.append(_info(f"{prefix}.{name}", field))
    return out


def _is_table(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def parameters(platform_names: typing.Iterable[str] = ("*",)) -> list[ParamInfo]:
    """Every scenario parameter, in file order (platform fields once per platform name)."""
    out: list[ParamInfo] = []
    for table in TABLES:
        if table == "platforms":
            for name in platform_names:
                out += _table_params(f"platforms.{name}", Platform)
            continue
        model = Scenario.model_fields[table].annotation
        out += _table_params(table, model)
    return out


def parameter(key: str) -> ParamInfo:
    """The record of one dotted key (any platform name is accepted for platform fields)."""
    parts = key.split(".")
    model: Any = None
    if len(parts) == 3 and parts[0] == "platforms":
        model, parts = Platform, parts[2:]
    elif len(parts) >= 2 and parts[0] in TABLES and parts[0] != "platforms":
        model, parts = Scenario.model_fields[parts[0]].annotation, parts[1:]
    while model is not None and parts:
        field = model.model_fields.get(parts[0])
        if field is None:
            break
        if len(parts) == 1 and not _is_table(field.annotation):
            return _info(key, field)
        model, parts = (field.annotation, parts[1:]) if _is_table(field.annotation) else (None, [])
    raise KeyError(f"{key!r} is not a scenario parameter")


def uncertain(scenario: Scenario | None = None) -> list[ParamInfo]:
    """The uncertain market parameters (side market, with a range) of a scenario's platforms."""
    names = list(scenario.platforms) if scenario is not None else ["*"]
    return [p for p in parameters(names) if p.uncertain]


def value_of(scenario: Scenario, key: str) -> Any:
    """The value of a dotted key in a scenario (``platforms.tmall.cac_floor_yuan`` included)."""
    node: Any = scenario
    for part in key.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


# --- the generated baseline -------------------------------------------------------------------

_HEADER = """\
# Baseline scenario: a consumer brand selling on one marketplace that starts a private domain.
#
# GENERATED from the parameter definitions in model/scenario/schema.py — edit those, then run
#   python -m model.scenario.params --write scenarios/baseline.toml
# (a test fails while the two differ). Each line: value, meaning [unit], source (grade) and,
# for uncertain values, the plausible range that uncertainty analyses sample.
# Grades: A = filing, paper or reproduced from data; B = platform rule or large-vendor
# benchmark; C = company claim via press; D = folklore — sweep it before relying on it.
# Side: market = facts about customers, platforms and prices (not the brand's choice);
# lever = the brand's choice.
"""

_SHOCK_EXAMPLE = """\
# Shocks: none in the baseline. Example (see scenarios/stress_platform_ban.toml):
# [[shocks]]
# kind = "ban"            # ban | cac_jump | algorithm_change
# platform = "tmall"      # or "*" for every platform
# day = 120               # or p_per_day = 0.002 for a random start
# duration_days = 30
"""

BASELINE_NAME = "baseline"
BASELINE_DESCRIPTION = (
    "FMCG-like brand on one marketplace, central-persona private domain, defaults with sources"
)


def _comment(p: ParamInfo) -> str:
    text = p.description + (f" [{p.unit}]" if p.unit else "")
    if p.side == "lever":
        text += "; lever"
    if p.grade:
        text += f"; {p.grade}: {p.source}" if p.source else f"; {p.grade}"
    elif p.source:
        text += f"; {p.source}"
    if p.range is not None:
        low, high = p.range
        text += f"; range {_number(low)}–{_number(high)}" + (" log" if p.log else "")
    return text


def _assignment(field: str, value: Any) -> str:
    """``field = value`` in TOML, a list of numbers on one line (tomli_w would break it up)."""
    if isinstance(value, list) and all(isinstance(v, int | float) for v in value):
        return f"{field} = [{', '.join(tomli_w.dumps({'v': v})[4:].strip() for v in value)}]"
    return tomli_w.dumps({field: value}).strip()


def baseline_toml() -> str:
    """The text of ``scenarios/baseline.toml``: every default with its provenance."""
    defaults = Scenario()
    lines = [_HEADER, tomli_w.dumps({"name": BASELINE_NAME, "description": BASELINE_DESCRIPTION})]
    table = None
    for p in parameters(defaults.platforms):
        value = value_of(defaults, p.key)
        if value is None or (p.kind == "list" and not value):
            continue  # optional fields and empty lists are left out, as TOML has no null
        header, field = p.key.rsplit(".", 1)
        if header != table:
            lines += ["", f"[{header}]"] if table else [f"[{header}]"]
            table = header
        assignment = _assignment(field, value)
        lines.append(f"{assignment:<34} # {_comment(p)}")
    lines += ["", _SHOCK_EXAMPLE]
    return "\n".join(lines)


# --- the table printed by `run.py params` ------------------------------------------------------


def rows(scenario: Scenario | None = None) -> list[dict[str, Any]]:
    """One row per parameter: key, value (the scenario's, else the default), provenance."""
    scenario = scenario if scenario is not None else Scenario()
    out = []
    for p in parameters(scenario.platforms):
        value = value_of(scenario, p.key)
        default = p.default
        if p.key.startswith("platforms."):
            default = Platform.model_fields[p.key.rsplit(".", 1)[1]].get_default(
                call_default_factory=True
            )
        out.append(
            {
                "key": p.key,
                "value": value,
                "changed": value != default,
                "unit": p.unit,
                "side": p.side,
                "grade": p.grade or "",
                "range": p.range,
                "log": p.log,
                "allowed": p.allowed(),
                "source": p.source,
                "description": p.description,
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m model.scenario.params --write PATH``: regenerate the baseline file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", type=Path, metavar="PATH", help="write the generated baseline scenario to PATH"
    )
    args = parser.parse_args(argv)
    text = baseline_toml()
    if args.write is None:
        sys.stdout.write(text)
    else:
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
