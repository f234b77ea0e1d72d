"""Contract 5 as an attacker reads it: no suppressed count or mean comes back by subtraction.

The studies here have complete answers (every item, every scale), so the tables of a run count
exactly the same people -- the situation in which differencing recovers a suppressed group
*exactly* (all parents minus the schools shown; the CFA's n; item statistics' n minus the
pairs; stayers vs. dropouts). Each attack below is written out by hand, independently of the
auditor's linear algebra, and must fail on a protected run; the same attacks succeed on a run
built without the disclosure step (so they can fail), and the auditor finds those leaks too.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerschap_eval.errors import DisclosureError, InputError, MinCellError
from partnerschap_eval.privacy import disclosure
from partnerschap_eval.privacy.disclosure import audit, protect
from partnerschap_eval.results import evaluate

ITEMS = [f"{p}{i}" for p in ("rec", "twc", "sdm") for i in range(1, 6)]
SCALES = ["reciprocity", "two_way_communication", "shared_decision_making"]


def make_study(parents: dict[str, tuple[int, int]], teachers: tuple[int, int] = (25, 0),
               youthworkers: tuple[int, int] = (12, 0), seed: int = 1) -> pd.DataFrame:
    """Complete responses: per school (paired parents, parent dropouts); professionals pooled
    over the schools as (paired, dropouts). A dropout answers the first wave only."""
    rng = np.random.default_rng(seed)
    rows = []
    schools = list(parents)

    def person(pid: str, role: str, school: str, paired: bool) -> None:
        level = rng.normal(3.2, 0.6)
        for wave in (("pre", "post") if paired else ("pre",)):
            shift = 0.3 if wave == "post" else 0.0
            answers = np.clip(np.rint(level + shift + rng.normal(0, 0.7, len(ITEMS))), 1, 5)
            rows.append({"respondent_id": pid, "wave": wave, "role": role,
                         "school_id": school, **dict(zip(ITEMS, answers, strict=True))})

    for school, (paired, dropouts) in parents.items():
        for k in range(paired + dropouts):
            person(f"{school}-p{k}", "parent", school, k < paired)
    for role, (paired, dropouts) in (("teacher", teachers), ("youthworker", youthworkers)):
        for k in range(paired + dropouts):
            person(f"{role}{k}", role, schools[k % len(schools)], k < paired)
    return pd.DataFrame(rows)


def report_results(responses: pd.DataFrame, tmp_path: Path, min_cell: int = 10,
                   unprotected: bool = False, monkeypatch=None) -> dict:
    """The numbers a report publishes (its results.json), without rendering pages."""
    from partnerschap_eval.report.build import ReportSettings, compute_results

    path = tmp_path / "responses.csv"
    responses.to_csv(path, index=False)
    s = ReportSettings(project="t", instrument="partnerschap", responses=path,
                       out_dir=tmp_path / "report", min_cell=min_cell)
    if unprotected:
        monkeypatch.setattr(disclosure, "protect", lambda r, *a, **k: copy.deepcopy(r))
        monkeypatch.setattr("partnerschap_eval.results.scales.protect", lambda r, *a, **k: r)
        monkeypatch.setattr(disclosure, "require_clean_audit", lambda r, *a, **k: None)
    results, _ = compute_results(s)
    return json.loads(json.dumps(results))


# ---------------------------------------------------------------------------------------------
# the attacks, written out by hand
# ---------------------------------------------------------------------------------------------
def _minus(total, parts):
    """total - sum(parts), or None when any term is not published."""
    if total is None or any(p is None for p in parts):
        return None
    return total - sum(parts)


def _school_key(r: dict, name: str) -> str:
    return next(k for k, v in r["schools"].items() if v["name"] == name)


def school_attacks(r: dict, target: str) -> list[tuple[str, float | None]]:
    """Recover the target school's parents from the totals and the other schools."""
    others = [k for k in r["schools"] if k != _school_key(r, target)]
    out = []
    for wave in ("pre", "post"):
        out.append((f"counts.{wave}.parent - other schools",
                    _minus(r["counts"][wave]["by_role"].get("parent"),
                           [r["schools"][k]["n_parents"][wave] for k in others])))
    for s in SCALES:
        par = r["scales"][s]["by_role"]["parent"]["paired"]
        out.append((f"{s}: paired parents - other schools",
                    _minus(par["n"], [r["schools"][k]["scales"][s]["n"] for k in others])))
        gap = r["scales"][s]["gap"]["change"]
        out.append((f"{s}: gap change n_parent - other schools",
                    _minus(gap.get("n_parent"),
                           [r["schools"][k]["scales"][s]["n"] for k in others])))
    return out


