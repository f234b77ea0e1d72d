"""Evaluation statistics against R (tests/reference/r_values.json, made by reference.R).

Above every comparison stands the R call that produced the reference value; ``_r(block, call)``
also checks that the JSON records exactly that call. Tolerances (relative unless said):
closed forms 1e-10; noncentral-t limits vs R's ``uniroot`` 1e-9; vs effectsize's ``optim``
limits 1e-6 absolute (effectsize solves them only that tightly); lme4 fixed effects, SEs,
variance components and log-likelihoods 1e-4 absolute (lme4's optimiser tolerance; we are at
~1e-5 or better).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from partnerschap_eval import evaluation as ev
from partnerschap_eval.errors import InputError
from partnerschap_eval.results.scales import _protect, evaluate

DATA = Path(__file__).resolve().parent / "reference" / "data"
CLOSED = dict(rel=1e-10, abs=1e-12)
UNIROOT = dict(rel=1e-9, abs=1e-12)
OPTIM = dict(abs=1e-6)
LME4 = dict(abs=1e-4)


def _r(block: dict, call: str) -> dict:
    """The reference block, after checking that R ran exactly ``call`` for it."""
    assert block["call"] == call
    return block


def _wide(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv")


@pytest.fixture(scope="module")
def long_missing() -> pd.DataFrame:
    return pd.read_csv(DATA / "long_missing.csv", dtype={"respondent_id": str, "school_id": str})


@pytest.fixture(scope="module")
def model_rows(long_missing) -> pd.DataFrame:
    return long_missing.dropna(subset=["score"]).reset_index(drop=True)


def _pairs(name: str, long_missing: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    if name == "long_missing_pairs":
        p = ev.paired_scores(long_missing, "score", "pre", "post")
        return p["pre"].to_numpy(), p["post"].to_numpy()
    d = _wide(name)
    return d["pre"].to_numpy(), d["post"].to_numpy()


PAIRED = ["sleep_wide", "paired_a", "paired_b", "long_missing_pairs"]


# ---------------------------------------------------------------------------------------------
# paired statistics
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", PAIRED)
def test_paired_t_against_r(r_values, long_missing, name):
    pre, post = _pairs(name, long_missing)
    ref = r_values["paired"][name]
    res = ev.paired_test(pre, post)
    desc = ref["descriptives"]
    assert res.n == ref["n"]
    for key in ("mean_pre", "sd_pre", "mean_post", "sd_post", "mean_diff", "sd_diff"):
        assert getattr(res, key) == pytest.approx(desc[key], **CLOSED), key
    # R: t.test(post, pre, paired = TRUE)
    tt = _r(ref["t_test"], "t.test(post, pre, paired = TRUE)")
    assert res.t == pytest.approx(tt["t"], **CLOSED)
    assert res.df == tt["df"]
    assert res.p == pytest.approx(tt["p"], **CLOSED)
    assert [res.ci_low, res.ci_high] == pytest.approx(tt["conf_int"], **CLOSED)


@pytest.mark.parametrize("name", PAIRED)
def test_wilcoxon_against_r(r_values, long_missing, name):
    """Differences are rounded before ranking, as R's digits.rank = 7; for these data sets that
    equals R's default except long_missing_pairs, whose decimal ties are split in binary."""
    pre, post = _pairs(name, long_missing)
    ref = r_values["paired"][name]
    w = ev.wilcoxon_signed_rank(post - pre)
    # R: wilcox.test(post, pre, paired = TRUE, exact = FALSE, correct = TRUE, digits.rank = 7)
    wt = _r(ref["wilcoxon_digits_rank_7"], "wilcox.test(post, pre, paired = TRUE, "
            "exact = FALSE, correct = TRUE, digits.rank = 7)")
    assert w.statistic == wt["V"]
    assert w.p == pytest.approx(wt["p"], **CLOSED)


