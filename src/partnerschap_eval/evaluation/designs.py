"""Comparison-group designs: baseline equivalence and attrition per arm, as the What Works
Clearinghouse (WWC) defines them.

Both work on one scale's scores in Contract 2 long form (``respondent_id, wave, school_id``
and the score column) with a condition per respondent: either a ``condition`` column or a
mapping school id -> condition (the study's ``schools[].condition``). Pure functions: data in,
frozen result out; no disclosure control (that happens once, in ``results``).

References
----------
What Works Clearinghouse (2022). *Procedures and Standards Handbook, Version 5.0*. U.S.
Department of Education, IES. https://ies.ed.gov/ncee/wwc/Handbooks -- baseline equivalence
(ch. III.B, the 0.05 and 0.25 SD boundaries), attrition (ch. III.A), Hedges' g with the
small-sample correction :math:`\\omega = 1 - 3/(4N - 9)` (appendix E).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .._display import Display
from .._validate import check_ci_level
from ..errors import Count, InputError, Msg
from . import _is_in, ncp_ci

__all__ = ["BaselineEquivalence", "WwcAttrition", "baseline_equivalence", "wwc_attrition",
           "wwc_category", "WWC_EQUIVALENT", "WWC_ADJUST"]

#: |g| at or below this: baseline equivalence satisfied (WWC 5.0).
WWC_EQUIVALENT = 0.05
#: |g| above WWC_EQUIVALENT and at or below this: equivalence needs statistical adjustment.
WWC_ADJUST = 0.25


def wwc_category(g: float) -> str:
    """WWC baseline category of a standardised difference: a key, not a sentence.

    ``equivalent`` when :math:`|g| \\le 0.05`, ``adjust`` (the impact analysis must adjust for
    the baseline measure) when :math:`0.05 < |g| \\le 0.25`, ``not_equivalent`` above 0.25;
    ``unknown`` when g is not a number.

    >>> [wwc_category(g) for g in (0.05, -0.051, 0.25, 0.2501, float("nan"))]
    ['equivalent', 'adjust', 'adjust', 'not_equivalent', 'unknown']
    """
    if not math.isfinite(g):
        return "unknown"
    a = abs(g)
    return "equivalent" if a <= WWC_EQUIVALENT else "adjust" if a <= WWC_ADJUST else (
        "not_equivalent")


def _with_condition(scores: pd.DataFrame, scale: str, conditions: Mapping[str, str] | None,
                    treatment: str, reference: str) -> pd.DataFrame:
    """Validate once: the columns needed, and a condition for every school with a score."""
    if treatment == reference:
        raise InputError(Msg("errors.mixed.same_arms", condition=repr(treatment)))
    need = ["respondent_id", "wave", scale] + (["school_id"] if conditions is not None
                                               else ["condition"])
    absent = [c for c in need if c not in scores.columns]
    if absent:
        raise InputError(Msg("errors.designs.columns", absent=absent, need=", ".join(need)))
    ok = scores.loc[scores[scale].notna(), need]
    if conditions is not None:
        ok = ok.assign(condition=ok["school_id"].astype(str).map(
            {str(k): str(v) for k, v in conditions.items()}))
    lost = ok["condition"].isna()
    if lost.any():
        where = sorted(ok.loc[lost, "school_id"].astype(str).unique())[:10] \
            if conditions is not None else Msg("errors.designs.empty_cells")
        raise InputError(Msg("errors.mixed.no_condition", schools=where))
    return ok


def _arms(ok: pd.DataFrame, first: str, last: str) -> tuple[pd.DataFrame, np.ndarray]:
    """First-wave rows (the baseline sample) and which of them have a last-wave score."""
    base = ok[ok["wave"] == first]
    dup = base["respondent_id"].duplicated()
    if dup.any():
        # counted, never quoted: a respondent id is an identifier (Contract 5)
        n_dup = int(base.loc[dup, "respondent_id"].nunique())
        raise InputError(Msg("errors.design.duplicate_first", n=Count(n_dup), wave=first))
    return base, _is_in(base["respondent_id"], ok.loc[ok["wave"] == last, "respondent_id"])


@dataclass(frozen=True)
class BaselineEquivalence(Display):
    """Hedges' g between two conditions at the first wave, with the WWC category."""

    scale: str
    treatment: str
    reference: str
    sample: str
    n_treatment: int
    n_reference: int
    mean_treatment: float
    mean_reference: float
    d: float
    omega: float
    g: float
    ci_low: float
    ci_high: float
    category: str
    ci_level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])

    def to_record(self) -> dict:
        """The Contract 4 v2 ``baseline_equivalence`` keys."""
        return {"g": self.g, "ci95": [self.ci_low, self.ci_high], "category": self.category}

    def summary(self) -> str:
        return (f"{self.scale}: g = {self.g:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}] "
                f"({self.treatment} {self.n_treatment} vs {self.reference} {self.n_reference}, "
                f"{self.sample} sample): {self.category}")


