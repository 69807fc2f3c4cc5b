"""The one exception type for bad input, so the CLI can print it cleanly and exit 2."""

from __future__ import annotations


class InputError(Exception):
    """Bad user input: a scenario, an override, an order export, a sweep spec.

    The message must name the file, the field (dotted path or column and line), the bad value
    and what is allowed, so a user can fix it without reading a traceback.
    """

    def __init__(self, message: str, *, file: str | None = None) -> None:
        self.file = file
        super().__init__(f"{file}: {message}" if file else message)
