"""Who is asking: the one seam between authentication and the portal's pages.

Every page asks :func:`principal` for a :class:`Principal` and decides from it alone: a school
principal sees and submits only its own school's data, a researcher sees all schools. Today a
principal comes from a capability link (:class:`LinkAuthenticator`); an OpenID Connect login
(Entree Federatie for schools, SURFconext for researchers) would be another
:class:`Authenticator` that maps the identity provider's claims to the same ``Principal``,
without changing any page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from .links import Link, PortalDB

__all__ = ["Authenticator", "LinkAuthenticator", "Principal"]

SESSION_KEY = "portal_link"


@dataclass(frozen=True)
class Principal:
    """A signed-in user: a school (with its declared id) or the research team.

    >>> Principal("school", "S01", "ab12cd34").may_see("S02")
    False
    >>> Principal("researcher", None, "ab12cd34").may_see("S02")
    True
    """

    role: Literal["school", "researcher"]
    school_id: str | None
    source: str  # the link id (or, later, the identity provider's subject id)

    def may_see(self, school_id: str) -> bool:
        return self.role == "researcher" or school_id == self.school_id

    @property
    def is_researcher(self) -> bool:
        return self.role == "researcher"


class Authenticator(Protocol):
    """Turns a session into a principal (or None), and starts or ends one."""

    def principal(self, session) -> Principal | None: ...

    def logout(self, session) -> None: ...


class LinkAuthenticator:
    """Capability links: the session holds only the link id; the link is checked on every
    request, so revoking a link (or its expiry) ends the sessions it started at once."""

    def __init__(self, db: PortalDB):
        self.db = db

    def principal(self, session) -> Principal | None:
        link = self.db.active(session.get(SESSION_KEY))
        return _of(link) if link is not None else None

    def login(self, session, link: Link) -> Principal:
        session.cycle_key()  # a new session id at sign-in: no session fixation
        session[SESSION_KEY] = link.link_id
        return _of(link)

    def logout(self, session) -> None:
        session.flush()


def _of(link: Link) -> Principal:
    return Principal(link.kind, link.school_id, link.link_id)  # type: ignore[arg-type]
