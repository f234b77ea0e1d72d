"""Disclosure control of a run's published numbers (Contract 5): one step and its auditor.

Every number a run publishes -- ``results.json``, and through it every table, figure and
school page -- passes :func:`protect` once, and :func:`audit` proves afterwards that no
suppressed count or mean can be derived from the published ones by addition or subtraction.

The model
---------
The published counts of a run all count sets of the same people, so they are linear
functionals of a few hidden *atoms*: the number of respondents of each role (per school for
parents; professionals are never reported per school) who have a score at the first wave only,
at the last wave only, or at both (``F``, ``L``, ``B``). Categorical breakdowns (reliable
change, the change histogram, framework levels and transitions, praatplaat answers) are further
unknowns tied to those atoms by their margins (the categories of a role's paired respondents sum
to that role's paired count), and means with a published ``n`` give sums of scores, themselves
linear in per-atom score totals. The auditor assumes *complete data* -- everyone present at a
wave has every score and answered every item -- so the reliability ``n``, the item statistics'
``n``, the CFA ``n`` and the counts per role all count the same people. Real data are less
complete than that, so the model holds more identities than the truth and the audit errs on
the safe side: a differencing the model allows may only be approximate in reality, never the
other way round.

The audit
---------
Write the system as ``M x = b``: one row per identity (``b = 0``) and per published number
(``b`` = its value). A suppressed number with functional ``f`` is *determined* iff ``f`` lies in
the row space of ``M``, i.e. iff it is orthogonal to the null space of ``M`` (equivalently, the
rank of ``M`` does not grow when ``f`` is appended). This is the linear "differencing" or
"audit" check of statistical disclosure control for tables with linked margins (Hundepool et
al., 2012, *Statistical Disclosure Control*, Wiley, sections 4.2 and 5.3 on secondary cell
suppression and auditing; Fischetti & Salazar-Gonzalez, 1999, Management Science 45, 1540-1555).
The secrets are the numbers withheld for resting on fewer than ``min_cell`` people (reason
exactly ``"suppressed: n < {min_cell}"``, and a null count without a reason): a number withheld
only to protect another (``... (complementary)``) may itself be derivable, as long as no secret
is. A suppressed mean is determined when both its score sum and its ``n`` are. Groups are checked
too: when the sum of two counts suppressed for being small is determined, its value (solved
from the published numbers by least squares) must be 0 or at least ``min_cell``. The check ignores non-negativity and integrality
(interval disclosure) and standard deviations, test statistics and shares other than those
listed here; it is about sums and differences, as Contract 5 promises.

The step
--------
:func:`protect` takes the primary suppression (every block resting on fewer than ``min_cell``
people is already ``null`` with ``"suppressed: n < {min_cell}"``) and adds complementary
suppression greedily: while the audit finds a determined suppressed number, the published number
of smallest ``n`` that its derivation uses is suppressed too -- with the whole block it belongs
to (a paired block's ``n`` also shows in its ``df``, its CI, its effect sizes), reason
``"suppressed: n < {min_cell} (complementary)"``. Published numbers only ever become ``null``,
so the loop ends; the audit is its own proof.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DisclosureError
from . import check_min_cell, suppressed_reason

__all__ = ["AuditReport", "Leak", "audit", "protect", "require_clean_audit",
           "complementary_reason"]

_TOL = 1e-8
_PER_SCHOOL_ROLE = "parent"


def complementary_reason(min_cell: int) -> str:
    """The reason of a number suppressed to protect another (complementary suppression)."""
    return f"{suppressed_reason(min_cell)} (complementary)"


# ---------------------------------------------------------------------------------------------
# the published cells of a results dictionary
# ---------------------------------------------------------------------------------------------
@dataclass
class _Block:
    """A group of keys published or suppressed together (a paired block, a table row)."""

    container: dict
    keys: tuple[str, ...]
    record: bool  # table row: one ``reason`` key; otherwise ``<key>_reason`` per key
    bare: bool = False  # a mapping of counts without reason keys (counts per role, per wave)


@dataclass
class _Cell:
    path: str
    kind: str                       # "count" or "mean"
    value: float | None
    suppressed: bool
    terms: dict[tuple, float]       # count: atoms etc.; mean: score sums
    block: int
    n_cell: int | None = None       # a mean's count


@dataclass(frozen=True)
class Leak:
    """A suppressed number that the published numbers determine."""

    paths: tuple[str, ...]
    kind: str       # "count", "mean" or "group" (a sum of suppressed counts below min_cell)
    value: float | None = None

    def describe(self) -> str:
        what = " + ".join(self.paths)
        if self.kind == "group" and self.value is not None:
            return (f"the sum {what} (each below min_cell) = {self.value:g} follows from "
                    "published numbers")
        return f"{what} ({self.kind}) follows from published numbers"


@dataclass(frozen=True)
class AuditReport:
    """What :func:`audit` checked and found.

    ``published_counts`` and ``published_means`` are the numbers taken as known (a mean counts
    when its ``n`` is published too); ``suppressed`` the suppressed counts and means checked;
    ``groups`` the pairs of suppressed counts checked; ``unknowns`` the size of the model.
    """

    published_counts: int
    published_means: int
    suppressed: int
    groups: int
    unknowns: int
    leaks: tuple[Leak, ...] = field(default=())

    @property
    def published(self) -> int:
        return self.published_counts + self.published_means

    @property
    def ok(self) -> bool:
        return not self.leaks


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool | str):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _reason_of(container: dict, key: str, record: bool) -> str:
    r = container.get("reason") if record else container.get(f"{key}_reason")
    return r if isinstance(r, str) else ""


class _Model:
    """Builds the cells and their linear functionals from a results dictionary."""

    def __init__(self, results: dict) -> None:
        self.results = results
        self.cells: list[_Cell] = []
        self.blocks: list[_Block] = []
        self.identities: list[dict[tuple, float]] = []
        self._families: dict[tuple, dict[tuple, float]] = {}
        self._members: set[tuple] = set()
        waves = results.get("waves") or {}
        self.first, self.last = waves.get("first"), waves.get("last")
        self.roles = self._roles()
        params = (results.get("provenance") or {}).get("parameters") or {}
        self.schools = {k: str(v.get("name", k)) for k, v in (results.get("schools") or {}).items()}
        self.by_name = {name: key for key, name in self.schools.items()}
        self.restricted = bool(params.get("schools"))
        self.extra_schools: set[str] = set()

    # -- atoms ---------------------------------------------------------------------------
    def _roles(self) -> list[str]:
        roles: list[str] = []
        for w in (self.results.get("counts") or {}).values():
            roles += [r for r in (w.get("by_role") or {})
                      if r not in roles and not r.endswith("_reason")]
        for s in (self.results.get("scales") or {}).values():
            roles += [r for r in (s.get("by_role") or {}) if r not in roles]
        return roles or [_PER_SCHOOL_ROLE]

    def _school_atoms(self, role: str) -> list[str]:
        if role != _PER_SCHOOL_ROLE:
            return ["*"]
        atoms = list(self.schools) + sorted(self.extra_schools)
        if self.restricted or not atoms:
            atoms.append("~rest")  # parents at schools without a page
        return atoms

    def school_key(self, name_or_key: str) -> str:
        if name_or_key in self.schools:
            return name_or_key
        if name_or_key in self.by_name:
            return self.by_name[name_or_key]
        self.extra_schools.add(name_or_key)
        return name_or_key

    @staticmethod
    def _pats(wave: str) -> dict[str, float]:
        return {"F": {"F": 1.0, "B": 1.0}, "L": {"L": 1.0, "B": 1.0}, "B": {"B": 1.0},
                "FO": {"F": 1.0}, "LO": {"L": 1.0}, "ANY": {"F": 1.0, "L": 1.0, "B": 1.0},
                "OBS": {"F": 1.0, "L": 1.0, "B": 2.0}}[wave]

    def _role_list(self, roles: str | Iterable[str] | None) -> list[str]:
        if roles is None:
            return list(self.roles)
        if isinstance(roles, str):
            return [roles] if roles in self.roles else []
        return [r for r in roles if r in self.roles]

    def wave_code(self, wave: str) -> str | None:
        if wave == self.first:
            return "F"
        if wave == self.last:
            return "L"
        return None

    def presence(self, roles: str | Iterable[str] | None, wave: str,
                 school: str | None = None) -> dict[tuple, float]:
        """People of ``roles`` (all when None) present in wave pattern ``wave``."""
        terms: dict[tuple, float] = defaultdict(float)
        for role in self._role_list(roles):
            schools = self._school_atoms(role) if school is None else [school]
            for sch in schools:
                for pat, c in self._pats(wave).items():
                    terms[("x", role, sch, pat)] += c
        return dict(terms)

    def sums(self, label: str, wave: str, roles: str | Iterable[str] | None, pattern: str,
             school: str | None = None) -> dict[tuple, float]:
        """Total score on ``label`` at ``wave`` (F or L) of ``roles`` with presence ``pattern``."""
        terms: dict[tuple, float] = defaultdict(float)
        for role in self._role_list(roles):
            schools = self._school_atoms(role) if school is None else [school]
            for sch in schools:
                for pat in self._pats(pattern):
                    if pat in self._pats(wave):
                        terms[("s", label, wave, role, sch, pat)] += 1.0
        return dict(terms)

    def family(self, key: tuple, margin: dict[tuple, float], cell: tuple) -> dict[tuple, float]:
        """A category cell whose categories (all cells of ``key``) sum to ``margin``."""
        self._families.setdefault(key, margin)
        return {("c", *key, cell): 1.0}

    def finish(self) -> None:
        members: dict[tuple, set[tuple]] = defaultdict(set)
        for var in self._members:
            members[var[1:-1]].add(var)
        for key, margin in self._families.items():
            row = {v: 1.0 for v in members.get(key, ())}
            for v, coef in margin.items():
                row[v] = row.get(v, 0.0) - coef
            self.identities.append(row)

    # -- cells ---------------------------------------------------------------------------
    def block(self, container: dict, keys: Iterable[str], record: bool = False,
              bare: bool = False) -> int:
        self.blocks.append(_Block(container, tuple(keys), record, bare))
        return len(self.blocks) - 1

    def count(self, path: str, container: dict, key: str, terms: dict, block: int,
              record: bool = False) -> int | None:
        if key not in container or not terms:
            return None
        # a category belongs to its family's margin whether or not it is shown
        self._members.update(v for v in terms if v[0] == "c")
        value = _num(container[key])
        # In a bare mapping (counts per role, parents per wave) a null count is a suppressed one.
        reason = _reason_of(container, key, record)
        suppressed = value is None and (self.blocks[block].bare or not reason
                                        or reason.startswith("suppressed"))
        if value is None and not suppressed:
            return None
        self.cells.append(_Cell(path, "count", value, suppressed, terms, block))
        return len(self.cells) - 1

    def mean(self, path: str, container: dict, key: str, terms: dict, block: int,
             n_cell: int | None, record: bool = False) -> None:
        if key not in container or n_cell is None or not terms:
            return
        value = _num(container[key])
        suppressed = value is None and _reason_of(container, key, record).startswith("suppressed")
        if value is None and not suppressed:
            return
        self.cells.append(_Cell(path, "mean", value, suppressed, terms, block, n_cell))


def _paired(m: _Model, path: str, block: dict, label: str, roles, school: str | None = None,
            extra_keys: Iterable[str] = ()) -> None:
    if not isinstance(block, dict):
        return
    keys = [k for k in block if not k.endswith("_reason")] + list(extra_keys)
    b = m.block(block, keys)
    n = m.count(f"{path}.n", block, "n", m.presence(roles, "B", school), b)
    f = m.sums(label, "F", roles, "B", school)
    la = m.sums(label, "L", roles, "B", school)
    diff = {**{k: -v for k, v in f.items()}, **la}
    m.mean(f"{path}.mean_pre", block, "mean_pre", f, b, n)
    m.mean(f"{path}.mean_post", block, "mean_post", la, b, n)
    m.mean(f"{path}.mean_diff", block, "mean_diff", diff, b, n)


def _scale_cells(m: _Model, sid: str, s: dict) -> None:
    p = f"scales.{sid}"
    _paired(m, f"{p}.paired", s.get("paired"), sid, None)
    sens = s.get("sensitivity")
    if isinstance(sens, dict):
        b = m.block(sens, ["n", "min_d_z"])
        m.count(f"{p}.sensitivity.n", sens, "n", m.presence(None, "B"), b)
    for role, rb in (s.get("by_role") or {}).items():
        q = f"{p}.by_role.{role}"
        _paired(m, f"{q}.paired", rb.get("paired"), sid, role)
        sens = rb.get("sensitivity")
        if isinstance(sens, dict):
            b = m.block(sens, ["n", "min_d_z"])
            m.count(f"{q}.sensitivity.n", sens, "n", m.presence(role, "B"), b)
        rc = rb.get("reliable_change")
        if isinstance(rc, dict):
            for cat in ("improved", "deteriorated", "unchanged"):
                b = m.block(rc, [cat])
                m.count(f"{q}.reliable_change.{cat}", rc, cat,
                        m.family(("rc", sid, role), m.presence(role, "B"), (cat,)), b)
    rc = s.get("reliable_change")
    if isinstance(rc, dict):
        for cat in ("improved", "deteriorated", "unchanged"):
            terms: dict[tuple, float] = {}
            for role in m.roles:
                terms.update(m.family(("rc", sid, role), m.presence(role, "B"), (cat,)))
            b = m.block(rc, [cat])
            m.count(f"{p}.reliable_change.{cat}", rc, cat, terms, b)
    for i, bin_ in enumerate((s.get("change_distribution") or {}).get("bins") or []):
        b = m.block(bin_, ["n"])
        m.count(f"{p}.change_distribution.bins[{i}].n", bin_, "n",
                m.family(("bin", sid), m.presence(None, "B"), (i,)), b)
    att = s.get("attrition")
    if isinstance(att, dict):
        keys = [k for k in att if not k.endswith("_reason") and k not in ("definition", "hedges_j")]
        b = m.block(att, keys)
        nc = m.count(f"{p}.attrition.n_completers", att, "n_completers", m.presence(None, "B"), b)
        nd = m.count(f"{p}.attrition.n_dropouts", att, "n_dropouts", m.presence(None, "FO"), b)
        m.mean(f"{p}.attrition.mean_completers", att, "mean_completers",
               m.sums(sid, "F", None, "B"), b, nc)
        m.mean(f"{p}.attrition.mean_dropouts", att, "mean_dropouts",
               m.sums(sid, "F", None, "FO"), b, nd)
    gap = s.get("gap")
    if isinstance(gap, dict):
        pros = [r for r in (gap.get("professional_roles") or []) if r != _PER_SCHOOL_ROLE]
        for wave, wb in (gap.get("by_wave") or {}).items():
            code = m.wave_code(wave)
            if code is None or not isinstance(wb, dict):
                continue
            pat = "B" if wb.get("sample") == "paired" else code
            keys = [k for k in wb if not k.endswith("_reason") and k != "sample"]
            b = m.block(wb, keys)
            q = f"{p}.gap.by_wave.{wave}"
            n1 = m.count(f"{q}.n_parent", wb, "n_parent", m.presence(_PER_SCHOOL_ROLE, pat), b)
            n2 = m.count(f"{q}.n_professional", wb, "n_professional", m.presence(pros, pat), b)
            m.mean(f"{q}.mean_parent", wb, "mean_parent",
                   m.sums(sid, code, _PER_SCHOOL_ROLE, pat), b, n1)
            m.mean(f"{q}.mean_professional", wb, "mean_professional",
                   m.sums(sid, code, pros, pat), b, n2)
        ch = gap.get("change")
        if isinstance(ch, dict):
            keys = [k for k in ch if not k.endswith("_reason") and k != "direction"]
            b = m.block(ch, keys)
            q = f"{p}.gap.change"
            n1 = m.count(f"{q}.n_parent", ch, "n_parent", m.presence(_PER_SCHOOL_ROLE, "B"), b)
            n2 = m.count(f"{q}.n_professional", ch, "n_professional", m.presence(pros, "B"), b)
            for key, roles, n in (("mean_change_parent", _PER_SCHOOL_ROLE, n1),
                                  ("mean_change_professional", pros, n2)):
                f = m.sums(sid, "F", roles, "B")
                la = m.sums(sid, "L", roles, "B")
                m.mean(f"{q}.{key}", ch, key, {**{k: -v for k, v in f.items()}, **la}, b, n)
    for wave, rel in (s.get("reliability") or {}).items():
        code = m.wave_code(wave)
        if code is not None and isinstance(rel, dict):
            keys = [k for k in rel if not k.endswith("_reason") and k != "omega_estimator"]
            b = m.block(rel, keys)
            m.count(f"{p}.reliability.{wave}.n", rel, "n", m.presence(None, code), b)
    mm = s.get("mixed_model")
    if isinstance(mm, dict):
        b = m.block(mm, ["n_obs", "n_respondents", "mean_cluster_size", "design_effect"])
        m.count(f"{p}.mixed_model.n_respondents", mm, "n_respondents", m.presence(None, "ANY"), b)
        m.count(f"{p}.mixed_model.n_obs", mm, "n_obs", m.presence(None, "OBS"), b)


def _record_keys(row: dict, labels: Iterable[str]) -> list[str]:
    keep = set(labels)
    return [k for k, v in row.items() if k not in keep and k != "reason"
            and not isinstance(v, str | bool)]


_FW_LABELS = ("classification", "label", "level", "role", "wave", "from_level", "to_level",
              "from_label", "to_label", "type", "type_label", "type_order", "school_id",
              "theme", "theme_label", "theme_order", "answer", "answer_label", "ci_level",
              "filled_in")


def _framework_cells(m: _Model, fw: dict) -> None:
    tables = fw.get("tables") or {}
    levels: dict[str, list] = defaultdict(list)
    for row in tables.get("transitions") or []:
        cl = row.get("classification")
        for lv in (row.get("from_level"), row.get("to_level")):
            if lv not in levels[cl]:
                levels[cl].append(lv)

    def tr(cl: str, role: str, a: Any, b: Any) -> dict:
        return m.family(("tr", cl, role), m.presence(role, "B"), (a, b))

    for i, row in enumerate(tables.get("transitions") or []):
        cl, role = row.get("classification"), row.get("role")
        if role not in m.roles:
            continue
        b = m.block(row, _record_keys(row, _FW_LABELS), record=True)
        m.count(f"frameworks.tables.transitions[{i}].n", row, "n",
                tr(cl, role, row.get("from_level"), row.get("to_level")), b, record=True)
    for i, row in enumerate(tables.get("level_distribution") or []):
        cl, role, wave = row.get("classification"), row.get("role"), row.get("wave")
        code = m.wave_code(wave)
        if role not in m.roles or code is None:
            continue
        # a level's count (and share) goes with its row; the group total is a number of its own
        b = m.block(row, _record_keys(row, (*_FW_LABELS, "n_total")), record=True)
        bt = m.block(row, ["n_total"], record=True)
        q = f"frameworks.tables.level_distribution[{i}]"
        lv = row.get("level")
        only = m.family(("lv", cl, role, code), m.presence(role, code + "O"), (lv,))
        terms = dict(only)
        for other in levels.get(cl, []):
            terms.update(tr(cl, role, lv, other) if code == "F" else tr(cl, role, other, lv))
        m.count(f"{q}.n", row, "n", terms, b, record=True)
        m.count(f"{q}.n_total", row, "n_total", m.presence(role, code), bt, record=True)
    for i, row in enumerate(tables.get("ordinal_tests") or []):
        role = row.get("role")
        if role not in m.roles:
            continue
        b = m.block(row, _record_keys(row, _FW_LABELS), record=True)
        m.count(f"frameworks.tables.ordinal_tests[{i}].n", row, "n", m.presence(role, "B"), b,
                record=True)
    for name, key in (("epstein_profile", None), ("epstein_school_profile", "school_id"),
                      ("ladder_mismatch", None)):
        for i, row in enumerate(tables.get(name) or []):
            role, code = row.get("role"), m.wave_code(row.get("wave"))
            if role not in m.roles or code is None:
                continue
            school = None
            if key is not None:
                if role != _PER_SCHOOL_ROLE:
                    continue
                school = m.school_key(str(row.get(key)))
            b = m.block(row, _record_keys(row, _FW_LABELS), record=True)
            q = f"frameworks.tables.{name}[{i}]"
            n = m.count(f"{q}.n", row, "n", m.presence(role, code, school), b, record=True)
            if "type" in row:
                m.mean(f"{q}.mean", row, "mean",
                       m.sums(f"epstein:{row['type']}", code, role, code, school), b, n,
                       record=True)
    for i, row in enumerate(tables.get("epstein_change") or []):
        role = row.get("role")
        if role not in m.roles:
            continue
        b = m.block(row, _record_keys(row, _FW_LABELS), record=True)
        q = f"frameworks.tables.epstein_change[{i}]"
        n = m.count(f"{q}.n", row, "n", m.presence(role, "B"), b, record=True)
        label = f"epstein:{row.get('type')}"
        f, la = m.sums(label, "F", role, "B"), m.sums(label, "L", role, "B")
        m.mean(f"{q}.mean_pre", row, "mean_pre", f, b, n, record=True)
        m.mean(f"{q}.mean_post", row, "mean_post", la, b, n, record=True)
    for i, row in enumerate(tables.get("praatplaat") or []):
        role, code = row.get("role"), m.wave_code(row.get("wave"))
        if role not in m.roles or code is None:
            continue
        b = m.block(row, _record_keys(row, (*_FW_LABELS, "n_total")), record=True)
        bt = m.block(row, ["n_total"], record=True)
        q = f"frameworks.tables.praatplaat[{i}]"
        m.count(f"{q}.n", row, "n",
                m.family(("pp", row.get("theme"), role, code), m.presence(role, code),
                         (row.get("filled_in"), row.get("answer"))), b, record=True)
        m.count(f"{q}.n_total", row, "n_total", m.presence(role, code), bt, record=True)


def _psychometric_cells(m: _Model, ps: dict) -> None:
    for i, row in enumerate(ps.get("items") or []):
        code = m.wave_code(row.get("wave"))
        if code is None:
            continue
        b = m.block(row, _record_keys(row, ("item", "scale", "wave")), record=True)
        m.count(f"psychometrics.items[{i}].n", row, "n", m.presence(None, code), b, record=True)
    usable: dict[str, list[str]] = defaultdict(list)
    for i, row in enumerate(ps.get("cfa") or []):
        wave, group = row.get("wave"), row.get("group")
        code = m.wave_code(wave)
        if code is None:
            continue
        reason = row.get("reason") or ""
        if group != "all" and (reason in ("", "not converged") or reason.endswith("(complementary)")):
            usable[wave].append(group)
        b = m.block(row, _record_keys(row, ("group", "wave", "rmsea_ci_level")), record=True)
        m.count(f"psychometrics.cfa[{i}].n", row, "n",
                m.presence(None if group == "all" else group, code), b, record=True)
    for i, row in enumerate(ps.get("invariance") or []):
        wave = row.get("wave")
        code = m.wave_code(wave)
        if code is None:
            continue
        b = m.block(row, _record_keys(row, ("level", "wave", "rmsea_ci_level")), record=True)
        m.count(f"psychometrics.invariance[{i}].n", row, "n",
                m.presence(usable.get(wave) or None, code), b, record=True)


def _build(results: dict) -> _Model:
    m = _Model(results)
    for wave, w in (results.get("counts") or {}).items():
        code = m.wave_code(wave)
        b = m.block(w, ["n"])
        for role in [r for r in (w.get("by_role") or {}) if not r.endswith("_reason")]:
            rb = m.block(w["by_role"], [role])
            terms = (m.presence(role, code) if code is not None
                     else {("mid", wave, role): 1.0})
            m.count(f"counts.{wave}.by_role.{role}", w["by_role"], role, terms, rb)
        total = (m.presence(None, code) if code is not None
                 else {("mid", wave, r): 1.0 for r in m.roles})
        m.count(f"counts.{wave}.n", w, "n", total, b)
    for sid, s in (results.get("scales") or {}).items():
        _scale_cells(m, sid, s)
    for key, sch in (results.get("schools") or {}).items():
        counts = sch.get("n_parents") or {}
        for wave in [w for w in counts if not w.endswith("_reason")]:
            code = m.wave_code(wave)
            if code is None:
                continue
            b = m.block(counts, [wave])
            m.count(f"schools.{key}.n_parents.{wave}", counts, wave,
                    m.presence(_PER_SCHOOL_ROLE, code, key), b)
        for sid, blk in (sch.get("scales") or {}).items():
            _paired(m, f"schools.{key}.scales.{sid}", blk, sid, _PER_SCHOOL_ROLE, key)
    if isinstance(results.get("psychometrics"), dict):
        _psychometric_cells(m, results["psychometrics"])
    if isinstance(results.get("frameworks"), dict):
        _framework_cells(m, results["frameworks"])
    m.finish()
    return m


# ---------------------------------------------------------------------------------------------
# linear algebra
# ---------------------------------------------------------------------------------------------
@dataclass
class _System:
    """``M x = b`` split into connected components (blocks of a block-diagonal matrix).

    Per component: its unknowns ``cols``, its distinct rows and a basis of its null space.
    """

    index: dict[tuple, int]
    rhs: np.ndarray
    owner: list[int | None]             # cell index of each row (None: identity)
    comp_of: np.ndarray                 # component of each unknown
    comps: list[tuple]
    # (cols, distinct rows, null basis (k x d), the rows with the same functional as each,
    #  when deriving: (pinv of the distinct rows (k x r), basis of their dependencies (r x e)),
    #  the least-squares solution of the component (k))
    mat: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def _vector(terms: dict[tuple, float], index: dict[tuple, int], size: int) -> np.ndarray:
    v = np.zeros(size)
    for var, c in terms.items():
        v[index[var]] += c
    return v


def _published_rows(m: _Model) -> list[tuple[int, dict[tuple, float], float]]:
    rows = []
    for i, c in enumerate(m.cells):
        if c.suppressed or c.value is None:
            continue
        if c.kind == "count":
            rows.append((i, c.terms, c.value))
        else:
            n = m.cells[c.n_cell]
            if n.value is not None and not n.suppressed:
                rows.append((i, c.terms, c.value * n.value))
    return rows


def _components(mat: np.ndarray, size: int) -> list[np.ndarray]:
    """Connected groups of unknowns (linked through some row); solved one at a time."""
    parent = list(range(size))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for row in mat:
        nz = np.flatnonzero(row)
        for j in nz[1:]:
            ra, rb = find(int(nz[0])), find(int(j))
            if ra != rb:
                parent[ra] = rb
    groups: dict[int, list[int]] = defaultdict(list)
    for j in range(size):
        groups[find(j)].append(j)
    return [np.array(g) for g in groups.values()]


def _system(m: _Model, cache: dict | None = None, derive: bool = False) -> _System:
    variables: dict[tuple, int] = {}
    for terms in [*m.identities, *(c.terms for c in m.cells)]:
        for var in terms:
            variables.setdefault(var, len(variables))
    pub = _published_rows(m)
    size = len(variables)
    rows = [_vector(t, variables, size) for t in m.identities]
    rows += [_vector(t, variables, size) for _, t, _ in pub]
    rhs = np.array([0.0] * len(m.identities) + [v for _, _, v in pub])
    owner: list[int | None] = [None] * len(m.identities) + [i for i, _, _ in pub]
    mat = np.array(rows) if rows else np.zeros((0, size))
    comp_of = np.zeros(size, dtype=int)
    comps = []
    for c, cols in enumerate(_components(mat, size)):
        comp_of[cols] = c
        sub = mat[:, cols]
        rsel = np.flatnonzero(np.any(sub != 0, axis=1))
        # The same number is often published several times (a group's n in several tables):
        # one row per distinct functional; ``groups`` keeps the rows behind each.
        sub, first, inverse = np.unique(sub[rsel], axis=0, return_index=True,
                                        return_inverse=True)
        inverse = np.asarray(inverse).ravel()
        groups = [rsel[inverse == k] for k in range(sub.shape[0])]
        rsel = rsel[first]
        if sub.shape[0] == 0:
            comps.append((cols, rsel, np.eye(cols.size), groups, None, np.zeros(cols.size)))
            continue
        # Duplicates may disagree slightly (tables of one run count slightly different people):
        # weighting a distinct row by sqrt(its copies) makes the least squares below those of
        # all rows; scaling rows changes neither the null space nor which rows a derivation uses.
        w = np.sqrt([float(len(g)) for g in groups])
        b = np.array([rhs[g].mean() for g in groups]) * w
        sub = sub * w[:, None]
        key = (cols.tobytes(), sub.tobytes(), b.tobytes(), derive)
        if cache is not None and key in cache:
            comps.append((cols, rsel, cache[key][0], groups, cache[key][1], cache[key][2]))
            continue
        # The null space is spanned by the rows of V^T beyond the rank (all of V^T is needed;
        # all of U only to derive: its columns beyond the rank span the row dependencies).
        u, sv, vt = np.linalg.svd(sub, full_matrices=derive or sub.shape[0] < sub.shape[1])
        rank = int(np.sum(sv > _TOL * max(1.0, sv[0]) * max(sub.shape)))
        extra = None
        if derive:
            # pinv(sub) = V_r diag(1/s_r) U_r^T gives one derivation's weights
            extra = ((vt[:rank].T / sv[:rank]) @ u[:, :rank].T, u[:, rank:])
        # the least-squares solution gives every determined functional its published value
        x_ls = vt[:rank].T @ ((u[:, :rank].T @ b) / sv[:rank]) if rank else np.zeros(cols.size)
        comps.append((cols, rsel, vt[rank:].T, groups, extra, x_ls))
        if cache is not None:
            cache[key] = (vt[rank:].T, extra, x_ls)
    return _System(variables, rhs, owner, comp_of, comps, mat=mat)


def _parts(v: np.ndarray, sysm: _System) -> list[tuple[int, np.ndarray]]:
    """``v`` cut into its pieces per component."""
    out = []
    for c in np.unique(sysm.comp_of[np.flatnonzero(v)]):
        cols = sysm.comps[c][0]
        out.append((int(c), v[cols]))
    return out


def _projection(v: np.ndarray, sysm: _System) -> np.ndarray:
    """``v``'s coordinates in the null space (zero iff determined), all components stacked."""
    return np.concatenate([piece @ sysm.comps[c][2] for c, piece in _parts(v, sysm)] or
                          [np.zeros(0)])


