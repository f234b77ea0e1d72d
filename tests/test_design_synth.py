"""simulate_study with comparison schools: conditions, a control change and schools that
differ in their change, with known true differences in differences (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest

from partnerschap_eval.results import evaluate
from partnerschap_eval.synth import LATENT_EFFECTS, StudyDesign, simulate_study, true_effects


def test_default_study_has_no_conditions_and_the_same_answers():
    default = simulate_study(seed=4, design=StudyDesign(n_schools=6))
    explicit = simulate_study(seed=4, design=StudyDesign(n_schools=6, n_control=0,
                                                         sd_school_wave=0.0))
    assert default.conditions is None and "condition" not in default.schools
    assert default.responses.equals(explicit.responses)


def test_conditions_are_assigned_without_changing_the_sample():
    plain = simulate_study(seed=4, design=StudyDesign(n_schools=10))
    arms = simulate_study(seed=4, design=StudyDesign(n_schools=10, n_control=5))
    assert sorted(arms.conditions.values()).count("control") == 5
    assert set(arms.conditions) == set(plain.responses["school_id"])
    # the same people answer: only the change in control schools differs
    key = ["respondent_id", "wave"]
    assert arms.responses[key].equals(plain.responses[key])
    pre = plain.responses["wave"] == "pre"
    items = [c for c in plain.responses if c[:3] in ("rec", "twc", "sdm")]
    assert arms.responses.loc[pre, items].equals(plain.responses.loc[pre, items])
    with pytest.raises(ValueError, match="n_control"):
        simulate_study(design=StudyDesign(n_schools=4, n_control=4))


def test_true_did_is_intervention_minus_control_change():
    half = {r: {s: v / 2 for s, v in d.items()} for r, d in LATENT_EFFECTS.items()}
    design = StudyDesign(n_control=20, control_effects=half)
    t_int = true_effects(design).set_index(["role", "scale"])
    t_ctl = true_effects(design, "control").set_index(["role", "scale"])
    assert (t_ctl["latent_effect"] * 2 == t_int["latent_effect"]).all()
    assert (t_int["true_effect"] > t_ctl["true_effect"]).all()
    none = true_effects(StudyDesign(), "control")
    assert (none["latent_effect"] == 0).all()
    # no latent change; the observed mean still moves a little, because the spread of the
    # individual changes (sd_change) widens the post-wave distribution against the 1..5 bounds
    assert (none["true_effect"].abs() < 0.01).all()


@pytest.mark.slow
def test_the_did_of_a_simulated_comparison_study_recovers_the_truth():
    design = StudyDesign(n_control=21, sd_school_wave=0.1)
    study = simulate_study(seed=11, design=design)
    res = evaluate(study.responses, "partnerschap", conditions=study.conditions)
    truth = (true_effects(design).set_index(["role", "scale"])["true_effect"]
             - true_effects(design, "control").set_index(["role", "scale"])["true_effect"])
    # the model's DiD pools the roles (role as a fixed effect): weigh them by their rows
    rows = study.responses["role"].value_counts(normalize=True)
    for scale, block in res["scales"].items():
        target = sum(rows[r] * truth[(r, scale)] for r in rows.index)
        did = block["did"]["post-pre"]
        assert did["ci95"][0] < target < did["ci95"][1], (scale, target, did)
        assert abs(did["estimate"] - target) < 3 * did["se"]
        # schools differ in their change: the df follow the 43 schools, not the rows
        assert did["df"] < 100
        assert block["baseline_equivalence"]["category"] in ("equivalent", "adjust")
        rows_arm = block["attrition_by_condition"]["by_condition"]
        assert set(rows_arm) == {"intervention", "control"}
        assert all(0.1 < r["attrition"] < 0.3 for r in rows_arm.values())
    assert np.isfinite([b["did"]["post-pre"]["d"] for b in res["scales"].values()]).all()


# -- the demo's design: a control arm, three waves, known true effects (issue 17) -------------
def test_the_demo_design_adds_a_follow_up_and_a_control_arm_to_the_same_people():
    from partnerschap_eval.synth import DEMO_DESIGN

    demo = simulate_study(seed=2014, design=DEMO_DESIGN)
    plain = simulate_study(seed=2014)
    r = demo.responses
    assert list(r["wave"].unique()) == ["pre", "post", "follow-up"]
    assert sorted(demo.conditions.values()).count("control") == 13
    assert len(demo.conditions) == 43
    # the default study's respondents; the same ones answer pre and post
    for wave in ("pre", "post"):
        assert set(r.loc[r["wave"] == wave, "respondent_id"]) == set(
            plain.responses.loc[plain.responses["wave"] == wave, "respondent_id"])
    # the follow-up respondents answered post; about 10 % of them did not come back
    post = set(r.loc[r["wave"] == "post", "respondent_id"])
    follow = set(r.loc[r["wave"] == "follow-up", "respondent_id"])
    assert follow < post
    assert 0.05 < 1 - len(follow) / len(post) < 0.15


def test_demo_true_effects_per_wave_and_arm():
    from partnerschap_eval.synth import (
        CONTROL_FOLLOW_UP_EFFECTS,
        DEMO_DESIGN,
        FOLLOW_UP_EFFECTS,
    )

    def latent(condition, wave):
        te = true_effects(DEMO_DESIGN, condition, wave=wave).set_index(["role", "scale"])
        return te["latent_effect"]

    assert latent("intervention", "post")[("parent", "reciprocity")] == LATENT_EFFECTS[
        "parent"]["reciprocity"]
    assert latent("intervention", "follow-up")[("teacher", "two_way_communication")] == \
        FOLLOW_UP_EFFECTS["teacher"]["two_way_communication"]
    assert (latent("control", "follow-up") == CONTROL_FOLLOW_UP_EFFECTS["parent"][
        "reciprocity"]).all()
    assert (latent("control", "post") == 0.05).all()
    # the default wave is the second one; the default design has no follow-up
    assert true_effects(DEMO_DESIGN).equals(true_effects(DEMO_DESIGN, wave="post"))
    with pytest.raises(ValueError, match="later wave"):
        true_effects(wave="follow-up")
    with pytest.raises(ValueError, match="two or three"):
        simulate_study(design=StudyDesign(n_schools=2, waves=("a", "b", "c", "d")))
    with pytest.raises(ValueError, match="two or three"):
        simulate_study(design=StudyDesign(n_schools=2, waves=("pre", "pre")))


def test_a_large_demo_design_recovers_its_true_changes_per_arm_and_wave():
    # 600 schools: the observed mean change per arm, role and scale is the true_effects value
    # (paired: the respondents of both waves), within 4 standard errors
    from dataclasses import replace

    from partnerschap_eval.instruments import load_instrument
    from partnerschap_eval.scoring import score_scales
    from partnerschap_eval.synth import DEMO_DESIGN

    design = replace(DEMO_DESIGN, n_schools=600, n_control=300)
    study = simulate_study(seed=5, design=design)
    scores = score_scales(study.responses, load_instrument("partnerschap"))
    scores["arm"] = scores["school_id"].map(study.conditions)
    wide = scores.pivot_table(index=["respondent_id", "role", "arm"], columns="wave",
                              values="two_way_communication").reset_index()
    checked = 0
    for wave in ("post", "follow-up"):
        for arm in ("intervention", "control"):
            truth = true_effects(design, arm, wave=wave).set_index(["role", "scale"])
            for role in ("parent", "teacher"):
                part = wide[(wide["arm"] == arm) & (wide["role"] == role)]
                diff = (part[wave] - part["pre"]).dropna()
                se = diff.std() / np.sqrt(len(diff))
                target = truth.loc[(role, "two_way_communication"), "true_effect"]
                assert abs(diff.mean() - target) < 4 * se + 0.01, (wave, arm, role)
                checked += 1
    assert checked == 8


def test_the_demo_frameworks_have_the_follow_up_and_do_not_move_in_control_schools():
    from partnerschap_eval.synth import DEMO_DESIGN, FrameworkDesign, simulate_frameworks

    demo = simulate_study(seed=2014, design=DEMO_DESIGN)
    fw = simulate_frameworks(seed=2014, design=FrameworkDesign(study=DEMO_DESIGN))
    gerdes = fw.responses["gerdes"]
    for wave in DEMO_DESIGN.waves:  # the same respondents per wave as the partnerschap data
        assert set(gerdes.loc[gerdes["wave"] == wave, "respondent_id"]) == set(
            demo.responses.loc[demo.responses["wave"] == wave, "respondent_id"])
    items = [c for c in gerdes if c.startswith("gd_")]
    gerdes = gerdes.assign(score=gerdes[items].mean(axis=1),
                           arm=gerdes["school_id"].map(demo.conditions))
    means = gerdes.groupby(["arm", "wave"])["score"].mean()
    # intervention: up at post, a little less at follow-up; control: no true shift
    assert means[("intervention", "post")] - means[("intervention", "pre")] > 0.25
    assert 0.1 < means[("intervention", "follow-up")] - means[("intervention", "pre")] < \
        means[("intervention", "post")] - means[("intervention", "pre")]
    assert abs(means[("control", "follow-up")] - means[("control", "pre")]) < 0.12
