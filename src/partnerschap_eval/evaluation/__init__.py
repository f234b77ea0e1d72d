"""Pre/post evaluation: pairing, paired tests, effect sizes, reliable change, role gaps,
attrition, sensitivity and the multilevel model.

Every effect size is named for what it is (Lakens, 2013):

* ``d_z``  = mean difference / SD of the differences (the paired t's effect size),
* ``d_av`` = mean difference / mean of the two SDs, ``(SD_pre + SD_post) / 2`` (Lakens' d_av;
  R's effectsize ``rm_d(method = "av")`` divides by the root mean variance instead),
* ``g_av`` = ``d_av`` x Hedges' J with the approximation J = 1 - 3 / (4 df - 1), df = n - 1,
* ``hedges_g`` (two independent groups, used for attrition) = pooled-SD d x the *exact* J
  (Gamma form), as R's ``effectsize::hedges_g``.

Differences are always last wave minus first wave, so a positive value is an increase.

The multilevel model ``score ~ wave (+ role) + (1 | school/respondent)`` is fitted by an exact
profiled REML written for this two-level random-intercept model (:func:`fit_random_intercepts`):
per school the covariance has a closed-form inverse, so after one pass over the data each
likelihood evaluation costs O(schools), not O(rows). statsmodels' ``MixedLM`` stays available
as the reference implementation (``mixed_model(..., engine="statsmodels")``).

References
----------
Lakens, D. (2013). Calculating and reporting effect sizes to facilitate cumulative science.
*Frontiers in Psychology, 4*, 863. https://doi.org/10.3389/fpsyg.2013.00863

Jacobson, N. S., & Truax, P. (1991). Clinical significance. *J. Consult. Clin. Psychol., 59*,
12-19. https://doi.org/10.1037/0022-006X.59.1.12

Steiger, J. H., & Fouladi, R. T. (1997). Noncentrality interval estimation and the evaluation
of statistical models. In *What if there were no significance tests?* (pp. 221-257). Erlbaum.

Bates, D., Maechler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects models
using lme4. *J. Stat. Softw., 67*(1). https://doi.org/10.18637/jss.v067.i01
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from .._display import Display, Interval
from .._validate import check_ci_level, check_number, check_probability
from ..errors import Msg, ParameterError

__all__ = [
    "PairedResult", "WilcoxonResult", "ReliableChange", "WelchResult", "HedgesG", "RoleGap",
    "Attrition", "RandomInterceptFit", "MixedModelResult",
    "paired_scores", "paired_test", "ncp_ci", "ncp_ci_frame", "dz_ci", "dz_ci_frame", "Interval",
    "wilcoxon_signed_rank",
    "reliable_change", "bh_adjust", "design_effect", "hedges_j", "welch_test", "hedges_g",
    "role_gap", "unpaired_at_wave", "Unpaired", "attrition", "min_detectable_dz", "fit_random_intercepts", "mixed_model",
    "PROFESSIONAL_ROLES", "CHANGE_EDGES", "change_distribution", "WILCOXON_DECIMALS",
]

#: Roles pooled as "professionals" in the parent-professional gap (DOMAIN.md: who fills in what).
PROFESSIONAL_ROLES = ("teacher", "youthworker", "coordinator")


# ---------------------------------------------------------------------------------------------
# noncentral t limits (vectorised)
# ---------------------------------------------------------------------------------------------
def _nct_cdf(t: np.ndarray, df: np.ndarray, ncp: np.ndarray) -> np.ndarray:
    v = stats.nct.cdf(t, df, ncp)
    bad = ~np.isfinite(v)
    if bad.any():
        # SciPy's nct.cdf can return NaN far in the tails; there the cdf is 1 (ncp << t) or 0.
        v = np.where(bad, np.where(ncp < t, 1.0, 0.0), v)
    return v


def _solve_ncp(t: np.ndarray, df: np.ndarray, target: float) -> np.ndarray:
    """Root in ``ncp`` of ``P(T_{df, ncp} <= t) = target`` for every element (the cdf falls as
    ncp grows). Bracket, then the Illinois variant of regula falsi, which keeps the bracket and
    converges superlinearly; all elements are iterated together so thousands of limits cost
    about as much as one."""
    ok = np.isfinite(t)
    out = np.full(t.shape, np.nan)
    if not ok.any():
        return out
    t, df = t[ok], df[ok]
    step = 4.0 * np.sqrt(1.0 + t * t / (2.0 * df))  # ~4 SE of the noncentrality estimate
    a, b = t - step, t + step
    fa = _nct_cdf(t, df, a) - target
    for _ in range(200):
        low = fa < 0
        if not low.any():
            break
        a = np.where(low, a - step, a)
        fa = np.where(low, _nct_cdf(t, df, a) - target, fa)
    fb = _nct_cdf(t, df, b) - target
    for _ in range(200):
        high = fb > 0
        if not high.any():
            break
        b = np.where(high, b + step, b)
        fb = np.where(high, _nct_cdf(t, df, b) - target, fb)
    done = (fa == 0) | (fb == 0)
    root = np.where(fa == 0, a, b)
    for _ in range(200):
        with np.errstate(invalid="ignore", divide="ignore"):
            c = b - fb * (b - a) / (fb - fa)
        # fall back to bisection where the secant leaves the bracket (flat or NaN pieces)
        inside = (c > np.minimum(a, b)) & (c < np.maximum(a, b))
        c = np.where(inside, c, 0.5 * (a + b))
        fc = _nct_cdf(t, df, c) - target
        same = np.sign(fc) == np.sign(fb)
        a, fa = np.where(same, a, b), np.where(same, 0.5 * fa, fb)
        b, fb = c, fc
        root = np.where(done, root, b)
        done |= (fc == 0) | (np.abs(b - a) <= 1e-12 + 4e-16 * np.abs(b))
        if done.all():
            break
    out[ok] = root
    return out


def _ncp_limits(t: np.ndarray, df: np.ndarray, ci_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper noncentrality limits of 1-d float arrays (one pair per element)."""
    alpha = 1 - ci_level
    return _solve_ncp(t, df, 1 - alpha / 2), _solve_ncp(t, df, alpha / 2)


def _flat(**arrays) -> list[np.ndarray]:
    """Broadcast array-likes to one 1-d float array each (C order)."""
    return [np.atleast_1d(a).astype(float).ravel() for a in
            np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in arrays.values()))]


def ncp_ci(t: float, df: float, ci_level: float = 0.95) -> Interval:
    """Confidence limits of a noncentrality parameter by inverting the noncentral t.

    The lower limit :math:`\\lambda_L` solves :math:`P(T_{df,\\lambda_L} \\le t) = 1 - a/2`, the
    upper :math:`P(T_{df,\\lambda_U} \\le t) = a/2` (Steiger & Fouladi, 1997); solved to ~1e-12.
    One interval; :func:`ncp_ci_frame` takes arrays.

    >>> ci = ncp_ci(4.062127683, 9)         # R: 1.311168 6.697756 (uniroot on pt())
    >>> round(ci.low, 6), round(ci.high, 6)
    (1.311168, 6.697756)
    """
    ci_level = check_ci_level(ci_level)
    t_arr = np.array([check_number(t, "t", "ncp_ci_frame")])
    df_arr = np.array([check_number(df, "df", "ncp_ci_frame")])
    lo, hi = _ncp_limits(t_arr, df_arr, ci_level)
    return Interval(float(lo[0]), float(hi[0]), ci_level)


def ncp_ci_frame(t: float | np.ndarray, df: float | np.ndarray,
                 ci_level: float = 0.95) -> pd.DataFrame:
    """:func:`ncp_ci` of many values at once: one row per element of ``t`` and ``df``
    (broadcast against each other, flattened in C order), columns ``low, high, level``.

    All elements are solved together, so thousands of limits cost about as much as one.

    At t = 0 the limits are :math:`\\pm z_{1-a/2}`, because :math:`P(T_{df,\\lambda} \\le 0) =
    \\Phi(-\\lambda)`:

    >>> ncp_ci_frame([4.062127683, 0.0], 9).round(6).values.tolist()
    [[1.311168, 6.697756, 0.95], [-1.959964, 1.959964, 0.95]]
    """
    ci_level = check_ci_level(ci_level)
    t_arr, df_arr = _flat(t=t, df=df)
    lo, hi = _ncp_limits(t_arr, df_arr, ci_level)
    return pd.DataFrame({"low": lo, "high": hi, "level": ci_level})


