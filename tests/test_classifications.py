"""Classifications as data: the framework instruments load, rules are validated and applied.

Every expected level below is computed by hand in the comment next to it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from partnerschap_eval.errors import InputError, InstrumentError
from partnerschap_eval.instruments import load_instrument, parse_instrument
from partnerschap_eval.scoring import (
    classify,
    describe_classifications,
    rule_text,
    score_and_classify,
    score_scales,
)

INSTRUMENTS = Path(__file__).resolve().parents[1] / "instruments"
FRAMEWORKS = ("epstein", "gerdes", "participatieladder", "praatplaat")
KEYS = {"wave": "pre", "role": "parent", "school_id": "S01"}


# ---------------------------------------------------------------------------------------------
# the instrument files
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("inst_id", FRAMEWORKS)
def test_framework_instruments_load_with_parallel_bilingual_forms(inst_id):
    inst = load_instrument(inst_id)
    assert inst.id == inst_id
    assert inst.framework is not None and inst.framework.name == inst_id
    assert inst.roles == ("parent", "teacher", "youthworker")
    for item in inst.items:
        for role in inst.roles:
            assert {"nl", "en"} <= set(item.text[role]), (item.id, role)
    for code, label in inst.response_scale.labels.items():
        assert {"nl", "en"} <= set(label), code
    assert "Weet ik niet" in inst.response_scale.missing
    for cl in inst.classifications:
        for lv in cl.levels:
            assert {"nl", "en"} <= set(lv.label), (cl.id, lv.level)
    assert set(inst.instructions) == set(inst.roles)


def test_item_and_scale_ids_are_unique_across_instruments():
    # A project may keep every instrument's items in one wide responses table.
    seen: dict[str, str] = {}
    for inst_id in ("partnerschap", *FRAMEWORKS):
        inst = load_instrument(inst_id)
        for name in [*inst.item_ids, *inst.scale_ids, *inst.classification_ids]:
            assert name not in seen or seen[name] == inst_id, (name, seen.get(name), inst_id)
            seen[name] = inst_id


def test_epstein_has_six_types_with_offer_and_participation_items():
    inst = load_instrument("epstein")
    assert len(inst.scales) == 6
    for scale in inst.scales:
        assert [i.rsplit("_", 1)[-1] for i in scale.items] == ["o1", "o2", "part"]
        assert scale.min_items == 2
    labels = {k: v["nl"] for k, v in inst.response_scale.labels.items()}
    assert labels == {1: "Nooit", 2: "Zelden", 3: "Soms", 4: "Vaak", 5: "Heel vaak"}


def test_gerdes_is_marked_as_own_operationalisation():
    inst = load_instrument("gerdes")
    cl = inst.classification("gerdes_level")
    assert cl.cumulative
    assert [lv.level for lv in cl.levels] == [0, 1, 2, 3]
    assert cl.levels[0].rule is None
    assert "no questionnaire" in cl.notes["en"] and "geen vragenlijst" in cl.notes["nl"]
    assert "published no questionnaire" in inst.description


def test_ladder_has_five_rungs_and_optional_zelfbeheer():
    inst = load_instrument("participatieladder")
    rungs = inst.classification("ladder_experienced").levels
    assert [lv.label["nl"] for lv in rungs] == ["Informeren", "Raadplegen", "Adviseren",
                                                 "Coproduceren", "Meebeslissen", "Zelfbeheer"]
    assert [lv.optional for lv in rungs] == [False] * 5 + [True]


def test_praatplaat_has_a_labelled_item_per_theme():
    inst = load_instrument("praatplaat")
    assert len(inst.items) == 12
    assert all(it.label and {"nl", "en"} <= set(it.label) for it in inst.items)
    assert (inst.response_scale.min, inst.response_scale.max) == (1, 3)


# ---------------------------------------------------------------------------------------------
# Gerdes: cumulative levels, boundaries and missing items (hand-computed)
# ---------------------------------------------------------------------------------------------
def gerdes_row(rid, inf, dep, intense):
    row = {"respondent_id": rid, **KEYS}
    for prefix, answers in (("gd_inf", inf), ("gd_dep", dep), ("gd_int", intense)):
        for j, a in enumerate(answers, start=1):
            row[f"{prefix}{j}"] = a
    return row


N = None
GERDES_CASES = [
    # id, exchange items, deepening items, intensive items, expected level
    ("at_threshold", (4, 4, 3, 3), (4, 4, 3, 3), (4, 4, 3, 3), 3),  # 3.5, 3.5, 3.5: all met
    ("just_below", (4, 3, 3, 3), (5, 5, 5, 5), (5, 5, 5, 5), 0),  # 3.25 < 3.5: level 0
    ("higher_not_lower", (2, 2, 3, 3), (5, 5, 4, 4), (5, 5, 5, 4), 0),  # 2.5 fails -> stays 0
    ("skips_level_2", (5, 5, 4, 4), (3, 3, 3, 4), (5, 5, 5, 5), 1),  # 4.5 ok, 3.25 fails -> 1
    ("two_levels", (4, 4, 4, 4), (4, 4, 3, 4), (3, 3, 3, 3), 2),  # 4, 3.75, 3.0 -> 2
    ("three_answered", (4, 4, 3, N), (1, 1, 1, 1), (1, 1, 1, 1), 1),  # 11/3 = 3.67 (min 3 of 4)
    ("three_below", (4, 3, 3, N), (5, 5, 5, 5), (5, 5, 5, 5), 0),  # 10/3 = 3.33 -> 0
    ("exchange_missing", (5, 5, N, N), (5, 5, 5, 5), (5, 5, 5, 5), None),  # 2 of 4: undetermined
    ("upper_missing_after_pass", (4, 4, 4, 4), (5, N, N, N), (5, 5, 5, 5), None),  # 1 met, 2 ?
    ("upper_missing_after_fail", (2, 2, 2, 2), (N, N, N, N), (N, N, N, N), 0),  # 1 fails: 0
    ("top_missing_after_two", (4, 4, 4, 4), (4, 4, 4, 4), (N, N, N, 4), None),  # 2 met, 3 ?
    ("top_fails", (4, 4, 4, 4), (4, 4, 4, 4), (3, 4, 3, 3), 2),  # 3.25 < 3.5 -> 2
]


@pytest.fixture(scope="module")
def gerdes():
    return load_instrument("gerdes")


def test_gerdes_levels_hand_computed(gerdes):
    data = pd.DataFrame([gerdes_row(c[0], *c[1:4]) for c in GERDES_CASES])
    out = classify(data, gerdes, lang="en")
    got = dict(zip(out["respondent_id"], out["gerdes_level"], strict=True))
    for rid, *_, want in GERDES_CASES:
        if want is None:
            assert got[rid] is pd.NA, rid
        else:
            assert got[rid] == want, rid
    assert str(out["gerdes_level"].dtype) == "Int64"
    label = out["gerdes_level_label"]
    assert label.cat.ordered
    assert list(label.cat.categories) == ["Not yet exchanging information", "Exchanging information",
                                          "Deepening collaboration", "Intensive collaboration"]
    assert out.loc[out["respondent_id"] == "skips_level_2", "gerdes_level_label"].item() \
        == "Exchanging information"
    assert label[out["respondent_id"] == "exchange_missing"].isna().all()


def test_classify_from_a_scores_table_gives_the_same_levels(gerdes):
    data = pd.DataFrame([gerdes_row(c[0], *c[1:4]) for c in GERDES_CASES])
    scores = score_scales(data, gerdes)  # no item columns: rules use the scale columns
    a = classify(data, gerdes)["gerdes_level"]
    b = classify(scores, gerdes)["gerdes_level"]
    pd.testing.assert_series_equal(a, b)


def test_classify_keeps_index_and_dutch_labels(gerdes):
    data = pd.DataFrame([gerdes_row("x", (4, 4, 4, 4), (1, 1, 1, 1), (1, 1, 1, 1))],
                        index=[17])
    out = classify(data, gerdes)
    assert list(out.index) == [17]
    assert out["gerdes_level_label"].item() == "Informatie uitwisselen"


def test_classify_needs_the_columns_its_rules_use(gerdes):
    with pytest.raises(InputError, match="scale 'gerdes_deepening'"):
        classify(pd.DataFrame([{"respondent_id": "r", **KEYS, "gd_inf1": 4}]), gerdes)
    ladder = load_instrument("participatieladder")
    with pytest.raises(InputError, match="item 'pl_experienced'"):
        classify(pd.DataFrame([{"respondent_id": "r", **KEYS, "pl_expected": 4}]), ladder)


# ---------------------------------------------------------------------------------------------
# participatieladder: rungs and the agreement between expected and experienced
# ---------------------------------------------------------------------------------------------
def test_ladder_rungs_and_agreement_hand_computed():
    ladder = load_instrument("participatieladder")
    rows = pd.DataFrame([
        {"respondent_id": "less", **KEYS, "pl_expected": 4, "pl_experienced": 3},  # -1: less
        {"respondent_id": "same", **KEYS, "pl_expected": 2, "pl_experienced": 2},  # 0
        {"respondent_id": "more", **KEYS, "pl_expected": 5, "pl_experienced": 6},  # +1 (zelfbeheer)
        {"respondent_id": "far", **KEYS, "pl_expected": 5, "pl_experienced": 1},  # -4: less
        {"respondent_id": "gap", **KEYS, "pl_expected": np.nan, "pl_experienced": 3},
    ])
    out = classify(rows, ladder, lang="en").set_index("respondent_id")
    assert out["ladder_expected"].tolist()[:4] == [4, 2, 5, 5]
    assert out.loc["gap", "ladder_expected"] is pd.NA
    assert out["ladder_experienced"].tolist() == [3, 2, 6, 1, 3]
    assert out.loc["more", "ladder_experienced_label"] == "Self-management"
    assert out["ladder_agreement"].tolist()[:4] == [-1, 0, 1, -1]
    assert out.loc["gap", "ladder_agreement"] is pd.NA  # one item missing: undetermined
    assert list(out["ladder_agreement_label"].cat.categories) == [
        "Less say than expected", "As expected", "More say than expected"]


def test_score_and_classify_gives_scales_then_classifications(gerdes):
    data = pd.DataFrame([gerdes_row("r", (4, 4, 3, 3), (4, 4, 3, 3), (1, 1, 1, 1))])
    out = score_and_classify(data, gerdes)
    assert list(out.columns) == ["respondent_id", "wave", "role", "school_id", "gerdes_exchange",
                                 "gerdes_deepening", "gerdes_intensive", "gerdes_level",
                                 "gerdes_level_label"]
    assert out["gerdes_exchange"].item() == pytest.approx(3.5)
    assert out["gerdes_level"].item() == 2  # 3.5, 3.5, 1.0


# ---------------------------------------------------------------------------------------------
# rule semantics on a small synthetic instrument: first match, Kleene logic, in, tolerance
# ---------------------------------------------------------------------------------------------
def toy(levels, cumulative=False, rs_max=5):
    return parse_instrument({
        "id": "toy", "version": "1", "title": {"nl": "t"}, "roles": ["parent"],
        "response_scale": {"min": 1, "max": rs_max},
        "items": [{"id": i, "text": {"parent": {"nl": f"vraag {i}"}}} for i in ("a", "b", "c")],
        "scales": [{"id": "ab", "name": {"nl": "ab"}, "items": ["a", "b"], "min_items": 2},
                   {"id": "c3", "name": {"nl": "c"}, "items": ["c"], "score": "sum",
                    "rescale": [0, 100]}],
        "classifications": [{"id": "k", "cumulative": cumulative, "levels": levels}],
    }, "toy.yaml")


def run(inst, **items):
    rows = [{"respondent_id": str(i), **KEYS, **{k: v[i] for k, v in items.items()}}
            for i in range(len(next(iter(items.values()))))]
    return classify(pd.DataFrame(rows), inst)["k"].tolist()


def test_first_match_and_undetermined_earlier_rule():
    inst = toy([
        {"level": 1, "label": {"nl": "laag"}, "rule": {"scale": "ab", "max": 2}},
        {"level": 2, "label": {"nl": "midden"}, "rule": {"item": "c", "in": [3, 4]}},
        {"level": 3, "label": {"nl": "hoog"}, "rule": {"item": "c", "equals": 5}},
    ])
    # ab = 1.5 -> 1 ; ab = 4, c = 4 -> 2 ; ab = 4, c = 5 -> 3 ; ab missing -> ? ;
    # ab = 4, c = 2 -> no rule holds -> ?
    got = run(inst, a=[1, 4, 4, None, 4], b=[2, 4, 4, 3, 4], c=[5, 4, 5, 5, 2])
    assert got[:3] == [1, 2, 3]
    assert got[3] is pd.NA and got[4] is pd.NA


def test_all_and_any_follow_kleene_logic():
    both = {"all": [{"item": "a", "min": 3}, {"item": "b", "min": 3}]}
    either = {"any": [{"item": "a", "min": 3}, {"item": "b", "min": 3}]}
    inst = toy([{"level": 0, "label": {"nl": "nee"}},
                {"level": 1, "label": {"nl": "ja"}, "rule": both}], cumulative=True)
    # a ? & b 1 -> false -> 0 ; a ? & b 5 -> ? ; a 3 & b 3 -> 1 (bounds inclusive)
    got = run(inst, a=[None, None, 3], b=[1, 5, 3], c=[1, 1, 1])
    assert got[0] == 0 and got[1] is pd.NA and got[2] == 1
    inst = toy([{"level": 0, "label": {"nl": "nee"}},
                {"level": 1, "label": {"nl": "ja"}, "rule": either}], cumulative=True)
    # a ? | b 5 -> true -> 1 ; a ? | b 1 -> ? ; a 1 | b 2 -> false -> 0
    got = run(inst, a=[None, None, 1], b=[5, 1, 2], c=[1, 1, 1])
    assert got[0] == 1 and got[1] is pd.NA and got[2] == 0


def test_thresholds_on_rescaled_scores_are_inclusive():
    # c3 maps the sum of item c (1..5) onto 0..100: answer 4 -> 75 exactly; 2 -> 25.
    inst = toy([{"level": 0, "label": {"nl": "nee"}},
                {"level": 1, "label": {"nl": "ja"}, "rule": {"scale": "c3", "min": 75}}],
               cumulative=True)
    assert run(inst, a=[1, 1, 1], b=[1, 1, 1], c=[4, 3, 5]) == [1, 0, 1]


def test_describe_classifications_and_rule_text():
    ladder = load_instrument("participatieladder")
    table = describe_classifications(ladder, lang="en")
    assert list(table.columns) == ["instrument", "classification", "name", "cumulative", "level",
                                   "label", "rule", "notes"]
    agree = table[table["classification"] == "ladder_agreement"]
    assert agree["rule"].tolist() == ["pl_experienced - pl_expected <= -1",
                                      "pl_experienced - pl_expected = 0",
                                      "pl_experienced - pl_expected >= 1"]
    rule = {"any": [{"item": "pl_expected", "in": [1, 2]}, {"item": "pl_experienced", "min": 4,
                                                             "max": 5}]}
    assert rule_text(rule, ladder, "nl") == ("(pl_expected in {1, 2} of pl_experienced >= 4 en "
                                             "pl_experienced <= 5)")


# ---------------------------------------------------------------------------------------------
# validation of classification rules: file, key and problem are named
# ---------------------------------------------------------------------------------------------
def raw(name):
    return yaml.safe_load((INSTRUMENTS / f"{name}.yaml").read_text(encoding="utf-8"))


def problems_of(data, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InstrumentError) as info:
        load_instrument(path)
    assert str(path) in str(info.value)
    return info.value.problems


def lv(data, i):  # gerdes level i
    return data["classifications"][0]["levels"][i]


def ld(data, c, i):  # participatieladder classification c, level i
    return data["classifications"][c]["levels"][i]


G = "classifications[0]"
BAD_GERDES = [
    (lambda d: lv(d, 1)["rule"].update(scale="gerdes_exchang"), f"{G}.levels[1].rule.scale",
     "unknown scale 'gerdes_exchang'"),
    (lambda d: lv(d, 2).update(level=5), f"{G}.levels[3].level",
     "levels out of order: level 3 follows level 5"),
    (lambda d: lv(d, 3).update(level=2), f"{G}.levels[3].level", "levels out of order"),
    (lambda d: lv(d, 0).update(rule={"scale": "gerdes_exchange", "min": 1}), f"{G}.levels[0].rule",
     "base level and takes no rule"),
    (lambda d: lv(d, 2).pop("rule"), f"{G}.levels[2].rule", "level 2 of 'gerdes_level' has no rule"),
    (lambda d: lv(d, 3)["rule"].update(min=7), f"{G}.levels[3].rule.min",
     "above the highest possible value 5 of scale gerdes_intensive: the rule can never be met"),
    (lambda d: lv(d, 1)["rule"].update(max=2, min=3.5), f"{G}.levels[1].rule",
     "min (3.5) is above max (2): never met"),
    (lambda d: lv(d, 1)["rule"].update(min="3,5"), f"{G}.levels[1].rule.min", "'3,5' is not a number"),
    (lambda d: lv(d, 1).update(rule={"scale": "gerdes_exchange", "minimum": 3.5}),
     f"{G}.levels[1].rule.minimum", "unknown rule key 'minimum'"),
    (lambda d: lv(d, 1).update(rule={"scale": "gerdes_exchange"}), f"{G}.levels[1].rule",
     "at least one condition"),
    (lambda d: lv(d, 1)["rule"].update(item="gd_inf1"), f"{G}.levels[1].rule",
     "exactly one of 'scale', 'item' or 'difference'"),
    (lambda d: lv(d, 1).update(rule={"all": []}), f"{G}.levels[1].rule.all",
     "must be a non-empty list of rules"),
    (lambda d: lv(d, 1).update(rule={"all": [{"scale": "nope", "min": 3}]}),
     f"{G}.levels[1].rule.all[0].scale", "unknown scale 'nope'"),
    (lambda d: lv(d, 1).update(lable={"nl": "x"}), f"{G}.levels[1].lable", "unknown key"),
    (lambda d: lv(d, 1).update(label={"nl": " "}), f"{G}.levels[1].label", "has no label"),
    (lambda d: d["classifications"][0].update(id="gerdes_exchange"), f"{G}.id",
     "also an item or scale id"),
    (lambda d: d["classifications"][0].update(levels=[lv(d, 0)]), f"{G}.levels",
     "needs at least two levels"),
    (lambda d: d["framework"].update(classification="gerdes_niveau"), "framework.classification",
     "names no classification"),
]


@pytest.mark.parametrize(("mutate", "key", "words"), BAD_GERDES)
def test_bad_gerdes_rules_are_named(tmp_path, mutate, key, words):
    data = raw("gerdes")
    mutate(data)
    problems = problems_of(data, tmp_path)
    assert any(k == key and words in msg for k, msg in problems), problems


BAD_LADDER = [
    (lambda d: ld(d, 0, 2)["rule"].update(item="pl_verwacht"), "classifications[0].levels[2].rule.item",
     "unknown item 'pl_verwacht'"),
    (lambda d: ld(d, 1, 5)["rule"].update(equals=7), "classifications[1].levels[5].rule.equals",
     "7 is outside the possible range 1..6 of item pl_experienced"),
    (lambda d: ld(d, 2, 0)["rule"].update(difference=["pl_experienced"]),
     "classifications[2].levels[0].rule.difference", "must list two scale or item ids"),
    (lambda d: ld(d, 2, 0)["rule"].update(difference=["pl_experienced", "pl_x"]),
     "classifications[2].levels[0].rule.difference", "unknown scale or item 'pl_x'"),
    (lambda d: ld(d, 2, 2)["rule"].update(min=6), "classifications[2].levels[2].rule.min",
     "above the highest possible value 5 of difference"),
    (lambda d: ld(d, 0, 1)["rule"].update({"in": []}), "classifications[0].levels[1].rule.in",
     "must be a non-empty list"),
    (lambda d: d["framework"].update(expected="pl_verwacht"), "framework.expected",
     "names no item"),
    (lambda d: d["classifications"].append(copy.deepcopy(d["classifications"][0])),
     "classifications[3].id", "duplicate classification id 'ladder_expected'"),
]


@pytest.mark.parametrize(("mutate", "key", "words"), BAD_LADDER)
def test_bad_ladder_rules_are_named(tmp_path, mutate, key, words):
    data = raw("participatieladder")
    mutate(data)
    problems = problems_of(data, tmp_path)
    assert any(k == key and words in msg for k, msg in problems), problems


def test_every_rule_problem_reported_at_once(tmp_path):
    data = raw("gerdes")
    lv(data, 1)["rule"]["scale"] = "nope"
    lv(data, 3)["rule"]["min"] = 9
    lv(data, 2)["level"] = 9
    problems = problems_of(data, tmp_path)
    assert len(problems) >= 3, problems


def test_existing_instrument_without_classifications_still_valid():
    inst = load_instrument("partnerschap")
    assert inst.classifications == () and inst.framework is None
