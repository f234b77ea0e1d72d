"""Psychometric quality of scales: reliability, item analysis, factor structure, invariance.

What a reviewer asks of a questionnaire before trusting its change scores, as plain functions:

* :func:`cronbach_alpha` - alpha and standardised alpha with Feldt's (1965) CI and an optional
  percentile bootstrap CI; :func:`mcdonald_omega` - omega total from a one-factor ML model with an
  optional bootstrap CI (:func:`omega_total` is the short form used by ``results/scales.py``);
* :func:`item_statistics` / :func:`item_analysis` - per item mean, SD, % missing, floor and
  ceiling % against the *declared* response scale, item-rest correlation, alpha if deleted and a
  flag for weak items;
* :func:`fit_cfa` - (multi-group) confirmatory factor analysis by maximum likelihood with
  chi-square, CFI, TLI, RMSEA (90 % CI) and SRMR; :func:`measurement_invariance` - configural,
  metric and scalar invariance with the changes in CFI and RMSEA judged by Chen's (2007) rule;
* :func:`instrument_model` - an instrument's scales as a CFA model. Looping over an instrument's
  scales, waves and roles with small-cell suppression is the results layer's job
  (:func:`partnerschap_eval.results.scale_quality`).

Missing data: reliability and item statistics are computed listwise (respondents who answered
every item of the scale) unless the caller asks for ``nan_policy="pairwise"``; the n used is
always returned. CFA is listwise on the model's items.

Why a CFA engine of our own
---------------------------
Python has no CFA library that reproduces lavaan's multi-group results: ``semopy`` fits groups
one by one (no parameters shared across groups, so no metric or scalar model), and
``factor_analyzer`` gives loadings but no test statistic or fit indices. The model needed here
is small and classical, so it is implemented directly with NumPy/SciPy: the normal-theory ML
discrepancy summed over groups, analytic gradients and Fisher scoring (expected information)
with step halving. The conventions are lavaan's (0.6, ``estimator = "ML"``), so the numbers can
be checked against ``lavaan::cfa``: ``likelihood = "normal"`` (covariances with divisor N),
marker-variable identification (first item of each factor loads 1), a mean structure in
multi-group fits, chi-square :math:`= \\sum_g N_g F_g`, the independence model as baseline,
RMSEA multiplied by :math:`\\sqrt{G}` and Bentler's SRMR including the means.

References
----------
Bentler, P. M. (1995). *EQS structural equations program manual*. Multivariate Software.

Browne, M. W., & Cudeck, R. (1993). Alternative ways of assessing model fit. In K. A. Bollen &
J. S. Long (Eds.), *Testing structural equation models* (pp. 136-162). Sage.

Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance.
*Structural Equation Modeling, 14*, 464-504. https://doi.org/10.1080/10705510701301834

Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. *Psychometrika,
16*, 297-334. https://doi.org/10.1007/BF02310555

Feldt, L. S. (1965). The approximate sampling distribution of Kuder-Richardson reliability
coefficient twenty. *Psychometrika, 30*, 357-370. https://doi.org/10.1007/BF02289499

Joreskog, K. G. (1969). A general approach to confirmatory maximum likelihood factor analysis.
*Psychometrika, 34*, 183-202. https://doi.org/10.1007/BF02289343

McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.

Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. *Journal of
Statistical Software, 48*(2), 1-36. https://doi.org/10.18637/jss.v048.i02
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, optimize, stats

from .._blas import one_blas_thread
from .._display import Display, Interval
from .._validate import check_ci_level, check_n_boot, check_nan_policy, check_number
from ..errors import InputError, Msg
from ..instruments import Instrument
from ..instruments import resolve as resolve_instrument

__all__ = [
    "AlphaResult", "OmegaResult", "ItemAnalysis", "CfaFit", "InvarianceResult",
    "cronbach_alpha", "feldt_ci", "mcdonald_omega", "omega_total", "Interval", "OmegaTotal", "item_statistics",
    "item_analysis", "fit_cfa", "measurement_invariance", "instrument_model",
    "CHEN_DELTA_CFI", "CHEN_DELTA_RMSEA", "R_REST_MIN",
]

NanPolicy = Literal["listwise", "pairwise"]

#: Chen (2007): a drop in CFI of at most .010 ...
CHEN_DELTA_CFI = -0.010
#: ... together with a rise in RMSEA of at most .015 supports the more constrained model.
CHEN_DELTA_RMSEA = 0.015
#: Items whose corrected item-total (item-rest) correlation is below this are flagged.
R_REST_MIN = 0.30

# Bootstrap replicates are processed in chunks of about this many cells (replicates x rows x
# items), which bounds memory at a few tens of MB whatever n_boot is.
_BOOT_CHUNK_CELLS = 4_000_000


# =============================================================================================
# input at the boundary
# =============================================================================================
def _item_matrix(items: pd.DataFrame | np.ndarray, min_items: int = 2,
                 check_finite: bool = True) -> tuple[np.ndarray, list[str]]:
    """Items as a float matrix (NaN = missing) and their names; refuse what cannot be used.

    ``check_finite=False`` leaves the infinity check to :func:`_moments`, which sees it in its
    sums for free (a separate pass costs a fifth of the whole 1 M-row computation).
    """
    if isinstance(items, pd.DataFrame):
        names = [str(c) for c in items.columns]
        if all(dt == np.float64 for dt in items.dtypes):
            x = items.to_numpy()  # no copy for a float frame: this is the benchmarked hot path
        else:
            bad = [str(c) for c in items.columns
                   if not (pd.api.types.is_numeric_dtype(items[c])
                           or pd.api.types.is_bool_dtype(items[c]))]
            if bad:
                raise InputError(Msg("errors.psychometrics.not_numeric", bad=bad))
            x = items.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            x = np.asarray(items, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(Msg("errors.psychometrics.numeric", exc=exc)) from None
        names = [f"item{j + 1}" for j in range(x.shape[1])] if x.ndim == 2 else []
    if x.ndim != 2:
        raise InputError(Msg("errors.psychometrics.two_d", ndim=x.ndim))
    if x.shape[1] < min_items:
        raise InputError(Msg("errors.psychometrics.few_items", items=min_items, shape=x.shape[1],
                             names=names))
    if check_finite and np.isinf(x).any():
        raise InputError(Msg("errors.psychometrics.infinite"))
    return x, names


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


# =============================================================================================
# moments: one pass over the data gives everything alpha and the item statistics need
# =============================================================================================
@dataclass(frozen=True)
class _Moments:
    n: int                 # respondents used (listwise: complete rows; pairwise: >= 1 answer)
    n_rows: int            # rows given
    n_complete: int        # rows with every item answered
    n_item: np.ndarray     # answers per item among the rows used
    n_missing: np.ndarray  # missing cells per item among all rows given
    mean: np.ndarray
    cov: np.ndarray        # divisor n - 1 (pairwise: n_ij - 1 per pair), as R's cov()
    n_floor: np.ndarray | None
    n_ceiling: np.ndarray | None


# Rows per block of the one-pass moments: a block of [z, m] (4096 x 2k doubles) stays in the
# CPU cache between the elementwise work and its Gram product, which measured 2x faster than
# whole-array passes on 1 M x 30 (and needs no full-size temporaries).
_BLOCK_ROWS = 4096


def _moments(x: np.ndarray, nan_policy: str, lo: float | None = None,
             hi: float | None = None) -> _Moments:
    """Everything alpha and the item table need, in one blocked pass over the rows.

    Listwise: for the complete rows of each block, shifted by a provisional centre c, accumulate
    :math:`\\sum d` and :math:`D'D`; then :math:`\\bar x = c + \\sum d/n` and
    :math:`C = (D'D - \\sum d\\sum d'/n)/(n-1)`, exact for any c (c close to the mean only keeps
    the sums small, so nothing is lost to cancellation).

    Pairwise (R's ``cov(use = "pairwise")``): with z the shifted items set to 0 where missing
    and m the answered indicator, the Gram matrix of [z, m] holds, for every pair at once and
    over the rows where both are answered, :math:`n_{ij} = (m'm)_{ij}`,
    :math:`\\sum z_iz_j = (z'z)_{ij}` and :math:`\\sum z_i = (z'm)_{ij}`, so
    :math:`c_{ij} = (\\sum z_iz_j - \\sum z_i\\sum z_j/n_{ij})/(n_{ij}-1)` uses each pair's own
    means, as R does, without a loop over pairs.
    """
    n_rows, k = x.shape
    seen = ~np.isnan(x[:1000])
    centre = np.where(seen, x[:1000], 0.0).sum(axis=0) / np.maximum(seen.sum(axis=0), 1)
    pairwise = nan_policy == "pairwise"
    width = 2 * k if pairwise else k
    gram = np.zeros((width, width))
    total = np.zeros(k)
    n_missing = np.zeros(k, dtype=np.int64)
    n_floor = np.zeros(k, dtype=np.int64)
    n_ceiling = np.zeros(k, dtype=np.int64)
    n_complete = n_answered = 0
    buf = np.empty((min(_BLOCK_ROWS, max(n_rows, 1)), width))
    # infinities would warn in the arithmetic; they are reported once, after the loop
    with one_blas_thread(), np.errstate(invalid="ignore", over="ignore"):
        for start in range(0, n_rows, _BLOCK_ROWS):
            xb = x[start:start + _BLOCK_ROWS]
            nan_b = np.isnan(xb)
            n_missing += nan_b.sum(axis=0)
            row_missing = np.count_nonzero(nan_b, axis=1)
            complete = row_missing == 0
            n_complete += int(complete.sum())
            n_answered += int(np.count_nonzero(row_missing < k))
            if pairwise:
                rows = xb
                ab = buf[:xb.shape[0]]
                np.subtract(xb, centre, out=ab[:, :k])
                ab[:, :k][nan_b] = 0.0
                np.logical_not(nan_b, out=nan_b)
                ab[:, k:] = nan_b
            else:
                rows = ab = xb[complete]
            if lo is not None:
                n_floor += np.count_nonzero(rows == lo, axis=0)
            if hi is not None:
                n_ceiling += np.count_nonzero(rows == hi, axis=0)
            if not pairwise:
                ab -= centre
                total += ab.sum(axis=0)
            gram += ab.T @ ab
    if not np.all(np.isfinite(gram)):
        raise InputError(Msg("errors.psychometrics.infinite"))
    nan_k = np.full(k, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if pairwise:
            zz, zm, nn = gram[:k, :k], gram[:k, k:], gram[k:, k:]
            n_item = np.rint(np.diag(nn)).astype(np.int64)
            mean = centre + np.diag(zm) / np.diag(nn)
            cov = (zz - zm * zm.T / nn) / (nn - 1)
            cov[nn < 2] = np.nan
            n = n_answered
        else:
            n = n_complete
            n_item = np.full(k, n, dtype=np.int64)
            mean = centre + total / n if n else nan_k
            cov = ((gram - np.outer(total, total) / n) / (n - 1) if n > 1
                   else np.full((k, k), np.nan))
    return _Moments(n=n, n_rows=n_rows, n_complete=n_complete, n_item=n_item,
                    n_missing=n_missing, mean=mean, cov=cov,
                    n_floor=n_floor if lo is not None else None,
                    n_ceiling=n_ceiling if hi is not None else None)


def _alpha_from_cov(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw and standardised alpha from covariance matrices (any leading batch dimensions)."""
    k = cov.shape[-1]
    total = cov.sum(axis=(-2, -1))
    trace = np.trace(cov, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = k / (k - 1) * (1 - trace / total)
        sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
        corr = cov / (sd[..., :, None] * sd[..., None, :])
        std_alpha = k / (k - 1) * (1 - k / corr.sum(axis=(-2, -1)))
    return alpha, std_alpha


def _batched_cov(xb: np.ndarray, pairwise: bool) -> np.ndarray:
    """Covariance matrices of a stack of data sets ``(B, n, k)`` (NaN = missing if pairwise)."""
    if not pairwise:
        d = xb - xb.mean(axis=1, keepdims=True)
        return np.matmul(d.transpose(0, 2, 1), d) / (xb.shape[1] - 1)
    obs = ~np.isnan(xb)
    m = obs.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(xb, axis=1, keepdims=True) / m.sum(axis=1, keepdims=True)
        z = np.where(obs, xb - mean, 0.0)
        zt = z.transpose(0, 2, 1)
        zz, zm = np.matmul(zt, z), np.matmul(zt, m)
        nn = np.matmul(m.transpose(0, 2, 1), m)
        return (zz - zm * zm.transpose(0, 2, 1) / nn) / (nn - 1)


def _bootstrap_covs(x: np.ndarray, n_boot: int, rng: np.random.Generator, pairwise: bool):
    """Yield covariance matrices of bootstrap resamples of the rows of ``x``, chunk by chunk."""
    n, k = x.shape
    chunk = max(1, _BOOT_CHUNK_CELLS // max(1, n * k))
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        idx = rng.integers(0, n, size=(b, n))
        yield _batched_cov(x[idx], pairwise)
        done += b


def _percentile_ci(values: np.ndarray, ci_level: float) -> tuple[float, float, int]:
    ok = values[np.isfinite(values)]
    if ok.size < 2:
        return float("nan"), float("nan"), int(ok.size)
    a = (1 - ci_level) / 2
    lo, hi = np.quantile(ok, [a, 1 - a])
    return float(lo), float(hi), int(ok.size)


# =============================================================================================
# Cronbach's alpha
# =============================================================================================
@dataclass(frozen=True)
class AlphaResult(Display):
    """Cronbach's alpha of one scale.

    ``n`` is the number of respondents the estimate rests on (listwise: complete rows; pairwise:
    rows with at least one answer); ``ci_low``/``ci_high`` are Feldt's limits at ``ci_level``;
    ``boot_ci_low``/``boot_ci_high`` the percentile bootstrap limits when ``n_boot > 0``.
    """

    n: int
    k: int
    alpha: float
    std_alpha: float
    ci_low: float
    ci_high: float
    nan_policy: str
    ci_level: float = 0.95
    n_rows: int = 0
    n_complete: int = 0
    boot_ci_low: float = float("nan")
    boot_ci_high: float = float("nan")
    n_boot: int = 0

    def to_frame(self) -> pd.DataFrame:
        """One row with every field as a column."""
        return pd.DataFrame([asdict(self)])

    def summary(self) -> str:
        """A one-line description for people (rounded for display only)."""
        text = (f"Cronbach's alpha = {self.alpha:.3f}, Feldt {self.ci_level:.0%} CI "
                f"[{self.ci_low:.3f}, {self.ci_high:.3f}]; standardised alpha = "
                f"{self.std_alpha:.3f}; k = {self.k} items, n = {self.n} ({self.nan_policy})")
        if self.n_boot:
            text += (f"; bootstrap CI [{self.boot_ci_low:.3f}, {self.boot_ci_high:.3f}] "
                     f"({self.n_boot} resamples)")
        return text


def feldt_ci(alpha: float, n: int, k: int, ci_level: float = 0.95) -> Interval:
    """Feldt's (1965) F-based confidence interval of Cronbach's alpha.

    Parameters
    ----------
    alpha
        The sample alpha (one number).
    n, k
        Respondents and items.
    ci_level
        Coverage of the interval.

    Returns
    -------
    Interval
        ``low``, ``high`` and ``level``.

    Notes
    -----
    :math:`(1-\\hat\\alpha)/(1-\\alpha)` follows :math:`F(n-1, (n-1)(k-1))` for parallel normal
    items, so with :math:`F_q` its q-quantile and :math:`a = 1 - \\text{ci\\_level}`:
    lower :math:`= 1 - (1 - \\hat\\alpha) F_{1-a/2}`, upper :math:`= 1 - (1 - \\hat\\alpha) F_{a/2}`.

    References
    ----------
    Feldt, L. S. (1965). *Psychometrika, 30*, 357-370. https://doi.org/10.1007/BF02289499

    Examples
    --------
    >>> ci = feldt_ci(0.9450867, 5, 3)   # pingouin.cronbach_alpha: 0.723, 0.994
    >>> round(ci.low, 3), round(ci.high, 3)
    (0.723, 0.994)

    In R: ``psych::alpha(x)$feldt``.
    """
    ci_level = check_ci_level(ci_level)
    alpha = check_number(alpha, "alpha")
    a = 1 - ci_level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    return Interval(float(1 - (1 - alpha) * stats.f.ppf(1 - a / 2, df1, df2)),
                    float(1 - (1 - alpha) * stats.f.ppf(a / 2, df1, df2)), ci_level)


def _alpha_result(mom: _Moments, k: int, nan_policy: str, ci_level: float) -> AlphaResult:
    nan = float("nan")
    if mom.n < 3 or not np.all(np.isfinite(mom.cov)) or mom.cov.sum() <= 0:
        return AlphaResult(n=mom.n, k=k, alpha=nan, std_alpha=nan, ci_low=nan, ci_high=nan,
                           nan_policy=nan_policy, ci_level=ci_level, n_rows=mom.n_rows,
                           n_complete=mom.n_complete)
    alpha, std_alpha = _alpha_from_cov(mom.cov)
    ci = feldt_ci(float(alpha), mom.n, k, ci_level)
    return AlphaResult(n=mom.n, k=k, alpha=float(alpha), std_alpha=float(std_alpha),
                       ci_low=float(ci.low), ci_high=float(ci.high), nan_policy=nan_policy,
                       ci_level=ci_level, n_rows=mom.n_rows, n_complete=mom.n_complete)


def _rows_used(x: np.ndarray, nan_policy: str) -> np.ndarray:
    obs = ~np.isnan(x)
    return x[obs.all(axis=1)] if nan_policy == "listwise" else x[obs.any(axis=1)]


def cronbach_alpha(items: pd.DataFrame | np.ndarray, nan_policy: NanPolicy = "listwise",
                   ci_level: float = 0.95, *, n_boot: int = 0,
                   seed: int | np.random.Generator = 0) -> AlphaResult:
    """Cronbach's alpha, standardised alpha, Feldt's CI and (optionally) a bootstrap CI.

    Parameters
    ----------
    items
        One column per (already reverse-keyed) item, one row per respondent; NaN = missing.
    nan_policy
        ``"listwise"`` (default): only respondents who answered every item. ``"pairwise"``:
        each covariance on the respondents who answered both items (R's
        ``cov(use = "pairwise")``, as ``psych::alpha`` does); n = respondents with at least one
        answer, which is also the n of Feldt's CI. psych uses ``nrow(x)`` there instead; the two
        differ only when a row has no answer at all.
    ci_level
        Coverage of both intervals.
    n_boot
        Number of bootstrap resamples of respondents (0 = no bootstrap). The percentile CI does
        not assume parallel items, unlike Feldt's.
    seed
        Seed (or generator) of the resampling, so a report reproduces exactly.

    Returns
    -------
    AlphaResult
        n, k, alpha, std_alpha, ci_low, ci_high (Feldt), boot_ci_low, boot_ci_high, ...

    Notes
    -----
    .. math:: \\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\sum_i \\sigma_i^2}{\\sigma_X^2}\\right)
              = \\frac{k}{k-1}\\left(1 - \\frac{\\operatorname{tr} C}{\\mathbf 1' C \\mathbf 1}\\right)

    with C the item covariance matrix (divisor n - 1); standardised alpha is the same formula on
    the correlation matrix. Feldt's CI: see :func:`feldt_ci`. Bootstrap: resample respondents
    with replacement, recompute alpha, take the :math:`a/2` and :math:`1-a/2` quantiles.

    References
    ----------
    Cronbach, L. J. (1951). *Psychometrika, 16*, 297-334. https://doi.org/10.1007/BF02310555

    Examples
    --------
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 4], "c": [1, 3, 3, 4, 5]})
    >>> res = cronbach_alpha(x)
    >>> round(res.alpha, 4), res.n   # In R: psych::alpha(x)$total$raw_alpha
    (0.9451, 5)
    """
    check_n_boot(n_boot)
    check_nan_policy(nan_policy)
    check_ci_level(ci_level)
    x, _ = _item_matrix(items, check_finite=False)
    k = x.shape[1]
    res = _alpha_result(_moments(x, nan_policy), k, nan_policy, ci_level)
    if n_boot > 0 and np.isfinite(res.alpha):
        used = _rows_used(x, nan_policy)
        boots = np.concatenate([_alpha_from_cov(c)[0] for c in
                                _bootstrap_covs(used, n_boot, _rng(seed),
                                                nan_policy == "pairwise")])
        lo, hi, ok = _percentile_ci(boots, ci_level)
        res = replace(res, boot_ci_low=lo, boot_ci_high=hi, n_boot=ok)
    return res


# =============================================================================================
# item statistics
# =============================================================================================
@dataclass(frozen=True)
class ItemAnalysis(Display):
    """Alpha of a scale together with the statistics of its items (one pass over the data)."""

    alpha: AlphaResult
    items: pd.DataFrame = field(compare=False)

    def to_frame(self) -> pd.DataFrame:
        """The item table (one row per item)."""
        return self.items.copy()

    def summary(self) -> str:
        flagged = self.items.loc[self.items["flag"], "item"].tolist()
        return self.alpha.summary() + (f"; flagged items: {', '.join(flagged)}" if flagged
                                       else "; no flagged items")


def _item_rest(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Item-rest correlations and alpha if item deleted, both from the covariance matrix.

    Removing item i leaves the total variance :math:`T - 2 r_i + c_{ii}` (r_i the row sum of C)
    and the trace :math:`\\operatorname{tr}C - c_{ii}`; the item's covariance with the rest is
    :math:`r_i - c_{ii}`. So all k deletions cost O(k^2), not k passes over the data.
    """
    k = cov.shape[0]
    var = np.diag(cov)
    row = cov.sum(axis=1)
    rest_var = cov.sum() - 2 * row + var
    with np.errstate(invalid="ignore", divide="ignore"):
        r_rest = (row - var) / np.sqrt(var * rest_var)
        if k >= 3:
            alpha_del = (k - 1) / (k - 2) * (1 - (np.trace(cov) - var) / rest_var)
        else:  # one item left: alpha is undefined
            alpha_del = np.full(k, np.nan)
    return r_rest, alpha_del


def item_analysis(items: pd.DataFrame | np.ndarray, *, scale_min: float | None = None,
                  scale_max: float | None = None, nan_policy: NanPolicy = "listwise",
                  ci_level: float = 0.95, r_rest_min: float = R_REST_MIN) -> ItemAnalysis:
    """Alpha and item statistics of one scale from a single pass over the data.

    See :func:`item_statistics` for the columns; ``alpha`` is the :class:`AlphaResult` of the
    same data and policy (without bootstrap).

    Examples
    --------
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 4], "c": [1, 3, 3, 4, 5]})
    >>> res = item_analysis(x, scale_min=1, scale_max=5)
    >>> round(res.alpha.alpha, 4), res.items["flag"].tolist()   # a and c are near copies
    (0.9451, [False, True, False])
    >>> res.items.loc[1, "flag_reason"]
    'alpha rises if deleted (0.945 -> 0.978)'
    """
    check_nan_policy(nan_policy)
    check_ci_level(ci_level)
    x, names = _item_matrix(items, check_finite=False)
    k = x.shape[1]
    mom = _moments(x, nan_policy, scale_min, scale_max)
    res = _alpha_result(mom, k, nan_policy, ci_level)
    r_rest, alpha_del = _item_rest(mom.cov)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.diag(mom.cov))
        pct = 100.0 / np.where(mom.n_item > 0, mom.n_item, np.nan)
        pct_floor = mom.n_floor * pct if mom.n_floor is not None else np.full(k, np.nan)
        pct_ceiling = mom.n_ceiling * pct if mom.n_ceiling is not None else np.full(k, np.nan)
    raises = alpha_del > res.alpha
    weak = r_rest < r_rest_min
    reasons = [
        "; ".join(([f"alpha rises if deleted ({res.alpha:.3f} -> {alpha_del[j]:.3f})"]
                   if raises[j] else [])
                  + ([f"item-rest r < {r_rest_min:.2f}"] if weak[j] else []))
        for j in range(k)
    ]
    table = pd.DataFrame({
        "item": names,
        "n": mom.n_item.astype(int),
        "mean": mom.mean,
        "sd": sd,
        "pct_missing": 100.0 * mom.n_missing / mom.n_rows if mom.n_rows else np.nan,
        "pct_floor": pct_floor,
        "pct_ceiling": pct_ceiling,
        "r_rest": r_rest,
        "alpha_if_deleted": alpha_del,
        "raises_alpha": raises,
        "weak_r_rest": weak,
        "flag": raises | weak,
        "flag_reason": reasons,
    })
    return ItemAnalysis(alpha=res, items=table)


def item_statistics(items: pd.DataFrame | np.ndarray, *, scale_min: float | None = None,
                    scale_max: float | None = None, nan_policy: NanPolicy = "listwise",
                    r_rest_min: float = R_REST_MIN) -> pd.DataFrame:
    """Classical item analysis of one scale: one row per item.

    Parameters
    ----------
    items
        One column per (already reverse-keyed) item; NaN = missing.
    scale_min, scale_max
        The *declared* response scale (e.g. 1 and 5 from the instrument file), against which
        floor and ceiling are counted - never the observed minimum and maximum, which would
        call the lowest answer anyone gave a floor. Without them those columns are NaN.
    nan_policy
        ``"listwise"`` (default): statistics on respondents who answered every item;
        ``"pairwise"``: each statistic on all answers available for it (as ``psych::alpha``).
    r_rest_min
        Threshold of the item-rest rule (default .30).

    Returns
    -------
    DataFrame
        ``item, n, mean, sd, pct_missing, pct_floor, pct_ceiling, r_rest, alpha_if_deleted,
        raises_alpha, weak_r_rest, flag, flag_reason``. ``pct_missing`` is over all rows given;
        ``pct_floor`` and ``pct_ceiling`` are % of the item's answers (in the rows used) at the
        declared minimum and maximum. ``raises_alpha``: deleting the item would raise alpha
        (alpha_if_deleted > alpha); ``weak_r_rest``: its item-rest correlation is below
        ``r_rest_min``; ``flag`` is either, and ``flag_reason`` says which in words.

    Notes
    -----
    Item-rest (corrected item-total) correlation and alpha if item deleted come from the item
    covariance matrix C, as psych computes ``r.drop`` and ``alpha.drop``, with :math:`r_i` the
    row sum of C and :math:`T = \\mathbf 1'C\\mathbf 1`:

    .. math:: r_{i,\\text{rest}} = \\frac{r_i - c_{ii}}{\\sqrt{c_{ii}(T - 2r_i + c_{ii})}},\\qquad
              \\alpha_{-i} = \\frac{k-1}{k-2}\\left(1 -
              \\frac{\\operatorname{tr}C - c_{ii}}{T - 2r_i + c_{ii}}\\right)

    The .30 cut-off for item-rest correlations is the usual rule of thumb (Nunnally & Bernstein,
    1994, *Psychometric theory*, 3rd ed.).

    Examples
    --------
    Item c was worded the other way round and not reverse-keyed:

    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 4], "c": [5, 3, 3, 4, 1]})
    >>> t = item_statistics(x, scale_min=1, scale_max=5)
    >>> t[["item", "pct_floor", "pct_ceiling", "flag"]].to_dict("list")
    {'item': ['a', 'b', 'c'], 'pct_floor': [20.0, 0.0, 20.0], 'pct_ceiling': [20.0, 20.0, 20.0],
     'flag': [True, False, True]}
    >>> t.loc[2, "flag_reason"]
    'alpha rises if deleted (-0.311 -> 0.909); item-rest r < 0.30'

    In R: ``psych::alpha(x)$item.stats`` (``r.drop``) and ``$alpha.drop``.
    """
    return item_analysis(items, scale_min=scale_min, scale_max=scale_max,
                         nan_policy=nan_policy, r_rest_min=r_rest_min).items


# =============================================================================================
# McDonald's omega from a one-factor ML model
# =============================================================================================
@dataclass(frozen=True)
class OmegaResult(Display):
    """McDonald's omega total of one scale from a one-factor model.

    ``loadings`` and ``residual_variances`` are the ML estimates on the items' covariance metric
    with the factor variance fixed to 1 (``lavaan::cfa(std.lv = TRUE)``).
    """

    n: int
    k: int
    omega: float
    ci_low: float
    ci_high: float
    ci_level: float
    n_boot: int
    loadings: tuple[float, ...]
    residual_variances: tuple[float, ...]
    converged: bool
    estimator: str = ("one-factor ML on the listwise covariance matrix (divisor N), "
                      "as lavaan::cfa(std.lv = TRUE)")
    reason: str = ""  # why omega is NaN, if it is

    def to_frame(self) -> pd.DataFrame:
        """One row: n, k, omega, CI and the estimator (loadings are in ``loadings``)."""
        row = {k: v for k, v in asdict(self).items()
               if k not in ("loadings", "residual_variances")}
        return pd.DataFrame([row])

    def summary(self) -> str:
        text = f"McDonald's omega total = {self.omega:.3f}; k = {self.k}, n = {self.n}"
        if self.n_boot:
            text += (f"; bootstrap {self.ci_level:.0%} CI [{self.ci_low:.3f}, "
                     f"{self.ci_high:.3f}] ({self.n_boot} resamples)")
        return text


def _one_factor_start(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starting values for a stack of covariance matrices ``(B, k, k)``.

    Unique variances start at :math:`(1 - 1/(2k))/(S^{-1})_{ii}` (as R's ``factanal``); the
    loadings are then the ML loadings given those uniquenesses: the scaled first eigenvector of
    :math:`\\Psi^{-1/2} S \\Psi^{-1/2}` (Joreskog, 1967).
    """
    k = s.shape[-1]
    psi = (1 - 0.5 / k) / np.diagonal(np.linalg.inv(s), axis1=-2, axis2=-1)
    root = np.sqrt(psi)
    w, v = np.linalg.eigh(s / (root[:, :, None] * root[:, None, :]))
    lam = root * v[:, :, -1] * np.sqrt(np.maximum(w[:, -1] - 1, 1e-2))[:, None]
    return lam, psi