def dz_ci(t: float, n: int, ci_level: float = 0.95) -> Interval:
    """Confidence interval of d_z: the noncentral-t limits of the paired t divided by √n.

    :math:`[\\lambda_L, \\lambda_U]/\\sqrt n` with df = n - 1 (:func:`ncp_ci`; as R's effectsize,
    which solves the same equations less tightly with ``optim``). One interval;
    :func:`dz_ci_frame` takes arrays.

    >>> ci = dz_ci(4.062128, 10)   # R sleep data: 0.415, 2.118
    >>> round(ci.low, 3), round(ci.high, 3)
    (0.415, 2.118)
    """
    ci_level = check_ci_level(ci_level)
    n_f = check_number(n, "n", "dz_ci_frame")
    t_arr = np.array([check_number(t, "t", "dz_ci_frame")])
    lo, hi = _ncp_limits(t_arr, np.array([n_f - 1]), ci_level)
    root = math.sqrt(n_f)
    return Interval(float(lo[0]) / root, float(hi[0]) / root, ci_level)


def dz_ci_frame(t: float | np.ndarray, n: int | np.ndarray,
                ci_level: float = 0.95) -> pd.DataFrame:
    """:func:`dz_ci` of many paired t values at once: one row per element of ``t`` and ``n``
    (broadcast, flattened in C order), columns ``low, high, level``.

    >>> dz_ci_frame([4.062128, -4.062128], 10).round(3)[["low", "high"]].values.tolist()
    [[0.415, 2.118], [-2.118, -0.415]]
    """
    ci_level = check_ci_level(ci_level)
    t_arr, n_arr = _flat(t=t, n=n)
    lo, hi = _ncp_limits(t_arr, n_arr - 1, ci_level)
    root = np.sqrt(n_arr)
    return pd.DataFrame({"low": lo / root, "high": hi / root, "level": ci_level})


def hedges_j(df: float, method: str = "approx") -> float:
    """Hedges' small-sample correction J for ``df`` degrees of freedom.

    ``"approx"``: :math:`J = 1 - 3/(4\\,df - 1)` (Hedges, 1981, eq. 6e; used for ``g_av``);
    ``"exact"``: :math:`J = \\Gamma(df/2) / (\\sqrt{df/2}\\,\\Gamma((df - 1)/2))`, through
    log-gamma because Γ overflows beyond df ≈ 340 (used for ``hedges_g``, as R's effectsize).

    >>> round(hedges_j(9), 6), round(hedges_j(9, "exact"), 6)   # R: 0.914286 0.913875
    (0.914286, 0.913875)
    """
    if method == "approx":
        return 1 - 3 / (4 * df - 1)
    if method == "exact":
        return math.exp(special.gammaln(df / 2) - 0.5 * math.log(df / 2)
                        - special.gammaln((df - 1) / 2))
    raise ParameterError(Msg("errors.evaluation.hedges_method", value=repr(method)))


# ---------------------------------------------------------------------------------------------
# paired pre/post
# ---------------------------------------------------------------------------------------------
#: Decimals to which paired differences are rounded before the Wilcoxon ranks are formed.
WILCOXON_DECIMALS = 9


@dataclass(frozen=True)
class WilcoxonResult(Display):
    """Wilcoxon signed-rank test; ``statistic`` is R's V (sum of the positive ranks)."""

    statistic: float
    p: float
    n_nonzero: int


@dataclass(frozen=True)
class PairedResult(Display):
    """Paired pre/post comparison of one score (post minus pre)."""

    n: int
    mean_pre: float
    mean_post: float
    sd_pre: float
    sd_post: float
    mean_diff: float
    sd_diff: float
    t: float
    df: int
    p: float
    ci_low: float
    ci_high: float
    d_z: float
    d_z_ci_low: float
    d_z_ci_high: float
    d_av: float
    d_av_ci_low: float
    d_av_ci_high: float
    g_av: float
    wilcoxon: WilcoxonResult
    ci_level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        """One row, flat columns (``wilcoxon_v``, ``wilcoxon_p``)."""
        d = asdict(self)
        w = d.pop("wilcoxon")
        d["wilcoxon_v"], d["wilcoxon_p"] = w["statistic"], w["p"]
        return pd.DataFrame([d])

    def summary(self) -> str:
        return (f"n = {self.n}, M_diff = {self.mean_diff:.3f} "
                f"[{self.ci_low:.3f}, {self.ci_high:.3f}], t({self.df}) = {self.t:.3f}, "
                f"p = {self.p:.4g}, d_z = {self.d_z:.3f} [{self.d_z_ci_low:.3f}, "
                f"{self.d_z_ci_high:.3f}], d_av = {self.d_av:.3f}, g_av = {self.g_av:.3f}, "
                f"V = {self.wilcoxon.statistic:g} (p = {self.wilcoxon.p:.4g})")


def paired_scores(scores: pd.DataFrame, scale: str, first: str, last: str) -> pd.DataFrame:
    """Respondents with a valid ``scale`` score at both waves.

    Returns a tidy frame ``respondent_id, role, school_id, pre, post`` (``pre`` = ``first``
    wave, ``post`` = ``last`` wave), sorted by respondent id. Role and school are taken from
    the first wave. Middle waves are ignored.

    >>> s = pd.DataFrame({"respondent_id": ["a", "a", "b", "c", "c"],
    ...                   "wave": ["pre", "post", "pre", "pre", "post"],
    ...                   "role": "parent", "school_id": "S1", "x": [1., 2, 3, 4, None]})
    >>> paired_scores(s, "x", "pre", "post")[["respondent_id", "pre", "post"]].values.tolist()
    [['a', 1.0, 2.0]]
    """
    keep = scores[["respondent_id", "wave", "role", "school_id", scale]].dropna(subset=[scale])
    pre = keep[keep["wave"] == first].set_index("respondent_id")
    post = keep[keep["wave"] == last].set_index("respondent_id")
    both = pre[["role", "school_id", scale]].rename(columns={scale: "pre"}).join(
        post[[scale]].rename(columns={scale: "post"}), how="inner")
    return both.reset_index().sort_values("respondent_id", kind="stable").reset_index(drop=True)


def wilcoxon_signed_rank(diff: np.ndarray) -> WilcoxonResult:
    """Wilcoxon signed-rank test as R's ``wilcox.test(paired = TRUE, exact = FALSE)``.

    The differences are first rounded to ``WILCOXON_DECIMALS`` (9) decimals, so differences of
    scale means that are equal in decimals but not in binary (0.15 vs 0.1 + 0.05) tie, as they
    do in R with ``digits.rank = 7`` (R's default ``digits.rank = Inf`` ranks the raw doubles
    and splits such ties). Zero differences -- after rounding, so a 1e-17 left over from
    floating point counts as no change -- are dropped; ties get average ranks; V is the sum of
    the ranks of the positive differences; the p-value uses the normal approximation with the
    tie-corrected variance and a continuity correction of 0.5 towards the mean:

    .. math:: z = \\frac{V - n(n+1)/4 - \\tfrac12\\,\\mathrm{sign}(V - n(n+1)/4)}
                        {\\sqrt{n(n+1)(2n+1)/24 - \\sum_j (t_j^3 - t_j)/48}}

    Memory and time are O(n log n) (SciPy's ``wilcoxon`` reports min(T+, T-) instead of V).

    >>> r = wilcoxon_signed_rank(np.array([1.2, 2.4, 1.3, 1.3, 0, 1, 1.8, .8, 4.6, 1.4]))
    >>> r.statistic, round(r.p, 6)    # R: V = 45, p-value = 0.009091
    (45.0, 0.009091)
    """
    # absolute rounding: scores live on fixed scales (1-5, 0-100), where 1e-9 is far below any
    # real difference and far above the ~1e-15 error of a mean of a few answers
    d = np.round(np.asarray(diff, dtype=float), WILCOXON_DECIMALS)
    d = d[d != 0]
    n = d.size
    if n == 0:
        return WilcoxonResult(statistic=0.0, p=float("nan"), n_nonzero=0)
    ranks = stats.rankdata(np.abs(d))
    v = float(ranks[d > 0].sum())
    _, counts = np.unique(ranks, return_counts=True)
    counts = counts.astype(float)
    sigma = math.sqrt(n * (n + 1) * (2 * n + 1) / 24 - np.sum(counts**3 - counts) / 48)
    z = v - n * (n + 1) / 4
    if sigma == 0:
        return WilcoxonResult(statistic=v, p=float("nan"), n_nonzero=n)
    z = (z - 0.5 * np.sign(z)) / sigma
    p = 2 * min(stats.norm.cdf(z), stats.norm.sf(z))
    return WilcoxonResult(statistic=v, p=float(min(p, 1.0)), n_nonzero=n)


