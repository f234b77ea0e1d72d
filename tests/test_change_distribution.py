"""Distribution of paired change scores: binning by hand, and suppression in results.json."""

from __future__ import annotations

import numpy as np
import pytest

from partnerschap_eval.evaluation import CHANGE_EDGES, change_distribution
from partnerschap_eval.results.scales import _change_distribution_block


def test_bins_by_hand_including_edges_and_tails():
    pre = np.array([3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 1.0, 5.0, np.nan])
    post = np.array([3.25, 2.75, 3.2, 3.75, 5.0, 1.2, 5.0, 1.0, 4.0])
    # differences: .25 (on an edge -> bin [.25, .75)), -.25 (edge -> [-.25, .25)), .2, .75
    # (edge -> [.75, 1.25)), 2, -1.8, 4, -4; the NaN pair is ignored
    out = change_distribution(pre, post)
    assert out["centre"].tolist() == [-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]
    assert out["n"].tolist() == [2, 0, 0, 0, 2, 1, 1, 0, 2]
    assert np.isinf(out["low"].iloc[0]) and np.isinf(out["high"].iloc[-1])
    assert out["high"].tolist()[:-1] == list(CHANGE_EDGES)


def test_counts_add_up_to_the_pairs():
    rng = np.random.default_rng(1)
    pre = rng.integers(5, 26, 500) / 5
    post = np.clip(pre + rng.normal(0.3, 0.8, 500), 1, 5)
    assert change_distribution(pre, post)["n"].sum() == 500


def test_edges_must_increase():
    with pytest.raises(ValueError, match="increasing"):
        change_distribution(np.ones(3), np.ones(3), edges=(0.5, 0.5))


def test_small_bins_hidden_with_a_complement_when_one_would_be_recoverable():
    # 40 pairs: 34 unchanged (0), 6 at +1 -> the +1 bin is small; the total 40 is published
    # elsewhere, so the next smallest shown bin must go too or 40 - 34 would reveal it.
    pre = np.full(40, 3.0)
    post = np.r_[np.full(34, 3.0), np.full(6, 4.0)]
    block = _change_distribution_block(pre, post, min_cell=10)
    by_centre = {b["centre"]: b for b in block["bins"]}
    assert by_centre[1.0]["n"] is None and by_centre[1.0]["n_reason"] == "suppressed: n < 10"
    assert by_centre[0.0]["n"] is None
    assert by_centre[0.0]["n_reason"] == "suppressed: n < 10 (complementary)"
    assert by_centre[-1.0]["n"] == 0       # an empty bin reveals nobody
    shown = [b["n"] for b in block["bins"] if b["n"] is not None]
    assert all(n == 0 or n >= 10 for n in shown)


def test_everything_hidden_when_the_pairs_are_too_few():
    block = _change_distribution_block(np.ones(8), np.full(8, 2.0), min_cell=10)
    assert all(b["n"] is None for b in block["bins"])
