"""Stable codes for the reasons a row is rejected or an answer cleared.

The plain ingest writes its reasons in English (``rejected.csv``'s ``reason`` column, the keys of
the log's ``rejected`` and ``cells_cleared`` counts); those texts are an interface that scripts
match, so they stay as they are. Beside each text a row gets a **code** (``reason_code``) that
never changes with wording or language, and a study words the reason in its own language through
the message catalogue (``ingest.reason.<code>`` in ``ingest.po``).

Codes and texts (``{n}``, ``{range}``: filled in per file):

==========================  ===============================================================
code                        English text (plain ingest)
==========================  ===============================================================
row_fields                  row has more fields than the header
survey_status               survey preview, test or spam response
missing_id / _wave / ...    missing respondent id / wave / role / school
unknown_role                unknown role
id_too_long, ...            respondent id longer than {n} characters (school, wave)
wave_withheld               unknown wave (value withheld)
school_withheld             school withheld (not declared, or looks like personal data)
other_school                another school than the one submitting
exact_duplicate             exact duplicate
conflicting_duplicate       conflicting duplicate
unknown_answer              unknown answer                      (a cleared cell)
not_whole                   not a whole number                  (a cleared cell)
out_of_range                out of range {range}                (a cleared cell)
formula                     formula without a cached value      (a cleared cell)
==========================  ===============================================================

Examples
--------
>>> parse("respondent id longer than 200 characters")
('id_too_long', {'n': '200'})
>>> code_of("exact duplicate"), code_of("out of range 1..5")
('exact_duplicate', 'out_of_range')
>>> reason_text("out of range 1..5", "nl")
'buiten het bereik 1..5'
>>> reason_text("exact duplicate", "en")
'exact duplicate'
"""

from __future__ import annotations

import functools
import re

from .. import i18n

__all__ = ["ENGLISH", "code_of", "parse", "reason_text"]

#: Each code with its English text (a template when it has placeholders).
ENGLISH: dict[str, str] = {
    "row_fields": "row has more fields than the header",
    "survey_status": "survey preview, test or spam response",
    "missing_id": "missing respondent id",
    "missing_wave": "missing wave",
    "missing_role": "missing role",
    "missing_school": "missing school",
    "unknown_role": "unknown role",
    "id_too_long": "respondent id longer than {n} characters",
    "school_too_long": "school longer than {n} characters",
    "wave_too_long": "wave longer than {n} characters",
    "wave_withheld": "unknown wave (value withheld)",
    "school_withheld": "school withheld (not declared, or looks like personal data)",
    "other_school": "another school than the one submitting",
    "exact_duplicate": "exact duplicate",
    "conflicting_duplicate": "conflicting duplicate",
    "unknown_answer": "unknown answer",
    "not_whole": "not a whole number",
    "out_of_range": "out of range {range}",
    "formula": "formula without a cached value",
}


@functools.cache
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for code, text in ENGLISH.items():
        parts = re.split(r"{(\w+)}", text)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>\\S+)"
                        for i, p in enumerate(parts))
        out.append((code, re.compile(regex)))
    return out


def parse(text: str) -> tuple[str, dict[str, str]] | None:
    """The code of an English reason text and the values of its placeholders (``None``: not a
    known reason)."""
    for code, pattern in _patterns():
        m = pattern.fullmatch(text)
        if m:
            return code, m.groupdict()
    return None


def code_of(text: str) -> str:
    """The stable code of an English reason text; ``"other"`` when it is not a known reason."""
    found = parse(text)
    return found[0] if found else "other"


def reason_text(text: str, lang: str = "nl") -> str:
    """A reason (its English text) worded in ``lang`` from the message catalogue; a text that is
    not a known reason is returned as it is."""
    found = parse(text)
    if found is None:
        return text
    code, params = found
    return i18n.t(f"ingest.reason.{code}", lang, **params)
