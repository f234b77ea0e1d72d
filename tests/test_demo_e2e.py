"""End to end through the command line, as a newcomer and a lector would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from partnerschap_eval._io import sha256_file

CLI = [sys.executable, "-m", "partnerschap_eval.cli"]


def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = os.environ | {"PYTHONHASHSEED": "0"} | (env or {})
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, env=full_env,
                          timeout=600)


# the demo itself is built once per session: `demo_dir` in conftest.py (its tests are marked
# slow there)


def test_demo_writes_report_results_manifest(demo_dir):
    report = demo_dir / "report"
    for name in ("index.html", "results.json", "manifest.json", "project_report.ipynb"):
        assert (report / name).is_file(), name
    results = json.loads((report / "results.json").read_text())
    assert results["schema"] == "partnerschap-eval/results/v2"
    # the demo's design (synth.DEMO_DESIGN): three waves, compared from the first to the last
    assert results["waves"] == ["pre", "post", "follow-up"]
    assert results["compared"] == {"first": "pre", "last": "follow-up"}
    assert set(results["scales"]) == {"reciprocity", "two_way_communication", "shared_decision_making"}
    paired = results["scales"]["reciprocity"]["paired"]
    for key in ("n", "t", "df", "p", "p_adj", "ci95", "d_z", "d_z_ci95", "d_av", "g_av", "wilcoxon"):
        assert key in paired
    assert paired["df"] == paired["n"] - 1
    manifest = json.loads((report / "manifest.json").read_text())
    assert manifest["stderr_outputs"] == 0
    # the printed date is a recorded parameter (so reproduce prints it again), not a number
    assert "report_date" in manifest["parameters"]
    assert "report_date" not in results["provenance"].get("parameters", {})
    index = (report / "index.html").read_text()
    day = manifest["parameters"]["report_date"]
    months = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
              "september", "oktober", "november", "december"]
    y, m, d = (int(x) for x in day.split("-"))
    assert f"Rapportdatum: {d} {months[m - 1]} {y}" in index
    # the psychometrics section: three-factor CFA per role and invariance across roles
    psy = results["psychometrics"]
    assert {r["group"] for r in psy["cfa"]} == {"all", "parent", "teacher", "youthworker"}
    assert [r["level"] for r in psy["invariance"] if r["wave"] == "pre"] == [
        "configural", "metric", "scalar"]
    assert "Meten de schalen voor iedereen hetzelfde?" in index and "ΔCFI" in index
    for out in manifest["outputs"]:
        assert sha256_file(report / out["path"]) == out["sha256"]


def test_the_demo_is_a_study_reported_as_report_study_reports_it(demo_dir):
    from partnerschap_eval.i18n import t
    from partnerschap_eval.study import Study
    from partnerschap_eval.synth import DEMO_DESIGN, simulate_study

    report = demo_dir / "report"
    truth = simulate_study(seed=2014, design=DEMO_DESIGN)
    # the study: declared waves in time order, the schools with their conditions, every
    # simulated row accepted through Study.submit
    with Study.open(report / "study") as study:
        cfg = study.config
        status = study.status()
    assert cfg.wave_ids == ["pre", "post", "follow-up"] and cfg.ids == "per_school"
    assert [w.label["nl"] for w in cfg.waves] == ["Voormeting", "Nameting", "Vervolgmeting"]
    assert {s.id: s.condition for s in cfg.schools} == truth.conditions
    assert int(status.accepted.sum()) == len(truth.responses)
    assert set(status.wave) == {"pre", "post", "follow-up"}
    assert not list(report.glob("study/*.sqlite-*"))  # the store was closed (no WAL left)
    # the report: the study's provenance (its current responses, the declared waves and the
    # schools' conditions as parameters), as `report --study` records them
    results = json.loads((report / "results.json").read_text())
    prov = results["provenance"]
    assert [i["path"] for i in prov["inputs"]][0] == "study/current/responses.csv"
    assert prov["parameters"]["waves"] == ["pre", "post", "follow-up"]
    assert prov["parameters"]["conditions"] == truth.conditions
    manifest = json.loads((report / "manifest.json").read_text())
    assert manifest["parameters"]["project"] == "WiSH demo"
    assert manifest["parameters"]["conditions"] == truth.conditions
    # every section of a study with a comparison arm: waves, contrasts, DiD, baseline
    # equivalence, attrition per arm
    for scale, block in results["scales"].items():
        assert set(block["waves"]) == {"pre", "post", "follow-up"}, scale
        assert set(block["contrasts"]) == {"post-pre", "follow-up-pre"}, scale
        assert set(block["did"]) == {"post-pre", "follow-up-pre"}, scale
        assert block["did"]["post-pre"]["estimate"] is not None, scale
        assert block["baseline_equivalence"]["g"] is not None, scale
        assert set(block["attrition_by_condition"]["by_condition"]) == {"intervention",
                                                                         "control"}, scale
    # the true DiD of parents' two-way communication is +0.35 (latent) at post: the estimate
    # (all roles pooled, 30 against 13 schools) is positive
    assert results["scales"]["two_way_communication"]["did"]["post-pre"]["estimate"] > 0.1
    page = (report / "index.html").read_text()
    for key in ("report.section.waves.title", "report.section.did.title",
                "report.did.baseline.head", "report.did.attrition.head"):
        assert t(key, "nl") in page, key
    assert "Vervolgmeting" in page


def test_demo_report_shows_the_frameworks(demo_dir):
    page = (demo_dir / "report" / "index.html").read_text()
    for heading in ("Niveau van samenwerking (naar Gerdes)", "Participatieladder",
                    "Betrokkenheid volgens Epstein", "Praatplaat", "Wie ging omhoog"):
        assert heading in page, heading
    assert "Gerdes (2021) publiceerde geen vragenlijst" in page  # own operationalisation, said
    results = json.loads((demo_dir / "report" / "results.json").read_text())
    tests = [r for r in results["frameworks"]["tables"]["ordinal_tests"]
             if r["classification"] == "gerdes_level" and r["role"] == "parent"]
    assert tests[0]["share_up"] > tests[0]["share_down"] and tests[0]["sign_test_p"] < 0.05


def test_report_html_is_self_contained_and_private(demo_dir):
    page = (demo_dir / "report" / "index.html").read_text()
    import re

    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "fetches from the web"
    assert page.count('class="pe-figure"') >= 2
    # nothing personal from the exports reaches the report
    raw_parent = (demo_dir / "raw" / "ouders_pre.csv").read_text()
    assert "@voorbeeld.nl" in raw_parent and "@voorbeeld.nl" not in page
    assert "S01-O001" in raw_parent and "S01-O001" not in page
    responses = (demo_dir / "report" / "study" / "current" / "responses.csv").read_text()
    assert "S01-O001" not in responses and "voorbeeld.nl" not in responses


def test_demo_leaves_existing_raw_exports_untouched(demo_dir):
    raw = demo_dir / "raw"
    before = {p.name: sha256_file(p) for p in raw.iterdir()}
    mtimes = {p.name: p.stat().st_mtime_ns for p in raw.iterdir()}
    res = run("demo", "--out", str(demo_dir / "report2"), "--raw", str(raw))
    assert res.returncode == 0, res.stderr
    assert {p.name: sha256_file(p) for p in raw.iterdir()} == before
    assert {p.name: p.stat().st_mtime_ns for p in raw.iterdir()} == mtimes
    # same inputs, same parameters: byte-identical results
    assert (demo_dir / "report" / "results.json").read_bytes() == (
        demo_dir / "report2" / "results.json").read_bytes()


def test_reproduce_passes_untouched_and_fails_tampered(demo_dir, tmp_path):
    report = demo_dir / "report"
    ok = run("reproduce", str(report))
    assert ok.returncode == 0, ok.stderr + ok.stdout
    # tamper with one number in results.json
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(report, copy)
    text = (copy / "results.json").read_text()
    tampered = text.replace('"n": ', '"n": 1', 1)
    assert tampered != text
    (copy / "results.json").write_text(tampered)
    bad = run("reproduce", str(copy))
    assert bad.returncode != 0
    assert "results.json" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.slow
def test_user_errors_are_one_paragraph_not_tracebacks(tmp_path):
    res = run("ingest", str(tmp_path / "missing.csv"), "--instrument", "partnerschap",
              "--out", str(tmp_path / "o"), env={"PARTNERSCHAP_EVAL_KEY": ""})
    assert res.returncode == 2
    assert "keygen" in res.stderr and "Traceback" not in res.stderr
    res = run("evaluate", str(tmp_path / "nope.csv"), "--instrument", "nope", "--out", "x.json")
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_keygen_writes_private_key(tmp_path):
    res = run("keygen", "--out", str(tmp_path / "key"))
    assert res.returncode == 0, res.stderr
    key = tmp_path / "key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert len(key.read_text().strip()) == 64
    again = run("keygen", "--out", str(key))
    assert again.returncode == 2 and "refusing" in again.stderr
