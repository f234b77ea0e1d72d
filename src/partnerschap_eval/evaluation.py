"""Pre/post evaluation: pairing, paired tests, effect sizes, reliable change, multilevel models.

Every effect size is named for what it is (Lakens, 2013):

* ``d_z``  = mean difference / SD of the differences (the paired t's effect size),
* ``d_av`` = mean difference / mean of the two SDs, ``(SD_pre + SD_post) / 2``,
* ``g_av`` = ``d_av`` x Hedges' J with J = 1 - 3 / (4 df - 1), df = n - 1.

Differences are always last wave minus first wave, so a positive value is an increase.

References
----------
Lakens, D. (2013). Calculating and reporting effect sizes to facilitate cumulative science.
*Frontiers in Psychology, 4*, 863. https://doi.org/10.3389/fpsyg.2013.00863

Jacobson, N. S., & Truax, P. (1991). Clinical significance. *J. Consult. Clin. Psychol., 59*,
12-19. https://doi.org/10.1037/0022-006X.59.1.12
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = [
    "PairedResult", "WilcoxonResult", "ReliableChange", "MixedModelResult",
    "paired_scores", "paired_test", "dz_ci", "wilcoxon_signed_rank", "reliable_change",
    "bh_adjust", "mixed_model", "design_effect",
]


@dataclass(frozen=True)
class WilcoxonResult:
    statistic: float  # V: sum of the ranks of the positive differences (R's convention)
    p: float
    n_nonzero: int


@dataclass(frozen=True)
class PairedResult:
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
        d = asdict(self)
        w = d.pop("wilcoxon")
        d["wilcoxon_v"], d["wilcoxon_p"] = w["statistic"], w["p"]
        return pd.DataFrame([d])


def paired_scores(scores: pd.DataFrame, scale: str, first: str, last: str) -> pd.DataFrame:
    """Respondents with a valid ``scale`` score at both waves: ``respondent_id, role,
    school_id, pre, post`` (``pre`` = ``first`` wave, ``post`` = ``last`` wave)."""
    keep = scores[["respondent_id", "wave", "role", "school_id", scale]].dropna(subset=[scale])
    pre = keep[keep["wave"] == first].set_index("respondent_id")
    post = keep[keep["wave"] == last].set_index("respondent_id")
    both = pre[["role", "school_id", scale]].join(post[[scale]], how="inner", rsuffix="_post")
    both.columns = ["role", "school_id", "pre", "post"]
    return both.reset_index().sort_values("respondent_id", kind="stable").reset_index(drop=True)


def dz_ci(t: float, n: int, ci_level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of d_z by inverting the noncentral t distribution.

    Finds the noncentrality parameters :math:`\\lambda_L, \\lambda_U` with
    :math:`P(T_{n-1,\\lambda_L} \\le t) = 1 - a/2` and :math:`P(T_{n-1,\\lambda_U} \\le t) = a/2`
    and returns :math:`\\lambda/\\sqrt n` (Steiger & Fouladi, 1997; as R's effectsize).

    >>> [round(x, 3) for x in dz_ci(4.062128, 10)]   # R sleep data: 0.415, 2.118
    [0.415, 2.118]
    """
    df = n - 1
    alpha = 1 - ci_level

    def cdf(ncp: float) -> float:
        v = float(stats.nct.cdf(t, df, ncp))
        # SciPy's nct.cdf can return NaN far in the tails; there the cdf is 1 (ncp << t) or 0.
        return v if math.isfinite(v) else (1.0 if ncp < t else 0.0)

    def bound(target: float) -> float:
        step = 4.0 * math.sqrt(1 + t * t / (2 * df))  # ~4 SE of the noncentrality estimate
        lo, hi = t - step, t + step
        while cdf(lo) < target:
            lo -= step
        while cdf(hi) > target:
            hi += step
        return optimize.brentq(lambda ncp: cdf(ncp) - target, lo, hi, xtol=1e-12, rtol=1e-14)

    return bound(1 - alpha / 2) / math.sqrt(n), bound(alpha / 2) / math.sqrt(n)


