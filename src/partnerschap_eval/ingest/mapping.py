"""Column mapping: which export column becomes which item or key column.

Every column of an export gets exactly one fate, decided in this order:

1. **mapping file** (Contract 3): the column's header — or, for Qualtrics, SPSS and LimeSurvey,
   its question text — names an item id or ``respondent_id``, ``school_id``, ``wave``, ``role``,
   ``drop`` or ``pii``;
2. **survey-tool metadata** (response numbers, times, progress; see :mod:`.layouts`): not stored;
3. **personal data the tool marks** (IP address, location, recipient e-mail, free-text answers);
4. **automatic**: the header (or question text) equals an item id, a LimeSurvey subquestion code
   (``G01Q01[rec1]``), an item's text in any role and language — also as the part after
   ``" - "`` (Qualtrics matrix), inside ``[...]`` (Google Forms grid, LimeSurvey) or after a
   ``"."``/``":"``/``"?"`` — or a known metadata name (``respondent``, ``deelnemernummer``,
   ``school``, ``rol``, ``meting``, ...); matching ignores case, surrounding spaces and trailing
   punctuation;
5. **personal-data heuristics** on the header and the first 500 values
   (:func:`partnerschap_eval.privacy.pii_reason`);
6. columns with no value at all are ``empty``; what is left is **unmapped** and listed in the log.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .._safe_read import load_yaml
from ..errors import InputError, Joined, Msg
from ..instruments import Instrument, normalise_label
from ..privacy import pii_reason, shown
from .readers import RawTable

__all__ = ["KEY_TARGETS", "SPECIAL_TARGETS", "METADATA_NAMES", "MappingFile", "ColumnMap",
           "header_score", "load_mapping", "map_columns"]

KEY_TARGETS = ("respondent_id", "school_id", "wave", "role")
SPECIAL_TARGETS = (*KEY_TARGETS, "drop", "pii")

#: Header names (normalised) that mean a key column, in Dutch and English.
METADATA_NAMES = {
    "respondent_id": ["respondent_id", "respondent", "respondent id", "respondentnummer",
                      "respondent nummer", "deelnemer", "deelnemernummer", "deelnemer nummer",
                      "deelnemer id", "deelnemerscode", "participant", "participant id",
                      "participant_id", "participant number", "id", "code",
                      "externalreference", "external reference", "externe referentie",
                      "externaldatareference", "external data reference", "token",
                      "toegangscode", "access code", "leerlingnummer", "leerling nummer",
                      "pupil number", "student number"],
    "school_id": ["school_id", "school", "schoolnaam", "school naam", "school name", "brin",
                  "brin nummer", "brinnummer", "schoolcode", "school code", "locatie",
                  "naam van de school", "name of the school", "op welke school"],
    "wave": ["wave", "meting", "meetmoment", "golf", "wave name", "tijdstip", "moment"],
    "role": ["role", "rol", "functie", "respondent type", "respondenttype", "ik ben", "i am",
             "wie vult de vragenlijst in", "wie vult deze vragenlijst in"],
}
_META_LOOKUP = {normalise_label(name): target for target, names in METADATA_NAMES.items()
                for name in names}
_MISSING_WORDS = {"missing", "nan", "na", "leeg", "ontbrekend", "null", "none"}


@dataclass(frozen=True)
class MappingFile:
    """A parsed mapping file: header -> target, extra answer labels -> codes (NaN = missing)."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    source: str | None = None


def _value_code(key: object, value: object, lo: int, hi: int) -> tuple[float | None, Msg | None]:
    if value is None or (isinstance(value, str) and value.strip().casefold() in _MISSING_WORDS):
        return math.nan, None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None, Msg("errors.mapping.value_not_number", key=key, value=value)
    if math.isnan(number):
        return math.nan, None
    if not number.is_integer() or not lo <= number <= hi:
        return None, Msg("errors.mapping.value_range", key=key, value=value, low=lo, high=hi)
    return number, None


