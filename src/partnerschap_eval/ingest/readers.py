"""Readers for export files, with format detection.

Every reader returns a :class:`RawTable`: all cells as text (nothing guessed yet: codes such as
``0012345`` keep their leading zeros), the header, and the file line of every data row so a
rejection can point at it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError

__all__ = ["RawTable", "read_export", "detect_format", "FORMATS"]

FORMATS = ("csv",)
MAX_FILE_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class RawTable:
    """An export as read: text cells, original headers, and the source line of every row."""

    frame: pd.DataFrame  # object/str columns, "" for empty cells, original header text
    lines: list[int]  # 1-based line (record) number in the file of each row
    format: str
    details: dict = field(default_factory=dict)  # encoding, delimiter, sheet, ...


def detect_format(path: Path) -> str:
    """Guess the export format from the file's first bytes and its name."""
    head = path.read_bytes()[:8] if path.stat().st_size else b""
    if head.startswith(b"PK\x03\x04"):
        raise InputError(f"{path}: this looks like an Excel or zip file; only CSV exports are "
                         "supported by this version. Save it as CSV and ingest again.")
    return "csv"


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "cp1252"


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        return max(",;\t|", key=first.count)


def read_csv_export(path: Path) -> RawTable:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}: the file holds binary data (NUL bytes), not a CSV export. "
                         "Export the survey again as CSV (comma or semicolon separated).")
    text, encoding = _decode(raw, path)
    if not text.strip():
        raise InputError(f"{path}: the file is empty; there is nothing to ingest.")
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        header = next(reader)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise InputError(f"{path}: the CSV cannot be parsed near line {reader.line_num} ({exc}).") from None
    header = [h.strip() for h in header]
    width = len(header)
    fixed = [(r + [""] * width)[:width] if len(r) != width else r for r in rows]
    frame = pd.DataFrame(fixed, columns=header, dtype=object) if fixed else pd.DataFrame(columns=header, dtype=object)
    return RawTable(frame=frame, lines=lines, format="csv",
                    details={"encoding": encoding, "delimiter": delimiter})


def read_export(path: str | Path, format: str | None = None) -> RawTable:
    """Read an export file into a :class:`RawTable` (format detected unless given)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found.")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{path}: larger than {MAX_FILE_BYTES // 1024**3} GB; split the export.")
    fmt = format or detect_format(path)
    if fmt != "csv":
        raise InputError(f"{path}: unknown format '{fmt}' (known: {', '.join(FORMATS)}).")
    return read_csv_export(path)