def baseline_equivalence(scores: pd.DataFrame, scale: str, first: str, last: str, *,
                         conditions: Mapping[str, str] | None = None,
                         treatment: str = "intervention", reference: str = "control",
                         sample: str = "analytic", ci_level: float = 0.95
                         ) -> BaselineEquivalence:
    """Baseline equivalence of two conditions on one scale (WWC 5.0).

    Parameters
    ----------
    scores
        Long scores: ``respondent_id, wave, school_id`` (or ``condition``) and ``scale``.
    scale, first, last
        The score column and the first and last declared waves.
    conditions
        School id -> condition; None: the scores carry a ``condition`` column.
    treatment, reference
        The two conditions compared (g is treatment minus reference).
    sample
        ``analytic`` (default, as the WWC requires: respondents with a score at both the first
        and the last wave) or ``baseline`` (every first-wave score).

    Returns
    -------
    BaselineEquivalence
        d, the correction omega, g and its CI, and ``category`` (:func:`wwc_category`).

    Notes
    -----
    :math:`d = (\\bar x_T - \\bar x_C)/s_p` with the pooled SD
    :math:`s_p^2 = ((n_T-1)s_T^2 + (n_C-1)s_C^2)/(N-2)`, :math:`g = \\omega d` with
    :math:`\\omega = 1 - 3/(4N - 9)`, :math:`N = n_T + n_C` (WWC, appendix E). The CI inverts the
    noncentral t of :math:`t = d/\\sqrt{1/n_T + 1/n_C}` (df = N - 2) and multiplies the limits by
    :math:`\\omega` (as ``effectsize::hedges_g``, which uses the exact gamma form of the
    correction instead; relative difference 6e-4 at N = 10, 2e-5 at N = 40).

    Examples
    --------
    >>> s = pd.DataFrame({"respondent_id": list("abcdefgh"), "wave": "pre",
    ...                   "school_id": list("IIIICCCC"), "x": [3., 4, 3.5, 4.2, 3, 3.8, 3.4, 4]})
    >>> r = baseline_equivalence(s, "x", "pre", "pre", conditions={"I": "intervention",
    ...                                                             "C": "control"})
    >>> round(r.g, 4), r.category
    (0.2205, 'adjust')

    In R: ``effectsize::cohens_d(x_T, x_C)$Cohens_d * (1 - 3 / (4 * N - 9))``.
    """
    check_ci_level(ci_level)
    if sample not in ("analytic", "baseline"):
        raise InputError(Msg("errors.designs.sample", value=repr(sample)))
    ok = _with_condition(scores, scale, conditions, treatment, reference)
    base, done = _arms(ok, first, last)
    if sample == "analytic":
        base = base[done]
    arm = base["condition"].astype(str).to_numpy()
    x = base[scale].to_numpy(dtype=float)[arm == treatment]
    y = base[scale].to_numpy(dtype=float)[arm == reference]
    if x.size < 2 or y.size < 2:
        raise InputError(Msg("errors.designs.baseline_few", scale=repr(scale),
                             sample=Msg(f"errors.designs.sample.{sample}"), treatment=treatment,
                             n_treatment=Count(x.size), reference=reference,
                             n_reference=Count(y.size)))
    n1, n2 = x.size, y.size
    df = n1 + n2 - 2
    sp = math.sqrt(((n1 - 1) * np.var(x, ddof=1) + (n2 - 1) * np.var(y, ddof=1)) / df)
    d = (float(x.mean()) - float(y.mean())) / sp if sp > 0 else float("nan")
    omega = 1 - 3 / (4 * (n1 + n2) - 9)
    if math.isfinite(d):
        scale_t = math.sqrt(1 / n1 + 1 / n2)
        ci = ncp_ci(d / scale_t, df, ci_level)
        lo, hi = float(ci.low) * scale_t * omega, float(ci.high) * scale_t * omega
    else:
        lo = hi = float("nan")
    g = d * omega
    return BaselineEquivalence(scale=scale, treatment=treatment, reference=reference,
                               sample=sample, n_treatment=n1, n_reference=n2,
                               mean_treatment=float(x.mean()), mean_reference=float(y.mean()),
                               d=d, omega=omega, g=g, ci_low=lo, ci_high=hi,
                               category=wwc_category(g), ci_level=ci_level)


