"""Linear mixed models with any number of random intercepts, and the difference in differences.

:func:`fit_lmm` fits ``y = X b + sum_k Z_k u_k + e`` with independent random intercepts
``u_k ~ N(0, tau_k^2 I)`` for any number of grouping factors, crossed or nested (nesting is
expressed by the labels: ``interaction(school, respondent)`` is lme4's ``school:respondent``),
by exact profiled REML (or ML), and tests every fixed effect with Satterthwaite's degrees of
freedom as lmerTest computes them. :func:`did_mixed_model` uses it for the evaluation design
with intervention and comparison schools over two or more waves:
``score ~ wave * condition (+ role) + (1 | school) + (1 | school:wave) + (1 | school:respondent)``.

Pure functions: arrays or a score table in, frozen results out; no disclosure control and no
text for people (that happens in the results and report layers).

References
----------
Bates, D., Maechler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects models
using lme4. *Journal of Statistical Software, 67*(1), 1-48. https://doi.org/10.18637/jss.v067.i01

Kuznetsova, A., Brockhoff, P. B., & Christensen, R. H. B. (2017). lmerTest package: Tests in
linear mixed effects models. *Journal of Statistical Software, 82*(13), 1-26.
https://doi.org/10.18637/jss.v082.i13

Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance components.
*Biometrics Bulletin, 2*(6), 110-114. https://doi.org/10.2307/3002019

Hedges, L. V. (2007). Effect sizes in cluster-randomized designs. *Journal of Educational and
Behavioral Statistics, 32*(4), 341-370. https://doi.org/10.3102/1076998606298043

Feingold, A. (2009). Effect sizes for growth-modeling analysis for controlled clinical trials in
the same metric as for classical analysis. *Psychological Methods, 14*(1), 43-53.
https://doi.org/10.1037/a0014699
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, sparse, stats
from scipy.sparse import csgraph

from .._display import Display
from .._validate import check_ci_level
from ..errors import Count, InputError, Msg

__all__ = ["LmmFit", "Contrast", "JointTest", "DidResult", "fit_lmm", "interaction", "did_mixed_model",
           "SINGULAR_TOL", "EIGEN_TOL", "REFERENCE_CONDITIONS"]

#: Reference condition of :func:`did_mixed_model` when none is named: the first one declared.
REFERENCE_CONDITIONS = ("control", "comparison", "waitlist")
#: A random intercept whose relative SD (tau / sigma, lme4's theta) is below this is reported as
#: a boundary (singular) estimate, as lme4's ``isSingular(tol = 1e-4)``.
SINGULAR_TOL = 1e-4
#: Eigenvalues of the Hessian of the variance parameters at or below this are left out of its
#: inverse, as lmerTest's ``tol = 1e-8``.
EIGEN_TOL = 1e-8


# ---------------------------------------------------------------------------------------------
# grouping factors
# ---------------------------------------------------------------------------------------------
def _factor(values, name: str) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(np.asarray(values), sort=False)
    if (codes < 0).any():
        raise InputError(Msg("errors.mixed.missing_labels", name=repr(name)))
    return codes.astype(np.int64), len(uniques)


def interaction(*labels) -> np.ndarray:
    """Integer codes of the combinations of several label arrays (lme4's ``a:b``).

    Use it for nested or interaction random intercepts: ``interaction(school, respondent)``
    makes a respondent id that recurs in two schools two respondents, as ``(1 | school:resp)``.

    Examples
    --------
    >>> interaction(["a", "a", "b", "b"], [1, 2, 1, 1]).tolist()
    [0, 1, 2, 2]
    """
    if not labels:
        raise ValueError("interaction needs at least one label array")
    code, _ = _factor(labels[0], "interaction")
    for more in labels[1:]:
        c, k = _factor(more, "interaction")
        code, _ = _factor(code * k + c, "interaction")
    return code


# ---------------------------------------------------------------------------------------------
# the likelihood: one pass over the rows, then every evaluation costs O(levels of the small
# factors), never O(rows)
# ---------------------------------------------------------------------------------------------
@dataclass
class _Group:
    """Components of the same size s of the reduced random-effects matrix, stacked."""

    b0: np.ndarray      # (n_g, s, s)   Z_r'Z_r blocks
    cv: np.ndarray      # (n_v, n_g, s, s)
    r0: np.ndarray      # (n_g, s, q1)  Z_r'[X y] blocks
    crv: np.ndarray     # (n_v, n_g, s, q1)
    factor: np.ndarray  # (n_g, s) which of the remaining factors each column belongs to


class _Likelihood:
    """Sufficient statistics of the random-intercept model and the profiled (RE)ML criterion.

    With :math:`F = [X\\ y]` and the largest factor e eliminated in closed form (its block of
    :math:`\\Lambda Z'Z\\Lambda + I` is diagonal), the remaining matrix is

    .. math:: S = \\Lambda_r (G_r - \\sum_v w_v C_v) \\Lambda_r + \\mathrm{diag}(I, 0),
              \\quad w_v = \\theta_e^2 / (1 + \\theta_e^2 v),

    with :math:`G_r = [Z_r\\ F]'[Z_r\\ F]` and :math:`C_v` the cross-products of the per-level
    sums over the levels of e with v rows. Its random part falls apart into connected components
    (for schools: one block per school), which are Cholesky-factored as stacks of small dense
    matrices.
    """

    def __init__(self, f: np.ndarray, codes: list[np.ndarray], n_levels: list[int]):
        n, q1 = f.shape
        self.q1 = q1
        self.k = len(codes)
        self.e = int(np.argmax(n_levels))
        self.rest = [i for i in range(self.k) if i != self.e]
        ce = codes[self.e]
        ne = n_levels[self.e]
        counts = np.bincount(ce, minlength=ne)
        sizes, size_idx = np.unique(counts, return_inverse=True)
        self.v = sizes.astype(float)
        self.count_v = np.bincount(size_idx, minlength=sizes.size).astype(float)
        ze = sparse.csr_matrix((np.ones(n), (ce, np.arange(n))), shape=(ne, n))
        cf = np.asarray(ze @ f)
        self.ff0 = f.T @ f
        sel = [size_idx == i for i in range(sizes.size)]
        self.cff = np.stack([cf[s].T @ cf[s] for s in sel])
        self.groups: list[_Group] = []
        if not self.rest:
            return
        offs = np.cumsum([0] + [n_levels[i] for i in self.rest])
        qr = int(offs[-1])
        kr = len(self.rest)
        cols = np.column_stack([codes[i] + offs[j] for j, i in enumerate(self.rest)])
        zr = sparse.csr_matrix((np.ones(n * kr), cols.ravel(), np.arange(0, n * kr + 1, kr)),
                               shape=(n, qr))
        rr0 = (zr.T @ zr).tocsr()
        rf0 = np.asarray(zr.T @ f)
        cr = (ze @ zr).tocsr()
        crr = [(cr[s].T @ cr[s]).tocsr() for s in sel]
        crf = [np.asarray(cr[s].T @ cf[s]) for s in sel]
        pattern = abs(rr0)
        for c in crr:
            pattern = pattern + abs(c)
        n_comp, comp = csgraph.connected_components(pattern, directed=False)
        comp_size = np.bincount(comp, minlength=n_comp)
        order = np.argsort(comp, kind="stable")
        start = np.concatenate([[0], np.cumsum(comp_size)[:-1]])
        local = np.empty(qr, dtype=np.int64)
        local[order] = np.arange(qr) - start[comp[order]]
        factor_of = np.searchsorted(offs, np.arange(qr), side="right") - 1
        self.largest_block = int(comp_size.max())
        for s in np.unique(comp_size):
            members = np.flatnonzero(comp_size == s)
            gpos = np.full(n_comp, -1, dtype=np.int64)
            gpos[members] = np.arange(members.size)
            in_g = np.flatnonzero(comp_size[comp] == s)

            def stack_rr(m: sparse.csr_matrix, s=s, gpos=gpos, n_g=members.size) -> np.ndarray:
                coo = m.tocoo()
                keep = comp_size[comp[coo.row]] == s
                i, j, val = coo.row[keep], coo.col[keep], coo.data[keep]
                out = np.zeros((n_g, s, s))
                np.add.at(out, (gpos[comp[i]], local[i], local[j]), val)
                return out

            def stack_rf(m: np.ndarray, s=s, gpos=gpos, n_g=members.size,
                         in_g=in_g) -> np.ndarray:
                out = np.zeros((n_g, s, q1))
                out[gpos[comp[in_g]], local[in_g]] = m[in_g]
                return out

            fac = np.zeros((members.size, s), dtype=np.int64)
            fac[gpos[comp[in_g]], local[in_g]] = factor_of[in_g]
            self.groups.append(_Group(
                b0=stack_rr(rr0), cv=np.stack([stack_rr(c) for c in crr]),
                r0=stack_rf(rf0), crv=np.stack([stack_rf(c) for c in crf]), factor=fac))

    def evaluate(self, theta: np.ndarray) -> tuple[float, np.ndarray] | None:
        """``log|L|^2`` (lme4's ``ldL2``) and the Schur complement
        :math:`[X\\ y]'(I + Z\\Lambda\\Lambda Z')^{-1}[X\\ y]`; None if not positive definite."""
        ge = float(theta[self.e]) ** 2
        w = ge / (1.0 + ge * self.v)
        logdet = float(self.count_v @ np.log1p(ge * self.v))
        ff = _minus_weighted(self.ff0, w, self.cff)
        th_rest = np.asarray(theta, dtype=float)[self.rest]
        for g in self.groups:
            t = th_rest[g.factor]
            b = _minus_weighted(g.b0, w, g.cv) * (t[:, :, None] * t[:, None, :])
            idx = np.arange(b.shape[1])
            b[:, idx, idx] += 1.0
            r = _minus_weighted(g.r0, w, g.crv) * t[:, :, None]
            out = _chol_solve(b, r)
            if out is None:
                return None
            logdet += out[0]
            sol = out[1].reshape(-1, self.q1)
            ff -= sol.T @ sol
        return logdet, ff


def _minus_weighted(base: np.ndarray, w: np.ndarray, arrays: np.ndarray) -> np.ndarray:
    """``base - sum_v w[v] arrays[v]``; a loop, because there are only as many v as distinct
    numbers of rows per level of the eliminated factor, and tensordot copies for thin sums."""
    out = base - w[0] * arrays[0]
    for i in range(1, w.size):
        out -= w[i] * arrays[i]
    return out


def _chol_solve(b: np.ndarray, r: np.ndarray) -> tuple[float, np.ndarray] | None:
    """For a stack of SPD matrices b (m, s, s) and right-hand sides r (m, s, c): the summed
    log-determinants and :math:`L^{-1} r` (L the Cholesky factors); None if one is not PD.
    Small blocks (one per school) are factored column by column across the whole stack, which
    beats a LAPACK call per block."""
    s = b.shape[1]
    if s > 8:
        try:
            chol = np.linalg.cholesky(b)
        except np.linalg.LinAlgError:
            return None
        return (2.0 * float(np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)))),
                np.linalg.solve(chol, r))
    low = np.zeros_like(b)
    sol = np.empty_like(r)
    logdet = 0.0
    for j in range(s):
        d = b[:, j, j] - np.einsum("mk,mk->m", low[:, j, :j], low[:, j, :j])
        if not np.all(d > 0):
            return None
        dj = np.sqrt(d)
        low[:, j, j] = dj
        logdet += float(np.sum(np.log(d)))
        if j + 1 < s:
            low[:, j + 1:, j] = (b[:, j + 1:, j] - np.einsum("mik,mk->mi", low[:, j + 1:, :j],
                                                             low[:, j, :j])) / dj[:, None]
        sol[:, j] = (r[:, j] - np.einsum("mk,mkc->mc", low[:, j, :j], sol[:, :j])) / dj[:, None]
    return logdet, sol


def _parts(lik: _Likelihood, theta: np.ndarray, p: int, reml: bool):
    """(f, r^2, U) at theta: f = ldL2 (+ log|R_X|^2 under REML), r^2 the penalised residual sum
    of squares, U = (R_X'R_X)^{-1}; None where the model is not positive definite."""
    out = lik.evaluate(theta)
    if out is None:
        return None
    logdet, ff = out
    try:
        chol = np.linalg.cholesky(ff)
    except np.linalg.LinAlgError:
        return None
    d = np.diag(chol)
    r2 = float(d[p] ** 2)
    if not r2 > 0:
        return None
    f = logdet + (2.0 * float(np.sum(np.log(d[:p]))) if reml else 0.0)
    rx_inv = np.linalg.inv(chol[:p, :p])
    return f, r2, rx_inv.T @ rx_inv, ff


def _deviance(f: float, r2: float, dof: int) -> float:
    """Profiled criterion: :math:`f + k(1 + \\log(2\\pi r^2/k))`, k = n - p (REML) or n."""
    return f + dof * (1.0 + math.log(2.0 * math.pi * r2 / dof))


def _derivatives(fun, x: np.ndarray, steps: np.ndarray, levels: int = 3):
    """Gradient and Hessian of a vector function by central differences with Richardson
    extrapolation (step halved per level, error O(h^(2 levels))), as numDeriv's ``genD``."""
    k = x.size
    f0 = np.asarray(fun(x), dtype=float)
    grads, hesss = [], []
    for lev in range(levels):
        h = steps / 2.0 ** lev
        plus = [np.asarray(fun(x + h[i] * np.eye(k)[i])) for i in range(k)]
        minus = [np.asarray(fun(x - h[i] * np.eye(k)[i])) for i in range(k)]
        g = np.stack([(plus[i] - minus[i]) / (2 * h[i]) for i in range(k)])
        hs = np.empty((k, k) + f0.shape)
        for i in range(k):
            hs[i, i] = (plus[i] - 2 * f0 + minus[i]) / h[i] ** 2
            for j in range(i):
                ei, ej = h[i] * np.eye(k)[i], h[j] * np.eye(k)[j]
                v = (np.asarray(fun(x + ei + ej)) - np.asarray(fun(x + ei - ej))
                     - np.asarray(fun(x - ei + ej)) + np.asarray(fun(x - ei - ej)))
                hs[i, j] = hs[j, i] = v / (4 * h[i] * h[j])
        grads.append(g)
        hesss.append(hs)
    for m in range(1, levels):
        four = 4.0 ** m
        grads = [(four * grads[i + 1] - grads[i]) / (four - 1) for i in range(len(grads) - 1)]
        hesss = [(four * hesss[i + 1] - hesss[i]) / (four - 1) for i in range(len(hesss) - 1)]
    return f0, grads[0], hesss[0]


# ---------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Contrast(Display):
    """One contrast :math:`L'b` of a mixed model's fixed effects (:meth:`LmmFit.contrast`):
    estimate, SE, Satterthwaite ``df``, ``t``, two-sided ``p`` and the t-based CI.

    >>> Contrast(0.5, 0.2, 10.0, 2.5, 0.0314, 0.054, 0.946, 0.95).summary()
    'Contrast: estimate = 0.5, se = 0.2, df = 10, t = 2.5, p = 0.0314, ci_low = 0.054, \
ci_high = 0.946, ci_level = 0.95'
    """

    estimate: float
    se: float
    df: float
    t: float
    p: float
    ci_low: float
    ci_high: float
    ci_level: float = 0.95


@dataclass(frozen=True)
class JointTest(Display):
    """F test of several contrasts at once (:meth:`LmmFit.joint_test`): ``F`` on ``num_df``
    and Satterthwaite ``den_df`` degrees of freedom, and its ``p``.

    >>> JointTest(F=4.0, num_df=2.0, den_df=20.0, p=0.0346).to_frame().columns.tolist()
    ['F', 'num_df', 'den_df', 'p']
    """

    F: float
    num_df: float
    den_df: float
    p: float


@dataclass(frozen=True)
class LmmFit(Display):
    """A fitted linear mixed model with random intercepts and Satterthwaite tests.

    ``estimates``, ``se``, ``df``, ``t`` and ``p`` follow ``terms``; ``df`` and ``p`` are
    Satterthwaite's as lmerTest's ``summary()``. ``variances`` follow ``groups`` (random
    intercept variances tau^2), ``var_residual`` is sigma^2, ``theta`` the relative SDs
    tau/sigma (lme4's theta). ``criterion`` is lme4's ``REMLcrit()`` (ML: ``deviance()``).
    """

    terms: tuple[str, ...]
    estimates: tuple[float, ...]
    se: tuple[float, ...]
    df: tuple[float, ...]
    t: tuple[float, ...]
    p: tuple[float, ...]
    groups: tuple[str, ...]
    variances: tuple[float, ...]
    var_residual: float
    theta: tuple[float, ...]
    n_obs: int
    n_levels: tuple[int, ...]
    reml: bool
    criterion: float
    loglik: float
    converged: bool
    singular: bool
    iterations: int
    warnings: tuple[str, ...] = ()
    ci_level: float = 0.95
    cov: np.ndarray = field(default=None, repr=False, compare=False)
    jacobian: np.ndarray = field(default=None, repr=False, compare=False)
    vcov_varpar: np.ndarray = field(default=None, repr=False, compare=False)

    def to_frame(self, ci_level: float | None = None) -> pd.DataFrame:
        """Tidy fixed effects: ``term, estimate, se, df, t, p, ci_low, ci_high, ci_level``
        (t-based CI with Satterthwaite df)."""
        level = self.ci_level if ci_level is None else ci_level
        est, se, df = np.array(self.estimates), np.array(self.se), np.array(self.df)
        q = stats.t.ppf(1 - (1 - level) / 2, df)
        return pd.DataFrame({"term": list(self.terms), "estimate": est, "se": se, "df": df,
                             "t": np.array(self.t), "p": np.array(self.p),
                             "ci_low": est - q * se, "ci_high": est + q * se,
                             "ci_level": level})

    def variance_frame(self) -> pd.DataFrame:
        """Random intercepts and the residual: ``group, variance, sd``."""
        var = [*self.variances, self.var_residual]
        return pd.DataFrame({"group": [*self.groups, "Residual"], "variance": var,
                             "sd": np.sqrt(var)})

    def contrast(self, weights: Mapping[str, float] | Sequence[float],
                 ci_level: float | None = None) -> Contrast:
        """Estimate, SE, Satterthwaite df, t, p and CI of a contrast :math:`L'b`.

        ``weights`` maps term names to weights (others 0) or lists one weight per term. As
        lmerTest's ``contest1D``: :math:`\\nu = 2 (L'CL)^2 / (g'Ag)`, see :func:`fit_lmm`.
        """
        vec = self._weights(weights)
        level = self.ci_level if ci_level is None else check_ci_level(ci_level)
        est = float(vec @ np.array(self.estimates))
        var = float(vec @ self.cov @ vec)
        grad = np.einsum("i,kij,j->k", vec, self.jacobian, vec)
        denom = float(grad @ self.vcov_varpar @ grad)
        df = 2.0 * var * var / denom if denom > 0 else float("inf")
        se = math.sqrt(var)
        t = est / se
        q = float(stats.t.ppf(1 - (1 - level) / 2, df))
        return Contrast(estimate=est, se=se, df=df, t=t, p=float(2 * stats.t.sf(abs(t), df)),
                        ci_low=est - q * se, ci_high=est + q * se, ci_level=level)

    def _weights(self, weights) -> np.ndarray:
        if isinstance(weights, Mapping):
            unknown = set(weights) - set(self.terms)
            if unknown:
                raise ValueError(f"unknown term(s) {sorted(unknown)}")
            return np.array([float(weights.get(t, 0.0)) for t in self.terms])
        vec = np.asarray(weights, dtype=float)
        if vec.shape != (len(self.terms),):
            raise ValueError(f"a contrast needs {len(self.terms)} weights")
        return vec

    def joint_test(self, rows: Sequence[Mapping[str, float] | Sequence[float]]
                   ) -> JointTest:
        """F test of several contrasts at once (:math:`H_0: Lb = 0`), as lmerTest's
        ``contestMD`` (and ``anova()`` for a model term).

        With :math:`LCL' = P\\,\\mathrm{diag}(d)\\,P'` (rank q), the rows of :math:`P'L` are
        independent contrasts with Satterthwaite df :math:`\\nu_m`;
        :math:`F = \\sum_m (P_m'Lb)^2/d_m / q` and the denominator df are
        :math:`2E/(E - q)`, :math:`E = \\sum_m \\nu_m/(\\nu_m - 2)` (2 when any
        :math:`\\nu_m \\le 2`; the mean when all are equal; Kuznetsova et al., 2017, sec. 3.4).
        Returns a :class:`JointTest` (``F, num_df, den_df, p``).
        """
        mat = np.vstack([self._weights(r) for r in rows])
        v = mat @ self.cov @ mat.T
        d, vecs = np.linalg.eigh(v)
        d, vecs = d[::-1], vecs[:, ::-1]
        pos = d > max(np.sqrt(np.finfo(float).eps) * d[0], 0.0)
        q = int(pos.sum())
        ptl = (vecs[:, pos].T @ mat)
        est = ptl @ np.array(self.estimates)
        f = float(np.sum(est ** 2 / d[pos]) / q)
        grads = np.einsum("mi,kij,mj->mk", ptl, self.jacobian, ptl)
        nu = 2.0 * d[pos] ** 2 / np.einsum("mk,kl,ml->m", grads, self.vcov_varpar, grads)
        if q == 1:
            den = float(nu[0])
        elif np.all(np.abs(np.diff(nu)) < 1e-8):
            den = float(nu.mean())
        elif np.any(nu <= 2):
            den = 2.0
        else:
            e = float(np.sum(nu / (nu - 2)))
            den = 2 * e / (e - q)
        return JointTest(F=f, num_df=float(q), den_df=den, p=float(stats.f.sf(f, q, den)))

    def summary(self) -> str:
        flags = ("" if self.converged else " NOT CONVERGED") + (" SINGULAR" if self.singular
                                                               else "")
        lines = [f"{'REML' if self.reml else 'ML'} criterion {self.criterion:.4f}; "
                 f"{self.n_obs} rows{flags}"]
        for g, v, m in zip(self.groups, self.variances, self.n_levels, strict=True):
            lines.append(f"  {g}: variance {v:.6g} ({m} levels)")
        lines.append(f"  Residual: variance {self.var_residual:.6g}")
        for row in self.to_frame().itertuples():
            lines.append(f"  {row.term}: {row.estimate:.6g} (SE {row.se:.4g}, df {row.df:.4g},"
                         f" p = {row.p:.4g})")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# the fit
# ---------------------------------------------------------------------------------------------
def fit_lmm(y, x, groups: Mapping[str, object], *, terms: Sequence[str] | None = None,
            reml: bool = True, ci_level: float = 0.95) -> LmmFit:
    """Exact (RE)ML fit of a linear mixed model with random intercepts, Satterthwaite df.

    Parameters
    ----------
    y
        Response, shape (n,).
    x
        Fixed-effects design, shape (n, p), with its intercept column when the model has one;
        a DataFrame's column names become the terms.
    groups
        Name -> grouping labels per row, one random intercept per entry. Crossed factors are
        given as they are; nested ones with :func:`interaction` (lme4's ``school:respondent``).
    terms
        Names of the columns of ``x`` (default: the DataFrame's columns or ``x0, x1, ...``).
    reml
        REML (default) or ML.
    ci_level
        Level of the CIs of :meth:`LmmFit.to_frame`.

    Returns
    -------
    LmmFit

    Notes
    -----
    The model is :math:`y = Xb + Zu + e` with :math:`u_k \\sim N(0, \\theta_k^2\\sigma^2 I)`,
    :math:`e \\sim N(0, \\sigma^2 I)`, :math:`\\Lambda = \\mathrm{diag}(\\theta_k I)`. With the
    Cholesky factor :math:`LL' = \\Lambda Z'Z\\Lambda + I`, :math:`R_X` that of
    :math:`X'(I + Z\\Lambda\\Lambda Z')^{-1}X` and :math:`r^2(\\theta)` the penalised residual sum
    of squares at the conditional optimum :math:`\\hat b(\\theta)`, the profiled REML criterion
    (Bates et al., 2015, eq. 41-42) is

    .. math:: d_R(\\theta) = \\log|L|^2 + \\log|R_X|^2 + (n-p)\\left(1 + \\log\\frac{2\\pi
              r^2(\\theta)}{n-p}\\right)

    (ML: :math:`\\log|L|^2 + n(1 + \\log(2\\pi r^2/n))`), minimised over :math:`\\theta \\ge 0` by
    L-BFGS-B and then by Newton steps on Richardson-extrapolated derivatives;
    :math:`\\hat\\sigma^2 = r^2/(n-p)` (ML: :math:`r^2/n`) and
    :math:`\\widehat{\\mathrm{Var}}(\\hat b) = \\hat\\sigma^2 (R_X'R_X)^{-1}`. The largest factor
    is eliminated in closed form (its block is diagonal); what remains falls apart into
    connected blocks (one per school for the evaluation designs), factored as stacks of dense
    matrices. After one pass over the rows an evaluation therefore costs O(levels of the other
    factors), whatever n.

    Satterthwaite (Kuznetsova et al., 2017, eq. 4-6): with :math:`\\varphi = (\\theta, \\sigma)`
    and lmerTest's deviance in :math:`\\varphi`,
    :math:`D(\\varphi) = \\log|L|^2 + \\log|R_X|^2 + r^2/\\sigma^2 + (n-p)\\log(2\\pi\\sigma^2)`,
    :math:`A = 2 H^{-1}` (:math:`H` the Hessian of D at the optimum, inverted over its
    eigenvalues above 1e-8 as lmerTest) and, for a contrast :math:`L`,
    :math:`g_k = L'\\,\\partial C/\\partial\\varphi_k\\,L` with :math:`C = \\sigma^2(R_X'R_X)^{-1}`:

    .. math:: \\nu = \\frac{2\\,(L'CL)^2}{g'Ag}.

    The σ-derivatives are analytic; the θ-derivatives are central differences with four levels
    of Richardson extrapolation from steps of 0.1 θ (numDeriv's defaults). Crossed factors
    with many levels each make one large block, whose dense factorisation costs the cube of its
    size per evaluation: fine for hundreds of levels, slow for tens of thousands. Boundary estimates (θ below 1e-4) are reported as singular
    (lme4's ``isSingular``); a point that is not a minimum is reported as not converged.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> school = np.repeat(np.arange(12), 40)
    >>> resp = np.repeat(np.arange(240), 2)
    >>> post = np.tile([0.0, 1.0], 240)
    >>> y = (0.4 * rng.normal(size=12)[school] + 0.6 * rng.normal(size=240)[resp]
    ...      + 0.3 * post + 0.5 * rng.normal(size=480))
    >>> fit = fit_lmm(y, np.column_stack([np.ones(480), post]),
    ...               {"school": school, "respondent": interaction(school, resp)},
    ...               terms=["(Intercept)", "post"])
    >>> fit.to_frame()[["term", "estimate", "df"]].round(2)
              term  estimate      df
    0  (Intercept)     -0.03   12.78
    1         post      0.38  239.00

    In R: ``lmerTest::lmer(y ~ post + (1 | school) + (1 | school:respondent))``.
    """
    ci_level = check_ci_level(ci_level)
    if isinstance(x, pd.DataFrame):
        terms = list(x.columns) if terms is None else list(terms)
        x = x.to_numpy(dtype=float)
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.size:
        raise ValueError("y must be (n,) and x (n, p) with the same n")
    n, p = x.shape
    terms = tuple(terms) if terms is not None else tuple(f"x{i}" for i in range(p))
    if len(terms) != p:
        raise ValueError(f"{len(terms)} term names for {p} columns")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(x))):
        raise InputError(Msg("errors.mixed.not_finite"))
    if not groups:
        raise ValueError("at least one grouping factor is needed")
    names = tuple(groups)
    codes, n_levels = [], []
    for name in names:
        c, m = _factor(groups[name], name)
        if c.size != n:
            raise ValueError(f"grouping factor {name!r} has {c.size} labels for {n} rows")
        if m >= n:
            raise InputError(Msg("errors.mixed.single_rows", name=repr(name)))
        codes.append(c)
        n_levels.append(m)
    if n <= p + 1:
        raise InputError(Msg("errors.mixed.too_few_rows"))
    if np.linalg.matrix_rank(x) < p:
        raise InputError(Msg("errors.mixed.rank_deficient"))

    # Centre y and the non-constant columns when there is an intercept: the same REML
    # criterion (the transformation has determinant 1), better conditioned sums.
    const = np.all(x == x[:1], axis=0)
    icpt = np.flatnonzero(const & np.all(x == 1.0, axis=0))
    transform = np.eye(p)
    if icpt.size:
        shift = np.where(const, 0.0, x.mean(axis=0))
        y_shift = float(y.mean())
        i0 = int(icpt[0])
        transform[i0] -= shift
        transform[i0, i0] = 1.0
    else:
        shift, y_shift, i0 = np.zeros(p), 0.0, -1
    lik = _Likelihood(np.column_stack([x - shift, y - y_shift]), codes, n_levels)
    dof = n - p if reml else n
    k = len(names)

    def criterion(theta: np.ndarray) -> float:
        parts = _parts(lik, np.abs(theta), p, reml)
        return np.inf if parts is None else _deviance(parts[0], parts[1], dof)

    def criterion_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        h = 1e-6 * np.maximum(np.abs(theta), 0.1)
        g = np.array([(criterion(theta + h[i] * np.eye(k)[i])
                       - criterion(theta - h[i] * np.eye(k)[i])) / (2 * h[i]) for i in range(k)])
        return criterion(theta), g

    def vector(theta: np.ndarray) -> np.ndarray:
        parts = _parts(lik, theta, p, reml)
        if parts is None:
            return np.full(2 + p * p, np.nan)
        return np.concatenate([[parts[0], parts[1]], parts[2].ravel()])

    def steps(th: np.ndarray) -> np.ndarray:
        # numDeriv's defaults (d = 0.1, eps = 1e-4): large first steps keep rounding error
        # small, four Richardson levels remove the truncation error
        return np.where(np.abs(th) > 1e-6, 0.1 * np.abs(th), 1e-4)

    def profiled(th: np.ndarray):
        v0, g, h = _derivatives(vector, th, steps(th), levels=4)
        r2 = v0[1]
        grad = g[:, 0] + dof * g[:, 1] / r2
        hess = h[:, :, 0] + dof * (h[:, :, 1] / r2 - np.outer(g[:, 1], g[:, 1]) / r2 ** 2)
        return v0, g, h, grad, hess

    notes: list[str] = []
    theta = np.ones(k)
    iterations = 0
    for _ in range(5):
        res = optimize.minimize(criterion_grad, theta, jac=True, method="L-BFGS-B",
                                bounds=[(0.0, None)] * k,
                                options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-12})
        theta = np.maximum(res.x, 0.0)
        iterations += int(res.nit)
        # theta enters the criterion only through theta^2, so its slope at 0 is 0 and L-BFGS-B
        # can stop on the bound where the criterion still curves downward: restart from the
        # best of a few interior values of such a coordinate.
        near = theta < 1e-6
        if not near.any():
            break
        down = near & (np.diag(profiled(theta)[4]) < 0)
        if not down.any():
            break
        for i in np.flatnonzero(down):
            grid = [np.where(np.arange(k) == i, v, theta) for v in (0.05, 0.1, 0.2, 0.4, 0.8)]
            theta = min(grid, key=criterion)

    # Newton polish: L-BFGS-B stops on a relative decrease of a criterion of size ~n, which
    # leaves theta ~1e-6 off; Newton steps on accurate derivatives take it to the optimum.
    # A coordinate at 0 stays there while the criterion curves upward in it (theta enters
    # the criterion only through theta^2, so its first derivative there is 0).
    converged = False
    current = None
    for _ in range(30):
        current = profiled(theta)
        v0, g, h, grad, hess = current
        free = theta > 0
        if not free.any():
            converged = bool(np.all(np.diag(hess) >= 0))
            break
        sub = hess[np.ix_(free, free)]
        if not np.all(np.linalg.eigvalsh(sub) > 0):
            break
        step = np.zeros(k)
        step[free] = -np.linalg.solve(sub, grad[free])
        if float(np.max(np.abs(step))) <= 1e-10 * max(1.0, float(np.max(theta))):
            converged = bool(np.all(np.diag(hess)[~free] >= 0))
            break
        dev0 = criterion(theta)
        lam = 1.0
        while lam > 1e-6:
            trial = np.maximum(theta + lam * step, 0.0)
            # near the optimum the criterion changes by less than its rounding error
            if criterion(trial) <= dev0 + 1e-13 * abs(dev0):
                break
            lam /= 2
        else:
            converged = float(np.max(np.abs(grad[free]) * np.maximum(theta[free], 1.0))) < 1e-4
            break
        theta = trial
        current = None
        iterations += 1
    v0, g, h, grad, hess = profiled(theta) if current is None else current
    if not converged:
        notes.append(f"the optimiser did not reach a minimum (gradient {grad.tolist()}, "
                     f"L-BFGS-B: {res.message})")

    f_hat, r2 = float(v0[0]), float(v0[1])
    u_c = v0[2:].reshape(p, p)
    sigma2 = r2 / dof
    sigma = math.sqrt(sigma2)
    _, ff = _parts(lik, theta, p, reml)[2:]
    beta_c = np.linalg.solve(ff[:p, :p], ff[:p, p])
    beta = beta_c.copy()
    if i0 >= 0:
        beta[i0] = beta_c[i0] + y_shift - float(shift @ beta_c)
    cov = transform @ (sigma2 * u_c) @ transform.T
    # Jacobian of C = sigma^2 U(theta) in (theta, sigma): numeric in theta, analytic in sigma
    du = g[:, 2:].reshape(k, p, p)
    jac = np.empty((k + 1, p, p))
    for i in range(k):
        jac[i] = transform @ (sigma2 * du[i]) @ transform.T
    jac[k] = transform @ (2.0 * sigma * u_c) @ transform.T
    # Hessian of lmerTest's D(theta, sigma) = f + r^2/sigma^2 + dof log(2 pi sigma^2)
    hv = np.empty((k + 1, k + 1))
    hv[:k, :k] = h[:, :, 0] + h[:, :, 1] / sigma2
    hv[:k, k] = hv[k, :k] = -2.0 * g[:, 1] / sigma ** 3
    hv[k, k] = 6.0 * r2 / sigma2 ** 2 - 2.0 * dof / sigma2
    evals, evecs = np.linalg.eigh(hv)
    if np.any(evals < -EIGEN_TOL):
        notes.append("the Hessian of the variance parameters has negative eigenvalue(s) "
                     f"{evals[evals < -EIGEN_TOL].tolist()}: the fit may not have converged")
    pos = evals > EIGEN_TOL
    vcov_varpar = 2.0 * (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T

    var = np.diag(cov)
    se = np.sqrt(var)
    grads = np.einsum("kii->ki", jac).T                      # (p, k+1)
    denom = np.einsum("ik,kl,il->i", grads, vcov_varpar, grads)
    with np.errstate(divide="ignore"):
        df = np.where(denom > 0, 2.0 * var * var / denom, np.inf)
    tval = beta / se
    pval = 2 * stats.t.sf(np.abs(tval), df)
    singular_groups = [nm for nm, th in zip(names, theta, strict=True) if th < SINGULAR_TOL]
    if singular_groups:
        notes.append("boundary (singular) fit: the variance of " + ", ".join(singular_groups)
                     + " is estimated as (nearly) zero")
    crit = _deviance(f_hat, r2, dof)
    return LmmFit(
        terms=terms, estimates=tuple(map(float, beta)), se=tuple(map(float, se)),
        df=tuple(map(float, df)), t=tuple(map(float, tval)), p=tuple(map(float, pval)),
        groups=names, variances=tuple(float(th * th * sigma2) for th in theta),
        var_residual=float(sigma2), theta=tuple(map(float, theta)), n_obs=n,
        n_levels=tuple(n_levels), reml=reml, criterion=float(crit), loglik=-0.5 * float(crit),
        converged=converged, singular=bool(singular_groups), iterations=iterations,
        warnings=tuple(notes), ci_level=ci_level, cov=cov, jacobian=jac,
        vcov_varpar=vcov_varpar)


# ---------------------------------------------------------------------------------------------
# the evaluation design: intervention and comparison schools over two or more waves
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DidResult(Display):
    """Difference in differences per later wave from :func:`did_mixed_model`.

    ``effects`` has one row per contrast ``<wave>-<first wave>``: ``contrast, wave, term,
    estimate, se, df, t, p, ci_low, ci_high, ci_level, d, d_ci_low, d_ci_high, d_total``.
    ``joint`` is the :class:`JointTest` that every wave's DiD is 0 (lmerTest's
    ``anova()`` row ``wave:condition``).
    """

    scale: str
    treatment: str
    reference: str
    waves: tuple[str, ...]
    formula: str
    sd_baseline: float
    sd_total: float
    n_obs: int
    n_respondents: int
    n_schools_treatment: int
    n_schools_reference: int
    converged: bool
    singular: bool
    warnings: tuple[str, ...]
    effects: pd.DataFrame = field(repr=False, compare=False)
    fit: LmmFit = field(repr=False, compare=False)
    joint: JointTest | None = field(default=None, compare=False)

    def to_frame(self) -> pd.DataFrame:
        return self.effects.copy()

    def to_record(self) -> dict[str, dict]:
        """The Contract 4 v2 ``did`` block: ``{"<wave>-<first>": {estimate, se, df, t, p,
        ci95, d, reference}}`` (``d_total`` beside ``d``)."""
        return {row.contrast: {**_contrast_record(row), "d": row.d, "d_total": row.d_total,
                               "reference": self.reference}
                for row in self.effects.itertuples()}

    def summary(self) -> str:
        lines = [f"{self.scale}: {self.formula} ({self.treatment} {self.n_schools_treatment} vs "
                 f"{self.reference} {self.n_schools_reference} schools, {self.n_obs} rows)"]
        for row in self.effects.itertuples():
            lines.append(f"  {row.contrast}: DiD {row.estimate:.4f} [{row.ci_low:.4f}, "
                         f"{row.ci_high:.4f}], df {row.df:.2f}, p = {row.p:.4g}, d = {row.d:.3f}")
        return "\n".join(lines)


def _contrast_record(row) -> dict:
    """A contrast row's estimate, se, df, t, p and ``ci95`` as Contract 4 v2 writes them."""
    return {"estimate": row.estimate, "se": row.se, "df": row.df, "t": row.t, "p": row.p,
            "ci95": [row.ci_low, row.ci_high]}


def _wave_columns(wave_arr: np.ndarray, waves: Sequence[str]) -> dict[str, np.ndarray]:
    """The intercept and a 0/1 column per later wave (treatment coding, the first wave the
    reference), named as lme4 names them (``wave<name>``)."""
    cols = {"(Intercept)": np.ones(len(wave_arr))}
    for w in waves[1:]:
        cols[f"wave{w}"] = (wave_arr == w).astype(float)
    return cols


def _role_columns(data: pd.DataFrame) -> dict[str, np.ndarray] | None:
    """A 0/1 column per role but the reference (``parent``, else the first role in sorted
    order), named ``role<name>``; None when fewer than two roles have rows (or no ``role``)."""
    if "role" not in data.columns or data["role"].nunique() < 2:
        return None
    role_arr = data["role"].astype(str).to_numpy()
    roles = sorted(set(role_arr))
    ref_role = "parent" if "parent" in roles else roles[0]
    return {f"role{r}": (role_arr == r).astype(float) for r in roles if r != ref_role}


def _model_rows(scores: pd.DataFrame, scale: str, waves: list[str], waves_key: str
                ) -> pd.DataFrame:
    """The rows with a score at one of ``waves`` (distinct, at least two; else ``waves_key``
    is raised), in the model's columns (``role`` when present), wave and school as text."""
    if len(waves) < 2 or len(set(waves)) != len(waves):
        raise InputError(Msg(waves_key, waves=waves))
    need = ["respondent_id", "school_id", "wave", scale]
    absent = [c for c in need if c not in scores.columns]
    if absent:
        raise InputError(Msg("errors.mixed.columns", absent=absent, need=", ".join(need)))
    cols = need + (["role"] if "role" in scores.columns else [])
    data = scores.loc[scores[scale].notna() & scores["wave"].astype(str).isin(waves), cols].copy()
    data["wave"] = data["wave"].astype(str)
    data["school_id"] = data["school_id"].astype(str)
    return data


def _did_rows(scores: pd.DataFrame, scale: str, waves: Sequence[str],
              conditions: Mapping[str, str], treatment: str, reference: str
              ) -> tuple[pd.DataFrame, list[str]]:
    """Validate once and return the model rows (with ``condition``) and notes."""
    if treatment == reference:
        raise InputError(Msg("errors.mixed.same_arms", condition=repr(treatment)))
    waves = [str(w) for w in waves]
    data = _model_rows(scores, scale, waves, "errors.mixed.waves")
    cond = {str(k): str(v) for k, v in conditions.items()}
    data["condition"] = data["school_id"].map(cond)
    lost = data["condition"].isna()
    if lost.any():
        where = sorted(data.loc[lost, "school_id"].unique())
        raise InputError(Msg("errors.mixed.no_condition", schools=where[:10]))
    notes = []
    other = ~data["condition"].isin([treatment, reference])
    if other.any():
        notes.append(f"{data.loc[other, 'school_id'].nunique()} school(s) in other conditions "
                     f"({sorted(data.loc[other, 'condition'].unique())}) left out")
        data = data[~other]
    dup = data.duplicated(["school_id", "respondent_id", "wave"])
    if dup.any():
        # counted, never quoted: a respondent id is an identifier (Contract 5)
        n_dup = int(data.loc[dup, ["school_id", "respondent_id"]].drop_duplicates().shape[0])
        raise InputError(Msg("errors.design.duplicate_rows", n=Count(n_dup), scale=scale))
    for arm in (treatment, reference):
        k = data.loc[data["condition"] == arm, "school_id"].nunique()
        if k < 2:
            raise InputError(Msg("errors.mixed.few_schools", condition=repr(arm), k=k,
                                 scale=repr(scale)))
        seen = set(data.loc[data["condition"] == arm, "wave"])
        if not set(waves) <= seen:
            raise InputError(Msg("errors.mixed.missing_waves", condition=repr(arm),
                                 scale=repr(scale), waves=[w for w in waves if w not in seen]))
    return data.reset_index(drop=True), notes


def did_mixed_model(scores: pd.DataFrame, scale: str, waves: Sequence[str],
                    conditions: Mapping[str, str], *, treatment: str = "intervention",
                    reference: str | None = None, with_role: bool = False,
                    ci_level: float = 0.95) -> DidResult:
    """Difference in differences of intervention and comparison schools, per later wave.

    Fits ``score ~ wave * condition (+ role) + (1 | school) + (1 | school:wave) +
    (1 | school:respondent)`` by exact REML (:func:`fit_lmm`) on every available row of the
    declared waves (dropouts and late joiners included) and tests each ``wave x condition``
    interaction -- the DiD of wave w against the first wave -- with Satterthwaite's df.

    Parameters
    ----------
    scores
        Long scores: ``respondent_id, school_id, wave`` (``role`` for ``with_role``) and
        ``scale``.
    scale
        The score column.
    waves
        The declared waves in their order; the first is the baseline (never sorted by name).
    conditions
        School id -> condition (the study's ``schools[].condition``). Schools of other
        conditions than ``treatment`` and ``reference`` (e.g. ``waitlist``) are left out.
    treatment, reference
        The conditions compared; the DiD is treatment minus reference change. ``reference``
        None: the first of ``control``, ``comparison``, ``waitlist`` that a school has.
    with_role
        Add role as a fixed effect (reference ``parent``), when there is more than one role.
    ci_level
        Level of the Satterthwaite t CI.

    Returns
    -------
    DidResult

    Notes
    -----
    The school x wave intercept lets schools' change vary: the intervention is given to schools,
    so without it the contrast is judged against respondents' residual variation (df in the
    hundreds) and rejects far too often; with it the Satterthwaite df follow the number of
    schools. Effect sizes (the CI limits divided by the same SD, which is taken as known):

    .. math:: d = \\frac{\\widehat{DiD}}{s_{pooled,0}}, \\qquad
              d_{total} = \\frac{\\widehat{DiD}}{\\sqrt{\\hat\\tau^2_{school} +
              \\hat\\tau^2_{school:wave} + \\hat\\tau^2_{respondent} + \\hat\\sigma^2}}

    with :math:`s_{pooled,0}` the pooled within-condition SD of the first-wave scores
    (Feingold, 2009, eq. 5: the metric of a classical pre/post comparison; Contract 4's ``d``),
    and the model's total SD of one score (Hedges, 2007, :math:`\\delta_T`).

    Examples
    --------
    >>> rng = np.random.default_rng(5)
    >>> rows = []
    >>> for s in range(12):
    ...     u_s, u_sw = rng.normal(0, .3), rng.normal(0, .1, 2)
    ...     for r in range(15):
    ...         u_r = rng.normal(0, .5)
    ...         for w, wave in enumerate(["pre", "post"]):
    ...             y = 3 + u_s + u_sw[w] + u_r + .2 * w + .3 * w * (s < 6) + rng.normal(0, .5)
    ...             rows.append((f"r{s}_{r}", f"S{s}", wave, y))
    >>> scores = pd.DataFrame(rows, columns=["respondent_id", "school_id", "wave", "x"])
    >>> cond = {f"S{s}": "intervention" if s < 6 else "control" for s in range(12)}
    >>> did = did_mixed_model(scores, "x", ["pre", "post"], cond)
    >>> did.to_frame()[["contrast", "estimate", "df", "d"]].round(2)
       contrast  estimate    df     d
    0  post-pre       0.2  10.0  0.27

    In R: ``lmerTest::lmer(x ~ wave * condition + (1 | school_id) + (1 | school_id:wave) +
    (1 | school_id:respondent_id))``.
    """
    ci_level = check_ci_level(ci_level)
    if reference is None:
        declared = {str(v) for v in conditions.values()}
        reference = next((c for c in REFERENCE_CONDITIONS if c in declared), "control")
    data, notes = _did_rows(scores, scale, waves, conditions, treatment, reference)
    waves = [str(w) for w in waves]
    first = waves[0]
    wave_arr = data["wave"].to_numpy()
    treated = (data["condition"] == treatment).to_numpy(dtype=float)
    cols = _wave_columns(wave_arr, waves)
    cols[f"condition{treatment}"] = treated
    roles = _role_columns(data) if with_role else None
    if with_role and roles is None:
        notes.append("role left out of the model: only one role has scores")
    use_role = roles is not None
    cols.update(roles or {})
    did_terms = []
    for w in waves[1:]:
        name = f"wave{w}:condition{treatment}"
        cols[name] = cols[f"wave{w}"] * treated
        did_terms.append(name)
    x = pd.DataFrame(cols)
    school = data["school_id"].to_numpy()
    fit = fit_lmm(data[scale].to_numpy(dtype=float), x,
                  {"school_id": school, "school_id:wave": interaction(school, wave_arr),
                   "school_id:respondent_id": interaction(school, data["respondent_id"])},
                  ci_level=ci_level)
    frame = fit.to_frame().set_index("term")
    base = data[data["wave"] == first]
    arm_sd = base.groupby("condition")[scale].agg(["var", "count"])
    sd_baseline = math.sqrt(float(((arm_sd["count"] - 1) * arm_sd["var"]).sum())
                            / float((arm_sd["count"] - 1).sum()))
    sd_total = math.sqrt(sum(fit.variances) + fit.var_residual)
    rows = []
    for w, term in zip(waves[1:], did_terms, strict=True):
        r = frame.loc[term]
        rows.append({"contrast": f"{w}-{first}", "wave": w, "term": term,
                     "estimate": r["estimate"], "se": r["se"], "df": r["df"], "t": r["t"],
                     "p": r["p"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                     "ci_level": ci_level, "d": r["estimate"] / sd_baseline,
                     "d_ci_low": r["ci_low"] / sd_baseline, "d_ci_high": r["ci_high"] / sd_baseline,
                     "d_total": r["estimate"] / sd_total})
    formula = (f"{scale} ~ wave * condition" + (" + role" if use_role else "")
               + " + (1 | school_id) + (1 | school_id:wave) + (1 | school_id:respondent_id)")
    arms = data.drop_duplicates("school_id")["condition"]
    return DidResult(
        scale=scale, treatment=treatment, reference=reference, waves=tuple(waves),
        formula=formula, sd_baseline=sd_baseline, sd_total=sd_total, n_obs=len(data),
        n_respondents=int(data[["school_id", "respondent_id"]].drop_duplicates().shape[0]),
        n_schools_treatment=int((arms == treatment).sum()),
        n_schools_reference=int((arms == reference).sum()), converged=fit.converged,
        singular=fit.singular, warnings=tuple(notes) + fit.warnings,
        effects=pd.DataFrame(rows), fit=fit,
        joint=fit.joint_test([{t: 1.0} for t in did_terms]))
