"""Typed, actionable errors.

Every error a user can cause derives from :class:`PartnerschapError`; the CLI prints its message
as one paragraph (what went wrong, where, what to do) instead of a traceback.
"""

from __future__ import annotations

from typing import Any

from . import i18n


class Msg:
    """A catalogue text not yet worded: its key (``errors.*``) and its parameters.

    A parameter may itself be a :class:`Msg`; it is worded in the same language. ``str()`` gives
    the English text, so ``str(exc)`` of an error stays English while the CLI words the same
    error in the user's language with :meth:`render`.

    >>> str(Msg("errors.report.not_folder", path="out"))
    'out is not a folder; give the folder of a report.'
    >>> Msg("errors.report.not_folder", path="out").render("nl")
    'out is geen map; geef de map van een rapport.'
    """

    __slots__ = ("key", "params")

    def __init__(self, key: str, /, **params: Any):
        self.key = key
        self.params = params

    def render(self, lang: str = "nl") -> str:
        """The text in ``lang`` (``nl`` or ``en``)."""
        return i18n.t(self.key, lang, **{k: v.render(lang) if isinstance(v, Msg) else v
                                         for k, v in self.params.items()})

    def __str__(self) -> str:
        return self.render("en")

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, **{self.params!r})"


class Joined(Msg):
    """Several texts joined by ``sep``, each worded in the language asked for.

    >>> str(Joined([Msg("errors.report.why.not_object"), "x"]))
    'it is not a JSON object; x'
    """

    __slots__ = ("parts", "sep")

    def __init__(self, parts: list[Any], sep: str = "; "):
        super().__init__("")
        self.parts = list(parts)
        self.sep = sep

    def render(self, lang: str = "nl") -> str:
        """The parts in ``lang``, joined."""
        return i18n.withheld(self.sep.join(p.render(lang) if isinstance(p, Msg) else str(p)
                                           for p in self.parts), lang)


class Replaced(Msg):
    """Another text with one string replaced, in every language it is worded in.

    For an error re-raised with a different name for a thing it quotes (a submitted file named
    by the path the user gave, not by its copy in the study), without losing its language.

    >>> text = Msg("errors.report.not_folder", path="/study/raw/ab12.csv")
    >>> Replaced(text, "/study/raw/ab12.csv", "ouders.csv").render("nl")
    'ouders.csv is geen map; geef de map van een rapport.'
    """

    __slots__ = ("inner", "old", "new")

    def __init__(self, inner: Msg | str, old: str, new: str):
        super().__init__("")
        self.inner, self.old, self.new = inner, old, new

    def render(self, lang: str = "nl") -> str:
        """The inner text in ``lang``, with ``old`` replaced by ``new``."""
        text = self.inner.render(lang) if isinstance(self.inner, Msg) else str(self.inner)
        # ``old`` as it was given, or as the inner text worded its placeholders in ``lang``
        for old in dict.fromkeys((self.old, i18n.withheld(self.old, lang))):
            text = text.replace(old, self.new)
        return i18n.withheld(text, lang)


class Count(Msg):
    """A count worded with the thousands separator of the language asked for.

    >>> Count(10000).render("nl"), str(Count(10000))
    ('10.000', '10,000')
    """

    __slots__ = ("value",)

    def __init__(self, value: int):
        super().__init__("")
        self.value = value

    def render(self, lang: str = "nl") -> str:
        """The count in ``lang``."""
        return i18n.integer(self.value, lang)


# pydantic's error types -> the catalogue (``errors.field.*``): what is wrong with one field of a
# file a person wrote (study.yaml, a project file, an instrument), in their language. The limit a
# message names comes from the error's ``ctx`` under the name given here.
_FIELD_TYPES: dict[str, tuple[str, str | None]] = {
    "missing": ("missing", None),
    "extra_forbidden": ("extra", None),
    "literal_error": ("one_of", "expected"),
    "enum": ("one_of", "expected"),
    "string_type": ("text", None),
    "int_type": ("integer", None),
    "int_parsing": ("integer", None),
    "int_from_float": ("integer", None),
    "float_type": ("number", None),
    "float_parsing": ("number", None),
    "finite_number": ("number", None),
    "bool_type": ("yes_no", None),
    "bool_parsing": ("yes_no", None),
    "greater_than_equal": ("at_least", "ge"),
    "greater_than": ("more_than", "gt"),
    "less_than_equal": ("at_most", "le"),
    "less_than": ("less_than", "lt"),
    "too_short": ("too_few", "min_length"),
    "too_long": ("too_many", "max_length"),
    "string_too_short": ("too_short", "min_length"),
    "string_too_long": ("too_long", "max_length"),
    "string_pattern_mismatch": ("pattern", None),
    "list_type": ("list", None),
    "tuple_type": ("list", None),
    "set_type": ("list", None),
    "dict_type": ("mapping", None),
    "model_type": ("mapping", None),
    "model_attributes_type": ("mapping", None),
    "date_type": ("date", None),
    "date_parsing": ("date", None),
    "date_from_datetime_parsing": ("date", None),
    "date_from_datetime_inexact": ("date", None),
}


