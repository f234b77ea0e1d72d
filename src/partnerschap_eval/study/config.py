"""``study.yaml`` (Contract 6): the study's instrument, waves in time order, schools and ids.

The researcher may edit the file at any time; every command reads and validates it again, so an
edit is honoured (or refused with every problem listed) at once.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .._io import write_text
from ..errors import InputError, Joined, Msg, ParameterError, field_problems
from ..instruments import normalise_label
from ..privacy import safe_log_value

__all__ = ["KNOWN_WAVES", "School", "StudyConfig", "UnknownNameError", "Wave", "load_config",
           "name_key", "write_config"]

STUDY_FILE = "study.yaml"

#: Labels and aliases of the usual waves; ``study init --waves`` fills them in.
KNOWN_WAVES: dict[str, dict] = {
    "pre": {"label": {"nl": "Voormeting", "en": "Pre"},
            "aliases": ["voormeting", "voor", "T0", "baseline"]},
    "post": {"label": {"nl": "Nameting", "en": "Post"},
             "aliases": ["nameting", "na", "T1"]},
    "follow-up": {"label": {"nl": "Vervolgmeting", "en": "Follow-up"},
                  "aliases": ["vervolgmeting", "follow up", "followup", "T2"]},
}


def name_key(text: object) -> str:
    """The form in which names are compared: case, spaces and trailing punctuation ignored.

    >>> name_key("  De  Regenboog. ") == name_key("deregenboog")
    True
    """
    return re.sub(r"\s+", "", normalise_label(text))


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Wave(_Model):
    """One wave: its id (used in every output), labels per language and aliases."""

    id: str = Field(min_length=1)
    label: dict[str, str] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)

    def names(self) -> list[str]:
        return [self.id, *self.label.values(), *self.aliases]


class School(_Model):
    """One declared school: id, name, aliases and (optionally) its condition and the wave at
    which it started the intervention (``start_wave``; schools that start at different waves
    are a staggered start, which a report states as a limitation)."""

    id: str = Field(min_length=1)
    name: str | None = None
    aliases: list[str] = Field(default_factory=list)
    condition: str | None = None
    start_wave: str | None = None

    def names(self) -> list[str]:
        return [self.id, *([self.name] if self.name else []), *self.aliases]


class StudyConfig(_Model):
    """The validated content of ``study.yaml``.

    Examples
    --------
    >>> cfg = StudyConfig(study="WiSH", instrument="partnerschap", waves=[{"id": "pre"}])
    >>> cfg.ids, cfg.min_cell, cfg.wave_ids
    ('per_school', 10, ['pre'])
    """

    study: str = Field(min_length=1)
    instrument: str = Field(min_length=1)
    waves: list[Wave] = Field(min_length=1)
    roles: list[str] | None = None
    ids: Literal["per_school", "study"] = "per_school"
    schools: list[School] = Field(default_factory=list)
    min_cell: int = Field(10, ge=1)
    #: The language of the study's texts for submitters: feedback, and the reasons of rejected
    #: rows (:meth:`Study.rejected`); a command's ``--lang`` overrides it.
    lang: Literal["nl", "en"] = "nl"
    #: Optional: how file names say school, wave and role, e.g. ``"{school}_{role}_{wave}"``
    #: (``ouders_voormeting_De Linde.csv`` fits ``"{role}_{wave}_{school}"``); used for what
    #: neither an option nor a column gives.
    file_names: str | None = None

    @model_validator(mode="after")
    def _pattern_valid(self) -> StudyConfig:
        if self.file_names is not None:
            fields = re.findall(r"{(\w*)}", self.file_names)
            bad = [f for f in fields if f not in ("school", "wave", "role")]
            if bad or not fields or len(set(fields)) != len(fields):
                raise ParameterError(Msg("errors.study.file_names", fields=fields))
        return self

    def from_file_name(self, name: str) -> dict[str, str]:
        """School, wave and role as the file name says them (``file_names``), or ``{}``.

        >>> cfg = StudyConfig(study="s", instrument="partnerschap", waves=[{"id": "pre"}],
        ...                   file_names="{school}_{role}_{wave}")
        >>> cfg.from_file_name("De Linde_ouders_voormeting.xlsx")
        {'school': 'De Linde', 'role': 'ouders', 'wave': 'voormeting'}
        """
        if not self.file_names:
            return {}
        pattern = "".join(f"(?P<{part[1:-1]}>.+?)" if re.fullmatch(r"{\w+}", part)
                          else re.escape(part)
                          for part in re.split(r"({\w+})", self.file_names) if part)
        m = re.fullmatch(pattern, Path(name).stem, flags=re.IGNORECASE)
        return {k: v.strip() for k, v in m.groupdict().items()} if m else {}

    @model_validator(mode="after")
    def _names_unique(self) -> StudyConfig:
        for what, entries in (("waves", self.waves), ("schools", self.schools)):
            owner: dict[str, str] = {}
            for entry in entries:
                for name in entry.names():
                    key = name_key(name)
                    if owner.setdefault(key, entry.id) != entry.id:
                        raise ParameterError(Msg("errors.study.name_twice", what=what, name=name,
                                                 first=owner[key], second=entry.id))
            ids = [e.id for e in entries]
            if len(set(ids)) != len(ids):
                raise ParameterError(Msg("errors.study.ids_unique", what=what, ids=ids))
        return self

    @model_validator(mode="after")
    def _start_waves_declared(self) -> StudyConfig:
        ids = [w.id for w in self.waves]
        bad = [f"{s.id}: {s.start_wave}" for s in self.schools
               if s.start_wave is not None and s.start_wave not in ids]
        if bad:
            raise ParameterError(Msg("errors.study.start_wave", ids=ids, bad=bad))
        return self

    @property
    def wave_ids(self) -> list[str]:
        return [w.id for w in self.waves]

    def wave_resolver(self):
        return _Resolver("wave", {n: w.id for w in self.waves for n in w.names()},
                         {w.id: w.label.get("nl", w.id) for w in self.waves})

    def school_resolver(self):
        if not self.schools:
            return None
        return _Resolver("school", {n: s.id for s in self.schools for n in s.names()},
                         {s.id: s.name or s.id for s in self.schools})


class UnknownNameError(InputError):
    """A school or wave name that the study does not declare.

    ``kind`` is ``"school"`` or ``"wave"``, ``name`` the (privacy-safe) text as written and
    ``closest`` the nearest declared names, so a message can be worded in any language.
    """

    def __init__(self, kind: str, name: str, closest: list[str], declared: int):
        self.kind, self.name, self.closest = kind, name, list(closest)
        hint = (f" Closest declared: {', '.join(repr(c) for c in closest)}." if closest
                else f" The study declares {declared} {kind}(s).")
        super().__init__(
            f"The {kind} '{name}' is not declared in study.yaml.{hint} Fix the name in the "
            f"export (or the --{kind} option), or add it to the {kind}s (or their aliases) in "
            "study.yaml.")


class _Resolver:
    """A written name -> declared id (case and spaces ignored), or :class:`UnknownNameError`."""

    def __init__(self, kind: str, names: dict[str, str], display: dict[str, str]):
        self.kind = kind
        self.lookup = {name_key(n): i for n, i in names.items()}
        self.spelled = {name_key(n): n for n in names}
        self.display = display

    def __call__(self, text: str) -> str:
        if not text:
            return text
        found = self.lookup.get(name_key(text))
        if found is None:
            close = difflib.get_close_matches(name_key(text), list(self.lookup), n=3, cutoff=0.5)
            ids = list(dict.fromkeys(self.lookup[c] for c in close))
            closest = [f"{self.display[i]} ({i})" if self.display[i] != i else i for i in ids]
            raise UnknownNameError(self.kind, safe_log_value(text), closest, len(self.display))
        return found


def _problems(exc: ValidationError) -> Joined:
    """Every problem pydantic found, joined, each worded from the catalogue with its field."""
    return Joined([Joined([where, msg], ": ") if where else msg
                   for where, msg in field_problems(exc)])


def load_config(study_dir: str | os.PathLike[str]) -> StudyConfig:
    """Read and validate ``DIR/study.yaml``; every problem is listed in one :class:`InputError`."""
    path = Path(study_dir) / STUDY_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(Msg("errors.study.not_a_study", folder=study_dir,
                             file=STUDY_FILE)) from None
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(Msg("errors.study.yaml_unreadable", path=path, error=exc)) from None
    try:
        return StudyConfig.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise InputError(Msg("errors.study.invalid", path=path,
                             problems=_problems(exc))) from None


def write_config(study_dir: str | os.PathLike[str], cfg: StudyConfig) -> Path:
    """Write ``study.yaml`` atomically (waves and schools one per line, as in Contract 6)."""
    data = cfg.model_dump(exclude_none=True)
    if not data.get("schools"):
        data.pop("schools", None)
    head = {k: data[k] for k in ("study", "instrument")}
    lines = [yaml.safe_dump(head, sort_keys=False, allow_unicode=True).rstrip(),
             "waves:                  # in time order"]
    lines += ["  - " + _flow(w) for w in data["waves"]]
    if data.get("roles"):
        lines.append("roles: " + _flow(data["roles"]))
    lines.append(f"ids: {data['ids']}           # per_school: a respondent is school + role + "
                 "number; study: numbers are study-wide")
    if data.get("schools"):
        lines.append("schools:                # when present, other schools are refused")
        lines += ["  - " + _flow(s) for s in data["schools"]]
    lines.append(f"min_cell: {data['min_cell']}")
    lines.append(f"lang: {data['lang']}                # nl or en: feedback and reasons of rejected rows")
    if data.get("file_names"):
        lines.append("file_names: " + _flow(data["file_names"]))
    path = Path(study_dir) / STUDY_FILE
    write_text(path, "\n".join(lines) + "\n")
    return path


def _flow(obj: object) -> str:
    return yaml.safe_dump(obj, default_flow_style=True, sort_keys=False, allow_unicode=True,
                          width=1000).strip()
