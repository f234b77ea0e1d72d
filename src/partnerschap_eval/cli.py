"""Command line (Contract 3): parse, call the library, print, set the exit code.

User errors print one paragraph (what went wrong, where, how to fix) and exit with status 2;
they never show a traceback. The command line's own words come from the message catalogue
(``cli.po``) in Dutch, as its users are Dutch-speaking school staff: ``PARTNERSCHAP_EVAL_LANG=en``
or a command's ``--lang en`` gives English (help texts follow the variable: they are worded when
the command starts). The library's errors carry their catalogue key (``errors.po``), so they are
printed in the same language.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.abc
import importlib.util
import re
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
import typer.core
from rich.console import Console
from typer._click import exceptions as click_exceptions  # typer's own click (typer >= 0.29)
from typer._click.formatting import HelpFormatter

from . import i18n
from ._contract import CODED_KEYS, KEY_COLUMNS
from .errors import Msg, PartnerschapError

LANG = i18n.env_lang()  # the help texts are worded in it when the command starts


def m(key: str, **params: object) -> str:
    """A text of the command line (``cli.po``) in :data:`LANG`."""
    return i18n.t(key, LANG, **params)


# -- typer's own words --------------------------------------------------------------------------
# "Usage:", the panel titles ("Options", "Commands"), "Show this message and exit.", "Try '...
# --help' for help." and the parse errors ("No such option", "Missing argument", "Invalid value
# for") are worded by typer (0.29 carries its own click, ``typer._click``, whose texts are fixed
# English: no gettext to hook). While this command line runs (:class:`_Group`) they come from the
# catalogue (``cli.click.*``) in :data:`LANG`, the variable's language (they are worded before a
# command's ``--lang`` is read), through typer's own extension points: the constants of
# ``typer.rich_utils`` (set for the run and put back after it), a context class whose formatter
# words the usage line and whose help option reads in the catalogue's words, and the group's
# ``make_context``/``invoke``, where a parse error is worded again from what it records (the
# option, the parameter, pydantic's error type). Library files are not touched.

#: typer's texts that are constants of ``typer.rich_utils`` -> their catalogue keys.
_TYPER_TEXTS = {"ARGUMENTS_PANEL_TITLE": "arguments", "OPTIONS_PANEL_TITLE": "options",
                "COMMANDS_PANEL_TITLE": "commands", "ERRORS_PANEL_TITLE": "error_panel",
                "ABORTED_TEXT": "aborted", "RICH_HELP": "try_help",
                "DEFAULT_STRING": "default", "ENVVAR_STRING": "env_var",
                "REQUIRED_LONG_STRING": "required", "DEPRECATED_STRING": "deprecated"}


def _c(key: str, **params: object) -> str:
    """A text of typer's (``cli.click.*``) in :data:`LANG`."""
    return i18n.t(f"cli.click.{key}", LANG, **params)


