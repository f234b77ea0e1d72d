"""Contract 5 for the design parameters: ``conditions`` and ``start_waves`` are published in
results.json (``design``, and a report's manifest), so a value outside the vocabulary -- personal
data typed into a condition, say -- is refused before anything is computed, with a message that
quotes none of the values, and a school that is not in the data never reaches the output."""

from __future__ import annotations

import json

import pytest
from test_disclosure import make_study

from partnerschap_eval.errors import InputError
from partnerschap_eval.report.build import ReportSettings
from partnerschap_eval.results import evaluate

PARENTS = {"A": (12, 0), "B": (12, 0), "C": (12, 0), "D": (12, 0)}
ARMS = {"A": "intervention", "B": "intervention", "C": "control", "D": "control"}
PLANTED = ["Jan de Vries", "ouder.jansen@voorbeeld.nl", "0612345678", "Kerkstraat 12",
           "123456782"]


@pytest.fixture(scope="module")
def responses():
    return make_study(PARENTS)


@pytest.mark.parametrize("planted", PLANTED)
def test_personal_data_as_a_condition_is_refused_and_not_quoted(responses, planted):
    arms = ARMS | {"C": planted}
    with pytest.raises(InputError) as info:
        evaluate(responses, "partnerschap", min_cell=10, conditions=arms, mixed=False)
    for lang in ("nl", "en"):
        assert planted not in info.value.render(lang)
    assert planted not in str(info.value)


@pytest.mark.parametrize("planted", PLANTED)
def test_personal_data_as_a_start_wave_is_refused_and_not_quoted(responses, planted):
    with pytest.raises(InputError) as info:
        evaluate(responses, "partnerschap", min_cell=10, conditions=ARMS, mixed=False,
                 start_waves={"A": "pre", "B": planted})
    assert planted not in str(info.value) and planted not in info.value.render("nl")


@pytest.mark.parametrize("planted", PLANTED)
def test_a_school_that_is_not_in_the_data_is_not_published(responses, planted):
    arms = ARMS | {planted: "control"}
    result = evaluate(responses, "partnerschap", min_cell=10, conditions=arms, mixed=False,
                      start_waves={"A": "pre", planted: "pre"})
    text = json.dumps(result)
    assert planted not in text
    assert result["design"]["conditions"] == ARMS
    assert result["design"]["start_waves"] == {"A": "pre"}


@pytest.mark.parametrize("planted", PLANTED)
def test_report_settings_refuse_an_unknown_condition(tmp_path, planted):
    with pytest.raises(InputError) as info:
        ReportSettings(project="t", instrument="partnerschap", responses=tmp_path / "r.csv",
                       out_dir=tmp_path / "out", conditions=ARMS | {"C": planted})
    assert planted not in str(info.value)
