"""Simulate-and-recover for the difference in differences (fewer studies than the script).

``benchmarks/sim_mixed.py`` runs 1000 studies per design (figures in its docstring and the
README); here 150 per design with a fixed seed, so the counts are deterministic. Studies have
a true DiD of 0 and a school x wave SD of 0.2 (schools differ in their change). Binomial SD of
a 5 % rate over 150 studies: 1.8 points; the bounds below are about 2.5 SD wide. Measured with
these seeds: Satterthwaite rejects 3.3 % / 2.0 % (20 / 8 schools), covers 96.7 % / 98.0 %;
without the school x wave intercept 23.3 % / 24.0 %.
"""

from __future__ import annotations

import pytest

from benchmarks.sim_mixed import simulate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=[(20, 1720), (8, 1708)], ids=["20 schools", "8 schools"])
def rates(request):
    n_schools, seed = request.param
    return simulate(n_schools, 150, seed)


def test_satterthwaite_holds_its_level_and_coverage(rates):
    assert rates["not_converged"] == 0
    assert 0.005 <= rates["reject_satterthwaite"] <= 0.10
    assert 0.90 <= rates["coverage_satterthwaite"] <= 0.995


def test_df_follow_the_schools_not_the_respondents(rates):
    # balanced, complete data would give (schools - 2)(waves - 1)
    expected = (rates["n_schools"] - 2) * 2
    assert 0.5 * expected <= rates["median_df"] <= 1.3 * expected
    assert rates["median_df_no_school_wave"] > 150


def test_without_the_school_by_wave_intercept_the_test_rejects_too_often(rates):
    assert rates["reject_no_school_wave"] >= 0.12
    assert rates["reject_no_school_wave"] >= rates["reject_satterthwaite"] + 0.07
