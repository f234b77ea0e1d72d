"""The texts a submitter and a researcher read about a study, in Dutch (default) and English.

One message catalogue for the study commands: :mod:`partnerschap_eval.study` returns facts
(:class:`~partnerschap_eval.study.SubmissionFeedback`, typed errors); this module words them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import PartnerschapError
from .study import KeyMismatchError, SubmissionFeedback, UnknownNameError

__all__ = ["LANGS", "reason_text", "render_error", "render_feedback", "st"]

LANGS = ("nl", "en")

_TEXT: dict[str, dict[str, str]] = {
    "file_head": {"nl": "{file}: {rows_in} rijen gelezen: {accepted} opgenomen, {rejected} "
                        "afgewezen.",
                  "en": "{file}: {rows_in} rows read: {accepted} accepted, {rejected} rejected."},
    "unchanged": {"nl": "{file}: dit bestand is al eerder ingediend (dezelfde inhoud); er is niets "
                        "veranderd ({accepted} van {rows_in} rijen opgenomen).",
                  "en": "{file}: this file was submitted before (same content); nothing changed "
                        "({accepted} of {rows_in} rows accepted)."},
    "rejected_head": {"nl": "  Afgewezen rijen, per reden:", "en": "  Rejected rows, by reason:"},
    "count_line": {"nl": "    - {what}: {n}", "en": "    - {what}: {n}"},
    "cell_new": {"nl": "  {school} · {wave} · {role}: {accepted} opgenomen, {rejected} afgewezen "
                       "(eerste inzending).",
                 "en": "  {school} · {wave} · {role}: {accepted} accepted, {rejected} rejected "
                       "(first submission)."},
    "cell_replaced": {"nl": "  {school} · {wave} · {role}: {accepted} opgenomen, {rejected} "
                            "afgewezen; vervangt de vorige inzending (die blijft bewaard in de "
                            "geschiedenis).",
                      "en": "  {school} · {wave} · {role}: {accepted} accepted, {rejected} "
                            "rejected; replaces the previous submission (kept in the history)."},
    "unknown_head": {"nl": "  Antwoorden die het instrument niet kent (leeg gelaten, de rij is "
                           "wel opgenomen):",
                     "en": "  Answers the instrument does not know (left empty, the row is "
                           "kept):"},
    "unknown_line": {"nl": "    - \"{label}\": {n} keer{proposal}",
                     "en": "    - \"{label}\": {n} times{proposal}"},
    "proposal": {"nl": " (bedoeld: {code}?)", "en": " (meant: {code}?)"},
    "values_head": {"nl": "  Voorstel voor een mappingbestand (--mapping), controleer de codes:",
                    "en": "  Proposal for a mapping file (--mapping); check the codes:"},
    "cleared_head": {"nl": "  Andere antwoorden leeg gelaten:", "en": "  Other answers left "
                                                                       "empty:"},
    "pii": {"nl": "  Kolommen met persoonsgegevens, niet bewaard: {columns}.",
            "en": "  Columns with personal data, not stored: {columns}."},
    "unmapped": {"nl": "  Kolommen genegeerd (niet herkend): {columns}.",
                 "en": "  Columns ignored (not recognised): {columns}."},
    "controls": {"nl": "  {n} onzichtbare stuurtekens (zoals BEL of ESC) verwijderd uit cellen.",
                 "en": "  {n} invisible control characters (such as BEL or ESC) removed from "
                       "cells."},
    "sheet": {"nl": "  Gelezen werkblad: '{sheet}'.", "en": "  Sheet read: '{sheet}'."},
    "none_accepted": {"nl": "  Let op: uit dit bestand is geen enkele rij opgenomen.",
                      "en": "  Note: no row of this file was accepted."},
    "unknown_school": {
        "nl": "De school '{name}' staat niet in study.yaml.{closest} Verbeter de naam in het "
              "bestand (of bij --school), of voeg de school (of een alias) toe aan study.yaml.",
        "en": "The school '{name}' is not declared in study.yaml.{closest} Fix the name in the "
              "export (or --school), or add the school (or an alias) to study.yaml."},
    "unknown_wave": {
        "nl": "De meting '{name}' staat niet in study.yaml.{closest} Gebruik een van de "
              "metingen van het onderzoek (of voeg een alias toe aan study.yaml).",
        "en": "The wave '{name}' is not declared in study.yaml.{closest} Use one of the study's "
              "waves (or add an alias to study.yaml)."},
    "closest": {"nl": " Bedoelt u: {names}?", "en": " Did you mean: {names}?"},
    "key_mismatch": {
        "nl": "Dit is niet de sleutel van dit onderzoek: de vingerafdruk wijkt af van die bij het "
              "aanmaken, en met een andere sleutel kunnen antwoorden nooit aan elkaar gekoppeld "
              "worden. Er is niets veranderd. Gebruik het sleutelbestand van het onderzoek "
              "(--key-file) of zet PARTNERSCHAP_EVAL_KEY.",
        "en": "This is not the study's key: its fingerprint differs from the one recorded at "
              "creation, and answers pseudonymised with another key can never be linked. Nothing "
              "was changed. Use the study's key file (--key-file) or set PARTNERSCHAP_EVAL_KEY."},
    "error": {"nl": "fout", "en": "error"},
    "init_done": {"nl": "Onderzoek '{name}' aangemaakt in {dir}: instrument {instrument}, "
                        "metingen {waves}. Bewerk {dir}/study.yaml om scholen toe te voegen.",
                  "en": "Study '{name}' created in {dir}: instrument {instrument}, waves {waves}. "
                        "Edit {dir}/study.yaml to declare schools."},
    "responses_done": {"nl": "{n} rijen geschreven naar {out}.", "en": "{n} rows written to "
                                                                        "{out}."},
    "shared_ids": {"nl": "Let op: {n} deelnemer(s) staan bij dezelfde meting in meer dan één "
                         "school of rol (ids: study: hetzelfde nummer is dezelfde persoon). "
                         "Controleer de nummers, of zet ids: per_school in study.yaml.",
                   "en": "Note: {n} respondent(s) appear in more than one school or role at the "
                         "same wave (ids: study: the same number is the same person). Check the "
                         "numbers, or set ids: per_school in study.yaml."},
    "status_empty": {"nl": "Nog geen inzendingen.", "en": "No submissions yet."},
}

#: Ingest reasons (the English texts of the log and rejected.csv) in Dutch.
_REASONS_NL = {
    "row has more fields than the header": "rij heeft meer velden dan de kopregel",
    "survey preview, test or spam response": "voorbeeld-, test- of spamantwoord van het "
                                             "enquêteprogramma",
    "missing respondent id": "deelnemernummer ontbreekt",
    "missing wave": "meting ontbreekt",
    "missing role": "rol ontbreekt",
    "missing school": "school ontbreekt",
    "unknown role": "onbekende rol",
    "exact duplicate": "precies dezelfde rij staat er al (dubbel ingevuld)",
    "conflicting duplicate": "zelfde deelnemer en meting met verschillende antwoorden",
    "unknown answer": "onbekend antwoord",
    "not a whole number": "geen heel getal",
}


def st(key: str, lang: str = "nl", **fmt: Any) -> str:
    """A study text in ``lang`` (``nl`` or ``en``), formatted.

    >>> st("proposal", "en", code=4)
    ' (meant: 4?)'
    """
    entry = _TEXT[key]
    text = entry.get(lang) or entry["nl"]
    return text.format(**fmt) if fmt else text


def reason_text(reason: str, lang: str = "nl") -> str:
    """A rejection or clearing reason in ``lang``.

    >>> reason_text("exact duplicate"), reason_text("out of range 1..5")
    ('precies dezelfde rij staat er al (dubbel ingevuld)', 'buiten het bereik 1..5')
    """
    if lang == "en":
        return reason
    if reason in _REASONS_NL:
        return _REASONS_NL[reason]
    m = re.fullmatch(r"out of range (\S+)", reason)
    if m:
        return f"buiten het bereik {m.group(1)}"
    m = re.fullmatch(r"(respondent id|school|wave) longer than (\d+) characters", reason)
    if m:
        what = {"respondent id": "deelnemernummer", "school": "school", "wave": "meting"}
        return f"{what[m.group(1)]} langer dan {m.group(2)} tekens"
    return reason


def render_feedback(fb: SubmissionFeedback, lang: str = "nl") -> str:
    """The short summary of one submitted file for whoever submitted it."""
    if not fb.new:
        return st("unchanged", lang, file=fb.file, accepted=fb.accepted, rows_in=fb.rows_in)
    lines = [st("file_head", lang, file=fb.file, rows_in=fb.rows_in, accepted=fb.accepted,
                rejected=fb.rejected_total)]
    for c in fb.cells:
        if c.school_id and c.wave and c.role and c.accepted:
            lines.append(st("cell_replaced" if c.earlier else "cell_new", lang,
                            school=c.school_id, wave=c.wave, role=c.role, accepted=c.accepted,
                            rejected=c.rejected))
    if fb.rejected:
        lines.append(st("rejected_head", lang))
        lines += [st("count_line", lang, what=reason_text(r, lang), n=n) for r, n in fb.rejected]
    if fb.unknown_labels:
        lines.append(st("unknown_head", lang))
        for p in fb.unknown_labels:
            proposal = st("proposal", lang, code=p.code) if p.code is not None else ""
            lines.append(st("unknown_line", lang, label=p.label, n=p.count, proposal=proposal))
        proposed = [p for p in fb.unknown_labels if p.code is not None]
        if proposed:
            lines.append(st("values_head", lang))
            lines.append("      values:")
            lines += [f"        {json.dumps(p.label, ensure_ascii=False)}: {p.code}"
                      for p in proposed]
    if fb.cleared:
        lines.append(st("cleared_head", lang))
        lines += [st("count_line", lang, what=reason_text(r, lang), n=n) for r, n in fb.cleared]
    if fb.pii_columns:
        lines.append(st("pii", lang, columns=", ".join(fb.pii_columns)))
    if fb.unmapped_columns:
        lines.append(st("unmapped", lang, columns=", ".join(fb.unmapped_columns)))
    if fb.controls_removed:
        lines.append(st("controls", lang, n=fb.controls_removed))
    if fb.sheet:
        lines.append(st("sheet", lang, sheet=fb.sheet))
    if fb.accepted == 0:
        lines.append(st("none_accepted", lang))
    return "\n".join(lines)


def render_error(exc: PartnerschapError, lang: str = "nl") -> str:
    """A study error in ``lang``; other errors keep their own (English) text."""
    if isinstance(exc, UnknownNameError):
        closest = st("closest", lang, names=", ".join(exc.closest)) if exc.closest else ""
        return st(f"unknown_{exc.kind}", lang, name=exc.name, closest=closest)
    if isinstance(exc, KeyMismatchError):
        return st("key_mismatch", lang)
    return str(exc)
