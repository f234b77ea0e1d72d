"""A realistic collection: 12 schools, three waves, CSV / XLSX / SPSS files mixed, respondent
numbers that restart at 1 in every school, and roles written as the groups schools name them
("ouders", "leerkrachten"). The truth is generated here; the pairs the package forms must be
exactly the truth's pairs (school + role + number at two waves)."""

from __future__ import annotations

import itertools
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval.evaluation import paired_scores
from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.scoring import score_scales, validate_responses
from partnerschap_eval.study import Study
from partnerschap_eval.synth.exports import write_sav_export

KEY = b"collection test key, not secret 0123456789"
INST = load_instrument("partnerschap")
ITEMS = INST.item_ids
LABELS = {code: text["nl"] for code, text in INST.response_scale.labels.items()}
NAMES = ["De Linde", "De Regenboog", "Het Kompas", "De Vlinder", "Sint Jozef", "De Zonnewijzer",
         "Het Palet", "De Wingerd", "Kindercampus Noord", "De Bron", "Het Anker", "De Tweemaster"]
SCHOOLS = [{"id": f"S{i + 1:02d}", "name": f"OBS {n}", "aliases": [n]}
           for i, n in enumerate(NAMES)]
WAVES = [("pre", "voormeting"), ("post", "nameting"), ("follow-up", "vervolgmeting")]
ROLES = [("parent", "ouders"), ("teacher", "leerkrachten")]
FORMATS = ("csv", "xlsx", "sav")


