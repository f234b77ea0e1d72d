"""Assemble Contract 4 (``results.json``): every statistic of a run, computed once.

The dictionary is deterministic: floats are rounded to 10 significant digits (far below any
reported precision, far above the last-bit noise between BLAS builds), keys are sorted when
written, and values that cannot be shown are ``null`` with a sibling ``<key>_reason``.
Suppression (Contract 5) happens here, so every consumer (report, JSON, CLI) sees the same
privacy-safe numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from .._contract import SCHEMA, waves_record
from .._validate import CONDITIONS, check_conditions, check_school_mapping
from ..errors import InputError, Msg
from ..evaluation import (
    CHANGE_EDGES,
    PROFESSIONAL_ROLES,
    attrition,
    bh_adjust,
    change_distribution,
    min_detectable_dz,
    mixed_model,
    paired_scores,
    paired_test,
    reliable_change,
    role_gap,
    unpaired_at_wave,
)
from ..evaluation.resolution import score_resolution
from ..instruments import Instrument
from ..instruments import resolve as resolve_instrument
from ..privacy import DEFAULT_MIN_CELL, check_min_cell, screen_responses, suppressed_reason
from ..privacy.disclosure import protect
from ..psychometrics import cronbach_alpha, omega_total
from ..scoring import reverse_key, score_scales, validate_responses, wave_order
from .overtime import overtime_blocks

SIG_DIGITS = 10
PAIRED_KEYS = ["n", "mean_pre", "mean_post", "sd_pre", "sd_post", "mean_diff", "sd_diff", "t",
               "df", "p", "p_adj", "ci95", "d_z", "d_z_ci95", "d_av", "d_av_ci95", "g_av",
               "wilcoxon"]

__all__ = ["SCHEMA", "evaluate", "stable_number", "null_with_reason", "json_ready", "input_record"]


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


def json_ready(obj: Any) -> Any:
    """Apply :func:`stable_number` everywhere and add reasons for values that became null.

    >>> json_ready({"a": 0.1 + 0.2, "b": float("nan")})
    {'a': 0.3, 'b': None, 'b_reason': 'not computable'}
    """
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            cv = json_ready(v)
            out[k] = cv
            if cv is None and v is not None and f"{k}_reason" not in obj:
                out[f"{k}_reason"] = "not computable"
        return out
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
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


def _hidden_roles(pairs: pd.DataFrame, roles: list[str], shown: bool,
                  min_cell: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs per role and which role blocks to withhold: a role with 1 to ``min_cell - 1``
    pairs, and as many others as keep it from coming back by subtraction from the shown total
    (``shown``: the block of all roles is published; else every role block is withheld)."""
    role_n = np.array([int((pairs["role"] == r).sum()) for r in roles])
    hidden = (_protect(role_n[None, :], min_cell)[0] if shown else np.ones(len(roles), bool))
    return role_n, hidden


def _hidden_reason(n: int, min_cell: int) -> str:
    """The reason of a withheld role block of ``n`` pairs: small (or none), or complementary."""
    primary = suppressed_reason(min_cell)
    return primary if n < min_cell else f"{primary} (complementary)"


WAVE_KEYS = ["n", "mean", "sd"]


def _contrast_name(wave: str, first: str) -> str:
    """Contract 4 v2's key of the contrast of ``wave`` against the first wave."""
    return f"{wave}-{first}"


def _wave_block(scores: pd.DataFrame, scale: str, wave: str, min_cell: int) -> dict:
    """Contract 4 v2 ``waves.<wave>``: the valid scores of one wave (``n``, ``mean``, ``sd``
    with n - 1), withheld when fewer than ``min_cell`` respondents have one."""
    x = scores.loc[scores["wave"] == wave, scale].dropna().to_numpy(dtype=float)
    if len(x) < min_cell:
        return null_with_reason(WAVE_KEYS, suppressed_reason(min_cell))
    return {"n": len(x), "mean": float(x.mean()),
            "sd": float(x.std(ddof=1)) if len(x) > 1 else float("nan")}


def _contrast_block(scores: pd.DataFrame, scale: str, first: str, wave: str, roles: list[str],
                    min_cell: int) -> dict:
    """Contract 4 v2 ``contrasts.<wave>-<first>``: the paired block (:func:`_paired_block`) of
    the respondents with a valid score at the first wave and at ``wave`` (a positive
    ``mean_diff`` is an increase), and per role, withheld as the first-vs-last blocks are
    (:func:`_hidden_roles`). ``p_adj`` is set across the scales by the caller."""
    pairs = paired_scores(scores, scale, first, wave)
    block, res = _paired_block(pairs["pre"].to_numpy(), pairs["post"].to_numpy(), min_cell)
    role_n, hidden = _hidden_roles(pairs, roles, res is not None, min_cell)
    by_role: dict[str, Any] = {}
    for i, role in enumerate(roles):
        if hidden[i] and res is not None:
            rb = null_with_reason(PAIRED_KEYS, _hidden_reason(int(role_n[i]), min_cell))
        else:
            sub = pairs[pairs["role"] == role]
            rb, _ = _paired_block(sub["pre"].to_numpy(), sub["post"].to_numpy(), min_cell)
        by_role[role] = {"paired": rb}
    return {"paired": block, "by_role": by_role}


def _consecutive_pairs(order: list[str]) -> list[tuple[str, str]]:
    """``(later, earlier)`` of the consecutive waves that are not a contrast against the first
    wave already: ``[a, b, c, d]`` gives ``(c, b), (d, c)``."""
    return [(order[k], order[k - 1]) for k in range(2, len(order))]


