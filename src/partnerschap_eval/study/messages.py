"""The texts a submitter and a researcher read about a study, worded from the message catalogue.

:mod:`partnerschap_eval.study` gathers facts (:class:`~.feedback.SubmissionFeedback`, typed
errors); this module words them in Dutch (the default) or English through
:func:`partnerschap_eval.i18n.t` — keys ``study.*`` in ``locale/<lang>/LC_MESSAGES/study.po``,
the reasons of rejected rows and cleared answers ``ingest.reason.*`` (see
:mod:`partnerschap_eval.ingest.reasons`). Indentation is layout, so it lives here, not in the
catalogue.

Examples
--------
>>> st("proposal", "en", code=4)
' (meant: 4?)'
>>> reason_text("exact duplicate")
'precies dezelfde rij staat er al (dubbel ingevuld)'
"""

from __future__ import annotations

import json
from typing import Any

from .. import i18n
from ..errors import PartnerschapError
from ..ingest.reasons import reason_text
from .config import UnknownNameError
from .core import KeyMismatchError
from .feedback import SubmissionFeedback

__all__ = ["STATUS_COLUMNS", "reason_text", "render_error", "render_feedback", "role_label", "st",
           "status_rows"]


def st(key: str, lang: str = "nl", **params: Any) -> str:
    """The study text ``study.<key>`` in ``lang``, with ``params`` filled in."""
    return i18n.t(f"study.{key}", lang, **params)


#: The columns of ``status``'s table (Contract 6 keys; ``--json`` keeps them as they are).
STATUS_COLUMNS = ("school_id", "wave", "role", "submissions", "rows_in", "accepted", "rejected",
                  "cells_cleared", "last_submitted")


def role_label(role: str, lang: str = "nl") -> str:
    """A role's name for a person (``study.role.<id>``), or its id for a role the catalogue
    does not name (an instrument of one's own).

    >>> role_label("parent"), role_label("parent", "en"), role_label("mentor")
    ('Ouders', 'Parents', 'mentor')
    """
    try:
        return st(f"role.{role}", lang)
    except i18n.MissingMessageError:
        return str(role)


def status_rows(table: Any, cfg: Any, lang: str = "nl") -> tuple[list[str], list[list[str]]]:
    """The head and rows of ``status``'s table as a person reads it, in ``lang``.

    Column heads from the catalogue (``study.status.col.*``), waves by their label in
    ``study.yaml`` (``label: {nl: Voormeting}``; the id when it has none), roles by their name
    (:func:`role_label`), counts with the thousands separator of ``lang`` and ``–`` for a count
    that is unknown. ``table`` is :meth:`Study.status <partnerschap_eval.study.Study.status>`'s
    frame, ``cfg`` the study's :class:`~.config.StudyConfig`.
    """
    waves = {w.id: w.label.get(lang) or w.id for w in cfg.waves}
    head = [st(f"status.col.{c}", lang) for c in STATUS_COLUMNS]
    rows = []
    for rec in table[list(STATUS_COLUMNS)].astype(object).itertuples(index=False):
        row = []
        for col, value in zip(STATUS_COLUMNS, rec, strict=True):
            missing = value is None or value != value or str(value) == "<NA>"
            if missing:
                row.append("–")
            elif col == "wave":
                row.append(waves.get(value, str(value)))
            elif col == "role":
                row.append(role_label(value, lang))
            elif col in ("school_id", "last_submitted"):
                row.append(str(value))
            else:
                row.append(i18n.integer(int(value), lang))
        rows.append(row)
    return head, rows


def render_feedback(fb: SubmissionFeedback, lang: str = "nl") -> str:
    """The short summary of one submitted file for whoever submitted it (Dutch by default)."""
    if not fb.new:
        return st("unchanged", lang, file=fb.file, accepted=fb.accepted, rows_in=fb.rows_in)
    lines = [st("file_head", lang, file=fb.file, rows_in=fb.rows_in, accepted=fb.accepted,
                rejected=fb.rejected_total)]
    for c in fb.cells:
        if c.school_id and c.wave and c.role and c.accepted:
            lines.append("  " + st("cell_replaced" if c.earlier else "cell_new", lang,
                                   school=c.school_id, wave=c.wave, role=c.role,
                                   accepted=c.accepted, rejected=c.rejected))
    if fb.title_rows:
        lines.append("  " + st("title_rows", lang, n=fb.title_rows, line=fb.header_line))
    if fb.rejected:
        lines.append("  " + st("rejected_head", lang))
        lines += ["    " + st("count_line", lang, what=reason_text(r, lang), n=n)
                  for r, n in fb.rejected]
    if fb.unknown_labels:
        lines.append("  " + st("unknown_head", lang))
        for p in fb.unknown_labels:
            proposal = st("proposal", lang, code=p.code) if p.code is not None else ""
            lines.append("    " + st("unknown_line", lang, label=p.label, n=p.count,
                                     proposal=proposal))
        proposed = [p for p in fb.unknown_labels if p.code is not None]
        if proposed:
            lines.append("  " + st("values_head", lang))
            lines.append("      values:")
            lines += [f"        {json.dumps(p.label, ensure_ascii=False)}: {p.code}"
                      for p in proposed]
    if fb.cleared:
        lines.append("  " + st("cleared_head", lang))
        lines += ["    " + st("count_line", lang, what=reason_text(r, lang), n=n)
                  for r, n in fb.cleared]
    if fb.pii_columns:
        lines.append("  " + st("pii", lang, columns=", ".join(fb.pii_columns)))
    if fb.unmapped_columns:
        lines.append("  " + st("unmapped", lang, columns=", ".join(fb.unmapped_columns)))
    if fb.controls_removed:
        lines.append("  " + st("controls", lang, n=fb.controls_removed))
    if fb.skipped_sheets:
        lines.append("  " + st("sheet_skipped", lang, sheet=fb.sheet, skipped=", ".join(
            f"'{s}'" for s in fb.skipped_sheets)))
    elif fb.sheet:
        lines.append("  " + st("sheet", lang, sheet=fb.sheet))
    if fb.accepted == 0:
        lines.append("  " + st("none_accepted", lang))
    return "\n".join(lines)


def render_error(exc: PartnerschapError, lang: str = "nl") -> str:
    """A study error in ``lang``; other errors in ``lang`` when they carry a catalogue key."""
    if isinstance(exc, UnknownNameError):
        closest = st("closest", lang, names=", ".join(exc.closest)) if exc.closest else ""
        return st(f"unknown_{exc.kind}", lang, name=exc.name, closest=closest)
    if isinstance(exc, KeyMismatchError):
        return st("key_mismatch", lang)
    return exc.render(lang)
