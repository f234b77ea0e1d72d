"""The mixed model with wave as a factor: every declared wave against the first, on all rows.

:func:`wave_mixed_model` fits ``score ~ wave (+ role) + (1 | school) + (1 | school:respondent)``
by exact REML (:func:`~partnerschap_eval.evaluation.mixed_design.fit_lmm`) on every available
row of every declared wave -- respondents present at any wave, dropouts and late joiners
included -- with the first wave as the reference level, and tests each later wave against the
first (and any other pair of waves asked for, e.g. consecutive ones) with Satterthwaite's df as
lmerTest computes them.

Pure: a score table in, a frozen result out; no disclosure control and no text for people.

References
----------
Bates, D., Maechler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects models
using lme4. *Journal of Statistical Software, 67*(1), 1-48. https://doi.org/10.18637/jss.v067.i01

Kuznetsova, A., Brockhoff, P. B., & Christensen, R. H. B. (2017). lmerTest package: Tests in
linear mixed effects models. *Journal of Statistical Software, 82*(13), 1-26.
https://doi.org/10.18637/jss.v082.i13
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from .._display import Display
from .._validate import check_ci_level
from ..errors import Count, InputError, Msg
from .mixed_design import (
    LmmFit,
    _contrast_record,
    _model_rows,
    _role_columns,
    _wave_columns,
    fit_lmm,
    interaction,
)

__all__ = ["WaveModelResult", "wave_mixed_model"]

#: Columns of :attr:`WaveModelResult.effects`.
EFFECT_COLUMNS = ("contrast", "wave", "base", "estimate", "se", "df", "t", "p", "ci_low",
                  "ci_high", "ci_level")


@dataclass(frozen=True)
class WaveModelResult(Display):
    """Wave contrasts of the mixed model of :func:`wave_mixed_model`.

    ``effects`` has one row per contrast ``<wave>-<base>`` (later minus earlier wave, so a
    positive ``estimate`` is an increase): ``contrast, wave, base, estimate, se, df, t, p,
    ci_low, ci_high, ci_level`` -- for a later wave against the first the model's own
    coefficient, for another pair the difference of two coefficients (lmerTest's
    ``contest``). ``fit`` is the whole :class:`~.mixed_design.LmmFit`.
    """

    scale: str
    waves: tuple[str, ...]
    formula: str
    n_obs: int
    n_respondents: int
    n_schools: int
    converged: bool
    singular: bool
    warnings: tuple[str, ...]
    effects: pd.DataFrame = field(repr=False, compare=False)
    fit: LmmFit = field(repr=False, compare=False)

    def to_frame(self) -> pd.DataFrame:
        return self.effects.copy()

    def to_record(self) -> dict[str, dict]:
        """Per contrast ``{estimate, se, df, t, p, ci95, n_obs, n_respondents, n_schools,
        converged, singular, formula}`` (Contract 4 v2's ``contrasts.<name>.mixed``)."""
        return {row.contrast: {**_contrast_record(row), "n_obs": self.n_obs,
                               "n_respondents": self.n_respondents,
                               "n_schools": self.n_schools, "converged": self.converged,
                               "singular": self.singular, "formula": self.formula}
                for row in self.effects.itertuples()}

    def summary(self) -> str:
        lines = [f"{self.scale}: {self.formula} ({self.n_obs} rows, {self.n_respondents} "
                 f"respondents, {self.n_schools} schools)"]
        for row in self.effects.itertuples():
            lines.append(f"  {row.contrast}: {row.estimate:.4f} [{row.ci_low:.4f}, "
                         f"{row.ci_high:.4f}], df {row.df:.2f}, p = {row.p:.4g}")
        return "\n".join(lines)


def _rows(scores: pd.DataFrame, scale: str, waves: list[str]) -> pd.DataFrame:
    """Validate once and return the model rows: a valid score at a declared wave."""
    data = _model_rows(scores, scale, waves, "errors.waves_model.waves")
    data["respondent_id"] = data["respondent_id"].astype(str)
    dup = data.duplicated(["school_id", "respondent_id", "wave"])
    if dup.any():
        # counted, never quoted: a respondent id is an identifier (Contract 5)
        n_dup = int(data.loc[dup, ["school_id", "respondent_id"]].drop_duplicates().shape[0])
        raise InputError(Msg("errors.design.duplicate_wave_rows", n=Count(n_dup)))
    seen = set(data["wave"])
    missing = [w for w in waves if w not in seen]
    if missing:
        raise InputError(Msg("errors.waves_model.missing_waves", scale=repr(scale),
                             waves=missing))
    return data.reset_index(drop=True)


def wave_mixed_model(scores: pd.DataFrame, scale: str, waves: Sequence[str], *,
                     with_role: bool = True,
                     pairs: Sequence[tuple[str, str]] | None = None,
                     ci_level: float = 0.95) -> WaveModelResult:
    """Every declared wave against the first (or any pair of waves), on all available rows.

    Fits ``score ~ wave (+ role) + (1 | school_id) + (1 | school_id:respondent_id)`` by exact
    REML (:func:`~partnerschap_eval.evaluation.mixed_design.fit_lmm`) on the rows with a score
    at any of ``waves`` (treatment coding, the first wave the reference level) and tests the
    requested wave contrasts with Satterthwaite's df, as ``lmerTest``.

    Parameters
    ----------
    scores
        Long scores: ``respondent_id, school_id, wave`` (``role`` for ``with_role``) and
        ``scale``; one row per respondent (within a school) and wave.
    scale
        The score column.
    waves
        The declared waves in their order (never sorted by name); the first is the reference.
        Every wave needs at least one score.
    with_role
        Add role as a fixed effect (reference ``parent``, else the first role in sorted order)
        when more than one role has scores.
    pairs
        ``(later, earlier)`` waves to contrast; default every later wave against the first.
    ci_level
        Level of the Satterthwaite t CIs.

    Returns
    -------
    WaveModelResult

    Notes
    -----
    With :math:`w_1` the first wave, :math:`\\beta_k` the coefficient of wave :math:`w_k`
    (:math:`\\beta_1 = 0`), :math:`u_s \\sim N(0, \\tau^2_s)` the school and
    :math:`u_{sr} \\sim N(0, \\tau^2_r)` the respondent intercepts:

    .. math:: y_{srk} = \\mu + \\beta_k + \\gamma' \\mathrm{role}_{sr} + u_s + u_{sr}
              + e_{srk}, \\qquad e_{srk} \\sim N(0, \\sigma^2).

    The contrast of waves :math:`w_j` and :math:`w_k` is :math:`\\beta_j - \\beta_k` with
    :math:`\\mathrm{SE}^2 = L'CL` and the Satterthwaite df :math:`\\nu = 2(L'CL)^2/(g'Ag)`
    (Kuznetsova et al., 2017; :meth:`~.mixed_design.LmmFit.contrast`). Unlike the paired
    contrast, which rests on the respondents present at both waves, the model uses every row
    (missing at random given the observed scores, Bates et al., 2015).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> rows = []
    >>> for s in range(8):
    ...     u_s = rng.normal(0, .3)
    ...     for r in range(12):
    ...         u_r = rng.normal(0, .5)
    ...         for k, wave in enumerate(["T0", "T1", "T2"]):
    ...             if rng.random() < .85:
    ...                 rows.append((f"r{r}", f"S{s}", wave, 3 + u_s + u_r + .2 * k
    ...                              + rng.normal(0, .5)))
    >>> scores = pd.DataFrame(rows, columns=["respondent_id", "school_id", "wave", "x"])
    >>> m = wave_mixed_model(scores, "x", ["T0", "T1", "T2"], pairs=[("T1", "T0"),
    ...                      ("T2", "T0"), ("T2", "T1")])
    >>> m.to_frame()[["contrast", "estimate", "df"]].round(2)
      contrast  estimate      df
    0    T1-T0      0.19  160.68
    1    T2-T0      0.45  162.67
    2    T2-T1      0.26  163.22

    In R: ``lmerTest::lmer(x ~ wave + (1 | school_id) + (1 | school_id:respondent_id))``, and
    ``lmerTest::contest(fit, c(0, -1, 1))`` for T2-T1.
    """
    ci_level = check_ci_level(ci_level)
    waves = [str(w) for w in waves]
    data = _rows(scores, scale, waves)
    first = waves[0]
    pairs = ([(w, first) for w in waves[1:]] if pairs is None
             else [(str(a), str(b)) for a, b in pairs])
    bad = [p for p in pairs if p[0] not in waves or p[1] not in waves or p[0] == p[1]]
    if bad:
        raise InputError(Msg("errors.waves_model.pairs", pairs=bad, waves=waves))
    cols = _wave_columns(data["wave"].to_numpy(), waves)
    notes: list[str] = []
    roles = _role_columns(data) if with_role else None
    use_role = roles is not None
    if use_role:
        cols.update(roles)
    elif with_role and "role" in data.columns:
        notes.append("role left out of the model: only one role has scores")
    school = data["school_id"].to_numpy()
    fit = fit_lmm(data[scale].to_numpy(dtype=float), pd.DataFrame(cols),
                  {"school_id": school,
                   "school_id:respondent_id": interaction(school, data["respondent_id"])},
                  ci_level=ci_level)
    rows = []
    for later, base in pairs:
        weights = {f"wave{later}": 1.0} if later != first else {}
        if base != first:
            weights[f"wave{base}"] = -1.0
        c = fit.contrast(weights, ci_level=ci_level)
        rows.append({"contrast": f"{later}-{base}", "wave": later, "base": base,
                     "estimate": c.estimate, "se": c.se, "df": c.df, "t": c.t, "p": c.p,
                     "ci_low": c.ci_low, "ci_high": c.ci_high, "ci_level": ci_level})
    formula = (f"{scale} ~ wave" + (" + role" if use_role else "")
               + " + (1 | school_id) + (1 | school_id:respondent_id)")
    return WaveModelResult(
        scale=scale, waves=tuple(waves), formula=formula, n_obs=len(data),
        n_respondents=int(data[["school_id", "respondent_id"]].drop_duplicates().shape[0]),
        n_schools=int(data["school_id"].nunique()), converged=fit.converged,
        singular=fit.singular, warnings=tuple(notes) + fit.warnings,
        effects=pd.DataFrame(rows, columns=list(EFFECT_COLUMNS)), fit=fit)