def paired_test(pre: np.ndarray | pd.Series, post: np.ndarray | pd.Series,
                ci_level: float = 0.95) -> PairedResult:
    """Paired t test of ``post - pre`` with d_z, d_av, g_av and the Wilcoxon signed-rank test.

    Parameters
    ----------
    pre, post
        Scores of the same respondents at the first and the last wave (no missing values).
    ci_level
        Confidence level of every interval.

    Notes
    -----
    :math:`t = \\bar D / (s_D/\\sqrt n)` with :math:`df = n - 1`; CI of the mean difference
    :math:`\\bar D \\pm t_{1-a/2, df}\\, s_D/\\sqrt n` (R's ``t.test(post, pre, paired = TRUE)``).
    :math:`d_z = \\bar D/s_D` with the noncentral-t CI (:func:`dz_ci`).
    :math:`d_{av} = \\bar D / ((s_{pre} + s_{post})/2)` (Lakens, 2013, eq. 10); its CI rescales the
    d_z limits by :math:`s_D / s_{av}`, i.e. the noncentral-t interval of the paired t expressed
    on the d_av metric with the SDs treated as fixed (Algina & Keselman, 2003, *Educ. Psychol.
    Meas.* 63, 537-553) -- approximate, unlike the d_z interval.
    :math:`g_{av} = d_{av}\\,J` with the approximate :math:`J = 1 - 3/(4\\,df - 1)`
    (:func:`hedges_j`); the exact Gamma form differs by < 0.1 % from n = 10 on.

    Examples
    --------
    R's ``sleep`` data (``t.test(extra[group == 2], extra[group == 1], paired = TRUE)``:
    t = 4.0621, df = 9, p-value = 0.002833):

    >>> g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    >>> g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    >>> r = paired_test(np.array(g1), np.array(g2))
    >>> round(r.t, 4), r.df, round(r.p, 6), round(r.d_z, 4), round(r.d_av, 4)
    (4.0621, 9, 0.002833, 1.2846, 0.8335)
    """
    check_ci_level(ci_level)
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    n = pre.size
    diff = post - pre
    mean_diff = float(diff.mean())
    sd_pre, sd_post, sd_diff = (float(np.std(x, ddof=1)) for x in (pre, post, diff))
    df = n - 1
    se = sd_diff / math.sqrt(n)
    t = mean_diff / se if se > 0 else float("nan")
    p = float(2 * stats.t.sf(abs(t), df)) if np.isfinite(t) else float("nan")
    q = float(stats.t.ppf(1 - (1 - ci_level) / 2, df))
    d_z = mean_diff / sd_diff if sd_diff > 0 else float("nan")
    ci_z = dz_ci(t, n, ci_level) if np.isfinite(t) else Interval(math.nan, math.nan, ci_level)
    lo_z, hi_z = ci_z.low, ci_z.high
    sd_av = (sd_pre + sd_post) / 2
    d_av = mean_diff / sd_av if sd_av > 0 else float("nan")
    scale = sd_diff / sd_av if sd_av > 0 else float("nan")
    return PairedResult(
        n=n, mean_pre=float(pre.mean()), mean_post=float(post.mean()), sd_pre=sd_pre,
        sd_post=sd_post, mean_diff=mean_diff, sd_diff=sd_diff, t=float(t), df=df, p=p,
        ci_low=mean_diff - q * se, ci_high=mean_diff + q * se, d_z=d_z, d_z_ci_low=lo_z,
        d_z_ci_high=hi_z, d_av=d_av, d_av_ci_low=lo_z * scale, d_av_ci_high=hi_z * scale,
        g_av=d_av * hedges_j(df), wilcoxon=wilcoxon_signed_rank(diff), ci_level=ci_level,
    )


@dataclass(frozen=True)
class ReliableChange(Display):
    """Jacobson-Truax reliable change counts (see :func:`reliable_change`)."""

    improved: int
    deteriorated: int
    unchanged: int
    s_diff: float
    r_xx: float
    sd_pre: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


#: Inner bin edges for change scores on a scale mean (post - pre): half-point bins centred on
#: -1.5, -1, ..., +1.5, with open tails below -1.75 and from +1.75 up. Differences of 4- or
#: 8-item means can fall exactly on an edge (0.25 = 1/4): they go to the bin that starts there,
#: decided exactly (see ``resolution`` in :func:`change_distribution`).
CHANGE_EDGES = (-1.75, -1.25, -0.75, -0.25, 0.25, 0.75, 1.25, 1.75)


def change_distribution(pre: np.ndarray, post: np.ndarray,
                        edges: tuple[float, ...] = CHANGE_EDGES,
                        resolution: float | None = None) -> pd.DataFrame:
    """How many pairs changed by about how much: counts of :math:`d_i = post_i - pre_i` per bin.

    Bins are :math:`(-\\infty, e_1), [e_1, e_2), \\dots, [e_k, \\infty)` for the inner edges
    :math:`e_1 < \\dots < e_k`; ``centre`` is the midpoint of an inner bin and, for the tails,
    the edge plus or minus half the neighbouring bin width. A histogram of the paired
    differences is the distribution the paired t test and d_z summarise (Lakens, 2013).

    A difference exactly on an edge belongs to the bin that starts there, and "exactly" is
    decided without floating-point noise: with ``resolution`` (the step between the scores a
    scale can take, :func:`partnerschap_eval.evaluation.ties.score_resolution`) each difference
    is snapped to its multiple :math:`j r` of the resolution and compared in whole steps with
    the edges (also in steps), so 3.35 - 3.1 lands where 0.25 does; a difference that is no
    multiple of the resolution is refused (the resolution is wrong for these scores). Without
    it, differences are rounded to ``WILCOXON_DECIMALS`` decimals first.

    >>> change_distribution(np.array([3.0, 3, 3, 2]), np.array([3.2, 4, 1, 4.5]),
    ...                     edges=(-0.5, 0.5, 1.5))[["centre", "n"]].values.tolist()
    [[-1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]]
    """
    inner = np.asarray(edges, dtype=float)
    if inner.ndim != 1 or inner.size < 1 or np.any(np.diff(inner) <= 0):
        raise ParameterError(Msg("errors.evaluation.edges"))
    diff = np.asarray(post, dtype=float) - np.asarray(pre, dtype=float)
    diff = diff[np.isfinite(diff)]
    if resolution is None:
        where, cuts = np.round(diff, WILCOXON_DECIMALS), inner
    else:
        if not (np.isfinite(resolution) and resolution > 0):
            raise ParameterError(Msg("errors.evaluation.resolution", value=repr(resolution)))
        steps = diff / resolution
        where = np.rint(steps)
        off = np.abs(steps - where)
        if off.size and off.max() > 1e-6:
            bad = float(diff[np.argmax(off)])
            raise ParameterError(Msg("errors.evaluation.not_multiple", diff=repr(bad),
                                     resolution=repr(resolution)))
        # an edge within rounding of a whole step is that step, so it compares exactly
        cuts = inner / resolution
        cuts = np.where(np.abs(cuts - np.rint(cuts)) < 1e-6, np.rint(cuts), cuts)
    # side="right": a difference equal to an edge belongs to the bin that starts there
    counts = np.bincount(np.searchsorted(cuts, where, side="right"), minlength=inner.size + 1)
    low = np.concatenate([[-np.inf], inner])
    high = np.concatenate([inner, [np.inf]])
    width_first = inner[1] - inner[0] if inner.size > 1 else 1.0
    width_last = inner[-1] - inner[-2] if inner.size > 1 else 1.0
    centre = np.concatenate([[inner[0] - width_first / 2], (inner[:-1] + inner[1:]) / 2,
                             [inner[-1] + width_last / 2]])
    return pd.DataFrame({"low": low, "high": high, "centre": centre,
                         "n": counts.astype(float)})


def reliable_change(pre: np.ndarray, post: np.ndarray, r_xx: float,
                    criterion: float = 1.96, sd_pre: float | None = None) -> ReliableChange:
    """Jacobson-Truax reliable change counts.

    :math:`RC = (x_{post} - x_{pre}) / S_{diff}` with :math:`S_{diff} = \\sqrt2\\, SD_{pre}
    \\sqrt{1 - r_{xx}}`; ``SD_pre`` is the SD of the paired pre scores (or the given
    ``sd_pre``, e.g. the whole sample's when counting within one role, so that every respondent
    is classified by the same criterion) and ``r_xx`` the pre-wave reliability. RC above
    ``criterion`` is reliable improvement, below ``-criterion`` reliable deterioration.

    >>> reliable_change(np.array([1., 2, 3, 4]), np.array([3., 2, 3, 1]), r_xx=0.8)
    ReliableChange(improved=1, deteriorated=1, unchanged=2, s_diff=0.816..., r_xx=0.8, sd_pre=1.29...)
    """
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    sd = float(np.std(pre, ddof=1)) if sd_pre is None else float(sd_pre)
    s_diff = math.sqrt(2) * sd * math.sqrt(1 - r_xx)
    rc = (post - pre) / s_diff
    improved = int(np.sum(rc > criterion))
    deteriorated = int(np.sum(rc < -criterion))
    return ReliableChange(improved=improved, deteriorated=deteriorated,
                          unchanged=int(pre.size - improved - deteriorated),
                          s_diff=s_diff, r_xx=float(r_xx), sd_pre=sd)


