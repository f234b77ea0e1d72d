"""Typed, actionable errors.

Every error a user can cause derives from :class:`PartnerschapError`; the CLI prints its message
as one paragraph (what went wrong, where, what to do) instead of a traceback.
"""

from __future__ import annotations


class PartnerschapError(Exception):
    """Base class of all user-facing errors of this package."""


class InstrumentError(PartnerschapError):
    """An instrument file is missing, unreadable or inconsistent.

    ``problems`` lists every problem found as ``(key, message)`` so a user can fix them all at once.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {key}: {msg}" if key else f"{source}: {msg}" for key, msg in problems]
        head = f"Instrument {source} is not valid ({len(problems)} problem(s)):"
        super().__init__(head + "\n  " + "\n  ".join(lines))


class InputError(PartnerschapError):
    """An input file (export, responses, config) cannot be used."""


class KeyMissingError(PartnerschapError):
    """No pseudonymisation key was given."""


class MinCellError(InputError):
    """A minimum cell size (``min_cell``) outside 1..1000 was given."""


class DisclosureError(PartnerschapError):
    """The disclosure audit found a suppressed number that published numbers determine.

    Raised by a report build before anything is published; ``leaks`` lists the paths.
    """

    def __init__(self, message: str, leaks: list | None = None):
        self.leaks = list(leaks or [])
        super().__init__(message)
