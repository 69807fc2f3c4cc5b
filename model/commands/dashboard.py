"""``run.py dashboard [FILE]``: a local web page to move a strategy's levers and run it."""

from __future__ import annotations

import argparse
import sys

from model.commands.options import require_file

DEFAULT_FILE = "scenarios/compare_operating_modes.toml"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``dashboard`` command."""
    p = subparsers.add_parser(
        "dashboard",
        help="a local web page: edit a strategy's levers, run it small, compare, save as scenario",
        description="Serve a dashboard on 127.0.0.1 for a comparison or scenario file: the "
        "strategies side by side, the selected strategy's levers as controls, quick runs against "
        "the reference with bands, and 'Save as scenario' for run.py run / compare. Every page "
        "asset is served from this machine (works offline).",
    )
    p.add_argument(
        "file",
        nargs="?",
        default=DEFAULT_FILE,
        help=f"comparison or scenario TOML ({DEFAULT_FILE})",
    )
    p.add_argument("--port", type=int, default=0, help="TCP port (default: a free one, printed)")
    p.add_argument(
        "--save-folder", default="out/dashboard", help="where 'Save as scenario' proposes to write"
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Validate the file, then serve until Ctrl-C."""
    require_file(args.file, "comparison or scenario")
    if not 0 <= args.port <= 65535:
        from model.errors import InputError

        raise InputError(f"--port {args.port}: must be 0 (a free port) or 1–65535")
    from model.dashboard.adapter import load_study

    study = load_study(args.file)  # bad files exit 2 before any server starts
    try:
        from model.dashboard.server import serve
    except ImportError as err:
        print(
            f"error: the dashboard needs its optional dependencies ({err.name} is missing): "
            'python -m pip install -e ".[dashboard]"',
            file=sys.stderr,
        )
        return 1
    try:
        serve(study, port=args.port, save_folder=args.save_folder)
    except OSError as err:  # the port is taken, or not ours to use
        from model.errors import InputError

        raise InputError(
            f"--port {args.port}: cannot listen on 127.0.0.1 ({err.strerror})"
        ) from None
    return 0
