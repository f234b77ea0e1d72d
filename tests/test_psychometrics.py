"""Psychometrics against R (psych, lavaan), hand-checked cases and simulations.

Reference values: ``tests/reference/r_values.json``, made by ``tests/reference/reference.R`` on
the CSVs in ``tests/reference/data/`` (real: psychTools' bfi; synthetic: items_synth). The R call
that produced each block is written above the comparison, and the test checks that the JSON's
``call`` string is that call, so the comment cannot drift from what ran.

Tolerances: alpha, standardised alpha, item statistics and Feldt's CI are closed forms of the
covariance matrix: ``rtol = 1e-10``. Omega and CFA come from iterative ML: lavaan stops its
optimiser (nlminb) at a relative tolerance of about 1e-10 in F, which leaves its estimates
within ~1e-6 of the optimum, so ML quantities are compared with ``atol = 1e-5`` (chi-square:
``rtol = 1e-6``) - well inside the 1e-3 asked for.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from partnerschap_eval import psychometrics as ps
from partnerschap_eval.errors import InputError
from partnerschap_eval.results.quality import scale_quality

DATA = Path(__file__).resolve().parent / "reference" / "data"
FIT_KEYS = {"chisq": "chisq", "df": "df", "pvalue": "p", "cfi": "cfi", "tli": "tli",
            "rmsea": "rmsea", "rmsea.ci.lower": "rmsea_ci_low",
            "rmsea.ci.upper": "rmsea_ci_high", "srmr": "srmr"}
M3 = {"rec": [f"rec{i}" for i in range(1, 5)], "twc": [f"twc{i}" for i in range(1, 5)],
      "sdm": [f"sdm{i}" for i in range(1, 5)]}
M5 = {f: [f"{f}{i}" for i in range(1, 6)] for f in "ACENO"}


# ---------------------------------------------------------------------------------------------
# data as reference.R builds it
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def synth() -> pd.DataFrame:
    return pd.read_csv(DATA / "items_synth.csv")


@pytest.fixture(scope="module")
def synth_c() -> pd.DataFrame:
    return pd.read_csv(DATA / "items_synth_complete.csv")


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi_items.csv")


def scale_data(name: str, synth: pd.DataFrame, bfi: pd.DataFrame) -> pd.DataFrame:
    """The item sets of reference.R's ``scales`` list (reversed items as 7 - x)."""
    if name.startswith("synth_"):
        stem = name.split("_")[1]
        return synth[[f"{stem}{i}" for i in range(1, 5)]]
    if name == "bfi_A2_A5":
        return bfi[["A2", "A3", "A4", "A5"]]
    if name == "bfi_A":
        return pd.concat([(7 - bfi["A1"]).rename("A1r"), bfi[["A2", "A3", "A4", "A5"]]], axis=1)
    return pd.concat([bfi[["C1", "C2", "C3"]], (7 - bfi["C4"]).rename("C4r"),
                      (7 - bfi["C5"]).rename("C5r")], axis=1)


SCALES = ["synth_rec", "synth_twc", "synth_sdm", "bfi_A2_A5", "bfi_A", "bfi_C"]
CALLS = {"listwise": "psych::alpha(xl, check.keys = FALSE)",
         "pairwise": 'psych::alpha(x, check.keys = FALSE, use = "pairwise")'}


