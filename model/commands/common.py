"""Former home of the shared command helpers, kept only for the commands not yet moved.

The helpers now live by job: argument types and options in :mod:`model.commands.options`,
terminal formatting in :mod:`model.formatting`, JSON writing in :mod:`model.outputs`.
"""

from typing import Any

from model.commands.options import (  # noqa: F401 - re-exported for the commands above
    add_overwrite_argument,
    add_set_argument,
    load_from_args,
    non_negative_int,
    overrides_from,
    positive_int,
    require_file,
)
from model.outputs import write_json  # noqa: F401 - re-exported for the commands


def format_value(value: Any) -> str:
    """A KPI value for the terminal: thousands separators, 3 significant decimals."""
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"
