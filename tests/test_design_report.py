"""Issue 17: a design with conditions reaches the report -- from a study's
``schools[].condition`` or a project's ``conditions:``, recorded in the manifest so that
``reproduce`` rebuilds the same report, and passed to ``evaluate`` (the ``did`` blocks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_disclosure import make_study

from partnerschap_eval.errors import InputError
from partnerschap_eval.report.build import ReportError, ReportSettings, compute_results
from partnerschap_eval.report.project import load_project

CONDITIONS = {"A": "intervention", "B": "intervention", "C": "control", "D": "control"}


def _responses(tmp_path: Path, parents=None) -> Path:
    parents = parents or {"A": (22, 6), "B": (22, 6), "C": (22, 6), "D": (22, 6)}
    path = tmp_path / "responses.csv"
    make_study(parents).to_csv(path, index=False)
    return path


def test_settings_keep_conditions_sorted_and_record_them_only_when_given(tmp_path):
    base = dict(project="p", instrument="partnerschap", responses=tmp_path / "r.csv",
                out_dir=tmp_path / "out")
    plain = ReportSettings(**base)
    assert plain.conditions is None and "conditions" not in plain.parameters()
    s = ReportSettings(**base, conditions={"D": "control", "A": "intervention"})
    assert s.conditions == (("A", "intervention"), ("D", "control"))
    assert s.parameters()["conditions"] == {"A": "intervention", "D": "control"}
    assert ReportSettings(**base, conditions={}).conditions is None


def test_study_conditions_reach_the_report_settings(tmp_path):
    from partnerschap_eval.cli_study import study_report_settings
    from partnerschap_eval.study import Study

    key = b"k" * 32
    Study.init(tmp_path / "s", "partnerschap", key=key, schools=[
        {"id": "S01", "condition": "intervention", "start_wave": "pre"},
        {"id": "S02", "condition": "control"}, {"id": "S03", "start_wave": "post"}]).close()
    settings = study_report_settings(tmp_path / "s", None, "nl", None)
    assert dict(settings.conditions) == {"S01": "intervention", "S02": "control"}
    assert dict(settings.start_waves) == {"S01": "pre", "S03": "post"}
    assert settings.parameters()["start_waves"] == {"S01": "pre", "S03": "post"}
    with pytest.raises(InputError, match="start_wave"):
        Study.init(tmp_path / "u", "partnerschap", key=key,
                   schools=[{"id": "S01", "start_wave": "T7"}])
    Study.init(tmp_path / "t", "partnerschap", key=key, schools=[{"id": "S01"}]).close()
    plain = study_report_settings(tmp_path / "t", None, "nl", None)
    assert plain.conditions is None and plain.start_waves is None


def test_project_file_conditions(tmp_path):
    _responses(tmp_path)
    cfg = tmp_path / "p.yaml"
    cfg.write_text("project: P\ninstrument: partnerschap\nresponses: responses.csv\n"
                   "out: rep\nconditions: {A: intervention, C: control, B: waitlist}\n"
                   "start_waves: {A: pre, C: post}\n")
    settings = load_project(cfg)
    assert dict(settings.conditions) == {"A": "intervention", "B": "waitlist", "C": "control"}
    assert dict(settings.start_waves) == {"A": "pre", "C": "post"}
    cfg.write_text("project: P\ninstrument: partnerschap\nresponses: responses.csv\n"
                   "out: rep\nconditions: {A: interventie}\n")
    with pytest.raises(InputError, match="conditions"):
        load_project(cfg)


@pytest.mark.slow
def test_conditions_reach_evaluate_through_the_report(tmp_path):
    from partnerschap_eval.instruments import load_instrument
    from partnerschap_eval.report import presentation as pres

    path = _responses(tmp_path)
    s = ReportSettings(project="p", instrument="partnerschap", responses=path,
                       out_dir=tmp_path / "out", min_cell=5, conditions=CONDITIONS)
    results, audit = compute_results(s)
    assert audit.ok
    assert results["design"]["conditions"] == CONDITIONS
    assert results["provenance"]["parameters"]["conditions"] == CONDITIONS
    for block in results["scales"].values():
        assert block["did"]["post-pre"]["df"] is not None
        assert block["baseline_equivalence"]["category"] in ("equivalent", "adjust",
                                                              "not_equivalent")
    assert "start_waves" not in results["design"]
    staggered, _ = compute_results(ReportSettings(
        project="p", instrument="partnerschap", responses=path, out_dir=tmp_path / "out",
        min_cell=5, conditions=CONDITIONS, start_waves={"A": "pre", "C": "post"}))
    assert staggered["design"]["start_waves"] == {"A": "pre", "C": "post"}
    assert "staggered start" in pres.did_html(staggered, load_instrument("partnerschap"), "en")
    with pytest.raises(InputError, match="start_waves"):
        compute_results(ReportSettings(project="p", instrument="partnerschap", responses=path,
                                       out_dir=tmp_path / "out", min_cell=5,
                                       conditions=CONDITIONS, start_waves={"A": "T9"}))
    plain, _ = compute_results(ReportSettings(project="p", instrument="partnerschap",
                                              responses=path, out_dir=tmp_path / "out",
                                              min_cell=5))
    assert "design" not in plain and all("did" not in b for b in plain["scales"].values())


def test_manifest_with_malformed_conditions_is_refused(tmp_path):
    from partnerschap_eval.report.build import MANIFEST_SCHEMA, read_manifest

    rec = {"path": "r.csv", "sha256": "0" * 64}
    manifest = {"schema": MANIFEST_SCHEMA, "inputs": [rec], "outputs": [rec],
                "parameters": {"project": "p", "instrument": "partnerschap", "lang": "nl",
                               "min_cell": 10, "conditions": ["A", "intervention"]},
                "instrument": {"id": "x", "version": "1", "sha256": None},
                "package_version": "0", "lock_sha256": None}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReportError, match="conditions"):
        read_manifest(tmp_path)
    manifest["parameters"]["conditions"] = {"A": "intervention"}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    assert read_manifest(tmp_path)["parameters"]["conditions"] == {"A": "intervention"}
    manifest["parameters"]["start_waves"] = {"A": 1}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ReportError, match="start_waves"):
        read_manifest(tmp_path)


def _design_results(estimate: float, p: float, starts: dict | None = None) -> dict:
    did = {"estimate": estimate, "se": 0.1, "df": 7.4, "t": estimate / 0.1, "p": p,
           "ci95": [estimate - 0.23, estimate + 0.23], "d": estimate / 0.6, "d_total": 0.0}
    design = {"conditions": CONDITIONS, "treatment": "intervention", "reference": "control"}
    if starts:
        design["start_waves"] = starts
    return {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
            "min_cell": 10, "design": design,
            "scales": {"reciprocity": {
                "paired": {"n": 40}, "did": {"post-pre": did},
                "baseline_equivalence": {"treatment": "intervention", "reference": "control",
                                         "n_treatment": 40, "n_reference": 30, "g": 0.12,
                                         "ci95": [-0.3, 0.5], "category": "adjust",
                                         "mean_treatment": 3.1, "mean_reference": 3.0},
                "attrition_by_condition": {"by_condition": {
                    "intervention": {"baseline": 50, "analytic": 40, "dropouts": 10,
                                     "attrition": 0.2},
                    "control": {"baseline": 45, "analytic": 30, "dropouts": 15,
                                "attrition": 1 / 3}}}}}}


def test_did_words_follow_the_numbers_in_both_languages():
    from partnerschap_eval.instruments import load_instrument
    from partnerschap_eval.report import presentation as pres

    inst = load_instrument("partnerschap")
    up = _design_results(0.31, 0.004)
    down = _design_results(-0.31, 0.4)
    nl_up = pres.did_sentences(up, inst, "nl")[0]
    assert "0,31 punt meer" in nl_up and "vrijwel zeker geen toeval" in nl_up
    assert "df = 7,4" in nl_up and "interventiescholen" in nl_up and "controlescholen" in nl_up
    en_down = pres.did_sentences(down, inst, "en")[0]
    assert "0.31 points less" in en_down and "may be chance" in en_down
    assert "did" in pres.project_sections(up)
    assert "did" not in pres.project_sections({"scales": {"reciprocity": {"paired": {}}}})
    base = pres.baseline_table(up, inst, "nl")
    assert base.iloc[0].tolist()[-1] == "corrigeren voor de eerste meting"
    att = pres.arm_attrition_table(up, inst, "en")
    assert att["Attrition"].tolist() == ["20%", "33%"]
    assert att["Differential attrition"].tolist() == ["13%", ""]
    # a withheld rate: no differential
    up["scales"]["reciprocity"]["attrition_by_condition"]["by_condition"]["control"][
        "attrition"] = None
    assert pres.arm_attrition_table(up, inst, "en")["Differential attrition"].iloc[0] == "–"


def test_a_staggered_start_is_stated_as_a_limitation():
    from partnerschap_eval.instruments import load_instrument
    from partnerschap_eval.report import presentation as pres

    inst = load_instrument("partnerschap")
    same = pres.did_html(_design_results(0.2, 0.1, {"A": "pre", "C": "pre"}), inst, "en")
    staggered = pres.did_html(_design_results(0.2, 0.1, {"A": "pre", "C": "post"}), inst, "en")
    assert "staggered" not in same and "staggered start" in staggered
    assert "gespreide start" in pres.did_html(
        _design_results(0.2, 0.1, {"A": "pre", "C": "post"}), inst, "nl")


@pytest.mark.slow
def test_the_report_has_a_did_section_only_with_conditions(tmp_path):
    from partnerschap_eval.report.build import build_report, reproduce
    from partnerschap_eval.report.presentation import fmt_number

    path = _responses(tmp_path)
    out = build_report(ReportSettings(project="p", instrument="partnerschap", responses=path,
                                      out_dir=tmp_path / "out", min_cell=5, lang="en",
                                      conditions=CONDITIONS, workers=1))
    page = out.html.read_text(encoding="utf-8")
    results = json.loads(out.results.read_text(encoding="utf-8"))
    assert "id=\"did\"" in page or "id='did'" in page
    for block in results["scales"].values():
        assert fmt_number(block["did"]["post-pre"]["estimate"], "en") in page
    assert "Were the groups alike at the start?" in page
    # the manifest records the conditions: reproduce rebuilds the same report
    manifest = json.loads(out.manifest.read_text(encoding="utf-8"))
    assert manifest["parameters"]["conditions"] == CONDITIONS
    assert reproduce(out.html.parent) == []
