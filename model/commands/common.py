"""Arguments and output helpers shared by the CLI commands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from model.errors import InputError
from model.outputs import write_json  # noqa: F401 - re-exported for the commands
from model.scenario import load_scenario, parse_set
from model.scenario.schema import Scenario


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    """``--set dotted.key=value`` (repeatable), applied after the file and its bases."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario value, e.g. --set outreach.pushes_per_week=3 (repeatable)",
    )


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    """``--overwrite``: the one way to write into a folder this tool did not create."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="allow --out to be an existing folder this tool did not create, another "
        "command's output, or the folder holding an input. Only files this tool wrote (listed "
        "in the folder's .sidomain-output.json) are ever replaced or removed; your files and "
        "the inputs never are",
    )


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--set`` pairs plus ``--seed``/``--days`` as scenario overrides (validated alike)."""
    overrides = dict(parse_set(item) for item in args.overrides)
    if getattr(args, "seed", None) is not None:
        overrides["sim.seed"] = args.seed
    if getattr(args, "days", None) is not None:
        overrides["sim.days"] = args.days
    return overrides


def load_from_args(args: argparse.Namespace) -> Scenario:
    """Load the scenario named on the command line with its overrides."""
    return load_scenario(args.scenario, overrides_from(args))


def format_value(value: Any) -> str:
    """A KPI value for the terminal: thousands separators, 3 significant decimals."""
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def positive_int(text: str) -> int:
    """Argparse type for counts that must be ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    """Parse a count that may be 0 (e.g. retries), for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def require_file(path: str, what: str = "scenario") -> None:
    """Fail early and clearly when an input file does not exist."""
    if not Path(path).is_file():
        raise InputError(f"{what} file not found", file=path)
