"""Atomic, injection-safe file output shared by every writer of the package.

Every file is written to a temporary sibling and renamed into place, so a crash never leaves a
half-written output. CSV and spreadsheet cells whose text starts with ``=``, ``+``, ``-``, ``@``,
tab, carriage return or NUL would be executed as formulas by spreadsheet programs; they get a
leading apostrophe. Numbers (including negative numbers) stay numbers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import stat
import tempfile
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import OutputError, os_error_message

if TYPE_CHECKING:  # pandas is imported where a table is written: `keygen` never needs it
    import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\x00")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` when the block succeeds.

    An OS error while writing (disk full, read-only, permission, a file where a folder should
    be) becomes an :class:`~partnerschap_eval.errors.OutputError` naming ``path``; the temporary
    file is removed and whatever was at ``path`` before stays as it was.
    """
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        # mkstemp creates 0600; outputs get the usual permissions (0666 minus the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise OutputError(os_error_message(exc, path)) from exc
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def neutralise_cell(value: Any) -> Any:
    """Defuse spreadsheet formula injection in one cell; numbers and non-strings pass unchanged.

    >>> neutralise_cell("=HYPERLINK(1)"), neutralise_cell("-3"), neutralise_cell("@x"), neutralise_cell(2)
    ("'=HYPERLINK(1)", '-3', "'@x", 2)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value.replace("\x00", "")
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "")
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Apply :func:`neutralise_cell` to every text cell and to the column names."""
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``df`` as UTF-8 CSV, atomically, with formula injection neutralised.

    The bytes of ``neutralise_frame(df).to_csv(path, index=False, lineterminator="\\n")``
    (floats as pandas writes them: ``3.0``, ``4.333333333333333``), rendered column by column
    by :func:`write_table_csv`: pandas formats and neutralises every cell in Python, which took
    most of ``score``'s time on a large table.

    >>> import tempfile
    >>> import pandas as pd
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_csv(pd.DataFrame({"id": ["=1+1", "a,b"], "x": [3.0, float("nan")]}), p)
    >>> p.read_text().splitlines()
    ['id,x', "'=1+1,3.0", '"a,b",']
    """
    write_table_csv(df, path, floats="repr")


# pandas' default missing-value markers (``pandas._libs.parsers.STR_NA_VALUES``; a test keeps
# the two equal): written out, so that a file can be parsed before pandas is imported
PANDAS_NA_VALUES = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                    "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan",
                    "null")
_PREFETCHED: dict[tuple, Any] = {}  # read_table_csv's key -> Future of an Arrow table


def open_input(path: str | os.PathLike[str]):  # -> BinaryIO
    """Open an input file for reading without waiting: a named pipe nobody writes to would
    block ``open`` for ever (the caller then sees it is no regular file, and says so)."""
    return open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK))


def _prefetch_key(path: str | os.PathLike[str], text_columns: Sequence[str],
                  kind: str = "frame") -> tuple | None:
    """What identifies a parsed file: path, columns, size and time; None for anything but a
    regular file (a pipe or device is never read ahead: the command refuses it)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (os.path.realpath(path), tuple(text_columns), st.st_size, st.st_mtime_ns, kind)


def _table_pool():  # -> pyarrow.MemoryPool
    """Where a parsed table's memory comes from: jemalloc where pyarrow has it.

    In a fresh process the default pool (mimalloc) spent more time in the kernel than the
    parse itself (1.1 s of system time against 0.3 s for jemalloc, for the 75 MB of ``score``'s
    benchmark file); the memory is the same.
    """
    import pyarrow as pa

    try:
        return pa.jemalloc_memory_pool()
    except (pa.ArrowNotImplementedError, NotImplementedError):
        return pa.default_memory_pool()


