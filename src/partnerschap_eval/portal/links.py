"""Capability links, the audit log, rate-limit counters and report jobs of a study's portal.

Everything here lives in ``DIR/portal.sqlite`` beside the study's own store (the portal never
writes the study's store itself: submissions go through :meth:`Study.submit`). No Django here, so
``portal link`` and ``portal revoke`` work without the web framework installed.

A link carries a 256-bit random token (``secrets.token_urlsafe(32)``). Only a keyed hash of it is
stored, HMAC-SHA-256 with a key derived from the study's pseudonymisation key:

.. math:: h = \\mathrm{HMAC}_{K'}(\\text{token}),\\qquad K' = \\mathrm{HMAC}_{K}(\\text{"portal/link-token/v1"})

so a copy of ``portal.sqlite`` cannot be turned into working links (the key is kept outside the
study folder), and the study key itself is never used directly (domain separation, as in
RFC 2104 / NIST SP 800-108 key derivation).

Examples
--------
>>> import tempfile, pathlib
>>> db = PortalDB(pathlib.Path(tempfile.mkdtemp()) / "portal.sqlite", b"k" * 32)
>>> link = db.create_link(school="S01", days=30)
>>> len(link.token) >= 43, db.check_token(link.token).school_id
(True, 'S01')
>>> db.revoke(link.link_id), db.check_token(link.token)
(True, None)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..errors import InputError, Msg

__all__ = ["DurationError", "Link", "PortalDB", "derive", "parse_duration"]

PORTAL_FILE = "portal.sqlite"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43,64}$")

_SCHEMA = """
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


def derive(key: bytes, purpose: str) -> bytes:
    """A sub-key for one purpose: HMAC-SHA-256 of ``purpose`` under the study key.

    >>> derive(b"k" * 16, "a") != derive(b"k" * 16, "b")
    True
    """
    return hmac.new(key, purpose.encode(), hashlib.sha256).digest()


class DurationError(InputError, ValueError):
    """A link's lifetime that is no duration (a ValueError too, as it was before)."""


