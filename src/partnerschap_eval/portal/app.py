"""Django, configured in code for one study: settings, middleware, the WSGI application.

There is no settings module to edit: :func:`make_app` configures Django from a
:class:`PortalSettings` (the study folder, the key, the limits). The secret that signs session
and CSRF cookies is derived from the study's key (HMAC, see :func:`links.derive`), so it is
never stored and changes when the key does.

Security comes from Django's own mechanisms (CSRF middleware, signed HTTP-only cookies,
SecurityMiddleware, X-Frame-Options, the upload limits) plus two small middlewares here: the
request-body cap, answered with 413 before a byte of the body is read, and the headers Django
5.2 does not set itself (a Content-Security-Policy without scripts, no caching of pages).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..privacy import load_key
from ..study import PortalStore, Store
from .links import PORTAL_FILE, PortalDB, derive

__all__ = ["CappedUploadHandler", "PortalSettings", "make_app", "state"]

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass
class PortalSettings:
    """What a portal needs: its study, the study's key and its limits."""

    study_dir: Path
    key: bytes
    max_file_bytes: int = 20 * 2**20     # one export (the demo's largest is 0.2 MB)
    max_files: int = 5                    # files per upload form
    login_failures: int = 10              # failed link attempts per address per window
    uploads_per_window: int = 30          # uploads per link per window
    window_s: float = 600.0
    secure_cookies: bool = True           # False only on loopback over plain HTTP
    allowed_hosts: list[str] = field(default_factory=lambda: sorted(LOOPBACK | {"testserver"}))
    #: The report job's command; None: ``partnerschap-eval report --study DIR`` (tests swap it)
    report_command: list[str] | None = None
    #: The portal's own store for the study folder (a new one per thread); None: SQLite in
    #: ``DIR/portal.sqlite``. With :attr:`study_store`, an institution's database (PostgreSQL)
    #: holds both, implementing :class:`~partnerschap_eval.study.store.PortalStore` and
    #: :class:`~partnerschap_eval.study.store.Store`.
    portal_store: Callable[[Path], PortalStore] | None = None
    #: The study's store for the study folder (a new one per thread); None: its SQLite file.
    study_store: Callable[[Path], Store] | None = None

    def open_db(self) -> PortalDB:
        """The portal's records over its store (the caller closes it)."""
        store = self.portal_store(self.study_dir) if self.portal_store is not None else None
        return PortalDB(self.study_dir / PORTAL_FILE, self.key, store=store)

    def open_study(self):
        """The study over its store (the caller closes it)."""
        from ..study import Study

        if self.study_store is None:
            return Study.open(self.study_dir)
        return Study(self.study_dir, store=self.study_store(self.study_dir))

    @property
    def max_body_bytes(self) -> int:
        return self.max_files * self.max_file_bytes + 2**20  # the files and a small form


class _State(threading.local):
    """Per thread: one connection to the portal database and one open study (SQLite
    connections are not shared between threads; a gunicorn worker opens its own after fork)."""

    db: PortalDB | None = None
    study = None


_local = _State()
_settings: PortalSettings | None = None


class _Handle:
    """The portal's view of its settings, its database and its study, per thread."""

    @property
    def settings(self) -> PortalSettings:
        if _settings is None:
            raise RuntimeError("the portal is not configured: call make_app first")
        return _settings

    @property
    def db(self) -> PortalDB:
        if _local.db is None or _local.db.path != self.settings.study_dir / PORTAL_FILE:
            _local.db = self.settings.open_db()
        return _local.db

    @property
    def study(self):
        if _local.study is None or _local.study.path != self.settings.study_dir:
            _local.study = self.settings.open_study()
        return _local.study


state = _Handle()


