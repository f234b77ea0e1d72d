"""``partnerschap-eval portal serve | link | revoke`` (Contract 7).

Thin like the rest of the CLI: parse, call the portal, print the catalogue's texts, set the exit
code (2 for unusable input, with one paragraph and no traceback). Django is imported only by
``serve``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .. import i18n
from ..errors import Msg, PartnerschapError, WithheldReason

_HELP_LANG = i18n.env_lang()  # help texts: in PARTNERSCHAP_EVAL_LANG, Dutch by default


def h(key: str) -> str:
    """A help text of the command line (``cli.po``) in the language of the help texts."""
    return i18n.t(key, _HELP_LANG)


portal_app = typer.Typer(add_completion=False, no_args_is_help=True, help=h("cli.portal.app_help"))
_LANG = typer.Option("--lang", help=h("cli.portal.lang"))
_KEY = typer.Option(help=h("cli.portal.key_file"))


def register(app: typer.Typer) -> None:
    """Add the ``portal`` command group to the main app."""
    app.add_typer(portal_app, name="portal")


def _fail(exc: Exception, lang: str = "nl") -> None:
    text = exc.render(lang) if isinstance(exc, PartnerschapError) else str(exc)
    typer.echo(f"{i18n.t('cli.error', lang)}: {text}", err=True)
    raise typer.Exit(2)


def _db(study_dir: Path, key_file: Path | None):
    from ..privacy import load_key
    from ..study import Study
    from .links import PORTAL_FILE, PortalDB

    key = load_key(key_file)
    study = Study.open(study_dir)
    study.check_key(key)  # a link made with another key could never be checked by the server
    return study, PortalDB(Path(study_dir) / PORTAL_FILE, key)


@portal_app.command(help=h("cli.portal.link.help"))
def link(
    study_dir: Annotated[Path, typer.Argument(help=h("cli.study.dir"))],
    school: Annotated[str | None, typer.Option(help=h("cli.portal.link.school"))] = None,
    researcher: Annotated[bool, typer.Option(
        "--researcher", help=h("cli.portal.link.researcher"))] = False,
    expires: Annotated[str, typer.Option(help=h("cli.portal.link.expires"))] = "30d",
    base_url: Annotated[str, typer.Option(help=h("cli.portal.link.base_url"))]
    = "http://127.0.0.1:8000",
    key_file: Annotated[Path | None, _KEY] = None,
    lang: Annotated[str, _LANG] = "nl",
) -> None:
    """Print a capability link for one school (or the research team); only its hash is kept."""
    from ..privacy import screen
    from ..study import STORE_ERRORS, UnknownNameError
    from .links import parse_duration

    lang = lang if lang in i18n.LANGS else "nl"
    if (school is None) == (not researcher):
        _fail(PartnerschapError(Msg("errors.portal.school_or_researcher")), lang)
    try:
        days = parse_duration(expires)
        study, db = _db(study_dir, key_file)
        school_id = None
        if school is not None:
            cfg = study.config
            resolve = cfg.school_resolver()
            if resolve is not None:
                try:
                    school_id = resolve(" ".join(school.split()))
                except UnknownNameError:
                    _fail(PartnerschapError(i18n.t(
                        "portal.cli_unknown_school", lang, school=screen(school, "school").text,
                        schools=", ".join(s.id for s in cfg.schools))))
            else:  # no schools declared: the id as given, if it is no personal data
                shown = screen(" ".join(school.split()), "school")
                if not shown.allowed:
                    _fail(PartnerschapError(Msg("errors.portal.school_personal",
                                                reason=WithheldReason(shown.reason))), lang)
                school_id = shown.text
        made = db.create_link(school=school_id, days=days)
        study.close()
        db.close()
    except (PartnerschapError, ValueError, *STORE_ERRORS) as exc:
        _fail(exc, lang)
    typer.echo(f"{base_url.rstrip('/')}/link/{made.token}")
    who = school_id or i18n.t("portal.research_team", lang)
    typer.echo(i18n.t("portal.cli_link", lang, who=who, expires=i18n.date(made.expires_at, lang),
                      id=made.link_id, dir=study_dir), err=True)


@portal_app.command(help=h("cli.portal.revoke.help"))
def revoke(
    study_dir: Annotated[Path, typer.Argument(help=h("cli.study.dir"))],
    link_: Annotated[str, typer.Option("--link", help=h("cli.portal.revoke.link"))],
    key_file: Annotated[Path | None, _KEY] = None,
    lang: Annotated[str, _LANG] = "nl",
) -> None:
    """End a link at once (sessions it started end too)."""
    from ..study import STORE_ERRORS

    lang = lang if lang in i18n.LANGS else "nl"
    try:
        study, db = _db(study_dir, key_file)
        done = db.revoke(link_)
        link_id = link_.rstrip("/").rsplit("/", 1)[-1]
        shown = link_id if len(link_id) <= 16 else "…"  # never echo a token
        study.close()
        db.close()
    except (PartnerschapError, *STORE_ERRORS) as exc:
        _fail(exc, lang)
    if not done:
        typer.echo(i18n.t("portal.cli_no_link", lang, id=shown), err=True)
        raise typer.Exit(2)
    typer.echo(i18n.t("portal.cli_revoked", lang, id=shown))


@portal_app.command(help=h("cli.portal.demo.help"))
def demo(
    study_dir: Annotated[Path, typer.Argument(help=h("cli.portal.demo.dir"))]
    = Path("reports/portal-demo"),
    raw_dir: Annotated[Path, typer.Option("--raw", help=h("cli.portal.demo.raw"))]
    = Path("data/raw/demo"),
    port: Annotated[int, typer.Option(help=h("cli.portal.demo.port"))] = 8000,
    lang: Annotated[str, _LANG] = "nl",
) -> None:
    """The synthetic demo study in a portal on localhost; prints a school and a researcher link."""
    from ..privacy import DEMO_KEY
    from ..study import STORE_ERRORS
    from .app import LOOPBACK, PortalSettings
    from .demo import prepare_demo
    from .links import PORTAL_FILE, PortalDB
    from .server import serve as _serve

    lang = lang if lang in i18n.LANGS else "nl"
    try:
        study_dir, schools = prepare_demo(study_dir, raw_dir)
    except (PartnerschapError, *STORE_ERRORS) as exc:
        _fail(exc, lang)
    base = f"http://127.0.0.1:{port}"
    db = PortalDB(study_dir / PORTAL_FILE, DEMO_KEY)
    for school in [schools[0], None]:
        made = db.create_link(school=school, days=1)
        who = school or i18n.t("portal.research_team", lang)
        typer.echo(f"{who}: {base}/link/{made.token}")
    db.close()
    typer.echo(i18n.t("portal.cli_serving", lang, name="WiSH demo", url=base + "/"))
    sys.stdout.flush()
    _serve(PortalSettings(study_dir=study_dir, key=DEMO_KEY, secure_cookies=False,
                          allowed_hosts=sorted(LOOPBACK)), "127.0.0.1", port)


@portal_app.command(help=h("cli.portal.serve.help"))
def serve(
    study_dir: Annotated[Path, typer.Argument(help=h("cli.study.dir"))],
    host: Annotated[str, typer.Option(help=h("cli.portal.serve.host"))] = "127.0.0.1",
    port: Annotated[int, typer.Option(help=h("cli.portal.serve.port"))] = 8000,
    workers: Annotated[int, typer.Option(help=h("cli.portal.serve.workers"))] = 2,
    threads: Annotated[int, typer.Option(help=h("cli.portal.serve.threads"))] = 4,
    max_file_mb: Annotated[int, typer.Option(help=h("cli.portal.serve.max_file_mb"))] = 20,
    key_file: Annotated[Path | None, _KEY] = None,
    lang: Annotated[str, _LANG] = "nl",
) -> None:
    """Serve the study's portal with gunicorn (behind a TLS proxy when not on loopback)."""
    lang = lang if lang in i18n.LANGS else "nl"
    try:
        import django  # noqa: F401
        import gunicorn  # noqa: F401
    except ImportError:
        _fail(PartnerschapError(Msg("errors.portal.extra")), lang)
    from ..study import STORE_ERRORS
    from .app import LOOPBACK, settings_for
    from .server import serve as _serve

    try:
        loopback = host in LOOPBACK
        settings = settings_for(
            study_dir, key_file, max_file_bytes=max_file_mb * 2**20,
            secure_cookies=not loopback,
            allowed_hosts=sorted(LOOPBACK) if loopback else
            (["*"] if host in ("0.0.0.0", "::") else [host]))
        from ..study import Study

        with Study.open(study_dir) as study:
            name = study.config.study
    except (PartnerschapError, *STORE_ERRORS) as exc:
        _fail(exc, lang)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    typer.echo(i18n.t("portal.cli_serving", lang, name=name, url=url))
    sys.stdout.flush()
    _serve(settings, host, port, workers=workers, threads=threads)
