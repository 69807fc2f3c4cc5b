"""Former home of the shared command helpers, kept only for the commands not yet moved.

The helpers now live by job: argument types and options in :mod:`model.commands.options`,
terminal formatting in :mod:`model.formatting`, JSON writing in :mod:`model.outputs`.
``compare``, ``sweep`` and ``sensitivity`` still import from here; delete this module once they
import from ``options``.
"""

from model.commands.options import (  # noqa: F401 - re-exported for the commands above
    add_overwrite_argument,
    add_set_argument,
    load_from_args,
    non_negative_int,
    overrides_from,
    positive_int,
    require_file,
)
