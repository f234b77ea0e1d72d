"""The study's store: one small interface, SQLite (WAL) behind it by default.

What the store holds (the files themselves live beside it, written before their row commits):

* ``meta``: the key's fingerprint and the schema version;
* ``uploads``: one row per export file submitted with given options (its sha256, the options,
  counts, the ingest log, the path of its raw copy and of its rejected rows);
* ``submissions``: one row per school x wave x role cell an upload holds rows for (its counts,
  the answers of its rows the ingest cleared, and the path of its accepted rows). A cell's
  current submission is its latest one.

Rows are never updated or deleted (triggers refuse it): a correction is a new submission. Each
upload with its cells is one transaction, so a reader sees the old or the new state, never a
mix; several processes may submit at once (WAL mode, a busy timeout).

:class:`Store` is the whole interface the study uses (``Study(path, store=...)`` takes any
implementation); a server database such as PostgreSQL can follow for an institution by
implementing it with the same tables, without touching the rest of the package. Not implemented
here.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ..errors import InputError, Msg

__all__ = ["CellRecord", "SQLiteStore", "Store", "UploadRecord"]

SCHEMA_VERSION = "3"
#: Schema versions this one reads after adding what they lack (2: cleared cells per cell).
_UPGRADES = {"2": ["ALTER TABLE submissions ADD COLUMN cells_cleared INTEGER"]}
BUSY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class CellRecord:
    """One cell's share of an upload: its counts, and where its accepted rows are: the upload's
    rows file (relative path) and the cell's rows in it (``row_start``, ``accepted`` rows)."""

    school_id: str
    wave: str
    role: str
    rows_in: int
    accepted: int
    rejected: int
    rows_path: str | None
    row_start: int = 0
    cells_cleared: int = 0  # answers of the cell's rows the ingest cleared


@dataclass(frozen=True)
class UploadRecord:
    """One export file submitted with given options."""

    sha256: str
    options: str  # canonical JSON of the options that change the outcome
    file_name: str
    raw_path: str
    rows_in: int
    accepted: int
    rejected: int
    cells_cleared: int
    rejected_path: str | None
    log: dict


class Store(Protocol):
    """What the study needs from a store: these methods and nothing else.

    :class:`SQLiteStore` implements it in one file beside the study. A server database
    (PostgreSQL, for an institution whose researchers and portal share one) can implement the same
    methods over the same three tables (``meta``, ``uploads``, ``submissions``; see the module
    text) and be passed as ``Study(path, store=...)``; nothing else in the package changes. What
    an implementation must keep:

    * :meth:`record` is one transaction: an upload and its cells are stored together or not at
      all, and ``(sha256, options)`` is unique, so two processes recording the same bytes store
      them once (the loser gets ``new=False``);
    * :meth:`current` and :meth:`history` each read one consistent snapshot (a reader sees the
      state before or after a submission, never a mix);
    * rows are never updated or deleted (a correction is a new submission), and ids grow in the
      order submissions were recorded (a cell's current submission is its highest id).

    The files (raw copies, Parquet rows) stay in the study folder, written before their record.
    """

    def fingerprint(self) -> str | None:
        """The key fingerprint recorded at init (``None``: not yet recorded)."""

    def set_fingerprint(self, fingerprint: str) -> None:
        """Record the key fingerprint (once)."""

    def find_upload(self, sha256: str, options: str) -> dict | None:
        """The recorded upload of these bytes with these options, or ``None``."""

    def record(self, upload: UploadRecord, cells: list[CellRecord]) -> tuple[int, bool]:
        """Record an upload with its cells in one transaction; ``(upload id, new)``.

        When the same bytes with the same options were recorded meanwhile (by another process),
        nothing changes and ``new`` is False.
        """

    def earlier(self, upload_id: int) -> dict[tuple[str, str, str], int]:
        """For each cell the upload holds, how many submissions it had before that upload."""

    def history(self) -> list[dict]:
        """Every cell submission, oldest first, with its upload's file name and time."""

    def current(self) -> list[dict]:
        """The current submission of each cell (one consistent snapshot), with its count of
        submissions."""

    def uploads(self) -> list[dict]:
        """Every upload, oldest first (without its log)."""

    def close(self) -> None:
        """Release the connection (the study is closed)."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL,
    options TEXT NOT NULL,
    file_name TEXT NOT NULL,
    raw_path TEXT NOT NULL,
    rows_in INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    cells_cleared INTEGER NOT NULL,
    rejected_path TEXT,
    log TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (sha256, options),
    CHECK (rows_in = accepted + rejected)
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_id INTEGER NOT NULL REFERENCES uploads(id),
    school_id TEXT NOT NULL,
    wave TEXT NOT NULL,
    role TEXT NOT NULL,
    rows_in INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    rows_path TEXT,
    row_start INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    cells_cleared INTEGER,
    CHECK (rows_in = accepted + rejected)
);
CREATE INDEX IF NOT EXISTS submissions_cell ON submissions (school_id, wave, role, id);
CREATE INDEX IF NOT EXISTS submissions_upload ON submissions (upload_id);
CREATE TRIGGER IF NOT EXISTS uploads_immutable BEFORE UPDATE ON uploads
    BEGIN SELECT RAISE(ABORT, 'uploads are immutable'); END;
CREATE TRIGGER IF NOT EXISTS uploads_kept BEFORE DELETE ON uploads
    BEGIN SELECT RAISE(ABORT, 'uploads are kept'); END;
CREATE TRIGGER IF NOT EXISTS submissions_immutable BEFORE UPDATE ON submissions
    BEGIN SELECT RAISE(ABORT, 'submissions are immutable'); END;
CREATE TRIGGER IF NOT EXISTS submissions_kept BEFORE DELETE ON submissions
    BEGIN SELECT RAISE(ABORT, 'submissions are kept'); END;
"""

