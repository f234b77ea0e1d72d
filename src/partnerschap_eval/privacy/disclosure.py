"""Disclosure control of a run's published numbers (Contract 5): one step and its auditor.

Every number a run publishes -- ``results.json``, and through it every table, figure and
school page -- passes :func:`protect` once, and :func:`audit` proves afterwards that no
suppressed count or mean can be derived from the published ones by addition or subtraction.

The model
---------
The published counts of a run all count sets of the same people, so they are linear
functionals of a few hidden *atoms*: the number of respondents of each role (per school for
parents; professionals are never reported per school) who have a score at the first wave only,
at the last wave only, or at both (``F``, ``L``, ``B``) -- and, in a run with waves between the
first and the last, at every other set of the declared waves (``mid``, ``F+mid``, ``mid+L``,
``F+mid+L``; :func:`_wave_atoms`): a count of the people at a middle wave, or paired between
the first wave and a middle one, is a sum of those. Categorical breakdowns (reliable
change, the change histogram, framework levels and transitions, praatplaat answers) are further
unknowns tied to those atoms by their margins (the categories of a role's paired respondents sum
to that role's paired count), and means with a published ``n`` give sums of scores, themselves
linear in per-atom score totals. The auditor assumes *complete data* -- everyone present at a
wave has every score and answered every item -- so the reliability ``n``, the item statistics'
``n``, the CFA ``n`` and the counts per role all count the same people. Real data are less
complete than that, so the model holds more identities than the truth and the audit errs on
the safe side: a differencing the model allows may only be approximate in reality, never the
other way round.

Shares
------
A published share gives its count away: ``share_down = 0.05882352941`` of ``n = 34`` says that
2 people moved down. Every published share therefore joins the system as the count it gives
away -- ``count = share x n``, derived with exact decimal arithmetic from the published, rounded
value (:func:`share_count`: the count is determined when ``[(s - h) n, (s + h) n]``, ``h`` half a
unit of the last published digit, holds exactly one integer) -- and a share with a published
count gives its total (:func:`share_total`). The shares are those of the ordinal tests (up,
same, down; ``net_up x n = up - down``; the Wald interval's half width gives ``up + down``;
the exact sign test's p, a function of up and down alone, is withheld with any of them),
level distributions, praatplaat answers, ladder mismatches and the items' % at floor, ceiling
and missing. A ladder share withheld while its row's ``n`` is published is a secret count.

The tables of one run count slightly different people (34 youth workers with a level at both
waves, 35 with paired scale scores), so the value of a determined group is taken from the model
in which every framework table counts people of its own (``_Model(split=True)``) when the group
is determined there: its own table's value, not a least-squares compromise.

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
is. A suppressed count the published numbers give away as 0 is no leak (a known zero is no
group below ``min_cell``; a study of two parents, none of them paired, publishes only zeros), nor
is the mean of a group known to be empty. A suppressed mean is determined when both its score
sum and its ``n`` are. Groups are checked
too: when the sum of two, three or four counts suppressed for being small is determined, its
value (solved from the published numbers by least squares) must be 0 or at least ``min_cell``
(a total of 25 with 18 parents shown gives away 7 professionals of three roles). The check
ignores non-negativity and integrality (interval disclosure), standard deviations and test
statistics (the sign test's p of a row with a known n is not inverted); it is about sums and
differences, as Contract 5 promises.

The step
--------
:func:`protect` takes the primary suppression (every block resting on fewer than ``min_cell``
people is already ``null`` with ``"suppressed: n < {min_cell}"``) and adds complementary
suppression greedily: while the audit finds a determined suppressed number, the published number
of smallest ``n`` that its derivation uses is suppressed too -- with the whole block it belongs
to (a paired block's ``n`` also shows in its ``df``, its CI, its effect sizes), reason
``"suppressed: n < {min_cell} (complementary)"``. A share, net change or interval is withheld
on its own (``<key>_reason``), not with its row. A leak is cut in its own tables first (the
split model: short derivations); the choice is by stable keys -- smallest ``n``, then fewest
tables, then path -- and the unknowns are ordered by their text, so the same run withholds the
same numbers under every ``PYTHONHASHSEED``. Published numbers only ever become ``null``, so the
loop ends; the audit is its own proof.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from statistics import NormalDist
from typing import Any

import numpy as np

from .._blas import one_blas_thread
from .._contract import result_waves
from ..errors import DisclosureError, Msg
from . import check_min_cell, suppressed_reason

__all__ = ["AuditReport", "Leak", "audit", "protect", "require_clean_audit",
           "complementary_reason", "share_count", "share_total"]

_TOL = 1e-8
_PER_SCHOOL_ROLE = "parent"
#: The precision of a published number: ``results.json`` rounds floats to 10 significant digits
#: (``results.SIG_DIGITS``; ``results`` imports this module, not the other way round). A text
#: with more digits counts as that precise.
_SHARE_DIGITS = 10
#: Floating-point noise of the computation behind a published number (absolute): a value that
#: is 0 up to cancellation (a CI end near 0) is not taken as more precise than that.
_FLOAT_SLACK = Fraction(1, 10**12)


def _one_blas_thread(func):
    """Run ``func`` with one BLAS thread.

    The audit factors hundreds of small matrices (at most a few hundred by a thousand): too
    small to share between threads, and OpenBLAS's waiting threads then cost more than the work.
    Measured on the demo build on two busy cores: the SVDs took 15.3 s with two threads and
    1.3 s with one. The limit is lifted when ``func`` returns (mixed models keep their threads).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return func(*args, **kwargs)

    return wrapper


def complementary_reason(min_cell: int) -> str:
    """The reason of a number suppressed to protect another (complementary suppression)."""
    return f"{suppressed_reason(min_cell)} (complementary)"


# ---------------------------------------------------------------------------------------------
# shares: the counts a published share gives away (exact decimal arithmetic)
# ---------------------------------------------------------------------------------------------
def _exact(x: Any, digits: int = _SHARE_DIGITS) -> tuple[Fraction, Fraction] | None:
    """A published number as an exact decimal and half a unit of its last published digit.

    The published text is exact (``Decimal(repr(x))``); the number it stands for lies within
    half a unit of the last digit published: of its own last digit or of the ``digits``-th
    significant one, whichever is finer (``results.json`` keeps 10 significant digits), plus the
    floating-point noise of the computation (``_FLOAT_SLACK``). A 0 is an exact 0.

    >>> s, h = _exact(0.2)        # 0.2000000000: within 0.5e-10 (+ 1e-12 of noise)
    >>> s, float(h)
    (Fraction(1, 5), 5.1e-11)
    """
    v = _num(x)
    if v is None:
        return None
    d = Decimal(repr(v))
    if d == 0:
        return Fraction(0), _FLOAT_SLACK
    last = min(int(d.as_tuple().exponent), d.adjusted() - (digits - 1))
    return Fraction(d), Fraction(1, 2) * Fraction(10) ** last + _FLOAT_SLACK


def _whole(x: Any) -> int | None:
    """A published count as an int (None when not a whole number >= 0)."""
    v = _num(x)
    return int(v) if v is not None and v >= 0 and float(v).is_integer() else None


def _one_integer(lo: Fraction, hi: Fraction, parity: int | None = None) -> int | None:
    """The only integer in ``[lo, hi]`` (of the given parity), or None when there are more or
    none: a published share *determines* a count exactly when its interval holds one integer."""
    a, b = math.ceil(lo), math.floor(hi)
    if parity is not None:
        a += (a - parity) % 2
        b -= (b - parity) % 2
        return a if a == b else None
    return a if a == b else None


