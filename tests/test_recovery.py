"""The demo's paired analysis recovers the known true effects within its 95 % CIs."""

from __future__ import annotations

import pytest

from partnerschap_eval.evaluation import paired_scores, paired_test
from partnerschap_eval.scoring import score_scales
from partnerschap_eval.synth import SCALES, true_effects


@pytest.fixture(scope="module")
def pairs_by_scale(demo_study, instrument):
    scores = score_scales(demo_study.responses, instrument)
    return {s: paired_scores(scores, s, "pre", "post") for s in SCALES}


@pytest.mark.parametrize("scale", SCALES)
def test_overall_effect_within_ci(pairs_by_scale, scale):
    pairs = pairs_by_scale[scale]
    truth = true_effects().set_index(["role", "scale"])["true_effect"]
    # The estimand for the pooled sample: the role-weighted true change of these respondents.
    expected = sum(truth[(role, scale)] * n for role, n in pairs["role"].value_counts().items())
    expected /= len(pairs)
    res = paired_test(pairs["pre"], pairs["post"])
    assert res.ci_low <= expected <= res.ci_high, (scale, expected, res.ci_low, res.ci_high)
    # and the effect is detected (all true effects are positive)
    assert res.p < 0.05


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("role", ["parent", "teacher"])
def test_role_effect_within_ci(pairs_by_scale, scale, role):
    pairs = pairs_by_scale[scale]
    sub = pairs[pairs["role"] == role]
    truth = true_effects().set_index(["role", "scale"]).loc[(role, scale), "true_effect"]
    res = paired_test(sub["pre"], sub["post"])
    assert res.ci_low <= truth <= res.ci_high, (role, scale, truth, res.ci_low, res.ci_high)


def test_true_effect_formula_matches_a_large_simulation():
    """The analytic expected change equals a brute-force simulation of the same model."""
    import numpy as np

    from partnerschap_eval.synth import StudyDesign, simulate_study

    big = simulate_study(seed=7, design=StudyDesign(n_schools=400, attrition=0.0, item_missing=0.0))
    from partnerschap_eval.instruments import load_instrument

    inst = load_instrument("partnerschap")
    scores = score_scales(big.responses, inst)
    parents = scores[scores["role"] == "parent"]
    means = parents.groupby("wave")["reciprocity"].mean()
    observed = means["post"] - means["pre"]
    truth = true_effects().set_index(["role", "scale"]).loc[("parent", "reciprocity"), "true_effect"]
    # ~6000 parents: SE of the mean change ~0.009; school effects add a little more.
    assert abs(observed - truth) < 0.03, (observed, truth)
    assert np.isfinite(truth)
