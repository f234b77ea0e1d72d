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
   one, and entity expansion is how "billion laughs" attacks work;
4. while each **worksheet** is decompressed, its declared ``<dimension ref=...>`` and every cell
   and row reference (``r="XFD1048576"``) are read, vectorised over each block of XML: a sheet
   whose cells would span more than :data:`MAX_SHEET_CELLS` cells is refused, because the reader
   allocates the whole rectangle from A1 to the farthest cell — one cell at XFD1048576 is 17
   billion cells — before it returns anything. The same pass finds **formula cells without a
   cached value** (``<c r="B2"><f>...</f></c>``, what openpyxl and some scripts write): a reader
   sees them as empty, so the pipeline logs them as cleared instead of losing them silently.

The cells are then read with python-calamine (Rust; about ten times faster than openpyxl, and it
expands no entities). openpyxl is used only to *write* workbooks (tests, demo); with defusedxml
installed — a declared dependency — openpyxl parses XML through it as well.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import Count, InputError, Joined, Msg
from ..privacy import screen, shown

__all__ = ["check_zip", "read_xlsx_rows", "XlsxSheet", "MAX_RATIO", "MAX_EXPANDED", "MAX_MEMBERS",
           "MAX_SHEET_CELLS"]

MAX_MEMBERS = 10_000
MAX_RATIO = 100
RATIO_FLOOR = 64 * 1024
MAX_EXPANDED = 1 << 30  # 1 GiB of XML in all
_CHUNK = 1 << 20
_DTD_MARKERS = (b"<!doctype", b"<!entity")
#: Cells of the rectangle from A1 to a sheet's farthest cell. The reader holds about 32 bytes a
#: cell (so 1.6 GB at this limit) before Python sees a row; a school's export of 100,000 rows of
#: 60 columns is 6 million.
MAX_SHEET_CELLS = 50_000_000
_OVERLAP = 1 << 16  # bytes of XML kept between blocks: longer than any cell with its formula
_REF_WINDOW = 16  # bytes read after r=" : up to 4 letters, 8 digits, the quote, and key bytes
_REF_RE = re.compile(rb"\sr\s*=\s*[\"']([A-Za-z]*)([0-9]*)[\"']")
_NS = rb"(?:[A-Za-z_][\w.-]*:)?"
# a formula cell whose cached value is absent or empty: <c ...><f ...>...</f>[<v/>]</c>
_FORMULA_NO_VALUE = re.compile(
    rb"<" + _NS + rb"c\b([^>]*)>\s*<" + _NS + rb"f\b[^>]*?(?:/>|>[^<]*</" + _NS + rb"f>)\s*"
    rb"(?:<" + _NS + rb"v\s*/>|<" + _NS + rb"v>\s*</" + _NS + rb"v>)?\s*</" + _NS + rb"c>")
_DIMENSION = re.compile(rb"<" + _NS + rb"dimension\b[^>]*?\sref\s*=\s*[\"']([^\"']*)[\"']")
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet\b")
_A1 = re.compile(r"^\$?([A-Za-z]{1,8})\$?([0-9]{1,12})$")


@dataclass
class XlsxSheet:
    """What the scan of one worksheet's XML found (rows and columns from 1)."""

    max_row: int = 0
    max_col: int = 0
    dimension: tuple[int, int] | None = None  # declared farthest cell (row, column)
    formula_cells: list[tuple[int, int]] = field(default_factory=list)  # no cached value
    formula_cells_unplaced: int = 0  # such cells without an r="..." reference
    rows: int = 0  # <row> elements
    most_cells_in_a_row: int = 0  # <c> elements in the fullest <row>

    def extent(self) -> tuple[int, int]:
        """Rows and columns the reader may allocate, at most. Cells and rows may leave out their
        reference (the reader then counts on from the previous one), so the farthest reference
        is extended by the number of rows and by the cells of the fullest row."""
        return self.max_row + self.rows, self.max_col + self.most_cells_in_a_row


def _letters_value(letters: str) -> int:
    value = 0
    for ch in letters.upper():
        value = value * 26 + ord(ch) - 64
    return value


