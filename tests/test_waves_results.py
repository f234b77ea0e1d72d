"""Contract 4 v2 per wave and per contrast (issue 17, "Waves"): a run with three waves publishes
every wave's descriptives and the paired contrast of every later wave against the first, and
the disclosure step keeps a small group of the middle wave from coming back by subtraction.

References are independent of the package: scores are item means computed here, the paired test
is ``scipy.stats.ttest_rel``, the adjustment ``statsmodels``' Benjamini-Hochberg."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from partnerschap_eval.instruments import resolve
from partnerschap_eval.privacy import disclosure
from partnerschap_eval.privacy.disclosure import audit
from partnerschap_eval.results import evaluate

WAVES = ["pre", "mid", "post"]
SHIFT = {"pre": 0.0, "mid": 0.25, "post": 0.45}
INST = resolve("partnerschap")
ITEMS = list(INST.item_ids)
SCALES = [s.id for s in INST.scales]
ROLES = ["parent", "teacher", "youthworker"]


def three_wave_study(groups: dict[tuple[str, str], dict[str, int]], seed: int = 1
                     ) -> pd.DataFrame:
    """Complete answers of ``groups``: (role, school) -> {"pre+mid+post": people, ...}, each
    person present at the waves of the key; everyone changes at their own rate."""
    rng = np.random.default_rng(seed)
    rows = []
    for (role, school), patterns in groups.items():
        for pattern, count in patterns.items():
            present = pattern.split("+")
            for k in range(count):
                level, slope = rng.normal(3.2, 0.6), rng.normal(1.0, 0.8)
                for wave in WAVES:
                    if wave in present:
                        y = level + slope * SHIFT[wave] + rng.normal(0, 0.7, len(ITEMS))
                        rows.append({"respondent_id": f"{role}-{school}-{pattern}-{k}",
                                     "wave": wave, "role": role, "school_id": school,
                                     **dict(zip(ITEMS, np.clip(np.rint(y), 1, 5), strict=True))})
    return pd.DataFrame(rows)


def _json(results: dict) -> dict:
    return json.loads(json.dumps(results))


def _scores(data: pd.DataFrame) -> pd.DataFrame:
    """Scale scores computed here: the mean of the items, reverse-keyed ones turned around."""
    lo, hi = INST.response_scale.min, INST.response_scale.max
    out = data[["respondent_id", "wave", "role"]].copy()
    for scale in INST.scales:
        keyed = pd.DataFrame({i: (lo + hi - data[i]) if INST.item(i).reverse else data[i]
                              for i in scale.items})
        out[scale.id] = keyed.mean(axis=1)
    return out


# ---------------------------------------------------------------------------------------------
# the numbers
# ---------------------------------------------------------------------------------------------
BIG = {**{("parent", s): {"pre+mid+post": 22, "pre+post": 5, "pre+mid": 4, "mid+post": 3}
          for s in ("A", "B", "C")},
       ("teacher", "A"): {"pre+mid+post": 14, "pre+post": 2},
       ("youthworker", "B"): {"pre+mid+post": 12, "pre+mid": 1}}


@pytest.fixture(scope="module")
def big() -> tuple[pd.DataFrame, dict]:
    data = three_wave_study(BIG, seed=3)
    return data, _json(evaluate(data, "partnerschap", waves=WAVES, min_cell=10, mixed=False))


def test_two_waves_publish_no_waves_or_contrasts(big):
    data, _ = big
    two = _json(evaluate(data[data["wave"] != "mid"], "partnerschap", waves=["pre", "post"],
                         min_cell=10, mixed=False))
    for s in two["scales"].values():
        assert "waves" not in s and "contrasts" not in s


def test_schema_v2_lists_the_waves_in_declared_order(big):
    """Contract 4 v2: ``waves`` is the declared order (not the alphabetical one, which a JSON
    object's sorted keys would give: mid, post, pre), ``compared`` the pair the v1 keys use."""
    from partnerschap_eval._io import canonical_json

    _, res = big
    written = json.loads(canonical_json(res))
    assert written["schema"] == "partnerschap-eval/results/v2"
    assert written["waves"] == ["pre", "mid", "post"] != sorted(WAVES)
    assert written["compared"] == {"first": "pre", "last": "post"}


def test_the_last_contrast_is_the_first_versus_last_paired_block(big):
    _, res = big
    for sid, s in res["scales"].items():
        c = s["contrasts"]["post-pre"]
        assert c["paired"] == s["paired"], sid
        for role in ROLES:
            assert c["by_role"][role]["paired"] == s["by_role"][role]["paired"], (sid, role)
    assert set(res["scales"][SCALES[0]]["contrasts"]) == {"mid-pre", "post-pre"}


def test_a_middle_contrast_is_the_paired_t_test_of_its_pairs(big):
    data, res = big
    scores = _scores(data)
    for sid in SCALES:
        for role in [None, *ROLES]:
            part = scores if role is None else scores[scores["role"] == role]
            pre = part[part["wave"] == "pre"].set_index("respondent_id")[sid].dropna()
            mid = part[part["wave"] == "mid"].set_index("respondent_id")[sid].dropna()
            both = pd.concat([pre.rename("pre"), mid.rename("mid")], axis=1, join="inner")
            ref = stats.ttest_rel(both["mid"], both["pre"])
            c = res["scales"][sid]["contrasts"]["mid-pre"]
            got = c["paired"] if role is None else c["by_role"][role]["paired"]
            assert got["n"] == len(both), (sid, role)
            assert got["mean_pre"] == pytest.approx(both["pre"].mean(), rel=1e-9)
            assert got["mean_post"] == pytest.approx(both["mid"].mean(), rel=1e-9)
            assert got["mean_diff"] == pytest.approx((both["mid"] - both["pre"]).mean(),
                                                     rel=1e-9, abs=1e-12)
            assert got["t"] == pytest.approx(ref.statistic, rel=1e-8)
            assert got["df"] == pytest.approx(ref.df)
            assert got["p"] == pytest.approx(ref.pvalue, rel=1e-7)


def test_every_wave_has_its_descriptives(big):
    data, res = big
    scores = _scores(data)
    for sid in SCALES:
        assert list(res["scales"][sid]["waves"]) == WAVES
        for wave in WAVES:
            x = scores.loc[scores["wave"] == wave, sid].dropna()
            got = res["scales"][sid]["waves"][wave]
            assert got["n"] == len(x)
            assert got["mean"] == pytest.approx(x.mean(), rel=1e-9)
            assert got["sd"] == pytest.approx(x.std(ddof=1), rel=1e-9)


def test_p_adj_is_benjamini_hochberg_across_the_scales_of_one_contrast(big):
    _, res = big
    for name in ("mid-pre", "post-pre"):
        for role in [None, *ROLES]:
            blocks = [res["scales"][sid]["contrasts"][name] for sid in SCALES]
            blocks = [b["paired"] if role is None else b["by_role"][role]["paired"]
                      for b in blocks]
            ref = multipletests([b["p"] for b in blocks], method="fdr_bh")[1]
            assert [b["p_adj"] for b in blocks] == pytest.approx(list(ref), rel=1e-8)


def test_a_small_middle_wave_is_withheld_with_its_reason():
    groups = {("parent", "A"): {"pre+post": 30, "pre+mid+post": 6}}
    res = _json(evaluate(three_wave_study(groups), "partnerschap", waves=WAVES, min_cell=10,
                         mixed=False))
    s = res["scales"][SCALES[0]]
    assert s["waves"]["mid"] == {"n": None, "n_reason": "suppressed: n < 10", "mean": None,
                                 "mean_reason": "suppressed: n < 10", "sd": None,
                                 "sd_reason": "suppressed: n < 10"}
    assert s["contrasts"]["mid-pre"]["paired"]["n_reason"] == "suppressed: n < 10"
    assert s["waves"]["pre"]["n"] == 36


# ---------------------------------------------------------------------------------------------
# the attacker: 4 teachers at the middle wave
# ---------------------------------------------------------------------------------------------
#: 4 teachers answer the middle wave (all of them the first wave too): a group below min_cell.
#: At the middle wave 64 of the 75 parents skip every item of shared decision making, so on that
#: scale the parents (11 pairs) are the next smallest role of the contrast and the youth workers
#: (12) are shown -- on the other scales the youth workers are the next smallest and withheld.
SECRET = 4
SMALL = {**{("parent", s): {"pre+mid+post": 25, "pre+post": 5} for s in ("A", "B", "C")},
         ("teacher", "A"): {"pre+mid+post": SECRET, "pre+post": 16},
         ("youthworker", "B"): {"pre+mid+post": 12}}


def eleven_parents_on_sdm(data: pd.DataFrame, wave: str) -> pd.DataFrame:
    """Only 11 parents answer shared decision making at ``wave`` (the rest skip its items)."""
    sdm = [i for i in ITEMS if i.startswith("sdm")]
    parents = data.index[(data["wave"] == wave) & (data["role"] == "parent")]
    data.loc[parents[11:], sdm] = np.nan
    return data


def published(data: pd.DataFrame, unprotected: bool, **options) -> dict:
    """results.json of ``data`` (min_cell 10), with or without the disclosure step."""
    with pytest.MonkeyPatch.context() as mp:
        if unprotected:
            mp.setattr(disclosure, "protect", lambda r, *a, **k: copy.deepcopy(r))
            mp.setattr("partnerschap_eval.results.scales.protect", lambda r, *a, **k: r)
        return _json(evaluate(data, "partnerschap", waves=WAVES, min_cell=10, **options))


def minus(total, *parts):
    """``total - sum(parts)``, or None when one of them is withheld."""
    values = [total, *parts]
    return None if any(v is None for v in values) else round(total - sum(parts))


def role_n(contrast: dict, role: str):
    """The pairs of one role in a contrast (None when withheld)."""
    return contrast["by_role"][role]["paired"].get("n")


def _small(unprotected: bool) -> dict:
    return published(eleven_parents_on_sdm(three_wave_study(SMALL), "mid"), unprotected)


def attacks(res: dict) -> dict[str, int | None]:
    """Ways the published wave n's and contrast n's give the teachers of the middle wave
    (everyone at the middle wave answered the first one too, which an attacker may know)."""
    rec = res["scales"]["reciprocity"]
    sdm = res["scales"]["shared_decision_making"]
    c_rec, c_sdm = rec["contrasts"]["mid-pre"], sdm["contrasts"]["mid-pre"]
    return {
        "pairs - parents - youth workers of the other scale": minus(
            c_rec["paired"].get("n"), role_n(c_rec, "parent"), role_n(c_sdm, "youthworker")),
        "middle wave - parents - youth workers of the other scale": minus(
            rec["waves"]["mid"].get("n"), role_n(c_rec, "parent"), role_n(c_sdm, "youthworker")),
        "counts of the middle wave - parents - youth workers of the other scale": minus(
            res["counts"]["mid"].get("n"), res["counts"]["mid"]["by_role"].get("parent"),
            role_n(c_sdm, "youthworker")),
    }


def test_the_middle_wave_teachers_come_back_without_the_disclosure_step():
    res = _small(unprotected=True)
    c = res["scales"]["reciprocity"]["contrasts"]["mid-pre"]
    # primary suppression alone withholds the teachers' pairs and their count at the wave ...
    assert c["by_role"]["teacher"]["paired"]["n_reason"] == "suppressed: n < 10"
    assert res["counts"]["mid"]["by_role"]["teacher_reason"] == "suppressed: n < 10"
    # ... and they come back by subtraction, and the audit finds it
    assert SECRET in attacks(res).values(), attacks(res)
    leaks = {path for leak in audit(res, 10).leaks for path in leak.paths}
    assert "scales.reciprocity.contrasts.mid-pre.by_role.teacher.paired.n" in leaks


def test_no_attack_recovers_the_middle_wave_teachers_after_the_disclosure_step():
    res = _small(unprotected=False)
    assert audit(res, 10).ok
    found = attacks(res)
    assert SECRET not in found.values(), found
    for sid in SCALES:
        c = res["scales"][sid]["contrasts"]["mid-pre"]
        assert c["by_role"]["teacher"]["paired"]["n"] is None
        # the wave's own numbers and the contrast of all roles stay published
        assert res["scales"][sid]["waves"]["mid"]["n"] is not None
        assert c["paired"]["n"] is not None


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_project_report_shows_every_wave_only_when_the_results_have_them(big, lang):
    from partnerschap_eval.report import presentation as pres

    data, res = big
    assert "waves" in pres.project_sections(res)
    table = pres.waves_table(res, INST, lang)
    assert len(table) == len(SCALES) * len(WAVES)
    col = {k: pres.t(f"report.col.{k}", lang) for k in ("wave", "n", "n_pairs", "diff")}
    first_scale = table.iloc[:len(WAVES)]
    assert list(first_scale[col["wave"]]) == [pres.wave_head(w, lang) for w in WAVES]
    s = res["scales"][SCALES[0]]
    assert list(first_scale[col["n"]]) == [str(s["waves"][w]["n"]) for w in WAVES]
    # the first wave has no change; a later one its contrast with the first
    assert first_scale[col["n_pairs"]].iloc[0] == ""
    assert first_scale[col["n_pairs"]].iloc[1] == str(s["contrasts"]["mid-pre"]["paired"]["n"])
    assert first_scale[col["diff"]].iloc[2] == pres.fmt_number(
        s["contrasts"]["post-pre"]["paired"]["mean_diff"], lang)
    title = pres.section("waves", lang, **pres.text_params(res, INST, lang))
    assert "report.section" not in title and pres.wave_label("pre", lang) in title

    two = _json(evaluate(data[data["wave"] != "mid"], "partnerschap", waves=["pre", "post"],
                         min_cell=10, mixed=False))
    assert "waves" not in pres.project_sections(two)
    assert pres.waves_table(two, INST, lang).empty
