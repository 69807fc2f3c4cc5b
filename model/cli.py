"""Command-line interface: ``python run.py COMMAND ...``.

Each command lives in its own module under ``model/commands`` and registers itself through
``register(subparsers)``; this module only wires them together and turns bad input into one
clear message and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

from model._version import __version__
from model.errors import InputError

# Order here is the order in ``--help``.
COMMAND_MODULES = [
    "model.commands.run",
    "model.commands.validate",
    "model.commands.params",
    "model.commands.fit_orders",
    "model.commands.sweep",
    "model.commands.sensitivity",
    "model.commands.compare",
    "model.commands.optimize",
    "model.commands.calibrate",
    "model.commands.forecast",
    "model.commands.dashboard",
]

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a reader that went away


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Simulate how a brand splits effort between public platforms and its "
        "private domain, and compare strategies before committing to one.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the process exit status.

    Bad input (:class:`~model.errors.InputError`) is one ``error:`` line and status 2; Ctrl-C
    and SIGTERM (what ``kill``, Slurm and systemd send) stop the command the same way: what
    finished is kept, partial output is removed, status 130. A reader that stops early
    (``run.py run … | head -1``) ends the printing quietly, status 141 as for SIGPIPE; what
    the command wrote to files is complete.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv  # for provenance records: the command as typed
    try:
        with _sigterm_as_interrupt():
            status = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, not as a warning at exit
            return status
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as err:
        # The machine, not the input: a full disk, a file removed under us. Say which file.
        where = f": {err.filename}" if err.filename else ""
        print(f"error: {err.strerror or err}{where}; nothing more was written", file=sys.stderr)
        return EXIT_FAILED
    except RecursionError:
        print("error: the input is nested too deeply to read", file=sys.stderr)
        return EXIT_BAD_INPUT


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so flushing at exit does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is no real file (a test's capture): nothing to do
        pass


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C for the command's duration (only the main thread may)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