def _a1(ref: str) -> tuple[int, int] | None:
    """(row, column) of an A1 reference, or None."""
    m = _A1.match(ref.strip())
    return (int(m.group(2)), _letters_value(m.group(1))) if m else None


class _SheetScan:
    """Reads a worksheet's XML block by block (as it is decompressed) for :class:`XlsxSheet`."""

    def __init__(self) -> None:
        self.facts = XlsxSheet()
        self.carry = b""
        self.first = True
        self.open_row_cells = 0  # cells of the row still open at the end of the last block
        self.prefix = b""  # the namespace prefix of the sheet's elements, with its colon

    def feed(self, block: bytes, final: bool = False) -> None:
        buf = self.carry + block
        cut = len(buf) if final else max(len(buf) - _OVERLAP, 0)
        if self.first and buf:
            root = _ROOT.search(buf, 0, min(len(buf), 1 << 16))
            if root and root.group(1):
                self.prefix = root.group(1) + b":"
            m = _DIMENSION.search(buf, 0, min(len(buf), 1 << 16))
            if m:
                ref = m.group(1).decode("ascii", "replace").split(":")[-1]
                self.facts.dimension = _a1(ref)
            self.first = False
        if cut:
            self._refs(buf, cut)
        self.carry = buf[cut:]

    def _refs(self, buf: bytes, cut: int) -> None:
        """Largest row and column of every r="..." starting before ``cut`` (vectorised)."""
        a = np.frombuffer(buf, dtype=np.uint8)
        if cut < 4 or len(a) < 8:
            return
        # two-byte patterns through 16-bit views at both alignments: a few passes over half as
        # many elements (bytes.find per pattern, or byte-wise tests, took most of the scan)
        r_eq = _pairs(buf, cut, 0x3D72)  # "r="
        before, after = a[np.maximum(r_eq - 1, 0)], a[np.minimum(r_eq + 2, len(a) - 1)]
        attribute = before <= 32
        starts = r_eq[attribute & ((after == 0x22) | (after == 0x27))] + 3
        # r= "..." or r = "...": valid XML this scan does not read; take the exact regex
        odd = (attribute & (after <= 32)).any()
        if not odd:
            eq = np.concatenate([_pairs(buf, cut, 0x3D20),  # a space, or a tab or line end,
                                 _pairs(buf, cut, 0x3D00, 0xFFE0)])  # then "="
            odd = bool(len(eq)) and bool((a[np.maximum(eq - 1, 0)] == 0x72).any())
        if odd:
            self._refs_regex(buf[:cut + 64])
        # every element start once; cells, rows and formulas are told apart by the bytes after
        # "<" (with the sheet's namespace prefix, e.g. the OpenXML SDK's "x:")
        lt = np.flatnonzero(a[:cut] == 0x3C)
        cells, rows, formulas = self._elements(a, lt)
        self._count_cells(cells, rows)
        if formulas:
            self._formulas(buf, cut)
        if len(starts):
            self._extent(a, starts, buf, cut)

    def _extent(self, a: np.ndarray, starts: np.ndarray, buf: bytes, cut: int) -> None:
        """The farthest row and column among the references starting at ``starts``."""
        padded = np.concatenate([a, np.zeros(_REF_WINDOW, np.uint8)]) \
            if int(starts.max()) + _REF_WINDOW > len(a) else a
        win = np.lib.stride_tricks.sliding_window_view(padded, _REF_WINDOW)[starts]
        # element-wise tests and arg-reductions only: row sums, lookups and per-reference
        # arithmetic cost several times more
        letter = ((win & 0xDF) - 65) < 26  # uint8 arithmetic wraps: A-Z and a-z
        digit = (win - 48) < 10
        n_letters = np.argmax(~letter, axis=1)  # letters lead: the first non-letter ends them
        end = np.argmax(~(letter | digit), axis=1)  # the first byte that is neither: the quote
        every = np.arange(len(win))
        closing = win[every, end]
        swap = letter[:, 1:] & digit[:, :-1]  # a letter after a digit ("A1B2")
        swap_at = np.argmax(swap, axis=1)
        n_digits = end - n_letters
        well_formed = (((closing == 0x22) | (closing == 0x27))
                       & ~(swap[every, swap_at] & (swap_at + 1 < end))
                       & (n_letters <= 4) & (n_digits >= 1) & (n_digits <= 8)
                       & (win[every, np.minimum(n_letters, _REF_WINDOW - 1)] != 0x30))
        if not well_formed.all():
            # a reference longer than the window (zero-padded?), beyond any sheet, or odd:
            # read exactly, with the regex
            self._refs_regex(buf[:cut + 64])
            return
        # The largest column is among the references with the most letters, and there the
        # largest as text (letters first, then digits: the first 8 bytes as one big-endian
        # number); the largest row likewise among those with the most digits, per number of
        # letters. One comparison of 8-byte numbers instead of arithmetic per reference.
        most = int(n_letters.max())
        if most:
            keys = np.ascontiguousarray(win[n_letters == most, :8] & 0xDF)
            best = keys[int(np.argmax(keys.view(">u8")[:, 0]))]
            self.facts.max_col = max(self.facts.max_col,
                                     _letters_value(bytes(best[:most]).decode("ascii")))
        most = int(n_digits.max())
        widest = n_digits == most
        for n in np.unique(n_letters[widest]).tolist():
            keys = np.ascontiguousarray(win[widest & (n_letters == n), n:n + 8])
            best = keys[int(np.argmax(keys.view(">u8")[:, 0]))]
            self.facts.max_row = max(self.facts.max_row, int(bytes(best[:most])))

    def _elements(self, a: np.ndarray, lt: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Positions of the cells and rows among the element starts ``lt``, and whether there
        is a formula."""
        if self.prefix:
            return (lt[self._element(a, lt, b"c")], lt[self._element(a, lt, b"row")],
                    bool(self._element(a, lt, b"f").any()))
        last = len(a) - 1
        first = a[np.minimum(lt + 1, last)]
        second = a[np.minimum(lt + 2, last)]
        ends = (second <= 32) | (second == 0x3E) | (second == 0x2F)  # "<c>", "<c ", "<c/"
        cells = lt[(first == 0x63) & ends]
        formulas = bool(((first == 0x66) & ends).any())
        maybe = lt[(first == 0x72) & (second == 0x6F)]  # "<ro"
        nxt = a[np.minimum(maybe + 4, last)]
        rows = maybe[(a[np.minimum(maybe + 3, last)] == 0x77)
                     & ((nxt <= 32) | (nxt == 0x3E) | (nxt == 0x2F))]
        return cells, rows, formulas

    def _element(self, a: np.ndarray, lt: np.ndarray, name: bytes) -> np.ndarray:
        """Which "<" of ``lt`` open an element ``name`` (in the sheet's prefix)."""
        full = self.prefix + name
        last = len(a) - 1
        hit = np.ones(len(lt), dtype=bool)
        for k, byte in enumerate(full, start=1):
            hit &= a[np.minimum(lt + k, last)] == byte
        nxt = a[np.minimum(lt + len(full) + 1, last)]
        return hit & ((nxt <= 32) | (nxt == 0x3E) | (nxt == 0x2F))

    def _count_cells(self, cells: np.ndarray, rows: np.ndarray) -> None:
        """Rows and the cells of the fullest row (cells without a reference extend a row)."""
        self.facts.rows += len(rows)
        per_row = np.bincount(np.searchsorted(rows, cells), minlength=len(rows) + 1)
        per_row[0] += self.open_row_cells  # the row open at the end of the last block
        self.facts.most_cells_in_a_row = max(self.facts.most_cells_in_a_row, int(per_row.max()))
        self.open_row_cells = int(per_row[-1])

    def _refs_regex(self, text: bytes) -> None:
        for letters, digits in _REF_RE.findall(text):
            if len(letters) > 4 or len(digits.lstrip(b"0")) > 9:
                self.facts.max_row = max(self.facts.max_row, 10**12)
                return
            if digits:
                self.facts.max_row = max(self.facts.max_row, int(digits))
            if letters:
                self.facts.max_col = max(self.facts.max_col, _letters_value(letters.decode()))

    def _formulas(self, buf: bytes, cut: int) -> None:
        for m in _FORMULA_NO_VALUE.finditer(buf):
            if m.start() >= cut:
                break
            ref = re.search(rb"\sr\s*=\s*[\"']([^\"']*)[\"']", m.group(1))
            place = _a1(ref.group(1).decode("ascii", "replace")) if ref else None
            if place is None:
                self.facts.formula_cells_unplaced += 1
            else:
                self.facts.formula_cells.append(place)


def _pairs(buf: bytes, cut: int, pair: int, mask: int = 0xFFFF) -> np.ndarray:
    """Positions below ``cut`` where two bytes equal to ``pair`` (little-endian) in the bits of
    ``mask`` start (those at even, then at odd positions: not sorted)."""
    out = []
    for shift in (0, 1):
        n = (min(len(buf), cut + 1) - shift) // 2
        if n <= 0:
            continue
        view = np.frombuffer(buf, dtype="<u2", count=n, offset=shift)
        hit = view == pair if mask == 0xFFFF else (view & mask) == pair
        out.append(np.flatnonzero(hit) * 2 + shift)
    found = np.concatenate(out) if out else np.zeros(0, np.int64)
    return found[found < cut]


def _check_sheet(facts: XlsxSheet, member: str, path: Path) -> None:
    """Refuse a sheet whose declared or actual extent the reader could not allocate."""
    for what, (rows, cols) in (("declared", facts.dimension or (0, 0)),
                               ("extent", facts.extent())):
        if rows * max(cols, 1) > MAX_SHEET_CELLS:
            far = (Msg("errors.excel.far_cell", row=Count(rows), column=Count(cols))
                   if rows < 10**12 else Msg("errors.excel.far_beyond"))
            raise _refuse(path, Msg(f"errors.excel.sheet_{what}", member=member, far=far,
                                    most=Count(MAX_SHEET_CELLS)),
                          Msg("errors.excel.fix_copy"))


def _refuse(path: Path, problem: Msg, fix: Msg | None = None) -> InputError:
    return InputError(Joined([path, ": ", problem, ". ", fix or Msg("errors.excel.fix_save")], ""))


def check_zip(raw: bytes, path: Path) -> list[str]:
    """Inspect and test-decompress a zip archive; return its member names or raise InputError."""
    return inspect_zip(raw, path)[0]


def inspect_zip(raw: bytes, path: Path) -> tuple[list[str], dict[str, XlsxSheet]]:
    """:func:`check_zip`, also returning what the scan found in each worksheet member."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise _refuse(path, Msg("errors.excel.zip_directory")) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _refuse(path, Msg("errors.excel.members", n=len(infos), most=MAX_MEMBERS))
        total = 0
        for info in infos:
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
                raise _refuse(path, Msg("errors.excel.ratio", member=shown(info.filename, "file"),
                                        ratio=f"{ratio:.0f}", most=MAX_RATIO))
            if total > MAX_EXPANDED:
                raise _refuse(path, Msg("errors.excel.expanded", mb=MAX_EXPANDED >> 20))
            if info.flag_bits & 0x1:
                raise _refuse(path, Msg("errors.excel.encrypted"), Msg("errors.excel.fix_password"))
        sheets: dict[str, XlsxSheet] = {}
        for info in infos:
            facts = _test_member(archive, info, path)
            if facts is not None:
                _check_sheet(facts, info.filename, path)
                sheets[info.filename] = facts
        return [i.filename for i in infos], sheets


def _test_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                 path: Path) -> XlsxSheet | None:
    seen = 0
    head = b""
    name = info.filename.lower()
    scan = _SheetScan() if name.startswith("xl/worksheets/") and name.endswith(".xml") else None
    try:
        with archive.open(info) as fh:
            while True:
                block = fh.read(_CHUNK)
                if not block:
                    break
                seen += len(block)
                if seen > info.file_size:
                    raise _refuse(path, Msg("errors.excel.more_data",
                                            member=shown(info.filename, "file")))
                if len(head) < 4096:
                    head += block[: 4096 - len(head)]
                if scan is not None:
                    scan.feed(block)
            if scan is not None:
                scan.feed(b"", final=True)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise _refuse(path, Msg("errors.excel.damaged", member=shown(info.filename, "file"),
                                error=type(exc).__name__)) from None
    if info.filename.lower().endswith((".xml", ".rels", ".vml")):
        low = head.lower()
        if any(marker in low for marker in _DTD_MARKERS):
            raise _refuse(path, Msg("errors.excel.dtd", member=shown(info.filename, "file")))
    return scan.facts if scan is not None else None


def read_xlsx_rows(raw: bytes, path: Path, sheet: str | None = None,
                   looks_like_answers: Callable[[list[list]], bool] | None = None
                   ) -> tuple[str, list[list], XlsxSheet | None, list[str]]:
    """Return the chosen sheet's name, its rows (row ``i`` is Excel row ``i + 1``), what the
    scan of its XML found (None when the sheet's XML member could not be identified) and the
    sheets with data skipped before it.

    Without ``sheet`` the first visible sheet with data that ``looks_like_answers`` is chosen
    (sheets of instructions before it are skipped); when none does, the first with data."""
    members, sheets = inspect_zip(raw, path)
    if "xl/workbook.xml" not in members:
        kind = ("an OpenDocument spreadsheet (.ods)" if "content.xml" in members
                else "a zip archive but not an Excel workbook")
        raise InputError(Msg("errors.excel.not_xlsx", path=path, kind=kind))
    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    where = _sheet_members(raw)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(raw))
        metas = book.sheets_metadata
        names = [m.name for m in metas]
        listed = [shown(n, "sheet") for n in names]  # for messages only
        if sheet is not None:
            chosen = _pick_sheet(sheet, names, path, listed)
            rows = book.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
            return chosen, rows, sheets.get(where.get(chosen, "")), []
        first = None
        skipped: list[str] = []
        for meta in metas:
            if meta.typ != SheetTypeEnum.WorkSheet or meta.visible != SheetVisibleEnum.Visible:
                continue
            rows = book.get_sheet_by_name(meta.name).to_python(skip_empty_area=False)
            if any(_row_has_data(r) for r in rows):
                found = (meta.name, rows, sheets.get(where.get(meta.name, "")))
                if looks_like_answers is None or looks_like_answers(rows):
                    return (*found, skipped)
                first = first or found
                skipped.append(meta.name)
        if first is not None:  # no sheet looks like answers: the first with data, as always
            return (*first, [])
    except CalamineError as exc:
        raise InputError(Msg("errors.excel.unreadable", path=path, name=type(exc).__name__,
                             screen=screen(str(exc), 'text', max_chars=200).text)) from None
    raise InputError(Msg("errors.excel.all_empty", path=path, listed=listed))


def _sheet_members(raw: bytes) -> dict[str, str]:
    """Sheet name -> its XML member, from the workbook and its relationships (both small and
    already checked for DTDs); empty when they cannot be read."""
    import xml.etree.ElementTree as ET

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            parts = {}
            for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
                if archive.getinfo(name).file_size > 16 << 20:
                    return {}
                parts[name] = ET.fromstring(archive.read(name))
    except (KeyError, zipfile.BadZipFile, ET.ParseError, OSError, ValueError):
        return {}
    targets = {}
    for rel in parts["xl/_rels/workbook.xml.rels"].iter():
        if rel.tag.endswith("Relationship") and rel.get("Id") and rel.get("Target"):
            target = rel.get("Target", "").lstrip("/")
            targets[rel.get("Id")] = target if target.startswith("xl/") else f"xl/{target}"
    out = {}
    for node in parts["xl/workbook.xml"].iter():
        if node.tag.endswith("}sheet") or node.tag == "sheet":
            rid = next((v for k, v in node.attrib.items() if k.endswith("}id")), None)
            if node.get("name") is not None and rid in targets:
                out[node.get("name")] = targets[rid]
    return out


def _row_has_data(row: list) -> bool:
    return row.count("") + row.count(None) != len(row)


def _pick_sheet(sheet: str, names: list[str], path: Path, listed: list[str]) -> str:
    if sheet in names:
        return sheet
    if sheet.isdigit() and 1 <= int(sheet) <= len(names):
        return names[int(sheet) - 1]
    raise InputError(Msg("errors.excel.no_sheet", path=path, sheet=shown(sheet, 'sheet'),
                         listed=listed))