class _Formatter(HelpFormatter):
    """typer's help formatter with the usage line's prefix from the catalogue."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, f"{_c('usage')} " if prefix is None else prefix)


class _Context(typer.Context):
    """typer's context with :class:`_Formatter` and the help option's text from the catalogue."""

    formatter_class = _Formatter

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        option = self.command.get_help_option(self)
        if option is not None:
            option.help = _c("help_option")


def _problem(exc: Exception) -> str:
    """What pydantic (typer's coercion) found wrong with a value, worded from the catalogue."""
    from pydantic import ValidationError

    from .errors import field_problem

    cause = exc.__cause__
    errors = cause.errors() if isinstance(cause, ValidationError) else []
    return field_problem(errors[0] if errors else {}).render(LANG)


def _hint(exc: click_exceptions.BadParameter) -> str | None:
    """The parameter an error is about, as typer names it (``'--min-cell'``, ``'responses'``)."""
    hint = exc.param_hint if exc.param_hint is not None else (
        exc.param.get_error_hint() if exc.param is not None else None)
    if hint is not None and not isinstance(hint, str):
        hint = " / ".join(repr(x) for x in hint)
    return hint


_EXTRA = re.compile(r"Got unexpected extra argument\(s\) \((?P<args>.*)\)", re.DOTALL)
_NO_COMMAND = re.compile(r"No such command (?P<name>.*?)\.(?: Did you mean (?P<close>.*)\?)?",
                         re.DOTALL)
_OPTION_VALUE = re.compile(r"Option .* requires (?:an argument|(?P<n>\d+) arguments)\.",
                           re.DOTALL)


def _worded(exc: click_exceptions.UsageError) -> str | None:
    """A parse error of typer's in :data:`LANG`, or None for one this module does not know
    (shown as typer words it)."""
    E = click_exceptions
    if isinstance(exc, E.NoSuchOption):
        text = _c("no_such_option", option=exc.option_name)
        if exc.possibilities:
            text += " " + _c("possible_options", options=", ".join(sorted(exc.possibilities)))
        return text
    if isinstance(exc, E.MissingParameter):
        kind = exc.param_type or (exc.param.param_type_name if exc.param is not None else "")
        hint = _hint(exc)
        text = _c(f"missing_{kind}" if kind in ("argument", "option") else "missing_parameter",
                  name=hint or "")
        choices = exc.param.get_missing_message(ctx=exc.ctx) if exc.param is not None else ""
        if choices:  # "Choose from:\n\ta,\n\tb"
            listed = ", ".join(c.strip() for c in choices.split(":", 1)[1].split(","))
            text += " " + _c("choose_from", choices=listed)
        return text
    if isinstance(exc, E.BadParameter):
        hint = _hint(exc)
        problem = _problem(exc)
        return (_c("invalid_value_for", name=hint, problem=problem) if hint
                else _c("invalid_value", problem=problem))
    if isinstance(exc, E.BadOptionUsage):
        if _OPTION_VALUE.fullmatch(exc.message):
            return _c("requires_value", name=repr(exc.option_name))
        return _c("takes_no_value", name=repr(exc.option_name))
    if (found := _EXTRA.fullmatch(exc.message)) is not None:
        return _c("extra_args", args=found["args"])
    if (found := _NO_COMMAND.fullmatch(exc.message)) is not None:
        text = _c("no_such_command", name=found["name"])
        return text + " " + _c("did_you_mean", names=found["close"]) if found["close"] else text
    if exc.message == "Missing command.":
        return _c("missing_command")
    return None


@contextlib.contextmanager
def _reworded():
    """Raise a parse error of typer's again, worded in :data:`LANG` (typer shows it)."""
    try:
        yield
    except click_exceptions.NoArgsIsHelpError:
        raise
    except click_exceptions.UsageError as exc:
        text = _worded(exc)
        if text is None:
            raise
        raise click_exceptions.UsageError(text, ctx=exc.ctx) from None


class _after_import(importlib.abc.MetaPathFinder):  # noqa: N801 (used as a function)
    """Call ``then(module)`` once module ``name`` is loaded: now if it is, else right after its
    code has run (until :meth:`remove`)."""

    def __init__(self, name: str, then) -> None:
        self.name, self.then = name, then
        if name in sys.modules:
            then(sys.modules[name])
        else:
            sys.meta_path.insert(0, self)

    def remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, fullname, path, target=None):  # noqa: D102 (importlib's)
        if fullname != self.name:
            return None
        self.remove()
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            run = spec.loader.exec_module

            def exec_module(module, run=run) -> None:
                run(module)
                self.then(module)

            spec.loader.exec_module = exec_module
        return spec


