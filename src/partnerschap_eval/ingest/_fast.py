"""The ingest's fast paths, behind one private module: threads, hashing children, byte tables,
packed sort keys and the byte CSV renderer.

Each is a plain function (or :class:`PseudonymJob`) with a simple interface that the pipeline
(:mod:`.pipeline`) calls; what makes it fast -- threads over columns or blocks of rows, child
processes that hash the ids, memory mapped in at once, sort keys packed into 64-bit integers,
rows assembled as byte matrices -- stays in here, with the slower simple form it must equal
beside it (tests/test_ingest_basic.py compares them). Nothing here changes a result:

* :func:`thread_pool`, :func:`take_rows`: threads for tables of at least
  :data:`THREADED_MIN_CELLS` cells (NumPy's and Arrow's kernels release the GIL);
* :class:`PseudonymJob`: :func:`~partnerschap_eval.privacy.pseudonym_array` computed by child
  processes (:mod:`._hmac_worker`, standard library only) while the caller decodes;
* :func:`new_table`: a large table's memory mapped in at once;
* :func:`sort_order`, :func:`pseudonym_sort`, :func:`pseudonym_rank`, :func:`shared_keys`: sorting
  and duplicate detection by single integer keys instead of lexsort, string sort or hashing;
* :func:`render_texts`, :func:`write_table_csv`, :func:`write_coded_csv`: the byte CSV renderer.
  It lives in :mod:`partnerschap_eval._io` because ``score`` and the study write their tables
  through it too; the pipeline reaches it through here.
"""

from __future__ import annotations

import mmap
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import render_texts, write_coded_csv, write_table_csv
from ..privacy import PSEUDONYM_HEX, pseudonym_array

__all__ = ["THREADED_MIN_CELLS", "POPULATE_MIN_BYTES", "PARALLEL_MIN_IDS", "MAX_CHILDREN",
           "thread_pool", "take_rows", "new_table", "PseudonymJob", "sort_order",
           "pseudonym_sort", "pseudonym_rank", "shared_keys", "render_texts", "write_table_csv",
           "write_coded_csv"]


# ---------------------------------------------------------------------------------------------
# threads and byte tables
# ---------------------------------------------------------------------------------------------
#: Cells (rows x items) from which answers are decoded, and the float table filled, by
#: several threads.
THREADED_MIN_CELLS = 1_000_000
#: Bytes from which a table's memory is mapped in at once (:func:`new_table`).
POPULATE_MIN_BYTES = 32 << 20


def thread_pool(cells: int) -> ThreadPoolExecutor | None:
    """Threads (one per core, at most 4) for work on a table of ``cells`` cells, or None when
    it is smaller than :data:`THREADED_MIN_CELLS` (then the caller works serially). The caller
    shuts the pool down."""
    # (os.cpu_count reads the system's CPU list: not asked for a small table)
    workers = min(os.cpu_count() or 1, 4) if cells >= THREADED_MIN_CELLS else 1
    return ThreadPoolExecutor(workers) if workers > 1 else None


def new_table(shape: tuple[int, int], dtype) -> np.ndarray:
    """An uninitialised column-major table; a large one with its memory mapped in at once.

    Touching fresh memory page by page (a fault each 4 kB) took 0.1-0.4 s for the 240 MB float
    table of a million responses on a virtual machine, varying from run to run; the kernel maps a
    whole region in one call (``MAP_POPULATE``) in a steady 0.05 s. Elsewhere: ``np.empty``.
    """
    nbytes = shape[0] * shape[1] * np.dtype(dtype).itemsize
    flag = getattr(mmap, "MAP_POPULATE", 0)
    if nbytes >= POPULATE_MIN_BYTES and flag and hasattr(mmap, "MAP_ANONYMOUS"):
        try:
            region = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | flag)
        except OSError:
            pass
        else:  # the array keeps the mapping alive; it is unmapped with the array's last view
            return np.frombuffer(region, dtype=dtype).reshape(shape, order="F")
    return np.empty(shape, dtype=dtype, order="F")


