"""Multiple imputation as a sensitivity analysis for the paired contrasts.

The paired analysis uses respondents with a score at both waves (complete cases); if dropping
out depends on what was observed (missing at random, e.g. on the first-wave score or the
school), complete cases can be biased. Here the missing wave scores are imputed by chained
equations -- each wave's score regressed on the other waves' scores and the school -- with a
small, documented Gibbs imputer (``norm`` as in mice: Bayesian linear regression with
parameter draws), ``m`` times, and the paired mean differences are pooled by Rubin's rules
with Barnard and Rubin's small-sample degrees of freedom.

Pure functions: data in, frozen result out; seeded and deterministic; never used silently in
place of the complete-case analysis (it is reported beside it).

References
----------
Rubin, D. B. (1987). *Multiple imputation for nonresponse in surveys*. Wiley.
https://doi.org/10.1002/9780470316696

Barnard, J., & Rubin, D. B. (1999). Small-sample degrees of freedom with multiple imputation.
*Biometrika, 86*, 948-955. https://doi.org/10.1093/biomet/86.4.948

van Buuren, S., & Groothuis-Oudshoorn, K. (2011). mice: Multivariate imputation by chained
equations in R. *J. Stat. Softw., 45*(3). https://doi.org/10.18637/jss.v045.i03
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .._display import Display
from .._validate import check_ci_level
from ..errors import Count, InputError, Msg

__all__ = ["PooledEstimate", "rubin_pool", "impute_waves", "mi_paired_contrasts",
           "pool_paired_contrasts",
           "DEFAULT_M", "DEFAULT_SEED"]

#: Number of imputations (White, Royston & Wood, 2011, suggest m at least the percentage of
#: incomplete cases; 20 covers up to 20 % and is the issue's minimum).
DEFAULT_M = 20
#: Seed used when the caller gives none, so that a run is reproducible.
DEFAULT_SEED = 20260117
#: mice's ridge penalty in ``norm`` (keeps X'X invertible with sparse school dummies).
_RIDGE = 1e-5


@dataclass(frozen=True)
class PooledEstimate(Display):
    """Rubin's rules for one scalar estimate (see :func:`rubin_pool`)."""

    m: int
    estimate: float
    ubar: float
    b: float
    t: float
    se: float
    riv: float
    lambda_: float
    fmi: float
    dfcom: float
    df: float
    statistic: float
    p: float
    ci_low: float
    ci_high: float
    ci_level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])

    def to_record(self) -> dict:
        """The Contract 4 v2 ``imputation.<contrast>`` keys."""
        return {"m": self.m, "estimate": self.estimate, "se": self.se, "df": self.df,
                "p": self.p, "ci95": [self.ci_low, self.ci_high], "fmi": self.fmi}

    def summary(self) -> str:
        return (f"MI (m = {self.m}): {self.estimate:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}]"
                f", SE {self.se:.3f}, df {self.df:.1f}, p = {self.p:.4g}, FMI {self.fmi:.3f}")