def _one_factor_objective(lam: np.ndarray, psi: np.ndarray, s: np.ndarray,
                          logdet_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F for each matrix of the stack (inf where Sigma is not positive definite), and Sigma."""
    k = s.shape[-1]
    sigma = lam[:, :, None] * lam[:, None, :]
    sigma[:, np.arange(k), np.arange(k)] += psi
    ok = np.linalg.eigvalsh(sigma)[:, 0] > 0
    f = np.full(lam.shape[0], np.inf)
    if ok.any():
        _, logdet = np.linalg.slogdet(sigma[ok])
        inv = np.linalg.inv(sigma[ok])
        f[ok] = logdet + np.einsum("bij,bji->b", s[ok], inv) - logdet_s[ok] - k
    return f, sigma


def _one_factor_ml(s: np.ndarray, lam: np.ndarray | None = None, psi: np.ndarray | None = None,
                   max_iter: int = 200, gtol: float = 1e-10
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ML one-factor model for a stack of covariance matrices by Fisher scoring (batched).

    Minimises :math:`F = \\log|\\Sigma| + \\operatorname{tr}(S\\Sigma^{-1}) - \\log|S| - k` over
    :math:`\\Sigma = \\lambda\\lambda' + \\Psi` for every matrix at once: gradient
    :math:`\\partial F/\\partial\\lambda = 2G\\lambda`, :math:`\\partial F/\\partial\\psi_i = G_{ii}`
    with :math:`G = \\Sigma^{-1} - \\Sigma^{-1}S\\Sigma^{-1}`; expected information
    :math:`\\operatorname{tr}(\\Sigma^{-1}\\Sigma_a\\Sigma^{-1}\\Sigma_b)`, which with
    :math:`V = \\Sigma^{-1}`, :math:`u = V\\lambda`, :math:`c = \\lambda'u` is
    :math:`2(u_iu_j + cV_{ij})` (loadings), :math:`2V_{ij}u_j` (loading i, uniqueness j) and
    :math:`V_{ij}^2` (uniquenesses). Steps are halved while F does not decrease or Sigma is not
    positive definite. Unique variances are not bounded (as in lavaan), so a Heywood case shows
    as a negative value. Returns loadings (sum >= 0), unique variances and a convergence flag.
    """
    b, k, _ = s.shape
    if lam is None or psi is None:
        lam, psi = _one_factor_start(s)
    lam, psi = lam.copy(), psi.copy()
    _, logdet_s = np.linalg.slogdet(s)
    f_cur, sigma = _one_factor_objective(lam, psi, s, logdet_s)
    converged = np.zeros(b, dtype=bool)
    active = np.flatnonzero(np.isfinite(f_cur))
    for _ in range(max_iter):
        if active.size == 0:
            break
        la, ps = lam[active], psi[active]
        v = np.linalg.inv(sigma[active])
        g_mat = v - v @ s[active] @ v
        grad = np.concatenate([2 * np.einsum("bij,bj->bi", g_mat, la),
                               np.diagonal(g_mat, axis1=1, axis2=2)], axis=1)
        done = np.abs(grad).max(axis=1) < gtol
        converged[active[done]] = True
        active, la, ps, v, grad = (active[~done], la[~done], ps[~done], v[~done],
                                   grad[~done])
        if active.size == 0:
            break
        u = np.einsum("bij,bj->bi", v, la)
        c = np.einsum("bi,bi->b", la, u)
        h = np.empty((active.size, 2 * k, 2 * k))
        h[:, :k, :k] = 2 * (u[:, :, None] * u[:, None, :] + c[:, None, None] * v)
        h[:, :k, k:] = 2 * v * u[:, None, :]
        h[:, k:, :k] = h[:, :k, k:].transpose(0, 2, 1)
        h[:, k:, k:] = v * v
        step = np.einsum("bij,bj->bi", np.linalg.pinv(h, hermitian=True), grad)
        f_old = f_cur[active].copy()
        t = np.ones(active.size)
        pending = np.ones(active.size, dtype=bool)
        for _half in range(40):
            idx = np.flatnonzero(pending)
            if idx.size == 0:
                break
            rows = active[idx]
            cand_la = la[idx] - t[idx, None] * step[idx, :k]
            cand_ps = ps[idx] - t[idx, None] * step[idx, k:]
            f_c, sig_c = _one_factor_objective(cand_la, cand_ps, s[rows], logdet_s[rows])
            better = f_c <= f_old[idx]
            acc = rows[better]
            lam[acc], psi[acc], f_cur[acc], sigma[acc] = (cand_la[better], cand_ps[better],
                                                          f_c[better], sig_c[better])
            pending[idx[better]] = False
            t[idx[~better]] *= 0.5
        # No (or only a rounding-level) decrease along the scoring direction: at the optimum
        # as far as double precision can tell, if the gradient agrees.
        stalled = pending | (f_old - f_cur[active] <= 1e-13 * np.maximum(1.0, np.abs(f_old)))
        small = np.abs(grad).max(axis=1) < 1e-6
        converged[active[stalled & small]] = True
        active = active[~(stalled & small) & ~pending]
    flip = lam.sum(axis=1) < 0
    lam[flip] *= -1
    return lam, psi, converged


def _omega_from(lam: np.ndarray, psi: np.ndarray) -> np.ndarray:
    common = lam.sum(axis=-1) ** 2
    return common / (common + psi.sum(axis=-1))


def mcdonald_omega(items: pd.DataFrame | np.ndarray, *, n_boot: int = 0,
                   ci_level: float = 0.95, seed: int | np.random.Generator = 0) -> OmegaResult:
    """McDonald's omega total from a one-factor ML model, with an optional bootstrap CI.

    Parameters
    ----------
    items
        One column per (already reverse-keyed) item; respondents with a missing item are left
        out (listwise).
    n_boot
        Bootstrap resamples of respondents for a percentile CI (0 = none). All resamples are
        fitted at once (batched Fisher scoring), so 1000 take well under a second.
    ci_level, seed
        Coverage of the CI and seed (or generator) of the resampling.

    Returns
    -------
    OmegaResult
        n, k, omega, ci_low, ci_high (NaN without bootstrap), loadings, residual variances.

    Notes
    -----
    The estimator is stated because "omega" means different numbers in different programs:
    maximum likelihood for :math:`\\Sigma = \\lambda\\lambda' + \\Psi` on the item covariance
    matrix (divisor N; omega does not depend on the divisor), factor variance 1, as
    ``lavaan::cfa(model, std.lv = TRUE)``, and

    .. math:: \\omega = \\frac{(\\sum_i\\lambda_i)^2}{(\\sum_i\\lambda_i)^2 + \\sum_i\\psi_i}

    the reliability of the unit-weighted sum score that is actually reported. ``psych::omega``
    instead fits the correlation matrix and divides by the observed total variance; it can
    differ in the second decimal.

    References
    ----------
    McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=2000)
    >>> x = pd.DataFrame({f"i{j}": 0.7 * f + rng.normal(scale=0.7, size=2000) for j in range(4)})
    >>> res = mcdonald_omega(x, n_boot=200)
    >>> round(res.omega, 2), res.ci_low < res.omega < res.ci_high
    (0.8, True)

    In R: ``fit <- lavaan::cfa("f =~ i0 + i1 + i2 + i3", data = x, std.lv = TRUE)``, then
    ``sum(lambda)^2 / (sum(lambda)^2 + sum(theta))``.
    """
    check_n_boot(n_boot)
    check_ci_level(ci_level)
    x, _ = _item_matrix(items, min_items=3)
    data = x[~np.isnan(x).any(axis=1)]
    n, k = data.shape
    nan = float("nan")
    if n < k + 2:
        return OmegaResult(n=n, k=k, omega=nan, ci_low=nan, ci_high=nan, ci_level=ci_level,
                           n_boot=0, loadings=(nan,) * k, residual_variances=(nan,) * k,
                           converged=False, reason=f"too few complete respondents ({n}) for "
                                                   f"{k} items")
    d = data - data.mean(axis=0)
    s = (d.T @ d / n)[None]
    if np.linalg.eigvalsh(s[0])[0] <= 1e-12 * np.trace(s[0]):
        return OmegaResult(n=n, k=k, omega=nan, ci_low=nan, ci_high=nan, ci_level=ci_level,
                           n_boot=0, loadings=(nan,) * k, residual_variances=(nan,) * k,
                           converged=False,
                           reason="the items' covariance matrix is singular (an item without "
                                  "variance, or items that are exact copies)")
    with one_blas_thread():
        lam, psi, conv = _one_factor_ml(s)
    omega = float(_omega_from(lam, psi)[0])
    reason = "" if conv[0] else "the one-factor model did not converge"
    lo = hi = nan
    ok = 0
    if n_boot > 0:
        boots = []
        for covs in _bootstrap_covs(data, n_boot, _rng(seed), pairwise=False):
            covs *= (n - 1) / n
            good = np.linalg.eigvalsh(covs)[:, 0] > 0
            est = np.full(covs.shape[0], np.nan)
            if good.any():
                m = int(good.sum())
                bl, bp, bc = _one_factor_ml(covs[good], np.repeat(lam, m, 0),
                                            np.repeat(psi, m, 0))
                est[np.flatnonzero(good)[bc]] = _omega_from(bl[bc], bp[bc])
            boots.append(est)
        lo, hi, ok = _percentile_ci(np.concatenate(boots), ci_level)
    return OmegaResult(n=n, k=k, omega=omega, ci_low=lo, ci_high=hi, ci_level=ci_level,
                       n_boot=ok, loadings=tuple(float(v) for v in lam[0]),
                       residual_variances=tuple(float(v) for v in psi[0]),
                       converged=bool(conv[0]), reason=reason)


@dataclass(frozen=True)
class OmegaTotal(Display):
    """McDonald's omega total without a CI, and the listwise n (:func:`omega_total`)."""

    omega: float
    n: int


def omega_total(items: pd.DataFrame | np.ndarray) -> OmegaTotal:
    """McDonald's omega total and the listwise n.

    The short form of :func:`mcdonald_omega` (same estimator, no CI), kept for ``results/scales.py``.

    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=2000)
    >>> x = pd.DataFrame({f"i{j}": 0.7 * f + rng.normal(scale=0.7, size=2000) for j in range(4)})
    >>> round(omega_total(x).omega, 2)
    0.8
    """
    x, _ = _item_matrix(items)
    if x.shape[1] < 3:  # a one-factor model of two items is not identified
        return OmegaTotal(float("nan"), int((~np.isnan(x)).all(axis=1).sum()))
    res = mcdonald_omega(x)
    # results.json carries no convergence flag, so a non-converged estimate is not passed on
    return OmegaTotal(res.omega if res.converged else float("nan"), res.n)


# =============================================================================================
# confirmatory factor analysis: multi-group ML with lavaan's conventions
# =============================================================================================
@dataclass(frozen=True)
class _Layout:
    """Where each free parameter sits; index -1 marks a fixed element."""

    p: int
    m: int
    groups: int
    meanstructure: bool
    marker: np.ndarray      # (p, m): fixed loading values (1 for the marker items, else 0)
    lam: np.ndarray         # (G, p, m)
    phi: np.ndarray         # (G, m, m), symmetric
    theta: np.ndarray       # (G, p)
    nu: np.ndarray          # (G, p), all -1 without mean structure
    alpha: np.ndarray       # (G, m)
    n_par: int
    # residual covariances between item pairs (K, 2) and their parameters (G, K); none by
    # default. Longitudinal models correlate the same item's residuals across waves.
    pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=int))
    theta_off: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=int))