def load_mapping(path: str | Path | None, instrument: Instrument) -> MappingFile:
    """Read and check a mapping YAML file (or return an empty mapping).

    ``values`` map extra answer labels or codes (LimeSurvey ``A1``, ``"Soms"``) to a code of the
    response scale, or to ``missing`` (also written ``null``).
    """
    if path is None:
        return MappingFile()
    path = Path(path)
    data = load_yaml(path, Msg("errors.what.mapping_file")) or {}
    if not isinstance(data, dict) or set(data) - {"columns", "values"}:
        raise InputError(Msg("errors.mapping.keys", path=path))
    raw_columns = data.get("columns") or {}
    raw_values = data.get("values") or {}
    if not isinstance(raw_columns, dict) or not isinstance(raw_values, dict):
        raise InputError(Msg("errors.mapping.not_mappings", path=path))
    columns = {str(k).strip(): str(v).strip() for k, v in raw_columns.items()}
    problems: list[Msg] = [
        Msg("errors.mapping.target", key=k, value=v, instrument=instrument.id,
            special=list(SPECIAL_TARGETS))
        for k, v in columns.items() if v not in SPECIAL_TARGETS and v not in instrument.item_ids]
    values: dict[str, float] = {}
    lo, hi = instrument.response_scale.min, instrument.response_scale.max
    for k, v in raw_values.items():
        code, problem = _value_code(k, v, lo, hi)
        if problem:
            problems.append(problem)
        elif code is not None:
            values[normalise_label(k)] = code
    if problems:
        raise InputError(Joined([path, ": ", Joined(problems), "."], ""))
    return MappingFile(columns=columns, values=values, source=str(path))


@dataclass(frozen=True)
class ColumnMap:
    """The fate of every column of one export."""

    targets: dict[str, str]  # column -> item id or key column
    pii: dict[str, str]  # column -> why it is treated as personal data
    dropped: list[str]  # 'drop' in the mapping file
    tool: dict[str, str]  # survey-tool metadata, not stored
    empty: list[str]  # no value at all
    unmapped: list[str]


_SEPARATORS = (" - ", " – ", " — ", ":", "?", ".", " | ")
_BRACKETS = re.compile(r"\[([^\[\]]+)\]")


def text_candidates(*texts: str | None) -> list[str]:
    """Normalised forms under which a header or question text may name an item.

    The whole text, the text inside ``[...]``, and the parts before and after every separator
    (``" - "``, ``":"``, ``"?"``, ``"."``, ...).

    >>> cands = text_candidates("Hoe eens bent u? - Ik word gezien als kenner.", None)
    >>> cands[0], "ik word gezien als kenner" in cands
    ('hoe eens bent u? - ik word gezien als kenner', True)
    """
    out: list[str] = []
    for text in texts:
        if not text:
            continue
        parts = [text, *_BRACKETS.findall(text)]
        for sep in _SEPARATORS:
            idx = text.find(sep)
            while idx >= 0:
                parts += [text[:idx], text[idx + len(sep):]]
                idx = text.find(sep, idx + 1)
        for part in parts:
            norm = normalise_label(part.lstrip(" -–—:?.|"))
            if norm and norm not in out:
                out.append(norm)
    return out


def _auto_target(column: str, text: str | None, instrument: Instrument,
                 texts: dict[str, str], item_ids: dict[str, str]) -> str | None:
    for cand in (column, text):
        if not cand:
            continue
        key = normalise_label(cand)
        if key in item_ids:
            return item_ids[key]
        for code in _BRACKETS.findall(cand):  # LimeSurvey G01Q01[rec1]
            if normalise_label(code) in item_ids:
                return item_ids[normalise_label(code)]
    for cand in text_candidates(column, text):
        if cand in texts:
            return texts[cand]
    for cand in (column, text):
        if cand and normalise_label(cand) in _META_LOOKUP:
            return _META_LOOKUP[normalise_label(cand)]
    return None


