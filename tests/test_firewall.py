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

from partnerschap_eval.ingest.exports import write_csv_export, write_sav_export, write_xlsx_export
from partnerschap_eval.privacy import WITHHELD, _bsn_valid

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