def rubin_pool(estimates: Sequence[float], variances: Sequence[float], dfcom: float,
               ci_level: float = 0.95) -> PooledEstimate:
    """Pool m estimates by Rubin's rules with the Barnard-Rubin degrees of freedom.

    Parameters
    ----------
    estimates, variances
        Per imputation the estimate :math:`\\hat Q_l` and its squared standard error
        :math:`U_l`.
    dfcom
        Degrees of freedom of the complete-data analysis (n - 1 for a mean difference).

    Notes
    -----
    :math:`\\bar Q = \\frac1m\\sum\\hat Q_l`, :math:`\\bar U = \\frac1m\\sum U_l`,
    :math:`B = \\frac1{m-1}\\sum(\\hat Q_l - \\bar Q)^2`, :math:`T = \\bar U + (1 + 1/m)B`;
    :math:`r = (1 + 1/m)B/\\bar U`, :math:`\\lambda = (1 + 1/m)B/T`;
    :math:`\\nu_{old} = (m - 1)/\\lambda^2`,
    :math:`\\nu_{obs} = \\frac{\\nu_{com} + 1}{\\nu_{com} + 3}\\nu_{com}(1 - \\lambda)`,
    :math:`\\nu = \\nu_{old}\\nu_{obs}/(\\nu_{old} + \\nu_{obs})` (Barnard & Rubin, 1999;
    :math:`\\nu = \\nu_{obs}` when B = 0); FMI :math:`= (r + 2/(\\nu + 3))/(r + 1)`; the test
    and CI use :math:`t_\\nu` with SE :math:`\\sqrt T` -- all as ``mice::pool`` (3.15).

    Examples
    --------
    >>> r = rubin_pool([1.0, 1.2, 0.9], [0.04, 0.05, 0.045], dfcom=30)
    >>> round(r.estimate, 4), round(r.se, 4), round(r.df, 2)
    (1.0333, 0.2759, 6.97)

    In R: ``mice::pool.scalar(Q, U, n = dfcom + 1, k = 1)``.
    """
    check_ci_level(ci_level)
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = q.size
    if m < 2 or u.size != m or not (np.all(np.isfinite(q)) and np.all(u >= 0)):
        raise InputError(Msg("errors.imputation.rubin"))
    qbar = float(q.mean())
    ubar = float(u.mean())
    b = float(q.var(ddof=1))
    t = ubar + (1 + 1 / m) * b
    riv = (1 + 1 / m) * b / ubar if ubar > 0 else math.inf
    lam = (1 + 1 / m) * b / t if t > 0 else 0.0
    df_obs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    if lam == 0:
        df = df_obs
    else:
        df_old = (m - 1) / lam**2
        df = df_old * df_obs / (df_old + df_obs)
    fmi = (riv + 2 / (df + 3)) / (riv + 1)
    se = math.sqrt(t)
    stat = qbar / se if se > 0 else float("nan")
    p = float(2 * stats.t.sf(abs(stat), df)) if math.isfinite(stat) else float("nan")
    qt = float(stats.t.ppf(1 - (1 - ci_level) / 2, df))
    return PooledEstimate(m=m, estimate=qbar, ubar=ubar, b=b, t=t, se=se, riv=riv, lambda_=lam,
                          fmi=fmi, dfcom=float(dfcom), df=float(df), statistic=stat, p=p,
                          ci_low=qbar - qt * se, ci_high=qbar + qt * se, ci_level=ci_level)


def _wide(scores: pd.DataFrame, scale: str, waves: Sequence[str]) -> pd.DataFrame:
    need = ["respondent_id", "wave", "school_id", scale]
    absent = [c for c in need if c not in scores.columns]
    if absent:
        raise InputError(Msg("errors.imputation.columns", absent=absent, need=need))
    rows = scores.loc[scores["wave"].astype(str).isin(list(waves)), need]
    dup = rows.duplicated(["respondent_id", "wave"])
    if dup.any():
        # counted, never quoted: a respondent id is an identifier (Contract 5)
        raise InputError(Msg("errors.design.duplicate_wave_rows",
                             n=Count(int(rows.loc[dup, "respondent_id"].nunique()))))
    y = rows.pivot(index="respondent_id", columns="wave", values=scale).reindex(
        columns=list(waves))
    # a respondent's school: the first non-missing one in wave order (as paired_scores)
    school = rows.assign(_o=rows["wave"].map({w: i for i, w in enumerate(waves)})) \
        .sort_values("_o", kind="stable").groupby("respondent_id")["school_id"].first()
    y = y[y.notna().any(axis=1)]
    return y.assign(school_id=school.reindex(y.index).astype(str))