def _determined(v: np.ndarray, sysm: _System) -> bool:
    proj = _projection(v, sysm)
    return bool(np.all(np.abs(proj) < 1e-7 * max(1.0, float(np.abs(v).sum()))))


def _value(v: np.ndarray, sysm: _System) -> float:
    """The value the published numbers give a determined functional (least squares: under the
    complete-data model, tables of one run may disagree slightly)."""
    return float(sum(piece @ sysm.comps[c][5] for c, piece in _parts(v, sysm)))


def _is_primary(m: _Model, i: int | None, primary: str) -> bool:
    """Whether cell ``i`` was suppressed for resting on fewer than min_cell people."""
    if i is None or not m.cells[i].suppressed:
        return False
    blk = m.blocks[m.cells[i].block]
    if blk.bare:
        return True  # counts per role / per wave carry no reason: assume the worst
    key = m.cells[i].path.rsplit(".", 1)[-1]
    reason = _reason_of(blk.container, key, blk.record)
    if not reason and not blk.record:
        return True  # a null count without a reason: assume the worst
    return reason == primary or reason.startswith(f"{primary} (listwise")


def _stack_projections(vectors: list[np.ndarray], sysm: _System) -> np.ndarray:
    """Null-space coordinates of several vectors on a common axis (all components)."""
    offsets, total = {}, 0
    for c, comp in enumerate(sysm.comps):
        offsets[c] = total
        total += comp[2].shape[1]
    out = np.zeros((len(vectors), total))
    for i, v in enumerate(vectors):
        for c, piece in _parts(v, sysm):
            basis = sysm.comps[c][2]
            out[i, offsets[c]:offsets[c] + basis.shape[1]] = piece @ basis
    return out


