"""The portal's pages. Each one asks the auth seam for the principal and filters by it.

A school's principal reaches only its own school: the school id in every query comes from the
session, never from the request, and a submission id of another school answers 404 exactly as
an id that does not exist. Every text comes from the ``portal`` message catalogue; whatever an
export brought in (file names, headers, labels) passes :func:`privacy.screen` before it is shown.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import i18n
from ..errors import PartnerschapError
from ..privacy import screen
from ..study import STORE_ERRORS
from .app import state
from .auth import LinkAuthenticator, Principal
from .upload import sniff

_STATIC = Path(__file__).resolve().parent / "static"
_log = logging.getLogger("partnerschap_eval.portal")
_SAFE_NAME = "".join(chr(c) for c in range(128) if chr(c).isalnum()) + " ._-"


class Texts:
    """The portal catalogue for one language, for templates: ``{{ T.title }}``."""

    def __init__(self, lang: str):
        self.lang = lang

    def __getitem__(self, key: str) -> str:
        return i18n.t(f"portal.{key}", self.lang)


def _lang(request) -> str:
    """The page language: asked in the query (or a form), else kept in the session, else nl."""
    asked = request.GET.get("lang")
    if asked is None and request.method == "POST":
        asked = request.POST.get("lang")
    if asked in i18n.LANGS:
        if hasattr(request, "session") and request.session.get("lang") != asked:
            request.session["lang"] = asked
        return asked
    stored = request.session.get("lang") if hasattr(request, "session") else None
    return stored if stored in i18n.LANGS else "nl"


def _auth() -> LinkAuthenticator:
    return LinkAuthenticator(state.db)


def _principal(request) -> Principal | None:
    return _auth().principal(request.session)


def _page(request, template: str, status: int = 200, **context) -> HttpResponse:
    lang = _lang(request)
    principal = _principal(request) if hasattr(request, "session") else None
    from django.middleware.csrf import get_token

    body = render_to_string(f"portal/{template}", {
        "T": Texts(lang), "lang": lang, "other_lang": "en" if lang == "nl" else "nl",
        "principal": principal, "csrf_token": get_token(request),
        "study_name": _study_name(), "here": request.path if request.method == "GET" else "/",
        **context})
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def _study_name() -> str:
    try:
        return screen(state.study.config.study, "text", max_chars=80).text
    except (PartnerschapError, *STORE_ERRORS):
        return ""


def _message(request, key: str, status: int, **params) -> HttpResponse:
    lang = _lang(request)
    return _page(request, "message.html", status=status,
                 heading=i18n.t(f"portal.{key}_title", lang),
                 text=i18n.t(f"portal.{key}", lang, **params))


def too_large(request) -> HttpResponse:
    """413, before the session or the body is read: the language only from the query string."""
    lang = request.GET.get("lang") if request.GET.get("lang") in i18n.LANGS else "nl"
    mb = i18n.integer(state.settings.max_file_bytes // 2**20, lang)
    response = HttpResponse(
        render_to_string("portal/message.html", {
            "T": Texts(lang), "lang": lang, "other_lang": "en" if lang == "nl" else "nl",
            "principal": None, "here": "/",
            "heading": i18n.t("portal.too_large_title", lang),
            "text": i18n.t("portal.too_large", lang, mb=mb)}),
        status=413, content_type="text/html; charset=utf-8")
    response["Connection"] = "close"  # the unread body is not worth reading
    return response


def csrf_failure(request, reason: str = "") -> HttpResponse:
    return _message(request, "csrf", 403)


def server_error(request) -> HttpResponse:
    """500 as a paragraph in Dutch (the request may be half-processed: no session is read)."""
    return HttpResponse(render_to_string("portal/message.html", {
        "T": Texts("nl"), "lang": "nl", "other_lang": "en", "principal": None, "here": "/",
        "heading": i18n.t("portal.server_error_title", "nl"),
        "text": i18n.t("portal.server_error", "nl")}), status=500,
        content_type="text/html; charset=utf-8")


@require_GET
def style(request) -> FileResponse:
    return FileResponse((_STATIC / "portal.css").open("rb"), content_type="text/css")


@require_GET
def no_icon(request) -> HttpResponse:
    return HttpResponse(status=204)  # browsers ask for it; the portal has none


@require_GET
def home(request) -> HttpResponse:
    principal = _principal(request)
    if principal is not None:
        return HttpResponseRedirect("/research" if principal.is_researcher else "/school")
    return _page(request, "home.html")


def _client(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@require_http_methods(["GET", "POST"])
def link(request, token: str) -> HttpResponse:
    """GET shows a confirm form and changes nothing (mail scanners prefetch links); POST
    starts a session bound to the link's school (or the research team)."""
    s, db = state.settings, state.db
    if db.too_many("link", _client(request), s.login_failures, s.window_s, record=False):
        response = _message(request, "rate_limited", 429)
        response["Retry-After"] = str(int(s.window_s))
        return response
    found = db.check_token(token)
    if found is None:
        db.too_many("link", _client(request), s.login_failures, s.window_s)
        if request.method == "POST":
            db.audit("login_refused")
        return _message(request, "link_invalid", 404)
    if request.method == "GET":
        return _page(request, "confirm.html", link=found,
                     school=_school_name(found.school_id) if found.school_id else None)
    _auth().login(request.session, found)
    db.audit("login", found)
    return HttpResponseRedirect("/research" if found.kind == "researcher" else "/school")


