"""Place collaboration on Epstein's types, Gerdes' levels, the participatieladder and the praatplaat.

The frameworks are instruments (``instruments/epstein.yaml``, ``gerdes.yaml``,
``participatieladder.yaml``, ``praatplaat.yaml``) whose levels and rungs are classifications kept
as data and applied by :func:`partnerschap_eval.scoring.classify`. This module turns scored
responses into the tidy tables a report shows: Epstein profiles, level and rung distributions,
the ladder mismatch, transition tables and tests of ordinal change, and the praatplaat themes.

Ordinal change
--------------
A level or rung is an ordered category, so change from the first to the last wave is described
by the shares who moved up, stayed and moved down (:func:`ordinal_change`) and the full
transition table (:func:`transition_table`), and tested with the sign test and the
Stuart-Maxwell test. The statistics themselves, and why these two tests, are in
:mod:`partnerschap_eval.evaluation.ordinal`; this module counts the paired levels per group and
applies Contract 5.

Privacy (Contract 5): every count below ``min_cell`` is suppressed (``NaN`` with a reason);
cells that would let a suppressed count be recovered from a published total are suppressed too
(complementary suppression); statistics of groups smaller than ``min_cell`` are suppressed; and
professionals are never reported per school.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._display import Display
from .._validate import check_ci_level
from ..errors import InputError, Msg
from ..evaluation.ordinal import transition_change_frame
from ..instruments import Classification, Instrument, load_instrument, pick_text
from ..instruments import resolve as resolve_instrument
from ..privacy import DEFAULT_MIN_CELL, check_min_cell, suppressed_reason
from ..scoring import (
    KEY_COLUMNS,
    describe_classifications,
    score_and_classify,
    validate_responses,
    wave_order,
)

__all__ = [
    "paired_levels", "ordinal_change", "transition_table",
    "level_distribution", "epstein_profile", "profile_table", "epstein_change",
    "ladder_mismatch", "praatplaat_table", "FrameworkSummary", "summary", "PER_SCHOOL_ROLE",
]

#: The only role reported per school (Contract 5).
PER_SCHOOL_ROLE = "parent"


# ---------------------------------------------------------------------------------------------
# pairs, transitions and ordinal change
# ---------------------------------------------------------------------------------------------
def _waves(data: pd.DataFrame, first: str | None, last: str | None) -> tuple[str, str]:
    if first is not None and last is not None:  # given by the caller: nothing to order
        return first, last
    order = wave_order(data["wave"])
    if len(order) < 2 and (first is None or last is None):
        raise InputError(Msg("errors.frameworks.two_waves", waves=order))
    return (first if first is not None else order[0]), (last if last is not None else order[-1])


def paired_levels(classified: pd.DataFrame, classification: str, first: str, last: str,
                  by: Sequence[str] = ("role",)) -> pd.DataFrame:
    """Respondents with a determined level at both waves.

    Returns ``respondent_id, *by, pre, post`` (integer level codes; ``by`` taken from the first
    wave), sorted by respondent id.

    >>> c = pd.DataFrame({"respondent_id": ["a", "a", "b", "b", "c"],
    ...                   "wave": ["pre", "post"] * 2 + ["pre"], "role": "parent",
    ...                   "lvl": pd.array([0, 2, 1, None, 3], dtype="Int64")})
    >>> paired_levels(c, "lvl", "pre", "post").values.tolist()
    [['a', 'parent', 0, 2]]
    """
    by = list(by)
    keep = classified[["respondent_id", "wave", *by, classification]].dropna(subset=[classification])
    pre = keep[keep["wave"] == first].set_index("respondent_id")
    post = keep[keep["wave"] == last].set_index("respondent_id")
    both = pre[[*by, classification]].rename(columns={classification: "pre"}).join(
        post[[classification]].rename(columns={classification: "post"}), how="inner")
    both["pre"] = both["pre"].astype(np.int64)
    both["post"] = both["post"].astype(np.int64)
    return both.reset_index().sort_values("respondent_id", kind="stable").reset_index(drop=True)


def _level_codes(cl: Classification) -> np.ndarray:
    return np.array([lv.level for lv in cl.levels], dtype=np.int64)


def _counts(pairs: pd.DataFrame, cl: Classification, by: list[str]
            ) -> tuple[pd.DataFrame, np.ndarray]:
    """Groups (one row per combination of ``by``) and their (g, k, k) transition counts."""
    codes = _level_codes(cl)
    k = codes.size
    if by:
        gid = pairs.groupby(by, sort=True, observed=True, dropna=False).ngroup().to_numpy()
        groups = (pairs[by].assign(_g=gid).drop_duplicates("_g").sort_values("_g")
                  .drop(columns="_g").reset_index(drop=True))
    else:
        gid = np.zeros(len(pairs), dtype=np.int64)
        groups = pd.DataFrame(index=[0])
    g = len(groups)
    tables = np.zeros((g, k, k), dtype=np.int64)
    i = np.searchsorted(codes, pairs["pre"].to_numpy())
    j = np.searchsorted(codes, pairs["post"].to_numpy())
    np.add.at(tables, (gid, i, j), 1)
    return groups, tables



def _paired_tables(classified, classification, instrument, first, last, by):
    # ordinal_change and transition_table count the same first x last level tables per group.
    cl = resolve_instrument(instrument).classification(classification)
    first, last = _waves(classified, first, last)
    by = list(by)
    pairs = paired_levels(classified, classification, first, last, by)
    groups, tables = _counts(pairs, cl, by)
    return cl, by, pairs, groups, tables


def ordinal_change(classified: pd.DataFrame, classification: str,
                   instrument: Instrument | str, *, first: str | None = None,
                   last: str | None = None, by: Sequence[str] = ("role",),
                   ci_level: float = 0.95) -> pd.DataFrame:
    """Share up / same / down, net change and the two ordinal tests, per group (unsuppressed).

    Parameters
    ----------
    classified
        A :func:`~partnerschap_eval.scoring.classify` (or scores) table with the classification
        column, ``respondent_id``, ``wave`` and the ``by`` columns.
    classification
        The classification id (e.g. ``gerdes_level``).
    instrument
        The instrument that defines it.
    first, last
        Waves compared (default: the first and last of :func:`~partnerschap_eval.scoring.wave_order`).
    by
        Grouping columns (taken from the first wave); ``()`` for one group.
    ci_level
        Confidence level of the interval of ``net_up``.

    Returns
    -------
    DataFrame
        ``classification, *by, n, n_up, n_same, n_down, share_up, share_same, share_down,
        net_up, net_up_ci_low, net_up_ci_high, ci_level, sign_test_p, stuart_maxwell_chi2,
        stuart_maxwell_df, stuart_maxwell_p``. Counts are *not* suppressed here:
        :func:`summary` applies Contract 5.

    Notes
    -----
    ``n`` counts respondents with a determined level at both waves. Per group, the first x last
    wave table of levels goes to
    :func:`~partnerschap_eval.evaluation.ordinal.transition_change_frame` (the Wald interval of
    ``net_up``, the sign test and the Stuart-Maxwell test); the counts are returned as floats.

    Examples
    --------
    >>> c = pd.DataFrame({"respondent_id": list("aabbccdd"), "wave": ["pre", "post"] * 4,
    ...                   "role": "parent", "lvl": pd.array([0, 1, 1, 1, 1, 3, 2, 1], "Int64")})
    >>> from partnerschap_eval.instruments import load_instrument
    >>> gerdes = load_instrument("gerdes")
    >>> out = ordinal_change(c.rename(columns={"lvl": "gerdes_level"}), "gerdes_level", gerdes)
    >>> out[["n", "n_up", "n_same", "n_down", "net_up"]].values.tolist()
    [[4.0, 2.0, 1.0, 1.0, 0.25]]
    """
    ci_level = check_ci_level(ci_level)
    _, by, _, groups, tables = _paired_tables(
        classified, classification, instrument, first, last, by)
    change = transition_change_frame(tables, ci_level).astype(float)
    out = groups.copy() if by else pd.DataFrame(index=range(len(change)))
    out.insert(0, "classification", classification)
    out = pd.concat([out.reset_index(drop=True), change], axis=1)
    return out.reset_index(drop=True)


def _protect(counts: np.ndarray, min_cell: int, *, triangles: bool = False
             ) -> tuple[np.ndarray, np.ndarray]:
    """Primary and complementary suppression of a published count line or table.

    A count with 0 < n < ``min_cell`` is suppressed (primary). Totals are taken as published --
    the line of a 1-d table; the rows, columns and grand total of a 2-d table, and with
    ``triangles`` also the sums above and below the diagonal (moved up / down) -- so while the
    suppressed cells of such a line sum to 1..min_cell - 1 (recoverable as the total minus the
    shown cells), the smallest shown non-zero cell of that line is suppressed too
    (complementary). Zeros are shown. Returns the primary and the complementary mask.

    >>> [m.tolist() for m in _protect(np.array([3, 40, 57]), 10)]
    [[True, False, False], [False, True, False]]
    """
    c = np.asarray(counts, dtype=float)
    flat = c.ravel()
    primary = (flat > 0) & (flat < min_cell)
    mask = primary.copy()
    idx = np.arange(flat.size).reshape(c.shape)
    if c.ndim == 1:
        lines = [idx]
    else:
        lines = [*idx, *idx.T, idx.ravel()]
        if triangles:
            lines += [idx[np.triu_indices(c.shape[0], 1)], idx[np.tril_indices(c.shape[0], -1)]]
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = flat[line][mask[line]].sum()
            if 0 < hidden < min_cell:
                open_ = line[~mask[line] & (flat[line] > 0)]
                if open_.size:
                    mask[open_[np.argmin(flat[open_])]] = True
                    changed = True
    return primary.reshape(c.shape), (mask & ~primary).reshape(c.shape)


def _reasons(primary: np.ndarray, secondary: np.ndarray, min_cell: int) -> list[str | None]:
    comp = f"suppressed: complementary (protects a cell with n < {min_cell})"
    return [suppressed_reason(min_cell) if p else (comp if s else None)
            for p, s in zip(primary.ravel(), secondary.ravel(), strict=True)]


def _none_reasons(frame: pd.DataFrame) -> pd.DataFrame:
    """``reason`` holds None (not NaN) where nothing was suppressed."""
    if "reason" in frame.columns:
        frame["reason"] = frame["reason"].astype(object).where(frame["reason"].notna(), None)
    return frame


def _shown_levels(cl: Classification, used: set[int]) -> list:
    """Levels shown in tables: all, except optional ones nobody is in."""
    return [lv for lv in cl.levels if not lv.optional or lv.level in used]


def transition_table(classified: pd.DataFrame, classification: str,
                     instrument: Instrument | str, *, first: str | None = None,
                     last: str | None = None, by: Sequence[str] = ("role",),
                     min_cell: int = DEFAULT_MIN_CELL, lang: str = "nl") -> pd.DataFrame:
    """Transition counts from the first to the last wave, suppressed below ``min_cell``.

    Returns
    -------
    DataFrame
        ``classification, *by, from_level, from_label, to_level, to_label, n, reason``: every
        cell of the k x k table per group (zeros included), ``n`` NaN where suppressed with the
        ``reason``. Cells with 0 < n < ``min_cell`` are suppressed, and further cells so that no
        suppressed count follows from the row, column or table totals or from the numbers who
        moved up or down (published as shares by :func:`summary`). Optional levels (e.g.
        *zelfbeheer*) that nobody is in are left out.

    Examples
    --------
    >>> from partnerschap_eval.instruments import load_instrument
    >>> c = pd.DataFrame({"respondent_id": [f"r{i}" for i in range(30) for _ in (0, 1)],
    ...                   "wave": ["pre", "post"] * 30, "role": "parent",
    ...                   "gerdes_level": pd.array([1, 2] * 20 + [1, 1] * 10, "Int64")})
    >>> t = transition_table(c, "gerdes_level", load_instrument("gerdes"), lang="en")
    >>> shown = t[t["n"] > 0]
    >>> list(zip(shown["from_level"], shown["to_level"], shown["n"]))
    [(1, 1, 10.0), (1, 2, 20.0)]
    """
    min_cell = check_min_cell(min_cell)
    cl, by, pairs, groups, tables = _paired_tables(
        classified, classification, instrument, first, last, by)
    codes = _level_codes(cl)
    used = set(pairs["pre"]) | set(pairs["post"])
    shown = _shown_levels(cl, used)
    pos = [int(np.flatnonzero(codes == lv.level)[0]) for lv in shown]
    labels = [pick_text(lv.label, lang) for lv in shown]
    frames = []
    for gi in range(len(groups)):
        table = tables[gi][np.ix_(pos, pos)]
        primary, secondary = _protect(table, min_cell, triangles=True)
        n = np.where(primary | secondary, np.nan, table.astype(float))
        f = pd.DataFrame({
            "from_level": np.repeat([lv.level for lv in shown], len(shown)),
            "from_label": np.repeat(labels, len(shown)),
            "to_level": np.tile([lv.level for lv in shown], len(shown)),
            "to_label": np.tile(labels, len(shown)),
            "n": n.ravel(),
            "reason": _reasons(primary, secondary, min_cell),
        })
        for col in reversed(by):
            f.insert(0, col, groups.loc[gi, col])
        frames.append(f)
    cols = ["classification", *by, "from_level", "from_label", "to_level", "to_label", "n",
            "reason"]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "classification", classification)
    return _none_reasons(out[cols])


def level_distribution(classified: pd.DataFrame, classification: str,
                       instrument: Instrument | str, *, by: Sequence[str] = ("role", "wave"),
                       min_cell: int = DEFAULT_MIN_CELL, lang: str = "nl") -> pd.DataFrame:
    """How many respondents are at each level, per group, suppressed below ``min_cell``.

    Returns
    -------
    DataFrame
        ``classification, *by, level, label, n, share, n_total, reason``. ``n_total`` counts the
        group's respondents with a determined level (undetermined ones are left out) and
        ``share = n / n_total``. A group with ``n_total < min_cell`` is suppressed whole; within
        a group counts 0 < n < ``min_cell`` and the cells that would reveal them are suppressed
        (``n`` and ``share`` NaN, with the ``reason``).

    Examples
    --------
    >>> from partnerschap_eval.instruments import load_instrument
    >>> c = pd.DataFrame({"role": "parent", "wave": "pre",
    ...                   "gerdes_level": pd.array([0] * 12 + [1] * 30 + [2] * 3 + [None], "Int64")})
    >>> t = level_distribution(c, "gerdes_level", load_instrument("gerdes"))
    >>> t[["n", "share"]].round(3).values.tolist()   # 3 < 10; 12 would reveal it (45 - 30 - 0)
    [[nan, nan], [30.0, 0.667], [nan, nan], [0.0, 0.0]]
    >>> t["reason"].tolist()[:3]
    ['suppressed: complementary (protects a cell with n < 10)', None, 'suppressed: n < 10']
    """
    min_cell = check_min_cell(min_cell)
    inst = resolve_instrument(instrument)
    cl = inst.classification(classification)
    by = list(by)
    data = classified[[*by, classification]].dropna(subset=[classification])
    used = set(data[classification].astype(int))
    shown = _shown_levels(cl, used)
    codes = np.array([lv.level for lv in shown])
    labels = [pick_text(lv.label, lang) for lv in shown]
    grouped = data.groupby(by, sort=True, observed=True) if by else [((), data)]
    frames = []
    for key, part in grouped:
        key = key if isinstance(key, tuple) else (key,)
        counts = np.array([(part[classification] == c).sum() for c in codes], dtype=float)
        total = counts.sum()
        if total < min_cell:
            n = np.full(codes.size, np.nan)
            reasons = [suppressed_reason(min_cell)] * codes.size
            total_shown = np.nan
        else:
            primary, secondary = _protect(counts, min_cell)
            n = np.where(primary | secondary, np.nan, counts)
            reasons = _reasons(primary, secondary, min_cell)
            total_shown = total
        f = pd.DataFrame({"level": codes, "label": labels, "n": n, "share": n / total,
                          "n_total": total_shown, "reason": reasons})
        for col, value in zip(reversed(by), reversed(key), strict=True):
            f.insert(0, col, value)
        frames.append(f)
    cols = ["classification", *by, "level", "label", "n", "share", "n_total", "reason"]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "classification", classification)
    return _none_reasons(out[cols])


# ---------------------------------------------------------------------------------------------
# Epstein: a six-type profile
# ---------------------------------------------------------------------------------------------
def epstein_profile(responses: pd.DataFrame, instrument: Instrument | str = "epstein", *,
                    lang: str = "nl") -> pd.DataFrame:
    """Each respondent's involvement profile: one row per respondent, wave and type.

    Returns
    -------
    DataFrame
        The key columns, ``type`` (scale id), ``type_label``, ``type_order`` (1-6, the
        instrument's order) and ``score`` (the type's scale score: mean of the answered
        frequency items when at least ``min_items`` are answered, else NaN).

    Examples
    --------
    >>> row = {"respondent_id": "r", "wave": "pre", "role": "parent", "school_id": "s",
    ...        "ep_com_o1": 4, "ep_com_o2": 2, "ep_com_part": None}
    >>> p = epstein_profile(pd.DataFrame([row]), lang="en")
    >>> p.loc[p["type"] == "epstein_communicating", ["type_label", "score"]].values.tolist()
    [['Communicating', 3.0]]
    """
    inst = resolve_instrument(instrument)
    clean = validate_responses(responses, inst)
    scored = score_and_classify(clean, inst, lang=lang)
    keys = [c for c in KEY_COLUMNS if c in scored.columns]
    long = scored.melt(id_vars=keys, value_vars=inst.scale_ids, var_name="type",
                       value_name="score")
    order = {s: i + 1 for i, s in enumerate(inst.scale_ids)}
    long["type_label"] = long["type"].map({s.id: pick_text(s.name, lang) for s in inst.scales})
    long["type_order"] = long["type"].map(order)
    return long[[*keys, "type", "type_label", "type_order", "score"]]


def profile_table(profile: pd.DataFrame, *, by: Sequence[str] = ("role", "wave"),
                  min_cell: int = DEFAULT_MIN_CELL) -> pd.DataFrame:
    """Mean type score per group: ``*by, type, type_label, type_order, n, mean, sd, reason``.

    ``n`` counts the group's respondents with a score on that type; groups with
    ``n < min_cell`` are suppressed (``n``, ``mean``, ``sd`` NaN, with the reason).

    >>> p = pd.DataFrame({"role": "parent", "wave": "pre", "type": "t", "type_label": "T",
    ...                   "type_order": 1, "score": [1.0, 2.0, 3.0]})
    >>> profile_table(p, min_cell=3)[["n", "mean", "sd"]].values.tolist()
    [[3.0, 2.0, 1.0]]
    """
    min_cell = check_min_cell(min_cell)
    by = list(by)
    g = profile.dropna(subset=["score"]).groupby([*by, "type_order", "type", "type_label"],
                                                   sort=True, observed=True)["score"]
    out = g.agg(n="count", mean="mean", sd="std").reset_index()
    out["n"] = out["n"].astype(float)
    small = out["n"] < min_cell
    out.loc[small, ["n", "mean", "sd"]] = np.nan
    out["reason"] = np.where(small, suppressed_reason(min_cell), None)
    return _none_reasons(out[[*by, "type", "type_label", "type_order", "n", "mean", "sd",
                              "reason"]])


def epstein_change(profile: pd.DataFrame, *, first: str | None = None, last: str | None = None,
                   by: Sequence[str] = ("role",), min_cell: int = DEFAULT_MIN_CELL,
                   ci_level: float = 0.95) -> pd.DataFrame:
    """Paired change of each type's frequency score (last minus first wave), per group.

    Returns ``*by, type, type_label, type_order, n, mean_pre, mean_post, mean_diff, ci_low,
    ci_high, ci_level, d_z, p, reason`` from the paired t test
    (:func:`partnerschap_eval.evaluation.paired_test`; ``p`` two-sided), suppressed when
    fewer than ``min_cell`` respondents have the type score at both waves.

    >>> p = pd.DataFrame({"respondent_id": list("aabbcc"), "wave": ["pre", "post"] * 3,
    ...                   "role": "parent", "type": "t", "type_label": "T", "type_order": 1,
    ...                   "score": [1.0, 2.0, 2.0, 2.5, 3.0, 4.5]})
    >>> epstein_change(p, min_cell=3)[["n", "mean_diff"]].values.tolist()
    [[3.0, 1.0]]
    """
    min_cell = check_min_cell(min_cell)
    check_ci_level(ci_level)
    from ..evaluation import paired_test  # scipy-heavy; only needed here

    first, last = _waves(profile, first, last)
    by = list(by)
    rows = []
    data = profile.dropna(subset=["score"])
    for key, part in data.groupby([*by, "type_order", "type", "type_label"], sort=True,
                                  observed=True):
        pre = part[part["wave"] == first].set_index("respondent_id")["score"]
        post = part[part["wave"] == last].set_index("respondent_id")["score"]
        both = pd.concat([pre.rename("pre"), post.rename("post")], axis=1, join="inner")
        rec = dict(zip([*by, "type_order", "type", "type_label"], key, strict=True))
        if len(both) < max(min_cell, 2):
            rec |= {"n": np.nan, "mean_pre": np.nan, "mean_post": np.nan, "mean_diff": np.nan,
                    "ci_low": np.nan, "ci_high": np.nan, "d_z": np.nan, "p": np.nan,
                    "reason": suppressed_reason(min_cell) if len(both) < min_cell
                    else "too few pairs"}
        else:
            r = paired_test(both["pre"].to_numpy(), both["post"].to_numpy(), ci_level=ci_level)
            rec |= {"n": float(r.n), "mean_pre": r.mean_pre, "mean_post": r.mean_post,
                    "mean_diff": r.mean_diff, "ci_low": r.ci_low, "ci_high": r.ci_high,
                    "d_z": r.d_z, "p": r.p, "reason": None}
        rec["ci_level"] = ci_level
        rows.append(rec)
    cols = [*by, "type", "type_label", "type_order", "n", "mean_pre", "mean_post", "mean_diff",
            "ci_low", "ci_high", "ci_level", "d_z", "p", "reason"]
    return _none_reasons(pd.DataFrame(rows, columns=cols))


# ---------------------------------------------------------------------------------------------
# participatieladder: expected versus experienced rung
# ---------------------------------------------------------------------------------------------
def ladder_mismatch(responses: pd.DataFrame, instrument: Instrument | str = "participatieladder",
                    *, by: Sequence[str] = ("role", "wave"),
                    min_cell: int = DEFAULT_MIN_CELL) -> pd.DataFrame:
    """Mismatch between the experienced and the expected rung, per group.

    The mismatch of a respondent is ``experienced - expected`` in rungs (negative: less say
    than expected). Respondents who answered both items count.

    Returns
    -------
    DataFrame
        ``*by, n, mean_expected, mean_experienced, mean_mismatch, sd_mismatch,
        mean_abs_mismatch, share_less, share_as_expected, share_more, reason``. The means of
        rung codes are descriptive (they treat rungs as equally spaced); the shares are the
        ordinal summary. Groups below ``min_cell`` are suppressed whole; a share whose count
        is below ``min_cell`` (or would reveal one) is suppressed.

    Examples
    --------
    >>> rows = pd.DataFrame({"role": "parent", "wave": "pre",
    ...                      "pl_expected": [4, 4, 3, 2], "pl_experienced": [2, 4, 3, 3]})
    >>> t = ladder_mismatch(rows, min_cell=1)
    >>> t[["n", "mean_mismatch", "share_less", "share_as_expected"]].values.tolist()
    [[4.0, -0.25, 0.25, 0.5]]
    """
    min_cell = check_min_cell(min_cell)
    inst = resolve_instrument(instrument)
    fw = inst.framework
    if fw is None or fw.name != "participatieladder":
        raise InputError(Msg("errors.frameworks.not_ladder", instrument=inst.id))
    by = list(by)
    exp = pd.to_numeric(responses[fw.expected], errors="coerce")
    got = pd.to_numeric(responses[fw.experienced], errors="coerce")
    data = responses[by].assign(expected=exp, experienced=got).dropna(
        subset=["expected", "experienced"])
    data["mismatch"] = data["experienced"] - data["expected"]
    rows = []
    grouped = data.groupby(by, sort=True, observed=True) if by else [((), data)]
    for key, part in grouped:
        key = key if isinstance(key, tuple) else (key,)
        rec = dict(zip(by, key, strict=True))
        n = len(part)
        counts = np.array([(part["mismatch"] < 0).sum(), (part["mismatch"] == 0).sum(),
                           (part["mismatch"] > 0).sum()], dtype=float)
        if n < min_cell:
            rec |= dict.fromkeys(["n", "mean_expected", "mean_experienced", "mean_mismatch",
                                  "sd_mismatch", "mean_abs_mismatch", "share_less",
                                  "share_as_expected", "share_more"], np.nan)
            rec["reason"] = suppressed_reason(min_cell)
        else:
            primary, secondary = _protect(counts, min_cell)
            shares = np.where(primary | secondary, np.nan, counts / n)
            rec |= {"n": float(n), "mean_expected": part["expected"].mean(),
                    "mean_experienced": part["experienced"].mean(),
                    "mean_mismatch": part["mismatch"].mean(),
                    "sd_mismatch": part["mismatch"].std(),
                    "mean_abs_mismatch": part["mismatch"].abs().mean(),
                    "share_less": shares[0], "share_as_expected": shares[1],
                    "share_more": shares[2],
                    "reason": (f"a share is suppressed: n < {min_cell}"
                               if (primary | secondary).any() else None)}
        rows.append(rec)
    cols = [*by, "n", "mean_expected", "mean_experienced", "mean_mismatch", "sd_mismatch",
            "mean_abs_mismatch", "share_less", "share_as_expected", "share_more", "reason"]
    return _none_reasons(pd.DataFrame(rows, columns=cols))


# ---------------------------------------------------------------------------------------------
# praatplaat: the themes as a reflection checklist
# ---------------------------------------------------------------------------------------------
def praatplaat_table(responses: pd.DataFrame, instrument: Instrument | str = "praatplaat", *,
                     by: Sequence[str] = ("role", "wave"), min_cell: int = DEFAULT_MIN_CELL,
                     lang: str = "nl") -> pd.DataFrame:
    """Answers per praatplaat theme, per group: a tidy long table for stacked bars.

    Returns
    -------
    DataFrame
        ``*by, theme, theme_label, theme_order, answer, answer_label, n, share, n_total, mean,
        reason``: one row per theme and answer option; ``n_total`` and ``mean`` (of the answer
        codes, 1 = needs work ... 3 = going well) refer to the theme. Suppressed as in
        :func:`level_distribution`. If the responses have a ``filled_in`` column (``apart`` /
        ``together``), pass it in ``by`` to split by it.

    Examples
    --------
    >>> rows = pd.DataFrame({"role": "parent", "wave": "pre", "pp_child": [3] * 8 + [2] * 4})
    >>> t = praatplaat_table(rows, min_cell=1, lang="en")
    >>> t.loc[t["theme"] == "pp_child", ["answer_label", "n", "mean"]].values.tolist()[1:]
    [['Partly in place', 4.0, 2.6666666666666665], ['Going well', 8.0, 2.6666666666666665]]
    """
    min_cell = check_min_cell(min_cell)
    inst = resolve_instrument(instrument)
    by = list(by)
    rs = inst.response_scale
    answers = list(range(rs.min, rs.max + 1))
    answer_labels = [pick_text(rs.labels[a], lang) if a in rs.labels else str(a) for a in answers]
    frames = []
    for order, item in enumerate(inst.items, start=1):
        if item.id not in responses.columns:
            continue
        values = pd.to_numeric(responses[item.id], errors="coerce")
        data = responses[by].assign(_v=values).dropna(subset=["_v"])
        grouped = data.groupby(by, sort=True, observed=True) if by else [((), data)]
        theme_label = pick_text(item.label, lang) if item.label else item.id
        for key, part in grouped:
            key = key if isinstance(key, tuple) else (key,)
            counts = np.array([(part["_v"] == a).sum() for a in answers], dtype=float)
            total = counts.sum()
            if total < min_cell:
                n = np.full(len(answers), np.nan)
                reasons = [suppressed_reason(min_cell)] * len(answers)
                total_shown = mean = np.nan
            else:
                primary, secondary = _protect(counts, min_cell)
                n = np.where(primary | secondary, np.nan, counts)
                reasons = _reasons(primary, secondary, min_cell)
                total_shown, mean = total, float(part["_v"].mean())
            f = pd.DataFrame({"theme": item.id, "theme_label": theme_label,
                              "theme_order": order, "answer": answers,
                              "answer_label": answer_labels, "n": n, "share": n / total,
                              "n_total": total_shown, "mean": mean, "reason": reasons})
            for col, value in zip(reversed(by), reversed(key), strict=True):
                f.insert(0, col, value)
            frames.append(f)
    cols = [*by, "theme", "theme_label", "theme_order", "answer", "answer_label", "n", "share",
            "n_total", "mean", "reason"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return _none_reasons(pd.concat(frames, ignore_index=True)[cols])


# ---------------------------------------------------------------------------------------------
# everything a report shows, in one call
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FrameworkSummary(Display):
    """Tidy tables placing the collaboration on the four frameworks (all suppressed already).

    Attributes
    ----------
    epstein_profile
        Mean type scores per role and wave (``profile_table`` columns).
    epstein_school_profile
        The same for parents per school (never professionals per school).
    epstein_change
        Paired change per role and type (``epstein_change`` columns).
    level_distribution
        Every classification (Gerdes level, expected / experienced rung, ladder agreement) per
        role and wave.
    ladder_mismatch
        Expected versus experienced rung per role and wave.
    transitions
        First-to-last-wave transition counts per classification and role.
    ordinal_tests
        Share up / same / down, net change with CI, sign test and Stuart-Maxwell test per
        classification and role (counts of movers are not shown; shares and tests are
        suppressed when fewer than ``min_cell`` respondents are paired).
    praatplaat
        Answers per theme, role and wave.
    rules
        The classification rules (the package's operationalisation) for the method section.
    notes
        Sentences a report must print (e.g. that the Gerdes level is an own operationalisation).
    """

    epstein_profile: pd.DataFrame
    epstein_school_profile: pd.DataFrame
    epstein_change: pd.DataFrame
    level_distribution: pd.DataFrame
    ladder_mismatch: pd.DataFrame
    transitions: pd.DataFrame
    ordinal_tests: pd.DataFrame
    praatplaat: pd.DataFrame
    rules: pd.DataFrame
    notes: tuple[str, ...]
    first: str
    last: str
    min_cell: int
    lang: str
    instruments: tuple[str, ...] = field(default=())

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name (for results files and notebooks)."""
        return {name: getattr(self, name) for name in (
            "epstein_profile", "epstein_school_profile", "epstein_change", "level_distribution",
            "ladder_mismatch", "transitions", "ordinal_tests", "praatplaat", "rules")}

    def to_frame(self) -> pd.DataFrame:
        """The ordinal tests (one row per classification and role), the headline table."""
        return self.ordinal_tests.copy()

    def summary(self) -> str:
        """A short text overview: one line per ordinal test."""
        lines = [f"Frameworks {', '.join(self.instruments)}: {self.first} -> {self.last}, "
                 f"min_cell = {self.min_cell}"]
        for r in self.ordinal_tests.itertuples():
            if pd.isna(r.n):
                lines.append(f"  {r.classification} [{r.role}]: {r.reason}")
                continue
            lines.append(f"  {r.classification} [{r.role}]: n = {r.n:.0f}, up {r.share_up:.0%}, "
                         f"down {r.share_down:.0%}, sign test p = {r.sign_test_p:.3g}, "
                         f"Stuart-Maxwell X2({r.stuart_maxwell_df:.0f}) = "
                         f"{r.stuart_maxwell_chi2:.2f}, p = {r.stuart_maxwell_p:.3g}")
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])


