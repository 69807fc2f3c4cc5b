"""The base scenario of an experiment file and the overrides every run shares, resolved.

Shared by comparisons, sweeps and sensitivity designs: the base is a scenario file (never a
comparison or sweep file, never the experiment file itself), read with its own ``base`` chain;
the file's shared overrides (``[market] set``, or ``[set]`` in the older sweep spelling) and the
command line's ``--set`` are applied in that order. Messages name the experiment file, the field
and the value, like the scenario loader's.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from model.errors import InputError
from model.experiment.spec import ExperimentFile, did_you_mean
from model.scenario import apply_overrides, resolve_raw, validate
from model.scenario.schema import Scenario


@dataclass(frozen=True)
class Base:
    """The shared starting point of every run of an experiment.

    Attributes:
        path: the base scenario file.
        raw: the resolved base with the shared overrides applied (a raw scenario dict).
        file_set: the file's shared overrides by dotted key.
        cli_set: the command line's ``--set`` overrides by dotted key.
        where: how the file names its base table (``[market]`` or ``[set]``), for messages.
    """

    path: Path
    raw: dict[str, Any]
    file_set: dict[str, Any] = field(default_factory=dict)
    cli_set: dict[str, Any] = field(default_factory=dict)
    where: str = "[market]"

    @property
    def overrides(self) -> dict[str, Any]:
        """Every shared override, the command line's last."""
        return {**self.file_set, **self.cli_set}


def resolve_base(spec: ExperimentFile, path: Path, cli_set: dict[str, Any] | None = None) -> Base:
    """Find, read and override the base scenario of an experiment file.

    Raises:
        InputError: a missing or circular base, a base that is not a scenario, a bad override.
    """
    src = str(path)
    if spec.market is not None and (spec.scenario is not None or spec.set is not None):
        raise InputError(
            "give the base scenario either as [market] base (and set) or as scenario (and "
            "[set]), not both",
            file=src,
        )
    older = spec.market is None
    ref = spec.scenario if older else spec.market.base
    name = "scenario" if older else "market.base"
    if not isinstance(ref, str) or not ref.strip() or "\x00" in ref:
        raise InputError(
            f"{name} = {ref!r}: required, the base scenario's path relative to this file "
            '(e.g. [market] base = "baseline.toml")',
            file=src,
        )
    base_path = (path.parent / ref).resolve()
    if not base_path.is_file():
        what = "is a directory" if base_path.is_dir() else "no such file"
        raise InputError(f"{name} = {ref!r}: {what} {base_path}", file=src)
    if base_path == path.resolve():
        kind = "comparison file" if spec.kind == "comparison" else "spec"
        raise InputError(
            f"{name} = {ref!r}: points at this {kind} itself; it must name a scenario file, "
            'e.g. base = "baseline.toml"',
            file=src,
        )
    raw = resolve_raw(base_path)
    market_table = raw.get("market")
    if (
        {"strategies", "sweep"} & raw.keys()
        or isinstance(market_table, dict)
        and ("base" in market_table)
    ):
        raise InputError(
            f"{name} = {ref!r}: is a comparison or sweep file, not a scenario; it must name a "
            'scenario file, e.g. base = "baseline.toml"',
            file=src,
        )
    file_set = (spec.set or {}) if older else spec.market.set
    where = "[set]" if older else "[market] set"
    for key in file_set:
        check_scenario_key(key, raw, src, table="set" if older else "market.set")
    cli_set = dict(cli_set or {})
    try:
        raw = apply_overrides(apply_overrides(raw, file_set), cli_set)
    except InputError as err:
        raise InputError(
            f"in the shared market ({where} or --set): {inner(err)}", file=src
        ) from None
    return Base(base_path, raw, dict(file_set), cli_set, where)


def validate_shared(base: Base, src: str, *, name: str) -> Scenario:
    """The base with its shared overrides as a validated scenario (its errors say where)."""
    raw = {**base.raw, "name": name}
    try:
        return validate(raw, source=src, overridden=base.overrides.keys())
    except InputError as err:
        message = with_values(inner(err), base.overrides)
        from_cli = any(message.startswith(k) or f" {k}" in message for k in base.cli_set)
        where = "in --set" if from_cli else f"in the shared market ({base.where})"
        raise InputError(f"{where}: {message}", file=src) from None


def with_stated_values(
    base: Base, uncertainty: dict[str, Any], src: str
) -> tuple[Base, dict[str, Any]]:
    """The base with the values the file states in ``[uncertainty]`` applied to its market.

    A stated value (``"key" = { value = ... }``) is a fact of the shared market, as a
    ``[market] set`` is, so it is applied to every run and never drawn; ``--set`` wins over it.

    Returns:
        The base with those values in its raw market (and listed as set by the file), and the
        values applied.
    """
    known = {k: e.value for k, e in uncertainty.items() if e.value is not None}
    known = {k: v for k, v in known.items() if k not in base.cli_set}
    try:
        raw = apply_overrides(base.raw, known)
    except InputError as err:
        raise InputError(f"in [uncertainty]: {inner(err)}", file=src) from None
    return dataclasses.replace(base, raw=raw, file_set={**base.file_set, **known}), known


def inner(err: InputError) -> str:
    """An InputError's message without its ``file:`` prefix (the caller adds its context)."""
    text = str(err)
    return text.removeprefix(f"{err.file}: " if err.file else "")


def with_values(message: str, overrides: dict[str, Any]) -> str:
    """Name the overridden value in schema messages that give only the key (unknown keys)."""
    # The loader tags override errors "[from an override, not the file]"; here the override
    # *is* in the experiment file, and the message already says which table it came from.
    message = message.replace(" [from an override, not the file]", "")
    for key, value in overrides.items():
        message = message.replace(f"{key}: unknown key", f"{key} = {short(value)}: unknown key")
    return message


def short(value: Any) -> str:
    """A value for a message, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_scenario_key(key: str, base_raw: dict[str, Any], src: str, *, table: str) -> None:
    """Raise unless ``key`` names a settable parameter of the scenario schema.

    Dictionary tables (``platforms.tmall``) must name an entry of the base scenario, lists
    (``shocks.0``) an existing index.
    """
    parts = key.split(".")
    node: Any = Scenario
    raw_node: Any = base_raw
    where = f"{table}.{key}"
    for i, part in enumerate(parts):
        if isinstance(node, type) and issubclass(node, BaseModel):
            fields = list(node.model_fields)
            if part not in fields:
                options = [".".join([*parts[:i], f]) for f in fields]
                hint = did_you_mean(".".join(parts[: i + 1]), options)
                raise InputError(
                    f"{where}: the scenario has no parameter {'.'.join(parts[: i + 1])!r}"
                    f"{hint or '.'} Allowed here: {', '.join(fields)}",
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
            _, origin, item = node
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
            node = item
            continue
        raise InputError(f"{where}: {'.'.join(parts[:i])} is a value, not a table", file=src)
    if isinstance(node, type) and issubclass(node, BaseModel):
        raise InputError(f"{where}: is a table; name one parameter inside it", file=src)
    # A list or a table of entries named whole (shocks = [...]) is replaced whole.
