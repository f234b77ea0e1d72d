"""The output firewall, attacked: personal data planted in every column kind never comes out.

One study is built as a hostile (or careless) school would submit it: names, e-mail addresses,
phone numbers, BSN-like numbers (11-proof valid), street addresses and raw respondent ids typed
into the id, school, wave and role cells, into answers, free-text columns, SPSS value and
variable labels, an XLSX sheet name and the export files' names — in a CSV, an XLSX and a SAV
export. The whole pipeline then runs through the command line (ingest -> score -> evaluate ->
report) and every planted string is searched for in the bytes of every output file, in every
output file's name and in everything the commands printed. A second group of tests attacks the
messages: failures whose paragraph would naturally quote the file name, a header, a sheet name
or a cell.
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

from partnerschap_eval.privacy import WITHHELD, _bsn_valid, screen
from partnerschap_eval.synth.exports import write_csv_export, write_sav_export, write_xlsx_export

ITEMS = [f"{s}{i}" for s in ("rec", "twc", "sdm") for i in range(1, 6)]
KEY = "firewall-test-key-0123456789abcdef"
SCHOOLS = ["Basisschool De Linde", "OBS Het Palet"]
CLI = [sys.executable, "-m", "partnerschap_eval.cli"]

FIRST = ["Jan", "Fatima", "Sem", "Noor", "Daan", "Lotte", "Mohammed", "Emma", "Lucas", "Sophie",
         "Bram", "Julia", "Thijs", "Anna", "Ruben", "Sara", "Milan", "Eva", "Luuk", "Tess"]
LAST = ["de Vries", "El Amrani", "Bakker", "van Dijk", "Visser", "Smit", "Yilmaz", "Jansen",
        "Mulder", "de Boer", "Peters", "Hendriks", "Dekker", "Brouwer", "Meijer", "de Groot",
        "Bos", "Vos", "Willems", "van Leeuwen"]
NAMES = [f"{f} {ln}" for ln in LAST for f in FIRST]  # "Jan de Vries" first
STREETS = ["Kerkstraat", "Dorpsweg", "Molenlaan", "Stationsplein", "Prinsengracht", "Lindelaan",
           "Beukenhof", "Havenkade", "Zuiderdijk", "Marktplein", "Julianastraat", "Esdoornpad",
           "Wilhelminasingel", "Raadhuisstraat", "Bosweg", "Oranjestraat", "Spoorlaan",
           "Parkweg", "Eikendreef", "Tulpstraat", "Rozenlaan", "Vijverhof", "Sluiskade"]


def _bsns():
    """Distinct nine-digit numbers that pass the 11-proof, as a real BSN does."""
    rng = np.random.default_rng(9)
    while True:
        head = [int(d) for d in rng.integers(1, 10, 8)]
        last = sum(d * w for d, w in zip(head, range(9, 1, -1), strict=True)) % 11
        if last < 10:
            text = "".join(map(str, head)) + str(last)
            assert _bsn_valid(text)
            yield text


class Planter:
    """Fresh planted values: one of each kind of personal data per place."""

    def __init__(self) -> None:
        self.names, self.bsn = iter(NAMES), _bsns()
        # "Kerkstraat 12", "Dorpsweg 13a", ...: every planted address distinct
        self.streets = (f"{STREETS[i % len(STREETS)]} {12 + i}{'a' if i % 3 == 1 else ''}"
                        for i in range(10_000))
        self.n = iter(range(1000, 9999))
        self.planted: dict[str, str] = {}  # planted text -> "place/kind"

    def one(self, where: str, kind: str) -> str:
        """A fresh value of one kind, recorded as planted at ``where``."""
        n = next(self.n)
        value = {"name": lambda: next(self.names), "email": lambda: f"{where}.ouder{n}@voorbeeld.nl",
                 "phone": lambda: f"06-{n}{n}", "bsn": lambda: next(self.bsn),
                 "street": lambda: next(self.streets)}[kind]()
        assert value not in self.planted, value  # one place per text: leaks are attributed
        self.planted[value] = f"{where}/{kind}"
        return value

    def column(self, where: str, kind: str, k: int) -> list[str]:
        """``k`` distinct values of one kind, for a whole column."""
        return [self.one(where, kind) for _ in range(k)]

    def __call__(self, where: str) -> list[str]:
        """One value of every kind."""
        return [self.one(where, kind) for kind in ("name", "email", "phone", "bsn", "street")]


class Study:
    """The hostile exports, what was planted where, and the raw ids they hold."""

    def __init__(self, base: Path):
        self.base = base
        self.plant = Planter()
        self.raw_ids: list[str] = []
        self.key_rows = 0  # rows whose school, wave or role cell is planted
        rng = np.random.default_rng(4)
        self.files = [self._parents_pre(rng), self._parents_post(rng), self._professionals(rng),
                      *self._small(rng)]

    @property
    def planted(self) -> dict[str, str]:
        return self.plant.planted

    def _id(self, prefix: str, i: int) -> str:
        rid = f"{prefix}{731000 + i}"
        self.raw_ids.append(rid)
        return rid

    def _rows(self, rng, prefix: str, n: int, wave: str, role: str) -> pd.DataFrame:
        ids = [f"{prefix}{731000 + i}" for i in range(n)]
        if wave in ("pre", "voormeting", 1):
            self.raw_ids.extend(ids)
        frame = pd.DataFrame({"Deelnemernummer": ids,
                              "School": [SCHOOLS[i % 2] for i in range(n)],
                              "Meting": wave, "Rol": role})
        for item in ITEMS:
            frame[item] = rng.integers(1, 6, n)
        return frame

    def _key_attack(self, frame: pd.DataFrame, prefix: str, column: str, fresh: int) -> pd.DataFrame:
        """Rows (with fresh raw ids) whose ``column`` cell holds planted personal data, and one
        that holds another respondent's raw id."""
        values = [*self.plant(f"{prefix}-{column}"), frame["Deelnemernummer"].iloc[0]]
        rows = frame.iloc[:len(values)].copy()
        rows["Deelnemernummer"] = [self._id(prefix + "x" + column[:2], fresh + i)
                                   for i in range(len(values))]
        rows[column] = values
        self.key_rows += len(values)
        return rows

    def _parents_pre(self, rng) -> Path:
        frame = self._rows(rng, "LLN", 48, "voormeting", "ouder")
        frame = frame.astype({i: object for i in ITEMS})
        attacks = [self._key_attack(frame, "pre", c, 100 * k)
                   for k, c in enumerate(("School", "Meting", "Rol"), start=1)]
        cleared = self.plant("pre-answer")  # answers: cleared, and logged
        for j, value in enumerate(cleared):
            frame.loc[j, "rec2"] = value
        frame.loc[len(cleared), "rec3"] = frame["Deelnemernummer"].iloc[5]  # a raw id as answer
        kinds = ("name", "email", "phone", "bsn", "street")
        frame["Opmerkingen"] = [f"Bel {self.plant.one('pre-free', kinds[i % 5])} graag"
                                for i in range(len(frame))]
        frame["Kolom 21"] = self.plant.column("pre-unnamed", "name", len(frame))
        frame = pd.concat([frame, *attacks], ignore_index=True)
        frame["Opmerkingen"] = frame["Opmerkingen"].fillna("x")
        frame["Kolom 21"] = frame["Kolom 21"].fillna(self.plant.one("pre-unnamed2", "name"))
        name = self.plant.one("file-csv", "name")
        return write_csv_export(frame, self.base / f"{name}.csv", encoding="utf-8", delimiter=";")

    def _parents_post(self, rng) -> Path:
        frame = self._rows(rng, "LLN", 48, "nameting", "ouder")
        frame = frame.astype({i: object for i in ITEMS})
        attacks = [self._key_attack(frame, "post", c, 500 + 100 * k)
                   for k, c in enumerate(("School", "Meting", "Rol"), start=1)]
        for j, value in enumerate(self.plant("post-answer")):
            frame.loc[j, "twc4"] = value
        frame["Naam ouder"] = self.plant.column("post-namecol", "name", len(frame))
        frame = pd.concat([frame, *attacks], ignore_index=True)
        frame["Naam ouder"] = frame["Naam ouder"].fillna("x")
        sheet = self.plant.one("sheet", "name")
        email = self.plant.one("file-xlsx", "email")
        return write_xlsx_export(frame, self.base / f"{email}.xlsx", sheet=sheet,
                                 extra_sheets={self.plant.one("sheet2", "phone"): frame.iloc[:2]})

    def _professionals(self, rng) -> Path:
        pre = self._rows(rng, "PRF", 24, 1, 1)
        post = self._rows(rng, "PRF", 24, 2, 1)
        frame = pd.concat([pre, post], ignore_index=True)
        frame["Rol"] = [1 if i % 2 else 2 for i in range(len(frame))]
        labels = {"Meting": {1: "pre", 2: "post"}, "Rol": {1: "leerkracht", 2: "jeugdhulpverlener"},
                  "rec1": {1: "Helemaal mee oneens", 5: "Helemaal mee eens"}}
        # value labels carrying personal data: on the wave, the role and an answer
        for column, code in (("Meting", 3), ("Rol", 3), ("rec1", 9)):
            for k, label in enumerate(self.plant(f"label-{column}")):
                labels[column][code + k] = label
                row = frame.iloc[[k]].copy()
                row["Deelnemernummer"] = self._id(f"LAB{column[:2]}", k)
                row[column] = code + k
                frame = pd.concat([frame, row], ignore_index=True)
                if column != "rec1":
                    self.key_rows += 1
        schools = self.plant("sav-school")
        rows = frame.iloc[:len(schools)].copy()
        rows["Deelnemernummer"] = [self._id("SAVSC", k) for k in range(len(schools))]
        rows["School"] = schools
        self.key_rows += len(schools)
        frame = pd.concat([frame, rows], ignore_index=True)
        frame["contact"] = self.plant.column("sav-unnamed", "email", len(frame))
        frame["extra1"] = 1
        phone = self.plant.one("file-sav", "phone")
        return write_sav_export(frame, self.base / f"team {phone}.sav",
                                variable_labels={"extra1": self.plant.one("varlabel", "name")},
                                value_labels=labels)

    def _small(self, rng) -> list[Path]:
        """More exports, so that every kind of personal data is in some file's name."""
        paths = []
        for kind in ("bsn", "street", "name"):
            frame = self._rows(rng, f"S{kind[:2].upper()}", 3, "pre", "jeugdhulpverlener")
            value = self.plant.one(f"file-{kind}", kind)
            paths.append(write_csv_export(frame, self.base / f"{value} export.csv"))
        return paths


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PARTNERSCHAP_EVAL_KEY": KEY, "COLUMNS": "200"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=600, cwd=cwd,
                          env=env)


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """The hostile study through ingest -> score -> evaluate -> report, all by the CLI."""
    base = tmp_path_factory.mktemp("firewall")
    raw = base / "raw"
    raw.mkdir()
    study = Study(raw)
    out = base / "out"
    runs = [_run(["ingest", *map(str, study.files), "--instrument", "partnerschap",
                  "--out", str(out / "ingest")], base)]
    responses = str(out / "ingest" / "responses.csv")
    runs.append(_run(["score", responses, "--instrument", "partnerschap",
                      "--out", str(out / "scores.csv")], base))
    runs.append(_run(["evaluate", responses, "--instrument", "partnerschap",
                      "--out", str(out / "results.json")], base))
    runs.append(_run(["report", "--responses", responses, "--instrument", "partnerschap",
                      "--project", "Firewall", "--out", str(out / "report"),
                      "--date", "2026-06-30"], base))
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    printed = "\n".join(r.stdout + r.stderr for r in runs)
    # searched case-insensitively, every file as text (a PNG's bytes hold no text to find)
    folded = {n: d.decode("utf-8", errors="replace").casefold() for n, d in files.items()}
    return study, out, files, folded, printed.casefold(), runs