def _wave_pairs(order: list[str], consecutive: bool) -> list[tuple[str, str]]:
    """The contrasts of a run with three or more waves, ``(later, earlier)`` in their order in
    ``contrasts``: every later wave against the first, then (``consecutive``) each wave against
    the one before it where that is not the first."""
    return ([(w, order[0]) for w in order[1:]]
            + (_consecutive_pairs(order) if consecutive else []))


MIXED_WAVE_KEYS = ["estimate", "se", "df", "t", "p", "ci95", "n_obs", "n_respondents",
                   "n_schools", "converged", "singular", "formula"]
MIXED_WAVE_METHOD = ("REML on every row of every declared wave, first wave the reference; "
                     "Satterthwaite df (lmerTest)")


def _wave_mixed_blocks(scores: pd.DataFrame, scale: str, order: list[str],
                       pairs: list[tuple[str, str]], min_cell: int) -> dict[str, dict]:
    """Contract 4 v2 ``contrasts.<later>-<earlier>.mixed`` for every pair: the contrasts of
    ``score ~ wave + role + (1 | school) + (1 | school:respondent)`` fitted once on all rows of
    all waves (:func:`~partnerschap_eval.evaluation.waves.wave_mixed_model`). Withheld, all of
    them, when a wave has fewer than ``min_cell`` respondents with a score (the model rests on
    every wave); null with the reason when it cannot be fitted."""
    from ..evaluation.waves import wave_mixed_model

    names = [_contrast_name(a, b) for a, b in pairs]

    def empty(reason: str, counts_reason: str | None = None) -> dict:
        out = {}
        for c in names:
            block = null_with_reason(MIXED_WAVE_KEYS, reason) | {"method": MIXED_WAVE_METHOD}
            if counts_reason:
                _suppress_keys(block, ["n_obs", "n_respondents"], counts_reason)
            out[c] = block
        return out

    rows = scores[scores["wave"].isin(order)].dropna(subset=[scale])
    per_wave = rows.groupby("wave")["respondent_id"].size().reindex(order, fill_value=0)
    if int(per_wave.min()) < min_cell:
        # the model's rows are the sum of the waves' respondents: its counts are withheld to
        # protect the small wave's (complementary), the estimates because they rest on it
        primary = suppressed_reason(min_cell)
        return empty(primary, f"{primary} (complementary)")
    if rows["school_id"].nunique() < 2:
        return empty("fewer than two schools")
    try:
        m = wave_mixed_model(scores, scale, order, with_role=True, pairs=pairs)
    except (InputError, np.linalg.LinAlgError, ValueError) as exc:
        return empty(f"model could not be fitted: {exc}")
    record = m.to_record()
    for block in record.values():
        block["method"] = MIXED_WAVE_METHOD
        if not m.converged:
            block["converged_reason"] = "the optimiser did not converge; see warnings"
    return record


def _reuse_last_contrast(block: dict, by_role: dict) -> dict:
    """Contract 4 v2 ``contrasts.<last>-<first>``: the first-vs-last ``paired`` block and its
    ``by_role`` blocks (the same respondents; computed once), as copies."""
    import copy

    return {"paired": copy.deepcopy(block),
            "by_role": {role: {"paired": copy.deepcopy(rb["paired"])}
                        for role, rb in by_role.items()}}


def _wave_contrasts(scores: pd.DataFrame, scale: str, order: list[str], roles: list[str],
                    min_cell: int, consecutive: bool, last_block: dict, last_by_role: dict,
                    mixed: bool) -> dict:
    """Contract 4 v2 ``contrasts`` of one scale: per pair of :func:`_wave_pairs` the paired
    block (all roles and ``by_role``; the last wave against the first reuses the v1 blocks)
    and the wave model's ``mixed`` block (``mixed``: fitted; else withheld as not requested)."""
    pairs = _wave_pairs(order, consecutive)
    first, last = order[0], order[-1]
    out: dict[str, Any] = {}
    for later, base in pairs:
        name = _contrast_name(later, base)
        if (later, base) == (last, first):
            out[name] = _reuse_last_contrast(last_block, last_by_role)
        else:
            out[name] = _contrast_block(scores, scale, base, later, roles, min_cell)
    models = (_wave_mixed_blocks(scores, scale, order, pairs, min_cell) if mixed
              else {_contrast_name(a, b): null_with_reason(MIXED_WAVE_KEYS, "not requested")
                    for a, b in pairs})
    for name, block in models.items():
        out[name]["mixed"] = block
    return out


def _reliability(keyed: pd.DataFrame, items: list[str], min_cell: int) -> dict:
    a = cronbach_alpha(keyed[items], nan_policy="listwise")
    if a.n < min_cell:
        return null_with_reason(["n", "alpha", "alpha_ci95", "omega"], suppressed_reason(min_cell))
    omega = omega_total(keyed[items]).omega
    return {"n": a.n, "alpha": a.alpha, "alpha_ci95": [a.ci_low, a.ci_high],
            "std_alpha": a.std_alpha, "omega": omega,
            "omega_estimator": "one-factor ML on the item covariances, listwise"}