def wilcoxon_signed_rank(diff: np.ndarray) -> WilcoxonResult:
    """Wilcoxon signed-rank test as R's ``wilcox.test(paired = TRUE, exact = FALSE)``.

    Zero differences are dropped; ties get average ranks; V is the sum of the ranks of the
    positive differences; the p-value uses the normal approximation with the tie-corrected
    variance and a continuity correction of 0.5 towards the mean:

    .. math:: z = \\frac{V - n(n+1)/4 - \\tfrac12\\,\\mathrm{sign}(V - n(n+1)/4)}
                        {\\sqrt{n(n+1)(2n+1)/24 - \\sum_j (t_j^3 - t_j)/48}}

    >>> r = wilcoxon_signed_rank(np.array([1.2, 2.4, 1.3, 1.3, 0, 1, 1.8, .8, 4.6, 1.4]))
    >>> r.statistic, round(r.p, 6)
    (45.0, 0.009091)
    """
    d = np.asarray(diff, dtype=float)
    d = d[d != 0]
    n = d.size
    if n == 0:
        return WilcoxonResult(statistic=0.0, p=float("nan"), n_nonzero=0)
    ranks = stats.rankdata(np.abs(d))
    v = float(ranks[d > 0].sum())
    _, counts = np.unique(ranks, return_counts=True)
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
    :math:`\\bar D \\pm t_{1-a/2, df}\\, s_D/\\sqrt n`. :math:`d_z = \\bar D/s_D` with the noncentral-t
    CI (:func:`dz_ci`). :math:`d_{av} = \\bar D / ((s_{pre} + s_{post})/2)`; its CI rescales the
    d_z limits by :math:`s_D / s_{av}` (the noncentral-t interval of the paired t expressed on
    the d_av metric; Algina & Keselman, 2003). :math:`g_{av} = d_{av}(1 - 3/(4 df - 1))`.

    Examples
    --------
    R's ``sleep`` data (``t.test(extra[group == 2], extra[group == 1], paired = TRUE)``):

    >>> g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    >>> g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    >>> r = paired_test(np.array(g1), np.array(g2))
    >>> round(r.t, 4), r.df, round(r.p, 6), round(r.d_z, 4), round(r.d_av, 4)
    (4.0621, 9, 0.002833, 1.2846, 0.8335)
    """
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    n = pre.size
    diff = post - pre
    mean_diff = float(diff.mean())
    sd_pre, sd_post, sd_diff = (float(np.std(x, ddof=1)) for x in (pre, post, diff))
    df = n - 1
    se = sd_diff / math.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean_diff / se if se > 0 else float("nan")
    p = float(2 * stats.t.sf(abs(t), df)) if np.isfinite(t) else float("nan")
    q = stats.t.ppf(1 - (1 - ci_level) / 2, df)
    d_z = mean_diff / sd_diff if sd_diff > 0 else float("nan")
    lo_z, hi_z = dz_ci(t, n, ci_level) if np.isfinite(t) else (float("nan"), float("nan"))
    sd_av = (sd_pre + sd_post) / 2
    d_av = mean_diff / sd_av if sd_av > 0 else float("nan")
    scale = sd_diff / sd_av if sd_av > 0 else float("nan")
    j = 1 - 3 / (4 * df - 1)
    return PairedResult(
        n=n, mean_pre=float(pre.mean()), mean_post=float(post.mean()), sd_pre=sd_pre,
        sd_post=sd_post, mean_diff=mean_diff, sd_diff=sd_diff, t=float(t), df=df, p=p,
        ci_low=mean_diff - q * se, ci_high=mean_diff + q * se, d_z=d_z, d_z_ci_low=lo_z,
        d_z_ci_high=hi_z, d_av=d_av, d_av_ci_low=lo_z * scale, d_av_ci_high=hi_z * scale,
        g_av=d_av * j, wilcoxon=wilcoxon_signed_rank(diff), ci_level=ci_level,
    )


@dataclass(frozen=True)
class ReliableChange:
    improved: int
    deteriorated: int
    unchanged: int
    s_diff: float
    r_xx: float
    sd_pre: float


def reliable_change(pre: np.ndarray, post: np.ndarray, r_xx: float,
                    criterion: float = 1.96) -> ReliableChange:
    """Jacobson-Truax reliable change counts.

    :math:`RC = (x_{post} - x_{pre}) / S_{diff}` with :math:`S_{diff} = \\sqrt2\\, SD_{pre}
    \\sqrt{1 - r_{xx}}`; ``SD_pre`` is the SD of the paired pre scores and ``r_xx`` the pre-wave
    reliability. RC above ``criterion`` is reliable improvement, below ``-criterion`` reliable
    deterioration.

    >>> reliable_change(np.array([1., 2, 3, 4]), np.array([3., 2, 3, 1]), r_xx=0.8)
    ReliableChange(improved=1, deteriorated=1, unchanged=2, s_diff=0.816..., r_xx=0.8, sd_pre=1.29...)
    """
    pre = np.asarray(pre, dtype=float)
    post = np.asarray(post, dtype=float)
    sd_pre = float(np.std(pre, ddof=1))
    s_diff = math.sqrt(2) * sd_pre * math.sqrt(1 - r_xx)
    rc = (post - pre) / s_diff
    improved = int(np.sum(rc > criterion))
    deteriorated = int(np.sum(rc < -criterion))
    return ReliableChange(improved=improved, deteriorated=deteriorated,
                          unchanged=int(pre.size - improved - deteriorated),
                          s_diff=s_diff, r_xx=float(r_xx), sd_pre=sd_pre)


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
    order = np.argsort(q)[::-1]
    ranked = q[order] * m / np.arange(m, 0, -1)
    adj = np.minimum(1, np.minimum.accumulate(ranked))
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


def design_effect(icc: float, cluster_size: float) -> float:
    """Kish's design effect :math:`1 + (m - 1)\\,ICC` for clusters of average size m.

    >>> design_effect(0.05, 25)
    2.2
    """
    return round(1 + (cluster_size - 1) * icc, 12)


@dataclass(frozen=True)
class MixedModelResult:
    """Wave effect from ``score ~ wave (+ role)`` with random intercepts for school and respondent."""

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


def mixed_model(scores: pd.DataFrame, scale: str, first: str, last: str,
                with_role: bool = False, ci_level: float = 0.95) -> MixedModelResult:
    """Fit ``scale ~ wave (+ role)`` with random intercepts for school and respondent.

    All available rows of the first and last wave are used (dropouts included). The model is
    statsmodels' MixedLM fitted by REML with schools as groups and respondents as a variance
    component within schools (respondent nested in school), like lme4's
    ``lmer(score ~ wave + (1 | school_id/respondent_id))``.

    Notes
    -----
    :math:`ICC_{school} = \\tau^2_{school} / (\\tau^2_{school} + \\tau^2_{resp} + \\sigma^2)`;
    design effect :math:`1 + (m - 1) ICC` with m the mean number of respondents per school at
    the first wave. statsmodels
    has no ICC helper, so both are computed here from the fitted variance components. Warnings
    from the fit (convergence, boundary) are returned, never hidden.
    """
    import statsmodels.formula.api as smf

    data = scores.loc[scores["wave"].isin([first, last]),
                      ["respondent_id", "school_id", "role", "wave", scale]].dropna(subset=[scale])
    data = data.rename(columns={scale: "y"}).reset_index(drop=True)
    data["post"] = (data["wave"] == last).astype(float)
    formula = "y ~ post" + (" + C(role)" if with_role and data["role"].nunique() > 1 else "")
    model = smf.mixedlm(formula, data, groups="school_id", re_formula="1",
                        vc_formula={"respondent": "0 + C(respondent_id)"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = model.fit(reml=True)
    messages = tuple(sorted({f"{w.category.__name__}: {w.message}" for w in caught}))
    est = float(fit.fe_params["post"])
    se = float(fit.bse_fe["post"])
    z = stats.norm.ppf(1 - (1 - ci_level) / 2)
    var_school = float(fit.cov_re.iloc[0, 0])
    var_resp = float(fit.vcomp[0])
    var_res = float(fit.scale)
    icc = var_school / (var_school + var_resp + var_res)
    # Cluster size for the design effect: respondents per school at one wave (the unit of a
    # wave mean), not rows over both waves.
    m = float(data[data["wave"] == first].groupby("school_id").size().mean())
    return MixedModelResult(
        wave_effect=est, se=se, p=float(2 * stats.norm.sf(abs(est / se))),
        ci_low=est - z * se, ci_high=est + z * se, var_school=var_school,
        var_respondent=var_resp, var_residual=var_res, icc_school=icc,
        design_effect=design_effect(icc, m), mean_cluster_size=m, n_obs=len(data),
        n_respondents=int(data["respondent_id"].nunique()),
        n_schools=int(data["school_id"].nunique()), converged=bool(fit.converged),
        warnings=messages, ci_level=ci_level,
    )
