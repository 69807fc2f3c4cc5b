"""Read scenario files: TOML, ``base =`` inheritance, ``--set`` overrides, clear errors.

This is the only place that turns user text into a :class:`Scenario`. Every error names the
file, the dotted field, the bad value and what is allowed, and suggests the likely key for a
typo ("did you mean 'pushes_per_week'?").
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import tomllib
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ValidationError

from model.errors import InputError
from model.scenario.schema import Scenario
from model.textfiles import decode, read_bytes

MAX_BASE_DEPTH = 16
MAX_NESTING = 32  # tables/arrays inside each other: far beyond any scenario, far below recursion
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_toml(path: str | Path, *, what: str = "TOML file") -> dict[str, Any]:
    """Read a UTF-8 TOML file, turning every way it can fail into one InputError.

    Missing, unreadable, a directory, not UTF-8 (the encoding it looks like is named, a
    byte-order mark too), a syntax error (with the line's text, and the key for a duplicate),
    or nested deeper than :data:`MAX_NESTING`.
    """
    name = str(path)
    data = read_bytes(path, what=what)
    decoded = decode(data, name)
    if decoded.bom or not decoded.is_utf8:
        if decoded.is_utf8:
            what_it_is = "starts with a UTF-8 byte-order mark (BOM)"
        elif decoded.codec.startswith("utf"):
            what_it_is = f"is encoded as {decoded.name}"
        else:
            what_it_is = f"is not UTF-8 ({_first_bad_byte(data)}; it reads as {decoded.name})"
        raise InputError(
            f"{what_it_is}; TOML files must be UTF-8 without a BOM: save it again as "
            '"UTF-8" (not "UTF-8 with BOM" or "Unicode")',
            file=name,
        )
    return parse_toml(decoded.text, name)


def _first_bad_byte(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        return f"byte 0x{data[err.start]:02x} at line {line}, column {column}"
    return "valid UTF-8"


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text with messages that show the offending line (and a duplicate's key)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML: {_toml_error(err, text)}", file=source) from None
    except RecursionError:
        raise InputError(
            f"nested too deeply to read (at most {MAX_NESTING} levels of tables and arrays)",
            file=source,
        ) from None
    depth = _nesting(data)
    if depth > MAX_NESTING:
        raise InputError(
            f"values nested more than {MAX_NESTING} levels deep (tables and arrays inside each "
            "other); no scenario needs that many",
            file=source,
        )
    return data


def _toml_error(err: tomllib.TOMLDecodeError, text: str) -> str:
    message = str(err)
    match = _TOML_POSITION.search(message)
    if not match:
        return message
    lineno = int(match.group(1))
    lines = text.splitlines()
    line = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
    if message.startswith("Cannot overwrite a value") and "=" in line:
        key = line.split("=", 1)[0].strip()
        return f"line {lineno}: {key!r} is given twice (or is also a table): {line!r}"
    declared = re.match(r"Cannot declare \((.*)\) twice", message)
    if declared:
        parts = [part.strip(" '\"") for part in declared.group(1).split(",")]
        table = ".".join(part for part in parts if part)
        return f"line {lineno}: table [{table}] is declared twice: {line!r}"
    return f"{message}: {line!r}" if line else message


def _nesting(value: Any, depth: int = 0) -> int:
    if depth > MAX_NESTING:
        return depth
    if isinstance(value, dict):
        return max((_nesting(v, depth + 1) for v in value.values()), default=depth + 1)
    if isinstance(value, list):
        return max((_nesting(v, depth + 1) for v in value), default=depth + 1)
    return depth


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``override``; tables merge key by key, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_raw(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a scenario file and everything it extends into one raw dictionary.

    ``base`` is a path relative to the file that names it; the chain may be several deep, but
    not circular.
    """
    path = Path(path)
    here = Path(os.path.abspath(path))
    if len(_chain) >= MAX_BASE_DEPTH:
        raise InputError(f"base chain deeper than {MAX_BASE_DEPTH} files", file=str(path))
    raw = read_toml(path, what="scenario file")
    if _chain and ("strategies" in raw or "sweep" in raw):
        raise InputError(
            "is a comparison or sweep file, not a scenario; base must name a scenario file",
            file=str(path),
        )
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str) or not base.strip() or "\x00" in base:
        raise InputError(f"base = {base!r}: must be a path string to a .toml file", file=str(path))
    base_path = Path(os.path.abspath(path.parent / base))
    if not base_path.is_file():
        what = "is a directory" if base_path.is_dir() else "no such file"
        raise InputError(f"base = {base!r}: {what} {base_path}", file=str(path))
    chain = (*_chain, here)
    if base_path in chain:
        cycle = " → ".join(p.name for p in (*chain[chain.index(base_path) :], base_path))
        raise InputError(f"base = {base!r}: the base files form a cycle: {cycle}", file=str(path))
    try:
        base_raw = resolve_raw(base_path, chain)
    except InputError as err:
        if err.file != str(base_path):
            raise  # a problem further down the chain already names its own file
        inner = str(err).removeprefix(f"{err.file}: ")
        raise InputError(f"base = {base!r} ({base_path}): {inner}", file=str(path)) from None
    return deep_merge(base_raw, raw)