def _protect(table: np.ndarray, min_cell: int, hidden: np.ndarray | None = None) -> np.ndarray:
    """Cells of a count table to suppress, primary and complementary (Contract 5).

    ``table`` (rows x columns) holds counts whose row totals are published, and -- when it has
    more than one row -- whose column totals are too (``hidden`` adds, per column, the counts
    of rows that are not shown). A cell with 0 < count < ``min_cell`` is suppressed; then, as
    long as the suppressed cells of a row or column sum to 1..min_cell - 1 (so that
    subtracting the shown cells from the total would reveal a small group), the smallest shown
    non-zero cell of that line is suppressed too.

    >>> _protect(np.array([[3, 40, 57]]), 10).tolist()
    [[True, True, False]]
    """
    table = np.asarray(table, dtype=float)
    hidden = np.zeros(table.shape[1]) if hidden is None else np.asarray(hidden, dtype=float)
    mask = (table > 0) & (table < min_cell)

    def fix(values: np.ndarray, masked: np.ndarray, extra: float) -> int | None:
        total = values[masked].sum() + extra
        if 0 < total < min_cell:
            open_ = np.flatnonzero(~masked & (values > 0))
            if open_.size:
                return int(open_[np.argmin(values[open_])])
        return None

    changed = True
    while changed:
        changed = False
        for i in range(table.shape[0]):
            j = fix(table[i], mask[i], 0.0)
            if j is not None:
                mask[i, j], changed = True, True
        if table.shape[0] > 1 or hidden.any():
            for j in range(table.shape[1]):
                i = fix(table[:, j], mask[:, j], hidden[j])
                if i is not None:
                    mask[i, j], changed = True, True
    return mask


def _change_distribution_block(pre: np.ndarray, post: np.ndarray, min_cell: int,
                               resolution: float | None = None) -> dict:
    """Histogram of paired change scores, small bins suppressed (complementary too: the
    total number of pairs is published, so one hidden bin could be recovered by subtraction).
    ``resolution``: the scale's score step, so differences on an edge are binned exactly."""
    table = change_distribution(pre, post, resolution=resolution)
    counts = table["n"].to_numpy()
    primary = suppressed_reason(min_cell)
    if len(pre) < min_cell:
        hide, small = np.ones(counts.size, bool), np.ones(counts.size, bool)
    else:
        hide = _protect(counts[None, :], min_cell)[0]
        small = (counts > 0) & (counts < min_cell)
    bins = []
    for centre, n, h, sm in zip(table["centre"], counts, hide, small, strict=True):
        bins.append({"centre": centre, "n": None if h else int(n)}
                    | ({"n_reason": primary if sm else f"{primary} (complementary)"} if h else {}))
    return {"edges": list(CHANGE_EDGES), "bins": bins}


def _suppress_keys(block: dict, keys: Iterable[str], reason: str) -> None:
    for key in keys:
        block[key] = None
        block[f"{key}_reason"] = reason


def _welch_block(r: Any, names: tuple[str, str]) -> dict:
    a, b = names
    return {f"n_{a}": r.n1, f"n_{b}": r.n2, f"mean_{a}": r.mean1, f"mean_{b}": r.mean2,
            f"sd_{a}": r.sd1, f"sd_{b}": r.sd2, "ci95": [r.ci_low, r.ci_high], "t": r.t,
            "df": r.df, "p": r.p}


def _mark_large(block: dict, sizes: dict[str, int], min_cell: int) -> None:
    """In a two-group block nulled because one group is small, the other group's size is
    withheld to protect it (complementary), not because it is small itself."""
    for group, n in sizes.items():
        if n >= min_cell and f"n_{group}_reason" in block:
            block[f"n_{group}_reason"] = f"{suppressed_reason(min_cell)} (complementary)"


GAP_WAVE_KEYS = ["n_parent", "n_professional", "mean_parent", "mean_professional", "sd_parent",
                 "sd_professional", "gap", "ci95", "t", "df", "p"]
GAP_CHANGE_KEYS = ["n_parent", "n_professional", "gap_first_paired", "gap_last_paired", "did",
                   "ci95", "t", "df", "p", "narrowing", "narrowing_ci95", "direction"]


def _gap_block(scores: pd.DataFrame, scale: str, first: str, last: str, min_cell: int,
               pairs: pd.DataFrame) -> dict:
    """Parents vs pooled professionals (never per school) per wave, and the change in the gap."""
    roles = set(scores["role"].unique())
    present = [r for r in PROFESSIONAL_ROLES if r in roles]
    out: dict[str, Any] = {"parent_role": "parent", "professional_roles": present,
                           "method": "Welch t; change = difference in differences of the paired "
                                     "change scores (parents minus professionals)"}
    if "parent" not in roles or not present:
        reason = "no parents or no professionals in the data"
        out["by_wave"] = {w: null_with_reason(GAP_WAVE_KEYS, reason) for w in (first, last)}
        out["change"] = null_with_reason(GAP_CHANGE_KEYS, reason)
        return out
    # Contract 5: a wave whose sample differs from the paired one by 1 to min_cell - 1 people in
    # either group shows the paired gap, so the two published means cannot be differenced
    on_pairs = [w for w in (first, last)
                for u in [unpaired_at_wave(scores, scale, w, pairs)]
                if any(0 < k < min_cell for k in (u.parents, u.professionals))]
    g = role_gap(scores, scale, first, last, paired_at=on_pairs, pairs=pairs)
    by_wave = {}
    for wave, r, sample in ((first, g.first, g.first_sample), (last, g.last, g.last_sample)):
        if r is None or min(r.n1, r.n2) < min_cell:
            reason = (suppressed_reason(min_cell) if r is not None or min_cell > 2
                      else "too few respondents")
            by_wave[wave] = null_with_reason(GAP_WAVE_KEYS, reason)
            if r is not None:
                _mark_large(by_wave[wave], {"parent": r.n1, "professional": r.n2}, min_cell)
            continue
        block = _welch_block(r, ("parent", "professional"))
        block["gap"] = r.diff
        block["sample"] = sample
        by_wave[wave] = block
    out["by_wave"] = by_wave
    c = g.change
    if c is None or min(c.n1, c.n2) < min_cell:
        out["change"] = null_with_reason(GAP_CHANGE_KEYS, suppressed_reason(min_cell))
        if c is not None:
            _mark_large(out["change"], {"parent": c.n1, "professional": c.n2}, min_cell)
    else:
        block = _welch_block(c, ("parent", "professional"))
        for k in ("mean_parent", "mean_professional", "sd_parent", "sd_professional"):
            block[k.replace("mean_", "mean_change_").replace("sd_", "sd_change_")] = block.pop(k)
        block.update({"gap_first_paired": g.gap_first_paired,
                      "gap_last_paired": g.gap_last_paired, "did": c.diff,
                      "narrowing": g.narrowing,
                      "narrowing_ci95": [g.narrowing_ci_low, g.narrowing_ci_high],
                      "direction": g.direction})
        out["change"] = block
    return out


