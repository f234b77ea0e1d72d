"""Privacy by design: keyed pseudonyms, PII detection, the output firewall and small-cell
suppression.

The output firewall (:func:`screen`) is the one gate every text from an input passes before it
may reach an output — a file's bytes, a file name, a message: declared values (roles, waves,
schools) and harmless shapes pass, anything else is withheld with a reason that never quotes it.

Identifiers are replaced by ``HMAC-SHA-256(key, identifier)``: the same person links across waves
and exports, and without the project key nobody can recompute or reverse a pseudonym (unlike a
plain hash, which can be brute-forced over the small space of pupil numbers).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._io import atomic_path
from .._safe_read import read_limited
from .._validate import MAX_MIN_CELL, check_min_cell  # noqa: F401 (the privacy face)
from ..errors import InputError, Joined, KeyMissingError, Msg

if TYPE_CHECKING:  # pandas is imported where a table is read: `keygen` never needs it
    import pandas as pd

KEY_ENV = "PARTNERSCHAP_EVAL_KEY"
#: Key used by ``partnerschap-eval demo`` only; it is public and protects nothing.
DEMO_KEY = b"partnerschap-eval demo key (public, synthetic data only)"
DEFAULT_MIN_CELL = 10
#: Roles that are professionals: never reported per school (Contract 5).
PROFESSIONAL_ROLES = frozenset({"teacher", "youthworker", "coordinator"})

#: A key file written by :func:`keygen` has 65 bytes; a longer file is not a key file.
MAX_KEY_FILE_BYTES = 4096
#: Hex digits of a pseudonym after ``p-``: 80 bits, no collisions in any realistic project.
PSEUDONYM_HEX = 20


def load_key(key_file: str | os.PathLike[str] | None = None) -> bytes:
    """Return the project key from ``key_file`` or the ``PARTNERSCHAP_EVAL_KEY`` variable.

    A ``~`` at the start of ``key_file`` is the home folder (``load_key("~/wish.key")``), as in
    a shell.
    """
    if key_file is not None:
        key_file = os.path.expanduser(key_file)
        try:  # bounded: a key is 65 bytes; a wrong path (a data file, /dev/zero) is not read whole
            key = read_limited(key_file, MAX_KEY_FILE_BYTES, Msg("errors.what.key_file")).strip()
        except InputError as exc:
            raise KeyMissingError(Msg("errors.privacy.key_file", problem=exc.msg or str(exc))
                                  ) from None
    else:
        key = os.environ.get(KEY_ENV, "").encode("utf-8").strip()
    if len(key) < 16:
        raise KeyMissingError(Msg("errors.privacy.no_key", env=KEY_ENV))
    return key


def keygen(path: str | os.PathLike[str]) -> Path:
    """Write a new random 256-bit key (hex) to ``path`` with file mode 0600; refuse to overwrite.

    A ``~`` at the start of ``path`` is the home folder, as in :func:`load_key`.
    """
    path = Path(path).expanduser()
    if path.exists():
        raise KeyMissingError(Msg("errors.privacy.key_exists", path=path))
    with atomic_path(path) as tmp:
        os.chmod(tmp, 0o600)
        tmp.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
    os.chmod(path, 0o600)
    return path


def _hmac_hex(ids: Iterable[bytes], key: bytes) -> list[str]:
    """Full hex ``HMAC-SHA-256(key, id)`` of each id, continuing from precomputed key states.

    Equal to :func:`hmac.new` (RFC 2104: ``H((K xor opad) || H((K xor ipad) || m))``), about
    twice as fast: the key's inner and outer blocks are hashed once, every id starts from copies.
    """
    block = hashlib.sha256().block_size
    k = hashlib.sha256(key).digest() if len(key) > block else key
    k = k.ljust(block, b"\0")
    inner_copy = hashlib.sha256(bytes(b ^ 0x36 for b in k)).copy
    outer_copy = hashlib.sha256(bytes(b ^ 0x5C for b in k)).copy
    out: list[str] = []
    append = out.append
    for message in ids:
        h = inner_copy()
        h.update(message)
        o = outer_copy()
        o.update(h.digest())
        append(o.hexdigest())
    return out


def pseudonyms(ids: Sequence[str], key: bytes) -> list[str]:
    """``"p-"`` + the first 80 bits (hex) of ``HMAC-SHA-256(key, id)`` for each id, as given.

    Callers pass *distinct*, already normalised ids (see :func:`pseudonymise`).

    >>> import hmac, hashlib
    >>> pseudonyms(["0012"], b"k" * 16)[0] == "p-" + hmac.new(b"k" * 16, b"0012",
    ...                                                      hashlib.sha256).hexdigest()[:20]
    True
    """
    return ["p-" + h[:PSEUDONYM_HEX] for h in _hmac_hex((t.encode("utf-8") for t in ids), key)]


def pseudonym_array(ids, key: bytes):  # (Sequence[str] | pyarrow.Array) -> pyarrow.StringArray
    """:func:`pseudonyms` as an Arrow string array (prefix and cut done in C++; for big tables)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(ids, pa.Array):
        messages = ids.cast(pa.binary()).to_pylist()  # UTF-8 bytes straight from Arrow
    else:
        messages = [t.encode("utf-8") for t in ids]
    digests = pa.array(_hmac_hex(messages, key), type=pa.string())
    return pc.binary_join_element_wise("p-", pc.utf8_slice_codeunits(digests, 0, PSEUDONYM_HEX),
                                       "")


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed pseudonyms: ``HMAC-SHA-256(key, normalised id)``, first 80 bits in hex.

    Ids are normalised by stripping surrounding white space only, so ``"0012"`` and ``"12"`` stay
    different people. Each distinct id is hashed once. Missing values stay missing.

    >>> import pandas as pd
    >>> pseudonymise(pd.Series(["a1", " a1 ", None]), b"k" * 16).tolist()[:2]
    ['p-...', 'p-...']
    >>> s = pseudonymise(pd.Series(["a1", " a1 "]), b"k" * 16); s[0] == s[1]
    True
    """
    import pandas as pd

    present = values.notna()
    texts = values[present].astype(str).str.strip()
    codes, uniques = pd.factorize(texts)
    names = np.asarray(pseudonyms([str(u) for u in uniques], key), dtype=object)
    out = pd.Series(None, index=values.index, dtype=object)
    if len(codes):
        out[present] = names[codes]
    return out


def safe_log_value(value: object, max_chars: int = 40) -> str:
    """An answer as it may appear in the ingest log: short, and never personal data.

    Answers that were not understood are logged so a school can fix them, but the log is an
    output too (Contract 5): this is :func:`screen` of kind ``"answer"`` — text that looks like
    an e-mail address, phone number, BSN or other long number, IP address, postcode, street
    address or a person's name, and anything longer than ``max_chars``, is replaced by a
    placeholder.

    >>> safe_log_value("7"), safe_log_value("bel 06-12345678"), safe_log_value("x" * 90)
    ('7', '<withheld: looks like a phone number>', '<withheld: 90 characters>')
    >>> safe_log_value("Jan de Vries"), safe_log_value("Kerkstraat 12")
    ("<withheld: looks like a person's name>", '<withheld: looks like a street address>')
    """
    return screen(value, "answer", max_chars=max_chars).text


# -- PII heuristics ------------------------------------------------------------------------------
# The look-behind lets a match start only where a run of local-part characters starts: without
# it, a long cell without "@" is retried from every position (quadratic: 40 s for 100,000
# digits); with it the search is linear, and it finds an address exactly when the plain
# pattern does (a match inside a run extends to the run's start).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"(?:\+31|0031|\b0)[\s-]?(?:\d[\s-]?){8,9}\b")
_BSN = re.compile(r"^\d{9}$")
_IPV4 = re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")
_IPV6 = re.compile(r"^[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}$", re.IGNORECASE)
_POSTCODE = re.compile(r"^[1-9]\d{3}\s?[A-Za-z]{2}$")
_POSTCODE_IN = re.compile(r"\b[1-9]\d{3}\s?[A-Z]{2}\b")
_PII_HEADER = re.compile(
    r"naam|name|e-?mail|mail|telefoon|phone|mobiel|adres|address|straat|street|postcode|"
    r"zip ?code|woonplaats|geboorte|birth|bsn|burgerservice|ip.?add|ip-adres|opmerking|"
    r"toelichting|comment|remark|feedback|latitude|longitude|breedtegraad|lengtegraad|"
    r"free.?text|vrije tekst|open vraag|open antwoord|anders, namelijk|other, please specify|"
    r"please specify|namelijk",
    re.IGNORECASE,
)
# Name particles that stay lower case in Dutch, Flemish, German, French, Arabic ... names.
_PARTICLES = {"van", "de", "der", "den", "het", "ter", "ten", "te", "in", "'t", "t", "el", "al",
              "da", "di", "du", "la", "le", "von", "op", "bin", "ben", "ibn", "dos", "das", "del",
              "y", "zu", "uit", "aan", "bij", "on"}
_NAME_WORD = re.compile(r"^[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:[-'][A-ZÀ-ÖØ-Þa-zß-öø-ÿ][a-zß-öø-ÿ]+)*$")


def _bsn_valid(text: str) -> bool:
    # Dutch citizen service numbers pass the '11-proof' (elfproef).
    digits = [int(c) for c in text]
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return total % 11 == 0


def _looks_like_name(text: str) -> bool:
    words = text.replace(",", " ").split()
    if not 2 <= len(words) <= 5:
        return False
    capital = 0
    for w in words:
        if w.casefold() in _PARTICLES:
            continue
        if not _NAME_WORD.match(w):
            return False
        capital += 1
    return capital >= 2


def pii_reason(header: str, values: pd.Series | Sequence[object], text: str | None = None) -> str | None:
    """Why a column looks like personal data, or None.

    Looks at the header and the question text (name, e-mail, phone, address, comments, free
    text ...) and at the values: e-mail addresses, Dutch phone numbers, numbers that pass the BSN
    11-proof, IP addresses, postcodes, person names ("Fatima El Amrani", "Jan de Vries": two or
    more capitalised words, name particles allowed, mostly distinct) and long free text.

    >>> pii_reason("Kolom 7", ["Jan de Vries", "Fatima El Amrani", "Sem Bakker"])
    'values look like person names'
    >>> pii_reason("Kolom 7", ["Mee eens", "Neutraal", "Mee eens"]) is None
    True
    """
    import pandas as pd

    for label in (header, text):
        if label and _PII_HEADER.search(str(label)):
            return f"header '{screen(label, 'header').text}' suggests personal data or free text"
    cleaned = [str(v).strip() for v in (values.dropna().tolist() if isinstance(values, pd.Series)
                                        else values) if v is not None and v == v]
    sample = pd.Series([v for v in cleaned if v][:500], dtype=object)
    if sample.empty:
        return None
    if sample.str.contains(_EMAIL).mean() > 0.2:
        return "values look like e-mail addresses"
    if sample.str.contains(_PHONE).mean() > 0.2:
        return "values look like phone numbers"
    bsn = sample[sample.str.match(_BSN)]
    if len(bsn) > 0.5 * len(sample) and bsn.map(_bsn_valid).mean() > 0.9:
        return "values look like BSN numbers (pass the 11-proof)"
    if sample.str.fullmatch(_IPV4).mean() > 0.5 or sample.str.match(_IPV6).mean() > 0.5:
        return "values look like IP addresses"
    if sample.str.match(_POSTCODE).mean() > 0.5:
        return "values look like postcodes"
    distinct = sample.nunique() / len(sample)
    if sample.map(_looks_like_name).mean() > 0.6 and (distinct > 0.3 or len(sample) < 4):
        return "values look like person names"
    words = sample.str.split().str.len()
    if words.mean() >= 4 and distinct > 0.5:
        return "values look like free text"
    return None


def suppressed_reason(min_cell: int) -> str:
    """The reason string Contract 5 uses for a suppressed value."""
    return f"suppressed: n < {min_cell}"


# -- the output firewall -------------------------------------------------------------------------
# Every text that can reach an output (a file's bytes, a file name, a message) and that came from
# an input rather than from the package passes :func:`screen`. It lets a value through only when
# it is declared (a role of the instrument, a known or declared wave, a declared school) or, for
# kinds where the package cannot know every legitimate value (school names, answers that could
# not be decoded, headers, file and sheet names), when it has a harmless shape and none of the
# personal-data patterns match. Everything else is withheld with a reason that never quotes it.

#: How a withheld school, wave or role cell is shown (rejected.csv, messages, pages).
WITHHELD = "unknown value (withheld)"
#: The kinds :func:`screen` knows, with the longest text each lets through.
KINDS = {"id": 0, "school": 80, "wave": 40, "role": 40, "answer": 40, "label": 40,
         "header": 120, "file": 120, "sheet": 31, "text": 40}
#: Wave names the package knows (Contract 2 and the ingest's aliases), declared for every run.
KNOWN_WAVES = frozenset({"pre", "post", "voormeting", "nameting", "voor", "na", "baseline",
                         "before", "after", "mid", "tussenmeting", "follow_up", "follow-up",
                         "followup", "midline", "endline"})
#: Wave names that are declared by their shape: T0, T1, W2, wave 3, meting 2, ronde 4 ...
_WAVE_SHAPE = re.compile(r"(?:t|w|m|wave|meting|ronde|round|fase|phase|golf|tijdstip)"
                         r"[\s_-]?\d{1,2}", re.IGNORECASE)
_LONG_NUMBER = re.compile(r"\d{5,}")
_BSN_LIKE = re.compile(r"\d{9}")
# A street word ending a word ("Kerkstraat", "Dorpsweg", "Main Street") and a house number.
# Searched as the word's ending alone: a literal alternation the engine finds fast, where a
# pattern for the whole street name retried every word start (18 us a cell instead of 2).
_STREET = re.compile(
    r"(?:straat|laan|weg|plein|gracht|kade|dijk|singel|hof|pad|steeg|dreef|park|baan|markt|"
    r"veld|erf|wal|burg|haven|street|road|avenue|lane|drive)\s+\d{1,5}(?:\s?[a-z])?\b",
    re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_DIGIT_PATTERNS = ((_PHONE, "a phone number"), (_IPV4, "an IP address"),
                   (_POSTCODE_IN, "a postcode"), (_POSTCODE, "a postcode"),
                   (_STREET, "a street address"), (_BSN_LIKE, "a BSN"),
                   (_LONG_NUMBER, "an identifier (a long number)"))
_TOKEN_SPLIT = re.compile(r"[\s_.,;:/()\[\]{}\"|+]+")
#: Capitalised words that are survey, school or place vocabulary, not parts of a person's name:
#: "Basisschool De Regenboog Noord" or "Ouders Pre" are not names. Casefolded.
_VOCABULARY = frozenset("""
school basisschool obs cbs rkbs pcbs ikc sbo so vso kindcentrum kindcentra montessori dalton
jenaplan vrije openbare christelijke katholieke protestantse rk college lyceum gymnasium academie
noord zuid oost west centrum midden
ouder ouders parent parents verzorger verzorgers leerkracht leerkrachten teacher teachers leraar
docent youthworker jeugdhulp jeugdhulpverlener coordinator coördinator leerling leerlingen pupil
pupils kind kinderen groep klas
pre post voormeting nameting baseline meting wave ronde
export data survey enquete enquête vragenlijst questionnaire antwoorden responses results
naam name datum date opmerkingen vraag question blad sheet
email e-mail mail address adres phone telefoon number nummer time tijd start end submitted
response id full first last timestamp tijdstempel comments remarks role rol status progress
duration finished recorded ip location language score total
kc po vo avo havo vwo vmbo mavo isk azc zmlk bao brin vestiging locatie
""".split())

@dataclass(frozen=True)
class Screened:
    """The verdict of :func:`screen`: what may be written, and why a value was withheld.

    ``text`` is the value itself when ``allowed``, else a placeholder; ``reason`` (None when
    allowed) says why, without quoting the value.
    """

    text: str
    allowed: bool
    reason: str | None = None


def _norm(text: object) -> str:
    return " ".join(str(text).split()).casefold()


def declared(values: Iterable[object]) -> frozenset[str]:
    """Declared values in the form :func:`screen` compares them (case and spacing ignored)."""
    return frozenset(_norm(v) for v in values if v is not None)


def _words(text: str) -> list[str]:
    """Tokens of a text for the name heuristic; a word in capitals reads as capitalised
    ("JAN" as "Jan"), so names typed in capitals are found too."""
    words = []
    for token in _TOKEN_SPLIT.split(text):
        word = token.strip(".!?'-")
        if word:
            words.append(word.capitalize() if len(word) > 1 and word.isupper() else word)
    return words


def _name_run(text: str, whole: bool = False) -> bool:
    """Whether two or more capitalised name words stand together (name particles allowed
    between them, survey and school vocabulary excluded): "Jan de Vries", "bel Fatima El
    Amrani", "Jan_de_Vries_pre", "JAN DE VRIES", and with an initial, "J. de Vries". With
    ``whole``, only when the text is nothing but a name of at most five words (for headers,
    which are often written in title case)."""
    words = _words(text)
    if whole and (not 2 <= len(words) <= 5 or not all(
            w.casefold() in _PARTICLES or _NAME_WORD.match(w) for w in words)):
        return False
    run = 0
    for word in words:
        folded = word.casefold()
        initial = len(word) == 1 and word.isupper()  # "T. de Vries": not the particle 't
        if folded in _PARTICLES and not initial:  # neither counts nor breaks a run
            continue
        if initial or (_NAME_WORD.match(word) and folded not in _VOCABULARY
                       and not folded.endswith(("school", "college", "lyceum"))):
            run += 1
            if run >= 2:
                return True
        else:
            run = 0
    return False


def personal_data(value: object, whole_name: bool = False) -> str | None:
    """What kind of personal data a single text looks like, or None.

    The per-value counterpart of :func:`pii_reason`: e-mail addresses, phone numbers, IP
    addresses, postcodes, street addresses, BSN-like and other long numbers (a raw pupil or
    participant number), and person names (two or more capitalised words, name particles
    allowed). Only the first 1,000 characters are searched: the patterns are linear, and a
    longer text is withheld for its length anyway.

    >>> personal_data("Jan de Vries"), personal_data("OBS De Linde"), personal_data("S01")
    ("a person's name", None, None)
    >>> personal_data("111222333"), personal_data("Dorpsstraat 3a")
    ('a BSN', 'a street address')
    """
    text = str(value)[:1000]
    if "@" in text and _EMAIL.search(text):
        return "an e-mail address"
    # every other pattern needs a digit: most names and labels have none, and are judged by
    # the name heuristic alone (a school name in 5 us instead of 25)
    if _DIGIT.search(text):
        for pattern, what in _DIGIT_PATTERNS:
            if pattern.search(text):
                return what
        if _IPV6.match(text.strip()):
            return "an IP address"
    if _name_run(text, whole_name):
        return "a person's name"
    return None


def screen(value: object, kind: str, known: Iterable[str] = frozenset(),
           max_chars: int | None = None) -> Screened:
    """The output firewall: let a text through to an output, or withhold it with a reason.

    Parameters
    ----------
    value
        A text that came from an input: a cell, a header, a value label, a file or sheet name.
    kind
        What the text is (one of :data:`KINDS`): ``"id"`` (a raw identifier: always withheld;
        only pseudonyms are published), ``"role"`` (through only when declared), ``"wave"``
        (declared, or shaped like ``T0``, ``W2``, ``meting 3``), ``"school"`` (declared, or
        a short name or code that is no personal data), ``"answer"`` (an answer that was
        cleared), ``"label"`` (a value label), ``"header"``, ``"file"``, ``"sheet"`` or
        ``"text"`` (any other fragment a message would quote).
    known
        Declared values of this kind (see :func:`declared`; case and spacing are ignored). A
        declared value is let through whatever its shape: the researcher named it.
    max_chars
        Longest text let through (default: the kind's limit in :data:`KINDS`).

    Returns
    -------
    Screened
        ``text`` to write (the value, or a placeholder: :data:`WITHHELD` for school, wave and
        role cells, ``<withheld: ...>`` for the rest), ``allowed`` and the ``reason``.

    Examples
    --------
    >>> screen("Basisschool De Regenboog", "school").allowed
    True
    >>> screen("Jan de Vries", "school")
    Screened(text='unknown value (withheld)', allowed=False, reason="looks like a person's name")
    >>> screen("directeur", "role", known=declared(["parent", "teacher"])).text
    'unknown value (withheld)'
    >>> screen("T2", "wave").allowed, screen("j.devries@mail.nl", "file").text
    (True, '<withheld: looks like an e-mail address>')
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {sorted(KINDS)}")
    text = "" if value is None else str(value)
    cell = kind in ("school", "wave", "role")

    def withheld(reason: str) -> Screened:
        return Screened(WITHHELD if cell else f"<withheld: {reason}>", False, reason)

    if kind == "id":
        return withheld("a raw identifier")
    if known and _norm(text) in known:
        return Screened(text.replace("\x00", ""), True)
    if kind == "role":
        return withheld("not a role of the instrument")
    what = personal_data(text, whole_name=kind == "header")
    if what is not None:
        return withheld(f"looks like {what}")
    limit = KINDS[kind] if max_chars is None else max_chars
    if len(text) > limit:
        return withheld(f"{len(text)} characters")
    if kind == "wave" and not (_norm(text) in KNOWN_WAVES or _WAVE_SHAPE.fullmatch(text.strip())):
        return withheld("not a declared wave")
    if kind == "school" and len(text.split()) > 8:
        return withheld("looks like free text")
    return Screened(text, True)


def shown(value: object, kind: str, known: Iterable[str] = frozenset()) -> str:
    """:func:`screen`'s text only: the value, or its placeholder (for messages and logs)."""
    return screen(value, kind, known).text


def shown_path(path: str | os.PathLike[str]) -> str:
    """A path as messages and logs may show it: each part through :func:`screen`.

    >>> shown_path("/data/raw/ouders_pre.csv"), shown_path("/x/Jan de Vries.csv")
    ('/data/raw/ouders_pre.csv', "/x/<withheld: looks like a person's name>")
    """
    p = Path(path)
    parts = [part if part == p.anchor else screen(part, "file").text for part in p.parts]
    return str(Path(*parts)) if parts else str(p)


#: The key columns the firewall screens, and the kind of text each holds.
_KEY_KINDS = (("role", "role"), ("wave", "wave"), ("school_id", "school"))


def withheld_key_values(values: dict[str, Iterable[str]], roles: Iterable[str], *,
                        waves: Iterable[str] | None = None, schools: Iterable[str] | None = None,
                        order_check: bool = False) -> dict[str, list[str]]:
    """The distinct key cells the firewall withholds, per column: :func:`screen_responses`'s
    verdict on the values alone (it counts the rows and words the error).

    ``values`` maps ``role``, ``wave`` and ``school_id`` (those present) to their distinct
    cells; the result holds the columns with a withheld value, in that order.

    >>> withheld_key_values({"role": ["parent", "directeur"], "wave": ["pre"]}, ["parent"])
    {'role': ['directeur']}
    """
    known = {"role": declared(roles), "wave": declared(waves or ()),
             "school": declared(schools or ())}
    refused = {}
    for column, kind in _KEY_KINDS:
        if column not in values:
            continue
        verdicts = {v: screen(v, kind, known[kind]) for v in values[column]}
        bad = [v for v, s in verdicts.items() if not s.allowed
               and not (order_check and kind == "wave" and s.reason == "not a declared wave")]
        if bad:
            refused[column] = bad
    return refused


def screen_responses(responses: pd.DataFrame, roles: Iterable[str], *,
                     waves: Iterable[str] | None = None, schools: Iterable[str] | None = None,
                     where: str | Msg | None = None, order_check: bool = False) -> None:
    """Refuse a Contract 2 table whose school, wave or role cells the firewall withholds.

    ``score``, ``evaluate`` and ``report`` accept any table with the Contract 2 columns, not
    only one written by ``ingest`` (which rejects such rows): a role that is not a role of the
    instrument, an undeclared wave or a school cell that looks like personal data would
    otherwise be published as typed (in results.json, on a page, in a page's title). The
    message counts rows and values per column and never quotes them.

    Raises
    ------
    InputError
        When any key cell is withheld.

    With ``order_check`` the caller orders the waves next (``scoring.wave_order``, which refuses
    and lists undeclared waves): a wave that is withheld only for being undeclared (no personal
    data, short) is left to that check, so its message can name the waves found.
    """
    cells = {column: responses[column].dropna().astype(str) for column, _ in _KEY_KINDS
             if column in responses}
    refused = withheld_key_values({c: v.unique() for c, v in cells.items()}, roles,
                                  waves=waves, schools=schools, order_check=order_check)
    problems = [Msg("errors.privacy.firewall_problem", rows=int(cells[column].isin(bad).sum()),
                    column=column, why=Msg(f"errors.privacy.not_declared.{dict(_KEY_KINDS)[column]}"),
                    n=len(bad)) for column, bad in refused.items()]
    if problems:
        raise InputError(Msg("errors.privacy.firewall", problems=Joined(problems),
                             where=where or Msg("errors.privacy.where_responses"),
                             roles=", ".join(sorted(declared(roles)))))



#: The ingest's pseudonyms: ``p-`` and 20 hexadecimal digits (:func:`pseudonyms`).
PSEUDONYM = re.compile(r"p-[0-9a-f]{20}")


def personal_id(value: object) -> str | None:
    """What kind of personal data a respondent id looks like (a key of the firewall's
    ``core.withheld_what.*`` texts), or None.

    An id is a code: a hash or a UUID holds runs of digits that the firewall's rules for text
    would take for a BSN or a long number (they call the package's own pseudonyms a BSN), and a
    hexadecimal hash is now and then all digits. So an id is personal data when it is an e-mail
    address, a phone number, an IP address, a postcode, a street address or a person's name,
    or nine digits that pass the BSN 11-proof (Contract 5: identifiers in outputs are
    pseudonyms only; no BSN-like number).

    >>> [personal_id(x) for x in ["p-000021302f8416ab18e1", "r17", "0c2316eab7538d331081",
    ...                           "550e8400-e29b-41d4-a716-446655440000", "1001", "00000000"]]
    [None, None, None, None, None, None]
    >>> [personal_id(x) for x in ["j.devries@mail.nl", "06-12345678", "111222333",
    ...                           "Jan de Vries", "1234 AB", "Dorpsstraat 3"]]
    ['email', 'phone', 'bsn', 'name', 'postcode', 'street']
    """
    text = str(value).strip()[:1000]
    if PSEUDONYM.fullmatch(text):
        return None
    if "@" in text and _EMAIL.search(text):
        return "email"
    if text.isascii() and text.isdigit() and len(text) == 9 and _bsn_valid(text):
        return "bsn"
    if _DIGIT.search(text):
        for pattern, kind in ((_PHONE, "phone"), (_IPV4, "ip"), (_STREET, "street")):
            if pattern.search(text):
                return kind
        if _POSTCODE.match(text):
            return "postcode"
        if _IPV6.match(text):
            return "ip"
    return "name" if _name_run(text, whole=True) else None


def pseudonym_column(ids) -> bool:  # (pyarrow.Array | pyarrow.ChunkedArray) -> bool
    """Whether every id of an Arrow text column has the ingest's pseudonym shape
    (:data:`PSEUDONYM`), judged on the column's bytes: a million ids in milliseconds, where
    :func:`personal_id` takes microseconds an id.

    >>> from partnerschap_eval._io import string_array
    >>> pseudonym_column(string_array(["p-000021302f8416ab18e1", "p-0c2316eab7538d331081"]))
    True
    >>> pseudonym_column(string_array(["p-000021302f8416ab18e1", "p-0c2316eab7538d33108G"]))
    False
    """
    import pyarrow as pa

    width = 22  # "p-" and 20 hexadecimal digits
    for chunk in (ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]):
        n, off = len(chunk), chunk.offset
        if not n:
            continue
        if chunk.null_count or not pa.types.is_string(chunk.type):
            return False
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[off:off + n + 1]
        if int(offsets[-1] - offsets[0]) != n * width or np.any(np.diff(offsets) != width):
            return False
        data = chunk.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]
        if data[0::width] != b"p" * n or data[1::width] != b"-" * n \
                or len(data.translate(None, b"0123456789abcdef")) != 2 * n:
            return False
    return True