class _Group(typer.core.TyperGroup):
    """The main command group: typer's own texts in the user's language while it runs."""

    def main(self, *args, **kwargs):  # noqa: D102 (click's)
        global LANG
        LANG = i18n.env_lang()
        saved: dict[str, str] = {}

        def reword(rich_utils) -> None:
            saved.update({name: getattr(rich_utils, name) for name in _TYPER_TEXTS})
            for name, key in _TYPER_TEXTS.items():
                setattr(rich_utils, name, _c(key))

        # typer loads rich_utils (50 ms of rich's modules) only to print help or an error: its
        # texts are set when it does, not loaded on every run to be set
        hook = _after_import("typer.rich_utils", reword)
        todo = [self]
        while todo:  # every command's usage line and help option, in the catalogue's words
            command = todo.pop()
            command.context_class = _Context
            if command.options_metavar:
                command.options_metavar = _c("options_metavar")
            if isinstance(command, typer.core.TyperGroup):
                command.subcommand_metavar = _c("command_metavar")
                todo += command.commands.values()
        try:
            return super().main(*args, **kwargs)
        finally:
            hook.remove()
            for name, english in saved.items():
                setattr(sys.modules["typer.rich_utils"], name, english)

    def make_context(self, *args, **kwargs):  # noqa: D102 (click's)
        with _reworded():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):  # noqa: D102 (click's)
        with _reworded():
            return super().invoke(ctx)


app = typer.Typer(cls=_Group, add_completion=False, no_args_is_help=True,
                  pretty_exceptions_enable=False, help=m("cli.app_help"))
out = Console()
err = Console(stderr=True)


def _speak(lang: str | None) -> None:
    """Word this command's texts and errors in ``--lang`` (when given; an unknown one is refused)."""
    global LANG
    if lang is None:
        return
    code = lang.strip().lower()
    if code not in i18n.LANGS:
        _fail(PartnerschapError(m("cli.report.lang_invalid", lang=lang)))
    LANG = code


