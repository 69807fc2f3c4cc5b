"""One ledger for every yuan (docs/model.md §7.11), in integer fen: the identity holds to the cent.

contribution = gross profit − platform fees − marketing cost, where
marketing cost = acquisition ads + retargeting ads + coupon discounts + diversion incentives
+ referral rewards + commissions + staff + messages + package join cards + tools. Each amount is
rounded to the fen once, when it is booked; totals are integer sums, so daily lines add up to
the cumulative lines exactly.

Revenue is what customers paid (after discounts). Gross profit is the margin on the *list*
value of the goods, revenue + discounts: a coupon does not make the goods cheaper to make, so
a 20%-off order at a 60% margin earns 0.6 − 0.2 = 40% of list, not 0.6 × 0.8 = 48%; the
discount is booked as a marketing cost (``cost_discount``), as operators budget coupons.
Retargeting (``cost_retargeting``) is the ad spend a platform charges to keep a brand in front
of its own past buyers, booked with each repeat platform order.
"""

from __future__ import annotations

import numpy as np

COST_LINES = (
    "cost_ad",
    "cost_retargeting",
    "cost_discount",
    "cost_incentive",
    "cost_referral",
    "cost_commission",
    "cost_staff",
    "cost_messaging",
    "cost_cards",
    "cost_tools",
)
BOOKED_LINES = ("revenue_public", "revenue_private", "platform_fees", *COST_LINES)
DERIVED_LINES = ("revenue", "gross_profit", "cost_marketing", "contribution")
LINES = BOOKED_LINES + DERIVED_LINES


def to_fen(yuan: float) -> int:
    """Round an amount in yuan to whole fen (half away from zero is irrelevant at this scale)."""
    return int(round(yuan * 100))


class Ledger:
    """Daily books in fen. ``book`` during the day, ``close_day`` at its end."""

    def __init__(self, days: int, gross_margin: float) -> None:
        self.gross_margin = gross_margin
        self.daily = {line: np.zeros(days, dtype=np.int64) for line in LINES}
        self._today = dict.fromkeys(BOOKED_LINES, 0)

    def book(self, line: str, fen: int) -> None:
        """Add an amount (fen) to one of today's booked lines."""
        if fen < 0:
            raise ValueError(f"negative amount {fen} booked on {line}")
        self._today[line] += int(fen)

    def close_day(self, day: int) -> dict[str, int]:
        """Freeze today's lines, derive gross profit, marketing cost and contribution."""
        t = self._today
        revenue = t["revenue_public"] + t["revenue_private"]
        # The margin is on the list value: revenue plus the discounts given (module docstring).
        gross_profit = int(round((revenue + t["cost_discount"]) * self.gross_margin))
        marketing = sum(t[line] for line in COST_LINES)
        closed = dict(t)
        closed.update(
            revenue=revenue,
            gross_profit=gross_profit,
            cost_marketing=marketing,
            contribution=gross_profit - t["platform_fees"] - marketing,
        )
        for line, fen in closed.items():
            self.daily[line][day] = fen
        self._today = dict.fromkeys(BOOKED_LINES, 0)
        return closed

    def totals(self) -> dict[str, int]:
        """Cumulative fen per line over the closed days."""
        return {line: int(values.sum()) for line, values in self.daily.items()}