def withheld_ids(ids: Iterable[object]) -> dict[str, int]:
    """The distinct respondent ids that look like personal data, counted per kind
    (:func:`personal_id`); empty when none does.

    >>> withheld_ids(["p-000021302f8416ab18e1", "a@b.nl", "c@d.nl", "Jan de Vries"])
    {'email': 2, 'name': 1}
    """
    counts: dict[str, int] = {}
    for value in ids:
        kind = personal_id(value)
        if kind is not None:
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def screen_ids(ids: pd.Series, *, where: str | Msg | None = None) -> None:
    """Refuse a respondent id column with ids that look like personal data (an output that
    writes ids, such as ``score``'s, holds pseudonyms only). The message counts the rows and
    the distinct ids, names their kinds, and never quotes them.

    Raises
    ------
    InputError
        When an id looks like personal data.
    """
    values = ids.dropna().astype(str)
    kinds = {v: personal_id(v) for v in values.unique()}
    bad = {v for v, kind in kinds.items() if kind is not None}
    if not bad:
        return
    found = sorted({kinds[v] for v in bad})
    raise InputError(Msg("errors.privacy.ids", where=where or Msg("errors.privacy.where_responses"),
                         rows=int(values.isin(bad).sum()), n=len(bad), kinds=Joined(
                             [Msg(f"core.withheld_what.{k}") for k in found], ", ")))


def school_keys(schools: Iterable[object]) -> dict[str, str]:
    """Sequential, file-name-safe keys for schools: ``school-001``, ``school-002`` ... in the
    order of the sorted names. A school's name never becomes (part of) a file name or a link:
    names can be personal data, and a hash of a short name can be reversed by trying names.

    >>> school_keys(["S02", "OBS De Linde", "S01"])
    {'OBS De Linde': 'school-001', 'S01': 'school-002', 'S02': 'school-003'}
    """
    names = sorted({str(s) for s in schools})
    width = max(3, len(str(len(names))))
    return {name: f"school-{i + 1:0{width}d}" for i, name in enumerate(names)}