def test_wilcoxon_ties_decimal_equal_differences(r_values, long_missing):
    """R's default digits.rank = Inf splits ties of differences equal in decimals; we do not."""
    pre, post = _pairs("long_missing_pairs", long_missing)
    w = ev.wilcoxon_signed_rank(post - pre)
    ref = r_values["paired"]["long_missing_pairs"]
    # R: wilcox.test(post, pre, paired = TRUE, exact = FALSE, correct = TRUE)
    raw = _r(ref["wilcoxon"], "wilcox.test(post, pre, paired = TRUE, exact = FALSE, "
             "correct = TRUE)")
    assert w.statistic == 31775.5 != raw["V"]
    assert w.n_nonzero == raw["n_nonzero"]


@pytest.mark.parametrize("name", PAIRED)
def test_effect_sizes_against_r(r_values, long_missing, name):
    pre, post = _pairs(name, long_missing)
    ref = r_values["paired"][name]
    res = ev.paired_test(pre, post)
    # R: effectsize::cohens_d(post, pre, paired = TRUE)   (d_z; CI by optim, ~1e-6)
    cd = _r(ref["d_z_effectsize"], "effectsize::cohens_d(post, pre, paired = TRUE)")
    assert res.d_z == pytest.approx(cd["d_z"], **CLOSED)
    assert [res.d_z_ci_low, res.d_z_ci_high] == pytest.approx(cd["ci"], **OPTIM)
    # R: uniroot(function(ncp) pt(t, df, ncp) - p, ...) for p = 0.975 / 0.025; limits / sqrt(n)
    un = _r(ref["d_z_ncp_uniroot"], "uniroot(function(ncp) pt(t, df, ncp) - p, ...) for "
            "p = 0.975 (lower) and 0.025 (upper); limits / sqrt(n)")
    assert [res.d_z_ci_low, res.d_z_ci_high] == pytest.approx(un["ci"], **UNIROOT)
    ci = ev.ncp_ci(un["t"], un["df"])
    assert [ci.low, ci.high] == pytest.approx(un["ncp_limits"], **UNIROOT)
    # R: effectsize::hedges_g(post, pre, paired = TRUE)   (= d_z x exact J)
    hg = _r(ref["g_z_effectsize"], "effectsize::hedges_g(post, pre, paired = TRUE)")
    assert res.d_z * ev.hedges_j(res.df, "exact") == pytest.approx(hg["g_z"], **CLOSED)
    # R (by hand in reference.R): mean(post - pre) / ((sd(pre) + sd(post)) / 2), J_approx,
    # J_exact = exp(lgamma(df/2) - log(sqrt(df/2)) - lgamma((df - 1)/2))
    dav = ref["d_av"]
    assert res.d_av == pytest.approx(dav["d_av"], **CLOSED)
    assert res.g_av == pytest.approx(dav["g_av_approx"], **CLOSED)
    assert ev.hedges_j(res.df) == pytest.approx(dav["J_approx"], **CLOSED)
    assert ev.hedges_j(res.df, "exact") == pytest.approx(dav["J_exact"], **CLOSED)
    # d_av's CI is the d_z interval on the d_av metric (no R implementation in effectsize 0.8.3)
    ratio = res.sd_diff / ((res.sd_pre + res.sd_post) / 2)
    assert res.d_av_ci_low == pytest.approx(res.d_z_ci_low * ratio, **CLOSED)


@pytest.mark.parametrize("name", PAIRED)
def test_reliable_change_against_r(r_values, long_missing, name):
    pre, post = _pairs(name, long_missing)
    ref = r_values["paired"][name]["reliable_change"]
    # R: s_diff <- sqrt(2) * sd(pre) * sqrt(1 - 0.80); rc <- (post - pre) / s_diff;
    #    sum(rc > 1.96), sum(rc < -1.96), sum(abs(rc) <= 1.96)
    rc = ev.reliable_change(pre, post, r_xx=ref["r_xx"])
    assert (rc.improved, rc.deteriorated, rc.unchanged) == (
        ref["n_improved"], ref["n_deteriorated"], ref["n_unchanged"])
    assert rc.s_diff == pytest.approx(ref["s_diff"], **CLOSED)
    assert rc.sd_pre == pytest.approx(ref["sd_pre"], **CLOSED)


