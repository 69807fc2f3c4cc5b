"""Options of ``compare`` and ``sweep`` beyond the shared ones of :mod:`model.commands.options`."""

from __future__ import annotations

import argparse
from typing import Any

from model.commands.options import set_overrides


def add_scale_argument(parser: argparse.ArgumentParser) -> None:
    """``--scale F``: a faithful miniature, sugar for ``--set market.scale=F``."""
    parser.add_argument(
        "--scale",
        type=float,
        metavar="F",
        help="run a faithful miniature at 0 < F ≤ 1 of the market (same as --set market.scale=F)",
    )


def scale_override(args: argparse.Namespace) -> dict[str, Any]:
    """``--scale F`` as the override ``{"market.scale": F}`` (empty without it)."""
    return {} if args.scale is None else {"market.scale": args.scale}


def shared_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--set`` pairs and ``--scale`` as dotted-key overrides of the shared market."""
    return {**set_overrides(args), **scale_override(args)}