ATTRITION_KEYS = ["mean_completers", "mean_dropouts", "sd_completers", "sd_dropouts",
                  "mean_diff", "ci95", "t", "df", "p", "hedges_g", "hedges_g_ci95"]


def _attrition_block(scores: pd.DataFrame, scale: str, first: str, last: str,
                     min_cell: int) -> dict:
    a = attrition(scores, scale, first, last)
    out: dict[str, Any] = {
        "definition": (f"first-wave ({first}) scores of completers (valid score at {first} and "
                       f"{last}) minus those of dropouts (valid {first} score, none at {last})"),
        "hedges_j": "exact (Gamma form), as effectsize::hedges_g",
        "n_completers": a.n_completers, "n_dropouts": a.n_dropouts,
    }
    small = [k for k in ("n_completers", "n_dropouts") if 0 < out[k] < min_cell]
    if small:
        _suppress_keys(out, small, suppressed_reason(min_cell))
        out.update(null_with_reason(ATTRITION_KEYS, suppressed_reason(min_cell)))
    elif a.welch is None or a.hedges is None:
        out.update(null_with_reason(ATTRITION_KEYS, "no dropouts" if a.n_dropouts == 0
                                    else "too few respondents"))
    else:
        w, h = a.welch, a.hedges
        out.update({"mean_completers": w.mean1, "mean_dropouts": w.mean2,
                    "sd_completers": w.sd1, "sd_dropouts": w.sd2, "mean_diff": w.diff,
                    "ci95": [w.ci_low, w.ci_high], "t": w.t, "df": w.df, "p": w.p,
                    "hedges_g": h.g, "hedges_g_ci95": [h.ci_low, h.ci_high]})
    return out


SENSITIVITY_KEYS = ["n", "min_d_z"]


def _sensitivity_block(n: int, min_cell: int, reason: str | None = None) -> dict:
    out: dict[str, Any] = {"power": 0.8, "alpha": 0.05,
                           "method": "smallest d_z with 80% power, two-sided paired t at the "
                                     "achieved n (noncentral t, both tails, solved exactly)"}
    if reason is not None:
        out.update(null_with_reason(SENSITIVITY_KEYS, reason))
    elif n < min_cell:
        out.update(null_with_reason(SENSITIVITY_KEYS, suppressed_reason(min_cell)))
    elif n < 3:
        out.update(null_with_reason(SENSITIVITY_KEYS, "too few pairs"))
    else:
        out.update({"n": n, "min_d_z": min_detectable_dz(n)})
    return out


MIXED_KEYS = ["wave_effect", "se", "p", "ci95", "icc_school"]
DID_KEYS = ["estimate", "se", "df", "t", "p", "ci95", "d", "d_total"]


def _did_block(scores: pd.DataFrame, scale: str, order: list[str],
               conditions: Mapping[str, str], min_cell: int) -> dict:
    """Contract 4 v2 ``did``: the wave x condition contrasts of the mixed model per later wave
    (:func:`~partnerschap_eval.evaluation.mixed_design.did_mixed_model`, role as a fixed
    effect). Shown only when every condition x wave cell has ``min_cell`` respondents."""
    from ..evaluation.mixed_design import did_mixed_model

    contrasts = [f"{w}-{order[0]}" for w in order[1:]]

    def empty(reason: str) -> dict:
        return {c: null_with_reason(DID_KEYS, reason) for c in contrasts}

    rows = scores[scores["wave"].isin(order)].dropna(subset=[scale])
    arm = rows["school_id"].astype(str).map({str(k): str(v) for k, v in conditions.items()})
    cells = rows.groupby([arm, rows["wave"]])["respondent_id"].nunique()
    if len(cells) and int(cells.min()) < min_cell:
        return empty(suppressed_reason(min_cell))
    try:
        did = did_mixed_model(scores, scale, order, conditions, with_role=True)
    except (InputError, np.linalg.LinAlgError, ValueError) as exc:
        return empty(f"model could not be fitted: {exc}")
    record = did.to_record()
    for block in record.values():
        block.update({"converged": did.converged, "singular": did.singular,
                      "formula": did.formula, "treatment": did.treatment,
                      "method": "REML; Satterthwaite df (lmerTest)"})
    return record


