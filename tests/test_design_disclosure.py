"""Contract 5 for a design with conditions: the counts per arm (baseline equivalence's n,
attrition per condition) are in the audited tables, and a small arm count does not come back
by subtraction. The attacks are written out by hand; they succeed on a run built without the
disclosure step (so they can fail) and fail on the protected run."""

from __future__ import annotations

import copy
import json

import pytest
from test_disclosure import make_study

from partnerschap_eval.privacy import disclosure
from partnerschap_eval.privacy.disclosure import audit
from partnerschap_eval.report.build import ReportSettings, compute_results
from partnerschap_eval.results import evaluate

CONDITIONS = {"A": "intervention", "B": "intervention", "C": "control", "D": "control"}
#: 2 + 2 parents of the control schools answer only the first wave: 4 control dropouts, a
#: group below min_cell = 10 (no professional drops out).
PARENTS = {"A": (24, 8), "B": (24, 7), "C": (24, 2), "D": (24, 2)}
SECRET = 4


def _unprotect(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(disclosure, "protect", lambda r, *a, **k: copy.deepcopy(r))
    mp.setattr("partnerschap_eval.results.scales.protect", lambda r, *a, **k: r)
    mp.setattr(disclosure, "require_clean_audit", lambda r, *a, **k: None)


def _report(tmp_path, unprotected=False) -> dict:
    """The numbers a report publishes (school pages included), without rendering pages."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "responses.csv"
    make_study(PARENTS).to_csv(path, index=False)
    s = ReportSettings(project="t", instrument="partnerschap", responses=path,
                       out_dir=tmp_path / "report", min_cell=10, conditions=CONDITIONS)
    with pytest.MonkeyPatch.context() as mp:
        if unprotected:
            _unprotect(mp)
        results, _ = compute_results(s)
    return json.loads(json.dumps(results))


def _evaluate(unprotected=False) -> dict:
    with pytest.MonkeyPatch.context() as mp:
        if unprotected:
            _unprotect(mp)
        results = evaluate(make_study(PARENTS), "partnerschap", min_cell=10,
                           conditions=CONDITIONS)
    return json.loads(json.dumps(results))


@pytest.fixture(scope="module")
def protected() -> dict:
    return _evaluate()


@pytest.fixture(scope="module")
def unprotected() -> dict:
    return _evaluate(unprotected=True)


def _minus(total, *parts):
    values = [total, *parts]
    if any(v is None for v in values):
        return None
    return round(total - sum(parts))


def attacks(res: dict, scale: str) -> dict[str, int | None]:
    """Every way the published numbers of one scale give the control arm's dropouts."""
    s = res["scales"][scale]
    rows = s["attrition_by_condition"]["by_condition"]
    t, c = rows["intervention"], rows["control"]
    first = res["compared"]["first"]
    rate = (round(c["attrition"] * c["baseline"])
            if c.get("attrition") is not None and c.get("baseline") is not None else None)
    be = s["baseline_equivalence"]
    return {
        "control row: baseline - analytic": _minus(c.get("baseline"), c.get("analytic")),
        "control row: rate x baseline": rate,
        "all dropouts - intervention dropouts": _minus(s["attrition"].get("n_dropouts"),
                                                       t.get("dropouts")),
        "first wave - intervention baseline - control analytic": _minus(
            res["counts"][first]["n"], t.get("baseline"), c.get("analytic")),
        "first wave - paired - intervention dropouts": _minus(
            res["counts"][first]["n"], s["paired"].get("n"), t.get("dropouts")),
        "control baseline - baseline equivalence's control n": _minus(
            c.get("baseline"), be.get("n_reference")),
    }


def test_the_attacks_recover_the_small_arm_without_the_disclosure_step(unprotected):
    res = unprotected
    scale = next(iter(res["scales"]))
    rows = res["scales"][scale]["attrition_by_condition"]["by_condition"]
    # primary suppression alone: the control arm's dropouts are withheld ...
    assert rows["control"]["dropouts"] is None
    assert rows["control"]["dropouts_reason"] == "suppressed: n < 10"
    # ... and come back by subtraction
    found = attacks(res, scale)
    assert SECRET in found.values(), found
    assert not audit(res, 10).ok


@pytest.mark.parametrize("scale", ["reciprocity", "two_way_communication",
                                   "shared_decision_making"])
def test_no_attack_recovers_the_small_arm_of_the_protected_results(protected, scale):
    _no_attack_succeeds(protected, scale)


@pytest.mark.slow
def test_no_attack_recovers_the_small_arm_of_a_report(tmp_path):
    """The report adds school pages (parents per school): still no way back to the arm."""
    unprotected = _report(tmp_path / "u", unprotected=True)
    assert SECRET in attacks(unprotected, "reciprocity").values()
    res = _report(tmp_path / "p")
    for scale in res["scales"]:
        _no_attack_succeeds(res, scale)


def _no_attack_succeeds(res: dict, scale: str) -> None:
    assert audit(res, 10).ok
    found = attacks(res, scale)
    assert SECRET not in found.values(), found
    rows = res["scales"][scale]["attrition_by_condition"]["by_condition"]
    assert rows["control"]["dropouts"] is None
    # the did block itself is shown: it publishes no count of people
    assert res["scales"][scale]["did"]["post-pre"]["estimate"] is not None


def test_arm_counts_are_cells_of_the_audit():
    """Each count per arm is a cell of the auditor's model (a null one is a secret)."""
    res = {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
           "design": {"conditions": CONDITIONS},
           "counts": {"pre": {"n": 100, "by_role": {"parent": 100}}},
           "scales": {"x": {
               "baseline_equivalence": {"treatment": "intervention", "reference": "control",
                                        "n_treatment": 50, "n_reference": 40},
               "attrition_by_condition": {"by_condition": {
                   "intervention": {"baseline": 55, "analytic": 50, "dropouts": 5},
                   "control": {"baseline": 45, "analytic": 40, "dropouts": None,
                               "dropouts_reason": "suppressed: n < 10"}}}}}}
    m = disclosure._build(res)
    paths = {c.path for c in m.cells}
    assert {"scales.x.baseline_equivalence.n_reference",
            "scales.x.attrition_by_condition.by_condition.control.baseline",
            "scales.x.attrition_by_condition.by_condition.control.dropouts"} <= paths
    report = audit(res, 10)
    assert not report.ok  # 45 - 40 gives the control arm's 5 dropouts away
