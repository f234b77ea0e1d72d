"""The README's school tour runs exactly as printed: every line of its shell blocks, through a
shell, with ``partnerschap-eval`` on the PATH — the submit to the study, the export of the
rejected rows, the key made once and the plain ingest.

The study it submits to is the one the README's study tour builds (its Python block runs first,
as a reader would have done); the export files the tour names are made here, with a rejected row
planted in each, so every line has something to show.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from partnerschap_eval.instruments import load_instrument

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
ITEMS = load_instrument("partnerschap").item_ids


def _blocks(title: str, kind: str) -> list[str]:
    section = README.split(f"## {title}")[1].split("\n## ")[0]
    return [part.split("```")[0] for part in section.split(f"```{kind}\n")[1:]]


def _answers(i: int) -> list[int]:
    return [1 + (i + j) % 5 for j in range(len(ITEMS))]


@pytest.mark.slow
def test_every_line_of_the_school_tour_runs_as_printed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_blocks("A study:", "python")[0], "README.md (study)", "exec"), namespace)
    namespace["study"].close()

    wb = Workbook()  # the school's export: 10 parents, one of them twice with other answers
    ws = wb.active
    ws.append(["Deelnemernummer", *ITEMS])
    for i in range(1, 11):
        ws.append([i, *_answers(i)])
    ws.append([4, *_answers(5)])
    wb.save(tmp_path / "ouders_voormeting.xlsx")
    rows = [["Deelnemernummer", *ITEMS], *([i, *_answers(i)] for i in range(1, 7)),
            ["", *_answers(0)]]  # a row without a number
    (tmp_path / "ouders_pre.csv").write_text("\n".join(",".join(map(str, r)) for r in rows))

    blocks = _blocks("For the school:", "bash")
    lines = [line for block in blocks for line in block.splitlines() if line.strip()]
    assert len(blocks) == 2 and all(line.startswith(("partnerschap-eval ", "    --"))
                                    for line in lines), lines
    assert sum(line.startswith("partnerschap-eval submit ") for line in lines) == 1
    home = tmp_path / "home"
    home.mkdir()
    env = os.environ | {"HOME": str(home), "PARTNERSCHAP_EVAL_KEY": namespace["key"].decode(),
                        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for block in blocks:  # the block itself, through a shell: quotes, ~ and \ as printed
        res = subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, block + res.stdout + res.stderr

    from partnerschap_eval.study import Study

    with Study.open(tmp_path / "wish") as study:  # the xlsx replaced the tour's first pre file
        cell = study.status().set_index(["school_id", "wave", "role"]).loc[("S01", "pre",
                                                                           "parent")]
        assert (cell.submissions, cell.file, cell.accepted, cell.rejected) == (
            2, "ouders_voormeting.xlsx", 9, 2)
    rejected = pd.read_csv(tmp_path / "afgewezen.csv")
    assert rejected.reason_code.tolist() == ["conflicting_duplicate"] * 2
    key = home / "keys" / "project.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    out = tmp_path / "data" / "processed" / "wish"
    assert len(pd.read_csv(out / "responses.csv")) == 6
    assert pd.read_csv(out / "rejected.csv").reason_code.tolist() == ["missing_id"]
