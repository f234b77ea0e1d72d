"""Wilcoxon ties of decimal-equal differences and exact change bins (issue 17, part 2).

References: tests/reference/designs/r_designs.json, made by tests/reference/designs/designs.R.
Tolerance: closed forms rel 1e-10.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval import evaluation as ev
from partnerschap_eval.evaluation.resolution import score_resolution
from partnerschap_eval.instruments import parse_instrument

REF = Path(__file__).resolve().parent / "reference" / "designs"
CLOSED = dict(rel=1e-10, abs=1e-12)


@pytest.fixture(scope="module")
def rd() -> dict:
    return json.loads((REF / "r_designs.json").read_text())


def test_wilcoxon_rounds_before_ranking_as_r_digits_rank_7(rd):
    d = pd.read_csv(REF / "data" / "ties.csv")
    diff = d["post"].to_numpy() - d["pre"].to_numpy()
    # the data really hold decimal ties that binary splits (else the test could not fail)
    assert rd["wilcoxon"]["n_tie_groups_raw"] != rd["wilcoxon"]["n_tie_groups_rounded"]
    w = ev.wilcoxon_signed_rank(diff)
    # R: wilcox.test(post, pre, paired = TRUE, exact = FALSE, correct = TRUE, digits.rank = 7)
    ref = rd["wilcoxon"]["rounded"]
    assert "digits.rank = 7" in ref["call"]
    assert w.statistic == ref["V"] != rd["wilcoxon"]["unrounded"]["V"]
    assert w.p == pytest.approx(ref["p"], **CLOSED)


def test_binary_noise_of_zero_is_no_change():
    # 0.1 + 0.2 - 0.3 = 5.6e-17: a zero difference in decimals, dropped like a zero
    w = ev.wilcoxon_signed_rank(np.array([0.1 + 0.2 - 0.3, 1.0, 2.0, -0.5]))
    assert w.n_nonzero == 3 and w.statistic == 5.0


def test_0_15_ties_with_0_1_plus_0_05():
    a = ev.wilcoxon_signed_rank(np.array([0.15, 0.1 + 0.05, 0.4, -0.3]))
    assert 0.15 != 0.1 + 0.05
    assert a.statistic == 1.5 + 1.5 + 4  # the two tie at rank 1.5


def _instrument(k: int, min_items: int, **scale) -> object:
    items = [{"id": f"i{j}", "text": {"parent": {"nl": f"vraag {j}"}}} for j in range(k)]
    return parse_instrument({
        "id": "t", "version": "1", "title": {"nl": "t"}, "roles": ["parent"],
        "response_scale": {"min": 1, "max": 5}, "items": items,
        "scales": [{"id": "s", "name": {"nl": "s"}, "items": [f"i{j}" for j in range(k)],
                    "min_items": min_items, **scale}]})


@pytest.mark.parametrize(("k", "min_items", "extra", "expected"), [
    (4, 4, {}, 1 / 4), (5, 3, {}, 1 / 60), (4, 3, {"score": "sum"}, 4 / 12),
    (9, 9, {"score": "sum", "rescale": [0, 100]}, 100 / 36),
    (4, 4, {"rescale": [0, 100]}, 100 / 16),
])
def test_score_resolution(k, min_items, extra, expected):
    assert score_resolution(_instrument(k, min_items, **extra), "s") == pytest.approx(
        expected, rel=1e-12)


def test_bins_with_resolution_put_edge_values_in_the_same_bin_whatever_the_binary_error():
    # 3-item means rescaled onto 0-100: score = (sum/3 - 1) * 25, step 100/12. A change of two
    # steps (16.67) computed from different pairs carries different binary errors, on both
    # sides of the edge 50/3.
    sums = [(3, 5), (6, 8), (8, 10), (9, 11), (11, 13)]
    pre = np.array([(a / 3 - 1) * 25 for a, _ in sums])
    post = np.array([(b / 3 - 1) * 25 for _, b in sums])
    edges = (-50 / 3, 0.0, 50 / 3)
    raw = np.searchsorted(np.array(edges), post - pre, side="right")
    assert len(set(raw.tolist())) > 1  # unrounded, the same change falls in two bins
    out = ev.change_distribution(pre, post, edges=edges, resolution=100 / 12)
    assert out["n"].tolist() == [0, 0, 0, 5]  # all in [50/3, inf): the bin that starts there
    out = ev.change_distribution(post, pre, edges=edges, resolution=100 / 12)
    assert out["n"].tolist() == [0, 5, 0, 0]  # -50/3 exactly: the bin [-50/3, 0)


def test_bins_without_resolution_round_first():
    pre = np.array([3.1, 2.35])
    post = np.array([3.35, 2.6])  # 0.25000000000000044 and 0.25
    out = ev.change_distribution(pre, post)
    assert out.loc[out["centre"] == 0.5, "n"].item() == 2


def test_bins_refuse_a_wrong_resolution():
    with pytest.raises(ValueError, match="not a multiple of the score resolution"):
        ev.change_distribution(np.array([3.0]), np.array([3.1]), resolution=0.25)
    with pytest.raises(ValueError, match="positive"):
        ev.change_distribution(np.array([3.0]), np.array([3.25]), resolution=0)
