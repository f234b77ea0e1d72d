"""Per-scale keys (Contract 1 extension): a scale keys an item in its own direction, as psych's
keys lists do. Reference: psych 2.2.9 ``scoreItems(keys, items, min = 1, max = 5,
impute = 'none', totals = FALSE)$scores`` (tests/reference/designs/designs.R). Tolerance:
rel 1e-12 (means of the same integers).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval.errors import InstrumentError
from partnerschap_eval.instruments import parse_instrument
from partnerschap_eval.scoring import reverse_key, score_scales

REF = Path(__file__).resolve().parent / "reference" / "designs"


def _doc(**scale_overrides) -> dict:
    items = [{"id": f"a{j}", "text": {"parent": {"nl": f"vraag {j}"}}, "reverse": j >= 4}
             for j in range(1, 7)]
    scales = [
        {"id": "total", "name": {"nl": "Totaal"}, "items": [f"a{j}" for j in range(1, 7)],
         "min_items": 1},
        {"id": "absent", "name": {"nl": "Afwezig"}, "items": ["a4", "a5", "a6"],
         "min_items": 1, "keys": {"a4": 1, "a5": 1, "a6": 1}},
        {"id": "mixed", "name": {"nl": "Gemengd"}, "items": ["a1", "a2", "a3"],
         "min_items": 1, "keys": {"a2": -1}},
    ]
    scales[2].update(scale_overrides)
    return {"id": "keyed", "version": "1", "title": {"nl": "k"}, "roles": ["parent"],
            "response_scale": {"min": 1, "max": 5}, "items": items, "scales": scales}


def test_scores_against_psych_score_items():
    ref = json.loads((REF / "r_designs.json").read_text())["keys"]
    assert ref["call"].startswith("scoreItems(keys, items, min = 1, max = 5, impute = 'none'")
    assert ref["keys"]["absent"] == ["a4", "a5", "a6"]  # the same keys as the YAML above
    items = pd.read_csv(REF / "data" / "keyed_items.csv")
    resp = items.assign(wave="pre", role="parent", school_id="S")
    out = score_scales(resp, parse_instrument(_doc()))
    for scale in ("total", "absent", "mixed"):
        expected = np.array([np.nan if v is None else v for v in ref["scores"][scale]])
        np.testing.assert_allclose(out[scale].to_numpy(), expected, rtol=1e-12)
    # the total and the subscale really score a4..a6 in opposite directions
    both = out[["total", "absent"]].dropna()
    assert np.corrcoef(both["total"], both["absent"])[0, 1] < 0


def test_without_keys_the_item_reverse_holds():
    inst = parse_instrument(_doc())
    assert inst.scale_reverse_items("total") == ["a4", "a5", "a6"]
    assert inst.scale_reverse_items("absent") == []
    assert inst.scale_reverse_items("mixed") == ["a2"]
    row = pd.DataFrame([{"a2": 2.0, "a4": 1.0}])
    assert reverse_key(row, inst)[["a2", "a4"]].values.tolist() == [[2.0, 5.0]]
    assert reverse_key(row, inst, "mixed")[["a2", "a4"]].values.tolist() == [[4.0, 1.0]]


@pytest.mark.parametrize(("keys", "match"), [
    ({"a5": -1}, r"scales\[2\].keys.a5: scale 'mixed' keys item 'a5', which is not one of"),
    ({"a2": 2}, r"a key is \+1 \(as worded\) or -1 \(reversed\), not 2"),
    ({"a2": 0}, r"not 0"),
])
def test_inconsistent_keys_are_refused_with_file_key_and_problem(keys, match):
    with pytest.raises(InstrumentError, match=match):
        parse_instrument(_doc(keys=keys), source="keyed.yaml")


def test_instrument_without_keys_is_unchanged():
    from partnerschap_eval.instruments import load_instrument
    inst = load_instrument("partnerschap")
    assert all(s.keys is None for s in inst.scales)
    assert all(inst.scale_reverse_items(s.id) == [i for i in s.items if i in inst.reverse_items]
               for s in inst.scales)
