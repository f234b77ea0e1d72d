"""Instruments as data: the Contract 1 model, YAML loading, validation and the registry.

An instrument file describes a questionnaire: its roles (parallel forms sharing item ids), its
response scale with labels and missing codes, its items (with per-role, per-language text and
reverse keys), its scales and optional classifications. Loading validates everything at once and
reports every problem with the file, the key and what is wrong.

Examples
--------
>>> inst = load_instrument("partnerschap")
>>> inst.id, inst.roles
('partnerschap', ('parent', 'teacher', 'youthworker'))
>>> [s.id for s in inst.scales]
['reciprocity', 'two_way_communication', 'shared_decision_making']
>>> inst.scale("reciprocity").min_items
3
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import InstrumentError

__all__ = [
    "Instrument",
    "Item",
    "Scale",
    "ResponseScale",
    "Classification",
    "load_instrument",
    "available_instruments",
    "instrument_dirs",
    "normalise_label",
]



def normalise_label(value: object) -> str:
    """Normalise an answer label or header for matching.

    Case, surrounding white space, inner runs of white space and trailing punctuation are ignored.

    >>> normalise_label("  Helemaal  MEE eens. ")
    'helemaal mee eens'
    """
    text = re.sub(r"\s+", " ", str(value)).strip().casefold()
    return text.rstrip(" .:;,!?").strip()


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


LocalText = dict[str, str]  # language code -> text, e.g. {"nl": ..., "en": ...}


def pick_text(text: LocalText, lang: str) -> str:
    """Return ``text`` in ``lang``, falling back to Dutch, then to any language given."""
    if lang in text:
        return text[lang]
    if "nl" in text:
        return text["nl"]
    return next(iter(text.values()))


class ResponseScale(_Model):
    min: int
    max: int
    labels: dict[int, LocalText] = Field(default_factory=dict)
    missing: tuple[str | int | float, ...] = ()

    def decode_map(self) -> dict[str, float]:
        """Map every normalised label, code and missing value to its numeric code (NaN = missing)."""
        out: dict[str, float] = {}
        for code, text in self.labels.items():
            for label in text.values():
                out[normalise_label(label)] = float(code)
        for code in range(self.min, self.max + 1):
            out[str(code)] = float(code)
        for miss in self.missing:
            out[normalise_label(miss)] = float("nan")
            if isinstance(miss, float) and miss.is_integer():
                out[str(int(miss))] = float("nan")
        return out


class Item(_Model):
    id: str
    text: dict[str, LocalText]  # role -> language -> text
    reverse: bool = False


class Scale(_Model):
    id: str
    name: LocalText
    items: tuple[str, ...]
    min_items: int | None = None
    score: Literal["mean", "sum"] = "mean"
    rescale: tuple[float, float] | None = None

    @property
    def required_items(self) -> int:
        """Minimum number of answered items; all items when ``min_items`` is not given."""
        return self.min_items if self.min_items is not None else len(self.items)


class Classification(BaseModel):
    """An ordered classification (e.g. a Gerdes level); rules are interpreted by ``scoring``."""

    model_config = ConfigDict(frozen=True, extra="allow")
    id: str
    levels: tuple[dict[str, Any], ...]
    name: LocalText | None = None


class Instrument(_Model):
    id: str
    version: str
    title: LocalText
    roles: tuple[str, ...]
    response_scale: ResponseScale
    items: tuple[Item, ...]
    scales: tuple[Scale, ...]
    classifications: tuple[Classification, ...] = ()
    description: Any = None
    reference: Any = None
    references: Any = None
    license: Any = None
    notes: Any = None
    authors: Any = None
    source: str | None = Field(default=None, exclude=True)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v: object) -> object:
        # YAML reads `version: 1.0` as a float; the contract asks for text.
        return str(v) if isinstance(v, int | float) else v

    # -- lookups ------------------------------------------------------------------------------
    @property
    def item_ids(self) -> list[str]:
        return [it.id for it in self.items]

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def scale(self, scale_id: str) -> Scale:
        for sc in self.scales:
            if sc.id == scale_id:
                return sc
        raise KeyError(scale_id)

    @property
    def scale_ids(self) -> list[str]:
        return [s.id for s in self.scales]

    @property
    def reverse_items(self) -> list[str]:
        return [it.id for it in self.items if it.reverse]

    def item_texts(self) -> dict[str, str]:
        """Normalised item text (every role and language) -> item id, for header matching."""
        out: dict[str, str] = {}
        for it in self.items:
            for by_lang in it.text.values():
                for txt in by_lang.values():
                    out[normalise_label(txt)] = it.id
        return out


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def _loc(loc: Iterable[object]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _consistency_problems(inst: Instrument) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    rs = inst.response_scale
    if rs.min >= rs.max:
        problems.append(("response_scale", f"min ({rs.min}) must be below max ({rs.max})"))
    for code in rs.labels:
        if not rs.min <= code <= rs.max:
            problems.append(
                (f"response_scale.labels.{code}", f"label code {code} is outside {rs.min}..{rs.max}")
            )
    if not inst.roles:
        problems.append(("roles", "at least one role is required"))
    if len(set(inst.roles)) != len(inst.roles):
        problems.append(("roles", "a role is listed twice"))

    seen: set[str] = set()
    for i, it in enumerate(inst.items):
        if it.id in seen:
            problems.append((f"items[{i}].id", f"duplicate item id '{it.id}'"))
        seen.add(it.id)
        for role in inst.roles:
            if role not in it.text or not it.text[role]:
                problems.append((f"items[{i}].text", f"item '{it.id}' has no text for role '{role}'"))
        for role in it.text:
            if role not in inst.roles:
                problems.append(
                    (f"items[{i}].text.{role}", f"role '{role}' is not in roles {list(inst.roles)}")
                )
    text_owner: dict[str, str] = {}
    for it in inst.items:
        for by_lang in it.text.values():
            for txt in by_lang.values():
                key = normalise_label(txt)
                other = text_owner.setdefault(key, it.id)
                if other != it.id:
                    problems.append(
                        ("items", f"items '{other}' and '{it.id}' share the text '{txt}'; "
                         "headers could not be mapped unambiguously")
                    )

    scale_seen: set[str] = set()
    for j, sc in enumerate(inst.scales):
        if sc.id in scale_seen:
            problems.append((f"scales[{j}].id", f"duplicate scale id '{sc.id}'"))
        scale_seen.add(sc.id)
        if sc.id in seen:
            problems.append((f"scales[{j}].id", f"scale id '{sc.id}' is also an item id"))
        if not sc.items:
            problems.append((f"scales[{j}].items", f"scale '{sc.id}' has no items"))
        for item_id in sc.items:
            if item_id not in seen:
                problems.append(
                    (f"scales[{j}].items", f"scale '{sc.id}' names unknown item '{item_id}'")
                )
        if len(set(sc.items)) != len(sc.items):
            problems.append((f"scales[{j}].items", f"scale '{sc.id}' lists an item twice"))
        if sc.min_items is not None and not 1 <= sc.min_items <= len(sc.items):
            problems.append(
                (f"scales[{j}].min_items",
                 f"min_items {sc.min_items} must be between 1 and the {len(sc.items)} items")
            )
        if sc.rescale is not None and sc.rescale[0] == sc.rescale[1]:
            problems.append((f"scales[{j}].rescale", "rescale needs two different end points"))
    for k, cl in enumerate(inst.classifications):
        if not cl.levels:
            problems.append((f"classifications[{k}].levels", f"'{cl.id}' has no levels"))
    return problems


def parse_instrument(data: object, source: str = "<instrument>") -> Instrument:
    """Validate a mapping (as read from YAML) into an :class:`Instrument`.

    Raises :class:`~partnerschap_eval.errors.InstrumentError` listing every problem found.
    """
    if not isinstance(data, dict):
        raise InstrumentError(source, [("", "the file must hold a mapping of keys (id, version, ...)")])
    try:
        inst = Instrument.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"]
            if err["type"] == "missing":
                msg = "required key is missing"
            elif err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see DESIGN.md Contract 1)"
            problems.append((_loc(err["loc"]), msg))
        raise InstrumentError(source, problems) from None
    problems = _consistency_problems(inst)
    if problems:
        raise InstrumentError(source, problems)
    return inst.model_copy(update={"source": source})


def load_instrument_file(path: str | os.PathLike[str]) -> Instrument:
    """Read and validate one instrument YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InstrumentError(str(path), [("", f"cannot be read ({exc.strerror})")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise InstrumentError(str(path), [(where, f"is not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    return parse_instrument(data, source=str(path))


# ---------------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------------
def instrument_dirs() -> list[Path]:
    """Folders searched for instruments, in order.

    ``PARTNERSCHAP_EVAL_INSTRUMENTS`` (``os.pathsep``-separated), the package's installed
    ``instruments`` data, and the source tree's top-level ``instruments/`` (editable installs).
    """
    dirs: list[Path] = []
    env = os.environ.get("PARTNERSCHAP_EVAL_INSTRUMENTS")
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    here = Path(__file__).resolve().parent
    dirs += [here / "instruments", here.parent.parent / "instruments"]
    return [d for d in dirs if d.is_dir()]


def available_instruments() -> dict[str, Path]:
    """Instrument id -> file, for every YAML file in :func:`instrument_dirs` (first one wins)."""
    found: dict[str, Path] = {}
    for d in instrument_dirs():
        for f in sorted(d.glob("*.y*ml")):
            try:
                data = yaml.safe_load(f.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                found.setdefault(data["id"], f)
    return found


@lru_cache(maxsize=64)
def _load_cached(path: str, mtime: float) -> Instrument:
    return load_instrument_file(path)


def load_instrument(id_or_path: str | os.PathLike[str] | Instrument) -> Instrument:
    """Resolve an instrument by id (from the registry) or by path to a YAML file.

    Raises
    ------
    InstrumentError
        When the id is unknown (the message lists the known ids) or the file is invalid.
    """
    if isinstance(id_or_path, Instrument):
        return id_or_path
    text = str(id_or_path)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise InstrumentError(text, [("", "file not found")])
        return _load_cached(str(path.resolve()), path.stat().st_mtime)
    known = available_instruments()
    if text not in known:
        listed = ", ".join(sorted(known)) or "none found"
        raise InstrumentError(
            text, [("", f"no instrument with this id (known: {listed}); give an id or a YAML path")]
        )
    f = known[text]
    return _load_cached(str(f.resolve()), f.stat().st_mtime)