def _make_layout(factor_items: list[list[int]], p: int, groups: int, equal: frozenset[str],
                 meanstructure: bool) -> _Layout:
    m = len(factor_items)
    count = 0

    def new() -> int:
        nonlocal count
        count += 1
        return count - 1

    marker = np.zeros((p, m))
    lam = np.full((groups, p, m), -1)
    for j, idx in enumerate(factor_items):
        marker[idx[0], j] = 1.0  # lavaan's default: the first indicator identifies the scale
        for i in idx[1:]:
            if "loadings" in equal:
                lam[:, i, j] = new()
            else:
                for g in range(groups):
                    lam[g, i, j] = new()
    phi = np.full((groups, m, m), -1)
    theta = np.full((groups, p), -1)
    nu = np.full((groups, p), -1)
    alpha = np.full((groups, m), -1)
    for g in range(groups):
        theta[g] = [new() for _ in range(p)]
        for j in range(m):
            for l_ in range(j + 1):
                phi[g, j, l_] = phi[g, l_, j] = new()
    if meanstructure:
        if "intercepts" in equal:
            nu[:] = [new() for _ in range(p)]
            # equal intercepts leave the latent means free in all groups but the first
            for g in range(1, groups):
                alpha[g] = [new() for _ in range(m)]
        else:
            for g in range(groups):
                nu[g] = [new() for _ in range(p)]
    return _Layout(p=p, m=m, groups=groups, meanstructure=meanstructure, marker=marker,
                   lam=lam, phi=phi, theta=theta, nu=nu, alpha=alpha, n_par=count)