def _arrow_table(path: str | os.PathLike[str], text_columns: Sequence[str],
                 column_types: dict | None = None):  # -> pa.Table | None
    """The file parsed by Arrow as pandas would read it, or None where Arrow reads it otherwise
    (a parse error, a repeated or empty header, a column of dates or times).

    ``column_types`` (default: ``text_columns`` as text, the rest as Arrow infers it) may ask
    for narrower columns (see :func:`arrow_answers_csv`); a cell that does not fit them is a
    parse error.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if column_types is None:
        column_types = {c: pa.string() for c in text_columns}
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types=column_types,
            null_values=list(PANDAS_NA_VALUES), strings_can_be_null=True,
            quoted_strings_can_be_null=True), memory_pool=_table_pool())
    except (pa.ArrowException, ValueError, OSError):  # pandas reads it and explains
        return None
    names = table.column_names
    # dates and times stay text in pandas; pandas renames repeated headers
    plain = all(pa.types.is_string(t) or pa.types.is_integer(t) or pa.types.is_float64(t)
                or pa.types.is_boolean(t) or pa.types.is_null(t)
                or (pa.types.is_dictionary(t) and pa.types.is_string(t.value_type))
                for t in table.schema.types)
    if not plain or len(set(names)) != len(names) or not all(names):
        return None
    for k, field in enumerate(table.schema):
        if pa.types.is_null(field.type):  # only empty cells: floats in pandas
            table = table.set_column(k, field.name, table.column(k).cast(pa.float64()))
    return table


#: How much of a file :func:`arrow_answers_csv` looks at to choose its column types.
_SAMPLE_BYTES = 1 << 16
_SMALL_WHOLE = re.compile(r"-?\d{1,3}")


def _answer_types(path: str | os.PathLike[str], text_columns: Sequence[str],
                  dict_columns: Sequence[str]) -> dict | None:
    """Column types for :func:`arrow_answers_csv` from the file's first 64 KB: text columns as
    text (dictionary-encoded for ``dict_columns``), a column whose sampled cells are all small
    whole numbers or missing as ``int8``, any other column as Arrow infers it."""
    import pyarrow as pa

    try:
        with open_input(path) as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            head = fh.read(_SAMPLE_BYTES)
    except OSError:
        return None
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    end = max(text.rfind("\n"), 0) if len(head) == _SAMPLE_BYTES else len(text)
    try:
        rows = list(csv.reader(io.StringIO(text[:end])))
    except csv.Error:
        return None
    if not rows:
        return None
    types = {c: pa.dictionary(pa.int32(), pa.string()) if c in dict_columns else pa.string()
             for c in text_columns}
    missing = set(PANDAS_NA_VALUES)
    for j, name in enumerate(rows[0]):
        if name in types:
            continue
        cells = [r[j] for r in rows[1:] if j < len(r) and r[j] not in missing]
        if all(_SMALL_WHOLE.fullmatch(c) and -128 <= int(c) <= 127 for c in cells):
            types[name] = pa.int8()
    return types


def arrow_answers_csv(path: str | os.PathLike[str], text_columns: Sequence[str],
                      dict_columns: Sequence[str] = ()):  # -> pa.Table | None
    """The file parsed by Arrow for a table of answers, in narrow columns; None as
    :func:`arrow_table_csv`.

    The cells of :func:`arrow_table_csv`, held smaller: answer columns as ``int8`` (where the
    file's first 64 KB show only small whole numbers; a later cell that is not one makes the
    file be parsed again as Arrow infers it) and ``dict_columns`` dictionary-encoded while
    parsing. Eight times less memory for the answers: in a fresh process fresh memory is
    what the parse costs most (``score``'s benchmark file: 150 MB rather than 370 MB).

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("id,w,x,y\\nr1,pre,3,a\\nr2,pre,,b\\n")
    >>> t = arrow_answers_csv(p, ["id", "w"], ["w"])
    >>> [str(t.schema.field(c).type) for c in t.column_names]
    ['string', 'dictionary<values=string, indices=int32, ordered=0>', 'int8', 'string']
    """
    key = _prefetch_key(path, text_columns, ("answers", tuple(dict_columns)))
    pending = _PREFETCHED.get(key) if key is not None else None
    if pending is not None:
        return pending.result()
    return _answers_table(path, text_columns, dict_columns)


def _answers_table(path: str | os.PathLike[str], text_columns: Sequence[str],
                   dict_columns: Sequence[str]):  # -> pa.Table | None
    types = _answer_types(path, text_columns, dict_columns)
    if types is None:
        return None
    table = _arrow_table(path, text_columns, types)
    if table is None and any(str(t) == "int8" for t in types.values()):  # a later cell: infer
        table = _arrow_table(path, text_columns, {
            c: t for c, t in types.items() if str(t) != "int8"})
    return table


def prefetch_table_csv(path: str | os.PathLike[str], text_columns: Sequence[str],
                       answers: Sequence[str] | None = None) -> None:
    """Start parsing a CSV file for :func:`read_table_csv` in a background thread.

    A command calls this as soon as it knows its input: Arrow's threads parse the file (without
    the GIL) while the command imports pandas and the statistics and loads the instrument, and
    ``read_table_csv`` of the same file, columns and file state takes the parsed table. Nothing
    else happens early: the checks on the input run where they always do. With ``answers``
    (the columns to dictionary-encode), the table is :func:`arrow_answers_csv`'s instead.
    """
    kind = "frame" if answers is None else ("answers", tuple(answers))
    key = _prefetch_key(path, text_columns, kind)
    if key is None or key in _PREFETCHED:
        return
    pool = ThreadPoolExecutor(1)
    if answers is None:
        _PREFETCHED[key] = pool.submit(_arrow_table, path, list(text_columns))
    else:
        _PREFETCHED[key] = pool.submit(_answers_table, path, list(text_columns), list(answers))
    pool.shutdown(wait=False)


def arrow_table_csv(path: str | os.PathLike[str], text_columns: Sequence[str]):
    """The Arrow table :func:`read_table_csv` turns into a frame (None where pandas reads the
    file itself), without pandas; it stays prefetched, so ``read_table_csv`` of the same file
    does not parse it again (:func:`release_table_csv` lets it go)."""
    key = _prefetch_key(path, text_columns)
    pending = _PREFETCHED.get(key) if key is not None else None
    if pending is not None:
        return pending.result()
    table = _arrow_table(path, text_columns)
    if key is not None:
        done: Future = Future()
        done.set_result(table)
        _PREFETCHED[key] = done
    return table


def release_table_csv(path: str | os.PathLike[str], text_columns: Sequence[str]) -> None:
    """Forget every table :func:`prefetch_table_csv`, :func:`arrow_table_csv` or
    :func:`arrow_answers_csv` kept of this file."""
    key = _prefetch_key(path, text_columns)
    if key is not None:
        for kept in [k for k in _PREFETCHED if k[:-1] == key[:-1]]:
            _PREFETCHED.pop(kept, None)


def arrow_floats(values, out: np.ndarray | None = None) -> np.ndarray:
    """A numeric Arrow column (int64 or float64) as float64, missing cells NaN: a new array, or
    written into ``out`` (a column of a block) and returned.

    Read from Arrow's buffers: pyarrow's ``to_numpy`` imports pandas (a third of a second),
    which the ``score`` command does not need otherwise.

    >>> import pyarrow.csv as pacsv, io
    >>> table = pacsv.read_csv(io.BytesIO(b"x,y\\n3,a\\n,b\\n4,c\\n"))
    >>> arrow_floats(table.column("x")).tolist()
    [3.0, nan, 4.0]
    """
    import pyarrow as pa

    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    if out is None:
        out = np.empty(sum(len(c) for c in chunks), dtype=np.float64)
    start = 0
    for chunk in chunks:
        n, off = len(chunk), chunk.offset
        dtype = np.int64 if pa.types.is_int64(chunk.type) else np.float64
        if not (pa.types.is_int64(chunk.type) or pa.types.is_float64(chunk.type)):
            raise TypeError(chunk.type)
        part = out[start:start + n]
        if n:
            part[:] = np.frombuffer(chunk.buffers()[1], dtype=dtype)[off:off + n]
            if chunk.null_count:
                part[~arrow_valid(chunk)] = np.nan
        start += n
    return out


def arrow_valid(arr) -> np.ndarray:
    """An Arrow array's validity bitmap as booleans (all true without one), without pandas.

    >>> import pyarrow.csv as pacsv, io
    >>> table = pacsv.read_csv(io.BytesIO(b"x,y\\n3,a\\n,b\\n4,c\\n"))
    >>> arrow_valid(table.column("x").chunk(0)).tolist()
    [True, False, True]
    """
    n, off = len(arr), arr.offset
    bitmap = arr.buffers()[0]
    if bitmap is None:
        return np.ones(n, dtype=bool)
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little",
                         count=off + n)
    return bits[off:].view(bool)  # zeros and ones: booleans as they are


def _bools(arr) -> np.ndarray:
    """An Arrow boolean array as NumPy booleans (missing as False), without pandas."""
    n, off = len(arr), arr.offset
    bits = np.unpackbits(np.frombuffer(arr.buffers()[1], dtype=np.uint8), bitorder="little",
                         count=off + n)[off:].astype(bool)
    return bits & arrow_valid(arr) if arr.null_count else bits


def arrow_ints(arr) -> np.ndarray:
    """An Arrow integer array (codes) as int64, missing as -1, without pandas.

    >>> import pyarrow.compute as pc
    >>> arrow_ints(pc.dictionary_encode(string_array(["b", "a", "b"])).indices).tolist()
    [0, 1, 0]
    """
    n, off = len(arr), arr.offset
    out = np.frombuffer(arr.buffers()[1], dtype=np.dtype(f"int{arr.type.bit_width}"))[off:off + n]
    out = out.astype(np.int64)
    if arr.null_count:
        out[~arrow_valid(arr)] = -1
    return out


def arrow_codes(arr) -> np.ndarray:
    """Codes (an Arrow integer array) as NumPy integers: the array's own buffer, no copy, when
    none is missing (indexing takes any integers); else :func:`arrow_ints`.

    >>> arrow_codes(string_array(["b", "a", "b"]).dictionary_encode().indices).tolist()
    [0, 1, 0]
    """
    if arr.null_count:
        return arrow_ints(arr)
    n, off = len(arr), arr.offset
    return np.frombuffer(arr.buffers()[1], dtype=np.dtype(f"int{arr.type.bit_width}"))[off:off + n]


def string_array(texts: Sequence[str]):  # -> pyarrow.StringArray
    """Texts as an Arrow string array (``pa.array(texts)`` imports pandas on its way).

    >>> string_array(["a", "", "été"]).to_pylist()
    ['a', '', 'été']
    """
    import pyarrow as pa

    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)),
              out=offsets[1:])
    if offsets[-1] >= 2**31:
        return pa.array(texts, type=pa.string())
    return pa.Array.from_buffers(pa.string(), len(encoded), [
        None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b"".join(encoded))])


def read_table_csv(path: str | os.PathLike[str], text_columns: Sequence[str]) -> pd.DataFrame:
    """Read a CSV file as ``pandas.read_csv(path, dtype=str for text_columns)`` does, faster.

    Arrow's multi-threaded reader parses the file (or has parsed it, see
    :func:`prefetch_table_csv`), with the columns in ``text_columns`` (when present) kept as
    text and pandas' default missing-value markers (``""``, ``NA``, ``nan``, ...) read as
    missing, so the frame equals pandas' own (text in pandas' ``str`` dtype, whole numbers as
    ``int64``, numbers with gaps as ``float64``). A file Arrow does not read the way pandas
    does — duplicate headers, short rows, invalid UTF-8 — is read by pandas itself, which then
    raises its own errors.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("id,x\\n007,3\\nNA,\\n")
    >>> read_table_csv(p, ["id"]).to_dict("list")
    {'id': ['007', nan], 'x': [3.0, nan]}
    """
    import pandas as pd

    pending = _PREFETCHED.pop(_prefetch_key(path, text_columns), None)
    table = pending.result() if pending is not None else _arrow_table(path, text_columns)
    if table is not None:
        return table.to_pandas()
    return pd.read_csv(path, dtype={c: str for c in text_columns}, keep_default_na=True)


_SENTINEL = 0xFF  # never a byte of UTF-8 text: marks padding in the row matrices below
_SPECIAL = r'^[=+\-@\t\r\x00]|[",\r\n\x00]'  # cells that need neutralising or quoting
_SPECIAL_RE = re.compile(_SPECIAL)
_FEW_TEXTS = 4096  # texts checked one by one in Python rather than by Arrow's compute module
_ROWS_PER_BLOCK = 1 << 17  # rows a thread renders at a time
_ROWS_PER_FILL = 1 << 13  # rows filled at a time: about 1 MB for a wide table
_SMALL_INT_SPAN = 4096
_NUMBER_SLICE = 1 << 15
_THREADED_MIN_CELLS = 1_000_000  # cells from which a table is rendered by several threads


def _csv_field(text: str) -> str:
    """One field as Python's csv module writes it (minimal quoting), without line end."""
    if text == "":
        return ""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([text])
    return buf.getvalue()[:-1]