def field_path(loc: Any) -> str:
    """Where in a file a problem is: ``scales[0].items`` for pydantic's ``("scales", 0, "items")``.

    >>> field_path(("scales", 0, "items")), field_path(())
    ('scales[0].items', '')
    """
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def field_problem(error: dict) -> Msg:
    """One of pydantic's validation errors (an item of ``ValidationError.errors()``) worded from
    the catalogue, never in pydantic's English: a type this package does not know reads as the
    generic ``errors.field.invalid``; a ``value_error`` raised with one of our errors keeps it.

    >>> field_problem({"type": "greater_than_equal", "loc": ("min_cell",), "ctx": {"ge": 1}}
    ...               ).render("nl")
    'moet minstens 1 zijn'
    >>> str(field_problem({"type": "no_such_type", "loc": ("x",), "msg": "Some English"}))
    'invalid value (check this field)'
    """
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, PartnerschapError) and cause.msg is not None:
        return cause.msg
    key, limit = _FIELD_TYPES.get(kind, ("invalid", None))
    if limit is None:
        return Msg(f"errors.field.{key}")
    value = ctx.get(limit, "")
    if isinstance(value, int) and not isinstance(value, bool):
        value = Count(value)
    elif limit == "expected":  # pydantic's "'nl' or 'en'": the choices, listed
        value = str(value).replace(" or ", ", ")
    return Msg(f"errors.field.{key}", limit=value)


def field_problems(exc: Any) -> list[tuple[str, Msg]]:
    """Every problem of a pydantic ``ValidationError``: ``(field path, message)``."""
    return [(field_path(err.get("loc", ())), field_problem(err)) for err in exc.errors()]


class WithheldReason(Msg):
    """Why the privacy firewall withheld a value (its English reason), worded in the language
    asked for.

    >>> WithheldReason("looks like a person's name").render("nl")
    'lijkt op een naam van een persoon'
    """

    __slots__ = ("reason",)

    def __init__(self, reason: str | None):
        super().__init__("")
        self.reason = reason or ""

    def render(self, lang: str = "nl") -> str:
        """The reason in ``lang``."""
        return i18n.withheld_reason(self.reason, lang)


class PartnerschapError(Exception):
    """Base class of all user-facing errors of this package.

    Raised with a :class:`Msg` as its first argument, the error keeps the message (``.msg``)
    so that :meth:`render` words it in either language; ``str(exc)`` is the English text.
    """

    def __init__(self, *args: Any):
        self.msg = args[0] if args and isinstance(args[0], Msg) else None
        if self.msg is not None:
            args = (str(self.msg), *args[1:])
        super().__init__(*args)

    def render(self, lang: str = "nl") -> str:
        """The message in ``lang``; an error raised with plain text keeps that text."""
        return self.msg.render(lang) if self.msg is not None else str(self)


class InstrumentError(PartnerschapError):
    """An instrument file is missing, unreadable or inconsistent.

    ``problems`` lists every problem found as ``(key, message)`` so a user can fix them all at once
    (the message in English; :meth:`render` words those given as :class:`Msg` in either language).
    """

    def __init__(self, source: str, problems: list[tuple[str | Msg, str | Msg]]):
        self.source = source
        # (key, English text): a problem may be given as a Msg, worded in either language
        self.problems = [(str(key), str(msg)) for key, msg in problems]
        lines = [Joined([source, key, msg] if key else [source, msg], ": ")
                 for key, msg in problems]
        head = Msg("errors.instrument.invalid", source=source, n=Count(len(problems)))
        super().__init__(Joined([head, *lines], "\n  "))


class InputError(PartnerschapError):
    """An input file (export, responses, config) cannot be used."""


class ParameterError(InputError, ValueError):
    """A public function was given an option or table it cannot take (``engine="x"``, a
    transition table of counts below 0, ...).

    Worded from the catalogue like every user error; still a :class:`ValueError`, as NumPy and
    SciPy raise for a bad argument, so callers that catch one keep working.
    """


class KeyMissingError(PartnerschapError):
    """No pseudonymisation key was given."""


class OutputError(PartnerschapError):
    """An output cannot be written where it was asked for (a protected input, an OS error, ...).

    Nothing was replaced: an earlier output at the same place, if any, is unchanged.
    """


class OutputBusyError(OutputError):
    """Another process is writing the same output right now."""


_OS_ADVICE = ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM", "EEXIST", "ENOTDIR",
              "EISDIR", "ENOTEMPTY", "ENAMETOOLONG", "EXDEV")
_DOING = {"writing": "errors.os.doing.writing", "creating the lock file": "errors.os.doing.lock"}


def os_error_message(exc: OSError, path: object, doing: str = "writing") -> Msg:
    """One paragraph for an OS error: what failed, on which path, and what to do.

    >>> import errno
    >>> str(os_error_message(OSError(errno.ENOSPC, "No space left on device"), "out/responses.csv"))
    'Could not finish writing out/responses.csv (No space left on device): the disk is full; ...'
    """
    import errno as _errno

    name = _errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or type(exc).__name__
    advice = Msg(f"errors.os.advice.{name if name in _OS_ADVICE else 'other'}")
    return Msg("errors.os.message", doing=Msg(_DOING[doing]) if doing in _DOING else doing,
               path=path, reason=reason, advice=advice)


class MinCellError(InputError):
    """A minimum cell size (``min_cell``) outside 1..1000 was given."""


class DisclosureError(PartnerschapError):
    """The disclosure audit found a suppressed number that published numbers determine.

    Raised by a report build before anything is published; ``leaks`` lists the paths.
    """

    def __init__(self, message: str, leaks: list | None = None):
        self.leaks = list(leaks or [])
        super().__init__(message)
