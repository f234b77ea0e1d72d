"""Contract 5 for shares: a published share, percentage or net change gives its count away.

``share_down = 0.0588`` of ``n = 34`` says that 2 people moved down; when the transition cells
that moved down are suppressed for being small, the share has published them all the same. The
attacks below are written out by hand with plain rounding (``round(share * n)``), independently
of the auditor's exact interval arithmetic, and must fail on a protected run.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from statistics import NormalDist

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.privacy.disclosure import audit, protect, share_count, share_total
from partnerschap_eval.report.build import _records
from partnerschap_eval.results.frameworks import _suppress_tests, ordinal_change, transition_table

ROLE = "youthworker"
LEVELS = (0, 1, 2, 3)
# Gerdes levels of 34 youth workers at both waves: 14 up, 18 the same, 2 down -- one from
# level 2 to 1 and one from 3 to 2, every other downward cell 0 (as in the demo).
DOWN_BY_TWO = {(0, 0): 2, (0, 1): 3, (0, 2): 1, (1, 1): 6, (1, 2): 5, (1, 3): 2, (2, 1): 1,
               (2, 2): 7, (2, 3): 3, (3, 2): 1, (3, 3): 3}


# ---------------------------------------------------------------------------------------------
# the exact derivation
# ---------------------------------------------------------------------------------------------
def test_a_share_gives_its_count_away_and_a_count_its_total():
    assert share_count(0.05, 80) == 4
    assert share_count(0.05882352941, 34) == 2          # results.json keeps 10 digits
    assert share_count(0.3333333333, 30) == 10
    assert share_count(3.394255875, 766, scale=100) == 26   # a percentage
    assert share_total(0.05, 4) == 80
    assert share_total(0.05882352941, 2) == 34


def test_a_share_too_coarse_for_its_n_gives_nothing_away():
    # a whole percentage of 34 still pins 2 down; two decimals of 300 do not pin 99 down
    assert share_count(0.06, 34, digits=1) == 2
    assert share_count(0.33, 300, digits=2) is None
    assert share_count(0.33, 300) == 99                 # 0.3300000000 exactly: it does
    assert share_count(None, 30) is None and share_count(0.2, None) is None


# ---------------------------------------------------------------------------------------------
# a level distribution whose suppressed count is published as a share
# ---------------------------------------------------------------------------------------------
def _levels_table(share_of_small: float | None) -> dict:
    comp = "suppressed: complementary (protects a cell with n < 10)"
    rows = [(0, None, None, comp), (1, 50, 0.625, None), (2, None, share_of_small,
                                                            "suppressed: n < 10")]
    return {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
            "min_cell": 10,
            "counts": {"pre": {"n": 80, "by_role": {"parent": 80}},
                       "post": {"n": 70, "by_role": {"parent": 70}}},
            "frameworks": {"tables": {"level_distribution": [
                {"classification": "gerdes_level", "role": "parent", "wave": "pre",
                 "level": lv, "label": str(lv), "n": n, "share": share, "n_total": 80,
                 "reason": reason} for lv, n, share, reason in rows]}}}


def test_auditor_finds_a_count_of_4_given_away_as_a_share_of_80():
    assert audit(_levels_table(None)).ok          # the same table without the share is safe
    report = audit(_levels_table(0.05))
    assert [leak.paths for leak in report.leaks] == [
        ("frameworks.tables.level_distribution[2].n",)]
    assert report.share_counts == 2               # 0.625 x 80 = 50 and 0.05 x 80 = 4


def test_protect_withholds_the_share_with_its_count_and_nothing_else():
    leaky = _levels_table(0.05)
    safe = protect(leaky)
    rows = safe["frameworks"]["tables"]["level_distribution"]
    assert rows[2]["share"] is None
    assert rows[2]["share_reason"] == "suppressed: n < 10 (complementary)"
    # the shown level keeps its count and share; the counts stay
    assert (rows[1]["n"], rows[1]["share"], rows[1]["n_total"]) == (50, 0.625, 80)
    assert safe["counts"] == leaky["counts"]
    assert audit(safe).ok


def test_auditor_finds_a_total_given_away_by_a_count_and_its_share():
    """A group of 19 below min_cell = 20, its total withheld: 12 / 0.6315789474 = 19."""
    def table(share):
        return {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
                "min_cell": 20,
                "frameworks": {"tables": {"level_distribution": [
                    {"classification": "gerdes_level", "role": "parent", "wave": "pre",
                     "level": 0, "n": None, "share": None, "n_total": None,
                     "reason": "suppressed: n < 20"},
                    {"classification": "gerdes_level", "role": "parent", "wave": "pre",
                     "level": 1, "n": 12, "share": share, "n_total": None, "reason": None}]}}}

    assert audit(table(None)).ok
    assert share_total(0.6315789474, 12) == 19
    leaks = audit(table(0.6315789474)).leaks
    assert [leak.paths for leak in leaks] == [("frameworks.tables.level_distribution[0].n_total",)]
    safe = protect(table(0.6315789474))
    assert safe["frameworks"]["tables"]["level_distribution"][1]["share"] is None
    assert audit(safe).ok


# ---------------------------------------------------------------------------------------------
# an ordinal test whose shares, net change and interval give "2 moved down" away
# ---------------------------------------------------------------------------------------------
def _classified(cells: dict[tuple[int, int], int]) -> pd.DataFrame:
    rows, k = [], 0
    for (a, b), c in sorted(cells.items()):
        for _ in range(c):
            rows += [{"respondent_id": f"r{k:04d}", "wave": "pre", "role": ROLE,
                      "gerdes_level": a},
                     {"respondent_id": f"r{k:04d}", "wave": "post", "role": ROLE,
                      "gerdes_level": b}]
            k += 1
    frame = pd.DataFrame(rows)
    frame["gerdes_level"] = frame["gerdes_level"].astype("Int64")
    return frame


def ordinal_results(cells: dict[tuple[int, int], int], paired_extra: int = 1) -> dict:
    """The transition table and ordinal test as a report publishes them (frameworks' own
    suppression, results.json's rounding); the role's paired scale n is ``paired_extra``
    larger (people without a level at one wave), as in real data."""
    inst = load_instrument("gerdes")
    c = _classified(cells)
    kw = {"first": "pre", "last": "post", "by": ("role",)}
    tr = transition_table(c, "gerdes_level", inst, min_cell=10, **kw)
    oc = _suppress_tests(ordinal_change(c, "gerdes_level", inst, **kw), 10)
    n = sum(cells.values()) + paired_extra
    return {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
            "min_cell": 10,
            "counts": {w: {"n": n, "by_role": {ROLE: n}} for w in ("pre", "post")},
            "scales": {"reciprocity": {"by_role": {ROLE: {"paired": {"n": n}}}}},
            "frameworks": {"tables": {"transitions": _records(tr),
                                      "ordinal_tests": _records(oc)}}}


def attack(results: dict) -> list[str]:
    """What the ordinal row gives away about suppressed transition cells, by hand.

    The row's shares give up / same / down (plain rounding of share x n), ``net_up`` gives
    up - down, the Wald interval's half width gives up + down, and with up + down the exact
    sign test's p gives min(up, down) (the direction of change tells which). A category total
    minus its published cells leaves its withheld cells: one withheld cell below min_cell is
    recovered; two withheld cells below min_cell with a sum below min_cell are a group.
    """
    tables = results["frameworks"]["tables"]
    true = results["_true"]
    found = []
    for row in tables["ordinal_tests"]:
        if row["n"] is None:
            continue
        n = int(row["n"])
        known: dict[str, int] = {}
        for cat in ("up", "same", "down"):
            if row.get(f"share_{cat}") is not None:
                known[cat] = round(row[f"share_{cat}"] * n)
        diff = None
        lo, hi = row.get("net_up_ci_low"), row.get("net_up_ci_high")
        if row.get("net_up") is not None:
            diff = round(row["net_up"] * n)
        elif lo is not None and hi is not None:
            diff = round((lo + hi) / 2 * n)
        moved = None
        if lo is not None and hi is not None and diff is not None:
            z = NormalDist().inv_cdf(0.5 + row["ci_level"] / 2)
            moved = round(((hi - lo) / 2 * n / z) ** 2 + diff ** 2 / n)
        for _ in range(3):   # close the relations up + same + down = n
            if "same" in known and moved is None:
                moved = n - known["same"]
            if moved is not None and diff is not None:
                known.setdefault("up", (moved + diff) // 2)
                known.setdefault("down", (moved - diff) // 2)
            if len(known) == 2:
                (missing,) = {"up", "same", "down"} - set(known)
                known[missing] = n - sum(known.values())
            if "up" in known and "down" in known:
                moved, diff = known["up"] + known["down"], known["up"] - known["down"]
        if moved and "down" not in known and row.get("sign_test_p") is not None:
            # the exact sign test's p = min(1, 2 P(X <= min(up, down))), X ~ Bin(up + down, .5)
            ks = [k for k in range(moved // 2 + 1) if math.isclose(
                min(1.0, 2 * binom.cdf(k, moved, 0.5)), row["sign_test_p"], rel_tol=1e-8)]
            shown = {cat: sum(r["n"] for r in tables["transitions"] if r["role"] == row["role"]
                              and r["n"] is not None
                              and _category(r["from_level"], r["to_level"]) == cat)
                     for cat in ("up", "down")}
            options = {(moved - k, k) for k in ks} | {(k, moved - k) for k in ks}
            options = {o for o in options if o[0] >= shown["up"] and o[1] >= shown["down"]}
            # worst case: the direction of change is public (the level distributions of both
            # waves publish it), so the attacker knows whether more moved up or down
            up_more = sum(c for (a, b), c in true.items() if b > a) >= \
                sum(c for (a, b), c in true.items() if b < a)
            options = {o for o in options if (o[0] >= o[1]) == up_more} or options
            if len(options) == 1:
                (known["up"], known["down"]), = options
        for cat, total in known.items():
            cells = [r for r in tables["transitions"] if r["role"] == row["role"]
                     and _category(r["from_level"], r["to_level"]) == cat]
            hidden = [r for r in cells if r["n"] is None]
            rest = int(total - sum(r["n"] for r in cells if r["n"] is not None))
            small = [r for r in hidden if 0 < true[(r["from_level"], r["to_level"])] < 10]
            if len(hidden) == 1 and small:
                found.append(f"{cat}: cell {small[0]['from_level']}->{small[0]['to_level']} "
                             f"= {rest}")
            if len(hidden) == 2 and len(small) == 2 and 0 < rest < 10:
                found.append(f"{cat}: two small cells = {rest}")
    return found


def _category(a: int, b: int) -> str:
    return "up" if b > a else "down" if b < a else "same"


def _with_truth(results: dict, cells: dict) -> dict:
    out = copy.deepcopy(results)
    out["_true"] = {(a, b): cells.get((a, b), 0) for a in LEVELS for b in LEVELS}
    return out


def test_the_attack_recovers_two_moved_down_from_the_shares_of_an_unprotected_run():
    r = ordinal_results(DOWN_BY_TWO)
    down = [t for t in r["frameworks"]["tables"]["transitions"] if t["from_level"] > t["to_level"]]
    assert sorted(t["n"] for t in down if t["n"] is not None) == [0, 0, 0, 0]   # two hidden
    assert attack(_with_truth(r, DOWN_BY_TWO)) == ["down: two small cells = 2"]


def test_auditor_finds_two_moved_down_although_the_tables_n_differs_from_the_paired_n():
    """34 with a level at both waves, 35 paired scale scores: the group is valued from its own
    table (2), not from a least-squares compromise of the two."""
    r = ordinal_results(DOWN_BY_TWO, paired_extra=1)
    groups = [leak for leak in audit(r).leaks if leak.kind == "group"]
    assert [(len(g.paths), g.value) for g in groups] == [(2, 2)]


def test_protect_withholds_shares_not_rows_and_the_attack_fails():
    r = ordinal_results(DOWN_BY_TWO)
    safe = protect(r)
    assert audit(safe).ok
    assert attack(_with_truth(safe, DOWN_BY_TWO)) == []
    row, before = safe["frameworks"]["tables"]["ordinal_tests"][0], \
        r["frameworks"]["tables"]["ordinal_tests"][0]
    withheld = sorted(k for k, v in row.items() if v is None and before[k] is not None)
    # the row and its n stay; some of its shares and the net change's numbers go
    assert row["n"] == 34 and row["reason"] is None
    assert withheld and set(withheld) <= {"share_up", "share_same", "share_down", "net_up",
                                          "net_up_ci_low", "net_up_ci_high", "sign_test_p"}
    # the sign test's p (a function of up and down alone) goes with them
    assert "sign_test_p" in withheld
    assert all(row[f"{k}_reason"] == "suppressed: n < 10 (complementary)" for k in withheld)
    assert safe["frameworks"]["tables"]["transitions"] == r["frameworks"]["tables"]["transitions"]


cell_counts = st.lists(st.sampled_from([0, 0, 0, 1, 2, 3, 5, 8, 9, 10, 12, 15, 25]),
                       min_size=16, max_size=16)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cell_counts)
@pytest.mark.slow
def test_after_protect_no_share_gives_a_withheld_small_count_away(counts):
    cells = {(a, b): c for (a, b), c in zip(((a, b) for a in LEVELS for b in LEVELS), counts,
                                            strict=True) if c}
    if sum(cells.values()) < 10:
        return
    safe = protect(ordinal_results(cells))
    assert audit(safe).ok
    assert attack(_with_truth(safe, cells)) == []


# ---------------------------------------------------------------------------------------------
# the same run withholds the same numbers, whatever the hash seed
# ---------------------------------------------------------------------------------------------
_PROTECT = """
import json, sys
from partnerschap_eval.privacy.disclosure import protect
r = json.load(open(sys.argv[1]))
sys.stdout.write(json.dumps(protect(r), sort_keys=True))
"""


def _pre_protect_demo(demo_dir: Path) -> dict:
    """The demo's results.json with its framework tables as the frameworks module makes them
    (from the demo's framework questionnaires: its design, its compared waves), before the
    disclosure step (shares published)."""
    from partnerschap_eval.results.frameworks import summary
    from partnerschap_eval.synth import DEMO_DESIGN, FrameworkDesign, simulate_frameworks

    r = json.loads((demo_dir / "report" / "results.json").read_text())
    data = simulate_frameworks(seed=2014, design=FrameworkDesign(study=DEMO_DESIGN)).responses
    fw = summary(data, min_cell=10, lang="nl", first=r["compared"]["first"],
                 last=r["compared"]["last"])
    r["frameworks"]["tables"] = {k: _records(t) for k, t in fw.tables().items()}
    return r


def test_protect_is_the_same_under_every_hash_seed(demo_dir, tmp_path):
    src = tmp_path / "results.json"
    src.write_text(json.dumps(_pre_protect_demo(demo_dir)))
    outs = []
    for seed in ("0", "1", "12345"):
        res = subprocess.run([sys.executable, "-c", _PROTECT, str(src)], capture_output=True,
                             text=True, env=os.environ | {"PYTHONHASHSEED": seed}, timeout=900)
        assert res.returncode == 0, res.stderr
        outs.append(res.stdout)
    assert outs[0] == outs[1] == outs[2]
    assert json.loads(outs[0]) != json.loads(src.read_text())   # it had work to do


def test_the_demo_audit_finds_no_leak_and_checks_the_shares(demo_dir):
    results = json.loads((demo_dir / "report" / "results.json").read_text())
    report = audit(results)
    assert report.ok, [leak.describe() for leak in report.leaks]
    # every published share of the demo gives its count away -- and none a suppressed one
    assert report.share_counts > 300
    assert report.published_counts > 1500 and report.published_means > 900
    tests = results["frameworks"]["tables"]["ordinal_tests"]
    assert all(row["n"] is not None for row in tests)   # shares withheld, not rows
    for row in tests:
        if any(row[k] is None for k in ("share_up", "share_same", "share_down", "net_up")):
            assert row["sign_test_p"] is None


@pytest.mark.parametrize("paired_extra", [0, 1, 3])
def test_the_group_is_found_whatever_the_paired_n(paired_extra):
    r = ordinal_results(DOWN_BY_TWO, paired_extra=paired_extra)
    assert any(leak.kind == "group" and leak.value == 2 for leak in audit(r).leaks)
