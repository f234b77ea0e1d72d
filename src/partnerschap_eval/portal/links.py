"""Capability links, the audit log, rate-limit counters and report jobs of a study's portal.

Everything here is kept by a :class:`~partnerschap_eval.study.store.PortalStore`: by default
``DIR/portal.sqlite`` beside the study's own store (the portal never writes the study's store
itself: submissions go through :meth:`Study.submit`); an institution may give another
implementation (PostgreSQL), as the study takes any ``Store``. No Django here, so
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
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..errors import InputError, Msg
from ..study import PortalStore, SQLitePortalStore

__all__ = ["DurationError", "Link", "PortalDB", "derive", "parse_duration"]

PORTAL_FILE = "portal.sqlite"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43,64}$")

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
    """The portal's links, audit log, rate limits, feedback and jobs, over a
    :class:`PortalStore` (default: :class:`SQLitePortalStore` at ``path``).

    Here the meaning (tokens and their keyed hashes, validity, rate-limit buckets, JSON bodies);
    in the store only what it keeps, so the portal reaches its database through the protocol
    alone.
    """

    def __init__(self, path: str | Path, key: bytes, store: PortalStore | None = None):
        self.path = Path(path)
        self._token_key = derive(key, "partnerschap-eval/portal/link-token/v1")
        self._bucket_key = derive(key, "partnerschap-eval/portal/rate-bucket/v1")
        self.store: PortalStore = store if store is not None else SQLitePortalStore(self.path)

    def close(self) -> None:
        self.store.close()

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
        self.store.add_link(link.link_id, self.token_hash(token), link.kind, school,
                            link.created_at, link.expires_at)
        self.audit("link_created", link)
        return link

    @staticmethod
    def _link(row: dict | None) -> Link | None:
        if row is None:
            return None
        return Link(row["id"], row["kind"], row["school_id"], row["created_at"],
                    row["expires_at"], row["revoked_at"])

    def get(self, link_id: str) -> Link | None:
        return self._link(self.store.find_link(link_id, None))

    def check_token(self, token: str) -> Link | None:
        """The active link this token opens, or None (unknown, malformed, expired, revoked)."""
        if not isinstance(token, str) or not _TOKEN.match(token):
            return None
        link = self._link(self.store.find_link(None, self.token_hash(token)))
        return link if link is not None and link.active else None

    def active(self, link_id: str | None) -> Link | None:
        """The link of a session, while it is still valid (checked on every request)."""
        link = self.get(link_id) if link_id else None
        return link if link is not None and link.active else None

    def revoke(self, link_id_or_url: str) -> bool:
        """End a link, given its id or its URL (a token); False when no such active link."""
        text = str(link_id_or_url).strip().rstrip("/")
        token = text.rsplit("/", 1)[-1]
        row = self.store.find_link(token, self.token_hash(token))
        if row is None:
            return False
        done = self.store.revoke_link(row["id"], _now().isoformat(timespec="seconds"))
        if done:
            self.audit("link_revoked", self.get(row["id"]))
        return done

    def links(self) -> list[Link]:
        """Every link, oldest first (in the order they were made)."""
        return [self._link(r) for r in self.store.links()]

    # -- audit ------------------------------------------------------------------------------
    def audit(self, event: str, link: Link | None = None, **detail: object) -> None:
        """Append one event. ``detail`` holds ids, counts and hashes only (never file content,
        names of people or network addresses: the callers pass screened values)."""
        self.store.append_audit(_now().isoformat(timespec="microseconds"), event,
                                link.link_id if link else None, link.kind if link else None,
                                link.school_id if link else None,
                                json.dumps(detail, ensure_ascii=False, sort_keys=True))

    def audit_log(self, limit: int | None = None) -> list[dict]:
        return self.store.audit_log(limit)

    # -- rate limits ------------------------------------------------------------------------
    def too_many(self, kind: str, who: str, limit: int, window_s: float, *,
                 record: bool = True) -> bool:
        """Whether ``who`` already made ``limit`` attempts of ``kind`` in the last ``window_s``
        seconds; with ``record``, this attempt is counted (when under the limit). ``who`` (an
        address, a link id) is stored only as a keyed hash, and old attempts are dropped."""
        bucket = kind + ":" + hmac.new(self._bucket_key, who.encode(),
                                       hashlib.sha256).hexdigest()[:24]
        return self.store.count_attempt(bucket, time.time(), window_s, limit, record) >= limit

    # -- feedback kept for the school's history -----------------------------------------------
    def add_feedback(self, school_id: str, link: Link | None, wave: str | None,
                     role: str | None, body: dict) -> int:
        return self.store.add_feedback(_now().isoformat(timespec="seconds"), school_id,
                                       link.link_id if link else None, wave, role,
                                       json.dumps(body, ensure_ascii=False))

    def feedback(self, school_id: str | None = None, feedback_id: int | None = None
                 ) -> list[dict]:
        """Kept feedback, newest first; filtered by school (always, for a school's session)."""
        rows = self.store.feedback(school_id, feedback_id)
        for r in rows:
            r["body"] = json.loads(r["body"])
        return rows

    # -- report jobs --------------------------------------------------------------------------
    def start_job(self, out_dir: str) -> int:
        return self.store.start_job(_now().isoformat(timespec="seconds"), out_dir)

    def finish_job(self, job_id: int, returncode: int) -> None:
        self.store.finish_job(job_id, _now().isoformat(timespec="seconds"), returncode)

    def jobs(self) -> list[dict]:
        return self.store.jobs()