def test_pairing_against_r(r_values, long_missing):
    ref = r_values["paired"]["long_missing_pairs"]["pairing"]
    # R: merge(pre_rows, post_rows, by = "respondent_id") on rows with a non-missing score
    pairs = ev.paired_scores(long_missing, "score", "pre", "post")
    assert len(pairs) == ref["n_pairs"] == 302
    assert pairs["respondent_id"].tolist() == ref["paired_ids"]


@pytest.mark.parametrize("name", ["domain_example", "eight", "eight_unsorted_ties"])
def test_bh_against_r(r_values, name):
    ref = r_values["bh"][name]
    # R: p.adjust(p, "BH") -- the exact call string is in ref["call"]
    assert ref["call"].startswith("p.adjust(") and ref["call"].endswith('"BH")')
    assert ev.bh_adjust(ref["p"]) == pytest.approx(ref["adjusted"], **CLOSED)


def test_domain_check_values():
    """The public check values of DOMAIN.md (R's sleep data, BH, design effect)."""
    d = _wide("sleep_wide")
    r = ev.paired_test(d["pre"], d["post"])
    assert (round(r.t, 4), r.df, round(r.p, 6)) == (4.0621, 9, 0.002833)
    assert (round(r.d_z, 4), round(r.d_z_ci_low, 3), round(r.d_z_ci_high, 3)) == (1.2846, 0.415,
                                                                                   2.118)
    assert round(r.d_av, 4) == 0.8335
    assert (r.wilcoxon.statistic, round(r.wilcoxon.p, 6)) == (45, 0.009091)
    assert ev.bh_adjust([.01, .04, .03, .005, .20]) == pytest.approx([.025, .05, .05, .025, .2])
    assert ev.design_effect(0.05, 25) == pytest.approx(2.2, rel=1e-14)


def test_dz_ci_frame_equals_scalar():
    t = np.array([-3.0, 0.0, 0.4, 2.5, 12.0])
    n = np.array([5, 10, 30, 200, 100_000])
    frame = ev.dz_ci_frame(t, n)
    assert list(frame.columns) == ["low", "high", "level"] and len(frame) == t.size
    assert (frame["level"] == 0.95).all()
    lo, hi = frame["low"].to_numpy(), frame["high"].to_numpy()
    for i in range(t.size):
        one = ev.dz_ci(float(t[i]), int(n[i]))
        assert isinstance(one.low, float) and isinstance(one.high, float)
        assert (lo[i], hi[i]) == pytest.approx((one.low, one.high), rel=1e-12, abs=1e-14)
    # symmetric in t, and the interval contains d_z
    assert lo[1] == pytest.approx(-hi[1], abs=1e-12)
    assert np.all((lo <= t / np.sqrt(n)) & (t / np.sqrt(n) <= hi))
    # ncp limits at t = 0 are +-z (P(T <= 0) = Phi(-ncp)); scalar and frame agree
    z = ev.ncp_ci_frame(np.zeros((2, 2)), [5, 50], ci_level=0.9)
    assert len(z) == 4
    np.testing.assert_allclose(z["high"], stats.norm.ppf(0.95), rtol=1e-10)
    assert ev.ncp_ci(0.0, 5, 0.9).high == pytest.approx(z["high"][0], rel=1e-12)


@pytest.mark.parametrize("f", [ev.ncp_ci, ev.dz_ci])
def test_the_scalar_intervals_refuse_arrays_and_name_the_frame_function(f):
    with pytest.raises(InputError, match=f"{f.__name__}_frame"):
        f(np.array([1.0, 2.0]), 10)
    with pytest.raises(InputError, match="one number"):
        f(1.0, [10, 11])


def test_wilcoxon_is_linear_in_memory_for_large_n():
    """pingouin needs quadratic memory (MemoryError near 500 k pairs); ranking does not."""
    rng = np.random.default_rng(5)
    d = np.round(rng.normal(0.01, 1, 500_000), 2)
    w = ev.wilcoxon_signed_rank(d)
    assert 0 < w.statistic and 0 <= w.p <= 1


