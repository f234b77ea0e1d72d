"""Run every case of the generated export corpus (``tests/ingest_corpus.py``) through the ingest.

Each case is written into a fresh folder, ingested through the public API and written out with
:func:`write_ingest_outputs`; then the case's expected outcome is checked against what was
*written* (``ingest_log.json``, ``responses.csv``), not only against the objects in memory, since
the files are what a researcher receives. Errors must be a one-paragraph :class:`InputError`,
also when the same file goes through the command line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml
from ingest_corpus import CASES, ITEMS, PII_TOKENS, Case
from typer.testing import CliRunner

from partnerschap_eval._io import write_table_csv
from partnerschap_eval.errors import InputError
from partnerschap_eval.ingest import ExportSpec, ingest_exports, write_ingest_outputs

KEY = b"corpus-test-key-0123456789"
SUFFIX = {"csv": ".csv", "qualtrics": ".csv", "limesurvey": ".csv", "googleforms": ".csv",
          "xlsx": ".xlsx", "msforms": ".xlsx", "sav": ".sav"}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pseudonym(raw_id: str) -> str:
    # computed here from the contract (HMAC-SHA-256, first 80 bits, "p-" prefix), not through
    # the package, so a change in the package's hashing shows up as a failure
    return "p-" + hmac.new(KEY, raw_id.strip().encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _write_case(c: Case, folder: Path) -> tuple[list[Path], Path | None]:
    raw = folder / "raw"
    raw.mkdir()
    paths = c.write(raw / f"{c.name}{SUFFIX[c.kind]}")
    mapping = None
    if c.mapping is not None:
        mapping = folder / "mapping.yaml"
        mapping.write_text(yaml.safe_dump(c.mapping, allow_unicode=True), encoding="utf-8")
    return paths, mapping


def _ingest(c: Case, paths: list[Path], mapping: Path | None):
    specs = [ExportSpec(path=p, **c.spec) for p in paths]
    return ingest_exports(specs, "partnerschap", KEY, mapping)


def test_corpus_size_and_formats():
    """The issue asks for at least 60 files over all formats, valid and malformed."""
    kinds = Counter(c.kind for c in CASES)
    assert len(CASES) >= 60
    assert set(kinds) == {"csv", "xlsx", "sav", "qualtrics", "limesurvey", "msforms",
                          "googleforms"}
    assert sum(c.error is not None for c in CASES) >= 15  # malformed inputs are well represented
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case: Case, tmp_path: Path):
    paths, mapping = _write_case(case, tmp_path)
    before = {p: _sha(p) for p in paths}

    if case.error is not None:
        with pytest.raises(InputError, match=case.error) as info:
            _ingest(case, paths, mapping)
        message = str(info.value)
        # one paragraph a school can act on: no line breaks, no Python internals, not a dump
        assert "\n" not in message and "Traceback" not in message
        assert 40 < len(message) < 1200
        assert str(paths[0]) in message or "Several columns" in message
        assert {p: _sha(p) for p in paths} == before
        return

    result = _ingest(case, paths, mapping)
    out = write_ingest_outputs(result, tmp_path / "out")
    log = json.loads(out["log"].read_text(encoding="utf-8"))
    (flog,) = log["files"]

    # every row accounted for, in the log as written
    assert flog["rows_in"] == flog["accepted"] + sum(flog["rejected"].values())
    assert flog["rejected_total"] == sum(flog["rejected"].values())
    assert log["totals"]["rows_in"] == log["totals"]["accepted"] + log["totals"]["rejected"]

    # the case's expected outcome
    assert flog["rows_in"] == case.rows_in
    assert flog["accepted"] == case.accepted
    assert flog["rejected"] == case.rejected
    assert flog["cells_cleared"] == case.cleared
    if case.pii is not None:
        assert {p["column"] for p in flog["pii_columns"]} == case.pii
    if case.layout is not None:
        assert flog["layout"] == case.layout

    # responses.csv is written from the ingest's codes; the frame the API returns, written by
    # the general table writer, gives the same bytes
    write_table_csv(result.responses, tmp_path / "from_frame.csv")
    assert (tmp_path / "from_frame.csv").read_bytes() == out["responses"].read_bytes()

    responses = pd.read_csv(out["responses"], dtype={"respondent_id": str})
    rejected = pd.read_csv(out["rejected"], dtype=str, keep_default_na=False)
    assert len(responses) == case.accepted
    assert len(rejected) == sum(case.rejected.values())
    assert Counter(rejected["reason"]) == Counter(case.rejected)

    if case.codes is not None:
        expected = case.codes.set_index(case.codes["respondent"].map(_pseudonym))[ITEMS]
        got = responses.set_index("respondent_id")[ITEMS]
        assert sorted(got.index) == sorted(expected.index)
        pd.testing.assert_frame_equal(got.loc[expected.index].astype(float),
                                      expected.astype(float), check_names=False)

    # nothing personal in the data outputs, and no raw id (every id is a pseudonym)
    for name in ("responses", "rejected"):
        body = out[name].read_text(encoding="utf-8")
        for token in PII_TOKENS:
            assert token not in body, f"{token!r} leaked into {name}.csv"
    ids = pd.concat([responses["respondent_id"], rejected["respondent_id"]]).dropna()
    ids = ids[ids != ""]
    assert ids.str.fullmatch(r"p-[0-9a-f]{20}").all()

    # no cell a spreadsheet would run as a formula (numbers, including negative ones, may stay)
    for name in ("responses", "rejected"):
        cells = pd.read_csv(out[name], dtype=str, keep_default_na=False).to_numpy().ravel()
        hostile = [v for v in cells if v[:1] in ("=", "+", "@", "\t", "\r", "\x00")
                   or (v.startswith("-") and not _is_number(v))]
        assert not hostile, f"{name}.csv holds formula-like cells {hostile[:3]}"

    # the raw export is never modified
    assert {p: _sha(p) for p in paths} == before
    assert flog["sha256"] == before[paths[0]]


@pytest.mark.slow
def test_cli_error_is_one_paragraph(tmp_path: Path, monkeypatch):
    """A malformed export through the command: exit status 2 and a message, not a traceback."""
    from partnerschap_eval.cli import app

    monkeypatch.setenv("PARTNERSCHAP_EVAL_KEY", KEY.decode())
    bad = [c for c in CASES if c.error is not None]
    runner = CliRunner()
    for c in bad:
        folder = tmp_path / c.name
        folder.mkdir()
        paths, mapping = _write_case(c, folder)
        args = ["ingest", *map(str, paths), "--instrument", "partnerschap", "--out",
                str(folder / "out")]
        for option in ("wave", "role", "school", "format", "sheet"):
            if c.spec.get(option) is not None:
                args += [f"--{option}", str(c.spec[option])]
        if mapping is not None:
            args += ["--mapping", str(mapping)]
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (c.name, res.output)
        assert isinstance(res.exception, SystemExit), (c.name, res.exception)
        assert "Traceback" not in res.output and "error:" in res.output, c.name
        assert not (folder / "out" / "responses.csv").exists()
