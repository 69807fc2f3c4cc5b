"""The seasonal calendar, as the fitting code uses it: it lives in :mod:`model.calendar`.

The simulator and the purchase models share one definition of the profile, the festival
windows and the Spring Festival dates; this module re-exports it for the fitting package.
"""

from model.calendar import (
    DEFAULT_FESTIVALS,
    MONTH_DAYS,
    SPRING_FESTIVAL,
    Festival,
    SeasonalProfile,
    normalise_months,
    operational_time,
)

__all__ = [
    "DEFAULT_FESTIVALS",
    "MONTH_DAYS",
    "SPRING_FESTIVAL",
    "Festival",
    "SeasonalProfile",
    "normalise_months",
    "operational_time",
]
