"""Groups of three and four withheld counts (attack 4a): a total minus its published parts is
the sum of every withheld part, whatever their number. The old audit checked pairs only."""

from __future__ import annotations

import numpy as np

from partnerschap_eval.privacy.disclosure import audit, protect


def _roles(**by_role) -> dict:
    return {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
            "min_cell": 10, "counts": {"pre": {"n": 25, "by_role": by_role}}}


def test_three_withheld_roles_beside_a_published_total_are_a_group():
    res = _roles(parent=18, teacher=None, youthworker=None, coordinator=None)
    leaks = audit(res).leaks
    assert [(leak.kind, len(leak.paths), leak.value) for leak in leaks] == [("group", 3, 7.0)]
    safe = protect(res)
    assert safe["counts"]["pre"]["by_role"]["parent"] is None and audit(safe).ok


def test_four_and_not_two_determined_pairs():
    from partnerschap_eval.privacy.disclosure import _larger_groups

    proj = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [-1, -1, -1], [2.0, 1, 0],
                     [-2.0, -1, 0]])
    # rows 4 and 5 are a determined pair; 0+1+2+3 a group of four
    assert _larger_groups(proj, np.ones(6)) == [(0, 1, 2, 3)]