def share_count(share: Any, total: Any, scale: int = 1, digits: int = _SHARE_DIGITS
                ) -> int | None:
    """The count that a published share of a published total gives away, if it is determined.

    ``count = share x total / scale`` (``scale`` 100 for a percentage), derived exactly from the
    published, rounded share: every count whose share rounds to the published text lies in
    ``[(s - h) total, (s + h) total]`` (``h`` half a unit of the last published digit, see
    :func:`_exact`; ``digits`` significant digits at least); the count is determined when
    that interval holds exactly one integer.

    >>> share_count(0.05, 80), share_count(0.2, 30), share_count(0.3333333333, 30)
    (4, 6, 10)
    >>> share_count(0.06, 34, digits=1)           # a page's "6%" of 34 people: 2 of them
    2
    >>> share_count(0.33, 300, digits=2) is None  # two digits do not pin down 1 in 300
    True
    """
    ex, n = _exact(share, digits), _whole(total)
    if ex is None or n is None:
        return None
    s, h = ex
    c = _one_integer((s - h) * n / scale, (s + h) * n / scale)
    return c if c is not None and 0 <= c <= n else None


def share_total(share: Any, count: Any, scale: int = 1, digits: int = _SHARE_DIGITS
                ) -> int | None:
    """The total that a published share and its published count give away (``count / share``).

    >>> share_total(0.05, 4), share_total(0.2, 0) is None
    (80, True)
    """
    ex, c = _exact(share, digits), _whole(count)
    if ex is None or not c:
        return None
    s, h = ex
    if s - h <= 0:
        return None
    n = _one_integer(Fraction(c * scale) / (s + h), Fraction(c * scale) / (s - h))
    return n if n is not None and n >= c else None


