"""The portal's own records sit behind one small interface, :class:`PortalStore`, next to the
study's :class:`Store`: the portal's links, revocations, audit log, rate limits, feedback and report
jobs reach their database through its methods only, so an institution can give both a server
database (PostgreSQL, not implemented here) without touching the portal."""

from __future__ import annotations

import inspect
import re
import sys
import time

import pytest

from partnerschap_eval.study import PortalStore, SQLitePortalStore, Study

KEY = b"portal store test key, not secret 0123456789"
PROTOCOL = sorted(n for n, v in vars(PortalStore).items()
                  if not n.startswith("_") and callable(v))


class OnlyTheProtocol:
    """A portal store offering the Protocol's methods of a real one, and nothing else."""

    def __init__(self, inner: SQLitePortalStore, used: set[str]):
        self._inner, self.used = inner, used

    def __getattr__(self, name: str):
        if name not in PROTOCOL:
            raise AttributeError(f"the portal used {name!r}, which PortalStore does not declare")
        self.used.add(name)
        return getattr(self._inner, name)


def test_sqlite_portal_store_implements_every_method_of_the_protocol_with_its_signature():
    assert {"add_link", "find_link", "revoke_link", "append_audit", "count_attempt",
            "close"} <= set(PROTOCOL)
    for name in PROTOCOL:
        want = inspect.signature(getattr(PortalStore, name))
        got = inspect.signature(getattr(SQLitePortalStore, name))
        assert list(got.parameters) == list(want.parameters), name


def test_the_audit_log_stays_append_only_and_a_link_is_revoked_once(tmp_path):
    store = SQLitePortalStore(tmp_path / "portal.sqlite")
    store.add_link("ab12", "f" * 64, "school", "S01", "2026-01-01T00:00:00",
                   "2026-02-01T00:00:00")
    store.append_audit("2026-01-01T00:00:00", "link_created", "ab12", "school", "S01", "{}")
    assert store.revoke_link("ab12", "2026-01-02T00:00:00")
    assert not store.revoke_link("ab12", "2026-01-03T00:00:00")
    assert store.find_link("ab12", None)["revoked_at"] == "2026-01-02T00:00:00"
    con = store._con  # the triggers, not the portal's goodwill, keep the log
    with pytest.raises(Exception, match="append-only"):
        con.execute("UPDATE audit SET event = 'x'")
    with pytest.raises(Exception, match="append-only"):
        con.execute("DELETE FROM audit")
    # a window's attempts: counted and recorded under the limit, never over it
    assert [store.count_attempt("b", 100.0 + i, 60, 2, True) for i in range(4)] == [0, 1, 2, 2]
    assert store.count_attempt("b", 1000.0, 60, 2, False) == 0  # the old ones have gone
    store.close()


def test_the_portal_works_through_the_protocol_alone(tmp_path):
    pytest.importorskip("django")
    from django.test import Client

    from partnerschap_eval.portal.app import PortalSettings, make_app, state
    from partnerschap_eval.portal.links import PORTAL_FILE

    Study.init(tmp_path / "wish", "partnerschap", key=KEY, name="WiSH",
               schools=[{"id": "S01", "name": "OBS De Linde"}, {"id": "S02", "name": "B"}]
               ).close()
    used: set[str] = set()
    done = tmp_path / "report-ran"
    settings = PortalSettings(
        study_dir=tmp_path / "wish", key=KEY, secure_cookies=False, login_failures=2,
        portal_store=lambda d: OnlyTheProtocol(SQLitePortalStore(d / PORTAL_FILE), used),
        report_command=[sys.executable, "-c", f"open({str(done)!r}, 'w').close()"])
    make_app(settings)

    def form(client: Client, page: str, **fields) -> dict:
        html = client.get(page).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        return {"csrfmiddlewaretoken": token, **fields}

    def login(client: Client, token: str) -> None:
        answer = client.post(f"/link/{token}", form(client, f"/link/{token}"))
        assert answer.status_code == 302

    db = settings.open_db()
    school_token = db.create_link(school="S01").token
    research_token = db.create_link().token
    db.close()
    school, research = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    login(school, school_token)
    login(research, research_token)
    upload = form(school, "/school", wave="pre", role="parent")
    upload["files"] = _named("ouders.csv", b"Deelnemernummer,rec1\n1,4\n2,5\n")
    assert "2 opgenomen" in school.post("/school/upload", upload).text
    assert school.get("/school").text.count('href="/submission/') == 1

    assert research.get("/research").status_code == 200
    made = research.post("/research/link", form(research, "/research", school="S02", days="7"))
    assert made.status_code == 200
    research.post("/research/report", form(research, "/research"))
    for _ in range(300):  # the job records its end through the store too
        if state.db.jobs()[0]["returncode"] is not None:
            break
        time.sleep(0.1)
    assert state.db.jobs()[0]["returncode"] == 0 and done.exists()
    school_link = next(x for x in state.db.links() if x.school_id == "S01")
    research.post("/research/revoke", form(research, "/research", link=school_link.link_id))
    assert school.get("/school").status_code == 403  # the revoked link's session has ended
    stranger = Client()  # the revoked link and a guess: the limit (2 a window) is reached
    assert [stranger.post(f"/link/{school_token}").status_code,
            stranger.get(f"/link/{'x' * 43}").status_code,
            stranger.get(f"/link/{'x' * 43}").status_code] == [404, 404, 429]
    assert research.post("/logout", form(research, "/research")).status_code == 302

    events = [a["event"] for a in state.db.audit_log()]
    for event in ("portal_started", "link_created", "login", "upload", "report_started",
                  "link_revoked", "login_refused", "logout"):
        assert event in events, event
    assert not isinstance(state.db.store, SQLitePortalStore)
    # every declared method is one the portal needs
    assert used == set(PROTOCOL) - {"close"} or used == set(PROTOCOL)


def _named(name: str, data: bytes):
    import io

    f = io.BytesIO(data)
    f.name = name
    return f