# ---------------------------------------------------------------------------------------------
# alpha and item statistics vs psych
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["listwise", "pairwise"])
@pytest.mark.parametrize("name", SCALES)
def test_alpha_matches_psych(r_values, synth, bfi, name, policy):
    x = scale_data(name, synth, bfi)
    ref = r_values["alpha"][name][policy]
    # listwise: psych::alpha(xl, check.keys = FALSE) with xl = na.omit(x)
    # pairwise: psych::alpha(x, check.keys = FALSE, use = "pairwise")
    assert ref["call"].startswith(CALLS[policy])
    res = ps.cronbach_alpha(x, nan_policy=policy)
    assert res.alpha == pytest.approx(ref["raw_alpha"], rel=1e-10)
    assert res.std_alpha == pytest.approx(ref["std_alpha"], rel=1e-10)
    # $feldt: psych uses n = nrow(x); ours counts rows with an answer - the same rows here
    assert res.n == ref["feldt_psych"]["n_used"]
    assert res.n_complete == ref["n_complete"]
    assert res.ci_low == pytest.approx(ref["feldt_psych"]["lower"], rel=1e-10)
    assert res.ci_high == pytest.approx(ref["feldt_psych"]["upper"], rel=1e-10)
    # qf() by hand: 1 - (1 - alpha) * qf(.975 | .025, n - 1, (n - 1)(k - 1))
    ci = ps.feldt_ci(ref["raw_alpha"], ref["feldt_psych"]["n_used"], ref["k"])
    lo, hi = ci.low, ci.high
    assert [lo, hi] == pytest.approx([ref["feldt_by_hand"]["lower"],
                                      ref["feldt_by_hand"]["upper"]], rel=1e-12)


@pytest.mark.parametrize("policy", ["listwise", "pairwise"])
@pytest.mark.parametrize("name", SCALES)
def test_item_statistics_match_psych(r_values, synth, bfi, name, policy):
    x = scale_data(name, synth, bfi)
    ref = r_values["alpha"][name][policy]
    assert ref["call"].startswith(CALLS[policy])
    t = ps.item_statistics(x, scale_min=1, scale_max=6, nan_policy=policy)
    assert t["item"].tolist() == ref["item_stats"]["item"]
    # $item.stats: n, mean, sd (na.rm), r.drop (from the pairwise covariance matrix)
    assert t["n"].tolist() == ref["item_stats"]["n"]
    np.testing.assert_allclose(t["mean"], ref["item_stats"]["mean"], rtol=1e-10)
    np.testing.assert_allclose(t["sd"], ref["item_stats"]["sd"], rtol=1e-10)
    np.testing.assert_allclose(t["r_rest"], ref["item_stats"]["r_drop"], rtol=1e-10)
    # $alpha.drop$raw_alpha
    np.testing.assert_allclose(t["alpha_if_deleted"], ref["alpha_drop"]["raw_alpha"],
                               rtol=1e-10)


def test_listwise_alpha_by_hand_matches(r_values, synth, bfi):
    # k/(k-1) * (1 - sum(apply(xl, 2, var)) / var(rowSums(xl)))
    for name in SCALES:
        ref = r_values["alpha"][name]["listwise"]
        res = ps.cronbach_alpha(scale_data(name, synth, bfi))
        assert res.alpha == pytest.approx(ref["raw_alpha_by_hand"], rel=1e-10)


# ---------------------------------------------------------------------------------------------
# omega vs lavaan
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SCALES)
def test_omega_matches_lavaan(r_values, synth, bfi, name):
    ref = r_values["omega"][name]["lavaan_cfa"]
    # lavaan::cfa(model, data = xl, std.lv = TRUE, estimator = "ML"), xl = na.omit(x)
    assert ref["call"].startswith('lavaan::cfa(model, data = xl, std.lv = TRUE, estimator = "ML")')
    x = scale_data(name, synth, bfi)
    res = ps.mcdonald_omega(x)
    assert res.converged and res.n == r_values["omega"][name]["n"]
    # (sum lambda)^2 / ((sum lambda)^2 + sum theta)
    assert res.omega == pytest.approx(ref["omega_total"], abs=1e-5)
    np.testing.assert_allclose(res.loadings, ref["loadings"], atol=1e-5)
    np.testing.assert_allclose(res.residual_variances, ref["residual_variances"], atol=1e-5)
    assert ps.omega_total(x) == ps.OmegaTotal(res.omega, res.n)


# ---------------------------------------------------------------------------------------------
# CFA and invariance vs lavaan
# ---------------------------------------------------------------------------------------------
def assert_fit(fit: ps.CfaFit, ref: dict) -> None:
    fm = ref["fit_measures"]
    assert fit.converged and ref["converged"]
    assert fit.npar == ref["npar"]
    assert fit.df == fm["df"]
    assert fit.chisq == pytest.approx(fm["chisq"], rel=1e-6)
    for key, ours in FIT_KEYS.items():
        if key not in ("chisq", "df"):
            assert getattr(fit, ours) == pytest.approx(fm[key], abs=1e-5), key


