"""A design that gives a condition to some of the schools of the data (a project file naming 4
of 43): the schools without one are left out of every design block -- the difference in
differences is fitted on the others instead of failing with a reason that listed school ids --
``design`` says how many were left out (never which), and the report says it in one sentence.
The report also shows the change within each arm (``conditions.<c>.paired``)."""

from __future__ import annotations

import json

import pytest
from test_disclosure import make_study

from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.privacy.disclosure import audit
from partnerschap_eval.report import presentation as pres
from partnerschap_eval.results import evaluate
from partnerschap_eval.results.scales import NO_CONDITION_REASON

CONDITIONS = {"A": "intervention", "B": "intervention", "C": "control", "D": "control"}
#: E and F have no condition
PARENTS = {"A": (24, 8), "B": (24, 7), "C": (24, 2), "D": (24, 2), "E": (20, 3), "F": (12, 1)}


@pytest.fixture(scope="module")
def results() -> dict:
    res = evaluate(make_study(PARENTS), "partnerschap", min_cell=10, conditions=CONDITIONS)
    return json.loads(json.dumps(res))


def _reasons(obj, out=None) -> list[str]:
    out = [] if out is None else out
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k.endswith("_reason") and isinstance(v, str):
                out.append(v)
            _reasons(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _reasons(v, out)
    return out


@pytest.mark.slow  # three mixed models (~8 s)
def test_schools_without_a_condition_are_left_out_of_the_design(results):
    assert results["design"]["schools_without_condition"] == 2
    assert results["design"]["schools_without_condition_reason"] == NO_CONDITION_REASON
    for scale in results["scales"].values():
        # the old run: null, "model could not be fitted: No condition is declared for ... ['E', 'F']"
        assert scale["did"]["post-pre"]["estimate"] is not None, scale["did"]
    assert not [r for r in _reasons(results["scales"]) if "'E'" in r or "condition" in r]
    # the arms count the people of their own schools only: 24 + 24 parents of A and B with
    # both waves, and the professionals at A and B (make_study deals them over the schools)
    arm = results["scales"]["reciprocity"]["conditions"]["intervention"]["paired"]
    assert arm["n"] == 48 + len([k for k in range(25) if k % 6 in (0, 1)]) \
        + len([k for k in range(12) if k % 6 in (0, 1)])
    assert audit(results).ok


def _design_results(without: int | None) -> dict:
    paired = {"n": 40, "mean_pre": 3.0, "mean_post": 3.4, "mean_diff": 0.4, "ci95": [0.2, 0.6],
              "d_z": 0.5, "p_adj": 0.001}
    hidden = {k: None for k in paired} | {f"{k}_reason": "suppressed: n < 10" for k in paired}
    design = {"conditions": {"A": "intervention", "C": "control"}, "treatment": "intervention",
              "reference": "control"}
    if without is not None:
        design |= {"schools_without_condition": without,
                   "schools_without_condition_reason": NO_CONDITION_REASON}
    scale = {"paired": paired, "conditions": {"intervention": {"paired": paired},
                                              "control": {"paired": hidden}}}
    return {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
            "min_cell": 10, "design": design, "scales": {"reciprocity": scale}}


def test_the_report_says_how_many_schools_were_left_out():
    inst = load_instrument("partnerschap")
    html = pres.did_html(_design_results(39), inst, "en")
    assert "39 school(s) without a declared condition are left out" in html
    assert "39 school(en) zonder opgegeven conditie" in pres.did_html(_design_results(39), inst)
    assert "without a declared condition" not in pres.did_html(_design_results(None), inst, "en")


def test_the_report_shows_the_change_within_each_arm():
    inst = load_instrument("partnerschap")
    table = pres.arm_paired_table(_design_results(None), inst, "en")
    assert list(table["Condition"]) == ["Intervention schools", "Control schools"], table
    first, second = table.iloc[0], table.iloc[1]
    assert first["n (pairs)"] == "40" and second["n (pairs)"] == "–"
    assert first["Scale"] and not second["Scale"]  # the scale's name once
    plain = _design_results(None)
    del plain["scales"]["reciprocity"]["conditions"]
    assert pres.arm_paired_table(plain, inst, "en").empty


def test_the_audit_puts_people_of_schools_without_a_condition_in_no_arm():
    """40 pairs in all, 20 of them at the intervention schools, the control arm's 5 withheld:
    with 15 pairs at schools without a condition the 5 do not follow from 40 - 20 (the old
    model put every professional in an arm and withheld more than needed)."""
    hidden = {"n": None, "n_reason": "suppressed: n < 10"}
    res = {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
           "min_cell": 10,
           "design": {"conditions": {"A": "intervention", "C": "control"},
                      "treatment": "intervention", "reference": "control",
                      "schools_without_condition": 1,
                      "schools_without_condition_reason": NO_CONDITION_REASON},
           "counts": {"pre": {"n": 40, "by_role": {"teacher": 40}}},
           "scales": {"x": {"paired": {"n": 40},
                            "conditions": {"intervention": {"paired": {"n": 20}},
                                           "control": {"paired": dict(hidden)}}}}}
    assert audit(res).ok
    del res["design"]["schools_without_condition"]
    assert [leak.paths for leak in audit(res).leaks] == [("scales.x.conditions.control.paired.n",)]
