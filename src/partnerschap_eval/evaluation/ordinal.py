"""Paired ordinal change: the sign test, the Stuart-Maxwell test and the summary of a transition table.

A level or rung is an ordered category: the distance between two levels is not known, so a
difference in level codes is not an interval quantity. Change from a first to a last wave is
therefore described by the share of respondents who moved **up**, stayed and moved **down** and
tested with two paired tests that use only the order:

* the **sign test** (:func:`sign_test`; exact two-sided binomial test of up against down among
  those who changed; McNemar's idea for ordered categories): it answers the report's question
  "did more respondents move up than down?", is exact at any n, and needs no assumption about
  the spacing of levels. The Wilcoxon signed-rank test on level differences was rejected
  because ranking the size of the differences treats a two-level jump as larger than a
  one-level one on an interval scale, and with four to six levels almost all differences are
  tied.
* the **Stuart-Maxwell test** of marginal homogeneity (:func:`stuart_maxwell`; the k-category
  generalisation of McNemar's test): does the distribution of levels differ between the waves
  at all? It is sensitive to any change of the distribution, including spreading out, and
  complements the directional sign test.

:func:`transition_change` summarises one transition table (rows: level at the first wave,
columns: level at the last wave, levels in their order) with both tests;
:func:`transition_change_frame` does the same for a stack of tables at once and returns a tidy
frame with one row per table (for many groups or simulation replications).

Both tests treat respondents as independent. Respondents of one school share a context, so with
a positive intra-school correlation the p-values are somewhat too small; the scale scores'
multilevel model (:mod:`partnerschap_eval.evaluation`) is the place for clustering.

Pure functions: counts in, frozen results or a tidy frame out; no minimum cell size and no
suppression (:mod:`partnerschap_eval.results.frameworks` loops over classifications and groups
and applies Contract 5).

References
----------
Dixon, W. J., & Mood, A. M. (1946). The statistical sign test. *J. Am. Stat. Assoc., 41*,
557-566. https://doi.org/10.1080/01621459.1946.10501898

Stuart, A. (1955). A test for homogeneity of the marginal distributions in a two-way
classification. *Biometrika, 42*, 412-416. https://doi.org/10.1093/biomet/42.3-4.412

Maxwell, A. E. (1970). Comparing the classification of subjects by two independent judges.
*Br. J. Psychiatry, 116*, 651-655. https://doi.org/10.1192/bjp.116.535.651

Agresti, A. (2013). *Categorical data analysis* (3rd ed., §11.1-11.3). Wiley.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .._display import Display
from .._validate import check_ci_level
from ..errors import Msg, ParameterError

__all__ = ["SignTest", "StuartMaxwell", "TransitionChange", "sign_test", "stuart_maxwell",
           "transition_change", "transition_change_frame", "TRANSITION_CHANGE_COLUMNS"]

#: The columns of :func:`transition_change_frame`, in order (the fields of
#: :class:`TransitionChange`).
TRANSITION_CHANGE_COLUMNS = (
    "n", "n_up", "n_same", "n_down", "share_up", "share_same", "share_down", "net_up",
    "net_up_ci_low", "net_up_ci_high", "ci_level", "sign_test_p", "stuart_maxwell_chi2",
    "stuart_maxwell_df", "stuart_maxwell_p")


# ---------------------------------------------------------------------------------------------
# the vectorised kernels (validated input; one value per table)
# ---------------------------------------------------------------------------------------------
def _sign_p(up: np.ndarray, down: np.ndarray) -> np.ndarray:
    m = up + down
    with np.errstate(invalid="ignore"):
        p = np.minimum(1.0, 2.0 * stats.binom.cdf(np.minimum(up, down), m, 0.5))
    return np.where(m > 0, p, np.nan)


def _stuart_maxwell(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Statistic, df (int) and p of a stack (g, k, k) of tables."""
    t = t.astype(float)
    rows, cols = t.sum(axis=2), t.sum(axis=1)
    d = rows - cols
    sym = t + np.swapaxes(t, 1, 2)
    diag = np.diagonal(t, axis1=1, axis2=2)
    v = -sym.copy()
    idx = np.arange(t.shape[1])
    v[:, idx, idx] = rows + cols - 2 * diag
    w, u = np.linalg.eigh(v)
    scale = np.maximum(np.abs(w).max(axis=1, keepdims=True), 1.0)
    keep = w > 1e-10 * scale
    proj = np.einsum("gki,gk->gi", u, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.where(keep, proj**2 / np.where(keep, w, 1.0), 0.0).sum(axis=1)
    df = keep.sum(axis=1)
    p = np.where(df > 0, stats.chi2.sf(stat, np.maximum(df, 1)), np.nan)
    return np.where(df > 0, stat, np.nan), df.astype(np.int64), p


def _tables(tables, ndim: tuple[int, ...]) -> np.ndarray:
    """Counts as an int64 array of the allowed dimensions, square in the last two axes."""
    t = np.asarray(tables)
    if t.ndim not in ndim or t.shape[-1] != t.shape[-2] or t.shape[-1] < 2:
        shape = "(k, k)" if ndim == (2,) else "(k, k) or (g, k, k)"
        raise ParameterError(Msg("errors.ordinal.shape", shape=shape, got=t.shape))
    if t.size and (not np.all(np.isfinite(t.astype(float))) or np.any(t < 0)
                   or np.any(t != np.round(t))):
        raise ParameterError(Msg("errors.ordinal.counts"))
    return t.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# the sign test
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SignTest(Display):
    """Exact two-sided sign test of moving up against moving down (:func:`sign_test`)."""

    n_up: int
    n_down: int
    n_changed: int
    p: float


def sign_test(n_up: int, n_down: int) -> SignTest:
    """Exact two-sided sign test of moving up against moving down (ties dropped).

    Parameters
    ----------
    n_up, n_down
        Numbers of respondents whose level went up / down.

    Returns
    -------
    SignTest
        ``n_up, n_down, n_changed, p``; ``p`` is NaN when nobody changed.

    Notes
    -----
    Under H0 a changer moves up with probability 1/2, so with :math:`m = n_{up} + n_{down}`
    and :math:`k = \\min(n_{up}, n_{down})`,
    :math:`p = \\min\\{1,\\; 2 P(X \\le k)\\}`, :math:`X \\sim \\mathrm{Bin}(m, 1/2)`, which is
    the two-sided exact binomial test (``scipy.stats.binomtest(n_up, m, 0.5)``; R's
    ``binom.test``) -- for p = 1/2 both two-sided definitions (doubling and minimum
    likelihood) coincide. Respondents who stayed at their level carry no information about the
    direction and are left out (Dixon & Mood, 1946).

    Examples
    --------
    >>> round(sign_test(15, 5).p, 6)   # R: binom.test(15, 20)$p.value = 0.041389
    0.041389
    >>> sign_test(0, 0).summary()
    'SignTest: n_up = 0, n_down = 0, n_changed = 0, p = NaN'
    """
    if not all(isinstance(c, numbers.Integral) and not isinstance(c, bool) and c >= 0
               for c in (n_up, n_down)):
        raise ParameterError(Msg("errors.ordinal.sign_counts", up=repr(n_up), down=repr(n_down)))
    up, down = int(n_up), int(n_down)
    p = float(_sign_p(np.array([up]), np.array([down]))[0])
    return SignTest(n_up=up, n_down=down, n_changed=up + down, p=p)


# ---------------------------------------------------------------------------------------------
# the Stuart-Maxwell test
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StuartMaxwell(Display):
    """Stuart-Maxwell test of marginal homogeneity (:func:`stuart_maxwell`): the chi-squared
    ``statistic`` on ``df`` degrees of freedom and its ``p``."""

    statistic: float
    df: int
    p: float


def stuart_maxwell(table: np.ndarray) -> StuartMaxwell:
    """Stuart-Maxwell test of marginal homogeneity for one paired k x k table.

    Parameters
    ----------
    table
        Counts ``(k, k)``: rows = level at the first wave, columns = level at the last wave.

    Returns
    -------
    StuartMaxwell
        ``statistic, df, p`` (``df = 0`` and NaN when nobody changed).

    Notes
    -----
    With :math:`d_i = n_{i+} - n_{+i}` and the covariance matrix
    :math:`V_{ii} = n_{i+} + n_{+i} - 2 n_{ii}`, :math:`V_{ij} = -(n_{ij} + n_{ji})`,

    .. math:: X^2 = d^\\top V^{+} d, \\qquad df = \\mathrm{rank}(V),

    referred to :math:`\\chi^2_{df}` (Stuart, 1955; Maxwell, 1970). Usually
    :math:`\\mathrm{rank}(V) = k - 1` and this equals the textbook form that drops one category
    and inverts the rest. Using the Moore-Penrose inverse :math:`V^{+}` also covers levels that
    nobody entered or left (their row and column of V are zero) without changing the statistic:
    V is the Laplacian of the table's off-diagonal counts, d lies in its range, and each category
    without off-diagonal counts drops out with one degree of freedom.

    Examples
    --------
    Stuart's (1955) unaided distance vision of 7477 women, right eye (rows) by left eye:

    >>> vision = [[1520, 266, 124, 66], [234, 1512, 432, 78],
    ...           [117, 362, 1772, 205], [36, 82, 179, 492]]
    >>> r = stuart_maxwell(np.array(vision))
    >>> round(r.statistic, 4), r.df, round(r.p, 4)
    (11.9566, 3, 0.0075)

    In R: ``coin::mh_test(as.table(t(matrix(unlist(vision), 4))))``: chi-squared = 11.957,
    df = 3, p-value = 0.007533 (also Agresti, 2013, §11.3).
    """
    stat, df, p = _stuart_maxwell(_tables(table, (2,))[None])
    return StuartMaxwell(statistic=float(stat[0]), df=int(df[0]), p=float(p[0]))


# ---------------------------------------------------------------------------------------------
# one transition table, or a stack of them
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TransitionChange(Display):
    """Ordinal change summarised from one transition table (:func:`transition_change`).

    Counts and shares up / same / down, the net change ``net_up = share_up - share_down`` with
    its Wald interval, the sign test's ``p`` and the Stuart-Maxwell test. The fields are the
    columns of :func:`transition_change_frame`.
    """

    n: int
    n_up: int
    n_same: int
    n_down: int
    share_up: float
    share_same: float
    share_down: float
    net_up: float
    net_up_ci_low: float
    net_up_ci_high: float
    ci_level: float
    sign_test_p: float
    stuart_maxwell_chi2: float
    stuart_maxwell_df: int
    stuart_maxwell_p: float


def transition_change_frame(tables: np.ndarray, ci_level: float = 0.95) -> pd.DataFrame:
    """:func:`transition_change` of a stack of tables at once: one row per table.

    Parameters
    ----------
    tables
        Counts ``(g, k, k)`` (or one table ``(k, k)``): rows = level at the first wave, columns
        = level at the last wave, levels in their order.
    ci_level
        Confidence level of the interval of ``net_up``.

    Returns
    -------
    DataFrame
        :data:`TRANSITION_CHANGE_COLUMNS`, one row per table; counts and ``stuart_maxwell_df``
        are integers. Shares and ``net_up`` are NaN for an empty table.

    Examples
    --------
    >>> t = np.array([[[5, 3], [1, 4]], [[2, 0], [0, 6]]])
    >>> transition_change_frame(t)[["n", "n_up", "n_down", "sign_test_p"]].values.tolist()
    [[13.0, 3.0, 1.0, 0.625], [8.0, 0.0, 0.0, nan]]
    """
    ci_level = check_ci_level(ci_level)
    t = _tables(tables, (2, 3))
    if t.ndim == 2:
        t = t[None]
    n = t.sum(axis=(1, 2))
    up = np.triu(np.ones(t.shape[1:], dtype=bool), 1)
    n_up = t[:, up].sum(axis=1)
    n_down = t[:, up.T].sum(axis=1)
    n_same = n - n_up - n_down
    z = stats.norm.ppf(0.5 + ci_level / 2)
    nf = n.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_up, share_down, share_same = n_up / nf, n_down / nf, n_same / nf
        net = share_up - share_down
        se = np.sqrt(np.maximum((n_up + n_down) - (n_up - n_down) ** 2 / nf, 0.0)) / nf
    chi2, df, p_sm = _stuart_maxwell(t)
    return pd.DataFrame({
        "n": n, "n_up": n_up, "n_same": n_same, "n_down": n_down, "share_up": share_up,
        "share_same": share_same, "share_down": share_down, "net_up": net,
        "net_up_ci_low": net - z * se, "net_up_ci_high": net + z * se, "ci_level": ci_level,
        "sign_test_p": _sign_p(n_up, n_down), "stuart_maxwell_chi2": chi2,
        "stuart_maxwell_df": df, "stuart_maxwell_p": p_sm}, columns=TRANSITION_CHANGE_COLUMNS)


def transition_change(table: np.ndarray, ci_level: float = 0.95) -> TransitionChange:
    """Share up / same / down, net change and the two ordinal tests of one transition table.

    Parameters
    ----------
    table
        Counts ``(k, k)``: rows = level at the first wave, columns = level at the last wave,
        levels in their order (up is above the diagonal).
    ci_level
        Confidence level of the interval of ``net_up``.

    Returns
    -------
    TransitionChange

    Notes
    -----
    ``n`` counts the pairs in the table. ``net_up`` = share_up - share_down, the difference of
    two dependent proportions, with the Wald interval (Agresti, 2013, §11.1.4)

    .. math:: \\widehat\\Delta \\pm z_{1-a/2}\\,\\frac{1}{n}
              \\sqrt{(n_{up} + n_{down}) - (n_{up} - n_{down})^2 / n}.

    Tests: :func:`sign_test` of ``n_up`` against ``n_down`` and :func:`stuart_maxwell` of the
    table (see the module docstring for why these two).

    Examples
    --------
    >>> r = transition_change(np.array([[1, 2, 1, 0], [1, 1, 1, 1], [0, 1, 1, 0], [0, 0, 1, 1]]))
    >>> r.n, r.n_up, r.n_same, r.n_down, round(r.net_up, 4)
    (12, 5, 4, 3, 0.1667)
    >>> round(r.sign_test_p, 6), round(r.stuart_maxwell_chi2, 6), r.stuart_maxwell_df
    (0.726562, 1.692308, 3)

    In R: ``binom.test(5, 8)$p.value`` = 0.7265625; ``coin::mh_test(as.table(matrix(c(1,2,1,0,
    1,1,1,1, 0,1,1,0, 0,0,1,1), 4, byrow = TRUE)))``: chi-squared = 1.6923, df = 3.
    """
    row = transition_change_frame(_tables(table, (2,)), ci_level).iloc[0]
    ints = {"n", "n_up", "n_same", "n_down", "stuart_maxwell_df"}
    return TransitionChange(**{c: int(row[c]) if c in ints else float(row[c])
                               for c in TRANSITION_CHANGE_COLUMNS})