_CURRENT = """
SELECT s.school_id, s.wave, s.role, c.n AS submissions, s.rows_in, s.accepted, s.rejected,
       s.cells_cleared, s.rows_path, s.row_start, s.id AS submission_id, s.created_at, u.file_name, u.sha256,
       u.cells_cleared AS file_cells_cleared
FROM submissions s
JOIN (SELECT MAX(id) AS id, COUNT(*) AS n FROM submissions GROUP BY school_id, wave, role) c
  ON s.id = c.id
JOIN uploads u ON u.id = s.upload_id
ORDER BY s.id
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class SQLiteStore:
    """:class:`Store` in one SQLite file (WAL mode, busy timeout), via the standard library.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = SQLiteStore(pathlib.Path(tempfile.mkdtemp()) / "study.sqlite")
    >>> store.set_fingerprint("ab12")
    >>> store.fingerprint(), store.current()
    ('ab12', [])
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                    check_same_thread=False)
        self._con.row_factory = sqlite3.Row
        self._con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self._con.execute("PRAGMA journal_mode = WAL")
        # under WAL, NORMAL syncs at checkpoints, not at every commit: a power cut may lose
        # the last commits but never corrupts the store, and a submission costs no fsync
        self._con.execute("PRAGMA synchronous = NORMAL")
        self._con.execute("PRAGMA foreign_keys = ON")
        with self._write():
            for statement in _SCHEMA.split(";\n"):
                if statement.strip():
                    self._con.execute(statement)
            self._con.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)",
                              (SCHEMA_VERSION,))
            found = self._con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
            if found in _UPGRADES:  # an older store: add what it lacks, in the same transaction
                for statement in _UPGRADES[found]:
                    self._con.execute(statement)
                self._con.execute("UPDATE meta SET value = ? WHERE key = 'schema'",
                                  (SCHEMA_VERSION,))
                found = SCHEMA_VERSION
        if found != SCHEMA_VERSION:
            self._con.close()
            raise InputError(Msg("errors.study.schema", path=self.path, found=found,
                                 version=SCHEMA_VERSION))

    def close(self) -> None:
        self._con.close()

    def _write(self):
        return _Transaction(self._con)

    def fingerprint(self) -> str | None:
        row = self._con.execute("SELECT value FROM meta WHERE key = 'key_fingerprint'").fetchone()
        return row[0] if row else None

    def set_fingerprint(self, fingerprint: str) -> None:
        with self._write():
            self._con.execute("INSERT OR IGNORE INTO meta VALUES ('key_fingerprint', ?)",
                              (fingerprint,))

    def find_upload(self, sha256: str, options: str) -> dict | None:
        row = self._con.execute("SELECT * FROM uploads WHERE sha256 = ? AND options = ?",
                                (sha256, options)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["log"] = json.loads(out["log"])
        return out

    def record(self, upload: UploadRecord, cells: list[CellRecord]) -> tuple[int, bool]:
        now = _now()
        with self._write():
            row = self._con.execute("SELECT id FROM uploads WHERE sha256 = ? AND options = ?",
                                    (upload.sha256, upload.options)).fetchone()
            if row is not None:
                return int(row[0]), False
            cur = self._con.execute(
                "INSERT INTO uploads (sha256, options, file_name, raw_path, rows_in, accepted, "
                "rejected, cells_cleared, rejected_path, log, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (upload.sha256, upload.options, upload.file_name, upload.raw_path,
                 upload.rows_in, upload.accepted, upload.rejected, upload.cells_cleared,
                 upload.rejected_path, json.dumps(upload.log, ensure_ascii=False), now))
            upload_id = int(cur.lastrowid)
            self._con.executemany(
                "INSERT INTO submissions (upload_id, school_id, wave, role, rows_in, accepted, "
                "rejected, rows_path, row_start, created_at, cells_cleared) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(upload_id, c.school_id, c.wave, c.role, c.rows_in, c.accepted, c.rejected,
                  c.rows_path, c.row_start, now, c.cells_cleared) for c in cells])
        return upload_id, True

    def earlier(self, upload_id: int) -> dict[tuple[str, str, str], int]:
        rows = self._con.execute(
            "SELECT s.school_id, s.wave, s.role, (SELECT COUNT(*) FROM submissions e "
            "WHERE e.school_id = s.school_id AND e.wave = s.wave AND e.role = s.role "
            "AND e.id < s.id) FROM submissions s WHERE s.upload_id = ?", (upload_id,))
        return {(r[0], r[1], r[2]): int(r[3]) for r in rows}

    def history(self) -> list[dict]:
        return [dict(r) for r in self._con.execute(
            "SELECT s.*, u.file_name, u.sha256 FROM submissions s "
            "JOIN uploads u ON u.id = s.upload_id ORDER BY s.id")]

    def current(self) -> list[dict]:
        return [dict(r) for r in self._con.execute(_CURRENT)]

    def uploads(self) -> list[dict]:
        return [dict(r) for r in self._con.execute(
            "SELECT id, sha256, options, file_name, raw_path, rows_in, accepted, rejected, "
            "cells_cleared, rejected_path, created_at FROM uploads ORDER BY id")]


class _Transaction:
    """``BEGIN IMMEDIATE`` (the write lock first, waiting up to the busy timeout) ... COMMIT."""

    def __init__(self, con: sqlite3.Connection):
        self.con = con

    def __enter__(self) -> None:
        self.con.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *exc: object) -> None:
        self.con.execute("COMMIT" if exc_type is None else "ROLLBACK")