def header_score(instrument: Instrument, mapping: MappingFile | None = None):
    """A function counting the cells of a row that are header names the ingest knows: an item
    (id or text, as matched automatically), a key column's name, or a column the mapping file
    names. Used to tell a title row or an instruction sheet from the header.

    >>> from partnerschap_eval.instruments import load_instrument
    >>> score = header_score(load_instrument("partnerschap"))
    >>> score(["Deelnemernummer", "rec1", "Banaan"]), score(["Vragenlijst ouders", ""])
    (2, 0)
    """
    texts = instrument.item_texts()
    item_ids = {normalise_label(i): i for i in instrument.item_ids}
    named = {c.strip() for c in (mapping.columns if mapping else {})}

    def score(cells: list[str]) -> int:
        n = 0
        for cell in cells:
            text = str(cell).strip()
            if text and len(text) <= 500 and (
                    text in named or _auto_target(text, None, instrument, texts, item_ids)):
                n += 1
        return n
    return score


def map_columns(raw: RawTable, instrument: Instrument, mapping: MappingFile) -> ColumnMap:
    """Decide the fate of every column of ``raw``; raise when two columns claim one target."""
    texts = instrument.item_texts()
    item_ids = {normalise_label(i): i for i in instrument.item_ids}
    layout = raw.layout
    targets: dict[str, str] = {}
    pii: dict[str, str] = {}
    dropped: list[str] = []
    tool: dict[str, str] = {}
    empty: list[str] = []
    unmapped: list[str] = []
    declared: set[str] = set()  # columns the mapping file names: they win over automatic matches
    for column in raw.columns:
        text = layout.header_text.get(column)
        explicit = mapping.columns.get(column.strip())
        # a repeated header ("rec1" twice) has the fate of the header as written, unless the
        # mapping file names its numbered column ("rec1 (2)": drop); claiming an item twice is
        # then refused below, like rec1 beside REC1, instead of the second being ignored
        as_written = layout.repeated.get(column) if explicit is None else None
        if as_written is not None:
            explicit = mapping.columns.get(as_written)
        name = as_written or column
        if explicit is None and text:
            explicit = mapping.columns.get(text.strip())
        if explicit == "pii":
            pii[column] = "declared pii in the mapping file"
            continue
        if explicit == "drop":
            dropped.append(column)
            continue
        if explicit:
            targets[column] = explicit
            declared.add(column)
            continue
        if name in layout.tool_columns or column in layout.tool_columns:
            tool[column] = layout.tool_columns.get(column) or layout.tool_columns[name]
            continue
        if name in layout.personal or column in layout.personal:
            pii[column] = layout.personal.get(column) or layout.personal[name]
            continue
        target = _auto_target(name, text, instrument, texts, item_ids)
        if target is not None:
            targets[column] = target
            continue
        reason = pii_reason(column, raw.sample(column), text=text)
        if reason:
            pii[column] = reason
        elif raw.is_empty(column):
            empty.append(column)
        else:
            unmapped.append(column)
    claimed: dict[str, list[str]] = {}
    for column, target in targets.items():
        claimed.setdefault(target, []).append(column)
    for target, columns in claimed.items():
        chosen = [c for c in columns if c in declared]
        if len(chosen) == 1 and len(columns) > 1:  # the user said which one: the rest is dropped
            for column in columns:
                if column not in declared:
                    del targets[column]
                    dropped.append(column)
            claimed[target] = chosen
    clashes = {t: cs for t, cs in claimed.items() if len(cs) > 1}
    if clashes:
        # headers pass the output firewall: a header can be a name or an address too
        position = {c: i + 1 for i, c in enumerate(raw.columns)}
        detail = "; ".join(f"{t} <- " + ", ".join(
            f"'{shown(layout.repeated.get(c, c), 'header')}' (column {position[c]})" for c in cs)
            for t, cs in clashes.items())
        repeated = sorted({shown(layout.repeated[c], 'header') for cs in clashes.values() for c in cs
                           if c in layout.repeated})
        fix = Msg("errors.mapping.clash_fix")
        if repeated:
            fix = Msg("errors.mapping.clash_repeated", headers=", ".join(map(repr, repeated)),
                      first=repeated[0])
        raise InputError(Msg("errors.mapping.clash", detail=detail, fix=fix))
    return ColumnMap(targets=targets, pii=pii, dropped=dropped, tool=tool, empty=empty,
                     unmapped=unmapped)
