"""Read any export a school submits, with automatic format detection.

The **container** is recognised from the file's first bytes, never from its name: ``PK`` (a zip
archive) is an Excel workbook, ``$FL2``/``$FL3`` an SPSS data file, anything else text (CSV). An
old ``.xls`` or password-protected workbook (an OLE2 file) is refused with advice. The **layout**
(which survey tool wrote it) is then recognised from the header rows, see :mod:`.layouts`.
``format=`` (the CLI's ``--format``) overrides either: a container name (``csv``, ``xlsx``,
``sav``) or a layout name (``qualtrics``, ``qualtrics-legacy``, ``limesurvey``, ``msforms``,
``googleforms``, ``table``).

Every reader returns a :class:`RawTable`: all cells as text (codes such as ``0012345`` keep their
zeros), unique column names, the line (CSV), sheet row (XLSX) or case number (SAV) of every data
row, and what the layout says about the columns. Cells are converted (to distinct values and codes) only
when the pipeline asks for a column, so personal-data columns are never even decoded.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "export.csv"
>>> _ = p.write_bytes("respondent;rec1\\r\\n0012;Mee eens\\r\\n".encode("cp1252"))
>>> raw = read_export(p)
>>> raw.format, raw.layout.name, raw.details["delimiter"], raw.frame.to_dict("records")
('csv', 'table', ';', [{'respondent': '0012', 'rec1': 'Mee eens'}])
>>> raw.lines.tolist()
[2]
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .._safe_read import os_error_text
from ..errors import InputError
from ..privacy import screen, shown_path
from .columns import Coded, ColumnData, as_coded, cell_text, column_sample
from .csv_reader import prepare_csv, read_csv_body
from .excel import read_xlsx_rows
from .layouts import LAYOUTS, Layout, detect_layout, unique_names
from .spss import read_sav

__all__ = ["RawTable", "read_export", "detect_format", "FORMATS", "CONTAINERS", "MAX_FILE_BYTES"]

CONTAINERS = ("csv", "xlsx", "sav")
FORMATS = (*CONTAINERS, *LAYOUTS)
_ALIASES = {"excel": "xlsx", "spss": "sav", "zsav": "sav", "text": "csv", "excel-csv": "csv",
            "ms-forms": "msforms", "microsoft-forms": "msforms", "google-forms": "googleforms",
            "lime": "limesurvey"}
MAX_FILE_BYTES = 1 << 30  # 1 GiB: far above any school's export, far below a memory problem
SAMPLE_CHARS = 1000
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class RawTable:
    """An export as read: text cells per column, their rows' lines, and the layout."""

    columns: list[str]
    data: dict[str, ColumnData]
    lines: np.ndarray  # line (CSV), sheet row (XLSX) or case number (SAV) of every row
    format: str  # container: csv, xlsx or sav
    layout: Layout
    details: dict = field(default_factory=dict)
    problems: dict[int, str] = field(default_factory=dict)  # row -> reason the reader rejects it
    #: column -> rows whose cell the reader could not see (a formula without a cached value)
    unread: dict[str, np.ndarray] = field(default_factory=dict)
    sha256: str = ""

    @property
    def n_rows(self) -> int:
        return len(self.lines)

    def coded(self, column: str, answer_codes: bool = False) -> Coded:
        """The column as distinct stripped texts and per-row codes (empty cells missing)."""
        return as_coded(self.data[column], answer_codes=answer_codes)

    def sample(self, column: str, k: int = 500) -> list[str]:
        """The first ``k`` non-empty cells of a column (for personal-data heuristics), each cut
        to :data:`SAMPLE_CHARS` characters: every pattern reads every sampled character, so a
        column of huge cells would cost seconds, and the start of a cell shows whether it holds
        free text, an e-mail address or a name as well as the whole does."""
        return [v[:SAMPLE_CHARS] for v in column_sample(self.data[column], k)]

    def is_empty(self, column: str) -> bool:
        values = self.data[column]
        if isinstance(values, pa.ChunkedArray | pa.Array):
            return values.null_count == len(values) or not column_sample(values, 1)
        return all(not cell_text(v).strip() for v in values)

    @property
    def frame(self) -> pd.DataFrame:
        """All cells as text (``""`` when empty), one column per export column."""
        out = {}
        for col in self.columns:
            values = self.data[col]
            if isinstance(values, pa.ChunkedArray | pa.Array):
                out[col] = pd.Series(values.to_pylist(), dtype=object).fillna("")
            else:
                out[col] = pd.Series([cell_text(v) for v in values], dtype=object)
        return pd.DataFrame(out, columns=self.columns) if out else pd.DataFrame()