def parse_duration(text: str) -> float:
    """``30d``, ``12h``, ``90m`` or a plain number of days, as days.

    >>> parse_duration("30d"), parse_duration("12h"), parse_duration("7")
    (30.0, 0.5, 7.0)
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise DurationError(Msg("errors.portal.duration", text=repr(text)))
    value = float(m.group(1))
    return value * {"d": 1.0, "": 1.0, "h": 1 / 24, "m": 1 / 1440}[m.group(2)]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Link:
    """A capability link: its public id, kind, school and validity (``token`` only when new)."""

    link_id: str
    kind: str
    school_id: str | None
    created_at: str
    expires_at: str
    revoked_at: str | None = None
    token: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and datetime.fromisoformat(self.expires_at) > _now()


class PortalDB:
    """The portal's own SQLite file (WAL mode; several gunicorn workers share it)."""

    def __init__(self, path: str | Path, key: bytes):
        self.path = Path(path)
        self._token_key = derive(key, "partnerschap-eval/portal/link-token/v1")
        self._bucket_key = derive(key, "partnerschap-eval/portal/rate-bucket/v1")
        self._con = sqlite3.connect(self.path, timeout=60.0, isolation_level=None,
                                    check_same_thread=False)
        self._con.row_factory = sqlite3.Row
        self._con.execute("PRAGMA busy_timeout = 60000")
        self._con.execute("PRAGMA journal_mode = WAL")
        self._con.executescript(_SCHEMA)

    def close(self) -> None:
        self._con.close()

    def token_hash(self, token: str) -> str:
        return hmac.new(self._token_key, token.encode(), hashlib.sha256).hexdigest()

    # -- links ------------------------------------------------------------------------------
    def create_link(self, *, school: str | None = None, days: float = 30.0) -> Link:
        """A new link for ``school`` (or the research team when ``school`` is None)."""
        token = secrets.token_urlsafe(32)  # 32 bytes = 256 bits from the OS's CSPRNG
        link_id = secrets.token_hex(4)
        now = _now()
        link = Link(link_id, "researcher" if school is None else "school", school,
                    now.isoformat(timespec="seconds"),
                    (now + timedelta(days=days)).isoformat(timespec="seconds"), token=token)
        self._con.execute("INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, NULL)",
                          (link.link_id, self.token_hash(token), link.kind, school,
                           link.created_at, link.expires_at))
        self.audit("link_created", link)
        return link

    def _link(self, row: sqlite3.Row | None) -> Link | None:
        if row is None:
            return None
        return Link(row["id"], row["kind"], row["school_id"], row["created_at"],
                    row["expires_at"], row["revoked_at"])

    def get(self, link_id: str) -> Link | None:
        return self._link(self._con.execute("SELECT * FROM links WHERE id = ?",
                                            (link_id,)).fetchone())

    def check_token(self, token: str) -> Link | None:
        """The active link this token opens, or None (unknown, malformed, expired, revoked)."""
        if not isinstance(token, str) or not _TOKEN.match(token):
            return None
        link = self._link(self._con.execute("SELECT * FROM links WHERE token_hash = ?",
                                            (self.token_hash(token),)).fetchone())
        return link if link is not None and link.active else None

    def active(self, link_id: str | None) -> Link | None:
        """The link of a session, while it is still valid (checked on every request)."""
        link = self.get(link_id) if link_id else None
        return link if link is not None and link.active else None

    def revoke(self, link_id_or_url: str) -> bool:
        """End a link, given its id or its URL (a token); False when no such active link."""
        text = str(link_id_or_url).strip().rstrip("/")
        token = text.rsplit("/", 1)[-1]
        row = self._con.execute("SELECT id FROM links WHERE id = ? OR token_hash = ?",
                                (token, self.token_hash(token))).fetchone()
        if row is None:
            return False
        cur = self._con.execute("UPDATE links SET revoked_at = ? WHERE id = ? AND revoked_at "
                                "IS NULL", (_now().isoformat(timespec="seconds"), row["id"]))
        if cur.rowcount:
            self.audit("link_revoked", self.get(row["id"]))
        return bool(cur.rowcount)

    def links(self) -> list[Link]:
        """Every link, oldest first (in the order they were made)."""
        return [self._link(r) for r in self._con.execute("SELECT * FROM links ORDER BY rowid")]

    # -- audit ------------------------------------------------------------------------------
    def audit(self, event: str, link: Link | None = None, **detail: object) -> None:
        """Append one event. ``detail`` holds ids, counts and hashes only (never file content,
        names of people or network addresses: the callers pass screened values)."""
        self._con.execute(
            "INSERT INTO audit (at, event, link_id, kind, school_id, detail) VALUES "
            "(?, ?, ?, ?, ?, ?)",
            (_now().isoformat(timespec="microseconds"), event,
             link.link_id if link else None, link.kind if link else None,
             link.school_id if link else None,
             json.dumps(detail, ensure_ascii=False, sort_keys=True)))

    def audit_log(self, limit: int | None = None) -> list[dict]:
        sql = "SELECT * FROM audit ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        return [dict(r) for r in self._con.execute(sql)]

    # -- rate limits ------------------------------------------------------------------------
    def too_many(self, kind: str, who: str, limit: int, window_s: float, *,
                 record: bool = True) -> bool:
        """Whether ``who`` already made ``limit`` attempts of ``kind`` in the last ``window_s``
        seconds; with ``record``, this attempt is counted (when under the limit). ``who`` (an
        address, a link id) is stored only as a keyed hash, and old attempts are dropped."""
        bucket = kind + ":" + hmac.new(self._bucket_key, who.encode(),
                                       hashlib.sha256).hexdigest()[:24]
        now = time.time()
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute("DELETE FROM attempts WHERE at < ?", (now - window_s,))
            n = con.execute("SELECT COUNT(*) FROM attempts WHERE bucket = ? AND at >= ?",
                            (bucket, now - window_s)).fetchone()[0]
            if record and n < limit:
                con.execute("INSERT INTO attempts VALUES (?, ?)", (bucket, now))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return n >= limit

    # -- feedback kept for the school's history -----------------------------------------------
    def add_feedback(self, school_id: str, link: Link | None, wave: str | None,
                     role: str | None, body: dict) -> int:
        cur = self._con.execute(
            "INSERT INTO feedback (at, school_id, link_id, wave, role, body) VALUES "
            "(?, ?, ?, ?, ?, ?)", (_now().isoformat(timespec="seconds"), school_id,
                                   link.link_id if link else None, wave, role,
                                   json.dumps(body, ensure_ascii=False)))
        return int(cur.lastrowid)

    def feedback(self, school_id: str | None = None, feedback_id: int | None = None
                 ) -> list[dict]:
        """Kept feedback, newest first; filtered by school (always, for a school's session)."""
        sql, args = "SELECT * FROM feedback WHERE 1 = 1", []
        if school_id is not None:
            sql, args = sql + " AND school_id = ?", [*args, school_id]
        if feedback_id is not None:
            sql, args = sql + " AND id = ?", [*args, feedback_id]
        rows = [dict(r) for r in self._con.execute(sql + " ORDER BY id DESC", args)]
        for r in rows:
            r["body"] = json.loads(r["body"])
        return rows

    # -- report jobs --------------------------------------------------------------------------
    def start_job(self, out_dir: str) -> int:
        cur = self._con.execute("INSERT INTO jobs (started_at, out_dir) VALUES (?, ?)",
                                (_now().isoformat(timespec="seconds"), out_dir))
        return int(cur.lastrowid)

    def finish_job(self, job_id: int, returncode: int) -> None:
        self._con.execute("UPDATE jobs SET finished_at = ?, returncode = ? WHERE id = ?",
                          (_now().isoformat(timespec="seconds"), returncode, job_id))

    def jobs(self) -> list[dict]:
        return [dict(r) for r in self._con.execute("SELECT * FROM jobs ORDER BY id DESC")]
