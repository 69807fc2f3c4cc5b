"""What a comparison does not know about its market: the uncertain parameters and their draws.

The uncertain parameters are the parameter registry's market parameters with a plausible range
(:func:`model.scenario.params.uncertain`: mostly grades C and D). A comparison draws K sets of
them by Latin hypercube (log scale where the registry says so; the design seeded from the root
seed) and runs every strategy on the same draws; levers stay as each strategy sets them.

The file narrows, widens or fixes a range in ``[uncertainty]``, each with its ``source``::

    [uncertainty]
    "behaviour.rel_rate_private" = { low = 1.0, high = 1.3, source = "fit-orders 2026-10" }
    "outreach.p_response" = { value = 0.012, source = "push test, September 2026" }

**A value the file or the command line states is a fact about that market and is not drawn**:
a key set in ``[market] set``, by ``--set``, as a ``value`` in ``[uncertainty]``, or by any
strategy's ``set`` (then each strategy keeps its own value, and the others the base's). The
report lists every such key with where it was stated. So one row of ``draws.csv`` applies to
every strategy alike, and re-running a cell needs only that row (``run.py run FILE --draw
draws.csv:ROW --replicate i``).

Draw ``d`` has its own root seed (:func:`draw_seed`), so cells of different draws are
independent; within a draw, replicate ``i`` of every strategy runs on ``replicate_seed(seed,
i)`` (common random numbers). Without uncertainty there is one draw, the base market, whose
seed is the root seed itself: the noise-only comparison.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.errors import InputError
from model.experiment.design import Range, sample
from model.experiment.spec import UncertaintyEntry, did_you_mean
from model.scenario import apply_overrides, validate
from model.scenario.params import ParamInfo, parameter, uncertain, value_of
from model.scenario.schema import Scenario

# Salt of the draws' root seeds, apart from the design's and every replicate's streams.
DRAW_SPAWN_KEY = 0xD4A3


@dataclass(frozen=True)
class Drawn:
    """A market parameter that the comparison draws.

    Attributes:
        range: where it is drawn (log and integer aware).
        origin: ``"registry"`` (the parameter registry's plausible range) or ``"file"``.
        source: where the range comes from (the registry's grade and source, or the file's).
        base: its value in the base market (the noise-only comparison's).
    """

    range: Range
    origin: str
    source: str
    base: Any

    @property
    def key(self) -> str:
        """The dotted key."""
        return self.range.key


@dataclass(frozen=True)
class Stated:
    """An uncertain market parameter that is not drawn, because the file or command states it.

    Attributes:
        key: the dotted key.
        value: the stated value (per strategy when strategies state it).
        where: ``"[market] set"``, ``"--set"``, ``"[uncertainty]"`` or ``"strategy 'x'"``.
        source: the file's source for an ``[uncertainty]`` value, else "".
    """

    key: str
    value: Any
    where: str
    source: str = ""


@dataclass(frozen=True)
class Uncertainty:
    """The uncertain parameters of a comparison: drawn, or stated; and how many draws.

    Attributes:
        drawn: the parameters drawn, in registry order.
        stated: the uncertain parameters stated rather than drawn.
        draws: K, the number of draws (1 when off: the base market only).
        enabled: False for a noise-only comparison (``--no-uncertainty``).
    """

    drawn: tuple[Drawn, ...]
    stated: tuple[Stated, ...]
    draws: int
    enabled: bool = True

    def table(self, root_seed: int) -> pd.DataFrame:
        """One row per draw: ``draw``, ``seed`` (the draw's root seed), one column per key."""
        if not self.enabled:
            return pd.DataFrame({"draw": [0], "seed": [int(root_seed)]})
        points = sample([d.range for d in self.drawn], self.draws, root_seed, "lhs")
        rows = [
            {"draw": i, "seed": draw_seed(root_seed, i), **point} for i, point in enumerate(points)
        ]
        return pd.DataFrame(rows, columns=["draw", "seed", *(d.key for d in self.drawn)])


def draw_seed(root_seed: int, draw: int) -> int:
    """The root seed of draw ``draw``: 63 bits derived from the comparison's root seed."""
    sequence = np.random.SeedSequence(int(root_seed), spawn_key=(DRAW_SPAWN_KEY, int(draw)))
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))


def resolve_uncertainty(
    entries: Mapping[str, UncertaintyEntry],
    market: Scenario,
    stated_by: Mapping[str, Mapping[str, Any]],
    *,
    draws: int,
    enabled: bool,
    src: str,
) -> Uncertainty:
    """Which uncertain parameters a comparison draws, from where, and which it states.

    Args:
        entries: the file's ``[uncertainty]`` table, by dotted key.
        market: the shared market, with every stated value applied (``[market] set``,
            ``--set`` and the ``[uncertainty]`` values).
        stated_by: per place (``"[market] set"``, ``"--set"``, ``"strategy 'x'"``...), the
            dotted keys it sets and their values.
        draws: K.
        enabled: False: no draws (the base market only).
        src: the comparison file, for messages.

    Raises:
        InputError: an ``[uncertainty]`` key that is not a market parameter, a range that is
            inverted, not positive on a log scale, or outside what the schema allows.
    """
    candidates = {p.key: p for p in uncertain(market)}
    for key, entry in entries.items():
        info = _market_parameter(key, src)
        if entry.value is None:
            candidates.setdefault(key, info)
    stated = [
        Stated(key, value, where, entries[key].source if where == "[uncertainty]" else "")
        for where, keys in stated_by.items()
        for key, value in keys.items()
        if key in candidates or key in entries
    ]
    for s in stated:
        entry = entries.get(s.key)
        if entry is not None and entry.value is None and s.where != "--set":
            raise InputError(
                f"uncertainty.{s.key}: has a range here but {s.where} sets it to "
                f"{s.value!r}; a stated value is not drawn: keep one of the two",
                file=src,
            )
    fixed = {s.key for s in stated}
    drawn = tuple(
        _drawn(key, info, entries.get(key), market, src)
        for key, info in candidates.items()
        if key not in fixed
    )
    return Uncertainty(drawn, tuple(stated), draws if enabled else 1, enabled)


def _market_parameter(key: str, src: str) -> ParamInfo:
    try:
        info = parameter(key)
    except KeyError:
        raise InputError(
            f"uncertainty.{key}: not a scenario parameter{did_you_mean(key, _market_keys())} "
            "(`python run.py params` lists them)",
            file=src,
        ) from None
    if info.side != "market":
        raise InputError(
            f"uncertainty.{key}: is a {info.side} parameter, not a fact about the market; only "
            "market parameters are drawn (a lever is each strategy's choice: set it in a "
            "strategy, or sweep it)",
            file=src,
        )
    if info.kind not in ("float", "int"):
        raise InputError(
            f"uncertainty.{key}: is a {info.kind}, not a number; only numbers are drawn",
            file=src,
        )
    return info


def _market_keys() -> list[str]:
    return [p.key for p in uncertain()]


def _drawn(
    key: str, info: ParamInfo, entry: UncertaintyEntry | None, market: Scenario, src: str
) -> Drawn:
    registry = info.range
    where = f"uncertainty.{key}"
    low = entry.low if entry is not None and entry.low is not None else None
    high = entry.high if entry is not None and entry.high is not None else None
    if registry is None and (low is None or high is None):
        raise InputError(
            f"{where}: the registry gives no plausible range for it, so give both low and high",
            file=src,
        )
    low = registry[0] if low is None else low
    high = registry[1] if high is None else high
    log = info.log if entry is None or entry.log is None else entry.log
    if not low < high:
        raise InputError(f"{where}: low = {low:g} must be below high = {high:g}", file=src)
    if log and low <= 0:
        raise InputError(f"{where}: a log-scale range needs low > 0, got {low:g}", file=src)
    integer = info.kind == "int"
    if integer and (low != int(low) or high != int(high)):
        raise InputError(f"{where}: is a whole number; give whole low and high", file=src)
    for bound, value in (("low", low), ("high", high)):
        # Both ends must be values the schema allows (the draws lie between them).
        try:
            validate(
                apply_overrides(
                    market.model_dump(mode="json"), {key: int(value) if integer else float(value)}
                ),
                source=src,
            )
        except InputError as err:
            reason = str(err).removeprefix(f"{src}: ").removeprefix(f"{key} = ")
            reason = reason.split(": ", 1)[-1].replace(" [from an override, not the file]", "")
            raise InputError(f"{where}.{bound} = {value:g}: {reason}", file=src) from None
    if entry is not None and (entry.low is not None or entry.high is not None):
        origin, source = "file", entry.source or "this comparison file"
    else:
        origin = "registry"
        source = f"{info.grade}: {info.source}" if info.grade else info.source
    return Drawn(
        Range(key, float(low), float(high), log=log, integer=integer),
        origin,
        source,
        value_of(market, key),
    )


def read_draw(spec: str) -> tuple[dict[str, Any], int]:
    """The overrides and root seed of one row of a ``draws.csv`` (``PATH:ROW``).

    Args:
        spec: ``path/to/draws.csv:ROW``, ROW the value of the ``draw`` column.

    Returns:
        ``({dotted key: value}, seed)``: whole numbers as ints, the rest as floats (exactly as
        written: CSV keeps every digit Python prints).

    Raises:
        InputError: no ``:ROW``, an unreadable file, no such row, or a column that is no key.
    """
    path_text, sep, row_text = spec.rpartition(":")
    if not sep or not row_text.strip().isdigit():
        raise InputError(f"--draw {spec!r}: expected PATH:ROW, e.g. out/cmp/draws.csv:3")
    path = Path(path_text)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"--draw {spec!r}: cannot read {path} ({err})") from None
    wanted = int(row_text)
    match = [r for r in rows if r.get("draw", "").strip() == str(wanted)]
    if not rows or "seed" not in rows[0] or not match:
        draws = ", ".join(r.get("draw", "?") for r in rows[:10])
        raise InputError(
            f"--draw {spec!r}: {path} has no draw {wanted} (it has draws {draws or 'none'}; a "
            "comparison's draws.csv has columns draw, seed and one per drawn parameter)"
        )
    row = match[0]
    overrides: dict[str, Any] = {}
    for key, text in row.items():
        if key in ("draw", "seed"):
            continue
        try:
            overrides[key] = int(text) if text.strip().lstrip("-").isdigit() else float(text)
        except ValueError:
            raise InputError(f"--draw {spec!r}: {key} = {text!r} is not a number") from None
    try:
        seed = int(row["seed"])
    except ValueError:
        raise InputError(f"--draw {spec!r}: seed = {row['seed']!r} is not a whole number") from None
    return overrides, seed
