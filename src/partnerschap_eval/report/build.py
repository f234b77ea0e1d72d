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
import hashlib
import html.parser
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from .._contract import result_waves
from .._io import canonical_json, sha256_file, write_bytes, write_json, write_text
from .._outputs import check_input_set, output_set
from .._validate import check_conditions
from ..errors import Joined, Msg, PartnerschapError
from ..instruments import load_instrument
from ..privacy import DEFAULT_MIN_CELL, check_min_cell, screen_responses, shown, shown_path

__all__ = ["ReportSettings", "ReportOutputs", "build_report", "compute_results", "reproduce",
           "read_responses", "notebook_path", "ReportError"]

MANIFEST_SCHEMA = "partnerschap-eval/manifest/v1"
KERNEL_NAME = "partnerschap-eval"
_PKG = Path(__file__).resolve().parent.parent  # the package folder (templates, notebooks)


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
    #: School id -> condition (``intervention``, ``control``, ``comparison``, ``waitlist``): a
    #: study's ``schools[].condition`` or a project's ``conditions:``. When given, the results
    #: get the difference-in-differences design blocks and the report its section. Stored as
    #: sorted pairs (a mapping is accepted).
    conditions: tuple[tuple[str, str], ...] | None = None
    #: School id -> the wave at which it started the intervention (``schools[].start_wave``, a
    #: project's ``start_waves:``); different waves are stated as a limitation (a staggered
    #: start). Stored as sorted pairs (a mapping is accepted).
    start_waves: tuple[tuple[str, str], ...] | None = None
    #: With three or more waves, also contrast each wave with the one before it (Contract 4
    #: v2 ``contrasts."<w_k>-<w_k-1>"``): ``--consecutive``, a project's ``consecutive: true``.
    consecutive: bool = False

    def __post_init__(self) -> None:
        # Refused when the settings are made, before any file is read or written.
        object.__setattr__(self, "min_cell", check_min_cell(self.min_cell))
        for name in ("conditions", "start_waves"):
            value = getattr(self, name)
            if value is not None:
                pairs = value.items() if isinstance(value, dict) else value
                object.__setattr__(self, name,
                                   tuple(sorted((str(k), str(v)) for k, v in pairs)) or None)
        if self.conditions:
            # recorded in the manifest and results.json's provenance: known conditions only
            check_conditions(dict(self.conditions), [k for k, _ in self.conditions])

    def parameters(self) -> dict:
        params = {"project": self.project, "instrument": self.instrument, "lang": self.lang,
                  "report_date": self.report_date,
                  "min_cell": self.min_cell, "waves": list(self.waves) if self.waves else None,
                  "schools": list(self.schools) if self.schools else None,
                  "frameworks": [inst for inst, _ in self.frameworks] or None}
        # absent when not given: earlier manifests and results stay as they were
        if self.conditions:
            params["conditions"] = dict(self.conditions)
        if self.start_waves:
            params["start_waves"] = dict(self.start_waves)
        if self.consecutive:
            params["consecutive"] = True
        return params


def check_date(text: str) -> str:
    """An ISO date (``YYYY-MM-DD``), or a clear error.

    >>> check_date("2026-11-24")
    '2026-11-24'
    """
    try:
        return datetime.date.fromisoformat(str(text)).isoformat()
    except ValueError:
        raise ReportError(Msg("errors.report.date", text=repr(text))) from None


def notebook_path(name: str) -> Path:
    """Locate a report notebook: installed package data first, then the source tree."""
    for base in (_PKG / "notebooks", _PKG.parent.parent / "notebooks"):
        candidate = base / f"{name}.ipynb"
        if candidate.is_file():
            return candidate
    raise ReportError(Msg("errors.report.notebook_missing", name=name))


def read_responses(path: str | Path) -> pd.DataFrame:
    """Read a Contract 2 responses file (CSV or Parquet); ids and keys stay text.

    Every failure is a paragraph (:func:`partnerschap_eval._safe_read.read_responses_file`), and
    a file of an ingest output set must belong to a complete, unmixed set.
    """
    from .._safe_read import read_responses_file

    frame = read_responses_file(path)
    check_input_set(Path(path))  # not half of an interrupted ingest, not files of two runs
    return frame


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
        raise ReportError(Msg("errors.report.parameters", name=source.name,
                              unknown=sorted(given - declared), missing=sorted(declared - given),
                              declared=sorted(declared)))
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
        raise ReportError(Msg("errors.report.cell_failed", name=name, cell=exc.exec_count,
                              ename=exc.ename, evalue=exc.evalue, output=output)) from None
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
            write_bytes(keep, executed.read_bytes())
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
    from ..results.scales import stable_number

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
    from ..results.frameworks import summary

    data = {inst: read_responses(path) for inst, path in settings.frameworks}
    for (inst, path), frame in zip(settings.frameworks, data.values(), strict=True):
        # framework tables are published per role and wave: their key cells pass the firewall
        screen_responses(frame, load_instrument(inst).roles, waves=settings.waves,
                         where=Joined([Msg("errors.what.responses_file"), shown_path(path)],
                                      " "))
    fw = summary(data, min_cell=settings.min_cell, lang=settings.lang, first=first, last=last)
    return {"lang": settings.lang, "notes": list(fw.notes),
            "tables": {name: _records(table) for name, table in fw.tables().items()}}


