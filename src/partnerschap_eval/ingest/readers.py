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

import dataclasses
import errno
import hashlib
import os
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .._io import open_input
from .._safe_read import os_error_msg
from ..errors import InputError, Joined, Msg
from ..privacy import screen, shown_path
from .columns import Coded, ColumnData, as_coded, cell_text, column_sample
from .csv_reader import prepare_csv, read_csv_body
from .excel import read_xlsx_rows
from .layouts import LAYOUTS, Layout, detect_layout, unique_names
from .spss import read_sav

__all__ = ["RawTable", "read_export", "detect_format", "title_rows", "FORMATS", "CONTAINERS",
           "MAX_FILE_BYTES", "MAX_TITLE_ROWS"]

CONTAINERS = ("csv", "xlsx", "sav")
FORMATS = (*CONTAINERS, *LAYOUTS)
_ALIASES = {"excel": "xlsx", "spss": "sav", "zsav": "sav", "text": "csv", "excel-csv": "csv",
            "ms-forms": "msforms", "microsoft-forms": "msforms", "google-forms": "googleforms",
            "lime": "limesurvey"}
MAX_FILE_BYTES = 1 << 30  # 1 GiB: far above any school's export, far below a memory problem
SAMPLE_CHARS = 1000
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_TITLE_ROWS = 10  # title or description rows looked for above a header
MAX_HEADER_ROW = 1000  # --header-row: a header further down is not a survey export's

#: How many cells of a row are header names the ingest knows (items, key columns, mapping).
HeaderScore = Callable[[list[str]], int]


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
    raise InputError(Msg("errors.ingest.unknown_format", path=path, format=fmt,
                         known=", ".join(FORMATS)))


def _container(raw: bytes, path: Path) -> str:
    if raw.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "xlsx"
    if raw.startswith(_OLE2):
        raise InputError(Msg("errors.ingest.xls", path=path))
    if raw[:4] in (b"$FL2", b"$FL3"):
        return "sav"
    return "csv"


def detect_format(path: str | Path) -> str:
    """The container of an export (``csv``, ``xlsx`` or ``sav``) from its first bytes."""
    path = Path(path)
    with open_input(path) as fh:
        return _container(fh.read(8), path)


def _read_bytes(path: Path, shown: Path) -> bytes:
    """The file's bytes; ``shown`` is how messages name it (:func:`~..privacy.shown_path`).

    A symbolic link is refused, and the file is opened so that a link swapped in after the
    check is refused too (``O_NOFOLLOW``): a link can make the ingest read, and echo into its
    outputs, a file that was never submitted (a key, another school's export). One open, then a
    bounded read: a missing file, a folder, a path through a file and a permission problem are
    each named (``os_error_text``); a FIFO or device is never read whole.
    """
    link = Msg("errors.ingest.symlink", path=shown)
    what = Msg("errors.ingest.what_export")
    if path.is_symlink():
        raise InputError(link)
    try:
        # O_NONBLOCK: a named pipe nobody writes to would block the open for ever (a regular
        # file ignores it); the pipe is then refused as no regular file
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())  # a regular file too large is not read at all
            regular = stat.S_ISREG(info.st_mode)
            raw = fh.read(MAX_FILE_BYTES + 1) if regular and info.st_size <= MAX_FILE_BYTES \
                else b""
            size = info.st_size
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(link) from None
        raise InputError(Joined([os_error_msg(shown, exc, what), Msg("errors.ingest.export_kinds")],
                                " ")) from None
    if stat.S_ISDIR(info.st_mode):  # os.open opens a folder without complaint
        raise InputError(Joined([os_error_msg(shown, IsADirectoryError(errno.EISDIR, "Is a directory"),
                                              what), Msg("errors.ingest.export_kinds")], " "))
    if not regular:  # a device or pipe (/dev/zero) would be read up to the limit, or for ever
        raise InputError(Msg("errors.ingest.not_regular", path=shown))
    if size > MAX_FILE_BYTES or len(raw) > MAX_FILE_BYTES:
        raise InputError(Msg("errors.ingest.too_large", path=shown, gb=MAX_FILE_BYTES >> 30))
    if not raw:
        raise InputError(Msg("errors.ingest.empty", path=shown))
    return raw


