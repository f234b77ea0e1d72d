"""Contract 4 v2 contrasts beyond "every later wave against the first" (issue 17, "Waves"):
the wave model's ``contrasts.<w>-<first>.mixed`` (every row of every wave), the consecutive
contrasts of ``consecutive=True`` (``contrasts.<w_k>-<w_k-1>``), and the disclosure audit of a
contrast between two later waves (a small group hidden there stays hidden).

References are independent of the results layer: ``scipy.stats.ttest_rel`` on scores computed
here, statsmodels' Benjamini-Hochberg, and the wave model checked against lme4 + lmerTest in
``tests/test_waves_model.py``."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from test_waves_results import (
    BIG,
    ROLES,
    SCALES,
    WAVES,
    _json,
    _scores,
    eleven_parents_on_sdm,
    minus,
    published,
    role_n,
    three_wave_study,
)

from partnerschap_eval.evaluation.waves import wave_mixed_model
from partnerschap_eval.instruments import resolve
from partnerschap_eval.privacy.disclosure import audit
from partnerschap_eval.results import evaluate
from partnerschap_eval.results.scales import _wave_mixed_blocks
from partnerschap_eval.scoring import score_scales

PRIMARY = "suppressed: n < 10"


@pytest.fixture(scope="module")
def big() -> tuple[pd.DataFrame, dict]:
    data = three_wave_study(BIG, seed=3)
    return data, _json(evaluate(data, "partnerschap", waves=WAVES, min_cell=10, mixed=False,
                                consecutive=True))


# ---------------------------------------------------------------------------------------------
# consecutive contrasts
# ---------------------------------------------------------------------------------------------
def test_consecutive_adds_the_pairs_that_are_not_there_yet(big):
    _, res = big
    for s in res["scales"].values():
        assert list(s["contrasts"]) == ["mid-pre", "post-pre", "post-mid"]
    four = three_wave_study({("parent", "A"): {"pre+mid+post": 12}}).replace(
        {"wave": {"mid": "m2"}})
    extra = three_wave_study({("parent", "A"): {"pre+mid+post": 12}}, seed=4)
    extra = extra[extra["wave"] == "mid"]
    data = pd.concat([four, extra])
    res4 = _json(evaluate(data, "partnerschap", waves=["pre", "mid", "m2", "post"],
                          min_cell=10, mixed=False, consecutive=True))
    assert list(res4["scales"][SCALES[0]]["contrasts"]) == [
        "mid-pre", "m2-pre", "post-pre", "m2-mid", "post-m2"]


def test_without_the_setting_there_are_no_consecutive_contrasts(big):
    data, _ = big
    res = _json(evaluate(data, "partnerschap", waves=WAVES, min_cell=10, mixed=False))
    assert list(res["scales"][SCALES[0]]["contrasts"]) == ["mid-pre", "post-pre"]


def test_a_consecutive_contrast_is_the_paired_t_test_of_its_pairs(big):
    data, res = big
    scores = _scores(data)
    for sid in SCALES:
        for role in [None, *ROLES]:
            part = scores if role is None else scores[scores["role"] == role]
            mid = part[part["wave"] == "mid"].set_index("respondent_id")[sid].dropna()
            post = part[part["wave"] == "post"].set_index("respondent_id")[sid].dropna()
            both = pd.concat([mid.rename("mid"), post.rename("post")], axis=1, join="inner")
            c = res["scales"][sid]["contrasts"]["post-mid"]
            got = c["paired"] if role is None else c["by_role"][role]["paired"]
            if got["n"] is None:      # a role block withheld (complementary) stays withheld
                assert got["n_reason"].startswith(PRIMARY), (sid, role)
                continue
            ref = stats.ttest_rel(both["post"], both["mid"])
            assert got["n"] == len(both), (sid, role)
            assert got["mean_pre"] == pytest.approx(both["mid"].mean(), rel=1e-9)
            assert got["mean_post"] == pytest.approx(both["post"].mean(), rel=1e-9)
            assert got["t"] == pytest.approx(ref.statistic, rel=1e-8)
            assert got["p"] == pytest.approx(ref.pvalue, rel=1e-7)


def test_p_adj_of_a_consecutive_contrast_is_bh_across_the_scales(big):
    _, res = big
    blocks = [res["scales"][sid]["contrasts"]["post-mid"]["paired"] for sid in SCALES]
    ref = multipletests([b["p"] for b in blocks], method="fdr_bh")[1]
    assert [b["p_adj"] for b in blocks] == pytest.approx(list(ref), rel=1e-8)


def test_the_last_contrast_reuses_the_v1_blocks(big):
    """Computed once: equal to the v1 blocks, and not the same objects (the disclosure step may
    withhold one of them on its own)."""
    data, _ = big
    res = evaluate(data, "partnerschap", waves=WAVES, min_cell=10, mixed=False)
    for s in res["scales"].values():
        c = s["contrasts"]["post-pre"]
        assert c["paired"] == s["paired"] and c["paired"] is not s["paired"]
        for role in ROLES:
            assert c["by_role"][role]["paired"] == s["by_role"][role]["paired"]


# ---------------------------------------------------------------------------------------------
# the wave model in the results
# ---------------------------------------------------------------------------------------------
def test_the_mixed_block_is_the_wave_model_of_all_rows(big):
    data, _ = big
    sc = score_scales(data, resolve("partnerschap"))
    pairs = [("mid", "pre"), ("post", "pre"), ("post", "mid")]
    blocks = _wave_mixed_blocks(sc, "reciprocity", WAVES, pairs, 10)
    m = wave_mixed_model(sc, "reciprocity", WAVES, pairs=pairs)
    assert list(blocks) == ["mid-pre", "post-pre", "post-mid"]
    for row in m.effects.itertuples():
        b = blocks[row.contrast]
        assert b["estimate"] == row.estimate and b["df"] == row.df and b["p"] == row.p
        assert b["ci95"] == [row.ci_low, row.ci_high]
        # every row of every wave: more than the pairs of the contrast
        assert b["n_obs"] == int(sc["reciprocity"].notna().sum()) == m.n_obs
        assert b["n_respondents"] == sc.loc[sc["reciprocity"].notna(),
                                            "respondent_id"].nunique()
        assert b["n_schools"] == 3 and b["converged"] is True
        assert b["formula"].startswith("reciprocity ~ wave + role + (1 | school_id)")
        assert "Satterthwaite" in b["method"]


def test_a_small_wave_withholds_the_wave_model():
    groups = {("parent", "A"): {"pre+post": 30, "pre+mid+post": 6},
              ("parent", "B"): {"pre+post": 20}}
    res = _json(evaluate(three_wave_study(groups), "partnerschap", waves=WAVES, min_cell=10,
                         mixed=True))
    for name in ("mid-pre", "post-pre"):
        mb = res["scales"][SCALES[0]]["contrasts"][name]["mixed"]
        assert mb["estimate"] is None and mb["estimate_reason"] == PRIMARY
        assert mb["df"] is None and mb["p_reason"] == PRIMARY
        # its counts would give the small wave away (rows minus the other waves' counts)
        assert mb["n_obs_reason"] == f"{PRIMARY} (complementary)"
    assert audit(res, 10).ok


def test_one_school_gives_no_wave_model():
    groups = {("parent", "A"): {"pre+mid+post": 30}}
    sc = score_scales(three_wave_study(groups), resolve("partnerschap"))
    blocks = _wave_mixed_blocks(sc, "reciprocity", WAVES, [("mid", "pre")], 10)
    assert blocks["mid-pre"]["estimate_reason"] == "fewer than two schools"


@pytest.mark.slow
def test_the_whole_run_publishes_the_wave_model_and_passes_the_audit(big):
    data, _ = big
    res = _json(evaluate(data, "partnerschap", waves=WAVES, min_cell=10, consecutive=True))
    for s in res["scales"].values():
        for name in ("mid-pre", "post-pre", "post-mid"):
            mb = s["contrasts"][name]["mixed"]
            assert mb["estimate"] is not None and mb["df"] > 100
            assert mb["n_obs"] == s["contrasts"]["mid-pre"]["mixed"]["n_obs"]
    assert audit(res, 10).ok


# ---------------------------------------------------------------------------------------------
# the attacker: 4 teachers paired between the middle and the last wave
# ---------------------------------------------------------------------------------------------
#: 4 teachers are present at the middle and the last wave (and the first); 14 more at the first
#: and middle, 12 more at the first and last: every other contrast and count has 12 or more
#: teachers, only ``post-mid`` rests on 4. At the last wave 64 of the 75 parents skip shared
#: decision making, so on that scale the parents (11 pairs) are the next smallest role of
#: ``post-mid`` and the youth workers (12) are shown; on the others the youth workers are
#: withheld next to the teachers.
SECRET = 4
SMALL = {**{("parent", s): {"pre+mid+post": 25, "pre+mid": 5} for s in ("A", "B", "C")},
         ("teacher", "A"): {"pre+mid+post": SECRET, "pre+mid": 14, "pre+post": 12},
         ("youthworker", "B"): {"pre+mid+post": 12}}


def _small(unprotected: bool) -> dict:
    return published(eleven_parents_on_sdm(three_wave_study(SMALL), "post"), unprotected,
                     mixed=False, consecutive=True)


def attacks(res: dict) -> dict[str, int | None]:
    """Ways the published numbers give the teachers paired between the middle and last wave."""
    rec, sdm = res["scales"]["reciprocity"], res["scales"]["shared_decision_making"]
    c_rec, c_sdm = rec["contrasts"]["post-mid"], sdm["contrasts"]["post-mid"]
    return {
        "pairs - parents - youth workers of the other scale": minus(
            c_rec["paired"].get("n"), role_n(c_rec, "parent"), role_n(c_sdm, "youthworker")),
        "the other scale's pairs - its parents - youth workers": minus(
            c_sdm["paired"].get("n"), role_n(c_sdm, "parent"), role_n(c_sdm, "youthworker")),
    }


def test_the_teachers_come_back_from_a_later_contrast_without_the_disclosure_step():
    res = _small(unprotected=True)
    c = res["scales"]["reciprocity"]["contrasts"]["post-mid"]
    assert c["by_role"]["teacher"]["paired"]["n_reason"] == PRIMARY
    assert SECRET in attacks(res).values(), attacks(res)
    # the audit models the contrast between two later waves, so it finds the leak
    leaks = {path for leak in audit(res, 10).leaks for path in leak.paths}
    assert "scales.reciprocity.contrasts.post-mid.by_role.teacher.paired.n" in leaks, leaks


def test_no_attack_recovers_them_after_the_disclosure_step():
    res = _small(unprotected=False)
    assert audit(res, 10).ok
    found = attacks(res)
    assert SECRET not in found.values(), found
    for sid in SCALES:
        c = res["scales"][sid]["contrasts"]["post-mid"]
        assert c["by_role"]["teacher"]["paired"]["n"] is None
        assert c["paired"]["n"] is not None
        # the teachers of the other contrasts are many and stay published
        assert res["scales"][sid]["contrasts"]["mid-pre"]["by_role"]["teacher"]["paired"][
            "n"] == 18


def test_json_round_trip(big):
    _, res = big
    assert json.loads(json.dumps(res)) == res


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------
def _with_model(res: dict) -> dict:
    """``res`` with made-up wave-model blocks (the numbers only need to show)."""
    res = copy.deepcopy(res)
    for k, s in enumerate(res["scales"].values()):
        for i, c in enumerate(s["contrasts"].values()):
            c["mixed"] = {"estimate": 0.1 * (i + 1) + 0.01 * k, "ci95": [0.01, 0.5],
                          "df": 212.345, "p": 0.0123, "se": 0.05}
    return res


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_waves_section_shows_the_model_beside_the_paired_change(big, lang):
    from partnerschap_eval.report import presentation as pres

    inst = resolve("partnerschap")
    res = _with_model(big[1])
    table = pres.wave_contrasts_table(res, inst, lang)
    col = {k: pres.t(f"report.col.{k}", lang)
           for k in ("comparison", "n_pairs", "diff", "model_diff", "model_ci", "model_df",
                     "model_p")}
    assert "report.col" not in " ".join(table.columns)
    assert len(table) == len(SCALES) * 3
    first = table.iloc[:3]
    assert list(first[col["comparison"]]) == [
        pres.t("report.waves.contrast", lang, later=pres.wave_label(a, lang),
               earlier=pres.wave_label(b, lang))
        for a, b in (("mid", "pre"), ("post", "pre"), ("post", "mid"))]
    s = res["scales"][SCALES[0]]
    for row, name in zip(first.itertuples(index=False), ("mid-pre", "post-pre", "post-mid"),
                         strict=True):
        row = dict(zip(table.columns, row, strict=True))
        c = s["contrasts"][name]
        assert row[col["n_pairs"]] == str(c["paired"]["n"])
        assert row[col["diff"]] == pres.fmt_number(c["paired"]["mean_diff"], lang)
        assert row[col["model_diff"]] == pres.fmt_number(c["mixed"]["estimate"], lang)
        assert row[col["model_ci"]] == pres.fmt_ci([0.01, 0.5], lang)
        assert row[col["model_df"]] == pres.fmt_number(212.345, lang, 1)
        assert row[col["model_p"]] == pres.fmt_p(0.0123, lang)
    caption = pres.t("report.waves.contrasts_caption", lang)
    assert caption and "report." not in caption


@pytest.mark.slow
def test_consecutive_rows_and_the_model_show_only_when_present(big):
    from partnerschap_eval.report import presentation as pres

    inst = resolve("partnerschap")
    data, _ = big
    plain = _json(evaluate(data, "partnerschap", waves=WAVES, min_cell=10, mixed=False))
    table = pres.wave_contrasts_table(plain, inst, "en")
    assert len(table) == len(SCALES) * 2            # no post-mid without the setting
    # not requested: the model's cells are dashes, the paired ones are shown
    assert set(table["Model: difference"]) == {"–"}
    assert "–" not in set(table["Difference"])
    two = _json(evaluate(data[data["wave"] != "mid"], "partnerschap", waves=["pre", "post"],
                         min_cell=10, mixed=False))
    assert pres.wave_contrasts_table(two, inst, "en").empty
