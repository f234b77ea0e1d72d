"""The ingest pipeline: read -> map -> decode -> validate -> pseudonymise -> account -> write.

Policy (the school-facing wording is in the README):

* Every data row of every file is either **accepted** (``responses.csv``) or **rejected**
  (``rejected.csv``, with file, line and reason); per file ``rows_in == accepted + rejected``
  always holds. Blank rows (every cell empty) are not data rows; they are counted in the file's
  ``details.blank_rows``.
* An answer that is not a code of the response scale, a label of it (either language), a missing
  code or a mapping-file value is **cleared** (the cell becomes missing) and logged with line,
  column, value and reason; the row itself is kept. Logged values that look like personal data
  or are long are withheld (:func:`partnerschap_eval.privacy.safe_log_value`).
* A row is **rejected** — first matching reason, in English (``reason``) and as a stable code
  (``reason_code``, see :mod:`.reasons`) — when the reader could not split it into the
  header's columns; when a survey tool marks it as a preview, test or spam response; when it has
  no respondent id, wave, role or school; when its role is not one of the instrument's roles; when
  its id, school or wave is implausibly long (over 200 characters).
* **Duplicates** (same respondent and wave, across all files of the run): exact copies are kept
  once and every extra copy is rejected as ``exact duplicate`` — so ingesting the same file twice
  changes no response. Rows that share a respondent and wave but differ are all rejected as
  ``conflicting duplicate``: the package cannot know which one is right.
* ``pii`` columns (declared or detected) are never decoded, stored or reported; only their header
  and the reason appear in the log. Ids are pseudonymised (HMAC-SHA-256 with the project key), each
  distinct id once.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import __version__
from .._io import write_json
from .._outputs import output_set, seal_set
from ..errors import InputError, Msg, WithheldReason
from ..instruments import Instrument, normalise_label
from ..instruments import resolve as resolve_instrument
from ..privacy import (
    WITHHELD,
    Screened,
    declared,
    personal_data,
    pseudonym_array,
    safe_log_value,
    screen,
    shown_path,
)
from ._fast import (
    PseudonymJob,
    new_table,
    pseudonym_rank,
    pseudonym_sort,
    render_texts,
    shared_keys,
    sort_order,
    take_rows,
    thread_pool,
    write_coded_csv,
    write_table_csv,
)
from .columns import Coded, collapse_space, constant
from .decode import AnswerDecoder, Cleared
from .identity import Identity
from .layouts import QUALTRICS_BAD_STATUS
from .mapping import (
    KEY_TARGETS,
    ColumnMap,
    MappingFile,
    header_score,
    load_mapping,
    map_columns,
)
from .readers import RawTable, read_export
from .reasons import code_of

__all__ = ["ExportSpec", "IngestResult", "ingest_exports", "write_ingest_outputs",
           "ROLE_ALIASES", "WAVE_ALIASES", "MAX_KEY_CHARS", "MAX_CLEARED_LISTED"]

# a school names its file or column after the group ("ouders", "leerkrachten"): plurals too
ROLE_ALIASES = {
    "parent": ["parent", "parents", "ouder", "ouders", "verzorger", "verzorgers",
               "ouder/verzorger", "ouders/verzorgers", "ouder of verzorger", "ouder / verzorger",
               "guardian", "guardians", "mother", "father", "moeder", "vader"],
    "teacher": ["teacher", "teachers", "leerkracht", "leerkrachten", "leraar", "leraren",
                "lerares", "leraressen", "docent", "docenten", "groepsleerkracht",
                "groepsleerkrachten", "juf", "meester", "wish-trainer", "wish trainer",
                "wish-trainers", "wish trainers"],
    "youthworker": ["youthworker", "youthworkers", "youth worker", "youth workers",
                    "youth-care worker", "youth care worker", "youth-care workers",
                    "jeugdhulpverlener", "jeugdhulpverleners", "jeugdhulp", "jeugdprofessional",
                    "jeugdprofessionals", "weerbaarheidsspecialist",
                    "weerbaarheidsspecialisten", "resilience specialist"],
    "coordinator": ["coordinator", "coordinators", "coördinator", "coördinatoren",
                    "coordinatoren", "zorgcoördinator", "zorgcoordinator", "intern begeleider",
                    "interne begeleiders", "ib'er", "ib'ers", "ib-er", "ib-ers", "ib",
                    "internal coordinator"],
    "pupil": ["pupil", "pupils", "leerling", "leerlingen", "kind", "kinderen", "child",
              "children", "student", "students"],
}
_ROLE_LOOKUP = {normalise_label(a): role for role, names in ROLE_ALIASES.items() for a in names}
WAVE_ALIASES = {"pre": ["pre", "voormeting", "voor", "baseline", "before", "t0"],
                "post": ["post", "nameting", "na", "after", "t1"]}
_WAVE_LOOKUP = {normalise_label(a): w for w, names in WAVE_ALIASES.items() for a in names}
OUTPUT_KEYS = ["respondent_id", "wave", "role", "school_id"]
MAX_KEY_CHARS = 200
MAX_CLEARED_LISTED = 1000  # per file; the counts by reason and column are always complete

# Rejection reasons; the order is the priority (a row gets the first that applies).
R_FIELDS = "row has more fields than the header"
R_STATUS = "survey preview, test or spam response"
R_NO_ID, R_NO_WAVE, R_NO_ROLE, R_NO_SCHOOL = ("missing respondent id", "missing wave",
                                               "missing role", "missing school")
R_ROLE = "unknown role"
R_LONG = {"respondent_id": f"respondent id longer than {MAX_KEY_CHARS} characters",
          "school_id": f"school longer than {MAX_KEY_CHARS} characters",
          "wave": f"wave longer than {MAX_KEY_CHARS} characters"}
# A wave or school the output firewall withholds (privacy.screen): not declared, or shaped like
# personal data. The value itself never reaches an output; rejected.csv shows WITHHELD.
R_WAVE = "unknown wave (value withheld)"
R_SCHOOL = "school withheld (not declared, or looks like personal data)"
# A row of another school than the one submitting (``only_school``: a school's own portal).
R_OTHER_SCHOOL = "another school than the one submitting"
R_EXACT, R_CONFLICT = "exact duplicate", "conflicting duplicate"
REASONS = ["", R_FIELDS, R_STATUS, R_NO_ID, R_NO_WAVE, R_NO_ROLE, R_NO_SCHOOL, R_ROLE,
           *R_LONG.values(), R_WAVE, R_SCHOOL, R_OTHER_SCHOOL, R_EXACT, R_CONFLICT]
_CODE = {r: i for i, r in enumerate(REASONS)}
# the stable code of each reason (``reason_code`` beside ``reason`` in rejected.csv)
REASON_CODES = ["", *(code_of(r) for r in REASONS[1:])]


@dataclass(frozen=True)
class ExportSpec:
    """One export file and the values its rows lack (``--wave``, ``--role``, ``--school``).

    ``format`` overrides detection (a container or layout name, see :mod:`.readers`);
    ``sheet`` picks a workbook's sheet by name or number (default: the first with answers);
    ``header_row`` is the line or sheet row of the header (default: found, title rows above it
    skipped).
    """

    path: Path
    wave: str | None = None
    role: str | None = None
    school: str | None = None
    format: str | None = None
    sheet: str | None = None
    header_row: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))


@dataclass(frozen=True)
class _Accepted:
    """The accepted rows as the ingest holds them: codes, not yet a frame of floats.

    ``keys`` maps each key column to its distinct texts and a code per input row; ``answers`` has
    a code per input row and item (offset on the scale, -1 = missing); ``rows`` lists the input
    rows in output order. :func:`write_ingest_outputs` writes the CSV from these codes directly:
    building the float frame first (240 MB for a million rows x 30 items) and turning its floats
    back into text took a fifth of a large ingest.
    """

    keys: dict[str, tuple[pa.Array | list[str], np.ndarray]]
    items: list[str]
    answers: np.ndarray
    rows: np.ndarray
    lo: int
    hi: int

    def frame(self) -> pd.DataFrame:
        keys = {k: _take_text(values, codes[self.rows]) for k, (values, codes) in self.keys.items()}
        return _frame(keys, self.items, take_rows(self.answers, self.rows, self.lo, self.hi))

    def table(self) -> pa.Table:
        # large strings, as pandas' text columns convert: one schema for files from either
        keys = {k: _take_text(values, codes[self.rows]).cast(pa.large_string())
                for k, (values, codes) in self.keys.items()}
        values = take_rows(self.answers, self.rows, self.lo, self.hi)  # column-major: each
        # item a contiguous column; missing as null, as pandas' own conversion writes it
        return pa.table({**keys, **{item: pa.array(values[:, j], from_pandas=True)
                                    for j, item in enumerate(self.items)}})

    def write_csv(self, path: Path) -> None:
        scale = [str(v) for v in range(self.lo, self.hi + 1)]
        parts = [(codes, render_texts(values)) for values, codes in self.keys.values()]
        # row-major, so a row's answers are one read (per item, a row's answers are 30 reads
        # far apart); 30 MB for a million rows x 30 items, copied in about 10 ms
        parts.append((np.ascontiguousarray(self.answers), scale))
        write_coded_csv(path, [*self.keys, *self.items], parts, self.rows)


@dataclass(frozen=True)
class IngestResult:
    """Accepted responses (Contract 2), rejected rows with reasons, and the per-file log.

    ``responses`` is built on first use: a command that only writes the files never needs it,
    and :func:`write_ingest_outputs` then writes responses.csv from the codes the ingest holds
    (once built, the frame itself is written, with any change made to it).
    """

    rejected: pd.DataFrame
    log: dict
    accepted: _Accepted = field(repr=False)
    #: answers cleared per ``(school_id, wave, role)``, over accepted and rejected rows; the keys
    #: are the texts ``responses`` and ``rejected`` show (a missing one None)
    cleared_cells: dict[tuple[str | None, str | None, str | None], int] = field(
        default_factory=dict, repr=False)

    @cached_property
    def responses(self) -> pd.DataFrame:
        """The accepted responses (Contract 2), sorted by wave, school and pseudonym."""
        return self.accepted.frame()

    def key_codes(self, columns: Sequence[str]) -> list[tuple[list[str], np.ndarray]] | None:
        """Per key column (``school_id``, ``wave``, ``role``, ``respondent_id``), its distinct
        texts and each accepted row's index into them (in :attr:`responses`' row order), read
        from the codes without building a column; None once :attr:`responses` was built (it
        may have been changed since)."""
        if "responses" in self.__dict__:
            return None
        acc = self.accepted
        out = []
        for column in columns:
            values, codes = acc.keys[column]
            texts = values.to_pylist() if isinstance(values, pa.Array) else list(values)
            out.append(([str(t) for t in texts], codes[acc.rows].astype(np.int64, copy=False)))
        return out

    def responses_table(self) -> pa.Table:
        """:attr:`responses` as an Arrow table (items as float64, NaN where missing), built from
        the codes without a pandas frame when that was not built yet (for a Parquet file)."""
        if "responses" in self.__dict__:
            return pa.Table.from_pandas(self.responses, preserve_index=False)
        return self.accepted.table()


@dataclass
class _FilePart:
    """One file after decoding and row checks, before the run-wide duplicate check."""

    ids: Coded
    wave: Coded
    role: np.ndarray  # index into instrument roles, -1 = missing or unknown
    role_text: Coded  # as written (never shown: an unknown role is withheld)
    school: Coded
    items: np.ndarray  # (rows, instrument items): code - scale min, -1 = missing
    reason: np.ndarray  # index into REASONS; 0 = fine so far
    lines: np.ndarray
    log: dict
    unknown_role: np.ndarray | None = None  # rows whose role cell is not a role: withheld
    cleared: np.ndarray | None = None  # answers cleared per row
    names: PseudonymJob | None = None  # pseudonyms of ``ids.arrow``, hashed meanwhile


def _normalise_wave(value: str) -> str:
    norm = normalise_label(value)
    return _WAVE_LOOKUP.get(norm, norm)


def _header(raw: RawTable, column: str) -> str:
    """A column header as logs and messages show it: itself, or its position when the
    firewall withholds it (a header can be a name or an e-mail address as well)."""
    s = screen(column, "header")
    return column if s.allowed else f"column {raw.columns.index(column) + 1} {s.text}"


def _check_flags(raw: RawTable, by_target: dict[str, str], spec: ExportSpec) -> None:
    for target, flag in (("wave", spec.wave), ("school_id", spec.school), ("role", spec.role)):
        if target in by_target and flag is not None:
            option = "school" if target == "school_id" else target
            raise InputError(
                Msg("errors.pipeline.option_and_column", path=shown_path(spec.path), target=target,
                    target2=_header(raw, by_target[target]), option=option))


def _key(raw: RawTable, by_target: dict[str, str], target: str, flag: str | None) -> Coded:
    if target in by_target:
        return raw.coded(by_target[target]).recode(collapse_space)
    return constant(flag, raw.n_rows)


def _keys(raw: RawTable, by_target: dict[str, str], spec: ExportSpec,
          identity: Identity | None = None) -> tuple[Coded, ...]:
    """Wave, school and role as written (wave names normalised, or resolved by ``identity``)."""
    school = _key(raw, by_target, "school_id", spec.school)
    if identity is not None and identity.school is not None:
        school = school.recode(identity.school)
    wave_of = identity.wave if identity is not None and identity.wave else _normalise_wave
    return (_key(raw, by_target, "wave", spec.wave).recode(wave_of), school,
            _key(raw, by_target, "role", spec.role))


def _role_of(inst: Instrument):
    def role_of(text: str) -> str:
        norm = normalise_label(text)
        return norm if norm in inst.roles else _ROLE_LOOKUP.get(norm, norm)
    return role_of


def _mark(reason: np.ndarray, mask: np.ndarray, label: str) -> None:
    reason[(reason == 0) & mask] = _CODE[label]


def _too_long(column: Coded) -> np.ndarray:
    return column.per_row(column.lengths() > MAX_KEY_CHARS, False)


def _no_items_error(raw: RawTable, path: Path, inst: Instrument, cmap: ColumnMap) -> InputError:
    def listed(columns: list[str]) -> str:
        return f"{[_header(raw, c) for c in columns[:8]]}{' ...' if len(columns) > 8 else ''}"

    # the unmapped columns are named apart: they are the ones a mapping file has to name, and a
    # Qualtrics export starts with a dozen metadata columns that would otherwise fill the list
    others = [c for c in raw.columns if c not in cmap.pii and c not in cmap.unmapped]
    return InputError(
        Msg("errors.pipeline.no_items", path=path, id=inst.id, format=raw.format,
            name=raw.layout.name, unmapped=listed(cmap.unmapped), others=listed(others)))


# export tools whose own numbering is no respondent id: errors.pipeline.id_hint.<layout>
_ID_HINTS = ("msforms", "qualtrics", "qualtrics-legacy", "limesurvey", "googleforms")


def _no_id_error(raw: RawTable, path: Path) -> InputError:
    layout = raw.layout.name
    hint = (Msg(f"errors.pipeline.id_hint.{layout}") if layout in _ID_HINTS else "")
    return InputError(Msg("errors.pipeline.no_id", path=path, hint=hint))


def _ingest_file(raw: RawTable, spec: ExportSpec, inst: Instrument, mapping: MappingFile,
                 decoder: AnswerDecoder, key: bytes | None = None,
                 identity: Identity | None = None) -> _FilePart:
    path = Path(shown_path(spec.path))  # only for messages: the file was read already
    if raw.n_rows == 0:
        raise InputError(
            Msg("errors.pipeline.no_rows", path=path))
    cmap = map_columns(raw, inst, mapping)
    items = inst.item_ids
    mapped_items = [c for c, t in cmap.targets.items() if t in items]
    if not mapped_items:
        raise _no_items_error(raw, path, inst, cmap)
    by_target = {t: c for c, t in cmap.targets.items()}
    if "respondent_id" not in by_target:
        raise _no_id_error(raw, path)

    # answers as small offsets on the scale (code - min, -1 = missing), one contiguous column per
    # item: a byte a cell for any usual scale, so sorting and copying rows stays cheap, and
    # little fresh memory is touched (on a virtual machine a fresh megabyte cost up to 2 ms);
    # each mapped item's column is written by its decoder, the others are set to missing here
    span = inst.response_scale.max - inst.response_scale.min
    decoded = new_table((raw.n_rows, len(items)), np.int8 if span < 127 else np.int16)
    mapped_targets = {cmap.targets[c] for c in mapped_items}
    for j, item in enumerate(items):
        if item not in mapped_targets:
            decoded[:, j] = -1

    def decode(column: str) -> Cleared:
        out = decoded[:, items.index(cmap.targets[column])]
        fast = decoder.decode_chars(raw.data[column], raw.layout.answer_codes, out)
        if fast is not None:
            return fast
        return decoder.decode_column(raw.coded(column, answer_codes=True),
                                     raw.layout.answer_codes, out)

    # The ids are encoded first and their pseudonyms computed by child processes from then on:
    # hashing is the longest single chain of work, so it starts before anything else competes
    # for the cores; meanwhile a thread encodes wave, school and role (Arrow releases the GIL).
    # A large file's answer columns are then decoded by threads; the results are taken in column
    # order, so the table and the log are those of a serial run.
    _check_flags(raw, by_target, spec)
    names = None
    pool = thread_pool(raw.n_rows * len(mapped_items))
    try:
        keys = pool.submit(_keys, raw, by_target, spec, identity) if pool is not None else None
        ids = raw.coded(by_target["respondent_id"])
        if identity is None:  # otherwise the ids are keyed over school and role first
            names = PseudonymJob(ids.arrow, key) if key is not None else None
        results = pool.map(decode, mapped_items) if pool is not None else map(decode, mapped_items)
        wave, school, role_text = keys.result() if keys is not None else _keys(raw, by_target,
                                                                                  spec, identity)
        if identity is not None:
            ids = identity.apply(ids, school, role_text, _role_of(inst))
            names = PseudonymJob(ids.arrow, key) if key is not None else None
        return _check_and_decode(raw, spec, inst, ids, wave, school, role_text, names, decoded,
                                 cmap, zip(mapped_items, results, strict=True))
    except BaseException:
        if names is not None:
            names.close()
        raise
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _log_cleared(raw: RawTable, path: Path, column: str, item: str, col: Cleared,
                 cleared: list[dict], by_reason: Counter[str], by_column: Counter[str]) -> None:
    counts = np.bincount(col.why, minlength=len(col.reasons))
    for r, count in zip(col.reasons, counts, strict=True):
        by_reason[r] += int(count)
    by_column[item] += len(col.rows)
    room = MAX_CLEARED_LISTED - len(cleared)
    for row, why in zip(col.rows[:max(room, 0)], col.why, strict=False):
        cleared.append({"line": int(raw.lines[row]), "column": item,
                        "header": _header(raw, column),
                        "value": safe_log_value(col.text_at(row)),
                        "reason": col.reasons[why], "source_file": path.name})


def _withhold_ids(cleared: list[dict], ids: Coded) -> None:
    """A cleared answer that is a respondent id of the file is withheld, however short: the
    log would otherwise pair a raw id with the line it stands on. The few distinct logged
    values are hashed, the ids probe them (a million ids: a few milliseconds)."""
    import pyarrow.compute as pc

    shown_values = sorted({c["value"] for c in cleared if not c["value"].startswith("<withheld")})
    if not shown_values or not len(ids.arrow):
        return
    hits = pc.index_in(ids.arrow, value_set=pa.array(shown_values, type=pa.string()))
    found = {shown_values[i] for i in np.unique(hits.drop_null().to_numpy())}
    for c in cleared:
        if c["value"] in found:
            c["value"] = "<withheld: a respondent id>"


R_FORMULA = "formula without a cached value"


def _log_unread(raw: RawTable, path: Path, cmap: ColumnMap, cleared: list[dict],
                by_reason: Counter[str], by_column: Counter[str]) -> list[tuple[str, list]]:
    """Answer cells the reader saw as empty although the file holds something there (a formula
    whose result the spreadsheet never stored): counted and listed as cleared, not lost.
    Returns the answer columns with such cells and their rows."""
    out = []
    for column, rows in raw.unread.items():
        item = cmap.targets.get(column)
        if item is None or item in KEY_TARGETS:
            continue  # a key column: its row is rejected for the missing value, and counted
        out.append((column, rows))
        by_reason[R_FORMULA] += len(rows)
        by_column[item] += len(rows)
        room = MAX_CLEARED_LISTED - len(cleared)
        for row in rows[:max(room, 0)]:
            cleared.append({"line": int(raw.lines[row]), "column": item,
                            "header": _header(raw, column), "value": "(formula)", "reason": R_FORMULA, "source_file": path.name})
    return out


def _check_and_decode(raw: RawTable, spec: ExportSpec, inst: Instrument, ids: Coded,
                      wave: Coded, school: Coded, role_text: Coded, names: PseudonymJob | None,
                      decoded: np.ndarray, cmap: ColumnMap, results) -> _FilePart:
    path, n = Path(shown_path(spec.path)), raw.n_rows
    role_of_value = []
    for text in role_text.values:
        norm = normalise_label(text)
        role = norm if norm in inst.roles else _ROLE_LOOKUP.get(norm)
        role_of_value.append(inst.roles.index(role) if role in inst.roles else -2)
    role = role_text.per_row(np.asarray(role_of_value, dtype=np.int64), -1)

    reason = np.zeros(n, dtype=np.int8)
    if raw.problems:
        bad = np.zeros(n, dtype=bool)
        bad[list(raw.problems)] = True
        _mark(reason, bad, R_FIELDS)
    status_col = raw.layout.status_column
    if status_col and status_col in raw.data:
        status = raw.coded(status_col)
        flagged = [normalise_label(v) in QUALTRICS_BAD_STATUS for v in status.values]
        _mark(reason, status.per_row(np.asarray(flagged, dtype=bool), False), R_STATUS)
    for column, label in ((ids, R_NO_ID), (wave, R_NO_WAVE), (role_text, R_NO_ROLE),
                          (school, R_NO_SCHOOL)):
        _mark(reason, column.codes < 0, label)
    unknown_role = role == -2
    _mark(reason, unknown_role, R_ROLE)
    for target, column in (("respondent_id", ids), ("school_id", school), ("wave", wave)):
        _mark(reason, _too_long(column), R_LONG[target])
    role = np.where(role < 0, -1, role)

    cleared: list[dict] = []
    by_reason: Counter[str] = Counter()
    by_column: Counter[str] = Counter()
    per_row = np.zeros(n, dtype=np.int32)
    for column, col in results:  # in column order: the log is that of a serial run
        if col.reasons:
            _log_cleared(raw, path, column, cmap.targets[column], col, cleared, by_reason,
                         by_column)
            per_row[col.rows] += 1  # a column clears a row's cell at most once
    for _, rows in _log_unread(raw, path, cmap, cleared, by_reason, by_column):
        per_row[rows] += 1
    _withhold_ids(cleared, ids)

    def headers(columns) -> list[str]:
        return [_header(raw, c) for c in columns]

    log = {
        "path": str(path), "file": path.name, "sha256": raw.sha256, "format": raw.format,
        "layout": raw.layout.name, "details": raw.details, "rows_in": n,
        "mapped_columns": {_header(raw, c): t for c, t in cmap.targets.items()},
        "pii_columns": [{"column": _header(raw, c), "reason": r} for c, r in cmap.pii.items()],
        "dropped_columns": headers(cmap.dropped), "tool_columns": sorted(headers(cmap.tool)),
        "empty_columns": headers(cmap.empty), "unmapped_columns": headers(cmap.unmapped),
        "cells_cleared": dict(sorted(by_reason.items())),
        "cells_cleared_by_column": dict(sorted(by_column.items())),
        "cleared": sorted(cleared, key=lambda c: (c["line"], c["column"])),
        "cleared_listed_max": MAX_CLEARED_LISTED,
    }
    return _FilePart(ids=ids, wave=wave, role=role, role_text=role_text, school=school,
                     items=decoded, reason=reason, lines=raw.lines, log=log,
                     unknown_role=unknown_role, names=names, cleared=per_row)


def _global_codes(columns: list[Coded]) -> tuple[pa.Array, np.ndarray]:
    """One array of distinct values for several coded columns, and all rows' codes into it."""
    if len(columns) == 1:
        return columns[0].arrow, columns[0].codes.astype(np.int64, copy=False)  # read only
    union = pd.Index([v for c in columns for v in c.values], dtype=object).unique()
    out = []
    for c in columns:
        lut = np.append(union.get_indexer(pd.Index(c.values, dtype=object)), -1).astype(np.int64)
        out.append(lut[c.codes])
    return pa.array(list(union), type=pa.string()), np.concatenate(out)


