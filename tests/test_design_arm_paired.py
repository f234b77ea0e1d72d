"""Contract 4 v2 ``conditions.<c>.paired`` (issue 17, "paired results per condition"): first vs
last wave within each arm, the full v1 paired block, and its counts in the disclosure audit.

References are independent of the package: scale scores are item means computed here, the
arms' pairs are joined here, the test is ``scipy.stats.ttest_rel`` and the adjustment
``statsmodels``' Benjamini-Hochberg. The attack on a small arm is written out by hand; it
succeeds on a run built without the disclosure step (so it can fail) and fails after it."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from test_waves_results import SCALES, _scores, three_wave_study

from partnerschap_eval.privacy import disclosure
from partnerschap_eval.privacy.disclosure import audit
from partnerschap_eval.results import evaluate

WAVES = ["pre", "post"]
CONDITIONS = {"A": "intervention", "B": "intervention", "C": "control", "D": "control"}
#: every arm large enough to be shown
BIG = {("parent", "A"): {"pre+post": 30, "pre": 12}, ("parent", "B"): {"pre+post": 26},
       ("parent", "C"): {"pre+post": 22, "pre": 10}, ("parent", "D"): {"pre+post": 18},
       ("teacher", "A"): {"pre+post": 12}, ("teacher", "C"): {"pre+post": 11}}
#: the control arm has 4 + 3 = 7 pairs (and 2 dropouts): below min_cell = 10
SMALL = {("parent", "A"): {"pre+post": 30, "pre": 4}, ("parent", "B"): {"pre+post": 28},
         ("parent", "C"): {"pre+post": 4, "pre": 2}, ("parent", "D"): {"pre+post": 3},
         ("teacher", "A"): {"pre+post": 15}, ("youthworker", "B"): {"pre+post": 12}}
SECRET = 7


def _json(results: dict) -> dict:
    return json.loads(json.dumps(results))


def _evaluate(groups: dict, unprotected: bool = False) -> tuple[pd.DataFrame, dict]:
    data = three_wave_study(groups, seed=5)
    with pytest.MonkeyPatch.context() as mp:
        if unprotected:
            mp.setattr(disclosure, "protect", lambda r, *a, **k: copy.deepcopy(r))
            mp.setattr("partnerschap_eval.results.scales.protect", lambda r, *a, **k: r)
        res = evaluate(data, "partnerschap", waves=WAVES, min_cell=10, mixed=False,
                       conditions=CONDITIONS)
    return data, _json(res)


@pytest.fixture(scope="module")
def big() -> tuple[pd.DataFrame, dict]:
    return _evaluate(BIG)


def _arm_pairs(data: pd.DataFrame, scale: str, arm: str) -> pd.DataFrame:
    s = _scores(data)
    s["school_id"] = data["school_id"].to_numpy()
    s = s[s["school_id"].map(CONDITIONS) == arm]
    pre = s[s["wave"] == "pre"].set_index("respondent_id")[scale]
    post = s[s["wave"] == "post"].set_index("respondent_id")[scale]
    return pd.concat({"pre": pre, "post": post}, axis=1, join="inner").dropna()


@pytest.mark.parametrize("arm", ["intervention", "control"])
@pytest.mark.parametrize("scale", SCALES)
def test_arm_paired_block_is_ttest_rel_on_the_arms_pairs(big, scale, arm):
    data, res = big
    block = res["scales"][scale]["conditions"][arm]["paired"]
    pairs = _arm_pairs(data, scale, arm)
    ref = stats.ttest_rel(pairs["post"], pairs["pre"])
    diff = pairs["post"] - pairs["pre"]
    assert block["n"] == len(pairs)
    assert block["mean_pre"] == pytest.approx(pairs["pre"].mean(), rel=1e-9)
    assert block["mean_post"] == pytest.approx(pairs["post"].mean(), rel=1e-9)
    assert block["mean_diff"] == pytest.approx(diff.mean(), rel=1e-9, abs=1e-12)
    assert block["sd_diff"] == pytest.approx(diff.std(ddof=1), rel=1e-9)
    assert block["t"] == pytest.approx(ref.statistic, rel=1e-9)
    assert block["df"] == ref.df
    assert block["p"] == pytest.approx(ref.pvalue, rel=1e-8)
    ci = ref.confidence_interval(0.95)
    assert block["ci95"] == pytest.approx([ci.low, ci.high], rel=1e-9)
    assert block["d_z"] == pytest.approx(diff.mean() / diff.std(ddof=1), rel=1e-9)
    # R's wilcox.test(paired = TRUE, exact = FALSE): zeros dropped, ties and continuity corrected;
    # differences rounded first, so that item means equal in decimals tie
    wil = stats.wilcoxon(diff.round(9), correction=True, method="approx",
                         zero_method="wilcox")
    assert block["wilcoxon"]["p"] == pytest.approx(wil.pvalue, rel=1e-6)
    # every v1 paired key is there
    assert set(res["scales"][scale]["paired"]) <= set(block) | {"p_adj_reason"}


@pytest.mark.parametrize("arm", ["intervention", "control"])
def test_arm_p_adj_is_bh_across_the_scales_within_the_arm(big, arm):
    _, res = big
    blocks = [res["scales"][s]["conditions"][arm]["paired"] for s in SCALES]
    expected = multipletests([b["p"] for b in blocks], method="fdr_bh")[1]
    assert [b["p_adj"] for b in blocks] == pytest.approx(list(expected), rel=1e-9)


def test_arms_together_are_the_v1_block(big):
    """The arms partition the pairs: their n add up to the all-arms n, their sums to its."""
    _, res = big
    for scale in SCALES:
        s = res["scales"][scale]
        arms = [s["conditions"][a]["paired"] for a in ("intervention", "control")]
        assert sum(a["n"] for a in arms) == s["paired"]["n"]
        total = sum(a["n"] * a["mean_diff"] for a in arms)
        assert total / s["paired"]["n"] == pytest.approx(s["paired"]["mean_diff"], abs=1e-9)


def test_without_conditions_no_arm_blocks():
    data = three_wave_study(BIG, seed=5)
    res = evaluate(data, "partnerschap", waves=WAVES, min_cell=10, mixed=False)
    assert all("conditions" not in s for s in res["scales"].values())


def _minus(total, *parts):
    if any(v is None for v in (total, *parts)):
        return None
    return round(total - sum(parts))


def attacks(res: dict, scale: str) -> dict[str, int | None]:
    """Ways the published numbers give the control arm's pairs away."""
    s = res["scales"][scale]
    arms = s["conditions"]
    t = arms["intervention"]["paired"]
    rows = s["attrition_by_condition"]["by_condition"]
    return {
        "all pairs - intervention pairs": _minus(s["paired"].get("n"), t.get("n")),
        "sensitivity n - intervention pairs": _minus(s["sensitivity"].get("n"), t.get("n")),
        "all pairs - intervention analytic": _minus(s["paired"].get("n"),
                                                    rows["intervention"].get("analytic")),
        "control baseline - control dropouts": _minus(rows["control"].get("baseline"),
                                                      rows["control"].get("dropouts")),
    }


