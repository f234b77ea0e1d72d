"""Longitudinal measurement invariance against lavaan 0.6-14 (tests/reference/designs/).

R: hand-written lavaan syntax (one factor per wave, the same item's residuals correlated across
waves, labels for equal loadings/intercepts), ``cfa(model, data, meanstructure = TRUE,
estimator = 'ML')``; the two-wave scalar model is cross-checked against semTools'
``measEq.syntax(..., long.equal = c('loadings', 'intercepts'))`` in the same script.
Tolerances: chisq rel 1e-6; CFI, TLI, RMSEA, SRMR abs 1e-6 (lavaan's optimiser stops at ~1e-8
on SRMR); df and npar exact.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval.errors import InputError
from partnerschap_eval.psychometrics.longitudinal import (
    invariance_records,
    longitudinal_invariance,
    means_comparable,
)

REF = Path(__file__).resolve().parent / "reference" / "designs"
ITEMS = ["x1", "x2", "x3", "x4"]
DATA = {"long_2w": ["pre", "post"], "long_3w": ["T0", "T1", "T2"]}


@pytest.fixture(scope="module")
def rd() -> dict:
    return json.loads((REF / "r_designs.json").read_text())["longitudinal_invariance"]


def _long(name: str) -> pd.DataFrame:
    wide = pd.read_csv(REF / "data" / f"{name}.csv")
    return pd.concat([wide[["id"] + [f"{i}_{w}" for i in ITEMS]]
                      .set_axis(["respondent_id", *ITEMS], axis=1).assign(wave=w)
                      for w in DATA[name]], ignore_index=True)


@pytest.fixture(scope="module")
def results() -> dict:
    return {name: longitudinal_invariance(_long(name), ITEMS, waves)
            for name, waves in DATA.items()}


@pytest.mark.parametrize("name", list(DATA))
@pytest.mark.parametrize("step", ["configural", "metric", "scalar"])
def test_fit_measures_against_lavaan(rd, results, name, step):
    ref = rd[name][step]
    assert ref["call"] == "cfa(model, data = dat, meanstructure = TRUE, estimator = 'ML')"
    fit = getattr(results[name], step)
    fm = ref["fit_measures"]
    assert fit.converged and ref["converged"]
    assert fit.n == ref["n"]
    assert (fit.df, fit.npar) == (fm["df"], fm["npar"])
    assert fit.chisq == pytest.approx(fm["chisq"], rel=1e-6)
    for key in ("cfi", "tli", "rmsea", "srmr"):
        assert getattr(fit, key) == pytest.approx(fm[key], abs=1e-6), key


def test_hand_written_syntax_equals_semtools(rd):
    hand = rd["long_2w"]["scalar"]["fit_measures"]
    sem = rd["long_2w_semtools_scalar"]["fit_measures"]
    assert hand["chisq"] == pytest.approx(sem["chisq"], rel=1e-6)
    assert hand["df"] == sem["df"]


def test_deltas_and_records(rd, results):
    rec = invariance_records(results["long_3w"])
    assert [r["step"] for r in rec] == ["configural", "metric", "scalar"]
    assert rec[0]["delta_cfi"] is None and rec[0]["delta_rmsea"] is None
    ref = rd["long_3w"]
    d_cfi = ref["scalar"]["fit_measures"]["cfi"] - ref["metric"]["fit_measures"]["cfi"]
    assert rec[2]["delta_cfi"] == pytest.approx(d_cfi, abs=2e-6)
    assert set(rec[1]) == {"step", "chi2", "df", "cfi", "tli", "rmsea", "srmr", "delta_cfi",
                           "delta_rmsea"}
    json.dumps(rec)  # plain JSON values


def test_verdicts(results):
    # long_2w: simulated invariant; long_3w: item 3's intercept moves by 0.45 at the last wave
    assert means_comparable(results["long_2w"]) == "comparable"
    assert means_comparable(results["long_3w"]) == "intercepts_differ"


def _sim(lam_post: list[float], n: int = 800, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.multivariate_normal([0, 0.3], [[1, 0.6], [0.6, 1]], size=n)
    out = []
    for w, lam in (("pre", [1, 0.8, 0.8, 0.8]), ("post", lam_post)):
        x = f[:, [0 if w == "pre" else 1]] * np.array(lam) + 0.5 * rng.normal(size=(n, 4))
        out.append(pd.DataFrame(x, columns=ITEMS).assign(respondent_id=np.arange(n), wave=w))
    return pd.concat(out, ignore_index=True)


def test_verdict_loadings_differ():
    res = longitudinal_invariance(_sim([1, 0.8, 0.1, 1.6]), ITEMS, ["pre", "post"])
    assert means_comparable(res) == "loadings_differ"


def test_wave_order_is_the_declared_one(results):
    flipped = longitudinal_invariance(_long("long_2w"), ITEMS, ["post", "pre"])
    # the same models (fit is symmetric in the waves) with the other wave as reference
    assert flipped.scalar.chisq == pytest.approx(results["long_2w"].scalar.chisq, rel=1e-8)
    assert flipped.groups == ("post", "pre")


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(items=["x1", "x2"], waves=["pre", "post"]), "at least 3 items"),
    (dict(items=ITEMS, waves=["pre"]), "two or more distinct waves"),
    (dict(items=ITEMS, waves=["pre", "later"]), r"No responses in wave\(s\) \['later'\]"),
    (dict(items=["x1", "x2", "nope"], waves=["pre", "post"]), r"no column\(s\) \['nope'\]"),
])
def test_bad_input_is_refused(kwargs, match):
    with pytest.raises(InputError, match=match):
        longitudinal_invariance(_long("long_2w"), **kwargs)


def test_duplicate_rows_in_a_wave_are_refused():
    d = _long("long_2w")
    with pytest.raises(InputError, match="more than one row in a wave"):
        longitudinal_invariance(pd.concat([d, d.iloc[:1]]), ITEMS, ["pre", "post"])