_TEST_COLS = ["n", "share_up", "share_same", "share_down", "net_up", "net_up_ci_low",
              "net_up_ci_high", "sign_test_p", "stuart_maxwell_chi2", "stuart_maxwell_df",
              "stuart_maxwell_p"]


def _suppress_tests(tests: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    out = tests.drop(columns=["n_up", "n_same", "n_down"])
    small = out["n"] < min_cell
    out.loc[small, _TEST_COLS] = np.nan
    out["reason"] = np.where(small, suppressed_reason(min_cell), None)
    return _none_reasons(out)


def _order(frame: pd.DataFrame, roles: Sequence[str], first: str, last: str) -> pd.DataFrame:
    """Sort by school, role (instrument order) and wave (first, last); otherwise keep order."""
    if frame.empty:
        return frame
    keys: dict[str, pd.Series] = {}
    if "classification" in frame.columns:
        seen = list(dict.fromkeys(frame["classification"]))
        keys["_c"] = frame["classification"].map({c: i for i, c in enumerate(seen)})
    if "school_id" in frame.columns:
        keys["_s"] = frame["school_id"].astype(str)
    if "role" in frame.columns:
        order = {r: i for i, r in enumerate(roles)}
        keys["_r"] = frame["role"].map(lambda r: order.get(r, len(order)))
    if "wave" in frame.columns:
        keys["_w"] = frame["wave"].map({first: 0, last: 1})
    if not keys:
        return frame.reset_index(drop=True)
    return (frame.assign(**keys).sort_values(list(keys), kind="stable")
            .drop(columns=list(keys)).reset_index(drop=True))


def summary(responses_by_instrument: Mapping[str, pd.DataFrame], *,
            min_cell: int = DEFAULT_MIN_CELL, lang: str = "nl", first: str | None = None,
            last: str | None = None, ci_level: float = 0.95) -> FrameworkSummary:
    """All framework tables for a report, computed once and suppressed (Contract 5).

    Parameters
    ----------
    responses_by_instrument
        Instrument id (or YAML path) -> Contract 2 responses holding that instrument's items.
        One wide table with the items of several instruments may be passed under each id.
        Instruments are recognised by their ``framework`` key; any classification of any
        instrument gets distributions, transitions and ordinal tests.
    min_cell
        Minimum cell size (default ``privacy.DEFAULT_MIN_CELL``).
    lang
        Language of labels (``nl`` or ``en``).
    first, last
        Waves compared (default: first and last wave in the data).
    ci_level
        Confidence level of intervals.

    Returns
    -------
    FrameworkSummary
        Tidy tables (see its attributes); tables of frameworks not given are empty.

    Examples
    --------
    >>> from partnerschap_eval.synth import simulate_frameworks
    >>> fw = simulate_frameworks(seed=3)
    >>> s = summary(fw.responses, lang="en")
    >>> sorted(s.ordinal_tests["classification"].unique())
    ['gerdes_level', 'ladder_agreement', 'ladder_expected', 'ladder_experienced']
    >>> set(s.epstein_school_profile["role"])       # professionals never per school
    {'parent'}
    """
    check_ci_level(ci_level)
    min_cell = check_min_cell(min_cell)
    if not responses_by_instrument:
        raise InputError(Msg("errors.frameworks.no_responses"))
    loaded = []
    for key, responses in responses_by_instrument.items():
        inst = load_instrument(key)
        loaded.append((inst, validate_responses(responses, inst)))
    if first is None or last is None:  # a report passes the project's first and last wave
        order = wave_order(pd.concat([r["wave"] for _, r in loaded], ignore_index=True))
        first = first if first is not None else order[0]
        last = last if last is not None else order[-1]

    tables: dict[str, list[pd.DataFrame]] = {k: [] for k in (
        "epstein_profile", "epstein_school_profile", "epstein_change", "level_distribution",
        "ladder_mismatch", "transitions", "ordinal_tests", "praatplaat", "rules")}
    notes: list[str] = []
    roles: list[str] = []
    for inst, responses in loaded:
        roles += [r for r in inst.roles if r not in roles]
        fw = inst.framework.name if inst.framework is not None else None
        scored = score_and_classify(responses, inst, lang=lang)
        waves = scored[scored["wave"].isin([first, last])]
        for cl in inst.classifications:
            tables["level_distribution"].append(level_distribution(
                waves, cl.id, inst, by=("role", "wave"), min_cell=min_cell, lang=lang))
            tables["transitions"].append(transition_table(
                scored, cl.id, inst, first=first, last=last, by=("role",), min_cell=min_cell,
                lang=lang))
            tables["ordinal_tests"].append(_suppress_tests(ordinal_change(
                scored, cl.id, inst, first=first, last=last, by=("role",),
                ci_level=ci_level), min_cell))
            if cl.notes:
                notes.append(pick_text(cl.notes, lang) if isinstance(cl.notes, dict)
                             else str(cl.notes))
        if inst.classifications:
            tables["rules"].append(describe_classifications(inst, lang=lang))
        if fw == "epstein":
            prof = epstein_profile(responses, inst, lang=lang)
            prof = prof[prof["wave"].isin([first, last])]
            tables["epstein_profile"].append(profile_table(prof, by=("role", "wave"),
                                                           min_cell=min_cell))
            parents = prof[prof["role"] == PER_SCHOOL_ROLE]
            tables["epstein_school_profile"].append(profile_table(
                parents, by=("school_id", "role", "wave"), min_cell=min_cell))
            tables["epstein_change"].append(epstein_change(
                prof, first=first, last=last, by=("role",), min_cell=min_cell,
                ci_level=ci_level))
        elif fw == "participatieladder":
            tables["ladder_mismatch"].append(ladder_mismatch(
                responses[responses["wave"].isin([first, last])], inst, by=("role", "wave"),
                min_cell=min_cell))
        elif fw == "praatplaat":
            by = ("role", "filled_in", "wave") if "filled_in" in responses.columns else (
                "role", "wave")
            tables["praatplaat"].append(praatplaat_table(
                responses[responses["wave"].isin([first, last])], inst, by=by,
                min_cell=min_cell, lang=lang))
    done = {}
    for name, frames in tables.items():
        frames = [f for f in frames if not f.empty]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        done[name] = _none_reasons(_order(frame, roles, first, last))
    return FrameworkSummary(**done, notes=tuple(dict.fromkeys(notes)), first=first, last=last,
                            min_cell=min_cell, lang=lang,
                            instruments=tuple(inst.id for inst, _ in loaded))
