"""School pages with three or more waves (issue 17, "Waves"): the parents' response at every
declared wave and the change of each later wave against the first, per school -- and the
disclosure audit of a school's middle wave (a small group there stays hidden)."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from scipy import stats
from test_waves_results import SCALES, WAVES, _json, _scores, three_wave_study

from partnerschap_eval.instruments import resolve
from partnerschap_eval.privacy.disclosure import audit, protect
from partnerschap_eval.results import evaluate
from partnerschap_eval.results.scales import json_ready
from partnerschap_eval.results.schools import school_results
from partnerschap_eval.scoring import score_scales

INST = resolve("partnerschap")
PRIMARY = "suppressed: n < 10"
#: school A has 4 parents at the middle wave (all of them at the first one too)
SECRET = 4
GROUPS = {("parent", "A"): {"pre+mid+post": SECRET, "pre+post": 20},
          ("parent", "B"): {"pre+mid+post": 18, "pre+post": 3},
          ("parent", "C"): {"pre+mid+post": 15, "pre+mid": 2},
          ("teacher", "A"): {"pre+mid+post": 12}}


def _run(data: pd.DataFrame, unprotected: bool = False) -> dict:
    """As the report builds it: evaluate, the school blocks, one disclosure step."""
    res = evaluate(data, INST, waves=WAVES, min_cell=10, mixed=False)
    scores = score_scales(data, INST)
    res["schools"] = json_ready(school_results(scores, INST, "pre", "post", 10, waves=WAVES))
    return _json(res if unprotected else protect(res, 10))


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return three_wave_study(GROUPS, seed=5)


def _key(res: dict, name: str) -> str:
    return next(k for k, v in res["schools"].items() if v["name"] == name)


def test_every_wave_has_its_response_and_every_later_wave_its_change(data):
    scores = score_scales(data, INST)
    out = school_results(scores, INST, "pre", "post", 10, waves=WAVES)
    b = out[next(k for k, v in out.items() if v["name"] == "B")]
    assert list(b["n_parents"]) == WAVES
    assert b["n_parents"] == {"pre": 21, "mid": 18, "post": 21}
    assert list(b["contrasts"]) == ["mid-pre", "post-pre"]
    mine = _scores(data[(data["school_id"] == "B") & (data["role"] == "parent")])
    for sid in SCALES:
        pre = mine[mine["wave"] == "pre"].set_index("respondent_id")[sid]
        mid = mine[mine["wave"] == "mid"].set_index("respondent_id")[sid]
        both = pd.concat([pre.rename("pre"), mid.rename("mid")], axis=1, join="inner")
        ref = stats.ttest_rel(both["mid"], both["pre"])
        got = b["contrasts"]["mid-pre"][sid]
        assert got["n"] == len(both) == 18
        assert got["mean_diff"] == pytest.approx((both["mid"] - both["pre"]).mean(), rel=1e-9)
        half = (got["ci95"][1] - got["ci95"][0]) / 2
        assert got["mean_diff"] / half * stats.t.ppf(0.975, len(both) - 1) == pytest.approx(
            ref.statistic, rel=1e-8)
        # the last wave's contrast is the school's first-vs-last block
        assert b["contrasts"]["post-pre"][sid] == b["scales"][sid]
    a = out[next(k for k, v in out.items() if v["name"] == "A")]
    assert a["n_parents"]["mid"] is None and a["n_parents"]["mid_reason"] == PRIMARY
    assert a["contrasts"]["mid-pre"][SCALES[0]]["n_reason"] == PRIMARY


def test_two_waves_keep_the_school_blocks_as_they_were(data):
    two = data[data["wave"] != "mid"]
    scores = score_scales(two, INST)
    plain = school_results(scores, INST, "pre", "post", 10)
    given = school_results(scores, INST, "pre", "post", 10, waves=["pre", "post"])
    assert plain == given
    assert all("contrasts" not in v and list(v["n_parents"]) == ["pre", "post"]
               for v in plain.values())


def _attack(res: dict) -> int | None:
    """All parents at the middle wave minus the other schools' parents at it."""
    total = res["counts"]["mid"]["by_role"].get("parent")
    others = [res["schools"][_key(res, s)]["n_parents"].get("mid") for s in ("B", "C")]
    if total is None or any(v is None for v in others):
        return None
    return total - sum(others)


def test_a_small_middle_wave_of_a_school_comes_back_without_the_disclosure_step(data):
    res = _run(data, unprotected=True)
    assert _attack(res) == SECRET
    leaks = {path for leak in audit(res, 10).leaks for path in leak.paths}
    assert f"schools.{_key(res, 'A')}.n_parents.mid" in leaks, leaks


@pytest.mark.slow
def test_and_stays_hidden_after_it(data):
    res = _run(data)
    assert audit(res, 10).ok
    assert _attack(res) != SECRET
    assert res["schools"][_key(res, "A")]["n_parents"]["mid"] is None


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_school_page_shows_every_later_wave(data, lang):
    from partnerschap_eval.report import presentation as pres

    res = _run(data)
    key = _key(res, "B")
    table = pres.school_waves_table(res, key, INST, lang)
    assert len(table) == len(SCALES) * 2 * 2     # later waves x (this school, all parents)
    col = {k: pres.t(f"report.col.{k}", lang) for k in ("comparison", "n_pairs", "diff")}
    row = table.iloc[0]
    assert row[col["comparison"]] == pres.t("report.waves.contrast", lang,
                                           later=pres.wave_label("mid", lang),
                                           earlier=pres.wave_label("pre", lang))
    b = res["schools"][key]["contrasts"]["mid-pre"][SCALES[0]]
    assert row[col["n_pairs"]] == str(b["n"])
    assert row[col["diff"]] == pres.fmt_number(b["mean_diff"], lang)
    everyone = res["scales"][SCALES[0]]["contrasts"]["mid-pre"]["by_role"]["parent"]["paired"]
    assert table.iloc[1][col["diff"]] == pres.fmt_number(everyone["mean_diff"], lang)
    summary = pres.school_summary_html(res, key, INST, lang)
    assert pres.wave_label("mid", lang) in summary          # the response at every wave
    params = pres.text_params(res, INST, lang)
    assert "report.section" not in pres.section("school_waves", lang, **params)
    two = copy.deepcopy(res)
    del two["schools"][key]["contrasts"]
    assert pres.school_waves_table(two, key, INST, lang).empty
