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
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._safe_read import YamlFileError, load_yaml, os_problem_msg
from .errors import InputError, InstrumentError, Msg, field_path, field_problem

__all__ = [
    "Instrument",
    "Item",
    "Scale",
    "ResponseScale",
    "Classification",
    "Level",
    "Framework",
    "RULE_SUBJECTS",
    "RULE_CONDITIONS",
    "RULE_COMBINATORS",
    "load_instrument",
    "resolve",
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
    text = value if isinstance(value, str) else str(value)
    # the same headers, item texts and labels come by in every file: short texts are kept
    # (header matching normalised each item text again per file, a sixth of a small ingest)
    return _normalised(text) if len(text) <= _CACHED_CHARS else _normalise(text)


_SPACE = re.compile(r"\s+")
_CACHED_CHARS = 300


def _normalise(text: str) -> str:
    text = _SPACE.sub(" ", text).strip().casefold()
    return text.rstrip(" .:;,!?").strip()


_normalised = lru_cache(maxsize=1 << 15)(_normalise)


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
    #: Optional short name for tables and figures (e.g. a praatplaat theme).
    label: LocalText | None = None
    #: Optional: what this item speaks to in other instruments, as instrument id -> scale or
    #: item ids of that instrument (a praatplaat theme names the partnerschap scales it opens a
    #: conversation about, so a school page can offer it where the school scores lowest).
    relates_to: dict[str, tuple[str, ...]] | None = None


class Scale(_Model):
    id: str
    name: LocalText
    items: tuple[str, ...]
    min_items: int | None = None
    score: Literal["mean", "sum"] = "mean"
    rescale: tuple[float, float] | None = None
    #: Optional: this scale's own direction for some of its items (+1 or -1), overriding the
    #: item's ``reverse`` for this scale only (psych's keys lists), e.g. an "anxiety absent"
    #: subscale scored in its own direction beside a total that reverses those items.
    keys: dict[str, int] | None = None

    @property
    def required_items(self) -> int:
        """Minimum number of answered items; all items when ``min_items`` is not given."""
        return self.min_items if self.min_items is not None else len(self.items)

    def score_range(self, lo: float, hi: float) -> tuple[float, float]:
        """Lowest and highest possible score given the response scale ``lo..hi``.

        >>> Scale(id="s", name={"nl": "s"}, items=("a", "b"), score="sum").score_range(1, 5)
        (2.0, 10.0)
        """
        low, high = float(lo), float(hi)
        if self.score == "sum":
            low, high = low * len(self.items), high * len(self.items)
        if self.rescale is not None:
            a, b = self.rescale
            low, high = sorted((float(a), float(b)))
        return low, high


#: Keys of a classification rule (see :class:`Classification`).
RULE_SUBJECTS = ("scale", "item", "difference")
RULE_CONDITIONS = ("min", "max", "equals", "in")
RULE_COMBINATORS = ("all", "any")


class Level(_Model):
    """One ordered category of a :class:`Classification`.

    ``level`` is its integer code (strictly increasing in the listed order), ``label`` its name
    per language, ``rule`` the condition that places a respondent there (see
    :class:`Classification`), ``description`` an optional longer text for forms and legends, and
    ``optional: true`` marks a category a project may leave off its form (the participatieladder's
    *zelfbeheer*): distribution tables omit it when nobody is in it.
    """

    level: int
    label: LocalText
    rule: dict[str, Any] | None = None
    description: LocalText | None = None
    optional: bool = False


class Classification(_Model):
    """An ordered classification (e.g. a Gerdes level, a ladder rung) with its rules as data.

    Rules
    -----
    A rule is a mapping with one *subject* and one or more *conditions*, or a combination:

    * subject ``scale: ID`` (the scale score), ``item: ID`` (the raw answer code, not
      reverse-keyed) or ``difference: [A, B]`` (A minus B, each a scale or an item id);
    * conditions ``min: x`` (value >= x), ``max: x`` (value <= x), ``equals: x``, ``in: [x, ...]``;
      bounds are inclusive, so a score exactly at a threshold meets it (compared with a tolerance
      of 1e-9 for floating point); all conditions given must hold;
    * ``all: [rule, ...]`` / ``any: [rule, ...]`` combine rules.

    A rule is *undetermined* when its subject is missing (an unanswered item, or a scale score
    missing by ``min_items``); ``all``/``any`` follow Kleene's three-valued logic (``all`` is
    false as soon as one part is false, ``any`` true as soon as one part is true).

    ``cumulative: true`` (Gerdes): the first level is the base and has no rule; a respondent is at
    the highest level L such that the rules of levels 1..L all hold, so meeting a higher level's
    rule without a lower one's leaves the respondent at the lower level. The level is undetermined
    (missing) when the walk up meets an undetermined rule before a false one.

    ``cumulative: false`` (default; ladder rungs): every level has a rule; the respondent gets the
    first level, in listed order, whose rule holds; missing when an earlier rule is undetermined
    or no rule holds.
    """

    id: str
    name: LocalText | None = None
    levels: tuple[Level, ...]
    cumulative: bool = False
    description: Any = None
    reference: Any = None
    notes: Any = None

    def level(self, code: int) -> Level:
        for lv in self.levels:
            if lv.level == code:
                return lv
        raise KeyError(code)


class Framework(_Model):
    """Optional link of an instrument to a framework the report places collaboration on.

    ``name`` is one of ``epstein`` (every scale is one of Epstein's six types, in order),
    ``gerdes`` (``classification`` names the level classification), ``participatieladder``
    (``expected`` and ``experienced`` name the two rung items) and ``praatplaat`` (every item is
    one theme).
    """

    name: Literal["epstein", "gerdes", "participatieladder", "praatplaat"]
    classification: str | None = None
    expected: str | None = None
    experienced: str | None = None


class Instrument(_Model):
    id: str
    version: str
    title: LocalText
    roles: tuple[str, ...]
    response_scale: ResponseScale
    items: tuple[Item, ...]
    scales: tuple[Scale, ...]
    classifications: tuple[Classification, ...] = ()
    #: Optional: which framework this instrument operationalises (see :class:`Framework`).
    framework: Framework | None = None
    #: Optional: role -> language -> instruction shown above the items (e.g. the period asked about).
    instructions: dict[str, LocalText] | None = None
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

    def classification(self, classification_id: str) -> Classification:
        for cl in self.classifications:
            if cl.id == classification_id:
                return cl
        raise KeyError(classification_id)

    @property
    def classification_ids(self) -> list[str]:
        return [c.id for c in self.classifications]

    @property
    def reverse_items(self) -> list[str]:
        return [it.id for it in self.items if it.reverse]

    def scale_reverse_items(self, scale_id: str) -> list[str]:
        """The items that ``scale_id`` scores reversed: its ``keys`` where given (-1), else the
        item's ``reverse``.

        >>> inst = load_instrument("partnerschap")
        >>> inst.scale_reverse_items("reciprocity")
        ['rec5']
        """
        scale = self.scale(scale_id)
        keys = scale.keys or {}
        rev = set(self.reverse_items)
        return [i for i in scale.items if keys.get(i, -1 if i in rev else 1) == -1]

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
def _consistency_problems(inst: Instrument) -> list[tuple[str, Msg]]:
    problems: list[tuple[str, Msg]] = []
    rs = inst.response_scale
    if rs.min >= rs.max:
        problems.append(("response_scale", Msg("errors.instrument.p.min_max", min=rs.min,
                                               max=rs.max)))
    for code in rs.labels:
        if not rs.min <= code <= rs.max:
            problems.append(
                (f"response_scale.labels.{code}", Msg("errors.instrument.p.label_code", code=code,
                                                      min=rs.min, max=rs.max))
            )
    if not inst.roles:
        problems.append(("roles", Msg("errors.instrument.p.no_roles")))
    if len(set(inst.roles)) != len(inst.roles):
        problems.append(("roles", Msg("errors.instrument.p.role_twice")))

    seen: set[str] = set()
    for i, it in enumerate(inst.items):
        if it.id in seen:
            problems.append((f"items[{i}].id", Msg("errors.instrument.p.item_dup", id=it.id)))
        seen.add(it.id)
        for role in inst.roles:
            if role not in it.text or not it.text[role]:
                problems.append((f"items[{i}].text", Msg("errors.instrument.p.item_text", id=it.id,
                                                         role=role)))
        for role in it.text:
            if role not in inst.roles:
                problems.append(
                    (f"items[{i}].text.{role}", Msg("errors.instrument.p.role_unknown", role=role,
                                                    roles=list(inst.roles)))
                )
    text_owner: dict[str, str] = {}
    for it in inst.items:
        for by_lang in it.text.values():
            for txt in by_lang.values():
                key = normalise_label(txt)
                other = text_owner.setdefault(key, it.id)
                if other != it.id:
                    problems.append(
                        ("items", Msg("errors.instrument.p.same_text", other=other, id=it.id,
                                      txt=txt))
                    )

    scale_seen: set[str] = set()
    for j, sc in enumerate(inst.scales):
        if sc.id in scale_seen:
            problems.append((f"scales[{j}].id", Msg("errors.instrument.p.scale_dup", id=sc.id)))
        scale_seen.add(sc.id)
        if sc.id in seen:
            problems.append((f"scales[{j}].id", Msg("errors.instrument.p.scale_is_item", id=sc.id)))
        if not sc.items:
            problems.append((f"scales[{j}].items", Msg("errors.instrument.p.scale_empty", id=sc.id)))
        for item_id in sc.items:
            if item_id not in seen:
                problems.append(
                    (f"scales[{j}].items", Msg("errors.instrument.p.scale_item", id=sc.id,
                                               id2=item_id))
                )
        if len(set(sc.items)) != len(sc.items):
            problems.append((f"scales[{j}].items", Msg("errors.instrument.p.scale_item_twice",
                                                       id=sc.id)))
        if sc.min_items is not None and not 1 <= sc.min_items <= len(sc.items):
            problems.append(
                (f"scales[{j}].min_items",
                 Msg("errors.instrument.p.min_items", items=sc.min_items, items2=len(sc.items)))
            )
        if sc.rescale is not None and sc.rescale[0] == sc.rescale[1]:
            problems.append((f"scales[{j}].rescale", Msg("errors.instrument.p.rescale")))
        for item_id, key in (sc.keys or {}).items():
            if item_id not in sc.items:
                problems.append((f"scales[{j}].keys.{item_id}",
                                 Msg("errors.instrument.p.key_item", id=sc.id, id2=item_id,
                                     items=list(sc.items))))
            if key not in (1, -1) or isinstance(key, bool):
                problems.append((f"scales[{j}].keys.{item_id}",
                                 Msg("errors.instrument.p.key_value", key=repr(key))))
    problems += _classification_problems(inst, seen, scale_seen)
    problems += _framework_problems(inst)
    if inst.instructions:
        for role in inst.instructions:
            if role not in inst.roles:
                problems.append((f"instructions.{role}",
                                 Msg("errors.instrument.p.role_unknown", role=role,
                                     roles=list(inst.roles))))
    return problems


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _subject_range(inst: Instrument, name: str) -> tuple[float, float] | None:
    rs = inst.response_scale
    if name in inst.scale_ids:
        return inst.scale(name).score_range(rs.min, rs.max)
    if name in inst.item_ids:
        return float(rs.min), float(rs.max)
    return None


def _rule_problems(inst: Instrument, rule: object, where: str) -> list[tuple[str, Msg]]:
    """Every problem of one rule (recursively for ``all``/``any``), keyed by its location."""
    if not isinstance(rule, dict):
        return [(where, Msg("errors.instrument.p.rule_mapping"))]
    keys = set(rule)
    allowed = set(RULE_SUBJECTS) | set(RULE_CONDITIONS) | set(RULE_COMBINATORS)
    problems = [(f"{where}.{k}", Msg("errors.instrument.p.rule_key", k=k,
                                     allowed=', '.join(sorted(allowed))))
                for k in sorted(keys - allowed, key=str)]
    combinators = [k for k in RULE_COMBINATORS if k in keys]
    subjects = [k for k in RULE_SUBJECTS if k in keys]
    conditions = [k for k in RULE_CONDITIONS if k in keys]
    if combinators:
        if len(combinators) > 1 or subjects or conditions:
            return problems + [(where, Msg("errors.instrument.p.rule_combinator"))]
        parts = rule[combinators[0]]
        if not isinstance(parts, list) or not parts:
            return problems + [(f"{where}.{combinators[0]}", Msg("errors.instrument.p.rule_list"))]
        for i, part in enumerate(parts):
            problems += _rule_problems(inst, part, f"{where}.{combinators[0]}[{i}]")
        return problems
    if len(subjects) != 1:
        return problems + [(where, Msg("errors.instrument.p.rule_subject", none=subjects or 'none'))]
    subject = subjects[0]
    target = rule[subject]
    rs = inst.response_scale
    if subject == "scale":
        if target not in inst.scale_ids:
            problems.append((f"{where}.scale", Msg("errors.instrument.p.rule_scale", target=target,
                                                   ids=inst.scale_ids)))
            return problems
        low, high = _subject_range(inst, target)
    elif subject == "item":
        if target not in inst.item_ids:
            problems.append((f"{where}.item", Msg("errors.instrument.p.rule_item", target=target)))
            return problems
        low, high = float(rs.min), float(rs.max)
    else:
        if not (isinstance(target, list) and len(target) == 2):
            problems.append((f"{where}.difference", Msg("errors.instrument.p.rule_difference")))
            return problems
        ranges = []
        for name in target:
            r = _subject_range(inst, name) if isinstance(name, str) else None
            if r is None:
                problems.append((f"{where}.difference", Msg("errors.instrument.p.rule_either",
                                                            name=name)))
            ranges.append(r)
        if None in ranges:
            return problems
        (a_lo, a_hi), (b_lo, b_hi) = ranges
        low, high = a_lo - b_hi, a_hi - b_lo
    if not conditions:
        problems.append((where, Msg("errors.instrument.p.rule_condition")))
        return problems
    values: list[tuple[str, object]] = []
    for cond in ("min", "max", "equals"):
        if cond in rule:
            values.append((cond, rule[cond]))
    if "in" in rule:
        if not isinstance(rule["in"], list) or not rule["in"]:
            problems.append((f"{where}.in", Msg("errors.instrument.p.rule_in")))
        else:
            values += [("in", v) for v in rule["in"]]
    bad = [(c, v) for c, v in values if not _is_number(v)]
    for cond, v in bad:
        problems.append((f"{where}.{cond}", Msg("errors.instrument.p.rule_number", v=v)))
    if bad:
        return problems
    if "min" in rule and "max" in rule and rule["min"] > rule["max"]:
        problems.append((where, Msg("errors.instrument.p.rule_min_max", min=rule['min'],
                                    max=rule['max'])))
    eps = 1e-9
    if "min" in rule and rule["min"] > high + eps:
        problems.append((f"{where}.min", Msg("errors.instrument.p.rule_above", min=rule['min'],
                                             high=high, subject=subject, target=target)))
    if "max" in rule and rule["max"] < low - eps:
        problems.append((f"{where}.max", Msg("errors.instrument.p.rule_below", max=rule['max'],
                                             low=low, subject=subject, target=target)))
    for cond, v in values:
        if cond in ("equals", "in") and not low - eps <= float(v) <= high + eps:
            problems.append((f"{where}.{cond}", Msg("errors.instrument.p.rule_range", v=v, low=low,
                                                    high=high, subject=subject, target=target)))
    return problems


def _classification_problems(inst: Instrument, item_ids: set[str],
                             scale_ids: set[str]) -> list[tuple[str, Msg]]:
    problems: list[tuple[str, Msg]] = []
    seen: set[str] = set()
    for k, cl in enumerate(inst.classifications):
        at = f"classifications[{k}]"
        if cl.id in seen:
            problems.append((f"{at}.id", Msg("errors.instrument.p.class_dup", id=cl.id)))
        seen.add(cl.id)
        if cl.id in item_ids or cl.id in scale_ids:
            problems.append((f"{at}.id", Msg("errors.instrument.p.class_id", id=cl.id)))
        if len(cl.levels) < 2:
            problems.append((f"{at}.levels", Msg("errors.instrument.p.class_levels", id=cl.id)))
            continue
        codes = [lv.level for lv in cl.levels]
        for i in range(1, len(codes)):
            if codes[i] <= codes[i - 1]:
                problems.append((f"{at}.levels[{i}].level",
                                 Msg("errors.instrument.p.level_order", i=codes[i], i2=codes[i - 1])))
        for i, lv in enumerate(cl.levels):
            where = f"{at}.levels[{i}]"
            if not lv.label or not all(str(t).strip() for t in lv.label.values()):
                problems.append((f"{where}.label", Msg("errors.instrument.p.level_label",
                                                       level=lv.level, id=cl.id)))
            if cl.cumulative and i == 0:
                if lv.rule is not None:
                    problems.append((f"{where}.rule",
                                     Msg("errors.instrument.p.base_rule", id=cl.id)))
                continue
            if lv.rule is None:
                problems.append((f"{where}.rule", Msg("errors.instrument.p.level_rule",
                                                      level=lv.level, id=cl.id)))
                continue
            problems += _rule_problems(inst, lv.rule, f"{where}.rule")
    return problems


def _framework_problems(inst: Instrument) -> list[tuple[str, Msg]]:
    fw = inst.framework
    if fw is None:
        return []
    problems: list[tuple[str, Msg]] = []
    if fw.name == "gerdes":
        if fw.classification is None or fw.classification not in inst.classification_ids:
            problems.append(("framework.classification",
                             Msg("errors.instrument.p.fw_classification",
                                 classification=repr(fw.classification),
                                 ids=inst.classification_ids)))
    if fw.name == "participatieladder":
        for key in ("expected", "experienced"):
            value = getattr(fw, key)
            if value not in inst.item_ids:
                problems.append((f"framework.{key}", Msg("errors.instrument.p.fw_item",
                                                         value=repr(value))))
    return problems


def parse_instrument(data: object, source: str = "<instrument>") -> Instrument:
    """Validate a mapping (as read from YAML) into an :class:`Instrument`.

    Raises :class:`~partnerschap_eval.errors.InstrumentError` listing every problem found.
    """
    if not isinstance(data, dict):
        raise InstrumentError(source, [("", Msg("errors.instrument.not_mapping"))])
    try:
        inst = Instrument.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if err["type"] == "missing":
                msg = Msg("errors.instrument.missing_key")
            elif err["type"] == "extra_forbidden":
                msg = Msg("errors.instrument.unknown_key")
            else:  # in the reader's language, never pydantic's English
                msg = field_problem(err)
            problems.append((field_path(err["loc"]), msg))
        raise InstrumentError(source, problems) from None
    problems = _consistency_problems(inst)
    if problems:
        raise InstrumentError(source, problems)
    return inst.model_copy(update={"source": source})


def load_instrument_file(path: str | os.PathLike[str]) -> Instrument:
    """Read and validate one instrument YAML file (UTF-8, within :mod:`._safe_read`'s limits)."""
    path = Path(path)
    try:
        data = load_yaml(path, Msg("errors.what.instrument_file"))
    except YamlFileError as exc:
        raise InstrumentError(str(path), [(Msg("errors.instrument.line", line=exc.line)
                                           if exc.line else "",
                                           exc.problem)]) from None
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
                st = f.stat()
            except OSError:  # gone since the listing, or unreadable: reported when asked for
                continue
            ident = _instrument_id(str(f), st.st_mtime_ns, st.st_size)
            if ident is not None:
                found.setdefault(ident, f)
    return found


@lru_cache(maxsize=256)
def _instrument_id(path: str, mtime_ns: int, size: int) -> str | None:
    """The ``id`` of an instrument file, parsed once per version of the file.

    A report resolves instruments a few dozen times; parsing every YAML file of the registry
    each time (the safe loader is pure Python) cost seconds per demo build.
    """
    try:
        data = load_yaml(path, Msg("errors.what.instrument_file"))
    except InputError:  # reported when that file is asked for by its path
        return None
    return data["id"] if isinstance(data, dict) and isinstance(data.get("id"), str) else None


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
    try:
        if path.suffix.lower() in (".yaml", ".yml") or path.exists():
            if not path.exists():
                raise InstrumentError(text, [("", Msg("errors.instrument.not_found"))])
            return _load_cached(str(path.resolve()), path.stat().st_mtime)
    except OSError as exc:  # a folder on the way that may not be searched, a loop of links
        raise InstrumentError(text, [("", os_problem_msg(exc))]) from None
    known = available_instruments()
    if text not in known:
        listed = ", ".join(sorted(known)) or "–"
        raise InstrumentError(text, [("", Msg("errors.instrument.unknown_id", known=listed))])
    f = known[text]
    return _load_cached(str(f.resolve()), f.stat().st_mtime)


def resolve(instrument: Instrument | str | os.PathLike[str]) -> Instrument:
    """The one resolver of every public function's ``instrument`` argument.

    An :class:`Instrument` is returned as it is; an id or a YAML path is loaded (and cached) by
    :func:`load_instrument`, so every entry point accepts the same three forms and fails with the
    same :class:`~partnerschap_eval.errors.InstrumentError`.

    >>> inst = resolve("partnerschap")
    >>> resolve(inst) is inst
    True
    """
    return load_instrument(instrument)
