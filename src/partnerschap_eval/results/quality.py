"""The report's psychometrics section: reliability, items, CFA and invariance per scale and wave.

The statistics themselves live in :mod:`partnerschap_eval.psychometrics` (arrays and frames in,
frozen results out, no suppression); this module loops over an instrument's scales, waves and
roles, calls them once each and applies Contract 5's minimum cell size to what it publishes
(values NaN, ``reason`` says why; the wording is :func:`~partnerschap_eval.privacy.suppressed_reason`).
Roles are pooled over schools, never per school.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from .._contract import FEW_ROLES, NOT_CONVERGED
from .._display import Display
from .._validate import check_ci_level, check_min_cell, check_n_boot, check_nan_policy
from ..errors import InputError
from ..instruments import Instrument
from ..instruments import resolve as resolve_instrument
from ..privacy import suppressed_reason
from ..psychometrics import (
    NanPolicy,
    cronbach_alpha,
    fit_cfa,
    instrument_model,
    item_analysis,
    mcdonald_omega,
    measurement_invariance,
)
from ..scoring import reverse_key, validate_responses, wave_order

__all__ = ["ScaleQuality", "scale_quality"]


@dataclass(frozen=True)
class ScaleQuality(Display):
    """Tidy tables for the report's psychometrics section (see :func:`scale_quality`)."""

    reliability: pd.DataFrame = field(compare=False)
    items: pd.DataFrame = field(compare=False)
    cfa: pd.DataFrame = field(compare=False)
    invariance: pd.DataFrame = field(compare=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"reliability": self.reliability, "items": self.items, "cfa": self.cfa,
                "invariance": self.invariance}

    def to_frame(self) -> pd.DataFrame:
        """The reliability table (the one-line-per-scale overview)."""
        return self.reliability.copy()


def _contract4(fit_table: pd.DataFrame) -> pd.DataFrame:
    # results.json names a CFA's p value as lavaan does ("pvalue"); the statistics say ``p``
    return fit_table.rename(columns={"p": "pvalue"})


