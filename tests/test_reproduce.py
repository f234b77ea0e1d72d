"""``reproduce`` as an attacker tests it: every recorded file tampered with, the manifest forged
to match, the environment's hashes changed, the manifest broken, the folder read-only.

Drift exits 1 and names each thing that drifted; an unusable manifest exits 2 with one
paragraph; an untouched report reproduces without writing a byte into its folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from partnerschap_eval.cli import app
from partnerschap_eval.report.build import ReportSettings, build_report

CLI = [sys.executable, "-m", "partnerschap_eval.cli"]

# Every test here re-renders a report (the module fixture alone takes ~11 s): CI runs them.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    from partnerschap_eval.synth import StudyDesign, simulate_study

    base = tmp_path_factory.mktemp("repro")
    study = simulate_study(seed=3, design=StudyDesign(n_schools=2, parents_invited=30,
                                                      response_rate=0.6))
    study.responses.to_csv(base / "responses.csv", index=False)
    build_report(ReportSettings(project="Repro", instrument="partnerschap",
                                responses=base / "responses.csv", out_dir=base / "report",
                                min_cell=5, report_date="2026-01-01"))
    return base / "report"


def copy_of(report: Path, tmp_path: Path) -> Path:
    """A copy beside a copy of its input, so the recorded relative input path still resolves."""
    shutil.copy(report.parent / "responses.csv", tmp_path / "responses.csv")
    shutil.copytree(report, tmp_path / "report")
    return tmp_path / "report"


def reproduce(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "reproduce", str(folder)], capture_output=True, text=True,
                          timeout=600, env=os.environ | {"PYTHONHASHSEED": "0"})


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


IMG_SRC = re.compile(r'(<img[^>]*?src=")([^"]+)(")')


def test_every_tampered_file_and_a_forged_manifest_are_named(report, tmp_path):
    """Each recorded file is tampered with; for index.html the attacker also updates its
    sha256 in the manifest, so only the re-run can tell (its page has no script and its
    figures in the other order); the recorded environment hashes are changed too. One run of
    reproduce must name every one of them."""
    folder = copy_of(report, tmp_path)
    index = folder / "index.html"
    page = index.read_text().replace("</h1>", "</h1><script>fetch('//evil')</script>", 1)
    srcs = [m.group(2) for m in IMG_SRC.finditer(page)]
    assert len(srcs) >= 2 and srcs[0] != srcs[1]
    page = page.replace(srcs[0], "\0").replace(srcs[1], srcs[0]).replace("\0", srcs[1])
    index.write_text(page)
    # swap the figures of the two school pages (their text stays the same)
    a, b = sorted((folder / "schools").iterdir())
    src_a = IMG_SRC.search(a.read_text()).group(2)
    src_b = IMG_SRC.search(b.read_text()).group(2)
    assert src_a != src_b
    a.write_text(a.read_text().replace(src_a, src_b))
    b.write_text(b.read_text().replace(src_b, src_a))
    notebook = folder / "project_report.ipynb"
    nb = json.loads(notebook.read_text())
    nb["cells"][-1].setdefault("outputs", []).append(
        {"output_type": "stream", "name": "stdout", "text": "edited afterwards"})
    notebook.write_text(json.dumps(nb))
    results = folder / "results.json"
    results.write_text(results.read_text().replace('"n": ', '"n": 1', 1))
    (folder / "schools" / "extra.html").write_text("<p>planted</p>")
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for rec in manifest["outputs"]:
        if rec["path"] == "index.html":
            rec["sha256"] = sha(index)
    manifest["lock_sha256"] = "0" * 64
    manifest["package_version"] = "0.0.0-forged"
    manifest["instrument"]["sha256"] = "f" * 64
    manifest_path.write_text(json.dumps(manifest))
    res = reproduce(folder)
    assert res.returncode == 1, res.stdout + res.stderr
    for name in (f"output schools/{a.name} changed", f"output schools/{b.name} changed",
                 "output project_report.ipynb changed", "output results.json changed",
                 "file schools/extra.html is not part", "results.json drifted",
                 f"schools/{a.name} content drifted", f"schools/{b.name} content drifted",
                 "requirements.lock sha256", "package version '0.0.0-forged'",
                 "instrument sha256"):
        assert name in res.stderr, name
    assert "output index.html changed" not in res.stderr  # the hash check was fooled ...
    assert "index.html content drifted" in res.stderr  # ... the re-run was not
    assert "-[element <script>]" in res.stderr
    assert re.search(r"-\[figure 1: [0-9a-f]{16}\]", res.stderr)
    assert "Traceback" not in res.stderr


def test_reproduce_of_a_read_only_report_writes_nothing_into_it(report, tmp_path):
    folder = copy_of(report, tmp_path)
    before = {p: (p.stat().st_mtime_ns, sha(p)) for p in folder.rglob("*") if p.is_file()}
    dir_mtime = folder.stat().st_mtime_ns
    for p in [folder, *folder.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        res = reproduce(folder)
    finally:
        for p in [folder, *folder.rglob("*")]:
            p.chmod(p.stat().st_mode | stat.S_IWUSR)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "reproduced" in res.stdout
    # root ignores the permissions: the folder's own mtime proves nothing was made in it
    assert folder.stat().st_mtime_ns == dir_mtime
    assert {p: (p.stat().st_mtime_ns, sha(p)) for p in folder.rglob("*") if p.is_file()} == before


MALFORMED = {
    "not json": b"{ not json",
    "not utf-8": b"\xff\xfe\x00garbage",
    "a list": b"[]",
    "other schema": json.dumps({"schema": "something/else"}).encode(),
}


def _broken_variants(manifest: dict) -> dict[str, dict]:
    no_inputs = dict(manifest, inputs=[])
    bad_sha = dict(manifest, outputs=[{"path": "index.html", "sha256": 12}])
    outside = dict(manifest, outputs=[{"path": "../../etc/passwd", "sha256": "0" * 64}])
    no_params = {k: v for k, v in manifest.items() if k != "parameters"}
    min_cell = dict(manifest, parameters=dict(manifest["parameters"], min_cell="ten"))
    frameworks = dict(manifest, parameters=dict(manifest["parameters"], frameworks=["a", "b"]))
    no_lock = {k: v for k, v in manifest.items() if k != "lock_sha256"}
    return {"no inputs": no_inputs, "bad sha": bad_sha, "outside": outside,
            "no parameters": no_params, "min_cell text": min_cell,
            "frameworks without inputs": frameworks, "no lock hash": no_lock}


def test_an_unusable_manifest_exits_2_with_a_paragraph(report, tmp_path):
    manifest = json.loads((report / "manifest.json").read_text())
    cases = dict(MALFORMED)
    cases |= {name: json.dumps(m).encode() for name, m in _broken_variants(manifest).items()}
    runner = CliRunner()
    for name, body in cases.items():
        folder = tmp_path / name.replace(" ", "_")
        folder.mkdir()
        (folder / "manifest.json").write_bytes(body)
        res = runner.invoke(app, ["reproduce", str(folder)])
        assert res.exit_code == 2, (name, res.output)
        assert isinstance(res.exception, SystemExit), (name, res.exception)
        assert "manifest.json" in res.output and "Traceback" not in res.output, name
    for missing in (tmp_path / "nowhere", tmp_path / "empty"):
        if missing.name == "empty":
            missing.mkdir()
        res = runner.invoke(app, ["reproduce", str(missing)])
        assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output


def test_a_report_build_that_fails_midway_leaves_the_earlier_report(report, tmp_path,
                                                                     monkeypatch):
    """results.json is written, a page is half done, then the disk fills: the earlier report
    is untouched (reproduce's file checks pass) and no staging folder is left."""
    import errno

    from partnerschap_eval.errors import OutputError, os_error_message
    from partnerschap_eval.report import build as reporting

    folder = copy_of(report, tmp_path)
    before = {p.relative_to(folder): sha(p) for p in folder.rglob("*") if p.is_file()}

    def fail_midway(jobs, lang, cwd, workers):
        (Path(cwd) / "index.html").write_text("<html>half")
        raise OutputError(os_error_message(
            OSError(errno.ENOSPC, "No space left on device"), Path(cwd) / "schools" / "x.html"))

    monkeypatch.setattr(reporting, "_render_all", fail_midway)
    with pytest.raises(OutputError, match="disk is full"):
        build_report(ReportSettings(project="Repro", instrument="partnerschap",
                                    responses=tmp_path / "responses.csv", out_dir=folder,
                                    min_cell=5, report_date="2026-02-02"))
    assert {p.relative_to(folder): sha(p) for p in folder.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".report.lock", "report",
                                                          "responses.csv"]