def _fail(exc: Exception, lang: str | None = None) -> None:
    """Print a user error as one paragraph in ``lang`` (a command's ``--lang``) or :data:`LANG`."""
    code = (lang or "").strip().lower()
    code = code if code in i18n.LANGS else LANG
    text = exc.render(code) if isinstance(exc, PartnerschapError) else str(exc)
    err.print(f"[bold red]{m('cli.error')}:[/] {text}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _prefetch(responses: Path, *, coded: bool = False) -> None:
    """Parse a responses CSV in the background while the command imports its libraries (for
    ``score``, ``coded``: the narrow table of :func:`~partnerschap_eval._io.arrow_answers_csv`)."""
    if responses.suffix.lower() == ".csv":
        from ._io import prefetch_table_csv

        prefetch_table_csv(responses, KEY_COLUMNS, CODED_KEYS if coded else None)


def _yaml_path(instrument: str | None) -> Path | None:
    """The instrument as a file when it is given as a YAML path (an input to protect)."""
    return Path(instrument) if instrument and instrument.endswith((".yaml", ".yml")) else None


def _wave_list(text: str) -> list[str]:
    """``--waves pre,post`` as a list; an empty name is a user error, not a wave."""
    names = [w.strip() for w in text.split(",")]
    if not all(names):
        raise PartnerschapError(m("cli.waves_empty", text=repr(text)))
    return names


class _Step:
    """Prints a step and how long it took (the demo and reports are a few seconds each)."""

    def __init__(self, text: str):
        self.text = text

    def __enter__(self) -> _Step:
        self.start = time.perf_counter()
        out.print(f"• {self.text} …", highlight=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            out.print("  " + m("cli.step_done", seconds=i18n.number(
                time.perf_counter() - self.start, LANG, 1)), style="dim")


def _version(value: bool) -> None:
    if value:
        from . import __version__

        out.print(m("cli.version", version=__version__), highlight=False)
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", help=m("cli.version_help"), callback=_version, is_eager=True)] = False) -> None:
    global LANG
    LANG = i18n.env_lang()  # every run starts from the variable; a command's --lang may change it


_LANG_HELP = m("cli.lang_help")


@app.command(help=m("cli.keygen.help"))
def keygen(out_path: Annotated[Path, typer.Option("--out", help=m("cli.keygen.out"))],
           lang: Annotated[str | None, typer.Option(help=_LANG_HELP)] = None) -> None:
    from .privacy import keygen as _keygen

    _speak(lang)
    try:
        path = _keygen(out_path)
    except PartnerschapError as exc:
        _fail(exc)
    out.print(m("cli.keygen.done", path=path))


@app.command(help=m("cli.ingest.help"))
def ingest(
    exports: Annotated[list[Path], typer.Argument(help=m("cli.ingest.exports"))],
    instrument: Annotated[str, typer.Option(help=m("cli.help.instrument"))],
    out_dir: Annotated[Path, typer.Option("--out", help=m("cli.ingest.out"))],
    wave: Annotated[str | None, typer.Option(help=m("cli.ingest.wave"))] = None,
    role: Annotated[str | None, typer.Option(help=m("cli.ingest.role"))] = None,
    school: Annotated[str | None, typer.Option(help=m("cli.ingest.school"))] = None,
    mapping: Annotated[Path | None, typer.Option(help=m("cli.ingest.mapping"))] = None,
    key_file: Annotated[Path | None, typer.Option(help=m("cli.ingest.key_file"))] = None,
    format: Annotated[str | None, typer.Option("--format", help=m("cli.ingest.format"))] = None,
    sheet: Annotated[str | None, typer.Option(help=m("cli.ingest.sheet"))] = None,
    header_row: Annotated[int | None, typer.Option(help=m("cli.ingest.header_row"))] = None,
    lang: Annotated[str | None, typer.Option(help=_LANG_HELP)] = None,
) -> None:
    from .ingest import ExportSpec, ingest_exports, ingest_output, write_ingest_files
    from .privacy import load_key

    _speak(lang)
    try:
        # checks, lock and staging before anything is read: a refused run has done nothing
        with ingest_output(out_dir, [*exports, mapping, key_file, _yaml_path(instrument)]) as stage:
            key = load_key(key_file)
            specs = [ExportSpec(path=p, wave=wave, role=role, school=school, format=format,
                                sheet=sheet, header_row=header_row) for p in exports]
            result = ingest_exports(specs, instrument, key, mapping)
            written = write_ingest_files(result, stage)
        paths = {kind: out_dir / p.name for kind, p in written.items()}
    except PartnerschapError as exc:
        _fail(exc)
    totals = result.log["totals"]
    out.print(m("cli.ingest.done", rows_in=totals["rows_in"], accepted=totals["accepted"],
                rejected=totals["rejected"], rejected_file=paths["rejected"]))
    for f in result.log["files"]:
        details = f.get("details", {})
        if details.get("title_rows"):
            err.print(f"[yellow]{m('cli.note')}:[/] "
                      + m("cli.ingest.title_rows", file=f["file"], n=details["title_rows"],
                          line=details["header_line"]), highlight=False)
        if details.get("skipped_sheets"):
            err.print(f"[yellow]{m('cli.note')}:[/] "
                      + m("cli.ingest.skipped_sheets", file=f["file"],
                          skipped=", ".join(details["skipped_sheets"]), sheet=details["sheet"]),
                      highlight=False)
        if f["pii_columns"]:
            cols = ", ".join(c["column"] for c in f["pii_columns"])
            err.print(f"[yellow]{m('cli.warning')}:[/] "
                      + m("cli.ingest.pii", file=f["file"], columns=cols), highlight=False)
        if f.get("withheld_values"):  # counted, never shown (the output firewall)
            counts = ", ".join(f"{n} {kind}" for kind, n in f["withheld_values"].items())
            err.print(f"[yellow]{m('cli.note')}:[/] "
                      + m("cli.ingest.withheld", file=f["file"], counts=counts), highlight=False)
        if f["unmapped_columns"]:
            err.print(f"[yellow]{m('cli.note')}:[/] "
                      + m("cli.ingest.unmapped", file=f["file"],
                          columns=", ".join(f["unmapped_columns"])), highlight=False)
    # A file that gave no row (a typo in --role, a wave the instrument does not know) is not a
    # success: the outputs are written (every row is in rejected.csv with its reason), and the
    # exit code says so, as `submit` does (Contract 6: 3 = a file with no row accepted).
    empty = [f["file"] for f in result.log["files"] if f["accepted"] == 0]
    for name in empty:
        err.print(f"[yellow]{m('cli.warning')}:[/] "
                  + m("cli.ingest.none_accepted", file=name, rejected_file=paths["rejected"]),
                  highlight=False)
    if empty:
        raise typer.Exit(code=3)


@app.command(help=m("cli.score.help"))
def score(
    responses: Annotated[Path, typer.Argument(help=m("cli.help.responses"))],
    instrument: Annotated[str, typer.Option(help=m("cli.help.instrument"))],
    out_path: Annotated[Path, typer.Option("--out", help=m("cli.score.out"))],
    waves: Annotated[str | None, typer.Option(help=m("cli.score.waves"))] = None,
    lang: Annotated[str | None, typer.Option(help=_LANG_HELP)] = None,
) -> None:
    from ._outputs import check_output

    _speak(lang)
    try:
        check_output(out_path, [responses, _yaml_path(instrument)], folder=False,
                     what=Msg("errors.what.scores_file"))
        _prefetch(responses, coded=_SCORE_FAST)
        from .instruments import load_instrument

        inst = load_instrument(instrument)
        rows = _score_plain_csv(responses, inst, out_path, waves) if _SCORE_FAST else None
        if rows is None:  # any other file, and every problem: the general path decides
            from ._io import write_csv
            from .privacy import screen_ids, screen_responses
            from .report.build import read_responses
            from .scoring import score_scales, validate_responses, wave_order

            data = validate_responses(read_responses(responses), inst)
            screen_responses(data, inst.roles)  # scores.csv is an output: no key cell as typed
            screen_ids(data["respondent_id"])  # and its ids are pseudonyms (Contract 5)
            scores = score_scales(data, inst)
            if waves:  # declared: every wave must be in it, and the rows follow it
                order = wave_order(scores["wave"], _wave_list(waves))
                rank = {w: i for i, w in enumerate(order)}
                scores = scores.iloc[scores["wave"].map(rank).argsort(kind="stable")]
            write_csv(scores, out_path)
            rows = len(scores)
    except PartnerschapError as exc:
        _fail(exc)
    out.print(m("cli.score.done", rows=i18n.integer(rows, LANG), scales=len(inst.scales),
                path=out_path), highlight=False)


#: Whether ``score`` tries :func:`_score_plain_csv` first (the differential tests turn it off).
_SCORE_FAST = True


def _score_plain_csv(responses: Path, inst, out_path: Path, waves: str | None) -> int | None:
    """``score`` of a plain Contract 2 CSV file without pandas; None leaves it to the general
    path (reading a frame, ``validate_responses``, ``screen_responses``, ``score_scales``).

    The same steps on the Arrow table the general path would turn into its frame: the input-set
    check, :func:`~partnerschap_eval.scoring.arrow_responses` (the checks of
    ``validate_responses``; None for anything unusual or any problem), the firewall's verdict on
    the key cells (:func:`~partnerschap_eval.privacy.withheld_key_values`; a withheld cell goes
    to the general path, which words the error), :func:`~partnerschap_eval.scoring.scale_scores`
    and :func:`~partnerschap_eval._io.write_columns_csv`: byte for byte the general path's
    ``scores.csv`` (tests/test_score_fast.py compares the two on valid and invalid files).
    """
    import os
    import stat

    import numpy as np

    from ._io import arrow_answers_csv, arrow_ints, open_input, release_table_csv, write_columns_csv
    from ._outputs import check_input_set

    if responses.suffix.lower() != ".csv":
        return None
    try:  # what read_responses_file checks before it reads: its errors are the general path's
        with open_input(responses) as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode) or fh.read(4) == b"PAR1":
                return None
    except OSError:
        return None
    table = arrow_answers_csv(responses, KEY_COLUMNS, CODED_KEYS)
    if table is None:
        return None
    check_input_set(responses)  # as read_responses does after reading
    from .privacy import pseudonym_column, withheld_ids, withheld_key_values
    from .scoring import arrow_responses, scale_scores, wave_order

    checked = arrow_responses(table, inst)
    if checked is None:
        return None
    keys, answers = checked
    distinct = {c: keys[c].dictionary.to_pylist() for c in CODED_KEYS}
    if withheld_key_values(distinct, inst.roles):
        return None
    ids = keys["respondent_id"]
    if not pseudonym_column(ids) and withheld_ids(set(ids.to_pylist())):
        return None  # an id that looks like personal data: the general path says which kind
    release_table_csv(responses, KEY_COLUMNS)
    n = table.num_rows
    del table  # the answers are coded: the parsed columns can go before the scores are written
    scores = scale_scores(answers, n, inst)
    order = None
    if waves:  # declared: every wave must be in it, and the rows follow it (a stable sort)
        ranked = {w: i for i, w in enumerate(wave_order(distinct["wave"], _wave_list(waves)))}
        rank = np.array([ranked[w] for w in distinct["wave"]], dtype=np.int64)
        order = np.argsort(rank[arrow_ints(keys["wave"].indices)], kind="stable")
    write_columns_csv(out_path, [*KEY_COLUMNS, *scores],
                      [*(keys[k] for k in KEY_COLUMNS), *scores.values()], order)
    return n


@app.command(help=m("cli.evaluate.help"))
def evaluate(
    responses: Annotated[Path, typer.Argument(help=m("cli.help.responses"))],
    instrument: Annotated[str, typer.Option(help=m("cli.help.instrument"))],
    out_path: Annotated[Path, typer.Option("--out", help=m("cli.evaluate.out"))],
    min_cell: Annotated[int, typer.Option(help=m("cli.help.min_cell"))] = 10,
    waves: Annotated[str | None, typer.Option(help=m("cli.help.waves_order"))] = None,
    lang: Annotated[str | None, typer.Option(help=_LANG_HELP)] = None,
    consecutive: Annotated[bool, typer.Option("--consecutive",
                                              help=m("cli.help.consecutive"))] = False,
) -> None:
    from ._outputs import check_output

    _speak(lang)
    try:
        check_output(out_path, [responses, _yaml_path(instrument)], folder=False,
                     what=Msg("errors.what.results_file"))
        _prefetch(responses)
        from ._io import canonical_json, write_text
        from .privacy import check_min_cell
        from .report.build import read_responses
        from .results.scales import evaluate as _evaluate
        from .results.scales import input_record

        check_min_cell(min_cell, "--min-cell")
        order = _wave_list(waves) if waves else None
        # ``consecutive`` is recorded only when asked for: earlier results stay as they were
        params = {"min_cell": min_cell, "waves": order} | (
            {"consecutive": True} if consecutive else {})
        results = _evaluate(read_responses(responses), instrument, waves=order, min_cell=min_cell,
                            inputs=[input_record(responses, out_path.parent)],
                            parameters=params, consecutive=consecutive)
        write_text(out_path, canonical_json(results))
    except PartnerschapError as exc:
        _fail(exc)
    out.print(m("cli.evaluate.done", path=out_path))


def _overrides(responses: Path | None, instrument: str | None, project: str | None,
               out_dir: Path | None, lang: str | None, min_cell: int | None, date: str | None,
               waves: str | None, consecutive: bool = False) -> dict:
    """The report settings given on the command line (they override the project file)."""
    from .privacy import check_min_cell

    given: dict = {}
    if lang is not None:
        if lang.strip().lower() not in i18n.LANGS:
            raise PartnerschapError(m("cli.report.lang_invalid", lang=lang))
        given["lang"] = lang.strip().lower()
    if min_cell is not None:
        given["min_cell"] = check_min_cell(min_cell, "--min-cell")
    for name, value in (("responses", responses), ("instrument", instrument),
                        ("project", project), ("out_dir", out_dir), ("report_date", date)):
        if value is not None:
            given[name] = value
    if waves:
        given["waves"] = tuple(_wave_list(waves))
    if consecutive:  # the flag turns it on; a project file's ``consecutive: true`` stays on
        given["consecutive"] = True
    return given


@app.command(help=m("cli.report.help"))
def report(
    config: Annotated[Path | None, typer.Option(help=m("cli.report.config"))] = None,
    study: Annotated[Path | None, typer.Option(help=m("cli.report.study"))] = None,
    responses: Annotated[Path | None, typer.Option(help=m("cli.help.responses"))] = None,
    instrument: Annotated[str | None, typer.Option(help=m("cli.help.instrument"))] = None,
    project: Annotated[str | None, typer.Option(help=m("cli.report.project"))] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help=m("cli.report.out"))] = None,
    lang: Annotated[str | None, typer.Option(help=m("cli.report.lang"))] = None,
    min_cell: Annotated[int | None, typer.Option(help=m("cli.help.min_cell"))] = None,
    date: Annotated[str | None, typer.Option(help=m("cli.report.date"))] = None,
    waves: Annotated[str | None, typer.Option(help=m("cli.help.waves_order"))] = None,
    pdf: Annotated[Path | None, typer.Option(help=m("cli.report.pdf"))] = None,
    consecutive: Annotated[bool, typer.Option("--consecutive",
                                              help=m("cli.help.consecutive"))] = False,
) -> None:
    from .privacy import DEFAULT_MIN_CELL
    from .report.build import ReportSettings, build_report
    from .report.project import load_project

    _speak(lang)
    try:
        given = _overrides(responses, instrument, project, out_dir, lang, min_cell, date, waves,
                           consecutive)
        if config is not None:
            # the command line wins over the project file
            settings = dataclasses.replace(load_project(config), **given)
        elif study is not None:
            from .cli_study import study_report_settings

            settings = study_report_settings(study, out_dir, given.get("lang", "nl"), date)
            settings = dataclasses.replace(settings, **given)
        else:
            missing = [n for n, v in (("--responses", responses), ("--instrument", instrument),
                                      ("--project", project), ("--out", out_dir)) if v is None]
            if missing:
                raise PartnerschapError(m("cli.report.needs", missing=", ".join(missing)))
            settings = ReportSettings(**{"lang": "nl", "min_cell": DEFAULT_MIN_CELL, **given})
        if pdf is not None:  # refused before the build, not after it
            from .report.pdf import check_pdf_target

            check_pdf_target(settings.out_dir / "index.html", pdf)
        with _Step(m("cli.report.step", project=settings.project, out=settings.out_dir)):
            paths = build_report(settings, protect=(config,) if config is not None else ())
        if pdf is not None:
            from .report.pdf import write_pdf

            with _Step(m("cli.report.pdf_step", path=pdf)):
                write_pdf(paths.html, pdf)
    except PartnerschapError as exc:
        _fail(exc, lang)
    out.print(m("cli.report.done", html=paths.html, n=len(paths.school_pages)), highlight=False)


