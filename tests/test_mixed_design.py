"""fit_lmm and did_mixed_model against lme4 + lmerTest (tests/reference/mixed/mixed_design.R).

Tolerances: fixed effects 1e-6 absolute, SEs 1e-6 relative, Satterthwaite df 1e-5 relative,
variance parameters 1e-5 relative, REML criterion 1e-7 relative. The reference fits use tight
optimiser settings (see the R script); what remains is the optimisers' and the numerical
derivatives' error (numDeriv's Richardson extrapolation in lmerTest, ours here).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval.errors import InputError
from partnerschap_eval.evaluation.mixed_design import (
    did_mixed_model,
    fit_lmm,
    interaction,
)

REF = Path(__file__).resolve().parent / "reference" / "mixed"
R = json.loads((REF / "r_mixed.json").read_text())
COND = {f"S{s + 1:02d}": "intervention" if s % 2 == 0 else "control" for s in range(10)}


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / name, dtype={"respondent_id": str, "school_id": str})


def _did_fit(model: str):
    data = _data("did_2w_8.csv" if model == "did_2w_8" else "did_3w.csv")
    waves = ["pre", "post"] if model == "did_2w_8" else ["T0", "T1", "T2"]
    x = {"(Intercept)": np.ones(len(data))}
    for w in waves[1:]:
        x[f"wave{w}"] = (data["wave"] == w).to_numpy(float)
    treated = (data["condition"] == "intervention").to_numpy(float)
    x["conditionintervention"] = treated
    if model == "did_3w_role":
        x["roleteacher"] = (data["role"] == "teacher").to_numpy(float)
    for w in waves[1:]:
        x[f"wave{w}:conditionintervention"] = x[f"wave{w}"] * treated
    school = data["school_id"].to_numpy()
    groups = {"school_id:respondent_id": interaction(school, data["respondent_id"]),
              "school_id:wave": interaction(school, data["wave"]), "school_id": school}
    if model == "did_3w_no_sw":
        del groups["school_id:wave"]
    return fit_lmm(data["score"].to_numpy(), pd.DataFrame(x), groups,
                   reml=model != "did_3w_ml")


def _crossed_fit():
    data = _data("crossed.csv")
    x = pd.DataFrame({"(Intercept)": 1.0, "x": data["x"],
                      "groupb": (data["group"] == "b").astype(float)})
    return fit_lmm(data["y"].to_numpy(), x, {"subject": data["subject"], "item": data["item"],
                                             "rater": data["rater"]})


MODELS = ["did_3w", "did_3w_role", "did_3w_ml", "did_3w_no_sw", "did_2w_8", "crossed"]


@pytest.fixture(scope="module")
def fits():
    return {m: (_crossed_fit() if m == "crossed" else _did_fit(m)) for m in MODELS}


@pytest.mark.parametrize("model", MODELS)
def test_fixed_effects_and_satterthwaite_match_lmertest(fits, model):
    ref, fit = R[model], fits[model]
    assert fit.converged, fit.warnings
    assert list(fit.terms) == ref["terms"]
    np.testing.assert_allclose(fit.estimates, ref["estimate"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(fit.se, ref["se"], rtol=1e-6)
    np.testing.assert_allclose(fit.df, ref["df"], rtol=1e-5)
    np.testing.assert_allclose(fit.t, ref["t"], rtol=1e-5)
    np.testing.assert_allclose(fit.p, ref["p"], rtol=1e-4)


@pytest.mark.parametrize("model", MODELS)
def test_variance_components_and_criterion_match_lme4(fits, model):
    ref, fit = R[model], fits[model]
    var = dict(zip(fit.groups, fit.variances, strict=True))
    for name, value in ref["varcomp"].items():
        got = fit.var_residual if name == "Residual" else var[name]
        np.testing.assert_allclose(got, value, rtol=1e-5, atol=1e-10, err_msg=name)
    np.testing.assert_allclose(fit.criterion, ref["criterion"], rtol=1e-9)
    assert fit.singular == ref["singular"]
    assert dict(zip(fit.groups, fit.n_levels, strict=True)) == ref["ngrps"]
    assert fit.n_obs == ref["nobs"]


@pytest.mark.parametrize("model", ["did_3w", "did_3w_role", "did_3w_ml"])
def test_a_contrast_of_two_coefficients_matches_contest(fits, model):
    ref = R[model]["contrast_T2_minus_T1"]
    got = fits[model].contrast({"waveT2:conditionintervention": 1,
                                "waveT1:conditionintervention": -1})
    np.testing.assert_allclose(got.estimate, ref["estimate"], atol=1e-6)
    np.testing.assert_allclose(got.se, ref["se"], rtol=1e-6)
    np.testing.assert_allclose(got.df, ref["df"], rtol=1e-5)
    np.testing.assert_allclose([got.ci_low, got.ci_high], [ref["ci_low"], ref["ci_high"]],
                               atol=1e-6)


# ---------------------------------------------------------------------------------------------
# did_mixed_model: the same fits through the score-table interface
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model,with_role", [("did_3w", False), ("did_3w_role", True)])
def test_did_effects_match_lmertest(model, with_role):
    ref = R[model]
    did = did_mixed_model(_data("did_3w.csv"), "score", ["T0", "T1", "T2"], COND,
                          with_role=with_role)
    eff = did.to_frame().set_index("term")
    for w in ("T1", "T2"):
        i = ref["terms"].index(f"wave{w}:conditionintervention")
        row = eff.loc[f"wave{w}:conditionintervention"]
        assert row["contrast"] == f"{w}-T0"
        np.testing.assert_allclose(row["estimate"], ref["estimate"][i], atol=1e-6)
        np.testing.assert_allclose(row["se"], ref["se"][i], rtol=1e-6)
        np.testing.assert_allclose(row["df"], ref["df"][i], rtol=1e-5)
        np.testing.assert_allclose(row["p"], ref["p"][i], rtol=1e-4)
    assert did.converged and not did.singular
    assert (did.n_schools_treatment, did.n_schools_reference) == (5, 5)


def test_declared_wave_order_is_kept_not_sorted():
    """Waves named so that alphabetical order differs from the declared order: the contrasts
    are still later wave minus first, with lmerTest's values."""
    data = _data("did_3w.csv")
    data["wave"] = data["wave"].map({"T0": "pre", "T1": "post", "T2": "follow-up"})
    did = did_mixed_model(data, "score", ["pre", "post", "follow-up"], COND)
    ref = R["did_3w"]
    got = did.to_frame().set_index("contrast")
    assert list(got.index) == ["post-pre", "follow-up-pre"]
    for name, term in (("post-pre", "waveT1"), ("follow-up-pre", "waveT2")):
        i = ref["terms"].index(f"{term}:conditionintervention")
        np.testing.assert_allclose(got.loc[name, "estimate"], ref["estimate"][i], atol=1e-6)
        np.testing.assert_allclose(got.loc[name, "df"], ref["df"][i], rtol=1e-5)