def _leaks(m: _Model, sysm: _System, min_cell: int) -> tuple[list[Leak], list[np.ndarray], int]:
    size = len(sysm.index)
    leaks: list[Leak] = []
    vectors: list[np.ndarray] = []
    hidden_counts: list[tuple[int, np.ndarray]] = []
    primary = suppressed_reason(min_cell)
    for i, c in enumerate(m.cells):
        # Only numbers withheld for resting on fewer than min_cell people are secrets; a
        # complementary one (n >= min_cell) may be derivable as long as no secret is.
        if not c.suppressed or not _is_primary(m, i if c.kind == "count" else c.n_cell, primary):
            continue
        v = _vector(c.terms, sysm.index, size)
        if c.kind == "count":
            if _determined(v, sysm):
                leaks.append(Leak((c.path,), "count"))
                vectors.append(v)
            else:
                hidden_counts.append((i, v))
        else:
            n = _vector(m.cells[c.n_cell].terms, sysm.index, size)
            if _determined(v, sysm) and _determined(n, sysm):
                leaks.append(Leak((c.path,), "mean"))
                vectors.append(v)
    # groups: two suppressed counts that each rest on fewer than min_cell people and whose
    # sum is determined -- together they may still be a group below min_cell. (A
    # complementary cell was published with n >= min_cell, so a sum including one is safe.)
    small = hidden_counts
    pairs = len(small) * (len(small) - 1) // 2
    if len(small) > 1:
        proj = _stack_projections([v for _, v in small], sysm)
        scale = np.array([max(1.0, float(np.abs(v).sum())) for _, v in small])
        for a in range(len(small) - 1):
            both = np.abs(proj[a][None, :] + proj[a + 1:]).max(axis=1, initial=0.0)
            for off in np.flatnonzero(both < 1e-7 * (scale[a] + scale[a + 1:])):
                b = a + 1 + int(off)
                (ia, va), (ib, vb) = small[a], small[b]
                value = _value(va + vb, sysm)
                if 0.5 <= value < min_cell - 0.5:
                    leaks.append(Leak((m.cells[ia].path, m.cells[ib].path), "group",
                                      round(value, 3)))
                    vectors.append(va + vb)
    return leaks, vectors, pairs