# ---------------------------------------------------------------------------------------------
# two independent groups: gap, attrition, Welch, Hedges' g, sensitivity
# ---------------------------------------------------------------------------------------------
def _check_welch(res: ev.WelchResult, ref: dict) -> None:
    # R: t.test(x, y)   (Welch)
    _r(ref, "t.test(x, y)")
    assert (res.n1, res.n2) == (ref["n_x"], ref["n_y"])
    assert res.diff == pytest.approx(ref["diff"], **CLOSED)
    assert res.t == pytest.approx(ref["t"], **CLOSED)
    assert res.df == pytest.approx(ref["df"], **CLOSED)
    assert res.p == pytest.approx(ref["p"], **CLOSED)
    assert res.se == pytest.approx(ref["stderr"], **CLOSED)
    assert [res.ci_low, res.ci_high] == pytest.approx(ref["conf_int"], **CLOSED)


def _check_hedges(res: ev.HedgesG, ref: dict) -> None:
    # R: effectsize::hedges_g(x, y)   (pooled SD, exact J; CI by optim, ~1e-6)
    _r(ref, "effectsize::hedges_g(x, y)")
    assert res.g == pytest.approx(ref["g"], **CLOSED)
    assert res.d == pytest.approx(ref["d_by_hand"], **CLOSED)
    assert res.j == pytest.approx(ref["J_exact"], **CLOSED)
    assert [res.ci_low, res.ci_high] == pytest.approx(ref["ci"], **OPTIM)


def test_role_gap_against_r(r_values, long_missing):
    ref = r_values["gap"]
    gap = ev.role_gap(long_missing, "score", "pre", "post")
    assert gap.first_sample == gap.last_sample == "all at wave"
    _check_welch(gap.first, ref["pre"])
    _check_welch(gap.last, ref["post"])
    _check_welch(gap.change, ref["change"])
    # R: mean(pr$score_pre[is_par]) - mean(pr$score_pre[!is_par]) (and post) on complete pairs
    assert gap.gap_first_paired == pytest.approx(ref["change"]["gap_pre_paired"], **CLOSED)
    assert gap.gap_last_paired == pytest.approx(ref["change"]["gap_post_paired"], **CLOSED)
    assert gap.change.diff == pytest.approx(gap.gap_last_paired - gap.gap_first_paired, **CLOSED)


def test_role_gap_privacy_guard_switches_to_paired(long_missing):
    """With fewer than min_cell non-paired respondents at a wave, the wave gap uses the pairs."""
    pairs = ev.paired_scores(long_missing, "score", "pre", "post")
    late = long_missing[(long_missing["wave"] == "post") & long_missing["score"].notna()
                        & ~long_missing["respondent_id"].isin(pairs["respondent_id"])]
    extra = late["role"].value_counts()
    assert extra.max() < 30  # late joiners and respondents whose pre score is missing
    prof = extra.drop("parent").sum()
    assert ev.unpaired_at_wave(long_missing, "score", "post", pairs) == ev.Unpaired(
        extra["parent"], prof)
    assert ev.role_gap(long_missing, "score", "pre", "post").last_sample == "all at wave"
    gap = ev.role_gap(long_missing, "score", "pre", "post", paired_at=["post"])
    assert gap.last_sample == "paired" and gap.first_sample == "all at wave"
    assert gap.last.diff == pytest.approx(gap.gap_last_paired, **CLOSED)
    # the results layer asks for the pairs exactly when 0 < unpaired < min_cell
    from partnerschap_eval.results.scales import _gap_block

    for min_cell, sample in ((int(extra.min()), "all at wave"), (30, "paired")):
        block = _gap_block(long_missing, "score", "pre", "post", min_cell, pairs)
        assert block["by_wave"]["post"]["sample"] == sample


