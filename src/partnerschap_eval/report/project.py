"""Project configuration files for ``partnerschap-eval report --config PROJECT.yaml``.

Example::

    project: "WiSH 2025-2026"
    instrument: partnerschap          # id or path to a YAML file
    responses: data/processed/wish/responses.csv
    waves: [T0, T1, T2]               # the time order; needed unless the waves are pre/post
                                      # (or voormeting/nameting): waves are never sorted by name
    min_cell: 10                      # optional; Contract 5 minimum cell size
    language: nl                      # nl (default) or en
    out: reports/wish                 # output folder
    date: 2026-06-30                  # optional; the date printed on the report (default today)
    frameworks:                       # optional: framework instruments and their responses
      - {instrument: gerdes, responses: data/processed/wish/gerdes/responses.csv}
    conditions:                       # optional: school id -> intervention, control,
      S01: intervention               # comparison or waitlist (a difference-in-differences
      S02: control                    # section in the report)
    start_waves: {S01: pre, S02: post}  # optional: the wave each school started the intervention
    consecutive: true                 # optional (default false): with three or more waves, also
                                      # compare each wave with the one before it

Relative paths are relative to the config file.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .._safe_read import load_yaml
from ..errors import InputError, Joined, Msg, field_problems
from ..privacy import DEFAULT_MIN_CELL, check_min_cell
from .build import ReportSettings

__all__ = ["ProjectConfig", "load_project"]


class FrameworkInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    instrument: str
    responses: Path


class ProjectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    project: str
    instrument: str
    responses: Path
    out: Path
    waves: tuple[str, ...] | None = None
    min_cell: int = DEFAULT_MIN_CELL
    language: Literal["nl", "en"] = "nl"
    schools: tuple[str, ...] | None = None
    frameworks: tuple[FrameworkInput, ...] = ()
    date: datetime.date | None = None
    conditions: dict[str, Literal["intervention", "control", "comparison", "waitlist"]] | None = None
    start_waves: dict[str, str] | None = None
    consecutive: bool = False


def load_project(path: str | Path) -> ReportSettings:
    """Read and validate a project YAML file into report settings."""
    path = Path(path)
    data = load_yaml(path, Msg("errors.what.project_file"))
    try:
        cfg = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        problems = Joined([Joined([where, msg], ": ") if where else msg
                           for where, msg in field_problems(exc)])
        raise InputError(Msg("errors.project.invalid", path=path, problems=problems)) from None
    check_min_cell(cfg.min_cell, f"min_cell in the project file {path}")
    base = path.parent
    instrument = cfg.instrument
    if instrument.endswith((".yaml", ".yml")):
        instrument = str((base / instrument).resolve())
    return ReportSettings(project=cfg.project, instrument=instrument,
                          responses=(base / cfg.responses).resolve(), out_dir=base / cfg.out,
                          lang=cfg.language, min_cell=cfg.min_cell, waves=cfg.waves,
                          schools=cfg.schools,
                          report_date=cfg.date.isoformat() if cfg.date else None,
                          conditions=cfg.conditions or None,
                          start_waves=cfg.start_waves or None,
                          consecutive=cfg.consecutive,
                          frameworks=tuple((f.instrument, (base / f.responses).resolve())
                                           for f in cfg.frameworks))
