"""What a submitter needs to hear about one file, as facts and counts (no wording here).

The texts are rendered in one place, per language, by the message catalogue
(:mod:`partnerschap_eval.study.messages`); this module only gathers the facts: rows accepted and
rejected with the reasons counted, answer labels the instrument does not know with a proposed
``values:`` line for a mapping file, columns withheld as personal data, the sheet read.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import asdict, dataclass

from ..ingest.decode import UNKNOWN
from ..instruments import Instrument, normalise_label

__all__ = ["CellOutcome", "LabelProposal", "SubmissionFeedback", "feedback_from_log",
           "propose_code"]

#: Common Dutch (and English) wordings of a five-point agreement scale, as codes 1-5.
_AGREEMENT_5 = {
    1: ["helemaal oneens", "zeer oneens", "volledig oneens", "sterk oneens",
        "helemaal niet mee eens", "helemaal mee oneens", "totaal oneens", "strongly disagree"],
    2: ["oneens", "niet mee eens", "mee oneens", "enigszins oneens", "disagree"],
    3: ["neutraal", "niet eens, niet oneens", "niet eens niet oneens", "eens noch oneens",
        "noch eens noch oneens", "niet mee eens, niet mee oneens", "neutral",
        "neither agree nor disagree"],
    4: ["eens", "mee eens", "wel mee eens", "enigszins eens", "agree"],
    5: ["helemaal eens", "zeer eens", "volledig eens", "sterk eens", "helemaal mee eens",
        "zeer mee eens", "totaal eens", "strongly agree"],
}


def _candidates(inst: Instrument) -> dict[str, int]:
    scale = inst.response_scale
    out: dict[str, int] = {}
    if scale.max - scale.min == 4:
        for code, texts in _AGREEMENT_5.items():
            for text in texts:
                out.setdefault(text, scale.min + code - 1)
    for code, label in scale.labels.items():
        for text in label.values() if hasattr(label, "values") else [label]:
            norm = normalise_label(text)
            for variant in (norm, norm.replace("mee ", ""), norm.replace("helemaal", "zeer")):
                out[variant] = int(code)  # the instrument's own labels win
    return out


def propose_code(label: str, inst: Instrument) -> int | None:
    """The code an unknown answer label most likely means, or ``None`` when nothing is close.

    Uses the instrument's labels (with and without "mee") and the common Dutch five-point
    agreement wordings.

    >>> from partnerschap_eval.instruments import load_instrument
    >>> inst = load_instrument("partnerschap")
    >>> [propose_code(x, inst) for x in ["Eens", "Oneens", "Neutraal", "zeer eens", "Banaan"]]
    [4, 2, 3, 5, None]
    """
    candidates = _candidates(inst)
    norm = normalise_label(label)
    if norm in candidates:
        return candidates[norm]
    close = difflib.get_close_matches(norm, list(candidates), n=1, cutoff=0.85)
    return candidates[close[0]] if close else None


@dataclass(frozen=True)
class LabelProposal:
    """An answer label the instrument does not know: how often, and the code proposed."""

    label: str
    count: int
    code: int | None


@dataclass(frozen=True)
class CellOutcome:
    """One school x wave x role cell of a submission; ``earlier``: its earlier submissions."""

    school_id: str
    wave: str
    role: str
    rows_in: int
    accepted: int
    rejected: int
    earlier: int


@dataclass(frozen=True)
class SubmissionFeedback:
    """Facts about one submitted file (``new`` False: the same bytes were already submitted).

    ``rejected`` and ``cleared`` are ``(reason, count)`` pairs; ``rows_in == accepted +
    sum of rejected counts`` always holds.
    """

    file: str
    sha256: str
    new: bool
    rows_in: int
    accepted: int
    rejected: tuple[tuple[str, int], ...]
    cells: tuple[CellOutcome, ...]
    unknown_labels: tuple[LabelProposal, ...]
    cleared: tuple[tuple[str, int], ...]
    pii_columns: tuple[str, ...]
    unmapped_columns: tuple[str, ...]
    format: str
    sheet: str | None
    controls_removed: int = 0
    #: rows above the header skipped (a title or description), and the header's line or row
    title_rows: int = 0
    header_line: int | None = None
    #: sheets of a workbook skipped before the one read (instructions)
    skipped_sheets: tuple[str, ...] = ()

    @property
    def rejected_total(self) -> int:
        return sum(n for _, n in self.rejected)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["rejected"] = dict(self.rejected)
        out["cleared"] = dict(self.cleared)
        return out


def feedback_from_log(log: dict, inst: Instrument, *, file: str, new: bool,
                      cells: list[CellOutcome]) -> SubmissionFeedback:
    """Gather the facts of one file from its ingest log (``log["files"][0]``)."""
    details = log.get("details", {})
    unknown = Counter(c["value"] for c in log.get("cleared", []) if c["reason"] == UNKNOWN)
    listed = sum(unknown.values())
    total_unknown = log.get("cells_cleared", {}).get(UNKNOWN, 0)
    if total_unknown > listed:  # the log lists at most a thousand cleared cells
        unknown["…"] += total_unknown - listed
    labels = tuple(LabelProposal(v, n, None if v == "…" or v.startswith("<withheld")
                                 else propose_code(v, inst))
                   for v, n in sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0])))
    cleared = tuple((r, n) for r, n in sorted(log.get("cells_cleared", {}).items())
                    if r != UNKNOWN)
    return SubmissionFeedback(
        file=file, sha256=log["sha256"], new=new, rows_in=log["rows_in"],
        accepted=log["accepted"], rejected=tuple(sorted(log["rejected"].items())),
        cells=tuple(cells), unknown_labels=labels, cleared=cleared,
        pii_columns=tuple(c["column"] for c in log.get("pii_columns", [])),
        unmapped_columns=tuple(log.get("unmapped_columns", [])), format=log.get("format", ""),
        sheet=log.get("details", {}).get("sheet"),
        controls_removed=int(details.get("control_characters_removed", 0)),
        title_rows=int(details.get("title_rows", 0)), header_line=details.get("header_line"),
        skipped_sheets=tuple(details.get("skipped_sheets", ())))
