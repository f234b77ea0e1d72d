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