def _text_array(values: pd.Series):  # -> pyarrow.StringArray
    """A text column as one Arrow string array (zero-copy for Arrow-backed strings)."""
    import pyarrow as pa

    try:
        arr = pa.array(values, from_pandas=True)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_dictionary(arr.type) or pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.string())
        if not pa.types.is_string(arr.type):
            raise TypeError(arr.type)
    except (pa.ArrowException, TypeError):  # mixed objects: their text
        arr = pa.array(values.astype(object).where(values.notna(), None).map(
            lambda v: v if v is None else str(v)), type=pa.string())
    return arr


def render_texts(values):  # (pyarrow.StringArray | list[str]) -> pyarrow.StringArray
    """Distinct texts as CSV fields: neutralised (:func:`neutralise_cell`) and quoted as needed.

    >>> render_texts(["a", "=1+1", "a,b", "-3"]).to_pylist()
    ['a', "'=1+1", '"a,b"', '-3']
    """
    import pyarrow as pa

    arr = values if isinstance(values, pa.Array) else string_array(values)
    if _safe_fixed_width(arr):
        return arr
    if len(arr) <= _FEW_TEXTS:  # a key column's distinct values: no need to load Arrow's compute
        special = np.array([t is not None and _SPECIAL_RE.search(t) is not None
                            for t in arr.to_pylist()], dtype=bool)
    else:
        import pyarrow.compute as pc

        special = _bools(pc.match_substring_regex(arr, _SPECIAL))
    if not special.any():
        return arr
    texts = arr.to_pylist()
    for i in np.flatnonzero(special):
        texts[i] = _csv_field(neutralise_cell(texts[i]))
    return string_array(texts)


