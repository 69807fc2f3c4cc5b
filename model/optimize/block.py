"""Blocks of cells: the fixed draws and seeds every candidate of a search is run on.

Sample-average approximation: the search compares candidates on one fixed block of *cells*,
each a draw of the uncertain market parameters and a replicate seed. Every candidate meets the
same markets and the same chance (common random numbers), so the objective is a deterministic
function of the levers and two candidates' difference is paired. The confirmation uses a second,
fresh block (its own root seed and draws), so a candidate cannot win there by having been picked
for its luck on the first.

Draws are a Latin hypercube over the registry's plausible ranges of the uncertain market
parameters (:func:`model.scenario.params.uncertain`), uniform or log-uniform as the registry
says, except those the file states (``[market] set``, ``--set``): a stated value is a fact
about this market. A block with one draw is the base market itself (noise only). Cell
``(d, r)`` draws its random numbers from ``replicate_seed(root_seed, d · replicates + r)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model.scenario.params import uncertain
from model.scenario.schema import Scenario

# Salt of the design's own stream, apart from every replicate's stream of the same root seed.
_DESIGN_SPAWN_KEY = 0x0F7D


@dataclass(frozen=True)
class Cell:
    """One market and one stream of chance.

    Attributes:
        draw: the index of the market draw in its block.
        replicate: the replicate within the draw.
        root_seed: the block's root seed.
        seed_index: the replicate index of ``replicate_seed(root_seed, ·)``.
        market: the drawn market values by dotted key (empty: the base market).
    """

    draw: int
    replicate: int
    root_seed: int
    seed_index: int
    market: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Block:
    """A fixed set of cells shared by every candidate evaluated on it."""

    name: str
    root_seed: int
    n_draws: int
    n_replicates: int
    cells: tuple[Cell, ...]

    @property
    def draws(self) -> np.ndarray:
        """The draw of each cell (cells of one draw share a market)."""
        return np.array([c.draw for c in self.cells])

    def __len__(self) -> int:
        return len(self.cells)


def market_draws(
    base: Scenario, n: int, root_seed: int, stated: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """``n`` Latin-hypercube draws of the base's uncertain market parameters.

    Keys in ``stated`` (set by the file's ``[market] set`` or ``--set``) are facts about this
    market and are not drawn.
    """
    from scipy.stats import qmc  # here: scipy.stats costs ~0.5 s to import

    params = [p for p in uncertain(base) if p.key not in stated]
    if n <= 1 or not params:
        return [{}]
    rng = np.random.default_rng(
        np.random.SeedSequence(int(root_seed), spawn_key=(_DESIGN_SPAWN_KEY,))
    )
    units = qmc.LatinHypercube(len(params), rng=rng).random(n)
    draws = []
    for row in units:
        point: dict[str, Any] = {}
        for p, u in zip(params, row, strict=True):
            low, high = p.range
            if p.log:
                value = float(np.exp(np.log(low) + u * (np.log(high) - np.log(low))))
            else:
                value = float(low + u * (high - low))
            point[p.key] = int(round(value)) if p.kind == "int" else value
        draws.append(point)
    return draws


def make_block(
    name: str,
    base: Scenario,
    draws: int,
    replicates: int,
    root_seed: int,
    stated: frozenset[str] = frozenset(),
) -> Block:
    """The block of ``draws × replicates`` cells of one root seed (``stated`` keys not drawn)."""
    markets = market_draws(base, draws, root_seed, stated)
    cells = tuple(
        Cell(d, r, int(root_seed), d * replicates + r, market)
        for d, market in enumerate(markets)
        for r in range(replicates)
    )
    return Block(name, int(root_seed), len(markets), replicates, cells)