def test_effect_sizes_use_the_stated_standard_deviations():
    data = _data("did_3w.csv")
    did = did_mixed_model(data, "score", ["T0", "T1", "T2"], COND)
    base = data[data["wave"] == "T0"]
    arms = [g["score"].to_numpy() for _, g in base.groupby("condition")]
    pooled = np.sqrt(sum((a.size - 1) * a.var(ddof=1) for a in arms)
                     / sum(a.size - 1 for a in arms))
    total = np.sqrt(sum(R["did_3w"]["varcomp"].values()))
    eff = did.to_frame()
    np.testing.assert_allclose(eff["d"], eff["estimate"] / pooled, rtol=1e-12)
    np.testing.assert_allclose(eff["d_total"], eff["estimate"] / total, rtol=1e-6)
    np.testing.assert_allclose(eff["d_ci_low"], eff["ci_low"] / pooled, rtol=1e-12)
    rec = did.to_record()
    assert set(rec) == {"T1-T0", "T2-T0"}
    assert set(rec["T2-T0"]) >= {"estimate", "se", "df", "t", "p", "ci95", "d", "reference"}
    assert rec["T2-T0"]["reference"] == "control"


def _balanced(n_schools: int, n_resp: int, waves: int, seed: int, did: float = 0.0,
              sd_sw: float = 0.2) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(n_schools), n_resp * waves)
    resp = np.repeat(np.arange(n_schools * n_resp), waves)
    wave = np.tile(np.arange(waves), n_schools * n_resp)
    treated = school % 2 == 0
    y = (rng.normal(0, 0.3, n_schools)[school] + rng.normal(0, 0.5, resp.max() + 1)[resp]
         + rng.normal(0, sd_sw, (n_schools, waves))[school, wave] + 0.1 * wave
         + did * (wave > 0) * treated + rng.normal(0, 0.5, school.size))
    scores = pd.DataFrame({"respondent_id": resp.astype(str), "school_id": school.astype(str),
                           "wave": np.array([f"w{i}" for i in range(waves)])[wave], "x": y})
    cond = {str(s): "intervention" if s % 2 == 0 else "control" for s in range(n_schools)}
    return scores, cond