def audit(results: dict, min_cell: int | None = None) -> AuditReport:
    """Prove that no suppressed count or mean of ``results`` follows from its published numbers.

    Parameters
    ----------
    results
        A run's results dictionary (``results.json``: Contract 4 plus the report's
        ``schools``, ``psychometrics`` and ``frameworks`` sections).
    min_cell
        The minimum cell size; default ``results["min_cell"]``.

    Returns
    -------
    AuditReport
        The numbers checked and every leak found (empty when the run is safe).

    Examples
    --------
    A total with all but one of its parts published gives the last part away:

    >>> leaky = {"waves": {"first": "pre", "last": "post"}, "min_cell": 10,
    ...          "counts": {"pre": {"n": 60, "by_role": {"parent": 51, "teacher": None}}}}
    >>> [leak.paths for leak in audit(leaky).leaks]
    [('counts.pre.by_role.teacher',)]
    """
    min_cell = check_min_cell(results.get("min_cell", 10) if min_cell is None else min_cell)
    m = _build(results)
    sysm = _system(m)
    leaks, _, pairs = _leaks(m, sysm, min_cell)
    published = _published_rows(m)
    return AuditReport(
        published_counts=sum(1 for i, _, _ in published if m.cells[i].kind == "count"),
        published_means=sum(1 for i, _, _ in published if m.cells[i].kind == "mean"),
        suppressed=sum(1 for c in m.cells if c.suppressed), groups=pairs,
        unknowns=len(sysm.index), leaks=tuple(leaks))