class _RedactLinks(logging.Filter):
    """Django logs the path of refused requests and the trace of a failed one: a link's token
    and an error's message (which may quote an uploaded file) must not reach a log. The error's
    type is kept, its message and trace are not."""

    _TOKEN = re.compile(r"/link/[^/\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._TOKEN.sub("/link/…", str(record.msg))
        if record.exc_info and record.exc_info[0] is not None:
            record.msg += f" ({record.exc_info[0].__name__})"
            record.exc_info, record.exc_text = None, None
        if record.args:
            record.args = tuple(self._TOKEN.sub("/link/…", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def _django_settings(s: PortalSettings) -> dict:
    here = Path(__file__).resolve().parent
    return {
        "DEBUG": False,
        "SECRET_KEY": derive(s.key, "partnerschap-eval/portal/django-secret/v1").hex(),
        "ALLOWED_HOSTS": s.allowed_hosts,
        "ROOT_URLCONF": "partnerschap_eval.portal.urls",
        "INSTALLED_APPS": [],
        "DATABASES": {},
        "USE_I18N": False,
        "USE_TZ": True,
        "MIDDLEWARE": [
            "partnerschap_eval.portal.app.BodyLimitMiddleware",
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "partnerschap_eval.portal.app.HeadersMiddleware",
        ],
        # the session holds only the link id, signed with the secret; the link itself is
        # checked on every request, so revoking it ends the session at once
        "SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies",
        "SESSION_COOKIE_NAME": "portal_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": s.secure_cookies,
        "SESSION_COOKIE_AGE": 8 * 3600,
        "CSRF_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SAMESITE": "Strict",
        "CSRF_COOKIE_SECURE": s.secure_cookies,
        "CSRF_FAILURE_VIEW": "partnerschap_eval.portal.views.csrf_failure",
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        # same-origin: a link's token never leaves for another site in a Referer, and forms keep
        # their Origin header (with no-referrer browsers send "Origin: null", which CSRF refuses)
        "SECURE_REFERRER_POLICY": "same-origin",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "DATA_UPLOAD_MAX_MEMORY_SIZE": 2**20,
        "DATA_UPLOAD_MAX_NUMBER_FIELDS": 50,
        "DATA_UPLOAD_MAX_NUMBER_FILES": s.max_files,
        "FILE_UPLOAD_MAX_MEMORY_SIZE": 2**20,
        "FILE_UPLOAD_HANDLERS": ["partnerschap_eval.portal.app.CappedUploadHandler"],
        "TEMPLATES": [{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [str(here / "templates")],
            "APP_DIRS": False,
            "OPTIONS": {"autoescape": True, "context_processors": []},
        }],
        "LOGGING_CONFIG": None,
    }


def make_app(settings: PortalSettings):
    """Configure Django for ``settings`` and return the WSGI application.

    Django's settings are global to a process: a second call (tests open several studies)
    updates the values that differ instead of configuring again.
    """
    global _settings
    import django
    from django.conf import settings as dj

    values = _django_settings(settings)
    if not dj.configured:
        dj.configure(**values)
        django.setup()
        redact = _RedactLinks()
        for name in ("django.request", "django.security", "django.server", "gunicorn.error"):
            logging.getLogger(name).addFilter(redact)
        logging.getLogger("django.request").setLevel(logging.ERROR)
    else:
        for name, value in values.items():
            if name not in ("INSTALLED_APPS", "TEMPLATES", "LOGGING_CONFIG"):
                setattr(dj, name, value)
    _settings = settings
    _local.db = None
    _local.study = None
    state.db.audit("portal_started")  # creates the portal's tables now
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def settings_for(study_dir: str | Path, key_file: str | Path | None = None, **kw) -> PortalSettings:
    """Settings for a study folder, with the key from ``key_file`` or the environment; the key
    is checked against the study's fingerprint first."""
    from ..study import Study

    key = load_key(key_file)
    with Study.open(study_dir) as study:
        study.check_key(key)
    return PortalSettings(study_dir=Path(study_dir), key=key, **kw)


# -- middleware ------------------------------------------------------------------------------
class BodyLimitMiddleware:
    """413 for a request whose declared body is larger than the portal takes, decided from the
    Content-Length header before anything reads the body (Django reads no more than that
    header says, so a body cannot be longer)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > state.settings.max_body_bytes:
            from .views import too_large

            return too_large(request)
        return self.get_response(request)


class HeadersMiddleware:
    """A Content-Security-Policy without any script, and no caching of pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if not request.path.startswith("/static/"):
            response["Cache-Control"] = "no-store"
        return response


# -- uploads ---------------------------------------------------------------------------------
def _handler_base():
    from django.core.files.uploadhandler import TemporaryFileUploadHandler

    return TemporaryFileUploadHandler


class CappedUploadHandler(_handler_base()):
    """Django's temporary-file handler that stops a file at the per-file cap while streaming:
    the rest of that file is skipped, never written, and the view says it was too large."""

    def new_file(self, *args, **kwargs):
        self._size = 0
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        from django.core.files.uploadhandler import SkipFile

        self._size += len(raw_data)
        if self._size > state.settings.max_file_bytes:
            self.request.portal_too_large = True
            self.file.close()
            raise SkipFile()
        return super().receive_data_chunk(raw_data, start)