def _net_change(row: dict, n: int) -> tuple[list[tuple[str, int]], int | None]:
    """Counts ``up - down`` and ``up + down`` that an ordinal row's net change and its Wald
    interval give away (see :func:`partnerschap_eval.results.frameworks.ordinal_change`).

    ``net_up x n = up - down``; the interval's midpoint is ``net_up`` and its half width is
    ``z sqrt((up + down) - (up - down)^2 / n) / n``, so ``up + down = (half n / z)^2 +
    (up - down)^2 / n`` -- of the parity of ``up - down``. Returns ``[(source, up - down)]``
    (from ``net_up`` and from the midpoint) and ``up + down`` (from the interval), each only when
    determined.
    """
    out: list[tuple[str, int]] = []
    net, lo, hi = (_exact(row.get(k)) for k in ("net_up", "net_up_ci_low", "net_up_ci_high"))
    level = _num(row.get("ci_level"))
    if net is not None:
        k = _one_integer((net[0] - net[1]) * n, (net[0] + net[1]) * n)
        if k is not None:
            out.append(("net_up", k))
    if lo is not None and hi is not None:
        mid, hm = (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2
        k = _one_integer((mid - hm) * n, (mid + hm) * n)
        if k is not None:
            out.append(("net_up_ci", k))
        half = ((hi[0] - lo[0]) / 2 - hm, (hi[0] - lo[0]) / 2 + hm)
    elif net is not None and (lo is not None or hi is not None):
        end = lo if lo is not None else hi
        w = abs(net[0] - end[0])
        half = (w - net[1] - end[1], w + net[1] + end[1])
    else:
        return out, None
    if not out or level is None or not 0 < level < 1:
        return out, None
    k = out[0][1]
    z = Fraction(NormalDist().inv_cdf(0.5 + level / 2))
    z_lo, z_hi = z * (1 - Fraction(1, 10**12)), z * (1 + Fraction(1, 10**12))
    h_lo, h_hi = max(half[0], Fraction(0)), max(half[1], Fraction(0))
    base = Fraction(k * k, n)
    total = _one_integer((h_lo * n / z_hi) ** 2 + base, (h_hi * n / z_lo) ** 2 + base,
                         parity=k % 2)
    return out, (total if total is not None and abs(k) <= total <= n else None)


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
    source: str | None = None       # a count given away by a published share: the share's path
    primary: bool | None = None     # a withheld share's count: a secret whatever the reason


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
    share_counts: int = 0

    @property
    def share_derived(self) -> int:
        """Counts given away by published shares (share x n, net change, its interval)."""
        return self.share_counts

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


def _wave_atoms(order: tuple) -> dict[str, frozenset[int]]:
    """The atoms of presence: every non-empty set of the declared waves (by position) a person
    may be present in, by name, in a stable order.

    The sets within the first and the last wave keep their names ``F`` (first only), ``L``
    (last only) and ``B`` (both), in that order, so that a two-wave run has the same unknowns
    (and the same choices in :func:`protect`) as before waves between them were modelled; a
    set with a middle wave is named by its members (``F+mid``, ``mid+L``, ``F+mid+L``; a wave
    whose name could be mistaken for another by its position, ``w1``).

    >>> list(_wave_atoms(("pre", "post")))
    ['F', 'L', 'B']
    >>> list(_wave_atoms(("pre", "mid", "post")))
    ['F', 'L', 'B', 'mid', 'F+mid', 'mid+L', 'F+mid+L']
    """
    k = len(order)
    middle = [str(w) for w in order[1:-1]]
    plain = all(w not in ("F", "L", "B") and "+" not in w for w in middle)
    token = ["F", *(w if plain else f"w{i + 1}" for i, w in enumerate(middle)), "L"]
    out = {"F": frozenset({0}), "L": frozenset({k - 1}), "B": frozenset({0, k - 1})}
    for size in range(1, k + 1):
        for members in itertools.combinations(range(k), size):
            if set(members) <= {0, k - 1}:
                continue
            out["+".join(token[i] for i in members)] = frozenset(members)
    return out


def _pattern(order: tuple, atoms: dict[str, frozenset[int]], pattern: str) -> dict[str, float]:
    """The atoms of a presence pattern of the people of a run with waves ``order``.

    ``F``, ``L``: present at the first, the last wave; ``B``: at both; ``FO``, ``LO``: at the
    first (last) and not at the last (first); ``ANY``: at any wave; ``ALL``: at every declared
    wave; ``FL``: at the first or the last; ``OBS``: the rows of the first and last wave (an atom weighs the number of those two
    waves it holds); ``at:<wave>``: present at ``wave``; ``with:<wave>``: at the first wave and
    at ``wave``; ``pair:<i>,<j>``: at the waves of positions i and j (a contrast between two
    later waves); ``ROWS``: the rows of every wave (an atom weighs the number of waves it
    holds). Every wave between the first and the last one may be present or not.

    >>> atoms = _wave_atoms(("pre", "mid", "post"))
    >>> _pattern(("pre", "mid", "post"), atoms, "with:mid")
    {'F+mid': 1.0, 'F+mid+L': 1.0}
    """
    first, last = 0, len(order) - 1
    kind, _, wave = pattern.partition(":")
    if kind in ("at", "with"):
        if wave not in order:
            raise KeyError(pattern)
        i = order.index(wave)
        test = ((lambda s: i in s) if kind == "at" else (lambda s: first in s and i in s))
        return {a: 1.0 for a, s in atoms.items() if test(s)}
    if kind == "pair":
        # present at both of two waves (by position): a contrast between two later waves
        i, j = (int(k) for k in wave.split(","))
        return {a: 1.0 for a, s in atoms.items() if i in s and j in s}
    if pattern == "OBS":
        return {a: float(len(s & {first, last})) for a, s in atoms.items() if s & {first, last}}
    if pattern == "ROWS":
        # the rows of every declared wave (an atom weighs the number of waves it holds)
        return {a: float(len(s)) for a, s in atoms.items()}
    test = {"F": lambda s: first in s, "L": lambda s: last in s,
            "B": lambda s: first in s and last in s,
            "FO": lambda s: first in s and last not in s,
            "LO": lambda s: last in s and first not in s,
            "ANY": lambda s: True, "FL": lambda s: bool(s & {first, last}),
            "ALL": lambda s: len(s) == len(order)}[pattern]
    return {a: 1.0 for a, s in atoms.items() if test(s)}


class _Model:
    """Builds the cells and their linear functionals from a results dictionary."""

    def __init__(self, results: dict, split: bool = False) -> None:
        self.results = results
        self.split = split
        self.cells: list[_Cell] = []
        self.blocks: list[_Block] = []
        self.identities: list[dict[tuple, float]] = []
        self._families: dict[tuple, dict[tuple, float]] = {}
        self._members: set[tuple] = set()
        # the declared waves (first .. last); a result without its order has its two waves
        waves = result_waves(results)
        self.first, self.last = waves.first, waves.last
        self.order: tuple = (waves.order if len(waves.order) > 2
                             else (self.first, self.last))
        self._atoms_of_waves = _wave_atoms(self.order)
        self._pat_cache: dict[str, dict[str, float]] = {}
        self._alias = {f"at:{self.first}": "F", f"at:{self.last}": "L"}
        self.roles = self._roles()
        params = (results.get("provenance") or {}).get("parameters") or {}
        self.schools = {k: str(v.get("name", k)) for k, v in (results.get("schools") or {}).items()}
        self.by_name = {name: key for key, name in self.schools.items()}
        self.restricted = bool(params.get("schools"))
        self.extra_schools: set[str] = set()
        # A design with conditions publishes counts per arm (school id -> condition): every
        # atom then belongs to one arm -- a parent's by the school, a professional's (never
        # per school) and the parents at schools without a page by arms of their own.
        design = results.get("design") if isinstance(results.get("design"), dict) else {}
        self.conditions = {str(k): str(v) for k, v in (design.get("conditions") or {}).items()}
        self.arms = sorted(set(self.conditions.values()))
        # schools of the data without a condition (left out of the design blocks): their
        # people are in no arm -- professionals and parents without a page get atoms of their
        # own outside the arms
        self.outside = bool(self.arms) and bool(design.get("schools_without_condition"))

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
        outside = [""] if self.outside else []
        if role != _PER_SCHOOL_ROLE:
            return [f"*{a}" for a in [*self.arms, *outside]] or ["*"]
        atoms = list(self.schools) + sorted(self.extra_schools)
        if self.restricted or not atoms:
            # parents at schools without a page
            atoms += [f"~rest{a}" for a in [*self.arms, *outside]] or ["~rest"]
        return atoms

    def arm_of(self, atom: str) -> str | None:
        """The condition of a school atom (``*arm`` and ``~restarm`` carry theirs)."""
        for prefix in ("*", "~rest"):
            if atom.startswith(prefix) and atom[len(prefix):] in self.arms:
                return atom[len(prefix):]
        return self.conditions.get(self.schools.get(atom, atom))

    def _atoms(self, role: str, school: str | None, arm: str | None) -> list[str]:
        if school is not None:
            return [school]
        atoms = self._school_atoms(role)
        return atoms if arm is None else [a for a in atoms if self.arm_of(a) == arm]

    def wave_total(self, wave: Any) -> int | None:
        """All respondents of ``wave`` as published (``counts.<wave>.n``)."""
        w = (self.results.get("counts") or {}).get(wave)
        return _whole(w.get("n")) if isinstance(w, dict) else None

    def school_key(self, name_or_key: str) -> str:
        if name_or_key in self.schools:
            return name_or_key
        if name_or_key in self.by_name:
            return self.by_name[name_or_key]
        self.extra_schools.add(name_or_key)
        return name_or_key

    def _pats(self, pattern: str) -> dict[str, float]:
        """The atoms (and their weights) of a presence ``pattern``; see :func:`_pattern`."""
        out = self._pat_cache.get(pattern)
        if out is None:
            out = self._pat_cache[pattern] = _pattern(self.order, self._atoms_of_waves, pattern)
        return out

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

    def wave_at(self, wave: Any) -> str | None:
        """The pattern "present at ``wave``": ``F``, ``L``, ``at:<wave>`` for a middle wave, or
        None for a wave that is not declared."""
        code = self.wave_code(wave)
        if code is None and wave in self.order:
            return f"at:{wave}"
        return code

    def presence(self, roles: str | Iterable[str] | None, wave: str,
                 school: str | None = None, pop: tuple = (),
                 arm: str | None = None) -> dict[tuple, float]:
        """People of ``roles`` (all when None) present in wave pattern ``wave`` (of one
        condition ``arm`` when given).

        ``pop`` names the population of a framework table (those with a level of one
        classification, those who answered a theme): the same people in the complete-data
        model, people of their own in the model that values groups (``split``)."""
        terms: dict[tuple, float] = defaultdict(float)
        extra = pop if self.split else ()
        for role in self._role_list(roles):
            for sch in self._atoms(role, school, arm):
                for pat, c in self._pats(wave).items():
                    terms[("x", role, sch, pat, *extra)] += c
        return dict(terms)

    def sums(self, label: str, wave: str, roles: str | Iterable[str] | None, pattern: str,
             school: str | None = None, arm: str | None = None) -> dict[tuple, float]:
        """Total score on ``label`` at ``wave`` (F, L or ``at:<wave>``) of ``roles`` with presence
        ``pattern`` (of one condition ``arm`` when given)."""
        terms: dict[tuple, float] = defaultdict(float)
        # the first and last wave are F and L whichever way they are named
        wave = self._alias.get(wave, wave)
        for role in self._role_list(roles):
            for sch in self._atoms(role, school, arm):
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

    def member(self, terms: dict) -> None:
        """Count ``terms``' categories into their families' margins (shown or not)."""
        self._members.update(v for v in terms if v[0] == "c")

    def derived(self, path: str, value: int, terms: dict, block: int) -> None:
        """A count that the published number at ``path`` gives away (a share times its ``n``):
        published in effect, withheld with ``block``."""
        if terms:
            self.member(terms)
            self.cells.append(_Cell(path, "count", float(value), False, terms, block,
                                    source=path))

    def share(self, path: str, container: dict, key: str, terms: dict, total: int | None,
              scale: int = 1, along: Iterable[str] = ()) -> None:
        """The published share ``container[key]`` of ``total`` people: the count it gives away
        joins the system (withheld on its own, ``<key>_reason``, and with ``along``)."""
        self.member(terms)
        if key not in container or total is None:
            return
        c = share_count(container[key], total, scale)
        if c is not None:
            self.derived(path, c, terms, self.block(container, [key, *along]))

    def withheld_share(self, path: str, container: dict, key: str, terms: dict,
                       block: int) -> None:
        """A share withheld with a published ``n``: its count is a secret (the table does not
        say whether it was small itself or withheld to protect one: assume the worst)."""
        self.member(terms)
        self.cells.append(_Cell(path, "count", None, True, terms, block, primary=True))

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
            extra_keys: Iterable[str] = (), wave: str | None = None,
            arm: str | None = None, base: str | None = None) -> None:
    """A paired block: the people present at the first wave (or ``base``) and the last one
    (or ``wave``), of one condition ``arm`` when given."""
    if not isinstance(block, dict):
        return
    pat, later = ("B", "L") if wave is None else (f"with:{wave}", f"at:{wave}")
    earlier = "F"
    if base is not None and base != m.first:
        pat = f"pair:{m.order.index(base)},{m.order.index(wave)}"
        earlier = f"at:{base}"
    keys = [k for k in block if not k.endswith("_reason")] + list(extra_keys)
    b = m.block(block, keys)
    n = m.count(f"{path}.n", block, "n", m.presence(roles, pat, school, arm=arm), b)
    f = m.sums(label, earlier, roles, pat, school, arm=arm)
    la = m.sums(label, later, roles, pat, school, arm=arm)
    diff = {**{k: -v for k, v in f.items()}, **la}
    m.mean(f"{path}.mean_pre", block, "mean_pre", f, b, n)
    m.mean(f"{path}.mean_post", block, "mean_post", la, b, n)
    m.mean(f"{path}.mean_diff", block, "mean_diff", diff, b, n)


