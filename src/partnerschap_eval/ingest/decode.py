"""Answer decoding: from what an export says to a code of the response scale, once per value.

An answer is looked up, after normalisation (case, surrounding and repeated spaces, trailing
punctuation ignored), in this order:

1. the mapping file's ``values`` (extra labels or codes, or ``missing``);
2. the instrument's labels in every language and its missing values ("Weet ik niet", 99, ...);
3. for LimeSurvey exports, answer codes ``A1``, ``A2``, ... or ``AO01``, ... as 1, 2, ...;
4. a number — with a decimal point or a decimal comma (``4,0``) — that is a whole code within
   the scale.

Anything else — text nobody declared, a number outside the scale, ``3,5`` — is **cleared**: the
cell becomes missing and is logged with its line, column, value and reason; the row is kept.

Examples
--------
>>> from partnerschap_eval.instruments import load_instrument
>>> dec = AnswerDecoder(load_instrument("partnerschap"))
>>> [dec.decode(v) for v in (" helemaal MEE eens ", "4,0", "Weet ik niet", "7", "Soms", "")]
[(5.0, None), (4.0, None), (nan, None), (nan, 'out of range 1..5'), (nan, 'unknown answer'), (nan, None)]
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..instruments import Instrument, normalise_label
from .columns import Coded
from .mapping import MappingFile

__all__ = ["AnswerDecoder", "UNKNOWN", "NOT_WHOLE"]

UNKNOWN = "unknown answer"
NOT_WHOLE = "not a whole number"
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_LIME_CODE = re.compile(r"^ao?0*(\d{1,4})$")


class AnswerDecoder:
    """Decode answer texts of one instrument (plus a mapping file's extra values)."""

    def __init__(self, instrument: Instrument, mapping: MappingFile | None = None):
        self.table = instrument.response_scale.decode_map()
        self.extra = dict(mapping.values) if mapping else {}
        self.lo, self.hi = instrument.response_scale.min, instrument.response_scale.max
        self.out_of_range = f"out of range {self.lo}..{self.hi}"

    def _code(self, number: float) -> tuple[float, str | None]:
        if not number.is_integer():
            return math.nan, NOT_WHOLE
        key = str(int(number))
        if key in self.table:  # "99" and other missing codes, and every valid code
            return self.table[key], None
        if self.lo <= number <= self.hi:
            return float(number), None
        return math.nan, self.out_of_range

    def decode(self, text: str, answer_codes: str | None = None) -> tuple[float, str | None]:
        """The code of one answer and, when it is cleared, the reason."""
        norm = normalise_label(text)
        if norm == "":
            return math.nan, None
        if norm in self.extra:
            return self.extra[norm], None
        if norm in self.table:
            return self.table[norm], None
        if answer_codes == "limesurvey":
            m = _LIME_CODE.match(norm)
            if m:
                return self._code(float(m.group(1)))
        if _NUMBER.match(norm):
            return self._code(float(norm.replace(",", ".")))
        return math.nan, UNKNOWN

    def decode_column(self, column: Coded, answer_codes: str | None = None
                      ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Decode a column through its distinct values.

        Returns, per row, the answer as an offset on the scale (``code - min``; -1 = missing) and
        the index of the clearing reason (-1 = not cleared), and the reasons those indices name.
        """
        answers = np.full(column.n_values, -1, dtype=np.int16)
        why = np.full(column.n_values, -1, dtype=np.int16)
        reasons: list[str] = []
        for i, text in enumerate(column.values):
            code, reason = self.decode(text, answer_codes)
            if not math.isnan(code):
                answers[i] = int(code) - self.lo
            if reason is not None:
                if reason not in reasons:
                    reasons.append(reason)
                why[i] = reasons.index(reason)
        why_rows = column.per_row(why, -1) if reasons else np.full(len(column), -1, np.int16)
        return column.per_row(answers, -1), why_rows, reasons
