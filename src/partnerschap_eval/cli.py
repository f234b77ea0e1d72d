"""Command line (Contract 3): parse, call the library, print, set the exit code.

User errors print one paragraph (what went wrong, where, how to fix) and exit with status 2;
they never show a traceback.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .errors import PartnerschapError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Measure parent-professional partnership and evaluate interventions.")
out = Console()
err = Console(stderr=True)


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


# Contract 2's text columns, as ``reporting.read_responses`` reads them (same order)
_RESPONSE_TEXT = ("respondent_id", "wave", "role", "school_id")


def _prefetch(responses: Path) -> None:
    """Parse a responses CSV in the background while the command imports its libraries."""
    if responses.suffix.lower() == ".csv":
        from ._io import prefetch_table_csv

        prefetch_table_csv(responses, _RESPONSE_TEXT)


def _yaml_path(instrument: str | None) -> Path | None:
    """The instrument as a file when it is given as a YAML path (an input to protect)."""
    return Path(instrument) if instrument and instrument.endswith((".yaml", ".yml")) else None


def _wave_list(text: str) -> list[str]:
    """``--waves pre,post`` as a list; an empty name is a user error, not a wave."""
    names = [w.strip() for w in text.split(",")]
    if not all(names):
        raise PartnerschapError(f"--waves {text!r} has an empty name; write the waves in time "
                                "order, separated by commas, e.g. --waves T0,T1,T2.")
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
            out.print(f"  done in {time.perf_counter() - self.start:.1f} s", style="dim")


@app.command()
def keygen(out_path: Annotated[Path, typer.Option("--out", help="Where to write the key.")]) -> None:
    """Write a new random pseudonymisation key (file mode 0600)."""
    from .privacy import keygen as _keygen

    try:
        path = _keygen(out_path)
    except PartnerschapError as exc:
        _fail(exc)
    out.print(f"Key written to {path} (mode 0600). Keep it outside the data folder and never "
              "commit it; without it the same people cannot be linked across waves.")


@app.command()
def ingest(
    exports: Annotated[list[Path], typer.Argument(help="Export files (CSV, ...).")],
    instrument: Annotated[str, typer.Option(help="Instrument id or YAML path.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder.")],
    wave: Annotated[str | None, typer.Option(help="Wave of every row (export has none).")] = None,
    role: Annotated[str | None, typer.Option(help="Role of every row (export has none).")] = None,
    school: Annotated[str | None, typer.Option(help="School of every row (export has none).")] = None,
    mapping: Annotated[Path | None, typer.Option(help="Mapping YAML file.")] = None,
    key_file: Annotated[Path | None, typer.Option(help="Pseudonymisation key file.")] = None,
    format: Annotated[str | None, typer.Option(
        "--format", help="Override format detection: csv, xlsx, sav, qualtrics, qualtrics-legacy, "
                         "limesurvey, msforms, googleforms or table.")] = None,
    sheet: Annotated[str | None, typer.Option(
        help="Workbook sheet (name or number from 1); default the first with answers.")] = None,
    header_row: Annotated[int | None, typer.Option(
        help="Line (CSV) or row (Excel) of the header, from 1; default: found, title rows above "
             "it skipped.")] = None,
) -> None:
    """Read exports, map and decode answers, pseudonymise ids; write responses, rejected, log."""
    from .ingest import ExportSpec, ingest_exports, ingest_output, write_ingest_files
    from .privacy import load_key

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
    out.print(f"{totals['rows_in']} rows read: {totals['accepted']} accepted, "
              f"{totals['rejected']} rejected (reasons in {paths['rejected']}).")
    for f in result.log["files"]:
        details = f.get("details", {})
        if details.get("title_rows"):
            err.print(f"[yellow]note:[/] {f['file']}: {details['title_rows']} row(s) above the "
                      f"header skipped (a title); header on line {details['header_line']} "
                      "(--header-row to choose another)", highlight=False)
        if details.get("skipped_sheets"):
            err.print(f"[yellow]note:[/] {f['file']}: sheet(s) "
                      f"{', '.join(details['skipped_sheets'])} skipped (instructions); read "
                      f"'{details['sheet']}' (--sheet to choose another)", highlight=False)
        if f["pii_columns"]:
            cols = ", ".join(c["column"] for c in f["pii_columns"])
            err.print(f"[yellow]warning:[/] {f['file']}: personal data not stored: {cols}",
                      highlight=False)
        if f.get("withheld_values"):  # counted, never shown (the output firewall)
            counts = ", ".join(f"{n} {kind}" for kind, n in f["withheld_values"].items())
            err.print(f"[yellow]note:[/] {f['file']}: unknown values withheld (not shown): "
                      f"{counts} cell(s); their rows are rejected (see rejected.csv)",
                      highlight=False)
        if f["unmapped_columns"]:
            err.print(f"[yellow]note:[/] {f['file']}: unmapped columns ignored: "
                      f"{', '.join(f['unmapped_columns'])}", highlight=False)


@app.command()
def score(
    responses: Annotated[Path, typer.Argument(help="Responses file (Contract 2).")],
    instrument: Annotated[str, typer.Option(help="Instrument id or YAML path.")],
    out_path: Annotated[Path, typer.Option("--out", help="Scores CSV to write.")],
    waves: Annotated[str | None, typer.Option(
        help="Wave order, comma-separated (rows are written in this order).")] = None,
) -> None:
    """Scale scores per respondent and wave (reverse keys, min-items rule)."""
    from ._outputs import check_output

    try:
        check_output(out_path, [responses, _yaml_path(instrument)], folder=False,
                     what="scores file")
        _prefetch(responses)
        from ._io import write_csv
        from .instruments import load_instrument
        from .privacy import screen_responses
        from .reporting import read_responses
        from .scoring import score_scales, validate_responses, wave_order

        inst = load_instrument(instrument)
        data = validate_responses(read_responses(responses), inst)
        screen_responses(data, inst.roles)  # scores.csv is an output: no key cell as typed
        scores = score_scales(data, inst)
        if waves:  # declared: every wave must be in it, and the rows follow it
            order = wave_order(scores["wave"], _wave_list(waves))
            rank = {w: i for i, w in enumerate(order)}
            scores = scores.iloc[scores["wave"].map(rank).argsort(kind="stable")]
        write_csv(scores, out_path)
    except PartnerschapError as exc:
        _fail(exc)
    out.print(f"{len(scores)} rows scored on {len(inst.scales)} scales -> {out_path}")


@app.command()
def evaluate(
    responses: Annotated[Path, typer.Argument(help="Responses file (Contract 2).")],
    instrument: Annotated[str, typer.Option(help="Instrument id or YAML path.")],
    out_path: Annotated[Path, typer.Option("--out", help="results.json to write.")],
    min_cell: Annotated[int, typer.Option(help="Minimum cell size (Contract 5).")] = 10,
    waves: Annotated[str | None, typer.Option(
        help="Wave order, comma-separated, e.g. T0,T1,T2 (needed unless the waves are pre/post "
             "or voormeting/nameting).")] = None,
) -> None:
    """Pre/post statistics for every scale, written as results.json (Contract 4)."""
    from ._outputs import check_output

    try:
        check_output(out_path, [responses, _yaml_path(instrument)], folder=False,
                     what="results file")
        _prefetch(responses)
        from ._io import canonical_json, write_text
        from .privacy import check_min_cell
        from .reporting import read_responses
        from .results import evaluate as _evaluate
        from .results import input_record

        check_min_cell(min_cell, "--min-cell")
        order = _wave_list(waves) if waves else None
        results = _evaluate(read_responses(responses), instrument, waves=order, min_cell=min_cell,
                            inputs=[input_record(responses, out_path.parent)],
                            parameters={"min_cell": min_cell, "waves": order})
        write_text(out_path, canonical_json(results))
    except PartnerschapError as exc:
        _fail(exc)
    out.print(f"results written to {out_path}")


@app.command()
def report(
    config: Annotated[Path | None, typer.Option(help="Project YAML (see README).")] = None,
    study: Annotated[Path | None, typer.Option(help="A study folder (Contract 6).")] = None,
    responses: Annotated[Path | None, typer.Option(help="Responses file (Contract 2).")] = None,
    instrument: Annotated[str | None, typer.Option(help="Instrument id or YAML path.")] = None,
    project: Annotated[str | None, typer.Option(help="Project name shown in the report.")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report folder.")] = None,
    lang: Annotated[str, typer.Option(help="nl (default) or en.")] = "nl",
    min_cell: Annotated[int, typer.Option(help="Minimum cell size (Contract 5).")] = 10,
    date: Annotated[str | None, typer.Option(
        help="Date printed on the report, YYYY-MM-DD (default today).")] = None,
    waves: Annotated[str | None, typer.Option(
        help="Wave order, comma-separated (needed unless the waves are pre/post or "
             "voormeting/nameting; with --config use 'waves:' in the project file).")] = None,
) -> None:
    """Compute results once and render the HTML report with papermill."""
    from .privacy import check_min_cell
    from .project import load_project
    from .reporting import ReportSettings, build_report

    try:
        if config is not None:
            settings = load_project(config)
            if waves:  # the command line wins over the project file
                settings = dataclasses.replace(settings, waves=tuple(_wave_list(waves)))
        elif study is not None:
            from .cli_study import study_report_settings

            settings = study_report_settings(study, out_dir, lang, date)
        else:
            missing = [n for n, v in (("--responses", responses), ("--instrument", instrument),
                                      ("--project", project), ("--out", out_dir)) if v is None]
            if missing:
                raise PartnerschapError(f"report needs --config PROJECT.yaml, or all of "
                                        f"{', '.join(missing)}.")
            check_min_cell(min_cell, "--min-cell")
            if lang not in ("nl", "en"):
                raise PartnerschapError(f"--lang must be 'nl' or 'en', not '{lang}'.")
            settings = ReportSettings(project=project, instrument=instrument, responses=responses,
                                      out_dir=out_dir, lang=lang, min_cell=min_cell,
                                      report_date=date,
                                      waves=tuple(_wave_list(waves)) if waves else None)
        with _Step(f"report '{settings.project}' -> {settings.out_dir}"):
            paths = build_report(settings, protect=(config,) if config is not None else ())
    except PartnerschapError as exc:
        _fail(exc)
    out.print(f"report: {paths.html} ({len(paths.school_pages)} school pages)")


@app.command()
def reproduce(report_dir: Annotated[Path, typer.Argument(help="A report folder.")]) -> None:
    """Re-run a report from its manifest; non-zero exit with a diff when anything drifted."""
    from .reporting import reproduce as _reproduce

    try:
        with _Step(f"reproducing {report_dir}"):
            problems = _reproduce(report_dir)
    except PartnerschapError as exc:
        _fail(exc)
    if problems:
        err.print("[bold red]drift:[/] the report does not reproduce:", highlight=False)
        for p in problems:
            err.print(p, highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(code=1)
    out.print("reproduced: results.json identical, page content identical.")


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path("reports/demo"),
    raw_dir: Annotated[Path, typer.Option("--raw", help="Where the demo exports live.")] = Path("data/raw/demo"),
    lang: Annotated[str, typer.Option(help="nl (default) or en.")] = "nl",
) -> None:
    """The whole pipeline on the bundled WiSH-like demo study."""
    from ._outputs import output_set
    from .ingest import ExportSpec, ingest_exports, write_ingest_files
    from .privacy import DEMO_KEY
    from .reporting import ReportSettings, build_report_into
    from .synth import FRAMEWORK_INSTRUMENTS, write_demo_exports, write_framework_exports

    try:
        # The demo folder (ingest outputs and the report on them) is one output set: built in a
        # staging sibling and moved into place whole.
        with output_set(out_dir, kind="report", inputs=[raw_dir],
                        what="demo folder") as stage:
            with _Step(f"demo exports in {raw_dir} (written only when missing)"):
                specs = write_demo_exports(raw_dir)
                fw_specs = write_framework_exports(raw_dir)
            with _Step("ingest (demo key; a real project uses its own key)"):
                result = ingest_exports([ExportSpec(**s) for s in specs], "partnerschap", DEMO_KEY)
                paths = write_ingest_files(result, stage / "ingest")
                t = result.log["totals"]
                out.print(f"  partnerschap: {t['rows_in']} rows: {t['accepted']} accepted, "
                          f"{t['rejected']} rejected", highlight=False)
                frameworks = []
                for inst_id in FRAMEWORK_INSTRUMENTS:
                    mine = [ExportSpec(path=s["path"], wave=s["wave"]) for s in fw_specs
                            if s["instrument"] == inst_id]
                    fw = ingest_exports(mine, inst_id, DEMO_KEY)
                    fw_paths = write_ingest_files(fw, stage / "ingest" / inst_id)
                    frameworks.append((inst_id, fw_paths["responses"]))
                    t = fw.log["totals"]
                    out.print(f"  {inst_id}: {t['rows_in']} rows: {t['accepted']} accepted, "
                              f"{t['rejected']} rejected", highlight=False)
            with _Step("evaluate and render the report"):
                report = build_report_into(ReportSettings(
                    project="WiSH demo", instrument="partnerschap",
                    responses=paths["responses"], out_dir=stage, lang=lang,
                    frameworks=tuple(frameworks)), stage)
        report = report.moved(stage, out_dir)
    except PartnerschapError as exc:
        _fail(exc)
    out.print(f"[bold green]demo report:[/] {report.html} ({len(report.school_pages)} school pages)",
              highlight=False)


from .cli_study import register as _register_study  # noqa: E402

_register_study(app)  # study init, submit, status, responses (Contract 6)


def main() -> None:
    """Entry point of the ``partnerschap-eval`` command."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
