"""Write tables the way survey tools export them (demo data, tests, benchmarks).

The demo (:func:`partnerschap_eval.synth.write_demo_exports`), the test corpus and the benchmarks
write their synthetic exports through these functions, so every format the readers accept is also
produced here: plain and Dutch-Excel CSV in any encoding, Qualtrics' current (three header rows)
and legacy (two) layouts, Microsoft Forms-style workbooks (openpyxl) and SPSS files with value
labels and user-missing values (pyreadstat).

Files are written atomically. Text cells a spreadsheet would run as a formula are neutralised
(``neutralise=True``, the default), as in every file the package writes; tests that need hostile
input pass ``neutralise=False``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_path, neutralise_cell
from ..ingest.columns import cell_text

__all__ = ["write_csv_export", "write_qualtrics_csv", "write_xlsx_export", "write_sav_export"]


def _cells(frame: pd.DataFrame, neutralise: bool, decimal_comma: bool = False) -> list[list[str]]:
    out = []
    for col in frame.columns:
        texts = [cell_text(v) for v in frame[col].tolist()]
        if decimal_comma and frame[col].dtype.kind == "f":
            texts = [t.replace(".", ",") for t in texts]
        if neutralise:
            texts = [neutralise_cell(t) for t in texts]
        out.append(texts)
    return [list(r) for r in zip(*out, strict=True)] if out else []


def _write_text(path: Path, rows: list[list[str]], encoding: str, delimiter: str,
                line_end: str, bom: bool, quote_all: bool = False,
                first_line: str | None = None) -> None:
    buf = io.StringIO()
    if first_line is not None:
        buf.write(first_line + line_end)
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=line_end,
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    data = buf.getvalue().encode(encoding)
    if bom:
        data = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe",
                "utf-16-be": b"\xfe\xff"}[encoding] + data
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_csv_export(frame: pd.DataFrame, path: str | Path, *, encoding: str = "utf-8",
                     delimiter: str = ",", line_end: str = "\n", bom: bool = False,
                     sep_line: bool = False, decimal_comma: bool = False,
                     quote_all: bool = False, neutralise: bool = True) -> Path:
    """A CSV export: any delimiter, encoding, byte-order mark and line end.

    Dutch Excel writes ``delimiter=";"``, ``encoding="cp1252"``, ``line_end="\\r\\n"`` and
    decimal commas; Google Forms writes UTF-8 with commas.
    """
    path = Path(path)
    rows = [[str(c) for c in frame.columns], *_cells(frame, neutralise, decimal_comma)]
    # Excel writes its "sep=;" line bare; through the csv writer the delimiter in it would be
    # quoted ('"sep=;"'), which is not what a school's file looks like
    _write_text(path, rows, encoding, delimiter, line_end, bom, quote_all,
                first_line=f"sep={delimiter}" if sep_line else None)
    return path


def write_qualtrics_csv(frame: pd.DataFrame, path: str | Path, question_text: Mapping[str, str],
                        *, legacy: bool = False, neutralise: bool = True) -> Path:
    """A Qualtrics CSV export: three header rows (ids, question text, ImportId JSON), or the
    legacy two rows (``V1``.. for metadata, then labels) with its trailing empty column."""
    path = Path(path)
    columns = [str(c) for c in frame.columns]
    body = _cells(frame, neutralise)
    if legacy:
        first = [f"V{i + 1}" if c not in question_text else c for i, c in enumerate(columns)]
        second = [question_text.get(c, c) for c in columns]
        rows = [first + [""], second + [""], *[r + [""] for r in body]]
    else:
        text = [question_text.get(c, c) for c in columns]
        imports = [json.dumps({"ImportId": _import_id(c)}, separators=(",", ":"))
                   for c in columns]
        rows = [columns, text, imports, *body]
    _write_text(path, rows, "utf-8", ",", "\r\n", bom=False, quote_all=False)
    return path


def _import_id(column: str) -> str:
    known = {"StartDate": "startDate", "EndDate": "endDate", "Status": "status",
             "IPAddress": "ipAddress", "Progress": "progress",
             "Duration (in seconds)": "duration", "Finished": "finished",
             "RecordedDate": "recordedDate", "ResponseId": "_recordId",
             "ExternalReference": "externalDataReference"}
    if column in known:
        return known[column]
    if column.startswith("Q") and "_" in column:
        q, sub = column[1:].split("_", 1)
        return f"QID{q}_{sub}"
    return column


def write_xlsx_export(frame: pd.DataFrame, path: str | Path, *, sheet: str = "Sheet1",
                      extra_sheets: Mapping[str, pd.DataFrame] | None = None,
                      neutralise: bool = True) -> Path:
    """An Excel workbook (openpyxl, write-only): numbers and dates stay typed cells."""
    from openpyxl import Workbook

    path = Path(path)
    book = Workbook(write_only=True)
    for name, table in {sheet: frame, **(extra_sheets or {})}.items():
        ws = book.create_sheet(title=name)
        ws.append([str(c) for c in table.columns])
        for row in table.itertuples(index=False):
            ws.append([_xlsx_cell(ws, _xlsx_value(v, neutralise)) for v in row])
    with atomic_path(path) as tmp:
        book.save(tmp)
    return path


def _xlsx_cell(ws, value: object) -> object:
    """A text starting with ``=`` as a text cell: openpyxl would silently store it as a formula
    (without a cached value, so a reader sees an empty cell), which no survey tool's export does."""
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def _xlsx_value(value: object, neutralise: bool) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, str) and neutralise:
        return neutralise_cell(value)
    return value


def write_sav_export(frame: pd.DataFrame, path: str | Path, *,
                     variable_labels: Mapping[str, str] | None = None,
                     value_labels: Mapping[str, Mapping[float, str]] | None = None,
                     missing_ranges: Mapping[str, list] | None = None,
                     neutralise: bool = True) -> Path:
    """An SPSS ``.sav`` file with variable labels, value labels and user-missing values."""
    import pyreadstat

    path = Path(path)
    out = frame.copy()
    if neutralise:
        for col in out.columns:
            if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
                out[col] = out[col].map(lambda v: neutralise_cell(v) if isinstance(v, str) else v)
    with atomic_path(path) as tmp:
        pyreadstat.write_sav(out, str(tmp), column_labels=dict(variable_labels or {}),
                             variable_value_labels={k: dict(v) for k, v in
                                                    (value_labels or {}).items()},
                             missing_ranges=dict(missing_ranges or {}))
    return path