def scale_quality(responses: pd.DataFrame, instrument: Instrument | str,
                  waves: Sequence[str] | None = None, *, nan_policy: NanPolicy = "listwise",
                  ci_level: float = 0.95, min_cell: int = 10, n_boot: int = 0,
                  seed: int = 2014) -> ScaleQuality:
    """Reliability, item statistics, factor structure and role invariance of an instrument.

    Parameters
    ----------
    responses
        Contract 2 table (raw answers; reverse keys are applied here from the instrument).
    instrument
        Instrument (or its id/path): scales, reverse keys and the declared response scale.
    waves
        Waves to analyse, in order; default every wave in the data (``scoring.wave_order``).
    nan_policy, ci_level
        For alpha and the item statistics (omega and CFA are always listwise).
    min_cell
        Contract 5: a row resting on fewer respondents is suppressed (values NaN, ``reason``
        says why). Roles are pooled over schools, never per school.
    n_boot, seed
        Bootstrap resamples for the CIs of alpha and omega (0 = Feldt only, no omega CI).

    Returns
    -------
    ScaleQuality
        ``reliability`` (scale, wave, n, k, alpha, std_alpha, ci_low, ci_high, boot_ci_low,
        boot_ci_high, omega, omega_ci_low, omega_ci_high, nan_policy, ci_level, reason);
        ``items`` (scale, wave + :func:`~partnerschap_eval.psychometrics.item_statistics`
        columns + reason); ``cfa`` (wave, group = ``all`` or a role,
        + :meth:`~partnerschap_eval.psychometrics.CfaFit.to_frame` columns + reason);
        ``invariance`` (wave + :meth:`~partnerschap_eval.psychometrics.InvarianceResult.to_frame`
        columns + reason). The fits' ``p`` is named ``pvalue`` here, as in Contract 4.

    Examples
    --------
    >>> from partnerschap_eval.synth import simulate_study
    >>> q = scale_quality(simulate_study(seed=1).responses, "partnerschap")
    >>> q.reliability[["scale", "wave"]].head(2).values.tolist()
    [['reciprocity', 'pre'], ['reciprocity', 'post']]
    """
    check_nan_policy(nan_policy)
    check_ci_level(ci_level)
    min_cell = check_min_cell(min_cell)
    check_n_boot(n_boot)
    inst = resolve_instrument(instrument)
    raw = validate_responses(responses, inst)
    data = reverse_key(raw, inst)
    wave_list = list(waves) if waves is not None else wave_order(data["wave"])
    lo, hi = inst.response_scale.min, inst.response_scale.max
    nan = float("nan")
    rel_rows, item_frames = [], []
    for scale in inst.scales:
        its = list(scale.items)
        # a scale with its own keys is analysed in its own direction
        keyed = data if not scale.keys else reverse_key(raw, inst, scale.id)
        for w in wave_list:
            part = keyed.loc[keyed["wave"] == w, its]
            base = {"scale": scale.id, "wave": w}
            ana = item_analysis(part, scale_min=lo, scale_max=hi, nan_policy=nan_policy,
                                ci_level=ci_level)
            a = ana.alpha
            if n_boot and a.n >= min_cell:
                a = cronbach_alpha(part, nan_policy, ci_level, n_boot=n_boot, seed=seed)
            om = (mcdonald_omega(part, n_boot=n_boot, ci_level=ci_level, seed=seed)
                  if len(its) >= 3 else None)
            row = {**base, "n": a.n, "k": a.k, "alpha": a.alpha, "std_alpha": a.std_alpha,
                   "ci_low": a.ci_low, "ci_high": a.ci_high, "boot_ci_low": a.boot_ci_low,
                   "boot_ci_high": a.boot_ci_high,
                   "omega": om.omega if om else nan,
                   "omega_ci_low": om.ci_low if om else nan,
                   "omega_ci_high": om.ci_high if om else nan,
                   "nan_policy": nan_policy, "ci_level": ci_level,
                   "reason": f"omega: {om.reason}" if om and om.reason else ""}
            table = ana.items.copy()
            table["reason"] = ""
            if a.n < min_cell:
                for key in ("alpha", "std_alpha", "ci_low", "ci_high", "boot_ci_low",
                            "boot_ci_high", "omega", "omega_ci_low", "omega_ci_high"):
                    row[key] = nan
                row["reason"] = suppressed_reason(min_cell)
                flags = ["raises_alpha", "weak_r_rest", "flag"]
                num = table.columns.drop(["item", "n", *flags, "flag_reason", "reason"])
                table[num] = nan
                table[flags] = False
                table["flag_reason"] = ""
                table["reason"] = suppressed_reason(min_cell)
            elif om is not None and om.n < min_cell:  # omega is listwise: its n can be smaller
                row.update(omega=nan, omega_ci_low=nan, omega_ci_high=nan,
                           reason=f"omega: {suppressed_reason(min_cell)} (listwise n = {om.n})")
            rel_rows.append(row)
            item_frames.append(table.assign(**base)[["scale", "wave", *ana.items.columns,
                                                     "reason"]])
    model = instrument_model(inst)
    model_items = [i for its in model.values() for i in its]
    cfa_rows, inv_frames = [], []
    for w in wave_list:
        part = data.loc[data["wave"] == w, ["role", *model_items]].dropna()
        roles = [r for r in inst.roles if r in set(part["role"])]
        roles += sorted(set(part["role"]) - set(roles))
        usable = []
        for grp in ["all", *roles]:
            sub = part if grp == "all" else part[part["role"] == grp]
            row = {"wave": w, "group": grp}
            if len(sub) < min_cell:
                cfa_rows.append({**row, "n": len(sub), "reason": suppressed_reason(min_cell)})
                continue
            try:
                fit = fit_cfa(sub, model)
            except InputError as exc:
                cfa_rows.append({**row, "n": len(sub), "reason": str(exc)})
                continue
            if grp != "all":
                usable.append(grp)
            cfa_rows.append({**row, **_contract4(fit.to_frame()).iloc[0].to_dict(),
                             "reason": "" if fit.converged else NOT_CONVERGED})
        if len(usable) < 2:
            inv_frames.append(pd.DataFrame([{"wave": w, "reason": FEW_ROLES}]))
            continue
        try:
            inv = measurement_invariance(part[part["role"].isin(usable)], model, "role",
                                         group_order=usable)
        except InputError as exc:
            inv_frames.append(pd.DataFrame([{"wave": w, "reason": str(exc)}]))
            continue
        inv_frames.append(_contract4(inv.to_frame()).assign(wave=w, reason=""))
    inv_table = pd.concat(inv_frames, ignore_index=True) if inv_frames else pd.DataFrame()
    if "wave" in inv_table:
        inv_table = inv_table[["wave", *[c for c in inv_table.columns if c != "wave"]]]
    return ScaleQuality(reliability=pd.DataFrame(rel_rows),
                        items=pd.concat(item_frames, ignore_index=True),
                        cfa=pd.DataFrame(cfa_rows), invariance=inv_table)