def bh_adjust(p: np.ndarray | list[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (as R's ``p.adjust(p, "BH")``); NaN stays NaN.

    :math:`p^{adj}_{(i)} = \\min_{j \\ge i} \\min(1, m\\,p_{(j)}/j)` over the m non-missing p.

    >>> bh_adjust([.01, .04, .03, .005, .20]).round(3).tolist()
    [0.025, 0.05, 0.05, 0.025, 0.2]
    """
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")[::-1]
    ranked = q[order] * m / np.arange(m, 0, -1)
    adj = np.minimum(1, np.minimum.accumulate(ranked))
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


def design_effect(icc: float, cluster_size: float) -> float:
    """Kish's design effect :math:`1 + (m - 1)\\,ICC` for clusters of average size m.

    The factor by which clustering inflates the variance of a mean compared with a simple random
    sample of the same size (Kish, 1965, *Survey sampling*, Wiley, section 5.4).

    >>> round(design_effect(0.05, 25), 12)
    2.2
    """
    return 1 + (cluster_size - 1) * icc


# ---------------------------------------------------------------------------------------------
# two independent groups: Welch t, Hedges' g; parent-professional gap; attrition; sensitivity
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WelchResult(Display):
    """Welch's two-sample t test of ``mean1 - mean2`` (as R's ``t.test(x, y)``)."""

    n1: int
    n2: int
    mean1: float
    mean2: float
    sd1: float
    sd2: float
    diff: float
    se: float
    t: float
    df: float
    p: float
    ci_low: float
    ci_high: float
    ci_level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def welch_test(x: np.ndarray, y: np.ndarray, ci_level: float = 0.95) -> WelchResult:
    """Welch's unequal-variance t test of ``mean(x) - mean(y)`` with its CI.

    :math:`se = \\sqrt{s_1^2/n_1 + s_2^2/n_2}`, :math:`t = (\\bar x - \\bar y)/se`,
    Welch-Satterthwaite
    :math:`df = se^4 / \\big((s_1^2/n_1)^2/(n_1-1) + (s_2^2/n_2)^2/(n_2-1)\\big)`
    (Welch, 1947, *Biometrika* 34, 28-35, https://doi.org/10.1093/biomet/34.1-2.28).

    >>> r = welch_test(np.array([19.1, 21.3, 20.0, 22.4]), np.array([17.2, 18.0, 19.9]))
    >>> round(r.t, 6), round(r.df, 6)     # R: t.test(x, y): t = 2.160761, df = 4.572548
    (2.160761, 4.572548)
    """
    check_ci_level(ci_level)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n1, n2 = x.size, y.size
    m1, m2 = float(x.mean()), float(y.mean())
    v1, v2 = float(np.var(x, ddof=1)), float(np.var(y, ddof=1))
    a, b = v1 / n1, v2 / n2
    se = math.sqrt(a + b)
    diff = m1 - m2
    if se > 0:
        t = diff / se
        df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
        p = float(2 * stats.t.sf(abs(t), df))
        q = float(stats.t.ppf(1 - (1 - ci_level) / 2, df))
    else:
        t = df = p = q = float("nan")
    return WelchResult(n1=n1, n2=n2, mean1=m1, mean2=m2, sd1=math.sqrt(v1), sd2=math.sqrt(v2),
                       diff=diff, se=se, t=t, df=df, p=p, ci_low=diff - q * se,
                       ci_high=diff + q * se, ci_level=ci_level)


@dataclass(frozen=True)
class HedgesG(Display):
    """Standardised mean difference of two independent groups (pooled SD)."""

    d: float
    g: float
    ci_low: float
    ci_high: float
    j: float
    df: int
    ci_level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def hedges_g(x: np.ndarray, y: np.ndarray, ci_level: float = 0.95) -> HedgesG:
    """Hedges' g of ``x`` vs ``y`` with a noncentral-t CI, as R's ``effectsize::hedges_g(x, y)``.

    :math:`d = (\\bar x - \\bar y)/s_p`, :math:`s_p^2 = ((n_1-1)s_1^2 + (n_2-1)s_2^2)/(n_1+n_2-2)`;
    the CI inverts the noncentral t of :math:`t = d/\\sqrt{1/n_1 + 1/n_2}` with
    :math:`df = n_1 + n_2 - 2` (:func:`ncp_ci`); g and both limits are multiplied by the exact J
    (:func:`hedges_j`). Hedges, L. V. (1981). *J. Educ. Stat.*, 6, 107-128.
    https://doi.org/10.3102/10769986006002107

    >>> r = hedges_g(np.array([19.1, 21.3, 20.0, 22.4]), np.array([17.2, 18.0, 19.9]))
    >>> [round(v, 5) for v in (r.g, r.ci_low, r.ci_high)]  # R: 1.37710 [-0.17535, 2.83953]
    [1.3771, -0.17535, 2.83953]
    """
    check_ci_level(ci_level)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n1, n2 = x.size, y.size
    df = n1 + n2 - 2
    sp = math.sqrt(((n1 - 1) * np.var(x, ddof=1) + (n2 - 1) * np.var(y, ddof=1)) / df)
    d = (float(x.mean()) - float(y.mean())) / sp if sp > 0 else float("nan")
    scale = math.sqrt(1 / n1 + 1 / n2)
    j = hedges_j(df, "exact")
    if np.isfinite(d):
        ci = ncp_ci(d / scale, df, ci_level)
        lo, hi = float(ci.low) * scale, float(ci.high) * scale
    else:
        lo = hi = float("nan")
    return HedgesG(d=d, g=d * j, ci_low=lo * j, ci_high=hi * j, j=j, df=df, ci_level=ci_level)


@dataclass(frozen=True)
class RoleGap(Display):
    """Parent-professional gap at the first and last wave and its change (see :func:`role_gap`).

    ``first`` and ``last`` compare parents with professionals at each wave (``mean1`` =
    parents); ``change`` compares their paired change scores, so ``change.diff`` is the
    difference in differences (positive: parents gained more). ``narrowing`` is that change
    signed so that a positive value moves the paired first-wave gap towards zero.
    """

    first: WelchResult | None
    last: WelchResult | None
    change: WelchResult | None
    gap_first_paired: float
    gap_last_paired: float
    narrowing: float
    narrowing_ci_low: float
    narrowing_ci_high: float
    direction: str
    first_sample: str = "all at wave"
    last_sample: str = "all at wave"

    def to_frame(self) -> pd.DataFrame:
        """Tidy rows: ``comparison`` (first, last, change) with the Welch columns."""
        rows = []
        for name in ("first", "last", "change"):
            r = getattr(self, name)
            if r is not None:
                rows.append({"comparison": name, **asdict(r)})
        return pd.DataFrame(rows)


def _is_in(values: pd.Series, pool: pd.Series) -> np.ndarray:
    """``values.isin(pool)`` by one factorisation of both (pandas' ``isin`` on string columns
    is an order of magnitude slower at 100 k ids)."""
    codes, uniques = pd.factorize(pd.concat([values, pool], ignore_index=True))
    member = np.zeros(len(uniques), dtype=bool)
    member[codes[len(values):]] = True
    return member[codes[:len(values)]]


def _gap_direction(lo: float, hi: float) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "not computable"
    if lo > 0:
        return "narrowed"
    if hi < 0:
        return "widened"
    return "no clear change"


def role_gap(scores: pd.DataFrame, scale: str, first: str, last: str, *,
             parent_role: str = "parent",
             professional_roles: tuple[str, ...] = PROFESSIONAL_ROLES,
             ci_level: float = 0.95, paired_at: Collection[str] = (),
             pairs: pd.DataFrame | None = None) -> RoleGap:
    """Parents' mean minus professionals' mean per wave, and whether the gap shrank.

    Parameters
    ----------
    scores
        Scale scores, one row per respondent and wave.
    scale, first, last
        The score column and the first and last wave.
    parent_role, professional_roles
        Who is compared; professionals (teacher, youth-care worker, coordinator) are pooled
        over all schools -- never per school.
    paired_at
        Waves whose gap is computed on the paired respondents instead of everybody with a score
        at that wave; ``first_sample``/``last_sample`` say which. The results layer asks for it
        when the two samples differ by fewer people than the minimum cell size
        (:func:`unpaired_at_wave` counts them), so that the two published means cannot be
        differenced into a mean of fewer people.
    pairs
        The result of :func:`paired_scores` for these arguments, when already at hand.

    Notes
    -----
    At each wave: Welch's t test (:func:`welch_test`) of parents vs professionals with a valid
    score at that wave. Change: with :math:`\\Delta_i = x_{i,last} - x_{i,first}` for paired
    respondents, the difference in differences
    :math:`DiD = \\bar\\Delta_{parent} - \\bar\\Delta_{prof} = gap_{last} - gap_{first}` (paired
    gaps), tested with Welch's t on the change scores. ``narrowing`` =
    :math:`-\\mathrm{sign}(gap_{first})\\,DiD`; ``direction`` is "narrowed" when its CI lies above
    0, "widened" when below, else "no clear change".

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> n = 60
    >>> s = pd.DataFrame({"respondent_id": np.tile(np.arange(n).astype(str), 2),
    ...                   "wave": np.repeat(["pre", "post"], n), "school_id": "S1",
    ...                   "role": np.tile(np.where(np.arange(n) < 40, "parent", "teacher"), 2)})
    >>> s["x"] = (3 + 0.5 * (s.role == "teacher") * (s.wave == "pre")
    ...           + rng.normal(0, 0.5, 2 * n))
    >>> gap = role_gap(s, "x", "pre", "post")
    >>> round(gap.first.diff, 2), gap.direction
    (-0.42, 'narrowed')
    """
    check_ci_level(ci_level)
    pro = list(professional_roles)
    cols = ["respondent_id", "wave", "role", scale]
    data = scores.loc[scores["wave"].isin([first, last]), cols].dropna(subset=[scale])
    if pairs is None:
        pairs = paired_scores(scores, scale, first, last)
    is_par = (pairs["role"] == parent_role).to_numpy()
    is_pro = pairs["role"].isin(pro).to_numpy()
    # masks once over the rows (string comparisons dominate the cost on large data)
    values = data[scale].to_numpy(dtype=float)
    wave_of = data["wave"].to_numpy()
    row_par = (data["role"] == parent_role).to_numpy()
    row_pro = data["role"].isin(pro).to_numpy()

    def at_wave(wave: str, column: str) -> tuple[WelchResult | None, str]:
        here = wave_of == wave
        par, prof = values[here & row_par], values[here & row_pro]
        sample = "all at wave"
        if wave in paired_at:
            par = pairs.loc[is_par, column].to_numpy()
            prof = pairs.loc[is_pro, column].to_numpy()
            sample = "paired"
        if par.size < 2 or prof.size < 2:
            return None, sample
        return welch_test(par, prof, ci_level), sample

    w_first, s_first = at_wave(first, "pre")
    w_last, s_last = at_wave(last, "post")
    delta = (pairs["post"] - pairs["pre"]).to_numpy()
    change = None
    nan = float("nan")
    gap_f = gap_l = narrowing = lo = hi = nan
    if is_par.sum() >= 2 and is_pro.sum() >= 2:
        change = welch_test(delta[is_par], delta[is_pro], ci_level)
        gap_f = float(pairs.loc[is_par, "pre"].mean() - pairs.loc[is_pro, "pre"].mean())
        gap_l = float(pairs.loc[is_par, "post"].mean() - pairs.loc[is_pro, "post"].mean())
        sign = float(np.sign(gap_f))
        if sign != 0:
            narrowing = -sign * change.diff
            lo, hi = sorted((-sign * change.ci_low, -sign * change.ci_high))
    return RoleGap(first=w_first, last=w_last, change=change, gap_first_paired=gap_f,
                   gap_last_paired=gap_l, narrowing=narrowing, narrowing_ci_low=lo,
                   narrowing_ci_high=hi, direction=_gap_direction(lo, hi),
                   first_sample=s_first, last_sample=s_last)


@dataclass(frozen=True)
class Unpaired(Display):
    """Respondents with a score at a wave who are not in the paired sample (:func:`unpaired_at_wave`)."""

    parents: int
    professionals: int


def unpaired_at_wave(scores: pd.DataFrame, scale: str, wave: str, pairs: pd.DataFrame, *,
                     parent_role: str = "parent",
                     professional_roles: tuple[str, ...] = PROFESSIONAL_ROLES) -> Unpaired:
    """Parents and professionals with a score at ``wave`` who are not among ``pairs``.

    Counts of the respondents by whom a wave's sample differs from the paired sample
    (:func:`paired_scores`), as :class:`Unpaired` ``(parents, professionals)``.

    Examples
    --------
    >>> s = pd.DataFrame({"respondent_id": ["a", "b", "c", "a", "d"],
    ...                   "wave": ["pre", "pre", "pre", "post", "post"],
    ...                   "role": ["parent", "parent", "teacher", "parent", "teacher"],
    ...                   "school_id": "S1", "x": [3.0, 4.0, 2.0, 3.5, 4.0]})
    >>> pairs = paired_scores(s, "x", "pre", "post")
    >>> unpaired_at_wave(s, "x", "pre", pairs)
    Unpaired(parents=1, professionals=1)
    >>> unpaired_at_wave(s, "x", "post", pairs)
    Unpaired(parents=0, professionals=1)
    """
    here = scores.loc[scores["wave"] == wave, ["respondent_id", "role", scale]]
    here = here[here[scale].notna()]
    extra = ~_is_in(here["respondent_id"], pairs["respondent_id"])
    return Unpaired(int(np.sum(extra & (here["role"] == parent_role).to_numpy())),
                    int(np.sum(extra & here["role"].isin(list(professional_roles)).to_numpy())))


@dataclass(frozen=True)
class Attrition(Display):
    """First-wave scores of completers vs dropouts (see :func:`attrition`)."""

    welch: WelchResult | None
    hedges: HedgesG | None
    n_completers: int
    n_dropouts: int

    def to_frame(self) -> pd.DataFrame:
        row: dict = {"n_completers": self.n_completers, "n_dropouts": self.n_dropouts}
        if self.welch is not None:
            row.update(asdict(self.welch))
        if self.hedges is not None:
            h = self.hedges
            row.update({"hedges_g": h.g, "hedges_g_ci_low": h.ci_low,
                        "hedges_g_ci_high": h.ci_high, "cohens_d": h.d, "hedges_j": h.j})
        return pd.DataFrame([row])


def attrition(scores: pd.DataFrame, scale: str, first: str, last: str,
              ci_level: float = 0.95) -> Attrition:
    """Do dropouts differ at the first wave? Completers vs dropouts on their first-wave score.

    Completers have a valid score at the first and the last wave (the paired sample);
    dropouts a valid first-wave score and none at the last wave. The difference is
    completers minus dropouts: Welch's t (:func:`welch_test`) and Hedges' g with a
    noncentral-t CI (:func:`hedges_g`, exact J). A g near 0 supports treating attrition as
    ignorable for the paired analysis; the mixed model uses the dropouts' rows either way.

    >>> s = pd.DataFrame({"respondent_id": list("abcdefab"), "school_id": "S",
    ...                   "role": "parent", "wave": ["pre"] * 6 + ["post"] * 2,
    ...                   "x": [3., 4, 2, 3, 5, 4, 3.5, 4.5]})
    >>> a = attrition(s, "x", "pre", "post")
    >>> a.n_completers, a.n_dropouts, round(a.welch.diff, 3)
    (2, 4, -0.0)
    """
    check_ci_level(ci_level)
    ok = scores.loc[scores[scale].notna(), ["respondent_id", "wave", scale]]
    pre = ok[ok["wave"] == first]
    done = _is_in(pre["respondent_id"], ok.loc[ok["wave"] == last, "respondent_id"])
    values = pre[scale].to_numpy(dtype=float)
    comp, drop = values[done], values[~done]
    if comp.size < 2 or drop.size < 2:
        return Attrition(welch=None, hedges=None, n_completers=comp.size,
                         n_dropouts=drop.size)
    return Attrition(welch=welch_test(comp, drop, ci_level),
                     hedges=hedges_g(comp, drop, ci_level),
                     n_completers=comp.size, n_dropouts=drop.size)


def min_detectable_dz(n: int, power: float = 0.8, alpha: float = 0.05) -> float:
    """Smallest d_z a two-sided paired t test on ``n`` pairs detects with the given power.

    Solves, exactly (root finding to 1e-12), :math:`P(|T_{n-1,\\,\\delta\\sqrt n}| > t_{1-\\alpha/2,
    n-1}) = power` for δ, counting both rejection tails of the noncentral t (Cohen, 1988,
    *Statistical power analysis*, ch. 2; as R's ``power.t.test(n, power = .8, type = "paired",
    strict = TRUE)``). A sensitivity analysis: effects smaller than this were not well
    detectable with the achieved sample (Lakens, 2022, *Collabra* 8, 33267,
    https://doi.org/10.1525/collabra.33267).

    R: ``power.t.test(n = 10, power = .8, type = "paired", strict = TRUE, tol = 1e-12)$delta``
    gives 0.9960014:

    >>> round(min_detectable_dz(10), 6)
    0.996001
    """
    check_probability(power, "power")
    check_probability(alpha, "alpha")
    if n < 2:
        return float("nan")
    df = n - 1
    crit = float(stats.t.isf(alpha / 2, df))
    rn = math.sqrt(n)

    def gap(delta: float) -> float:
        ncp = delta * rn
        upper = float(stats.nct.sf(crit, df, ncp))
        if not math.isfinite(upper):  # SciPy's NaN far in a tail (see _nct_cdf)
            upper = 1.0 if ncp > crit else 0.0
        lower = float(_nct_cdf(np.array(-crit), np.array(float(df)), np.array(ncp)))
        return upper + lower - power

    hi = 1.0
    while gap(hi) < 0:
        hi *= 2
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-13, rtol=1e-14, maxiter=500))


# ---------------------------------------------------------------------------------------------
# multilevel model: exact profiled (RE)ML for nested random intercepts
# ---------------------------------------------------------------------------------------------
def _weighted_sum(weights: np.ndarray, arrays: np.ndarray) -> np.ndarray:
    """``sum_v weights[v] * arrays[v]``; a loop, because there are only as many v as distinct
    numbers of rows per respondent (1 or 2 here) and BLAS is slow for such thin products."""
    out = weights[0] * arrays[0]
    for i in range(1, weights.size):
        out += weights[i] * arrays[i]
    return out


class _NestedSufficient:
    """One pass over the rows: the sufficient statistics of the nested random-intercept model.

    With :math:`M = [X\\ y]` (q = p + 1 columns), respondents j (n_j rows, column sums S_j)
    grouped by their number of rows v and by school k, every quantity the likelihood needs is
    a small sum over (school, v) cells -- see :func:`fit_random_intercepts`.
    """

    def __init__(self, m: np.ndarray, school: np.ndarray, resp: np.ndarray):
        n, q = m.shape
        self.n, self.q = n, q
        self.gram = m.T @ m
        n_resp = int(resp.max()) + 1
        n_school = int(school.max()) + 1
        n_j = np.bincount(resp, minlength=n_resp)
        s_j = np.column_stack([np.bincount(resp, weights=m[:, c], minlength=n_resp)
                               for c in range(q)])
        school_of = np.zeros(n_resp, dtype=np.int64)
        school_of[resp] = school
        sizes, size_idx = np.unique(n_j, return_inverse=True)
        n_sizes = sizes.size
        self.v = sizes.astype(float)
        self.count_v = np.bincount(size_idx, minlength=n_sizes).astype(float)
        self.cross_v = np.stack([s_j[size_idx == i].T @ s_j[size_idx == i]
                                 for i in range(n_sizes)])
        cell = school_of * n_sizes + size_idx
        # (size, school, column): contracting over the leading axis needs no transposed copy
        self.sum_vk = np.stack([np.bincount(cell, weights=s_j[:, c], minlength=n_school * n_sizes)
                                for c in range(q)], axis=-1).reshape(n_school, n_sizes, q)
        self.sum_vk = np.ascontiguousarray(self.sum_vk.transpose(1, 0, 2))
        self.count_kv = np.bincount(cell, minlength=n_school * n_sizes).reshape(
            n_school, n_sizes).astype(float)
        self.n_resp, self.n_school = n_resp, n_school

    def evaluate(self, g_s: float, g_r: float, reml: bool, grad: bool = True,
                 free: tuple[bool, bool] = (True, True)):
        """Deviance (-2 log-likelihood, REML or ML) and its gradient in (g_s, g_r); the
        gradient of a ratio that is held fixed (``free`` False) is left at 0."""
        p = self.q - 1
        v, w = self.v, 1.0 / (1.0 + self.v * g_r)
        a = self.gram - g_r * _weighted_sum(w, self.cross_v)
        t = _weighted_sum(w, self.sum_vk)        # 1'D_k^-1 M_k per school
        c = self.count_kv @ (w * v)                          # 1'D_k^-1 1
        gk = 1.0 / (1.0 + g_s * c)
        f = g_s * gk
        qm = a - (t * f[:, None]).T @ t                      # M' H^-1 M
        logdet_h = float(self.count_v @ np.log1p(v * g_r) + np.sum(np.log1p(g_s * c)))
        try:
            chol = np.linalg.cholesky(qm)
        except np.linalg.LinAlgError:
            return np.inf, np.zeros(2), None
        diag = np.diag(chol)
        r2 = float(diag[-1] ** 2)                            # penalised residual sum of squares
        if not r2 > 0:
            return np.inf, np.zeros(2), None
        logdet_q = float(2 * np.sum(np.log(diag)))
        if reml:
            dof = self.n - p
            dev = logdet_h + logdet_q - math.log(r2) + dof * (1 + math.log(2 * math.pi * r2 / dof))
        else:
            dof = self.n
            dev = logdet_h + dof * (1 + math.log(2 * math.pi * r2 / dof))
        parts = {"qm": qm, "chol": chol, "r2": r2, "t": t, "c": c, "f": f, "w": w}
        if not grad:
            return dev, None, parts
        q_inv = np.linalg.inv(qm)
        beta = np.linalg.solve(qm[:p, :p], qm[:p, p])
        u = np.append(-beta, 1.0)
        # d dev = dlog|H| + [REML: tr(Q^-1 dQ)] + k u'dQu / r^2 (u = (-b, 1): the envelope
        # theorem for the profiled residual sum of squares)
        k = self.n - p - 1 if reml else self.n
        g = np.zeros(2)
        if free[0]:
            # d/dg_s: dQ = -sum_k g_k^2 T_k T_k', dlog|H| = sum_k c_k g_k
            gk2 = gk * gk
            quad_s = -float(np.sum(gk2 * (t @ u) ** 2))
            trace_s = -float(np.sum(gk2 * np.sum((t @ q_inv) * t, axis=1))) if reml else 0.0
            g[0] = float(np.sum(c * gk)) + trace_s + k * quad_s / r2
        if free[1]:
            # d/dg_r: dQ = -sum_j v_j v_j', v_j = w_j S_j - f_k w_j n_j T_k
            w2 = w * w
            uk = _weighted_sum(w2 * v, self.sum_vk)
            e = self.count_kv @ (w2 * v * v)
            cross = (uk * f[:, None]).T @ t
            d_r = (_weighted_sum(w2, self.cross_v) - cross - cross.T
                   + (t * (f * f * e)[:, None]).T @ t)
            trace_r = -float(np.sum(q_inv * d_r)) if reml else 0.0
            g[1] = (float(self.count_v @ (w * v) - np.sum(f * e)) + trace_r
                    - k * float(u @ d_r @ u) / r2)
        return dev, g, parts


@dataclass(frozen=True)
class RandomInterceptFit(Display):
    """A linear mixed model with random intercepts for schools and respondents within schools.

    ``var_*`` are variances; ``criterion`` is -2 x the (REML) log-likelihood as lme4's
    ``REMLcrit()``/``deviance()``. ``singular`` follows lme4's ``isSingular`` (a relative
    random-effect SD below 1e-4).
    """

    terms: tuple[str, ...]
    estimates: tuple[float, ...]
    se: tuple[float, ...]
    var_school: float
    var_respondent: float
    var_residual: float
    loglik: float
    criterion: float
    reml: bool
    n_obs: int
    n_respondents: int
    n_schools: int
    converged: bool
    singular: bool
    iterations: int
    warnings: tuple[str, ...] = ()
    cov: tuple[tuple[float, ...], ...] = field(default=(), repr=False)

    def to_frame(self, ci_level: float = 0.95) -> pd.DataFrame:
        """Tidy fixed effects: ``term, estimate, se, z, p, ci_low, ci_high, ci_level``."""
        est, se = np.array(self.estimates), np.array(self.se)
        z = est / se
        q = stats.norm.ppf(1 - (1 - ci_level) / 2)
        return pd.DataFrame({"term": self.terms, "estimate": est, "se": se, "z": z,
                             "p": 2 * stats.norm.sf(np.abs(z)), "ci_low": est - q * se,
                             "ci_high": est + q * se, "ci_level": ci_level})


def _codes(values: np.ndarray | pd.Series) -> np.ndarray:
    return pd.factorize(np.asarray(values), sort=False)[0].astype(np.int64)


def fit_random_intercepts(y: np.ndarray, x: np.ndarray, school: np.ndarray,
                          respondent: np.ndarray | None = None, *, reml: bool = True,
                          terms: tuple[str, ...] | None = None,
                          random: tuple[str, ...] = ("school", "respondent")
                          ) -> RandomInterceptFit:
    """Exact (RE)ML fit of ``y = X b + u_school + u_respondent(school) + e``.

    Parameters
    ----------
    y, x
        Response (n,) and fixed-effects design (n, p), including the intercept column.
    school, respondent
        Grouping labels per row. Respondents are nested in schools: a respondent label seen in
        two schools counts as two respondents, as lme4's ``(1 | school/respondent)``.
    reml
        REML (default) or ML.
    terms
        Names of the columns of ``x``.
    random
        Which random intercepts to fit: both (the nested model), ``("school",)`` or
        ``("respondent",)`` (one random intercept).

    Notes
    -----
    With :math:`\\gamma_s = \\tau_s^2/\\sigma^2`, :math:`\\gamma_r = \\tau_r^2/\\sigma^2` the
    marginal covariance of school k is :math:`\\sigma^2 H_k`, :math:`H_k = D_k + \\gamma_s 11'`,
    :math:`D_k = \\mathrm{diag}_j(I + \\gamma_r 11')`. Closed forms: :math:`w_j = 1/(1 + n_j
    \\gamma_r)`, :math:`a' D^{-1} b = a'b - \\gamma_r \\sum_j w_j A_j B_j` (A_j, B_j: sums over
    respondent j's rows), :math:`|D_k| = \\prod_j (1 + n_j\\gamma_r)`, and by Woodbury
    :math:`a'H_k^{-1}b = a'D_k^{-1}b - \\gamma_s (1'D_k^{-1}a)(1'D_k^{-1}b)/(1 + \\gamma_s c_k)`,
    :math:`|H_k| = |D_k|(1 + \\gamma_s c_k)`, :math:`c_k = \\sum_j n_j w_j`. With
    :math:`Q = [X\\,y]'H^{-1}[X\\,y]` and :math:`r^2` the Schur complement of :math:`X'H^{-1}X`
    in Q, σ² and b are profiled out:

    .. math:: -2\\ell_R = \\log|H| + \\log|X'H^{-1}X| + (n-p)\\,(1 + \\log(2\\pi r^2/(n-p)))

    (ML: :math:`\\log|H| + n(1 + \\log(2\\pi r^2/n))`), the criterion lme4 minimises (Bates et al.,
    2015, eq. 34-42). The two ratios are optimised with L-BFGS-B (bounds γ ≥ 0) on the analytic
    gradient, then polished by Newton steps; :math:`\\hat\\sigma^2 = r^2/(n-p)` (ML: r²/n),
    :math:`\\widehat{Var}(\\hat b) = \\hat\\sigma^2 (X'H^{-1}X)^{-1}`. After one O(n) pass each
    evaluation costs O(schools x p²); a single random intercept is fitted as the inner level of
    one dummy school, so its evaluations cost O(p²). Boundary fits are reported as singular
    (relative SD below 1e-4, as lme4's ``isSingular``); a point that is not stationary (scaled
    gradient above 1e-4) is reported as not converged, with the gradient in ``warnings``.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> school = np.repeat(np.arange(20), 20)
    >>> resp = np.repeat(np.arange(200), 2)
    >>> post = np.tile([0.0, 1.0], 200)
    >>> y = (0.3 * rng.normal(size=20)[school] + 0.5 * rng.normal(size=200)[resp]
    ...      + 0.25 * post + 0.5 * rng.normal(size=400))
    >>> fit = fit_random_intercepts(y, np.column_stack([np.ones(400), post]), school, resp,
    ...                             terms=("(Intercept)", "post"))
    >>> fit.converged, round(fit.estimates[1], 3), round(fit.se[1], 3)
    (True, 0.317, 0.048)
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    n, p = x.shape
    if terms is None:
        terms = tuple(f"x{i}" for i in range(p))
    use_s, use_r = "school" in random, "respondent" in random
    if not (use_s or use_r):
        raise ParameterError(Msg("errors.evaluation.random"))
    school_codes = _codes(school)
    if respondent is None:
        if use_r:
            raise ParameterError(Msg("errors.evaluation.respondent_labels"))
        resp_codes = np.arange(n, dtype=np.int64)
    else:
        # nested: the (school, respondent) pair identifies a respondent (integer pair codes;
        # concatenating label strings costs more than the whole fit on large data)
        label_codes = _codes(respondent)
        pair = school_codes * (int(label_codes.max()) + 1) + label_codes
        resp_codes = _codes(pair)
    if np.linalg.matrix_rank(x) < p:
        raise ParameterError(Msg("errors.mixed.rank_deficient"))
    if n <= p + 1:
        raise ParameterError(Msg("errors.mixed.too_few_rows"))
    notes: list[str] = []
    n_resp = int(resp_codes.max()) + 1
    n_school = int(school_codes.max()) + 1
    if use_r and n_resp >= n:
        raise ParameterError(Msg("errors.mixed.single_rows", name=repr("respondent")))
    if use_s and n_school >= n:
        raise ParameterError(Msg("errors.mixed.single_rows", name=repr("school")))
    if respondent is not None:
        moved = n_resp - int(label_codes.max()) - 1
        if moved:
            notes.append(f"{moved} respondent id(s) occur in more than one school; each "
                         "(school, respondent) pair is treated as a separate respondent")

    # Centre y and the non-constant columns: the same model, better conditioned sums.
    const = np.all(x == x[:1], axis=0)
    shift = np.where(const, 0.0, x.mean(axis=0))
    y_shift = float(y.mean())
    m = np.column_stack([x - shift, y - y_shift])
    if use_s and use_r:
        suff = _NestedSufficient(m, school_codes, resp_codes)
        free = np.array([True, True])
    else:
        # One random intercept: fit it as the inner level inside a single dummy school, so
        # that every evaluation sums over group sizes only, not over the groups.
        inner = school_codes if use_s else resp_codes
        suff = _NestedSufficient(m, np.zeros(n, dtype=np.int64), inner)
        free = np.array([False, True])
    free_t = (bool(free[0]), bool(free[1]))

    def full(gamma_free: np.ndarray) -> np.ndarray:
        g = np.zeros(2)
        g[free] = gamma_free
        return g

    def objective(gamma_free: np.ndarray) -> tuple[float, np.ndarray]:
        g = full(np.maximum(gamma_free, 0.0))
        dev, grad, _ = suff.evaluate(g[0], g[1], reml, free=free_t)
        return dev, grad[free]

    start = np.ones(int(free.sum()))
    res = optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                            bounds=[(0.0, None)] * int(free.sum()),
                            options={"maxiter": 500, "ftol": 1e-15, "gtol": 1e-10})
    gamma = np.maximum(res.x, 0.0)
    iterations = int(res.nit)
    # Newton polish on the interior coordinates: L-BFGS-B stops on a relative decrease in the
    # deviance, which for large n leaves the ratios ~1e-6 off; a few Newton steps on the exact
    # gradient (finite-difference Hessian) take them to the optimum.
    converged = bool(res.success)
    for _ in range(20):
        dev0, g0 = objective(gamma)
        active = (gamma <= 0) & (g0 >= 0)
        inner = ~active
        if not inner.any():
            break
        hess = np.zeros((gamma.size, gamma.size))
        for i in range(gamma.size):
            h = 1e-5 * max(gamma[i], 1e-3)
            up, dn = gamma.copy(), gamma.copy()
            up[i] += h
            dn[i] = max(dn[i] - h, 0.0)
            hess[:, i] = (objective(up)[1] - objective(dn)[1]) / (up[i] - dn[i])
        hess = 0.5 * (hess + hess.T)
        sub = hess[np.ix_(inner, inner)]
        if not np.all(np.linalg.eigvalsh(sub) > 0):
            break
        step = np.zeros_like(gamma)
        step[inner] = -np.linalg.solve(sub, g0[inner])
        lam = 1.0
        while lam > 1e-4:
            trial = np.maximum(gamma + lam * step, 0.0)
            if objective(trial)[0] <= dev0 + 1e-12 * abs(dev0):
                break
            lam /= 2
        else:
            break
        gamma = trial
        iterations += 1
        if np.max(np.abs(lam * step)) <= 1e-12 * max(1.0, float(np.max(gamma))):
            break
    dev, grad = objective(gamma)
    g_full = full(gamma)
    scale_grad = np.abs(grad) * np.maximum(gamma, 1e-3)
    interior_ok = np.all(scale_grad[gamma > 0] < 1e-4) if np.any(gamma > 0) else True
    boundary_ok = np.all(grad[gamma <= 0] > -1e-6) if np.any(gamma <= 0) else True
    if not (interior_ok and boundary_ok):
        converged = False
        notes.append(f"optimiser did not reach a stationary point (gradient {grad.tolist()}); "
                     f"L-BFGS-B: {res.message}")
    elif not converged:
        # L-BFGS-B's own stop (e.g. line-search noise at the optimum) but the gradient says the
        # point is stationary: trust the gradient check.
        converged = True

    _, _, parts = suff.evaluate(g_full[0], g_full[1], reml, grad=False)
    qm, r2 = parts["qm"], parts["r2"]
    c_mat = qm[:p, :p]
    beta_c = np.linalg.solve(c_mat, qm[:p, p])
    sigma2 = r2 / (n - p if reml else n)
    cov_c = sigma2 * np.linalg.inv(c_mat)
    # undo the centring: only the intercept moves, b0 = b0' + ybar - sum(b_k xbar_k)
    transform = np.eye(p)
    icpt = np.flatnonzero(const & np.all(x == 1.0, axis=0))
    beta = beta_c.copy()
    if icpt.size:
        i0 = int(icpt[0])
        beta[i0] = beta_c[i0] + y_shift - float(shift @ beta_c)
        transform[i0] -= shift
        transform[i0, i0] = 1.0
    elif y_shift != 0:
        raise ParameterError(Msg("errors.evaluation.intercept"))
    cov = transform @ cov_c @ transform.T
    se = np.sqrt(np.diag(cov))
    if not (use_s and use_r):  # back from the dummy-school layout
        g_full = np.array([g_full[1], 0.0]) if use_s else g_full
    theta = np.sqrt(g_full)  # relative SDs, lme4's theta
    which = [name for name, used, th in (("school", use_s, theta[0]),
                                         ("respondent", use_r, theta[1])) if used and th < 1e-4]
    singular = bool(which)
    if singular:
        notes.append("boundary (singular) fit: the " + " and ".join(which)
                     + " variance is estimated as (nearly) zero")
    return RandomInterceptFit(
        terms=tuple(terms), estimates=tuple(float(b) for b in beta),
        se=tuple(float(s) for s in se), var_school=float(g_full[0] * sigma2),
        var_respondent=float(g_full[1] * sigma2), var_residual=float(sigma2),
        loglik=-0.5 * float(dev), criterion=float(dev), reml=reml, n_obs=n,
        n_respondents=n_resp if respondent is not None else 0, n_schools=n_school,
        converged=converged,
        singular=singular, iterations=iterations, warnings=tuple(notes),
        cov=tuple(tuple(float(v) for v in row) for row in cov),
    )


@dataclass(frozen=True)
class MixedModelResult(Display):
    """Wave effect from ``score ~ wave (+ role)`` with random intercepts for school and respondent.

    ``p`` and the CI use the normal approximation (Wald z), as lme4 gives no p-values.
    """

    wave_effect: float
    se: float
    p: float
    ci_low: float
    ci_high: float
    var_school: float
    var_respondent: float
    var_residual: float
    icc_school: float
    design_effect: float
    mean_cluster_size: float
    n_obs: int
    n_respondents: int
    n_schools: int
    converged: bool
    warnings: tuple[str, ...]
    ci_level: float = 0.95
    singular: bool = False
    formula: str = ""
    engine: str = "reml"
    loglik: float = float("nan")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])

    def summary(self) -> str:
        flags = ("" if self.converged else " NOT CONVERGED") + (" SINGULAR" if self.singular
                                                               else "")
        return (f"{self.formula}: wave effect {self.wave_effect:.4f} (SE {self.se:.4f}, "
                f"[{self.ci_low:.4f}, {self.ci_high:.4f}], p = {self.p:.4g}); ICC(school) = "
                f"{self.icc_school:.4f}, design effect {self.design_effect:.3f}; "
                f"{self.n_obs} rows, {self.n_respondents} respondents, {self.n_schools} "
                f"schools{flags}")


