"""Reports: compute results once, execute report notebooks with papermill, export HTML,
write the manifest, and reproduce a report to prove nothing drifted.

Output layout of a report directory::

    results.json      Contract 4, byte-identical for the same inputs and parameters
    index.html        the project report (self-contained: figures embedded, no external scripts)
    project_report.ipynb   the executed notebook
    manifest.json     inputs and outputs with sha256, parameters, versions, lock-file hash
"""

from __future__ import annotations

import datetime
import difflib
import html.parser
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from ._io import canonical_json, sha256_file, write_json, write_text
from .errors import InputError, PartnerschapError
from .instruments import load_instrument
from .privacy import DEFAULT_MIN_CELL, check_min_cell

__all__ = ["ReportSettings", "ReportOutputs", "build_report", "compute_results", "reproduce",
           "read_responses", "notebook_path", "ReportError"]

MANIFEST_SCHEMA = "partnerschap-eval/manifest/v1"
KERNEL_NAME = "partnerschap-eval"
_PKG = Path(__file__).resolve().parent


class ReportError(PartnerschapError):
    """A report could not be produced or reproduced."""


@dataclass(frozen=True)
class ReportSettings:
    """Everything that determines a report (recorded in the manifest)."""

    project: str
    instrument: str
    responses: Path
    out_dir: Path
    lang: str = "nl"
    min_cell: int = DEFAULT_MIN_CELL
    waves: tuple[str, ...] | None = None
    extra_inputs: tuple[Path, ...] = field(default=())
    #: Folder that recorded input paths are relative to (default: ``out_dir``).
    base_dir: Path | None = None
    #: Only these schools get a page (default: every school in the data).
    schools: tuple[str, ...] | None = None
    #: Parallel notebook workers (default: the number of cores).
    workers: int | None = None
    #: Framework instruments (Epstein, Gerdes, ladder, praatplaat) and their responses files.
    frameworks: tuple[tuple[str, Path], ...] = ()
    #: The date printed on the report (ISO ``YYYY-MM-DD``; default: the day it is built). It is
    #: recorded in the manifest so ``reproduce`` prints the same date, and kept out of
    #: results.json so the numbers file does not depend on the day.
    report_date: str | None = None

    def __post_init__(self) -> None:
        # Refused when the settings are made, before any file is read or written.
        object.__setattr__(self, "min_cell", check_min_cell(self.min_cell))

    def parameters(self) -> dict:
        return {"project": self.project, "instrument": self.instrument, "lang": self.lang,
                "report_date": self.report_date,
                "min_cell": self.min_cell, "waves": list(self.waves) if self.waves else None,
                "schools": list(self.schools) if self.schools else None,
                "frameworks": [inst for inst, _ in self.frameworks] or None}


def check_date(text: str) -> str:
    """An ISO date (``YYYY-MM-DD``), or a clear error.

    >>> check_date("2026-11-24")
    '2026-11-24'
    """
    try:
        return datetime.date.fromisoformat(str(text)).isoformat()
    except ValueError:
        raise ReportError(f"Report date {text!r} is not a date; write it as YYYY-MM-DD, "
                          "for example 2026-11-24.") from None


def notebook_path(name: str) -> Path:
    """Locate a report notebook: installed package data first, then the source tree."""
    for base in (_PKG / "notebooks", _PKG.parent.parent / "notebooks"):
        candidate = base / f"{name}.ipynb"
        if candidate.is_file():
            return candidate
    raise ReportError(f"The report notebook '{name}.ipynb' is missing from the installation.")