BASELINE_KEYS = ["n_treatment", "n_reference", "mean_treatment", "mean_reference", "g", "ci95",
                 "category"]
ARM_COUNTS = ("baseline", "analytic", "dropouts")


def _design_arms(conditions: Mapping[str, str]) -> tuple[str, str]:
    """(treatment, reference) of a design: ``intervention`` against the first of control,
    comparison and waitlist that a school has (as :func:`did_mixed_model`)."""
    from ..evaluation.mixed_design import REFERENCE_CONDITIONS

    declared = {str(v) for v in conditions.values()}
    return "intervention", next((c for c in REFERENCE_CONDITIONS if c in declared), "control")


def _baseline_block(scores: pd.DataFrame, scale: str, first: str, last: str,
                    conditions: Mapping[str, str], min_cell: int) -> dict:
    """Contract 4 v2 ``baseline_equivalence`` (WWC, analytic sample), with the arms' sizes and
    first-wave means; null when an arm has fewer than ``min_cell`` respondents."""
    from ..evaluation.designs import baseline_equivalence

    treatment, reference = _design_arms(conditions)
    out: dict[str, Any] = {"treatment": treatment, "reference": reference, "sample": "analytic",
                           "method": "Hedges' g of first-wave scores, analytic sample (WWC 5.0)"}
    try:
        r = baseline_equivalence(scores, scale, first, last, conditions=conditions,
                                 treatment=treatment, reference=reference)
    except InputError as exc:
        return out | null_with_reason(BASELINE_KEYS, f"not computable: {exc}")
    if min(r.n_treatment, r.n_reference) < min_cell:
        return out | null_with_reason(BASELINE_KEYS, suppressed_reason(min_cell))
    return out | {"n_treatment": r.n_treatment, "n_reference": r.n_reference,
                  "mean_treatment": r.mean_treatment, "mean_reference": r.mean_reference,
                  "g": r.g, "ci95": [r.ci_low, r.ci_high], "category": r.category}


def _arm_attrition_block(scores: pd.DataFrame, scale: str, first: str, last: str,
                         conditions: Mapping[str, str], min_cell: int) -> dict:
    """Attrition per arm (WWC): per condition the first-wave (``baseline``) respondents, those of
    them with a last-wave score (``analytic``), the ``dropouts`` and the rate. A count of 1 to
    ``min_cell - 1`` is withheld with the rate; the disclosure step withholds what would give
    it away. Overall and differential attrition are left to the reader of the shown rates."""
    from ..evaluation.designs import wwc_attrition

    treatment, reference = _design_arms(conditions)
    out: dict[str, Any] = {"treatment": treatment, "reference": reference,
                           "definition": (f"baseline: valid {first} score; analytic: and a valid "
                                          f"{last} score; attrition = dropouts / baseline")}
    try:
        a = wwc_attrition(scores, scale, first, last, conditions=conditions,
                          treatment=treatment, reference=reference)
    except InputError as exc:
        out["by_condition"] = None
        out["by_condition_reason"] = f"not computable: {exc}"
        return out
    rows: dict[str, Any] = {}
    for row in a.by_condition.itertuples():
        counts = {"baseline": int(row.baseline), "analytic": int(row.analytic),
                  "dropouts": int(row.baseline - row.analytic)}
        block: dict[str, Any] = dict(counts, attrition=float(row.attrition))
        small = [k for k, v in counts.items() if 0 < v < min_cell]
        if small:
            _suppress_keys(block, [*small, "attrition"], suppressed_reason(min_cell))
        rows[str(row.condition)] = block
    out["by_condition"] = rows
    return out


def _arm_paired_block(pairs: pd.DataFrame, arms: list[str], conditions: Mapping[str, str],
                      min_cell: int) -> dict:
    """Contract 4 v2 ``conditions.<c>.paired``: first vs last wave within each arm (all roles at
    the arm's schools), the paired block of :func:`_paired_block`. An arm with fewer than
    ``min_cell`` pairs is withheld here; the disclosure step withholds what would give it away
    (the all-arms block, the other arms, the arms' attrition rows). ``p_adj`` is set across the
    scales within each arm by the caller."""
    arm = pairs["school_id"].astype(str).map({str(k): str(v) for k, v in conditions.items()})
    out: dict[str, Any] = {}
    for c in arms:
        sub = pairs[(arm == c).to_numpy()]
        block, _ = _paired_block(sub["pre"].to_numpy(), sub["post"].to_numpy(), min_cell)
        out[c] = {"paired": block}
    return out


#: ``design.schools_without_condition_reason``: what happens to the schools of the data that
#: the design does not give a condition.
NO_CONDITION_REASON = ("no condition declared: left out of did, baseline_equivalence, "
                       "attrition_by_condition and conditions")


def _design_rows(scores: pd.DataFrame, conditions: Mapping[str, str]) -> tuple[pd.DataFrame, int]:
    """The rows of the schools that have a condition, and the number of schools without one.

    A design compares the declared arms: a school of the data without a condition (a project
    file naming 2 of 43 schools) is left out of every design block (``did``,
    ``baseline_equivalence``, ``attrition_by_condition``, ``conditions``) rather than stopping
    the model; ``design`` says how many were left out (never which).

    >>> rows = pd.DataFrame({"school_id": ["A", "B", "C"], "x": [1.0, 2.0, 3.0]})
    >>> kept, left_out = _design_rows(rows, {"A": "intervention", "C": "control"})
    >>> list(kept["school_id"]), left_out
    (['A', 'C'], 1)
    """
    school = scores["school_id"].astype(str)
    declared = {str(k) for k in conditions}
    keep = school.isin(declared)
    return scores[keep.to_numpy()], int(school[~keep].nunique())