@pytest.mark.parametrize("role", [None, "parent", "teacher", "youthworker"])
def test_cfa_synth_matches_lavaan(r_values, synth_c, role):
    if role is None:
        ref = r_values["cfa"]["synth_3f"]
        # lavaan::cfa(m3, data = synth_c, estimator = "ML")
        assert ref["call"] == 'lavaan::cfa(m3, data = synth_c, estimator = "ML")'
        fit = ps.fit_cfa(synth_c, M3)
        np.testing.assert_allclose(fit.loadings["std_all"], ref["std_loadings"]["std_all"],
                                   atol=1e-5)
        assert fit.loadings["item"].tolist() == ref["std_loadings"]["item"]
    else:
        ref = r_values["cfa"][f"synth_3f_{role}"]
        # lavaan::cfa(m3, data = synth_c[synth_c$role == "<role>", ], estimator = "ML")
        assert ref["call"] == (f'lavaan::cfa(m3, data = synth_c[synth_c$role == "{role}", ], '
                               'estimator = "ML")')
        fit = ps.fit_cfa(synth_c[synth_c["role"] == role], M3)
    assert fit.n == ref["n"]
    assert_fit(fit, ref)


def test_cfa_bfi_agreeableness_matches_lavaan(r_values, bfi):
    ref = r_values["cfa"]["bfi_A_1f"]
    # lavaan::cfa(mA, data = bfi_A, estimator = "ML"), bfi_A = na.omit(A1r = 7 - A1, A2..A5)
    assert ref["call"] == 'lavaan::cfa(mA, data = bfi_A, estimator = "ML")'
    data = scale_data("bfi_A", None, bfi)
    fit = ps.fit_cfa(data, {"A": list(data.columns)})
    assert fit.n == ref["n"] == 2709
    assert_fit(fit, ref)
    np.testing.assert_allclose(fit.loadings["std_all"], ref["std_loadings"]["std_all"],
                               atol=1e-5)


def assert_invariance(res: ps.InvarianceResult, ref: dict, calls: dict[str, str]) -> None:
    for level in ("configural", "metric", "scalar"):
        assert ref[level]["call"] == calls[level]
        fit = getattr(res, level)
        assert list(fit.n_by_group) == ref[level]["n"]
        assert list(fit.groups) == ref[level]["group_labels"]
        assert_fit(fit, ref[level])
    table = res.to_frame().set_index("level")
    for level, key in (("metric", "metric_vs_configural"), ("scalar", "scalar_vs_metric")):
        delta = ref["delta"][key]
        assert table.loc[level, "delta_cfi"] == pytest.approx(delta["cfi"], abs=1e-5)
        assert table.loc[level, "delta_rmsea"] == pytest.approx(delta["rmsea"], abs=1e-5)
        assert table.loc[level, "delta_chisq"] == pytest.approx(delta["chisq"], abs=1e-4)
        assert table.loc[level, "delta_df"] == delta["df"]
        # lavTestLRT(configural, metric, scalar)
        assert table.loc[level, "p_lrt"] == pytest.approx(delta["p_lrt"], rel=1e-4, abs=1e-12)
        supported = delta["cfi"] >= -0.010 and delta["rmsea"] <= 0.015
        assert table.loc[level, "supported"] == supported


def invariance_calls(group: str) -> dict[str, str]:
    return {
        # configural: lavaan::cfa(model, data = data, group = "<g>", estimator = "ML")
        "configural": f'lavaan::cfa(model, data = data, group = "{group}", estimator = "ML")',
        # metric: ... group.equal = "loadings" ...
        "metric": f'lavaan::cfa(model, data = data, group = "{group}", '
                  'group.equal = "loadings", estimator = "ML")',
        # scalar: ... group.equal = c("loadings", "intercepts") ...
        "scalar": f'lavaan::cfa(model, data = data, group = "{group}", '
                  'group.equal = c("loadings", "intercepts"), estimator = "ML")',
    }


