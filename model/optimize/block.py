"""Blocks of cells: the fixed draws and seeds every candidate of a search is run on.

Sample-average approximation: the search compares candidates on one fixed block of *cells*,
each a draw of the uncertain market parameters and a replicate seed. Every candidate meets the
same markets and the same chance (common random numbers), so the objective is a deterministic
function of the levers and two candidates' difference is paired. The confirmation uses a second,
fresh block (its own root seed and draws), so a candidate cannot win there by having been picked
for its luck on the first.

A block is a comparison's grid of cells (:mod:`model.experiment.uncertainty`): ``K`` Latin-
hypercube draws of the uncertain market parameters that the file does not state, draw ``d`` with
its own root seed ``draw_seed(root_seed, d)``, and replicate ``i`` of a draw seeded
``replicate_seed(seed_d, i)``. Without draws (``draws = 0``) the block is the base market, whose
one draw's seed is the root seed itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from model.experiment.uncertainty import Uncertainty
from model.seeds import replicate_seed


@dataclass(frozen=True)
class Cell:
    """One market and one stream of chance.

    Attributes:
        draw: the index of the market draw in its block.
        replicate: the replicate within the draw.
        root_seed: the draw's root seed (the run draws from ``replicate_seed(root_seed, i)``).
        market: the drawn market values by dotted key (empty: the base market).
    """

    draw: int
    replicate: int
    root_seed: int
    market: dict[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> np.random.SeedSequence:
        """The seed sequence the cell's run draws from."""
        return replicate_seed(self.root_seed, self.replicate)


@dataclass(frozen=True)
class Block:
    """A fixed set of cells shared by every candidate evaluated on it.

    Attributes:
        name: ``search`` or ``confirm``.
        root_seed: the block's root seed.
        n_draws, n_replicates: the grid.
        cells: draw-major.
        draw_table: one row per draw: ``draw``, ``seed`` and the drawn values (a
            comparison's ``draws.csv``).
    """

    name: str
    root_seed: int
    n_draws: int
    n_replicates: int
    cells: tuple[Cell, ...]
    draw_table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False)

    @property
    def draws(self) -> np.ndarray:
        """The draw of each cell (cells of one draw share a market)."""
        return np.array([c.draw for c in self.cells])

    @property
    def clusters(self) -> np.ndarray:
        """The cluster of each cell: its market draw, or the cell itself on one market.

        Cells of one draw share a market, so they are not independent; a standard error over a
        block counts its clusters, as the confirmation's bootstrap resamples them.
        """
        draws = self.draws
        return draws if np.unique(draws).size > 1 else np.arange(draws.size)

    @property
    def drawn(self) -> bool:
        """Whether the markets are draws (False: the base market only, ``draws = 0``)."""
        return len(self.draw_table.columns) > 2  # draw, seed and the drawn parameters

    @property
    def grid(self) -> str:
        """The cells in words: ``6 market draws × 2 seeds`` or ``the base market × 4 seeds``."""
        markets = f"{self.n_draws} market draws" if self.drawn else "the base market"
        return f"{markets} × {self.n_replicates} seeds"

    def __len__(self) -> int:
        return len(self.cells)


def make_block(
    name: str, uncertainty: Uncertainty, draws: int, replicates: int, root_seed: int
) -> Block:
    """The block of ``draws × replicates`` cells of one root seed (``draws = 0``: the base).

    Args:
        name: the block's name.
        uncertainty: the drawn and stated parameters (``uncertainty.draws`` is ignored).
        draws: K; 0 for the base market only.
        replicates: seeds per draw.
        root_seed: the block's root seed.
    """
    grid = dataclasses.replace(uncertainty, draws=max(int(draws), 1), enabled=draws > 0)
    table = grid.table(int(root_seed))
    keys = [c for c in table.columns if c not in ("draw", "seed")]
    cells = []
    for row in table.to_dict("records"):
        market = {k: _plain(row[k]) for k in keys}
        cells += [Cell(int(row["draw"]), r, int(row["seed"]), market) for r in range(replicates)]
    return Block(name, int(root_seed), len(table), replicates, tuple(cells), table)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
