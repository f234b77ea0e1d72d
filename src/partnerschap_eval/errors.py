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


class OutputError(PartnerschapError):
    """An output cannot be written where it was asked for (a protected input, an OS error, ...).

    Nothing was replaced: an earlier output at the same place, if any, is unchanged.
    """


class OutputBusyError(OutputError):
    """Another process is writing the same output right now."""


_OS_ADVICE = {
    "ENOSPC": "the disk is full; free some space (or choose a folder on another disk) and run "
              "again",
    "EDQUOT": "the disk quota is used up; free some space and run again",
    "EFBIG": "the file grew beyond the size this system allows (a file-size limit or a full "
             "disk); free space or raise the limit and run again",
    "EROFS": "the file system is read-only; choose a writable folder",
    "EACCES": "choose a folder you may write to, or fix its permissions",
    "EPERM": "the operation is not permitted here; choose a folder you may write to",
    "EEXIST": "something already exists at that place; move it away or choose another name",
    "ENOTDIR": "a part of the path is a file, not a folder; correct the path",
    "EISDIR": "that is a folder, not a file; give a file name",
    "ENOTEMPTY": "the folder is not empty; choose a new or empty folder",
    "ENAMETOOLONG": "the name is too long; choose a shorter path",
    "EXDEV": "the folder lies on another file system than its parent; choose another folder",
}


def os_error_message(exc: OSError, path: object, doing: str = "writing") -> str:
    """One paragraph for an OS error: what failed, on which path, and what to do.

    >>> import errno
    >>> os_error_message(OSError(errno.ENOSPC, "No space left on device"), "out/responses.csv")
    'Could not finish writing out/responses.csv (No space left on device): the disk is full; ...'
    """
    import errno as _errno

    name = _errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or type(exc).__name__
    advice = _OS_ADVICE.get(name, "check the path and the disk, then run again")
    return (f"Could not finish {doing} {path} ({reason}): {advice}. Nothing was replaced: an "
            f"earlier output at that place, if any, is unchanged.")


class MinCellError(InputError):
    """A minimum cell size (``min_cell``) outside 1..1000 was given."""


class DisclosureError(PartnerschapError):
    """The disclosure audit found a suppressed number that published numbers determine.

    Raised by a report build before anything is published; ``leaks`` lists the paths.
    """

    def __init__(self, message: str, leaks: list | None = None):
        self.leaks = list(leaks or [])
        super().__init__(message)