def _implied(par: np.ndarray, lay: _Layout, g: int):
    lam = np.where(lay.lam[g] >= 0, par[lay.lam[g]], lay.marker)
    phi = par[lay.phi[g]]
    sigma = lam @ phi @ lam.T
    sigma[np.diag_indices(lay.p)] += par[lay.theta[g]]
    if lay.pairs.size:
        i, j = lay.pairs.T
        cov = par[lay.theta_off[g]]
        sigma[i, j] += cov
        sigma[j, i] += cov
    if lay.meanstructure:
        al = np.where(lay.alpha[g] >= 0, par[lay.alpha[g]], 0.0)
        mu = par[lay.nu[g]] + lam @ al
    else:
        al, mu = np.zeros(lay.m), None
    return lam, phi, al, sigma, mu


def _derivatives(lay: _Layout, g: int, lam: np.ndarray, phi: np.ndarray, al: np.ndarray):
    """d Sigma_g / d par (P, p, p) and d mu_g / d par (P, p) for the current estimates."""
    p, n_par = lay.p, lay.n_par
    d_sig = np.zeros((n_par, p, p))
    d_mu = np.zeros((n_par, p))
    i, j = np.nonzero(lay.lam[g] >= 0)
    a = lay.lam[g][i, j]
    b = phi @ lam.T  # (m, p): row j is Phi_j. Lambda'
    d_sig[a, i, :] += b[j]
    d_sig[a, :, i] += b[j]
    if lay.meanstructure:
        d_mu[a, i] += al[j]
    jj, ll = np.tril_indices(lay.m)
    a = lay.phi[g][jj, ll]
    outer = lam.T[jj][:, :, None] * lam.T[ll][:, None, :]
    outer = outer + outer.transpose(0, 2, 1)
    outer[jj == ll] *= 0.5
    d_sig[a] += outer
    d_sig[lay.theta[g], np.arange(p), np.arange(p)] += 1.0
    if lay.pairs.size:
        i, j = lay.pairs.T
        d_sig[lay.theta_off[g], i, j] += 1.0
        d_sig[lay.theta_off[g], j, i] += 1.0
    if lay.meanstructure:
        d_mu[lay.nu[g], np.arange(p)] += 1.0
        free = np.flatnonzero(lay.alpha[g] >= 0)
        d_mu[lay.alpha[g][free]] += lam.T[free]
    return d_sig, d_mu


