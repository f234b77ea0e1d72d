"""Title and description rows above the header, and instruction sheets before the answers:
found and skipped (and said so), or chosen with ``--header-row`` / ``--sheet``."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from partnerschap_eval.errors import InputError
from partnerschap_eval.ingest import ExportSpec, ingest_exports
from partnerschap_eval.ingest.mapping import header_score
from partnerschap_eval.ingest.readers import read_export
from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.study import Study
from partnerschap_eval.study.messages import render_feedback

KEY = b"study test key, not secret 0123456789"
CLI = [sys.executable, "-m", "partnerschap_eval.cli"]


def ingest(path, **kw):
    res = ingest_exports([ExportSpec(path, wave="pre", role="parent", school="A", **kw)],
                         "partnerschap", KEY)
    return res, res.log["files"][0]


@pytest.mark.parametrize(("text", "skipped", "line"), [
    # one cell above the header (a survey tool's title line)
    ("Vragenlijst ouders - voormeting\nDeelnemernummer,rec1,rec2\n1,4,5\n2,Mee eens,3\n", 1, 2),
    # Excel pads a title with delimiters; a description line with two cells below it
    ("Vragenlijst ouders;;\nExport 3 december 2026;WiSH;\n\nDeelnemernummer;rec1;rec2\n"
     "1;4;5\n2;Mee eens;3\n", 2, 4),
    # a semicolon file whose title line has no delimiter at all
    ("Vragenlijst ouders\nDeelnemernummer;rec1;rec2\n1;4;5\n2;Mee eens;3\n", 1, 2),
])
def test_title_rows_above_a_csv_header_are_skipped(tmp_path, text, skipped, line):
    path = tmp_path / "ouders.csv"
    path.write_text(text, encoding="utf-8")
    res, log = ingest(path)
    assert log["accepted"] == 2 and log["rows_in"] == 2
    assert log["details"]["title_rows"] == skipped and log["details"]["header_line"] == line
    assert sorted(res.responses.rec1) == [4.0, 4.0] and sorted(res.responses.rec2) == [3.0, 5.0]
    # the same file with the header named explicitly gives the same responses
    explicit, _ = ingest(path, header_row=line)
    pd.testing.assert_frame_equal(explicit.responses, res.responses)


def test_lines_of_rejected_rows_stay_the_files_own(tmp_path):
    path = tmp_path / "ouders.csv"
    path.write_text("Titel\nDeelnemernummer,rec1\n1,4\n1,4\n,3\n")
    res, log = ingest(path)
    assert res.rejected.set_index("line").reason_code.to_dict() == {4: "exact_duplicate",
                                                                    5: "missing_id"}


def test_a_plain_file_and_a_one_column_file_are_left_alone(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("Deelnemernummer,rec1,rec2\n1,4,5\n2,3,3\n")
    _, log = ingest(plain)
    assert log["accepted"] == 2 and "title_rows" not in log["details"]
    single = tmp_path / "single.csv"
    single.write_text("rec1\n4\n5\n")
    raw = read_export(single)
    assert raw.columns == ["rec1"] and raw.n_rows == 2
    # a header with one known name and empty neighbours is a header, not a title
    sparse = tmp_path / "sparse.csv"
    sparse.write_text("rec1,,\n4,1,2\n5,1,2\n")
    raw = read_export(sparse, header_score=header_score(load_instrument("partnerschap")))
    assert raw.columns[0] == "rec1" and raw.n_rows == 2 and "title_rows" not in raw.details


def test_header_row_that_is_not_a_row_is_refused_with_advice(tmp_path):
    path = tmp_path / "ouders.csv"
    path.write_text("Titel\n\nDeelnemernummer,rec1\n1,4\n")
    with pytest.raises(InputError, match="line 2 .--header-row. is not the start of a row"):
        ingest(path, header_row=2)
    with pytest.raises(InputError, match="--header-row 0"):
        ingest(path, header_row=0)
    assert ingest(path, header_row=3)[1]["accepted"] == 1


def _workbook(path, title=True):
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"Uitleg": ["Vul per ouder één rij in.", "Gebruik de codes 1 tot 5.",
                                 "Sla het bestand op en stuur het naar de onderzoeker."]}
                     ).to_excel(book, sheet_name="Instructies", index=False)
        rows = [["Deelnemernummer", "rec1", "rec2"], [1, 4, 5], [2, "Mee eens", 3], [3, 1, 1]]
        if title:
            rows = [["Ouders, voormeting (WiSH)", None, None], [None, None, None], *rows]
        pd.DataFrame(rows).to_excel(book, sheet_name="Antwoorden", index=False, header=False)


def test_an_instruction_sheet_is_skipped_and_a_title_row_too(tmp_path):
    path = tmp_path / "ouders.xlsx"
    _workbook(path)
    res, log = ingest(path)
    assert log["accepted"] == 3
    assert log["details"]["sheet"] == "Antwoorden"
    assert log["details"]["skipped_sheets"] == ["Instructies"]
    assert log["details"]["title_rows"] == 1 and log["details"]["header_line"] == 3
    assert sorted(res.responses.rec1) == [1.0, 4.0, 4.0]
    assert sorted(res.rejected.line.tolist()) == []
    # the header row named, or the sheet named: the same rows
    explicit, log2 = ingest(path, header_row=3, sheet="Antwoorden")
    pd.testing.assert_frame_equal(explicit.responses, res.responses)
    assert "skipped_sheets" not in log2["details"]  # a sheet chosen is not a sheet skipped
    with pytest.raises(InputError, match="row 2 of sheet 'Antwoorden'"):
        ingest(path, header_row=2)


def test_a_study_says_what_it_skipped_in_dutch(tmp_path):
    path = tmp_path / "ouders.xlsx"
    _workbook(path)
    study = Study.init(tmp_path / "s", "partnerschap", key=KEY)
    fb = study.submit([path], school="A", wave="pre", role="ouders", key=KEY)[0]
    study.close()
    assert fb.accepted == 3 and fb.title_rows == 1 and fb.skipped_sheets == ("Instructies",)
    nl, en = render_feedback(fb), render_feedback(fb, "en")
    assert "1 regel(s) boven de kopregel overgeslagen" in nl and "regel 3" in nl
    assert "Werkblad 'Instructies' overgeslagen" in nl and "'Antwoorden'" in nl
    assert "Sheet 'Instructies' skipped" in en and "line 3" in en


@pytest.mark.slow
def test_cli_ingest_and_submit_take_header_row(tmp_path):
    env = os.environ | {"PARTNERSCHAP_EVAL_KEY": KEY.decode()}

    def run(*args):
        return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=env,
                              timeout=300)

    # a first row of two cells that are no header names above a header of question names that
    # only the mapping file knows: found through the mapping's names, or given as --header-row
    path = tmp_path / "export.csv"
    path.write_text("Rapport,december\nnr,V1,V2\n1,4,5\n2,3,3\n")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  nr: respondent_id\n  V1: rec1\n  V2: rec2\n")
    res = run("ingest", path, "--instrument", "partnerschap", "--out", tmp_path / "out",
              "--wave", "pre", "--role", "parent", "--school", "A", "--mapping", mapping)
    assert res.returncode == 0, res.stderr  # the mapping's names make the header known
    assert "2 rows read: 2 accepted" in res.stdout and "header on line 2" in res.stderr
    res = run("ingest", path, "--instrument", "partnerschap", "--out", tmp_path / "out2",
              "--wave", "pre", "--role", "parent", "--school", "A", "--mapping", mapping,
              "--header-row", "2")
    assert res.returncode == 0 and "2 rows read: 2 accepted" in res.stdout
    study_dir = tmp_path / "s"
    assert run("study", "init", study_dir, "--instrument", "partnerschap").returncode == 0
    res = run("submit", study_dir, path, "--school", "A", "--wave", "pre", "--role", "ouders",
              "--mapping", mapping, "--header-row", "2")
    assert res.returncode == 0, res.stderr
    assert "2 opgenomen" in res.stdout and "kopregel staat op regel 2" in res.stdout
    res = run("submit", study_dir, path, "--school", "A", "--wave", "pre", "--role", "ouders",
              "--header-row", "9")
    assert res.returncode == 2 and "--header-row" in res.stderr and "Traceback" not in res.stderr
