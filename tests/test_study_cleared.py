"""Cleared answers per school x wave x role: recorded with each submission, shown by ``status``.

An answer the ingest leaves empty — an unknown label, a value off the scale, a cell that a
spreadsheet would run as a formula, a name or an e-mail address typed into an answer, a formula
whose result the workbook never stored — is counted for the cell of its row (accepted or
rejected), so the counts of a file's cells add up to the file's.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from openpyxl import Workbook

from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.study import Study

KEY = b"cleared test key, not secret 0123456789"
ITEMS = load_instrument("partnerschap").item_ids
SCHOOLS = [{"id": "S01", "name": "OBS De Linde", "aliases": ["De Linde"]},
           {"id": "S02", "name": "De Regenboog"}]
EMAIL, NAME = "jan.devries@example.nl", "Jan de Vries"


def _row(number: str, school: str, first: str, second: str = "3") -> str:
    return ";".join([number, school, first, second, *("3" for _ in ITEMS[2:])])


def _planted(tmp_path):
    """A Dutch CSV of two schools with cleared answers planted: (path, per-cell counts)."""
    lines = [";".join(["Deelnemernummer", "School", *ITEMS]),
             _row("1", "De Linde", '=HYPERLINK("http://x.nl")'),  # a formula: 1
             _row("2", "de linde", EMAIL),                         # personal data: 1
             _row("3", "S01", "7", "Eens"),                        # off the scale, unknown: 2
             _row("", "De Linde", "9"),          # no number: rejected, its cleared cell counts
             _row("4", "De Regenboog", "=1+1", NAME),              # 2
             _row("5", "De Regenboog", "4")]                       # none
    path = tmp_path / "ouders_voor.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, {("S01", "pre", "parent"): 5, ("S02", "pre", "parent"): 2}


def _workbook(tmp_path):
    """A workbook with two formulas whose results were never stored (openpyxl stores none)."""
    wb = Workbook()
    ws = wb.active
    ws.append(["Deelnemernummer", *ITEMS])
    ws.append([1, "=2+2", *[3] * (len(ITEMS) - 1)])
    ws.append([2, 4, "=SUM(1,2)", *[3] * (len(ITEMS) - 2)])
    ws.append([3, *[3] * len(ITEMS)])
    path = tmp_path / "ouders_na.xlsx"
    wb.save(path)
    return path


@pytest.mark.slow
def test_cleared_answers_are_counted_per_cell_and_add_up_to_the_file(tmp_path):
    study = Study.init(tmp_path / "wish", "partnerschap", key=KEY, schools=SCHOOLS)
    path, want = _planted(tmp_path)
    fb = study.submit([path], wave="voormeting", role="ouders", key=KEY)[0]
    study.submit([_workbook(tmp_path)], school="S01", wave="nameting", role="ouders", key=KEY)
    want[("S01", "post", "parent")] = 2

    status = study.status()
    got = {(r.school_id, r.wave, r.role): int(r.cells_cleared) for r in status.itertuples()}
    assert got == want
    # the cells of one file add up to the file's total (which the ingest log counts by reason)
    first = status[status.wave == "pre"]
    assert first.cells_cleared.sum() == first.file_cells_cleared.iloc[0]
    assert sum(n for _, n in fb.cleared) + sum(p.count for p in fb.unknown_labels) == 7
    hist = study.history()
    assert hist.set_index(["school_id", "wave", "role"]).cells_cleared.to_dict() == want
    study.close()

    env = os.environ | {"PARTNERSCHAP_EVAL_KEY": KEY.decode(), "PARTNERSCHAP_EVAL_LANG": "en",
                        "COLUMNS": "200"}
    res = subprocess.run([sys.executable, "-m", "partnerschap_eval.cli", "status",
                          str(tmp_path / "wish"), "--json"], capture_output=True, text=True,
                         env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    records = json.loads(res.stdout)
    assert {(r["school_id"], r["wave"], r["role"]): r["cells_cleared"] for r in records} == want
    assert EMAIL not in res.stdout and NAME not in res.stdout
    res = subprocess.run([sys.executable, "-m", "partnerschap_eval.cli", "status",
                          str(tmp_path / "wish")], capture_output=True, text=True, env=env,
                         timeout=300)
    # the table in the study's language (Dutch), in words; --json keeps the keys
    assert res.returncode == 0 and "Antwoorden leeggemaakt" in res.stdout


def test_a_store_of_the_previous_schema_is_upgraded_and_its_counts_are_unknown(tmp_path):
    study = Study.init(tmp_path / "wish", "partnerschap", key=KEY, schools=SCHOOLS)
    path, _ = _planted(tmp_path)
    study.submit([path], wave="pre", role="parent", key=KEY)
    study.close()
    con = sqlite3.connect(tmp_path / "wish" / "study.sqlite")  # as version 2 left it
    con.execute("ALTER TABLE submissions DROP COLUMN cells_cleared")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    con.commit()
    con.close()
    study = Study.open(tmp_path / "wish")
    status = study.status()
    assert status.cells_cleared.isna().all() and status.accepted.sum() == 5
    study.submit([_workbook(tmp_path)], school="S01", wave="post", role="parent", key=KEY)
    assert study.status().set_index("wave").loc["post", "cells_cleared"] == 2
    study.close()