@require_POST
def logout(request) -> HttpResponse:
    principal = _principal(request)
    if principal is not None:
        state.db.audit("logout", state.db.get(principal.source))
    _auth().logout(request.session)
    return HttpResponseRedirect("/")


def _school_name(school_id: str) -> str:
    for school in state.study.config.schools:
        if school.id == school_id:
            return screen(school.name or school.id, "school", max_chars=80).text
    return school_id


def _wave_label(wave: str, lang: str) -> str:
    for w in state.study.config.waves:
        if w.id == wave:
            return w.label.get(lang) or w.id
    return wave


def _role_label(role: str, lang: str) -> str:
    try:
        return i18n.t(f"portal.role_{role}", lang)
    except i18n.MissingMessageError:
        return role


def _roles() -> list[str]:
    study = state.study
    return list(study.config.roles or study.instrument().roles)


def _cells(principal: Principal, lang: str) -> list[dict]:
    """The status table, only the principal's school for a school."""
    table = state.study.status(expected=True)
    if not principal.is_researcher:
        table = table[table["school_id"] == principal.school_id]
        if table.empty:  # a study without declared schools: what the school still owes
            import pandas as pd

            table = pd.DataFrame([{"school_id": principal.school_id, "wave": w, "role": r,
                                   "submissions": 0, "accepted": 0, "rejected": 0}
                                  for w in state.study.config.wave_ids for r in _roles()])
    out = []
    for row in table.to_dict("records"):
        out.append({"school": row["school_id"], "wave": _wave_label(row["wave"], lang),
                    "role": _role_label(row["role"], lang),
                    "submissions": int(row["submissions"]),
                    "accepted": i18n.integer(int(row["accepted"]), lang),
                    "rejected": i18n.integer(int(row["rejected"]), lang),
                    "last": i18n.date(row.get("last_submitted") or None, lang)
                    if isinstance(row.get("last_submitted"), str) else "–"})
    return out


def _need(request, role: str) -> Principal | HttpResponse:
    principal = _principal(request)
    if principal is None:
        return _message(request, "signed_out", 403)
    if role == "school" and principal.is_researcher:
        return HttpResponseRedirect("/research")
    if role == "researcher" and not principal.is_researcher:
        return _message(request, "forbidden", 403)
    return principal


