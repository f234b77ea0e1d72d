"""Text columns as codes + distinct values: every distinct cell is handled once.

Readers keep every cell as text (a code such as ``0012345`` keeps its zeros). The pipeline never
loops over rows: it turns a column into a :class:`Coded` column — the distinct *stripped*,
non-empty texts and, per row, the index of its text (``-1`` = empty cell) — works on the few
distinct values and maps the result back through the codes with NumPy. Arrow columns are trimmed
and dictionary-encoded in C++, so even a column of a million distinct ids costs milliseconds.

Examples
--------
>>> col = as_coded([" 4", "4", "", "Mee eens", None])
>>> col.values, col.codes.tolist()
(['4', 'Mee eens'], [0, 0, -1, 1, -1])
>>> col.per_row([4.0, 4.0], missing=float("nan")).tolist()
[4.0, 4.0, nan, 4.0, nan]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Coded", "as_coded", "cell_text", "collapse_space", "column_sample", "constant",
           "present_cells"]

ColumnData = pa.ChunkedArray | pa.Array | Sequence[object] | np.ndarray

_INT_RANGE_MAX = 4096  # a small-integer column is decoded through an offset table up to this span


class Coded:
    """A column as distinct texts (``values``) and, per row, the index of its text (-1 = empty).

    The distinct texts may be held as an Arrow array (a million ids stay in C++ until a Python
    list is really needed).
    """

    def __init__(self, codes: np.ndarray, values: list[str] | pa.Array):
        self.codes = codes
        self._values = values

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def n_values(self) -> int:
        return len(self._values)

    @cached_property
    def values(self) -> list[str]:
        v = self._values
        return v.to_pylist() if isinstance(v, pa.Array) else list(v)

    @cached_property
    def arrow(self) -> pa.Array:
        v = self._values
        return v if isinstance(v, pa.Array) else pa.array(v, type=pa.string())

    def lengths(self) -> np.ndarray:
        """Number of characters of each distinct text."""
        if isinstance(self._values, pa.Array):
            return np.asarray(pc.utf8_length(self._values).to_numpy(zero_copy_only=False),
                              dtype=np.int64)
        return np.fromiter(map(len, self._values), dtype=np.int64, count=len(self._values))

    def per_row(self, per_value: Sequence[object] | np.ndarray, missing: object) -> np.ndarray:
        """Spread one result per distinct value over the rows (``missing`` for empty cells)."""
        per_value = np.asarray(per_value)
        # keep the caller's dtype also when the column has no value at all (an empty id column):
        # an object array here made a boolean row mask unusable as an index. Only a plain empty
        # list (NumPy makes it float64) takes the dtype of ``missing``.
        dtype = (per_value.dtype if len(per_value) or per_value.dtype.kind != "f"
                 else np.asarray(missing).dtype)
        lut = np.empty(self.n_values + 1, dtype=dtype)
        if len(per_value):
            lut[:-1] = per_value
        lut[-1] = missing
        return lut[self.codes]  # code -1 takes the last slot

    def text_at(self, row: int) -> str:
        code = int(self.codes[row])
        if code < 0:
            return ""
        value = self._values[code]
        return value.as_py() if isinstance(value, pa.Scalar) else value

    def recode(self, fn: Callable[[str], str]) -> Coded:
        """Apply ``fn`` to every distinct text; texts that become equal merge, ``""`` is empty.

        >>> as_coded(["a ", "A", "b"]).recode(str.lower).codes.tolist()
        [0, 0, 1]
        """
        new: dict[str, int] = {}
        remap = np.empty(self.n_values + 1, dtype=np.int64)
        for i, text in enumerate(self.values):
            out = fn(text)
            remap[i] = -1 if out == "" else new.setdefault(out, len(new))
        remap[-1] = -1
        return Coded(remap[self.codes], list(new))


def constant(text: str | None, n: int) -> Coded:
    """The same text in every row (an option such as ``--wave pre``); empty when ``None``."""
    text = collapse_space(text) if text is not None else ""
    return Coded(np.full(n, 0 if text else -1, dtype=np.int64), [text] if text else [])


def cell_text(value: object) -> str:
    """The text of one spreadsheet or SPSS cell, as a person reading the sheet would see it.

    Whole numbers lose their ``.0`` (Excel and SPSS store every number as a double); dates are
    written in ISO format; missing values become ``""``.

    >>> [cell_text(v) for v in (4.0, 4.5, None, float("nan"), pd.NA, "0012", True,
    ...                         datetime(2024, 2, 1, 9))]
    ['4', '4.5', '', '', '', '0012', 'TRUE', '2024-02-01 09:00:00']
    """
    if value is None or value is pd.NA:  # pd.NA: a missing cell of a nullable (Int64) column
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isnan(v):
            return ""
        if v.is_integer() and abs(v) < 2**53:
            return str(int(v))
        return repr(v)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if value is pd.NaT:
        return ""
    return str(value)


def _arrow_digit_codes(arr: pa.Array) -> Coded | None:
    """The usual answer column — cells of one or two digits, or empty — straight from Arrow's
    buffers: a NumPy gather instead of a string-to-integer cast, min/max and two more casts (a
    third of the ingest time of a 1 M x 30 export went to those casts). Anything else: None."""
    if not pa.types.is_string(arr.type) or arr.buffers()[2] is None:
        return None
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
    lengths = np.diff(offsets)
    if arr.null_count:
        lengths = np.where(np.asarray(arr.is_valid()), lengths, 0)
    if not n or lengths.max() > 2:
        return None
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    data = np.append(data[:offsets[-1]], np.full(2, ord("0"), np.uint8))  # room past the end
    starts = offsets[:-1]
    value = data[starts].astype(np.int16) - ord("0")
    filled = lengths > 0
    if np.any(filled & ((value < 0) | (value > 9))):
        return None
    two = lengths == 2
    if two.any():  # only then the second digit (most exports hold codes of one digit)
        second = data[starts + 1].astype(np.int16) - ord("0")
        if np.any(two & ((second < 0) | (second > 9))):
            return None
        value = np.where(two, value * 10 + second, value)
    lo = int(np.where(filled, value, 1000).min())
    hi = int(np.where(filled, value, -1).max())
    if hi < 0:
        return None
    codes = np.where(filled, value - lo, -1).astype(np.int16)
    return Coded(codes, [str(lo + i) for i in range(hi - lo + 1)])


def present_cells(arr: pa.Array, start: int, stop: int) -> np.ndarray | None:
    """Whether each of the cells ``start:stop`` of an Arrow array is present (not null), read
    from its validity bitmap; None when the array has no null at all."""
    if not arr.null_count:
        return None
    lo, hi = arr.offset + start, arr.offset + stop
    bits = np.unpackbits(np.frombuffer(arr.buffers()[0], dtype=np.uint8)[lo >> 3:(hi >> 3) + 1],
                         bitorder="little")
    return bits[lo & 7:(lo & 7) + stop - start].astype(bool)


def _arrow_small_ints(arr: pa.Array) -> Coded | None:
    """A column of plain integers (the usual numeric export) without hashing a single string.

    The codes index the whole span ``min..max`` (values that do not occur are harmless).
    """
    if arr.null_count == len(arr):
        return None
    digits = _arrow_digit_codes(arr)
    if digits is not None:
        return digits
    try:
        ints = pc.cast(arr, pa.int32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    lo_s, hi_s = pc.min_max(ints).values()
    lo, hi = lo_s.as_py(), hi_s.as_py()
    if lo is None or hi - lo >= _INT_RANGE_MAX:
        return None
    shifted = pc.subtract(ints, pa.scalar(lo, pa.int32()))
    small = pc.cast(shifted, pa.int16()).fill_null(-1)
    codes = np.asarray(small.to_numpy(zero_copy_only=False))
    return Coded(codes, [str(lo + i) for i in range(hi - lo + 1)])


_MAX_DIGITS = 18  # every number of up to 18 digits is an exact int64


def _digit_id_codes(values: pa.Array | pa.ChunkedArray) -> Coded | None:
    """Identifiers written as digits of one width (participant numbers such as ``0012345``),
    coded through the numbers they spell: equal width keeps ``0012`` and ``012`` apart, and
    hashing a million integers is several times cheaper than hashing a million texts (in a
    fresh process, encoding a million ids as texts took 0.2 s, most of it growing the table).

    The codes and distinct texts equal :func:`_dictionary_codes`' (first appearance order);
    anything else — other characters, widths, over 18 digits — returns None.
    """
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    n = len(values)
    if not n or any(not pa.types.is_string(c.type) for c in chunks):
        return None
    numbers = np.zeros(n, dtype=np.int64)
    present = np.zeros(n, dtype=bool)
    width = None
    at = 0
    for chunk in chunks:
        m, first = len(chunk), chunk.offset
        if not m or chunk.null_count == m or chunk.buffers()[2] is None:
            at += m
            continue
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[first:first + m + 1]
        lengths = np.diff(offsets)
        filled = lengths > 0
        present_here = present_cells(chunk, 0, m)
        if present_here is not None:
            filled &= present_here
        if not filled.any():
            at += m
            continue
        widths = lengths[filled]
        w = int(widths[0])
        if w > _MAX_DIGITS or (width is not None and w != width) or np.any(widths != w):
            return None
        width = w
        data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)
        if int(offsets[-1] - offsets[0]) == len(widths) * w:  # the cells back to back: a view
            cells = data[offsets[0]:offsets[-1]].reshape(len(widths), w)
        else:  # (a missing cell's slot spans bytes)
            cells = data[offsets[:-1][filled][:, None] + np.arange(w)]
        digits = cells - np.uint8(ord("0"))
        if digits.max() > 9:  # a byte below "0" wraps above 9 as well
            return None
        number = digits[:, 0].astype(np.int64)
        for j in range(1, w):
            number *= 10
            number += digits[:, j]
        numbers[at:at + m][filled] = number
        present[at:at + m] = filled
        at += m
    if width is None:
        return None
    rows = np.flatnonzero(present)
    found, _ = pd.factorize(numbers[rows])  # codes in order of first appearance
    codes = np.full(n, -1, dtype=np.int64)
    codes[rows] = found
    # a value's first row is where the running maximum of the codes grows
    new = np.ones(len(found), dtype=bool)
    running = np.maximum.accumulate(found)
    new[1:] = running[1:] > running[:-1]
    distinct = values.take(pa.array(rows[new]))
    if isinstance(distinct, pa.ChunkedArray):
        distinct = distinct.combine_chunks()
    return Coded(codes, distinct)


def _dictionary_codes(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Per row the index of its text among the distinct texts (-1 = null), and those texts.

    A reader's column comes in chunks (one per block Arrow parsed); they are encoded as they
    are: joining the chunks first copied every column once more (a million-row export: 200 MB
    of fresh memory, which a virtual machine hands out slowly). Arrow encodes the chunks with
    one growing dictionary, so each chunk's indices point into the longest (final) one.
    """
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.Array):
        chunks = [encoded]
    else:
        chunks = encoded.chunks
    if not chunks:
        return np.zeros(0, dtype=np.int64), pa.array([], type=pa.string())
    codes = np.empty(len(values), dtype=np.int64)
    at = 0
    for chunk in chunks:
        codes[at:at + len(chunk)] = chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        at += len(chunk)
    return codes, max((c.dictionary for c in chunks), key=len)


