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

The portal keeps its own records (capability links, revocations, the audit log, rate-limit
attempts, the feedback shown to schools and report jobs) behind :class:`PortalStore`, the same way:
:class:`SQLitePortalStore` keeps them in ``portal.sqlite`` beside the study, and an institution
giving both a PostgreSQL database implements the two protocols. This module is the only one that
opens SQLite; :data:`STORE_ERRORS` are the errors a store raises when its database cannot be
used (locked, damaged), which the command line and the portal report without a traceback.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ..errors import InputError, Msg

__all__ = ["STORE_ERRORS", "CellRecord", "PortalStore", "SQLitePortalStore", "SQLiteStore",
           "Store", "UploadRecord"]

#: What a store raises when its database cannot be used (a server store adds its driver's).
STORE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error,)

SCHEMA_VERSION = "3"
#: Schema versions this one reads after adding what they lack (2: cleared cells per cell).
_UPGRADES = {"2": ["ALTER TABLE submissions ADD COLUMN cells_cleared INTEGER"]}
BUSY_TIMEOUT_S = 60.0


def _connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable from the portal's
    threads, that waits for a busy writer instead of failing, in WAL mode so that readers see
    the last committed state while a writer works."""
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                          check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    con.execute("PRAGMA journal_mode = WAL")
    return con


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
        self._con = _connect(self.path)
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


# -- the portal's records ---------------------------------------------------------------------
class PortalStore(Protocol):
    """What the portal needs from its database: these methods and nothing else.

    :class:`SQLitePortalStore` implements it in ``portal.sqlite`` beside the study; a server
    database (PostgreSQL, shared by an institution's portal workers) can implement the same methods
    over the same five tables (``links``, ``audit``, ``attempts``, ``feedback``, ``jobs``; see
    ``_PORTAL_SCHEMA``) and be given to the portal (``PortalSettings(portal_store=...)``), nothing
    else changing. The store keeps what it is given: tokens arrive as keyed hashes and rate-limit
    buckets as keyed hashes of the address (the portal derives the keys, the store never sees
    them), audit details as JSON text of ids and counts. What an implementation must keep:

    * a link's ``token_hash`` is unique, and a link is never deleted; :meth:`revoke_link` sets
      ``revoked_at`` once (a second call changes nothing and returns False);
    * the audit log is append-only (never updated or deleted), and ids grow in the order events
      were appended, as do feedback and job ids;
    * :meth:`count_attempt` is one transaction: counting the bucket's attempts in the window and
      recording this one cannot interleave with another process doing the same (several workers
      share the limit), and attempts older than the window may be dropped.
    """

    def add_link(self, link_id: str, token_hash: str, kind: str, school_id: str | None,
                 created_at: str, expires_at: str) -> None:
        """Record a new link (``kind`` 'school' with a school id, or 'researcher' without)."""

    def find_link(self, link_id: str | None, token_hash: str | None) -> dict | None:
        """The link with this id or this token hash (``id, kind, school_id, created_at,
        expires_at, revoked_at``), or ``None``."""

    def revoke_link(self, link_id: str, revoked_at: str) -> bool:
        """Mark a link revoked; False when it was revoked already (or does not exist)."""

    def links(self) -> list[dict]:
        """Every link, in the order they were made."""

    def append_audit(self, at: str, event: str, link_id: str | None, kind: str | None,
                     school_id: str | None, detail: str) -> None:
        """Append one event to the audit log."""

    def audit_log(self, limit: int | None) -> list[dict]:
        """The audit log, newest first (at most ``limit`` events)."""

    def count_attempt(self, bucket: str, now: float, window_s: float, limit: int,
                      record: bool) -> int:
        """How many attempts ``bucket`` made since ``now - window_s``; with ``record`` and
        fewer than ``limit``, this one is recorded too (one transaction)."""

    def add_feedback(self, at: str, school_id: str, link_id: str | None, wave: str | None,
                     role: str | None, body: str) -> int:
        """Keep a submission's feedback (``body`` JSON text); its id."""

    def feedback(self, school_id: str | None, feedback_id: int | None) -> list[dict]:
        """Kept feedback, newest first, filtered by school and/or id when given (``body`` as
        stored)."""

    def start_job(self, started_at: str, out_dir: str) -> int:
        """Record a report job started; its id."""

    def finish_job(self, job_id: int, finished_at: str, returncode: int) -> None:
        """Record a report job's end."""

    def jobs(self) -> list[dict]:
        """Every report job, newest first."""

    def close(self) -> None:
        """Release the connection."""


_PORTAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('school', 'researcher')),
    school_id TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    CHECK ((kind = 'school') = (school_id IS NOT NULL))
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    link_id TEXT,
    kind TEXT,
    school_id TEXT,
    detail TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_immutable BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_kept BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS attempts (bucket TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_bucket ON attempts (bucket, at);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    school_id TEXT NOT NULL,
    link_id TEXT,
    wave TEXT,
    role TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_school ON feedback (school_id, id);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    returncode INTEGER,
    out_dir TEXT NOT NULL
);
"""

_LINK_COLUMNS = "id, kind, school_id, created_at, expires_at, revoked_at"


class SQLitePortalStore:
    """:class:`PortalStore` in one SQLite file (WAL mode; several portal workers share it).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = SQLitePortalStore(pathlib.Path(tempfile.mkdtemp()) / "portal.sqlite")
    >>> store.add_link("ab12", "f0" * 32, "school", "S01", "2026-01-01", "2026-02-01")
    >>> store.revoke_link("ab12", "2026-01-02"), store.revoke_link("ab12", "2026-01-03")
    (True, False)
    >>> store.find_link(None, "f0" * 32)["revoked_at"]
    '2026-01-02'
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._con = _connect(self.path)
        self._con.executescript(_PORTAL_SCHEMA)

    def close(self) -> None:
        self._con.close()

    def add_link(self, link_id: str, token_hash: str, kind: str, school_id: str | None,
                 created_at: str, expires_at: str) -> None:
        self._con.execute(f"INSERT INTO links ({_LINK_COLUMNS}, token_hash) "
                          "VALUES (?, ?, ?, ?, ?, NULL, ?)",
                          (link_id, kind, school_id, created_at, expires_at, token_hash))

    def find_link(self, link_id: str | None, token_hash: str | None) -> dict | None:
        row = self._con.execute(f"SELECT {_LINK_COLUMNS} FROM links WHERE id = ? OR "
                                "token_hash = ? ORDER BY rowid LIMIT 1",
                                (link_id, token_hash)).fetchone()
        return dict(row) if row is not None else None

    def revoke_link(self, link_id: str, revoked_at: str) -> bool:
        cur = self._con.execute("UPDATE links SET revoked_at = ? WHERE id = ? AND "
                                "revoked_at IS NULL", (revoked_at, link_id))
        return bool(cur.rowcount)

    def links(self) -> list[dict]:
        return [dict(r) for r in self._con.execute(
            f"SELECT {_LINK_COLUMNS} FROM links ORDER BY rowid")]

    def append_audit(self, at: str, event: str, link_id: str | None, kind: str | None,
                     school_id: str | None, detail: str) -> None:
        self._con.execute("INSERT INTO audit (at, event, link_id, kind, school_id, detail) "
                          "VALUES (?, ?, ?, ?, ?, ?)",
                          (at, event, link_id, kind, school_id, detail))

    def audit_log(self, limit: int | None) -> list[dict]:
        sql = "SELECT * FROM audit ORDER BY id DESC" + (" LIMIT ?" if limit else "")
        return [dict(r) for r in self._con.execute(sql, (int(limit),) if limit else ())]

    def count_attempt(self, bucket: str, now: float, window_s: float, limit: int,
                      record: bool) -> int:
        with _Transaction(self._con):
            self._con.execute("DELETE FROM attempts WHERE at < ?", (now - window_s,))
            n = self._con.execute("SELECT COUNT(*) FROM attempts WHERE bucket = ? AND at >= ?",
                                  (bucket, now - window_s)).fetchone()[0]
            if record and n < limit:
                self._con.execute("INSERT INTO attempts VALUES (?, ?)", (bucket, now))
        return int(n)

    def add_feedback(self, at: str, school_id: str, link_id: str | None, wave: str | None,
                     role: str | None, body: str) -> int:
        cur = self._con.execute(
            "INSERT INTO feedback (at, school_id, link_id, wave, role, body) VALUES "
            "(?, ?, ?, ?, ?, ?)", (at, school_id, link_id, wave, role, body))
        return int(cur.lastrowid)

    def feedback(self, school_id: str | None, feedback_id: int | None) -> list[dict]:
        sql, args = "SELECT * FROM feedback WHERE 1 = 1", []
        if school_id is not None:
            sql, args = sql + " AND school_id = ?", [*args, school_id]
        if feedback_id is not None:
            sql, args = sql + " AND id = ?", [*args, feedback_id]
        return [dict(r) for r in self._con.execute(sql + " ORDER BY id DESC", args)]

    def start_job(self, started_at: str, out_dir: str) -> int:
        cur = self._con.execute("INSERT INTO jobs (started_at, out_dir) VALUES (?, ?)",
                                (started_at, out_dir))
        return int(cur.lastrowid)

    def finish_job(self, job_id: int, finished_at: str, returncode: int) -> None:
        self._con.execute("UPDATE jobs SET finished_at = ?, returncode = ? WHERE id = ?",
                          (finished_at, returncode, job_id))

    def jobs(self) -> list[dict]:
        return [dict(r) for r in self._con.execute("SELECT * FROM jobs ORDER BY id DESC")]