def take_rows(answers: np.ndarray, rows: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The codes of ``rows`` as floats (NaN = missing), column-major, one item at a time.

    NumPy's ``take`` releases the GIL, so for a large table the items are spread over threads
    (a million rows x 30 items: 0.66 s on one core); the small codes become an index first, as
    ``take`` would otherwise convert them to one itself, item by item, in a slower way.
    """
    as_float = np.append(np.arange(lo, hi + 1, dtype=float), np.nan)  # offset -1 -> NaN
    out = new_table((len(rows), answers.shape[1]), np.float64)
    rows = np.asarray(rows, dtype=np.intp)

    def item(j: int) -> None:
        # "wrap": offset -1 takes the NaN slot, and no bounds pass over the index
        np.take(as_float, answers[:, j].take(rows).astype(np.intp), out=out[:, j], mode="wrap")

    workers = min(os.cpu_count() or 1, 4, answers.shape[1]) if out.size >= THREADED_MIN_CELLS \
        else 1
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(item, range(answers.shape[1])))
    else:
        for j in range(answers.shape[1]):
            item(j)
    return out


# ---------------------------------------------------------------------------------------------
# hashing children
# ---------------------------------------------------------------------------------------------
#: Below this many distinct ids a second process costs more than it saves (its start-up is
#: ~20 ms; hashing 50,000 ids takes ~30 ms), so small inputs are hashed in-process as always.
PARALLEL_MIN_IDS = 50_000
MAX_CHILDREN = 2  # hashing processes at most (each takes a share of at least half the minimum)
_WORKER = Path(__file__).resolve().parent / "_hmac_worker.py"


def _interpreter() -> bool:
    """Whether ``sys.executable`` is a Python interpreter that can run the worker script: in an
    embedding program (a web server, a GUI) it may name that program, which must not be started
    with the worker's arguments."""
    name = os.path.basename(sys.executable or "").lower()
    return name.startswith(("python", "pypy"))


class PseudonymJob:
    """:func:`pseudonym_array` of an Arrow string array, computed by child processes meanwhile.

    HMAC is a Python loop over the distinct ids and holds the GIL, so a thread would not help;
    fresh interpreters (standard library only, see :mod:`._hmac_worker`) hash on the other
    cores while the caller decodes the answers. One child per core (at most :data:`MAX_CHILDREN`),
    each with a contiguous share of the ids: when the caller runs out of work before the hashing
    is done, every core hashes. Fresh processes rather than ``fork``: a forked copy of a large,
    multi-threaded (Arrow's thread pool) process risks deadlocks and makes every page the parent
    writes meanwhile a copy. Whatever goes wrong with a child (no interpreter, a crash, a short
    answer), :meth:`result` computes the pseudonyms in-process instead, so the answer is always
    :func:`pseudonym_array`'s. Call :meth:`close` (or :meth:`result`) on every path: it never
    leaves a child behind.
    """

    def __init__(self, ids, key: bytes, min_ids: int = PARALLEL_MIN_IDS):
        import pyarrow as pa

        self._ids, self._key = ids, key
        self._procs: list[tuple[subprocess.Popen, int]] = []  # (child, number of its ids)
        if len(ids) < min_ids or ids.null_count or not _WORKER.is_file() or not _interpreter():
            return
        arr = ids.cast(pa.string()) if pa.types.is_large_string(ids.type) else ids
        if not pa.types.is_string(arr.type):
            return
        n = len(arr)
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
        data = memoryview(arr.buffers()[2]) if arr.buffers()[2] is not None else memoryview(b"")
        k = max(1, min(os.cpu_count() or 1, MAX_CHILDREN, n // max(min_ids // 2, 1)))
        bounds = [n * i // k for i in range(k + 1)]
        try:
            for _ in range(k):  # all started first: they start up side by side
                self._procs.append((subprocess.Popen(
                    [sys.executable, "-I", "-S", str(_WORKER)], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL), 0))
            for i, (proc, _) in enumerate(self._procs):
                lo, hi = bounds[i], bounds[i + 1]
                first, last = int(offsets[lo]), int(offsets[hi])
                proc.stdin.write(np.array([len(key), hi - lo], dtype=np.uint32).tobytes())
                proc.stdin.write(key)
                proc.stdin.write((offsets[lo:hi + 1] - first).astype(np.int32).tobytes())
                proc.stdin.write(data[first:last])
                proc.stdin.close()
                self._procs[i] = (proc, hi - lo)
        except (OSError, ValueError):
            self.close()

    def result(self):  # -> pyarrow.StringArray
        """The pseudonyms, from the children if all answered completely, else computed here."""
        import pyarrow as pa

        procs, n = self._procs, len(self._ids)
        width = 2 + PSEUDONYM_HEX
        if procs:
            outs = []
            try:
                for proc, count in procs:
                    out = proc.stdout.read()
                    if proc.wait() != 0 or len(out) != count * width:
                        break
                    outs.append(out)
            except OSError:
                pass
            finally:
                self.close()
            if len(outs) == len(procs):
                body = outs[0] if len(outs) == 1 else b"".join(outs)
                offsets = np.arange(0, n * width + 1, width, dtype=np.int32)
                return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body))
        return pseudonym_array(self._ids, self._key)

    def close(self) -> None:
        """End the children that still run and release their pipes (idempotent)."""
        procs, self._procs = self._procs, []
        for proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass
            proc.wait()


# ---------------------------------------------------------------------------------------------
# packed sort keys
# ---------------------------------------------------------------------------------------------
def sort_order(keys: list[np.ndarray]) -> np.ndarray:
    """``np.lexsort`` of ranks (most significant first, each >= -1), but by one integer sort.

    The ranks are packed into one int64 as digits of a mixed radix; when the packed values are
    distinct (accepted rows: respondent and wave are unique) any sort gives lexsort's order, and
    NumPy's default sort of a million integers is several times faster than lexsort of three
    keys. Ties or a radix too large for 64 bits: lexsort itself.
    """
    if not len(keys[0]):
        return np.zeros(0, dtype=np.intp)
    bases = [int(k.max()) + 2 for k in keys]
    if np.prod([float(b) for b in bases]) < 2.0**62:
        packed = np.zeros(len(keys[0]), dtype=np.int64)
        for k, base in zip(keys, bases, strict=True):
            packed *= base
            packed += k
            packed += 1
        order = np.argsort(packed)
        ordered = packed[order]
        if not np.any(ordered[1:] == ordered[:-1]):
            return order
    return np.lexsort(keys[::-1])


def shared_keys(keys: np.ndarray) -> np.ndarray:
    """``duplicated(keep=False)``: whether another element has the same key. Keys of accepted
    rows are small non-negative integers (respondent x wave codes), so counting them in an array
    takes a few milliseconds where hashing a million of them took 50."""
    if len(keys) and keys.min() >= 0 and keys.max() < 4 * len(keys) + 1024:
        return np.bincount(keys)[keys] > 1
    return pd.Series(keys).duplicated(keep=False).to_numpy()


def _pseudonym_prefix(names) -> np.ndarray | None:
    """The first 16 hex digits of each pseudonym as an unsigned 64-bit integer (their string
    order is the numbers' order), or None when the names are not all ``p-`` + 20 digits."""
    n = len(names)
    if not n or names.null_count or names.buffers()[2] is None:
        return None
    offsets = np.frombuffer(names.buffers()[1], dtype=np.int32)[names.offset:names.offset + n + 1]
    width = 2 + 20
    if not np.all(np.diff(offsets) == width):
        return None
    raw = np.frombuffer(names.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[0] + n * width]
    hex_value = np.zeros(256, dtype=np.uint8)
    hex_value[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16)
    nibbles = hex_value[raw.reshape(n, width)[:, 2:18]]
    packed = np.ascontiguousarray((nibbles[:, 0::2] << 4) | nibbles[:, 1::2])
    return packed.view(">u8").ravel().astype(np.uint64)


def pseudonym_sort(wave_rank: np.ndarray, school_rank: np.ndarray, names,
                    gid: np.ndarray) -> np.ndarray | None:
    """The accepted rows' order by wave, school and pseudonym in one sort of 64-bit keys.

    Wave and school ranks take the top bits, the pseudonym's leading digits the rest: one sort
    of the accepted rows instead of ranking every distinct pseudonym first (a second sort of a
    million integers). First the row numbers are packed into the low bits as well, so that
    sorting the keys themselves (a third of the time of sorting their positions) gives the
    order; when two rows of one group share the digits left for them (a few runs in a hundred
    for a million rows), the positions of keys with every digit that fits are sorted instead.
    Accepted rows never share respondent and wave, so equal keys there mean digits cut off by
    the packing (rare): then None, and the caller ranks in full.
    """
    prefix = _pseudonym_prefix(names)
    if prefix is None or not len(gid) or wave_rank.min() < 0 or school_rank.min() < 0:
        return None
    group = wave_rank * (int(school_rank.max()) + 1) + school_rank
    bits = int(group.max()).bit_length()
    if bits > 24:  # too few digits left to separate the pseudonyms
        return None
    key = prefix[gid]
    if bits:
        key >>= np.uint64(bits)
        key |= group.astype(np.uint64) << np.uint64(64 - bits)
    row_bits = (len(gid) - 1).bit_length()
    if 64 - bits - row_bits >= 24:
        packed = key >> np.uint64(row_bits)  # group and leading digits, then the row number
        packed <<= np.uint64(row_bits)
        packed |= np.arange(len(gid), dtype=np.uint64)
        packed.sort()
        head = packed >> np.uint64(row_bits)
        if not np.any(head[1:] == head[:-1]):
            return (packed & np.uint64((1 << row_bits) - 1)).astype(np.intp)
    order = np.argsort(key)
    ordered = key[order]
    return None if np.any(ordered[1:] == ordered[:-1]) else order


def pseudonym_rank(names) -> np.ndarray:
    """0-based rank of each pseudonym in string order, from the hex digits as integers.

    Pseudonyms are ``p-`` + 20 lower-case hex digits, so string order is the order of the number
    the digits spell: the first 16 digits as one unsigned 64-bit integer sort a million of them in
    milliseconds; equal prefixes (about one pair in 10^7) fall back to Arrow's string sort.
    """
    import pyarrow.compute as pc

    n = len(names)
    value = _pseudonym_prefix(names)
    if value is not None:
        order = np.argsort(value)
        if not np.any(value[order][1:] == value[order][:-1]):
            rank = np.empty(n, dtype=np.int64)
            rank[order] = np.arange(n)
            return rank
    return np.asarray(pc.rank(names, sort_keys="ascending", tiebreaker="first")
                      .to_numpy(zero_copy_only=False), dtype=np.int64) - 1