def test_invariance_across_roles_matches_lavaan(r_values, synth_c):
    res = ps.measurement_invariance(synth_c, M3, "role")
    assert_invariance(res, r_values["invariance"]["synth_role"], invariance_calls("role"))
    # generated with the same loadings and thresholds in every role: invariance holds
    assert res.to_frame()["supported"].tolist() == [None, True, True]


def test_invariance_bfi_gender_matches_lavaan(r_values, bfi):
    cols = [i for items in M5.values() for i in items]
    data = bfi[cols + ["gender"]].dropna()
    res = ps.measurement_invariance(data, M5, "gender")
    assert_invariance(res, r_values["invariance"]["bfi_gender_5f"], invariance_calls("gender"))
    # a real case where Chen's rule rejects scalar invariance (CFI drops by .011)
    assert res.to_frame()["supported"].tolist() == [None, True, False]


# ---------------------------------------------------------------------------------------------
# hand-checked small cases
# ---------------------------------------------------------------------------------------------
def test_alpha_small_case_by_hand():
    # items a, b, c on five people; covariance matrix by hand (divisor 4):
    # var a = 2.5, var b = 1.7, var c = 2.2, cov ab = 1.75, cov ac = 2.25, cov bc = 1.45
    x = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 4], "c": [1, 3, 3, 4, 5]})
    total = 2.5 + 1.7 + 2.2 + 2 * (1.75 + 2.25 + 1.45)  # = 17.3, alpha = 0.945087
    alpha = 3 / 2 * (1 - 6.4 / total)
    res = ps.cronbach_alpha(x)
    assert res.alpha == pytest.approx(alpha, rel=1e-12)
    assert (res.n, res.k, res.n_rows, res.n_complete) == (5, 3, 5, 5)
    f_hi, f_lo = stats.f.ppf([0.975, 0.025], 4, 8)
    assert (res.ci_low, res.ci_high) == pytest.approx((1 - (1 - alpha) * f_hi,
                                                       1 - (1 - alpha) * f_lo), rel=1e-12)


def test_alpha_of_identical_items_is_one():
    x = np.tile(np.array([1.0, 2, 4, 5, 3, 2])[:, None], (1, 4))
    res = ps.cronbach_alpha(x)
    assert res.alpha == pytest.approx(1.0) and res.std_alpha == pytest.approx(1.0)


def test_item_rest_and_alpha_if_deleted_by_definition():
    rng = np.random.default_rng(7)
    f = rng.normal(size=(300, 1))
    x = pd.DataFrame(np.rint(3 + f + rng.normal(size=(300, 5))), columns=list("abcde"))
    t = ps.item_statistics(x)
    for j, col in enumerate(x.columns):
        rest = x.drop(columns=col).sum(axis=1)
        assert t.loc[j, "r_rest"] == pytest.approx(np.corrcoef(x[col], rest)[0, 1], rel=1e-12)
        assert t.loc[j, "alpha_if_deleted"] == pytest.approx(
            ps.cronbach_alpha(x.drop(columns=col)).alpha, rel=1e-12)


def test_pairwise_covariance_equals_pandas_and_counts_answering_rows():
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.integers(1, 6, size=(40, 4)).astype(float), columns=list("abcd"))
    x.iloc[rng.random((40, 4)) < 0.2] = np.nan
    x.iloc[5] = np.nan  # a row without any answer is nobody's answer: not counted
    mom = ps._moments(x.to_numpy(), "pairwise")
    np.testing.assert_allclose(mom.cov, x.cov().to_numpy(), rtol=1e-12)  # pairwise-complete
    np.testing.assert_allclose(mom.mean, x.mean().to_numpy(), rtol=1e-12)
    res = ps.cronbach_alpha(x, nan_policy="pairwise")
    assert res.n == 39 and res.n_rows == 40
    assert res.n_complete == int(x.notna().all(axis=1).sum())
    listwise = ps.cronbach_alpha(x)
    assert listwise.n == res.n_complete
    assert listwise.alpha == pytest.approx(ps.cronbach_alpha(x.dropna()).alpha, rel=1e-12)