def _sensitivity(m: _Model, path: str, sens: object, role: str | None) -> None:
    # The sensitivity block publishes the paired n of all respondents or of one role.
    if isinstance(sens, dict):
        b = m.block(sens, ["n", "min_d_z"])
        m.count(f"{path}.sensitivity.n", sens, "n", m.presence(role, "B"), b)


def _scale_cells(m: _Model, sid: str, s: dict) -> None:
    p = f"scales.{sid}"
    _paired(m, f"{p}.paired", s.get("paired"), sid, None)
    _sensitivity(m, p, s.get("sensitivity"), None)
    for role, rb in (s.get("by_role") or {}).items():
        q = f"{p}.by_role.{role}"
        _paired(m, f"{q}.paired", rb.get("paired"), sid, role)
        _sensitivity(m, q, rb.get("sensitivity"), role)
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
    _design_cells(m, p, sid, s)
    _wave_cells(m, p, sid, s)
    _overtime_cells(m, p, s)
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
        # the model is fitted on the rows of the first and last wave
        m.count(f"{p}.mixed_model.n_respondents", mm, "n_respondents", m.presence(None, "FL"), b)
        m.count(f"{p}.mixed_model.n_obs", mm, "n_obs", m.presence(None, "OBS"), b)


def _wave_cells(m: _Model, p: str, sid: str, s: dict) -> None:
    """A run with more than two waves: the respondents (and their mean) of every declared
    wave, and the paired blocks of every later wave against the first (all roles, per role)."""
    for wave, wb in (s.get("waves") or {}).items():
        at = m.wave_at(wave)
        if at is None or not isinstance(wb, dict):
            continue
        b = m.block(wb, [k for k in wb if not k.endswith("_reason")])
        n = m.count(f"{p}.waves.{wave}.n", wb, "n", m.presence(None, at), b)
        m.mean(f"{p}.waves.{wave}.mean", wb, "mean", m.sums(sid, at, None, at), b, n)
    # every later wave against the first, and against any earlier wave (consecutive ones)
    later = {f"{w}-{b}": (w, b) for i, w in enumerate(m.order) for b in reversed(m.order[:i])}
    for name, cb in (s.get("contrasts") or {}).items():
        if name not in later or not isinstance(cb, dict):
            continue
        q = f"{p}.contrasts.{name}"
        wave, base = later[name]
        _paired(m, f"{q}.paired", cb.get("paired"), sid, None, wave=wave, base=base)
        for role, rb in (cb.get("by_role") or {}).items():
            if isinstance(rb, dict):
                _paired(m, f"{q}.by_role.{role}.paired", rb.get("paired"), sid, role,
                        wave=wave, base=base)
        mb = cb.get("mixed")
        if isinstance(mb, dict):
            # the wave model is fitted on every row of every declared wave
            b = m.block(mb, ["n_obs", "n_respondents"])
            m.count(f"{q}.mixed.n_respondents", mb, "n_respondents", m.presence(None, "ANY"), b)
            m.count(f"{q}.mixed.n_obs", mb, "n_obs", m.presence(None, "ROWS"), b)


def _overtime_cells(m: _Model, p: str, s: dict) -> None:
    """Measurement invariance over the waves (its ``n``: the people with every item at every
    declared wave -- in the complete-data model, those present at every wave; chi2 and RMSEA
    give the n away, so each step is one block) and the imputation (its ``n``: the people with
    a score at any declared wave; its df gives n away). Both count people of their own in the
    split model (the listwise CFA sample is smaller than the paired one: 448 against 604 in the
    demo), so that a group's value is not a least-squares compromise between them."""
    for i, rec in enumerate(s.get("longitudinal_invariance") or []):
        if isinstance(rec, dict):
            b = m.block(rec, [k for k in _record_keys(rec, ("step",)) if not k.endswith("_reason")])
            m.count(f"{p}.longitudinal_invariance[{i}].n", rec, "n",
                    m.presence(None, "ALL", pop=("longitudinal", p)), b)
    for name, cb in (s.get("imputation") or {}).items():
        if isinstance(cb, dict):
            b = m.block(cb, [k for k in cb if not k.endswith("_reason") and k != "method"])
            m.count(f"{p}.imputation.{name}.n", cb, "n",
                    m.presence(None, "ANY", pop=("imputation", p)), b)


def _design_cells(m: _Model, p: str, sid: str, s: dict) -> None:
    """A design's counts per arm: the paired block of each condition (present at both waves),
    baseline equivalence (analytic sample: present at both waves) and attrition per condition
    (baseline: first wave; analytic; dropouts; the rate gives the dropouts away)."""
    for arm, cb in (s.get("conditions") or {}).items():
        if arm in m.arms and isinstance(cb, dict):
            _paired(m, f"{p}.conditions.{arm}.paired", cb.get("paired"), sid, None, arm=arm)
    be = s.get("baseline_equivalence")
    if isinstance(be, dict) and m.arms:
        keys = [k for k in be if not k.endswith("_reason")
                and k not in ("treatment", "reference", "sample", "method")]
        b = m.block(be, keys)
        for side in ("treatment", "reference"):
            arm = be.get(side)
            if arm not in m.arms:
                continue
            n = m.count(f"{p}.baseline_equivalence.n_{side}", be, f"n_{side}",
                        m.presence(None, "B", arm=arm), b)
            m.mean(f"{p}.baseline_equivalence.mean_{side}", be, f"mean_{side}",
                   m.sums(sid, "F", None, "B", arm=arm), b, n)
    att = s.get("attrition_by_condition")
    rows = att.get("by_condition") if isinstance(att, dict) else None
    if not isinstance(rows, dict) or not m.arms:
        return
    for arm, row in rows.items():
        if arm not in m.arms or not isinstance(row, dict):
            continue
        q = f"{p}.attrition_by_condition.by_condition.{arm}"
        b = m.block(row, [k for k in row if not k.endswith("_reason")])
        base = m.count(f"{q}.baseline", row, "baseline", m.presence(None, "F", arm=arm), b)
        m.count(f"{q}.analytic", row, "analytic", m.presence(None, "B", arm=arm), b)
        m.count(f"{q}.dropouts", row, "dropouts", m.presence(None, "FO", arm=arm), b)
        m.share(f"{q}.attrition", row, "attrition", m.presence(None, "FO", arm=arm),
                _published_count(m, base))


def _record_keys(row: dict, labels: Iterable[str]) -> list[str]:
    keep = set(labels)
    return [k for k, v in row.items() if k not in keep and k != "reason"
            and not isinstance(v, str | bool)]


_FW_LABELS = ("classification", "label", "level", "role", "wave", "from_level", "to_level",
              "from_label", "to_label", "type", "type_label", "type_order", "school_id",
              "theme", "theme_label", "theme_order", "answer", "answer_label", "ci_level",
              "filled_in")


def _published_count(m: _Model, i: int | None) -> int | None:
    """The value of cell ``i`` when it is a published whole count."""
    if i is None or m.cells[i].suppressed:
        return None
    return _whole(m.cells[i].value)