def _psychometric_results(responses: pd.DataFrame, inst, first: str, last: str,
                          min_cell: int) -> dict:
    """Item statistics, CFA per role and role invariance for the first and last wave.

    Computed once per run (the same frames :func:`results.scale_quality` returns) and
    stored as records, so the notebook only formats them. Roles are pooled over schools.
    """
    from ..psychometrics import CHEN_DELTA_CFI, CHEN_DELTA_RMSEA, R_REST_MIN
    from ..results.quality import scale_quality

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

    def moved(self, old: Path, new: Path) -> ReportOutputs:
        """The same outputs after their folder ``old`` was moved to ``new``."""
        old = Path(old).resolve()

        def move(p: Path) -> Path:
            return Path(new) / Path(p).resolve().relative_to(old)

        return ReportOutputs(results=move(self.results), html=move(self.html),
                             notebook=move(self.notebook), manifest=move(self.manifest),
                             school_pages=tuple(move(p) for p in self.school_pages),
                             page_seconds=self.page_seconds, audit=self.audit)


def report_inputs(settings: ReportSettings) -> list[Path]:
    """Every file a report reads: responses, framework responses, extra inputs, and the
    instrument when it is a YAML file (the report folder may not be or hold any of them)."""
    paths = [Path(settings.responses), *(Path(p) for _, p in settings.frameworks),
             *settings.extra_inputs]
    if str(settings.instrument).endswith((".yaml", ".yml")):
        paths.append(Path(settings.instrument))
    return paths


def build_report(settings: ReportSettings, protect: tuple[Path, ...] = ()) -> ReportOutputs:
    """Compute results once, render the project and school reports, and write the manifest.

    The report is built in a staging sibling of ``settings.out_dir`` and replaces that folder
    as a whole in one rename: a re-run leaves nothing of an earlier run (a withdrawn school's
    page included), and a crash or a full disk leaves the earlier report untouched. A second
    run writing the same folder at the same time is refused, and so is a folder that is, lies
    in ``data/raw/`` or holds one of the inputs (or one of ``protect``, such as the project
    file).

    Every number is computed, put through the one disclosure step and audited before any
    folder is made: a build whose audit finds a leak publishes nothing.
    """
    final = Path(settings.out_dir)
    # the staging folder is a sibling of the final one: input paths relative to either are equal
    computed = _compute(settings, final.resolve())
    with output_set(final, kind="report", inputs=[*report_inputs(settings), *protect],
                    what=Msg("errors.what.report_folder")) as stage:
        built = build_report_into(settings, stage, computed)
    return built.moved(stage, final)


def compute_results(settings: ReportSettings) -> tuple[dict, object]:
    """Every number a report publishes (its ``results.json``) and the disclosure audit of it.

    The same computation :func:`build_report` does before it renders anything; nothing is
    written. Raises :class:`~partnerschap_eval.errors.DisclosureError` when the audit finds a
    suppressed number the published ones give away.
    """
    results, audit_report, *_ = _compute(settings, settings.out_dir.resolve())
    return results, audit_report