def test_attrition_against_r(r_values, long_missing):
    ref = r_values["attrition"]
    a = ev.attrition(long_missing, "score", "pre", "post")
    _check_welch(a.welch, ref["welch"])
    _check_hedges(a.hedges, ref["hedges_g"])
    assert a.n_completers == 302


def test_two_sample_against_r(r_values):
    ref = r_values["two_sample"]["paired_a_pre_vs_paired_b_pre"]
    x, y = _wide("paired_a")["pre"].to_numpy(), _wide("paired_b")["pre"].to_numpy()
    _check_welch(ev.welch_test(x, y), ref["welch"])
    _check_hedges(ev.hedges_g(x, y), ref["hedges_g"])


@pytest.mark.parametrize("n", [10, 25, 60, 302, 1000])
def test_sensitivity_against_r(r_values, n):
    ref = r_values["sensitivity"][f"n_{n}"]
    # R: power.t.test(n = n, power = 0.8, sd = 1, sig.level = 0.05, type = "paired",
    #                 strict = TRUE, tol = 1e-12)$delta
    _r(ref, f'power.t.test(n = {n}, power = 0.8, sd = 1, sig.level = 0.05, type = "paired", '
       'strict = TRUE, tol = 1e-12)')
    assert ev.min_detectable_dz(n) == pytest.approx(ref["delta"], rel=1e-9)


# ---------------------------------------------------------------------------------------------
# mixed models against lme4
# ---------------------------------------------------------------------------------------------
def _design(rows: pd.DataFrame, role: bool) -> np.ndarray:
    cols = [np.ones(len(rows)), (rows["wave"] == "post").to_numpy(float)]
    if role:
        cols.append((rows["role"] == "teacher").to_numpy(float))
    return np.column_stack(cols)


def _check_lme4(fit: ev.RandomInterceptFit, ref: dict) -> None:
    for term, est, se in zip(fit.terms, fit.estimates, fit.se, strict=True):
        assert est == pytest.approx(ref["fixed"][term]["estimate"], **LME4), term
        assert se == pytest.approx(ref["fixed"][term]["se"], **LME4), term
    vc = ref["varcomp"]
    assert fit.var_school == pytest.approx(vc.get("school", 0.0), **LME4)
    assert fit.var_respondent == pytest.approx(vc.get("respondent", 0.0), **LME4)
    assert fit.var_residual == pytest.approx(vc["residual"], **LME4)
    assert fit.loglik == pytest.approx(ref["logLik"], **LME4)
    # our optimum is at least as good as lme4's (the profiled criterion is the same function)
    assert fit.loglik >= ref["logLik"] - 1e-8
    assert fit.singular == ref["singular"]
    assert fit.converged
    assert fit.n_obs == ref["n_obs"]


LME4_MODELS = {
    # R: lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mm, REML = TRUE)
    "nested_wave_reml": ("lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mm, "
                         "REML = TRUE)", False, ("school", "respondent"), True),
    # R: lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mm, REML = FALSE)
    "nested_wave_ml": ("lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mm, "
                       "REML = FALSE)", False, ("school", "respondent"), False),
    # R: lme4::lmer(score ~ wave + role + (1 | school_id) + (1 | respondent_id), data = mm,
    #               REML = TRUE)
    "wave_role_reml": ("lme4::lmer(score ~ wave + role + (1 | school_id) + (1 | respondent_id), "
                       "data = mm, REML = TRUE)", True, ("school", "respondent"), True),
    # R: lme4::lmer(score ~ wave + role + (1 | school_id) + (1 | respondent_id), data = mm,
    #               REML = FALSE)
    "wave_role_ml": ("lme4::lmer(score ~ wave + role + (1 | school_id) + (1 | respondent_id), "
                     "data = mm, REML = FALSE)", True, ("school", "respondent"), False),
    # R: lme4::lmer(score ~ wave + (1 | school_id), data = mm, REML = TRUE)
    "school_only_wave_reml": ("lme4::lmer(score ~ wave + (1 | school_id), data = mm, REML = TRUE)",
                              False, ("school",), True),
    # R: lme4::lmer(score ~ wave + (1 | school_id), data = mm, REML = FALSE)
    "school_only_wave_ml": ("lme4::lmer(score ~ wave + (1 | school_id), data = mm, REML = FALSE)",
                            False, ("school",), False),
    # R: lme4::lmer(score ~ wave + (1 | respondent_id), data = mm, REML = TRUE)
    "respondent_only_wave_reml": ("lme4::lmer(score ~ wave + (1 | respondent_id), data = mm, "
                                  "REML = TRUE)", False, ("respondent",), True),
}


