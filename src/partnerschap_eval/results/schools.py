"""Per-school results, parents only (Contract 5: professionals are never reported per school).

Computed once per report run, next to the project results, and shared by every school page.
Each school gets a sequential, file-name-safe key (:func:`partnerschap_eval.privacy.school_keys`),
so a school's name never becomes a path; the name itself passes the output firewall.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

import pandas as pd

from ..evaluation import paired_scores, paired_test
from ..instruments import Instrument
from ..privacy import check_min_cell, declared, school_keys, screen, suppressed_reason

__all__ = ["school_results", "PER_SCHOOL_ROLE"]

#: The only role shown per school.
PER_SCHOOL_ROLE = "parent"
_KEYS = ["n", "mean_pre", "mean_post", "mean_diff", "ci95", "d_z", "d_z_ci95"]


def _block(pre: pd.Series, post: pd.Series, min_cell: int) -> dict:
    if len(pre) < min_cell:
        reason = suppressed_reason(min_cell)
        return {k: None for k in _KEYS} | {f"{k}_reason": reason for k in _KEYS}
    r = paired_test(pre.to_numpy(), post.to_numpy())
    return {"n": r.n, "mean_pre": r.mean_pre, "mean_post": r.mean_post, "mean_diff": r.mean_diff,
            "ci95": [r.ci_low, r.ci_high], "d_z": r.d_z, "d_z_ci95": [r.d_z_ci_low, r.d_z_ci_high]}


def _wave_contrasts(mine: pd.DataFrame, inst: Instrument, order: list[str], last_blocks: dict,
                    min_cell: int) -> dict:
    """Per later wave ``"<wave>-<first>"``, per scale, the parents' paired block of the first
    wave and that wave (the last one: the ``scales`` blocks, computed once)."""
    first, last = order[0], order[-1]
    out: dict[str, dict] = {}
    for wave in order[1:]:
        if wave == last:
            blocks = copy.deepcopy(last_blocks)
        else:
            blocks = {}
            for scale in inst.scale_ids:
                pairs = paired_scores(mine, scale, first, wave)
                blocks[scale] = _block(pairs["pre"], pairs["post"], min_cell)
        out[f"{wave}-{first}"] = blocks
    return out


def school_results(scores: pd.DataFrame, inst: Instrument, first: str, last: str,
                   min_cell: int, schools: Iterable[str] = (),
                   waves: Sequence[str] | None = None) -> dict:
    """Parents' pre/post per school and scale, suppressed below ``min_cell``.

    Returns ``{school_key: {"name": ..., "n_parents": {wave: n}, "scales": {scale: block}}}``
    where a block holds ``n, mean_pre, mean_post, mean_diff, ci95, d_z, d_z_ci95`` or nulls
    with ``"<key>_reason": "suppressed: n < min_cell"``. ``schools`` are the declared schools
    (a project's ``schools:``), shown by name whatever their shape; any other name passes the
    output firewall or is shown as withheld. ``waves``: the run's declared order; with three or
    more, ``n_parents`` counts every wave and ``contrasts`` holds, per later wave
    ``"<wave>-<first>"``, the same blocks per scale for the first wave and that wave.

    >>> import pandas as pd
    >>> from partnerschap_eval.instruments import load_instrument
    >>> s = pd.DataFrame({"respondent_id": ["a", "a"], "wave": ["pre", "post"],
    ...                   "role": ["parent"] * 2, "school_id": ["X"] * 2, "reciprocity": [3.0, 4.0],
    ...                   "two_way_communication": [3.0, 3.0], "shared_decision_making": [2., 2.]})
    >>> out = school_results(s, load_instrument("partnerschap"), "pre", "post", min_cell=10)
    >>> block = next(iter(out.values()))
    >>> block["name"], block["scales"]["reciprocity"]["n"], block["scales"]["reciprocity"]["n_reason"]
    ('X', None, 'suppressed: n < 10')
    """
    min_cell = check_min_cell(min_cell)
    parents = scores[scores["role"] == PER_SCHOOL_ROLE]
    out: dict[str, dict] = {}
    keys = school_keys(scores["school_id"].unique())
    known = declared(schools)
    order = list(waves) if waves is not None and len(waves) > 2 else None
    for school, key in keys.items():
        mine = parents[parents["school_id"] == school]
        counts = {}
        for wave in order or (first, last):
            n = int((mine["wave"] == wave).sum())
            counts[wave] = n if n >= min_cell else None
            if n < min_cell:
                counts[f"{wave}_reason"] = suppressed_reason(min_cell)
        scales = {}
        for scale in inst.scale_ids:
            pairs = paired_scores(mine, scale, first, last)
            scales[scale] = _block(pairs["pre"], pairs["post"], min_cell)
        out[key] = {"name": screen(school, "school", known).text, "n_parents": counts,
                    "scales": scales}
        if order:
            out[key]["contrasts"] = _wave_contrasts(mine, inst, order, scales, min_cell)
    return out