def _framework_cells(m: _Model, fw: dict) -> None:
    tables = fw.get("tables") or {}
    levels: dict[str, list] = defaultdict(list)
    for row in tables.get("transitions") or []:
        cl = row.get("classification")
        for lv in (row.get("from_level"), row.get("to_level")):
            if lv not in levels[cl]:
                levels[cl].append(lv)

    def tr(cl: str, role: str, a: Any, b: Any) -> dict:
        return m.family(("tr", cl, role), m.presence(role, "B", pop=("cl", cl)), (a, b))

    def moves(cl: str, role: str) -> dict[str, dict]:
        """Who moved up, stayed, moved down: sums of transition cells (levels in code order,
        as :func:`~partnerschap_eval.results.frameworks.ordinal_change` counts them)."""
        out: dict[str, dict] = {"up": {}, "same": {}, "down": {}}
        lv = levels.get(cl) or []
        if lv and all(isinstance(x, int | float) and not isinstance(x, bool) for x in lv):
            for a in lv:
                for b in lv:
                    cat = "up" if b > a else "down" if b < a else "same"
                    out[cat].update(tr(cl, role, a, b))
        else:  # no transition table: the three categories are unknowns of their own
            for cat in out:
                out[cat] = m.family(("ord", cl, role), m.presence(role, "B", pop=("cl", cl)),
                                   (cat,))
        return out

    for i, row in enumerate(tables.get("transitions") or []):
        cl, role = row.get("classification"), row.get("role")
        if role not in m.roles:
            continue
        b = m.block(row, _record_keys(row, _FW_LABELS), record=True)
        m.count(f"frameworks.tables.transitions[{i}].n", row, "n",
                tr(cl, role, row.get("from_level"), row.get("to_level")), b, record=True)
    for name in ("level_distribution", "praatplaat"):
        for i, row in enumerate(tables.get(name) or []):
            role, code = row.get("role"), m.wave_code(row.get("wave"))
            if role not in m.roles or code is None:
                continue
            q = f"frameworks.tables.{name}[{i}]"
            # a category's count (and share) goes with its row; the group total is a number of
            # its own
            b = m.block(row, _record_keys(row, (*_FW_LABELS, "n_total")), record=True)
            bt = m.block(row, ["n_total"], record=True)
            if name == "level_distribution":
                cl, lv = row.get("classification"), row.get("level")
                pop: tuple = ("cl", cl)
                terms = dict(m.family(("lv", cl, role, code),
                                      m.presence(role, code + "O", pop=pop), (lv,)))
                for other in levels.get(cl, []):
                    terms.update(tr(cl, role, lv, other) if code == "F" else
                                 tr(cl, role, other, lv))
            else:
                pop = ("pp", row.get("theme"))
                terms = m.family(("pp", row.get("theme"), role, code),
                                 m.presence(role, code, pop=pop),
                                 (row.get("filled_in"), row.get("answer")))
            n = m.count(f"{q}.n", row, "n", terms, b, record=True)
            nt = m.count(f"{q}.n_total", row, "n_total", m.presence(role, code, pop=pop), bt,
                         record=True)
            # share = n / n_total: with n_total it gives n away, with n it gives n_total away
            total = _published_count(m, nt)
            if total is not None:
                m.share(f"{q}.share", row, "share", terms, total)
            elif "share" in row:
                tot = share_total(row.get("share"), _published_count(m, n))
                if tot is not None:
                    m.derived(f"{q}.share", tot, m.presence(role, code, pop=pop),
                              m.block(row, ["share"]))
    ci = ["net_up_ci_low", "net_up_ci_high"]
    for i, row in enumerate(tables.get("ordinal_tests") or []):
        role = row.get("role")
        if role not in m.roles:
            continue
        b = m.block(row, _record_keys(row, _FW_LABELS), record=True)
        q = f"frameworks.tables.ordinal_tests[{i}]"
        cl = row.get("classification")
        n = _published_count(m, m.count(f"{q}.n", row, "n",
                                        m.presence(role, "B", pop=("cl", cl)), b, record=True))
        if n is None or n == 0:
            continue
        mv = moves(cl, role)
        # The exact sign test's p is a function of up and down alone: with up + down (from
        # the same share, say) it gives min(up, down) away. The audit does not invert test
        # statistics, so the p goes with whichever of these numbers is withheld.
        sign = [k for k in ("sign_test_p",) if k in row]
        for key, cat in (("share_up", "up"), ("share_same", "same"), ("share_down", "down")):
            m.share(f"{q}.{key}", row, key, mv[cat], n, along=sign)
        diff = {**mv["up"], **{k: -v for k, v in mv["down"].items()}}
        diffs, both = _net_change(row, n)
        for src, k in diffs:
            keys = ["net_up"] if src == "net_up" else ci
            m.derived(f"{q}.{src}", k, diff, m.block(row, [*keys, *sign]))
        if both is not None:
            m.derived(f"{q}.net_up_ci", both, {**mv["up"], **mv["down"]},
                      m.block(row, [*ci, *sign]))
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
            pop = ("lm",) if name == "ladder_mismatch" else ("ep", row.get("type"))
            n = m.count(f"{q}.n", row, "n", m.presence(role, code, school, pop), b,
                        record=True)
            if "type" in row:
                m.mean(f"{q}.mean", row, "mean",
                       m.sums(f"epstein:{row['type']}", code, role, code, school), b, n,
                       record=True)
            total = _published_count(m, n)
            if name != "ladder_mismatch" or total is None:
                continue
            for sk in ("share_less", "share_as_expected", "share_more"):
                terms = m.family(("lm", row.get("wave"), role), m.presence(role, code, pop=pop),
                                 (sk,))
                if row.get(sk) is None:
                    m.withheld_share(f"{q}.{sk}", row, sk, terms, b)
                else:
                    m.share(f"{q}.{sk}", row, sk, terms, total)
    for i, row in enumerate(tables.get("epstein_change") or []):
        role = row.get("role")
        if role not in m.roles:
            continue
        b = m.block(row, _record_keys(row, _FW_LABELS), record=True)
        q = f"frameworks.tables.epstein_change[{i}]"
        n = m.count(f"{q}.n", row, "n", m.presence(role, "B", pop=("ep", row.get("type"))), b,
                    record=True)
        label = f"epstein:{row.get('type')}"
        f, la = m.sums(label, "F", role, "B"), m.sums(label, "L", role, "B")
        m.mean(f"{q}.mean_pre", row, "mean_pre", f, b, n, record=True)
        m.mean(f"{q}.mean_post", row, "mean_post", la, b, n, record=True)


def _psychometric_cells(m: _Model, ps: dict) -> None:
    for i, row in enumerate(ps.get("items") or []):
        code = m.wave_code(row.get("wave"))
        if code is None:
            continue
        b = m.block(row, _record_keys(row, ("item", "scale", "wave")), record=True)
        q = f"psychometrics.items[{i}]"
        n = _published_count(m, m.count(f"{q}.n", row, "n", m.presence(None, code), b,
                                        record=True))
        # % at the floor and ceiling are of the item's n; % missing of all rows of the wave.
        # Those counts are unknowns of their own (nothing else counts them), checked all the same.
        what = (row.get("scale"), row.get("item"), code)
        for key, total in (("pct_floor", n), ("pct_ceiling", n),
                           ("pct_missing", m.wave_total(row.get("wave")))):
            m.share(f"{q}.{key}", row, key, {("i", key, *what): 1.0}, total, scale=100)
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