def _split_format(fmt: str | None, path: Path) -> tuple[str | None, str | None]:
    if fmt is None:
        return None, None
    name = _ALIASES.get(fmt.strip().lower(), fmt.strip().lower())
    if name in CONTAINERS:
        return name, None
    if name in LAYOUTS:
        return None, name
    raise InputError(f"{path}: unknown format '{fmt}'. Known formats: {', '.join(FORMATS)} "
                     "(or leave out --format: the format is detected from the file).")


def _container(raw: bytes, path: Path) -> str:
    if raw.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "xlsx"
    if raw.startswith(_OLE2):
        raise InputError(f"{path}: this is an old Excel workbook (.xls) or a password-protected "
                         "one; neither can be read safely. Remove any password, save it as Excel "
                         "Workbook (.xlsx) or CSV and ingest that file.")
    if raw[:4] in (b"$FL2", b"$FL3"):
        return "sav"
    return "csv"


def detect_format(path: str | Path) -> str:
    """The container of an export (``csv``, ``xlsx`` or ``sav``) from its first bytes."""
    path = Path(path)
    with open(path, "rb") as fh:
        return _container(fh.read(8), path)


def _read_bytes(path: Path, shown: Path) -> bytes:
    """The file's bytes; ``shown`` is how messages name it (:func:`~..privacy.shown_path`).

    A symbolic link is refused, and the file is opened so that a link swapped in after the
    check is refused too (``O_NOFOLLOW``): a link can make the ingest read, and echo into its
    outputs, a file that was never submitted (a key, another school's export). One open, then a
    bounded read: a missing file, a folder, a path through a file and a permission problem are
    each named (``os_error_text``); a FIFO or device is never read whole.
    """
    link = ("the export is a symbolic link; only plain files are ingested, so a link cannot make "
            "the ingest read another file. Copy the export itself into the data folder and "
            "ingest the copy.")
    if path.is_symlink():
        raise InputError(f"{shown}: {link}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())  # a regular file too large is not read at all
            regular = stat.S_ISREG(info.st_mode)
            raw = fh.read(MAX_FILE_BYTES + 1) if regular and info.st_size <= MAX_FILE_BYTES \
                else b""
            size = info.st_size
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{shown}: {link}") from None
        raise InputError(os_error_text(shown, exc, "the export") + " An export is a CSV, Excel "
                         "(.xlsx) or SPSS (.sav) file.") from None
    if stat.S_ISDIR(info.st_mode):  # os.open opens a folder without complaint
        raise InputError(os_error_text(shown, IsADirectoryError(errno.EISDIR, "Is a directory"),
                                       "the export") + " An export is a CSV, Excel (.xlsx) or "
                         "SPSS (.sav) file.")
    if not regular:  # a device or pipe (/dev/zero) would be read up to the limit, or for ever
        raise InputError(f"{shown}: not a regular file (a device, pipe or socket). Give the "
                         "export file itself: CSV, Excel (.xlsx) or SPSS (.sav).")
    if size > MAX_FILE_BYTES or len(raw) > MAX_FILE_BYTES:
        raise InputError(f"{shown}: the file is larger than {MAX_FILE_BYTES >> 30} GB; no school "
                         "export is that large. Check the file, or split it and ingest the parts.")
    if not raw:
        raise InputError(f"{shown}: the file is empty (0 bytes); there is nothing to ingest. "
                         "Export the survey again and ingest the new file.")
    return raw


def read_export(path: str | Path, format: str | None = None, sheet: str | None = None) -> RawTable:
    """Read an export file into a :class:`RawTable` (format detected unless given).

    Parameters
    ----------
    path
        The export file; it is only read, never modified.
    format
        A container (``csv``, ``xlsx``, ``sav``) or layout name to skip detection.
    sheet
        For workbooks: the sheet name or its number counting from 1; default the first visible
        sheet that holds data.
    """
    # messages name the file as the firewall shows it: a file name can be personal data too
    real, path = Path(path), Path(shown_path(path))
    forced_container, forced_layout = _split_format(format, path)
    raw = _read_bytes(real, path)
    # hashlib releases the GIL on large data: the file's checksum is computed by a thread while
    # the file is parsed (a 100 MB export: 0.09 s saved)
    with ThreadPoolExecutor(1) as pool:
        sha = pool.submit(lambda: hashlib.sha256(raw).hexdigest()) if len(raw) > 1 << 20 \
            else None
        container = forced_container or _container(raw, path)
        if sheet is not None and container != "xlsx":
            raise InputError(f"{path}: --sheet only applies to Excel workbooks; this file is "
                             f"read as {container}. Leave out --sheet.")
        if container == "csv":
            table = _from_csv(raw, path, forced_layout)
        elif container == "xlsx":
            table = _from_xlsx(raw, path, forced_layout, sheet)
        else:
            table = _from_sav(raw, path)
        digest = sha.result() if sha is not None else hashlib.sha256(raw).hexdigest()
    return RawTable(**{**table, "sha256": digest})


def _from_csv(raw: bytes, path: Path, forced_layout: str | None) -> dict:
    src = prepare_csv(raw, path)
    layout = detect_layout([r.cells for r in src.head], forced_layout, where=str(path))
    if len(src.head) < layout.header_rows:
        raise InputError(f"{path}: the file ends inside its header rows; there are no answers.")
    width = len(src.head[0].cells)
    body = read_csv_body(src, layout.header_rows, width, path)
    details = {**src.details, "engine": body.engine, "header_rows": layout.header_rows}
    if body.blank_rows:
        details["blank_rows"] = body.blank_rows
    data = dict(zip(layout.columns, body.columns, strict=True))
    return {"columns": layout.columns, "data": data, "lines": body.lines, "format": "csv",
            "layout": layout, "details": details, "problems": body.problems}


def _from_xlsx(raw: bytes, path: Path, forced_layout: str | None, sheet: str | None) -> dict:
    real_name, rows, facts = read_xlsx_rows(raw, path, sheet)
    name = screen(real_name, "sheet").text  # a sheet name is typed by whoever made the file
    filled = [i for i, r in enumerate(rows) if r.count("") + r.count(None) != len(r)]
    if not filled:
        raise InputError(f"{path}: sheet '{name}' is empty.")
    head_idx = filled[:3]
    records = [[cell_text(v) for v in rows[i]] for i in head_idx]
    layout = detect_layout(records, forced_layout, where=f"{path} (sheet '{name}')")
    if len(head_idx) < layout.header_rows:
        raise InputError(f"{path}: sheet '{name}' ends inside its header rows; there are no "
                         "answers.")
    last_header = head_idx[layout.header_rows - 1]
    body_idx = [i for i in filled if i > last_header]
    width = len(layout.columns)
    body = [rows[i] for i in body_idx]
    columns = list(zip(*body, strict=False)) if body else [() for _ in range(width)]
    columns = (columns + [("",) * len(body)] * width)[:width]
    blank = (filled[-1] - last_header) - len(body_idx)  # empty rows between answers
    details = {"sheet": name, "header_rows": layout.header_rows, "engine": "calamine"}
    if blank > 0:
        details["blank_rows"] = blank
    unread = _formula_cells(facts, body_idx, layout.columns, details)
    return {"columns": layout.columns, "data": dict(zip(layout.columns, columns, strict=True)),
            "lines": np.asarray(body_idx, dtype=np.int64) + 1, "format": "xlsx",
            "layout": layout, "details": details, "problems": {}, "unread": unread}


def _formula_cells(facts, body_idx: list[int], columns: list[str],
                   details: dict) -> dict[str, np.ndarray]:
    """Rows (positions in the body) per column whose cell is a formula without a cached value:
    the reader sees an empty cell, so the pipeline logs them rather than losing them silently."""
    if facts is None or not (facts.formula_cells or facts.formula_cells_unplaced):
        return {}
    position = {sheet_row: i for i, sheet_row in enumerate(body_idx)}
    found: dict[str, list[int]] = {}
    for row, col in facts.formula_cells:
        i = position.get(row - 1)
        if i is not None and 1 <= col <= len(columns):
            found.setdefault(columns[col - 1], []).append(i)
    details["formula_cells_without_value"] = len(facts.formula_cells) + \
        facts.formula_cells_unplaced
    return {c: np.asarray(sorted(rows), dtype=np.int64) for c, rows in found.items()}


def _from_sav(raw: bytes, path: Path) -> dict:
    names, labels, cells, details = read_sav(raw, path)
    columns = unique_names(names)
    layout = Layout("spss", 0, columns, header_text={c: labels[n] for c, n in zip(columns, names,
                                                                                   strict=True)
                                                     if n in labels})
    data = {c: cells[n] for c, n in zip(columns, names, strict=True)}
    n = details["cases"]
    return {"columns": columns, "data": data, "lines": np.arange(1, n + 1, dtype=np.int64),
            "format": "sav", "layout": layout, "details": details, "problems": {}}
