"""The Python entry point for notebooks and other code: ``simulate``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.metrics import kpis
from model.results import SimulationResult
from model.scenario.schema import Scenario
from model.simulation import PrivateDomainModel


def simulate(
    scenario: Scenario,
    seed: int | np.random.SeedSequence | None = None,
    *,
    days: int | None = None,
    strategy: str | None = None,
    replicate: int = 0,
    record_orders: bool = False,
    progress: bool = False,
) -> SimulationResult:
    """Run one scenario once.

    Args:
        scenario: a validated scenario (``load_scenario(path)``).
        seed: an int root seed or a ``SeedSequence`` (``model.seeds.replicate_seed``);
            defaults to ``scenario.sim.seed``.
        days: horizon override (defaults to ``scenario.sim.days``).
        strategy: label for tidy output (defaults to the scenario's name).
        replicate: replicate index for tidy output.
        record_orders: keep every order (for fitting tests and exports).
        progress: show a progress bar over days.

    Returns:
        The run's results: ``to_frame()``, ``summary()``, ``plot()``.
    """
    if days is not None and days != scenario.sim.days:
        scenario = scenario.model_copy(
            update={"sim": scenario.sim.model_copy(update={"days": days})}
        )
    model = PrivateDomainModel(scenario, seed, record_orders=record_orders)
    model.run(progress=progress)
    daily = pd.DataFrame(model.recorder.as_dict())
    daily["day"] = daily["day"].astype(np.int32)
    # The calendar date of each day (calendar.start_date + day) indexes the table: every column
    # stays a number (comparisons and sweeps read them as the day's metrics), and the tidy
    # frame and the daily files carry it as a column.
    daily.index = pd.DatetimeIndex(scenario.calendar.dates(0, len(daily)), name="date")
    op = model.operation
    holders = op.holders if op else []
    guides = pd.DataFrame(
        [
            {
                "guide": g.index,
                "hired_day": g.hired_day,
                "released_day": g.released_day,
                "gmv": g.gmv_fen / 100,
                "commission": g.commission_fen / 100,
                "incremental_contribution": g.incremental_fen / 100,
                "salary": g.salary_fen / 100,
                "profit": g.profit_fen / 100,
                "members_now": int(op.holder_members[g.index]),
            }
            for g in (op.guides if op else [])
        ]
    )
    return SimulationResult(
        scenario_name=scenario.name,
        strategy=strategy or scenario.name,
        replicate=replicate,
        seed=model.seed_label,
        daily=daily,
        kpis=kpis(
            model.recorder.as_dict(),
            model.pop,
            holders if op else None,
            residual_value=model.residual_value(),
            discount_rate_per_year=scenario.market.discount_rate_per_year,
        ),
        scenario=scenario.model_dump(mode="json"),
        guides=guides,
        orders=model.orders_frame() if record_orders else None,
    )
