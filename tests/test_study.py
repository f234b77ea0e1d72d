"""A study that collects submissions (Contract 6), as a realistic collection would fill it.

Twelve schools, respondent numbers restarting at 1 in every school, pre / post / follow-up files
per school and role in CSV (comma and Dutch semicolon) and XLSX, Dutch wave names, school names
typed in several ways, a resubmitted identical file, a corrected file, an undeclared school and a
wrong key. The truth (who answered what, who is paired) is generated here, so every count can be
checked against it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval.errors import InputError
from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.study import KeyMismatchError, Study, UnknownNameError

KEY = b"study test key, not secret 0123456789"
OTHER_KEY = b"another key, also not secret 987654321"
CLI = [sys.executable, "-m", "partnerschap_eval.cli"]
INST = load_instrument("partnerschap")
ITEMS = INST.item_ids
LABELS = {code: text["nl"] for code, text in INST.response_scale.labels.items()}
NAMES = ["De Linde", "De Regenboog", "Het Kompas", "De Vlinder", "Sint Jozef", "De Zonnewijzer",
         "Het Palet", "De Wingerd", "Kindercampus Noord", "De Bron", "Het Anker", "De Tweemaster"]
SCHOOLS = [{"id": f"S{i + 1:02d}", "name": f"OBS {name}", "aliases": [name],
            "condition": "intervention" if i % 2 == 0 else "control"}
           for i, name in enumerate(NAMES)]
WAVES = [("pre", "voormeting"), ("post", "nameting"), ("follow-up", "vervolgmeting")]
ROLES = [("parent", "ouders"), ("teacher", "leerkracht")]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = os.environ | {"PARTNERSCHAP_EVAL_KEY": KEY.decode()} | (env or {})
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=full,
                          timeout=300)


def make_truth(seed: int = 18) -> pd.DataFrame:
    """One row per school x role x number x wave that answered: numbers restart per school."""
    rng = np.random.default_rng(seed)
    rows = []
    for school in SCHOOLS:
        for role, _ in ROLES:
            n = int(rng.integers(8, 21)) if role == "parent" else 2
            for number in range(1, n + 1):
                present = {"pre": True, "post": number == 1 or rng.random() < 0.8,
                           "follow-up": number == 1 or rng.random() < 0.6}
                for wave, _ in WAVES:
                    if present[wave]:
                        answers = rng.integers(1, 6, size=len(ITEMS))
                        rows.append({"school_id": school["id"], "role": role,
                                     "number": str(number), "wave": wave,
                                     **dict(zip(ITEMS, answers.tolist(), strict=True))})
    return pd.DataFrame(rows)


def school_written(school: dict, k: int) -> str:
    """The school as a person types it: full name, alias, other case, extra spaces."""
    return [school["name"], school["aliases"][0].lower(), f"  {school['name'].upper()} ",
            school["aliases"][0].replace(" ", "  ")][k % 4]


def write_export(truth: pd.DataFrame, folder: Path, school: dict, wave: str, role: str,
                 extra: int) -> Path:
    """The file a school sends: pre = CSV codes, post = XLSX labels, follow-up = Dutch CSV."""
    part = truth[(truth.school_id == school["id"]) & (truth.wave == wave) & (truth.role == role)]
    frame = pd.DataFrame({"Deelnemernummer": part["number"].to_numpy()})
    dutch_role = dict(ROLES)[role]
    wave_nl = dict(WAVES)[wave]
    if wave == "pre":
        for item in ITEMS:
            frame[item] = part[item].to_numpy()
        path = folder / f"{school['id']}_{dutch_role}_{wave_nl}.csv"
        frame.to_csv(path, index=False)
    elif wave == "post":
        for item in ITEMS:
            frame[item] = part[item].map(LABELS).to_numpy()
        frame.insert(1, "Naam", [f"Ouder {chr(65 + i % 26)}" for i in range(len(frame))])
        path = folder / f"{school['id']}_{dutch_role}_{wave_nl}.xlsx"
        frame.to_excel(path, index=False)
    else:  # a school column written in several ways, semicolons, Windows-1252
        frame.insert(1, "School", [school_written(school, extra + i) for i in range(len(frame))])
        for item in ITEMS:
            frame[item] = part[item].map(LABELS).to_numpy()
        path = folder / f"{school['id']}_{dutch_role}_{wave_nl}.csv"
        frame.to_csv(path, index=False, sep=";", encoding="cp1252")
    return path


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """The study after every school sent its files (and a few rows that must be rejected)."""
    base = tmp_path_factory.mktemp("collection")
    exports = base / "exports"
    exports.mkdir()
    truth = make_truth()
    study = Study.init(base / "wish", "partnerschap", waves=["pre", "post", "follow-up"],
                       key=KEY, name="WiSH 2025-2026", schools=SCHOOLS)
    files = {}
    feedback = {}
    for k, school in enumerate(SCHOOLS):
        for wave, wave_nl in WAVES:
            for role, role_nl in ROLES:
                path = write_export(truth, exports, school, wave, role, k)
                files[school["id"], wave, role] = path
                opts = {"wave": wave_nl, "role": role_nl}
                if wave != "follow-up":
                    opts["school"] = school_written(school, k)
                feedback[school["id"], wave, role] = study.submit([path], key=KEY, **opts)[0]
    # one parents' file with an exact copy of a row and a row without a number: both rejected
    bad = pd.read_csv(files["S02", "pre", "parent"], dtype=str)
    bad = pd.concat([bad, bad.iloc[[0]], bad.iloc[[1]].assign(Deelnemernummer="")])
    bad_path = exports / "S02_ouders_voormeting_met_fouten.csv"
    bad.to_csv(bad_path, index=False)
    yield {"study": study, "truth": truth, "files": files, "feedback": feedback,
           "base": base, "exports": exports, "bad": bad_path}
    study.close()


def paired(frame: pd.DataFrame, first: str, last: str, id_cols: list[str]) -> int:
    waves = frame.groupby(id_cols)["wave"].agg(set)
    return int(sum(first in w and last in w for w in waves))


def test_every_file_becomes_a_submission_of_its_cell(collection):
    study, truth = collection["study"], collection["truth"]
    status = study.status()
    assert len(status) == len(SCHOOLS) * len(WAVES) * len(ROLES)
    assert set(status.school_id) == {s["id"] for s in SCHOOLS}  # name variants resolved
    assert list(dict.fromkeys(status.wave)) == ["pre", "post", "follow-up"]  # declared order
    assert (status.submissions == 1).all()
    assert (status.rows_in == status.accepted + status.rejected).all()
    expected = truth.groupby(["school_id", "wave", "role"]).size()
    got = status.set_index(["school_id", "wave", "role"])["accepted"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)


def test_numbers_restarting_per_school_pair_within_schools(collection):
    study, truth = collection["study"], collection["truth"]
    responses = study.responses()
    assert len(responses) == len(truth)  # none rejected as a "conflicting duplicate"
    for first, last in (("pre", "post"), ("pre", "follow-up")):
        expected = paired(truth, first, last, ["school_id", "role", "number"])
        assert paired(responses, first, last, ["respondent_id"]) == expected
        # keyed over the number alone, the pairs would cross schools: many more "pairs"
        assert paired(truth, first, last, ["role", "number"]) < expected
    # each pseudonym stays in one school and role
    assert (responses.groupby("respondent_id")[["school_id", "role"]].nunique() == 1).all().all()
    # the answers are the truth's, whatever the format (codes, labels, XLSX, cp1252)
    merged = responses.groupby(["school_id", "wave", "role"])[ITEMS].sum()
    expected = truth.groupby(["school_id", "wave", "role"])[ITEMS].sum().astype(float)
    pd.testing.assert_frame_equal(merged.sort_index(), expected.sort_index())


def test_status_and_responses_agree(collection):
    study = collection["study"]
    status = study.status().set_index(["school_id", "wave", "role"])["accepted"]
    counts = study.responses().groupby(["school_id", "wave", "role"]).size()
    pd.testing.assert_series_equal(status.sort_index(), counts.sort_index(), check_names=False)


def test_personal_data_is_withheld_and_reported(collection):
    fb = collection["feedback"]["S01", "post", "parent"]
    assert fb.pii_columns == ("Naam",)
    assert fb.sheet is not None
    hits = subprocess.run(["grep", "-rl", "Ouder A", str(collection["base"] / "wish" / "rows")],
                          capture_output=True, text=True)
    assert hits.stdout == ""
    assert "Naam" not in pd.read_parquet(next((collection["base"] / "wish" / "rows").glob(
        "*.parquet"))).columns


def test_same_bytes_again_change_nothing(collection):
    study = collection["study"]
    before_status, before_hist = study.status(), study.history()
    raw_before = sorted(p.name for p in (collection["base"] / "wish" / "raw").iterdir())
    path = collection["files"]["S05", "pre", "parent"]
    fb = study.submit([path], school="OBS Sint Jozef", wave="voormeting", role="ouders",
                      key=KEY)[0]
    assert fb.new is False and fb.accepted > 0
    fb = study.submit([path], school="S05", wave="pre", role="parent", key=KEY)[0]
    assert fb.new is False  # the same options, written otherwise
    pd.testing.assert_frame_equal(study.status(), before_status)
    pd.testing.assert_frame_equal(study.history(), before_hist)
    assert sorted(p.name for p in (collection["base"] / "wish" / "raw").iterdir()) == raw_before


def test_raw_files_are_kept_read_only_by_content(collection):
    raw = collection["base"] / "wish" / "raw"
    import hashlib

    for p in raw.iterdir():
        assert hashlib.sha256(p.read_bytes()).hexdigest() == p.stem
        assert not os.access(p, os.W_OK) or os.geteuid() == 0
        assert (p.stat().st_mode & 0o222) == 0


def test_corrected_file_becomes_current_and_history_is_kept(collection, tmp_path):
    study, truth = collection["study"], collection["truth"]
    original = pd.read_csv(collection["files"]["S07", "pre", "parent"], dtype=str)
    corrected = original.iloc[:-1].copy()  # one row taken out, one answer fixed
    corrected.loc[corrected.index[0], "rec1"] = "1" if original.loc[0, "rec1"] != "1" else "2"
    path = tmp_path / "S07_ouders_voormeting_gecorrigeerd.csv"
    corrected.to_csv(path, index=False)
    fb = study.submit([path], school="het palet", wave="T0", role="parent", key=KEY)[0]
    assert fb.new and fb.cells[0].earlier == 1
    status = study.status().set_index(["school_id", "wave", "role"])
    assert status.loc[("S07", "pre", "parent"), "submissions"] == 2
    assert status.loc[("S07", "pre", "parent"), "accepted"] == len(corrected)
    hist = study.history()
    cell = hist[(hist.school_id == "S07") & (hist.wave == "pre") & (hist.role == "parent")]
    assert len(cell) == 2 and cell.current.tolist() == [False, True]
    assert cell.accepted.tolist() == [len(original), len(corrected)]
    responses = study.responses()
    mine = responses[(responses.school_id == "S07") & (responses.wave == "pre")
                      & (responses.role == "parent")]
    assert len(mine) == len(corrected)
    assert mine.rec1.sum() == corrected.rec1.astype(float).sum()
    assert len(responses) == len(truth) - 1


def test_rejected_rows_are_accounted_for_in_every_submission(collection):
    study = collection["study"]
    fb = study.submit([collection["bad"]], school="De Regenboog", wave="voormeting",
                      role="ouders", key=KEY)[0]
    assert dict(fb.rejected) == {"exact duplicate": 1, "missing respondent id": 1}
    assert fb.rows_in == fb.accepted + fb.rejected_total
    uploads = pd.DataFrame(study.store.uploads())
    assert (uploads.rows_in == uploads.accepted + uploads.rejected).all()
    per_upload = study.history().groupby("upload_id")[["rows_in", "accepted", "rejected"]].sum()
    pd.testing.assert_frame_equal(
        per_upload, uploads.set_index("id")[["rows_in", "accepted", "rejected"]],
        check_names=False)


def test_wrong_key_is_refused_and_nothing_changes(collection):
    study = collection["study"]
    before = study.history()
    with pytest.raises(KeyMismatchError, match="not the study's key"):
        study.submit([collection["files"]["S01", "pre", "parent"]], school="S01",
                     wave="post", role="parent", key=OTHER_KEY)
    res = run("submit", collection["base"] / "wish", collection["files"]["S01", "pre", "parent"],
              "--school", "S01", "--wave", "post", "--role", "parent",
              env={"PARTNERSCHAP_EVAL_KEY": OTHER_KEY.decode()})
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "sleutel" in res.stderr
    assert OTHER_KEY.decode() not in res.stderr + res.stdout
    pd.testing.assert_frame_equal(study.history(), before)


def test_undeclared_school_and_wave_are_refused_with_the_closest_names(collection):
    study = collection["study"]
    path = collection["files"]["S01", "pre", "parent"]
    with pytest.raises(UnknownNameError) as info:
        study.submit([path], school="De Regenbog", wave="pre", role="parent", key=KEY)
    assert info.value.name == "De Regenbog" and "OBS De Regenboog (S02)" in info.value.closest
    with pytest.raises(UnknownNameError):
        study.submit([path], school="S01", wave="tussenmeting", role="parent", key=KEY)
    # a school column with an undeclared school refuses the file too
    frame = pd.read_csv(path, dtype=str).assign(School="Basisschool Nergenshuizen")
    other = collection["exports"] / "onbekend.csv"
    frame.to_csv(other, index=False)
    before = study.history()
    res = run("submit", collection["base"] / "wish", other, "--wave", "voormeting",
              "--role", "ouders")
    assert res.returncode == 2, res.stderr
    assert "Nergenshuizen" in res.stderr and "Traceback" not in res.stderr
    pd.testing.assert_frame_equal(study.history(), before)


def test_edited_study_yaml_is_honoured_and_validated(tmp_path):
    study = Study.init(tmp_path / "s", "partnerschap", key=KEY)
    cfg = (tmp_path / "s" / "study.yaml").read_text()
    (tmp_path / "s" / "study.yaml").write_text(cfg.replace("min_cell: 10", "min_cell: 0"))
    with pytest.raises(InputError, match="min_cell"):
        Study.open(tmp_path / "s")
    (tmp_path / "s" / "study.yaml").write_text(cfg.replace("ids: per_school", "ids: school"))
    with pytest.raises(InputError, match="ids"):
        study.status()
    (tmp_path / "s" / "study.yaml").write_text(cfg.replace("[nameting, na, T1]",
                                                           "[nameting, na, T1, eind]"))
    assert study.config.wave_resolver()("Eind") == "post"
    study.close()


def test_unknown_labels_get_a_proposed_values_line(tmp_path):
    study = Study.init(tmp_path / "s", "partnerschap", key=KEY)
    path = tmp_path / "ouders.csv"
    path.write_text("Deelnemernummer;rec1;rec2;rec3\n1;Eens;Oneens;Neutraal\n2;Eens;Eens;Banaan\n"
                    "3;Helemaal eens;Mee eens;5\n", encoding="utf-8")
    fb = study.submit([path], school="De Linde", wave="voormeting", role="ouder", key=KEY)[0]
    proposals = {p.label: (p.count, p.code) for p in fb.unknown_labels}
    assert proposals == {"Eens": (3, 4), "Oneens": (1, 2), "Banaan": (1, None),
                         "Helemaal eens": (1, 5)}
    assert fb.accepted == 3
    from partnerschap_eval.study.messages import render_feedback

    nl, en = render_feedback(fb, "nl"), render_feedback(fb, "en")
    assert '"Eens": 4' in nl and "values:" in nl and "3 keer" in nl and "opgenomen" in nl
    assert "3 times" in en and "accepted" in en and "opgenomen" not in en
    study.close()


def test_a_file_spanning_cells_is_a_submission_of_each(tmp_path):
    study = Study.init(tmp_path / "s", "partnerschap", key=KEY,
                       schools=[{"id": "A", "name": "School A"}, {"id": "B", "name": "School B"}])
    path = tmp_path / "alles.csv"
    path.write_text("nr,school,meting,rol,rec1\n1,school a,voormeting,ouder,4\n"
                    "1,School B,voormeting,ouder,3\n1,SCHOOL A,nameting,ouder,5\n"
                    "2,B,T1,leerkracht,2\n", encoding="utf-8")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  nr: respondent_id\n  school: school_id\n  meting: wave\n"
                       "  rol: role\n")
    fb = study.submit([path], mapping=mapping, key=KEY)[0]
    assert sorted((c.school_id, c.wave, c.role, c.accepted) for c in fb.cells) == [
        ("A", "post", "parent", 1), ("A", "pre", "parent", 1), ("B", "post", "teacher", 1),
        ("B", "pre", "parent", 1)]
    responses = study.responses()
    # number 1 in school A and number 1 in school B are two people; A's 1 is paired
    assert responses.respondent_id.nunique() == 3
    assert responses.wave.tolist()[:2] == ["pre", "pre"]  # declared order, not alphabetical
    study.close()


def test_ingest_default_is_unchanged_and_per_school_keys_over_school(tmp_path):
    from partnerschap_eval.ingest import ExportSpec, ingest_exports

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("nr,rec1\n1,4\n2,5\n")
    b.write_text("nr,rec1\n1,2\n2,3\n")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  nr: respondent_id\n")
    specs = [ExportSpec(a, wave="pre", role="parent", school="A"),
             ExportSpec(b, wave="pre", role="parent", school="B")]
    plain = ingest_exports(specs, "partnerschap", KEY, mapping)
    assert plain.log["totals"]["accepted"] == 0  # one numbering across the run: conflicts
    scoped = ingest_exports(specs, "partnerschap", KEY, mapping, id_scope="per_school")
    assert scoped.log["totals"]["accepted"] == 4
    assert scoped.responses.respondent_id.nunique() == 4
    single = ingest_exports(specs[:1], "partnerschap", KEY, mapping)
    again = ingest_exports(specs[:1], "partnerschap", KEY, mapping, id_scope="study")
    pd.testing.assert_frame_equal(single.responses, again.responses)
    with pytest.raises(ValueError):
        ingest_exports(specs, "partnerschap", KEY, mapping, id_scope="school")


@pytest.mark.slow
def test_cli_submit_status_responses_exit_codes(tmp_path):
    study_dir = tmp_path / "wish"
    res = run("study", "init", study_dir, "--instrument", "partnerschap", "--waves",
              "voormeting,nameting")
    assert res.returncode == 0, res.stderr
    assert "voormeting" in (study_dir / "study.yaml").read_text()
    ok = tmp_path / "ouders_voor.csv"
    ok.write_text("Deelnemernummer,rec1,rec2\n1,Mee eens,5\n2,Eens,4\n")
    res = run("submit", study_dir, ok, "--school", "De Linde", "--wave", "T0", "--role", "ouders")
    assert res.returncode == 0, res.stderr
    assert "2 opgenomen" in res.stdout and '"Eens": 4' in res.stdout
    res = run("submit", study_dir, ok, "--school", "De Linde", "--wave", "T0", "--role",
              "ouders", "--lang", "en")
    assert res.returncode == 0 and "nothing changed" in res.stdout
    res = run("submit", study_dir, ok, "--school", "De Linde", "--wave", "T0", "--role", "oudr")
    assert res.returncode == 3 and "onbekende rol" in res.stdout
    res = run("submit", study_dir, tmp_path / "missing.csv", "--school", "X", "--wave", "T0",
              "--role", "ouders")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    res = run("submit", study_dir, ok, "--school", "De Linde", "--wave", "T7", "--role", "ouders")
    assert res.returncode == 2 and "T7" in res.stderr and "Traceback" not in res.stderr
    res = run("status", study_dir, "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    cell = next(r for r in rows if r["role"] == "parent")
    assert {k: cell[k] for k in ("school_id", "wave", "role", "submissions", "rows_in",
                                 "accepted", "rejected")} == {
        "school_id": "De Linde", "wave": "voormeting", "role": "parent", "submissions": 1,
        "rows_in": 2, "accepted": 2, "rejected": 0}
    for suffix in (".csv", ".parquet"):
        out = tmp_path / f"responses{suffix}"
        res = run("responses", study_dir, "--out", out)
        assert res.returncode == 0, res.stderr
        frame = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
        assert len(frame) == 2 and list(frame.columns[:4]) == ["respondent_id", "wave", "role",
                                                                "school_id"]
    res = run("status", tmp_path / "nowhere")
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_cells_interleaved_in_a_file_keep_their_own_rows(tmp_path):
    study = Study.init(tmp_path / "s", "partnerschap", key=KEY)
    lines = ["nr,rol,rec1,rec2"]
    lines += [f"{i},ouder,1,{1 + i % 5}" for i in range(1, 31)]
    lines += [f"{i},leerkracht,5,{1 + i % 5}" for i in range(1, 31)]
    path = tmp_path / "gemengd.csv"
    path.write_text("\n".join(lines) + "\n")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  nr: respondent_id\n  rol: role\n")
    fb = study.submit([path], school="A", wave="pre", mapping=mapping, key=KEY)[0]
    assert sorted((c.role, c.accepted) for c in fb.cells) == [("parent", 30), ("teacher", 30)]
    responses = study.responses()
    assert responses.groupby("role")["rec1"].agg(["min", "max", "size"]).to_dict("index") == {
        "parent": {"min": 1.0, "max": 1.0, "size": 30},
        "teacher": {"min": 5.0, "max": 5.0, "size": 30}}
    study.close()


@pytest.mark.slow
def test_report_of_the_study_agrees_with_its_responses(collection, tmp_path):
    study = collection["study"]
    out = tmp_path / "report"
    res = run("report", "--study", collection["base"] / "wish", "--out", out)
    assert res.returncode == 0, res.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["waves"] == ["pre", "post", "follow-up"]  # the study's order
    responses = study.responses()
    expected = paired(responses, "pre", "follow-up", ["respondent_id"])
    assert results["scales"]["reciprocity"]["paired"]["n"] == expected
    exported = pd.read_csv(collection["base"] / "wish" / "current" / "responses.csv")
    assert len(exported) == int(study.status().accepted.sum())


def test_a_mapping_files_column_wins_over_an_automatic_match(tmp_path):
    from partnerschap_eval.ingest import ExportSpec, ingest_exports

    path = tmp_path / "qualtrics_achtig.csv"
    path.write_text("ResponseId,ExternalReference,rec1\nR_1,,4\nR_2,,5\n")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  ResponseId: respondent_id\n")
    res = ingest_exports([ExportSpec(path, wave="pre", role="parent", school="A")],
                         "partnerschap", KEY, mapping)
    assert res.log["totals"]["accepted"] == 2
    assert "ExternalReference" in res.log["files"][0]["dropped_columns"]
    both = tmp_path / "m2.yaml"
    both.write_text("columns:\n  ResponseId: respondent_id\n  ExternalReference: respondent_id\n")
    with pytest.raises(InputError, match="Several columns"):
        ingest_exports([ExportSpec(path, wave="pre", role="parent", school="A")],
                       "partnerschap", KEY, both)


def test_readme_study_tour_runs_as_printed(tmp_path, monkeypatch, capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A study:")[1].split("\n## ")[0]
    code = section.split("```python\n")[1].split("```")[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.startswith("2 [('Eens', 4)]")
    assert "S01" in printed and "pre" in printed


@pytest.mark.slow
def test_status_lists_expected_cells_and_ids_study_reports_shared_numbers(tmp_path):
    schools = [{"id": "A", "name": "School A"}, {"id": "B", "name": "School B"}]
    study = Study.init(tmp_path / "s", "partnerschap", key=KEY, schools=schools, ids="study")
    for school in ("A", "B"):
        path = tmp_path / f"{school}.csv"
        path.write_text("Deelnemernummer,rec1\n1,4\n2,5\n")
        study.submit([path], school=school, wave="pre", role="parent", key=KEY)
    status = study.status(expected=True)
    assert len(status) == 2 * 2 * len(INST.roles)
    assert status[status.submissions == 0].accepted.sum() == 0
    assert len(study.status()) == 2
    shared = study.shared_ids()  # numbers 1 and 2 in both schools: the same people, reported
    assert len(shared) == 2 and set(shared.cells) == {"A / parent; B / parent"}
    res = run("status", tmp_path / "s", "--expected", "--json")
    assert res.returncode == 0 and "2 deelnemer(s)" in res.stderr
    assert len(json.loads(res.stdout)) == len(status)
    study.close()


def test_school_wave_and_role_from_the_file_name_pattern(tmp_path):
    study = Study.init(tmp_path / "s", "partnerschap", key=KEY, schools=SCHOOLS[:2])
    cfg = (tmp_path / "s" / "study.yaml").read_text()
    (tmp_path / "s" / "study.yaml").write_text(cfg + 'file_names: "{role}_{wave}_{school}"\n')
    named = tmp_path / "ouders_voormeting_de regenboog.csv"
    named.write_text("Deelnemernummer,rec1\n1,4\n2,5\n")
    fb = study.submit([named], key=KEY)[0]
    assert [(c.school_id, c.wave, c.role, c.accepted) for c in fb.cells] == [
        ("S02", "pre", "parent", 2)]
    # an option wins over the name; a column wins over the name too
    fb = study.submit([named], school="S01", key=KEY)[0]
    assert fb.cells[0].school_id == "S01"
    column = tmp_path / "leerkracht_nameting_De Linde.csv"
    column.write_text("Deelnemernummer,School,rec1\n1,De Regenboog,3\n")
    fb = study.submit([column], key=KEY)[0]
    assert [(c.school_id, c.wave, c.role) for c in fb.cells] == [("S02", "post", "teacher")]
    with pytest.raises(UnknownNameError):  # a name that says an undeclared school
        (tmp_path / "ouders_voormeting_Nergens.csv").write_text("Deelnemernummer,rec1\n1,4\n")
        study.submit([tmp_path / "ouders_voormeting_Nergens.csv"], key=KEY)
    (tmp_path / "s" / "study.yaml").write_text(cfg + 'file_names: "{school}_{klas}"\n')
    with pytest.raises(InputError, match="file_names"):
        study.status()
    study.close()


def test_the_study_layer_imports_only_downwards():
    import ast

    pkg = Path(__file__).resolve().parents[1] / "src" / "partnerschap_eval"
    above = {"cli", "cli_study", "report", "results", "synth", "typer", "rich", "papermill"}
    for path in (pkg / "study").glob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
        assert not names & above, (path.name, names & above)


def test_control_characters_in_a_cell_are_removed_and_counted_not_refused(tmp_path):
    from partnerschap_eval.ingest import ExportSpec, ingest_exports

    path = tmp_path / "met_piepjes.csv"
    path.write_bytes(b"Deelnemernummer,rec1,rec2\n1\x07,4,5\n2,Mee eens\x1b\x1b\x1b\x1b\x1b,3\n"
                     b"3,\x1b[31m\x1b[0m\x1b[1m\x1b[2m\x1b[3m4,2\n")
    res = ingest_exports([ExportSpec(path, wave="pre", role="parent", school="A")],
                         "partnerschap", KEY)
    log = res.log["files"][0]
    assert log["accepted"] == 3 and log["details"]["control_characters_removed"] == 11
    assert res.responses.rec1.tolist().count(4.0) == 2  # "Mee eens" decoded once BEL-free
    study = Study.init(tmp_path / "s", "partnerschap", key=KEY)
    fb = study.submit([path], school="A", wave="pre", role="parent", key=KEY)[0]
    assert fb.controls_removed == 11
    from partnerschap_eval.study.messages import render_feedback

    assert "11 onzichtbare stuurtekens" in render_feedback(fb)
    study.close()
    garbage = tmp_path / "kapot.csv"
    garbage.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(InputError, match="binary data"):
        ingest_exports([ExportSpec(garbage, wave="pre", role="parent", school="A")],
                       "partnerschap", KEY)
