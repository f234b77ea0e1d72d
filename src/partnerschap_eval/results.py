"""Assemble Contract 4 (``results.json``): every statistic of a run, computed once.

The dictionary is deterministic: floats are rounded to 10 significant digits (far below any
reported precision, far above the last-bit noise between BLAS builds), keys are sorted when
written, and values that cannot be shown are ``null`` with a sibling ``<key>_reason``.
Suppression (Contract 5) happens here, so every consumer (report, JSON, CLI) sees the same
privacy-safe numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .errors import InputError
from .evaluation import bh_adjust, mixed_model, paired_scores, paired_test, reliable_change
from .instruments import Instrument, load_instrument
from .privacy import DEFAULT_MIN_CELL, suppressed_reason
from .psychometrics import cronbach_alpha, omega_total
from .scoring import reverse_key, score_scales, validate_responses, wave_order

SCHEMA = "partnerschap-eval/results/v1"
SIG_DIGITS = 10
PAIRED_KEYS = ["n", "mean_pre", "mean_post", "sd_pre", "sd_post", "mean_diff", "sd_diff", "t",
               "df", "p", "p_adj", "ci95", "d_z", "d_z_ci95", "d_av", "d_av_ci95", "g_av",
               "wilcoxon"]

__all__ = ["SCHEMA", "evaluate", "stable_number", "null_with_reason"]


def stable_number(x: Any) -> Any:
    """Round floats to 10 significant digits; ints stay ints; NaN/inf become None.

    >>> stable_number(0.1 + 0.2), stable_number(3), stable_number(float("nan"))
    (0.3, 3, None)
    """
    if isinstance(x, bool | type(None) | str):
        return x
    if isinstance(x, int | np.integer):
        return int(x)
    x = float(x)
    if not math.isfinite(x):
        return None
    return float(f"{x:.{SIG_DIGITS}g}")


def _clean(obj: Any) -> Any:
    """Apply :func:`stable_number` everywhere and add reasons for values that became null."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            cv = _clean(v)
            out[k] = cv
            if cv is None and v is not None and f"{k}_reason" not in obj:
                out[f"{k}_reason"] = "not computable"
        return out
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return stable_number(obj)