def test_floor_and_ceiling_use_the_declared_scale():
    # answers only 2..4 on a declared 1..5 scale: no floor or ceiling at all, although 2 and 4
    # are the observed minimum and maximum
    x = pd.DataFrame({"a": [2, 3, 4, 4, np.nan], "b": [2, 2, 3, 4, 4], "c": [3, 3, 2, 4, 4]})
    t = ps.item_statistics(x, scale_min=1, scale_max=5, nan_policy="pairwise")
    assert t["pct_floor"].tolist() == [0.0, 0.0, 0.0]
    assert t["pct_ceiling"].tolist() == [0.0, 0.0, 0.0]
    t = ps.item_statistics(x, scale_min=2, scale_max=4, nan_policy="pairwise")
    assert t["pct_floor"].tolist() == [25.0, 40.0, 20.0]  # of each item's answers
    assert t["pct_ceiling"].tolist() == [50.0, 40.0, 40.0]
    assert t["pct_missing"].tolist() == [20.0, 0.0, 0.0]  # of all rows
    t = ps.item_statistics(x)  # no bounds declared: nothing is guessed
    assert t["pct_floor"].isna().all() and t["pct_ceiling"].isna().all()


def test_flag_rule():
    rng = np.random.default_rng(11)
    f = rng.normal(size=(500, 1))
    x = pd.DataFrame(f + rng.normal(scale=0.8, size=(500, 4)), columns=list("abcd"))
    x["e"] = -x["a"] + rng.normal(scale=0.5, size=500)  # reversed item, not reverse-keyed
    x["w"] = 0.15 * f[:, 0] + rng.normal(size=500)        # weak item
    t = ps.item_statistics(x).set_index("item")
    alpha = ps.cronbach_alpha(x).alpha
    expected = (t["alpha_if_deleted"] > alpha) | (t["r_rest"] < 0.30)
    assert t["flag"].tolist() == expected.tolist()
    assert t["raises_alpha"].tolist() == (t["alpha_if_deleted"] > alpha).tolist()
    assert t["weak_r_rest"].tolist() == (t["r_rest"] < 0.30).tolist()
    assert t.loc["e", "flag"] and "alpha rises if deleted" in t.loc["e", "flag_reason"]
    assert t.loc["w", "flag"] and "item-rest r < 0.30" in t.loc["w", "flag_reason"]
    assert not t.loc[["a", "b", "c", "d"], "flag"].any()
    relaxed = ps.item_statistics(x, r_rest_min=0.0).set_index("item")
    assert "item-rest" not in relaxed.loc["w", "flag_reason"]