def read_responses(path: str | Path) -> pd.DataFrame:
    """Read a Contract 2 responses file (CSV or Parquet); ids and keys stay text."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: responses file not found.")
    keys = {"respondent_id": str, "wave": str, "role": str, "school_id": str}
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path).astype(keys)
    try:
        return pd.read_csv(path, dtype=keys, keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable responses CSV ({exc}). Produce it with "
                         "`partnerschap-eval ingest`.") from None


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return KERNEL_NAME if KERNEL_NAME in specs else "python3"


_KERNEL_ARGS = ["--IPKernelApp.log_level=ERROR"]  # the loopback plain-TCP notice is noise here


def check_parameters(name: str, parameters: dict) -> Path:
    """Fail before execution when parameters are unknown to the notebook or missing."""
    import papermill as pm

    source = notebook_path(name)
    declared = set(pm.inspect_notebook(str(source)))
    given = set(parameters)
    if given - declared or declared - given:
        raise ReportError(
            f"Parameters do not match notebook {source.name}: unknown {sorted(given - declared)}, "
            f"missing {sorted(declared - given)}. Declared: {sorted(declared)}.")
    return source


def start_kernel(cwd: Path):
    """Start a kernel to reuse for several report notebooks (saves ~1 s of start-up and
    imports per page). Every report notebook sets all its names from its parameters, so
    nothing from an earlier page is read."""
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name=_kernel_name())
    km.start_kernel(extra_arguments=_KERNEL_ARGS, cwd=str(cwd))
    return km


def execute_notebook(name: str, parameters: dict, output: Path, cwd: Path, km=None) -> None:
    """Run a report notebook with papermill in ``km``'s kernel (a fresh one when None).

    papermill's own ``cwd`` argument changes the working directory of this whole process,
    which races when pages render in threads; the kernel's directory is set when it starts.
    """
    import papermill as pm

    source = check_parameters(name, parameters)
    own = km is None
    if own:
        km = start_kernel(cwd)
    try:
        pm.execute_notebook(str(source), str(output), parameters=parameters,
                            kernel_name=_kernel_name(), progress_bar=False, log_output=False,
                            report_mode=True, km=km)
    except pm.PapermillExecutionError as exc:
        raise ReportError(f"The report notebook {name} failed in cell {exc.exec_count}: "
                          f"{exc.ename}: {exc.evalue}. The partly executed notebook is in "
                          f"{output}.") from None
    finally:
        if own:
            km.shutdown_kernel(now=True)


def export_html(notebook: Path, html_path: Path, lang: str) -> int:
    """Convert an executed notebook to self-contained HTML without code; return #stderr outputs.

    Output streams written to stderr are left out of the page (they are counted so tests can
    require there are none).
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    stderr = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                stderr += 1
                continue
            kept.append(out)
        cell["outputs"] = kept
    # The explanatory markdown cells are for notebook readers, not for the report's readers.
    nb.cells = [c for c in nb.cells if c.cell_type == "code"]
    exporter = HTMLExporter(template_name="pe_report", extra_template_basedirs=[str(_PKG / "templates")],
                            exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    exporter.language_code = lang
    nb.metadata["title"] = nb.metadata.get("title") or "partnerschap-eval"
    body, _ = exporter.from_notebook_node(nb)
    write_text(html_path, body)
    return stderr


def _lock_hash() -> str | None:
    for base in (Path.cwd(), _PKG.parent.parent):
        lock = base / "requirements.lock"
        if lock.is_file():
            return sha256_file(lock)
    return None


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def _render(name: str, parameters: dict, html_path: Path, lang: str, keep: Path | None,
            cwd: Path, km=None) -> tuple[int, float]:
    """Execute one report notebook and export it; return (#stderr outputs, seconds)."""
    import time

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pe-nb-") as tmp:
        executed = Path(tmp) / f"{name}.ipynb"
        execute_notebook(name, parameters, executed, cwd=cwd, km=km)
        stderr = export_html(executed, html_path, lang)
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            staged = keep.parent / f".{keep.name}.tmp"
            shutil.copyfile(executed, staged)
            os.replace(staged, keep)
    return stderr, time.perf_counter() - start


def _render_all(jobs: list[tuple[str, str, dict, Path, Path | None]], lang: str, cwd: Path,
                workers: int) -> tuple[int, dict[str, float]]:
    """Render notebooks in a thread pool (each in its own kernel process) with a progress bar.

    ``jobs`` holds ``(label, notebook name, parameters, html path, executed-notebook path)``.
    Returns the number of stderr outputs and the seconds each page took.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from rich.progress import Progress

    for _label, name, params, _html, _keep in jobs:  # all parameter errors before any work
        check_parameters(name, params)
    local = threading.local()
    kernels = []
    lock = threading.Lock()

    def run(job: tuple) -> tuple[int, float]:
        if getattr(local, "km", None) is None:
            local.km = start_kernel(cwd)
            with lock:
                kernels.append(local.km)
        _label, name, params, html, keep = job
        return _render(name, params, html, lang, keep, cwd, km=local.km)

    stderr, seconds = 0, {}
    try:
        with Progress(transient=True) as progress, ThreadPoolExecutor(max_workers=workers) as pool:
            task = progress.add_task("report pages", total=len(jobs))
            futures = {pool.submit(run, job): job[0] for job in jobs}
            for fut in as_completed(futures):
                n_err, secs = fut.result()
                stderr += n_err
                seconds[futures[fut]] = secs
                progress.advance(task)
    finally:
        for km in kernels:
            km.shutdown_kernel(now=True)
    return stderr, seconds


def _records(frame: pd.DataFrame) -> list[dict]:
    """A tidy table as JSON records with stable numbers (NaN -> null, numpy bools -> bool)."""
    from .results import stable_number

    def value(v: object) -> object:
        if v is None or isinstance(v, str | bool):
            return v
        if isinstance(v, np.bool_):
            return bool(v)
        return None if pd.isna(v) else stable_number(v)

    return [{str(k): value(v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


def _framework_results(settings: ReportSettings, first: str, last: str) -> dict:
    """Framework tables (levels, rungs, transitions, profiles), computed once, suppressed."""
    from .frameworks import summary

    data = {inst: read_responses(path) for inst, path in settings.frameworks}
    fw = summary(data, min_cell=settings.min_cell, lang=settings.lang, first=first, last=last)
    return {"lang": settings.lang, "notes": list(fw.notes),
            "tables": {name: _records(table) for name, table in fw.tables().items()}}


def _psychometric_results(responses: pd.DataFrame, inst, first: str, last: str,
                          min_cell: int) -> dict:
    """Item statistics, CFA per role and role invariance for the first and last wave.

    Computed once per run (the same frames :func:`psychometrics.scale_quality` returns) and
    stored as records, so the notebook only formats them. Roles are pooled over schools.
    """
    from .psychometrics import CHEN_DELTA_CFI, CHEN_DELTA_RMSEA, R_REST_MIN, scale_quality

    waves = [first] if first == last else [first, last]
    q = scale_quality(responses, inst, waves, min_cell=min_cell)
    # Flags travel as the booleans raises_alpha / weak_r_rest; the report words them itself.
    items = q.items.drop(columns=["flag_reason"])
    cfa = q.cfa.drop(columns=["groups", "equal"], errors="ignore")
    inv = q.invariance.drop(columns=["rule", "groups", "equal"], errors="ignore")
    for frame in (items, cfa, inv):
        if "reason" in frame and "n" in frame:
            # Contract 5: not even the size of a suppressed group is published.
            small = frame["reason"].fillna("").str.startswith("suppressed")
            frame["n"] = frame["n"].astype(object).where(~small, None)
    return {"items": _records(items), "cfa": _records(cfa), "invariance": _records(inv),
            "r_rest_min": R_REST_MIN,
            "invariance_rule": {"delta_cfi_min": CHEN_DELTA_CFI,
                                "delta_rmsea_max": CHEN_DELTA_RMSEA}}


@dataclass(frozen=True)
class ReportOutputs:
    """Where a report run wrote its files, and how long each page took to render."""

    results: Path
    html: Path
    notebook: Path
    manifest: Path
    school_pages: tuple[Path, ...]
    page_seconds: dict[str, float]
    #: What the disclosure audit checked (published numbers, suppressed ones, leaks: none).
    audit: object = None


def compute_results(settings: ReportSettings) -> tuple[dict, object]:
    """Every number a report publishes (its ``results.json``) and the disclosure audit of it.

    The same computation :func:`build_report` does before it renders anything; nothing is
    written. Raises :class:`~partnerschap_eval.errors.DisclosureError` when the audit finds a
    suppressed number the published ones give away.
    """
    results, audit_report, *_ = _compute(settings, settings.out_dir.resolve())
    return results, audit_report


def _compute(settings: ReportSettings, out: Path) -> tuple:
    from .disclosure import protect, require_clean_audit
    from .results import _clean, evaluate
    from .schools import school_results
    from .scoring import score_scales, validate_responses

    inst = load_instrument(settings.instrument)
    responses = read_responses(settings.responses)
    base = settings.base_dir or out
    fw_paths = [Path(p) for _, p in settings.frameworks]
    inputs = [{"path": _rel(p, base), "sha256": sha256_file(p)}
              for p in (settings.responses, *fw_paths, *settings.extra_inputs)]
    params = settings.parameters()
    params["report_date"] = check_date(settings.report_date or datetime.date.today().isoformat())
    results = evaluate(responses, inst, waves=list(settings.waves) if settings.waves else None,
                       min_cell=settings.min_cell, inputs=inputs,
                       parameters={k: v for k, v in params.items()
                                   if k not in ("lang", "report_date")})
    if settings.schools:
        unknown = sorted(set(settings.schools) - set(responses["school_id"]))
        if unknown:
            raise ReportError(f"Schools not in the data: {unknown}. Check the names in 'schools'.")
    scores = score_scales(validate_responses(responses, inst), inst)
    if settings.schools:
        scores = scores[scores["school_id"].isin(settings.schools)]
    waves = results["waves"]
    results["schools"] = _clean(school_results(scores, inst, waves["first"], waves["last"],
                                               settings.min_cell))
    if settings.frameworks:
        results["frameworks"] = _framework_results(settings, waves["first"], waves["last"])
    results["psychometrics"] = _psychometric_results(responses, inst, waves["first"],
                                                     waves["last"], settings.min_cell)
    # Contract 5: one disclosure step over every number the report publishes, then the audit;
    # a leak raises DisclosureError here, before any file of the report is written.
    results = protect(results, settings.min_cell)
    audit_report = require_clean_audit(results, settings.min_cell)
    return results, audit_report, inst, inputs, params


def build_report(settings: ReportSettings) -> ReportOutputs:
    """Compute results once, render the project and school reports, and write the manifest."""
    out = settings.out_dir.resolve()
    results, audit_report, inst, inputs, params = _compute(settings, out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.json", "notebook": out / "project_report.ipynb",
             "html": out / "index.html", "manifest": out / "manifest.json"}
    write_text(paths["results"], canonical_json(results))
    results_arg = str(paths["results"].resolve())
    instrument_arg = inst.source or settings.instrument

    common = {"project": settings.project, "results_path": results_arg,
              "instrument": instrument_arg, "lang": settings.lang,
              "report_date": params["report_date"]}
    school_pages = [out / "schools" / f"{key}.html" for key in results["schools"]]
    jobs = [("project", "project_report", common, paths["html"], paths["notebook"])]
    jobs += [(key, "school_report", common | {"school_key": key}, html, None)
             for key, html in zip(results["schools"], school_pages, strict=True)]
    workers = settings.workers or max(1, os.cpu_count() or 1)
    stderr, seconds = _render_all(jobs, settings.lang, out, workers)
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "package_version": __version__,
        "lock_sha256": _lock_hash(),
        "instrument": {"id": inst.id, "version": inst.version,
                       "sha256": sha256_file(inst.source) if inst.source else None},
        "parameters": params,
        "inputs": inputs,
        "outputs": [{"path": _rel(p, out), "sha256": sha256_file(p)}
                    for p in (paths["results"], paths["html"], *sorted(school_pages))],
        "stderr_outputs": stderr,
    }
    write_json(manifest, paths["manifest"])
    return ReportOutputs(results=paths["results"], html=paths["html"], notebook=paths["notebook"],
                         manifest=paths["manifest"], school_pages=tuple(school_pages),
                         page_seconds=seconds, audit=audit_report)


# ---------------------------------------------------------------------------------------------
# reproduce
# ---------------------------------------------------------------------------------------------
class _Text(html.parser.HTMLParser):
    """Visible text of a page and the number of images (image bytes depend on fonts)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.images = 0
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        if tag == "img":
            self.images += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def page_content(path: Path) -> list[str]:
    """What a reader sees on a page: its text lines plus the number of figures."""
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.parts + [f"[figures: {parser.images}]"]


def reproduce(report_dir: str | Path) -> list[str]:
    """Re-run a report from its manifest; return readable differences (empty = reproduced).

    Inputs are checked against their recorded sha256 first; then the report is rebuilt in a
    temporary directory and ``results.json`` (byte for byte) and the visible content of
    ``index.html`` are compared.
    """
    report_dir = Path(report_dir)
    manifest_path = report_dir / "manifest.json"
    if not manifest_path.is_file():
        raise ReportError(f"{report_dir}: no manifest.json; is this a report directory?")
    import json

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    problems: list[str] = []
    inputs = [report_dir / i["path"] for i in manifest["inputs"]]
    for rec, path in zip(manifest["inputs"], inputs, strict=True):
        if not path.is_file():
            problems.append(f"input {rec['path']} is missing")
        elif sha256_file(path) != rec["sha256"]:
            problems.append(f"input {rec['path']} changed (sha256 differs from the manifest)")
    for rec in manifest["outputs"]:
        path = report_dir / rec["path"]
        if not path.is_file():
            problems.append(f"output {rec['path']} is missing")
        elif rec["path"] == "results.json" and sha256_file(path) != rec["sha256"]:
            problems.append("results.json differs from the manifest's checksum (edited after the run?)")
    if problems:
        return problems
    p = manifest["parameters"]
    fw_ids = p.get("frameworks") or []
    frameworks = tuple(zip(fw_ids, inputs[1:1 + len(fw_ids)], strict=True))
    with tempfile.TemporaryDirectory(prefix="pe-reproduce-") as tmp:
        # Rebuild next to the original so relative input paths resolve identically.
        tmp_out = report_dir / f".reproduce-{Path(tmp).name}"
        try:
            build_report(ReportSettings(
                project=p["project"], instrument=p["instrument"], responses=inputs[0],
                out_dir=tmp_out, lang=p["lang"], min_cell=p["min_cell"],
                waves=tuple(p["waves"]) if p.get("waves") else None,
                schools=tuple(p["schools"]) if p.get("schools") else None,
                frameworks=frameworks, extra_inputs=tuple(inputs[1 + len(fw_ids):]),
                base_dir=report_dir, report_date=p.get("report_date")))
            old = (report_dir / "results.json").read_text(encoding="utf-8")
            new = (tmp_out / "results.json").read_text(encoding="utf-8")
            if old != new:
                problems.append("results.json drifted:\n" + "".join(difflib.unified_diff(
                    old.splitlines(True), new.splitlines(True), "recorded/results.json",
                    "rerun/results.json", n=1)))
            pages = [r["path"] for r in manifest["outputs"] if r["path"].endswith(".html")]
            for rel in pages:
                if not (tmp_out / rel).is_file():
                    problems.append(f"{rel} was not produced again")
                    continue
                old_page = page_content(report_dir / rel)
                new_page = page_content(tmp_out / rel)
                if old_page != new_page:
                    problems.append(f"{rel} content drifted:\n" + "\n".join(difflib.unified_diff(
                        old_page, new_page, f"recorded/{rel}", f"rerun/{rel}", n=1, lineterm="")))
        finally:
            shutil.rmtree(tmp_out, ignore_errors=True)
    return problems
