"""Contract 5 with more than two waves: the auditor's atoms are the sets of declared waves a
person is present in, so counts of a middle wave (its respondents, the pairs between the first
wave and it) are sums of the same unknowns as the counts of the first and last wave."""

from __future__ import annotations

from partnerschap_eval.privacy.disclosure import _build, _wave_atoms, audit

PRIMARY = "suppressed: n < 10"


def _atom_names(results: dict) -> set[str]:
    """The presence atoms (``("x", role, school, atom)``) of the auditor's model of ``results``."""
    m = _build(results)
    found = {var for c in m.cells for var in c.terms} | {v for row in m.identities for v in row}
    return {var[3] for var in found if var[0] == "x"}


def _counts(order: list[str]) -> dict:
    return {w: {"n": 40, "by_role": {"parent": 30, "teacher": 10}} for w in order}


def test_two_waves_keep_the_three_atoms_with_or_without_their_order():
    # v2 (a list and the compared pair), and the v1 objects that earlier versions wrote
    for waves in ({"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"}},
                  {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"}},
                  {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"}}):
        res = {**waves, "min_cell": 10, "counts": _counts(["pre", "post"]),
               "scales": {"x": {"attrition": {"n_completers": 20, "n_dropouts": 20},
                                "mixed_model": {"n_respondents": 60, "n_obs": 80}}}}
        assert _atom_names(res) == {"F", "L", "B"}


def test_a_middle_wave_adds_the_sets_that_hold_it():
    order = ["pre", "mid", "post"]
    res = {"waves": order, "compared": {"first": "pre", "last": "post"}, "min_cell": 10,
           "counts": _counts(order)}
    assert _atom_names(res) == {"F", "L", "B", "mid", "F+mid", "mid+L", "F+mid+L"}
    # names that could be read as another set are named by position
    assert list(_wave_atoms(("a", "F", "L", "b"))) == [
        "F", "L", "B", "w1", "w2", "F+w1", "F+w2", "w1+w2", "w1+L", "w2+L", "F+w1+w2",
        "F+w1+L", "F+w2+L", "w1+w2+L", "F+w1+w2+L"]


def _three_waves(**scale) -> dict:
    return {"waves": ["pre", "mid", "post"],
            "compared": {"first": "pre", "last": "post"},
            "min_cell": 10,
            "counts": {"pre": {"n": 40, "by_role": {"parent": 40}},
                       "mid": {"n": 45, "by_role": {"parent": 45}},
                       "post": {"n": 35, "by_role": {"parent": 35}}},
            "scales": {"x": {"paired": {"n": 30}, **scale}}}


def test_the_mixed_model_counts_the_people_of_the_first_and_last_wave_only():
    """The model is fitted on the rows of the first and last wave: its ``n_respondents`` is
    pre + post - paired (45) and its ``n_obs`` pre + post (75), whoever answered the middle
    wave alone. Withheld, both are found (counted as everyone present at any wave, they would
    not be)."""
    res = _three_waves(mixed_model={"n_respondents": None, "n_respondents_reason": PRIMARY,
                                    "n_obs": None, "n_obs_reason": PRIMARY})
    leaks = audit(res).leaks
    assert sorted(leak.paths for leak in leaks) == [("scales.x.mixed_model.n_obs",),
                                                    ("scales.x.mixed_model.n_respondents",)]