def _build(results: dict, split: bool = False) -> _Model:
    m = _Model(results, split)
    for wave, w in (results.get("counts") or {}).items():
        code = m.wave_at(wave)
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
            code = m.wave_at(wave)
            if code is None:
                continue
            b = m.block(counts, [wave])
            m.count(f"schools.{key}.n_parents.{wave}", counts, wave,
                    m.presence(_PER_SCHOOL_ROLE, code, key), b)
        for sid, blk in (sch.get("scales") or {}).items():
            _paired(m, f"schools.{key}.scales.{sid}", blk, sid, _PER_SCHOOL_ROLE, key)
        # a run with more than two waves: each later wave against the first, per scale
        later = {f"{w}-{m.first}": w for w in m.order[1:]}
        for name, blocks in (sch.get("contrasts") or {}).items():
            if name not in later or not isinstance(blocks, dict):
                continue
            for sid, blk in blocks.items():
                _paired(m, f"schools.{key}.contrasts.{name}.{sid}", blk, sid,
                        _PER_SCHOOL_ROLE, key, wave=later[name])
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
    derive: bool = False                # whether comps hold the derivations (pinv, dependencies)


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


def _components(mat: np.ndarray | None, size: int,
                support: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Connected groups of unknowns (linked through some row); solved one at a time.

    ``support``: each row's nonzero columns (then ``mat`` is not read), else read from ``mat``.

    >>> [g.tolist() for g in _components(None, 4, [np.array([0, 2]), np.array([3])])]
    [[0, 2], [1], [3]]
    """
    parent = list(range(size))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for nz in (support if support is not None else (np.flatnonzero(row) for row in mat)):
        for j in nz[1:]:
            ra, rb = find(int(nz[0])), find(int(j))
            if ra != rb:
                parent[ra] = rb
    groups: dict[int, list[int]] = defaultdict(list)
    for j in range(size):
        groups[find(j)].append(j)
    return [np.array(g) for g in groups.values()]


def _unique_rows(sub: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(sub, axis=0, return_index=True, return_inverse=True)``: the distinct rows in
    lexicographic order, the first row of each and each row's distinct row; by a stable
    ``lexsort`` of the columns (``np.unique`` sorts rows as records, field by field: the same
    order, many times slower for rows of a thousand unknowns).

    >>> rows, first, inverse = _unique_rows(np.array([[1.0, 2.0], [0.0, 5.0], [1.0, 2.0]]))
    >>> rows.tolist(), first.tolist(), inverse.tolist()
    ([[0.0, 5.0], [1.0, 2.0]], [1, 0], [1, 0, 1])
    """
    if sub.shape[0] == 0 or sub.shape[1] == 0:
        rows, first, inverse = np.unique(sub, axis=0, return_index=True, return_inverse=True)
        return rows, first, np.asarray(inverse).ravel()
    perm = np.lexsort(sub.T[::-1])  # stable; the first column is the primary key
    ordered = sub[perm]
    new = np.ones(len(perm), dtype=bool)
    new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    inverse = np.empty(len(perm), dtype=np.intp)
    inverse[perm] = np.cumsum(new) - 1
    return ordered[new], perm[new], inverse


def _system(m: _Model, cache: dict | None = None, derive: bool = False) -> _System:
    # Unknowns in a stable order (by their text), never in the order of a set of tuples of
    # strings (which changes with PYTHONHASHSEED): the same run must give the same null space,
    # the same derivations and so the same complementary suppression.
    found = {var for terms in [*m.identities, *(c.terms for c in m.cells)] for var in terms}
    variables = {var: j for j, var in enumerate(sorted(found, key=repr))}
    pub = _published_rows(m)
    size = len(variables)
    # each row (as _vector makes it: its terms summed per unknown, in order) kept sparse, as its
    # nonzero columns and their values; a component's matrix is made from its rows alone (the
    # demo's system has thousands of rows and unknowns: one dense matrix of all of them cost
    # most of the disclosure step's time)
    sparse = []
    for t in [*m.identities, *(t for _, t, _ in pub)]:
        acc: dict[int, float] = {}
        for var, c in t.items():
            j = variables[var]
            acc[j] = acc.get(j, 0.0) + c
        nz = sorted(j for j, v in acc.items() if v != 0)
        sparse.append((np.array(nz, dtype=int), [acc[j] for j in nz]))
    support = [nz for nz, _ in sparse]
    rhs = np.array([0.0] * len(m.identities) + [v for _, _, v in pub])
    owner: list[int | None] = [None] * len(m.identities) + [i for i, _, _ in pub]
    comp_of = np.zeros(size, dtype=int)
    comps = []
    parts = _components(None, size, support)
    for c, cols in enumerate(parts):
        comp_of[cols] = c
    # every nonzero of a row lies in one component: the rows of a component, in order
    row_comp = np.array([comp_of[nz[0]] if nz.size else -1 for nz in support], dtype=int)
    order = np.argsort(row_comp, kind="stable")
    bounds = np.searchsorted(row_comp[order], np.arange(len(parts) + 1))
    local = np.zeros(size, dtype=int)
    for c, cols in enumerate(parts):
        rsel = order[bounds[c]:bounds[c + 1]]
        local[cols] = np.arange(cols.size)
        sub = np.zeros((rsel.size, cols.size))
        for i, r in enumerate(rsel):
            nz, values = sparse[r]
            sub[i, local[nz]] = values
        # The same number is often published several times (a group's n in several tables):
        # one row per distinct functional; ``groups`` keeps the rows behind each.
        sub, first, inverse = _unique_rows(sub)
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
        # Everything cached is in the component's own coordinates, so the key is the matrix
        # and right-hand side alone: a component a round did not touch hits the cache even when
        # unknowns elsewhere came or went (and its column numbers moved).
        key = (sub.shape, sub.tobytes(), b.tobytes(), derive)
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
    return _System(variables, rhs, owner, comp_of, comps, derive=derive)


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
    if m.cells[i].primary is not None:
        return m.cells[i].primary
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


def _terms_vector(m: _Model, sysm: _System, cells: Iterable[int]) -> np.ndarray | None:
    """The sum of ``cells``' functionals in ``sysm`` (None when it has unknowns ``sysm`` lacks)."""
    terms: dict[tuple, float] = defaultdict(float)
    for i in cells:
        for var, c in m.cells[i].terms.items():
            terms[var] += c
    if not all(var in sysm.index for var in terms):
        return None
    return _vector(terms, sysm.index, len(sysm.index))


def _leaks(m: _Model, sysm: _System, min_cell: int, split: Any = None
           ) -> tuple[list[Leak], list[tuple[np.ndarray, tuple[int, ...]]], int]:
    """The secrets the published numbers determine (and their functionals, for :func:`protect`).

    ``split`` (called at most once) gives the model and system in which every framework
    table counts people of its own (:meth:`_Model.presence`): a determined group is valued
    there when it is determined there too. The tables of one run count slightly different
    people (34 with a level at both waves, 35 paired scale scores): a least-squares value over
    all of them can drift far from what the group's own table gives away (``2 moved down`` valued
    as 1.4, or a group of 15 as 6.5), its own table's value cannot.
    """
    size = len(sysm.index)
    local: list = []

    def group_value(cells: tuple[int, ...], v: np.ndarray) -> float:
        if split is not None:
            if not local:
                local.append(split())
            m2, sys2 = local[0]
            v2 = _terms_vector(m2, sys2, cells)
            if v2 is not None and _determined(v2, sys2):
                return _value(v2, sys2)
        return _value(v, sysm)

    def zero(cells: tuple[int, ...], v: np.ndarray) -> bool:
        """Whether a determined count is 0 in every model that determines it: a known zero is
        no group below min_cell (the rule for groups below), and a run whose published numbers
        are all zeros (a study of two parents, none paired) must still be publishable."""
        if abs(_value(v, sysm)) >= 0.5:
            return False
        return abs(group_value(cells, v)) < 0.5

    leaks: list[Leak] = []
    vectors: list[tuple[np.ndarray, tuple[int, ...]]] = []
    hidden_counts: list[tuple[int, np.ndarray]] = []
    primary = suppressed_reason(min_cell)
    for i, c in enumerate(m.cells):
        # Only numbers withheld for resting on fewer than min_cell people are secrets; a
        # complementary one (n >= min_cell) may be derivable as long as no secret is.
        if not c.suppressed or not _is_primary(m, i if c.kind == "count" else c.n_cell, primary):
            continue
        v = _vector(c.terms, sysm.index, size)
        if c.kind == "count":
            if not _determined(v, sysm):
                hidden_counts.append((i, v))
            elif not zero((i,), v):
                leaks.append(Leak((c.path,), "count"))
                vectors.append((v, (i,)))
        else:
            n = _vector(m.cells[c.n_cell].terms, sysm.index, size)
            # a mean of a group known to be empty gives nothing away
            if (_determined(v, sysm) and _determined(n, sysm)
                    and not zero((c.n_cell,), n)):
                leaks.append(Leak((c.path,), "mean"))
                vectors.append((v, (i,)))
    # groups: two suppressed counts that each rest on fewer than min_cell people and whose
    # sum is determined -- together they may still be a group below min_cell. (A
    # complementary cell was published with n >= min_cell, so a sum including one is safe.)
    small = hidden_counts
    pairs = len(small) * (len(small) - 1) // 2
    if len(small) > 1:
        proj = _stack_projections([v for _, v in small], sysm)
        scale = np.array([max(1.0, float(np.abs(v).sum())) for _, v in small])
        for a in range(len(small) - 1):
            tol = 1e-7 * (scale[a] + scale[a + 1:])
            if proj.shape[1]:
                # a pair's sum is determined only if it is at a's largest coordinate: the full
                # check below runs on those candidates alone (the same test, fewer rows)
                j = int(np.argmax(np.abs(proj[a])))
                cand = np.flatnonzero(np.abs(proj[a + 1:, j] + proj[a, j]) < tol)
            else:
                cand = np.arange(len(small) - 1 - a)
            both = np.abs(proj[a][None, :] + proj[a + 1 + cand]).max(axis=1, initial=0.0)
            for off in cand[both < tol[cand]]:
                b = a + 1 + int(off)
                (ia, va), (ib, vb) = small[a], small[b]
                value = group_value((ia, ib), va + vb)
                if 0.5 <= value < min_cell - 0.5:
                    leaks.append(Leak((m.cells[ia].path, m.cells[ib].path), "group",
                                      round(value, 3)))
                    vectors.append((va + vb, (ia, ib)))
        # three and four of them: a total minus its published parts is the sum of all the
        # withheld ones (25 people, 18 parents shown: 7 professionals of three roles)
        for members in _larger_groups(proj, scale):
            cells = tuple(small[k][0] for k in members)
            v = sum((small[k][1] for k in members), np.zeros(size))
            value = group_value(cells, v)
            if 0.5 <= value < min_cell - 0.5:
                leaks.append(Leak(tuple(m.cells[i].path for i in cells), "group",
                                  round(value, 3)))
                vectors.append((v, cells))
    return leaks, vectors, pairs


def _grid_join(a: np.ndarray, b: np.ndarray, w: float) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(i, j)`` with ``|a[i] + b[j]| < w`` in both of two coordinates (and some more).

    ``b`` is binned on a square grid of width ``w``; ``-a[i]`` is looked up in its own bin and
    the eight around it (a match lies there), by sorted keys, so the cost is the number of
    candidates, not ``len(a) * len(b)``.

    >>> i, j = _grid_join(np.array([[0.5, 0.5], [3.0, 0.0]]), np.array([[-0.5, -0.5]]), 0.1)
    >>> i.tolist(), j.tolist()
    ([0], [0])
    """
    cb = np.floor(b / w).astype(np.int64)
    ca = np.floor(-a / w).astype(np.int64)
    low = np.minimum(cb.min(axis=0, initial=0), ca.min(axis=0, initial=0)) - 1
    span = int(max(cb[:, 1].max(initial=0), ca[:, 1].max(initial=0)) - low[1]) + 3
    order = np.argsort((cb[:, 0] - low[0]) * span + (cb[:, 1] - low[1]), kind="stable")
    keys = ((cb[:, 0] - low[0]) * span + (cb[:, 1] - low[1]))[order]
    out_i, out_j = [], []
    for d0 in (-1, 0, 1):
        for d1 in (-1, 0, 1):
            k = (ca[:, 0] + d0 - low[0]) * span + (ca[:, 1] + d1 - low[1])
            lo = np.searchsorted(keys, k, side="left")
            counts = np.searchsorted(keys, k, side="right") - lo
            start = np.repeat(lo - np.cumsum(counts) + counts, counts)
            out_i.append(np.repeat(np.arange(len(a)), counts))
            out_j.append(order[start + np.arange(counts.sum())])
    return np.concatenate(out_i), np.concatenate(out_j)


def _larger_groups(proj: np.ndarray, scale: np.ndarray) -> list[tuple[int, ...]]:
    """The sets of three and of four rows of ``proj`` (null-space coordinates of suppressed
    counts, none determined on its own) that sum to zero -- whose sum is determined -- and that
    are not two determined pairs (those are checked as pairs; their sum is theirs).

    A zero sum of three (four) is found as a pair's sum against a single row (another pair's
    sum) in a fixed random projection onto four coordinates (joined on a grid of the first two
    by :func:`_grid_join`, so ``O(n^2 log n)``), and then confirmed on all coordinates with the tolerance of the pairs' check. Larger groups are
    not searched.

    >>> proj = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [5.0, 3.0]])
    >>> _larger_groups(proj, np.ones(4))
    [(0, 1, 2)]
    """
    n = proj.shape[0]
    if n < 3 or proj.shape[1] == 0:
        return []
    g = np.random.default_rng(20140).standard_normal((proj.shape[1], 4))
    g /= np.linalg.norm(g, axis=0)
    r = proj @ g
    # A determined sum is zero up to the rounding of the null-space basis (~1e-12 per unit of
    # its scale); the pairs' check allows 1e-7 per coordinate. In a unit direction the search
    # allows ten times that, and confirms on all coordinates.
    width = 1e-6

    def zero(members: tuple[int, ...]) -> bool:
        total = proj[list(members)].sum(axis=0)
        return bool(np.abs(total).max(initial=0.0) < 1e-7 * float(scale[list(members)].sum()))

    ia, ib = np.triu_indices(n, 1)
    sums = r[ia] + r[ib]
    tol = width * (scale[ia] + scale[ib] + scale.max() * 2)
    determined_pair = np.abs(sums).max(axis=1) < tol
    found: set[tuple[int, ...]] = set()

    def matches(rows: np.ndarray, values: np.ndarray, cands: np.ndarray, tol_other: np.ndarray,
                w: float) -> tuple[np.ndarray, np.ndarray]:
        """(pair, other) with ``sums[pair] + values[other]`` zero in all four coordinates, for
        the pairs ``rows`` and the candidates ``cands`` (rows of ``values``)."""
        a, b = _grid_join(sums[rows, :2], values[cands, :2], w)
        rep, other = rows[a], cands[b]
        ok = np.abs(sums[rep] + values[other]).max(axis=1, initial=0.0) < tol[rep] + tol_other[
            other]
        return rep[ok], other[ok]

    rows = np.flatnonzero(~determined_pair)
    rep, other = matches(rows, r, np.arange(n), np.zeros(n), float(tol.max(initial=0.0)))
    for p, c in zip(rep.tolist(), other.tolist(), strict=True):
        members = tuple(sorted({int(ia[p]), int(ib[p]), int(c)}))
        if len(members) == 3 and members not in found and zero(members):
            found.add(members)
    pairs_known = {(int(ia[p]), int(ib[p])) for p in np.flatnonzero(determined_pair)
                   if zero((int(ia[p]), int(ib[p])))}
    rep, other = matches(rows, sums, rows, tol, 2 * float(tol.max(initial=0.0)))
    a, b, c, d = ia[rep], ib[rep], ia[other], ib[other]
    distinct = (rep < other) & (a != c) & (a != d) & (b != c) & (b != d)
    for p, q in zip(rep[distinct].tolist(), other[distinct].tolist(), strict=True):
        members = tuple(sorted({int(ia[p]), int(ib[p]), int(ia[q]), int(ib[q])}))
        if members in found:
            continue
        if any(set(t) <= set(members) for t in found if len(t) == 3):
            continue  # a triple and a fourth alone: the fourth would be determined
        w, x, y, z = members
        if any(u in pairs_known and v in pairs_known
               for u, v in (((w, x), (y, z)), ((w, y), (x, z)), ((w, z), (x, y)))):
            continue  # two determined pairs: each checked as a pair
        if zero(members):
            found.add(members)
    return sorted(found, key=lambda t: (len(t), t))


@_one_blas_thread
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

    >>> leaky = {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
    ...          "min_cell": 10,
    ...          "counts": {"pre": {"n": 60, "by_role": {"parent": 51, "teacher": None}}}}
    >>> [leak.paths for leak in audit(leaky).leaks]
    [('counts.pre.by_role.teacher',)]
    """
    min_cell = check_min_cell(results.get("min_cell", 10) if min_cell is None else min_cell)
    m = _build(results)
    sysm = _system(m)

    def split() -> tuple[_Model, _System]:
        m2 = _build(results, split=True)
        return m2, _system(m2)

    leaks, _, pairs = _leaks(m, sysm, min_cell, split)
    published = _published_rows(m)
    kinds = [("share" if m.cells[i].source else m.cells[i].kind) for i, _, _ in published]
    return AuditReport(
        published_counts=kinds.count("count"), published_means=kinds.count("mean"),
        suppressed=sum(1 for c in m.cells if c.suppressed), groups=pairs,
        unknowns=len(sysm.index), leaks=tuple(leaks), share_counts=kinds.count("share"))


