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
