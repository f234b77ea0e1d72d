"""Study commands of the CLI (Contract 6): ``study init``, ``submit``, ``status``, ``responses``.

Thin like the rest of the CLI: parse, call :mod:`partnerschap_eval.study`, print the texts of
:mod:`partnerschap_eval.study.messages`, set the exit code. Registered on the main app by
:mod:`partnerschap_eval.cli` (:func:`register`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from . import i18n
from .errors import Msg, PartnerschapError

out = Console()
err = Console(stderr=True)
_HELP_LANG = i18n.env_lang()  # help texts: in PARTNERSCHAP_EVAL_LANG, Dutch by default


def h(key: str) -> str:
    """A help text of the command line (``cli.po``) in the language of the help texts."""
    return i18n.t(key, _HELP_LANG)


study_app = typer.Typer(add_completion=False, no_args_is_help=True, help=h("cli.study.app_help"))


def register(app: typer.Typer) -> None:
    """Add ``study init``, ``submit``, ``status`` and ``responses`` to the main app."""
    app.add_typer(study_app, name="study")
    for command in (submit, status, responses):
        app.command(help=h(f"cli.study.{command.__name__}.help"))(command)


_LANG = typer.Option("--lang", help=h("cli.study.lang"))


def _lang(lang: str | None, study_dir: Path | None = None) -> str:
    """``--lang`` when given, else the study's ``lang:``, else Dutch (an unreadable study.yaml
    is reported by the command itself)."""
    if lang is not None:
        return lang.strip().lower() if lang.strip().lower() in ("nl", "en") else "nl"
    if study_dir is not None:
        try:
            from .study import load_config

            return load_config(study_dir).lang
        except PartnerschapError:
            pass
    return "nl"


def _error(exc: Exception, lang: str) -> None:
    from .study import STORE_ERRORS
    from .study.messages import render_error, st

    if isinstance(exc, STORE_ERRORS):  # a locked, damaged or unreadable store: no traceback
        exc = PartnerschapError(Msg("errors.study.store", error=exc))
    err.print(f"{st('error', lang)}: {render_error(exc, lang)}", highlight=False, markup=False,
              soft_wrap=True)


@study_app.command("init", help=h("cli.study.init.help"))
def study_init(
    study_dir: Annotated[Path, typer.Argument(help=h("cli.study.init.dir"))],
    instrument: Annotated[str, typer.Option(help=h("cli.help.instrument"))],
    waves: Annotated[str, typer.Option(help=h("cli.study.init.waves"))] = "pre,post",
    key_file: Annotated[Path | None, typer.Option(help=h("cli.ingest.key_file"))] = None,
    name: Annotated[str | None, typer.Option(help=h("cli.study.init.name"))] = None,
    ids: Annotated[str, typer.Option(help=h("cli.study.init.ids"))] = "per_school",
    lang: Annotated[str | None, _LANG] = None,
) -> None:
    """Create a study: study.yaml, an empty store and the fingerprint of the key."""
    from .privacy import load_key
    from .study import STORE_ERRORS, Study
    from .study.messages import st

    lang = _lang(lang)
    try:
        key = load_key(key_file)
        study = Study.init(study_dir, instrument, waves=[w for w in waves.split(",") if w.strip()],
                           key=key, name=name, ids=ids, lang=lang)
        cfg = study.config
        study.close()
    except (PartnerschapError, *STORE_ERRORS) as exc:
        _error(exc, lang)
        raise typer.Exit(2) from None
    out.print(st("init_done", lang, name=cfg.study, dir=study_dir, instrument=cfg.instrument,
                 waves=", ".join(cfg.wave_ids)), highlight=False, markup=False)


def submit(
    study_dir: Annotated[Path, typer.Argument(help=h("cli.study.dir"))],
    exports: Annotated[list[Path], typer.Argument(help=h("cli.ingest.exports"))],
    school: Annotated[str | None, typer.Option(help=h("cli.study.submit.school"))] = None,
    wave: Annotated[str | None, typer.Option(help=h("cli.study.submit.wave"))] = None,
    role: Annotated[str | None, typer.Option(help=h("cli.study.submit.role"))] = None,
    mapping: Annotated[Path | None, typer.Option(help=h("cli.ingest.mapping"))] = None,
    key_file: Annotated[Path | None, typer.Option(help=h("cli.ingest.key_file"))] = None,
    format: Annotated[str | None, typer.Option("--format", help=h("cli.ingest.format"))] = None,
    sheet: Annotated[str | None, typer.Option(help=h("cli.ingest.sheet"))] = None,
    header_row: Annotated[int | None, typer.Option(help=h("cli.ingest.header_row"))] = None,
    lang: Annotated[str | None, _LANG] = None,
) -> None:
    """Submit export files to a study (exit 0: rows accepted; 3: a file with none; 2: unusable)."""
    from .privacy import load_key
    from .study import STORE_ERRORS, KeyMismatchError, Study
    from .study.messages import render_feedback

    lang = _lang(lang, study_dir)
    code = 0
    try:
        key = load_key(key_file)
        study = Study.open(study_dir)
        study.check_key(key)
    except (PartnerschapError, *STORE_ERRORS) as exc:
        _error(exc, lang)
        raise typer.Exit(2) from None
    with study:
        for path in exports:
            try:
                feedback = study.submit([path], school=school, wave=wave, role=role,
                                        mapping=mapping, key=key, format=format, sheet=sheet,
                                        header_row=header_row)
            except KeyMismatchError as exc:
                _error(exc, lang)
                raise typer.Exit(2) from None
            except (PartnerschapError, *STORE_ERRORS) as exc:
                _error(exc, lang)
                code = 2
                continue
            for fb in feedback:
                out.print(render_feedback(fb, lang), highlight=False, markup=False)
                if fb.accepted == 0 and code == 0:
                    code = 3
    raise typer.Exit(code)


def status(
    study_dir: Annotated[Path, typer.Argument(help=h("cli.study.dir"))],
    as_json: Annotated[bool, typer.Option("--json", help=h("cli.study.status.json"))] = False,
    expected: Annotated[bool, typer.Option(
        "--expected", help=h("cli.study.status.expected"))] = False,
    lang: Annotated[str | None, _LANG] = None,
) -> None:
    """Per school x wave x role: submissions, rows, accepted, rejected, cleared answers, last
    submission."""
    from .study import STORE_ERRORS, Study
    from .study.messages import st

    lang = _lang(lang, study_dir)
    try:
        with Study.open(study_dir) as study:
            table = study.status(expected=expected)
            cfg = study.config
            shared = study.shared_ids() if cfg.ids == "study" else []
    except (PartnerschapError, *STORE_ERRORS) as exc:
        _error(exc, lang)
        raise typer.Exit(2) from None
    if len(shared):
        err.print(st("shared_ids", lang, n=len(shared)), highlight=False, markup=False)
    if as_json:
        records = json.loads(table.to_json(orient="records"))
        typer.echo(json.dumps(records, ensure_ascii=False, indent=1))
        return
    if table.empty:
        out.print(st("status_empty", lang), markup=False)
        return
    from rich.table import Table
    from rich.text import Text

    from .study.messages import status_rows

    head, rows = status_rows(table, cfg, lang)  # words for a person; --json keeps the keys
    view = Table(*head)
    for row in rows:
        view.add_row(*(Text(cell) for cell in row))  # a label is text, never markup
    out.print(view)


def responses(
    study_dir: Annotated[Path, typer.Argument(help=h("cli.study.dir"))],
    out_path: Annotated[Path, typer.Option("--out", help=h("cli.study.responses.out"))],
    rejected: Annotated[bool, typer.Option(
        "--rejected", help=h("cli.study.responses.rejected"))] = False,
    history: Annotated[bool, typer.Option(
        "--history", help=h("cli.study.responses.history"))] = False,
    lang: Annotated[str | None, _LANG] = None,
) -> None:
    """Write the study's current accepted rows (Contract 2), or with --rejected its rejected rows
    and their reasons, to a .csv or .parquet file."""
    from .study import STORE_ERRORS, Study
    from .study.messages import st

    lang = _lang(lang, study_dir)
    try:
        with Study.open(study_dir) as study:
            if rejected:
                frame = study.rejected(history=history, lang=lang)
                study.write_table(frame, out_path)
            else:
                frame = study.responses()
                study.write_table(frame, out_path)
    except (PartnerschapError, *STORE_ERRORS) as exc:
        _error(exc, lang)
        raise typer.Exit(2) from None
    out.print(st("rejected_done" if rejected else "responses_done", lang, n=len(frame),
                 out=out_path), highlight=False, markup=False)


def study_report_settings(study_dir: Path, out_dir: Path | None, lang: str, date: str | None):
    """``report --study DIR``: the study's current responses exported to ``DIR/current/`` (not
    into the report folder, which a report replaces whole and which may hold no input), with
    the study's instrument, waves (declared order), min_cell and the schools' conditions and
    start waves (``schools[].condition``, ``schools[].start_wave``; no conditions: no design
    blocks)."""
    from .report.build import ReportSettings
    from .study import Study

    out_dir = out_dir if out_dir is not None else study_dir / "reports"
    with Study.open(study_dir) as study:
        cfg = study.config
        responses_path = study.export_responses(Path(study_dir) / "current" / "responses.csv")
    return ReportSettings(project=cfg.study, instrument=cfg.instrument,
                          responses=responses_path, out_dir=Path(out_dir), lang=lang,
                          min_cell=cfg.min_cell, waves=tuple(cfg.wave_ids), report_date=date,
                          conditions={s.id: s.condition for s in cfg.schools
                                      if s.condition} or None,
                          start_waves={s.id: s.start_wave for s in cfg.schools
                                       if s.start_wave} or None)