def _mixed_block(scores: pd.DataFrame, scale: str, first: str, last: str, min_cell: int) -> dict:
    data = scores[scores["wave"].isin([first, last])].dropna(subset=[scale])
    if data["respondent_id"].nunique() < min_cell:
        return null_with_reason(MIXED_KEYS, suppressed_reason(min_cell))
    if data["school_id"].nunique() < 2:
        return null_with_reason(MIXED_KEYS, "fewer than two schools")
    try:
        m = mixed_model(scores, scale, first, last, with_role=True)
    except (np.linalg.LinAlgError, ValueError) as exc:
        return null_with_reason(MIXED_KEYS, f"model could not be fitted: {exc}")
    block = {"wave_effect": m.wave_effect, "se": m.se, "p": m.p, "ci95": [m.ci_low, m.ci_high],
             "icc_school": m.icc_school, "design_effect": m.design_effect,
             "mean_cluster_size": m.mean_cluster_size, "var_school": m.var_school,
             "var_respondent": m.var_respondent, "var_residual": m.var_residual,
             "n_obs": m.n_obs, "n_respondents": m.n_respondents, "n_schools": m.n_schools,
             "formula": m.formula, "method": "REML; p and CI: Wald z (normal approximation)",
             "converged": m.converged, "singular": m.singular, "warnings": list(m.warnings)}
    if not m.converged:
        block["converged_reason"] = "the optimiser did not converge; see warnings"
    return block


def _counts(scores: pd.DataFrame, waves: list[str], min_cell: int) -> dict:
    out: dict[str, Any] = {}
    for wave in waves:
        part = scores[scores["wave"] == wave]
        by_role = part.groupby("role").size().sort_index()
        n = int(len(part))
        role_block: dict[str, Any] = {}
        primary = suppressed_reason(min_cell)
        if n < min_cell:
            role_block = {r: None for r in by_role.index}
            role_block |= {f"{r}_reason": primary for r in by_role.index}
        else:
            hide = _protect(by_role.to_numpy()[None, :], min_cell)[0]
            role_block = {r: (None if h else int(c))
                          for (r, c), h in zip(by_role.items(), hide, strict=True)}
            role_block |= {f"{r}_reason": primary if c < min_cell else f"{primary} (complementary)"
                           for (r, c), h in zip(by_role.items(), hide, strict=True) if h}
        out[wave] = {"n": n if n >= min_cell else None, "by_role": role_block}
        if n < min_cell:
            out[wave]["n_reason"] = primary
    return out


RC_KEYS = ("improved", "deteriorated", "unchanged")


def _rc_dict(rc: Any) -> dict:
    return {"improved": rc.improved, "deteriorated": rc.deteriorated,
            "unchanged": rc.unchanged, "s_diff": rc.s_diff, "r_xx": rc.r_xx}


