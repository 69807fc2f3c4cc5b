"""What the tool writes where, and what it never touches: the one module that owns output paths.

The rule (also in the README):

* A command writes only into a directory it creates, or into one holding its own earlier
  output, recognised by the marker file ``.sidomain-output.json`` (the command, the package
  version and the list of files it wrote).
* Anything else — an existing file, a directory of the user's, ``.``, the folder holding an
  input — is refused before any work (:class:`~model.errors.InputError`, exit 2) unless
  ``overwrite=True`` (``--overwrite``). Even then only files listed in a marker are ever
  replaced or removed: a file this tool did not write is never touched, and an input is never
  replaced. Files the user adds to an output directory survive a rerun.
* Every file appears whole or not at all: it is written under a temporary name and moved into
  place with ``os.replace``. A new output directory is built in a hidden sibling
  (``.NAME.partial-PID-XXXX``) and renamed into place when complete.
* Leftovers of a killed run — staging folders and ``*.tmp`` files of a process that no longer
  exists — are removed by the next run into the same place.

Commands that write once (``run``, ``fit-orders``, ``compare``, ``forecast``) use
:func:`claim_output_dir` then :func:`publish`; commands that fill a directory over time and
resume (``sweep``, ``sensitivity``, ``calibrate``) use :func:`claim_output_dir` then
:func:`open_output_dir` and write each file with :func:`atomic_write`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model._version import __version__
from model.errors import InputError

MARKER = ".sidomain-output.json"
TOOL = "sidomain"
_STAGING_INFIX = ".partial-"
_INSIDE = "sidomain"  # staging folders inside an existing output: ".sidomain.partial-PID-XXXX"
# Temporary files of atomic_write: ".<name>.<pid>-<hex>.tmp[.<suffix>]" (the suffix keeps
# writers that pick a format by extension working). Older sweep part files used
# ".part-<ns>-<pid>-<seq>.tmp", which the same pattern reads.
_TMP_RE = re.compile(r"^\.(?P<name>.+)[.-](?P<pid>\d+)-(?P<tag>[0-9a-f]+)\.tmp(\.\w+)?$")
_STAGING_RE = re.compile(r"^\.(?P<name>.*)\.partial-(?P<pid>\d+)-[0-9a-f]+$")
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_MAX_NAME = 100


# --- names -----------------------------------------------------------------------------------


def safe_name(name: object, fallback: str = "unnamed") -> str:
    """One safe path component from a user-chosen name (a scenario's or a strategy's).

    Slashes, backslashes, NUL and other control or reserved characters become ``_``;
    surrounding spaces, dots and underscores are dropped (so ``..``, ``../x`` and ``/abs``
    cannot leave the folder they are joined to); the result is at most 100 characters and
    ``fallback`` when nothing is left.
    """
    text = _UNSAFE_CHARS.sub("_", str(name)).strip(" ._")
    text = text[:_MAX_NAME].rstrip(" .")
    return text or fallback


def default_out(root: str | os.PathLike, name: object) -> Path:
    """``root/<safe name>``: the default output directory of a named scenario or spec."""
    return Path(root) / safe_name(name)


# --- files -----------------------------------------------------------------------------------


def atomic_write(path: str | os.PathLike, content: bytes | str | Callable[[Path], Any]) -> Path:
    """Write a file whole or not at all: a temporary sibling, then ``os.replace``.

    Args:
        path: the file to (re)place.
        content: bytes, text (UTF-8), or a function that writes to the path it is given
            (``lambda p: frame.to_parquet(p)``); the temporary path keeps ``path``'s suffix.

    Returns:
        ``path``. A temporary file left by a killed process is removed by the next claim of
        its directory.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        elif isinstance(content, str):
            tmp.write_text(content, encoding="utf-8")
        else:
            content(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Pretty UTF-8 JSON, atomically, with NaN and infinities written as null (JSON has none)."""
    return atomic_write(path, json.dumps(_finite(data), indent=2, ensure_ascii=False) + "\n")


def _finite(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a leftover of a live writer is never removed)."""
    if pid <= 0:
        return True  # never treat a malformed id as dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> int:
    """Delete this tool's temporary files in ``folder`` whose writing process is gone.

    Returns:
        How many were removed.
    """
    removed = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            match = _TMP_RE.match(entry.name)
            if match and entry.is_file(follow_symlinks=False):
                if not pid_alive(int(match["pid"])):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        removed += 1
    return removed


# --- the marker ------------------------------------------------------------------------------


def read_marker(directory: str | os.PathLike) -> dict[str, Any] | None:
    """The marker of one of this tool's output directories, or None if there is none."""
    path = Path(directory) / MARKER
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("tool") != TOOL:
        return None
    if not isinstance(data.get("command"), str):
        return None
    files = data.get("files")
    data["files"] = [f for f in files if _is_relative_file(f)] if isinstance(files, list) else []
    return data


def _is_relative_file(name: object) -> bool:
    # A marker is data on disk: only plain relative paths inside the directory count.
    if not isinstance(name, str) or not name or "\x00" in name or name.startswith(("/", "\\")):
        return False
    parts = Path(name.rstrip("/")).parts
    return bool(parts) and ".." not in parts and parts != (".",) and name != MARKER


def _marker_data(command: str, files: Iterable[str], state: str) -> dict[str, Any]:
    return {
        "tool": TOOL,
        "command": command,
        "package_version": __version__,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "state": state,
        "files": sorted(set(files)),
    }


def _write_marker(directory: Path, command: str, files: Iterable[str], state: str) -> None:
    write_json(directory / MARKER, _marker_data(command, files, state))


# --- claiming a directory --------------------------------------------------------------------


@dataclass(frozen=True)
class OutputDir:
    """A directory a command may write into, checked by :func:`claim_output_dir`.

    Attributes:
        path: the directory (absolute).
        shown: the path as the user gave it, for messages.
        command: the command that writes (``"run"``, ``"compare"``, ...).
        exists: whether the directory existed at the claim.
        previous: files listed in an existing marker: this tool's own, replaceable.
        previous_command: the command that wrote them (None if there was no marker).
        inputs: input files, never replaced.
    """

    path: Path
    shown: str
    command: str
    exists: bool
    previous: tuple[str, ...] = ()
    previous_command: str | None = None
    inputs: tuple[Path, ...] = ()

    def __fspath__(self) -> str:
        return str(self.path)


def claim_output_dir(
    out: str | os.PathLike,
    command: str,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike] = (),
    compatible: Iterable[str] = (),
    recognise: Callable[[Path], bool] | None = None,
    option: str = "--out",
) -> OutputDir:
    """Check, before any work, that ``command`` may write into ``out``; clean old leftovers.

    Allowed without ``overwrite``: a path that does not exist (its parent must be creatable
    and writable), an empty directory, or a directory whose marker names ``command`` (or one
    of ``compatible``) and which holds no input. ``recognise`` may accept an unmarked
    directory as this command's own (an older sweep store).

    Args:
        out: the output directory.
        command: the command name recorded in the marker.
        overwrite: also allow a non-empty directory this tool did not write, another
            command's output, or the folder holding an input; still never replaces a file
            that is not listed in a marker, nor an input.
        inputs: the command's input files (scenario, orders, series, spec).
        compatible: other commands whose output directory this one may continue.
        recognise: a test that accepts an unmarked directory as this command's own.
        option: the option name for messages.

    Raises:
        InputError: naming the path, why it is refused and what to do instead.
    """
    shown = str(out)
    if "\x00" in shown:
        raise InputError(f"{option} {shown!r}: a path cannot contain a NUL character")
    path = Path(os.path.abspath(out))
    if path.parent == path:
        raise InputError(f"{option} {shown}: is the root of the file system; choose a folder")
    input_paths = tuple(Path(os.path.abspath(p)) for p in inputs)
    for src in input_paths:
        if src == path:
            raise InputError(f"{option} {shown}: is the input file itself; choose a new folder")
    if os.path.lexists(path) and not path.is_dir():
        kind = "a broken link" if path.is_symlink() else "an existing file"
        raise InputError(
            f"{option} {shown}: is {kind}, not a directory; nothing was written. Choose a new "
            "folder name (this tool never replaces a file it did not write, even with "
            "--overwrite)"
        )
    if not path.exists():
        _check_creatable(path, shown, option)
        _remove_stale_staging(path)
        return OutputDir(path, shown, command, exists=False, inputs=input_paths)

    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(
            f"{option} {shown}: the folder is not writable (permission denied); nothing was "
            "written. Choose a folder you can write to"
        )
    holding = [p for p in input_paths if path in p.parents]
    if holding and not overwrite:
        raise InputError(
            f"{option} {shown}: holds the input {holding[0]}; nothing was written. Write the "
            "output to another folder (or pass --overwrite: the input is never replaced)"
        )
    _remove_stale_staging(path)
    _remove_stale_dirs(path, lambda name: name == _INSIDE)
    marker = read_marker(path)
    if marker is not None:
        if marker["command"] != command and marker["command"] not in set(compatible):
            if not overwrite:
                raise InputError(
                    f"{option} {shown}: holds the output of `run.py {marker['command']}`, not "
                    f"of `run.py {command}`; nothing was written. Choose another folder, or "
                    "pass --overwrite to replace that output (files you added there are kept)"
                )
        # Our own directory: temporary files of killed writers may be anywhere in it.
        for folder, dirs, _files in os.walk(path):
            dirs[:] = [d for d in dirs if not _STAGING_RE.match(d)]
            remove_stale_temporaries(folder)
        return OutputDir(
            path, shown, command, True, tuple(marker["files"]), marker["command"], input_paths
        )
    # Unmarked: nothing here is provably ours (our temporaries live only in marked folders).
    entries = sorted(os.listdir(path))
    if not entries or (recognise is not None and recognise(path)) or overwrite:
        return OutputDir(path, shown, command, True, (), None, input_paths)
    listed = ", ".join(entries[:4]) + (f", … ({len(entries)} entries)" if len(entries) > 4 else "")
    here = " (the current folder)" if path == Path.cwd() else ""
    raise InputError(
        f"{option} {shown}{here}: an existing folder that this tool did not create (it holds "
        f"{listed}); nothing was written. Choose a new folder, or pass --overwrite to write "
        "into it: your files there are kept, and a file with the name of an output is never "
        "replaced"
    )


