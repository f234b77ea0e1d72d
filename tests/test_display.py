"""Every public result shows itself the same way: ``to_frame()``, ``summary()``, ``_repr_html_``.

The instances come from the valid calls of ``test_public_parameters.CALLS`` (plus a CFA and an
invariance fit, which take no checked option); a public result class that none of them produces
fails :func:`test_every_public_result_class_is_seen`.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import numpy as np
import pandas as pd
import pytest
from test_public_parameters import CALLS, POST, PRE, SCORES, STUDY

from partnerschap_eval._display import Display
from partnerschap_eval.evaluation import (
    fit_random_intercepts,
    paired_scores,
    reliable_change,
    unpaired_at_wave,
)
from partnerschap_eval.evaluation.designs import wwc_attrition
from partnerschap_eval.evaluation.mixed_design import fit_lmm
from partnerschap_eval.evaluation.ordinal import sign_test, stuart_maxwell
from partnerschap_eval.psychometrics import (
    fit_cfa,
    instrument_model,
    measurement_invariance,
    omega_total,
)

MODULES = ["partnerschap_eval.psychometrics", "partnerschap_eval.psychometrics.longitudinal",
           "partnerschap_eval.evaluation", "partnerschap_eval.evaluation.designs",
           "partnerschap_eval.evaluation.imputation", "partnerschap_eval.evaluation.mixed_design",
           "partnerschap_eval.evaluation.ordinal", "partnerschap_eval.results",
           "partnerschap_eval.results.frameworks", "partnerschap_eval.results.quality"]


def _result_classes() -> set[type]:
    out = set()
    for name in MODULES:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr)
            if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
                out.add(obj)
    return out


def _collect(value, into: list) -> None:
    if isinstance(value, Display):
        into.append(value)
        for f in dataclasses.fields(value):
            _collect(getattr(value, f.name), into)
    elif isinstance(value, dict):
        for v in value.values():
            _collect(v, into)
    elif isinstance(value, list | tuple):
        for v in value:
            _collect(v, into)


@pytest.fixture(scope="module")
def results() -> list[Display]:
    found: list[Display] = []
    for f, (args, kwargs) in CALLS.items():
        _collect(f(*args, **kwargs), found)
    model = {k: list(v) for k, v in instrument_model("partnerschap").items()}
    items = [i for its in model.values() for i in its]
    pre = STUDY[STUDY["wave"] == "pre"]
    _collect(fit_cfa(pre[items].dropna(), model), found)
    parents = pre[pre["role"] == "parent"][model["reciprocity"]].dropna()
    halves = parents.assign(half=["a", "b"] * (len(parents) // 2) + ["a"] * (len(parents) % 2))
    _collect(measurement_invariance(halves, {"rec": model["reciprocity"]}, "half"), found)
    _collect(reliable_change(PRE, POST, 0.8), found)
    _collect(omega_total(pre[model["reciprocity"]]), found)
    _collect(unpaired_at_wave(SCORES, "x", "post", paired_scores(SCORES, "x", "pre", "post")),
             found)
    _collect(wwc_attrition(SCORES, "x", "pre", "post",
                           conditions={"S1": "intervention", "S2": "control"}), found)
    both = SCORES.dropna(subset=["x"])
    x = np.column_stack([np.ones(len(both)), (both["wave"] == "post").to_numpy(float)])
    _collect(fit_random_intercepts(both["x"].to_numpy(), x, both["school_id"].to_numpy(),
                                   both["respondent_id"].to_numpy()), found)
    lmm = fit_lmm(both["x"].to_numpy(), x, {"school": both["school_id"].to_numpy()})
    _collect(lmm.contrast([0.0, 1.0]), found)
    _collect(sign_test(7, 2), found)
    _collect(stuart_maxwell(np.array([[5, 3, 0], [1, 4, 2], [0, 2, 6]])), found)
    return found


def test_every_public_result_class_is_a_display():
    assert {c.__name__ for c in _result_classes() if not issubclass(c, Display)} == set()


def test_every_public_result_class_is_seen(results):
    seen = {type(r) for r in results}
    assert {c.__name__ for c in _result_classes() - seen} == set()


def test_each_result_gives_a_table_a_text_and_html(results):
    for r in {type(r): r for r in results}.values():
        name = type(r).__name__
        frame = r.to_frame()
        assert isinstance(frame, pd.DataFrame) and len(frame.columns), name
        text = r.summary()
        assert isinstance(text, str) and text.strip(), name
        page = r._repr_html_()
        assert page.startswith('<div class="pe-result">') and "<table" in page, name
        assert f"<strong>{name}</strong>" in page


def test_the_html_escapes_what_the_summary_says():
    @dataclasses.dataclass(frozen=True)
    class Hostile(Display):
        label: str
        n: int

    page = Hostile('<script>alert("x")</script>', 3)._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert Hostile("a", 3).summary() == "Hostile: label = a, n = 3"