def _compute(settings: ReportSettings, out: Path) -> tuple:
    from ..privacy.disclosure import protect, require_clean_audit
    from ..results.scales import evaluate, json_ready
    from ..results.schools import school_results
    from ..scoring import score_scales, validate_responses

    inst = load_instrument(settings.instrument)
    # validated once, here: evaluate, the school tables and scale_quality trust this table
    responses = validate_responses(read_responses(settings.responses), inst)
    base = settings.base_dir or out
    fw_paths = [Path(p) for _, p in settings.frameworks]
    inputs = [{"path": _rel(p, base), "sha256": sha256_file(p)}
              for p in (settings.responses, *fw_paths, *settings.extra_inputs)]
    params = settings.parameters()
    params["report_date"] = check_date(settings.report_date or datetime.date.today().isoformat())
    results = evaluate(responses, inst, waves=list(settings.waves) if settings.waves else None,
                       min_cell=settings.min_cell, inputs=inputs, schools=settings.schools,
                       conditions=dict(settings.conditions) if settings.conditions else None,
                       start_waves=dict(settings.start_waves) if settings.start_waves else None,
                       consecutive=settings.consecutive,
                       parameters={k: v for k, v in params.items()
                                   if k not in ("lang", "report_date")})
    if settings.schools:
        unknown = sorted(set(settings.schools) - set(responses["school_id"]))
        if unknown:
            raise ReportError(Msg("errors.report.unknown_schools",
                                  schools=[shown(u, "school") for u in unknown]))
    scores = score_scales(responses, inst)
    if settings.schools:
        scores = scores[scores["school_id"].isin(settings.schools)]
    compared = result_waves(results)
    first, last = compared.first, compared.last
    results["schools"] = json_ready(school_results(scores, inst, first, last,
                                               settings.min_cell, settings.schools or (),
                                               waves=compared.order))
    if settings.frameworks:
        results["frameworks"] = _framework_results(settings, first, last)
    results["psychometrics"] = _psychometric_results(responses, inst, first, last,
                                                     settings.min_cell)
    # Contract 5: one disclosure step over every number the report publishes, then the audit;
    # a leak raises DisclosureError here, before any file of the report is written.
    results = protect(results, settings.min_cell)
    audit_report = require_clean_audit(results, settings.min_cell)
    return results, audit_report, inst, inputs, params


def build_report_into(settings: ReportSettings, out: Path,
                      computed: tuple | None = None) -> ReportOutputs:
    """Build a report in ``out``, a folder nobody reads yet (see :func:`build_report`), from
    ``computed`` (:func:`_compute`; computed here when not given).

    Input paths in the manifest are relative to ``settings.base_dir`` or ``out``; ``out`` is a
    sibling of the final folder, so they are the same relative paths the final folder has.
    """
    out = Path(out).resolve()
    results, audit_report, inst, inputs, params = computed or _compute(settings, out)
    base = settings.base_dir or out
    paths = {"results": out / "results.json", "notebook": out / "project_report.ipynb",
             "html": out / "index.html", "manifest": out / "manifest.json"}
    write_text(paths["results"], canonical_json(results))
    # relative to the kernel's folder (the staging folder): no temporary path in the notebook
    results_arg = paths["results"].name
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
        # every file of the folder: pages, results, the executed notebook (and, in the demo,
        # the ingest files beside the inputs), so reproduce notices any file edited or added
        "outputs": _output_records(out, paths, school_pages, inputs_in(out, inputs, base)),
        "stderr_outputs": stderr,
    }
    write_json(manifest, paths["manifest"])
    return ReportOutputs(results=paths["results"], html=paths["html"], notebook=paths["notebook"],
                         manifest=paths["manifest"], school_pages=tuple(school_pages),
                         page_seconds=seconds, audit=audit_report)


def inputs_in(out: Path, inputs: list[dict], base: Path) -> set[str]:
    """The recorded inputs that lie inside the report folder, relative to it (the demo's)."""
    inside = set()
    for rec in inputs:
        path = (base / rec["path"]).resolve()
        if out in path.parents:
            inside.add(path.relative_to(out).as_posix())
    return inside


def _output_records(out: Path, paths: dict, school_pages: list[Path], inputs: set[str]) -> list:
    """sha256 of every file in ``out`` except the manifest and the inputs: results and pages
    first (in the order earlier manifests had), then the rest sorted."""
    first = [paths["results"], paths["html"], *sorted(school_pages)]
    names = [_rel(p, out) for p in first]
    rest = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    names += [n for n in rest if n not in names and n not in inputs and n != "manifest.json"]
    return [{"path": n, "sha256": sha256_file(out / n)} for n in names]


