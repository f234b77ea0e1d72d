"""The ingest pipeline: read -> map -> decode -> validate -> pseudonymise -> account -> write.

Policy (documented in the README):

* An answer that is not a code of the response scale, a label of it (either language), a missing
  code or a mapping-file value is *cleared* (the cell becomes missing) and logged with row, column,
  value and reason; the row itself is kept.
* A row without respondent id, wave, role or school is rejected with that reason, as is a row with
  a role the instrument does not know.
* Exact duplicate rows are kept once; each extra copy is rejected as ``exact duplicate``. Rows that
  share a respondent and wave but differ in their answers are all rejected as
  ``conflicting duplicate``: the package cannot know which one is right.
* ``pii`` columns (declared or detected) are never copied anywhere.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from .._io import sha256_file, write_csv, write_json
from ..errors import InputError
from ..instruments import Instrument, load_instrument, normalise_label
from ..privacy import pseudonymise
from .mapping import MappingFile, load_mapping, map_columns
from .readers import read_export

__all__ = ["ExportSpec", "IngestResult", "ingest_exports", "write_ingest_outputs",
           "ROLE_ALIASES", "WAVE_ALIASES"]

ROLE_ALIASES = {
    "parent": ["parent", "parents", "ouder", "ouders", "verzorger", "ouder/verzorger",
               "ouder of verzorger", "guardian", "mother", "father", "moeder", "vader"],
    "teacher": ["teacher", "leerkracht", "leraar", "lerares", "docent", "groepsleerkracht",
                "juf", "meester", "wish-trainer", "wish trainer"],
    "youthworker": ["youthworker", "youth worker", "youth-care worker", "youth care worker",
                    "jeugdhulpverlener", "jeugdhulp", "jeugdprofessional",
                    "weerbaarheidsspecialist", "resilience specialist"],
    "coordinator": ["coordinator", "coördinator", "zorgcoördinator", "zorgcoordinator",
                    "intern begeleider", "ib'er", "ib-er", "ib", "internal coordinator"],
    "pupil": ["pupil", "leerling", "kind", "child", "student"],
}
_ROLE_LOOKUP = {normalise_label(a): role for role, names in ROLE_ALIASES.items() for a in names}
WAVE_ALIASES = {"pre": ["pre", "voormeting", "voor", "baseline", "before", "t0"],
                "post": ["post", "nameting", "na", "after", "t1"]}
_WAVE_LOOKUP = {normalise_label(a): w for w, names in WAVE_ALIASES.items() for a in names}
OUTPUT_KEYS = ["respondent_id", "wave", "role", "school_id"]


@dataclass(frozen=True)
class ExportSpec:
    """One export file and the values its rows lack (``--wave``, ``--role``, ``--school``)."""

    path: Path
    wave: str | None = None
    role: str | None = None
    school: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class IngestResult:
    """Accepted responses (Contract 2), rejected rows with reasons, and the per-file log."""

    responses: pd.DataFrame
    rejected: pd.DataFrame
    log: dict = field(default_factory=dict)


def _decode_items(frame: pd.DataFrame, items: list[str], decode: dict[str, float],
                  lo: int, hi: int) -> tuple[pd.DataFrame, list[dict]]:
    """Decode answer text to codes column by column; return codes and the cleared cells."""
    codes = pd.DataFrame(index=frame.index)
    cleared: list[dict] = []
    for item in items:
        col = frame[item].astype("string").fillna("")
        uniques = pd.unique(col.to_numpy())
        lookup: dict[str, float] = {}
        reasons: dict[str, str] = {}
        for u in uniques:
            norm = normalise_label(u)
            if norm == "":
                lookup[u] = np.nan
            elif norm in decode:
                lookup[u] = decode[norm]
            else:
                num = _as_number(norm)
                if num is None:
                    lookup[u], reasons[u] = np.nan, "unknown answer"
                elif num_key(num) in decode:  # "4.0", "4,0", "99.0"
                    lookup[u] = decode[num_key(num)]
                elif float(num).is_integer() and lo <= num <= hi:
                    lookup[u] = float(num)
                else:
                    lookup[u], reasons[u] = np.nan, f"out of range {lo}..{hi}"
        codes[item] = col.map(lookup).astype(float)
        if reasons:
            bad = col.isin(list(reasons))
            for idx, value in col[bad].items():
                cleared.append({"row": idx, "column": item, "value": value, "reason": reasons[value]})
    return codes, cleared


def num_key(num: float) -> str:
    """Text form of a number as the decode map spells codes: ``4.0`` -> ``'4'``."""
    return str(int(num)) if float(num).is_integer() else str(num)


def _as_number(text: str) -> float | None:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def _normalise_role(value: str, roles: tuple[str, ...]) -> str | None:
    norm = normalise_label(value)
    if norm in roles:
        return norm
    role = _ROLE_LOOKUP.get(norm)
    return role if role in roles else None


def _normalise_wave(value: str) -> str:
    norm = normalise_label(value)
    return _WAVE_LOOKUP.get(norm, norm)


def ingest_exports(specs: list[ExportSpec], instrument: Instrument | str, key: bytes,
                   mapping: MappingFile | str | Path | None = None) -> IngestResult:
    """Ingest export files into one tidy responses table.

    Parameters
    ----------
    specs
        The files, each with the wave/role/school its rows lack.
    instrument
        Instrument id, path or object.
    key
        The project's pseudonymisation key (see :func:`partnerschap_eval.privacy.load_key`).
    mapping
        Optional mapping file (path or parsed).
    """
    inst = load_instrument(instrument)
    if not isinstance(mapping, MappingFile):
        mapping = load_mapping(mapping, inst)
    items = inst.item_ids
    decode = inst.response_scale.decode_map()
    decode.update(mapping.values)
    lo, hi = inst.response_scale.min, inst.response_scale.max

    accepted_parts: list[pd.DataFrame] = []
    rejected_parts: list[pd.DataFrame] = []
    file_logs: list[dict] = []
    for index, spec in enumerate(specs):
        raw = read_export(spec.path, spec.format)
        cmap = map_columns(raw.frame, inst, mapping)
        frame = raw.frame
        rows_in = len(frame)
        mapped_items = [h for h, t in cmap.targets.items() if t in items]
        if not mapped_items:
            raise InputError(
                f"{spec.path}: no column could be matched to an item of '{inst.id}' (headers: "
                f"{list(frame.columns)[:8]}...). Use the item ids or texts as headers, or give a "
                "mapping file (--mapping) that names the item of each column.")
        out = pd.DataFrame(index=frame.index)
        by_target = {t: h for h, t in cmap.targets.items()}
        if "respondent_id" not in by_target:
            raise InputError(
                f"{spec.path}: no respondent id column was found (looked for headers such as "
                "'respondent_id', 'respondent', 'deelnemernummer'). Without it answers cannot be "
                "linked across waves; name the column in a mapping file as respondent_id.")
        for key_col, flag in (("wave", spec.wave), ("role", spec.role), ("school_id", spec.school)):
            if key_col in by_target and flag is not None:
                raise InputError(
                    f"{spec.path}: the export has a {key_col} column ('{by_target[key_col]}'), so "
                    f"--{key_col.replace('_id', '')} must not be given for it.")
            if key_col in by_target:
                out[key_col] = frame[by_target[key_col]].astype(str).str.strip()
            else:
                out[key_col] = "" if flag is None else str(flag).strip()
        out["respondent_raw"] = (frame[by_target["respondent_id"]].astype(str).str.strip()
                                 if "respondent_id" in by_target else "")
        renamed = frame[mapped_items].rename(columns=cmap.targets)
        codes, cleared = _decode_items(renamed, [cmap.targets[h] for h in mapped_items], decode, lo, hi)
        for item in items:
            out[item] = codes[item] if item in codes else np.nan
        out["wave"] = out["wave"].map(lambda v: _normalise_wave(v) if v else "")
        role_text = out["role"]
        out["role"] = role_text.map(lambda v: (_normalise_role(v, inst.roles) or "?") if v else "")
        out["respondent_id"] = pseudonymise(out["respondent_raw"].where(out["respondent_raw"] != ""), key)
        out["source_file"] = spec.path.name
        out["_spec"] = index
        out["line"] = raw.lines if raw.lines else list(range(2, rows_in + 2))

        reason = pd.Series("", index=out.index, dtype=object)
        for col, label in (("respondent_raw", "missing respondent id"), ("wave", "missing wave"),
                           ("role", "missing role"), ("school_id", "missing school")):
            reason = reason.mask((reason == "") & (out[col] == ""), label)
        reason = reason.mask((reason == "") & (out["role"] == "?"), "unknown role")
        for c in cleared:
            c["line"] = int(out.at[c.pop("row"), "line"])
            c["source_file"] = spec.path.name
        file_logs.append({
            "path": str(spec.path), "file": spec.path.name, "sha256": sha256_file(spec.path),
            "format": raw.format, "details": raw.details, "rows_in": rows_in,
            "mapped_columns": {h: t for h, t in cmap.targets.items()},
            "pii_columns": [{"column": h, "reason": r} for h, r in cmap.pii.items()],
            "dropped_columns": cmap.dropped, "unmapped_columns": cmap.unmapped,
            "cleared": cleared,
        })
        out["reason"] = reason
        out["_raw_role"] = role_text
        accepted_parts.append(out[reason == ""])
        rejected_parts.append(out[reason != ""])

    accepted = pd.concat(accepted_parts, ignore_index=True) if accepted_parts else pd.DataFrame()
    rejected = pd.concat(rejected_parts, ignore_index=True) if rejected_parts else pd.DataFrame()

    # Duplicates across all files of this run: exact copies kept once, conflicts all rejected.
    compare = ["respondent_id", "wave", "role", "school_id", *items]
    exact_extra = accepted.duplicated(compare, keep="first")
    dup_rows = accepted[exact_extra].assign(reason="exact duplicate")
    accepted = accepted[~exact_extra]
    conflict = accepted.duplicated(["respondent_id", "wave"], keep=False)
    conflict_rows = accepted[conflict].assign(reason="conflicting duplicate")
    accepted = accepted[~conflict]
    rejected = pd.concat([rejected, dup_rows, conflict_rows], ignore_index=True)

    for index, log in enumerate(file_logs):
        name = log["file"]
        log["accepted"] = int((accepted["_spec"] == index).sum()) if len(accepted) else 0
        mine = rejected[rejected["_spec"] == index] if len(rejected) else rejected
        log["rejected"] = {k: int(v) for k, v in sorted(Counter(mine["reason"]).items())} if len(mine) else {}
        log["rejected_total"] = int(sum(log["rejected"].values()))
        log["cells_cleared"] = dict(sorted(Counter(c["reason"] for c in log["cleared"]).items()))
        if log["rows_in"] != log["accepted"] + log["rejected_total"]:  # a bug, never user error
            raise RuntimeError(f"ingest lost rows of {name}: {log}")
    responses = accepted[OUTPUT_KEYS + items].sort_values(["wave", "school_id", "respondent_id"],
                                                          kind="stable").reset_index(drop=True)
    rej_cols = ["source_file", "line", "reason", *OUTPUT_KEYS, *items]
    rejected_out = (rejected.reindex(columns=rej_cols) if len(rejected)
                    else pd.DataFrame(columns=rej_cols))
    log = {
        "schema": "partnerschap-eval/ingest-log/v1",
        "package_version": __version__,
        "instrument": {"id": inst.id, "version": inst.version},
        "mapping_file": os.path.basename(mapping.source) if mapping.source else None,
        "files": file_logs,
        "totals": {
            "rows_in": sum(f["rows_in"] for f in file_logs),
            "accepted": len(responses),
            "rejected": len(rejected_out),
        },
    }
    return IngestResult(responses=responses, rejected=rejected_out, log=log)


def write_ingest_outputs(result: IngestResult, out_dir: str | Path) -> dict[str, Path]:
    """Write responses.csv, rejected.csv and ingest_log.json atomically into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"responses": out / "responses.csv", "rejected": out / "rejected.csv",
             "log": out / "ingest_log.json"}
    write_csv(result.responses, paths["responses"])
    write_csv(result.rejected, paths["rejected"])
    write_json(result.log, paths["log"])
    return paths
