"""The options commands share: argument types, how runs execute, and what the options mean.

Building a parser must stay cheap (``run.py --help`` answers at once), so nothing here imports
the model at module level; the scenario loader is imported when a command runs.

A command that runs a batch of simulations adds the execution options in one call::

    add_execution_arguments(p, retries=True)   # --workers N | --scheduler ADDR, --retries K,
                                               # --seed S, --no-progress
    ...
    run_something(workers=args.workers, scheduler=args.scheduler, retries=args.retries,
                  seed=args.seed, progress=shows_progress(args))
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model.errors import InputError

if TYPE_CHECKING:
    from model.scenario.schema import Scenario

#: Resubmissions of a run whose worker died, unless ``--retries`` says otherwise.
DEFAULT_RETRIES = 2


# --- argument types: checked while parsing, so a bad value never starts any work -------------


def positive_int(text: str) -> int:
    """Argparse type for counts that must be ≥ 1."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    """Argparse type for counts that may be 0 (retries, a replicate index)."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def seed(text: str) -> int:
    """Argparse type for a root seed: a whole number from 0 to 2**63 − 1 (``sim.seed``'s range)."""
    from model.scenario.schema import MAX_SEED

    value = _whole(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{value} must be from 0 to {MAX_SEED}")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


# --- options -----------------------------------------------------------------------------------


def add_seed_argument(
    parser: argparse.ArgumentParser, default: str = "the scenario's sim.seed"
) -> None:
    """``--seed S``: the root seed, checked at parse time."""
    parser.add_argument("--seed", type=seed, metavar="S", help=f"root seed (default: {default})")


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    """``--no-progress``. A bar is drawn only on a terminal, never into a redirected log."""
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (there is none anyway when stderr is not a terminal)",
    )


def shows_progress(args: argparse.Namespace) -> bool:
    """Draw progress: not ``--no-progress``, and stderr is a terminal (not a log or a pipe)."""
    if getattr(args, "no_progress", False):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without a file, or closed
        return False


def add_execution_arguments(
    parser: argparse.ArgumentParser,
    *,
    retries: bool = False,
    seed_default: str = "the scenario's sim.seed",
) -> None:
    """How a batch of runs executes: where, how often to retry, from which seed, with a bar.

    Adds ``--workers N`` and ``--scheduler ADDR`` (mutually exclusive), ``--retries K`` when
    ``retries`` (for commands whose runs are resubmitted when a worker dies), ``--seed S``
    and ``--no-progress``.

    Args:
        parser: the command's parser.
        retries: add ``--retries`` (default :data:`DEFAULT_RETRIES`).
        seed_default: what ``--seed`` defaults to, for the help.
    """
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="local processes (1: in-process; default: every core)",
    )
    where.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on a Dask cluster through its scheduler address instead of local processes",
    )
    if retries:
        parser.add_argument(
            "--retries",
            type=non_negative_int,
            default=DEFAULT_RETRIES,
            metavar="K",
            help="resubmissions of a run whose worker died (a run that raises is recorded, "
            f"not retried) ({DEFAULT_RETRIES})",
        )
    add_seed_argument(parser, seed_default)
    add_progress_argument(parser)


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


# --- what the options mean -------------------------------------------------------------------


def set_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--set`` pairs as dotted-key overrides (validated with the scenario)."""
    from model.scenario import parse_set

    return dict(parse_set(item) for item in args.overrides)


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--set`` pairs plus ``--seed``/``--days`` as scenario overrides (validated alike)."""
    overrides = set_overrides(args)
    if getattr(args, "seed", None) is not None:
        overrides["sim.seed"] = args.seed
    if getattr(args, "days", None) is not None:
        overrides["sim.days"] = args.days
    return overrides


def load_from_args(args: argparse.Namespace) -> Scenario:
    """Load the scenario named on the command line with its overrides."""
    from model.scenario import load_scenario

    return load_scenario(args.scenario, overrides_from(args))


def require_file(path: str, what: str = "scenario") -> None:
    """Fail early and clearly when an input file does not exist."""
    if not Path(path).is_file():
        raise InputError(f"{what} file not found", file=path)


def command_line(args: argparse.Namespace) -> str:
    """The command as typed, for provenance records: ``run.py forecast …``.

    :func:`model.cli.main` keeps its argument list on ``args.argv`` (the process's own
    ``sys.argv`` is pytest's or a notebook kernel's when the CLI is called in-process).
    """
    return shlex.join(["run.py", *getattr(args, "argv", sys.argv[1:])])
