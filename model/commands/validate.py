"""``run.py validate SCENARIO``: check a scenario file without running it."""

from __future__ import annotations

import argparse

from model.commands.options import add_set_argument, load_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``validate`` command."""
    p = subparsers.add_parser(
        "validate",
        help="check a scenario file (keys, types, ranges) without running it",
        description="Check a scenario file and its bases: exit 0 if valid, "
        "2 with a message if not.",
    )
    p.add_argument("scenario", help="scenario TOML file")
    add_set_argument(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Load and validate; print a one-line confirmation."""
    s = load_from_args(args)
    print(
        f"ok: {args.scenario} — {s.name}: market.size={s.market.size:,}, "
        f"sim.days={s.sim.days}, operation.mode={s.operation.mode}, "
        f"platforms={', '.join(s.platforms)}"
    )
    return 0