def make_truth(seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for school in SCHOOLS:
        for role, _ in ROLES:
            n = int(rng.integers(6, 15)) if role == "parent" else int(rng.integers(2, 5))
            for number in range(1, n + 1):  # numbers restart at 1 in every school and role
                for wave, p in zip(("pre", "post", "follow-up"), (0.9, 0.75, 0.6), strict=True):
                    if rng.random() < p:
                        rows.append({"school_id": school["id"], "role": role, "number": number,
                                     "wave": wave, **dict(zip(ITEMS, rng.integers(
                                         1, 6, len(ITEMS)).tolist(), strict=True))})
    return pd.DataFrame(rows)


def write_files(truth: pd.DataFrame, folder) -> list[tuple[object, dict]]:
    """Each school's files for each wave, in a format that rotates with school and wave."""
    out = []
    for k, school in enumerate(SCHOOLS):
        for j, (wave, wave_nl) in enumerate(WAVES):
            fmt = FORMATS[(k + j) % 3]
            part = truth[(truth.school_id == school["id"]) & (truth.wave == wave)]
            written = [school["name"], school["aliases"][0].upper(), f" {school['name'].lower()}"]
            opts = {"school": written[(k + j) % 3], "wave": wave_nl}
            if fmt == "sav":  # one file with both roles: a labelled role variable in plural
                frame = pd.DataFrame({"Deelnemernummer": part.number.astype(float),
                                      "rol": part.role.map({"parent": 1.0, "teacher": 2.0})})
                for item in ITEMS:
                    frame[item] = part[item].astype(float).to_numpy()
                path = folder / f"{school['id']}_{wave_nl}.sav"
                write_sav_export(frame.reset_index(drop=True), path,
                                 value_labels={"rol": {1.0: "ouders", 2.0: "leerkrachten"}})
                out.append((path, opts))
                continue
            for role, role_nl in ROLES:
                mine = part[part.role == role]
                if mine.empty:
                    continue
                frame = pd.DataFrame({"Deelnemernummer": mine.number.to_numpy()})
                path = folder / f"{school['id']}_{role_nl}_{wave_nl}.{fmt}"
                if fmt == "csv":  # Dutch labels, semicolons, Windows-1252, a title line
                    for item in ITEMS:
                        frame[item] = mine[item].map(LABELS).to_numpy()
                    body = frame.to_csv(index=False, sep=";")
                    title = f"Vragenlijst {role_nl} {wave_nl} - {school['name']}\n"
                    path.write_bytes(((title if k % 2 else "") + body).encode("cp1252"))
                else:  # codes, after a sheet of instructions
                    for item in ITEMS:
                        frame[item] = mine[item].to_numpy()
                    with pd.ExcelWriter(path) as book:
                        pd.DataFrame({"Uitleg": ["Eén rij per deelnemer.", "Codes 1 tot 5."]}
                                     ).to_excel(book, sheet_name="Lees dit eerst", index=False)
                        frame.to_excel(book, sheet_name="Antwoorden", index=False)
                out.append((path, {**opts, "role": role_nl}))
    return out


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    base = tmp_path_factory.mktemp("collected")
    (base / "exports").mkdir()
    truth = make_truth()
    files = write_files(truth, base / "exports")
    study = Study.init(base / "study", "partnerschap", waves=["pre", "post", "follow-up"],
                       key=KEY, schools=SCHOOLS)
    feedback = [study.submit([path], key=KEY, **opts)[0] for path, opts in files]
    yield {"study": study, "truth": truth, "files": files, "feedback": feedback}
    study.close()


def _pairs(frame: pd.DataFrame, ids: list[str], first: str, last: str) -> int:
    waves = frame.groupby(ids)["wave"].agg(set)
    return int(sum(first in w and last in w for w in waves))


def test_every_format_was_used_and_every_row_accepted(collected):
    fmts = {fb.format for fb in collected["feedback"]}
    assert fmts == {"csv", "xlsx", "sav"}
    assert any(fb.title_rows for fb in collected["feedback"])
    assert all(fb.skipped_sheets == ("Lees dit eerst",) for fb in collected["feedback"]
               if fb.format == "xlsx")
    for fb in collected["feedback"]:
        assert fb.rows_in == fb.accepted and not fb.rejected and not fb.unknown_labels, fb.file
    status = collected["study"].status().set_index(["school_id", "wave", "role"])["accepted"]
    truth = collected["truth"].groupby(["school_id", "wave", "role"]).size()
    pd.testing.assert_series_equal(status.sort_index(), truth.sort_index(), check_names=False)


def test_paired_n_equals_the_truth_for_every_pair_of_waves_and_role(collected):
    study, truth = collected["study"], collected["truth"]
    responses = study.responses()
    assert len(responses) == len(truth)
    scores = score_scales(validate_responses(responses, INST), INST)
    scale = INST.scales[0].id
    for (first, _), (last, _) in itertools.combinations(WAVES, 2):
        want = _pairs(truth, ["school_id", "role", "number"], first, last)
        assert _pairs(responses, ["respondent_id"], first, last) == want
        # the package's own pairing of scale scores (every answer present: every pair scored)
        assert len(paired_scores(scores, scale, first, last)) == want
        for role, _ in ROLES:
            mine = truth[truth.role == role]
            got = responses[responses.role == role]
            assert _pairs(got, ["respondent_id"], first, last) == _pairs(
                mine, ["school_id", "number"], first, last)
        # numbers alone (as one numbering across the study) would pair across schools
        assert _pairs(truth, ["role", "number"], first, last) < want


def test_answers_and_schools_are_the_truths(collected):
    study, truth = collected["study"], collected["truth"]
    responses = study.responses()
    assert (responses.groupby("respondent_id")[["school_id", "role"]].nunique() == 1).all().all()
    got = responses.groupby(["school_id", "wave", "role"])[ITEMS].sum()
    want = truth.groupby(["school_id", "wave", "role"])[ITEMS].sum().astype(float)
    pd.testing.assert_frame_equal(got.sort_index(), want.sort_index())


README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _tour(title: str, kind: str = "python") -> str:
    section = README.split(f"## {title}")[1].split("\n## ")[0]
    return section.split(f"```{kind}\n")[1].split("```")[0]


@pytest.mark.slow
def test_readme_study_and_researcher_tours_run_as_printed(tmp_path, monkeypatch, capsys):
    code = _tour
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code("A study:"), "README.md (study)", "exec"), namespace)
    exec(compile(code("For the researcher:"), "README.md (researcher)", "exec"), namespace)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == "30 30"  # 30 parents paired in the study and in the Contract 4 results
    status = namespace["study"].status().set_index("wave")
    assert status.loc["pre", "submissions"] == 2 and status.loc["pre", "accepted"] == 30
    namespace["study"].close()


@pytest.mark.slow
def test_readme_lector_tour_reports_and_reproduces_the_study(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_tour("A study:"), "README.md (study)", "exec"), namespace)
    exec(compile(_tour("For the researcher:"), "README.md (researcher)", "exec"), namespace)
    namespace["study"].close()
    env = os.environ | {"PARTNERSCHAP_EVAL_KEY": namespace["key"].decode()}
    commands = [shlex.split(line.split("#")[0]) for line in _tour("For the lector:", "bash")
                .splitlines() if line.startswith("partnerschap-eval")]
    assert [c[1] for c in commands] == ["report", "reproduce"]
    for command in commands:
        res = subprocess.run([sys.executable, "-m", "partnerschap_eval.cli", *command[1:]],
                             capture_output=True, text=True, env=env, timeout=600)
        assert res.returncode == 0, res.stderr + res.stdout
    results = (tmp_path / "reports" / "wish" / "results.json").read_text()
    # Contract 4 v2: the study's waves in their declared order, first and last compared
    doc = json.loads(results)
    assert doc["schema"].endswith("/v2") and len(doc["waves"]) >= 2
    assert [doc["waves"][0], doc["waves"][-1]] == [doc["compared"]["first"],
                                                   doc["compared"]["last"]]
    assert (tmp_path / "wish" / "current" / "responses.csv").exists()