@require_GET
def school(request) -> HttpResponse:
    principal = _need(request, "school")
    if isinstance(principal, HttpResponse):
        return principal
    lang = _lang(request)
    history = [_history_row(r, lang) for r in state.db.feedback(school_id=principal.school_id)]
    return _page(request, "school.html", cells=_cells(principal, lang), history=history,
                 school=_school_name(principal.school_id), school_id=principal.school_id,
                 waves=[(w.id, w.label.get(lang) or w.id) for w in state.study.config.waves],
                 roles=[(r, _role_label(r, lang)) for r in _roles()],
                 max_mb=state.settings.max_file_bytes // 2**20)


def _history_row(row: dict, lang: str) -> dict:
    body = row["body"]
    return {"id": row["id"], "at": i18n.date(row["at"], lang), "school": row["school_id"],
            "file": body.get("file", ""), "accepted": i18n.integer(body.get("accepted", 0), lang),
            "rejected": i18n.integer(body.get("rejected_total", 0), lang),
            "refused": bool(body.get("refused"))}


# -- uploads ---------------------------------------------------------------------------------
def _file_name(name: str, kind: str) -> str:
    """The upload's name as kept and shown: its stem if the firewall lets it through (else
    ``upload``), only plain characters, and the extension of what the content is."""
    stem = Path(str(name)).stem[:60]
    stem = "".join(c for c in stem if c in _SAFE_NAME).strip(" .") or "upload"
    if not screen(stem, "file").allowed:
        stem = "upload"
    return f"{stem}.{kind}"


def _screened_feedback(fb) -> dict:
    """The facts of one submission as the portal keeps and shows them: counts, reasons,
    screened labels and column names, never a value from the file."""
    d = fb.to_dict()
    return {
        "file": d["file"], "new": d["new"], "rows_in": d["rows_in"], "accepted": d["accepted"],
        "rejected": d["rejected"], "rejected_total": fb.rejected_total,
        "cells": [{k: c[k] for k in ("school_id", "wave", "role", "accepted", "rejected",
                                     "earlier")} for c in d["cells"]],
        "unknown_labels": [{"label": screen(p["label"], "answer").text, "count": p["count"],
                            "code": p["code"]} for p in d["unknown_labels"]],
        "cleared": d["cleared"],
        "pii_columns": [screen(c, "header").text for c in d["pii_columns"]],
        "unmapped_columns": [screen(c, "header").text for c in d["unmapped_columns"]],
        "sheet": screen(d["sheet"], "sheet").text if d["sheet"] else None,
    }


def _refusal(file: str, key: str, **params) -> dict:
    return {"file": file, "refused": key, "params": params, "accepted": 0, "rejected_total": 0}


def _submit_one(upload, principal: Principal, wave: str | None, role: str | None) -> dict:
    """One uploaded file through the content check and :meth:`Study.submit`."""
    from ..study.messages import render_error

    data = upload.read()  # at most the per-file cap (the handler stopped anything larger)
    kind = sniff(data)
    shown_name = _file_name(upload.name, "bin")[:-4]
    if kind is None:
        return _refusal(shown_name, "wrong_type")
    if kind == "bomb":
        return _refusal(shown_name, "bomb")
    name = _file_name(upload.name, kind)
    with tempfile.TemporaryDirectory(prefix="portal-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        del data
        try:
            # a school column may name the school itself: rows of any other are rejected
            feedback = state.study.submit([path], only_school=principal.school_id, wave=wave,
                                          role=role, key=state.settings.key)
        except PartnerschapError as exc:
            english = render_error(exc, "en")
            for option in ("wave", "role"):
                if f"--{option} must not be given" in english:
                    return _refusal(name, f"{option}_column")
            # the study's own paragraph (what is wrong, how to fix), without server paths
            detail = {lang: render_error(exc, lang).replace(str(path), name).replace(tmp, "")
                      .replace(str(state.settings.study_dir), "") for lang in i18n.LANGS}
            return {**_refusal(name, "unusable"), "details": detail}
        except Exception as exc:  # noqa: BLE001  (a hostile file must get a paragraph, never
            # a trace; only the error's type is logged: its message may quote the file)
            _log.warning("a submission failed in the readers: %s", type(exc).__name__)
            return _refusal(name, "broken")
    return _screened_feedback(feedback[0])


@require_POST
def upload(request) -> HttpResponse:
    principal = _need(request, "school")
    if isinstance(principal, HttpResponse):
        return principal
    s, db = state.settings, state.db
    link = db.get(principal.source)
    if db.too_many("upload", principal.source, s.uploads_per_window, s.window_s):
        db.audit("upload_refused", link, reason="rate_limited")
        response = _message(request, "rate_limited", 429)
        response["Retry-After"] = str(int(s.window_s))
        return response
    files = request.FILES.getlist("files")
    if getattr(request, "portal_too_large", False):
        db.audit("upload_refused", link, reason="file_too_large")
        return _message(request, "file_too_large", 413,
                        mb=i18n.integer(s.max_file_bytes // 2**20, _lang(request)))
    if not files:
        return _message(request, "no_file", 400)
    wave = request.POST.get("wave") or None
    role = request.POST.get("role") or None
    config = state.study.config
    if wave is not None and wave not in config.wave_ids or role is not None and role not in _roles():
        return _message(request, "bad_choice", 400)
    ids = []
    for f in files:
        result = _submit_one(f, principal, wave, role)
        fid = db.add_feedback(principal.school_id, link, wave, role, result)
        ids.append(fid)
        # the audit names ids, counts and the content hash only; the file name is screened
        db.audit("upload" if not result.get("refused") else "upload_refused", link,
                 feedback_id=fid, file=result["file"], wave=wave, role=role,
                 accepted=result.get("accepted", 0), rejected=result.get("rejected_total", 0),
                 new=result.get("new"), reason=result.get("refused"))
    lang = _lang(request)
    results = [_render_feedback(r, lang) for r in db.feedback(school_id=principal.school_id)
               if r["id"] in ids]
    return _page(request, "feedback.html", results=results[::-1])


def _render_feedback(row: dict, lang: str) -> dict:
    """The kept facts worded in ``lang`` (reasons through the study's catalogue)."""
    from ..study.messages import reason_text

    body = row["body"]
    if body.get("refused"):
        key = body["refused"]
        params = dict(body.get("params", {}))
        if "details" in body:
            params["detail"] = body["details"].get(lang, "")
        return {"id": row["id"], "file": body["file"], "refused": True,
                "text": i18n.t(f"portal.refused_{key}", lang, **params)}
    t = lambda key, **p: i18n.t(f"portal.{key}", lang, **p)  # noqa: E731
    n = lambda x: i18n.integer(x, lang)  # noqa: E731
    # kept as the firewall and the ingest wrote them (English placeholders, "(column 3)"):
    # worded in the page's language
    w = lambda text: i18n.withheld(text, lang) if text else text  # noqa: E731
    out = {"id": row["id"], "file": w(body["file"]), "refused": False, "new": body["new"],
           "head": t("fb_head", rows_in=n(body["rows_in"]), accepted=n(body["accepted"]),
                     rejected=n(body["rejected_total"])),
           "unchanged": None if body["new"] else t("fb_unchanged"),
           "cells": [t("fb_cell_replaced" if c["earlier"] else "fb_cell_new",
                       wave=_wave_label(c["wave"], lang), role=_role_label(c["role"], lang),
                       accepted=n(c["accepted"]), rejected=n(c["rejected"]))
                     for c in body["cells"] if c["wave"] and c["role"]],
           "rejected": [(reason_text(r, lang), n(k)) for r, k in body["rejected"].items()],
           "cleared": [(reason_text(r, lang), n(k)) for r, k in body["cleared"].items()],
           "labels": [(w(p["label"]), n(p["count"]),
                       t("fb_proposal", code=p["code"]) if p["code"] is not None else "")
                      for p in body["unknown_labels"]],
           "pii": w(", ".join(body["pii_columns"])),
           "unmapped": w(", ".join(body["unmapped_columns"])),
           "sheet": w(body.get("sheet")),
           "none_accepted": body["accepted"] == 0}
    return out


@require_GET
def submission(request, feedback_id: int) -> HttpResponse:
    principal = _principal(request)
    if principal is None:
        return _message(request, "signed_out", 403)
    # a school's query carries its own school id: another school's id finds nothing (404)
    rows = state.db.feedback(school_id=None if principal.is_researcher else principal.school_id,
                             feedback_id=feedback_id)
    if not rows:
        return _message(request, "not_found", 404)
    return _page(request, "feedback.html", results=[_render_feedback(rows[0], _lang(request))])


# -- researchers -----------------------------------------------------------------------------
@require_GET
def research(request) -> HttpResponse:
    principal = _need(request, "researcher")
    if isinstance(principal, HttpResponse):
        return principal
    lang = _lang(request)
    db = state.db
    links = [{"id": x.link_id, "who": x.school_id or i18n.t("portal.research_team", lang),
              "expires": i18n.date(x.expires_at, lang), "active": x.active}
             for x in db.links()]
    jobs = [{"id": j["id"], "started": j["started_at"], "finished": j["finished_at"] or "",
             "rc": j["returncode"]} for j in db.jobs()[:5]]
    audit = [{"at": a["at"][:19].replace("T", " "), "event": _event(a["event"], lang),
              "who": a["school_id"] or (a["kind"] or "")} for a in db.audit_log(limit=30)]
    return _page(request, "research.html", cells=_cells(principal, lang), links=links,
                 schools=[(x.id, _school_name(x.id)) for x in state.study.config.schools],
                 jobs=jobs, audit=audit,
                 history=[_history_row(r, lang) for r in db.feedback()[:50]],
                 report_dir=str(Path(state.settings.study_dir) / "reports" / "index.html"))


def _event(event: str, lang: str) -> str:
    try:
        return i18n.t(f"portal.event_{event}", lang)
    except i18n.MissingMessageError:  # an event of a later version: its code
        return event


def _run_report(study_dir: Path, job_id: int, settings) -> None:
    """The report job: the existing ``report --study`` command in its own process (a failure
    or a crash of the report never touches the server); its return code is recorded."""
    cmd = settings.report_command or [sys.executable, "-m", "partnerschap_eval.cli", "report",
                                       "--study", str(study_dir)]
    try:
        rc = subprocess.run(cmd, capture_output=True, timeout=3600, check=False).returncode
    except (OSError, subprocess.TimeoutExpired):
        rc = -1
    db = settings.open_db()
    try:
        db.finish_job(job_id, rc)
    finally:
        db.close()


@require_POST
def report(request) -> HttpResponse:
    principal = _need(request, "researcher")
    if isinstance(principal, HttpResponse):
        return principal
    db, s = state.db, state.settings
    running = [j for j in db.jobs() if j["finished_at"] is None]
    if not running:
        job_id = db.start_job(str(Path(s.study_dir) / "reports"))
        db.audit("report_started", db.get(principal.source), job=job_id)
        threading.Thread(target=_run_report, args=(Path(s.study_dir), job_id, s),
                         daemon=True).start()
    return HttpResponseRedirect("/research")


@require_POST
def new_link(request) -> HttpResponse:
    """A school link made on the researcher page: its URL is shown once, only its hash kept."""
    principal = _need(request, "researcher")
    if isinstance(principal, HttpResponse):
        return principal
    declared = [s.id for s in state.study.config.schools]
    school = str(request.POST.get("school", ""))
    try:
        days = float(request.POST.get("days", "30"))
    except ValueError:
        days = 0
    if school not in declared or not 0 < days <= 366:
        return _message(request, "bad_choice", 400)
    db = state.db
    made = db.create_link(school=school, days=days)
    url = request.build_absolute_uri(f"/link/{made.token}")
    lang = _lang(request)
    return _page(request, "new_link.html", url=url, school=_school_name(school),
                 link_id=made.link_id, expires=i18n.date(made.expires_at, lang))


@require_POST
def revoke(request) -> HttpResponse:
    principal = _need(request, "researcher")
    if isinstance(principal, HttpResponse):
        return principal
    state.db.revoke(str(request.POST.get("link", ""))[:16])
    return HttpResponseRedirect("/research")
