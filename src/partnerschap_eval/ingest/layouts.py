"""Survey-tool layouts: how many header rows an export has and what its tool's own columns mean.

A layout is recognised from the first records of a CSV or a sheet (the container — CSV, XLSX,
SAV — is recognised from the file's bytes, see :mod:`.readers`):

================  ==========================================================================
layout            recognised by
================  ==========================================================================
qualtrics         three header rows; the third holds ``{"ImportId": ...}`` cells
qualtrics-legacy  two header rows; the first starts ``V1, V2, V3`` and the second has ``ResponseID``
msforms           Microsoft Forms: ``ID``, ``Start time``, ``Completion time`` (or the Dutch
                  ``Id``, ``Begintijd``, ``Tijd van voltooien``)
googleforms       Google Forms: the first column is ``Timestamp`` / ``Tijdstempel``
limesurvey        two or more of LimeSurvey's own columns (``submitdate``, ``lastpage``,
                  ``startlanguage``, ``seed``; or their full headings ``Date submitted``, ...)
table             anything else: one header row
================  ==========================================================================

What a layout adds to plain column mapping:

* **header text**: Qualtrics' second row (question text) and LimeSurvey's ``CODE. text`` headings
  are matched against item texts like a header is;
* **tool columns** (response numbers, start/end times, progress, language, ...) are not stored and
  not listed as unmapped. A tool's *response* number (Qualtrics ``ResponseId``, LimeSurvey ``id``,
  Microsoft Forms ``ID``) differs between the two waves, so it is never taken as the respondent id:
  use a participant number question, Qualtrics' ``ExternalReference`` or LimeSurvey's ``token``;
* **personal and free-text columns** the tool itself marks (IP address, location, recipient name
  and e-mail, Qualtrics ``..._TEXT`` answers, LimeSurvey ``[other]``/``[comment]``) are ``pii``;
* **answer codes**: LimeSurvey's default answer codes ``A1``, ``A2``, ... (or ``AO01``, ...) are
  read as 1, 2, ... (the position in the answer list). When your survey's answer codes are not in
  the order of the response scale, say what each code means under ``values:`` in a mapping file;
  mapping-file values always win;
* **status**: Qualtrics rows whose ``Status`` is a survey preview, a test or spam are rejected.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import InputError, Msg
from ..instruments import normalise_label

__all__ = ["Layout", "LAYOUTS", "detect_layout", "unique_names"]

LAYOUTS = ("table", "qualtrics", "qualtrics-legacy", "limesurvey", "msforms", "googleforms")


@dataclass(frozen=True)
class Layout:
    """What the header rows of an export say about its columns."""

    name: str
    header_rows: int
    columns: list[str]
    header_text: dict[str, str] = field(default_factory=dict)
    tool_columns: dict[str, str] = field(default_factory=dict)
    personal: dict[str, str] = field(default_factory=dict)
    answer_codes: str | None = None
    status_column: str | None = None
    #: column name given to a repeated header -> the header as written (``"rec1 (2)" -> "rec1"``)
    repeated: dict[str, str] = field(default_factory=dict)


def unique_names(cells: list[str], repeated: dict[str, str] | None = None) -> list[str]:
    """Header cells as unique, non-empty column names.

    A repeated header gets a number; when ``repeated`` is given, each such name is recorded
    there with the header as written, so the mapping can refuse two columns that claim one item
    instead of silently ignoring the second.

    >>> seen = {}
    >>> unique_names(["Naam", "", "Naam", " rec1 "], seen), seen
    (['Naam', '(column 2)', 'Naam (2)', 'rec1'], {'Naam (2)': 'Naam'})
    """
    out: list[str] = []
    seen: dict[str, int] = {}
    taken = {str(c).strip() for c in cells}
    for i, cell in enumerate(cells):
        name = str(cell).strip() or f"(column {i + 1})"
        if name in seen:
            original = name
            seen[name] += 1
            name = f"{original} ({seen[original]})"
            while name in taken:  # a header already written so: the next number
                seen[original] += 1
                name = f"{original} ({seen[original]})"
            taken.add(name)
            if repeated is not None:
                repeated[name] = original
        else:
            seen[name] = 1
        out.append(name)
    return out


def _norm_set(cells: list[str]) -> set[str]:
    return {normalise_label(c) for c in cells}


# -- Qualtrics --------------------------------------------------------------------------------
_QUALTRICS_TOOL = {
    "startdate", "enddate", "status", "progress", "duration (in seconds)", "finished",
    "recordeddate", "responseid", "distributionchannel", "userlanguage", "responseset",
    "locationaccuracy",
}
_QUALTRICS_PERSONAL = {
    "ipaddress": "IP address", "recipientlastname": "recipient's name",
    "recipientfirstname": "recipient's name", "recipientemail": "recipient's e-mail",
    "locationlatitude": "location", "locationlongitude": "location", "name": "name",
    "emailaddress": "e-mail address",
}
# Qualtrics Status: 0 = normal response, 1 = preview, 2 = test, 8 = spam, 17 = offline preview.
QUALTRICS_BAD_STATUS = {"1", "2", "8", "17", "survey preview", "survey test", "spam",
                        "offline survey preview"}


def _import_id(cell: str) -> str | None:
    text = cell.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return str(value.get("ImportId", "")) if isinstance(value, dict) else None


def _is_qualtrics(records: list[list[str]]) -> bool:
    if len(records) < 3:
        return False
    cells = [c for c in records[2] if c.strip()]
    return bool(cells) and sum(_import_id(c) is not None for c in cells) >= 0.5 * len(cells)


def _is_qualtrics_legacy(records: list[list[str]]) -> bool:
    return (len(records) >= 2 and [c.strip() for c in records[0][:3]] == ["V1", "V2", "V3"]
            and "responseid" in _norm_set(records[1]))


def _qualtrics(records: list[list[str]], legacy: bool) -> Layout:
    first, second = records[0], records[1] if len(records) > 1 else []
    width = len(first)
    second = (second + [""] * width)[:width]
    if legacy:
        raw_names = [second[i] if re.fullmatch(r"V\d+", first[i].strip()) else first[i]
                     for i in range(width)]
    else:
        raw_names = first
    repeated: dict[str, str] = {}
    columns = unique_names(raw_names, repeated)
    imports = ([_import_id(c) or "" for c in (records[2] + [""] * width)[:width]]
               if not legacy and len(records) > 2 else [""] * width)
    text: dict[str, str] = {}
    tool: dict[str, str] = {}
    personal: dict[str, str] = {}
    for i, col in enumerate(columns):
        key = normalise_label(col)
        if second[i].strip() and second[i].strip() != col:
            text[col] = second[i].strip()
        if key in _QUALTRICS_PERSONAL:
            personal[col] = f"Qualtrics {_QUALTRICS_PERSONAL[key]}"
        elif key in _QUALTRICS_TOOL or key.startswith("q_"):
            tool[col] = "Qualtrics metadata"
        elif imports[i].upper().endswith("_TEXT") or "_TEXT" in imports[i] or col.endswith("_TEXT"):
            personal[col] = "Qualtrics free-text answer"
    status = next((c for c in columns if normalise_label(c) == "status"), None)
    return Layout("qualtrics-legacy" if legacy else "qualtrics", 2 if legacy else 3, columns,
                  text, tool, personal, status_column=status, repeated=repeated)


# -- Microsoft Forms, Google Forms -------------------------------------------------------------
_MSFORMS_TOOL = {"id", "start time", "completion time", "last modified time", "begintijd",
                 "starttijd", "tijd van voltooien", "voltooiingstijd",
                 "tijdstip van laatste wijziging", "laatst gewijzigd", "total points",
                 "totaal aantal punten", "quiz feedback"}
_MSFORMS_PERSONAL = {"email": "e-mail", "e-mail": "e-mail", "name": "name", "naam": "name"}


def _is_msforms(records: list[list[str]]) -> bool:
    names = _norm_set(records[0])
    return ("id" in names and bool(names & {"start time", "begintijd", "starttijd"})
            and bool(names & {"completion time", "tijd van voltooien", "voltooiingstijd"}))


_TIMESTAMP = {"timestamp", "tijdstempel", "marca temporal", "horodateur", "zeitstempel",
              "informazioni cronologiche"}
_GOOGLE_TOOL = _TIMESTAMP | {"score", "totaalscore", "punten"}
_GOOGLE_PERSONAL = {"email address": "e-mail", "e-mailadres": "e-mail", "emailadres": "e-mail",
                    "e-mail address": "e-mail"}


def _is_googleforms(records: list[list[str]]) -> bool:
    return bool(records[0]) and normalise_label(records[0][0]) in _TIMESTAMP


def _simple(name: str, records: list[list[str]], tool_names: set[str],
            personal_names: dict[str, str], tool_label: str) -> Layout:
    repeated: dict[str, str] = {}
    columns = unique_names(records[0], repeated)
    tool, personal = {}, {}
    for col in columns:
        key = normalise_label(col)
        if key in personal_names:
            personal[col] = f"{tool_label} {personal_names[key]}"
        elif key in tool_names:
            tool[col] = f"{tool_label} metadata"
    return Layout(name, 1, columns, {}, tool, personal, repeated=repeated)


# -- LimeSurvey --------------------------------------------------------------------------------
_LIME_CODES = {"id", "submitdate", "lastpage", "startlanguage", "seed", "startdate", "datestamp"}
_LIME_FULL = {"response id", "date submitted", "last page", "start language", "date started",
              "date last action", "antwoord id", "datum verstuurd", "laatste pagina",
              "starttaal"}
_LIME_TOOL = _LIME_CODES | _LIME_FULL | {"interviewtime", "total time", "seed"}
_LIME_PERSONAL = {"ipaddr": "IP address", "refurl": "referrer URL", "firstname": "name",
                  "lastname": "name", "email": "e-mail", "ip address": "IP address",
                  "referrer url": "referrer URL", "first name": "name", "last name": "name",
                  "email address": "e-mail"}
_LIME_HEADING = re.compile(r"^(?P<code>[A-Za-z][A-Za-z0-9_]*(?:\[[^\]]*\])*)(?:\.\s+(?P<text>.+))?$",
                           re.DOTALL)


def _is_limesurvey(records: list[list[str]]) -> bool:
    names = _norm_set(records[0])
    return len(names & (_LIME_CODES | _LIME_FULL)) >= 2


def _limesurvey(records: list[list[str]]) -> Layout:
    repeated: dict[str, str] = {}
    columns = unique_names(records[0], repeated)
    text: dict[str, str] = {}
    tool: dict[str, str] = {}
    personal: dict[str, str] = {}
    codes = set()
    for col in columns:
        m = _LIME_HEADING.match(col)
        if m:
            codes.add(m.group("code").split("[", 1)[0].casefold())
            if m.group("text"):
                text[col] = m.group("text").strip()
    for col in columns:
        key = normalise_label(col)
        m = _LIME_HEADING.match(col)
        code = m.group("code") if m else col
        low = code.casefold()
        if key in _LIME_PERSONAL:
            personal[col] = f"LimeSurvey {_LIME_PERSONAL[key]}"
        elif re.search(r"\[[^\]]*(other|comment)\]$", low):
            personal[col] = "LimeSurvey free-text answer"
        elif (key in _LIME_TOOL or re.fullmatch(r"grouptime\d+", low)
              or (low.endswith("time") and low[:-4] in codes)):
            tool[col] = "LimeSurvey metadata"
    return Layout("limesurvey", 1, columns, text, tool, personal, answer_codes="limesurvey",
                  repeated=repeated)


# -- detection ---------------------------------------------------------------------------------
def detect_layout(records: list[list[str]], forced: str | None = None,
                  where: str = "the export") -> Layout:
    """Recognise the layout from the first (up to three) records, or apply ``forced``."""
    if not records:
        raise InputError(Msg("errors.layouts.no_header", where=where))
    name = forced
    if name is None:
        if _is_qualtrics(records):
            name = "qualtrics"
        elif _is_qualtrics_legacy(records):
            name = "qualtrics-legacy"
        elif _is_msforms(records):
            name = "msforms"
        elif _is_googleforms(records):
            name = "googleforms"
        elif _is_limesurvey(records):
            name = "limesurvey"
        else:
            name = "table"
    if name in ("qualtrics", "qualtrics-legacy"):
        needed = 3 if name == "qualtrics" else 2
        if len(records) < needed:
            raise InputError(Msg("errors.layouts.few_rows", where=where, name=name, needed=needed,
                                 records=len(records)))
        return _qualtrics(records, legacy=name == "qualtrics-legacy")
    if name == "msforms":
        return _simple("msforms", records, _MSFORMS_TOOL, _MSFORMS_PERSONAL, "Microsoft Forms")
    if name == "googleforms":
        return _simple("googleforms", records, _GOOGLE_TOOL, _GOOGLE_PERSONAL, "Google Forms")
    if name == "limesurvey":
        return _limesurvey(records)
    if name == "table":
        repeated: dict[str, str] = {}
        return Layout("table", 1, unique_names(records[0], repeated), repeated=repeated)
    raise InputError(Msg("errors.layouts.unknown", where=where, name=name,
                         layouts=', '.join(LAYOUTS)))