@dataclass(frozen=True)
class _Sample:
    cov: list[np.ndarray]   # divisor N_g (lavaan's likelihood = "normal")
    mean: list[np.ndarray]
    n: list[int]
    logdet: list[float]


def _discrepancy(par: np.ndarray, lay: _Layout, smp: _Sample, weights: np.ndarray) -> float:
    total = 0.0
    for g in range(lay.groups):
        _, _, _, sigma, mu = _implied(par, lay, g)
        try:
            c = linalg.cholesky(sigma, lower=True)
        except linalg.LinAlgError:
            return math.inf
        ci = linalg.solve_triangular(c, np.eye(lay.p), lower=True)
        v = ci.T @ ci
        f = 2 * np.log(np.diag(c)).sum() + np.sum(smp.cov[g] * v) - smp.logdet[g] - lay.p
        if mu is not None:
            d = smp.mean[g] - mu
            f += d @ v @ d
        total += weights[g] * f
    return float(total)


def _score_and_information(par, lay: _Layout, smp: _Sample, weights):
    n_par = lay.n_par
    grad = np.zeros(n_par)
    info = np.zeros((n_par, n_par))
    for g in range(lay.groups):
        lam, phi, al, sigma, mu = _implied(par, lay, g)
        c = linalg.cholesky(sigma, lower=True)
        ci = linalg.solve_triangular(c, np.eye(lay.p), lower=True)
        v = ci.T @ ci
        d_sig, d_mu = _derivatives(lay, g, lam, phi, al)
        omega = smp.cov[g]
        vd = None
        if mu is not None:
            d = smp.mean[g] - mu
            omega = omega + np.outer(d, d)
            vd = v @ d
        g_mat = v - v @ omega @ v
        grad += weights[g] * np.tensordot(d_sig, g_mat, axes=([1, 2], [0, 1]))
        # tr(V A V B) = <C^-1 A C^-T, C^-1 B C^-T>: the information is one Gram product. The
        # congruences C^-1 A C^-T for all parameters come from two flat GEMMs (A symmetric).
        half = (d_sig.reshape(-1, lay.p) @ ci.T).reshape(n_par, lay.p, lay.p)
        k_mat = half.transpose(0, 2, 1).reshape(-1, lay.p) @ ci.T
        k_mat = k_mat.reshape(n_par, -1)
        info += weights[g] * (k_mat @ k_mat.T)
        if vd is not None:
            grad -= weights[g] * 2 * (d_mu @ vd)
            dm_c = d_mu @ ci.T
            info += weights[g] * 2 * (dm_c @ dm_c.T)
    return grad, info