def require_clean_audit(results: dict, min_cell: int | None = None) -> AuditReport:
    """:func:`audit`, raising :class:`~partnerschap_eval.errors.DisclosureError` on a leak."""
    report = audit(results, min_cell)
    if report.leaks:
        shown = "; ".join(leak.describe() for leak in report.leaks[:3])
        more = f" (and {len(report.leaks) - 3} more)" if len(report.leaks) > 3 else ""
        raise DisclosureError(
            f"The disclosure audit found {len(report.leaks)} suppressed number(s) that can be "
            f"derived from the published numbers by addition or subtraction: {shown}{more}. "
            "Nothing was published. This is a bug in the disclosure step, not in your data: "
            "please report it with the project's settings (min_cell, schools, waves).",
            leaks=list(report.leaks))
    return report


def _suppress_block(m: _Model, b: int, reason: str) -> None:
    blk = m.blocks[b]
    for k in blk.keys:
        if k not in blk.container:
            continue
        blk.container[k] = None
        if not blk.record and not blk.bare:
            blk.container[f"{k}_reason"] = reason
    if blk.record:
        blk.container["reason"] = reason


def _complement(v: np.ndarray, m: _Model, sysm: _System) -> list[int]:
    """Blocks to suppress so that the leaked functional ``v`` is derived in fewer ways.

    The derivations of ``v`` are ``lambda0 + K alpha`` (weights over the distinct published
    rows; ``K`` spans the rows' linear dependencies). A row that no dependency involves
    (its row of ``K`` is zero) and that ``lambda0`` uses is in *every* derivation: suppressing
    it breaks them all. Among such rows the one with the smallest n, then the fewest tables
    publishing the same number, is suppressed (the classic secondary-suppression choice);
    when no single row is essential, the cheapest row some derivation uses, and the next round
    of :func:`protect` looks again.
    """
    best: tuple[int, float, list[int]] | None = None
    for c, piece in _parts(v, sysm):
        _, _, _, groups, extra, _ = sysm.comps[c]
        pinv, dep = extra
        lam = piece @ pinv
        used = np.abs(lam) > 1e-9
        free = (np.abs(dep).max(axis=1) < 1e-9) if dep.shape[1] else np.ones(lam.size, bool)
        ks = np.flatnonzero(used & free)
        if ks.size == 0:
            ks = np.flatnonzero(used)
        for k in ks:
            rows = groups[k]
            cells = [sysm.owner[r] for r in rows]
            if any(i is None for i in cells):
                continue  # an identity cannot be withheld
            sizes = []
            for i in cells:
                cell = m.cells[i]
                n = cell if cell.kind == "count" else m.cells[cell.n_cell]
                sizes.append(n.value if n.value is not None else math.inf)
            if min(sizes) < 1:
                continue  # a published zero protects nothing
            cand = (min(sizes), len(cells), [m.cells[i].block for i in cells])
            if best is None or cand[:2] < best[:2]:
                best = cand
    return best[2] if best is not None else []