# ---------------------------------------------------------------------------------------------
# reproduce
# ---------------------------------------------------------------------------------------------
class _Text(html.parser.HTMLParser):
    """What a reader gets from a page: its visible text, each figure (by the sha256 of its
    bytes), each link target, and every element or attribute that could run or fetch code
    (``<script>``, ``<iframe>``, ``onload=``, ...), so a page edited after the run differs from
    the re-run even when its text does not."""

    _ACTIVE = {"script", "iframe", "object", "embed", "link", "base", "form", "meta", "frame",
               "svg", "style", "video", "audio", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.images = 0
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        handlers = sorted(k for k, _ in attrs if k.lower().startswith("on"))
        if tag in self._ACTIVE - {"style"} or handlers:
            self.parts.append(f"[element <{tag}> {' '.join(handlers)}]".replace(" ]", "]"))
        values = dict(attrs)
        if tag == "img":
            self.images += 1
            digest = hashlib.sha256(str(values.get("src") or "").encode("utf-8")).hexdigest()
            self.parts.append(f"[figure {self.images}: {digest[:16]}]")
        if tag == "a" and values.get("href"):
            self.parts.append(f"[link {values['href']}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def page_content(path: Path) -> list[str]:
    """What a reader sees on a page: its text lines, figures, links and active elements."""
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser.parts + [f"[figures: {parser.images}]"]


def _malformed(path: Path, why: str, **params: object) -> ReportError:
    return ReportError(Msg("errors.report.malformed", path=path,
                           why=Msg(f"errors.report.why.{why}", **params)))


def read_manifest(report_dir: Path) -> dict:
    """The manifest of a report folder, checked for the keys reproduce needs.

    Raises
    ------
    ReportError
        When it is missing, unreadable, not JSON, or lacks a recorded key (exit status 2).
    """
    import json

    path = report_dir / "manifest.json"
    if not report_dir.is_dir():
        raise ReportError(Msg("errors.report.not_folder", path=report_dir))
    if not path.is_file():
        raise ReportError(Msg("errors.report.no_manifest", path=report_dir))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _malformed(path, "unreadable", reason=exc.strerror) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise _malformed(path, "not_json", name=type(exc).__name__) from None
    if not isinstance(manifest, dict):
        raise _malformed(path, "not_object")
    if manifest.get("schema") != MANIFEST_SCHEMA:
        raise _malformed(path, "schema", schema=MANIFEST_SCHEMA)

    def files(key: str) -> list:
        recs = manifest.get(key)
        ok = isinstance(recs, list) and all(
            isinstance(r, dict) and isinstance(r.get("path"), str)
            and isinstance(r.get("sha256"), str) and len(r["sha256"]) == 64 for r in recs)
        if not ok or (key == "inputs" and not recs):
            raise _malformed(path, "files", key=key)
        for r in recs:
            rel = Path(r["path"])
            if rel.is_absolute() or (key == "outputs" and ".." in rel.parts):
                raise _malformed(path, "outside", key=key, name=repr(r["path"]))
        return recs

    files("inputs")
    files("outputs")
    params = manifest.get("parameters")
    needed = {"project": str, "instrument": str, "lang": str, "min_cell": int}
    if not isinstance(params, dict) or any(not isinstance(params.get(k), t)
                                           for k, t in needed.items()):
        raise _malformed(path, "parameters")
    for key in ("waves", "schools", "frameworks"):
        value = params.get(key)
        if value is not None and not (isinstance(value, list)
                                      and all(isinstance(v, str) for v in value)):
            raise _malformed(path, "list", key=key)
    for key in ("conditions", "start_waves"):
        value = params.get(key)
        if value is not None and not (isinstance(value, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items())):
            raise _malformed(path, "mapping", key=key)
    if not isinstance(params.get("consecutive", False), bool):
        raise _malformed(path, "flag", key="consecutive")
    if len(params.get("frameworks") or []) >= len(manifest["inputs"]):
        raise _malformed(path, "frameworks")
    inst = manifest.get("instrument")
    if not isinstance(inst, dict) or not all(k in inst for k in ("id", "version", "sha256")):
        raise _malformed(path, "instrument")
    for key in ("package_version", "lock_sha256"):
        if key not in manifest:
            raise _malformed(path, "missing", key=key)
    return manifest


def _environment_drift(manifest: dict) -> list[str]:
    """The package version, lock file and instrument of this run against the recorded ones."""
    problems = []
    if manifest["package_version"] != __version__:
        problems.append(f"package version {manifest['package_version']!r} recorded, "
                        f"{__version__!r} installed")
    lock = _lock_hash()
    if manifest["lock_sha256"] != lock:
        problems.append(f"requirements.lock sha256 {manifest['lock_sha256']!r} recorded, "
                        f"{lock!r} now")
    rec = manifest["instrument"]
    try:
        inst = load_instrument(manifest["parameters"]["instrument"])
    except PartnerschapError as exc:
        return [*problems, f"instrument {manifest['parameters']['instrument']!r} cannot be "
                           f"loaded: {exc}"]
    now = {"id": inst.id, "version": inst.version,
           "sha256": sha256_file(inst.source) if inst.source else None}
    for key in ("id", "version", "sha256"):
        if rec.get(key) != now[key]:
            problems.append(f"instrument {key} {rec.get(key)!r} recorded, {now[key]!r} now")
    return problems


def _file_drift(report_dir: Path, manifest: dict) -> tuple[list[str], list[str]]:
    """Recorded inputs and outputs against the files there now; (input problems, others)."""
    bad_inputs, problems = [], []
    inside = set()
    for rec in manifest["inputs"]:
        path = report_dir / rec["path"]
        if path.resolve().is_relative_to(report_dir.resolve()):
            inside.add(path.resolve().relative_to(report_dir.resolve()).as_posix())
        if not path.is_file():
            bad_inputs.append(f"input {rec['path']} is missing")
        elif sha256_file(path) != rec["sha256"]:
            bad_inputs.append(f"input {rec['path']} changed (sha256 differs from the manifest)")
    recorded = set()
    for rec in manifest["outputs"]:
        path = report_dir / rec["path"]
        recorded.add(Path(rec["path"]).as_posix())
        if not path.is_file():
            problems.append(f"output {rec['path']} is missing")
        elif sha256_file(path) != rec["sha256"]:
            problems.append(f"output {rec['path']} changed after the run (sha256 differs from "
                            "the manifest)")
    for path in sorted(report_dir.rglob("*")):
        rel = path.relative_to(report_dir).as_posix()
        if path.is_file() and rel not in recorded | inside | {"manifest.json"}:
            problems.append(f"file {rel} is not part of the recorded run (added afterwards)")
    return bad_inputs, problems


def reproduce(report_dir: str | Path) -> list[str]:
    """Check a report against its manifest and re-run it; return readable differences.

    Checked, in order: every recorded input and output file against its sha256 (pages,
    results.json, the executed notebook; files added afterwards too); the package version, the
    lock file and the instrument (id, version, sha256) against the recorded ones; then the
    report is rebuilt in a temporary folder (the report folder may be read-only) and
    ``results.json`` (byte for byte) and every page (text, figures, links, active elements) are
    compared. An empty list means reproduced.

    Raises
    ------
    ReportError
        When the folder has no usable manifest (missing, unreadable, malformed).
    """
    report_dir = Path(report_dir)
    manifest = read_manifest(report_dir)
    bad_inputs, problems = _file_drift(report_dir, manifest)
    problems += _environment_drift(manifest)
    if bad_inputs:  # a re-run from other inputs proves nothing
        return bad_inputs + problems
    inputs = [report_dir / i["path"] for i in manifest["inputs"]]
    p = manifest["parameters"]
    fw_ids = p.get("frameworks") or []
    frameworks = tuple(zip(fw_ids, inputs[1:1 + len(fw_ids)], strict=False))
    with tempfile.TemporaryDirectory(prefix="pe-reproduce-") as tmp:
        tmp_out = Path(tmp) / "report"
        try:
            build_report(ReportSettings(
                project=p["project"], instrument=p["instrument"], responses=inputs[0],
                out_dir=tmp_out, lang=p["lang"], min_cell=p["min_cell"],
                waves=tuple(p["waves"]) if p.get("waves") else None,
                schools=tuple(p["schools"]) if p.get("schools") else None,
                frameworks=frameworks, extra_inputs=tuple(inputs[1 + len(fw_ids):]),
                base_dir=report_dir, report_date=p.get("report_date"),
                conditions=tuple(p["conditions"].items()) if p.get("conditions") else None,
                start_waves=tuple(p["start_waves"].items()) if p.get("start_waves") else None,
                consecutive=bool(p.get("consecutive", False))))
        except PartnerschapError as exc:
            return [*problems, f"the report could not be built again: {exc}"]
        old = (report_dir / "results.json").read_text(encoding="utf-8", errors="replace") \
            if (report_dir / "results.json").is_file() else ""
        new = (tmp_out / "results.json").read_text(encoding="utf-8")
        if old != new:
            problems.append("results.json drifted:\n" + "".join(difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), "recorded/results.json",
                "rerun/results.json", n=1)))
        recorded = {r["path"] for r in manifest["outputs"] if r["path"].endswith(".html")}
        rerun = {p.relative_to(tmp_out).as_posix() for p in tmp_out.rglob("*.html")}
        for rel in sorted(rerun - recorded):
            problems.append(f"{rel} is produced by the re-run but not recorded")
        for rel in sorted(recorded):
            if not (tmp_out / rel).is_file():
                problems.append(f"{rel} was not produced again")
                continue
            if not (report_dir / rel).is_file():
                continue  # already listed as missing
            old_page = page_content(report_dir / rel)
            new_page = page_content(tmp_out / rel)
            if old_page != new_page:
                problems.append(f"{rel} content drifted:\n" + "\n".join(difflib.unified_diff(
                    old_page, new_page, f"recorded/{rel}", f"rerun/{rel}", n=1, lineterm="")))
    return problems
