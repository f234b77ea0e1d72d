"""Answer decoding: from what an export says to a code of the response scale, once per value.

An answer is looked up, after normalisation (case, surrounding and repeated spaces, trailing
punctuation ignored), in this order:

1. the mapping file's ``values`` (extra labels or codes, or ``missing``);
2. the instrument's labels in every language and its missing values ("Weet ik niet", 99, ...);
3. for LimeSurvey exports, answer codes ``A1``, ``A2``, ... or ``AO01``, ... as 1, 2, ...;
4. a number — with a decimal point or a decimal comma (``4,0``) — that is a whole code within
   the scale.

Anything else — text nobody declared, a number outside the scale, ``3,5`` — is **cleared**: the
cell becomes missing and is logged with its line, column, value and reason; the row is kept.

Examples
--------
>>> from partnerschap_eval.instruments import load_instrument
>>> dec = AnswerDecoder(load_instrument("partnerschap"))
>>> [dec.decode(v) for v in (" helemaal MEE eens ", "4,0", "Weet ik niet", "7", "Soms", "")]
[(5.0, None), (4.0, None), (nan, None), (nan, 'out of range 1..5'), (nan, 'unknown answer'), (nan, None)]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..instruments import Instrument, normalise_label
from .columns import Coded, present_cells
from .mapping import MappingFile

__all__ = ["AnswerDecoder", "Cleared", "UNKNOWN", "NOT_WHOLE"]

UNKNOWN = "unknown answer"
NOT_WHOLE = "not a whole number"
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_LIME_CODE = re.compile(r"^ao?0*(\d{1,4})$")
#: Byte tables (see ``AnswerDecoder._byte_table``) by the decoder's labels and answer codes:
#: one ingest per file (a study's submissions) would otherwise decode the 128 one-byte texts
#: again for every file (a fifth of the per-file decoding of a small export).
_BYTE_TABLES: dict[tuple[str, str | None], tuple[np.ndarray, np.ndarray, list[str]]] = {}


class AnswerDecoder:
    """Decode answer texts of one instrument (plus a mapping file's extra values)."""

    def __init__(self, instrument: Instrument, mapping: MappingFile | None = None):
        self.table = instrument.response_scale.decode_map()
        self.extra = dict(mapping.values) if mapping else {}
        self.lo, self.hi = instrument.response_scale.min, instrument.response_scale.max
        self.out_of_range = f"out of range {self.lo}..{self.hi}"
        # what decides every answer: the byte tables of equal decoders are the same
        self._labels = repr((sorted(self.table.items()), sorted(self.extra.items()), self.lo,
                             self.hi))

    def _code(self, number: float) -> tuple[float, str | None]:
        if not number.is_integer():
            return math.nan, NOT_WHOLE
        key = str(int(number))
        if key in self.table:  # "99" and other missing codes, and every valid code
            return self.table[key], None
        if self.lo <= number <= self.hi:
            return float(number), None
        return math.nan, self.out_of_range

    def decode(self, text: str, answer_codes: str | None = None) -> tuple[float, str | None]:
        """The code of one answer and, when it is cleared, the reason."""
        norm = normalise_label(text)
        if norm == "":
            return math.nan, None
        if norm in self.extra:
            return self.extra[norm], None
        if norm in self.table:
            return self.table[norm], None
        if answer_codes == "limesurvey":
            m = _LIME_CODE.match(norm)
            if m:
                return self._code(float(m.group(1)))
        if _NUMBER.match(norm):
            return self._code(float(norm.replace(",", ".")))
        return math.nan, UNKNOWN

    def decode_column(self, column: Coded, answer_codes: str | None = None,
                      out: np.ndarray | None = None) -> Cleared:
        """Decode a column through its distinct values.

        Each row's answer, as an offset on the scale (``code - min``; -1 = missing), is written
        into ``out`` (a new array when not given, then ``Cleared.answers``); returns the cleared
        cells.
        """
        answers, why, reasons = self._lookup(column.values, answer_codes)
        per_row = column.per_row(answers, -1)
        if out is None:
            out = per_row
        else:
            out[:] = per_row
        if not reasons:
            return Cleared(out, _NO_ROWS, _NO_ROWS.astype(np.int16), [], column.text_at)
        why_rows = column.per_row(why, -1)
        rows = np.flatnonzero(why_rows >= 0)
        return _cleared(out, rows, why_rows[rows], reasons, column.text_at)

    def _byte_table(self, answer_codes: str | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """:meth:`decode` of every one-byte cell, as lookup tables indexed by the byte.

        Slot 256 is the empty cell; bytes 128-255 (never a whole UTF-8 character) are marked -2.
        """
        key = (self._labels, answer_codes)
        if key not in _BYTE_TABLES:
            answers, why, reasons = self._lookup([chr(b) for b in range(128)], answer_codes)
            answers = np.concatenate([answers, np.full(128, -2, np.int16), [-1]]).astype(np.int16)
            why = np.concatenate([why, np.full(129, -1, np.int16)]).astype(np.int16)
            for table in (answers, why):
                table.setflags(write=False)  # shared by every decoder of these labels
            if len(_BYTE_TABLES) >= 64:
                _BYTE_TABLES.clear()
            _BYTE_TABLES[key] = (answers, why, reasons)
        return _BYTE_TABLES[key]

    def _lookup(self, texts: list[str], answer_codes: str | None
                ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Per text its answer (offset on the scale, -1 = missing) and the index of the reason it
        is cleared for (-1 = kept), and those reasons."""
        answers = np.full(len(texts), -1, dtype=np.int16)
        why = np.full(len(texts), -1, dtype=np.int16)
        reasons: list[str] = []
        for i, text in enumerate(texts):
            code, reason = self.decode(text, answer_codes)
            if not math.isnan(code):
                answers[i] = int(code) - self.lo
            if reason is not None:
                if reason not in reasons:
                    reasons.append(reason)
                why[i] = reasons.index(reason)
        return answers, why, reasons

    def decode_chars(self, values: object, answer_codes: str | None = None,
                     out: np.ndarray | None = None) -> Cleared | None:
        """:meth:`decode_column` for the usual answer column, straight from Arrow's buffers.

        When every cell of an Arrow text column is empty or one character (codes 1..5 or 1..7),
        each cell is looked up by its byte in a table of :meth:`decode` results, slice by slice
        so that every pass stays in the CPU cache: no dictionary of the column, no per-row
        temporaries of a million elements (half of the decoding time of a million-row export
        went to those). Otherwise None (``out`` may then hold a part of the answers): the
        caller takes the general path, which gives the same answers and reasons.
        """
        chunks = (values.chunks if isinstance(values, pa.ChunkedArray)
                  else [values] if isinstance(values, pa.Array) else [])
        n = sum(len(c) for c in chunks)
        if not n or any(not pa.types.is_string(c.type) for c in chunks):
            return None
        if out is None:
            out = np.empty(n, dtype=np.int16)
        table, why_table, all_reasons = self._byte_table(answer_codes)
        table = table.astype(out.dtype, copy=False)  # the caller's codes may be int8
        rows: list[np.ndarray] = []
        whys: list[np.ndarray] = []
        at = 0  # first row of the chunk: the reader's column comes in chunks, taken as they are
        for chunk in chunks:
            if len(chunk) and not _decode_chunk(chunk, table, why_table, out[at:at + len(chunk)],
                                                at, rows, whys):
                return None
            at += len(chunk)
        def text_at(row: int) -> str:  # a cleared cell's text, read when the log lists it
            return (values[row].as_py() or "").strip()

        if not rows:
            return Cleared(out, _NO_ROWS, _NO_ROWS.astype(np.int16), [], text_at)
        return _cleared(out, np.concatenate(rows), np.concatenate(whys), all_reasons, text_at)


def _decode_chunk(chunk: pa.Array, table: np.ndarray, why_table: np.ndarray, out: np.ndarray,
                  at: int, rows: list[np.ndarray], whys: list[np.ndarray]) -> bool:
    """Decode one Arrow chunk of one-character cells into ``out``; False when a cell is longer
    (or not UTF-8 text). Cleared cells' rows (counted from ``at``) and reasons are appended."""
    n, first = len(chunk), chunk.offset
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[first:first + n + 1]
    data = (np.frombuffer(chunk.buffers()[2], dtype=np.uint8) if chunk.buffers()[2] is not None
            else np.zeros(0, dtype=np.uint8))
    if not len(data):  # no character at all: every cell empty (or missing)
        data = np.zeros(1, dtype=np.uint8)
    for start in range(0, n, _SLICE):
        stop = min(start + _SLICE, n)
        off = offsets[start:stop + 1]
        lengths = np.diff(off)
        present = present_cells(chunk, start, stop)
        if present is not None:  # a missing cell's slot may span bytes: count it as empty
            lengths[~present] = 0
        if lengths.max() > 1:
            return False
        # an empty last cell starts at the end of the data: clipped, then slot 256
        key = np.where(lengths == 1, np.take(data, off[:-1], mode="clip"), np.uint16(256))
        answers = out[start:stop]
        np.take(table, key, out=answers)
        if answers.min() < -1:
            return False  # not text the reader validated as UTF-8: the general path decides
        why = why_table.take(key)
        hit = np.flatnonzero(why >= 0)
        if len(hit):
            rows.append(hit + at + start)
            whys.append(why[hit])
    return True


def _cleared(answers: np.ndarray, rows: np.ndarray, why: np.ndarray, reasons: list[str],
             text_at: Callable[[int], str]) -> Cleared:
    """The cleared cells with only the reasons that occur (renumbered in the given order)."""
    found = np.flatnonzero(np.bincount(why, minlength=len(reasons)))
    renumber = np.full(len(reasons), -1, dtype=np.int16)
    renumber[found] = np.arange(len(found))
    return Cleared(answers, rows, renumber[why], [reasons[r] for r in found], text_at)


_SLICE = 1 << 15  # rows per slice in decode_chars: its temporaries stay in the CPU cache
_NO_ROWS = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Cleared:
    """A decoded column: its answers and the cells decoding cleared.

    ``answers`` has, per row, the offset on the scale (-1 = missing); ``rows`` are the cleared
    cells' rows, ``why`` their reasons (indices into ``reasons``, which lists only reasons that
    occur); ``text_at(row)`` gives a cell's text for the log.
    """

    answers: np.ndarray
    rows: np.ndarray
    why: np.ndarray
    reasons: list[str]
    text_at: Callable[[int], str]