@pytest.mark.parametrize("n_schools,waves", [(8, 2), (12, 3)])
def test_balanced_design_gives_the_exact_school_by_wave_df(n_schools, waves):
    """Complete, balanced data: the DiD lives in the school x wave stratum, whose df are
    (schools - 2)(waves - 1) exactly (a split-plot ANOVA fact, not a value of ours)."""
    scores, cond = _balanced(n_schools, 6, waves, seed=n_schools, sd_sw=0.4)
    did = did_mixed_model(scores, "x", [f"w{i}" for i in range(waves)], cond)
    assert not did.singular  # the stratum argument needs a positive school x wave variance
    np.testing.assert_allclose(did.to_frame()["df"], (n_schools - 2) * (waves - 1), rtol=1e-6)


def test_row_order_and_labels_do_not_change_the_fit():
    data = _data("did_3w.csv")
    a = did_mixed_model(data, "score", ["T0", "T1", "T2"], COND).to_frame()
    shuffled = data.sample(frac=1.0, random_state=3).reset_index(drop=True)
    shuffled["school_id"] = "X" + shuffled["school_id"]
    b = did_mixed_model(shuffled, "score", ["T0", "T1", "T2"],
                        {"X" + k: v for k, v in COND.items()}).to_frame()
    np.testing.assert_allclose(a[["estimate", "se", "df"]], b[["estimate", "se", "df"]],
                               rtol=1e-7)


def test_missing_scores_and_other_conditions_are_left_out_and_input_kept():
    data = _data("did_3w.csv")
    extra = data[data["school_id"] == "S01"].assign(school_id="W1", score=9.0)
    messy = pd.concat([data, extra], ignore_index=True)
    messy.loc[len(messy)] = ["r9999", "S02", "control", "parent", "T1", np.nan]
    before = messy.copy()
    did = did_mixed_model(messy, "score", ["T0", "T1", "T2"], {**COND, "W1": "waitlist"})
    pd.testing.assert_frame_equal(messy, before)
    ref = R["did_3w"]
    i = ref["terms"].index("waveT2:conditionintervention")
    np.testing.assert_allclose(did.to_frame()["estimate"].iloc[1], ref["estimate"][i],
                               atol=1e-6)
    assert did.n_obs == ref["nobs"]
    assert any("waitlist" in w for w in did.warnings)


@pytest.mark.parametrize("case,match", [
    ("one_school", "at least 2"), ("no_condition", "No condition"),
    ("same", "both"), ("one_wave", "two or more"), ("wave_missing_in_arm", "no scores"),
    ("duplicate", "more than one row"),
])
def test_unusable_designs_are_refused_with_a_reason(case, match):
    data = _data("did_3w.csv")
    cond, waves, kw = dict(COND), ["T0", "T1", "T2"], {}
    if case == "one_school":
        data = data[data["school_id"].isin(["S01", "S02", "S04"])]
    elif case == "no_condition":
        del cond["S03"]
    elif case == "same":
        kw = {"reference": "intervention"}
    elif case == "one_wave":
        waves = ["T0"]
    elif case == "wave_missing_in_arm":
        data = data[~((data["condition"] == "control") & (data["wave"] == "T2"))]
    elif case == "duplicate":
        data = pd.concat([data, data.iloc[:1]])
    with pytest.raises(InputError, match=match):
        did_mixed_model(data, "score", waves, cond, **kw)


