"""fit_lmm against lmerTest on lmerTest's own data sets, and against its published values.

References (tests/reference/mixed/lmertest_published.R, R 4.2.2, lme4 1.1-31, lmerTest 3.1-3):

* ``ham`` (lmerTest): ``Informed.liking ~ Product * Information + (1 | Consumer) +
  (1 | Consumer:Product)`` -- fixed effects with Satterthwaite df, a contrast (``contest``:
  the effect of information on product 2) and the type III F tests (``anova``).
* ``carrots`` (lmerTest): ``Preference ~ sens2 + Homesize + (1 | Consumer) + (1 | Product)``,
  crossed random intercepts (the package's model class; lmerTest's own carrots example adds
  random slopes, which fit_lmm does not fit).
* ``TVbo`` (lmerTest): ``Sharpnessofmovement ~ TVset * Picture + (1 | Assessor) +
  (1 | Assessor:TVset) + (1 | Assessor:Picture)``, whose type III table lmerTest publishes:
  Kuznetsova, Brockhoff & Christensen (2017), *J. Stat. Softw.* 82(13), section 8.2, kept in the
  package as ``testdata/test_paper_objects.RData`` (``an8.2_save``): F = 0.24370, 4.77355,
  4.17766 on 2/14, 3/21, 6/138 df. The SAS PROC MIXED values the paper compares with are not
  shipped with the installed package, so they are not cited here.

Type III F tests: with sum-to-zero coding (R's ``contr.sum``) the type III hypothesis of a term
is that all its coefficients are 0, tested with :meth:`LmmFit.joint_test` (lmerTest's
``contestMD``); lmerTest's type III table is invariant to the coding.

Tolerances: against the same-run lmerTest fits (tight optimiser settings in the script), as in
tests/test_mixed_design.py: estimates 1e-6 absolute, SEs and variances 1e-6 relative,
Satterthwaite df and F 1e-5 relative, REML criterion 1e-9 relative. Against the published
table (fitted in 2017 with the default optimiser, whose theta stops about 1e-6 from the
optimum): F 1e-6 relative, df 1e-6 relative (df 14, 21 and 138 are exact in a balanced design;
the published ones are 13.9999996, 21.0000012, 137.99999992).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval.evaluation.mixed_design import fit_lmm, interaction

REF = Path(__file__).resolve().parent / "reference" / "mixed"


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((REF / "r_lmertest_published.json").read_text())


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / f"{name}.csv", dtype={"Consumer": str, "Assessor": str,
                                                            "Product": str, "Picture": str,
                                                            "Information": str,
                                                            "Homesize": str})


def _dummies(values: pd.Series, name: str, coding: str) -> pd.DataFrame:
    """R's contr.treatment (``nameLEVEL`` for every level but the first) or contr.sum
    (``name1`` ... ``name(k-1)``: level j is 1 in column j, the last level -1 everywhere)."""
    levels = sorted(values.unique(), key=lambda v: (len(v), v))
    if coding == "treatment":
        return pd.DataFrame({f"{name}{lv}": (values == lv).astype(float).to_numpy()
                             for lv in levels[1:]})
    last = (values == levels[-1]).to_numpy()
    return pd.DataFrame({f"{name}{j + 1}": (values == lv).astype(float).to_numpy() - last
                         for j, lv in enumerate(levels[:-1])})


def _two_way(data: pd.DataFrame, a: str, b: str, coding: str) -> tuple[pd.DataFrame, dict]:
    """Design of ``~ a * b`` and the columns of each model term."""
    da, db = _dummies(data[a], a, coding), _dummies(data[b], b, coding)
    inter = pd.DataFrame({f"{ca}:{cb}": da[ca] * db[cb] for cb in db for ca in da})
    x = pd.concat([pd.DataFrame({"(Intercept)": np.ones(len(data))}), da, db, inter], axis=1)
    return x, {a: list(da), b: list(db), f"{a}:{b}": list(inter)}


def _type3(fit, terms: dict) -> dict:
    return {name: fit.joint_test([{c: 1.0} for c in cols]) for name, cols in terms.items()}


def _ham(coding: str):
    ham = _data("ham")
    x, terms = _two_way(ham, "Product", "Information", coding)
    fit = fit_lmm(ham["Informed.liking"].to_numpy(float), x,
                  {"Consumer": ham["Consumer"],
                   "Consumer:Product": interaction(ham["Consumer"], ham["Product"])})
    return fit, terms


def _compare_fixed(fit, blk: dict) -> None:
    frame = fit.to_frame().set_index("term").loc[blk["terms"]]
    np.testing.assert_allclose(frame["estimate"], blk["estimate"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(frame["se"], blk["se"], rtol=1e-6)
    np.testing.assert_allclose(frame["df"], blk["df"], rtol=1e-5)
    np.testing.assert_allclose(frame["p"], blk["p"], rtol=1e-5, atol=1e-12)
    var = dict(zip(fit.variance_frame()["group"], fit.variance_frame()["variance"], strict=True))
    for group, v in blk["varcomp"].items():
        np.testing.assert_allclose(var[group], v, rtol=1e-6)
    np.testing.assert_allclose(fit.criterion, blk["criterion"], rtol=1e-9)
    assert fit.n_obs == blk["nobs"]


def test_ham_fixed_effects_and_contrast_against_lmertest(ref):
    fit, _ = _ham("treatment")
    blk = ref["ham"]
    # the treatment-coded names are R's (Product2, Product2:Information2, ...)
    assert list(fit.terms) == blk["terms"]
    _compare_fixed(fit, blk)
    c = fit.contrast({"Information2": 1.0, "Product2:Information2": 1.0})
    r = blk["contrast_information_product2"]
    np.testing.assert_allclose(c.estimate, r["estimate"], atol=1e-6)
    np.testing.assert_allclose([c.se, c.df, c.t, c.p],
                               [r["se"], r["df"], r["t"], r["p"]], rtol=1e-5)
    np.testing.assert_allclose([c.ci_low, c.ci_high], [r["ci_low"], r["ci_high"]],
                               atol=1e-6)


def test_ham_type3_anova_against_lmertest(ref):
    fit, terms = _ham("sum")
    got = _type3(fit, terms)
    a = ref["ham"]["anova"]
    for i, term in enumerate(a["terms"]):
        np.testing.assert_allclose(got[term].F, a["F"][i], rtol=1e-5)
        assert got[term].num_df == a["num_df"][i]
        np.testing.assert_allclose(got[term].den_df, a["den_df"][i], rtol=1e-5)
        np.testing.assert_allclose(got[term].p, a["p"][i], rtol=1e-5)


def test_carrots_crossed_intercepts_against_lmertest(ref):
    carrots = _data("carrots").dropna(subset=["Preference"]).reset_index(drop=True)
    x = pd.DataFrame({"(Intercept)": np.ones(len(carrots)), "sens2": carrots["sens2"],
                      "Homesize3": (carrots["Homesize"] == "3").astype(float)})
    fit = fit_lmm(carrots["Preference"].to_numpy(float), x,
                  {"Consumer": carrots["Consumer"], "Product": carrots["Product"]})
    _compare_fixed(fit, ref["carrots"])


def _tvbo(coding: str):
    tv = _data("tvbo")
    x, terms = _two_way(tv, "TVset", "Picture", coding)
    fit = fit_lmm(tv["Sharpnessofmovement"].to_numpy(float), x,
                  {"Assessor": tv["Assessor"],
                   "Assessor:TVset": interaction(tv["Assessor"], tv["TVset"]),
                   "Assessor:Picture": interaction(tv["Assessor"], tv["Picture"])})
    return fit, terms


def test_tvbo_against_lmertest_and_its_published_table(ref):
    fit, _ = _tvbo("treatment")
    _compare_fixed(fit, ref["tvbo"])
    fit, terms = _tvbo("sum")
    got = _type3(fit, terms)
    same_run, published = ref["tvbo"]["anova"], ref["published_tvbo"]
    for i, term in enumerate(published["terms"]):
        assert got[term].num_df == published["num_df"][i] == same_run["num_df"][i]
        np.testing.assert_allclose(got[term].F, same_run["F"][i], rtol=1e-5)
        np.testing.assert_allclose(got[term].den_df, same_run["den_df"][i], rtol=1e-5)
        np.testing.assert_allclose(got[term].F, published["F"][i], rtol=1e-6)
        np.testing.assert_allclose(got[term].den_df, published["den_df"][i], rtol=1e-6)
        np.testing.assert_allclose(got[term].p, published["p"][i], rtol=1e-5)
    # the published denominator df are the balanced design's exact ones
    np.testing.assert_allclose([got[t].den_df for t in published["terms"]], [14, 21, 138],
                               rtol=1e-6)
