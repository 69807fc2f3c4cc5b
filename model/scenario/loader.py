"""Read scenario files: TOML, ``base =`` inheritance, ``--set`` overrides, clear errors.

This is the only place that turns user text into a :class:`Scenario`. Every error names the
file, the dotted field, the bad value and what is allowed, and suggests the likely key for a
typo ("did you mean 'pushes_per_week'?").
"""

from __future__ import annotations

import copy
import difflib
import tomllib
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ValidationError

from model.errors import InputError
from model.scenario.schema import Scenario

MAX_BASE_DEPTH = 16


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning a missing file or a syntax error into an InputError."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a .toml file", file=str(path)) from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML: {err}", file=str(path)) from None


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``override``; tables merge key by key, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_raw(path: str | Path, _depth: int = 0) -> dict[str, Any]:
    """Read a scenario file and everything it extends into one raw dictionary.

    ``base`` is a path relative to the file that names it; the chain may be several deep.
    """
    path = Path(path)
    if _depth > MAX_BASE_DEPTH:
        raise InputError(f"base chain deeper than {MAX_BASE_DEPTH}: a cycle?", file=str(path))
    raw = read_toml(path)
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise InputError(f"base = {base!r}: must be a path string to a .toml file", file=str(path))
    base_path = (path.parent / base).resolve()
    if not base_path.exists():
        raise InputError(f"base = {base!r}: no such file {base_path}", file=str(path))
    return deep_merge(resolve_raw(base_path, _depth + 1), raw)


def parse_set(assignment: str) -> tuple[str, Any]:
    """Parse one ``dotted.key=value`` override; the value is read as a TOML value.

    Bare words that are not TOML (``persona``) are taken as strings, so users need not quote.
    """
    if "=" not in assignment:
        raise InputError(f"--set {assignment!r}: expected dotted.key=value")
    key, text = (part.strip() for part in assignment.split("=", 1))
    if not key:
        raise InputError(f"--set {assignment!r}: the key before '=' is empty")
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    return key, value


def set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``raw[a][b][c] = value`` for ``dotted = 'a.b.c'``; list items by index (``shocks.0``)."""
    parts = dotted.split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[_list_index(node, part, parts[: i + 1])]
            continue
        if part not in node or not isinstance(node[part], dict | list):
            node[part] = {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[_list_index(node, last, parts)] = value
    else:
        node[last] = value


def _list_index(node: list, part: str, parts: list[str]) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise InputError(
            f"{'.'.join(parts)}: list index {part!r} out of range (the list has {len(node)} items)"
        )
    return int(part)


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Return a copy of a raw scenario with dotted-key overrides applied."""
    raw = copy.deepcopy(raw)
    for key, value in (overrides or {}).items():
        set_dotted(raw, key, value)
    return raw


def validate(
    raw: dict[str, Any], *, source: str = "<scenario>", overridden: Iterable[str] = ()
) -> Scenario:
    """Validate a raw dictionary against the schema, with errors that say how to fix them.

    Keys in ``overridden`` came from ``--set`` (or a comparison/sweep), not from the file;
    their errors say so, so the user looks in the right place.
    """
    try:
        return Scenario.model_validate(raw)
    except ValidationError as err:
        overridden = set(overridden)
        lines = []
        for e in err.errors():
            line = _describe(e)
            path = ".".join(str(p) for p in e["loc"])
            if any(path == k or path.startswith(k + ".") for k in overridden):
                line += " [from an override, not the file]"
            lines.append(line)
        message = lines[0] if len(lines) == 1 else "\n  " + "\n  ".join(lines)
        raise InputError(message, file=source) from None


def load_scenario(
    path: str | Path, overrides: dict[str, Any] | None = None, *, name: str | None = None
) -> Scenario:
    """Load, merge (``base``), override and validate a scenario file.

    Args:
        path: the scenario TOML file.
        overrides: dotted keys to values, e.g. ``{"outreach.pushes_per_week": 3}``.
        name: the scenario's name; defaults to the file's ``name`` or its stem.

    Returns:
        The validated scenario.
    """
    raw = resolve_raw(path)
    raw.setdefault("name", name or Path(path).stem)
    return validate(
        apply_overrides(raw, overrides), source=str(path), overridden=(overrides or {}).keys()
    )


def scenario_to_toml(scenario: Scenario) -> str:
    """Serialise a resolved scenario back to TOML (None values are left out)."""
    return tomli_w.dumps(_drop_none(scenario.model_dump(mode="json")))


def _drop_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj


# --- error messages ----------------------------------------------------------------------


def _describe(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error["loc"]]
    # Pydantic adds the validator name or union member to some locations; drop those.
    loc = [p for p in loc if not p.startswith(("function-", "int", "float", "bool")) or p.isdigit()]
    path = ".".join(loc) or "(top level)"
    value = error.get("input")
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = ""
        close = difflib.get_close_matches(loc[-1], allowed, n=1, cutoff=0.6)
        if close:
            hint = f"; did you mean {close[0]!r}?"
        return f"{path}: unknown key{hint} Allowed here: {', '.join(allowed)}"
    if kind == "missing":
        return f"{path}: required, but missing"
    if kind == "value_error":
        # Cross-field checks carry their own full sentence.
        msg = str(error["msg"]).removeprefix("Value error, ")
        return f"{path}: {msg}" if loc else msg
    return f"{path} = {_short(value)}: {error['msg']}{_field_hint(loc)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _ContainerStep:
    """Marker: the next location part is a dict key or list index, not a field."""

    def __init__(self, inner: type) -> None:
        self.inner = inner


def _walk(loc: list[str]) -> Any:
    node: Any = Scenario
    for part in loc:
        if isinstance(node, _ContainerStep):
            node = node.inner
            continue
        if not (isinstance(node, type) and issubclass(node, BaseModel)):
            return None
        field = node.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        if typing.get_origin(annotation) in (dict, list):
            node = _ContainerStep(typing.get_args(annotation)[-1])
        else:
            node = annotation
    return node


def _allowed_keys(loc: list[str]) -> list[str]:
    node = _walk(loc)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []


def _field_hint(loc: list[str]) -> str:
    node = _walk(loc[:-1])
    if isinstance(node, type) and issubclass(node, BaseModel):
        field = node.model_fields.get(loc[-1])
        if field is not None and field.description:
            return f" ({loc[-1]}: {field.description})"
    return ""
