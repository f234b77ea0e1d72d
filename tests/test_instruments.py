"""Instrument files: the package's own instrument is valid; every kind of problem is named."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from partnerschap_eval.errors import InstrumentError
from partnerschap_eval.instruments import (
    available_instruments,
    load_instrument,
    normalise_label,
    parse_instrument,
)

OWN = Path(__file__).resolve().parents[1] / "instruments" / "partnerschap.yaml"


@pytest.fixture()
def raw():
    return yaml.safe_load(OWN.read_text(encoding="utf-8"))


def problems_of(data, tmp_path: Path) -> list[tuple[str, str]]:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InstrumentError) as info:
        load_instrument(path)
    assert str(path) in str(info.value)  # the message names the file
    return info.value.problems


def test_own_instrument_meets_the_issue(instrument):
    assert instrument.roles == ("parent", "teacher", "youthworker")
    assert instrument.scale_ids == ["reciprocity", "two_way_communication", "shared_decision_making"]
    for scale in instrument.scales:
        assert len(scale.items) >= 4
        assert any(instrument.item(i).reverse for i in scale.items), scale.id
    for item in instrument.items:
        for role in instrument.roles:
            assert {"nl", "en"} <= set(item.text[role]), (item.id, role)
    labels = {k: v["nl"] for k, v in instrument.response_scale.labels.items()}
    assert sorted(labels) == [1, 2, 3, 4, 5]
    assert {"Weet ik niet", "Niet van toepassing"} <= set(instrument.response_scale.missing)


def test_registry_resolves_id_and_path(instrument):
    assert "partnerschap" in available_instruments()
    assert load_instrument(OWN).id == instrument.id
    with pytest.raises(InstrumentError, match="known: .*partnerschap"):
        load_instrument("no-such-instrument")


def test_file_with_only_contract_keys_is_valid(tmp_path):
    minimal = {
        "id": "mini", "version": "1.0", "title": {"nl": "Mini", "en": "Mini"}, "roles": ["parent"],
        "response_scale": {"min": 1, "max": 4, "labels": {1: {"nl": "nee", "en": "no"}},
                           "missing": ["Weet ik niet", 99]},
        "items": [{"id": "a", "text": {"parent": {"nl": "A", "en": "A"}}, "reverse": False},
                  {"id": "b", "text": {"parent": {"nl": "B", "en": "B"}}, "reverse": True}],
        "scales": [{"id": "s", "name": {"nl": "S", "en": "S"}, "items": ["a", "b"], "min_items": 1}],
    }
    inst = parse_instrument(minimal, "mini.yaml")
    assert inst.scale("s").required_items == 1


@pytest.mark.parametrize(
    ("mutate", "key", "words"),
    [
        (lambda d: d["scales"][0]["items"].append("rec9"), "scales[0].items", "unknown item 'rec9'"),
        (lambda d: d["response_scale"]["labels"].update({7: {"nl": "x", "en": "x"}}),
         "response_scale.labels.7", "outside 1..5"),
        (lambda d: d["items"].append(copy.deepcopy(d["items"][0]) | {"text": {
            r: {"nl": f"dubbel {r}", "en": f"double {r}"} for r in d["roles"]}}),
         "items[15].id", "duplicate item id 'rec1'"),
        (lambda d: d["items"][2]["text"].pop("teacher"), "items[2].text", "no text for role 'teacher'"),
        (lambda d: d.pop("version"), "version", "required key is missing"),
        (lambda d: d["items"][0].update({"reversed": True}), "items[0].reversed", "unknown key"),
        (lambda d: d["scales"][1].update({"min_items": 9}), "scales[1].min_items", "between 1 and"),
        (lambda d: d["scales"].append(copy.deepcopy(d["scales"][0])), "scales[3].id",
         "duplicate scale id"),
    ],
)
def test_each_problem_is_named(raw, tmp_path, mutate, key, words):
    mutate(raw)
    problems = problems_of(raw, tmp_path)
    assert any(k == key and words in msg for k, msg in problems), problems


def test_all_problems_reported_at_once(raw, tmp_path):
    raw["scales"][0]["items"].append("nope")
    raw["items"][0]["text"].pop("parent")
    problems = problems_of(raw, tmp_path)
    assert len(problems) == 2


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nitems: [a, b\n", encoding="utf-8")
    with pytest.raises(InstrumentError, match=r"broken\.yaml: line \d+: is not valid YAML"):
        load_instrument(path)


def test_normalise_label_ignores_case_space_punctuation():
    assert normalise_label("  Mee  EENS. ") == normalise_label("mee eens")