def _check_creatable(path: Path, shown: str, option: str) -> None:
    ancestor = path.parent
    while not ancestor.exists():
        if os.path.lexists(ancestor):  # a broken symlink on the way
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(
            f"{option} {shown}: {ancestor} is a file, so the folder cannot be created; "
            "nothing was written"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(
            f"{option} {shown}: cannot create it, {ancestor} is not writable (permission "
            "denied); nothing was written. Choose a folder you can write to"
        )


def _remove_stale_staging(path: Path) -> None:
    """Remove ``.NAME.partial-PID-*`` siblings of ``path`` left by dead processes."""
    _remove_stale_dirs(path.parent, lambda name: name == path.name)


def _remove_stale_dirs(parent: Path, wanted: Callable[[str], bool]) -> None:
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            match = _STAGING_RE.match(entry.name)
            if not match or not wanted(match["name"]) or not entry.is_dir(follow_symlinks=False):
                continue
            if pid_alive(int(match["pid"])):
                continue
            # Only our own staging folders: they carry a marker from the moment they exist
            # (an empty one was killed between mkdir and the marker).
            if read_marker(entry.path) is not None or not os.listdir(entry.path):
                shutil.rmtree(entry.path, ignore_errors=True)


# --- writing once: stage, then publish -------------------------------------------------------


@contextlib.contextmanager
def publish(claim: OutputDir) -> Iterator[Path]:
    """Yield a staging folder; when the block succeeds, its files become the output.

    A new directory is staged as a hidden sibling and renamed into place at once. Into an
    existing directory (this command's earlier output, or one allowed by ``--overwrite``)
    every file is moved with ``os.replace``; this tool's files of the earlier output that the
    new one lacks are removed; everything else in the directory is left alone. If the block
    raises (or is interrupted), the staging folder is deleted and nothing changes.

    Raises:
        InputError: an output would replace a file this tool did not write, or an input.
    """
    path = claim.path
    if claim.exists:
        parent, name = path, _INSIDE
    else:
        parent, name = path.parent, path.name
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _write_error(claim, err) from None
    staging = parent / f".{name}{_STAGING_INFIX}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        staging.mkdir()
        _write_marker(staging, claim.command, (), "partial")
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise _write_error(claim, err) from None
    try:
        yield staging
        files = _files_under(staging)
        if claim.exists:
            _publish_into(claim, staging, files)
        else:
            _write_marker(staging, claim.command, files, "complete")
            try:
                os.rename(staging, path)
            except OSError as err:
                raise InputError(
                    f"--out {claim.shown}: appeared while this command ran ({err.strerror}); "
                    "nothing was written"
                ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _files_under(root: Path) -> list[str]:
    out = []
    for folder, _dirs, files in os.walk(root):
        for f in files:
            rel = os.path.relpath(os.path.join(folder, f), root)
            if rel != MARKER:
                out.append(Path(rel).as_posix())
    return sorted(out)


def _publish_into(claim: OutputDir, staging: Path, files: list[str]) -> None:
    path, ours = claim.path, set(claim.previous)
    blocked = []
    for rel in files:
        target = path / rel
        for parent in list(reversed(Path(rel).parents))[1:]:
            if os.path.lexists(path / parent) and not (path / parent).is_dir():
                blocked.append(f"{parent} (a file where the output needs a folder)")
        if os.path.lexists(target):
            if _is_input(target, claim.inputs):
                blocked.append(f"{rel} (an input of this command)")
            elif rel not in ours or target.is_dir():
                blocked.append(rel)
    if blocked:
        raise InputError(
            f"--out {claim.shown}: would replace {', '.join(blocked[:5])}, which this tool did "
            "not write (or is an input); nothing was written. Move those files or choose "
            "another folder"
        )
    stale = [rel for rel in claim.previous if rel not in files]
    # The marker lists old and new files while they are swapped, so a kill part-way leaves
    # nothing a rerun cannot recognise.
    _write_marker(path, claim.command, [*ours, *files], "publishing")
    for rel in files:
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, target)
    _remove_own(path, stale, claim.inputs)
    _write_marker(path, claim.command, files, "complete")


def _is_input(target: Path, inputs: tuple[Path, ...]) -> bool:
    for src in inputs:
        with contextlib.suppress(OSError):
            if src == target or os.path.samefile(src, target):
                return True
    return False


def _remove_own(root: Path, names: Iterable[str], inputs: tuple[Path, ...] = ()) -> None:
    """Remove files (and ``dir/`` trees) this tool listed in a marker; then empty folders."""
    for rel in names:
        target = root / rel.rstrip("/")
        if not os.path.lexists(target) or _is_input(target, inputs):
            continue
        if rel.endswith("/") and target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        elif not target.is_dir():
            with contextlib.suppress(OSError):
                target.unlink()
        parent = target.parent
        while parent != root and root in parent.parents:
            try:
                parent.rmdir()  # only if empty: a user's file inside keeps it
            except OSError:
                break
            parent = parent.parent


def _write_error(claim: OutputDir, err: OSError) -> InputError:
    return InputError(
        f"--out {claim.shown}: cannot write there ({err.strerror or err}); nothing was written"
    )


# --- writing over time: sweeps, sensitivity, calibration -------------------------------------


def open_output_dir(claim: OutputDir, files: Iterable[str]) -> Path:
    """Create (or continue) a directory that a command fills over time, and mark it as ours.

    ``files`` are the names this command writes there (``"runs/"`` for a whole folder of
    its own). Another command's output taken over with ``--overwrite`` is removed first
    (only the files its marker lists); anything else in the directory is left alone.

    Returns:
        The directory.
    """
    path = claim.path
    files = list(files)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if claim.previous_command not in (None, claim.command):
            _remove_own(path, [f for f in claim.previous if f not in files], claim.inputs)
            previous: list[str] = []
        else:
            previous = list(claim.previous)
        _write_marker(path, claim.command, [*previous, *files], "open")
    except OSError as err:
        raise _write_error(claim, err) from None
    return path


def remove_own_files(claim: OutputDir, names: Iterable[str]) -> None:
    """Remove some of this command's files from its directory (a calibration started over)."""
    ours = set(claim.previous)
    _remove_own(claim.path, [n for n in names if n in ours], claim.inputs)