def _draw_norm(x: np.ndarray, y: np.ndarray, rng: np.random.Generator
               ) -> tuple[np.ndarray, float]:
    """One draw of (beta, sigma) from the posterior of a linear regression (mice's ``norm``:
    sigma^2 = RSS / chi2(n - k), beta ~ N(beta_hat, sigma^2 (X'X + ridge)^-1))."""
    xtx = x.T @ x
    xtx = xtx + np.diag(np.diag(xtx)) * _RIDGE
    chol = np.linalg.cholesky(xtx)
    beta_hat = np.linalg.solve(xtx, x.T @ y)
    resid = y - x @ beta_hat
    dof = max(x.shape[0] - x.shape[1], 1)
    sigma = math.sqrt(float(resid @ resid) / rng.chisquare(dof))
    # (X'X)^-1 = L^-T L^-1, so beta_hat + sigma * L^-T z has that covariance
    z = rng.standard_normal(x.shape[1])
    beta = beta_hat + sigma * np.linalg.solve(chol.T, z)
    return beta, sigma


def impute_waves(scores: pd.DataFrame, scale: str, waves: Sequence[str], *, m: int = DEFAULT_M,
                 n_iter: int = 10, seed: int = DEFAULT_SEED) -> list[pd.DataFrame]:
    """``m`` completed wide tables of one scale: one row per respondent, one column per wave.

    Respondents with a score at one wave or more are kept. Chained equations: start every
    missing value at its wave's observed mean; then ``n_iter`` times, for each wave with
    missing values, regress its observed scores on the other waves' (current) scores and school
    indicators and replace its missing values by draws from the posterior predictive
    distribution (:func:`_draw_norm`); with a single incomplete wave one sweep is exact and
    ``n_iter`` is not needed. Each imputation runs its own chain from its own seed
    (``numpy.random.SeedSequence(seed).spawn(m)``), so results do not depend on ``m``'s order.

    >>> s = pd.DataFrame({"respondent_id": list("abcdabcd"), "school_id": "S",
    ...                   "wave": ["pre"] * 4 + ["post"] * 4,
    ...                   "x": [3., 4, 2, 5, 3.5, None, 2.5, 5.5]})
    >>> done = impute_waves(s, "x", ["pre", "post"], m=2)
    >>> len(done), int(done[0][["pre", "post"]].isna().sum().sum())
    (2, 0)
    """
    wide, arrays = _impute(scores, scale, waves, m=m, n_iter=n_iter, seed=seed)
    return [pd.DataFrame(y, index=wide.index, columns=list(waves)).assign(
        school_id=wide["school_id"]) for y in arrays]


def _impute(scores: pd.DataFrame, scale: str, waves: Sequence[str], *, m: int, n_iter: int,
            seed: int) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """The observed wide table and m completed (respondents x waves) arrays."""
    if not isinstance(m, int) or m < 2:
        raise InputError(Msg("errors.imputation.m", value=repr(m), default=DEFAULT_M))
    if not isinstance(n_iter, int) or n_iter < 1:
        raise InputError(Msg("errors.imputation.n_iter", value=repr(n_iter)))
    waves = [str(w) for w in waves]
    wide = _wide(scores, scale, waves)
    y0 = wide[waves].to_numpy(dtype=float)
    miss = np.isnan(y0)
    n_obs = (~miss).sum(axis=0)
    schools = pd.Categorical(wide["school_id"])
    dummies = np.eye(len(schools.categories))[schools.codes][:, 1:]
    out = []
    for child in np.random.SeedSequence(seed).spawn(m):
        rng = np.random.default_rng(child)
        y = y0.copy()
        for w in range(len(waves)):
            if n_obs[w] == 0:
                raise InputError(Msg("errors.imputation.no_scores", scale=repr(scale),
                                     wave=repr(waves[w])))
            y[miss[:, w], w] = np.nanmean(y0[:, w])
        # with one incomplete wave the regression uses complete predictors only, so one sweep
        # is the exact draw; more sweeps would only cost time
        sweeps = 0 if not miss.any() else 1 if miss.any(axis=0).sum() == 1 else n_iter
        for _ in range(sweeps):
            for w in range(len(waves)):
                if not miss[:, w].any():
                    continue
                others = np.delete(y, w, axis=1)
                x = np.column_stack([np.ones(len(y)), others, dummies])
                obs = ~miss[:, w]
                # a school without an observed score at this wave has no information on its
                # own level: its indicator is dropped (its respondents get the reference level)
                x = x[:, np.any(x[obs] != 0, axis=0)]
                beta, sigma = _draw_norm(x[obs], y[obs, w], rng)
                y[~obs, w] = x[~obs] @ beta + sigma * rng.standard_normal(int((~obs).sum()))
        out.append(y)
    return wide, out


