"""CSV exports of any delimiter and encoding, read fast and with the line of every row.

Detection rules
---------------
* **Encoding**: a byte-order mark decides (UTF-8, UTF-16 LE/BE, UTF-32); without one, a text
  whose every other byte is NUL is UTF-16; otherwise strict UTF-8, then Windows-1252 (what Excel
  writes on Dutch and English Windows), then Latin-1. A file with many control bytes is refused as
  binary.
* **Delimiter**: an Excel ``sep=;`` first line wins; otherwise each of ``, ; TAB |`` is tried on
  the first records and the one that gives the most columns *consistently* is taken, so the
  decimal commas of a Dutch Excel CSV (``4,5`` in a semicolon file) do not fool it.
* **Rows**: Arrow's multi-threaded reader parses the body with every column as text. When the
  file has exactly one physical line per record the line of row *i* follows directly; files with
  line breaks inside quoted cells, blank lines, old Mac line ends, ragged rows or huge cells are
  parsed again with Python's :mod:`csv` module, which tracks the line of every record. Empty
  lines and rows whose cells are all empty are skipped and counted (``blank_rows``), they are not
  rows of data.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import InputError, Joined, Msg

__all__ = ["CsvText", "prepare_csv", "read_csv_body", "DELIMITERS"]

DELIMITERS = (",", ";", "\t", "|")
HEAD_BYTES = 4 << 20  # the header records must lie within the first 4 MB
# Excel's "sep=;" first line; some tools (and a round trip through a CSV writer) quote it
_SEP_LINE = re.compile(r'^\s*"?sep=(.)"?\s*$', re.IGNORECASE)
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


@dataclass(frozen=True)
class HeadRecord:
    cells: list[str]
    first_line: int
    last_line: int


@dataclass
class CsvText:
    """A CSV export decoded to UTF-8, with its delimiter and first records."""

    data: bytes  # UTF-8 without byte-order mark
    encoding: str
    delimiter: str
    head: list[HeadRecord]
    details: dict = field(default_factory=dict)


def _nul_pattern(sample: bytes) -> str | None:
    """UTF-16 without a byte-order mark: ASCII text has a NUL in every other byte."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    z_even, z_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if z_odd > 0.4 and z_even < 0.05:
        return "utf-16-le"
    if z_even > 0.4 and z_odd < 0.05:
        return "utf-16-be"
    return None


def _check_utf8(data: bytes) -> None:
    """Raise UnicodeDecodeError unless ``data`` is UTF-8; plain ASCII (most exports) is checked
    without decoding, which would build a text as large as the file."""
    if not data.isascii():
        data.decode("utf-8")


