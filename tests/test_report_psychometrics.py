"""The report's psychometrics section and dates: private, worded per language, flags that bite."""

from __future__ import annotations

import numpy as np
import pytest

from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.report import presentation as pres
from partnerschap_eval.report.build import ReportError, _psychometric_results, check_date
from partnerschap_eval.synth import StudyDesign, simulate_study

INST = load_instrument("partnerschap")


@pytest.fixture(scope="module")
def noisy():
    """The demo study with rec3 replaced by pure noise: it must be the only flagged item."""
    responses = simulate_study(seed=5).responses.copy()
    rng = np.random.default_rng(5)
    responses["rec3"] = rng.integers(1, 6, size=len(responses)).astype(float)
    return {"psychometrics": _psychometric_results(responses, INST, "pre", "post", 10),
            "min_cell": 10}


def test_only_the_noise_item_is_flagged(noisy):
    items = noisy["psychometrics"]["items"]
    flagged = {(r["item"], r["wave"]) for r in items if r["raises_alpha"] or r["weak_r_rest"]}
    assert flagged == {("rec3", "pre"), ("rec3", "post")}
    noise = [r for r in items if r["item"] == "rec3"]
    assert all(abs(r["r_rest"]) < 0.15 for r in noise)
    table = pres.item_table(noisy, INST, "nl")
    marked = table[table["Let op"] != ""]
    assert marked["Item"].str.startswith("rec3").all() and len(marked) == 2
    assert marked["Let op"].str.contains("alfa stijgt zonder dit item").all()
    assert marked["Let op"].str.contains("item-restcorrelatie < 0,30").all()


def test_small_roles_are_suppressed_in_cfa_with_their_size_hidden():
    study = simulate_study(seed=3, design=StudyDesign(n_schools=6, parents_invited=30))
    psy = _psychometric_results(study.responses, INST, "pre", "post", 20)
    rows = {(r["wave"], r["group"]): r for r in psy["cfa"]}
    small = rows[("pre", "youthworker")]   # six youth-care workers at most
    assert small["n"] is None and small.get("cfi") is None
    assert small["reason"] == "suppressed: n < 20"
    big = rows[("pre", "parent")]
    assert big["n"] >= 20 and 0 < big["cfi"] <= 1
    # invariance can only use roles that were shown
    groups = {r["group"] for r in psy["cfa"] if r.get("cfi") is not None}
    assert "youthworker" not in groups
    table = pres.cfa_table({"psychometrics": psy, "min_cell": 20}, "en")
    shown = table[table["Group"] == "Youth-care workers"]
    assert (shown["n"] == "–").all() and shown["Note"].str.contains("fewer than 20").all()


def test_cfa_on_few_people_per_parameter_is_flagged():
    psy = {"cfa": [{"wave": "pre", "group": "teacher", "n": 164, "npar": 33, "cfi": 0.9},
                   {"wave": "pre", "group": "parent", "n": 165, "npar": 33, "cfi": 0.99}]}
    table = pres.cfa_table({"psychometrics": psy, "min_cell": 10}, "nl")
    assert table["Opmerking"].tolist()[0].startswith("weinig personen voor 33 parameters")
    assert table["Opmerking"].tolist()[1] == ""


def test_fit_notes_are_worded_in_the_report_language_not_the_results_english():
    """results.json keeps the reason a fit has no numbers in English; the Dutch report's notes
    word it from the catalogue (before, "not converged" or an error's English text showed)."""
    psy = {"cfa": [{"wave": "pre", "group": "all", "n": 400, "npar": 33, "cfi": 0.9,
                    "reason": "not converged"},
                   {"wave": "pre", "group": "parent", "n": 80,
                    "reason": "The CFA needs at least 3 items per factor"}],
           "invariance": [{"wave": "pre", "level": None,
                           "reason": "fewer than two roles with a CFA that could be fitted"},
                          {"wave": "post", "level": None, "reason": "Some English error."}]}
    results = {"psychometrics": psy, "min_cell": 10}
    cfa = pres.cfa_table(results, "nl")["Opmerking"].tolist()
    assert cfa == ["het model convergeerde niet: de getallen zijn onzeker",
                   "het model kon niet worden geschat"]
    inv = pres.invariance_table(results, "nl")["Opmerking"].tolist()
    assert inv == ["minder dan twee rollen met een factormodel dat kon worden geschat",
                   "het model kon niet worden geschat"]
    assert pres.invariance_table(results, "en")["Note"].tolist()[0] == (
        "fewer than two roles with a factor model that could be fitted")


def _inv(metric, scalar):
    rows = [{"wave": "pre", "level": "configural", "supported": None},
            {"wave": "pre", "level": "metric", "supported": metric},
            {"wave": "pre", "level": "scalar", "supported": scalar}]
    return {"psychometrics": {"invariance": rows,
                              "invariance_rule": {"delta_cfi_min": -0.01,
                                                  "delta_rmsea_max": 0.015}}}


@pytest.mark.parametrize(("metric", "scalar", "phrase"), [
    (True, True, "mogen direct vergeleken worden"),
    (True, False, "intercepten niet"),
    (False, True, "verschillend op te vatten"),
    (False, False, "verschillend op te vatten"),
])
def test_invariance_conclusion_follows_the_steps(metric, scalar, phrase):
    text = pres.invariance_conclusion(_inv(metric, scalar), "nl")
    assert phrase in text and "0,010" in text and "0,015" in text


def test_dates_are_written_as_readers_write_them():
    assert pres.fmt_date("2026-11-24", "nl") == "24 november 2026"
    assert pres.fmt_date("2027-01-09", "en") == "9 January 2027"
    assert check_date("2026-02-28") == "2026-02-28"
    with pytest.raises(ReportError, match="YYYY-MM-DD"):
        check_date("31-12-2026")
    with pytest.raises(ReportError, match="not a date"):
        check_date("2026-02-30")
