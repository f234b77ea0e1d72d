"""Column mapping: which export header becomes which item or key column.

A mapping file (Contract 3) wins; otherwise a header maps when it equals an item id, an item's
text in any role and language, or a known metadata name (ignoring case, surrounding spaces and
trailing punctuation). Whatever is left is checked for personal data; the rest is listed as
unmapped in the ingest log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from ..errors import InputError
from ..instruments import Instrument, normalise_label
from ..privacy import pii_reason

KEY_TARGETS = ("respondent_id", "school_id", "wave", "role")
SPECIAL_TARGETS = (*KEY_TARGETS, "drop", "pii")

#: Header names (normalised) that mean a key column, in Dutch and English.
METADATA_NAMES = {
    "respondent_id": ["respondent_id", "respondent", "respondent id", "respondentnummer",
                      "respondent nummer", "deelnemer", "deelnemernummer", "deelnemer id",
                      "participant", "participant id", "participant_id", "id", "code",
                      "externalreference", "external reference", "externe referentie"],
    "school_id": ["school_id", "school", "schoolnaam", "school naam", "school name", "brin",
                  "brin nummer", "brinnummer", "schoolcode", "school code", "locatie"],
    "wave": ["wave", "meting", "meetmoment", "golf", "wave name", "tijdstip", "moment"],
    "role": ["role", "rol", "functie", "respondent type", "respondenttype", "ik ben", "i am"],
}
_META_LOOKUP = {normalise_label(name): target for target, names in METADATA_NAMES.items()
                for name in names}


@dataclass(frozen=True)
class MappingFile:
    """A parsed mapping file: header -> target, extra value labels -> codes."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    source: str | None = None


def load_mapping(path: str | Path | None, instrument: Instrument) -> MappingFile:
    """Read and check a mapping YAML file (or return an empty mapping)."""
    if path is None:
        return MappingFile()
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: the mapping file cannot be read ({exc}).") from None
    if not isinstance(data, dict) or set(data) - {"columns", "values"}:
        raise InputError(f"{path}: a mapping file holds only the keys 'columns' and 'values'.")
    columns = {str(k): str(v) for k, v in (data.get("columns") or {}).items()}
    problems = [f"columns.{k}: '{v}' is neither an item id of '{instrument.id}' nor one of "
                f"{list(SPECIAL_TARGETS)}"
                for k, v in columns.items() if v not in SPECIAL_TARGETS and v not in instrument.item_ids]
    values: dict[str, float] = {}
    for k, v in (data.get("values") or {}).items():
        try:
            values[normalise_label(k)] = float(v)
        except (TypeError, ValueError):
            problems.append(f"values.{k}: '{v}' is not a number")
    if problems:
        raise InputError(f"{path}: " + "; ".join(problems) + ".")
    return MappingFile(columns=columns, values=values, source=str(path))


@dataclass(frozen=True)
class ColumnMap:
    """The outcome of mapping one export's headers."""

    targets: dict[str, str]  # header -> item id or key column
    pii: dict[str, str]  # header -> why it is treated as personal data
    dropped: list[str]
    unmapped: list[str]


def map_columns(frame: pd.DataFrame, instrument: Instrument, mapping: MappingFile) -> ColumnMap:
    """Decide the target of every header of ``frame``; raise when two headers claim one target."""
    texts = instrument.item_texts()
    item_ids = {normalise_label(i): i for i in instrument.item_ids}
    targets: dict[str, str] = {}
    pii: dict[str, str] = {}
    dropped: list[str] = []
    unmapped: list[str] = []
    for header in frame.columns:
        explicit = mapping.columns.get(header)
        if explicit == "pii":
            pii[header] = "declared pii in the mapping file"
            continue
        if explicit == "drop":
            dropped.append(header)
            continue
        key = normalise_label(header)
        target = explicit or item_ids.get(key) or texts.get(key) or _META_LOOKUP.get(key)
        if target is None:
            reason = pii_reason(header, frame[header])
            if reason:
                pii[header] = reason
            else:
                unmapped.append(header)
            continue
        targets[header] = target
    claimed: dict[str, list[str]] = {}
    for header, target in targets.items():
        claimed.setdefault(target, []).append(header)
    clashes = {t: hs for t, hs in claimed.items() if len(hs) > 1}
    if clashes:
        detail = "; ".join(f"{t} <- {hs}" for t, hs in clashes.items())
        raise InputError(f"Several columns map to the same target ({detail}). Say which one to "
                         "use in a mapping file (map the others to 'drop').")
    return ColumnMap(targets=targets, pii=pii, dropped=dropped, unmapped=unmapped)