@app.command(help=m("cli.reproduce.help"))
def reproduce(report_dir: Annotated[Path, typer.Argument(help=m("cli.reproduce.dir"))],
              lang: Annotated[str | None, typer.Option(help=_LANG_HELP)] = None) -> None:
    from .report.build import reproduce as _reproduce

    _speak(lang)
    try:
        with _Step(m("cli.reproduce.step", dir=report_dir)):
            problems = _reproduce(report_dir)
    except PartnerschapError as exc:
        _fail(exc)
    if problems:
        err.print(f"[bold red]{m('cli.reproduce.drift')}:[/] {m('cli.reproduce.drift_head')}",
                  highlight=False)
        for p in problems:
            err.print(p, highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(code=1)
    out.print(m("cli.reproduce.done"))


@app.command(help=m("cli.demo.help"))
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help=m("cli.demo.out"))] = Path("reports/demo"),
    raw_dir: Annotated[Path, typer.Option("--raw", help=m("cli.demo.raw"))] = Path("data/raw/demo"),
    lang: Annotated[str | None, typer.Option(help=m("cli.report.lang"))] = None,
) -> None:
    """The demo study: exports written (when missing), submitted to a study in ``OUT/study``,
    the framework questionnaires ingested beside it, and the study reported as ``report
    --study`` reports it (with the frameworks joined)."""
    from ._outputs import output_set
    from .cli_study import study_report_settings
    from .ingest import ExportSpec, ingest_exports, write_ingest_files
    from .privacy import DEMO_KEY
    from .report.build import build_report_into
    from .study import Study
    from .synth import (
        DEMO_DESIGN,
        FRAMEWORK_INSTRUMENTS,
        FrameworkDesign,
        write_demo_exports,
        write_framework_exports,
    )
    from .synth.demo import build_demo_study

    _speak(lang)
    try:
        # The demo folder (the study, the framework ingests and the report on them) is one
        # output set: built in a staging sibling and moved into place whole.
        with output_set(out_dir, kind="report", inputs=[raw_dir],
                        what=Msg("errors.what.demo_folder")) as stage:
            with _Step(m("cli.demo.step_exports", raw=raw_dir)):
                specs = write_demo_exports(raw_dir, design=DEMO_DESIGN)
                fw_specs = write_framework_exports(raw_dir,
                                                   design=FrameworkDesign(study=DEMO_DESIGN))
            with _Step(m("cli.demo.step_study", study=out_dir / "study")):
                study_dir = build_demo_study(stage / "study", specs, DEMO_KEY, design=DEMO_DESIGN)
                with Study.open(study_dir) as study:
                    _demo_status(study)
            with _Step(m("cli.demo.step_ingest")):
                frameworks = []
                for inst_id in FRAMEWORK_INSTRUMENTS:
                    mine = [ExportSpec(path=s["path"], wave=s["wave"]) for s in fw_specs
                            if s["instrument"] == inst_id]
                    fw = ingest_exports(mine, inst_id, DEMO_KEY)
                    fw_paths = write_ingest_files(fw, stage / "ingest" / inst_id)
                    frameworks.append((inst_id, fw_paths["responses"]))
                    t = fw.log["totals"]
                    out.print("  " + m("cli.demo.rows", instrument=inst_id, **t),
                              highlight=False)
            with _Step(m("cli.demo.step_report")):
                # report --study's settings (the study's responses, declared waves, min_cell,
                # the schools' conditions), with the framework questionnaires joined
                settings = study_report_settings(study_dir, stage, lang or "nl", None)
                settings = dataclasses.replace(settings, frameworks=tuple(frameworks))
                report = build_report_into(settings, stage)
        report = report.moved(stage, out_dir)
    except PartnerschapError as exc:
        _fail(exc, lang)
    out.print(f"[bold green]{m('cli.demo.done', html=report.html, n=len(report.school_pages))}[/]",
              highlight=False)


