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
