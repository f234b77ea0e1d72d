"""SPSS data files (``.sav`` and compressed ``.zsav``) through pyreadstat.

* **User-missing values** (SPSS "Missing Values", e.g. 99 or the range 97-99) become empty cells,
  as SPSS itself treats them; how many were cleared this way is logged (``user_missing``).
* **Value labels** are decoded: a cell whose value has a label is read as that label, so
  ``1 = "Helemaal mee oneens"`` decodes through the instrument's labels, a role variable coded
  ``1 = "leerkracht"`` gives the role, and a label such as "Weet ik niet" gives missing. Values
  without a label are read as their number.
* **Variable labels** (the question text) are matched against item texts like a header is.
* The "line" of a row is its case number (1 = the first case).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, Msg
from ..privacy import screen
from .columns import cell_text

__all__ = ["read_sav"]


def _is_user_missing(value: object, ranges: list[dict]) -> bool:
    for r in ranges:
        lo, hi = r.get("lo"), r.get("hi")
        try:
            if isinstance(value, str) or isinstance(lo, str):
                if str(value).strip() == str(lo).strip() or str(value).strip() == str(hi).strip():
                    return True
            elif lo <= float(value) <= hi:
                return True
        except (TypeError, ValueError):
            continue
    return False


def read_sav(raw: bytes, path: Path) -> tuple[list[str], dict[str, str], dict[str, list[str]], dict]:
    """Return column names, variable labels, text cells per column, and details."""
    import pyreadstat

    suffix = ".zsav" if raw[:4] == b"$FL3" else ".sav"
    # pyreadstat reads from a path; reading the very bytes that were hashed avoids any race
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        tmp.write(raw)
        tmp.flush()
        try:
            frame, meta = pyreadstat.read_sav(tmp.name, user_missing=True,
                                              apply_value_formats=False)
        except Exception as exc:  # pyreadstat raises plain ReadstatError/PyreadstatError
            raise InputError(
                Msg("errors.spss.unreadable", path=path, name=type(exc).__name__,
                    screen=screen(str(exc), 'text', max_chars=200).text)) from None
    labels = {c: str(t).strip() for c, t in (meta.column_names_to_labels or {}).items() if t}
    value_labels = meta.variable_value_labels or {}
    missing = meta.missing_ranges or {}
    cells: dict[str, list[str]] = {}
    user_missing = 0
    for col in frame.columns:
        series = frame[col]
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        texts: list[str] = []
        vlab = value_labels.get(col, {})
        for u in uniques:
            if _is_user_missing(u, missing.get(col, [])):
                texts.append("")
                continue
            label = _label_for(u, vlab)
            texts.append(label if label is not None else cell_text(_plain(u)))
        lut = np.array([*texts, ""], dtype=object)
        values = lut[np.asarray(codes)]  # code -1 (system missing) takes the last slot: ""
        if col in missing:
            blank_uniques = [i for i, u in enumerate(uniques) if _is_user_missing(u, missing[col])]
            if blank_uniques:
                user_missing += int(np.isin(codes, blank_uniques).sum())
        cells[str(col)] = list(values)
    details = {"cases": int(len(frame)), "user_missing": user_missing,
               "value_labels": len(value_labels),
               # written by whatever made the file: through the firewall like any cell
               "file_encoding": screen(meta.file_encoding, "text").text
               if meta.file_encoding is not None else None}
    return [str(c) for c in frame.columns], labels, cells, details


def _plain(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _label_for(value: object, vlab: dict) -> str | None:
    if not vlab:
        return None
    if value in vlab:
        return str(vlab[value])
    if isinstance(value, float) and not math.isnan(value):
        for key, label in vlab.items():
            if isinstance(key, int | float) and float(key) == value:
                return str(label)
    return None
