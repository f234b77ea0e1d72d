"""Atomic, injection-safe file output shared by every writer of the package.

Every file is written to a temporary sibling and renamed into place, so a crash never leaves a
half-written output. CSV and spreadsheet cells whose text starts with ``=``, ``+``, ``-``, ``@``,
tab, carriage return or NUL would be executed as formulas by spreadsheet programs; they get a
leading apostrophe. Numbers (including negative numbers) stay numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\x00")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    # mkstemp creates 0600; outputs get the usual permissions (0666 minus the umask).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``df`` as UTF-8 CSV, atomically, with formula injection neutralised."""
    safe = neutralise_frame(df)
    with atomic_path(path) as tmp:
        safe.to_csv(tmp, index=False, lineterminator="\n")


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


def safe_slug(text: str, max_len: int = 40) -> str:
    """A file-name-safe slug with a short hash, so raw names never become paths.

    >>> safe_slug("../OBS <De Linde>")
    'obs-de-linde-...'
    """
    base = re.sub(r"[^a-z0-9]+", "-", str(text).casefold()).strip("-")[:max_len] or "x"
    digest = hashlib.sha256(str(text).encode("utf-8")).hexdigest()[:8]
    return f"{base}-{digest}"
