"""The study's texts come from the message catalogue (``study.po``, ``ingest.po``): every key the
code asks for exists in Dutch and English with the same placeholders, the reasons have stable
codes whose English wording is the plain ingest's, and a submitter reads Dutch unless asked."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from partnerschap_eval import i18n
from partnerschap_eval.ingest import pipeline
from partnerschap_eval.ingest import reasons as R
from partnerschap_eval.ingest.decode import NOT_WHOLE, UNKNOWN
from partnerschap_eval.study import Study, UnknownNameError
from partnerschap_eval.study.messages import render_error, render_feedback, st

SRC = Path(__file__).resolve().parents[1] / "src" / "partnerschap_eval"
KEY = b"study test key, not secret 0123456789"


def _st_keys() -> set[str]:
    """Every literal key passed to ``st(...)`` in the study's wording and its CLI."""
    found = set()
    for path in (SRC / "study" / "messages.py", SRC / "cli_study.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "st"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.add(node.args[0].value)
    return found


def test_every_study_key_the_code_asks_for_exists_in_both_languages():
    asked = _st_keys() | {"unknown_school", "unknown_wave", "cell_new", "cell_replaced"}
    assert len(asked) >= 20  # the scan finds the calls (it would pass vacuously otherwise)
    for lang in i18n.LANGS:
        have = i18n.keys(lang)
        missing = sorted(k for k in asked if f"study.{k}" not in have)
        assert not missing, (lang, missing)


def test_study_and_ingest_catalogues_have_the_same_keys_and_placeholders():
    for prefix in ("study.", "ingest."):
        nl = {k: v for k, v in i18n.keys("nl").items() if k.startswith(prefix)}
        en = {k: v for k, v in i18n.keys("en").items() if k.startswith(prefix)}
        assert nl and set(nl) == set(en), sorted(set(nl) ^ set(en))
        for key in nl:
            assert i18n.placeholders(nl[key]) == i18n.placeholders(en[key]), key


def test_every_reason_code_is_worded_and_english_is_the_plain_ingests_text():
    en = i18n.keys("en")
    nl = i18n.keys("nl")
    for code, text in R.ENGLISH.items():
        assert en[f"ingest.reason.{code}"] == text, code  # one English wording, two places
        assert nl[f"ingest.reason.{code}"] != text, code  # really translated
    # every reason the pipeline and decoder can give has a code (none falls to "other")
    plain = [r for r in pipeline.REASONS if r] + [UNKNOWN, NOT_WHOLE, pipeline.R_FORMULA,
                                                  "out of range 1..5"]
    assert all(R.code_of(r) != "other" for r in plain), [r for r in plain
                                                        if R.code_of(r) == "other"]
    codes = [R.code_of(r) for r in pipeline.REASONS if r]
    assert len(set(codes)) == len(codes)  # one code per reason
    assert R.code_of("something new") == "other"
    assert R.reason_text("something new", "nl") == "something new"


@pytest.mark.parametrize(("text", "want"), [
    ("exact duplicate", "precies dezelfde rij staat er al (dubbel ingevuld)"),
    ("out of range 1..5", "buiten het bereik 1..5"),
    ("school longer than 200 characters", "school langer dan 200 tekens"),
    ("unknown role", "onbekende rol"),
])
def test_reasons_in_dutch(text, want):
    assert R.reason_text(text, "nl") == want
    assert R.reason_text(text, "en") == text


def test_feedback_is_dutch_by_default_and_english_on_request(tmp_path):
    study = Study.init(tmp_path / "s", "partnerschap", key=KEY)
    path = tmp_path / "ouders.csv"
    path.write_text("Deelnemernummer;rec1;rec2\n1;Eens;4\n1;Eens;4\n;2;2\n3;7;Banaan\n",
                    encoding="utf-8")
    fb = study.submit([path], school="A", wave="voormeting", role="ouders", key=KEY)[0]
    study.close()
    default, nl, en = render_feedback(fb), render_feedback(fb, "nl"), render_feedback(fb, "en")
    assert default == nl != en
    assert re.search(r"4 rijen gelezen: 2 opgenomen, 2 afgewezen", nl)
    assert "precies dezelfde rij" in nl and "deelnemernummer ontbreekt" in nl
    assert "buiten het bereik 1..5" in nl and '"Eens": 4' in nl
    assert "4 rows read: 2 accepted, 2 rejected" in en and "exact duplicate" in en
    for word in ("rows", "accepted", "rejected", "times"):
        assert word not in nl
    # indentation is the code's: the lines under a head are indented, the head is not
    assert nl.splitlines()[0].startswith("ouders.csv:")
    assert all(line.startswith("  ") for line in nl.splitlines()[1:])


def test_errors_are_worded_in_the_language_asked():
    exc = UnknownNameError("school", "De Regenbog", ["OBS De Regenboog (S02)"], 12)
    nl, en = render_error(exc), render_error(exc, "en")
    assert "staat niet in study.yaml" in nl and "Bedoelt u: OBS De Regenboog (S02)?" in nl
    assert "is not declared" in en and "Did you mean" in en
    assert st("error") == "fout" and st("error", "en") == "error"