def _filled(cells: list[str]) -> int:
    return sum(1 for c in cells if str(c).strip())


def title_rows(records: list[list[str]], score: HeaderScore | None = None) -> int:
    """How many leading records are a title or description above the header (0: none).

    Survey tools and people put a title ("Vragenlijst ouders, voormeting") or a description
    above the header. A leading record is taken for one when

    * it has at most one filled cell and a later record has several (and, when ``score`` is
      given, none of its cells is a known header name), or
    * none of its cells is a known header name (``score`` 0) while a later record, within
      :data:`MAX_TITLE_ROWS`, has at least two.

    Only records that the caller has found to be a plain table (no survey tool's layout) are
    passed here.

    >>> title_rows([["Vragenlijst ouders", "", ""], ["nr", "rec1", "rec2"], ["1", "4", "5"]])
    1
    >>> known = lambda cells: sum(c in {"nr", "rec1", "rec2"} for c in cells)
    >>> title_rows([["Export 3 dec", "WiSH"], ["nr", "rec1", "rec2"], ["1", "4", "5"]], known)
    1
    >>> title_rows([["nr", "rec1"], ["1", "4"]], known)
    0
    """
    records = records[:MAX_TITLE_ROWS + 1]
    filled = [_filled(r) for r in records]
    scores = [score(r) for r in records] if score is not None else None
    k = 0
    while (k < len(records) - 1 and filled[k] <= 1 and max(filled[k + 1:]) >= 2
           and (scores is None or scores[k] == 0)):
        k += 1
    if scores is not None and scores[k] == 0:
        later = next((j for j in range(k + 1, len(scores)) if scores[j] >= 2), None)
        if later is not None:
            k = later
    return k


def _header_index(records: list[list[str]], forced_layout: str | None, score: HeaderScore | None,
                  where: str) -> int:
    """The index of the header among the first records (title rows above it skipped)."""
    if forced_layout not in (None, "table") or not records:
        return 0
    if forced_layout is None and detect_layout(records[:3], None, where).name != "table":
        return 0  # a survey tool's own export: its first rows are its header
    return title_rows(records, score)


