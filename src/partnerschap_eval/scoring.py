"""Scale scores from tidy responses: reverse keys, the min-items rule, optional rescaling.

Scoring follows Contract 1 of ``DESIGN.md``: a reverse-keyed answer ``x`` scores
``min + max - x`` using the *declared* bounds of the response scale (never the observed ones);
a scale score is the mean of the answered items when at least ``min_items`` are answered and
missing otherwise. ``score: sum`` gives the prorated sum (mean x number of items) and ``rescale``
maps the scale's possible range linearly onto the given range.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError
from .instruments import Instrument

KEY_COLUMNS = ["respondent_id", "wave", "role", "school_id"]

__all__ = ["KEY_COLUMNS", "validate_responses", "reverse_key", "score_scales", "wave_order"]


def wave_order(waves: pd.Series | list[str]) -> list[str]:
    """Order wave names: ``pre`` before ``post``; otherwise natural order of the names.

    >>> wave_order(["post", "pre"])
    ['pre', 'post']
    >>> wave_order(["t10", "t2", "t1"])
    ['t1', 't2', 't10']
    """
    import re

    names = sorted({str(w) for w in waves})
    known = {"pre": 0, "voormeting": 0, "baseline": 0, "mid": 1, "tussenmeting": 1,
             "post": 2, "nameting": 2, "follow_up": 3, "followup": 3}
    if all(n in known for n in names):
        return sorted(names, key=lambda n: known[n])

    def natural(n: str) -> list[object]:
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", n)]

    return sorted(names, key=natural)


def validate_responses(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Check a Contract 2 table at the boundary and return it with numeric item columns.

    Raises :class:`~partnerschap_eval.errors.InputError` naming every problem: missing key
    columns, missing item columns, non-numeric answers or answers outside the response scale.
    """
    problems: list[str] = []
    missing_keys = [c for c in KEY_COLUMNS if c not in responses.columns]
    if missing_keys:
        problems.append(f"missing column(s) {missing_keys} (Contract 2 needs {KEY_COLUMNS})")
    items = instrument.item_ids
    absent = [i for i in items if i not in responses.columns]
    if len(absent) == len(items):
        problems.append(f"none of the instrument's item columns are present (e.g. {items[:3]})")
    if problems:
        raise InputError("The responses table cannot be scored: " + "; ".join(problems) + ".")
    out = responses.copy()
    for col in KEY_COLUMNS:
        if out[col].isna().any():
            n = int(out[col].isna().sum())
            raise InputError(f"The responses table has {n} row(s) without {col}; ingest rejects "
                             "such rows, so this table was not produced by `ingest`.")
        out[col] = out[col].astype(str)
    lo, hi = instrument.response_scale.min, instrument.response_scale.max
    for item in items:
        if item not in out.columns:
            out[item] = np.nan
            continue
        values = pd.to_numeric(out[item], errors="coerce")
        bad_text = values.isna() & out[item].notna() & (out[item].astype(str).str.strip() != "")
        bad_range = values.notna() & ((values < lo) | (values > hi) | (values % 1 != 0))
        if bad_text.any() or bad_range.any():
            rows = list(out.index[bad_text | bad_range][:5])
            problems.append(f"item {item}: {int(bad_text.sum() + bad_range.sum())} value(s) "
                            f"not a whole number in {lo}..{hi} (first rows: {rows})")
        out[item] = values.astype(float)
    if problems:
        raise InputError("The responses table has invalid answers: " + "; ".join(problems)
                         + ". Re-run `ingest`, which clears and logs such cells.")
    dup = out.duplicated(["respondent_id", "wave"], keep=False)
    if dup.any():
        raise InputError(f"{int(dup.sum())} rows share a respondent_id and wave; each respondent "
                         "may answer once per wave.")
    return out


def reverse_key(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Return a copy with reverse-keyed items recoded as ``min + max - x``.

    >>> from partnerschap_eval.instruments import load_instrument
    >>> inst = load_instrument("partnerschap")
    >>> reverse_key(pd.DataFrame({"rec5": [1.0, 4.0, None]}), inst)["rec5"].tolist()
    [5.0, 2.0, nan]
    """
    out = responses.copy()
    total = instrument.response_scale.min + instrument.response_scale.max
    for item in instrument.reverse_items:
        if item in out.columns:
            out[item] = total - out[item]
    return out


def score_scales(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Scale scores, one row per respondent and wave, one column per scale.

    Parameters
    ----------
    responses
        Contract 2 table with numeric item columns (already validated).
    instrument
        The instrument whose scales are scored.

    Returns
    -------
    DataFrame
        The key columns followed by one float column per scale id.

    Notes
    -----
    With answered items :math:`x_1..x_m` (after reverse keying) of a scale with :math:`k` items,
    the score is :math:`\\bar x = \\frac1m\\sum x_i` when :math:`m \\ge` ``min_items``, else missing;
    ``score: sum`` gives :math:`k\\bar x`; ``rescale: [a, b]`` maps the possible range
    :math:`[L, U]` onto :math:`a + (s - L)(b - a)/(U - L)`.

    Examples
    --------
    >>> from partnerschap_eval.instruments import load_instrument
    >>> inst = load_instrument("partnerschap")
    >>> row = {"respondent_id": "r", "wave": "pre", "role": "parent", "school_id": "s",
    ...        "rec1": 4, "rec2": 5, "rec3": None, "rec4": None, "rec5": 2}
    >>> score_scales(pd.DataFrame([row]), inst)["reciprocity"].round(4).tolist()
    [4.3333]
    """
    keyed = reverse_key(responses, instrument)
    out = responses[[c for c in KEY_COLUMNS if c in responses.columns]].copy()
    lo, hi = instrument.response_scale.min, instrument.response_scale.max
    for scale in instrument.scales:
        cols = [c for c in scale.items]
        block = keyed.reindex(columns=cols).to_numpy(dtype=float)
        answered = np.sum(~np.isnan(block), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(block, axis=1) / answered
        score = np.where(answered >= scale.required_items, mean, np.nan)
        k = len(cols)
        low, high = float(lo), float(hi)
        if scale.score == "sum":
            score, low, high = score * k, low * k, high * k
        if scale.rescale is not None:
            a, b = scale.rescale
            score = a + (score - low) * (b - a) / (high - low)
        out[scale.id] = score
    return out