def _safe_fixed_width(arr) -> bool:  # (pyarrow.StringArray) -> bool
    """Whether every cell has the same byte length, none empty or missing, and none needs quotes
    or neutralising (pseudonyms): then the cells are their own rendering.

    Searching a million distinct pseudonyms with a pattern (every one is written anyway) took a
    fifth of the writer's time; two byte searches decide that nothing needs care.
    """
    n = len(arr)
    if not n or arr.null_count or arr.buffers()[2] is None:
        return False
    import pyarrow as pa

    wide = pa.types.is_large_string(arr.type)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64 if wide else np.int32)[
        arr.offset:arr.offset + n + 1]
    width = int(offsets[1] - offsets[0])
    if not width or int(offsets[-1] - offsets[0]) != n * width \
            or np.any(np.diff(offsets) != width):
        return False
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    anywhere, first = data.tobytes(), data[::width].tobytes()  # byte searches are memchr
    return not (any(c in anywhere for c in (b'"', b",", b"\r", b"\n", b"\x00"))
                or any(c in first for c in (b"=", b"+", b"-", b"@", b"\t")))


def _text_parts(values):  # (pd.Series | pyarrow.StringArray | ChunkedArray) -> (codes, rendered)
    """Codes and rendered distinct values of a text column, vectorised through Arrow."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.DictionaryArray):  # encoded already: the same cells
        return arrow_codes(values.indices), render_texts(values.dictionary)
    arr = values if isinstance(values, pa.StringArray) else _text_array(values)
    if _safe_fixed_width(arr):  # distinct or not, each cell is written as it is
        return np.arange(len(arr), dtype=np.int64), arr
    encoded = arr.dictionary_encode()
    return arrow_ints(encoded.indices), render_texts(encoded.dictionary)


class _Rows:
    """A text column whose every cell is written as it is (:func:`_safe_fixed_width`), kept as
    its Arrow chunks: the rows of a block are copied straight from their buffers, with no
    matrix of the whole column first (22 MB of fresh memory for a million pseudonyms)."""

    def __init__(self, views: list[np.ndarray]):
        self.starts = np.cumsum([0] + [len(v) for v in views])
        self.shape = (int(self.starts[-1]), views[0].shape[1])
        self.views = [v.view(f"V{self.shape[1]}").ravel() for v in views]  # a cell per item

    @classmethod
    def of(cls, values) -> _Rows | None:
        """The column's rows, or None when a cell needs care or the widths differ."""
        import pyarrow as pa

        if not isinstance(values, pa.Array | pa.ChunkedArray) or not pa.types.is_string(
                values.type):
            return None
        chunks = [c for c in (values.chunks if isinstance(values, pa.ChunkedArray)
                              else [values]) if len(c)]
        if not chunks or not all(_safe_fixed_width(c) for c in chunks):
            return None
        views = []
        for chunk in chunks:
            n, off = len(chunk), chunk.offset
            offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[off:off + n + 1]
            width = int(offsets[1] - offsets[0])
            views.append(np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[
                offsets[0]:offsets[-1]].reshape(n, width))
        if len({v.shape[1] for v in views}) != 1:
            return None
        return cls(views)

    def copy_into(self, out: np.ndarray, first: int, stop: int) -> None:
        """Rows ``first:stop`` into ``out`` (one item of ``out`` per row)."""
        k = int(np.searchsorted(self.starts, first, side="right")) - 1
        row = 0
        while first < stop:
            view, start = self.views[k], int(self.starts[k])
            end = min(stop, start + len(view))
            out[row:row + end - first] = view[first - start:end - start]
            row, first, k = row + end - first, end, k + 1