def _start_values(lay: _Layout, factor_items: list[list[int]], smp: _Sample) -> np.ndarray:
    """Per group: one-factor ML-given-uniqueness starts per factor, then pooled over groups."""
    acc = np.zeros(lay.n_par)
    cnt = np.zeros(lay.n_par)
    for g in range(lay.groups):
        s = smp.cov[g]
        lam = lay.marker.copy()
        theta = np.diag(s) * 0.5
        var_f = np.ones(lay.m)
        for j, idx in enumerate(factor_items):
            sub = s[np.ix_(idx, idx)]
            ld, ps = _one_factor_start(sub[None])
            ld, ps = ld[0], ps[0]
            if ld[0] < 0:
                ld = -ld
            scale = ld[0] if abs(ld[0]) > 1e-3 else 1.0
            lam[idx, j] = ld / scale
            var_f[j] = scale ** 2
            theta[idx] = np.clip(ps, 0.05 * np.diag(sub), None)
        phi = np.diag(var_f)
        for j in range(lay.m):
            for l_ in range(j):
                ij, il = factor_items[j], factor_items[l_]
                denom = lam[ij, j].sum() * lam[il, l_].sum()
                phi[j, l_] = phi[l_, j] = s[np.ix_(ij, il)].sum() / denom if denom else 0.0
        sd = np.sqrt(var_f)
        corr = phi / np.outer(sd, sd)
        np.fill_diagonal(corr, 1.0)
        corr = np.clip(corr, -0.95, 0.95)
        np.fill_diagonal(corr, 1.0)
        while np.linalg.eigvalsh(corr)[0] <= 1e-3:
            corr = 0.9 * corr + 0.1 * np.eye(lay.m)
        phi = corr * np.outer(sd, sd)
        free = lay.lam[g] >= 0
        np.add.at(acc, lay.lam[g][free], lam[free])
        np.add.at(cnt, lay.lam[g][free], 1)
        np.add.at(acc, lay.theta[g], theta)
        np.add.at(cnt, lay.theta[g], 1)
        jj, ll = np.tril_indices(lay.m)
        np.add.at(acc, lay.phi[g][jj, ll], phi[jj, ll])
        np.add.at(cnt, lay.phi[g][jj, ll], 1)
        if lay.meanstructure:
            np.add.at(acc, lay.nu[g], smp.mean[g])
            np.add.at(cnt, lay.nu[g], 1)
            free_a = lay.alpha[g] >= 0
            np.add.at(cnt, lay.alpha[g][free_a], 1)  # latent means start at 0
    return acc / np.maximum(cnt, 1)


def _fisher_scoring(par: np.ndarray, lay: _Layout, smp: _Sample, weights: np.ndarray,
                    max_iter: int = 500, gtol: float = 1e-9) -> tuple[np.ndarray, float, bool,
                                                                      int]:
    f = _discrepancy(par, lay, smp, weights)
    if not math.isfinite(f):
        raise InputError(Msg("errors.psychometrics.start_values"))
    it = 0
    for it in range(1, max_iter + 1):
        grad, info = _score_and_information(par, lay, smp, weights)
        if np.abs(grad).max() < gtol:
            return par, f, True, it
        try:
            step = linalg.cho_solve(linalg.cho_factor(info), grad)
        except (linalg.LinAlgError, ValueError):  # not identified or nearly so: least squares
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        t = 1.0
        while t > 1e-12:
            cand = par - t * step
            f_new = _discrepancy(cand, lay, smp, weights)
            if f_new <= f:
                break
            t *= 0.5
        else:  # no decrease along the scoring direction: at the optimum to rounding
            return par, f, bool(np.abs(grad).max() < 1e-6), it
        converged_f = f - f_new <= 1e-15 * max(1.0, abs(f))
        par, f = cand, f_new
        if converged_f and np.abs(grad).max() < 1e-6:
            return par, f, True, it
    grad, _ = _score_and_information(par, lay, smp, weights)
    return par, f, bool(np.abs(grad).max() < 1e-6), it


def _rmsea_ci(chisq: float, df: float, n: int, groups: int, level: float = 0.90
              ) -> tuple[float, float]:
    """RMSEA confidence limits from the noncentral chi-square (Browne & Cudeck, 1993).

    The noncentrality :math:`\\lambda` with :math:`P(\\chi^2_{df}(\\lambda) \\le X^2) = 1 - a/2`
    (lower) or :math:`a/2` (upper) gives :math:`\\sqrt{G}\\sqrt{\\lambda/(N\\,df)}`; limits that
    cannot be reached are 0, and the upper search stops at :math:`\\max(N, 4X^2)`, as in lavaan.
    """
    if df < 1 or not math.isfinite(chisq):
        return float("nan"), float("nan")
    hi_p, lo_p = 1 - (1 - level) / 2, (1 - level) / 2

    def cdf(ncp: float) -> float:
        return float(stats.chi2.cdf(chisq, df)) if ncp <= 0 else float(
            stats.ncx2.cdf(chisq, df, ncp))

    scale = math.sqrt(groups)
    if cdf(0.0) < hi_p:
        lower = 0.0
    else:
        lam_l = optimize.brentq(lambda x: cdf(x) - hi_p, 0.0, chisq, xtol=1e-12)
        lower = math.sqrt(lam_l / (n * df)) * scale
    top = max(n, 4 * chisq)
    if cdf(top) > lo_p or cdf(0.0) < lo_p:
        upper = 0.0
    else:
        lam_u = optimize.brentq(lambda x: cdf(x) - lo_p, 0.0, top, xtol=1e-12)
        upper = math.sqrt(lam_u / (n * df)) * scale
    return lower, upper


