"""Issue 17: a duplicate row in a design's data is refused without quoting respondent ids.

A respondent id is an identifier (Contract 5: only pseudonyms in outputs, and a table passed
to the library by hand may hold raw numbers or names); the refusals of the difference in
differences, the arm comparisons, longitudinal invariance and imputation count the
respondents concerned instead, worded from ``errors.po`` in Dutch and English.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval.errors import InputError
from partnerschap_eval.evaluation.designs import baseline_equivalence, wwc_attrition
from partnerschap_eval.evaluation.imputation import impute_waves
from partnerschap_eval.evaluation.mixed_design import did_mixed_model
from partnerschap_eval.psychometrics.longitudinal import longitudinal_invariance

SECRET_IDS = ["Jan de Vries", "0612345678"]


def _scores() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for s in range(4):
        for r in range(6):
            rid = SECRET_IDS[r] if r < 2 else f"r{s}{r}"
            for wave in ("pre", "post"):
                rows.append({"respondent_id": rid, "school_id": f"S{s}", "wave": wave,
                             "role": "parent", "x": rng.normal(3, 0.5)})
    frame = pd.DataFrame(rows)
    # both secret respondents of school S0 answer the first wave twice
    dup = frame[(frame["school_id"] == "S0") & frame["respondent_id"].isin(SECRET_IDS)
                & (frame["wave"] == "pre")]
    return pd.concat([frame, dup], ignore_index=True)


COND = {"S0": "intervention", "S1": "intervention", "S2": "control", "S3": "control"}


def _refusal(call) -> InputError:
    with pytest.raises(InputError) as info:
        call()
    return info.value


def _check(exc: InputError, count: str = "2") -> None:
    texts = [str(exc), exc.render("nl"), exc.render("en")]
    for text in texts:
        for secret in SECRET_IDS:
            assert secret not in text, text
        assert count in text
    assert exc.render("nl") != exc.render("en")  # worded from the catalogue


def test_did_refuses_duplicates_without_quoting_ids():
    exc = _refusal(lambda: did_mixed_model(_scores(), "x", ["pre", "post"], COND))
    _check(exc)
    assert "more than one row" in str(exc) and "meer dan één rij" in exc.render("nl")


@pytest.mark.parametrize("fn", [baseline_equivalence, wwc_attrition])
def test_arm_comparisons_refuse_duplicates_without_quoting_ids(fn):
    _check(_refusal(lambda: fn(_scores(), "x", "pre", "post", conditions=COND)))


def test_imputation_refuses_duplicates_without_quoting_ids():
    _check(_refusal(lambda: impute_waves(_scores(), "x", ["pre", "post"], m=2, seed=1)))


def test_longitudinal_invariance_refuses_duplicates_without_quoting_ids():
    frame = _scores().rename(columns={"x": "i1"})
    for k in (2, 3):
        frame[f"i{k}"] = frame["i1"] + k
    exc = _refusal(lambda: longitudinal_invariance(frame, ["i1", "i2", "i3"], ["pre", "post"]))
    _check(exc)