def test_small_arm_comes_back_without_the_disclosure_step():
    _, res = _evaluate(SMALL, unprotected=True)
    scale = SCALES[0]
    control = res["scales"][scale]["conditions"]["control"]["paired"]
    assert control["n"] is None and control["n_reason"] == "suppressed: n < 10"
    found = attacks(res, scale)
    assert found["all pairs - intervention pairs"] == SECRET, found
    report = audit(res, 10)
    assert not report.ok
    assert any("conditions.control.paired" in path for leak in report.leaks
               for path in leak.paths)


@pytest.fixture(scope="module")
def small() -> dict:
    return _evaluate(SMALL)[1]


@pytest.mark.parametrize("scale", SCALES)
def test_small_arm_does_not_come_back_after_the_disclosure_step(small, scale):
    res = small
    assert audit(res, 10).ok
    found = attacks(res, scale)
    assert SECRET not in found.values(), found
    assert res["scales"][scale]["conditions"]["control"]["paired"]["n"] is None


def test_arm_pairs_are_cells_of_the_audit():
    """An arm's paired n is a cell of the auditor's model: with the all-arms n and the other
    arm's n published, the withheld one is determined."""
    res = {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
           "design": {"conditions": CONDITIONS},
           "counts": {"pre": {"n": 100, "by_role": {"parent": 100}}},
           "scales": {"x": {
               "paired": {"n": 90},
               "conditions": {"intervention": {"paired": {"n": 84}},
                              "control": {"paired": {"n": None,
                                                     "n_reason": "suppressed: n < 10"}}}}}}
    m = disclosure._build(res)
    paths = {c.path for c in m.cells}
    assert {"scales.x.conditions.intervention.paired.n",
            "scales.x.conditions.control.paired.n"} <= paths
    assert not audit(res, 10).ok
    ok = copy.deepcopy(res)
    ok["scales"]["x"]["paired"] = {"n": None, "n_reason": "suppressed: n < 10 (complementary)"}
    ok["scales"]["x"]["conditions"]["intervention"]["paired"] = {
        "n": None, "n_reason": "suppressed: n < 10 (complementary)"}
    assert audit(ok, 10).ok