def _concat(arrays: list[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _rank(values: list[str]) -> np.ndarray:
    """Position of each distinct text in sorted (code point) order; -1 for the empty slot."""
    order = sorted(range(len(values)), key=values.__getitem__)
    rank = np.empty(len(values) + 1, dtype=np.int64)
    rank[order] = np.arange(len(values))
    rank[-1] = -1
    return rank


def _mark_duplicates(reason: np.ndarray, key: np.ndarray, school: np.ndarray, role: np.ndarray,
                     items: np.ndarray) -> None:
    ok = np.flatnonzero(reason == 0)
    dup = shared_keys(key[ok])
    if not dup.any():
        return
    rows = ok[dup]
    sub = pd.DataFrame(items[rows])
    sub["key"], sub["school"], sub["role"] = key[rows], school[rows], role[rows]
    exact = sub.duplicated(keep="first").to_numpy()
    reason[rows[exact]] = _CODE[R_EXACT]
    rest = rows[~exact]
    still = shared_keys(key[rest])
    reason[rest[still]] = _CODE[R_CONFLICT]


def _take_text(values: pa.Array | list[str], codes: np.ndarray) -> pa.Array:
    """Arrow strings ``values[codes]`` (null where the code is -1)."""
    arr = values if isinstance(values, pa.Array) else pa.array(values, type=pa.string())
    if not len(codes) or codes.min() >= 0:  # no missing (accepted rows): no validity mask to
        return arr.take(pa.array(codes))  # build and check, a third of a million-row take
    return arr.take(pa.array(codes, mask=codes < 0))


def pa_strings(values: list[str]) -> pa.Array:
    return pa.array(values, type=pa.string())


def _frame(keys: dict[str, object], items: list[str], values: np.ndarray) -> pd.DataFrame:
    """Key columns (Arrow) beside one float block of item codes, without copying the block."""
    table = pa.table({k: v if isinstance(v, pa.Array) else pa.array(v) for k, v in keys.items()})
    front = table.to_pandas(split_blocks=True, self_destruct=True)
    block = pd.DataFrame(values, columns=items, index=front.index, copy=False)
    return pd.concat([front, block], axis=1)


def ingest_exports(specs: list[ExportSpec], instrument: Instrument | str, key: bytes,
                   mapping: MappingFile | str | Path | None = None, *,
                   schools: Iterable[str] | None = None,
                   waves: Iterable[str] | None = None, id_scope: str = "study",
                   school_resolver: Callable[[str], str] | None = None,
                   wave_resolver: Callable[[str], str] | None = None,
                   only_school: str | None = None) -> IngestResult:
    """Ingest export files into one tidy responses table.

    Parameters
    ----------
    specs
        The files, each with the wave/role/school its rows lack (and an optional format or sheet).
    instrument
        Instrument id, path or object.
    key
        The project's pseudonymisation key (see :func:`partnerschap_eval.privacy.load_key`).
    mapping
        Optional mapping file (path or parsed).
    schools, waves
        Declared schools and waves: let through the output firewall whatever their shape (see
        :func:`partnerschap_eval.privacy.screen`). Without them, and besides the ``--school`` and
        ``--wave`` values of the specs, a school cell passes when it is a short name or code that
        does not look like personal data, and a wave when it is a known name (pre, post,
        voormeting, nameting ...) or shaped like T0, W2, meting 3. Rows with any other school or
        wave are rejected, and the value is shown as ``unknown value (withheld)``.
    id_scope
        ``"study"`` (default): a respondent number is one person across the run.
        ``"per_school"``: a respondent is school + role + number (numbers restart per school);
        duplicates and pseudonyms are keyed over all three.
    school_resolver, wave_resolver
        Optional resolvers: a written school or wave name -> its declared id (raising
        :class:`~partnerschap_eval.errors.InputError` for an unknown one), applied before
        anything is keyed or hashed. Default: schools as written, waves by the known aliases.
    only_school
        The one school whose rows are taken (a school submitting its own files): a row whose
        school (as resolved) is another one is rejected as ``another school than the one
        submitting`` before duplicates are looked for, so it never takes part in them.

    Returns
    -------
    IngestResult
        ``responses`` (Contract 2, sorted by wave, school and pseudonym), ``rejected`` (source
        file, line, reason, reason_code and the mapped values, id pseudonymised) and ``log`` (per file:
        ``rows_in == accepted + rejected_total``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ouders.csv"
    >>> _ = p.write_text("Deelnemernummer,School,rec1,rec2\\n0012,De Linde,Mee eens,5\\n"
    ...                  "0012,De Linde,Mee eens,5\\n,De Linde,1,1\\n")
    >>> res = ingest_exports([ExportSpec(p, wave="pre", role="parent")], "partnerschap", b"k" * 16)
    >>> res.responses[["wave", "role", "school_id", "rec1", "rec2"]].to_dict("records")
    [{'wave': 'pre', 'role': 'parent', 'school_id': 'De Linde', 'rec1': 4.0, 'rec2': 5.0}]
    >>> res.log["files"][0]["rejected"]
    {'exact duplicate': 1, 'missing respondent id': 1}
    """
    inst = resolve_instrument(instrument)
    if not isinstance(mapping, MappingFile):
        mapping = load_mapping(mapping, inst)
    decoder = AnswerDecoder(inst, mapping)
    specs = [s if isinstance(s, ExportSpec) else ExportSpec(**s) for s in specs]
    known = _declared(specs, schools, waves)
    identity = Identity(id_scope, school_resolver, wave_resolver)
    parts: list[_FilePart] = []
    try:
        return _ingest_parts(specs, inst, mapping, decoder, key, parts, known,
                             None if identity.is_default else identity, only_school)
    finally:
        for part in parts:  # a child still hashing after an error is ended, never left behind
            if part.names is not None:
                part.names.close()


def _declared(specs: list[ExportSpec], schools: Iterable[str] | None,
              waves: Iterable[str] | None) -> dict[str, frozenset[str]]:
    """Declared schools and waves (the run's and every spec's option values) for the firewall.

    An option value is the researcher's declaration, but one that looks like personal data (an
    e-mail address typed as ``--school``) is refused here, before anything is read or written.
    """
    for spec in specs:
        for option, value in (("school", spec.school), ("wave", spec.wave)):
            # a wave given here may have any name (its order is declared later, --waves); a
            # school must pass the firewall as it is, or score and report would refuse it
            if value is None:
                continue
            what = personal_data(value)
            verdict = (screen(value, "school") if option == "school"
                       else Screened(value, what is None, f"looks like {what}"))
            if not verdict.allowed:
                example = Msg(f"errors.pipeline.example.{option}")
                raise InputError(
                    Msg("errors.pipeline.option_withheld", option=option,
                        path=shown_path(spec.path), reason=WithheldReason(verdict.reason), example=example))
    return {"school": declared([*(schools or ()), *(s.school for s in specs if s.school)]),
            "wave": declared([_normalise_wave(w) for w in
                              [*WAVE_ALIASES, *(waves or ()), *(s.wave for s in specs if s.wave)]])}


def _firewall(values: pa.Array, kind: str, known: frozenset[str],
              raw_ids: pa.Array | None = None) -> np.ndarray:
    """Whether each distinct school or wave text passes the output firewall (one slot more, for
    'missing', which passes: missing values have reasons of their own). A school cell that
    holds a respondent's raw id of the run is withheld whatever its shape."""
    ok = np.array([screen(v, kind, known).allowed for v in values.to_pylist()] + [True])
    if raw_ids is not None and len(values) and len(raw_ids):
        import pyarrow.compute as pc

        # the small set of distinct values is hashed, the ids probe it
        hit = pc.index_in(raw_ids, value_set=values).drop_null().to_numpy()
        ok[np.unique(hit)] = False
    return ok


def _ingest_parts(specs: list[ExportSpec], inst: Instrument, mapping: MappingFile,
                  decoder: AnswerDecoder, key: bytes, parts: list[_FilePart],
                  known: dict[str, frozenset[str]],
                  identity: Identity | None = None,
                  only_school: str | None = None) -> IngestResult:
    items = inst.item_ids
    lo, hi = inst.response_scale.min, inst.response_scale.max
    score = header_score(inst, mapping)
    for spec in specs:
        raw = read_export(spec.path, spec.format, spec.sheet, spec.header_row, score)
        # one file: its distinct ids are the run's, so they can be hashed while it is decoded
        parts.append(_ingest_file(raw, spec, inst, mapping, decoder,
                                  key if len(specs) == 1 else None, identity))
        del raw
    if not parts:
        raise InputError(Msg("errors.pipeline.no_exports"))
    for i, part in enumerate(parts):
        if part.log["file"].startswith("<withheld"):  # withheld names: told apart by position
            shown = f"export {i + 1} {part.log['file']}"
            part.log["file"] = shown
            part.log["path"] = str(Path(part.log["path"]).parent / shown)
            for c in part.log["cleared"]:
                c["source_file"] = shown

    ids_u, gid = _global_codes([p.ids for p in parts])
    waves_u, gwave = _global_codes([p.wave for p in parts])
    schools_u, gschool = _global_codes([p.school for p in parts])
    role = _concat([p.role for p in parts])
    reason = _concat([p.reason for p in parts]).copy()
    lines = _concat([p.lines for p in parts])
    sizes = [len(p.lines) for p in parts]
    item_values = (parts[0].items if len(parts) == 1
                   else np.asfortranarray(np.concatenate([p.items for p in parts])))
    for p in parts:
        p.items = item_values[:0]  # free the per-file copies
    # the output firewall: a wave or school that is not declared, or looks like personal data,
    # rejects its row and is never written as typed (nor is a role that is not a role)
    wave_ok = _firewall(waves_u, "wave", known["wave"])
    school_ok = _firewall(schools_u, "school", known["school"], ids_u)
    _mark(reason, ~wave_ok[gwave], R_WAVE)
    _mark(reason, ~school_ok[gschool], R_SCHOOL)
    if only_school is not None:  # one slot more for 'missing', which has its own reason
        other = np.array([v != only_school for v in schools_u.to_pylist()] + [False])
        _mark(reason, other[gschool], R_OTHER_SCHOOL)
    unknown_role = _concat([p.unknown_role for p in parts])
    key_codes = gid * max(len(waves_u), 1) + gwave  # one integer per (respondent, wave)
    _mark_duplicates(reason, key_codes, gschool, role, item_values)

    # each distinct id hashed once
    names = parts[0].names.result() if parts[0].names is not None else pseudonym_array(ids_u, key)
    schools_u = [v if ok else WITHHELD for v, ok in zip(schools_u.to_pylist(), school_ok,
                                                        strict=False)]
    waves_u = [v if ok else WITHHELD for v, ok in zip(waves_u.to_pylist(), wave_ok, strict=False)]
    role_names = list(inst.roles)

    accepted = np.flatnonzero(reason == 0)
    wave_rank, school_rank = _rank(waves_u)[gwave[accepted]], _rank(schools_u)[gschool[accepted]]
    order = pseudonym_sort(wave_rank, school_rank, names, gid[accepted])
    if order is None:
        name_rank = np.append(pseudonym_rank(names), -1)
        order = sort_order([wave_rank, school_rank, name_rank[gid[accepted]]])
    accepted_table = _Accepted(
        keys={"respondent_id": (names, gid), "wave": (waves_u, gwave), "role": (role_names, role),
              "school_id": (schools_u, gschool)},
        items=items, answers=item_values, rows=accepted[order], lo=lo, hi=hi)

    rej = np.flatnonzero(reason != 0)
    starts = np.cumsum([0, *sizes])
    spec_index = np.searchsorted(starts, rej, side="right") - 1  # each rejected row's file
    order = np.lexsort((lines[rej], spec_index))
    rej, spec_index = rej[order], spec_index[order]
    rej_role = _take_text(role_names, role[rej]).to_pylist()
    for j in np.flatnonzero(unknown_role[rej]):  # a role that is not a role: never as typed
        rej_role[j] = WITHHELD
    files = [p.log["file"] for p in parts]
    if len(rej):
        rejected = _frame({
            "source_file": _take_text(files, spec_index), "line": lines[rej],
            "reason": _take_text(REASONS, reason[rej].astype(np.int64)),
            "reason_code": _take_text(REASON_CODES, reason[rej].astype(np.int64)),
            "respondent_id": _take_text(names, gid[rej]),
            "wave": _take_text(waves_u, gwave[rej]), "role": pa_strings(rej_role),
            "school_id": _take_text(schools_u, gschool[rej])},
            items, take_rows(item_values, rej, lo, hi))
    else:  # most files: a copy of the empty table (building it took a tenth of a small ingest)
        rejected = _no_rejected(tuple(items), lines.dtype.str).copy()

    file_logs = []
    for i, part in enumerate(parts):
        log = part.log
        counts = np.bincount(reason[starts[i]:starts[i + 1]], minlength=len(REASONS))
        log["accepted"] = int(counts[0])
        log["rejected"] = {REASONS[r]: int(counts[r]) for r in
                           sorted(range(1, len(REASONS)), key=REASONS.__getitem__) if counts[r]}
        log["rejected_total"] = int(counts[1:].sum())
        mine = slice(starts[i], starts[i + 1])
        withheld = {"role": int(unknown_role[mine].sum()),
                    "school": int((~school_ok[gschool[mine]]).sum()),
                    "wave": int((~wave_ok[gwave[mine]]).sum())}
        # rows whose school, wave or role cell was withheld: counted, never shown
        log["withheld_values"] = {k: v for k, v in withheld.items() if v}
        if log["rows_in"] != log["accepted"] + log["rejected_total"]:  # a bug, never user error
            raise RuntimeError(f"ingest lost rows of {log['file']}: {log}")
        file_logs.append(log)
    log = {
        "schema": "partnerschap-eval/ingest-log/v1",
        "package_version": __version__,
        "instrument": {"id": inst.id, "version": inst.version},
        "mapping_file": (screen(os.path.basename(mapping.source), "file").text
                         if mapping.source else None),
        "files": file_logs,
        "totals": {
            "rows_in": sum(f["rows_in"] for f in file_logs),
            "accepted": len(accepted_table.rows),
            "rejected": len(rejected),
            "cells_cleared": sum(sum(f["cells_cleared"].values()) for f in file_logs),
        },
    }
    cleared_cells = _cleared_cells(_concat([p.cleared for p in parts]), schools_u, gschool,
                                   waves_u, gwave, role_names, role, unknown_role)
    return IngestResult(rejected=rejected, log=log, accepted=accepted_table,
                        cleared_cells=cleared_cells)


@functools.lru_cache(maxsize=32)
def _no_rejected(items: tuple[str, ...], line_dtype: str) -> pd.DataFrame:
    """The rejected table without rows, as :func:`_frame` builds it (keep it unchanged: copy)."""
    keys = ["source_file", "reason", "reason_code", "respondent_id", "wave", "role", "school_id"]
    columns = {k: pa_strings([]) for k in keys}
    columns = {"source_file": columns.pop("source_file"),
               "line": np.zeros(0, dtype=np.dtype(line_dtype)), **columns}
    return _frame(columns, list(items), np.zeros((0, len(items))))


def _cleared_cells(per_row: np.ndarray, schools: list, gschool: np.ndarray, waves: list,
                   gwave: np.ndarray, role_names: list[str], role: np.ndarray,
                   unknown_role: np.ndarray) -> dict[tuple, int]:
    """Cleared answers summed per school x wave x role, keyed by the texts the outputs show
    (a missing key None, a role that is not a role withheld)."""
    rows = np.flatnonzero(per_row)
    if not len(rows):
        return {}
    role_text = [*role_names, WITHHELD, None]
    role_code = np.where(role[rows] < 0, len(role_names) + 1, role[rows]).astype(np.int64)
    role_code[unknown_role[rows]] = len(role_names)
    n_w, n_r = len(waves) + 1, len(role_text)
    combo = ((gschool[rows].astype(np.int64) + 1) * n_w + gwave[rows] + 1) * n_r + role_code
    unique, inverse = np.unique(combo, return_inverse=True)
    sums = np.bincount(inverse, weights=per_row[rows], minlength=len(unique)).astype(np.int64)
    s, w, r = unique // (n_w * n_r) - 1, (unique // n_r) % n_w - 1, unique % n_r
    return {(None if si < 0 else schools[si], None if wi < 0 else waves[wi], role_text[ri]):
            int(n) for si, wi, ri, n in zip(s, w, r, sums, strict=True)}


def write_ingest_files(result: IngestResult, folder: str | Path) -> dict[str, Path]:
    """Write responses.csv, rejected.csv, ingest_log.json and their completion record into
    ``folder`` (a staging folder nobody reads yet: see :func:`write_ingest_outputs`).

    Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR,
    NUL at the start) get a leading apostrophe; numbers stay numbers.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"responses": out / "responses.csv", "rejected": out / "rejected.csv",
             "log": out / "ingest_log.json"}
    if "responses" in result.__dict__:  # the frame was built, and may have been edited since
        write_table_csv(result.responses, paths["responses"])
    else:
        result.accepted.write_csv(paths["responses"])
    write_table_csv(result.rejected, paths["rejected"])
    write_json(result.log, paths["log"])
    seal_set(out, "ingest", [p.name for p in paths.values()])
    return paths


def ingest_output(out_dir: str | Path, inputs: Iterable[str | Path | None] = ()):
    """The output set of an ingest: checks ``out_dir`` against the inputs, takes the writer lock
    and yields a staging folder that replaces ``out_dir`` as a whole when the block succeeds
    (see :func:`partnerschap_eval._outputs.output_set`)."""
    return output_set(out_dir, kind="ingest", inputs=inputs, what=Msg("errors.what.ingest_folder"))


def write_ingest_outputs(result: IngestResult, out_dir: str | Path,
                         inputs: Iterable[str | Path | None] = ()) -> dict[str, Path]:
    """Write responses.csv, rejected.csv and ingest_log.json into ``out_dir`` as one set.

    The set is written into a staging sibling and moved into place in one rename, with a
    completion record (``output_set.json``) that readers check: a crash or a full disk leaves
    the earlier set or the new one, never a mix. ``out_dir`` may not be or hold one of
    ``inputs`` (the exports, mapping and key file) and may not lie in ``data/raw/``.
    """
    with ingest_output(out_dir, inputs) as stage:
        written = write_ingest_files(result, stage)
    return {kind: Path(out_dir) / path.name for kind, path in written.items()}
