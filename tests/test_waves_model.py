"""The mixed model with wave as a factor (issue 17, "Waves"): ``score ~ wave + role +
(1 | school) + (1 | school:respondent)`` on every row of every wave, against lme4 + lmerTest
(``tests/reference/waves/waves_mixed.R`` on ``data/waves_3w.csv``), and its place in
Contract 4 v2 (``contrasts.<wave>-<first>.mixed``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval.errors import InputError
from partnerschap_eval.evaluation.waves import wave_mixed_model

REF = Path(__file__).resolve().parent / "reference" / "waves"
R = json.loads((REF / "r_waves.json").read_text(encoding="utf-8"))
WAVES = ["T0", "T1", "T2"]
# the brief's tolerances (measured agreement: see test_measured_agreement_is_far_tighter)
EST, SE, DF, P = 1e-5, 1e-5, 1e-3, 1e-4


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "data" / "waves_3w.csv", dtype={"respondent_id": str})


@pytest.fixture(scope="module", params=["wave_role", "wave_only"])
def fitted(request, data):
    block = request.param
    m = wave_mixed_model(data, "score", WAVES, with_role=block == "wave_role",
                         pairs=[("T1", "T0"), ("T2", "T0"), ("T2", "T1")])
    return R[block], m


def test_the_csv_is_the_one_r_read():
    import hashlib

    md5 = hashlib.md5((REF / "data" / "waves_3w.csv").read_bytes()).hexdigest()
    assert md5 == R["meta"]["data_md5"]["waves_3w.csv"]


def test_every_fixed_effect_matches_lmertest(fitted):
    ref, m = fitted
    frame = m.fit.to_frame()
    assert list(frame["term"]) == ref["terms"]
    np.testing.assert_allclose(frame["estimate"], ref["estimate"], rtol=EST)
    np.testing.assert_allclose(frame["se"], ref["se"], rtol=SE)
    np.testing.assert_allclose(frame["df"], ref["df"], rtol=DF)
    np.testing.assert_allclose(frame["p"], ref["p"], rtol=P)


def test_the_wave_contrasts_match_lmertest(fitted):
    ref, m = fitted
    eff = m.effects.set_index("contrast")
    assert list(eff.index) == ["T1-T0", "T2-T0", "T2-T1"]
    for name, term in (("T1-T0", "waveT1"), ("T2-T0", "waveT2")):
        i = ref["terms"].index(term)
        row = eff.loc[name]
        assert row["estimate"] == pytest.approx(ref["estimate"][i], rel=EST)
        assert row["se"] == pytest.approx(ref["se"][i], rel=SE)
        assert row["df"] == pytest.approx(ref["df"][i], rel=DF)
        assert row["p"] == pytest.approx(ref["p"][i], rel=P)
        assert [row["ci_low"], row["ci_high"]] == pytest.approx(ref["ci95"][term], rel=EST)
    c = ref["contrast_T2_minus_T1"]
    row = eff.loc["T2-T1"]
    assert row["estimate"] == pytest.approx(c["estimate"], rel=EST)
    assert row["se"] == pytest.approx(c["se"], rel=SE)
    assert row["df"] == pytest.approx(c["df"], rel=DF)
    assert row["p"] == pytest.approx(c["p"], rel=P)
    assert [row["ci_low"], row["ci_high"]] == pytest.approx([c["ci_low"], c["ci_high"]], rel=EST)


def test_counts_and_variances_match_lme4(fitted):
    ref, m = fitted
    assert m.n_obs == ref["nobs"] == R["meta"]["rows"]
    assert m.n_respondents == R["meta"]["respondents"]
    assert m.n_schools == R["meta"]["schools"]
    var = dict(zip(m.fit.groups, m.fit.variances, strict=True))
    assert var["school_id"] == pytest.approx(ref["varcomp"]["school_id"], rel=1e-4)
    assert var["school_id:respondent_id"] == pytest.approx(
        ref["varcomp"]["school_id:respondent_id"], rel=1e-4)
    assert m.fit.criterion == pytest.approx(ref["criterion"], rel=1e-9)
    assert m.converged and m.singular == ref["singular"]


def test_measured_agreement_is_far_tighter(fitted):
    """Not the brief's tolerances but what the exact REML reaches (so a regression shows)."""
    ref, m = fitted
    frame = m.fit.to_frame()
    np.testing.assert_allclose(frame["estimate"], ref["estimate"], rtol=1e-7)
    np.testing.assert_allclose(frame["se"], ref["se"], rtol=1e-6)
    np.testing.assert_allclose(frame["df"], ref["df"], rtol=1e-5)


def test_default_pairs_are_every_later_wave_against_the_first(data):
    m = wave_mixed_model(data, "score", WAVES)
    assert list(m.effects["contrast"]) == ["T1-T0", "T2-T0"]
    rec = m.to_record()
    assert set(rec) == {"T1-T0", "T2-T0"}
    assert rec["T2-T0"]["formula"] == ("score ~ wave + role + (1 | school_id) + "
                                        "(1 | school_id:respondent_id)")


def test_the_declared_order_not_the_names_sets_the_reference(data):
    """Declared T2, T0, T1: T2 is the reference; the contrasts turn around accordingly."""
    m = wave_mixed_model(data, "score", ["T2", "T0", "T1"], pairs=[("T0", "T2")])
    i = R["wave_role"]["terms"].index("waveT2")
    assert m.effects["estimate"].iloc[0] == pytest.approx(-R["wave_role"]["estimate"][i],
                                                          rel=1e-6)


@pytest.mark.parametrize("waves, pairs", [(["T0"], None), (["T0", "T0", "T1"], None),
                                          (["T0", "T1", "T9"], None),
                                          (WAVES, [("T1", "T1")]), (WAVES, [("T3", "T0")])])
def test_bad_waves_and_pairs_are_refused_with_a_message(data, waves, pairs):
    with pytest.raises(InputError):
        wave_mixed_model(data, "score", waves, pairs=pairs)


def test_duplicate_rows_are_refused_without_naming_the_respondent(data):
    with pytest.raises(InputError) as exc:
        wave_mixed_model(pd.concat([data, data.iloc[:1]]), "score", WAVES)
    assert data["respondent_id"].iloc[0] not in str(exc.value)