def _merge(codes: np.ndarray, texts: list[str]) -> Coded:
    """Codes into possibly repeated or empty texts -> codes into distinct non-empty texts."""
    new: dict[str, int] = {}
    remap = np.empty(len(texts) + 1, dtype=np.int64)
    for i, text in enumerate(texts):
        remap[i] = -1 if text == "" else new.setdefault(text, len(new))
    remap[-1] = -1
    return Coded(remap[np.asarray(codes, dtype=np.int64)], list(new))


def as_coded(values: ColumnData, answer_codes: bool = False) -> Coded:
    """A column of cells as :class:`Coded` stripped text; empty (or blank) cells are missing.

    With ``answer_codes=True`` (item columns, where ``04`` and ``4`` mean the same answer) an Arrow
    column of plain integers takes a fast path that never hashes a string. Never use it for
    identifiers: ``0012`` must stay ``0012``.
    """
    if isinstance(values, pa.ChunkedArray) and (values.num_chunks == 1 or answer_codes):
        # (answer codes, the rare general path for items: one array for the fast digit reading)
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if isinstance(values, pa.Array | pa.ChunkedArray):
        if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
            values = pc.cast(values, pa.string())
        fast = _arrow_small_ints(values) if answer_codes else None
        if fast is not None:
            return fast
        digits = None if answer_codes else _digit_id_codes(values)
        if digits is not None:
            return digits
        # encode first, then trim only the distinct texts: a key column has a few distinct
        # values (or, for ids, half as many as rows), so this halves the work on a million rows
        codes, distinct = _dictionary_codes(values)
        trimmed = pc.utf8_trim_whitespace(distinct)
        if trimmed.equals(distinct) and pc.min(pc.utf8_length(distinct)).as_py() != 0:
            return Coded(codes, distinct)  # already clean: no value to merge or blank out
        merged = pc.dictionary_encode(trimmed)
        remap = np.append(np.asarray(merged.indices.to_numpy(zero_copy_only=False),
                                     dtype=np.int64), -1)
        dictionary = merged.dictionary
        empty = pc.index(dictionary, "").as_py()
        if empty >= 0:  # blank cells are missing; drop "" from the distinct texts
            remap[remap == empty] = -1
            remap[remap > empty] -= 1
            keep = np.ones(len(dictionary), dtype=bool)
            keep[empty] = False
            dictionary = dictionary.filter(pa.array(keep))
        return Coded(remap[codes], dictionary)
    arr = values if isinstance(values, np.ndarray) else np.asarray(list(values), dtype=object)
    if arr.dtype != object:
        arr = arr.astype(object)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    return _merge(codes, [cell_text(u).strip() for u in uniques])


def column_sample(values: ColumnData, k: int = 500) -> list[str]:
    """The first ``k`` non-empty cells of a column as stripped text (for PII heuristics)."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        head = values.slice(0, max(k * 4, 2000)).to_pylist()
    else:
        head = list(values[: max(k * 4, 2000)])
    out = [cell_text(v).strip() for v in head]
    return [v for v in out if v][:k]


_WS = re.compile(r"\s+")


def collapse_space(text: str) -> str:
    """Surrounding white space removed, inner runs (tabs, line breaks) made one space.

    >>> collapse_space("  OBS  De\\nLinde ")
    'OBS De Linde'
    """
    return _WS.sub(" ", text).strip()