def evaluate(responses: pd.DataFrame, instrument: Instrument | str, *,
             waves: list[str] | None = None, min_cell: int = DEFAULT_MIN_CELL,
             inputs: Iterable[dict] = (), parameters: dict | None = None,
             mixed: bool = True, schools: Iterable[str] | None = None,
             conditions: Mapping[str, str] | None = None,
             start_waves: Mapping[str, str] | None = None,
             consecutive: bool = False) -> dict:
    """Compute Contract 4 for a tidy responses table.

    Parameters
    ----------
    responses
        Contract 2 table (pseudonymised ids).
    instrument
        Instrument id, path or object.
    waves
        The declared wave order (``--waves``, the project's ``waves:``), or None for the known
        pair pre/post; see :func:`~partnerschap_eval.scoring.wave_order`, which refuses
        undeclared waves. Differences are last minus first wave.
    min_cell
        Minimum number of respondents behind any reported value (Contract 5).
    inputs, parameters
        Provenance recorded in the result.
    mixed
        Fit the multilevel models per scale (``mixed_model``, and with three or more waves
        the wave model of ``contrasts.<c>.mixed``); False: both null, "not requested".
    schools
        Schools the researcher declared (a project's ``schools:``): let through the output
        firewall whatever their shape; other school cells must not look like personal data
        (:func:`~partnerschap_eval.privacy.screen_responses`, as roles and waves).
    conditions
        School id -> condition (a study's ``schools[].condition``). When given, every scale
        gets Contract 4 v2's ``did`` block (intervention against control, comparison or
        waitlist schools, per later wave), ``baseline_equivalence`` (WWC),
        ``attrition_by_condition`` and ``conditions`` (per arm the first-vs-last ``paired``
        block of the respondents at its schools, BH ``p_adj`` across the scales within the
        arm), and the result a top-level ``design`` (the conditions, the treatment and the
        reference arm); without it the result is unchanged.
    start_waves
        School id -> the wave at which it started the intervention (with ``conditions``):
        recorded in ``design.start_waves`` (declared waves only), so that a report states a
        staggered start as a limitation. The model itself compares every wave with the first.
    consecutive
        With three or more waves, also contrast each wave with the one before it
        (``contrasts."<w_k>-<w_{k-1}>"``, where that is not a contrast with the first wave
        already): the same blocks, BH across the scales within each contrast.

    Notes
    -----
    Per scale, beside Contract 4's ``paired``, ``reliability``, ``reliable_change``,
    ``mixed_model`` and ``by_role`` (each role: ``paired``, ``reliable_change``,
    ``sensitivity``), the result has ``gap`` (parents vs pooled professionals per wave and the
    difference in differences), ``attrition`` (completers vs dropouts at the first wave) and
    ``sensitivity`` (smallest d_z detectable with 80 % power). Reliable change classifies every
    respondent with the whole sample's S_diff, so role counts add up to the overall counts.

    With three or more waves every scale also gets Contract 4 v2's ``waves`` (per declared
    wave the valid scores' ``n``, ``mean`` and ``sd``) and ``contrasts`` (per later wave,
    ``"<wave>-<first>"``: the paired block of the respondents with a score at the first wave
    and at that wave, all roles and ``by_role``, with Benjamini-Hochberg ``p_adj`` across the
    scales within the contrast); the contrast of the last wave is the ``paired`` block. Each
    contrast also has ``mixed``: the contrast of the wave model ``score ~ wave + role +
    (1 | school) + (1 | school:respondent)`` (REML, Satterthwaite df) fitted on every row of
    every wave, withheld when a wave has fewer than ``min_cell`` respondents. Two waves give
    neither key.

    Every run also gets, per scale, Contract 4 v2's ``longitudinal_invariance`` (configural,
    metric and scalar invariance over the declared waves, with the verdict ``means_comparable``)
    and ``imputation`` (each later wave against the first after multiple imputation, beside the
    complete-case ``paired`` block): :mod:`partnerschap_eval.results.overtime`, whose rules say
    when they are withheld.

    Privacy (Contract 5): a value resting on fewer than ``min_cell`` respondents is ``null``
    with ``"suppressed: n < {min_cell}"``. Where published totals would let a reader subtract
    the shown parts from the total to recover a suppressed small group (role blocks within the
    paired sample, reliable-change counts, counts per role), the next smallest part is
    suppressed too, with the reason ``"suppressed: n < {min_cell} (complementary)"``; then
    :func:`partnerschap_eval.privacy.disclosure.protect` suppresses whatever else the published numbers
    of the run would give away by addition or subtraction (its audit is the proof). Nothing is
    reported per school.
    """
    min_cell = check_min_cell(min_cell)
    inst = resolve_instrument(instrument)
    data = validate_responses(responses, inst)
    # nothing as typed; an undeclared (harmless) wave is refused, and named, by wave_order
    screen_responses(data, inst.roles, waves=waves, schools=schools, order_check=True)
    order = wave_order(data["wave"], waves)
    if len(order) < 2:
        raise InputError(Msg("errors.results.one_wave", waves=order))
    # published in ``design``: known conditions and the run's waves only, for its own schools
    present = data["school_id"].unique()
    conditions = check_conditions(conditions, present) or None if conditions else None
    start_waves = (check_school_mapping(start_waves, present, order, what="start_waves") or None
                   if start_waves and conditions else None)
    first, last = order[0], order[-1]
    scores = score_scales(data, inst)
    keyed = reverse_key(data, inst)
    roles = [r for r in inst.roles if r in set(data["role"])]
    primary = suppressed_reason(min_cell)
    secondary = f"{primary} (complementary)"
    # the arms of the design, in the order of the known conditions
    arms = ([c for c in CONDITIONS if c in set(conditions.values())] if conditions else [])
    design_scores, without_condition = (_design_rows(scores, conditions) if conditions
                                        else (scores, 0))

    scales: dict[str, Any] = {}
    for scale in inst.scales:
        pairs = paired_scores(scores, scale.id, first, last)
        pre, post = pairs["pre"].to_numpy(), pairs["post"].to_numpy()
        block, res = _paired_block(pre, post, min_cell)
        # a scale with its own keys (Contract 1) is analysed in its own direction
        own = keyed if not scale.keys else reverse_key(data, inst, scale.id)
        reliability = {w: _reliability(own[own["wave"] == w], list(scale.items), min_cell)
                       for w in (first, last)}
        r_xx = reliability[first].get("alpha")

        # roles: which role blocks can be shown (primary + complementary suppression)
        role_n, role_hidden = _hidden_roles(pairs, roles, res is not None, min_cell)
        rc_ok = res is not None and r_xx is not None and 0 < r_xx < 1
        if rc_ok:
            overall = reliable_change(pre, post, r_xx)
            rc = _rc_dict(overall)
            role_rc = [reliable_change(pre[(pairs["role"] == r).to_numpy()],
                                       post[(pairs["role"] == r).to_numpy()], r_xx,
                                       sd_pre=overall.sd_pre) for r in roles]
            shown = [i for i, h in enumerate(role_hidden) if not h]
            cells = np.array([[getattr(overall, k) for k in RC_KEYS]]
                             + [[getattr(role_rc[i], k) for k in RC_KEYS] for i in shown])
            hidden_rows = [i for i, h in enumerate(role_hidden) if h]
            extra = np.array([sum(getattr(role_rc[i], k) for i in hidden_rows) for k in RC_KEYS])
            primary_mask = (cells > 0) & (cells < min_cell)
            # the overall row stands on its own; role rows also have the overall as column total
            mask = _protect(cells[:1], min_cell)
            if shown:
                role_mask = _protect(cells[1:], min_cell, hidden=extra)
                mask = np.vstack([mask, role_mask])
            for j, key in enumerate(RC_KEYS):
                if mask[0, j]:
                    _suppress_keys(rc, [key], primary if primary_mask[0, j] else secondary)
        else:
            rc = null_with_reason(list(RC_KEYS), block.get("n_reason")
                                  or "no pre-wave reliability")

        by_role: dict[str, Any] = {}
        row_of = {i: k + 1 for k, i in enumerate(i for i, h in enumerate(role_hidden) if not h)}
        for i, role in enumerate(roles):
            if role_hidden[i] and res is not None:
                reason = _hidden_reason(int(role_n[i]), min_cell)
                by_role[role] = {"paired": null_with_reason(PAIRED_KEYS, reason),
                                 "reliable_change": null_with_reason(list(RC_KEYS), reason),
                                 "sensitivity": _sensitivity_block(0, min_cell, reason)}
                continue
            sub = pairs[pairs["role"] == role]
            rb, _ = _paired_block(sub["pre"].to_numpy(), sub["post"].to_numpy(), min_cell)
            if rc_ok and not role_hidden[i]:
                rrc = _rc_dict(role_rc[i])
                r = row_of[i]
                for j, key in enumerate(RC_KEYS):
                    if mask[r, j]:
                        _suppress_keys(rrc, [key], primary if primary_mask[r, j] else secondary)
            else:
                rrc = null_with_reason(list(RC_KEYS), rb.get("n_reason")
                                       or rc.get("improved_reason") or "not computable")
            by_role[role] = {"paired": rb, "reliable_change": rrc,
                             "sensitivity": _sensitivity_block(int(role_n[i]), min_cell)}

        scales[scale.id] = {
            "paired": block,
            "reliability": reliability,
            "reliable_change": rc,
            "mixed_model": (_mixed_block(scores, scale.id, first, last, min_cell) if mixed
                            else null_with_reason(MIXED_KEYS, "not requested")),
            "by_role": by_role,
            "gap": _gap_block(scores, scale.id, first, last, min_cell, pairs),
            "attrition": _attrition_block(scores, scale.id, first, last, min_cell),
            "sensitivity": _sensitivity_block(len(pairs), min_cell),
            "change_distribution": _change_distribution_block(
                pre, post, min_cell, score_resolution(inst, scale.id)),
        }
        # Contract 4 v2: measurement invariance over the declared waves and the imputation
        # beside the complete-case paired block (results/overtime.py)
        scales[scale.id].update(overtime_blocks(own, scores, scale, order, min_cell))
        if len(order) > 2:
            # Contract 4 v2: every declared wave, and every later wave against the first
            scales[scale.id]["waves"] = {w: _wave_block(scores, scale.id, w, min_cell)
                                         for w in order}
            scales[scale.id]["contrasts"] = _wave_contrasts(
                scores, scale.id, order, roles, min_cell, consecutive, block, by_role, mixed)
        if conditions:
            # schools without a condition are in no design block (``design`` counts them)
            scales[scale.id]["did"] = _did_block(design_scores, scale.id, order, conditions,
                                                 min_cell)
            scales[scale.id]["baseline_equivalence"] = _baseline_block(
                design_scores, scale.id, first, last, conditions, min_cell)
            scales[scale.id]["attrition_by_condition"] = _arm_attrition_block(
                design_scores, scale.id, first, last, conditions, min_cell)
            scales[scale.id]["conditions"] = _arm_paired_block(pairs, arms, conditions,
                                                               min_cell)
    _set_p_adj([scales[s.id]["paired"] for s in inst.scales])
    for role in roles:
        _set_p_adj([scales[s.id]["by_role"][role]["paired"] for s in inst.scales])
    for c in arms:
        _set_p_adj([scales[s.id]["conditions"][c]["paired"] for s in inst.scales])
    if len(order) > 2:
        # Benjamini-Hochberg across the scales within each contrast (and role)
        for w, base in _wave_pairs(order, consecutive):
            name = _contrast_name(w, base)
            _set_p_adj([scales[s.id]["contrasts"][name]["paired"] for s in inst.scales])
            for role in roles:
                _set_p_adj([scales[s.id]["contrasts"][name]["by_role"][role]["paired"]
                            for s in inst.scales])

    result = {
        "schema": SCHEMA,
        "provenance": {
            "package_version": __version__,
            "instrument": {"id": inst.id, "version": inst.version},
            "inputs": [dict(i) for i in inputs],
            "parameters": dict(parameters or {}),
        },
        # Contract 4 v2: the declared order, and the pair that the v1 keys compare
        **waves_record(order),
        "min_cell": min_cell,
        "counts": _counts(scores, order, min_cell),
        "scales": scales,
    }
    if conditions:
        treatment, reference = _design_arms(conditions)
        result["design"] = {"conditions": {str(k): str(v) for k, v in conditions.items()},
                            "treatment": treatment, "reference": reference}
        if start_waves:
            result["design"]["start_waves"] = start_waves
        if without_condition:
            result["design"]["schools_without_condition"] = without_condition
            result["design"]["schools_without_condition_reason"] = NO_CONDITION_REASON
    # The one disclosure-control step: complementary suppression across every table of the
    # run, checked by the linear audit (a report adds its sections and runs it again).
    return protect(json_ready(result), min_cell)


def input_record(path: str | Path, base: str | Path | None = None) -> dict:
    """``{"path", "sha256"}`` for provenance; the path is relative to ``base`` when given."""
    from .._io import sha256_file

    path = Path(path)
    shown = path
    if base is not None:
        try:
            shown = path.resolve().relative_to(Path(base).resolve())
        except ValueError:
            shown = Path(path.name)
    return {"path": shown.as_posix(), "sha256": sha256_file(path)}
