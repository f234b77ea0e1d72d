"""The ``consecutive`` setting (issue 17, "Waves"): a project file's ``consecutive: true``,
``--consecutive`` on ``report`` and ``evaluate``, :class:`ReportSettings`, recorded in the
manifest (and results.json's provenance) only when on, so that ``reproduce`` rebuilds with it
and earlier manifests and results stay as they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_waves_results import three_wave_study
from typer.testing import CliRunner

from partnerschap_eval import cli
from partnerschap_eval.report.build import MANIFEST_SCHEMA, ReportError, ReportSettings
from partnerschap_eval.report.project import load_project

GROUPS = {("parent", s): {"pre+mid+post": 14, "pre+post": 2} for s in ("A", "B")}


def _responses(tmp_path: Path) -> Path:
    path = tmp_path / "responses.csv"
    three_wave_study(GROUPS).to_csv(path, index=False)
    return path


def test_settings_record_consecutive_only_when_on(tmp_path):
    base = dict(project="p", instrument="partnerschap", responses=tmp_path / "r.csv",
                out_dir=tmp_path / "out")
    assert "consecutive" not in ReportSettings(**base).parameters()
    assert ReportSettings(**base, consecutive=True).parameters()["consecutive"] is True


def test_the_project_file_key(tmp_path):
    _responses(tmp_path)
    cfg = tmp_path / "p.yaml"
    head = "project: P\ninstrument: partnerschap\nresponses: responses.csv\nout: rep\n"
    cfg.write_text(head + "waves: [pre, mid, post]\nconsecutive: true\n")
    assert load_project(cfg).consecutive is True
    cfg.write_text(head)
    assert load_project(cfg).consecutive is False
    cfg.write_text(head + "consecutive: sometimes\n")
    with pytest.raises(Exception, match="consecutive"):
        load_project(cfg)


def test_a_manifest_with_a_consecutive_that_is_no_flag_is_refused(tmp_path):
    from partnerschap_eval.report.build import read_manifest

    rec = {"path": "r.csv", "sha256": "0" * 64}
    manifest = {"schema": MANIFEST_SCHEMA, "inputs": [rec], "outputs": [rec],
                "parameters": {"project": "p", "instrument": "partnerschap", "lang": "nl",
                               "min_cell": 10, "consecutive": "yes"},
                "instrument": {"id": "x", "version": "1", "sha256": None},
                "package_version": "0", "lock_sha256": None}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReportError, match="consecutive"):
        read_manifest(tmp_path)
    manifest["parameters"]["consecutive"] = True
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert read_manifest(tmp_path)["parameters"]["consecutive"] is True


@pytest.mark.slow
def test_evaluate_takes_consecutive_on_the_command_line(tmp_path):
    path = _responses(tmp_path)
    runner = CliRunner()
    for flag, expected in (([], ["mid-pre", "post-pre"]),
                           (["--consecutive"], ["mid-pre", "post-pre", "post-mid"])):
        out = tmp_path / f"results{len(flag)}.json"
        r = runner.invoke(cli.app, ["evaluate", str(path), "--instrument", "partnerschap",
                                    "--waves", "pre,mid,post", "--out", str(out), *flag])
        assert r.exit_code == 0, r.output
        res = json.loads(out.read_text(encoding="utf-8"))
        assert sorted(res["scales"]["reciprocity"]["contrasts"]) == sorted(expected)
        assert res["provenance"]["parameters"].get("consecutive") is (True if flag else None)


def test_report_takes_consecutive_on_the_command_line(tmp_path, monkeypatch):
    """``--consecutive`` reaches the settings (the build itself is the slow test below)."""
    import partnerschap_eval.report.build as build

    seen = {}

    def fake(settings, protect=()):
        seen["settings"] = settings
        raise build.ReportError("stop")

    monkeypatch.setattr(build, "build_report", fake)
    path = _responses(tmp_path)
    CliRunner().invoke(cli.app, ["report", "--responses", str(path), "--instrument",
                                 "partnerschap", "--project", "p", "--out",
                                 str(tmp_path / "o"), "--waves", "pre,mid,post",
                                 "--consecutive"])
    assert seen["settings"].consecutive is True


@pytest.mark.slow
def test_reproduce_rebuilds_with_consecutive(tmp_path):
    from partnerschap_eval.report.build import build_report, reproduce

    path = _responses(tmp_path)
    out = build_report(ReportSettings(project="p", instrument="partnerschap", responses=path,
                                      out_dir=tmp_path / "out", min_cell=10, lang="en",
                                      waves=("pre", "mid", "post"), consecutive=True,
                                      workers=1))
    from partnerschap_eval.report.presentation import fmt_number

    results = json.loads(out.results.read_text(encoding="utf-8"))
    c = results["scales"]["reciprocity"]["contrasts"]["post-mid"]
    # the waves section shows the consecutive contrast, paired and the wave model
    page = out.html.read_text(encoding="utf-8")
    assert c["mixed"]["estimate"] is not None
    assert fmt_number(c["mixed"]["estimate"], "en") in page
    assert fmt_number(c["paired"]["mean_diff"], "en") in page
    assert "Model: difference" in page
    # a school page shows every later wave against the first
    school = out.school_pages[0].read_text(encoding="utf-8")
    assert 'id="school_waves"' in school and "Every later wave against" in school
    manifest = json.loads(out.manifest.read_text(encoding="utf-8"))
    assert manifest["parameters"]["consecutive"] is True
    assert reproduce(out.html.parent) == []
    # without the recorded setting the rebuild would differ: the manifest is what carries it
    manifest["parameters"].pop("consecutive")
    out.manifest.write_text(json.dumps(manifest), encoding="utf-8")
    problems = reproduce(out.html.parent)
    assert any("results.json drifted" in p for p in problems), problems