def _number_text(u: object) -> str:
    if isinstance(u, bool | np.bool_):
        return "True" if u else "False"
    if isinstance(u, int | np.integer):
        return str(int(u))
    f = float(u)  # type: ignore[arg-type]
    return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)


def _small_whole_codes(arr: np.ndarray, lo: float) -> np.ndarray | None:
    """``value - lo`` as int16 codes (NaN -> -1), or None if a value is not a whole number.

    Worked through in slices that stay in the CPU cache: whole-column temporaries (two float
    copies of every column) made the writer spend more time getting fresh memory than computing.
    """
    codes = np.empty(len(arr), dtype=np.int16)
    for start in range(0, len(arr), _NUMBER_SLICE):
        part = arr[start:start + _NUMBER_SLICE] - (lo - 1)  # whole values become 1.., NaN stays
        part[np.isnan(part)] = 0
        small = part.astype(np.int16)
        if not np.array_equal(small, part):  # a value that is not a whole number
            return None
        np.subtract(small, 1, out=codes[start:start + len(small)])  # missing -> -1
    return codes


def _number_parts(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes and rendered distinct values of a numeric column; small whole numbers vectorised."""
    import pandas as pd

    if values.dtype.kind in "fiu" and len(values):
        # a plain float column is read in place (no copy); others become floats, NA -> NaN
        arr = (values.to_numpy(copy=False) if values.dtype == np.float64
               else values.to_numpy(dtype=float, na_value=np.nan))
        lo, hi = float(np.fmin.reduce(arr)), float(np.fmax.reduce(arr))  # NaN ignored
        if np.isfinite(lo) and np.isfinite(hi) and hi - lo < _SMALL_INT_SPAN \
                and max(abs(lo), abs(hi)) < 2**53:
            codes = _small_whole_codes(arr, lo)
            if codes is not None:
                return codes, [str(int(lo) + i) for i in range(int(hi - lo) + 1)]
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), [_number_text(u) for u in uniq]


def _float_repr_parts(arr: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Codes and distinct values of a NumPy float column rendered as pandas' ``to_csv`` does
    (``arr.astype(str)``; NaN empty). Distinct by bit pattern, so ``-0.0`` stays ``-0.0``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(arr):
        return np.zeros(0, dtype=np.int64), []
    arr = np.ascontiguousarray(arr)
    bits = arr.view(np.dtype(f"i{arr.dtype.itemsize}"))
    encoded = pc.dictionary_encode(pa.Array.from_buffers(
        pa.from_numpy_dtype(bits.dtype), len(bits), [None, pa.py_buffer(bits)]))
    codes = arrow_ints(encoded.indices)
    codes[np.isnan(arr)] = -1  # every NaN (whatever its bits) is an empty cell
    uniq = encoded.dictionary
    distinct = np.frombuffer(uniq.buffers()[1], dtype=bits.dtype)[
        uniq.offset:uniq.offset + len(uniq)]
    return codes, distinct.view(arr.dtype).astype(str).tolist()


def _padded(rendered) -> np.ndarray:
    """Rendered values as rows of a byte matrix padded with the sentinel; one extra empty row."""
    import pyarrow as pa

    arr = rendered if isinstance(rendered, pa.Array) else string_array(rendered)
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
    data_buf = arr.buffers()[2]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    lengths = np.diff(offsets).astype(np.int64)
    width = int(lengths.max()) if n else 0
    out = np.full((n + 1, width), _SENTINEL, dtype=np.uint8)
    if not width:
        return out
    if np.all(lengths == width):  # fixed width (pseudonyms, codes): one reshape
        out[:n] = data[offsets[0]:offsets[0] + n * width].reshape(n, width)
        return out
    rows_idx, cols_idx = np.nonzero(np.arange(width)[None, :] < lengths[:, None])
    out[rows_idx, cols_idx] = data[offsets[rows_idx] + cols_idx]
    return out


def write_table_csv(df: pd.DataFrame, path: str | os.PathLike[str], *,
                    floats: str = "compact") -> None:
    """Write ``df`` as UTF-8 CSV, atomically and injection-safe, in a columnar way.

    Same neutralisation and minimal quoting as :func:`write_csv`; numbers stay numbers and,
    with ``floats="compact"``, whole floats are written as integers (``3`` rather than ``3.0``);
    with ``floats="repr"`` every float is written as pandas' ``to_csv`` writes it (NumPy's
    shortest repr: ``3.0``, ``0.1``); missing values are empty. Each distinct value of a column
    is rendered once and rows are assembled as byte matrices, so a million rows take a fraction
    of a second (pandas' writer formats every cell in Python).

    >>> import tempfile
    >>> import pandas as pd
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_table_csv(pd.DataFrame({"id": ["=1+1", "a,b"], "x": [3.0, float("nan")]}), p)
    >>> p.read_text().splitlines()
    ['id,x', "'=1+1,3", '"a,b",']
    """
    import pandas as pd

    if floats not in ("compact", "repr"):
        raise ValueError(f"floats must be 'compact' or 'repr', not {floats!r}")

    def column_parts(c: int):
        col = df.iloc[:, c]
        numeric = col.dtype.kind in "fiub" and not isinstance(col.dtype, pd.CategoricalDtype)
        if numeric and floats == "repr" and isinstance(col.dtype, np.dtype) \
                and col.dtype.kind == "f":
            codes, rendered = _float_repr_parts(col.to_numpy())
        else:
            codes, rendered = _number_parts(col) if numeric else _text_parts(col)
        return codes, _padded(rendered)

    with _Renderer(df.size) as renderer:
        parts = renderer.map(column_parts, range(df.shape[1]))
        renderer.write(path, [str(c) for c in df.columns], parts, len(df))


def write_coded_csv(path: str | os.PathLike[str], columns: list[str],
                    parts: list[tuple[np.ndarray, Any]], order: np.ndarray | None = None) -> None:
    """Write a table given, per column, a code per row and the rendered distinct values.

    Parameters
    ----------
    path
        The CSV file, written atomically.
    columns
        Column names (neutralised and quoted here).
    parts
        Per column ``(codes, rendered)``: ``codes[i]`` indexes ``rendered`` (-1 = empty cell);
        ``rendered`` holds CSV fields as written (see :func:`render_texts`; numbers as text).
        Codes of shape ``(rows, k)`` stand for ``k`` adjacent columns with the same rendered
        values (the answers to the items of one scale): one gather fills them all.
    order
        The rows to write, as indices into the codes, in output order (default: every row).

    The bytes are those :func:`write_table_csv` writes for the same cells: a table kept as codes
    (the ingest's answers) is written without first becoming a frame of floats.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_coded_csv(p, ["id", "x"], [(np.array([0, 1]), render_texts(["=1", "a,b"])),
    ...                                  (np.array([2, -1]), ["1", "2", "3"])], np.array([1, 0]))
    >>> p.read_text().splitlines()
    ['id,x', '"a,b",', "'=1,3"]
    """
    n = len(order) if order is not None else (len(parts[0][0]) if parts else 0)
    parts = [(np.asarray(codes), rendered) for codes, rendered in parts]
    with _Renderer(n * len(parts)) as renderer:
        padded = renderer.map(lambda part: (part[0], _padded(part[1])), parts)
        renderer.write(path, columns, padded, n, order)


def write_columns_csv(path: str | os.PathLike[str], columns: list[str], values: list,
                      order: np.ndarray | None = None) -> None:
    """Write columns held as arrays, as :func:`write_csv` writes a frame of them, without pandas.

    Parameters
    ----------
    path
        The CSV file, written atomically.
    columns
        Column names (neutralised and quoted here).
    values
        Per column an Arrow string array, plain or dictionary-encoded (text, neutralised and
        quoted as needed), a NumPy float array (written as pandas writes floats: ``3.0``,
        ``4.333333333333333``; NaN empty), or floats held as codes: an object with ``codes``
        (per row) and ``values`` (a float per code), such as
        :class:`~partnerschap_eval.scoring.CodedScores` (written as ``values[codes]``, each
        distinct value rendered once).
    order
        The rows to write, as indices, in output order (default: every row).

    The bytes are those of ``write_csv(frame.iloc[order])`` for the frame of these columns
    (the same renderer writes both).

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_columns_csv(p, ["id", "x"], [string_array(["=1", "a,b"]),
    ...                                    np.array([3.0, float("nan")])], np.array([1, 0]))
    >>> p.read_text().splitlines()
    ['id,x', '"a,b",', "'=1,3.0"]
    """
    def column_parts(column) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(column, np.ndarray):
            codes, rendered = _float_repr_parts(np.asarray(column, dtype=np.float64))
        elif hasattr(column, "codes"):  # as _float_repr_parts renders them; NaN empty
            table = np.asarray(column.values, dtype=np.float64)
            rendered = np.where(np.isnan(table), "", table.astype(str)).tolist()
            codes = column.codes
        else:
            rows = _Rows.of(column) if order is None else None
            if rows is not None:  # pseudonyms: copied from Arrow's buffers as they are
                return None, rows
            codes, rendered = _text_parts(column)
        return codes, _padded(rendered)

    n = len(order) if order is not None else (len(values[0]) if values else 0)
    with _Renderer(n * len(values)) as renderer:
        parts = renderer.map(column_parts, values)
        renderer.write(path, columns, parts, n, order)


class _Renderer:
    """Rows rendered as byte matrices, by several threads for a large table.

    Arrow's compute and NumPy's gathers release the GIL: a large table is rendered by several
    threads (columns first, then blocks of rows), and the blocks are written in order.
    """

    def __init__(self, cells: int):
        self.workers = min(os.cpu_count() or 1, 4) if cells >= _THREADED_MIN_CELLS else 1
        self.pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None

    def __enter__(self) -> _Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def map(self, fn, items) -> list:
        return list(self.pool.map(fn, items) if self.pool is not None else map(fn, items))

    def write(self, path: str | os.PathLike[str], columns: list[str],
              parts: list[tuple[np.ndarray, np.ndarray]], n_rows: int,
              order: np.ndarray | None = None) -> None:
        header = ",".join(_csv_field(neutralise_cell(c)) for c in columns) + "\n"
        # a part covers one column, or k adjacent columns when its codes are 2-D (n, k)
        spans = [(1 if codes is None or codes.ndim == 1 else codes.shape[1]) * (m.shape[1] + 1)
                 for codes, m in parts]
        total = sum(spans)
        offsets = [sum(spans[:i]) for i in range(len(spans))]  # each part's first byte
        separators = np.full(total, ord(","), dtype=np.uint8)  # a row's commas and line end
        separators[-1:] = ord("\n")
        # a column's rendered values as one item each ("V<width>" bytes): gathering whole items
        # took a third to three quarters of the time of gathering rows of a byte matrix
        items = [m.view(f"V{m.shape[1]}").ravel()
                 if codes is not None and codes.ndim == 1 and m.shape[1] else None
                 for codes, m in parts]

        def column_cells(block: np.ndarray, offset: int, width: int) -> np.ndarray:
            """The block's cells of one column, one item per row (a view)."""
            return np.ndarray((len(block),), dtype=f"V{width}", buffer=block, offset=offset,
                              strides=(block.strides[0],))

        def fill(block: np.ndarray, codes: np.ndarray | None, matrix: np.ndarray, offset: int,
                 span: int, first: int, stop: int, item: np.ndarray | None) -> None:
            # "wrap": code -1 takes the matrix's last row, the empty cell, and the output is
            # written in place (the default mode buffers it)
            width = matrix.shape[1]
            if not width:
                return
            if codes is None:  # row for row (a _Rows of fixed-width text)
                matrix.copy_into(column_cells(block, offset, width), first, stop)
                return
            if codes.ndim == 1:
                np.take(item, codes, out=column_cells(block, offset, width), mode="wrap")
                return
            cells = block[:, offset:offset + span].reshape(len(block), codes.shape[1], width + 1)
            if width == 1:  # one byte per cell (answer codes): one gather for all the columns
                np.take(matrix[:, 0], codes, out=cells[:, :, 0], mode="wrap")
            else:
                cells[:, :, :width] = np.take(matrix, codes, axis=0, mode="wrap")

        def block_bytes(start: int) -> list[np.ndarray]:
            # filled in slices that stay in the CPU cache: every column is a pass over the slice,
            # and over a block of 128 k rows (17 MB for 34 columns) those passes took twice as long
            chunks = []
            end = min(start + _ROWS_PER_BLOCK, n_rows)
            for first in range(start, end, _ROWS_PER_FILL):
                stop = min(first + _ROWS_PER_FILL, end)
                rows = order[first:stop] if order is not None else slice(first, stop)
                block = np.empty((stop - first, total), dtype=np.uint8)
                block[:] = separators  # one contiguous pass rather than one per column
                for (codes, matrix), offset, span, item in zip(parts, offsets, spans, items,
                                                               strict=True):
                    fill(block, codes if codes is None else codes[rows], matrix, offset,
                         span, first, stop, item)
                flat = block.reshape(-1)
                chunks.append(flat[flat != _SENTINEL])  # written as it is (a buffer): no copy
            return chunks

        starts = range(0, n_rows, _ROWS_PER_BLOCK)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            fh.write(header.encode("utf-8"))
            if self.pool is None:
                for start in starts:
                    fh.writelines(block_bytes(start))
                return
            # a window of blocks in flight: the output is never held whole in memory
            pending: deque = deque()
            for start in starts:
                pending.append(self.pool.submit(block_bytes, start))
                if len(pending) > self.workers:
                    fh.writelines(pending.popleft().result())
            while pending:
                fh.writelines(pending.popleft().result())


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, no NaN, newline at the end."""
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    write_text(path, canonical_json(obj))


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
