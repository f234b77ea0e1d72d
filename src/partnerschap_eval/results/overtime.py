"""Contract 4 v2's per-scale blocks about change over time beside the paired analysis.

``longitudinal_invariance`` (and the verdict ``means_comparable``): did the scale measure the
same thing at every declared wave, so that its means -- and the pre/post differences of the
``paired`` block -- can be compared? ``imputation``: the change of every later wave against the
first after multiple imputation of the missing wave scores, a sensitivity analysis for the
complete-case ``paired`` block and the mixed model (never in their place).

The statistics are :func:`~partnerschap_eval.psychometrics.longitudinal.longitudinal_invariance`
and :func:`~partnerschap_eval.evaluation.imputation.mi_paired_contrasts`, called once per scale;
this module decides what may be published (Contract 5) and makes the imputation reproducible.

Rules
-----
* Longitudinal invariance uses the respondents with every item of the scale at every declared
  wave (listwise, as lavaan). Fewer than ``min_cell`` of them: withheld
  (``"suppressed: n < {min_cell}"``). Not more of them than observed variables (items x waves):
  withheld as too few to fit -- the sample covariance matrix is then singular and the ML fit
  undefined. A model that cannot be fitted otherwise: withheld with the error's text.
* The verdict applies Chen's (2007) rule per step, as for the roles
  (:data:`~partnerschap_eval.psychometrics.CHEN_DELTA_CFI`,
  :data:`~partnerschap_eval.psychometrics.CHEN_DELTA_RMSEA`), after the configural model has
  fitted acceptably (:func:`~partnerschap_eval.psychometrics.longitudinal.means_comparable`).
* The imputation of a contrast is withheld when fewer than ``min_cell`` respondents have a score
  at some declared wave (its ``n``), or fewer than ``min_cell`` have one at both waves of the
  contrast (those whose change is observed); in the second case its ``n`` is withheld as
  complementary, so that it cannot be differenced against the published counts.
* ``m`` is fixed (:data:`IMPUTATIONS`, not chosen from the data, so it reveals nothing); the
  seed is drawn from the scale's scores themselves (:func:`imputation_seed`), never from global
  state: the same data give the same ``results.json`` byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._blas import one_blas_thread
from .._contract import TOO_FEW_TO_FIT
from ..errors import InputError
from ..evaluation.imputation import mi_paired_contrasts
from ..privacy import suppressed_reason
from ..psychometrics import CHEN_DELTA_CFI, CHEN_DELTA_RMSEA
from ..psychometrics.longitudinal import (
    CONFIGURAL_CFI_MIN,
    CONFIGURAL_RMSEA_MAX,
    invariance_records,
    longitudinal_invariance,
    means_comparable,
)

__all__ = ["IMPUTATIONS", "IMPUTATION_KEYS", "INVARIANCE_RULE", "imputation_block",
           "imputation_seed", "invariance_block", "overtime_blocks"]

#: Imputations per scale: at least the percentage of incomplete cases up to 50 % (White,
#: Royston & Wood, 2011, Stat. Med. 30, 377-399, https://doi.org/10.1002/sim.4067); the demo
#: has 21 % incomplete. Fixed, so that ``m`` itself says nothing about the data.
IMPUTATIONS = 50
#: Gibbs sweeps per imputation when more than one wave has missing scores (mice's default is
#: 5); with a single incomplete wave one sweep is the exact draw and no more are made.
IMPUTATION_SWEEPS = 10
IMPUTATION_KEYS = ["n", "m", "estimate", "se", "df", "p", "ci95", "fmi"]
IMPUTATION_METHOD = ("chained equations (Bayesian linear regression as mice's norm; the other "
                     "waves' scores and the school as predictors); Rubin's rules with the "
                     "Barnard-Rubin df; n = respondents with a score at any declared wave; "
                     "seed from the scale's scores")
#: Chen (2007) per step, after an acceptable configural fit (Hu & Bentler, 1999).
INVARIANCE_RULE = {"delta_cfi_min": CHEN_DELTA_CFI, "delta_rmsea_max": CHEN_DELTA_RMSEA,
                   "configural_cfi_min": CONFIGURAL_CFI_MIN,
                   "configural_rmsea_max": CONFIGURAL_RMSEA_MAX}
#: What each verdict of :func:`means_comparable` rests on (results.json is read by analysts;
#: the report words the verdict from the catalogue).
_VERDICT_REASONS = {
    "comparable": "scalar invariance supported: loadings and intercepts equal across waves",
    "intercepts_differ": "metric invariance supported, scalar not: intercepts differ across "
                         "waves, so means and their differences are not comparable",
    "loadings_differ": "metric invariance not supported: loadings differ across waves",
    "configural_misfit": (f"the configural model fits poorly (CFI < {CONFIGURAL_CFI_MIN} or "
                          f"RMSEA > {CONFIGURAL_RMSEA_MAX})"),
    "not_converged": "a model did not converge: no verdict",
}


def _withheld(reason: str) -> dict[str, Any]:
    return {"longitudinal_invariance": None, "longitudinal_invariance_reason": reason,
            "means_comparable": {"value": None, "value_reason": reason, "reason": reason,
                                 "rule": dict(INVARIANCE_RULE)}}


def _complete_respondents(keyed: pd.DataFrame, items: Sequence[str],
                          waves: Sequence[str]) -> int:
    """Respondents with every item at every wave (the listwise sample of the fit)."""
    rows = keyed.loc[keyed["wave"].astype(str).isin(list(waves)),
                     ["respondent_id", "wave", *items]].dropna()
    per = rows.groupby("respondent_id")["wave"].nunique()
    return int((per == len(waves)).sum())


def invariance_block(keyed: pd.DataFrame, items: Sequence[str], waves: Sequence[str],
                     min_cell: int) -> dict[str, Any]:
    """Contract 4 v2 ``longitudinal_invariance`` and the verdict ``means_comparable``.

    Parameters
    ----------
    keyed
        Item responses, reverse-keyed as the scale is scored (Contract 2 columns).
    items, waves
        The scale's items; the declared waves in order (the first is the reference).
    min_cell
        Contract 5's minimum number of respondents.

    Returns
    -------
    dict
        ``longitudinal_invariance``: one record per step (configural, metric, scalar) with
        :func:`~partnerschap_eval.psychometrics.longitudinal.invariance_records`' keys, the
        listwise ``n`` and ``supported`` (Chen's rule; None for configural) -- or None with
        ``longitudinal_invariance_reason``; ``means_comparable``: ``value`` (a verdict key of
        :func:`~partnerschap_eval.psychometrics.longitudinal.means_comparable`, or None with
        ``value_reason``), ``reason`` (what it rests on) and the ``rule``.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> f = rng.normal(size=(200, 1))
    >>> rows = [pd.DataFrame(0.8 * f + 0.5 * rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    ...         .assign(respondent_id=range(200), wave=w) for w in ("pre", "post")]
    >>> out = invariance_block(pd.concat(rows), ["a", "b", "c"], ["pre", "post"], 10)
    >>> [r["step"] for r in out["longitudinal_invariance"]], out["means_comparable"]["value"]
    (['configural', 'metric', 'scalar'], 'comparable')
    >>> invariance_block(pd.concat(rows).head(250), ["a", "b", "c"], ["pre", "post"], 100)[
    ...     "longitudinal_invariance_reason"]
    'suppressed: n < 100'
    """
    items, waves = [str(i) for i in items], [str(w) for w in waves]
    n = _complete_respondents(keyed, items, waves)
    if n < min_cell:
        return _withheld(suppressed_reason(min_cell))
    p = len(items) * len(waves)
    if n <= p:
        return _withheld(f"{TOO_FEW_TO_FIT}: a CFA needs more respondents with every item at "
                         f"every wave than observed variables (items x waves = {p})")
    try:
        # an improper solution of a small sample (a negative variance) is judged by its fit,
        # as lavaan does; its standardised loadings, never published, may be NaN
        with np.errstate(invalid="ignore"):
            res = longitudinal_invariance(keyed, items, waves)
    except (InputError, np.linalg.LinAlgError, ValueError) as exc:
        return _withheld(f"model could not be fitted: {exc}")
    table = res.to_frame()
    supported = dict(zip(table["level"], table["supported"], strict=True))
    records = [rec | {"n": n, "supported": (None if supported[rec["step"]] is None
                                            else bool(supported[rec["step"]]))}
               for rec in invariance_records(res)]
    verdict = means_comparable(res)
    return {"longitudinal_invariance": records,
            "means_comparable": {"value": verdict, "reason": _VERDICT_REASONS[verdict],
                                 "rule": dict(INVARIANCE_RULE)}}


def imputation_seed(scores: pd.DataFrame, scale: str, waves: Sequence[str]) -> int:
    """The imputation's seed, drawn from the data: the first 8 bytes of the SHA-256 of the
    scale's scores at the declared waves (respondent, wave, school, value; sorted), the scale
    and the waves. Row order and global random state do not matter; other data, other draws.

    >>> s = pd.DataFrame({"respondent_id": ["a", "b"], "wave": "pre", "school_id": "S",
    ...                   "x": [3.0, 4.0]})
    >>> imputation_seed(s, "x", ["pre", "post"]) == imputation_seed(s[::-1], "x", ["pre", "post"])
    True
    """
    waves = [str(w) for w in waves]
    rows = scores.loc[scores["wave"].astype(str).isin(waves),
                      ["respondent_id", "wave", "school_id", scale]]
    lines = sorted(f"{r}\t{w}\t{s}\t{float(v)!r}" for r, w, s, v in
                   zip(rows["respondent_id"].astype(str), rows["wave"].astype(str),
                       rows["school_id"].astype(str), rows[scale], strict=True))
    text = "\n".join([scale, "|".join(waves), *lines])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def imputation_block(scores: pd.DataFrame, scale: str, waves: Sequence[str],
                     min_cell: int) -> dict[str, Any]:
    """Contract 4 v2 ``imputation``: per later wave ``"<wave>-<first>"`` the pooled mean change
    after multiple imputation (:func:`~partnerschap_eval.evaluation.imputation.
    mi_paired_contrasts` with ``m`` = :data:`IMPUTATIONS` and :func:`imputation_seed`).

    Each contrast has ``PooledEstimate.to_record()``'s keys (``m, estimate, se, df, p, ci95,
    fmi``), ``n`` (respondents with a score at any declared wave: the imputed sample) and the
    ``method``; withheld (null with ``<key>_reason``) as the module's rules say.

    >>> rng = np.random.default_rng(0)
    >>> pre = rng.normal(3, 0.6, 40)
    >>> post = np.where(rng.random(40) < 0.2, np.nan, pre + 0.3 + rng.normal(0, 0.4, 40))
    >>> s = pd.DataFrame({"respondent_id": np.tile(np.arange(40), 2), "school_id": "S",
    ...                   "wave": np.repeat(["pre", "post"], 40), "x": np.r_[pre, post]})
    >>> b = imputation_block(s, "x", ["pre", "post"], 10)["post-pre"]
    >>> b["m"], b["n"], 0.1 < b["estimate"] < 0.5
    (50, 40, True)
    """
    waves = [str(w) for w in waves]
    first = waves[0]
    names = {w: f"{w}-{first}" for w in waves[1:]}
    primary = suppressed_reason(min_cell)
    valid = scores.loc[scores["wave"].astype(str).isin(waves) & scores[scale].notna(),
                       ["respondent_id", "wave"]]
    n_any = int(valid["respondent_id"].nunique())
    at = {w: set(valid.loc[valid["wave"].astype(str) == w, "respondent_id"]) for w in waves}

    def withheld(reason: str, n_reason: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"method": IMPUTATION_METHOD}
        for key in IMPUTATION_KEYS:
            out[key] = None
            out[f"{key}_reason"] = reason
        out["n_reason"] = n_reason or reason
        return out

    if n_any < min_cell:
        return {name: withheld(primary) for name in names.values()}
    small = {w for w in waves[1:] if len(at[first] & at[w]) < min_cell}
    if len(small) == len(names):
        return {name: withheld(primary, f"{primary} (complementary)") for name in names.values()}
    try:
        with one_blas_thread():  # many tiny regressions
            pooled = mi_paired_contrasts(scores, scale, waves, m=IMPUTATIONS,
                                         n_iter=IMPUTATION_SWEEPS,
                                         seed=imputation_seed(scores, scale, waves))
    except (InputError, np.linalg.LinAlgError, ValueError) as exc:
        return {name: withheld(f"not computable: {exc}") for name in names.values()}
    out: dict[str, Any] = {}
    for w, name in names.items():
        if w in small:
            out[name] = withheld(primary, f"{primary} (complementary)")
        else:
            out[name] = pooled[name].to_record() | {"n": n_any, "method": IMPUTATION_METHOD}
    return out


def overtime_blocks(keyed: pd.DataFrame, scores: pd.DataFrame, scale: Any,
                    waves: Sequence[str], min_cell: int) -> dict[str, Any]:
    """A scale's ``longitudinal_invariance``, ``means_comparable`` and ``imputation`` (for
    :func:`~partnerschap_eval.results.evaluate`); ``scale`` an instrument's scale, ``keyed`` the
    item responses reverse-keyed in its direction."""
    return {**invariance_block(keyed, list(scale.items), waves, min_cell),
            "imputation": imputation_block(scores, scale.id, waves, min_cell)}