@pytest.mark.parametrize("model", sorted(LME4_MODELS))
def test_random_intercepts_against_lme4(r_values, model_rows, model):
    call, role, random, reml = LME4_MODELS[model]
    ref = _r(r_values["mixed"][model], call)
    terms = ("(Intercept)", "wavepost") + (("roleteacher",) if role else ())
    fit = ev.fit_random_intercepts(
        model_rows["score"].to_numpy(), _design(model_rows, role), model_rows["school_id"],
        model_rows["respondent_id"] if "respondent" in random else None, reml=reml,
        terms=terms, random=random)
    _check_lme4(fit, ref)


def test_singular_fit_reported_like_lme4(r_values, model_rows):
    """School means removed: the school variance sits on the boundary. lme4's default optimizer
    stops short there (REML logLik -712.78); with bobyqa it reaches the optimum (-712.62),
    which we match -- and we are never worse than the default fit."""
    # R: mmc$score <- mm$score - ave(mm$score, mm$school_id)
    # R: lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mmc, REML = TRUE)
    default = _r(r_values["mixed"]["nested_wave_reml_school_centred"],
                 "lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mmc, "
                 "REML = TRUE)")
    # R: lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mmc, REML = TRUE,
    #               control = lme4::lmerControl(optimizer = "bobyqa"))
    ref = _r(r_values["mixed"]["nested_wave_reml_school_centred_bobyqa"],
             "lme4::lmer(score ~ wave + (1 | school_id/respondent_id), data = mmc, REML = TRUE, "
             'control = lme4::lmerControl(optimizer = "bobyqa"))')
    rows = model_rows.copy()
    rows["score"] = rows["score"] - rows.groupby("school_id")["score"].transform("mean")
    fit = ev.fit_random_intercepts(rows["score"].to_numpy(), _design(rows, False),
                                   rows["school_id"], rows["respondent_id"],
                                   terms=("(Intercept)", "wavepost"))
    assert ref["singular"] is True and default["singular"] is True
    _check_lme4(fit, ref)
    assert fit.loglik > default["logLik"] + 0.1
    assert fit.var_school == 0.0
    assert any("singular" in w for w in fit.warnings)
    # and mixed_model carries it into the result
    m = ev.mixed_model(rows, "score", "pre", "post")
    assert m.singular and any("boundary (singular) fit" in w for w in m.warnings)


@pytest.mark.parametrize("model,data", [("sleep_id_wave_reml", "sleep_wide"),
                                        ("paired_a_id_wave_reml", "paired_a")])
def test_one_random_intercept_other_datasets(r_values, model, data):
    # R: lme4::lmer(score ~ wave + (1 | id), data = sl, REML = TRUE)   (sleep_wide, long form)
    # R: lme4::lmer(score ~ wave + (1 | id), data = pal, REML = TRUE)  (paired_a, long form)
    short = {"sleep_wide": "sl", "paired_a": "pal"}[data]
    ref = _r(r_values["mixed"][model],
             f"lme4::lmer(score ~ wave + (1 | id), data = {short}, REML = TRUE)")
    d = _wide(data)
    n = len(d)
    y = np.concatenate([d["pre"], d["post"]])
    x = np.column_stack([np.ones(2 * n), np.repeat([0.0, 1.0], n)])
    ids = np.tile(d["id"].to_numpy(), 2)
    # one random intercept for id: let id play the "school" grouping
    fit = ev.fit_random_intercepts(y, x, ids, terms=("(Intercept)", "wavepost"),
                                   random=("school",))
    assert fit.estimates[1] == pytest.approx(ref["fixed"]["wavepost"]["estimate"], **LME4)
    assert fit.se[1] == pytest.approx(ref["fixed"]["wavepost"]["se"], **LME4)
    assert fit.var_school == pytest.approx(ref["varcomp"]["respondent"], **LME4)
    assert fit.var_residual == pytest.approx(ref["varcomp"]["residual"], **LME4)
    assert fit.loglik == pytest.approx(ref["logLik"], **LME4)


