"""Real Qualtrics exports (written by Qualtrics itself, see tests/fixtures/real/README.md).

They hold no item of our instrument — one multiple-choice question ``Q1`` with the answer ``2``
and one free-text answer — and their ``ExternalReference`` is empty. So they test what matters
for a tool's own file: the layout is recognised, the clear error says which columns were not
recognised, and with a mapping file every row is accounted for and nothing personal (IP address,
location, free text) reaches an output.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import SHARED_FIXTURES

from partnerschap_eval.errors import InputError
from partnerschap_eval.ingest import ExportSpec, ingest_exports, read_export, write_ingest_outputs

HERE = Path(__file__).resolve().parent / "fixtures" / "real"
KEY = b"real-fixture-test-key-0123"
CURRENT, LEGACY = "qualtrics_sample.csv", "qualtrics_sample_legacy.csv"
# what is in the files and must never reach responses.csv or rejected.csv
PERSONAL = ["130.92.34.66", "Hello World", "47.115097", "7.2315979", "Anonym",
            "R_2YPOQ602ER1jkf1"]
SPEC = {"wave": "pre", "role": "parent", "school": "Testschool"}


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    for name in (CURRENT, LEGACY):
        shutil.copyfile(HERE / name, folder / name)
    return folder


@pytest.mark.parametrize("name", [CURRENT, LEGACY])
def test_copies_match_the_shared_fixtures(name: str):
    shared = SHARED_FIXTURES / name
    if not shared.exists():
        pytest.skip("the shared fixtures folder is not next to this repository")
    assert (HERE / name).read_bytes() == shared.read_bytes()


@pytest.mark.parametrize(("name", "layout", "header_rows", "line"),
                         [(CURRENT, "qualtrics", 3, 4), (LEGACY, "qualtrics-legacy", 2, 3)])
def test_layout_detected_and_read(exports: Path, name: str, layout: str, header_rows: int,
                                  line: int):
    raw = read_export(exports / name)
    assert (raw.format, raw.layout.name) == ("csv", layout)
    assert raw.details["header_rows"] == header_rows
    assert raw.lines.tolist() == [line]  # the one response, on the line after the headers
    row = raw.frame.iloc[0]
    assert row["Q1"] == "2" and row["IPAddress"] == "130.92.34.66"
    assert raw.layout.header_text["Q1"] == "This is a multiple choice question."
    # the tool's response number differs per wave: metadata, never the respondent id
    response_id = "ResponseId" if layout == "qualtrics" else "ResponseID"
    assert response_id in raw.layout.tool_columns
    assert {"IPAddress", "LocationLatitude", "LocationLongitude"} <= set(raw.layout.personal)


def test_legacy_trailing_empty_column_is_kept_apart(exports: Path):
    raw = read_export(exports / LEGACY)
    assert raw.columns[-1] == "(column 16)" and raw.is_empty("(column 16)")


@pytest.mark.parametrize("name", [CURRENT, LEGACY])
def test_without_mapping_a_clear_error(exports: Path, name: str):
    with pytest.raises(InputError) as info:
        ingest_exports([ExportSpec(exports / name, **SPEC)], "partnerschap", KEY)
    message = str(info.value)
    assert "no column could be matched to an item of 'partnerschap'" in message
    assert "unmapped columns: ['Q1']" in message  # the column the mapping file has to name
    assert "--mapping" in message and "\n" not in message
    assert "130.92.34.66" not in message and "Hello World" not in message


def _run(folder: Path, name: str, columns: dict) -> tuple[dict, Path]:
    mapping = folder.parent / "mapping.yaml"
    mapping.write_text(yaml.safe_dump({"columns": columns}), encoding="utf-8")
    before = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    res = ingest_exports([ExportSpec(folder / name, **SPEC)], "partnerschap", KEY, mapping)
    out = write_ingest_outputs(res, folder.parent / "out")
    assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == before
    for key in ("responses", "rejected"):
        body = out[key].read_text(encoding="utf-8")
        for token in PERSONAL:
            assert token not in body, (token, key)
    return json.loads(out["log"].read_text(encoding="utf-8"))["files"][0], out["responses"].parent


@pytest.mark.parametrize(("name", "question"), [(CURRENT, "Q1"),
                                                (CURRENT, "This is a multiple choice question."),
                                                (LEGACY, "Q1")])
def test_mapped_but_without_participant_number_rejected(exports: Path, name: str, question: str):
    """Q1 mapped to an item (by header or by question text): the row has no ExternalReference,
    so it is rejected for that reason — accounted for, not lost."""
    log, _ = _run(exports, name, {question: "rec1"})
    assert log["rows_in"] == 1 and log["accepted"] == 0
    assert log["rejected"] == {"missing respondent id": 1}
    assert log["mapped_columns"]["Q1"] == "rec1"
    pii = {p["column"] for p in log["pii_columns"]}
    assert {"IPAddress", "LocationLatitude", "LocationLongitude", "Q2"} <= pii
    assert log["unmapped_columns"] == []


@pytest.mark.parametrize(("name", "response_id", "reference"),
                         [(CURRENT, "ResponseId", "ExternalReference"),
                          (LEGACY, "ResponseID", "ExternalDataReference")])
def test_mapped_with_response_id_accepted(exports: Path, name: str, response_id: str,
                                          reference: str):
    """A mapping file may name the response number as the id (one-wave use): accepted, with the
    answer 2 on rec1 and the id pseudonymised."""
    log, out = _run(exports, name, {"Q1": "rec1", response_id: "respondent_id", reference: "drop"})
    assert (log["rows_in"], log["accepted"], log["rejected"]) == (1, 1, {})
    responses = pd.read_csv(out / "responses.csv")
    assert responses["rec1"].tolist() == [2]
    assert responses[["wave", "role", "school_id"]].iloc[0].tolist() == ["pre", "parent",
                                                                         "Testschool"]
    assert responses["respondent_id"].iloc[0].startswith("p-")