def _exact_sample(sigma: np.ndarray, mean: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Data whose ML sample covariance (divisor n) and mean are exactly sigma and mean."""
    z = np.random.default_rng(seed).normal(size=(n, sigma.shape[0]))
    z -= z.mean(axis=0)
    s = z.T @ z / n
    whiten = np.linalg.inv(np.linalg.cholesky(s)).T
    return z @ whiten @ np.linalg.cholesky(sigma).T + mean


def test_cfa_recovers_a_known_model_exactly():
    lam = np.zeros((6, 2))
    lam[:3, 0] = [1.0, 0.8, 0.6]
    lam[3:, 1] = [1.0, 1.2, 0.7]
    phi = np.array([[0.9, 0.3], [0.3, 0.5]])
    theta = np.array([0.5, 0.4, 0.6, 0.3, 0.5, 0.4])
    sigma = lam @ phi @ lam.T + np.diag(theta)
    x = pd.DataFrame(_exact_sample(sigma, np.arange(6.0), 400, 1), columns=list("abcdef"))
    fit = ps.fit_cfa(x, {"f1": list("abc"), "f2": list("def")})
    assert fit.df == 21 - 13 and fit.npar == 13
    assert fit.chisq == pytest.approx(0.0, abs=1e-8)
    assert (fit.cfi, fit.rmsea, fit.rmsea_ci_low) == pytest.approx((1, 0, 0), abs=1e-8)
    ratio = fit.baseline_chisq / fit.baseline_df  # TLI exceeds 1 when chi2 < df, as in lavaan
    assert fit.tli == pytest.approx(ratio / (ratio - 1), rel=1e-8)
    assert fit.srmr == pytest.approx(0.0, abs=1e-8)
    np.testing.assert_allclose(fit.loadings["estimate"], [1.0, 0.8, 0.6, 1.0, 1.2, 0.7],
                               atol=1e-7)
    # two groups with the same covariances and means: every invariance level fits exactly
    both = pd.concat([x.assign(g="p"), x.assign(g="q")], ignore_index=True)
    res = ps.measurement_invariance(both, {"f1": list("abc"), "f2": list("def")}, "g")
    table = res.to_frame()
    np.testing.assert_allclose(table["chisq"], 0.0, atol=1e-7)
    assert table["df"].tolist() == [16, 20, 24]  # 2 x 27 moments - (38, 34, 30) parameters
    assert table["supported"].tolist() == [None, True, True]


def test_rmsea_interval_solves_the_noncentral_chisquare():
    lo, hi = ps._rmsea_ci(86.6960615916395, 5, 2709, 1)
    lam_lo, lam_hi = lo**2 * 2709 * 5, hi**2 * 2709 * 5
    assert stats.ncx2.cdf(86.6960615916395, 5, lam_lo) == pytest.approx(0.95, abs=1e-9)
    assert stats.ncx2.cdf(86.6960615916395, 5, lam_hi) == pytest.approx(0.05, abs=1e-9)
    lo, hi = ps._rmsea_ci(3.0, 5, 500, 1)  # P(chi2_5 <= 3) < .95: the lower limit is 0
    assert lo == 0.0 and stats.ncx2.cdf(3.0, 5, hi**2 * 500 * 5) == pytest.approx(0.05, abs=1e-9)
    assert ps._rmsea_ci(0.5, 5, 500, 1) == (0.0, 0.0)  # P(chi2_5 <= .5) < .05: both are 0
    # multi-group: scaled by sqrt(G)
    assert ps._rmsea_ci(40.0, 10, 600, 3)[1] == pytest.approx(
        math.sqrt(3) * ps._rmsea_ci(40.0, 10, 600, 1)[1], rel=1e-12)


# ---------------------------------------------------------------------------------------------
# simulations and properties
# ---------------------------------------------------------------------------------------------
def test_feldt_ci_covers_population_alpha_at_nominal_rate():
    # 200 data sets of 6 parallel normal items (loading .6, uniqueness .64), n = 80: the model
    # under which Feldt's interval is exact. Population alpha = k r / (1 + (k - 1) r), r = .36/1.
    rng = np.random.default_rng(20240620)
    reps, n, k, lam = 200, 80, 6, 0.6
    rho = lam**2
    pop = k * rho / (1 + (k - 1) * rho)
    data = lam * rng.normal(size=(reps, n, 1)) + math.sqrt(1 - rho) * rng.normal(size=(reps, n,
                                                                                      k))
    res = [ps.cronbach_alpha(d) for d in data]
    covered = np.mean([r.ci_low <= pop <= r.ci_high for r in res])
    # binomial SD at 200 replications is 0.015: the band is about +-3 SD around 0.95
    assert 0.905 <= covered <= 0.99
    assert abs(np.mean([r.alpha for r in res]) - pop) < 0.01


def test_bootstrap_ci_covers_population_alpha():
    # congeneric items (unequal loadings), where Feldt's assumption does not hold exactly
    rng = np.random.default_rng(99)
    lam = np.array([0.8, 0.7, 0.6, 0.5, 0.4])
    sigma = np.outer(lam, lam) + np.diag(1 - lam**2)
    pop = 5 / 4 * (1 - np.trace(sigma) / sigma.sum())
    reps, n = 120, 150
    data = rng.normal(size=(reps, n, 1)) * lam + rng.normal(size=(reps, n, 5)) * np.sqrt(1 - lam**2)
    res = [ps.cronbach_alpha(d, n_boot=300, seed=i) for i, d in enumerate(data)]
    covered = np.mean([r.boot_ci_low <= pop <= r.boot_ci_high for r in res])
    assert all(r.n_boot == 300 for r in res)
    assert 0.87 <= covered <= 0.995  # percentile bootstrap runs slightly narrow at n = 150


def test_omega_recovers_population_value():
    rng = np.random.default_rng(5)
    lam = np.array([0.9, 0.7, 0.6, 0.5])
    psi = np.array([0.4, 0.6, 0.5, 0.8])
    pop = lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum())
    est = [ps.mcdonald_omega(rng.normal(size=(400, 1)) * lam
                             + rng.normal(size=(400, 4)) * np.sqrt(psi)).omega
           for _ in range(100)]
    assert abs(np.mean(est) - pop) < 0.005
    res = ps.mcdonald_omega(rng.normal(size=(3000, 1)) * lam
                            + rng.normal(size=(3000, 4)) * np.sqrt(psi), n_boot=400, seed=1)
    assert res.ci_low < pop < res.ci_high and res.n_boot == 400


def test_bootstrap_is_seeded():
    x = pd.read_csv(DATA / "items_synth.csv")[[f"rec{i}" for i in range(1, 5)]]
    a = ps.cronbach_alpha(x, nan_policy="pairwise", n_boot=200, seed=3)
    b = ps.cronbach_alpha(x, nan_policy="pairwise", n_boot=200, seed=3)
    c = ps.cronbach_alpha(x, nan_policy="pairwise", n_boot=200, seed=4)
    assert a == b and a != c
    assert a.boot_ci_low < a.alpha < a.boot_ci_high
    o1, o2 = (ps.mcdonald_omega(x, n_boot=100, seed=9) for _ in range(2))
    assert o1 == o2


@pytest.mark.parametrize("seed", range(3))
def test_alpha_and_cfa_invariances(seed):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(250, 1))
    x = pd.DataFrame(f * [0.8, 0.7, 0.6, 0.5] + rng.normal(size=(250, 4)), columns=list("abcd"))
    base = ps.cronbach_alpha(x)
    shifted = ps.cronbach_alpha(x * 3.0 + 100.0)  # common linear change of all items
    permuted = ps.cronbach_alpha(x.sample(frac=1.0, random_state=seed)[list("dbca")])
    assert shifted.alpha == pytest.approx(base.alpha, rel=1e-10)
    assert permuted.alpha == pytest.approx(base.alpha, rel=1e-10)
    scaled = x * [1.0, 2.0, 0.5, 3.0]  # item-wise rescaling: only the standardised alpha stays
    assert ps.cronbach_alpha(scaled).std_alpha == pytest.approx(base.std_alpha, rel=1e-10)
    # ML fit is scale free: rescaling items leaves chi-square unchanged
    fit, fit_s = (ps.fit_cfa(d, {"f": list("abcd")}) for d in (x, scaled))
    assert fit_s.chisq == pytest.approx(fit.chisq, rel=1e-7, abs=1e-9)
    assert ps.mcdonald_omega(x * 2 + 1).omega == pytest.approx(ps.mcdonald_omega(x).omega,
                                                               rel=1e-7)


def test_invariance_does_not_depend_on_group_order(synth_c):
    a = ps.measurement_invariance(synth_c, M3, "role")
    b = ps.measurement_invariance(synth_c, M3, "role",
                                  group_order=["youthworker", "teacher", "parent"])
    for level in ("configural", "metric", "scalar"):
        assert getattr(b, level).chisq == pytest.approx(getattr(a, level).chisq, rel=1e-7)


# ---------------------------------------------------------------------------------------------
# the report's section and the results.json path
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_study():
    from partnerschap_eval.synth import simulate_study

    return simulate_study(seed=5).responses


def test_scale_quality_tables(small_study, instrument):
    from partnerschap_eval.scoring import reverse_key

    q = scale_quality(small_study, instrument)
    assert set(q.tables()) == {"reliability", "items", "cfa", "invariance"}
    rel = q.reliability
    assert len(rel) == 3 * 2 and set(rel["wave"]) == {"pre", "post"}
    # the row equals cronbach_alpha on the reverse-keyed items of that wave
    keyed = reverse_key(small_study, instrument)
    scale = instrument.scales[0]
    part = keyed.loc[keyed["wave"] == "pre", list(scale.items)]
    row = rel[(rel["scale"] == scale.id) & (rel["wave"] == "pre")].iloc[0]
    assert row["alpha"] == pytest.approx(ps.cronbach_alpha(part).alpha, rel=1e-12)
    assert row["omega"] == pytest.approx(ps.omega_total(part).omega, rel=1e-12)
    assert len(q.items) == 15 * 2
    assert {"pct_floor", "pct_ceiling", "r_rest", "alpha_if_deleted", "flag"} <= set(q.items)
    assert set(q.cfa["group"]) == {"all", "parent", "teacher", "youthworker"}
    inv = q.invariance
    assert inv["level"].tolist() == ["configural", "metric", "scalar"] * 2
    decided = inv.dropna(subset=["delta_cfi"])
    rule = (decided["delta_cfi"] >= -0.010) & (decided["delta_rmsea"] <= 0.015)
    assert decided["supported"].tolist() == rule.tolist()


def test_scale_quality_suppresses_small_cells(small_study, instrument):
    q = scale_quality(small_study, instrument, min_cell=1000)  # the largest allowed
    assert q.reliability["alpha"].isna().all()
    assert (q.reliability["reason"] == "suppressed: n < 1000").all()
    assert q.items["mean"].isna().all() and not q.items["flag"].any()
    assert q.cfa["reason"].str.startswith("suppressed").all()
    assert "chisq" not in q.cfa or q.cfa["chisq"].isna().all()


def test_results_reliability_block_still_works(small_study, instrument):
    from partnerschap_eval.results.scales import _reliability
    from partnerschap_eval.scoring import reverse_key

    keyed = reverse_key(small_study, instrument)
    items = list(instrument.scales[1].items)
    block = _reliability(keyed[keyed["wave"] == "pre"], items, 10)
    assert {"n", "alpha", "alpha_ci95", "omega"} <= set(block)
    res = ps.cronbach_alpha(keyed.loc[keyed["wave"] == "pre", items])
    assert block["alpha"] == res.alpha and block["alpha_ci95"] == [res.ci_low, res.ci_high]


# ---------------------------------------------------------------------------------------------
# refusals
# ---------------------------------------------------------------------------------------------
def test_bad_input_is_refused_with_a_message():
    good = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 1, 4, 3], "c": [1.0, 3, 2, 4]})
    with pytest.raises(InputError, match="not numeric"):
        ps.cronbach_alpha(good.assign(c=["x", "y", "z", "w"]))
    with pytest.raises(InputError, match="infinite"):
        ps.cronbach_alpha(good.assign(c=[1.0, np.inf, 2, 3]))
    with pytest.raises(InputError, match="nan_policy"):
        ps.cronbach_alpha(good, nan_policy="available")
    with pytest.raises(InputError, match="At least 2 items"):
        ps.cronbach_alpha(good[["a"]])
    with pytest.raises(InputError, match="more than one factor"):
        ps.fit_cfa(good, {"f": ["a", "b"], "g": ["b", "c"]})
    with pytest.raises(InputError, match="no column"):
        ps.fit_cfa(good, {"f": ["a", "b", "zz"]})
    with pytest.raises(InputError, match="more respondents than items"):
        ps.fit_cfa(good.assign(g=["p", "p", "q", "q"]), {"f": ["a", "b", "c"]}, group="g")
    with pytest.raises(InputError, match="also an item"):
        ps.fit_cfa(good, {"f": ["a", "b", "c"]}, group="a")
    with pytest.raises(InputError, match="equal may contain"):
        ps.fit_cfa(good, {"f": ["a", "b", "c"]}, equal=("residuals",))


def test_degenerate_scales_give_nan_not_errors():
    x = pd.DataFrame({"a": [1.0, 2, np.nan], "b": [2.0, np.nan, 3], "c": [np.nan, 1, 2]})
    res = ps.cronbach_alpha(x)  # no complete row
    assert res.n == 0 and math.isnan(res.alpha)
    const = pd.DataFrame({"a": [3.0] * 20, "b": np.arange(20.0), "c": np.arange(20.0) % 7})
    om = ps.mcdonald_omega(const)
    assert math.isnan(om.omega) and "singular" in om.reason
