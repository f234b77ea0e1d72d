"""The paired ordinal statistics of ``evaluation.ordinal``: published and R values, independent
closed forms, and the scalar results agreeing with the vectorised frame.

Reference values computed in R 4 with coin 1.4-2 (Debian r-cran-coin); the call is written above
each value.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from partnerschap_eval.evaluation.ordinal import (
    TRANSITION_CHANGE_COLUMNS,
    SignTest,
    StuartMaxwell,
    TransitionChange,
    sign_test,
    stuart_maxwell,
    transition_change,
    transition_change_frame,
)


@pytest.mark.parametrize(("up", "down"), [(15, 5), (5, 3), (0, 7), (9, 0), (1, 1), (40, 61),
                                          (250, 212), (3, 30)])
def test_sign_test_matches_scipy_binomtest(up, down):
    ours = sign_test(up, down)
    ref = stats.binomtest(up, up + down, 0.5, alternative="two-sided").pvalue
    assert isinstance(ours, SignTest)
    assert ours.p == pytest.approx(ref, rel=1e-10)
    assert (ours.n_up, ours.n_down, ours.n_changed) == (up, down, up + down)


def test_sign_test_published_values_and_nan_without_changers():
    # R: binom.test(15, 20)$p.value = 0.041389465332 ; binom.test(5, 8)$p.value = 0.7265625
    assert sign_test(15, 5).p == pytest.approx(0.041389465332, rel=1e-9)
    assert sign_test(5, 3).p == pytest.approx(186 / 256)  # 2 * (1 + 8 + 28 + 56) / 2^8
    assert np.isnan(sign_test(0, 0).p)


@pytest.mark.parametrize("bad", [(-1, 3), (2.5, 1), (True, 2), ("3", 1)])
def test_sign_test_takes_counts_only(bad):
    with pytest.raises(ValueError, match="counts"):
        sign_test(*bad)


VISION = np.array([[1520, 266, 124, 66], [234, 1512, 432, 78], [117, 362, 1772, 205],
                   [36, 82, 179, 492]])
# hyp <- as.table(matrix(c(20,3,0,10,30,5,5,15,40), nrow = 3))  (column-major in R)
HYP = np.array([[20, 10, 5], [3, 30, 15], [0, 5, 40]])
T4 = np.array([[12, 5, 1, 0], [9, 30, 4, 1], [2, 11, 25, 3], [0, 1, 6, 15]])


@pytest.mark.parametrize(("table", "chi2", "df", "p"), [
    # R: r <- coin::mh_test(as.table(VISION)); statistic(r); pvalue(r)
    (VISION, 11.9565696230, 3, 0.0075334250548),  # Stuart (1955); Agresti (2013) §11.3: 11.96
    # R: coin::mh_test(hyp)
    (HYP, 13.7647058824, 2, 0.00102572772656),
    # R: coin::mh_test(as.table(T4))
    (T4, 4.5493982648, 3, 0.207926171216),
])
def test_stuart_maxwell_matches_published_and_r(table, chi2, df, p):
    out = stuart_maxwell(table)
    assert isinstance(out, StuartMaxwell)
    assert out.statistic == pytest.approx(chi2, rel=1e-9)
    assert out.df == df
    assert out.p == pytest.approx(p, rel=1e-8)


def fleiss_3x3(t):
    """The closed form for three categories (Fleiss & Everitt, 1971; Fleiss, Levin & Paik, 2003)."""
    nb = (t + t.T) / 2
    d = t.sum(1) - t.sum(0)
    num = nb[1, 2] * d[0] ** 2 + nb[0, 2] * d[1] ** 2 + nb[0, 1] * d[2] ** 2
    return num / (2 * (nb[0, 1] * nb[0, 2] + nb[0, 1] * nb[1, 2] + nb[0, 2] * nb[1, 2]))


def reduced_form(t):
    """Textbook form: drop the last category and invert the (k-1) x (k-1) covariance."""
    d = (t.sum(1) - t.sum(0))[:-1]
    v = -(t + t.T).astype(float)
    np.fill_diagonal(v, t.sum(1) + t.sum(0) - 2 * np.diag(t))
    v = v[:-1, :-1]
    return float(d @ np.linalg.solve(v, d))


@pytest.fixture()
def rng_tables():
    rng = np.random.default_rng(20)
    return rng.integers(1, 40, (25, 3, 3)), rng.integers(1, 40, (25, 5, 5))


def test_stuart_maxwell_equals_independent_forms(rng_tables):
    threes, fives = rng_tables
    ours3 = transition_change_frame(threes)["stuart_maxwell_chi2"].to_numpy()
    np.testing.assert_allclose(ours3, [fleiss_3x3(t) for t in threes], rtol=1e-10)
    ours5 = [stuart_maxwell(t).statistic for t in fives]
    np.testing.assert_allclose(ours5, [reduced_form(t) for t in fives], rtol=1e-10)
    # a 2 x 2 table gives McNemar's statistic without continuity correction: (b - c)^2 / (b + c)
    assert stuart_maxwell(np.array([[30, 12], [4, 20]])).statistic == pytest.approx(4.0)


def test_stuart_maxwell_unused_level_drops_out_and_nobody_changing_is_nan():
    padded = np.zeros((5, 5), dtype=int)
    padded[:4, :4] = T4  # a fifth level nobody is in (e.g. zelfbeheer)
    # R: coin::mh_test on the padded 5 x 5 table gives chi-squared = 4.5494, df = 3
    out = stuart_maxwell(padded)
    assert out.statistic == pytest.approx(4.5493982648, rel=1e-9)
    assert out.df == 3
    still = stuart_maxwell(np.diag([5, 7, 9]))
    assert still.df == 0 and np.isnan(still.p) and np.isnan(still.statistic)


@pytest.mark.parametrize("bad", [np.ones((3, 4)), np.ones((2, 3, 3)), np.ones((1, 1)),
                                 np.array([[1, -1], [0, 2]]), np.array([[1, 0.5], [0, 2]])])
def test_stuart_maxwell_takes_one_square_table_of_counts(bad):
    with pytest.raises(ValueError, match="transition table"):
        stuart_maxwell(bad)


# The hand-computed table of test_frameworks: up 5, same 4, down 3; Stuart-Maxwell X2 = 22/13.
# R: coin::mh_test(as.table(matrix(c(1,2,1,0, 1,1,1,1, 0,1,1,0, 0,0,1,1), 4, byrow = TRUE)))
#    chi-squared = 1.6923076923, df = 3, p-value = 0.638645323877
HAND = np.array([[1, 2, 1, 0], [1, 1, 1, 1], [0, 1, 1, 0], [0, 0, 1, 1]])


def test_transition_change_hand_computed():
    r = transition_change(HAND, ci_level=0.9)
    assert isinstance(r, TransitionChange)
    assert (r.n, r.n_up, r.n_same, r.n_down) == (12, 5, 4, 3)
    assert r.share_up == pytest.approx(5 / 12) and r.share_down == pytest.approx(3 / 12)
    se = np.sqrt((5 + 3) - (5 - 3) ** 2 / 12) / 12
    z = stats.norm.ppf(0.95)
    assert (r.net_up_ci_low, r.net_up_ci_high) == pytest.approx((2 / 12 - z * se,
                                                                 2 / 12 + z * se))
    assert r.ci_level == 0.9
    assert r.sign_test_p == pytest.approx(186 / 256)
    assert r.stuart_maxwell_chi2 == pytest.approx(22 / 13)
    assert r.stuart_maxwell_df == 3
    assert r.stuart_maxwell_p == pytest.approx(0.638645323877, rel=1e-8)


def test_the_frame_has_one_row_per_table_equal_to_the_scalar_results(rng_tables):
    threes, _ = rng_tables
    stack = np.concatenate([threes[:6], np.diag([4, 0, 2])[None], np.zeros((1, 3, 3), int)])
    frame = transition_change_frame(stack)
    assert list(frame.columns) == list(TRANSITION_CHANGE_COLUMNS)
    assert len(frame) == len(stack)
    for i, table in enumerate(stack):
        one = transition_change(table).to_frame()
        np.testing.assert_array_equal(one.iloc[0].to_numpy(float), frame.iloc[i].to_numpy(float))
        assert sign_test(int(frame["n_up"][i]), int(frame["n_down"][i])).p == pytest.approx(
            frame["sign_test_p"][i], nan_ok=True)
    assert np.isnan(frame["share_up"].iloc[-1]) and frame["n"].iloc[-1] == 0