@dataclass(frozen=True)
class CfaFit(Display):
    """One fitted CFA model: test, fit indices and standardised loadings.

    ``rmsea_ci_low``/``rmsea_ci_high`` are at ``rmsea_ci_level`` (0.90, the convention for
    RMSEA). ``loadings`` is a tidy table ``group, factor, item, estimate, std_all`` (estimate:
    marker-identified; std_all: completely standardised).
    """

    groups: tuple[str, ...]
    n: int
    n_by_group: tuple[int, ...]
    equal: tuple[str, ...]
    chisq: float
    df: int
    p: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci_low: float
    rmsea_ci_high: float
    srmr: float
    npar: int
    baseline_chisq: float
    baseline_df: int
    converged: bool
    iterations: int
    rmsea_ci_level: float = 0.90
    loadings: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)

    _FIT_COLUMNS = ("chisq", "df", "p", "cfi", "tli", "rmsea", "rmsea_ci_low",
                    "rmsea_ci_high", "srmr", "npar", "n", "converged")

    def to_frame(self) -> pd.DataFrame:
        """One row of fit measures."""
        row = {k: getattr(self, k) for k in self._FIT_COLUMNS}
        row["groups"] = ", ".join(self.groups)
        row["equal"] = ", ".join(self.equal)
        row["rmsea_ci_level"] = self.rmsea_ci_level
        return pd.DataFrame([row])

    def summary(self) -> str:
        return (f"chi2({self.df}) = {self.chisq:.2f}, p = {self.p:.3g}; CFI = {self.cfi:.3f}"
                f", TLI = {self.tli:.3f}, RMSEA = {self.rmsea:.3f} "
                f"[{self.rmsea_ci_low:.3f}, {self.rmsea_ci_high:.3f}], SRMR = {self.srmr:.3f}; "
                f"n = {self.n}" + ("" if self.converged else " (NOT converged)"))


def _parse_model(data: pd.DataFrame, model: Mapping[str, Sequence[str]]
                 ) -> tuple[list[str], list[str], list[list[int]]]:
    factors = [str(f) for f in model]
    if not factors:
        raise InputError(Msg("errors.psychometrics.no_factors"))
    items: list[str] = []
    factor_items: list[list[int]] = []
    for f in factors:
        its = [str(i) for i in model[f]]
        dup = [i for i in its if i in items]
        if dup:
            raise InputError(Msg("errors.psychometrics.item_twice", dup=dup, f=repr(f)))
        if len(its) < (3 if len(factors) == 1 else 2):
            raise InputError(Msg("errors.psychometrics.factor_items", f=repr(f), n=len(its),
                                 need=3 if len(factors) == 1 else 2))
        factor_items.append(list(range(len(items), len(items) + len(its))))
        items.extend(its)
    absent = [i for i in items if i not in data.columns]
    if absent:
        raise InputError(Msg("errors.psychometrics.absent", absent=absent))
    return factors, items, factor_items


def fit_cfa(data: pd.DataFrame, model: Mapping[str, Sequence[str]], *, group: str | None = None,
            equal: Sequence[str] = (), group_order: Sequence[object] | None = None,
            max_iter: int = 500) -> CfaFit:
    """Confirmatory factor analysis by maximum likelihood, optionally across groups.

    Parameters
    ----------
    data
        One row per respondent, one numeric column per item (reverse-keyed as scored); rows with
        a missing model item (or group) are left out (listwise, as lavaan's default).
    model
        Factor name -> its items, e.g. ``{"rec": ["rec1", "rec2", ...], ...}``
        (:func:`instrument_model` builds it from an instrument). Factors covary freely.
    group
        Column whose values define the groups of a multi-group model (None = one group).
    equal
        Parameters held equal across groups: ``"loadings"`` (metric invariance) and/or
        ``"intercepts"`` (with loadings: scalar invariance; the latent means are then free in
        all but the first group), as lavaan's ``group.equal``.
    group_order
        Group values in the order wanted; default: order of first appearance (as lavaan).
    max_iter
        Maximum number of Fisher-scoring iterations.

    Returns
    -------
    CfaFit
        chisq, df, p (lavaan's ``pvalue``), cfi, tli, rmsea (+ 90 % CI), srmr, npar, converged,
        loadings table.

    Notes
    -----
    Model per group g: :math:`\\Sigma_g = \\Lambda_g\\Phi_g\\Lambda_g' + \\Theta_g`,
    :math:`\\mu_g = \\nu_g + \\Lambda_g\\alpha_g` (means only in multi-group fits), first loading
    of each factor fixed to 1. With :math:`S_g` the covariance matrix (divisor :math:`N_g`) and
    :math:`d_g = \\bar x_g - \\mu_g`, ML minimises
    :math:`F = \\sum_g \\frac{N_g}{N}\\left[\\log|\\Sigma_g| + \\operatorname{tr}(S_g\\Sigma_g^{-1})
    - \\log|S_g| - p + d_g'\\Sigma_g^{-1}d_g\\right]` (Joreskog, 1969). Then

    * :math:`\\chi^2 = N F_{\\min}`, df = sample moments - free parameters;
    * baseline: independence model (free variances and means per group),
      :math:`\\chi^2_B = \\sum_g N_g(\\sum_i\\log s_{g,ii} - \\log|S_g|)`,
      :math:`df_B = G\\,p(p-1)/2`;
    * CFI :math:`= 1 - \\max(\\chi^2 - df, 0)/\\max(\\chi^2 - df, \\chi^2_B - df_B, 0)`;
      TLI :math:`= (\\chi^2_B/df_B - \\chi^2/df)/(\\chi^2_B/df_B - 1)`;
    * RMSEA :math:`= \\sqrt{G}\\sqrt{\\max(0, \\chi^2/(N\\,df) - 1/N)}` with the noncentral
      chi-square 90 % CI;
    * SRMR (Bentler): per group the root mean square of :math:`(s_{ij} - \\sigma_{ij})/
      \\sqrt{s_{ii}s_{jj}}` over :math:`i \\le j` and, with means,
      :math:`(\\bar x_i - \\mu_i)/\\sqrt{s_{ii}}`; groups weighted by :math:`N_g/N`.

    These are lavaan's definitions (0.6, ``estimator = "ML"``, defaults), checked against it in
    the tests to 1e-6.

    References
    ----------
    Joreskog (1969), https://doi.org/10.1007/BF02289343; Browne & Cudeck (1993); Bentler (1995);
    Rosseel (2012), https://doi.org/10.18637/jss.v048.i02

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(500, 1))
    >>> x = pd.DataFrame(0.8 * f + 0.6 * rng.normal(size=(500, 4)), columns=list("abcd"))
    >>> fit = fit_cfa(x, {"f": ["a", "b", "c", "d"]})
    >>> fit.df, fit.converged, fit.cfi > 0.99
    (2, True, True)

    In R: ``lavaan::cfa("f =~ a + b + c + d", data = x)`` and ``fitMeasures(fit)``.
    """
    bad = sorted(set(equal) - {"loadings", "intercepts"})
    if bad:
        raise InputError(Msg("errors.psychometrics.equal", bad=bad))
    factors, items, factor_items = _parse_model(data, model)
    cols = items + ([group] if group is not None else [])
    if group is not None and group not in data.columns:
        raise InputError(Msg("errors.psychometrics.no_group", group=repr(group)))
    if group is not None and group in items:
        raise InputError(Msg("errors.psychometrics.group_is_item", group=repr(group)))
    sub = data[cols].dropna()
    if group is None:
        labels: list[object] = ["all"]
        parts = [sub[items].to_numpy(dtype=np.float64)]
    else:
        labels = list(group_order) if group_order is not None else list(pd.unique(sub[group]))
        parts = [sub.loc[sub[group] == lab, items].to_numpy(dtype=np.float64) for lab in labels]
    n_groups = len(labels)
    lay = _make_layout(factor_items, len(items), n_groups, frozenset(equal), n_groups > 1)
    return _fit_layout(lay, _sample_moments(labels, parts, len(items)), labels, factors, items,
                       factor_items, grouped=group is not None,
                       equal=tuple(e for e in ("loadings", "intercepts") if e in equal),
                       max_iter=max_iter)


def _sample_moments(labels: Sequence[object], parts: Sequence[np.ndarray], p: int) -> _Sample:
    """Means and covariance matrices (divisor N_g) per group, refusing unusable groups."""
    covs, means, ns, logdets = [], [], [], []
    for lab, x in zip(labels, parts, strict=True):
        n_g = x.shape[0]
        if n_g <= p:
            raise InputError(Msg("errors.psychometrics.group_small", lab=repr(lab), g=n_g, p=p))
        mean = x.mean(axis=0)
        d = x - mean
        s = d.T @ d / n_g
        sign, logdet = np.linalg.slogdet(s)
        if sign <= 0 or np.linalg.eigvalsh(s)[0] <= 1e-12 * np.trace(s):
            raise InputError(Msg("errors.psychometrics.singular", lab=repr(lab)))
        covs.append(s)
        means.append(mean)
        ns.append(n_g)
        logdets.append(logdet)
    return _Sample(cov=covs, mean=means, n=ns, logdet=logdets)