def null_with_reason(keys: Iterable[str], reason: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in keys:
        out[k] = None
        out[f"{k}_reason"] = reason
    return out


def _paired_block(pre: np.ndarray, post: np.ndarray, min_cell: int) -> tuple[dict, Any]:
    n = len(pre)
    if n < min_cell:
        return null_with_reason(PAIRED_KEYS, suppressed_reason(min_cell)), None
    if n < 3:
        return null_with_reason(PAIRED_KEYS, "too few pairs"), None
    r = paired_test(pre, post)
    block = {
        "n": r.n, "mean_pre": r.mean_pre, "mean_post": r.mean_post, "sd_pre": r.sd_pre,
        "sd_post": r.sd_post, "mean_diff": r.mean_diff, "sd_diff": r.sd_diff, "t": r.t,
        "df": r.df, "p": r.p, "p_adj": None, "ci95": [r.ci_low, r.ci_high], "d_z": r.d_z,
        "d_z_ci95": [r.d_z_ci_low, r.d_z_ci_high], "d_av": r.d_av,
        "d_av_ci95": [r.d_av_ci_low, r.d_av_ci_high], "g_av": r.g_av,
        "wilcoxon": {"statistic": r.wilcoxon.statistic, "p": r.wilcoxon.p},
    }
    return block, r


def _set_p_adj(blocks: list[dict]) -> None:
    """Benjamini-Hochberg across the scales of one group, in place."""
    raw = [b["p"] if b.get("p") is not None else float("nan") for b in blocks]
    for block, p_adj in zip(blocks, bh_adjust(raw), strict=True):
        if block.get("p") is not None:
            block["p_adj"] = p_adj
        else:
            block["p_adj"] = None
            block["p_adj_reason"] = block.get("p_reason", "not computable")


def _reliability(keyed: pd.DataFrame, items: list[str], min_cell: int) -> dict:
    a = cronbach_alpha(keyed[items], nan_policy="listwise")
    if a.n < min_cell:
        return null_with_reason(["n", "alpha", "alpha_ci95", "omega"], suppressed_reason(min_cell))
    omega, _ = omega_total(keyed[items])
    return {"n": a.n, "alpha": a.alpha, "alpha_ci95": [a.ci_low, a.ci_high],
            "std_alpha": a.std_alpha, "omega": omega,
            "omega_estimator": "one-factor ML on the item covariances, listwise"}


def _mixed_block(scores: pd.DataFrame, scale: str, first: str, last: str, min_cell: int) -> dict:
    keys = ["wave_effect", "se", "p", "ci95", "icc_school"]
    data = scores[scores["wave"].isin([first, last])].dropna(subset=[scale])
    if data["respondent_id"].nunique() < min_cell:
        return null_with_reason(keys, suppressed_reason(min_cell))
    if data["school_id"].nunique() < 2:
        return null_with_reason(keys, "fewer than two schools")
    try:
        m = mixed_model(scores, scale, first, last)
    except (np.linalg.LinAlgError, ValueError) as exc:
        return null_with_reason(keys, f"model could not be fitted: {exc}")
    return {"wave_effect": m.wave_effect, "se": m.se, "p": m.p, "ci95": [m.ci_low, m.ci_high],
            "icc_school": m.icc_school, "design_effect": m.design_effect,
            "var_school": m.var_school, "var_respondent": m.var_respondent,
            "var_residual": m.var_residual, "n_obs": m.n_obs, "n_schools": m.n_schools,
            "converged": m.converged, "warnings": list(m.warnings)}


def _counts(scores: pd.DataFrame, waves: list[str], min_cell: int) -> dict:
    out: dict[str, Any] = {}
    for wave in waves:
        part = scores[scores["wave"] == wave]
        by_role = part.groupby("role").size()
        out[wave] = {"n": int(len(part)) if len(part) >= min_cell else None,
                     "by_role": {r: (int(c) if c >= min_cell else None)
                                 for r, c in by_role.sort_index().items()}}
    return out


def evaluate(responses: pd.DataFrame, instrument: Instrument | str, *,
             waves: list[str] | None = None, min_cell: int = DEFAULT_MIN_CELL,
             inputs: Iterable[dict] = (), parameters: dict | None = None,
             mixed: bool = True) -> dict:
    """Compute Contract 4 for a tidy responses table.

    Parameters
    ----------
    responses
        Contract 2 table (pseudonymised ids).
    instrument
        Instrument id, path or object.
    waves
        Wave order; default :func:`~partnerschap_eval.scoring.wave_order`. Differences are last
        minus first wave.
    min_cell
        Minimum number of respondents behind any reported value (Contract 5).
    inputs, parameters
        Provenance recorded in the result.
    mixed
        Fit the multilevel model per scale (the slowest part).
    """
    inst = load_instrument(instrument)
    data = validate_responses(responses, inst)
    order = waves or wave_order(data["wave"])
    if len(order) < 2:
        raise InputError(f"Cannot evaluate: only one wave ({order}) in the data; a pre/post "
                         "evaluation needs at least two (check the wave column or --wave).")
    first, last = order[0], order[-1]
    scores = score_scales(data, inst)
    keyed = reverse_key(data, inst)
    roles = [r for r in inst.roles if r in set(data["role"])]

    scales: dict[str, Any] = {}
    for scale in inst.scales:
        pairs = paired_scores(scores, scale.id, first, last)
        block, res = _paired_block(pairs["pre"].to_numpy(), pairs["post"].to_numpy(), min_cell)
        reliability = {w: _reliability(keyed[keyed["wave"] == w], list(scale.items), min_cell)
                       for w in (first, last)}
        r_xx = reliability[first].get("alpha")
        if res is None or r_xx is None or not (0 < r_xx < 1):
            rc = null_with_reason(["improved", "deteriorated", "unchanged"],
                                  block.get("n_reason") or "no pre-wave reliability")
        else:
            rci = reliable_change(pairs["pre"].to_numpy(), pairs["post"].to_numpy(), r_xx)
            small = [c for c in (rci.improved, rci.deteriorated, rci.unchanged) if 0 < c < min_cell]
            rc = {"improved": rci.improved, "deteriorated": rci.deteriorated,
                  "unchanged": rci.unchanged, "s_diff": rci.s_diff, "r_xx": rci.r_xx}
            if small:  # counts below the minimum cell size would identify few people
                for key in ("improved", "deteriorated", "unchanged"):
                    if 0 < rc[key] < min_cell:
                        rc[key], rc[f"{key}_reason"] = None, suppressed_reason(min_cell)
        by_role = {}
        for role in roles:
            sub = pairs[pairs["role"] == role]
            rb, _ = _paired_block(sub["pre"].to_numpy(), sub["post"].to_numpy(), min_cell)
            by_role[role] = {"paired": rb}
        scales[scale.id] = {
            "paired": block,
            "reliability": reliability,
            "reliable_change": rc,
            "mixed_model": (_mixed_block(scores, scale.id, first, last, min_cell) if mixed
                            else null_with_reason(["wave_effect", "se", "p", "ci95", "icc_school"],
                                                  "not requested")),
            "by_role": by_role,
        }
    _set_p_adj([scales[s.id]["paired"] for s in inst.scales])
    for role in roles:
        _set_p_adj([scales[s.id]["by_role"][role]["paired"] for s in inst.scales])

    result = {
        "schema": SCHEMA,
        "provenance": {
            "package_version": __version__,
            "instrument": {"id": inst.id, "version": inst.version},
            "inputs": [dict(i) for i in inputs],
            "parameters": dict(parameters or {}),
        },
        "waves": {"first": first, "last": last, "order": order},
        "min_cell": min_cell,
        "counts": _counts(scores, order, min_cell),
        "scales": scales,
    }
    return _clean(result)


def input_record(path: str | Path, base: str | Path | None = None) -> dict:
    """``{"path", "sha256"}`` for provenance; the path is relative to ``base`` when given."""
    from ._io import sha256_file

    path = Path(path)
    shown = path
    if base is not None:
        try:
            shown = path.resolve().relative_to(Path(base).resolve())
        except ValueError:
            shown = Path(path.name)
    return {"path": shown.as_posix(), "sha256": sha256_file(path)}
