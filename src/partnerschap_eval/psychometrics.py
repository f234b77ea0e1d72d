"""Psychometric quality of scales: Cronbach's alpha with Feldt's CI and McDonald's omega.

Reliability is computed listwise (respondents who answered every item of the scale) unless the
caller asks for ``nan_policy="pairwise"``; the n used is always returned.

References
----------
Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. *Psychometrika,
16*, 297-334. https://doi.org/10.1007/BF02310555

Feldt, L. S. (1965). The approximate sampling distribution of Kuder-Richardson reliability
coefficient twenty. *Psychometrika, 30*, 357-370. https://doi.org/10.1007/BF02289499

McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = ["AlphaResult", "cronbach_alpha", "feldt_ci", "omega_total"]

NanPolicy = Literal["listwise", "pairwise"]


@dataclass(frozen=True)
class AlphaResult:
    n: int
    k: int
    alpha: float
    std_alpha: float
    ci_low: float
    ci_high: float
    nan_policy: str
    ci_level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def feldt_ci(alpha: float, n: int, k: int, ci_level: float = 0.95) -> tuple[float, float]:
    """Feldt's (1965) F-based confidence interval of alpha.

    With :math:`F_q` the q-quantile of :math:`F(n - 1, (n - 1)(k - 1))`:
    lower :math:`= 1 - (1 - \\alpha) F_{1-a/2}`, upper :math:`= 1 - (1 - \\alpha) F_{a/2}`.

    >>> [round(float(x), 3) for x in feldt_ci(0.9450867, 5, 3)]   # pingouin.cronbach_alpha: 0.723, 0.994
    [0.723, 0.994]
    """
    a = 1 - ci_level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    return (1 - (1 - alpha) * stats.f.ppf(1 - a / 2, df1, df2),
            1 - (1 - alpha) * stats.f.ppf(a / 2, df1, df2))


def _alpha_from_cov(cov: np.ndarray) -> tuple[float, float]:
    k = cov.shape[0]
    total = cov.sum()
    alpha = k / (k - 1) * (1 - np.trace(cov) / total)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    std_alpha = k / (k - 1) * (1 - k / corr.sum())
    return float(alpha), float(std_alpha)


def cronbach_alpha(items: pd.DataFrame, nan_policy: NanPolicy = "listwise",
                   ci_level: float = 0.95) -> AlphaResult:
    """Cronbach's alpha, standardised alpha and Feldt's CI.

    Parameters
    ----------
    items
        One column per (already reverse-keyed) item, one row per respondent.
    nan_policy
        ``listwise``: only respondents who answered every item; ``pairwise``: each covariance
        on the respondents who answered both items, n = respondents with at least one answer
        (as R's ``psych::alpha(use = "pairwise")``) - the Feldt CI then uses that n.

    Notes
    -----
    :math:`\\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\sum_i \\sigma_i^2}{\\sigma_X^2}\\right)` from the
    item covariance matrix; standardised alpha uses the correlation matrix instead.

    Examples
    --------
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 4], "c": [1, 3, 3, 4, 5]})
    >>> round(cronbach_alpha(x).alpha, 4)   # In R: psych::alpha(x)$total$raw_alpha
    0.9451
    """
    data = items.astype(float)
    k = data.shape[1]
    if nan_policy == "listwise":
        data = data.dropna()
        n = len(data)
        cov = np.cov(data.to_numpy(), rowvar=False) if n > 1 else np.full((k, k), np.nan)
    else:
        n = int(data.notna().any(axis=1).sum())
        cov = data.cov().to_numpy()
    if n < 3 or not np.all(np.isfinite(cov)):
        nan = float("nan")
        return AlphaResult(n=n, k=k, alpha=nan, std_alpha=nan, ci_low=nan, ci_high=nan,
                           nan_policy=nan_policy, ci_level=ci_level)
    alpha, std_alpha = _alpha_from_cov(cov)
    lo, hi = feldt_ci(alpha, n, k, ci_level)
    return AlphaResult(n=n, k=k, alpha=alpha, std_alpha=std_alpha, ci_low=float(lo),
                       ci_high=float(hi), nan_policy=nan_policy, ci_level=ci_level)


def _one_factor_ml(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood one-factor model of a covariance matrix: loadings and uniquenesses.

    Minimises :math:`F = \\log|\\Sigma| + \\mathrm{tr}(S\\Sigma^{-1}) - \\log|S| - p` over
    :math:`\\Sigma = \\lambda\\lambda' + \\Psi` (the ML discrepancy lavaan minimises).
    """
    p = cov.shape[0]
    sd = np.sqrt(np.diag(cov))
    s = cov / np.outer(sd, sd)
    _, logdet_s = np.linalg.slogdet(s)
    first = np.linalg.eigh(s)[1][:, -1]
    lam0 = np.abs(first) * np.sqrt(max(np.linalg.eigvalsh(s)[-1], 1e-6))

    def objective(theta: np.ndarray) -> float:
        lam, psi = theta[:p], np.exp(theta[p:])
        sigma = np.outer(lam, lam) + np.diag(psi)
        sign, logdet = np.linalg.slogdet(sigma)
        if sign <= 0:
            return 1e10
        return logdet + np.trace(s @ np.linalg.inv(sigma)) - logdet_s - p

    x0 = np.concatenate([lam0, np.log(np.clip(1 - lam0**2, 0.05, None))])
    res = optimize.minimize(objective, x0, method="BFGS", options={"gtol": 1e-10, "maxiter": 2000})
    lam, psi = res.x[:p] * sd, np.exp(res.x[p:]) * sd**2
    return lam * np.sign(lam.sum()), psi


def omega_total(items: pd.DataFrame) -> tuple[float, int]:
    """McDonald's omega total from a one-factor ML model on listwise-complete data.

    :math:`\\omega = (\\sum\\lambda_i)^2 / ((\\sum\\lambda_i)^2 + \\sum\\psi_i)` with loadings and
    uniquenesses on the items' covariance metric (the unit-weighted sum that is scored), as
    ``lavaan::cfa(std.lv = TRUE)`` estimates them. Returns ``(omega, n)``.

    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=2000)
    >>> x = pd.DataFrame({f"i{j}": 0.7 * f + rng.normal(scale=0.7, size=2000) for j in range(4)})
    >>> round(omega_total(x)[0], 2)
    0.8
    """
    data = items.astype(float).dropna()
    n = len(data)
    if n < items.shape[1] + 2:
        return float("nan"), n
    cov = np.cov(data.to_numpy(), rowvar=False)
    lam, psi = _one_factor_ml(cov)
    common = lam.sum() ** 2
    return float(common / (common + psi.sum())), n
