"""Contract 4 v2's ``longitudinal_invariance`` (+ ``means_comparable``) and ``imputation`` per
scale in ``evaluate`` and the report (results/overtime.py).

The statistics themselves are tested against lavaan/semTools and mice::pool in
tests/test_longitudinal_invariance.py and tests/test_imputation.py; here: the blocks equal the
functions called directly, the withholding rules, the audit counting their ``n``, byte-for-byte
determinism, and the report's words in both languages.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval._io import canonical_json
from partnerschap_eval.evaluation.imputation import mi_paired_contrasts
from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.privacy.disclosure import audit, protect
from partnerschap_eval.psychometrics.longitudinal import (
    invariance_records,
    longitudinal_invariance,
    means_comparable,
)
from partnerschap_eval.report import presentation as pres
from partnerschap_eval.results import evaluate, json_ready
from partnerschap_eval.results.overtime import (
    IMPUTATION_KEYS,
    IMPUTATION_SWEEPS,
    IMPUTATIONS,
    imputation_block,
    imputation_seed,
    invariance_block,
)
from partnerschap_eval.scoring import reverse_key, score_scales, validate_responses
from partnerschap_eval.synth import StudyDesign, simulate_study

INST = load_instrument("partnerschap")
CONTRACT_STEP = {"step", "chi2", "df", "cfi", "tli", "rmsea", "srmr", "delta_cfi", "delta_rmsea"}
CONTRACT_MI = {"m", "estimate", "se", "df", "p", "ci95", "fmi"}


# ---------------------------------------------------------------------------------------------
# the blocks equal the functions called directly
# ---------------------------------------------------------------------------------------------
def test_the_blocks_have_the_contract_shape_and_the_functions_values(demo_study, demo_results):
    data = validate_responses(demo_study.responses, INST)
    keyed, scores = reverse_key(data, INST), score_scales(data, INST)
    waves = ["pre", "post"]
    for scale in INST.scales:
        block = demo_results["scales"][scale.id]
        steps = block["longitudinal_invariance"]
        assert [s["step"] for s in steps] == ["configural", "metric", "scalar"]
        assert all(CONTRACT_STEP <= set(s) for s in steps)
        res = longitudinal_invariance(keyed, list(scale.items), waves)
        for ours, direct in zip(steps, json_ready(invariance_records(res)), strict=True):
            assert {k: ours[k] for k in CONTRACT_STEP} == direct
            assert ours["n"] == res.configural.n
        assert steps[0]["supported"] is None and steps[0]["delta_cfi"] is None
        assert block["means_comparable"]["value"] == means_comparable(res)
        assert block["means_comparable"]["rule"]["delta_cfi_min"] == -0.01

        mi = block["imputation"]
        assert list(mi) == ["post-pre"]
        assert CONTRACT_MI <= set(mi["post-pre"])
        direct = mi_paired_contrasts(scores, scale.id, waves, m=IMPUTATIONS,
                                     n_iter=IMPUTATION_SWEEPS,
                                     seed=imputation_seed(scores, scale.id, waves))["post-pre"]
        assert {k: mi["post-pre"][k] for k in CONTRACT_MI} == json_ready(direct.to_record())
        assert mi["post-pre"]["m"] == IMPUTATIONS >= 20
        # n: everyone with a score at some wave (more than the complete pairs)
        assert mi["post-pre"]["n"] > block["paired"]["n"]


def test_the_demo_study_may_compare_its_means_and_imputation_agrees(demo_results):
    """The simulated items have the same loadings and intercepts at both waves, and dropout is
    at random: scalar invariance holds and the imputed change is near the complete-case one."""
    for block in demo_results["scales"].values():
        assert block["means_comparable"]["value"] == "comparable"
        mi, cc = block["imputation"]["post-pre"], block["paired"]
        assert abs(mi["estimate"] - cc["mean_diff"]) < cc["ci95"][1] - cc["ci95"][0]
        assert 0 < mi["fmi"] < 0.5 and mi["df"] < mi["n"] - 1


# ---------------------------------------------------------------------------------------------
# withholding
# ---------------------------------------------------------------------------------------------
def _items(n: int, waves=("pre", "post"), seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    return pd.concat([pd.DataFrame(0.8 * f + 0.5 * rng.normal(size=(n, 3)), columns=["a", "b", "c"])
                      .assign(respondent_id=[f"r{i}" for i in range(n)], wave=w) for w in waves])


def test_invariance_below_min_cell_is_withheld_with_its_reason():
    out = invariance_block(_items(9), ["a", "b", "c"], ["pre", "post"], min_cell=10)
    assert out["longitudinal_invariance"] is None
    assert out["longitudinal_invariance_reason"] == "suppressed: n < 10"
    assert out["means_comparable"]["value"] is None
    assert out["means_comparable"]["value_reason"] == "suppressed: n < 10"
    # the count is of respondents with every item at every wave: a missing item drops one
    data = _items(10)
    data.loc[(data["respondent_id"] == "r0") & (data["wave"] == "post"), "b"] = np.nan
    assert invariance_block(data, ["a", "b", "c"], ["pre", "post"], 10)[
        "longitudinal_invariance_reason"] == "suppressed: n < 10"


def test_invariance_too_small_to_fit_is_withheld_and_says_the_rule():
    # 3 items x 2 waves = 6 observed variables: 6 respondents cannot be fitted, 40 can
    out = invariance_block(_items(6), ["a", "b", "c"], ["pre", "post"], min_cell=5)
    assert out["longitudinal_invariance"] is None
    assert out["longitudinal_invariance_reason"].startswith("too few respondents to fit")
    assert "items x waves = 6" in out["longitudinal_invariance_reason"]
    ok = invariance_block(_items(40), ["a", "b", "c"], ["pre", "post"], min_cell=5)
    assert len(ok["longitudinal_invariance"]) == 3 and ok["longitudinal_invariance"][0]["n"] == 40


def _scores(pre: np.ndarray, post: np.ndarray, schools: int = 3) -> pd.DataFrame:
    n = len(pre)
    ids = [f"r{i}" for i in range(n)]
    return pd.DataFrame({"respondent_id": ids * 2, "school_id": [f"S{i % schools}" for i in
                                                                range(n)] * 2,
                         "wave": ["pre"] * n + ["post"] * n, "x": np.r_[pre, post]})


def test_imputation_below_min_cell_is_withheld():
    rng = np.random.default_rng(2)
    pre = rng.normal(3, 0.5, 9)
    s = _scores(pre, pre + 0.2)
    b = imputation_block(s, "x", ["pre", "post"], min_cell=10)["post-pre"]
    for key in IMPUTATION_KEYS:
        assert b[key] is None and b[f"{key}_reason"] == "suppressed: n < 10"


def test_imputation_with_few_complete_pairs_is_withheld_and_its_n_as_complementary():
    """40 with a first-wave score but 8 with both: the change rests on 8 people; the n of 40 is
    withheld too, or with the wave counts it would give the 8 away."""
    rng = np.random.default_rng(3)
    pre = rng.normal(3, 0.5, 40)
    post = np.where(np.arange(40) < 8, pre + 0.2, np.nan)
    b = imputation_block(_scores(pre, post), "x", ["pre", "post"], min_cell=10)["post-pre"]
    assert b["estimate"] is None and b["estimate_reason"] == "suppressed: n < 10"
    assert b["n"] is None and b["n_reason"] == "suppressed: n < 10 (complementary)"
    # with 12 pairs it is published
    post = np.where(np.arange(40) < 12, pre + 0.2, np.nan)
    b = imputation_block(_scores(pre, post), "x", ["pre", "post"], min_cell=10)["post-pre"]
    assert b["n"] == 40 and b["m"] == IMPUTATIONS and b["estimate"] is not None


def test_a_three_wave_run_withholds_only_the_contrast_with_few_pairs():
    rng = np.random.default_rng(4)
    n = 40
    pre = rng.normal(3, 0.5, n)
    mid = np.where(np.arange(n) < 6, pre + 0.1, np.nan)
    post = pre + 0.3 + rng.normal(0, 0.3, n)
    ids = [f"r{i}" for i in range(n)]
    s = pd.DataFrame({"respondent_id": ids * 3, "school_id": "S", "wave": np.repeat(
        ["pre", "mid", "post"], n), "x": np.r_[pre, mid, post]})
    out = imputation_block(s, "x", ["pre", "mid", "post"], min_cell=10)
    assert list(out) == ["mid-pre", "post-pre"]
    assert out["mid-pre"]["estimate"] is None
    assert out["post-pre"]["estimate"] == pytest.approx(0.3, abs=0.15)


def test_evaluate_withholds_both_blocks_with_a_large_min_cell(demo_study):
    res = evaluate(demo_study.responses, "partnerschap", min_cell=800, mixed=False)
    for block in res["scales"].values():
        assert block["longitudinal_invariance"] is None
        assert block["longitudinal_invariance_reason"] == "suppressed: n < 800"
        mi = block["imputation"]["post-pre"]
        assert mi["estimate"] is None and mi["estimate_reason"] == "suppressed: n < 800"


# ---------------------------------------------------------------------------------------------
# the audit counts their n
# ---------------------------------------------------------------------------------------------
def _hidden_pairs() -> dict:
    """50 at the first wave, 45 at the last, the 5 who took part at both withheld."""
    keys = ("n", "mean_pre", "mean_post", "mean_diff")
    hidden = {k: None for k in keys} | {f"{k}_reason": "suppressed: n < 10" for k in keys}
    return {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
            "min_cell": 10,
            "counts": {"pre": {"n": 50, "by_role": {"parent": 50}},
                       "post": {"n": 45, "by_role": {"parent": 45}}},
            "scales": {"s": {"paired": hidden, "by_role": {}}}}


def test_the_auditor_finds_pairs_given_away_by_the_imputation_n():
    r = _hidden_pairs()
    r["scales"]["s"]["imputation"] = {"post-pre": {
        "n": 90, "m": 50, "estimate": 0.2, "se": 0.1, "df": 30.5, "p": 0.04, "ci95": [0.0, 0.4],
        "fmi": 0.3, "method": "chained equations"}}
    assert audit(r).leaks, "50 + 45 - 90 = 5 pairs"
    fixed = protect(r)
    assert audit(fixed).ok
    # the smallest published number of the derivation goes (here the last wave's count)
    assert None in (fixed["counts"]["post"]["n"],
                    fixed["scales"]["s"]["imputation"]["post-pre"]["n"])
    # alone, the imputation's n gives nothing away
    del r["counts"]
    assert audit(r).ok


def test_the_auditor_finds_pairs_given_away_by_the_invariance_n():
    r = _hidden_pairs()
    r["scales"]["s"]["longitudinal_invariance"] = [
        {"step": s, "chi2": 1.0, "df": 5, "cfi": 1.0, "tli": 1.0, "rmsea": 0.0, "srmr": 0.01,
         "delta_cfi": None, "delta_rmsea": None, "n": 5, "supported": None}
        for s in ("configural", "metric", "scalar")]
    assert audit(r).leaks
    fixed = protect(r)
    assert audit(fixed).ok
    assert all(s["n"] is None and s["chi2"] is None
               for s in fixed["scales"]["s"]["longitudinal_invariance"])


# ---------------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_study() -> pd.DataFrame:
    return simulate_study(seed=7, design=StudyDesign(n_schools=8)).responses


def test_two_runs_give_the_same_bytes_whatever_the_global_random_state(small_study):
    np.random.seed(1)
    one = canonical_json(evaluate(small_study, "partnerschap", mixed=False))
    np.random.seed(2)
    np.random.random(100)
    two = canonical_json(evaluate(small_study.sample(frac=1.0, random_state=5),
                                  "partnerschap", mixed=False))
    assert one == two
    assert '"imputation"' in one and '"longitudinal_invariance"' in one


def test_the_seed_follows_the_data(small_study):
    scores = score_scales(validate_responses(small_study, INST), INST)
    seed = imputation_seed(scores, "reciprocity", ["pre", "post"])
    assert seed == imputation_seed(scores[::-1], "reciprocity", ["pre", "post"])
    assert seed != imputation_seed(scores, "two_way_communication", ["pre", "post"])
    changed = scores.copy()
    changed.loc[changed.index[0], "reciprocity"] += 0.25
    assert seed != imputation_seed(changed, "reciprocity", ["pre", "post"])


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------
def _results(verdict: str | None = "comparable", reason: str = "", waves=("pre", "post")) -> dict:
    waves = list(waves)
    steps = [{"step": s, "chi2": 30.0 + i, "df": 29 + 4 * i, "cfi": 0.991, "tli": 0.99,
              "rmsea": 0.021, "srmr": 0.02, "delta_cfi": None if i == 0 else -0.002,
              "delta_rmsea": None if i == 0 else 0.001, "n": 448,
              "supported": None if i == 0 else True}
             for i, s in enumerate(("configural", "metric", "scalar"))]
    mc = {"value": verdict, "reason": reason or "x",
          "rule": {"delta_cfi_min": -0.01, "delta_rmsea_max": 0.015,
                   "configural_cfi_min": 0.9, "configural_rmsea_max": 0.08}}
    if verdict is None:
        mc["value_reason"] = reason
    first = waves[0]
    mi = {f"{w}-{first}": {"m": 50, "estimate": 0.2281, "se": 0.027, "df": 501.0, "p": 1e-16,
                           "ci95": [0.1755, 0.2806], "fmi": 0.152, "n": 765}
          for w in waves[1:]}
    block = {"paired": {"n": 604, "mean_diff": 0.2182, "ci95": [0.165, 0.271]},
             "mixed_model": {"wave_effect": 0.2234, "ci95": [0.17, 0.28]},
             "longitudinal_invariance": steps if verdict else None,
             "means_comparable": mc, "imputation": mi}
    if len(waves) > 2:
        block["contrasts"] = {f"{w}-{first}": {"paired": {"n": 500, "mean_diff": 0.1,
                                                          "ci95": [0.05, 0.15]}}
                              for w in waves[1:-1]}
    return {"waves": waves, "compared": {"first": first, "last": waves[-1]}, "min_cell": 10,
            "scales": {"reciprocity": block}}


def test_the_sections_appear_only_when_the_results_have_the_blocks():
    assert "over_time" in pres.project_sections(_results())
    assert pres.has_imputation(_results())
    old = _results()
    for key in ("longitudinal_invariance", "means_comparable", "imputation"):
        del old["scales"]["reciprocity"][key]
    assert "over_time" not in pres.project_sections(old)
    assert not pres.has_imputation(old)
    assert pres.over_time_table(old, INST, "nl").empty
    assert pres.imputation_table(old, INST, "nl").empty


@pytest.mark.parametrize("verdict, nl, en", [
    ("comparable", "mogen vergeleken worden", "can be compared"),
    ("intercepts_differ", "voorzichtig", "with caution"),
    ("loadings_differ", "lastig te duiden", "hard to interpret"),
    ("configural_misfit", "valt niet vast te stellen", "cannot be established"),
    ("not_converged", "geen oordeel", "no verdict"),
])
def test_the_verdict_in_plain_words_in_both_languages(verdict, nl, en):
    r = _results(verdict)
    nl_text = pres.over_time_sentences(r, INST, "nl")[0]
    en_text = pres.over_time_sentences(r, INST, "en")[0]
    assert nl in nl_text and "<strong>Wederkerigheid</strong>" in nl_text
    assert en in en_text and "<strong>Reciprocity</strong>" in en_text
    if verdict in ("comparable", "intercepts_differ", "loadings_differ"):
        assert "voormeting en nameting" in nl_text and "pre-test and post-test" in en_text


@pytest.mark.parametrize("reason, nl, en", [
    ("suppressed: n < 10", "minder dan 10 personen", "fewer than 10"),
    ("too few respondents to fit: ...", "te weinig personen", "too few people"),
    ("model could not be fitted: singular", "kon niet worden geschat", "could not be fitted"),
])
def test_a_withheld_verdict_says_why(reason, nl, en):
    r = _results(None, reason)
    assert nl in pres.over_time_sentences(r, INST, "nl")[0]
    assert en in pres.over_time_sentences(r, INST, "en")[0].lower()
    assert pres.over_time_table(r, INST, "nl").empty


def test_the_fit_table_and_rule_are_formatted_per_language():
    r = _results()
    nl, en = pres.over_time_table(r, INST, "nl"), pres.over_time_table(r, INST, "en")
    assert nl["CFI"].tolist() == ["0,991"] * 3 and en["CFI"].tolist() == ["0.991"] * 3
    assert nl["Gelijkwaardig?"].tolist() == ["–", "ja", "ja"]
    assert en["ΔCFI"].tolist()[1] == "−0.002"
    assert "CFI ten minste 0,90" in pres.over_time_html(r, INST, "nl")
    assert "CFI at least 0.90" in pres.over_time_html(r, INST, "en")


def test_the_imputation_sits_beside_complete_pairs_and_the_mixed_model():
    nl = pres.imputation_table(_results(), INST, "nl").iloc[0]
    assert nl["Complete paren"] == "0,22 [0,17; 0,27]"
    assert nl["Multilevelmodel"] == "0,22 [0,17; 0,28]"
    assert nl["Na imputatie"] == "0,23 [0,18; 0,28]"
    assert nl["FMI"] == "15%" and nl["n imputatie"] == "765"
    en = pres.imputation_table(_results(), INST, "en").iloc[0]
    assert en["After imputation"] == "0.23 [0.18, 0.28]"
    assert "50 keer" in pres.imputation_html(_results(), "nl")
    assert "50 times" in pres.imputation_html(_results(), "en")
    # three waves: one row per later wave; the mixed model compares the first and last only
    three = pres.imputation_table(_results(waves=("T0", "T1", "T2")), INST, "en")
    assert three["Wave"].tolist() == ["T1", "T2"]
    assert three["Multilevel model"].tolist()[0] == "–"
    assert three["Complete pairs"].tolist()[0] == "0.10 [0.05, 0.15]"
    # withheld: dashes
    r = _results()
    r["scales"]["reciprocity"]["imputation"]["post-pre"] = {k: None for k in IMPUTATION_KEYS}
    assert pres.imputation_table(r, INST, "nl").iloc[0]["Na imputatie"] == "–"


def test_the_report_does_not_mutate_the_results():
    r = _results()
    before = copy.deepcopy(r)
    for lang in ("nl", "en"):
        pres.over_time_html(r, INST, lang)
        pres.over_time_table(r, INST, lang)
        pres.imputation_table(r, INST, lang)
    assert r == before


@pytest.mark.slow
def test_the_demo_report_shows_both(demo_dir):
    import json

    page = (demo_dir / "report" / "index.html").read_text(encoding="utf-8")
    results = json.loads((demo_dir / "report" / "results.json").read_text(encoding="utf-8"))
    assert "id='over_time'" in page or 'id="over_time"' in page
    assert "Meten over de tijd" in page and "Gevoeligheid voor uitval" in page
    for block in results["scales"].values():
        assert block["means_comparable"]["value"] == "comparable"
        assert pres.fmt_number(block["imputation"]["post-pre"]["estimate"], "nl") in page
