"""Several files in one ``Study.submit`` call (issue 18): each is still a submission of its own —
ingested on its own (duplicates per file), one upload with its cells in one transaction — while
the call shares its set-up and writes the accepted rows of its files to one rows file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from partnerschap_eval.errors import InputError
from partnerschap_eval.study import Study

KEY = b"batch test key, not secret 0123456789"


def _file(path: Path, rows: list[str]) -> Path:
    path.write_text("Deelnemernummer,rec1,rec2\n" + "\n".join(rows) + "\n")
    return path


def _study(tmp_path: Path) -> Study:
    return Study.init(tmp_path / "s", "partnerschap", key=KEY,
                      file_names="{school}_{role}_{wave}")


def _rows_files(study: Study) -> set[str]:
    return {f"rows/{p.name}" for p in (study.path / "rows").glob("*.parquet")}


def _referenced(study: Study) -> set[str]:
    hist = pd.DataFrame(study.store.history())
    uploads = pd.DataFrame(study.store.uploads())
    return {p for p in [*hist.rows_path, *uploads.rejected_path] if isinstance(p, str)}


def test_one_call_submits_each_file_on_its_own(tmp_path):
    study = _study(tmp_path)
    first = _file(tmp_path / "A_parent_pre.csv", ["1,4,4", "2,5,5", "2,5,5"])  # a duplicate
    other = _file(tmp_path / "B_parent_pre.csv", ["1,3,3", "2,2,2"])
    post = _file(tmp_path / "A_parent_post.csv", ["1,1,1"])
    again = tmp_path / "again"
    again.mkdir()
    # the same cell again, the same respondents: a correction, not duplicates of the first file
    fix = _file(again / "A_parent_pre.csv", ["1,4,4", "2,5,5", "3,1,1"])
    fb = study.submit([first, other, post, fix], key=KEY)
    assert [(f.file, f.new, f.accepted, f.rejected_total) for f in fb] == [
        ("A_parent_pre.csv", True, 2, 1), ("B_parent_pre.csv", True, 2, 0),
        ("A_parent_post.csv", True, 1, 0), ("A_parent_pre.csv", True, 3, 0)]
    assert fb[3].cells[0].earlier == 1  # the correction knows the first submission
    uploads = study.store.uploads()
    assert len(uploads) == 4 and len({u["id"] for u in uploads}) == 4
    status = study.status().set_index(["school_id", "wave"])
    assert status.loc[("A", "pre"), "submissions"] == 2
    assert status.loc[("A", "pre"), "accepted"] == 3 and status.loc[("B", "pre"), "accepted"] == 2
    responses = study.responses()
    assert len(responses) == 3 + 2 + 1
    assert sorted(responses[responses.school_id == "B"].rec1) == [2.0, 3.0]
    assert study.rejected(history=True).reason_code.tolist() == ["exact_duplicate"]
    # the accepted rows of the call in one rows file, each cell a range of it; one per rejected
    accepted_files = {h["rows_path"] for h in study.store.history() if h["rows_path"]}
    assert len(accepted_files) == 1
    assert _rows_files(study) == _referenced(study)
    # a call of one file at a time gives the same study
    alone = Study.init(tmp_path / "alone", "partnerschap", key=KEY,
                       file_names="{school}_{role}_{wave}")
    for f in (first, other, post, fix):
        alone.submit([f], key=KEY)
    pd.testing.assert_frame_equal(alone.responses(), responses)
    pd.testing.assert_frame_equal(
        alone.status().drop(columns="last_submitted"),
        study.status().drop(columns="last_submitted"))


def test_an_unusable_file_in_the_call_keeps_the_files_before_it(tmp_path):
    study = _study(tmp_path)
    good = _file(tmp_path / "A_parent_pre.csv", ["1,4,4"])
    bad = tmp_path / "B_parent_pre.csv"
    bad.write_text("Naam,rec1\nJan,4\n")  # no respondent id
    later = _file(tmp_path / "C_parent_pre.csv", ["1,4,4"])
    with pytest.raises(InputError):
        study.submit([good, bad, later], key=KEY)
    assert study.status().school_id.tolist() == ["A"]
    assert _rows_files(study) == _referenced(study)


def test_the_same_bytes_twice_in_one_call_are_one_submission(tmp_path):
    study = _study(tmp_path)
    a = _file(tmp_path / "A_parent_pre.csv", ["1,4,4", "2,3,3"])
    fb = study.submit([a, a], key=KEY)
    assert [f.new for f in fb] == [True, False]
    assert fb[1].accepted == 2
    assert len(study.store.uploads()) == 1 and study.status().submissions.tolist() == [1]
    assert _rows_files(study) == _referenced(study)