def _model_rows(scores: pd.DataFrame, scale: str, first: str, last: str) -> pd.DataFrame:
    data = scores.loc[scores["wave"].isin([first, last]),
                      ["respondent_id", "school_id", "role", "wave", scale]].dropna(subset=[scale])
    data = data.rename(columns={scale: "y"}).reset_index(drop=True)
    data["post"] = (data["wave"] == last).astype(float)
    return data


def mixed_model(scores: pd.DataFrame, scale: str, first: str, last: str,
                with_role: bool = False, ci_level: float = 0.95,
                engine: str = "reml") -> MixedModelResult:
    """Fit ``scale ~ wave (+ role)`` with random intercepts for school and respondent.

    All available rows of the first and last wave are used (dropouts and late joiners
    included), like lme4's ``lmer(score ~ wave (+ role) + (1 | school_id/respondent_id))``.

    Parameters
    ----------
    scores
        Scale scores (one row per respondent and wave).
    scale, first, last
        Score column, first and last wave.
    with_role
        Add role as a fixed effect (treatment coding, reference ``parent`` when present,
        otherwise the first role in sorted order). Skipped when only one role has rows.
    ci_level
        Level of the Wald CI.
    engine
        ``"reml"``: the exact profiled REML of :func:`fit_random_intercepts` (fast, default);
        ``"statsmodels"``: statsmodels' ``MixedLM`` with respondent as a variance component
        within schools (the reference implementation; slow for large data).

    Notes
    -----
    :math:`ICC_{school} = \\tau^2_{school} / (\\tau^2_{school} + \\tau^2_{resp} + \\sigma^2)`;
    design effect :math:`1 + (m - 1) ICC` with m the mean number of respondents per school at
    the first wave (the unit of a wave mean). Convergence problems and boundary (singular) fits
    are returned in ``converged``, ``singular`` and ``warnings``, never hidden.

    Examples
    --------
    >>> rng = np.random.default_rng(7)
    >>> ids = np.arange(300)
    >>> s = pd.DataFrame({"respondent_id": np.tile(ids, 2).astype(str),
    ...                   "school_id": np.tile(ids % 15, 2).astype(str), "role": "parent",
    ...                   "wave": np.repeat(["pre", "post"], 300)})
    >>> s["x"] = (3 + 0.3 * rng.normal(size=15)[np.tile(ids % 15, 2)]
    ...           + 0.5 * rng.normal(size=300)[np.tile(ids, 2)]
    ...           + 0.2 * (s.wave == "post") + 0.5 * rng.normal(size=600))
    >>> m = mixed_model(s, "x", "pre", "post")
    >>> round(m.wave_effect, 3), m.converged, m.singular
    (0.29, True, False)
    """
    check_ci_level(ci_level)
    data = _model_rows(scores, scale, first, last)
    roles = sorted(data["role"].unique())
    use_role = with_role and len(roles) > 1
    ref = "parent" if "parent" in roles else roles[0]
    others = [r for r in roles if r != ref]
    formula = ("score ~ wave" + (" + role" if use_role else "")
               + " + (1 | school_id/respondent_id)")
    if engine == "statsmodels":
        est, se, vs, vr, ve, conv, msgs, singular, loglik = _fit_statsmodels(data, use_role)
    elif engine == "reml":
        cols = [np.ones(len(data)), data["post"].to_numpy()]
        terms = ["(Intercept)", "wave" + last]
        if use_role:
            role_arr = data["role"].to_numpy()
            cols += [(role_arr == r).astype(float) for r in others]
            terms += ["role" + r for r in others]
        fit = fit_random_intercepts(data["y"].to_numpy(), np.column_stack(cols),
                                    data["school_id"].to_numpy(),
                                    data["respondent_id"].to_numpy(), terms=tuple(terms))
        est, se = fit.estimates[1], fit.se[1]
        vs, vr, ve = fit.var_school, fit.var_respondent, fit.var_residual
        conv, msgs, singular, loglik = fit.converged, fit.warnings, fit.singular, fit.loglik
    else:
        raise ParameterError(Msg("errors.evaluation.engine", value=repr(engine)))
    z = stats.norm.ppf(1 - (1 - ci_level) / 2)
    icc = vs / (vs + vr + ve)
    # Cluster size for the design effect: respondents per school at one wave (the unit of a
    # wave mean), not rows over both waves.
    m = float(data[data["wave"] == first].groupby("school_id").size().mean())
    return MixedModelResult(
        wave_effect=est, se=se, p=float(2 * stats.norm.sf(abs(est / se))),
        ci_low=est - z * se, ci_high=est + z * se, var_school=vs,
        var_respondent=vr, var_residual=ve, icc_school=icc,
        design_effect=design_effect(icc, m), mean_cluster_size=m, n_obs=len(data),
        n_respondents=int(data["respondent_id"].nunique()),
        n_schools=int(data["school_id"].nunique()), converged=bool(conv),
        warnings=tuple(msgs), ci_level=ci_level, singular=bool(singular), formula=formula,
        engine=engine, loglik=float(loglik),
    )


def _fit_statsmodels(data: pd.DataFrame, use_role: bool):
    """The reference fit: statsmodels MixedLM (REML, default optimiser -- DOMAIN.md warns that
    ``method="lbfgs"`` can report convergence at a wrong boundary optimum)."""
    import statsmodels.formula.api as smf

    ref = "parent" if "parent" in set(data["role"]) else sorted(data["role"].unique())[0]
    formula = "y ~ post" + (f" + C(role, Treatment('{ref}'))" if use_role else "")
    model = smf.mixedlm(formula, data, groups="school_id", re_formula="1",
                        vc_formula={"respondent": "0 + C(respondent_id)"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(reml=True)
    messages = tuple(sorted({f"{w.category.__name__}: {w.message}" for w in caught}))
    vs = float(fit.cov_re.iloc[0, 0])
    vr = float(fit.vcomp[0])
    ve = float(fit.scale)
    singular = bool(vs / ve < 1e-8 or vr / ve < 1e-8)
    return (float(fit.fe_params["post"]), float(fit.bse_fe["post"]), vs, vr, ve,
            bool(fit.converged), messages, singular, float(fit.llf))