@pytest.mark.parametrize("with_role,model", [(False, "nested_wave_reml"),
                                             (True, "wave_role_reml")])
def test_mixed_model_wave_effect_against_lme4(r_values, long_missing, with_role, model):
    ref = r_values["mixed"][model]
    m = ev.mixed_model(long_missing, "score", "pre", "post", with_role=with_role)
    we = ref["wave_effect"]
    # R: est + c(-1, 1) * qnorm(0.975) * se; 2 * pnorm(-abs(est / se))
    assert m.wave_effect == pytest.approx(we["estimate"], **LME4)
    assert m.se == pytest.approx(we["se"], **LME4)
    assert [m.ci_low, m.ci_high] == pytest.approx(we["ci_wald"], **LME4)
    assert m.p == pytest.approx(we["p_normal"], rel=1e-3)
    # R: var_school / (var_school + var_respondent + var_residual)
    assert m.icc_school == pytest.approx(ref["icc_school"], **LME4)
    assert (m.n_obs, m.n_schools, m.n_respondents) == (724, 30, 422)
    assert m.converged and not m.singular and m.warnings == ()
    m_first = long_missing[(long_missing.wave == "pre") & long_missing.score.notna()]
    size = m_first.groupby("school_id").size().mean()
    assert m.design_effect == pytest.approx(1 + (size - 1) * m.icc_school, **CLOSED)


def test_statsmodels_reference_engine_agrees(r_values, long_missing):
    """statsmodels MixedLM is kept as the reference implementation of the same model."""
    fast = ev.mixed_model(long_missing, "score", "pre", "post", engine="reml")
    slow = ev.mixed_model(long_missing, "score", "pre", "post", engine="statsmodels")
    ref = r_values["mixed"]["nested_wave_reml"]
    for m in (fast, slow):
        assert m.wave_effect == pytest.approx(ref["wave_effect"]["estimate"], **LME4)
        assert m.se == pytest.approx(ref["wave_effect"]["se"], **LME4)
        assert m.var_school == pytest.approx(ref["varcomp"]["school"], **LME4)
        assert m.var_respondent == pytest.approx(ref["varcomp"]["respondent"], **LME4)
        assert m.var_residual == pytest.approx(ref["varcomp"]["residual"], **LME4)
    assert fast.loglik == pytest.approx(slow.loglik, abs=1e-4)


def test_random_intercepts_refuses_unidentified_models():
    y = np.arange(6.0)
    x = np.ones((6, 1))
    with pytest.raises(ValueError, match="single row"):
        ev.fit_random_intercepts(y, x, np.array([0, 0, 0, 1, 1, 1]), np.arange(6))
    with pytest.raises(ValueError, match="rank deficient"):
        ev.fit_random_intercepts(y, np.column_stack([x, x]), np.array([0, 0, 0, 1, 1, 1]),
                                 random=("school",))


# ---------------------------------------------------------------------------------------------
# results.json: new keys and privacy
# ---------------------------------------------------------------------------------------------
# demo_results: evaluate of the demo study, once per session (conftest.py)