def _demo_status(study) -> None:
    """Prints what the demo study holds: its waves and arms, and per wave the cells and rows
    accepted and rejected (``status``)."""
    from collections import Counter

    cfg = study.config
    status = study.status()
    arms = Counter(s.condition for s in cfg.schools if s.condition).items()
    out.print("  " + m("cli.demo.study", waves=", ".join(
        f"{w.id} ({w.label.get(LANG, w.id)})" for w in cfg.waves), schools=len(cfg.schools),
        arms=", ".join(f"{arm} {n}" for arm, n in arms)), highlight=False)
    for wave in cfg.wave_ids:
        part = status[status["wave"] == wave]
        out.print("  " + m("cli.demo.wave", wave=wave, cells=len(part),
                           files=part["file"].nunique(), accepted=int(part["accepted"].sum()),
                           rejected=int(part["rejected"].sum())), highlight=False)


from .cli_study import register as _register_study  # noqa: E402

_register_study(app)  # study init, submit, status, responses (Contract 6)

from .portal.cli import register as _register_portal  # noqa: E402

_register_portal(app)  # portal serve, link, revoke (Contract 7; Django only for serve)


def main() -> None:
    """Entry point of the ``partnerschap-eval`` command."""
    try:
        app()
    except KeyboardInterrupt:
        err.print(m("cli.interrupted"))
        sys.exit(130)


if __name__ == "__main__":
    main()