def school_mean_attacks(r: dict, target: str) -> list[tuple[str, float | None]]:
    """The target school's parents' pre mean from the all-parents mean and the other schools'."""
    others = [k for k in r["schools"] if k != _school_key(r, target)]
    out = []
    for s in SCALES:
        par = r["scales"][s]["by_role"]["parent"]["paired"]
        blocks = [r["schools"][k]["scales"][s] for k in others]
        if par["n"] is None or par["mean_pre"] is None or any(
                b["n"] is None or b["mean_pre"] is None for b in blocks):
            out.append((s, None))
            continue
        n = par["n"] - sum(b["n"] for b in blocks)
        total = par["n"] * par["mean_pre"] - sum(b["n"] * b["mean_pre"] for b in blocks)
        out.append((s, total / n if n else None))
    return out


def role_attacks(r: dict, role: str) -> list[tuple[str, float | None]]:
    """Recover one role's count from totals minus the other roles, table by table."""
    others = [x for x in ("parent", "teacher", "youthworker") if x != role]
    out = []
    for wave in ("pre", "post"):
        c = r["counts"][wave]
        out.append((f"counts.{wave}", _minus(c["n"], [c["by_role"].get(x) for x in others])))
        cfa = {row["group"]: row.get("n") for row in r["psychometrics"]["cfa"]
               if row["wave"] == wave}
        out.append((f"cfa {wave}", _minus(cfa.get("all"), [cfa.get(x) for x in others])))
    for s in SCALES:
        sc = r["scales"][s]
        out.append((f"{s} paired", _minus(sc["paired"]["n"],
                                          [sc["by_role"][x]["paired"]["n"] for x in others])))
        out.append((f"{s} sensitivity", _minus(sc["sensitivity"].get("n"), [
            sc["by_role"][x]["sensitivity"].get("n") for x in others])))
        if role != "parent":
            pro = [x for x in ("teacher", "youthworker") if x != role]
            ch = sc["gap"]["change"]
            out.append((f"{s} gap professionals",
                        _minus(ch.get("n_professional"),
                               [sc["by_role"][x]["paired"]["n"] for x in pro])))
            for wave in ("pre", "post"):
                wb = sc["gap"]["by_wave"][wave]
                out.append((f"{s} gap {wave} professionals",
                            _minus(wb.get("n_professional"),
                                   [r["counts"][wave]["by_role"].get(x) for x in pro])))
    return out


def dropout_attacks(r: dict) -> list[tuple[str, float | None]]:
    """Recover the number of dropouts (first wave only) from stayers and first-wave totals."""
    out = [("counts pre - post", _minus(r["counts"]["pre"]["n"], [r["counts"]["post"]["n"]]))]
    items_pre = {row["scale"]: row.get("n") for row in r["psychometrics"]["items"]
                 if row["wave"] == "pre"}
    for s in SCALES:
        sc = r["scales"][s]
        paired = sc["paired"]["n"]
        out += [
            (f"{s} attrition", sc["attrition"].get("n_dropouts")),
            (f"{s} attrition pre - completers",
             _minus(r["counts"]["pre"]["n"], [sc["attrition"].get("n_completers")])),
            (f"{s} reliability pre - paired", _minus(sc["reliability"]["pre"].get("n"), [paired])),
            (f"{s} items pre - paired", _minus(items_pre.get(s), [paired])),
            (f"{s} counts pre - paired", _minus(r["counts"]["pre"]["n"], [paired])),
            (f"{s} mixed respondents - paired",
             _minus(sc["mixed_model"].get("n_respondents"), [paired])),
            (f"{s} mixed obs - 2 paired",
             _minus(sc["mixed_model"].get("n_obs"), [2 * paired] if paired else [None])),
        ]
    return out


