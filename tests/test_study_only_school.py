"""``Study.submit(only_school=...)``: one school submits its own files (the portal's way).

A file may keep its school column: rows whose school resolves to the submitting school (its id,
name or an alias, in any case and spacing) are taken; rows naming any other school, declared or
not, are rejected with a reason of their own, counted, and kept in the submitting school's cell,
so no other school's cell changes and no other school is named.
"""

from __future__ import annotations

import pytest

from partnerschap_eval.errors import InputError
from partnerschap_eval.ingest import reasons as R
from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.study import Study
from partnerschap_eval.study.messages import render_feedback

KEY = b"only-school test key, not secret 0123456789"
ITEMS = load_instrument("partnerschap").item_ids
SCHOOLS = [{"id": "S01", "name": "OBS De Linde", "aliases": ["De Linde"]},
           {"id": "S02", "name": "De Regenboog", "aliases": ["Regenboog"]}]


def _file(tmp_path, name: str, rows: list[tuple[str, str]]):
    """A CSV with a school column: (number, school as written) per row, answers all 3."""
    path = tmp_path / name
    lines = ["Deelnemernummer;Schoolnaam;" + ";".join(ITEMS)]
    lines += [f"{number};{school};" + ";".join("3" for _ in ITEMS) for number, school in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def study(tmp_path):
    s = Study.init(tmp_path / "wish", "partnerschap", key=KEY, schools=SCHOOLS)
    yield s
    s.close()


def test_a_column_naming_the_own_school_by_id_name_or_alias_is_accepted(study, tmp_path):
    path = _file(tmp_path, "ouders.csv", [("1", "S01"), ("2", "obs  de linde"), ("3", "DE LINDE")])
    fb = study.submit([path], only_school="De Linde", wave="pre", role="parent", key=KEY)[0]
    assert (fb.rows_in, fb.accepted, fb.rejected) == (3, 3, ())
    assert [(c.school_id, c.accepted) for c in fb.cells] == [("S01", 3)]
    assert set(study.responses().school_id) == {"S01"}


def test_rows_of_another_school_are_rejected_counted_and_stay_in_the_own_cell(study, tmp_path):
    # one earlier submission of S02 that must stay S02's current one
    s02 = _file(tmp_path, "s02.csv", [("1", "S02"), ("2", "S02")])
    study.submit([s02], wave="pre", role="parent", key=KEY)
    rows = [("1", "De Linde"), ("2", "Regenboog"), ("3", "S02"), ("4", "Nergensschool"),
            ("5", "S01")]
    path = _file(tmp_path, "ouders_gemengd.csv", rows)
    fb = study.submit([path], only_school="S01", wave="pre", role="parent", key=KEY)[0]
    other = R.ENGLISH["other_school"]
    assert fb.accepted == 2 and dict(fb.rejected) == {other: 3}
    assert fb.rows_in == fb.accepted + fb.rejected_total
    assert [(c.school_id, c.accepted, c.rejected) for c in fb.cells] == [("S01", 2, 3)]

    status = study.status().set_index("school_id")
    assert status.loc["S02", "accepted"] == 2 and status.loc["S02", "submissions"] == 1
    assert (status.loc["S01", "accepted"], status.loc["S01", "rejected"]) == (2, 3)
    rejected = study.rejected(lang="en")
    assert set(rejected.reason_code) == {"other_school"} and len(rejected) == 3
    assert set(rejected.school_id) == {"S01"} and sorted(rejected.line) == [3, 4, 5]
    assert set(study.rejected(lang="nl").reason) == {R.reason_text(other, "nl")}
    text = render_feedback(fb, "nl")
    assert R.reason_text(other, "nl") in text and ": 3" in text
    for shown in (text, render_feedback(fb, "en")):  # the other schools are never named
        assert "Regenboog" not in shown and "S02" not in shown and "Nergens" not in shown


def test_another_schools_row_never_makes_an_own_row_a_duplicate(tmp_path):
    # ids: study: number 7 in both schools would be one person; the other school's row is
    # rejected before duplicates are looked for, so the own row is accepted
    study = Study.init(tmp_path / "s", "partnerschap", key=KEY, schools=SCHOOLS, ids="study")
    path = tmp_path / "twee.csv"
    path.write_text("Deelnemernummer;School;rec1\n7;S01;4\n7;S02;2\n")
    fb = study.submit([path], only_school="S01", wave="pre", role="parent", key=KEY)[0]
    assert fb.accepted == 1 and dict(fb.rejected) == {R.ENGLISH["other_school"]: 1}
    study.close()


def test_without_a_school_column_the_file_is_the_submitting_schools(study, tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("Deelnemernummer,rec1\n1,4\n2,5\n")
    fb = study.submit([path], only_school="S02", wave="post", role="teacher", key=KEY)[0]
    assert [(c.school_id, c.accepted) for c in fb.cells] == [("S02", 2)]
    with pytest.raises(InputError, match="is not the school submitting"):
        study.submit([path], only_school="S02", school="S01", wave="post", role="teacher",
                     key=KEY)