def _decode(raw: bytes, path: Path) -> tuple[bytes, str]:
    """Return the text as UTF-8 bytes (without byte-order mark) and the encoding it had."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            if name != "utf-8-sig":
                return _transcode(raw[len(bom):], name, path), name
            data = raw[len(bom):]
            try:
                _check_utf8(data)
            except UnicodeDecodeError as exc:
                raise InputError(
                    Msg("errors.csv.bom", path=path, bom=exc.start + len(bom))) from None
            return data, name
    guess = _nul_pattern(raw[:4096])
    if guess:
        return _transcode(raw, guess, path), guess
    try:
        _check_utf8(raw)
    except UnicodeDecodeError as exc:
        _refuse_mixed(raw, exc.start, path)
        try:
            return _transcode(raw, "cp1252", path), "cp1252"
        except InputError:
            return _transcode(raw, "latin-1", path), "latin-1"
    return raw, "utf-8"


# a character of two to four bytes as UTF-8 writes it (a Windows-1252 text has such byte pairs
# only by rare accident, e.g. "Ã©")
_UTF8_MULTI = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|"
                         rb"[\xf0-\xf4][\x80-\xbf]{3}")


def _refuse_mixed(raw: bytes, bad: int, path: Path) -> None:
    """Refuse a file that is not UTF-8 as a whole but has lines that are (with characters beyond
    ASCII): decoded as one encoding, "Zoë" in a UTF-8 line would read "ZoÃ«" and become another
    school or person than "Zoë" in a Windows-1252 line — a silent split, so no guess is made.
    No cell is quoted: the lines may hold personal data."""
    pos = 0
    while True:
        m = _UTF8_MULTI.search(raw, pos)
        if m is None:
            return
        start = raw.rfind(b"\n", 0, m.start()) + 1
        end = raw.find(b"\n", m.end())
        end = len(raw) if end < 0 else end
        try:
            raw[start:end].decode("utf-8")
        except UnicodeDecodeError:
            pos = end  # this line is not UTF-8 itself: look further
            continue
        utf8_line = raw.count(b"\n", 0, m.start()) + 1
        other_line = raw.count(b"\n", 0, bad) + 1
        raise InputError(
            Msg("errors.csv.mixed", path=path, line=utf8_line, line2=other_line, bad=raw[bad]))


def _transcode(raw: bytes, encoding: str, path: Path) -> bytes:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(
            Msg("errors.csv.undecodable", path=path, encoding=encoding, start=exc.start)) from None
    return text.encode("utf-8")


#: Control characters a text cell may carry by accident (BEL, ESC, ...): removed and counted.
#: NUL is not among them: it marks binary data. Tab, line ends, FF and VT stay.
_CONTROL_BYTES = bytes([*range(1, 9), *range(14, 32), 127])


def _has_low_controls(data: bytes, chunk: int = 1 << 22) -> bool:
    """Whether a byte below 32 other than NUL, tab, line ends, VT and FF occurs: one pass in
    4 MB pieces (a regex over 60 MB took 0.3 s, this about 0.04 s; whole-buffer masks cost as
    much again in fresh memory)."""
    codes = np.frombuffer(data, dtype=np.uint8)
    for start in range(0, len(codes), chunk):
        piece = codes[start:start + chunk]
        low = piece[piece < 32]  # mostly line ends
        stray = low != 10
        for allowed in (0, 9, 11, 12, 13):  # NUL is judged by _refuse_binary
            stray &= low != allowed
        if stray.any():
            return True
    return False


def _strip_controls(data: bytes, details: dict) -> bytes:
    """Remove stray control characters (a BEL or ESC pasted into a text cell) and count them."""
    if data.find(b"\x7f") < 0 and not _has_low_controls(data):
        return data
    clean = data.translate(None, _CONTROL_BYTES)
    details["control_characters_removed"] = len(data) - len(clean)
    return clean


def _refuse_binary(head: str, path: Path) -> None:
    sample = head[:65536]
    if not sample:
        return
    # control characters in bulk mean binary data (random bytes: one in ten); a few in text
    # cells do not: those are removed and counted (:func:`_strip_controls`)
    control = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\f\v") + sample.count("\x7f")
    if control > max(64, 0.05 * len(sample)):
        raise InputError(
            Msg("errors.csv.binary", path=path))


def _records(text: str, delimiter: str, limit: int, start_line: int = 1) -> list[HeadRecord]:
    """Parse up to ``limit`` non-blank records of ``text`` with their physical lines."""
    out: list[HeadRecord] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = 0
    try:
        for row in reader:
            first = previous + 1
            previous = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            out.append(HeadRecord(row, first + start_line - 1, reader.line_num + start_line - 1))
            if len(out) >= limit:
                break
    except csv.Error:
        pass  # a broken head: the caller judges what it got
    return out


def _sniff(text: str) -> str:
    best, best_score = ",", (-1.0, 0)
    for delim in DELIMITERS:
        recs = _records(text, delim, 30)
        if not recs:
            continue
        width = len(recs[0].cells)
        if width < 2:  # a title line above the header: the header's width decides
            width = next((len(r.cells) for r in recs if len(r.cells) >= 2), 0)
        if width < 2:
            continue
        same = sum(1 for r in recs if len(r.cells) == width) / len(recs)
        score = (round(same, 2), width)
        if score > best_score:
            best, best_score = delim, score
    return best


def prepare_csv(raw: bytes, path: Path, n_head: int = 3) -> CsvText:
    """Decode, find the delimiter and parse the first ``n_head`` records of a CSV export."""
    data, encoding = _decode(raw, path)
    details: dict = {"encoding": encoding}
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        # old Mac line ends (CR only): make them LF so every line count below holds
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        details["line_ends"] = "CR"
    head = data[:HEAD_BYTES].decode("utf-8", errors="ignore")
    _refuse_binary(head, path)
    clean = _strip_controls(data, details)
    if clean is not data:
        data, head = clean, clean[:HEAD_BYTES].decode("utf-8", errors="ignore")
    if not head.strip():
        raise InputError(Msg("errors.csv.empty", path=path))
    cut = head.rfind("\n")
    if len(data) > HEAD_BYTES and cut > 0:
        head = head[: cut + 1]  # only whole lines of a long file
    first_line = head.split("\n", 1)[0].rstrip("\r")
    skip = 0
    sep = _SEP_LINE.match(first_line)
    if sep:
        delimiter = sep.group(1)
        head = head.split("\n", 1)[1] if "\n" in head else ""
        skip = 1
    else:
        delimiter = _sniff(head)
    recs = _records(head, delimiter, n_head, start_line=skip + 1)
    if not recs:
        raise InputError(Msg("errors.csv.no_header", path=path))
    details["delimiter"] = delimiter
    if sep:
        details["sep_line"] = True
    return CsvText(data=data, encoding=encoding, delimiter=delimiter, head=recs, details=details)


@contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    old = csv.field_size_limit()
    csv.field_size_limit(min(limit, sys.maxsize))
    try:
        yield
    finally:
        csv.field_size_limit(old)


@dataclass
class Body:
    """The data rows: one sequence of text cells per column, their lines and row problems."""

    columns: list[object]  # pa.ChunkedArray or tuple[str, ...] per column
    lines: np.ndarray
    problems: dict[int, str]
    engine: str
    blank_rows: int


def _line_offset(data: bytes, lines: int) -> int:
    pos = 0
    for _ in range(lines):
        nxt = data.find(b"\n", pos)
        if nxt < 0:
            return len(data)
        pos = nxt + 1
    return pos


_NOT_SPACE = re.compile(rb"\S")


def _arrow_body(data: bytes, start: int, delimiter: str, width: int,
                first_line: int) -> Body | None:
    """Parse ``data[start:]`` with Arrow; the body is never copied (a 100 MB export used to be
    copied three times: the slice, the trailing-newline strip and the blank check)."""
    end = len(data)
    while end > start and data[end - 1] in b"\r\n":
        end -= 1
    if not _NOT_SPACE.search(data, start, end):
        return Body([pa.chunked_array([], pa.string()) for _ in range(width)],
                    np.zeros(0, dtype=np.int64), {}, "arrow", 0)
    names = [f"f{i}" for i in range(width)]
    # Without a quote in the body no record spans lines, and with empty lines kept (a blank line
    # in a file of several columns is then a ragged row: the csv module's path) every line is a
    # record, so the line of each row follows without counting. With quotes, a thread counts the
    # lines (a pass over the whole body) while Arrow parses.
    quoted = data.find(b'"', start, end) >= 0
    counter = ThreadPoolExecutor(1) if quoted else None
    lines_future = counter.submit(data.count, b"\n", start, end) if counter else None
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(data).slice(start, end - start)),
            read_options=pacsv.ReadOptions(column_names=names, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"',
                                             double_quote=True, escape_char=False,
                                             newlines_in_values=quoted,
                                             ignore_empty_lines=quoted),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True,
                quoted_strings_can_be_null=True, null_values=[""], check_utf8=True),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowIndexError):
        return None  # ragged rows, a cell larger than a block, ...: the csv module handles it
    finally:
        if counter is not None:
            counter.shutdown()
    n_lines = lines_future.result() + 1 if lines_future is not None else table.num_rows
    if table.num_rows != n_lines:
        return None  # blank lines or line breaks inside cells: need the line of every record
    lines = np.arange(first_line, first_line + table.num_rows, dtype=np.int64)
    columns = [table.column(i) for i in range(width)]
    keep = None
    if all(c.null_count for c in columns):  # only then can a row be entirely empty
        empty = None
        for c in columns:
            nulls = pc.is_null(c)
            empty = nulls if empty is None else pc.and_(empty, nulls)
        empty_np = np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)
        if empty_np.any():
            keep = ~empty_np
    blank = 0
    if keep is not None:
        blank = int((~keep).sum())
        mask = pa.array(keep)
        columns = [c.filter(mask) for c in columns]
        lines = lines[keep]
    return Body(columns, lines, {}, "arrow", blank)


def _python_body(text: str, delimiter: str, width: int, first_line: int) -> Body:
    rows: list[list[str]] = []
    lines: list[int] = []
    problems: dict[int, str] = {}
    blank = 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = 0
    with _field_limit(len(text) + 1):
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                line = first_line + reader.line_num - 1
                raise InputError(
                    Msg("errors.csv.parse", line=line, exc=exc)) from None
            start = first_line + previous
            previous = reader.line_num
            if not any(row):  # an empty line, or a row of empty cells: not a row of data
                blank += 1
                continue
            if len(row) > width:
                extra = row[width:]
                if any(cell.strip() for cell in extra):
                    problems[len(rows)] = (f"row has {len(row)} fields but the header has "
                                           f"{width}")
                row = row[:width]
            elif len(row) < width:
                row = row + [""] * (width - len(row))
            rows.append(row)
            lines.append(start)
    columns: list[object] = list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]
    return Body(columns, np.asarray(lines, dtype=np.int64), problems, "python-csv", blank)


def read_csv_body(src: CsvText, header_rows: int, width: int, path: Path) -> Body:
    """Parse the data rows that follow the first ``header_rows`` records."""
    last_header = src.head[header_rows - 1].last_line
    offset = _line_offset(src.data, last_header)
    parsed = _arrow_body(src.data, offset, src.delimiter, width, last_header + 1)
    if parsed is not None:
        return parsed
    try:
        return _python_body(src.data[offset:].rstrip(b"\r\n").decode("utf-8"), src.delimiter, width,
                            last_header + 1)
    except InputError as exc:
        raise InputError(Joined([path, exc.msg or str(exc)], ": ")) from None
