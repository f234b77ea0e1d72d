"""The schools' portal (Contract 7): capability links, one school's view only, uploads checked
by size and content, Dutch feedback, CSRF, rate limits, an audit log without personal data.

Most tests drive the Django application through its test client with CSRF checks enforced (the
token is taken from the page, as a browser would); one starts ``partnerschap-eval portal serve``
(gunicorn) on a free loopback port and talks real HTTP to it.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import io
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("django")

from django.test import Client  # noqa: E402

from partnerschap_eval.instruments import load_instrument  # noqa: E402
from partnerschap_eval.portal.app import PortalSettings, make_app, state  # noqa: E402
from partnerschap_eval.portal.links import PORTAL_FILE, PortalDB  # noqa: E402
from partnerschap_eval.portal.upload import sniff  # noqa: E402
from partnerschap_eval.study import Study  # noqa: E402

KEY = b"portal test key, not secret 0123456789"
CLI = [sys.executable, "-m", "partnerschap_eval.cli"]
INST = load_instrument("partnerschap")
ITEMS = INST.item_ids
LABELS = {code: text["nl"] for code, text in INST.response_scale.labels.items()}
SCHOOLS = [{"id": "S01", "name": "OBS De Linde", "aliases": ["De Linde"]},
           {"id": "S02", "name": "De Regenboog"}]
# personal data planted in an export: it must never reach a page, the audit log or portal.sqlite
NAME, EMAIL = "Jan de Vries", "jan.devries@example.nl"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def _csv(n: int = 12, *, sep: str = ";", unknown: str | None = "Eens", extra: bool = False
         ) -> bytes:
    """A Dutch Excel CSV (semicolons, CRLF, BOM): labels as words, one unknown label."""
    head = ["Deelnemernummer", *ITEMS] + (["Naam", "E-mailadres"] if extra else [])
    lines = [sep.join(head)]
    for i in range(1, n + 1):
        answers = [LABELS[1 + (i + j) % 5] for j in range(len(ITEMS))]
        if unknown and i <= 3:
            answers[0] = unknown
        lines.append(sep.join([str(i), *answers] + ([NAME, EMAIL] if extra else [])))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def _xlsx(n: int = 10) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Deelnemernummer", *ITEMS])
    for i in range(1, n + 1):
        ws.append([i, *[1 + (i + j) % 5 for j in range(len(ITEMS))]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture()
def portal(tmp_path):
    study = Study.init(tmp_path / "wish", "partnerschap", waves=["pre", "post"], key=KEY,
                       schools=SCHOOLS, name="WiSH test")
    study.close()
    make_app(PortalSettings(study_dir=tmp_path / "wish", key=KEY, secure_cookies=False,
                            max_file_bytes=2**20, max_files=2))
    return tmp_path / "wish"


def _link(study_dir: Path, school: str | None, days: float = 30) -> str:
    db = PortalDB(study_dir / PORTAL_FILE, KEY)
    try:
        return db.create_link(school=school, days=days).token
    finally:
        db.close()


def _token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _login(client: Client, token: str) -> None:
    page = client.get(f"/link/{token}")
    assert page.status_code == 200
    answer = client.post(f"/link/{token}", {"csrfmiddlewaretoken": _token(page.text)})
    assert answer.status_code == 302, answer.text[:300]


def _upload(client: Client, name: str, data: bytes, wave="pre", role="parent", lang=None):
    page = client.get("/school")
    form = {"csrfmiddlewaretoken": _token(page.text), "wave": wave, "role": role,
            "files": _named(name, data)}
    if lang:
        form["lang"] = lang
    return client.post("/school/upload", form)


def _named(name: str, data: bytes):
    f = io.BytesIO(data)
    f.name = name
    return f


def _school_client(study_dir: Path, school: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    _login(client, _link(study_dir, school))
    return client


# -- links -----------------------------------------------------------------------------------
def test_a_link_get_changes_nothing_and_the_post_starts_a_session_for_that_school(portal):
    token = _link(portal, "S01")
    client = Client(enforce_csrf_checks=True)
    for _ in range(3):  # a mail scanner prefetching the link: no session, no login recorded
        page = client.get(f"/link/{token}")
        assert page.status_code == 200 and "OBS De Linde" in page.text
    assert client.get("/school").status_code == 403
    assert not [a for a in state.db.audit_log() if a["event"] == "login"]
    client.post(f"/link/{token}", {"csrfmiddlewaretoken": _token(page.text)})
    school = client.get("/school")
    assert school.status_code == 200 and "S01" in school.text
    assert [a["school_id"] for a in state.db.audit_log() if a["event"] == "login"] == ["S01"]
    # only a keyed hash of the token is stored
    assert token.encode() not in (portal / PORTAL_FILE).read_bytes()


def test_a_revoked_or_expired_or_guessed_link_is_refused_and_ends_its_session(portal):
    token = _link(portal, "S01")
    client = _school_client(portal, "S01")
    second = Client(enforce_csrf_checks=True)
    _login(second, token)
    assert second.get("/school").status_code == 200
    assert state.db.revoke(token)
    assert second.get("/school").status_code == 403  # the replayed session cookie is refused
    assert second.get(f"/link/{token}").status_code == 404
    assert client.get("/school").status_code == 200  # another link of the same school goes on
    expired = _link(portal, "S02", days=-1)
    assert Client().get(f"/link/{expired}").status_code == 404
    guessed = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert Client().get(f"/link/{guessed}").status_code == 404


@pytest.mark.slow
def test_the_cli_prints_a_link_and_revokes_it(portal):
    env = os.environ | {"PARTNERSCHAP_EVAL_KEY": KEY.decode()}
    made = subprocess.run([*CLI, "portal", "link", str(portal), "--school", "de linde"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert made.returncode == 0, made.stderr
    url = made.stdout.strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/link/[A-Za-z0-9_-]{43}", url)
    token = url.rsplit("/", 1)[1]
    assert state.db.check_token(token).school_id == "S01"  # the alias resolved to the id
    wrong = subprocess.run([*CLI, "portal", "link", str(portal), "--researcher"],
                           capture_output=True, text=True, timeout=120,
                           env=os.environ | {"PARTNERSCHAP_EVAL_KEY": "another key entirely!!"})
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    gone = subprocess.run([*CLI, "portal", "revoke", str(portal), "--link", url],
                          capture_output=True, text=True, env=env, timeout=120)
    assert gone.returncode == 0 and token not in gone.stdout + gone.stderr
    assert state.db.check_token(token) is None


def test_repeated_wrong_links_are_rate_limited(portal):
    client = Client()
    codes = [client.get(f"/link/{'x' * 43}").status_code for _ in range(12)]
    assert codes[:10] == [404] * 10 and codes[10:] == [429, 429]
    # even a valid link waits while the address is blocked
    assert client.get(f"/link/{_link(portal, 'S01')}").status_code == 429


# -- one school's view -----------------------------------------------------------------------
def test_a_school_sees_its_feedback_in_dutch_and_nothing_of_another_school(portal):
    one = _school_client(portal, "S01")
    answer = _upload(one, "ouders_voor.csv", _csv(12))
    assert answer.status_code == 200
    text = answer.text
    assert "12 rijen gelezen: 12 opgenomen, 0 afgewezen." in text
    assert "“Eens”: 3×" in text and "(bedoeld: 4?)" in text  # the unknown label, counted
    assert "Voormeting · ouders" in text
    fid = int(re.search(r'href="/submission/(\d+)"', one.get("/school").text).group(1))
    assert one.get(f"/submission/{fid}").status_code == 200
    assert "12 rows read: 12 accepted" in one.get(f"/submission/{fid}?lang=en").text

    two = _school_client(portal, "S02")
    page = two.get("/school")
    assert page.status_code == 200
    assert "ouders_voor" not in page.text and "OBS De Linde" not in page.text
    assert two.get(f"/submission/{fid}").status_code == 404  # a changed id in the URL
    assert two.get(f"/submission/{fid + 1}").status_code == 404
    assert two.get("/research").status_code == 403
    # the school cannot choose its school: the session decides
    page = two.get("/school")
    two.post("/school/upload", {"csrfmiddlewaretoken": _token(page.text), "wave": "pre",
                                "role": "parent", "school": "S01",
                                "files": _named("x.csv", _csv(5, unknown=None))})
    status = Study.open(portal).status()
    assert sorted(status["school_id"]) == ["S01", "S02"]
    assert int(status.loc[status.school_id == "S01", "accepted"].iloc[0]) == 12


def test_an_xlsx_and_a_resubmission_are_reported_with_history(portal):
    one = _school_client(portal, "S01")
    workbook = _xlsx(10)  # once: openpyxl stamps the time into every workbook it writes
    assert "10 opgenomen" in _upload(one, "ouders_na.xlsx", workbook, wave="post").text
    again = _upload(one, "ouders_na.xlsx", workbook, wave="post")
    assert "al eerder ingediend" in again.text
    page = one.get("/school").text
    assert page.count('href="/submission/') == 2
    assert "nog verwacht" in page  # what the study still expects from this school


def test_the_researcher_sees_all_schools_and_starts_a_report_job(portal, tmp_path):
    done = tmp_path / "report-ran"
    make_app(PortalSettings(study_dir=portal, key=KEY, secure_cookies=False, report_command=[
        sys.executable, "-c", f"open({str(done)!r}, 'w').close()"]))
    _upload(_school_client(portal, "S01"), "a.csv", _csv(12))
    _upload(_school_client(portal, "S02"), "b.csv", _csv(11))
    res = Client(enforce_csrf_checks=True)
    _login(res, _link(portal, None))
    page = res.get("/research")
    assert page.status_code == 200 and "S01" in page.text and "S02" in page.text
    assert res.get("/school").status_code == 302
    before = len(state.db.jobs())
    res.post("/research/report", {"csrfmiddlewaretoken": _token(page.text)})
    assert len(state.db.jobs()) == before + 1
    assert [a["event"] for a in state.db.audit_log()].count("report_started") == 1
    for _ in range(300):  # the job runs in the background and records its return code
        if state.db.jobs()[0]["returncode"] is not None:
            break
        time.sleep(0.1)
    assert state.db.jobs()[0]["returncode"] == 0 and done.exists()
    # the researcher revokes a school's link on the page: that school's session ends at once
    school = _school_client(portal, "S02")
    link_id = state.db.links()[-1].link_id
    res.post("/research/revoke", {"csrfmiddlewaretoken": _token(res.get("/research").text),
                                  "link": link_id})
    assert school.get("/school").status_code == 403
    # a school cannot revoke links or start reports
    one = _school_client(portal, "S01")
    token = _token(one.get("/school").text)
    own = state.db.links()[-1].link_id
    assert one.post("/research/revoke", {"csrfmiddlewaretoken": token, "link": own}
                    ).status_code == 403
    assert one.post("/research/report", {"csrfmiddlewaretoken": token}).status_code == 403
    assert state.db.get(own).revoked_at is None and len(state.db.jobs()) == before + 1


def test_a_researcher_makes_a_school_link_on_the_page_and_a_school_cannot(portal):
    res = Client(enforce_csrf_checks=True)
    _login(res, _link(portal, None))
    form = {"csrfmiddlewaretoken": _token(res.get("/research").text), "school": "S02",
            "days": "7"}
    made = res.post("/research/link", form)
    url = re.search(r"<code>(http://testserver/link/[A-Za-z0-9_-]{43})</code>", made.text).group(1)
    assert state.db.check_token(url.rsplit("/", 1)[1]).school_id == "S02"
    assert made["Cache-Control"] == "no-store"
    assert res.post("/research/link", {**form, "school": "S99"}).status_code == 400
    school = _school_client(portal, "S01")
    own = {"csrfmiddlewaretoken": _token(school.get("/school").text), "school": "S01"}
    n = len(state.db.links())
    assert school.post("/research/link", own).status_code == 403 and len(state.db.links()) == n


def test_pages_in_english_on_request(portal):
    client = _school_client(portal, "S01")
    assert "Submit files" in client.get("/school?lang=en").text
    assert "Submit files" in client.get("/school").text  # the choice is kept in the session
    answer = _upload(client, "a.csv", _csv(6), lang="en")
    assert "6 rows read: 6 accepted, 0 rejected." in answer.text and "(meant: 4?)" in answer.text
    assert "Bestanden indienen" in client.get("/school?lang=nl").text


# -- what is refused -------------------------------------------------------------------------
def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(portal):
    client = _school_client(portal, "S01")
    big = state.settings.max_body_bytes + 1

    class Unreadable(io.RawIOBase):  # a body that fails the test if anything reads it
        def readinto(self, b):
            raise AssertionError("the body was read")

    answer = client.generic("POST", "/school/upload", b"", CONTENT_LENGTH=str(big),
                            CONTENT_TYPE="multipart/form-data; boundary=x",
                            **{"wsgi.input": Unreadable()})
    assert answer.status_code == 413 and "Te groot" in answer.text
    # a file over the per-file cap inside an allowed body: stopped while streaming, not stored
    over = _upload(client, "groot.csv", _csv(1) + b"1;" * (state.settings.max_file_bytes // 2))
    assert over.status_code == 413
    assert Study.open(portal).status().empty
    assert not list((portal / "raw").iterdir())


@pytest.mark.parametrize(("name", "data"), [
    ("ouders.csv", bytes(range(256)) * 40),                       # binary garbage named .csv
    ("ouders.xlsx", b"%PDF-1.7\n" + b"\x00\x01" * 500),          # a PDF named .xlsx
    ("ouders.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),  # an old .xls
])
def test_a_file_of_the_wrong_type_gets_a_paragraph_and_is_not_stored(portal, name, data):
    answer = _upload(_school_client(portal, "S01"), name, data)
    assert answer.status_code == 200 and "Traceback" not in answer.text
    assert "geen CSV-, Excel- (.xlsx) of SPSS-bestand" in answer.text
    assert not list((portal / "raw").iterdir())


def test_a_zip_bomb_is_refused_before_any_reader_opens_it(portal):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (300 * 2**20))
    assert len(buf.getvalue()) < 2**20 and sniff(buf.getvalue()) == "bomb"
    # the same bomb with its unpacked size forged small in both headers: unpacking tells
    real = struct.pack("<I", 300 * 2**20)
    forged = buf.getvalue().replace(real, struct.pack("<I", 4096))
    assert forged != buf.getvalue() and sniff(forged) == "bomb"
    assert sniff(_xlsx(3)) == "xlsx"
    answer = _upload(_school_client(portal, "S01"), "ouders.xlsx", buf.getvalue())
    assert "pakt uit tot veel meer gegevens" in answer.text
    assert not list((portal / "raw").iterdir())


def test_a_school_column_naming_the_own_school_is_taken_and_another_school_rejected(portal):
    rows = [("1", "De Linde"), ("2", "obs de linde"), ("3", "S02"), ("4", "Regenboog")]
    data = ("Deelnemernummer;school;" + ";".join(ITEMS) + "\r\n" + "".join(
        f"{n};{school};" + ";".join("3" for _ in ITEMS) + "\r\n" for n, school in rows)).encode()
    answer = _upload(_school_client(portal, "S01"), "ouders.csv", data)
    assert answer.status_code == 200
    assert "4 rijen gelezen: 2 opgenomen, 2 afgewezen." in answer.text
    assert "rij van een andere school" in answer.text
    assert "Regenboog" not in answer.text  # another school is never named to this one
    status = Study.open(portal).status()
    assert status.school_id.tolist() == ["S01"]  # nothing reached another school's cell
    assert (int(status.accepted.iloc[0]), int(status.rejected.iloc[0])) == (2, 2)


def test_a_form_without_its_csrf_token_is_refused(portal):
    client = _school_client(portal, "S01")
    answer = client.post("/school/upload", {"wave": "pre", "role": "parent",
                                            "files": _named("a.csv", _csv(5))})
    assert answer.status_code == 403 and "Formulier verlopen" in answer.text
    forged = Client(enforce_csrf_checks=True)
    assert forged.post(f"/link/{_link(portal, 'S01')}").status_code == 403
    assert Study.open(portal).status().empty


def test_uploads_are_rate_limited_per_link(portal):
    make_app(PortalSettings(study_dir=portal, key=KEY, secure_cookies=False,
                            uploads_per_window=2))
    client = _school_client(portal, "S01")
    codes = [_upload(client, f"f{i}.csv", _csv(5 + i, unknown=None)).status_code
             for i in range(3)]
    assert codes == [200, 200, 429]


# -- headers, privacy ------------------------------------------------------------------------
def test_security_headers_and_cookies(portal):
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/link/{_link(portal, 'S01')}")
    csp = page["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "frame-ancestors 'none'" in csp and page["X-Frame-Options"] == "DENY"
    assert page["Referrer-Policy"] == "same-origin" and page["Cache-Control"] == "no-store"
    assert "<script" not in page.text
    answer = client.post(page.wsgi_request.path, {"csrfmiddlewaretoken": _token(page.text)})
    cookie = answer.cookies["portal_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_the_audit_log_and_pages_hold_no_personal_data(portal):
    client = _school_client(portal, "S01")
    answer = _upload(client, f"{NAME} {EMAIL}.csv", _csv(8, extra=True))
    assert "8 opgenomen" in answer.text and "Naam" in answer.text  # withheld column, named
    for text in (answer.text, client.get("/school").text):
        assert NAME not in text and EMAIL not in text and "devries" not in text
    events = state.db.audit_log()
    uploads = [a for a in events if a["event"] == "upload"]
    assert len(uploads) == 1 and '"accepted": 8' in uploads[0]["detail"]
    stored = (portal / PORTAL_FILE).read_bytes()
    for wal in portal.glob(PORTAL_FILE + "-wal"):
        stored += wal.read_bytes()
    assert b"devries" not in stored and NAME.encode() not in stored
    assert b"127.0.0.1" not in stored  # addresses only as keyed hashes (rate limits)


def test_every_catalogue_key_a_template_uses_exists():
    from partnerschap_eval import i18n

    templates = Path(__file__).resolve().parents[1] / "src/partnerschap_eval/portal/templates"
    used = {m for p in templates.rglob("*.html") for m in re.findall(r"T\.(\w+)", p.read_text())}
    assert used and not {f"portal.{k}" for k in used} - set(i18n.keys("nl"))
    # and every audit event and refusal is worded for the researcher page and the feedback
    code = "".join(p.read_text() for p in (templates.parent).glob("*.py"))
    events = set(re.findall(r'audit\("(\w+)"', code)) | {"upload_refused"}
    refusals = set(re.findall(r'_refusal\([^,]+, "(\w+)"', code))
    refusals |= {f"{o}_column" for o in ("wave", "role")}
    wanted = {f"portal.event_{e}" for e in events} | {f"portal.refused_{r}" for r in refusals}
    assert len(events) >= 8 and not wanted - set(i18n.keys("nl")), wanted - set(i18n.keys("nl"))


# -- a real server ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _multipart(fields: dict[str, str], name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                 f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                 + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


@contextlib.contextmanager
def _served(study_dir: Path):
    """``partnerschap-eval portal serve`` on a free loopback port; yields its base URL."""
    port = _free_port()
    env = os.environ | {"PARTNERSCHAP_EVAL_KEY": KEY.decode()}
    server = subprocess.Popen([*CLI, "portal", "serve", str(study_dir), "--port", str(port),
                               "--workers", "1", "--threads", "2", "--max-file-mb", "1"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None:
                    pytest.fail(server.stderr.read().decode())
                time.sleep(0.1)
        yield base, port
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_portal_serve_answers_real_http(portal):
    with _served(portal) as (base, port):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        token = _link(portal, "S02")
        page = opener.open(f"{base}/link/{token}").read().decode()
        form = f"csrfmiddlewaretoken={_token(page)}".encode()
        opener.open(urllib.request.Request(f"{base}/link/{token}", data=form))
        page = opener.open(f"{base}/school").read().decode()
        assert "De Regenboog" in page
        body, boundary = _multipart({"csrfmiddlewaretoken": _token(page), "wave": "pre",
                                     "role": "parent"}, "ouders.csv", _csv(9))
        answer = opener.open(urllib.request.Request(
            f"{base}/school/upload", data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}))
        assert "9 rijen gelezen: 9 opgenomen" in answer.read().decode()
        # a declared body over the limit: 413 from the server without sending the body
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"POST /school/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      f"Content-Length: {10 * 2**20}\r\nContent-Type: multipart/form-data; "
                      "boundary=x\r\n\r\n".encode())
            assert s.recv(200).startswith(b"HTTP/1.1 413")
        assert Study.open(portal).status()["accepted"].tolist() == [9]


@pytest.mark.slow
def test_in_a_real_browser_with_screenshots(portal, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    (tmp_path / "ouders_voor.csv").write_bytes(_csv(12))
    (tmp_path / "ouders_na.xlsx").write_bytes(_xlsx(10))
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with _served(portal) as (base, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args, headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        errors: list[str] = []  # a CSP violation (e.g. the style sheet refused) shows here
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/link/{_link(portal, 'S01')}")
        page.screenshot(path=str(ARTIFACTS / "portal-confirm.png"), full_page=True)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/school")
        for name, wave in (("ouders_voor.csv", "pre"), ("ouders_na.xlsx", "post")):
            page.goto(f"{base}/school")
            page.set_input_files("#files", str(tmp_path / name))
            page.select_option("#wave", wave)
            page.select_option("#role", "parent")
            page.click("form[action='/school/upload'] button[type=submit]")
            page.wait_for_load_state("load")
            assert "opgenomen" in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / "portal-feedback.png"), full_page=True)
        page.goto(f"{base}/school")
        text = page.inner_text("main")
        assert "ouders_voor.csv" in text and "ouders_na.xlsx" in text
        assert page.evaluate("getComputedStyle(document.body).maxWidth") != "none"  # CSS applied
        page.screenshot(path=str(ARTIFACTS / "portal-school.png"), full_page=True)
        # another school's browser, with the first school's submission id in the URL
        other = browser.new_page()
        other.goto(f"{base}/link/{_link(portal, 'S02')}")
        other.click("button[type=submit]")
        answer = other.goto(f"{base}/submission/1")
        assert answer.status == 404 and "ouders_voor" not in other.content()
        research = browser.new_page(viewport={"width": 1100, "height": 900})
        research.goto(f"{base}/link/{_link(portal, None)}")
        research.click("button[type=submit]")
        research.wait_for_url(f"{base}/research")
        assert "S01" in research.inner_text("main")
        research.screenshot(path=str(ARTIFACTS / "portal-research.png"), full_page=True)
        browser.close()
    assert errors == [], errors


@pytest.mark.slow
def test_the_demo_portal_has_the_demo_schools_with_their_status(tmp_path):
    from partnerschap_eval.portal.demo import prepare_demo
    from partnerschap_eval.privacy import DEMO_KEY

    study_dir, schools = prepare_demo(tmp_path / "study", tmp_path / "raw")
    assert len(schools) == 43
    assert prepare_demo(study_dir, tmp_path / "raw")[1] == schools  # a second run adds nothing
    make_app(PortalSettings(study_dir=study_dir, key=DEMO_KEY, secure_cookies=False))
    db = PortalDB(study_dir / PORTAL_FILE, DEMO_KEY)
    client = Client(enforce_csrf_checks=True)
    _login(client, db.create_link(school=schools[0]).token)
    page = client.get("/school").text
    assert schools[0] in page and schools[1] not in page and "Voormeting" in page


def test_a_reader_crash_and_a_server_error_give_a_paragraph_not_a_trace(portal, monkeypatch,
                                                                       caplog):
    client = _school_client(portal, "S01")

    def explode(*args, **kwargs):
        raise RuntimeError(f"a reader failed on {EMAIL}")

    monkeypatch.setattr(Study, "submit", explode)
    answer = _upload(client, "ouders.csv", _csv(5))
    assert answer.status_code == 200 and "beschadigd of onleesbaar" in answer.text
    assert EMAIL not in answer.text and "Traceback" not in answer.text
    monkeypatch.setattr(Study, "status", explode)
    broken = Client(raise_request_exception=False)
    _login(broken, _link(portal, "S02"))
    page = broken.get("/school")
    assert page.status_code == 500 and "Er ging iets mis" in page.text
    assert EMAIL not in page.text and "Traceback" not in page.text
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert logged and all(EMAIL not in r.getMessage() and not r.exc_info for r in logged)
    assert "RuntimeError" in logged[-1].getMessage()


def test_feedback_words_column_names_and_placeholders_in_the_page_language(portal):
    """The kept feedback holds the ingest's English names ("(column 3)", "column 4 <withheld:
    ...>"); the page words them in its language, as the rest of the page."""
    head = ["Deelnemernummer", *ITEMS, "", "jan.devries@example.nl"]
    lines = [";".join(head)] + [";".join([str(i), *[LABELS[1 + (i + j) % 5]
                                                   for j in range(len(ITEMS))], "x", "y"])
                                for i in range(1, 8)]
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    one = _school_client(portal, "S01")
    text = _upload(one, "ouders_voor.csv", data).text
    assert "(kolom " in text and "achtergehouden" in text, text
    assert "column" not in text and "withheld" not in text
    fid = int(re.search(r'href="/submission/(\d+)"', one.get("/school").text).group(1))
    english = one.get(f"/submission/{fid}?lang=en").text
    assert "(column " in english and "withheld" in english
