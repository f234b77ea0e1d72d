"""The message catalogue: every text a person reads, in Dutch (default) and English.

Texts live in gettext catalogues, one ``.po`` file per domain and language under
``src/partnerschap_eval/locale/<lang>/LC_MESSAGES/<domain>.po``. A message id is a dotted key
whose first part names the domain (``study.file_head`` lives in ``study.po``), so that each area
of the package keeps its own file. The translation (``msgstr``) may hold ``str.format``
placeholders (``{file}``, ``{n}``); both languages must use the same ones, which
``tests/test_i18n.py`` checks for every key.

Numbers, percentages and dates are formatted by Babel with the ``nl_NL`` and ``en_GB`` locales
(decimal comma and ``1.234,5`` in Dutch), never by hand.

This module sits at the bottom of the package (it imports nothing of it), so every layer —
ingest, study, results, report, the CLI and the portal — can word its texts here.

Examples
--------
>>> number(1234.5, "nl", digits=1)
'1.234,5'
>>> number(1234.5, "en", digits=1)
'1,234.5'
>>> percent(0.256, "nl")
'26%'
>>> check_lang("EN")
'en'
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
import string
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "LANGS",
    "LOCALES",
    "MissingMessageError",
    "check_lang",
    "date",
    "domains",
    "env_lang",
    "integer",
    "keys",
    "number",
    "percent",
    "placeholders",
    "t",
    "withheld",
    "withheld_reason",
]

LANGS: tuple[str, ...] = ("nl", "en")
ENV_LANG = "PARTNERSCHAP_EVAL_LANG"
LOCALES: dict[str, str] = {"nl": "nl_NL", "en": "en_GB"}
_DIR = Path(__file__).resolve().parent / "locale"


class MissingMessageError(LookupError):
    """A message key that no catalogue holds: a programming error, caught by the catalogue tests."""


def check_lang(lang: object) -> str:
    """Return ``lang`` as one of :data:`LANGS` (case and spaces ignored) or raise ``ValueError``.

    The error text itself is not translated: it is raised before a language is known.
    """
    code = str(lang).strip().lower() if lang is not None else ""
    if code not in LANGS:
        raise ValueError(f"unknown language {str(lang)[:20]!r}: choose one of {', '.join(LANGS)}")
    return code


def env_lang() -> str:
    """The language of the command line: ``PARTNERSCHAP_EVAL_LANG`` (``nl`` or ``en``).

    Dutch when the variable is unset or names no known language: the people who run the
    commands are Dutch-speaking school staff and researchers.
    """
    import os

    code = (os.environ.get(ENV_LANG) or "").strip().lower()
    return code if code in LANGS else "nl"


def domains() -> list[str]:
    """The catalogue domains (``.po`` file names) present for Dutch, sorted."""
    return sorted(p.stem for p in (_DIR / "nl" / "LC_MESSAGES").glob("*.po"))


@functools.cache
def _catalogue(domain: str, lang: str) -> dict[str, str]:
    """A domain's messages: from its compiled ``.json`` beside the ``.po`` when that was
    compiled from the ``.po`` as it is now (the same sha256), else from the ``.po`` itself.

    Reading the ``.po`` takes Babel (40 ms to import) and its parser (20 ms for the command
    line's domain): every command paid that at start. ``make catalogues`` compiles the files;
    ``tests/test_catalogue_compiled.py`` fails when one is missing or stale.
    """
    import hashlib
    import json

    path = _DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    try:
        source = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        compiled = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        if compiled["po_sha256"] == hashlib.sha256(source).hexdigest():
            return dict(compiled["messages"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no compiled file, or an older one: the .po is the source
    return parse_po(source, lang, domain)


def parse_po(source: bytes, lang: str, domain: str) -> dict[str, str]:
    """The translated messages of a ``.po`` file's bytes, read by Babel (key -> text)."""
    import io

    from babel.messages.pofile import read_po  # lazy: Babel costs ~40 ms to import

    cat = read_po(io.BytesIO(source), locale=LOCALES[lang], domain=domain)
    return {str(m.id): str(m.string) for m in cat if m.id and m.string}


def compile_catalogues() -> list[Path]:
    """Write each ``.po`` file's messages to the ``.json`` beside it (with the ``.po``'s sha256);
    returns the files written. ``make catalogues`` runs it after a ``.po`` file changed."""
    import hashlib
    import json

    written = []
    for po in sorted(_DIR.glob("*/LC_MESSAGES/*.po")):
        source = po.read_bytes()
        data = {"po_sha256": hashlib.sha256(source).hexdigest(),
                "messages": parse_po(source, po.parents[1].name, po.stem)}
        target = po.with_suffix(".json")
        text = json.dumps(data, ensure_ascii=False, indent=0, sort_keys=True) + "\n"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            written.append(target)
    return written


def keys(lang: str = "nl") -> dict[str, str]:
    """Every key of every domain with its text in ``lang``."""
    lang = check_lang(lang)
    out: dict[str, str] = {}
    for domain in domains():
        out.update(_catalogue(domain, lang))
    return out


def placeholders(text: str) -> set[str]:
    """The ``str.format`` field names used in ``text``.

    >>> sorted(placeholders("{n} rijen in {file}"))
    ['file', 'n']
    """
    return {f.split(".")[0].split("[")[0] for _, f, _, _ in string.Formatter().parse(text) if f}


def t(key: str, lang: str = "nl", /, **params: Any) -> str:
    """The text of message ``key`` in ``lang``, with ``params`` filled in.

    Parameters
    ----------
    key : str
        Dotted message id; its first part is the domain (the ``.po`` file).
    lang : {"nl", "en"}
        Language; Dutch by default.
    **params
        Values for the placeholders. Format numbers with :func:`number` first.

    Raises
    ------
    MissingMessageError
        When no catalogue holds ``key`` in ``lang``.
    """
    lang = check_lang(lang)
    domain = key.split(".", 1)[0]
    text = _catalogue(domain, lang).get(key)
    if text is None:
        raise MissingMessageError(f"no message {key!r} in the {lang} catalogue ({domain}.po)")
    # a value the privacy firewall withheld reads in the message's language (params only: the
    # catalogue's own texts hold no placeholder)
    return withheld(text.format(**params), lang) if params else text


# -- the firewall's placeholders ------------------------------------------------------------------
# The privacy firewall (privacy.screen) writes ``<withheld: looks like a phone number>`` for a text
# it keeps out, and ``unknown value (withheld)`` for a school, wave or role cell. In files
# (ingest_log.json, rejected.csv's cells, the study store, results.json) they stay in English:
# stable, language-neutral contents that reproduce byte for byte. In a text worded for a person
# (every t() with parameters, errors.Msg) they are worded in that text's language. The reasons are
# keys ``core.withheld_reason.*`` / ``core.withheld_what.*`` whose English text is the firewall's
# own wording, exactly; a reason the catalogue does not know reads as a generic one, never English.
_PLACEHOLDER = re.compile(r"<withheld: ([^<>]{1,100})>")
_CHARACTERS = re.compile(r"(\d+) characters")
_LOOKS_LIKE = re.compile(r"looks like (.+)")
# The ingest's own names for a column without a usable header, kept in English in its files
# (ingest_log.json, the study store) like the placeholders: ``(column 3)`` for an empty header
# (ingest.layouts.unique_names), ``column 3 <withheld: ...>`` for a header the firewall withholds
# (ingest.pipeline._header). In a text for a person they read as ``core.column.*``.
_BLANK_COLUMN = re.compile(r"\(column (\d+)\)")
_HIDDEN_COLUMN = re.compile(r"\bcolumn (\d+)(?= <withheld: )")


@functools.cache
def _english(prefix: str) -> dict[str, str]:
    """English text -> key for the catalogue keys that start with ``prefix``."""
    return {text: key for key, text in _catalogue("core", "en").items() if key.startswith(prefix)}


def withheld_reason(reason: str, lang: str = "nl") -> str:
    """Why the firewall withheld a text (``privacy.Screened.reason``, English) in ``lang``.

    >>> withheld_reason("looks like an e-mail address", "nl"), withheld_reason("?", "en")
    ('lijkt op een e-mailadres', 'possibly personal data')
    """
    if (found := _CHARACTERS.fullmatch(reason)) is not None:
        return t("core.withheld_reason.characters", lang, n=integer(int(found[1]), lang))
    if (found := _LOOKS_LIKE.fullmatch(reason)) is not None and \
            found[1] in _english("core.withheld_what."):
        return t("core.withheld_reason.looks_like", lang,
                 what=t(_english("core.withheld_what.")[found[1]], lang))
    key = _english("core.withheld_reason.").get(reason)
    return t(key if key else "core.withheld_reason.other", lang)


def withheld(text: str, lang: str = "nl") -> str:
    """``text`` with the firewall's placeholders, and the ingest's names of columns without a
    usable header, worded in ``lang`` (for a person, not a file).

    >>> withheld("raw/<withheld: looks like a person's name>.csv", "nl")
    'raw/<achtergehouden: lijkt op een naam van een persoon>.csv'
    >>> withheld("school unknown value (withheld)", "nl")
    'school onbekende waarde (achtergehouden)'
    >>> withheld("<withheld: 90 characters>", "en")
    '<withheld: 90 characters>'
    >>> withheld("Naam, (column 2), column 3 <withheld: 12 characters>", "nl")
    'Naam, (kolom 2), kolom 3 <achtergehouden: 12 tekens>'
    """
    lang = check_lang(lang)
    if lang == "en" or ("withheld" not in text and "(column " not in text):
        return text
    if "column " in text:
        text = _BLANK_COLUMN.sub(lambda found: t("core.column.blank", lang, n=found[1]), text)
        text = _HIDDEN_COLUMN.sub(lambda found: t("core.column.hidden", lang, n=found[1]), text)
        if "withheld" not in text:
            return text
    text = _PLACEHOLDER.sub(lambda found: t("core.withheld_placeholder", lang,
                                            reason=withheld_reason(found[1], lang)), text)
    return text.replace(_catalogue("core", "en")["core.withheld"], t("core.withheld", lang))


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def number(x: float | int | None, lang: str = "nl", digits: int = 2, *, missing: str = "–") -> str:
    """``x`` with ``digits`` decimals in the conventions of ``lang`` (Babel, ``nl_NL``/``en_GB``).

    >>> number(-0.125, "nl")
    '−0,12'
    >>> number(None)
    '–'
    """
    from babel.numbers import format_decimal

    if _missing(x):
        return missing
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    text = format_decimal(round(float(x), digits) + 0.0, format=pattern, locale=LOCALES[check_lang(lang)])
    # A true minus sign: a hyphen before a number reads as a dash in Dutch typesetting.
    return text.replace("-", "\u2212")


def integer(x: int | None, lang: str = "nl", *, missing: str = "–") -> str:
    """A count with the thousands separator of ``lang``.

    >>> integer(12345, "nl"), integer(12345, "en")
    ('12.345', '12,345')
    """
    if _whole(x):
        # Babel's grouping for a whole number, without loading Babel's locale data (40 ms at
        # the end of a command); tests/test_i18n_numbers.py holds it to Babel's output
        text = f"{int(x):,}".replace(",", _GROUP[check_lang(lang)])
        return text.replace("-", "\u2212")
    return number(x, lang, digits=0, missing=missing)


#: The thousands separator of each language's locale (``babel.numbers.get_group_symbol``).
_GROUP = {"nl": ".", "en": ","}


def _whole(x: object) -> bool:
    """Whether ``x`` is an int or a NumPy integer (not a bool), without importing NumPy."""
    if isinstance(x, bool):
        return False
    numpy = sys.modules.get("numpy")
    return isinstance(x, int) or (numpy is not None and isinstance(x, numpy.integer))


def percent(x: float | None, lang: str = "nl", digits: int = 0, *, missing: str = "–") -> str:
    """A proportion (0–1) as a percentage in the conventions of ``lang``.

    >>> percent(0.5, "en"), percent(0.125, "nl", digits=1)
    ('50%', '12,5%')
    """
    from babel.numbers import format_percent

    if _missing(x):
        return missing
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    text = format_percent(float(x), format=pattern, locale=LOCALES[check_lang(lang)])
    return text.replace("-", "\u2212")


def date(value: _dt.date | _dt.datetime | str | None, lang: str = "nl", fmt: str = "long",
         *, missing: str = "–") -> str:
    """A date in words in ``lang`` (``"2 december 2026"``, ``"2 December 2026"``).

    ``value`` may be an ISO 8601 string; a time part is ignored.

    >>> date("2026-12-02", "nl"), date("2026-12-02", "en")
    ('2 december 2026', '2 December 2026')
    """
    from babel.dates import format_date

    if value is None or value == "":
        return missing
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, _dt.datetime):
        value = value.date()
    return format_date(value, format=fmt, locale=LOCALES[check_lang(lang)])
