"""Rejected rows with stable reason codes: in plain ingest (English reasons) and in a study (the
reasons in the study's language), and every row of every submission accounted for."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pandas as pd
import pytest

from partnerschap_eval.ingest import ExportSpec, ingest_exports
from partnerschap_eval.ingest import reasons as R
from partnerschap_eval.study import Study

KEY = b"study test key, not secret 0123456789"
CLI = [sys.executable, "-m", "partnerschap_eval.cli"]

# line: 2 ok, 3 exact copy of 2, 4 no number, 5+6 the same number with other answers,
# 7 a role that is no role, 8 an id of 201 characters, 9 a row with a field too many
BAD = ("Deelnemernummer,rol,rec1,rec2\n1,ouder,4,5\n1,ouder,4,5\n,ouder,3,3\n2,ouder,1,1\n"
       "2,ouder,2,2\n3,oudr,4,4\n" + "9" * 201 + ",ouder,3,3\n4,ouder,1,2,3\n5,leerkracht,5,5\n")
WANT = {"exact_duplicate": 1, "missing_id": 1, "conflicting_duplicate": 2, "unknown_role": 1,
        "id_too_long": 1, "row_fields": 1}


@pytest.fixture()
def files(tmp_path):
    bad = tmp_path / "ouders_fouten.csv"
    bad.write_text(BAD, encoding="utf-8")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  Deelnemernummer: respondent_id\n  rol: role\n")
    return bad, mapping


def test_plain_ingest_gives_every_rejected_row_a_code_beside_its_english_reason(files):
    bad, mapping = files
    res = ingest_exports([ExportSpec(bad, wave="pre", school="A")], "partnerschap", KEY, mapping)
    rej = res.rejected
    assert list(rej.columns[:4]) == ["source_file", "line", "reason", "reason_code"]
    assert Counter(rej.reason_code) == WANT
    assert res.log["totals"]["accepted"] == 2  # number 1 (once) and the teacher
    assert len(rej) + res.log["totals"]["accepted"] == res.log["totals"]["rows_in"] == 9
    for text, code in zip(rej.reason, rej.reason_code, strict=True):
        assert R.code_of(text) == code
        assert text == R.ENGLISH[code].format(n=200)  # English, the plain ingest's wording
    assert rej.set_index("line").reason_code.to_dict() == {
        3: "exact_duplicate", 4: "missing_id", 5: "conflicting_duplicate",
        6: "conflicting_duplicate", 7: "unknown_role", 8: "id_too_long", 9: "row_fields"}


def test_a_studys_rejected_rows_add_up_per_submission_in_its_language(files, tmp_path):
    bad, mapping = files
    study = Study.init(tmp_path / "s", "partnerschap", key=KEY)
    fb = study.submit([bad], school="A", wave="pre", mapping=mapping, key=KEY)[0]
    assert fb.rows_in == 9 and fb.accepted == 2
    rej = study.rejected()
    assert Counter(rej.reason_code) == WANT
    assert "precies dezelfde rij staat er al (dubbel ingevuld)" in set(rej.reason)  # Dutch
    assert "deelnemernummer langer dan 200 tekens" in set(rej.reason)
    assert set(study.rejected(lang="en").reason) == {R.ENGLISH[c].format(n=200) for c in WANT}
    # a corrected file for the parents: the parents' rejected rows of the first are history
    fixed = tmp_path / "ouders_goed.csv"
    fixed.write_text("Deelnemernummer,rol,rec1,rec2\n1,ouder,4,5\n2,ouder,2,2\n,ouder,1,1\n")
    study.submit([fixed], school="A", wave="pre", mapping=mapping, key=KEY)
    current, everything = study.rejected(), study.rejected(history=True)
    assert len(everything) == len(rej) + 1
    assert Counter(current.reason_code) == Counter(
        {"missing_id": 1, "unknown_role": 1})  # the new file's, and the untouched cell's
    hist = study.history().set_index("submission_id")
    for frame, subs in ((everything, hist), (current, hist[hist.current])):
        n_rej = frame.groupby("submission_id").size().reindex(subs.index, fill_value=0)
        assert (subs.accepted + n_rej == subs.rows_in).all()  # every row accounted for
        assert (n_rej == subs.rejected).all()
    # the study's lang: English reasons without asking
    yaml_path = tmp_path / "s" / "study.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("lang: nl", "lang: en"))
    assert "exact duplicate" in set(study.rejected(history=True).reason)
    study.close()


@pytest.mark.slow
def test_cli_responses_rejected_writes_the_rows_with_their_reasons(files, tmp_path):
    bad, mapping = files
    env = os.environ | {"PARTNERSCHAP_EVAL_KEY": KEY.decode()}

    def run(*args):
        return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=env,
                              timeout=300)

    study_dir = tmp_path / "s"
    assert run("study", "init", study_dir, "--instrument", "partnerschap").returncode == 0
    res = run("submit", study_dir, bad, "--school", "A", "--wave", "pre", "--mapping", mapping)
    assert res.returncode == 0, res.stderr
    assert "afgewezen" in res.stdout and "onbekende rol" in res.stdout
    out = tmp_path / "afgewezen.csv"
    res = run("responses", study_dir, "--out", out, "--rejected")
    assert res.returncode == 0, res.stderr
    assert "7 afgewezen rijen" in res.stdout
    frame = pd.read_csv(out)
    assert Counter(frame.reason_code) == WANT and len(frame) == 7
    assert "9" * 201 not in out.read_text()  # the long id is pseudonymised, never shown
    res = run("responses", study_dir, "--out", tmp_path / "rejected.csv", "--rejected",
              "--lang", "en")
    assert "7 rejected rows" in res.stdout
    assert "exact duplicate" in set(pd.read_csv(tmp_path / "rejected.csv").reason)
