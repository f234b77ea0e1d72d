"""The ``partnerschap-eval`` command's entry point: ``score`` starts reading its input first.

A command line interface costs a third of a second of imports (typer, rich, pydantic, the
message catalogue) before the command runs. ``score`` of a large CSV file has its parse started
before those imports (after NumPy and Arrow only): Arrow's threads parse the file without the
GIL while the rest loads, and the command takes the parsed table when it gets there
(:func:`partnerschap_eval._io.prefetch_table_csv`: keyed by the file's path, size and
modification time, so a file that changed in between is read again). It is a read and nothing
else: the command checks its arguments, its output and the file exactly as it would otherwise,
and a command line this module misreads only costs the time of a read.
"""

from __future__ import annotations

import sys

from ._contract import CODED_KEYS, KEY_COLUMNS

#: ``score``'s options that take a value (``--instrument X``; ``--instrument=X`` is one word)
_SCORE_VALUES = ("--instrument", "--out", "--waves", "--lang")


def responses_argument(args: list[str]) -> str | None:
    """The RESPONSES argument of a ``score`` command line, or None.

    >>> responses_argument(["score", "--instrument", "x", "r.csv", "--out", "s.csv"])
    'r.csv'
    >>> responses_argument(["evaluate", "r.csv"]) is None
    True
    """
    if not args or args[0] != "score":
        return None
    words = iter(args[1:])
    for word in words:
        if word in _SCORE_VALUES:
            next(words, None)
        elif word == "--":
            return next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def main() -> None:
    """Entry point of the ``partnerschap-eval`` command (see the module's text)."""
    path = responses_argument(sys.argv[1:])
    early = path is not None and path.lower().endswith(".csv")
    if early:
        from ._io import prefetch_table_csv

        prefetch_table_csv(path, KEY_COLUMNS, CODED_KEYS)
    from .cli import main as cli_main

    if not early:
        cli_main()
        return
    try:
        cli_main()
    except SystemExit as exc:
        _leave(exc.code)
    _leave(0)


def _leave(code: object) -> None:
    """End ``score`` as ``sys.exit(code)`` would, without the interpreter's teardown.

    Tearing down the modules of a command line (typer, rich, pydantic, Arrow) took a tenth to a
    fifth of a second after ``score`` had finished. The command has nothing left to do at exit:
    its output is written, renamed into place and closed, its threads are done (an early read
    that was not needed is only dropped), and it registers no exit handlers; what it printed
    is flushed here.
    """
    import os

    if code is not None and not isinstance(code, int):  # as the interpreter: text, then 1
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing more to say
            pass
    os._exit(code or 0)