def read_export(path: str | Path, format: str | None = None, sheet: str | None = None,
                header_row: int | None = None, header_score: HeaderScore | None = None
                ) -> RawTable:
    """Read an export file into a :class:`RawTable` (format detected unless given).

    Parameters
    ----------
    path
        The export file; it is only read, never modified.
    format
        A container (``csv``, ``xlsx``, ``sav``) or layout name to skip detection.
    sheet
        For workbooks: the sheet name or its number counting from 1; default the first visible
        sheet that holds answers (a sheet of instructions before it is skipped, and named in
        ``details["skipped_sheets"]``).
    header_row
        The line (CSV) or sheet row (XLSX) of the header, counting from 1; rows above it are
        skipped. Default: the header is found, skipping title rows (:func:`title_rows`); the
        number skipped is ``details["title_rows"]``.
    header_score
        How many cells of a row are header names the caller knows (items, key columns): makes
        finding title rows and instruction sheets surer.
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
            raise InputError(Msg("errors.ingest.sheet_not_excel", path=path, container=container))
        if header_row is not None and (container == "sav" or not 1 <= header_row
                                       <= MAX_HEADER_ROW):
            raise InputError(Msg("errors.ingest.header_row", path=path, row=header_row,
                                 why=Msg("errors.ingest.header_row_sav") if container == "sav"
                                 else Msg("errors.ingest.header_row_range", most=MAX_HEADER_ROW)))
        if container == "csv":
            table = _from_csv(raw, path, forced_layout, header_row, header_score)
        elif container == "xlsx":
            table = _from_xlsx(raw, path, forced_layout, sheet, header_row, header_score)
        else:
            table = _from_sav(raw, path)
        digest = sha.result() if sha is not None else hashlib.sha256(raw).hexdigest()
    return RawTable(**{**table, "sha256": digest})


def _from_csv(raw: bytes, path: Path, forced_layout: str | None, header_row: int | None = None,
              score: HeaderScore | None = None) -> dict:
    src = prepare_csv(raw, path, n_head=3 + (MAX_TITLE_ROWS if header_row is None
                                             else header_row))
    skip = 0
    if header_row is not None:
        skip = next((i for i, r in enumerate(src.head) if r.first_line >= header_row),
                    len(src.head))
        if skip == len(src.head) or src.head[skip].first_line != header_row:
            raise InputError(Msg("errors.ingest.header_line", path=path, line=header_row))
    else:
        skip = _header_index([r.cells for r in src.head], forced_layout, score, str(path))
    if skip:
        src = dataclasses.replace(src, head=src.head[skip:])
    layout = detect_layout([r.cells for r in src.head], forced_layout, where=str(path))
    if len(src.head) < layout.header_rows:
        raise InputError(Msg("errors.ingest.ends_in_header", path=path))
    width = len(src.head[0].cells)
    body = read_csv_body(src, layout.header_rows, width, path)
    details = {**src.details, "engine": body.engine, "header_rows": layout.header_rows}
    if skip or header_row is not None:
        details["title_rows"] = skip
        details["header_line"] = src.head[0].first_line
    if body.blank_rows:
        details["blank_rows"] = body.blank_rows
    data = dict(zip(layout.columns, body.columns, strict=True))
    return {"columns": layout.columns, "data": data, "lines": body.lines, "format": "csv",
            "layout": layout, "details": details, "problems": body.problems}


def _answers_sheet(score: HeaderScore | None):
    """Whether a sheet's rows look like answers under a header, not like instructions: one of
    its first rows has several filled cells (and, with ``score``, several known header names)."""
    def looks_like_answers(rows: list[list]) -> bool:
        head = [[cell_text(v) for v in r] for r in rows[:200]
                if _filled_row(r)][:MAX_TITLE_ROWS + 3]
        if score is not None:
            return any(score(r) >= 2 for r in head)
        return any(_filled(r) >= 2 for r in head)
    return looks_like_answers


def _filled_row(row: list) -> bool:
    return row.count("") + row.count(None) != len(row)


def _from_xlsx(raw: bytes, path: Path, forced_layout: str | None, sheet: str | None,
               header_row: int | None = None, score: HeaderScore | None = None) -> dict:
    real_name, rows, facts, skipped = read_xlsx_rows(raw, path, sheet, _answers_sheet(score))
    name = screen(real_name, "sheet").text  # a sheet name is typed by whoever made the file
    filled = [i for i, r in enumerate(rows) if r.count("") + r.count(None) != len(r)]
    if not filled:
        raise InputError(Msg("errors.ingest.sheet_empty", path=path, sheet=name))
    if header_row is not None:
        if header_row - 1 not in filled:
            raise InputError(Msg("errors.ingest.header_row_sheet", path=path, row=header_row,
                                 sheet=name))
        skip = filled.index(header_row - 1)
    else:
        first = [[cell_text(v) for v in rows[i]] for i in filled[:MAX_TITLE_ROWS + 3]]
        skip = _header_index(first, forced_layout, score, f"{path} (sheet '{name}')")
    filled = filled[skip:]
    head_idx = filled[:3]
    records = [[cell_text(v) for v in rows[i]] for i in head_idx]
    layout = detect_layout(records, forced_layout, where=f"{path} (sheet '{name}')")
    if len(head_idx) < layout.header_rows:
        raise InputError(Msg("errors.ingest.sheet_ends_in_header", path=path, sheet=name))
    last_header = head_idx[layout.header_rows - 1]
    body_idx = [i for i in filled if i > last_header]
    width = len(layout.columns)
    body = [rows[i] for i in body_idx]
    columns = list(zip(*body, strict=False)) if body else [() for _ in range(width)]
    columns = (columns + [("",) * len(body)] * width)[:width]
    blank = (filled[-1] - last_header) - len(body_idx)  # empty rows between answers
    details = {"sheet": name, "header_rows": layout.header_rows, "engine": "calamine"}
    if skip or header_row is not None:
        details["title_rows"] = skip
        details["header_line"] = head_idx[0] + 1
    if skipped:
        details["skipped_sheets"] = [screen(n, "sheet").text for n in skipped]
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