def require_clean_audit(results: dict, min_cell: int | None = None) -> AuditReport:
    """:func:`audit`, raising :class:`~partnerschap_eval.errors.DisclosureError` on a leak."""
    report = audit(results, min_cell)
    if report.leaks:
        shown = "; ".join(leak.describe() for leak in report.leaks[:3])
        more = (Msg("errors.disclosure.more", n=len(report.leaks) - 3)
                if len(report.leaks) > 3 else "")
        raise DisclosureError(Msg("errors.disclosure.leak", n=len(report.leaks), shown=shown,
                                  more=more), leaks=list(report.leaks))
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
    def candidates(essential: bool):
        for c, piece in _parts(v, sysm):
            _, _, _, groups, extra, _ = sysm.comps[c]
            pinv, dep = extra
            lam = piece @ pinv
            used = np.abs(lam) > 1e-9
            if essential:
                used &= ((np.abs(dep).max(axis=1) < 1e-9) if dep.shape[1]
                         else np.ones(lam.size, bool))
            for k in np.flatnonzero(used):
                yield [sysm.owner[r] for r in groups[k]]

    for essential in (True, False):
        # an essential row that can be withheld first; else (only identities and published
        # zeros are essential) the cheapest row some derivation uses
        best: tuple | None = None
        for cells in candidates(essential):
            if any(i is None for i in cells):
                continue  # an identity cannot be withheld
            sizes = []
            for i in cells:
                cell = m.cells[i]
                n = cell if cell.kind == "count" else m.cells[cell.n_cell]
                sizes.append(n.value if n.value is not None else math.inf)
            if min(sizes) < 1:
                continue  # a published zero protects nothing
            # smallest n, then fewest tables, then the path: a stable key, never the order in
            # which rows or sets happen to come (the same run must withhold the same numbers)
            cand = (min(sizes), len(cells), min(m.cells[i].path for i in cells),
                    sorted({m.cells[i].block for i in cells}))
            if best is None or cand[:3] < best[:3]:
                best = cand
        if best is not None:
            return best[3]
    return []