def protect(results: dict, min_cell: int | None = None, *, max_rounds: int = 200) -> dict:
    """Add complementary suppression to ``results`` until :func:`audit` finds no leak.

    Returns a new dictionary (the argument is not changed). Primary suppression is the
    statistics' own (``null`` with ``"suppressed: n < {min_cell}"``); this step only adds
    ``null``s, each with ``"suppressed: n < {min_cell} (complementary)"``. See the module
    docstring for the model and the rule that picks the numbers to suppress.

    >>> leaky = {"waves": {"first": "pre", "last": "post"}, "min_cell": 10,
    ...          "counts": {"pre": {"n": 80, "by_role": {"parent": 51, "teacher": 20,
    ...                                                  "youthworker": None}}}}
    >>> protect(leaky)["counts"]["pre"]["by_role"]["teacher"] is None
    True
    """
    out = copy.deepcopy(results)
    min_cell = check_min_cell(out.get("min_cell", 10) if min_cell is None else min_cell)
    reason = complementary_reason(min_cell)
    cache: dict = {}
    for _ in range(max_rounds):
        m = _build(out)
        sysm = _system(m, cache, derive=True)
        leaks, vectors, _ = _leaks(m, sysm, min_cell)
        if not leaks:
            return out
        chosen: set[int] = set()
        for v in vectors:
            chosen.update(_complement(v, m, sysm))
        if not chosen:
            break
        for b in chosen:
            _suppress_block(m, b, reason)
    raise DisclosureError(
        "Complementary suppression could not protect every suppressed number of this run "
        f"(min_cell = {min_cell}). Nothing was published. Please report this with the "
        "project's settings.")
