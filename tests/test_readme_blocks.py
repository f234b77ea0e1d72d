"""The README's remaining code blocks run exactly as printed (issue 15): the study's shell block,
the portal's link commands and the lector's project-file example.

Each block is cut from the README and run through a shell (quotes, ``~`` and comments as
printed) with ``partnerschap-eval`` on the PATH, in a fresh folder with ``HOME`` in it. The
files a block names are the user's; the test makes them: two exports of 24 parents (a study of
two parents has every number suppressed, see the closing note of session 7), and the
responses files the project file points to. Only the portal's two server commands (``make
portal``, ``portal serve``) are left to tests/test_portal.py, which serves over real HTTP.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from partnerschap_eval.instruments import load_instrument

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
ITEMS = load_instrument("partnerschap").item_ids

pytestmark = pytest.mark.slow  # each block builds a report or runs a dozen commands


def _block(title: str, kind: str) -> str:
    section = README.split(f"## {title}")[1].split("\n## ")[0]
    return section.split(f"```{kind}\n")[1].split("```")[0]


def _run(script: str, cwd: Path) -> subprocess.CompletedProcess:
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    env = os.environ | {"HOME": str(home),
                        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PARTNERSCHAP_EVAL_KEY", None)  # the block passes its own --key-file
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def _export(path: Path, shift: int) -> None:
    rows = ["Deelnemernummer;" + ";".join(ITEMS)]
    rows += [f"{i};" + ";".join(str(1 + (i + j + shift) % 5) for j in range(len(ITEMS)))
             for i in range(1, 25)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_the_study_block_and_the_portal_links_run_as_printed(tmp_path):
    block = _block("A study:", "bash")
    names = set(re.findall(r"submit wish (\S+\.csv)", block))
    assert names == {"ouders_voor.csv", "ouders_na.csv"}, block
    _export(tmp_path / "ouders_voor.csv", 0)
    _export(tmp_path / "ouders_na.csv", 1)
    res = _run(block, tmp_path)
    assert res.returncode == 0, block + res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert len(pd.read_csv(tmp_path / "wish.csv")) == 48
    assert pd.read_csv(tmp_path / "afgewezen.csv").empty
    results = json.loads((tmp_path / "wish" / "reports" / "results.json").read_text())
    assert results["waves"] == ["pre", "post"]
    assert results["scales"]["reciprocity"]["paired"]["n"] == 24

    portal = _block("Portal:", "bash")
    links = [line for line in portal.splitlines() if line.startswith("partnerschap-eval portal")]
    assert [line.split()[2] for line in links] == ["link", "link", "revoke", "serve"]
    res = _run("\n".join(links[:2]), tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    urls = re.findall(r"http://127\.0\.0\.1:8000/link/\S+", res.stdout)
    assert len(urls) == 2
    res = _run(links[2].replace("URL_OR_ID", urls[0]), tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_project_file_example_runs_as_printed(tmp_path):
    from partnerschap_eval.synth import simulate_frameworks, simulate_study

    (tmp_path / "project.yaml").write_text(_block("For the lector:", "yaml"), encoding="utf-8")
    data = tmp_path / "data" / "processed" / "wish"
    (data / "gerdes").mkdir(parents=True)
    simulate_study(seed=2014).responses.to_csv(data / "responses.csv", index=False)
    simulate_frameworks(seed=2014).responses["gerdes"].to_csv(data / "gerdes" / "responses.csv",
                                                              index=False)
    res = _run("partnerschap-eval report --config project.yaml", tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    report = tmp_path / "reports" / "wish"
    results = json.loads((report / "results.json").read_text())
    params = results["provenance"]["parameters"]
    assert params["project"] == "WiSH 2025-2026" and params["frameworks"] == ["gerdes"]
    assert params["schools"] == ["S01", "S07"] and results["waves"] == ["pre", "post"]
    assert results["design"]["conditions"] == {"S01": "intervention", "S02": "intervention",
                                               "S07": "control", "S08": "control"}
    # the other 39 schools have no condition: left out of the design, which is fitted
    assert results["design"]["schools_without_condition"] == 39
    assert all(s["did"]["post-pre"]["estimate"] is not None for s in results["scales"].values())
    assert len(list((report / "schools").glob("*.html"))) == 2  # a page for S01 and S07 only
    page = (report / "index.html").read_text(encoding="utf-8")
    assert "WiSH 2025-2026" in page and "30 juni 2026" in page  # date: and language: nl