@_one_blas_thread
def protect(results: dict, min_cell: int | None = None, *, max_rounds: int = 200) -> dict:
    """Add complementary suppression to ``results`` until :func:`audit` finds no leak.

    Returns a new dictionary (the argument is not changed). Primary suppression is the
    statistics' own (``null`` with ``"suppressed: n < {min_cell}"``); this step only adds
    ``null``s, each with ``"suppressed: n < {min_cell} (complementary)"``. See the module
    docstring for the model and the rule that picks the numbers to suppress.

    >>> leaky = {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
    ...          "min_cell": 10,
    ...          "counts": {"pre": {"n": 80, "by_role": {"parent": 51, "teacher": 20,
    ...                                                  "youthworker": None}}}}
    >>> protect(leaky)["counts"]["pre"]["by_role"]["teacher"] is None
    True
    """
    out = copy.deepcopy(results)
    min_cell = check_min_cell(out.get("min_cell", 10) if min_cell is None else min_cell)
    reason = complementary_reason(min_cell)
    cache: dict = {}

    def split_derive(out: dict) -> tuple[_Model, _System]:
        m2 = _build(out, split=True)
        return m2, _system(m2, cache, derive=True)

    # First each table's own leaks, in the model where every framework table counts people
    # of its own: its components are small and the rest hits the cache, so these rounds are
    # cheap; the rounds over the whole system below then rarely find more.
    for _ in range(max_rounds):
        m2, sys2 = split_derive(out)
        leaks, vectors, _ = _leaks(m2, sys2, min_cell)
        picked: set[int] = set()
        for v, _cells in vectors:
            picked.update(_complement(v, m2, sys2))
        if not picked:
            break
        for b in sorted(picked):
            _suppress_block(m2, b, reason)
    for _ in range(max_rounds):
        m = _build(out)
        sysm = _system(m, cache)
        made: list = []

        def split(out: dict = out, made: list = made) -> tuple[_Model, _System]:
            if not made:
                made.append(split_derive(out))
            return made[0]

        leaks, vectors, _ = _leaks(m, sysm, min_cell, split)
        if not leaks:
            return out
        local = split()
        chosen: set[int] = set()
        for v, cells in vectors:
            # Withhold from the leak's own tables first: where its own table gives it away
            # (the model in which every framework table counts people of its own), a derivation
            # there is short (a share, a net change, a zero cell) and the next round looks
            # again; only a leak through other tables is cut in the whole system.
            v2 = _terms_vector(local[0], local[1], cells)
            pick = _complement(v2, *local) if v2 is not None and _determined(v2, local[1]) else []
            if not pick:
                if not sysm.derive:
                    sysm = _system(m, cache, derive=True)   # derivations only when needed
                pick = _complement(v, m, sysm)
            chosen.update(pick)
        if not chosen:
            break
        for b in chosen:
            _suppress_block(m, b, reason)
    raise DisclosureError(Msg("errors.disclosure.complement", min_cell=min_cell))