def test_a_nested_two_level_fit_agrees_with_the_package_s_two_level_engine():
    from partnerschap_eval.evaluation import fit_random_intercepts

    data = _data("did_2w_8.csv")
    x = np.column_stack([np.ones(len(data)), (data["wave"] == "post").to_numpy(float)])
    old = fit_random_intercepts(data["score"], x, data["school_id"], data["respondent_id"])
    new = fit_lmm(data["score"], x, {"school": data["school_id"],
                                     "resp": interaction(data["school_id"],
                                                         data["respondent_id"])})
    np.testing.assert_allclose(new.estimates, old.estimates, atol=1e-7)
    np.testing.assert_allclose(new.variances, [old.var_school, old.var_respondent], rtol=1e-5)
    np.testing.assert_allclose(new.criterion, old.criterion, rtol=1e-10)


@pytest.mark.parametrize("model,with_role", [("did_3w", False), ("did_3w_role", True)])
def test_joint_did_f_test_matches_lmertest_anova(model, with_role):
    ref = R[model]["joint_did"]
    did = did_mixed_model(_data("did_3w.csv"), "score", ["T0", "T1", "T2"], COND,
                          with_role=with_role)
    assert did.joint.num_df == ref["num_df"] == 2
    np.testing.assert_allclose(did.joint.F, ref["F"], rtol=1e-6)
    np.testing.assert_allclose(did.joint.den_df, ref["den_df"], rtol=1e-5)
    np.testing.assert_allclose(did.joint.p, ref["p"], rtol=1e-5)
    np.testing.assert_allclose(ref["anova_den_df"], ref["den_df"], rtol=1e-12)


def test_a_contrast_on_one_term_is_that_term_s_row(fits):
    """A unit contrast reproduces the term's own Satterthwaite test (another CI level too)."""
    fit = fits["did_2w_8"]
    term = "wavepost:conditionintervention"
    row = fit.to_frame(ci_level=0.9).set_index("term").loc[term]
    got = fit.contrast({term: 1.0}, ci_level=0.9).to_frame().iloc[0]
    for name in ["estimate", "se", "df", "t", "p", "ci_low", "ci_high", "ci_level"]:
        np.testing.assert_allclose(got[name], row[name], rtol=1e-9, err_msg=name)


def test_a_one_row_joint_test_is_the_squared_t_test(fits):
    fit = fits["did_2w_8"]
    one = fit.joint_test([{"wavepost:conditionintervention": 1}])
    i = fit.terms.index("wavepost:conditionintervention")
    np.testing.assert_allclose(one.F, fit.t[i] ** 2, rtol=1e-12)
    np.testing.assert_allclose(one.den_df, fit.df[i], rtol=1e-12)
    np.testing.assert_allclose(one.p, fit.p[i], rtol=1e-9)


def test_one_grouping_factor_balanced_gives_the_anova_df_and_the_two_level_engine_s_fit():
    """One random intercept, balanced: the intercept's df are groups - 1 exactly (its variance
    is the between-groups mean square over a n), and the fit equals the package's
    single-intercept engine."""
    from partnerschap_eval.evaluation import fit_random_intercepts

    rng = np.random.default_rng(11)
    a, n = 9, 7
    group = np.repeat(np.arange(a), n)
    y = 2 + rng.normal(0, 0.6, a)[group] + rng.normal(0, 1, a * n)
    fit = fit_lmm(y, np.ones((a * n, 1)), {"g": group}, terms=["(Intercept)"])
    assert fit.converged and not fit.singular
    np.testing.assert_allclose(fit.df[0], a - 1, rtol=1e-7)
    ms_between = n * np.var(y.reshape(a, n).mean(axis=1), ddof=1)
    np.testing.assert_allclose(fit.se[0] ** 2, ms_between / (a * n), rtol=1e-7)
    old = fit_random_intercepts(y, np.ones((a * n, 1)), group, random=("school",))
    np.testing.assert_allclose(fit.variances[0], old.var_school, rtol=1e-6)
    np.testing.assert_allclose(fit.criterion, old.criterion, rtol=1e-10)


def test_comparison_schools_are_the_reference_when_no_control_is_declared():
    data = _data("did_3w.csv")
    named = {k: ("comparison" if v == "control" else v) for k, v in COND.items()}
    did = did_mixed_model(data, "score", ["T0", "T1", "T2"], named)
    assert did.reference == "comparison"
    ref = R["did_3w"]
    i = ref["terms"].index("waveT2:conditionintervention")
    np.testing.assert_allclose(did.to_frame()["estimate"].iloc[1], ref["estimate"][i], atol=1e-6)
    assert did.to_record()["T2-T0"]["reference"] == "comparison"