@dataclass(frozen=True)
class WwcAttrition(Display):
    """Overall and differential attrition (WWC): one row per condition in ``by_condition``."""

    scale: str
    treatment: str
    reference: str
    overall: float
    differential: float
    by_condition: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """One row per condition (baseline, analytic, attrition) plus overall/differential."""
        return self.by_condition.assign(scale=self.scale, overall=self.overall,
                                        differential=self.differential)

    def summary(self) -> str:
        return (f"{self.scale}: overall attrition {self.overall:.1%}, differential "
                f"{self.differential:.1%} ({self.treatment} vs {self.reference})")


def wwc_attrition(scores: pd.DataFrame, scale: str, first: str, last: str, *,
                  conditions: Mapping[str, str] | None = None,
                  treatment: str = "intervention", reference: str = "control") -> WwcAttrition:
    """Overall and differential attrition from the first to the last wave (WWC 5.0).

    The baseline sample of a condition is its respondents with a valid first-wave score, the
    analytic sample those of them with a valid last-wave score too. Per condition
    :math:`a_c = 1 - n^{analytic}_c / n^{baseline}_c`; overall
    :math:`a = 1 - \\sum_c n^{analytic}_c / \\sum_c n^{baseline}_c` over ``treatment`` and
    ``reference``; differential :math:`|a_T - a_C|` (percentage points as a fraction). Other
    conditions (e.g. ``waitlist``) get their own row but enter neither summary. Whether a pair
    of rates is acceptable depends on the WWC's liberal or conservative boundary, which the
    reader chooses for the context; the rates are reported, not judged.

    Examples
    --------
    >>> s = pd.DataFrame({"respondent_id": list("abcdab"), "school_id": list("IICCII"),
    ...                   "wave": ["pre"] * 4 + ["post"] * 2, "x": 3.0})
    >>> a = wwc_attrition(s, "x", "pre", "post", conditions={"I": "intervention",
    ...                                                      "C": "control"})
    >>> a.overall, a.differential
    (0.5, 1.0)
    """
    ok = _with_condition(scores, scale, conditions, treatment, reference)
    base, done = _arms(ok, first, last)
    arm = base["condition"].astype(str).to_numpy()
    rows = []
    for c in dict.fromkeys([treatment, reference, *sorted(set(arm))]):
        n_b = int(np.sum(arm == c))
        n_a = int(np.sum(done[arm == c]))
        rows.append({"condition": c, "baseline": n_b, "analytic": n_a,
                     "attrition": 1 - n_a / n_b if n_b else float("nan")})
    table = pd.DataFrame(rows)
    two = table.iloc[:2]
    if (two["baseline"] == 0).any():
        raise InputError(Msg("errors.designs.attrition", scale=repr(scale),
                             conditions=two.loc[two["baseline"] == 0, "condition"].tolist()))
    overall = 1 - two["analytic"].sum() / two["baseline"].sum()
    differential = abs(float(two["attrition"].iloc[0]) - float(two["attrition"].iloc[1]))
    return WwcAttrition(scale=scale, treatment=treatment, reference=reference,
                        overall=float(overall), differential=differential, by_condition=table)
