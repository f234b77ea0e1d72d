"""Excel workbooks (``.xlsx``), checked before they are parsed and read with python-calamine.

An ``.xlsx`` file is a zip archive of XML files, which makes it a classic carrier of
decompression bombs and XML entity attacks. Before any XML is parsed:

1. the **central directory** is inspected: at most :data:`MAX_MEMBERS` members, none expanding
   more than :data:`MAX_RATIO` to 1 (members under :data:`RATIO_FLOOR` bytes are too small to
   matter), and at most :data:`MAX_EXPANDED` bytes in all;
2. every member is **decompressed once with a byte budget** (its declared size), so an archive
   whose directory lies about sizes is refused as well, and zip's CRC check catches truncated or
   damaged files;
3. XML members that declare a DTD (``<!DOCTYPE`` / ``<!ENTITY``) are refused: Excel never writes
   one, and entity expansion is how "billion laughs" attacks work.

The cells are then read with python-calamine (Rust; about ten times faster than openpyxl, and it
expands no entities). openpyxl is used only to *write* workbooks (tests, demo); with defusedxml
installed — a declared dependency — openpyxl parses XML through it as well.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ..errors import InputError
from ..privacy import screen, shown

__all__ = ["check_zip", "read_xlsx_rows", "MAX_RATIO", "MAX_EXPANDED", "MAX_MEMBERS"]

MAX_MEMBERS = 10_000
MAX_RATIO = 100
RATIO_FLOOR = 64 * 1024
MAX_EXPANDED = 1 << 30  # 1 GiB of XML in all
_CHUNK = 1 << 20
_DTD_MARKERS = (b"<!doctype", b"<!entity")


def _refuse(path: Path, problem: str, fix: str = "") -> InputError:
    return InputError(f"{path}: {problem}. {fix or 'Open the file in Excel, save it again as .xlsx (or export the survey as CSV) and ingest the new file.'}")


def check_zip(raw: bytes, path: Path) -> list[str]:
    """Inspect and test-decompress a zip archive; return its member names or raise InputError."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise _refuse(path, "the workbook is damaged or truncated (its zip directory cannot be "
                            "read)") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _refuse(path, f"the archive has {len(infos)} members (more than {MAX_MEMBERS}); "
                                "this is not a normal workbook")
        total = 0
        for info in infos:
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
                raise _refuse(path, f"member '{shown(info.filename, 'file')}' would expand {ratio:.0f} to 1 "
                                    f"(more than {MAX_RATIO} to 1): a possible decompression bomb")
            if total > MAX_EXPANDED:
                raise _refuse(path, f"the archive would expand to more than "
                                    f"{MAX_EXPANDED >> 20} MB: split the export")
            if info.flag_bits & 0x1:
                raise _refuse(path, "the workbook is encrypted", "Remove the password in Excel, "
                              "save it again and ingest the new file.")
        for info in infos:
            _test_member(archive, info, path)
        return [i.filename for i in infos]


def _test_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> None:
    seen = 0
    head = b""
    try:
        with archive.open(info) as fh:
            while True:
                block = fh.read(_CHUNK)
                if not block:
                    break
                seen += len(block)
                if seen > info.file_size:
                    raise _refuse(path, f"member '{shown(info.filename, 'file')}' holds more data than its zip "
                                        "directory declares: a possible decompression bomb")
                if len(head) < 4096:
                    head += block[: 4096 - len(head)]
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise _refuse(path, f"the workbook is damaged or truncated ({shown(info.filename, 'file')}: "
                            f"{type(exc).__name__})") from None
    if info.filename.lower().endswith((".xml", ".rels", ".vml")):
        low = head.lower()
        if any(marker in low for marker in _DTD_MARKERS):
            raise _refuse(path, f"member '{shown(info.filename, 'file')}' declares a DTD or XML entities, which "
                                "Excel never writes (an XML entity attack?)")


def read_xlsx_rows(raw: bytes, path: Path, sheet: str | None = None) -> tuple[str, list[list]]:
    """Return the chosen sheet's name and its rows (row ``i`` is Excel row ``i + 1``)."""
    members = check_zip(raw, path)
    if "xl/workbook.xml" not in members:
        kind = ("an OpenDocument spreadsheet (.ods)" if "content.xml" in members
                else "a zip archive but not an Excel workbook")
        raise InputError(f"{path}: this is {kind}. Save it as Excel (.xlsx) or CSV and ingest "
                         "that file.")
    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(raw))
        metas = book.sheets_metadata
        names = [m.name for m in metas]
        listed = [shown(n, "sheet") for n in names]  # for messages only
        if sheet is not None:
            chosen = _pick_sheet(sheet, names, path, listed)
            rows = book.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
            return chosen, rows
        for meta in metas:
            if meta.typ != SheetTypeEnum.WorkSheet or meta.visible != SheetVisibleEnum.Visible:
                continue
            rows = book.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)
            if any(_row_has_data(r) for r in rows):
                return meta.name, rows
    except CalamineError as exc:
        raise InputError(f"{path}: the workbook cannot be read ({type(exc).__name__}: "
                         f"{screen(str(exc), 'text', max_chars=200).text}). Open it in Excel, save it again as .xlsx and ingest "
                         "the new file.") from None
    raise InputError(f"{path}: every visible sheet of the workbook is empty (sheets: {listed}). "
                     "Export the survey again with its answers.")


def _row_has_data(row: list) -> bool:
    return row.count("") + row.count(None) != len(row)


def _pick_sheet(sheet: str, names: list[str], path: Path, listed: list[str]) -> str:
    if sheet in names:
        return sheet
    if sheet.isdigit() and 1 <= int(sheet) <= len(names):
        return names[int(sheet) - 1]
    raise InputError(f"{path}: there is no sheet '{shown(sheet, 'sheet')}' (sheets: {listed}). Give --sheet "
                     "with one of these names, or its number counting from 1.")
