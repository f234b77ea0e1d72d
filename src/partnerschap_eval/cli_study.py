"""Study commands of the CLI (Contract 6): ``study init``, ``submit``, ``status``, ``responses``.

Thin like the rest of the CLI: parse, call :mod:`partnerschap_eval.study`, print the texts of
:mod:`partnerschap_eval.study.messages`, set the exit code. Registered on the main app by
:mod:`partnerschap_eval.cli` (:func:`register`).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .errors import PartnerschapError

out = Console()
err = Console(stderr=True)
study_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="Create a study (a folder with study.yaml and its store).")


def register(app: typer.Typer) -> None:
    """Add ``study init``, ``submit``, ``status`` and ``responses`` to the main app."""
    app.add_typer(study_app, name="study")
    for command in (submit, status, responses):
        app.command()(command)

_LANG = typer.Option("--lang", help="Language of the messages: nl or en (default: the study's "
                                     "lang: in study.yaml, else nl).")


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
    from .study.messages import render_error, st

    if isinstance(exc, sqlite3.Error):  # a locked, damaged or unreadable store: no traceback
        exc = PartnerschapError(f"The study's store cannot be used ({exc}). Check that the "
                                "folder is writable and not on a network drive, then try again.")
    err.print(f"{st('error', lang)}: {render_error(exc, lang)}", highlight=False, markup=False,
              soft_wrap=True)


@study_app.command("init")
def study_init(
    study_dir: Annotated[Path, typer.Argument(help="Folder of the new study.")],
    instrument: Annotated[str, typer.Option(help="Instrument id or YAML path.")],
    waves: Annotated[str, typer.Option(help="Waves in time order, comma-separated.")] = "pre,post",
    key_file: Annotated[Path | None, typer.Option(help="Pseudonymisation key file.")] = None,
    name: Annotated[str | None, typer.Option(help="Name of the study.")] = None,
    ids: Annotated[str, typer.Option(help="per_school (numbers restart per school) or study.")]
    = "per_school",
    lang: Annotated[str | None, _LANG] = None,
) -> None:
    """Create a study: study.yaml, an empty store and the fingerprint of the key."""
    from .privacy import load_key
    from .study import Study
    from .study.messages import st

    lang = _lang(lang)
    try:
        key = load_key(key_file)
        study = Study.init(study_dir, instrument, waves=[w for w in waves.split(",") if w.strip()],
                           key=key, name=name, ids=ids, lang=lang)
        cfg = study.config
        study.close()
    except (PartnerschapError, sqlite3.Error) as exc:
        _error(exc, lang)
        raise typer.Exit(2) from None
    out.print(st("init_done", lang, name=cfg.study, dir=study_dir, instrument=cfg.instrument,
                 waves=", ".join(cfg.wave_ids)), highlight=False, markup=False)


def submit(
    study_dir: Annotated[Path, typer.Argument(help="The study folder.")],
    exports: Annotated[list[Path], typer.Argument(help="Export files (CSV, XLSX, SAV, ...).")],
    school: Annotated[str | None, typer.Option(help="School of every row.")] = None,
    wave: Annotated[str | None, typer.Option(help="Wave of every row (id or alias).")] = None,
    role: Annotated[str | None, typer.Option(help="Role of every row.")] = None,
    mapping: Annotated[Path | None, typer.Option(help="Mapping YAML file.")] = None,
    key_file: Annotated[Path | None, typer.Option(help="Pseudonymisation key file.")] = None,
    format: Annotated[str | None, typer.Option("--format", help="Override format detection.")]
    = None,
    sheet: Annotated[str | None, typer.Option(help="Workbook sheet (name or number).")] = None,
    header_row: Annotated[int | None, typer.Option(
        help="Line (CSV) or row (Excel) of the header, from 1; default: found, title rows "
             "above it skipped.")] = None,
    lang: Annotated[str | None, _LANG] = None,
) -> None:
    """Submit export files to a study (exit 0: rows accepted; 3: a file with none; 2: unusable)."""
    from .privacy import load_key
    from .study import KeyMismatchError, Study
    from .study.messages import render_feedback

    lang = _lang(lang, study_dir)
    code = 0
    try:
        key = load_key(key_file)
        study = Study.open(study_dir)
        study.check_key(key)
    except (PartnerschapError, sqlite3.Error) as exc:
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
            except (PartnerschapError, sqlite3.Error) as exc:
                _error(exc, lang)
                code = 2
                continue
            for fb in feedback:
                out.print(render_feedback(fb, lang), highlight=False, markup=False)
                if fb.accepted == 0 and code == 0:
                    code = 3
    raise typer.Exit(code)


def status(
    study_dir: Annotated[Path, typer.Argument(help="The study folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    expected: Annotated[bool, typer.Option(
        "--expected", help="Also list the declared cells without a submission (zeros).")] = False,
    lang: Annotated[str | None, _LANG] = None,
) -> None:
    """Per school x wave x role: submissions, rows, accepted, rejected, last submission."""
    from .study import Study
    from .study.messages import st

    lang = _lang(lang, study_dir)
    try:
        with Study.open(study_dir) as study:
            table = study.status(expected=expected)
            shared = study.shared_ids() if study.config.ids == "study" else []
    except (PartnerschapError, sqlite3.Error) as exc:
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

    cols = ["school_id", "wave", "role", "submissions", "rows_in", "accepted", "rejected",
            "last_submitted"]
    view = Table(*cols)
    for row in table[cols].astype(object).fillna("–").itertuples(index=False):
        view.add_row(*(str(v) for v in row))
    out.print(view)


def responses(
    study_dir: Annotated[Path, typer.Argument(help="The study folder.")],
    out_path: Annotated[Path, typer.Option("--out", help="Output .csv or .parquet file.")],
    rejected: Annotated[bool, typer.Option(
        "--rejected", help="Write the rejected rows with their reasons instead.")] = False,
    history: Annotated[bool, typer.Option(
        "--history", help="With --rejected: also those of replaced submissions.")] = False,
    lang: Annotated[str | None, _LANG] = None,
) -> None:
    """Write the study's current accepted rows (Contract 2), or with --rejected its rejected rows
    and their reasons, to a .csv or .parquet file."""
    from .study import Study
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
    except (PartnerschapError, sqlite3.Error) as exc:
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