def scenario_files(path: str | Path) -> list[Path]:
    """The scenario file and every base it extends (the inputs a command must never replace)."""
    files = [Path(os.path.abspath(path))]
    while len(files) <= MAX_BASE_DEPTH:
        try:
            base = read_toml(files[-1]).get("base")
        except InputError:
            break
        if not isinstance(base, str) or "\x00" in base:
            break
        nxt = Path(os.path.abspath(files[-1].parent / base))
        if nxt in files or not nxt.is_file():
            break
        files.append(nxt)
    return files


def parse_set(assignment: str) -> tuple[str, Any]:
    """Parse one ``dotted.key=value`` override; the value is read as a TOML value.

    Bare words that are not TOML (``persona``) are taken as strings, so users need not quote;
    a value that starts like a TOML array, table or quoted string must parse as one.
    """
    if "=" not in assignment:
        raise InputError(f"--set {assignment!r}: expected dotted.key=value")
    key, text = (part.strip() for part in assignment.split("=", 1))
    if not key:
        raise InputError(f"--set {assignment!r}: the key before '=' is empty")
    if any(not part.strip() for part in key.split(".")) or "\x00" in key:
        raise InputError(f"--set {assignment!r}: {key!r} is not a dotted key such as sim.days")
    try:
        value = parse_toml(f"v = {text}", f"--set {key}")["v"]
    except InputError as err:
        if text and text[0] in "[{\"'":
            reason = str(err).removeprefix(f"--set {key}: ").removeprefix("not valid TOML: ")
            raise InputError(
                f"--set {key}={_clip(text)}: the value is not valid TOML ({reason}); e.g. "
                "--set 'shocks=[{kind=\"ban\", day=10, duration_days=30}]'"
            ) from None
        value = text
    return key, value


def set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``raw[a][b][c] = value`` for ``dotted = 'a.b.c'``; list items by index (``shocks.0``).

    Raises:
        InputError: a list index that does not exist, or a path through a plain value.
    """
    parts = dotted.split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        here = parts[: i + 1]
        if isinstance(node, list):
            node = node[_list_index(node, part, here)]
            continue
        if not isinstance(node, dict):
            raise InputError(f"{dotted}: {'.'.join(parts[:i])} is a value, not a table")
        child = node.get(part)
        if child is None:
            schema = _walk(here)
            if isinstance(schema, _ContainerStep) and schema.origin is list:
                _list_index([], parts[i + 1], parts[: i + 2])  # raises: no such item
            child = node[part] = {}
        elif not isinstance(child, dict | list):
            raise InputError(
                f"{dotted}: {'.'.join(here)} = {_short(child)} is a value, not a table or list"
            )
        node = child
    last = parts[-1]
    if isinstance(node, list):
        node[_list_index(node, last, parts)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise InputError(f"{dotted}: {'.'.join(parts[:-1])} is a value, not a table")


def _list_index(node: list, part: str, parts: list[str]) -> int:
    if not part.isdigit() or int(part) >= len(node):
        listed = ".".join(parts[:-1])
        if not node:
            raise InputError(
                f"{'.'.join(parts)}: {listed} is empty, so it has no item {part!r}; set the "
                f"whole list instead, e.g. --set '{listed}=[{{...}}]'"
            )
        raise InputError(
            f"{'.'.join(parts)}: {listed} has {len(node)} item(s), numbered 0 to "
            f"{len(node) - 1}; {part!r} is not one of them"
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
    expected = _EXPECTED.get(kind)
    hint = f"; write {expected}" if expected else ""
    return f"{path} = {_short(value)}: {error['msg']}{hint}{_field_hint(loc)}"


# Scenario files are strict: a value of the wrong type is an error, never converted.
_EXPECTED = {
    "int_type": "a whole number such as 90 (not quoted, not true/false, no decimal point)",
    "float_type": "a number such as 0.5 (not quoted, not true/false)",
    "bool_type": "true or false (not quoted)",
    "string_type": 'text in quotes, e.g. "persona"',
    "finite_number": "a finite number (inf and nan are not allowed)",
    "model_type": "a table, e.g. [market] with keys inside",
    "model_attributes_type": "a table, e.g. [market] with keys inside",
    "dict_type": "a table",
    "list_type": "a list in brackets [...]",
}


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _short(value: Any) -> str:
    # As the value would be written in TOML where that differs from Python.
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _ContainerStep:
    """Marker: the next location part is a dict key or list index, not a field."""

    def __init__(self, inner: type, origin: type) -> None:
        self.inner = inner
        self.origin = origin


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
        origin = typing.get_origin(annotation)
        if origin in (dict, list):
            node = _ContainerStep(typing.get_args(annotation)[-1], origin)
        else:
            node = annotation
    return node


def field_type(dotted: str) -> Any:
    """The schema's type at a dotted key (``int``, ``float``, a Literal...), or None if unknown."""
    node = _walk(dotted.split("."))
    return None if isinstance(node, _ContainerStep) else node


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
