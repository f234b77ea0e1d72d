"""Scoring on hand-computed cases: reverse keys, the min-items rule, sum and rescale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval.errors import InputError
from partnerschap_eval.instruments import parse_instrument
from partnerschap_eval.scoring import score_scales, validate_responses, wave_order

KEYS = {"respondent_id": "r1", "wave": "pre", "role": "parent", "school_id": "s1"}


def frame(**items):
    return pd.DataFrame([KEYS | items])


def test_reverse_key_and_mean(instrument):
    # rec1..rec4 = 4, 5, 3, 2 ; rec5 (reverse) = 1 -> 5 ; mean = (4+5+3+2+5)/5 = 3.8
    scores = score_scales(frame(rec1=4, rec2=5, rec3=3, rec4=2, rec5=1), instrument)
    assert scores["reciprocity"].iloc[0] == pytest.approx(3.8)


def test_min_items_rule_at_and_below_threshold(instrument):
    # three answered (min_items = 3): (2 + 4 + (6-5)) / 3 = 7/3
    at = score_scales(frame(twc1=2, twc2=4, twc5=5), instrument)
    assert at["two_way_communication"].iloc[0] == pytest.approx(7 / 3)
    below = score_scales(frame(twc1=2, twc2=4), instrument)
    assert np.isnan(below["two_way_communication"].iloc[0])
    # a scale with no answers at all is missing, not zero
    assert np.isnan(below["shared_decision_making"].iloc[0])


def test_reverse_uses_declared_not_observed_bounds(instrument):
    # Only answers 2..3 observed; reverse keying must still use 1..5: 6 - 2 = 4.
    data = pd.concat([frame(sdm5=2, sdm1=2, sdm2=2), frame(sdm5=3, sdm1=3, sdm2=3)])
    data["respondent_id"] = ["a", "b"]
    scores = score_scales(data, instrument)
    assert scores["shared_decision_making"].tolist() == pytest.approx([(2 + 2 + 4) / 3, (3 + 3 + 3) / 3])


def test_sum_score_and_rescale():
    inst = parse_instrument({
        "id": "s", "version": "1", "title": {"nl": "s"}, "roles": ["parent"],
        "response_scale": {"min": 0, "max": 3},
        "items": [{"id": f"i{k}", "text": {"parent": {"nl": f"vraag {k}"}}, "reverse": k == 3}
                  for k in range(1, 4)],
        "scales": [
            {"id": "total", "name": {"nl": "t"}, "items": ["i1", "i2", "i3"], "min_items": 2,
             "score": "sum"},
            {"id": "pct", "name": {"nl": "p"}, "items": ["i1", "i2", "i3"], "min_items": 2,
             "score": "sum", "rescale": [0, 100]},
        ],
    })
    # i1 = 3, i2 missing, i3 = 1 reversed -> 2; mean 2.5; prorated sum 7.5 of 0..9; 7.5/9*100
    scores = score_scales(frame(i1=3, i2=None, i3=1), inst)
    assert scores["total"].iloc[0] == pytest.approx(7.5)
    assert scores["pct"].iloc[0] == pytest.approx(7.5 / 9 * 100)


def test_validation_names_bad_values(instrument):
    bad = frame(rec1=7, rec2="soms")
    with pytest.raises(InputError, match=r"item rec1: 1 value\(s\).*item rec2: 1 value"):
        validate_responses(bad, instrument)
    with pytest.raises(InputError, match="missing column"):
        validate_responses(bad.drop(columns="wave"), instrument)


def test_wave_order():
    assert wave_order(["post", "pre"]) == ["pre", "post"]
    assert wave_order(["nameting", "voormeting"]) == ["voormeting", "nameting"]
    # Contract 2: an undeclared order is refused, never guessed ("naturally" or alphabetically);
    # until issue 13 this test asserted the natural order meting 1, meting 2, meting 10
    with pytest.raises(InputError, match="no declared order"):
        wave_order(["meting 2", "meting 10", "meting 1"])
    assert wave_order(["meting 2", "meting 10", "meting 1"],
                      declared=["meting 1", "meting 2", "meting 10"]) == [
        "meting 1", "meting 2", "meting 10"]



def _reference_validate(responses, instrument):
    """The checks as they were written before vectorising (one pass per cell, pandas only)."""
    out = responses.copy()
    for col in ["respondent_id", "wave", "role", "school_id"]:
        out[col] = out[col].astype(str)
    lo, hi = instrument.response_scale.min, instrument.response_scale.max
    bad = {}
    for item in instrument.item_ids:
        if item not in out.columns:
            out[item] = np.nan
            continue
        values = pd.to_numeric(out[item], errors="coerce")
        text = values.isna() & out[item].notna() & (out[item].astype(str).str.strip() != "")
        rng = values.notna() & ((values < lo) | (values > hi) | (values % 1 != 0))
        if (text | rng).any():
            bad[item] = int((text | rng).sum())
        out[item] = values.astype(float)
    return out, bad


@pytest.mark.parametrize("column", [
    [1, 2, 5, None], [1.0, 2.5, 3.0, None], ["1", " 2 ", "x", ""], [True, False, True, None],
    pd.array([1, 6, None, 3], dtype="Int64"), ["4", None, "NA", "3.0"], [0, 3, 4, 5]])
def test_vectorised_validation_as_the_cell_by_cell_checks(instrument, column):
    data = pd.DataFrame({"respondent_id": ["a", "b", "c", "d"], "wave": "pre",
                         "role": "parent", "school_id": "s", "rec1": column, "rec2": 3})
    expected, bad = _reference_validate(data, instrument)
    if bad:
        with pytest.raises(InputError, match=rf"item rec1: {bad['rec1']} value\(s\)"):
            validate_responses(data, instrument)
        return
    pd.testing.assert_frame_equal(validate_responses(data, instrument), expected)


def test_validated_once_then_trusted_never_mutated(instrument, monkeypatch):
    from partnerschap_eval import scoring

    raw = frame(rec1="4", rec2=5)
    before = raw.copy()
    valid = validate_responses(raw, instrument)
    pd.testing.assert_frame_equal(raw, before)  # the caller's table is unchanged
    assert scoring.is_validated(valid, instrument) and not scoring.is_validated(raw, instrument)
    calls = []
    monkeypatch.setattr(scoring, "_numeric_item", lambda v: calls.append(1) or (_ for _ in ()))
    again = validate_responses(valid, instrument)  # trusted: no check runs
    assert calls == [] and again is not valid and scoring.is_validated(again, instrument)
    again["rec1"] = 9.0  # a change to the copy handed out leaves the validated table alone
    assert valid["rec1"].iloc[0] == 4.0
    monkeypatch.undo()
    # derived or changed tables are checked again
    assert not scoring.is_validated(valid[["respondent_id", "wave"]], instrument)
    changed = valid.copy()
    assert not scoring.is_validated(changed, instrument)
    again = validate_responses(valid, instrument)
    again["rec1"] = 7.0  # a float column replaced on a validated object itself
    assert not scoring.is_validated(again, instrument)
    with pytest.raises(InputError, match="item rec1"):
        validate_responses(again, instrument)
    valid["rec2"] = "x"  # a column replaced on the validated object itself
    assert not scoring.is_validated(valid, instrument)
    with pytest.raises(InputError, match="item rec2"):
        validate_responses(valid, instrument)
    other = parse_instrument({
        "id": "o", "version": "1", "title": {"nl": "o"}, "roles": ["parent"],
        "response_scale": {"min": 1, "max": 3},
        "items": [{"id": "rec1", "text": {"parent": {"nl": "v"}}}],
        "scales": [{"id": "t", "name": {"nl": "t"}, "items": ["rec1"], "min_items": 1}]})
    fresh = validate_responses(frame(rec1=5, rec2=5), instrument)
    with pytest.raises(InputError, match=r"not a whole number in 1\.\.3"):
        validate_responses(fresh, other)  # validated for another scale: checked again


def test_duplicates_found_on_codes(instrument):
    data = pd.concat([frame(rec1=1), frame(rec1=2), frame(rec1=3).assign(wave="post")])
    with pytest.raises(InputError, match="2 rows share a respondent_id and wave"):
        validate_responses(data, instrument)


@pytest.mark.parametrize("ids", [
    ["p-aaaa", "p-aaab", "p-aaaa", "p-aaaa", "p-bbbb"],  # one length: folded to numbers
    ["a", "bb", "a", "ccc", "bb"],  # other ids: integer codes
    ["p-" + "0" * 20, "p-" + "0" * 19 + "1", "p-" + "0" * 20, "x" * 22, "x" * 22]])
def test_shared_pairs_is_duplicated_keep_false(ids):
    from partnerschap_eval.scoring import _shared_pairs

    rng = np.random.default_rng(3)
    for _ in range(20):
        picked = pd.Series(rng.choice(ids, 40), dtype="str")
        waves = pd.Series(rng.choice(["pre", "post", "mid"], 40), dtype="str")
        expected = pd.DataFrame({"i": picked, "w": waves}).duplicated(keep=False).to_numpy()
        assert np.array_equal(_shared_pairs(picked, waves), expected)


def test_shared_pairs_candidates_checked_on_texts(monkeypatch):
    from partnerschap_eval import scoring

    # every row folds to the same number: only the exact check can tell them apart
    monkeypatch.setattr(scoring, "_id_words", lambda ids: np.zeros((len(ids), 1), np.uint64))
    ids = pd.Series(["p-01", "p-02", "p-01", "p-03"], dtype="str")
    waves = pd.Series(["pre", "pre", "pre", "post"], dtype="str")
    assert scoring._shared_pairs(ids, waves).tolist() == [True, False, True, False]


@pytest.mark.slow
def test_a_report_validates_its_responses_once(demo_study, instrument, monkeypatch):
    """evaluate, scale_quality and the framework tables trust a validated table: the checks
    run where the table enters (as build_report does), not again inside."""
    from partnerschap_eval import scoring
    from partnerschap_eval.results import evaluate, scale_quality

    checks = []
    real = scoring._shared_pairs
    monkeypatch.setattr(scoring, "_shared_pairs", lambda *a: checks.append(1) or real(*a))
    raw = demo_study.responses
    evaluate(raw, instrument, mixed=False)
    assert len(checks) == 1  # an unchecked table is checked once inside
    data = validate_responses(raw, instrument)
    evaluate(data, instrument, mixed=False)
    scale_quality(data, instrument, n_boot=0)
    score_scales(validate_responses(data, instrument), instrument)
    assert len(checks) == 2  # the boundary check only