def _fit_layout(lay: _Layout, smp: _Sample, labels: Sequence[object], factors: list[str],
                items: list[str], factor_items: list[list[int]], *, grouped: bool,
                equal: tuple[str, ...], max_iter: int = 500) -> CfaFit:
    """ML fit of a laid-out model and lavaan's fit measures (see :func:`fit_cfa`)."""
    p = lay.p
    n_groups = lay.groups
    covs, means, ns, logdets = smp.cov, smp.mean, smp.n, smp.logdet
    meanstructure = lay.meanstructure
    n_total = int(sum(ns))
    weights = np.asarray(ns, dtype=float) / n_total
    with one_blas_thread():
        start = _start_values(lay, factor_items, smp)
        par, f_min, converged, iters = _fisher_scoring(start, lay, smp, weights,
                                                       max_iter=max_iter)

    moments = n_groups * (p * (p + 1) // 2 + (p if meanstructure else 0))
    df = moments - lay.n_par
    chisq = n_total * f_min
    base_chisq = float(sum(n * (np.log(np.diag(s)).sum() - ld)
                           for n, s, ld in zip(ns, covs, logdets, strict=True)))
    base_df = n_groups * p * (p - 1) // 2
    t1 = max(chisq - df, 0.0)
    t2 = max(chisq - df, base_chisq - base_df, 0.0)
    cfi = 1.0 if t2 == 0 else 1 - t1 / t2
    if df > 0:
        tli = (base_chisq / base_df - chisq / df) / (base_chisq / base_df - 1)
        rmsea = math.sqrt(max(chisq / n_total / df - 1 / n_total, 0.0)) * math.sqrt(n_groups)
        pvalue = float(stats.chi2.sf(chisq, df))
    else:  # a just-identified model reproduces the data: no test, perfect fit by definition
        tli, rmsea, pvalue = 1.0, 0.0, float("nan")
    lo, hi = _rmsea_ci(chisq, df, n_total, n_groups)

    srmr = 0.0
    rows = []
    for g in range(n_groups):
        lam, phi, _, sigma, mu = _implied(par, lay, g)
        sd = np.sqrt(np.diag(covs[g]))
        res = (covs[g] - sigma) / np.outer(sd, sd)
        sq = np.sum(res[np.tril_indices(p)] ** 2)
        count = p * (p + 1) / 2
        if mu is not None:
            sq += np.sum(((means[g] - mu) / sd) ** 2)
            count += p
        srmr += weights[g] * math.sqrt(sq / count)
        std = lam * np.sqrt(np.diag(phi))[None, :] / np.sqrt(np.diag(sigma))[:, None]
        for j, f_name in enumerate(factors):
            for i in factor_items[j]:
                rows.append({"group": str(labels[g]), "factor": f_name, "item": items[i],
                             "estimate": lam[i, j], "std_all": std[i, j]})
    return CfaFit(groups=tuple(str(v) for v in labels) if grouped else (),
                  n=n_total, n_by_group=tuple(int(v) for v in ns),
                  equal=equal,
                  chisq=float(chisq), df=int(df), p=pvalue, cfi=float(cfi),
                  tli=float(tli), rmsea=float(rmsea), rmsea_ci_low=float(lo),
                  rmsea_ci_high=float(hi), srmr=float(srmr), npar=int(lay.n_par),
                  baseline_chisq=base_chisq, baseline_df=int(base_df), converged=converged,
                  iterations=iters, loadings=pd.DataFrame(rows))


# =============================================================================================
# measurement invariance
# =============================================================================================
_LEVELS = {"configural": (), "metric": ("loadings",), "scalar": ("loadings", "intercepts")}


@dataclass(frozen=True)
class InvarianceResult(Display):
    """Configural, metric and scalar fits across groups, compared by Chen's (2007) rule.

    A more constrained model is supported when
    :math:`\\Delta\\text{CFI} \\ge` ``delta_cfi_min`` (-.010) **and**
    :math:`\\Delta\\text{RMSEA} \\le` ``delta_rmsea_max`` (.015), with
    :math:`\\Delta` = constrained minus less constrained.
    """

    group: str
    groups: tuple[str, ...]
    configural: CfaFit
    metric: CfaFit
    scalar: CfaFit
    delta_cfi_min: float = CHEN_DELTA_CFI
    delta_rmsea_max: float = CHEN_DELTA_RMSEA

    @property
    def rule(self) -> str:
        return (f"Chen (2007): invariance supported when delta CFI >= {self.delta_cfi_min:.3f} "
                f"and delta RMSEA <= {self.delta_rmsea_max:.3f} (constrained minus less "
                "constrained model)")

    def to_frame(self) -> pd.DataFrame:
        """One row per level with its fit, the changes from the level below and the decision."""
        rows = []
        prev: CfaFit | None = None
        for level in _LEVELS:
            fit: CfaFit = getattr(self, level)
            row = {"level": level, **fit.to_frame().iloc[0].to_dict()}
            if prev is None:
                row.update(delta_chisq=np.nan, delta_df=np.nan, p_lrt=np.nan, delta_cfi=np.nan,
                           delta_rmsea=np.nan, delta_srmr=np.nan, supported=None)
            else:
                dchi, ddf = fit.chisq - prev.chisq, fit.df - prev.df
                dcfi, drmsea = fit.cfi - prev.cfi, fit.rmsea - prev.rmsea
                row.update(delta_chisq=dchi, delta_df=ddf,
                           p_lrt=float(stats.chi2.sf(dchi, ddf)) if ddf > 0 else np.nan,
                           delta_cfi=dcfi, delta_rmsea=drmsea, delta_srmr=fit.srmr - prev.srmr,
                           supported=bool(dcfi >= self.delta_cfi_min
                                          and drmsea <= self.delta_rmsea_max))
            row["rule"] = self.rule
            rows.append(row)
            prev = fit
        return pd.DataFrame(rows)

    def summary(self) -> str:
        t = self.to_frame()
        parts = [f"{r.level}: CFI {r.cfi:.3f}, RMSEA {r.rmsea:.3f}"
                 + ("" if r.supported is None else
                    f" (dCFI {r.delta_cfi:+.3f}, dRMSEA {r.delta_rmsea:+.3f}: "
                    f"{'supported' if r.supported else 'not supported'})")
                 for r in t.itertuples()]
        return "; ".join(parts) + f". {self.rule}."


def measurement_invariance(data: pd.DataFrame, model: Mapping[str, Sequence[str]], group: str,
                           *, group_order: Sequence[object] | None = None,
                           delta_cfi_min: float = CHEN_DELTA_CFI,
                           delta_rmsea_max: float = CHEN_DELTA_RMSEA) -> InvarianceResult:
    """Measurement invariance across groups: configural, metric and scalar CFA models.

    Parameters
    ----------
    data, model, group, group_order
        As in :func:`fit_cfa`.
    delta_cfi_min, delta_rmsea_max
        The decision rule; defaults from Chen (2007).

    Returns
    -------
    InvarianceResult
        The three fits; ``to_frame()`` gives one row per level with delta_chisq, delta_df,
        p_lrt (chi-square difference test), delta_cfi, delta_rmsea, delta_srmr and
        ``supported``.

    Notes
    -----
    Configural: same pattern, all parameters free per group. Metric: loadings equal. Scalar:
    loadings and intercepts equal, latent means free beyond the first group. Each level is
    compared with the one below: :math:`\\Delta\\text{CFI} = \\text{CFI}_{\\text{constrained}} -
    \\text{CFI}_{\\text{free}}`, likewise RMSEA. Chen (2007) recommends judging invariance by
    :math:`\\Delta\\text{CFI} \\ge -.010` together with :math:`\\Delta\\text{RMSEA} \\le .015`
    rather than by the chi-square difference test, which rejects trivial differences in large
    samples; the test is reported beside it.

    References
    ----------
    Chen, F. F. (2007). *Structural Equation Modeling, 14*, 464-504.
    https://doi.org/10.1080/10705510701301834

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> f = rng.normal(size=(600, 1))
    >>> x = pd.DataFrame(0.8 * f + 0.6 * rng.normal(size=(600, 4)), columns=list("abcd"))
    >>> x["g"] = np.repeat(["p", "q"], 300)
    >>> res = measurement_invariance(x, {"f": list("abcd")}, "g")
    >>> res.to_frame()["supported"].tolist()
    [None, True, True]

    In R: ``lavaan::cfa(model, data, group = "g", group.equal = c("loadings", "intercepts"))``.
    """
    fits = {level: fit_cfa(data, model, group=group, equal=eq, group_order=group_order)
            for level, eq in _LEVELS.items()}
    return InvarianceResult(group=group, groups=fits["configural"].groups, **fits,
                            delta_cfi_min=delta_cfi_min, delta_rmsea_max=delta_rmsea_max)


# =============================================================================================
# an instrument as a measurement model
# =============================================================================================
def instrument_model(instrument: Instrument | str) -> dict[str, tuple[str, ...]]:
    """The instrument's measurement model: each scale a factor, its items the indicators.

    >>> instrument_model("partnerschap")["reciprocity"]
    ('rec1', 'rec2', 'rec3', 'rec4', 'rec5')
    """
    inst = resolve_instrument(instrument)
    return {s.id: tuple(s.items) for s in inst.scales}
