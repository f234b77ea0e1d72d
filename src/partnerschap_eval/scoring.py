"""Scale scores from tidy responses: reverse keys, the min-items rule, optional rescaling.

Scoring follows Contract 1 of ``DESIGN.md``: a reverse-keyed answer ``x`` scores
``min + max - x`` using the *declared* bounds of the response scale (never the observed ones);
a scale score is the mean of the answered items when at least ``min_items`` are answered and
missing otherwise. ``score: sum`` gives the prorated sum (mean x number of items) and ``rescale``
maps the scale's possible range linearly onto the given range.

Classifications (Gerdes level, ladder rung, ...) are ordered levels whose rules live in the
instrument file (Contract 1 ``classifications``); :func:`classify` applies them, with
undetermined levels (missing) when the scores a rule needs are missing, and
:func:`describe_classifications` lists them for a report's method section.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._contract import KEY_COLUMNS
from .errors import InputError, Joined, Msg
from .instruments import Classification, Instrument, Scale, pick_text

if TYPE_CHECKING:  # pandas is imported where a frame is made: `score` on a plain CSV never needs it
    import pandas as pd
    import pyarrow as pa


__all__ = ["KEY_COLUMNS", "KNOWN_WAVE_PAIRS", "validate_responses", "is_validated",
           "arrow_responses", "scale_scores", "reverse_key", "score_scales", "wave_order", "classify", "score_and_classify",
           "describe_classifications", "rule_text"]


def _quoted(name: str, limit: int = 24) -> str:
    """A wave name for a message: quoted, and cut when long."""
    return repr(name if len(name) <= limit else name[:limit - 1] + "…")


#: Wave names whose order is known without a declaration (Contract 2): first, then last.
KNOWN_WAVE_PAIRS = (("pre", "post"), ("voormeting", "nameting"))


def wave_order(waves: pd.Series | Sequence[str], declared: Sequence[str] | None = None
               ) -> list[str]:
    """The waves of the data in time order: as declared, or the known pair; never guessed.

    Every place that needs an order of waves (scoring, results, psychometrics, frameworks,
    reports) takes it from here (Contract 2 of ``DESIGN.md``).

    Parameters
    ----------
    waves
        The wave column (or the wave names) of the data.
    declared
        The declared order (``--waves``, the project file's ``waves:``), or None. Every wave of
        the data must be declared; declared waves the data lacks are left out. Names match
        ignoring case and surrounding spaces (the data's spelling is returned).

    Returns
    -------
    list of str
        The waves of the data, first to last.

    Raises
    ------
    InputError
        When a wave of the data is not declared; when two waves differ only in capitals or
        spaces (``pre`` beside ``Pre``); when the declaration names a wave twice; and without a
        declaration, when the waves are not one wave or the known pair ``pre``/``post`` (or
        ``voormeting``/``nameting``). The message lists the waves found and how to declare
        their order. Nothing is ever sorted alphabetically or "naturally".

    Examples
    --------
    >>> wave_order(["post", "pre", "post"])
    ['pre', 'post']
    >>> wave_order(["T2", "T0", "T1"], declared=["T0", "T1", "T2"])
    ['T0', 'T1', 'T2']
    >>> wave_order(["t10", "t2", "t1"])
    Traceback (most recent call last):
    ...
    partnerschap_eval.errors.InputError: The waves in the data ('t10', 't2', 't1') have no declared order...
    """
    found = list(dict.fromkeys(str(w) for w in (waves.dropna() if hasattr(waves, "dropna")
                                                  else waves)))
    # a wave cell may hold anything a person typed: messages quote at most a short fragment of
    # each, and at most a dozen of them
    listed = Joined([", ".join(_quoted(w) for w in found[:12]),
                     Msg("errors.scoring.more", n=len(found) - 12) if len(found) > 12 else ""], "")
    by_key: dict[str, str] = {}
    for w in found:
        key = " ".join(w.split()).casefold()
        if key in by_key:
            raise InputError(Msg("errors.scoring.waves_case", a=_quoted(by_key[key]),
                                 b=_quoted(w), listed=listed))
        by_key[key] = w
    if declared is not None:
        order_keys = [" ".join(str(d).split()).casefold() for d in declared]
        twice = sorted({d for d in order_keys if order_keys.count(d) > 1})
        if twice:
            raise InputError(Msg("errors.scoring.waves_twice", twice=", ".join(map(repr, twice)),
                                 declared=", ".join(map(str, declared))))
        undeclared = [w for k, w in by_key.items() if k not in order_keys]
        if undeclared:
            named = ", ".join(map(_quoted, undeclared[:12]))
            raise InputError(Msg("errors.scoring.waves_undeclared", named=named,
                                 declared=", ".join(map(str, declared)), listed=listed))
        return [by_key[k] for k in order_keys if k in by_key]
    if len(found) <= 1:
        return found
    for pair in KNOWN_WAVE_PAIRS:
        if set(by_key) == set(pair):
            return [by_key[k] for k in pair]
    raise InputError(Msg("errors.scoring.waves_no_order", listed=listed))


# Validated frames, by identity: id -> (weak reference, what they were validated against).
# Identity, not a flag in ``DataFrame.attrs``: pandas carries attrs over to every frame derived
# from a validated one (a column subset, a concatenation with unchecked rows), so a flag there
# would vouch for tables nobody checked. An entry leaves with its frame.
_VALIDATED: dict[int, tuple[weakref.ref, tuple]] = {}


def _contract(instrument: Instrument) -> tuple:
    """What a validation depends on: the items and the response scale's bounds."""
    return (instrument.item_ids, instrument.response_scale.min, instrument.response_scale.max)


def _item_buffers(frame: pd.DataFrame, instrument: Instrument) -> tuple:
    """Where each item column's floats live: a column replaced, or written to while its data
    is shared (copy-on-write then copies it), moves."""
    return tuple(frame[i].to_numpy().__array_interface__["data"][0]
                 for i in instrument.item_ids)


def _trust(frame: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    key = id(frame)

    def forget(ref: weakref.ref) -> None:
        if _VALIDATED.get(key, (None,))[0] is ref:
            del _VALIDATED[key]

    _VALIDATED[key] = (weakref.ref(frame, forget), _contract(instrument),
                       _item_buffers(frame, instrument))
    return frame


def is_validated(responses: pd.DataFrame, instrument: Instrument) -> bool:
    """Whether ``responses`` is a table :func:`validate_responses` returned for ``instrument``.

    Inside the package a validated table is trusted: it is not checked or copied again. A
    table derived from it (rows or columns selected, a copy) is a new object and is checked
    again, and so is the table itself once a key or item column is missing or an item column
    was replaced or is no longer floats; its cells are not looked at. Values written into a
    validated table's own columns may go unnoticed: change a copy, or validate again.

    >>> from partnerschap_eval.instruments import load_instrument
    >>> inst = load_instrument("partnerschap")
    >>> row = {"respondent_id": "r", "wave": "pre", "role": "parent", "school_id": "s", "rec1": 4}
    >>> import pandas as pd
    >>> raw = pd.DataFrame([row])
    >>> is_validated(raw, inst), is_validated(validate_responses(raw, inst), inst)
    (False, True)
    """
    entry = _VALIDATED.get(id(responses))
    if entry is None or entry[0]() is not responses or entry[1] != _contract(instrument):
        return False
    columns = set(responses.columns)
    return (columns.issuperset(KEY_COLUMNS) and columns.issuperset(instrument.item_ids)
            and all(responses[i].dtype == np.float64 for i in instrument.item_ids)
            and _item_buffers(responses, instrument) == entry[2])


def _text_key(values: pd.Series) -> pd.Series:
    """A key column as text (``astype(str)``); Arrow-backed text is kept as it is."""
    import pandas as pd

    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and dtype.na_value is np.nan:
        return values
    return values.astype(str)


def _numeric_item(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """An item column as floats, and where a cell holds text that is not a number."""
    import pandas as pd

    if values.dtype == np.float64:
        return values.to_numpy(), np.zeros(len(values), dtype=bool)
    if values.dtype.kind in "iu":
        return values.to_numpy(dtype=float), np.zeros(len(values), dtype=bool)
    numbers = pd.to_numeric(values, errors="coerce")
    bad_text = np.zeros(len(values), dtype=bool)
    candidates = (numbers.isna() & values.notna()).to_numpy(dtype=bool)
    if candidates.any():  # text only where a cell did not become a number (a few cells)
        texts = values[candidates].astype(str).str.strip()
        bad_text[candidates] = (texts != "").to_numpy(dtype=bool)
    return numbers.astype(float).to_numpy(), bad_text


def _id_words(ids: pd.Series | pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """Ids of one byte length (pseudonyms) as rows of 64-bit words, or None for other ids."""
    import pyarrow as pa

    if isinstance(ids, pa.Array | pa.ChunkedArray):
        arr = ids
    else:
        try:
            arr = pa.array(ids, from_pandas=True)
        except (pa.ArrowException, TypeError):
            return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    wide = pa.types.is_large_string(arr.type)  # pandas keeps its text as large strings
    if not n or arr.null_count or not (wide or pa.types.is_string(arr.type)) \
            or arr.buffers()[2] is None:
        return None
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64 if wide else np.int32)[
        arr.offset:arr.offset + n + 1]
    width = int(offsets[1] - offsets[0])
    if not width or np.any(np.diff(offsets) != width):
        return None
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    words = np.zeros((n, -(-width // 8) * 8), dtype=np.uint8)
    words[:, :width] = data.reshape(n, width)
    return words.view(np.uint64)


def _fold(words: Iterable[np.ndarray], wave_codes: np.ndarray) -> np.ndarray:
    """One 64-bit number per row from an id's words (one array of uint64 per word position)
    and its wave's code: equal pairs fold to equal numbers (different pairs rarely do)."""
    folded = wave_codes.astype(np.uint64)
    for word in words:  # multiply-xor folding; overflow wraps as intended
        folded *= np.uint64(0x9E3779B97F4A7C15)
        folded ^= word
    return folded


def _shared_pairs(ids: pd.Series, waves: pd.Series) -> np.ndarray:
    """Rows whose (respondent_id, wave) pair occurs more than once (``duplicated(keep=False)``).

    Hashing a million texts was most of the validation of a large table. Pseudonyms (ids of one
    length) are folded into one 64-bit number per row with the wave; equal numbers are only
    candidates, checked on their texts. Other ids are compared through integer codes.
    """
    import pandas as pd

    wave_codes, wave_names = pd.factorize(waves)
    words = _id_words(ids)
    if words is None:
        codes, names = pd.factorize(ids)
        pair = codes.astype(np.int64) * len(wave_names) + wave_codes
        return np.bincount(pair, minlength=len(names) * len(wave_names))[pair] > 1
    folded = _fold(words.T, wave_codes)
    candidates = np.array(pd.Series(folded).duplicated(keep=False), dtype=bool)
    if candidates.any():  # exact check on the few candidate rows
        rows = np.flatnonzero(candidates)
        pairs = pd.DataFrame({"id": ids.to_numpy()[rows], "wave": wave_codes[rows]})
        candidates[rows] = pairs.duplicated(keep=False).to_numpy()
    return candidates


def _bad_answers(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Answers (floats) outside ``lo..hi`` or not whole; missing answers (NaN) are fine."""
    # NaN fails every comparison: masked by isnan
    return ~((values >= lo) & (values <= hi) & (np.floor(values) == values)) & ~np.isnan(values)


def validate_responses(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Check a Contract 2 table at the boundary and return it with numeric item columns.

    The checks are vectorised (no Python per cell). The result is registered as validated
    (see :func:`is_validated`): passing it again returns it at once, so the functions that
    take responses (``evaluate``, ``scale_quality``, the framework tables, a report) check a
    table once, where it enters. ``responses`` itself is never changed.

    Raises :class:`~partnerschap_eval.errors.InputError` naming every problem: missing key
    columns, missing item columns, non-numeric answers or answers outside the response scale.
    """
    if is_validated(responses, instrument):  # checked where it entered: trusted, not copied
        return _trust(responses.copy(deep=False), instrument)
    problems: list[Msg] = []
    missing_keys = [c for c in KEY_COLUMNS if c not in responses.columns]
    if missing_keys:
        problems.append(Msg("errors.scoring.missing_keys", missing=missing_keys,
                            needed=KEY_COLUMNS))
    items = instrument.item_ids
    absent = [i for i in items if i not in responses.columns]
    if len(absent) == len(items):
        problems.append(Msg("errors.scoring.no_items", example=items[:3]))
    if problems:
        raise InputError(Msg("errors.scoring.cannot_score", problems=Joined(problems)))
    out = responses.copy(deep=False)  # copy-on-write: the caller's table never changes
    for col in KEY_COLUMNS:
        if out[col].isna().any():
            n = int(out[col].isna().sum())
            raise InputError(Msg("errors.scoring.key_missing", n=n, column=col))
        out[col] = _text_key(out[col])
    lo, hi = instrument.response_scale.min, instrument.response_scale.max
    for item in items:
        if item not in out.columns:
            out[item] = np.nan
            continue
        values, bad_text = _numeric_item(out[item])
        bad = bad_text | _bad_answers(values, lo, hi)
        if bad.any():
            rows = list(out.index[bad][:5])
            problems.append(Msg("errors.scoring.bad_values", item=item, n=int(bad.sum()),
                                low=lo, high=hi, rows=rows))
        if out[item].dtype != np.float64:
            out[item] = values
    if problems:
        raise InputError(Msg("errors.scoring.invalid", problems=Joined(problems)))
    dup = _shared_pairs(out["respondent_id"], out["wave"])
    if dup.any():
        raise InputError(Msg("errors.scoring.duplicates", n=int(dup.sum())))
    return _trust(out, instrument)


def reverse_key(responses: pd.DataFrame, instrument: Instrument,
                scale: str | None = None) -> pd.DataFrame:
    """Return a copy with reverse-keyed items recoded as ``min + max - x``.

    With ``scale``, the items are keyed as that scale scores them (its ``keys`` override the
    items' ``reverse``; Contract 1), otherwise by the items' ``reverse``.

    >>> from partnerschap_eval.instruments import load_instrument
    >>> inst = load_instrument("partnerschap")
    >>> import pandas as pd
    >>> reverse_key(pd.DataFrame({"rec5": [1.0, 4.0, None]}), inst)["rec5"].tolist()
    [5.0, 2.0, nan]
    """
    out = responses.copy(deep=False)  # copy-on-write: only the recoded columns are new
    total = instrument.response_scale.min + instrument.response_scale.max
    items = instrument.reverse_items if scale is None else instrument.scale_reverse_items(scale)
    for item in items:
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
    >>> import pandas as pd
    >>> score_scales(pd.DataFrame([row]), inst)["reciprocity"].round(4).tolist()
    [4.3333]
    """
    out = responses[[c for c in KEY_COLUMNS if c in responses.columns]]  # copy-on-write
    for scale in instrument.scales:
        block = responses.reindex(columns=list(scale.items)).to_numpy(dtype=float, copy=True)
        out[scale.id] = _score_block(block, scale, instrument)
    return out


def _score_block(block: np.ndarray, scale: Scale, instrument: Instrument) -> np.ndarray:
    """One scale's scores from its answers (rows x the scale's items, floats, NaN = missing;
    the block is changed in place): the one implementation of Contract 1's scoring, with
    :func:`_scores_from_sums`."""
    lo, hi = instrument.response_scale.min, instrument.response_scale.max
    reverse = set(instrument.scale_reverse_items(scale.id))
    # reverse keys as :func:`reverse_key`, on the scale's block only (not a copy of the table)
    for j, col in enumerate(scale.items):
        if col in reverse:
            block[:, j] = (lo + hi) - block[:, j]
    missing = np.isnan(block)
    answered = block.shape[1] - np.count_nonzero(missing, axis=1)
    block[missing] = 0.0  # the block is ours: np.nansum without its copy of the block
    return _scores_from_sums(np.sum(block, axis=1), answered, scale, instrument)


def _scores_from_sums(sums: np.ndarray, answered: np.ndarray, scale: Scale,
                      instrument: Instrument) -> np.ndarray:
    """Scores from the sum of the answered items (after reverse keying; whole numbers, so every
    order of summing gives the same float) and their number: the mean, missing below
    ``min_items``, then ``score: sum`` and ``rescale``. Both scoring paths end here, so they
    give the same floats, bit for bit."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / answered
    score = np.where(answered >= scale.required_items, mean, np.nan)
    k = len(scale.items)
    low, high = float(instrument.response_scale.min), float(instrument.response_scale.max)
    if scale.score == "sum":
        score, low, high = score * k, low * k, high * k
    if scale.rescale is not None:
        a, b = scale.rescale
        score = a + (score - low) * (b - a) / (high - low)
    return score


@dataclass(frozen=True)
class CodedScores:
    """One scale's scores as a code per row and the score of each code.

    A scale of ``k`` items answered on ``lo..hi`` has few possible scores: one per number of
    answered items and sum of their answers. Row ``i`` scores ``values[codes[i]]`` (NaN = no
    score); :meth:`to_numpy` gives the floats.
    """

    codes: np.ndarray  #: an integer per row (int16 for most scales), an index into ``values``
    values: np.ndarray  #: float64 per code

    def to_numpy(self) -> np.ndarray:
        """The score of every row (floats, NaN = missing)."""
        return self.values[self.codes]


#: Widest response scale (max - min) the coded answers hold: int8 codes, -1 = missing.
_CODED_SPAN = 120


def scale_scores(answers: Mapping[str, np.ndarray], n_rows: int,
                 instrument: Instrument) -> dict[str, CodedScores]:
    """Scale scores from coded answers, as :func:`arrow_responses` returns them.

    Parameters
    ----------
    answers
        Item id -> ``int8`` per row: the answer minus the response scale's minimum, ``-1`` for
        a missing answer. An item of the instrument that is absent counts as unanswered.
    n_rows
        The number of rows.
    instrument
        The instrument whose scales are scored.

    Returns
    -------
    dict of str to CodedScores
        Scale id -> scores, in the instrument's order; the same floats as
        :func:`score_scales` (both end in the same function).

    Notes
    -----
    As :func:`score_scales`: :math:`\\bar x = \\frac1m\\sum x_i` over the :math:`m` answered
    items after reverse keying, missing when :math:`m <` ``min_items`` (Contract 1). With
    answers :math:`v_i = x_i - \\text{min}` and :math:`w = k(\\text{max} - \\text{min}) + 1`,
    a row's code is :math:`m w + \\sum v_i`: a gather from a table per item and a sum of
    small integers, where the floats of :func:`score_scales` cost a block of ``k`` columns.

    Examples
    --------
    >>> from partnerschap_eval.instruments import load_instrument
    >>> inst = load_instrument("partnerschap")
    >>> answers = {"rec1": np.array([3], np.int8), "rec2": np.array([4], np.int8),
    ...            "rec5": np.array([1], np.int8)}
    >>> round(float(scale_scores(answers, 1, inst)["reciprocity"].to_numpy()[0]), 4)
    4.3333
    """
    lo, hi = instrument.response_scale.min, instrument.response_scale.max
    span = hi - lo
    scores = {}
    for scale in instrument.scales:
        width = len(scale.items) * span + 1
        size = (len(scale.items) + 1) * width
        kind = np.int16 if size <= np.iinfo(np.int16).max else np.int64
        codes = np.zeros(n_rows, dtype=kind)
        reverse = set(instrument.scale_reverse_items(scale.id))
        share = np.empty(n_rows, dtype=kind)
        for item in scale.items:
            if item not in answers:
                continue
            # an item's share of the code: w + its (reverse-keyed) answer, 0 when missing
            answer = answers[item]
            if item in reverse:
                np.subtract(span + width, answer, out=share, dtype=kind)
            else:
                np.add(answer, width, out=share, dtype=kind)
            share[answer < 0] = 0
            codes += share
        table = np.arange(size)
        answered = table // width
        sums = (table % width + answered * lo).astype(np.float64)
        scores[scale.id] = CodedScores(codes, _scores_from_sums(sums, answered, scale, instrument))
    return scores


def arrow_responses(table: pa.Table, instrument: Instrument
                    ) -> tuple[dict[str, pa.Array | pa.ChunkedArray], dict[str, np.ndarray]] | None:
    """A plain Contract 2 table read by Arrow, checked without pandas; None for anything else.

    The checks of :func:`validate_responses` for the common case of a file as ``ingest``
    writes it: every key column present as text without empty cells, every item column present
    as whole numbers (with or without empty cells) within the response scale, and no
    (``respondent_id``, ``wave``) pair twice. Anything else — a missing column, an empty key
    cell, a text or yes/no cell in an item column, an answer out of range, a repeated pair (or
    the rare pair of rows that only looks repeated), no rows, a response scale wider than 120
    — gives None: the caller then reads the file as a frame and :func:`validate_responses`
    gives the verdict and the error. The answers are checked by the same rule as there.

    Parameters
    ----------
    table
        The file as :func:`partnerschap_eval._io.read_table_csv` or
        :func:`partnerschap_eval._io.arrow_answers_csv` parses it (key columns as text, plain
        or dictionary-encoded; answers as whole numbers of any width or floats; pandas'
        missing-value markers as empty).
    instrument
        The instrument the answers belong to.

    Returns
    -------
    tuple or None
        ``(keys, answers)``: key column -> Arrow text column (``wave``, ``role`` and
        ``school_id`` as one dictionary array each: their distinct values in order of first
        appearance and a code per row); item id -> the answers of the items present as
        ``int8``, the answer minus the scale's minimum and -1 where missing (what
        :func:`scale_scores` takes); or None.

    Examples
    --------
    >>> import pyarrow.csv as pacsv, io
    >>> from partnerschap_eval.instruments import load_instrument
    >>> text = b"respondent_id,wave,role,school_id,rec1\\nr1,pre,parent,s,4\\nr1,post,parent,s,\\n"
    >>> read = lambda b: pacsv.read_csv(io.BytesIO(b), convert_options=pacsv.ConvertOptions(
    ...     column_types={k: "string" for k in KEY_COLUMNS}))
    >>> keys, answers = arrow_responses(read(text), load_instrument("partnerschap"))
    >>> answers["rec1"].tolist()
    [3, -1]
    >>> arrow_responses(read(text.replace(b",4", b",9")), load_instrument("partnerschap")) is None
    True
    """
    import pyarrow as pa

    from ._io import arrow_codes, arrow_ints

    names = set(table.column_names)
    n = table.num_rows
    items = [i for i in instrument.item_ids if i in names]
    lo, hi = instrument.response_scale.min, instrument.response_scale.max
    if not n or not items or not names.issuperset(KEY_COLUMNS) or hi - lo > _CODED_SPAN:
        return None
    keys = {}
    for k in KEY_COLUMNS:
        keys[k] = _arrow_key(table.column(k), encode=k != "respondent_id")
        if keys[k] is None:
            return None
    answers = {}
    for item in items:
        answers[item] = _coded_answers(table.column(item), lo, hi)
        if answers[item] is None:
            return None
    # every (id, wave) pair once, as _shared_pairs finds them: pseudonyms folded with the wave
    # into one number (distinct numbers are distinct pairs; numbers that only look repeated go
    # to validate_responses), other ids through their codes; sorted, a repeat sits beside its
    # twin (a sort of a million numbers took a thirtieth of a hash count of them)
    wave_codes = arrow_codes(keys["wave"].indices)
    pairs = _fold_chunks(keys["respondent_id"], wave_codes)
    if pairs is None:
        ids = keys["respondent_id"]
        ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
        pairs = arrow_ints(ids.dictionary_encode().indices) * len(keys["wave"].dictionary) \
            + wave_codes
    pairs.sort()
    if np.any(pairs[1:] == pairs[:-1]):
        return None
    return keys, answers


def _arrow_key(column: pa.ChunkedArray, *, encode: bool) -> pa.Array | pa.ChunkedArray | None:
    """A key column as text without empty cells (dictionary-encoded as one array when
    ``encode``), or None."""
    import pyarrow as pa

    if column.null_count:
        return None
    kind = column.type
    if pa.types.is_dictionary(kind):
        if not pa.types.is_string(kind.value_type):
            return None
        if not encode:
            return column.cast(pa.string())
        return column.unify_dictionaries().combine_chunks()  # first appearance, file order
    if not pa.types.is_string(kind):
        return None
    return column.combine_chunks().dictionary_encode() if encode else column


def _coded_answers(column: pa.ChunkedArray, lo: int, hi: int) -> np.ndarray | None:
    """An item column as ``int8``: the answer minus ``lo``, -1 where missing; None when a cell is
    not a whole number within ``lo..hi`` or the column is not numeric."""
    import pyarrow as pa

    from ._io import arrow_floats, arrow_valid

    out = np.empty(len(column), dtype=np.int8)
    kind = column.type
    if pa.types.is_integer(kind):  # whole numbers: _bad_answers is the range alone
        sign = "int" if pa.types.is_signed_integer(kind) else "uint"
        width, start = np.dtype(f"{sign}{kind.bit_width}"), 0
        # int8 answers on a scale within int8: the low byte of x - lo (computed in int8) is at
        # most hi - lo exactly when lo <= x <= hi (above hi it is x - lo itself; below lo it is
        # x - lo + 256 >= 128 - lo > hi - lo, as x >= -128 and hi <= 127): one subtraction
        # and one comparison check and code the answers; wider columns compare with lo and hi
        narrow = pa.types.is_int8(kind) and -128 <= lo <= hi <= 127
        for chunk in column.chunks:  # from Arrow's buffers, a chunk at a time: no copies
            m, off = len(chunk), chunk.offset
            if not m:
                continue
            values = np.frombuffer(chunk.buffers()[1], dtype=width)[off:off + m]
            part = out[start:start + m]
            if narrow:  # x - lo wraps in int8, but only an answer within lo..hi gives 0..span
                np.subtract(values, np.int8(lo), out=part)
                bad = part.view(np.uint8) > hi - lo
            else:
                bad = (values < lo) | (values > hi)
                np.subtract(values, np.int64(lo), out=part, casting="unsafe")
            if chunk.null_count:
                valid = arrow_valid(chunk)
                if np.any(bad & valid):
                    return None
                part[~valid] = -1
            elif bad.any():
                return None
            start += m
        return out
    if not pa.types.is_floating(kind):
        return None  # text, yes/no: validate_responses says which cells
    values = arrow_floats(column if pa.types.is_float64(kind) else column.cast(pa.float64()))
    if _bad_answers(values, lo, hi).any():
        return None
    with np.errstate(invalid="ignore"):  # NaN has no integer: those cells are set just below
        np.subtract(values, lo, out=out, casting="unsafe")
    out[np.isnan(values)] = -1
    return out


def _fits(value: int, dtype: np.dtype) -> bool:
    info = np.iinfo(dtype)
    return info.min <= value <= info.max


def _fold_chunks(ids: pa.ChunkedArray | pa.Array, wave_codes: np.ndarray) -> np.ndarray | None:
    """:func:`_fold` of ids of one byte length, chunk by chunk, or None for other ids.

    An id of ``w >= 8`` bytes is read in place as the 64-bit words at bytes ``0, 8, 16, ...``
    and the last one at ``w - 8`` (it may overlap the one before: every byte is in a word, so
    different ids still give different words), without :func:`_id_words`' padded copy.
    """
    import pyarrow as pa

    chunks = [c for c in (ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]) if len(c)]
    out = np.empty(len(wave_codes), dtype=np.uint64)
    start, width = 0, None
    for chunk in chunks:
        n, off = len(chunk), chunk.offset
        if chunk.null_count or not pa.types.is_string(chunk.type) or chunk.buffers()[2] is None:
            return None
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[off:off + n + 1]
        w = int(offsets[1] - offsets[0])
        if w != (width or w) or w < 8 or int(offsets[-1] - offsets[0]) != n * w \
                or np.any(np.diff(offsets) != w):
            return None
        width = w
        data = chunk.buffers()[2]
        words = (np.ndarray((n,), dtype="<u8", buffer=data, offset=int(offsets[0]) + at,
                            strides=(w,))  # unaligned reads of the rows' words, in place
                 for at in [*range(0, w - 7, 8), w - 8])
        out[start:start + n] = _fold(words, wave_codes[start:start + n])
        start += n
    return out if width is not None else None


# ---------------------------------------------------------------------------------------------
# classifications (Contract 1 `classifications`): ordered levels from rules kept as data
# ---------------------------------------------------------------------------------------------
_EPS = 1e-9  # inclusive thresholds are compared with this tolerance (means such as 10/3)


def _rule_names(rule: dict) -> list[tuple[str, str]]:
    """Every (kind, id) a rule refers to: kind is 'scale', 'item' or 'either'."""
    for key in ("all", "any"):
        if key in rule:
            return [ref for part in rule[key] for ref in _rule_names(part)]
    if "scale" in rule:
        return [("scale", rule["scale"])]
    if "item" in rule:
        return [("item", rule["item"])]
    return [("either", name) for name in rule["difference"]]


class _Values:
    """Column values a rule refers to: scale scores (given or computed) and raw item answers."""

    def __init__(self, data: pd.DataFrame, instrument: Instrument, needed: set[tuple[str, str]]):
        self.data = data
        self.instrument = instrument
        self.scales: dict[str, np.ndarray] = {}
        to_compute = []
        problems = []
        for kind, name in sorted(needed):
            is_scale = name in instrument.scale_ids
            if (kind == "scale" or (kind == "either" and is_scale)) and name not in data.columns:
                items = instrument.scale(name).items
                if not any(i in data.columns for i in items):
                    problems.append(Msg("errors.scoring.lacks_scale", name=name,
                                        items=list(items)))
                to_compute.append(name)
            elif (kind == "item" or (kind == "either" and not is_scale)) and name not in data.columns:
                problems.append(Msg("errors.scoring.lacks_item", name=name))
        if problems:
            raise InputError(Msg("errors.scoring.cannot_classify", problems=Joined(problems)))
        if to_compute:
            scores = score_scales(data, instrument)
            for name in to_compute:
                self.scales[name] = scores[name].to_numpy(dtype=float)

    def __call__(self, name: str) -> np.ndarray:
        import pandas as pd

        if name in self.scales:
            return self.scales[name]
        return pd.to_numeric(self.data[name], errors="coerce").to_numpy(dtype=float)


def _truth(rule: dict, values: _Values) -> np.ndarray:
    """Three-valued truth of ``rule`` per row: 1.0 true, 0.0 false, NaN undetermined."""
    if "all" in rule or "any" in rule:
        parts = np.vstack([_truth(p, values) for p in rule.get("all", rule.get("any"))])
        if "all" in rule:
            out = np.where(np.any(parts == 0, axis=0), 0.0,
                           np.where(np.any(np.isnan(parts), axis=0), np.nan, 1.0))
        else:
            out = np.where(np.any(parts == 1, axis=0), 1.0,
                           np.where(np.any(np.isnan(parts), axis=0), np.nan, 0.0))
        return out
    if "difference" in rule:
        a, b = rule["difference"]
        v = values(a) - values(b)
    else:
        v = values(rule.get("scale", rule.get("item")))
    ok = np.ones(v.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        if "min" in rule:
            ok &= v >= rule["min"] - _EPS
        if "max" in rule:
            ok &= v <= rule["max"] + _EPS
        if "equals" in rule:
            ok &= np.abs(v - rule["equals"]) <= _EPS
        if "in" in rule:
            ok &= np.any(np.abs(v[:, None] - np.asarray(rule["in"], float)[None, :]) <= _EPS, axis=1)
    return np.where(np.isnan(v), np.nan, ok.astype(float))


def _assign(classification: Classification, values: _Values, n: int) -> np.ndarray:
    """Level code per row (float, NaN = undetermined) following the rules' semantics."""
    levels = classification.levels
    out = np.full(n, np.nan)
    open_ = np.ones(n, dtype=bool)
    if classification.cumulative:
        for below, lv in zip(levels[:-1], levels[1:], strict=True):
            t = _truth(lv.rule, values)
            fails = open_ & (t == 0)
            out[fails] = below.level
            open_ &= t == 1  # undetermined rows close with NaN
        out[open_] = levels[-1].level
        return out
    for lv in levels:
        t = _truth(lv.rule, values)
        out[open_ & (t == 1)] = lv.level
        open_ &= t == 0  # holds -> assigned; undetermined -> closed as NaN
    return out


def classify(data: pd.DataFrame, instrument: Instrument, *, lang: str = "nl") -> pd.DataFrame:
    """Place every row on each of the instrument's classifications.

    Parameters
    ----------
    data
        Responses (Contract 2: key columns and item columns) or a scores table. A rule on a scale
        uses the table's column of that name when present (a scores table), otherwise the scale
        score computed from the items by :func:`score_scales` (min-items rule included). A rule
        on an item uses the raw answer code (not reverse-keyed).
    instrument
        The instrument whose ``classifications`` are applied.
    lang
        Language of the labels (``nl`` or ``en``; falls back to Dutch).

    Returns
    -------
    DataFrame
        The key columns present in ``data``, then per classification ``<id>`` (nullable integer
        level code; ``<NA>`` = undetermined) and ``<id>_label`` (ordered categorical of the
        level labels, categories in level order). Rows keep the order and index of ``data``.

    Notes
    -----
    The rules are data (see :class:`~partnerschap_eval.instruments.Classification`). With the
    three-valued truth :math:`r_k \\in \\{1, 0, \\text{?}\\}` of level *k*'s rule, a cumulative
    classification gives

    .. math:: L = \\max\\{k : r_1 = \\dots = r_k = 1\\}\\quad(0 \\text{ if } r_1 = 0),

    undetermined when the first non-true :math:`r_j` (j <= the top level) is '?'. So a
    respondent who meets level 2's rule but not level 1's stays at level 0, and a missing level-2
    score leaves a respondent who met level 1 undetermined (not 1), while one who failed level 1
    is at level 0 whatever the higher scores. A non-cumulative classification gives the first
    level whose rule is true, undetermined when an earlier rule is '?' or none holds.

    Thresholds are inclusive (``min: 3.5`` is met by 3.5), within a tolerance of 1e-9.

    References
    ----------
    Kleene, S. C. (1952). *Introduction to metamathematics* (three-valued logic, §64).
    North-Holland.

    Examples
    --------
    >>> from partnerschap_eval.instruments import load_instrument
    >>> inst = load_instrument("gerdes")
    >>> keys = {"respondent_id": "r", "wave": "pre", "role": "parent", "school_id": "s"}
    >>> answers = {**{f"gd_inf{i}": 4 for i in range(1, 5)},   # exchange 4.0: level 1 met
    ...            **{f"gd_dep{i}": 3 for i in range(1, 5)},   # deepening 3.0: level 2 fails
    ...            **{f"gd_int{i}": 5 for i in range(1, 5)}}   # intensive 5.0: no matter
    >>> import pandas as pd
    >>> out = classify(pd.DataFrame([keys | answers]), inst, lang="en")
    >>> int(out["gerdes_level"].iloc[0]), out["gerdes_level_label"].iloc[0]
    (1, 'Exchanging information')
    """
    import pandas as pd

    needed = {ref for cl in instrument.classifications for lv in cl.levels if lv.rule is not None
              for ref in _rule_names(lv.rule)}
    values = _Values(data, instrument, needed)
    out = data[[c for c in KEY_COLUMNS if c in data.columns]].copy()
    n = len(data)
    for cl in instrument.classifications:
        codes = _assign(cl, values, n)
        out[cl.id] = pd.array(np.where(np.isnan(codes), None, codes), dtype="Int64")
        labels = [pick_text(lv.label, lang) for lv in cl.levels]
        by_code = {lv.level: lab for lv, lab in zip(cl.levels, labels, strict=True)}
        out[f"{cl.id}_label"] = pd.Categorical(
            [by_code.get(int(c)) if not np.isnan(c) else None for c in codes],
            categories=labels, ordered=True)
    return out


def score_and_classify(responses: pd.DataFrame, instrument: Instrument, *,
                       lang: str = "nl") -> pd.DataFrame:
    """Scale scores and classifications in one table (DESIGN.md: the scores table).

    Key columns, one float column per scale, then the :func:`classify` columns.

    >>> from partnerschap_eval.instruments import load_instrument
    >>> row = {"respondent_id": "r", "wave": "pre", "role": "teacher", "school_id": "s",
    ...        "pl_expected": 4, "pl_experienced": 2}
    >>> import pandas as pd
    >>> out = score_and_classify(pd.DataFrame([row]), load_instrument("participatieladder"),
    ...                          lang="en")
    >>> out[["ladder_expected_label", "ladder_agreement_label"]].iloc[0].tolist()
    ['Co-producing', 'Less say than expected']
    """
    scores = score_scales(responses, instrument)
    classes = classify(scores.join(responses[[c for c in responses.columns
                                              if c not in scores.columns]]), instrument, lang=lang)
    return scores.join(classes.drop(columns=[c for c in KEY_COLUMNS if c in classes.columns]))


def _name_of(name: str, instrument: Instrument, lang: str) -> str:
    if name in instrument.scale_ids:
        return f"{pick_text(instrument.scale(name).name, lang)} ({name})"
    return name


def rule_text(rule: dict | None, instrument: Instrument, lang: str = "nl") -> str:
    """A readable form of a rule for legends and method sections.

    >>> from partnerschap_eval.instruments import load_instrument
    >>> inst = load_instrument("gerdes")
    >>> rule_text({"scale": "gerdes_exchange", "min": 3.5}, inst, "en")
    'Exchanging knowledge and information (gerdes_exchange) >= 3.5'
    """
    if rule is None:
        return {"nl": "basisniveau (als de regel van het volgende niveau niet geldt)",
                "en": "base level (when the next level's rule does not hold)"}.get(lang, "base")
    for key, word in (("all", {"nl": " en ", "en": " and "}), ("any", {"nl": " of ", "en": " or "})):
        if key in rule:
            joiner = word.get(lang, word["en"])
            return "(" + joiner.join(rule_text(p, instrument, lang) for p in rule[key]) + ")"
    if "difference" in rule:
        a, b = rule["difference"]
        subject = f"{_name_of(a, instrument, lang)} - {_name_of(b, instrument, lang)}"
    else:
        subject = _name_of(rule.get("scale", rule.get("item")), instrument, lang)
    parts = []
    if "min" in rule:
        parts.append(f"{subject} >= {rule['min']:g}")
    if "max" in rule:
        parts.append(f"{subject} <= {rule['max']:g}")
    if "equals" in rule:
        parts.append(f"{subject} = {rule['equals']:g}")
    if "in" in rule:
        parts.append(f"{subject} in {{{', '.join(f'{v:g}' for v in rule['in'])}}}")
    return {"nl": " en ", "en": " and "}.get(lang, " and ").join(parts)


def describe_classifications(instrument: Instrument, *, lang: str = "nl") -> pd.DataFrame:
    """The classification rules as a tidy table, for a report's method section.

    Columns ``instrument, classification, name, cumulative, level, label, rule, notes``; one row
    per level, in level order.

    >>> from partnerschap_eval.instruments import load_instrument
    >>> t = describe_classifications(load_instrument("gerdes"), lang="en")
    >>> t[["level", "label"]].values.tolist()[:2]
    [[0, 'Not yet exchanging information'], [1, 'Exchanging information']]
    """
    import pandas as pd

    rows = []
    for cl in instrument.classifications:
        notes = pick_text(cl.notes, lang) if isinstance(cl.notes, dict) else cl.notes
        for lv in cl.levels:
            rows.append((instrument.id, cl.id, pick_text(cl.name, lang) if cl.name else cl.id,
                         cl.cumulative, lv.level, pick_text(lv.label, lang),
                         rule_text(lv.rule, instrument, lang), notes))
    return pd.DataFrame(rows, columns=["instrument", "classification", "name", "cumulative",
                                       "level", "label", "rule", "notes"])
