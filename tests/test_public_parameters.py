"""Every public function refuses invalid options, and never changes its inputs.

scikit-learn's habit (``sklearn/tests/test_public_functions.py``): one table of valid calls, one
meta-test that feeds every invalid value of every checked option (``ci_level``, ``nan_policy``,
``min_cell``, ``n_boot``, ``power``, ``alpha``) to every public function that takes it and
expects the one-paragraph :class:`~partnerschap_eval.errors.InputError` of
:mod:`partnerschap_eval._validate`. A public function with such an option that is missing from
the table fails :func:`test_every_public_function_with_a_checked_option_is_in_the_table`, so a
new function cannot skip the checks.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import math

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval import evaluation as ev
from partnerschap_eval import psychometrics as ps
from partnerschap_eval.errors import InputError
from partnerschap_eval.evaluation import designs, imputation, mixed_design, ordinal
from partnerschap_eval.evaluation import waves as waves_model
from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.results import (
    evaluate,
    framework_summary,
    scale_quality,
    school_results,
)
from partnerschap_eval.results import frameworks as fw
from partnerschap_eval.scoring import score_and_classify, score_scales
from partnerschap_eval.synth import StudyDesign, simulate_frameworks, simulate_study

MODULES = ["partnerschap_eval.psychometrics", "partnerschap_eval.psychometrics.longitudinal",
           "partnerschap_eval.evaluation", "partnerschap_eval.evaluation.designs",
           "partnerschap_eval.evaluation.imputation", "partnerschap_eval.evaluation.mixed_design",
           "partnerschap_eval.evaluation.ordinal", "partnerschap_eval.evaluation.waves",
           "partnerschap_eval.results",
           "partnerschap_eval.results.frameworks", "partnerschap_eval.results.quality",
           "partnerschap_eval.results.scales", "partnerschap_eval.results.schools",
           "partnerschap_eval.scoring"]

INVALID = {
    "ci_level": [0, 1, -0.5, 1.5, math.nan, math.inf, "0.95", None, True],
    "power": [0, 1, math.nan, "0.8", None],
    "alpha": [0, 1.2, math.nan, "0.05"],
    "nan_policy": ["everything", "Listwise", None, 1],
    "min_cell": [0, -1, 1001, 2.5, "10", None, True, math.nan],
    "n_boot": [-1, 2.5, "100", None, True],
}
# psychometrics' alpha is the reliability itself in feldt_ci (a value, not an option)
NOT_AN_OPTION = {("feldt_ci", "alpha")}

_rng = np.random.default_rng(7)
ITEMS = pd.DataFrame(_rng.integers(1, 6, (40, 4)).astype(float), columns=list("abcd"))
ITEMS.iloc[3, 1] = np.nan
PRE, POST = _rng.normal(3, 1, 30), _rng.normal(3.4, 1, 30)


def _scores() -> pd.DataFrame:
    n = 40
    ids = np.arange(n).astype(str)
    s = pd.DataFrame({"respondent_id": np.tile(ids, 2), "wave": np.repeat(["pre", "post"], n),
                      "school_id": np.tile(np.where(np.arange(n) % 2 == 0, "S1", "S2"), 2),
                      "role": np.tile(np.where(np.arange(n) < 30, "parent", "teacher"), 2)})
    s["x"] = 3 + 0.3 * (s["wave"] == "post") + _rng.normal(0, 0.5, 2 * n)
    s.loc[(s["wave"] == "post") & (s["respondent_id"].astype(int) % 7 == 0), "x"] = np.nan
    return s


SCORES = _scores()
STUDY = simulate_study(seed=5, design=StudyDesign(n_schools=6)).responses
INST = load_instrument("partnerschap")
STUDY_SCORES = score_scales(STUDY, INST)
FW = simulate_frameworks(seed=3).responses
GERDES = load_instrument("gerdes")
CLASSIFIED = score_and_classify(FW["gerdes"], GERDES)
LEVEL = GERDES.classifications[0].id
EPSTEIN = fw.epstein_profile(FW["epstein"])
SIX_SCHOOLS = {s: ("intervention" if i % 2 else "control")
               for i, s in enumerate(sorted(STUDY_SCORES["school_id"].astype(str).unique()))}
SCALE = INST.scales[0].id
COMPLETED = imputation.impute_waves(SCORES, "x", ["pre", "post"], m=2, n_iter=2)

#: function -> (positional arguments, keyword arguments) of a valid call
CALLS = {
    ps.cronbach_alpha: ((ITEMS,), {"n_boot": 20}),
    ps.item_analysis: ((ITEMS,), {"scale_min": 1, "scale_max": 5}),
    ps.item_statistics: ((ITEMS,), {}),
    ps.mcdonald_omega: ((ITEMS,), {"n_boot": 5}),
    ps.feldt_ci: ((0.8, 40, 4), {}),
    ev.paired_test: ((PRE, POST), {}),
    ev.ncp_ci: ((2.0, 10), {}),
    ev.dz_ci: ((2.0, 11), {}),
    ev.ncp_ci_frame: ((np.array([2.0, -1.0]), 10), {}),
    ev.dz_ci_frame: ((np.array([2.0, -1.0]), np.array([11, 30])), {}),
    ev.welch_test: ((PRE, POST), {}),
    ev.hedges_g: ((PRE, POST), {}),
    ev.role_gap: ((SCORES, "x", "pre", "post"), {}),
    ev.attrition: ((SCORES, "x", "pre", "post"), {}),
    ev.mixed_model: ((SCORES, "x", "pre", "post"), {}),
    ev.min_detectable_dz: ((30,), {}),
    designs.baseline_equivalence: ((SCORES, "x", "pre", "post"),
                                   {"conditions": {"S1": "intervention", "S2": "control"}}),
    imputation.rubin_pool: (([1.0, 1.2, 0.9], [0.1, 0.12, 0.11], 50), {}),
    imputation.mi_paired_contrasts: ((SCORES, "x", ["pre", "post"]), {"m": 2, "n_iter": 2}),
    imputation.pool_paired_contrasts: ((COMPLETED, ["pre", "post"]), {}),
    mixed_design.fit_lmm: ((PRE, np.ones((30, 1)), {"g": np.arange(30) % 5}), {}),
    mixed_design.did_mixed_model: ((STUDY_SCORES, SCALE, ["pre", "post"], SIX_SCHOOLS), {}),
    waves_model.wave_mixed_model: ((SCORES, "x", ["pre", "post"]), {}),
    ordinal.transition_change: ((np.array([[3, 2], [1, 4]]),), {}),
    ordinal.transition_change_frame: ((np.array([[[3, 2], [1, 4]], [[0, 5], [2, 2]]]),), {}),
    evaluate: ((STUDY, "partnerschap"), {"mixed": False, "min_cell": 5}),
    school_results: ((STUDY_SCORES, INST, "pre", "post"), {"min_cell": 5}),
    scale_quality: ((STUDY, INST), {"min_cell": 5}),
    framework_summary: ((FW,), {}),
    fw.ordinal_change: ((CLASSIFIED, LEVEL, GERDES), {}),
    fw.transition_table: ((CLASSIFIED, LEVEL, GERDES), {}),
    fw.level_distribution: ((CLASSIFIED, LEVEL, GERDES), {}),
    fw.profile_table: ((EPSTEIN,), {}),
    fw.epstein_change: ((EPSTEIN,), {}),
    fw.ladder_mismatch: ((FW["participatieladder"],), {}),
    fw.praatplaat_table: ((FW["praatplaat"],), {}),
}
# the same function under two public names (results.framework_summary is frameworks.summary)
ALIASES = {fw.summary: framework_summary}


def _public_functions():
    seen = {}
    for name in MODULES:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", []):
            f = getattr(mod, attr)
            if inspect.isfunction(f):
                seen[ALIASES.get(f, f)] = f"{name}.{attr}"
    return seen


def _options(f) -> list[str]:
    return [p for p in inspect.signature(f).parameters
            if p in INVALID and (f.__name__, p) not in NOT_AN_OPTION]


def test_every_public_function_with_a_checked_option_is_in_the_table():
    missing = [where for f, where in _public_functions().items() if _options(f) and f not in CALLS]
    assert not missing


CASES = [pytest.param(f, option, bad, id=f"{f.__name__}-{option}-{bad!r}")
         for f in CALLS for option in _options(f) for bad in INVALID[option]]


@pytest.mark.parametrize(("f", "option", "bad"), CASES)
def test_an_invalid_option_is_refused_by_name(f, option, bad):
    args, kwargs = CALLS[f]
    with pytest.raises(InputError, match=option):
        f(*args, **{**kwargs, option: bad})


def _same(a, b) -> bool:
    if isinstance(a, pd.DataFrame | pd.Series):
        return a.equals(b) and list(a.index) == list(b.index) and (
            not isinstance(a, pd.DataFrame) or list(a.columns) == list(b.columns))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b or a is b


@pytest.mark.parametrize("f", list(CALLS), ids=lambda f: f.__name__)
def test_a_valid_call_leaves_its_inputs_as_they_were(f):
    args, kwargs = CALLS[f]
    before = copy.deepcopy((args, kwargs))
    f(*args, **kwargs)
    assert _same(before, (args, kwargs))


def test_the_comparison_sees_a_changed_input():
    changed = ITEMS.copy()
    changed.iloc[0, 0] = 99.0
    assert not _same(ITEMS, changed)
    assert not _same({"a": [PRE]}, {"a": [PRE + 1]})
