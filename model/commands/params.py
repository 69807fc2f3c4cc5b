"""``run.py params [SCENARIO]``: every parameter with its value, unit, grade, range and source."""

from __future__ import annotations

import argparse
import csv
import sys

from model.commands.options import add_set_argument, load_from_args
from model.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``params`` command."""
    p = subparsers.add_parser(
        "params",
        help="list every scenario parameter: value, unit, grade, plausible range, source",
        description="Print every scenario parameter with its value (the scenario's, or the "
        "baseline default), unit, side (market = uncertain fact, lever = the brand's choice), "
        "grade of its source (A paper/filing/data, B platform rule or vendor benchmark, C company "
        "claim, D folklore), the plausible range that uncertainty analyses sample, and the "
        "source. '*' marks a value that differs from the default.",
    )
    p.add_argument("scenario", nargs="?", help="scenario TOML file (default: the defaults)")
    add_set_argument(p)
    p.add_argument("--side", choices=("market", "lever", "run"), help="only this side")
    p.add_argument(
        "--uncertain", action="store_true", help="only market parameters with a plausible range"
    )
    p.add_argument("--csv", action="store_true", help="CSV on stdout instead of a table")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Print the parameter table."""
    from model.scenario.params import rows

    scenario = load_from_args(args) if args.scenario else None
    if scenario is None and args.overrides:
        raise InputError("--set needs a SCENARIO file to apply to")
    table = rows(scenario)
    if args.side:
        table = [r for r in table if r["side"] == args.side]
    if args.uncertain:
        table = [r for r in table if r["side"] == "market" and r["range"] is not None]
    if args.csv:
        fields = [
            "key",
            "value",
            "unit",
            "side",
            "grade",
            "range_low",
            "range_high",
            "log",
            "allowed",
            "source",
            "description",
        ]
        writer = csv.DictWriter(
            sys.stdout, fieldnames=fields, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for r in table:
            low, high = r["range"] or ("", "")
            writer.writerow({**r, "range_low": low, "range_high": high})
        return 0
    _print_table(table)
    return 0


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) >= 1000 else f"{value:.6g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _print_table(table: list[dict]) -> None:
    header = ("key", "value", "unit", "side", "grade", "plausible range", "source")
    lines = []
    for r in table:
        rng = ""
        if r["range"] is not None:
            low, high = r["range"]
            rng = f"{_text(low)}–{_text(high)}" + (" (log)" if r["log"] else "")
        value = _text(r["value"]) + (" *" if r["changed"] else "")
        lines.append((r["key"], value, r["unit"], r["side"], r["grade"], rng, r["source"]))
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(header[:-1])]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    print(fmt.format(*header))
    for row in lines:
        print(fmt.format(*row))
    print(
        "\n'*' = differs from the baseline default. Grades: A paper/filing/data, B platform rule "
        "or vendor benchmark, C company claim via press, D folklore (sweep it)."
    )