def _forms(text: str) -> set[str]:
    """The planted text as it could appear: as typed, in JSON or HTML escaping, or (a phone
    number) without its separators."""
    forms = {text, json.dumps(text)[1:-1], text.replace("'", "&#39;"), text.replace("'", "&#x27;")}
    if text.startswith("06-"):
        forms.add(text.replace("-", ""))
    return {f.casefold() for f in forms}


def _leaks(text: str, folded: dict[str, str], printed: str) -> list[str]:
    forms = _forms(text)
    found = [f"printed: ...{printed[max(0, printed.find(f) - 60):][:140]}..."
             for f in forms if f in printed]
    for name, body in folded.items():
        if any(f in name.casefold() for f in forms):
            found.append(f"file name {name}")
        for f in forms:
            at = body.find(f)
            if at >= 0:
                found.append(f"{name}: ...{body[max(0, at - 60):at + 80]}...")
    return found


def _catalogue() -> list[tuple[str, str]]:
    """(place/kind, text) of everything the study plants: the same for every build."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        study = Study(Path(tmp))
    places: dict[str, list[str]] = {"raw ids": list(study.raw_ids)}
    for value, where in study.planted.items():
        places.setdefault(where, []).append(value)
    return sorted(places.items())


CATALOGUE = _catalogue()


@pytest.mark.parametrize(("where", "texts"), CATALOGUE, ids=[w for w, _ in CATALOGUE])
def test_planted_text_never_comes_out(attacked, where, texts):
    """Each place and kind: none of its planted texts in any output file, name or message."""
    _study, _out, _files, folded, printed, _runs = attacked
    leaks = {t: found for t in texts if (found := _leaks(t, folded, printed))}
    assert not leaks, leaks


def test_the_attack_reached_the_outputs(attacked):
    """Not vacuous: every planted row was read, the clean rows were published, and the
    withheld key cells are counted (never shown)."""
    study, out, files, _, _, runs = attacked
    assert [r.returncode for r in runs] == [0, 0, 0, 0], [r.stderr[-500:] for r in runs]
    log = json.loads(files["ingest/ingest_log.json"])
    assert log["totals"]["accepted"] > 100
    # file names withheld, yet every file told apart (by its position in the run)
    assert len({f["file"] for f in log["files"]}) == len(study.files) == 6
    assert sum("withheld" in f["file"] for f in log["files"]) == 6
    withheld = sum(sum(f.get("withheld_values", {}).values()) for f in log["files"])
    assert withheld == study.key_rows
    rejected = pd.read_csv(out / "ingest" / "rejected.csv", dtype=str)
    shown = pd.concat([rejected["school_id"], rejected["wave"], rejected["role"]])
    assert (shown == WITHHELD).sum() >= study.key_rows
    cleared = [c for f in log["files"] for c in f["cleared"]]
    assert sum(c["value"].startswith("<withheld") for c in cleared) >= 15
    assert {c["column"] for f in log["files"] for c in f["pii_columns"]} >= {
        "Opmerkingen", "Kolom 21", "Naam ouder", "contact"}
    results = json.loads(files["results.json"])
    assert results["scales"]["reciprocity"]["paired"]["n"] >= 40
    report = json.loads(files["report/results.json"])
    assert sorted(s["name"] for s in report["schools"].values()) == SCHOOLS
    assert sorted(n for n in files if n.startswith("report/schools/")) == [
        "report/schools/school-001.html", "report/schools/school-002.html"]


# -- messages: failures whose paragraph would quote a file name, header, sheet or cell ------------
def _contract2(path: Path, school: str) -> Path:
    """A hand-made Contract 2 table (not from ingest) with one hostile school."""
    rng = np.random.default_rng(2)
    rows = []
    for i in range(30):
        for wave in ("pre", "post"):
            rows.append({"respondent_id": f"p-{i:020x}", "wave": wave, "role": "parent",
                         "school_id": school if i < 12 else "S01",
                         **{item: int(rng.integers(1, 6)) for item in ITEMS}})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _table(n: int = 3, **columns) -> pd.DataFrame:
    frame = pd.DataFrame({"Deelnemernummer": [f"R{i}" for i in range(n)], **columns})
    for item in ITEMS[:5]:
        frame[item] = 3
    return frame


SCENARIOS = {
    # the file name is personal data, and the file fails: its name would open the paragraph
    "empty file": lambda d: ([(d / "Jan de Vries.csv").write_bytes(b"") and d / "Jan de Vries.csv"],
                             ["--wave", "pre", "--role", "parent", "--school", "S01"]),
    "no item columns, hostile headers": lambda d: (
        [write_csv_export(pd.DataFrame({"Deelnemernummer": ["1", "2"],
                                        "ouder.jansen@voorbeeld.nl": ["a", "b"],
                                        "Fatima El Amrani": ["c", "d"], "0612345678": ["e", "f"]}),
                          d / "Kerkstraat 12.csv")],
        ["--wave", "pre", "--role", "parent", "--school", "S01"]),
    "no such sheet": lambda d: (
        [write_xlsx_export(_table(), d / "export.xlsx", sheet="Sem Bakker",
                           extra_sheets={"ouder@voorbeeld.nl": _table()})],
        ["--wave", "pre", "--role", "parent", "--school", "S01", "--sheet", "Noor van Dijk"]),
    "damaged SPSS file": lambda d: ([(d / "Daan Visser.sav").write_bytes(b"$FL2" + b"\0" * 40)
                                     and d / "Daan Visser.sav"],
                                    ["--wave", "pre", "--role", "parent", "--school", "S01"]),
    "personal data as --school": lambda d: (
        [write_csv_export(_table(), d / "export.csv")],
        ["--wave", "pre", "--role", "parent", "--school", "Lotte Smit"]),
    "e-mail as --wave": lambda d: (
        [write_csv_export(_table(), d / "export.csv")],
        ["--wave", "lotte.smit@voorbeeld.nl", "--role", "parent", "--school", "S01"]),
    "flag beside a hostile school header": lambda d: (
        [write_csv_export(_table(**{"Emma Jansen": ["S01"] * 3}), d / "export.csv")],
        ["--wave", "pre", "--role", "parent", "--school", "S01", "--mapping",
         str(_mapping(d, {"Emma Jansen": "school_id"}))]),
}
PLANTED_IN_SCENARIOS = ["Jan de Vries", "ouder.jansen@voorbeeld.nl", "Fatima El Amrani",
                        "0612345678", "Kerkstraat 12", "Sem Bakker", "ouder@voorbeeld.nl",
                        "Noor van Dijk", "Daan Visser", "Lotte Smit", "lotte.smit@voorbeeld.nl",
                        "Emma Jansen"]


def _mapping(d: Path, columns: dict[str, str]) -> Path:
    path = d / "mapping.yaml"
    path.write_text("columns:\n" + "".join(f'  "{k}": {v}\n' for k, v in columns.items()),
                    encoding="utf-8")
    return path


def _paragraph_without(res: subprocess.CompletedProcess, planted: list[str]) -> str:
    """The failure is one paragraph (exit 2, no traceback) that quotes none of ``planted``."""
    printed = res.stdout + res.stderr
    assert res.returncode == 2, printed
    assert "Traceback" not in printed and "error:" in printed, printed
    leaked = [p for p in planted if p.casefold() in printed.casefold()]
    assert not leaked, (leaked, printed)
    return printed


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_ingest_messages_quote_no_personal_data(tmp_path, scenario):
    files, options = SCENARIOS[scenario](tmp_path)
    res = _run(["ingest", *map(str, files), "--instrument", "partnerschap", *options,
                "--out", str(tmp_path / "out")], tmp_path)
    _paragraph_without(res, PLANTED_IN_SCENARIOS)
    assert not (tmp_path / "out" / "responses.csv").exists()


@pytest.mark.parametrize(("school", "command"), [
    ("Jan de Vries", "score"), ("ouder.jansen@voorbeeld.nl", "evaluate"), ("Kerkstraat 12", "report"),
    ("111222333", "evaluate"), ("06-12345678", "score")])
def test_a_hand_made_responses_file_cannot_publish_a_hostile_school(tmp_path, command, school):
    """score, evaluate and report accept any Contract 2 table: its key cells pass the firewall
    too, and the refusal counts them without quoting them."""
    responses = str(_contract2(tmp_path / "responses.csv", school))
    out = tmp_path / "out"
    args = {"score": ["score", responses, "--instrument", "partnerschap", "--out", f"{out}.csv"],
            "evaluate": ["evaluate", responses, "--instrument", "partnerschap",
                         "--out", f"{out}.json"],
            "report": ["report", "--responses", responses, "--instrument", "partnerschap",
                       "--project", "P", "--out", str(out)]}[command]
    printed = _paragraph_without(_run(args, tmp_path), [school])
    assert "24 row(s) have a school_id" in printed
    written = [out / "results.json", out / "index.html", Path(f"{out}.csv"), Path(f"{out}.json")]
    assert not any(p.exists() for p in written)


def test_a_symlinked_export_is_refused_and_nothing_of_it_echoed(tmp_path):
    secret = tmp_path / "elsewhere" / "Sara de Groot.csv"
    secret.parent.mkdir()
    write_csv_export(_table(School=["Milan Bos"] * 3, Opmerkingen=["eva.vos@voorbeeld.nl"] * 3),
                     secret)
    link = tmp_path / "ouders.csv"
    link.symlink_to(secret)
    res = _run(["ingest", str(link), "--instrument", "partnerschap", "--wave", "pre",
                "--role", "parent", "--out", str(tmp_path / "out")], tmp_path)
    printed = _paragraph_without(res, ["Sara de Groot", "Milan Bos", "eva.vos@voorbeeld.nl",
                                       "R0", "elsewhere"])
    assert "symbolic link" in printed
    assert not (tmp_path / "out").exists()


HOSTILE_KEYS = ["Jan de Vries", "Fatima El Amrani", "ouder@voorbeeld.nl", "+31 6 12345678",
                "06-12345678", "111222333", "Kerkstraat 12", "1234 AB", "192.168.1.20",
                "LLN0048213", "x" * 200]


@pytest.mark.parametrize("value", HOSTILE_KEYS)
@pytest.mark.parametrize("column", ["school_id", "wave", "role"])
def test_screen_responses_refuses_every_hostile_key_cell(value, column):
    """The API path (what evaluate and report call): every kind of personal data in every key
    column is refused, and the message never quotes it."""
    from partnerschap_eval.errors import InputError
    from partnerschap_eval.privacy import screen_responses

    frame = pd.DataFrame({"respondent_id": ["p-1", "p-2"], "wave": ["pre", "post"],
                          "role": ["parent", "teacher"], "school_id": ["S01", "OBS De Linde"]})
    screen_responses(frame, ["parent", "teacher"])  # the clean table passes
    frame.loc[1, column] = value
    with pytest.raises(InputError) as info:
        screen_responses(frame, ["parent", "teacher"])
    assert value.casefold() not in str(info.value).casefold()
    assert f"1 row(s) have a {column}" in str(info.value)


# -- the firewall function itself ----------------------------------------------------------------
def _pii_values():
    from hypothesis import strategies as st

    # as typed in real exports: "Jan de Vries", "J. de Vries", "de Vries, Jan", "JAN DE VRIES"
    names = st.builds(lambda f, ln, form: form.format(f=f, fi=f[0], ln=ln),
                      st.sampled_from(FIRST), st.sampled_from(LAST),
                      st.sampled_from(["{f} {ln}", "{fi}. {ln}", "{ln}, {f}", "{ln}, {fi}."]))
    names = st.one_of(names, names.map(str.upper))
    emails = st.builds(lambda a, b: f"{a}.{b}@voorbeeld.nl", st.sampled_from(FIRST),
                       st.sampled_from(["jansen", "devries", "x1"]))
    phones = st.builds(lambda n, sep: f"06{sep}{n:08d}", st.integers(0, 10**8 - 1),
                       st.sampled_from(["", "-", " "]))
    bsns = st.integers(10**8, 10**9 - 1).map(str)
    streets = st.builds(lambda s, n: f"{s} {n}", st.sampled_from(STREETS), st.integers(1, 999))
    postcodes = st.builds(lambda n, a: f"{n} {a}", st.integers(1000, 9999),
                          st.sampled_from(["AB", "XY", "KL"]))
    return st.one_of(names, emails, phones, bsns, streets, postcodes)


def test_personal_data_is_withheld_wherever_it_stands():
    """Planted alone or inside other text, in every kind that lets free-form text through:
    withheld, and the placeholder does not contain it."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    words = st.sampled_from(["", "bel ", "mail: ", "graag ", "(", "adres "])

    @settings(max_examples=300, derandomize=True, deadline=None)
    @given(_pii_values(), words, st.sampled_from(["", " graag", ")", " svp", "!"]),
           st.sampled_from(["answer", "label", "text", "file", "sheet", "school", "wave"]))
    def check(value, before, after, kind):
        verdict = screen(f"{before}{value}{after}", kind)
        assert not verdict.allowed, (before, value, after, kind)
        assert value.casefold() not in verdict.text.casefold()
        assert verdict.reason and value.casefold() not in verdict.reason.casefold()

    check()


def test_declared_and_harmless_values_pass():
    """Not a firewall that withholds everything: school names and codes of the demo, known and
    shaped waves, declared values whatever their shape."""
    from partnerschap_eval.privacy import declared
    from partnerschap_eval.synth import _school_names

    schools = [*_school_names(60, np.random.default_rng(0)), "S01", "12AB", "OBS De Linde",
               "CBS 't Kompas", "Het Palet", "Sint-Jozef", '<script>alert("x")</script> & Zn']
    assert [s for s in schools if not screen(s, "school").allowed] == []
    for wave in ["pre", "post", "Voormeting", "nameting", "T0", "t1", "W2", "meting 3", "mid"]:
        assert screen(wave, "wave").allowed, wave
    assert screen("Prins Willem-Alexander", "school", declared(["prins willem-alexander"])).allowed
    assert not screen("Prins Willem-Alexander", "school").allowed
    assert screen("Herfst", "wave", declared(["herfst"])).allowed
    assert not screen("Herfst", "wave").allowed
    for answer in ["7", "99", "Mee eens!", "Soms", "n.v.t."]:
        assert screen(answer, "answer").allowed, answer


def test_roles_and_raw_ids_only_as_declared():
    from partnerschap_eval.privacy import declared

    roles = declared(["parent", "teacher"])
    assert screen(" Parent ", "role", roles).allowed
    for hostile in ["directeur", "Jan de Vries", "parent2", ""]:
        verdict = screen(hostile, "role", roles)
        assert (verdict.allowed, verdict.text) == (False, WITHHELD)
    assert screen("0012", "id").text == "<withheld: a raw identifier>"


@pytest.mark.parametrize("kind", ["answer", "school", "header", "file"])
def test_the_firewall_is_linear_on_hostile_cells(kind):
    """Cells of 100,000 characters built to make patterns backtrack are judged at once."""
    import time

    for cell in ("Jan " * 25_000, "a" * 100_000 + "straat", "0" * 100_000, "A." * 50_000,
                 ("Kerkstraat" * 10_000) + " 1"):
        start = time.perf_counter()
        assert not screen(cell, kind).allowed
        assert time.perf_counter() - start < 0.5, (kind, cell[:20])


def test_a_short_raw_id_elsewhere_in_the_row_is_withheld(tmp_path):
    """Ids too short for any pattern ("B2") typed into a school or answer cell: the school
    rejects its row and shows WITHHELD, the cleared answer is logged as withheld."""
    from partnerschap_eval.ingest import ExportSpec, ingest_exports, write_ingest_outputs

    path = tmp_path / "ouders.csv"
    path.write_text("Deelnemernummer,School,rec1,rec2\nA1,B2,4,5\nB2,S01,A1,3\nC3,S01,7,2\n",
                    encoding="utf-8")
    result = ingest_exports([ExportSpec(path, wave="pre", role="parent")], "partnerschap",
                            KEY.encode())
    out = write_ingest_outputs(result, tmp_path / "out")
    log = json.loads(out["log"].read_text(encoding="utf-8"))
    assert [c["value"] for c in log["files"][0]["cleared"]] == [
        "<withheld: a respondent id>", "7"]
    assert log["files"][0]["withheld_values"] == {"school": 1}
    for name in ("responses", "rejected", "log"):
        text = out[name].read_text(encoding="utf-8")
        for raw_id in ("A1", "B2", "C3"):
            assert f",{raw_id}," not in text and f'"{raw_id}"' not in text, (name, raw_id)


@pytest.mark.slow
def test_a_declared_school_named_after_a_person_is_shown_only_when_declared(instrument,
                                                                           tmp_path):
    """"Prins Claus" looks like a person's name: evaluate refuses it and a school page would
    show it withheld, unless the project declares it (``schools:``)."""
    from partnerschap_eval.errors import InputError
    from partnerschap_eval.results import evaluate
    from partnerschap_eval.results.schools import school_results
    from partnerschap_eval.scoring import score_scales

    frame = pd.read_csv(_contract2(tmp_path / "r.csv", "Prins Claus"), dtype={"school_id": str})
    with pytest.raises(InputError, match="school_id"):
        evaluate(frame, instrument, mixed=False)
    evaluate(frame, instrument, mixed=False, schools=["Prins Claus"])  # declared: accepted
    scores = score_scales(frame, instrument)
    names = [s["name"] for s in school_results(scores, instrument, "pre", "post", 10).values()]
    assert names == [WITHHELD, "S01"]
    names = [s["name"] for s in school_results(scores, instrument, "pre", "post", 10,
                                               schools=["prins claus"]).values()]
    assert names == ["Prins Claus", "S01"]
