"""Command-line interface: ``python run.py COMMAND ...``.

Each command lives in its own module under ``model/commands`` and registers itself through
``register(subparsers)``; this module only wires them together and turns bad input into one
clear message and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

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
    "model.commands.calibrate",
    "model.commands.forecast",
    "model.commands.dashboard",
]

EXIT_BAD_INPUT = 2


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
    """Run the CLI and return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