def mi_paired_contrasts(scores: pd.DataFrame, scale: str, waves: Sequence[str], *,
                        m: int = DEFAULT_M, n_iter: int = 10, seed: int = DEFAULT_SEED,
                        ci_level: float = 0.95) -> dict[str, PooledEstimate]:
    """Pooled mean change of each later wave against the first, after multiple imputation.

    Parameters
    ----------
    scores
        Long scores (``respondent_id, wave, school_id`` and ``scale``).
    waves
        The declared waves in order; all of them inform the imputation, the first is the
        reference of every contrast.
    m, n_iter, seed
        Imputations (default 20), Gibbs iterations per imputation, seed.

    Returns
    -------
    dict
        ``"<wave>-<first wave>"`` -> :class:`PooledEstimate` of the mean of
        :math:`y_{wave} - y_{first}` over all respondents with any score
        (per imputation: mean and variance :math:`s^2/n` of the differences, dfcom = n - 1),
        pooled by :func:`rubin_pool`. ``to_record()`` gives the Contract 4 v2 keys.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> pre = rng.normal(3, 0.6, 60)
    >>> post = pre + 0.3 + rng.normal(0, 0.4, 60)
    >>> post[:12] = np.nan
    >>> s = pd.DataFrame({"respondent_id": np.tile(np.arange(60), 2), "school_id": "S",
    ...                   "wave": np.repeat(["pre", "post"], 60), "x": np.r_[pre, post]})
    >>> r = mi_paired_contrasts(s, "x", ["pre", "post"])["post-pre"]
    >>> r.m, 0.15 < r.estimate < 0.45, 0 < r.fmi < 0.5
    (20, True, True)
    """
    check_ci_level(ci_level)
    waves = [str(w) for w in waves]
    if len(waves) < 2:
        raise InputError(Msg("errors.imputation.two_waves"))
    _, arrays = _impute(scores, scale, waves, m=m, n_iter=n_iter, seed=seed)
    return _pool_arrays(arrays, waves, ci_level)


def pool_paired_contrasts(completed: Sequence[pd.DataFrame], waves: Sequence[str], *,
                          ci_level: float = 0.95) -> dict[str, PooledEstimate]:
    """Rubin-pooled mean change of each later wave against the first over completed tables.

    Each table has one row per respondent and one column per wave (as :func:`impute_waves`
    returns); per table the estimate is the mean of :math:`y_w - y_{first}` and its variance
    :math:`s^2/n`, with dfcom = n - 1 -- R's ``pool(with(imp, lm(I(post - pre) ~ 1)))``.

    >>> t = [pd.DataFrame({"pre": [1., 2, 3], "post": [2., 2, 4 + i]}) for i in range(3)]
    >>> round(pool_paired_contrasts(t, ["pre", "post"])["post-pre"].estimate, 4)
    1.0
    """
    check_ci_level(ci_level)
    waves = [str(w) for w in waves]
    arrays = [t[waves].to_numpy(dtype=float) for t in completed]
    if any(np.isnan(a).any() for a in arrays):
        raise InputError(Msg("errors.imputation.still_missing"))
    return _pool_arrays(arrays, waves, ci_level)


def _pool_arrays(arrays: Sequence[np.ndarray], waves: Sequence[str], ci_level: float
                 ) -> dict[str, PooledEstimate]:
    out = {}
    for j, w in enumerate(waves[1:], start=1):
        d = np.stack([a[:, j] - a[:, 0] for a in arrays])  # (m, n)
        n = d.shape[1]
        out[f"{w}-{waves[0]}"] = rubin_pool(d.mean(axis=1), d.var(axis=1, ddof=1) / n,
                                            dfcom=n - 1, ci_level=ci_level)
    return out
