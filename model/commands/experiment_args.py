"""Arguments shared by the experiment commands (``compare``, ``sweep``, ``sensitivity``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from model.scenario import parse_set


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    """``--no-progress``. A bar is drawn only on a terminal, never into a redirected log."""
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (there is none anyway when stderr is not a terminal)",
    )


def shows_progress(args: argparse.Namespace) -> bool:
    """Draw a progress bar: asked for, and stderr is a terminal (tqdm's ``disable=None``)."""
    return not args.no_progress and sys.stderr.isatty()


def add_scale_argument(parser: argparse.ArgumentParser) -> None:
    """``--scale F``: a faithful miniature, sugar for ``--set market.scale=F``."""
    parser.add_argument(
        "--scale",
        type=float,
        metavar="F",
        help="run a faithful miniature at 0 < F ≤ 1 of the market (same as --set market.scale=F)",
    )


def shared_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--set`` pairs (and ``--scale``) as dotted-key overrides of the shared market."""
    overrides = dict(parse_set(item) for item in args.overrides)
    if getattr(args, "scale", None) is not None:
        overrides["market.scale"] = args.scale
    return overrides
