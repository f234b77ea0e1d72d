"""Baseline equivalence and attrition per arm (WWC) against R (tests/reference/designs/).

R: effectsize 0.8.3 ``cohens_d``/``hedges_g``; WWC g = d * (1 - 3/(4N - 9)) computed in R; the
attrition counts computed in R from the same CSV. Tolerances: closed forms rel 1e-10;
noncentral-t limits 1e-6 absolute (effectsize solves them with ``optim``); g vs
effectsize's exact-gamma hedges_g 1e-4 relative (WWC's omega is the approximation).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval.errors import InputError
from partnerschap_eval.evaluation.designs import (
    baseline_equivalence,
    wwc_attrition,
    wwc_category,
)

REF = Path(__file__).resolve().parent / "reference" / "designs"
CLOSED = dict(rel=1e-10, abs=1e-12)
SCALES = ["rec", "twc", "sdm"]


@pytest.fixture(scope="module")
def rd() -> dict:
    return json.loads((REF / "r_designs.json").read_text())


@pytest.fixture(scope="module")
def cond() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "conditions.csv")


@pytest.mark.parametrize("scale", SCALES)
def test_baseline_equivalence_against_r(rd, cond, scale):
    ref = rd["baseline_equivalence"][scale]
    r = baseline_equivalence(cond, scale, "pre", "post")  # the condition column
    assert (r.n_treatment, r.n_reference) == (ref["n_intervention"], ref["n_control"])
    # R: cohens_d(x, y, ci = 0.95)
    assert ref["cohens_d"]["call"] == "cohens_d(x, y, ci = 0.95)"
    assert r.d == pytest.approx(ref["cohens_d"]["d"], **CLOSED)
    # R: cohens_d(x, y)$Cohens_d * (1 - 3 / (4 * N - 9))
    assert r.omega == pytest.approx(ref["wwc"]["omega"], **CLOSED)
    assert r.g == pytest.approx(ref["wwc"]["g"], **CLOSED)
    assert [r.ci_low, r.ci_high] == pytest.approx(ref["wwc"]["ci"], abs=1e-6)
    # R: hedges_g(x, y, ci = 0.95) (exact J): the same to 1e-4
    assert r.g == pytest.approx(ref["hedges_g"]["g"], rel=1e-4)
    assert r.category == wwc_category(ref["wwc"]["g"])


def test_baseline_sample_differs_from_analytic(cond):
    a = baseline_equivalence(cond, "rec", "pre", "post", sample="analytic")
    b = baseline_equivalence(cond, "rec", "pre", "post", sample="baseline")
    assert b.n_treatment > a.n_treatment and b.g != a.g


def test_condition_by_school_mapping_equals_column(cond):
    mapping = dict(zip(cond["school_id"], cond["condition"], strict=True))
    a = baseline_equivalence(cond.drop(columns="condition"), "twc", "pre", "post",
                             conditions=mapping)
    b = baseline_equivalence(cond, "twc", "pre", "post")
    assert a == b


@pytest.mark.parametrize(("g", "cat"), [(0.0, "equivalent"), (0.05, "equivalent"),
                                        (-0.0501, "adjust"), (0.25, "adjust"),
                                        (-0.26, "not_equivalent")])
def test_wwc_boundaries(g, cat):
    assert wwc_category(g) == cat


def test_sign_is_treatment_minus_reference(cond):
    a = baseline_equivalence(cond, "sdm", "pre", "post")
    b = baseline_equivalence(cond, "sdm", "pre", "post", treatment="control",
                             reference="intervention")
    assert a.g == pytest.approx(-b.g, rel=1e-12) and a.g > 0


@pytest.mark.parametrize("scale", SCALES)
def test_attrition_against_r(rd, cond, scale):
    ref = rd["attrition"][scale]
    a = wwc_attrition(cond, scale, "pre", "post")
    t = a.by_condition.set_index("condition")
    for c in ("intervention", "control"):
        assert t.loc[c, "baseline"] == ref["by_condition"][c]["baseline"]
        assert t.loc[c, "analytic"] == ref["by_condition"][c]["analytic"]
        assert t.loc[c, "attrition"] == pytest.approx(ref["by_condition"][c]["attrition"],
                                                      **CLOSED)
    assert a.overall == pytest.approx(ref["overall"], **CLOSED)
    assert a.differential == pytest.approx(ref["differential"], **CLOSED)


def test_school_without_condition_is_refused_with_its_name(cond):
    mapping = {"I1": "intervention", "I2": "intervention", "C1": "control"}
    with pytest.raises(InputError, match=r"school\(s\) \['C2', 'C3', 'I3', 'I4'\]"):
        wwc_attrition(cond.drop(columns="condition"), "rec", "pre", "post",
                      conditions=mapping)


def test_too_few_per_arm_is_an_input_error():
    s = pd.DataFrame({"respondent_id": ["a", "b", "c"], "wave": "pre",
                      "condition": ["intervention", "control", "control"], "x": 1.0})
    with pytest.raises(InputError, match="at least 2 respondents per condition"):
        baseline_equivalence(s, "x", "pre", "pre")


def test_inputs_are_not_mutated(cond):
    before = cond.copy()
    baseline_equivalence(cond, "rec", "pre", "post")
    wwc_attrition(cond, "rec", "pre", "post")
    pd.testing.assert_frame_equal(cond, before)
    assert np.isfinite(before["rec"]).sum() > 0


def test_a_condition_against_itself_is_refused(cond):
    with pytest.raises(InputError, match="both 'control'"):
        baseline_equivalence(cond, "rec", "pre", "post", treatment="control")
    with pytest.raises(InputError, match="both 'control'"):
        wwc_attrition(cond, "rec", "pre", "post", treatment="control")
