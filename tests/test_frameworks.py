"""Ordinal change per group and the framework tables: hand-computed values, suppression,
and simulate-and-recover on the WiSH-like framework data (the tests themselves: test_ordinal.py).

Reference values computed in R 4 with coin 1.4-2 (Debian r-cran-coin); the call is written above
each value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.privacy import DEFAULT_MIN_CELL
from partnerschap_eval.results.frameworks import (
    _protect,
    epstein_profile,
    ladder_mismatch,
    level_distribution,
    ordinal_change,
    praatplaat_table,
    summary,
    transition_table,
)
from partnerschap_eval.scoring import classify
from partnerschap_eval.synth import (
    FrameworkDesign,
    framework_true_shifts,
    simulate_framework_replications,
    simulate_frameworks,
)

# A hand-computed example: 12 parents with a Gerdes level at both waves, one pre-only and one
# undetermined at post (both left out of the pairs).
#      pre -> post: 0->1, 0->2, 1->1, 1->3, 2->1, 2->2, 3->3, 0->0, 1->2, 3->2, 0->1, 1->0
# up 5, same 4, down 3; table rows (pre) x columns (post):
#   [[1, 2, 1, 0], [1, 1, 1, 1], [0, 1, 1, 0], [0, 0, 1, 1]]
# Stuart-Maxwell by hand: d = (4, 4, 2, 2) - (2, 4, 4, 2) = (2, 0, -2, 0); dropping level 3,
# V = [[4, -3, -1], [-3, 6, -2], [-1, -2, 4]]; V x = d gives x = (8, 3, -3)/13, X2 = d.x = 22/13.
# R: coin::mh_test(as.table(matrix(c(1,2,1,0, 1,1,1,1, 0,1,1,0, 0,0,1,1), 4, byrow = TRUE)))
#    chi-squared = 1.6923076923, df = 3, p-value = 0.638645323877
PAIRS = [(0, 1), (0, 2), (1, 1), (1, 3), (2, 1), (2, 2), (3, 3), (0, 0), (1, 2), (3, 2), (0, 1),
         (1, 0)]


@pytest.fixture()
def hand_levels():
    rows = []
    for i, (a, b) in enumerate(PAIRS):
        rows += [(f"p{i:02d}", "pre", "parent", a), (f"p{i:02d}", "post", "parent", b)]
    rows += [("gone", "pre", "parent", 2), ("unknown", "pre", "parent", 1),
             ("unknown", "post", "parent", None)]
    frame = pd.DataFrame(rows, columns=["respondent_id", "wave", "role", "gerdes_level"])
    frame["gerdes_level"] = frame["gerdes_level"].astype("Int64")
    return frame


def test_ordinal_change_hand_computed(hand_levels):
    out = ordinal_change(hand_levels, "gerdes_level", "gerdes").iloc[0]
    assert (out["n"], out["n_up"], out["n_same"], out["n_down"]) == (12, 5, 4, 3)
    assert out["share_up"] == pytest.approx(5 / 12)
    assert out["net_up"] == pytest.approx(2 / 12)
    se = np.sqrt((5 + 3) - (5 - 3) ** 2 / 12) / 12
    z = stats.norm.ppf(0.975)
    assert out["net_up_ci_low"] == pytest.approx(2 / 12 - z * se)
    assert out["net_up_ci_high"] == pytest.approx(2 / 12 + z * se)
    assert out["sign_test_p"] == pytest.approx(186 / 256)
    assert out["stuart_maxwell_chi2"] == pytest.approx(22 / 13)
    assert out["stuart_maxwell_df"] == 3
    assert out["stuart_maxwell_p"] == pytest.approx(0.638645323877, rel=1e-8)


def test_transition_table_counts_and_levels(hand_levels):
    t = transition_table(hand_levels, "gerdes_level", "gerdes", min_cell=1, lang="en")
    table = t.pivot(index="from_level", columns="to_level", values="n").to_numpy()
    np.testing.assert_array_equal(table, [[1, 2, 1, 0], [1, 1, 1, 1], [0, 1, 1, 0], [0, 0, 1, 1]])
    assert t["reason"].isna().all()
    assert t.loc[0, "from_label"] == "Not yet exchanging information"
    # With the default minimum cell size every non-zero cell is below 10: all suppressed, zeros
    # shown.
    t10 = transition_table(hand_levels, "gerdes_level", "gerdes")
    assert (t10["n"].isna() == (table.ravel() > 0)).all()
    assert set(t10["reason"].dropna()) == {f"suppressed: n < {DEFAULT_MIN_CELL}"}


def test_protect_primary_and_complementary():
    p, s = _protect(np.array([3, 40, 57]), 10)  # 3 shown as 100 - 40 - 57 unless 40 hidden
    assert p.tolist() == [True, False, False] and s.tolist() == [False, True, False]
    p, s = _protect(np.array([3, 4, 57]), 10)  # 3 + 4 = 7 < 10 recoverable: hide 57 too
    assert (p | s).tolist() == [True, True, True]
    p, s = _protect(np.array([15, 5, 6, 30]), 10)  # 5 + 6 = 11: cannot be pinned down
    assert p.tolist() == [False, True, True, False] and not s.any()
    p, s = _protect(np.array([0, 12, 30]), 10)  # zeros are shown
    assert not (p | s).any()
    p, s = _protect(np.array([[20, 3], [15, 40]]), 10)  # row 0 and column 1 would reveal 3
    assert p.tolist() == [[False, True], [False, False]]
    assert s.tolist() == [[True, False], [False, True]]


def test_level_distribution_suppresses_small_groups_whole():
    frame = pd.DataFrame({"role": ["teacher"] * 9, "wave": "pre",
                          "gerdes_level": pd.array([1] * 9, "Int64")})
    t = level_distribution(frame, "gerdes_level", "gerdes")
    assert t["n"].isna().all() and t["n_total"].isna().all()
    assert set(t["reason"]) == {"suppressed: n < 10"}


def test_zelfbeheer_left_out_when_nobody_chose_it():
    ladder = load_instrument("participatieladder")
    frame = pd.DataFrame({"respondent_id": [f"r{i}" for i in range(20)] * 2,
                          "wave": ["pre"] * 20 + ["post"] * 20, "role": "parent",
                          "school_id": "S01", "pl_expected": 3,
                          "pl_experienced": [2] * 20 + [3] * 20})
    c = classify(frame, ladder)
    dist = level_distribution(c, "ladder_experienced", ladder)
    assert sorted(dist["level"].unique()) == [1, 2, 3, 4, 5]  # no 6 (optional, unused)
    trans = transition_table(c, "ladder_experienced", ladder)
    assert trans["n"].sum() == 20 and 6 not in set(trans["to_level"])
    frame.loc[0, "pl_experienced"] = 6
    dist = level_distribution(classify(frame, ladder), "ladder_experienced", ladder)
    assert 6 in set(dist["level"])


def test_ladder_mismatch_and_praatplaat_hand_computed():
    rows = pd.DataFrame({"role": "parent", "wave": "pre",
                         "pl_expected": [4] * 10 + [3] * 10 + [2] * 10 + [np.nan],
                         "pl_experienced": [2] * 10 + [3] * 10 + [4] * 10 + [3]})
    t = ladder_mismatch(rows).iloc[0]
    # mismatches: -2 x10, 0 x10, +2 x10 -> mean 0, mean |.| = 4/3, thirds
    assert t["n"] == 30 and t["mean_mismatch"] == pytest.approx(0.0)
    assert t["mean_abs_mismatch"] == pytest.approx(4 / 3)
    assert [t["share_less"], t["share_as_expected"], t["share_more"]] == pytest.approx([1 / 3] * 3)
    pp = pd.DataFrame({"role": "teacher", "wave": "post", "pp_review": [1] * 12 + [3] * 20})
    out = praatplaat_table(pp, lang="en")
    review = out[out["theme"] == "pp_review"]
    assert review["n"].tolist() == [12.0, 0.0, 20.0]
    assert review["mean"].iloc[0] == pytest.approx((12 + 60) / 32)
    assert review["answer_label"].tolist() == ["Needs work", "Partly in place", "Going well"]


def test_epstein_profile_is_tidy_per_respondent_and_type():
    row = {"respondent_id": "r", "wave": "pre", "role": "parent", "school_id": "S01",
           "ep_par_o1": 5, "ep_par_o2": 3, "ep_par_part": 1,      # (5 + 3 + 1) / 3 = 3
           "ep_dec_o1": 2, "ep_dec_o2": None, "ep_dec_part": None}  # 1 of 3 answered: missing
    p = epstein_profile(pd.DataFrame([row]), lang="en").set_index("type")
    assert len(p) == 6
    assert p.loc["epstein_parenting", "score"] == pytest.approx(3.0)
    assert np.isnan(p.loc["epstein_decision_making", "score"])
    assert p["type_order"].tolist() == [1, 2, 3, 4, 5, 6]


# ---------------------------------------------------------------------------------------------
# simulate and recover
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def frameworks_study(demo_frameworks):
    return demo_frameworks  # built once per session (conftest.py)


@pytest.fixture(scope="module")
def frameworks_summary(frameworks_study):
    return summary(frameworks_study.responses, lang="en")


def test_simulation_shares_the_respondents_of_simulate_study(frameworks_study, demo_study):
    base = demo_study.responses[["respondent_id", "wave", "role", "school_id"]]
    for table in frameworks_study.responses.values():
        keys = table[["respondent_id", "wave", "role", "school_id"]]
        pd.testing.assert_frame_equal(keys.reset_index(drop=True), base.reset_index(drop=True))
        items = table.drop(columns=["respondent_id", "wave", "role", "school_id"])
        assert 0.02 < items.isna().to_numpy().mean() < 0.045  # ~3 % missing items
    again = simulate_frameworks(seed=2014)
    pd.testing.assert_frame_equal(again.responses["gerdes"], frameworks_study.responses["gerdes"])


def cumulative_shares(study, inst_id, classification, role):
    """P(level >= L) per wave from the unsuppressed distribution (a check, not a report)."""
    c = classify(study.responses[inst_id], load_instrument(inst_id))
    d = level_distribution(c[c["role"] == role], classification, inst_id, min_cell=1)
    wide = d.pivot(index="wave", columns="level", values="share")
    return wide.loc[["pre", "post"]].iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1]


def test_gerdes_levels_move_up(frameworks_study, frameworks_summary):
    s = frameworks_summary
    cum = cumulative_shares(frameworks_study, "gerdes", "gerdes_level", "parent")
    # post is stochastically larger: P(level >= L) rises for every L = 1, 2, 3
    for level in (1, 2, 3):
        assert cum.loc["post", level] > cum.loc["pre", level] + 0.05, level
    tests = s.ordinal_tests.set_index(["classification", "role"])
    for role in ("parent", "teacher", "youthworker"):
        row = tests.loc[("gerdes_level", role)]
        assert row["share_up"] > row["share_down"]
        assert row["sign_test_p"] < 0.05, role
    assert tests.loc[("gerdes_level", "parent"), "stuart_maxwell_p"] < 0.05
    assert tests.loc[("gerdes_level", "parent"), "net_up_ci_low"] > 0


def test_experienced_rung_moves_up_and_mismatch_shrinks(frameworks_study, frameworks_summary):
    s = frameworks_summary
    cum = cumulative_shares(frameworks_study, "participatieladder", "ladder_experienced", "parent")
    assert (cum.loc["post", [2, 3, 4, 5]] > cum.loc["pre", [2, 3, 4, 5]]).all()
    tests = s.ordinal_tests.set_index(["classification", "role"])
    assert tests.loc[("ladder_experienced", "parent"), "sign_test_p"] < 1e-6
    assert tests.loc[("ladder_experienced", "parent"), "stuart_maxwell_p"] < 1e-6
    mm = s.ladder_mismatch.set_index(["role", "wave"])
    true = framework_true_shifts().set_index(["framework", "role", "quantity"])
    for role in ("parent", "teacher"):
        pre, post = mm.loc[(role, "pre")], mm.loc[(role, "post")]
        assert post["mean_mismatch"] > pre["mean_mismatch"]
        assert post["mean_abs_mismatch"] < pre["mean_abs_mismatch"]
    t = true.loc[("participatieladder", "parent", "mismatch")]
    assert mm.loc[("parent", "pre"), "mean_mismatch"] == pytest.approx(t["expected_pre"], abs=0.1)
    assert mm.loc[("parent", "post"), "mean_mismatch"] == pytest.approx(t["expected_post"], abs=0.1)
    # less say than expected becomes rarer for parents
    assert mm.loc[("parent", "post"), "share_less"] < mm.loc[("parent", "pre"), "share_less"] - 0.1


def test_epstein_frequencies_change_as_simulated(frameworks_summary):
    change = frameworks_summary.epstein_change.set_index(["role", "type"])
    shifts = FrameworkDesign().epstein_shift
    for type_id in ("epstein_communicating", "epstein_decision_making",
                    "epstein_learning_at_home"):
        row = change.loc[("parent", type_id)]
        assert row["ci_low"] > 0, type_id
        assert row["mean_diff"] == pytest.approx(shifts[type_id], abs=0.15)
    vol = change.loc[("parent", "epstein_volunteering")]  # true shift 0
    assert vol["ci_low"] < 0 < vol["ci_high"] or vol["mean_diff"] == pytest.approx(0, abs=1e-12)


def test_summary_respects_privacy(frameworks_summary, frameworks_study):
    s = frameworks_summary
    assert set(s.epstein_school_profile["role"]) == {"parent"}
    for name, table in s.tables().items():
        if "n" in table.columns:
            shown = table["n"].dropna()
            assert not ((shown > 0) & (shown < DEFAULT_MIN_CELL)).any(), name
            assert table.loc[table["n"].isna(), "reason"].notna().all(), name
    assert any("no questionnaire" in note for note in s.notes)
    big = summary({"gerdes": frameworks_study.responses["gerdes"]}, min_cell=40)
    yw = big.ordinal_tests[big.ordinal_tests["role"] == "youthworker"].iloc[0]
    assert np.isnan(yw["sign_test_p"]) and yw["reason"] == "suppressed: n < 40"


def test_summary_tables_have_fixed_columns(frameworks_summary):
    s = frameworks_summary
    assert list(s.ordinal_tests.columns) == [
        "classification", "role", "n", "share_up", "share_same", "share_down", "net_up",
        "net_up_ci_low", "net_up_ci_high", "ci_level", "sign_test_p", "stuart_maxwell_chi2",
        "stuart_maxwell_df", "stuart_maxwell_p", "reason"]
    assert list(s.transitions.columns) == ["classification", "role", "from_level", "from_label",
                                           "to_level", "to_label", "n", "reason"]
    assert list(s.level_distribution.columns) == ["classification", "role", "wave", "level",
                                                  "label", "n", "share", "n_total", "reason"]
    assert s.level_distribution["role"].drop_duplicates().tolist() == ["parent", "teacher",
                                                                       "youthworker"]
    assert "Gerdes" in s.summary()


@pytest.mark.slow
def test_zero_shift_keeps_the_tests_size():
    """200 seeded replications without any true change: rejection rate near 5 %."""
    reps = simulate_framework_replications(seed=7, n_replications=200,
                                           design=FrameworkDesign(shift_factor=0.0),
                                           instruments=("gerdes", "participatieladder"))
    rates = {}
    for inst_id, cls in (("gerdes", "gerdes_level"), ("participatieladder", "ladder_experienced")):
        data = reps.responses[inst_id]
        c = classify(data, load_instrument(inst_id))
        c["replication"] = data["replication"].to_numpy()
        c = c[c["role"] == "parent"]
        oc = ordinal_change(c, cls, inst_id, by=("replication",))
        assert len(oc) == 200
        rates[cls] = ((oc["sign_test_p"] < 0.05).mean(), (oc["stuart_maxwell_p"] < 0.05).mean())
    for cls, (sign, sm) in rates.items():
        # 200 replications: binomial SE of a 5 % rate is 1.5 points; the sign test is exact
        # and conservative (discrete), Stuart-Maxwell asymptotic.
        assert 0.01 <= sign <= 0.09, (cls, sign)
        assert 0.01 <= sm <= 0.10, (cls, sm)


def test_true_shift_is_detected_in_every_replication():
    reps = simulate_framework_replications(seed=8, n_replications=40,
                                           instruments=("gerdes",))
    data = reps.responses["gerdes"]
    c = classify(data, load_instrument("gerdes"))
    c["replication"] = data["replication"].to_numpy()
    oc = ordinal_change(c[c["role"] == "parent"], "gerdes_level", "gerdes", by=("replication",))
    assert (oc["sign_test_p"] < 0.05).mean() == 1.0
    assert (oc["net_up"] > 0).all()