def test_balanced_two_wave_did_is_the_t_test_on_school_mean_changes():
    """Complete, balanced data with two waves: the REML DiD, its SE and df are those of the
    pooled two-sample t test on the schools' mean changes (a closed form, no R needed)."""
    scores, cond = _balanced(10, 5, 2, seed=4, sd_sw=0.4)
    did = did_mixed_model(scores, "x", ["w0", "w1"], cond)
    assert not did.singular
    means = scores.groupby(["school_id", "wave"])["x"].mean().unstack()
    change = (means["w1"] - means["w0"])
    arm = change.index.map(cond)
    t, c = change[arm == "intervention"], change[arm == "control"]
    pooled = ((t.size - 1) * t.var() + (c.size - 1) * c.var()) / (t.size + c.size - 2)
    row = did.to_frame().iloc[0]
    np.testing.assert_allclose(row["estimate"], t.mean() - c.mean(), rtol=1e-9)
    np.testing.assert_allclose(row["se"], np.sqrt(pooled * (1 / t.size + 1 / c.size)),
                               rtol=1e-6)
    np.testing.assert_allclose(row["df"], 8, rtol=1e-6)


def test_fit_lmm_refuses_unusable_input_with_a_reason():
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(6), 5)
    y = rng.normal(size=30)
    x = np.column_stack([np.ones(30), rng.normal(size=30)])
    with pytest.raises(InputError, match="finite"):
        fit_lmm(np.where(np.arange(30) == 3, np.nan, y), x, {"g": g})
    with pytest.raises(InputError, match="rank deficient"):
        fit_lmm(y, np.column_stack([x, 2 * x[:, 1]]), {"g": g})
    with pytest.raises(InputError, match="single row"):
        fit_lmm(y, x, {"g": np.arange(30)})
    with pytest.raises(InputError, match="missing labels"):
        fit_lmm(y, x, {"g": np.where(g == 2, None, g).astype(object)})
    with pytest.raises(ValueError, match="term names"):
        fit_lmm(y, x, {"g": g}, terms=["only one"])
    fit = fit_lmm(y, x, {"g": g}, terms=["(Intercept)", "x"])
    with pytest.raises(ValueError, match="unknown term"):
        fit.contrast({"z": 1})
    with pytest.raises(ValueError, match="2 weights"):
        fit.contrast([1, 0, 0])


@pytest.mark.slow
def test_evaluate_adds_the_did_block_only_when_conditions_are_declared():
    from partnerschap_eval.instruments import load_instrument
    from partnerschap_eval.results import evaluate
    from partnerschap_eval.scoring import score_scales, validate_responses
    from partnerschap_eval.synth import simulate_study

    responses = simulate_study().responses
    schools = sorted(responses["school_id"].astype(str).unique())
    cond = {s: ("intervention" if i % 2 == 0 else "control") for i, s in enumerate(schools)}
    plain = evaluate(responses, "partnerschap", min_cell=5)
    assert all("did" not in block for block in plain["scales"].values())
    res = evaluate(responses, "partnerschap", min_cell=5, conditions=cond)
    inst = load_instrument("partnerschap")
    scores = score_scales(validate_responses(responses, inst), inst)
    for scale, block in res["scales"].items():
        did = did_mixed_model(scores, scale, ["pre", "post"], cond, with_role=True)
        got = block["did"]["post-pre"]
        assert got["reference"] == "control" and got["converged"] is True
        np.testing.assert_allclose(got["estimate"], did.to_frame()["estimate"].iloc[0],
                                   rtol=1e-8)
        np.testing.assert_allclose(got["df"], did.to_frame()["df"].iloc[0], rtol=1e-8)
        assert block["paired"] == plain["scales"][scale]["paired"]
    hidden = evaluate(responses, "partnerschap", min_cell=400, conditions=cond)
    block = next(iter(hidden["scales"].values()))["did"]["post-pre"]
    assert block["estimate"] is None and block["estimate_reason"].startswith("suppressed")