def test_results_have_the_new_blocks(demo_results):
    for block in demo_results["scales"].values():
        assert {"paired", "reliability", "reliable_change", "mixed_model", "by_role", "gap",
                "attrition", "sensitivity"} <= set(block)
        mm = block["mixed_model"]
        assert mm["converged"] is True and mm["singular"] is False and mm["warnings"] == []
        assert mm["formula"] == "score ~ wave + role + (1 | school_id/respondent_id)"
        gap = block["gap"]
        assert set(gap["by_wave"]) == {"pre", "post"}
        assert gap["change"]["direction"] in {"narrowed", "widened", "no clear change"}
        assert gap["professional_roles"] == ["teacher", "youthworker"]
        assert block["attrition"]["hedges_g"] is not None
        assert block["sensitivity"]["min_d_z"] == pytest.approx(
            ev.min_detectable_dz(block["paired"]["n"]), rel=1e-9)
        for role, rb in block["by_role"].items():
            assert {"paired", "reliable_change", "sensitivity"} <= set(rb), role
        # role counts of reliable change add up to the overall where all are shown
        rc = block["reliable_change"]
        shown = [rb["reliable_change"] for rb in block["by_role"].values()]
        if all(s["unchanged"] is not None for s in shown):
            assert sum(s["unchanged"] for s in shown) == rc["unchanged"]


def test_results_never_report_per_school(demo_results, demo_study):
    text = json.dumps(demo_results)
    for school in demo_study.responses["school_id"].unique():
        assert f'"{school}"' not in text


def test_suppression_with_a_large_min_cell(demo_study):
    res = evaluate(demo_study.responses, "partnerschap", min_cell=100, mixed=False)
    block = res["scales"]["reciprocity"]
    yw = block["by_role"]["youthworker"]["paired"]
    assert yw["n"] is None and yw["n_reason"] == "suppressed: n < 100"
    # teachers (~70 pairs) are suppressed too; parents are not
    assert block["by_role"]["teacher"]["paired"]["n"] is None
    assert block["by_role"]["parent"]["paired"]["n"] is not None
    # the professionals pooled (~105) stay, the attrition dropouts (~160) too
    assert block["gap"]["by_wave"]["post"]["n_professional"] >= 100
    # reliable change: the overall 'deteriorated' count is < 100, and so another count goes
    rc = block["reliable_change"]
    hidden = [k for k in ("improved", "deteriorated", "unchanged") if rc[k] is None]
    assert len(hidden) >= 2 or not hidden
    assert all(rc[f"{k}_reason"].startswith("suppressed: n < 100") for k in hidden)


def test_complementary_suppression_of_a_single_small_role(demo_study):
    """One small role must not be recoverable as the overall minus the other roles."""
    resp = demo_study.responses
    teachers = resp.loc[resp["role"] == "teacher", "respondent_id"].unique()
    resp = resp[(resp["role"] != "teacher") | resp["respondent_id"].isin(teachers[:6])]
    res = evaluate(resp, "partnerschap", min_cell=10, mixed=False)
    by_role = res["scales"]["reciprocity"]["by_role"]
    assert by_role["teacher"]["paired"]["n"] is None
    assert by_role["teacher"]["paired"]["n_reason"] == "suppressed: n < 10"
    # youth-care workers (~35 pairs) are the next smallest group: suppressed as its complement
    assert by_role["youthworker"]["paired"]["n"] is None
    assert by_role["youthworker"]["paired"]["n_reason"] == "suppressed: n < 10 (complementary)"
    assert by_role["parent"]["paired"]["n"] is not None
    counts = res["counts"]["pre"]["by_role"]
    assert counts["teacher"] is None and counts["youthworker"] is None
    assert counts["parent"] is not None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 60), min_size=3, max_size=3), min_size=1, max_size=4),
       st.integers(2, 15))
def test_protect_leaves_no_line_with_a_small_suppressed_total(rows, min_cell):
    table = np.array(rows)
    mask = _protect(table, min_cell)
    assert np.all(mask[(table > 0) & (table < min_cell)])
    lines = [(table[i], mask[i]) for i in range(table.shape[0])]
    if table.shape[0] > 1:
        lines += [(table[:, j], mask[:, j]) for j in range(table.shape[1])]
    for values, masked in lines:
        total = values[masked].sum()
        left = np.any(~masked & (values > 0))
        assert total == 0 or total >= min_cell or not left