def _recovered(attacks: list[tuple[str, float | None]], truth: float) -> list[str]:
    return [name for name, value in attacks
            if value is not None and abs(value - truth) < 1e-6]


# ---------------------------------------------------------------------------------------------
# the small groups of the issue
# ---------------------------------------------------------------------------------------------
SMALL = {"Klein": (9, 0), "Tien": (10, 0), "Groot": (30, 9), "Midden": (22, 0),
         "Ruim": (25, 0)}


@pytest.fixture(scope="module")
def small_groups():
    return make_study(SMALL, teachers=(25, 0), youthworkers=(9, 0), seed=7)


@pytest.fixture(scope="module")
def protected(small_groups, tmp_path_factory):
    return report_results(small_groups, tmp_path_factory.mktemp("protected"))


@pytest.fixture(scope="module")
def unprotected(small_groups, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    try:
        return report_results(small_groups, tmp_path_factory.mktemp("raw"), unprotected=True,
                              monkeypatch=mp)
    finally:
        mp.undo()


def test_the_attacks_recover_every_small_group_from_a_run_without_the_disclosure_step(
        unprotected, small_groups):
    """Without complementary suppression the differencing attacks of the issue work."""
    assert _recovered(school_attacks(unprotected, "Klein"), 9)
    assert _recovered(role_attacks(unprotected, "youthworker"), 9)
    assert _recovered(dropout_attacks(unprotected), 9)
    from partnerschap_eval.instruments import load_instrument
    from partnerschap_eval.scoring import score_scales

    scores = score_scales(small_groups, load_instrument("partnerschap"))
    klein = scores[(scores.school_id == "Klein") & (scores.wave == "pre")
                   & (scores.role == "parent")]
    truth = {s: klein[s].mean() for s in SCALES}
    got = dict(school_mean_attacks(unprotected, "Klein"))
    assert any(got[s] is not None and abs(got[s] - truth[s]) < 1e-6 for s in SCALES)


def test_the_auditor_finds_those_leaks(unprotected):
    leaks = audit(unprotected).leaks
    paths = {p for leak in leaks for p in leak.paths}
    assert any(p.startswith("schools.") for p in paths), paths
    assert any("youthworker" in p or "cfa" in p for p in paths), paths
    assert any("dropouts" in p for p in paths), paths


def test_no_attack_recovers_a_suppressed_group_from_a_protected_run(protected):
    assert _recovered(school_attacks(protected, "Klein"), 9) == []
    assert _recovered(role_attacks(protected, "youthworker"), 9) == []
    assert _recovered(dropout_attacks(protected), 9) == []
    assert all(v is None for _, v in school_mean_attacks(protected, "Klein"))


def test_the_small_groups_are_suppressed_and_the_school_of_ten_is_shown(protected):
    klein = protected["schools"][_school_key(protected, "Klein")]
    assert klein["scales"]["reciprocity"]["n"] is None
    assert klein["scales"]["reciprocity"]["n_reason"] == "suppressed: n < 10"
    assert protected["counts"]["pre"]["by_role"]["youthworker"] is None
    assert protected["scales"]["reciprocity"]["attrition"]["n_dropouts"] is None
    # Contract 5 keeps professionals out of the schools entirely
    assert all(set(v) == {"name", "n_parents", "scales"} for v in protected["schools"].values())


def test_the_auditor_passes_the_protected_run_and_says_what_it_checked(protected):
    report = audit(protected)
    assert report.ok, [leak.describe() for leak in report.leaks]
    assert report.published_counts > 50 and report.published_means > 20
    assert report.suppressed > 0
    # withholding is not the same as publishing nothing: the parents' numbers stay
    assert protected["counts"]["pre"]["by_role"]["parent"] == 105
    assert protected["scales"]["reciprocity"]["by_role"]["parent"]["paired"]["n"] == 96


def test_complementary_suppression_only_adds_nulls(unprotected, protected):
    """The step never changes a published number, it only withholds."""
    def walk(a, b, path=""):
        if b is None:
            return
        if isinstance(a, dict):
            for k in a:
                if k in b:
                    yield from walk(a[k], b[k], f"{path}.{k}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                yield from walk(x, y, f"{path}[{i}]")
        elif b is not None and a != b and not path.endswith("reason"):
            yield path
    assert list(walk(unprotected, protected)) == []


# ---------------------------------------------------------------------------------------------
# the auditor on hand-made tables
# ---------------------------------------------------------------------------------------------
def _schools_table(shown: dict[str, int | None], total: int) -> dict:
    return {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
            "min_cell": 10,
            "counts": {"pre": {"n": total + 20, "by_role": {"parent": total, "teacher": 20}}},
            "schools": {k: {"name": k, "n_parents": {"pre": n}, "scales": {}}
                        for k, n in shown.items()}}


def test_auditor_finds_a_school_recovered_as_total_minus_the_others():
    r = _schools_table({"A": 30, "B": 41, "C": None}, total=80)
    leaks = audit(r).leaks
    assert [leak.paths for leak in leaks] == [("schools.C.n_parents.pre",)]


def test_auditor_accepts_two_hidden_schools_that_are_not_small_together():
    r = _schools_table({"A": 30, "B": None, "C": None}, total=80)   # B + C = 50
    assert audit(r).ok


def test_auditor_finds_two_small_hidden_cells_whose_sum_is_small():
    r = _schools_table({"A": 30, "B": 41, "C": None, "D": None}, total=77)   # C + D = 6
    leaks = audit(r).leaks
    assert [leak.kind for leak in leaks] == ["group"]
    assert leaks[0].value == pytest.approx(6)


def test_auditor_finds_a_mean_recovered_from_sums():
    """n and mean of all and of all-but-one give the hidden part's sum; n follows too."""
    block = {"n": 40, "mean_pre": 3.0, "mean_post": 3.5, "mean_diff": 0.5}
    hidden = {k: None for k in block} | {f"{k}_reason": "suppressed: n < 10" for k in block}
    r = {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"}, "min_cell": 10,
         "scales": {"s": {"paired": block,
                          "by_role": {"parent": {"paired": {"n": 31, "mean_pre": 3.1,
                                                            "mean_post": 3.6, "mean_diff": .5}},
                                      "teacher": {"paired": hidden}}}}}
    kinds = {(leak.paths[0].rsplit(".", 1)[-1], leak.kind) for leak in audit(r).leaks}
    assert ("mean_pre", "mean") in kinds and ("n", "count") in kinds
    fixed = protect(r)
    assert audit(fixed).ok
    assert fixed["scales"]["s"]["by_role"]["parent"]["paired"]["mean_pre"] is None
    assert fixed["scales"]["s"]["by_role"]["parent"]["paired"]["n_reason"] == \
        "suppressed: n < 10 (complementary)"


def test_protect_leaves_a_safe_table_alone():
    r = _schools_table({"A": 30, "B": 41, "C": 15}, total=86)
    assert protect(r) == r


# ---------------------------------------------------------------------------------------------
# property: random small group sizes
# ---------------------------------------------------------------------------------------------
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(schools=st.lists(st.tuples(st.integers(1, 14), st.integers(0, 6)), min_size=2,
                        max_size=4),
       teachers=st.integers(2, 14), youthworkers=st.integers(2, 14),
       min_cell=st.integers(3, 10))
@pytest.mark.slow
def test_evaluate_never_publishes_a_recoverable_small_group(schools, teachers, youthworkers,
                                                            min_cell):
    """Whatever the sizes, the auditor passes evaluate's output and no hand-written
    differencing attack recovers a school, role or dropout group below min_cell."""
    study = make_study({f"S{i}": s for i, s in enumerate(schools)},
                       teachers=(teachers, 0), youthworkers=(youthworkers, 0), seed=3)
    r = evaluate(study, "partnerschap", min_cell=min_cell, mixed=False)
    assert audit(r).ok
    r["psychometrics"] = {"cfa": [], "items": []}
    for role, n in (("teacher", teachers), ("youthworker", youthworkers)):
        if n < min_cell:
            assert _recovered([a for a in role_attacks(r, role) if "gap" not in a[0]
                               or role != "parent"], n) == [], (role, n)
    dropouts = sum(d for _, d in schools)
    if 0 < dropouts < min_cell:
        assert _recovered(dropout_attacks({**r, "scales": {
            s: {**v, "mixed_model": {}} for s, v in r["scales"].items()}}), dropouts) == []


# ---------------------------------------------------------------------------------------------
# the report build and min_cell
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_build_that_fails_the_audit_publishes_nothing(small_groups, tmp_path, monkeypatch):
    from partnerschap_eval.report.build import ReportSettings, build_report

    path = tmp_path / "responses.csv"
    small_groups.to_csv(path, index=False)
    monkeypatch.setattr(disclosure, "protect", lambda r, *a, **k: r)
    out = tmp_path / "report"
    with pytest.raises(DisclosureError) as info:
        build_report(ReportSettings(project="t", instrument="partnerschap", responses=path,
                                    out_dir=out))
    assert "Nothing was published" in str(info.value) and info.value.leaks
    assert not out.exists()


@pytest.mark.parametrize("bad", [0, -3, 1001, True, 2.5, "10", None])
def test_min_cell_outside_1_to_1000_is_refused_by_every_api(bad, small_groups, tmp_path):
    from partnerschap_eval.instruments import load_instrument
    from partnerschap_eval.report.build import ReportSettings
    from partnerschap_eval.results.frameworks import summary
    from partnerschap_eval.results.schools import school_results

    calls = [
        lambda: evaluate(small_groups, "partnerschap", min_cell=bad),
        lambda: ReportSettings(project="t", instrument="partnerschap",
                               responses=tmp_path / "r.csv", out_dir=tmp_path, min_cell=bad),
        lambda: school_results(small_groups.assign(reciprocity=3.0), load_instrument(
            "partnerschap"), "pre", "post", bad),
        lambda: summary({"gerdes": small_groups}, min_cell=bad),
    ]
    if bad is not None:  # None means "the run's own min_cell" here
        calls += [lambda: protect({"min_cell": 10}, bad), lambda: audit({"min_cell": 10}, bad)]
    for call in calls:
        with pytest.raises(MinCellError) as info:
            call()
        assert "from 1 to 1000" in str(info.value)
    assert issubclass(MinCellError, InputError)


def test_project_file_with_min_cell_zero_is_refused_with_a_paragraph(tmp_path):
    from partnerschap_eval.report.project import load_project

    cfg = tmp_path / "project.yaml"
    cfg.write_text("project: t\ninstrument: partnerschap\nresponses: r.csv\nout: rep\n"
                   "min_cell: 0\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_project(cfg)
    assert "min_cell" in str(info.value) and str(cfg) in str(info.value)


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_cli_refuses_min_cell_zero_without_a_traceback(command, small_groups, tmp_path):
    path = tmp_path / "responses.csv"
    small_groups.to_csv(path, index=False)
    args = {"evaluate": [str(path), "--instrument", "partnerschap", "--out",
                         str(tmp_path / "r.json")],
            "report": ["--responses", str(path), "--instrument", "partnerschap", "--project",
                       "t", "--out", str(tmp_path / "rep")]}[command]
    proc = subprocess.run([sys.executable, "-m", "partnerschap_eval.cli", command, *args,
                           "--min-cell", "0"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "from 1 to 1000" in " ".join((proc.stderr + proc.stdout).split())
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "rep").exists()
