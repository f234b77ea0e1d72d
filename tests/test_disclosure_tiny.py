"""A very small study can be reported (Contract 5): every number rests on fewer than min_cell
people, the published ones are zeros, and a zero that gives a suppressed count away gives away
only that the count is 0 -- no group below min_cell, so no leak (the audit's rule for groups,
now for single counts and means too). Before, ``protect`` found no complement for such a
"leak" (a published zero protects nothing) and ``report`` stopped with a DisclosureError that
asked the user to report a bug."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from partnerschap_eval.cli import app
from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.privacy.disclosure import audit, protect
from partnerschap_eval.results import evaluate

ITEMS = load_instrument("partnerschap").item_ids
MIN_CELL = 10
#: keys whose values count people (a published one must be 0 or at least min_cell)
COUNT_KEYS = {"n", "n_parent", "n_professional", "n_completers", "n_dropouts", "n_treatment",
              "n_reference", "n_respondents", "n_obs", "baseline", "analytic", "dropouts",
              "improved", "deteriorated", "unchanged", "n_total"}


def design(cells: list[tuple[str, str, int, int, int]], seed: int = 0) -> pd.DataFrame:
    """Contract 2 rows: per (school, role) ``pre_only`` people at the first wave only,
    ``post_only`` at the last only and ``both`` at both."""
    rng = np.random.default_rng(seed)
    rows = []
    for school, role, pre_only, post_only, both in cells:
        for k in range(pre_only + post_only + both):
            waves = (("pre",) if k < pre_only else ("post",) if k < pre_only + post_only
                     else ("pre", "post"))
            for wave in waves:
                rows.append({"respondent_id": f"{school}-{role}-{k}", "wave": wave, "role": role,
                             "school_id": school,
                             **dict(zip(ITEMS, rng.integers(1, 6, len(ITEMS)).astype(float),
                                        strict=True))})
    return pd.DataFrame(rows)


def small_numbers(obj, min_cell: int = MIN_CELL, path: str = "") -> list[str]:
    """Paths of published counts between 1 and min_cell - 1 (counts per role and wave too)."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{path}.{k}" if path else str(k)
            counting = k in COUNT_KEYS or ".by_role" in path and path.startswith("counts")
            if counting and isinstance(v, int | float) and not isinstance(v, bool) \
                    and math.isfinite(v) and 0 < v < min_cell:
                out.append(p)
            out += small_numbers(v, min_cell, p)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += small_numbers(v, min_cell, f"{path}[{i}]")
    return out


# -- the mechanism: a determined zero is no disclosure -----------------------------------------
def _zeros_only() -> dict:
    """Two parents, one at each wave, nobody paired: the paired n is withheld (0 < min_cell),
    the attrition block publishes its 0 completers -- the same people."""
    null = {"n": None, "n_reason": "suppressed: n < 10"}
    return {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
            "min_cell": MIN_CELL,
            "counts": {"pre": {"n": None, "n_reason": "suppressed: n < 10",
                               "by_role": {"parent": None,
                                           "parent_reason": "suppressed: n < 10"}}},
            "scales": {"x": {"paired": dict(null), "sensitivity": dict(null),
                             "attrition": {"n_completers": 0, "n_dropouts": None,
                                           "n_dropouts_reason": "suppressed: n < 10"}}}}


def test_a_suppressed_count_that_published_zeros_give_away_as_zero_is_no_leak():
    res = _zeros_only()
    assert audit(res).ok  # the old audit: scales.x.paired.n "follows from published numbers"
    assert protect(res) == res  # nothing to withhold (the old step raised DisclosureError)


def test_a_small_count_that_published_numbers_give_away_is_still_a_leak():
    res = _zeros_only()
    res["counts"]["pre"] = {"n": 12, "by_role": {"parent": None, "teacher": 9}}
    # pre parents = 12 - 9 teachers = 3, all of them dropouts (0 completers): determined, not 0
    assert sorted(leak.paths for leak in audit(res).leaks) == [
        ("counts.pre.by_role.parent",), ("scales.x.attrition.n_dropouts",)]


# -- end to end: `report` on a study of two parents --------------------------------------------
@pytest.mark.slow
def test_a_study_of_two_parents_is_reported(tmp_path: Path):
    """2 parents at one school, one per wave (the case that ended with exit 2)."""
    path = tmp_path / "responses.csv"
    design([("De Linde", "parent", 1, 1, 0)]).to_csv(path, index=False)
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["report", "--responses", str(path), "--instrument",
                                   "partnerschap", "--project", "klein", "--out", str(out),
                                   "--date", "2026-06-30"])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert small_numbers(results) == []
    assert results["scales"]["reciprocity"]["paired"]["n_reason"] == "suppressed: n < 10"
    assert audit(results).ok
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "minder dan 10" in page or "te weinig" in page, page[:2000]


# -- a property over tiny designs ---------------------------------------------------------------
@st.composite
def tiny_designs(draw) -> list[tuple[str, str, int, int, int]]:
    """1-3 schools; per school and role 0-12 people at each wave (some at both)."""
    cells = []
    for school in "ABC"[:draw(st.integers(1, 3))]:
        for role in ("parent", "teacher"):
            pre, post = draw(st.integers(0, 12)), draw(st.integers(0, 12))
            both = draw(st.integers(0, min(pre, post)))
            cells.append((school, role, pre - both, post - both, both))
    return cells


@pytest.mark.slow
@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(cells=tiny_designs())
@example(cells=[("A", "parent", 1, 1, 0), ("A", "teacher", 0, 0, 0)])  # nobody paired
def test_tiny_designs_are_evaluated_and_pass_the_audit(cells):
    data = design(cells)
    if data.empty or data["wave"].nunique() < 2:
        return
    results = json.loads(json.dumps(evaluate(data, "partnerschap", min_cell=MIN_CELL)))
    report = audit(results)
    assert report.ok, [leak.describe() for leak in report.leaks]
    assert small_numbers(results) == []
