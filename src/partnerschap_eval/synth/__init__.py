"""A seeded, WiSH-like synthetic study with known true effects.

The design mirrors the WiSH resilience programme: group 6 of 43 primary schools; per school about
25 parents are invited and ~60 % respond, 1-3 group-6 teachers and one youth-care worker
(resilience specialist) take part; everybody is asked before (``pre``) and after (``post``)
the programme; ~20 % of the pre respondents do not answer the post questionnaire (missing
completely at random) and ~3 % of the item answers are missing (half blank, half "Weet ik niet").

Generating model
----------------
For respondent *i* of role *r* in school *k*, scale *s*, item *j* and wave *t* (0 = pre,
1 = post), a latent agreement

.. math::
    y = m_{rs} + u_{ks} + v_{is} + e_{ist} + t(\\delta_{rs} + w_{is}) + b_j + \\varepsilon

with school effects :math:`u \\sim N(0, 0.25^2)`, person effects :math:`v \\sim N(0, 0.55^2)`
(correlated .6 across scales), occasion noise :math:`e \\sim N(0, 0.30^2)`, individual variation
in change :math:`w \\sim N(0, 0.25^2)`, item offsets :math:`b_j` and item noise
:math:`\\varepsilon \\sim N(0, 0.70^2)`. The answer is ``y`` rounded and clipped to 1..5 (a
reverse-keyed item stores ``6 - answer``, so reverse keying recovers it).

True latent means ``PRE_MEANS`` and latent changes ``LATENT_EFFECTS`` (points on the 1-5 scale):

==============  ===========  ======================  =======================
role            reciprocity  two_way_communication   shared_decision_making
==============  ===========  ======================  =======================
parent          3.2 / +0.30  3.4 / +0.40             2.9 / +0.25
teacher         3.8 / +0.20  3.7 / +0.25             3.3 / +0.30
youthworker     3.9 / +0.15  3.8 / +0.15             3.5 / +0.20
==============  ===========  ======================  =======================

Because rounding and clipping bend the scale a little, :func:`true_effects` gives the exact
expected change of the *observed* scale score, :math:`E[\\bar x_{post}] - E[\\bar x_{pre}]` with
:math:`E[\\mathrm{clip}(\\mathrm{round}(Y))] = 1 + \\sum_{c=1}^{4} P(Y > c + 0.5)` for normal
:math:`Y`: the estimand a paired analysis of the demo should recover.

The demo's design (:data:`DEMO_DESIGN`)
---------------------------------------
``partnerschap-eval demo`` and ``make portal`` use a design with a control arm and three waves:
the same 43 schools and respondents, of which 13 (S02, S04, ..., S26) are **control** schools
and 30 **intervention** schools; a third wave ``follow-up`` (vervolgmeting) answered by 90 % of
the post respondents; a school x wave effect :math:`N(0, 0.10^2)`. True latent changes from
``pre`` (points on the 1-5 scale; parent / teacher / youthworker):

===============  =======================  =======================  ======================
change           reciprocity              two_way_communication    shared_decision_making
===============  =======================  =======================  ======================
interv. post     +0.30 / +0.20 / +0.15    +0.40 / +0.25 / +0.15    +0.25 / +0.30 / +0.20
interv. follow   +0.25 / +0.15 / +0.10    +0.30 / +0.20 / +0.10    +0.25 / +0.25 / +0.15
control post     +0.05 (every role)       +0.05                    +0.05
control follow   +0.10 (every role)       +0.10                    +0.10
===============  =======================  =======================  ======================

So the true difference in differences (intervention minus control) is, for parents'
two-way communication, +0.35 at post and +0.20 at follow-up (latent; :func:`true_effects` with
``condition`` and ``wave`` gives the observed-scale values). The default
:class:`StudyDesign` (two waves, no conditions, as above) is the tests' study and is unchanged.

Examples
--------
>>> study = simulate_study(seed=1)
>>> sorted(study.responses["wave"].unique())
['post', 'pre']
>>> study.responses["school_id"].nunique()
43
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..errors import Msg, ParameterError
from ..instruments import Instrument, load_instrument, pick_text
from ..instruments import resolve as resolve_instrument

__all__ = ["StudyDesign", "SyntheticStudy", "simulate_study", "true_effects", "write_demo_exports",
           "PRE_MEANS", "LATENT_EFFECTS", "FOLLOW_UP_EFFECTS", "CONTROL_EFFECTS",
           "CONTROL_FOLLOW_UP_EFFECTS", "DEMO_DESIGN"]

ROLES = ("parent", "teacher", "youthworker")
SCALES = ("reciprocity", "two_way_communication", "shared_decision_making")

PRE_MEANS = {
    "parent": {"reciprocity": 3.2, "two_way_communication": 3.4, "shared_decision_making": 2.9},
    "teacher": {"reciprocity": 3.8, "two_way_communication": 3.7, "shared_decision_making": 3.3},
    "youthworker": {"reciprocity": 3.9, "two_way_communication": 3.8, "shared_decision_making": 3.5},
}
LATENT_EFFECTS = {
    "parent": {"reciprocity": 0.30, "two_way_communication": 0.40, "shared_decision_making": 0.25},
    "teacher": {"reciprocity": 0.20, "two_way_communication": 0.25, "shared_decision_making": 0.30},
    "youthworker": {"reciprocity": 0.15, "two_way_communication": 0.15, "shared_decision_making": 0.20},
}
#: Item offsets b_j by position within a scale (the fifth item is the reverse-keyed one).
ITEM_OFFSETS = (0.10, -0.10, 0.15, -0.15, 0.0)

_FIRST = ["Anna", "Daan", "Fatima", "Sem", "Noor", "Mohamed", "Julia", "Liam", "Sara", "Lucas",
          "Emma", "Yusuf", "Tess", "Milan", "Zoë", "Finn", "Aya", "Levi", "Lotte", "Ibrahim"]
_LAST = ["de Vries", "Jansen", "Bakker", "Yilmaz", "Visser", "Smit", "El Amrani", "Meijer",
         "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "Öztürk"]
_SCHOOL_WORDS = ["De Linde", "Het Palet", "De Regenboog", "Kompas", "De Vlindertuin", "Het Anker",
                 "De Horizon", "Petrus", "De Zonnewijzer", "Het Baken", "De Wilgen", "Mozaïek",
                 "De Bron", "Sint-Jozef", "De Kameleon", "Het Startblok", "De Toermalijn",
                 "De Schakel", "Het Kristal", "De Boomgaard", "Overwater", "De Meander"]


@dataclass(frozen=True)
class StudyDesign:
    """Parameters of the synthetic study (defaults: the WiSH-like demo)."""

    n_schools: int = 43
    parents_invited: int = 25
    response_rate: float = 0.60
    teachers: tuple[int, int] = (1, 3)
    youthworkers: int = 1
    attrition: float = 0.20
    item_missing: float = 0.03
    sd_school: float = 0.25
    sd_person: float = 0.55
    sd_occasion: float = 0.30
    sd_change: float = 0.25
    sd_item: float = 0.70
    pre_means: dict = field(default_factory=lambda: PRE_MEANS)
    effects: dict = field(default_factory=lambda: LATENT_EFFECTS)
    #: Comparison schools: this many schools (every other one from S02 on, then the last ones)
    #: are ``control`` schools, the rest ``intervention``; 0 (default): one group, no conditions.
    n_control: int = 0
    #: Latent change per role and scale in control schools (None: no change); the true
    #: difference in differences is ``effects`` minus this (see :func:`true_effects`).
    control_effects: dict | None = None
    #: SD of a school x wave x scale effect (schools differ in their change): what makes the
    #: DiD's test depend on the number of schools. 0 (default): none.
    sd_school_wave: float = 0.0
    #: The waves in time order: two (pre, post) or three (a third, follow-up wave; see
    #: :data:`DEMO_DESIGN`). Every later wave's respondents answered the wave before it.
    waves: tuple[str, ...] = ("pre", "post")
    #: Of the respondents of the second wave, this share does not answer the third.
    follow_up_attrition: float = 0.10
    #: Latent change from the first to the third wave in intervention schools (None: ``effects``,
    #: the change is kept).
    follow_up_effects: dict | None = None
    #: Latent change from the first to the third wave in control schools (None:
    #: ``control_effects``).
    control_follow_up_effects: dict | None = None


@dataclass(frozen=True)
class SyntheticStudy:
    """The simulated study: tidy responses (raw ids) and the personal data an export would hold."""

    responses: pd.DataFrame  # Contract 2 columns with raw (not pseudonymised) respondent ids
    people: pd.DataFrame  # respondent_id, school_id, role, name, email, phone
    schools: pd.DataFrame  # school_id, school_name (and condition with comparison schools)
    design: StudyDesign
    #: School id -> ``intervention`` or ``control`` (``design.n_control > 0``), else None.
    conditions: dict | None = None


#: Latent change from ``pre`` to ``follow-up`` in the demo's intervention schools: part of the
#: post effect fades after the programme (two-way communication most, as its meetings end).
FOLLOW_UP_EFFECTS = {
    "parent": {"reciprocity": 0.25, "two_way_communication": 0.30, "shared_decision_making": 0.25},
    "teacher": {"reciprocity": 0.15, "two_way_communication": 0.20, "shared_decision_making": 0.25},
    "youthworker": {"reciprocity": 0.10, "two_way_communication": 0.10,
                    "shared_decision_making": 0.15},
}
#: Latent change in the demo's control schools (a small secular trend: every school pays some
#: attention to parents): +0.05 at ``post``, +0.10 at ``follow-up``, every role and scale.
CONTROL_EFFECTS = {r: dict.fromkeys(SCALES, 0.05) for r in ROLES}
CONTROL_FOLLOW_UP_EFFECTS = {r: dict.fromkeys(SCALES, 0.10) for r in ROLES}

#: The design of ``partnerschap-eval demo`` and ``make portal``: the 43 schools of the default
#: study, 13 of them control schools, three waves (``pre``, ``post``, ``follow-up``; 10 % of the
#: post respondents miss the follow-up), schools differing in their change (school x wave SD
#: 0.10). True latent changes: :data:`LATENT_EFFECTS` at post and :data:`FOLLOW_UP_EFFECTS` at
#: follow-up in intervention schools, :data:`CONTROL_EFFECTS` and
#: :data:`CONTROL_FOLLOW_UP_EFFECTS` in control schools; :func:`true_effects` gives the
#: observed-scale values, the true difference in differences is intervention minus control.
#: (The default :class:`StudyDesign`, two waves without conditions, is the tests' study.)
DEMO_DESIGN = StudyDesign(
    n_control=13, control_effects=CONTROL_EFFECTS, sd_school_wave=0.10,
    waves=("pre", "post", "follow-up"), follow_up_attrition=0.10,
    follow_up_effects=FOLLOW_UP_EFFECTS, control_follow_up_effects=CONTROL_FOLLOW_UP_EFFECTS)


def _school_names(n: int, rng: np.random.Generator) -> list[str]:
    prefixes = ["Basisschool", "OBS", "RK Basisschool", "CBS", "Kindcentrum"]
    names: list[str] = []
    for i in range(n):
        word = _SCHOOL_WORDS[i % len(_SCHOOL_WORDS)]
        prefix = prefixes[int(rng.integers(len(prefixes)))]
        suffix = "" if i < len(_SCHOOL_WORDS) else " Noord"
        names.append(f"{prefix} {word}{suffix}")
    return names


def _control_schools(n_schools: int, n_control: int) -> list[int]:
    """Indexes of the control schools: every other school from the second on, then the last.

    >>> _control_schools(6, 2), _control_schools(6, 4)
    ([1, 3], [1, 3, 5, 4])
    """
    if not 0 <= n_control < n_schools:
        raise ParameterError(Msg("errors.synth.n_control", max=n_schools - 1, value=n_control))
    odd = list(range(1, n_schools, 2))
    rest = [k for k in range(n_schools - 1, -1, -1) if k not in odd]
    return (odd + rest)[:n_control]


def _check_waves(design: StudyDesign) -> int:
    """The number of waves (two or three, distinct names); anything else is refused."""
    waves = tuple(design.waves)
    if len(waves) not in (2, 3) or len(set(waves)) != len(waves) or not all(waves):
        raise ParameterError(Msg("errors.synth.waves", value=repr(waves)))
    return len(waves)


def _wave_effects(design: StudyDesign, condition: str, t: int) -> dict:
    """Latent change from the first wave to wave ``t`` (1 or 2) per role and scale in schools of
    ``condition``: ``effects`` / ``follow_up_effects`` (intervention), ``control_effects`` /
    ``control_follow_up_effects`` (control; none when not given).

    >>> _wave_effects(DEMO_DESIGN, "control", 2)["parent"]["reciprocity"]
    0.1
    """
    if condition == "intervention":
        return design.effects if t == 1 else (design.follow_up_effects or design.effects)
    effects = design.control_effects if t == 1 else (design.control_follow_up_effects
                                                     or design.control_effects)
    return effects or {r: dict.fromkeys(SCALES, 0.0) for r in ROLES}


def simulate_study(seed: int = 2014, design: StudyDesign | None = None,
                   instrument: Instrument | str = "partnerschap") -> SyntheticStudy:
    """Simulate the WiSH-like pre/post study described in the module docstring.

    Parameters
    ----------
    seed
        Seed of NumPy's PCG64 generator; the same seed gives the same study on any machine.
    design
        Sizes and variance components; defaults to :class:`StudyDesign`.
    instrument
        The instrument whose items are answered (its scales must be those of ``partnerschap``).

    Notes
    -----
    With ``design.n_control`` control schools, the latent change of a respondent of a control
    school is ``design.control_effects`` (none by default) instead of ``design.effects``, and
    :attr:`SyntheticStudy.conditions` maps every school to its condition. With
    ``design.sd_school_wave`` every school, scale and wave gets its own effect (schools differ
    in their change). Both leave the default study (and its random numbers) as it was.

    Examples
    --------
    >>> s = simulate_study(seed=1, design=StudyDesign(n_schools=8, n_control=4))
    >>> sorted(s.conditions.items())[:3]
    [('S01', 'intervention'), ('S02', 'control'), ('S03', 'intervention')]
    >>> simulate_study(seed=1, design=StudyDesign(n_schools=8)).conditions is None
    True
    """
    design = design or StudyDesign()
    n_waves = _check_waves(design)
    inst = resolve_instrument(instrument)
    control = _control_schools(design.n_schools, design.n_control)
    rng = np.random.default_rng(seed)
    schools = pd.DataFrame({
        "school_id": [f"S{k + 1:02d}" for k in range(design.n_schools)],
        "school_name": _school_names(design.n_schools, rng),
    })
    conditions = None
    if control:
        schools["condition"] = ["control" if k in control else "intervention"
                                for k in range(design.n_schools)]
        conditions = dict(zip(schools["school_id"], schools["condition"], strict=True))

    # respondents ---------------------------------------------------------------------------
    rows = []
    for k, school in enumerate(schools["school_id"]):
        n_par = int(rng.binomial(design.parents_invited, design.response_rate))
        n_tea = int(rng.integers(design.teachers[0], design.teachers[1] + 1))
        for role, n, letter in (("parent", n_par, "O"), ("teacher", n_tea, "L"),
                                ("youthworker", design.youthworkers, "J")):
            for j in range(n):
                rows.append((f"{school}-{letter}{j + 1:03d}", school, k, role))
    people = pd.DataFrame(rows, columns=["respondent_id", "school_id", "school_index", "role"])
    n = len(people)

    scales = [s for s in inst.scales if s.id in SCALES]
    n_scales = len(scales)
    u = rng.normal(0, design.sd_school, (design.n_schools, n_scales))
    common = rng.normal(size=(n, 1))
    v = design.sd_person * (np.sqrt(0.6) * common + np.sqrt(0.4) * rng.normal(size=(n, n_scales)))
    w = rng.normal(0, design.sd_change, (n, n_scales))
    completes_post = rng.random(n) >= design.attrition
    answered = [np.ones(n, bool), completes_post]
    if n_waves == 3:  # drawn only for a third wave: a two-wave study keeps its numbers
        answered.append(completes_post & (rng.random(n) >= design.follow_up_attrition))

    role_arr = people["role"].to_numpy()
    m = np.array([[design.pre_means[r][s.id] for s in scales] for r in role_arr])
    school_idx = people["school_index"].to_numpy()
    in_control = np.isin(school_idx, control)
    deltas = [None]  # latent change from the first wave, per later wave
    for t in range(1, n_waves):
        delta = np.array([[_wave_effects(design, "intervention", t)[r][s.id] for s in scales]
                          for r in role_arr])
        if control:
            ctrl = _wave_effects(design, "control", t)
            delta[in_control] = np.array([[ctrl[r][s.id] for s in scales]
                                          for r in role_arr[in_control]]).reshape(-1, n_scales)
        deltas.append(delta)
    base = m + u[school_idx] + v
    # schools differ in their change: a school x wave effect (drawn only when asked for)
    u_sw = (rng.normal(0, design.sd_school_wave, (n_waves, design.n_schools, n_scales))
            if design.sd_school_wave > 0 else np.zeros((n_waves, design.n_schools, n_scales)))

    lo, hi = inst.response_scale.min, inst.response_scale.max
    waves = []
    for t, wave in enumerate(design.waves):
        keep = answered[t]
        e = rng.normal(0, design.sd_occasion, (n, n_scales))
        change = 0 * (deltas[1] + w) if t == 0 else 1 * (deltas[t] + w)
        latent = base + e + change + u_sw[t][school_idx]
        frame = people.loc[keep, ["respondent_id", "role", "school_id"]].copy()
        frame.insert(1, "wave", wave)
        for si, scale in enumerate(scales):
            for j, item_id in enumerate(scale.items):
                y = latent[:, si] + ITEM_OFFSETS[j % len(ITEM_OFFSETS)] + rng.normal(0, design.sd_item, n)
                ans = np.clip(np.rint(y), lo, hi)
                if inst.item(item_id).reverse:
                    ans = lo + hi - ans
                ans[rng.random(n) < design.item_missing] = np.nan
                frame[item_id] = ans[keep]
        waves.append(frame)
    responses = pd.concat(waves, ignore_index=True)
    responses = responses[["respondent_id", "wave", "role", "school_id", *inst.item_ids]]

    first = rng.choice(_FIRST, n)
    last = rng.choice(_LAST, n)
    people = people.drop(columns="school_index")
    people["name"] = [f"{a} {b}" for a, b in zip(first, last, strict=True)]
    people["email"] = [f"{a.lower()}.{b.replace(' ', '').lower()}{i}@voorbeeld.nl"
                       for i, (a, b) in enumerate(zip(first, last, strict=True))]
    people["phone"] = [f"06-{rng.integers(10_000_000, 99_999_999)}" for _ in range(n)]
    return SyntheticStudy(responses=responses, people=people, schools=schools, design=design,
                          conditions=conditions)


def _expected_item(mu: np.ndarray | float, sd: float, lo: int = 1, hi: int = 5) -> np.ndarray:
    # E[clip(round(Y), lo, hi)] for Y ~ N(mu, sd^2) = lo + sum_{c=lo}^{hi-1} P(Y > c + 1/2)
    mu = np.asarray(mu, dtype=float)
    return lo + sum(norm.sf((c + 0.5 - mu) / sd) for c in range(lo, hi))


def true_effects(design: StudyDesign | None = None, condition: str = "intervention",
                 wave: str | None = None) -> pd.DataFrame:
    """Expected change in the observed scale score per role and scale (a later wave minus the
    first).

    Returns a tidy frame with columns ``role, scale, latent_effect, expected_pre,
    expected_post, true_effect``. The scale score's expectation is the mean of its items'
    expectations (missingness is completely at random, so this holds for the mean of the
    answered items too). ``condition="control"``: the change in the control schools
    (``design.control_effects``, none by default); the true difference in differences of a
    role and scale is the intervention's ``true_effect`` minus the control's. ``wave``: the
    later wave (default: the second, ``post``); in a three-wave design the third
    (``follow-up``) gives the change to it (``follow_up_effects``), ``expected_post`` is then
    that wave's expectation.

    >>> te = true_effects()
    >>> float(te.set_index(["role", "scale"]).loc[("parent", "two_way_communication"), "latent_effect"])
    0.4
    >>> fu = true_effects(DEMO_DESIGN, wave="follow-up").set_index(["role", "scale"])
    >>> float(fu.loc[("parent", "two_way_communication"), "latent_effect"])
    0.3
    """
    design = design or StudyDesign()
    if condition not in ("intervention", "control"):
        raise ParameterError(Msg("errors.synth.condition", value=repr(condition)))
    _check_waves(design)
    later = list(design.waves[1:])
    wave = later[0] if wave is None else wave
    if wave not in later:
        raise ParameterError(Msg("errors.synth.wave", value=repr(wave), waves=later))
    sd_pre = np.sqrt(design.sd_school**2 + design.sd_person**2 + design.sd_occasion**2
                     + design.sd_item**2 + design.sd_school_wave**2)
    sd_post = np.sqrt(sd_pre**2 + design.sd_change**2)
    effects = _wave_effects(design, condition, design.waves.index(wave))
    rows = []
    for role in ROLES:
        for scale in SCALES:
            m, d = design.pre_means[role][scale], effects[role][scale]
            pre = float(np.mean([_expected_item(m + b, sd_pre) for b in ITEM_OFFSETS]))
            post = float(np.mean([_expected_item(m + d + b, sd_post) for b in ITEM_OFFSETS]))
            rows.append((role, scale, d, pre, post, post - pre))
    return pd.DataFrame(rows, columns=["role", "scale", "latent_effect", "expected_pre",
                                       "expected_post", "true_effect"])


# ---------------------------------------------------------------------------------------------
# exports as schools would submit them
# ---------------------------------------------------------------------------------------------
_ROLE_NL = {"parent": "ouder", "teacher": "leerkracht", "youthworker": "jeugdhulpverlener"}


def _label(value: float, inst: Instrument, lang: str = "nl") -> str:
    if np.isnan(value):
        return ""
    return pick_text(inst.response_scale.labels[int(value)], lang)


def write_demo_exports(out_dir: str | Path, seed: int = 2014,
                       design: StudyDesign | None = None) -> list[dict]:
    """Write the demo study as the exports schools submit; return the ingest specs for them.

    Files that already exist are left untouched (``data/raw/`` is read-only for the package): a
    file is written only when it is missing.

    Five exports in five formats, each with the quirks of the tool that writes it:

    ==============================  ======================================================
    file                            format
    ==============================  ======================================================
    ``ouders_pre.csv``              Google Forms CSV: ``Tijdstempel``, ``E-mailadres``,
                                    question text as headers, Dutch answer labels ("Weet
                                    ik niet" for half of the missing answers), parent's
                                    name and free-text comments; one double submission
                                    and one row without a participant number (both
                                    rejected)
    ``ouders_post.xlsx``            Microsoft Forms workbook: ``ID``, ``Start time``,
                                    ``Completion time``, ``Email``, ``Name``, question text
                                    as headers, Dutch labels
    ``professionals_pre.csv``       Dutch Excel CSV: semicolon, Windows-1252, CRLF, item ids,
                                    numeric codes, role and name columns
    ``professionals_post.sav``      SPSS (teachers): value labels on answers and role,
                                    99 = "Weet ik niet" declared user-missing, variable
                                    labels = item text
    ``jeugdhulp_post.csv``          Qualtrics CSV, three header rows (youth-care workers):
                                    ``ExternalReference`` = participant number, matrix
                                    question text ``"... - <item>"``, choice text, IP address,
                                    location, recipient name/e-mail, a free-text question,
                                    and one survey-preview response (rejected)
    ==============================  ======================================================

    With a third wave in ``design`` (``partnerschap-eval demo`` passes :data:`DEMO_DESIGN`) two
    more: ``ouders_follow-up.csv`` (Google Forms, as ``ouders_pre.csv`` without its two rejected
    rows) and ``professionals_follow-up.csv`` (Dutch Excel CSV, as ``professionals_pre.csv``).

    Accepted rows: exactly the simulated study (1371 with the default seed and design); no name,
    e-mail address, IP address or comment reaches the responses.
    """
    from .exports import (
        write_csv_export,
        write_qualtrics_csv,
        write_sav_export,
        write_xlsx_export,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    design = design or StudyDesign()
    study = simulate_study(seed=seed, design=design)
    inst = load_instrument("partnerschap")
    rng = np.random.default_rng(seed + 1)
    resp = study.responses.merge(study.people[["respondent_id", "name", "email", "phone"]],
                                 on="respondent_id")
    resp = resp.merge(study.schools, on="school_id")
    item_ids = inst.item_ids
    specs: list[dict] = []

    def new(name: str) -> Path | None:
        path = out / name
        return None if path.exists() else path  # raw data is never modified

    def labels_with_dont_know(values: np.ndarray) -> list[str]:
        # Half of the missing answers were given as "Weet ik niet" rather than left blank.
        labels = [_label(v, inst) for v in values]
        return [("Weet ik niet" if (lab == "" and rng.random() < 0.5) else lab) for lab in labels]

    def moments(n: int, month: int) -> list[pd.Timestamp]:
        base = pd.Timestamp(f"2025-{month:02d}-01 08:00")
        return [base + pd.Timedelta(minutes=int(m)) for m in np.sort(rng.integers(0, 40_000, n))]

    def google_forms(wave: str, month: int, quirks: bool) -> None:
        """Parents of ``wave`` as a Google Forms CSV (``quirks``: a double submission and a row
        without a participant number, both rejected)."""
        parents = resp[(resp["wave"] == wave) & (resp["role"] == "parent")]
        when = moments(len(parents), month)
        cols = {
            "Tijdstempel": [t.strftime("%d-%m-%Y %H:%M:%S") for t in when],
            "E-mailadres": parents["email"].to_numpy(),
            "Deelnemernummer": parents["respondent_id"].to_numpy(),
            "School": parents["school_name"].to_numpy(),
            "Naam ouder": parents["name"].to_numpy(),
        }
        for item in inst.items:
            cols[pick_text(item.text["parent"], "nl")] = labels_with_dont_know(
                parents[item.id].to_numpy())
        cols["Opmerkingen"] = ["" if rng.random() < 0.8
                               else "Fijn dat er aandacht voor is, bel me gerust"
                               for _ in range(len(parents))]
        frame = pd.DataFrame(cols)
        if quirks:  # a parent pressed "submit" twice (exact duplicate), one left the number empty
            extra = frame.iloc[[3, 10]].copy()
            extra.iloc[1, extra.columns.get_loc("Deelnemernummer")] = ""
            frame = pd.concat([frame.iloc[:4], extra.iloc[[0]], frame.iloc[4:], extra.iloc[[1]]],
                              ignore_index=True)
        if (path := new(f"ouders_{wave}.csv")) is not None:
            write_csv_export(frame, path)
        specs.append({"path": out / f"ouders_{wave}.csv", "wave": wave, "role": "parent"})

    def excel_csv(wave: str) -> None:
        """Teachers and youth-care workers of ``wave`` as a Dutch Excel CSV."""
        prof = resp[(resp["wave"] == wave) & (resp["role"] != "parent")]
        pframe = pd.DataFrame({
            "respondent": prof["respondent_id"].to_numpy(),
            "schoolnaam": prof["school_name"].to_numpy(),
            "rol": [_ROLE_NL[r] for r in prof["role"]],
            "naam": prof["name"].to_numpy(),
            **{i: prof[i].astype("Int64").to_numpy() for i in item_ids},
        })
        if (path := new(f"professionals_{wave}.csv")) is not None:
            write_csv_export(pframe, path, encoding="cp1252", delimiter=";", line_end="\r\n")
        specs.append({"path": out / f"professionals_{wave}.csv", "wave": wave})

    # parents, pre: Google Forms CSV ----------------------------------------------------------
    google_forms("pre", 2, quirks=True)

    # parents, post: Microsoft Forms workbook --------------------------------------------------
    parents = resp[(resp["wave"] == "post") & (resp["role"] == "parent")]
    start = moments(len(parents), 6)
    cols = {
        "ID": np.arange(1, len(parents) + 1),
        "Start time": start,
        "Completion time": [t + pd.Timedelta(minutes=int(rng.integers(3, 15))) for t in start],
        "Email": parents["email"].to_numpy(),
        "Name": parents["name"].to_numpy(),
        "Deelnemernummer": parents["respondent_id"].to_numpy(),
        "Naam van de school": parents["school_name"].to_numpy(),
    }
    for item in inst.items:
        cols[pick_text(item.text["parent"], "nl")] = labels_with_dont_know(
            parents[item.id].to_numpy())
    if (path := new("ouders_post.xlsx")) is not None:
        write_xlsx_export(pd.DataFrame(cols), path, sheet="Form1")
    specs.append({"path": out / "ouders_post.xlsx", "wave": "post", "role": "parent"})

    # professionals, pre: Dutch Excel CSV -------------------------------------------------------
    excel_csv("pre")

    # teachers, post: SPSS with value labels and a user-missing code ----------------------------
    teach = resp[(resp["wave"] == "post") & (resp["role"] == "teacher")]
    answers = teach[item_ids].to_numpy(copy=True)
    blank = np.isnan(answers)
    answers[blank & (rng.random(answers.shape) < 0.5)] = 99  # "Weet ik niet", declared missing
    sav = pd.DataFrame({"deelnemer": teach["respondent_id"].to_numpy(),
                        "school": teach["school_name"].to_numpy(),
                        "rol": np.ones(len(teach)),
                        "naam": teach["name"].to_numpy(),
                        **{i: answers[:, j] for j, i in enumerate(item_ids)}})
    scale = {float(code): pick_text(text, "nl")
             for code, text in inst.response_scale.labels.items()}
    if (path := new("professionals_post.sav")) is not None:
        write_sav_export(
            sav, path,
            variable_labels={"deelnemer": "Deelnemernummer", "school": "Naam van de school",
                             "rol": "Functie", "naam": "Naam",
                             **{i: pick_text(inst.item(i).text["teacher"], "nl")
                                for i in item_ids}},
            value_labels={"rol": {1.0: "leerkracht", 2.0: "jeugdhulpverlener"},
                          **{i: {**scale, 99.0: "Weet ik niet"} for i in item_ids}},
            missing_ranges={i: [99] for i in item_ids})
    specs.append({"path": out / "professionals_post.sav", "wave": "post"})

    # youth-care workers, post: Qualtrics CSV (current layout) ----------------------------------
    youth = resp[(resp["wave"] == "post") & (resp["role"] == "youthworker")]
    n = len(youth)
    start = moments(n + 1, 6)
    first_last = [name.split(" ", 1) for name in youth["name"]]
    q = {f"Q1_{j + 1}": i for j, i in enumerate(item_ids)}
    qcols = {
        "StartDate": [t.strftime("%Y-%m-%d %H:%M:%S") for t in start[:n]],
        "EndDate": [(t + pd.Timedelta(minutes=7)).strftime("%Y-%m-%d %H:%M:%S") for t in start[:n]],
        "Status": ["IP Address"] * n,
        "IPAddress": [f"145.{rng.integers(1, 255)}.{rng.integers(1, 255)}.{rng.integers(1, 255)}"
                      for _ in range(n)],
        "Progress": ["100"] * n, "Duration (in seconds)": [str(420)] * n, "Finished": ["True"] * n,
        "RecordedDate": [(t + pd.Timedelta(minutes=7)).strftime("%Y-%m-%d %H:%M:%S")
                         for t in start[:n]],
        "ResponseId": [f"R_{rng.integers(16**14):014x}" for _ in range(n)],
        "RecipientLastName": [p[1] if len(p) > 1 else "" for p in first_last],
        "RecipientFirstName": [p[0] for p in first_last],
        "RecipientEmail": youth["email"].to_numpy(),
        "ExternalReference": youth["respondent_id"].to_numpy(),
        "LocationLatitude": [f"{51.69 + rng.normal(0, 0.01):.6f}" for _ in range(n)],
        "LocationLongitude": [f"{5.30 + rng.normal(0, 0.01):.6f}" for _ in range(n)],
        "DistributionChannel": ["email"] * n, "UserLanguage": ["NL"] * n,
        **{col: [_label(v, inst) for v in youth[item].to_numpy()] for col, item in q.items()},
        "Q2_TEXT": ["" if rng.random() < 0.7 else "Meer tijd voor overleg met ouders graag"
                    for _ in range(n)],
        "school": youth["school_name"].to_numpy(),
    }
    qframe = pd.DataFrame(qcols)
    preview = qframe.iloc[[0]].copy()  # the coordinator tried the survey out first
    preview.loc[:, ["Status", "ExternalReference", "RecipientEmail", "RecipientFirstName",
                    "RecipientLastName", "Q2_TEXT"]] = ["Survey Preview", "", "", "", "", "test"]
    qframe = pd.concat([preview, qframe], ignore_index=True)
    text = {col: "In hoeverre bent u het eens met de volgende uitspraken? - "
                 + pick_text(inst.item(item).text["youthworker"], "nl") for col, item in q.items()}
    text["Q2_TEXT"] = "Wat wilt u ons nog meegeven?"
    if (path := new("jeugdhulp_post.csv")) is not None:
        write_qualtrics_csv(qframe, path, text)
    specs.append({"path": out / "jeugdhulp_post.csv", "wave": "post", "role": "youthworker"})

    # a third wave (the demo's follow-up): Google Forms for parents, Excel CSV for the others --
    for wave in design.waves[2:]:
        google_forms(wave, 11, quirks=False)
        excel_csv(wave)
    return specs


# ---------------------------------------------------------------------------------------------
# the frameworks (Epstein, Gerdes, participatieladder, praatplaat): a seeded simulation with
# known true shifts, on the same respondents as simulate_study
# ---------------------------------------------------------------------------------------------
__all__ += ["FrameworkDesign", "FrameworkStudy", "simulate_frameworks",
            "simulate_framework_replications", "framework_true_shifts", "FRAMEWORK_INSTRUMENTS",
            "EPSTEIN_TYPES"]

FRAMEWORK_INSTRUMENTS = ("epstein", "gerdes", "participatieladder", "praatplaat")
EPSTEIN_TYPES = ("epstein_parenting", "epstein_communicating", "epstein_volunteering",
                 "epstein_learning_at_home", "epstein_decision_making", "epstein_community")


@dataclass(frozen=True)
class FrameworkDesign:
    """True values of the framework simulation (see :func:`simulate_frameworks`).

    Latent means are on the answer scale of each instrument; ``*_shift`` are the true changes
    from ``pre`` to ``post``, all multiplied by ``shift_factor`` (0 gives a study without any
    true change, for checking the tests' false-positive rate).
    """

    study: StudyDesign = field(default_factory=StudyDesign)
    shift_factor: float = 1.0
    #: With a third wave in ``study``: the share of every shift still there at it.
    follow_up_factor: float = 0.8
    #: With control schools in ``study``: their shift as a share of the intervention's (0: the
    #: frameworks do not move there).
    control_shift_factor: float = 0.0
    sd_school: float = 0.25
    sd_person: float = 0.55
    sd_occasion: float = 0.30
    sd_item: float = 0.60
    # Gerdes: latent collaboration, items of level L offset by gerdes_steps[L - 1]
    gerdes_pre: dict = field(default_factory=lambda: {
        "parent": 3.40, "teacher": 3.70, "youthworker": 3.80})
    gerdes_shift: dict = field(default_factory=lambda: {
        "parent": 0.45, "teacher": 0.35, "youthworker": 0.35})
    gerdes_steps: tuple[float, float, float] = (0.0, -0.6, -1.2)
    # participatieladder: latent rungs (1 informing ... 5 deciding together, 6 self-management)
    ladder_expected_pre: dict = field(default_factory=lambda: {
        "parent": 3.30, "teacher": 3.20, "youthworker": 3.40})
    ladder_expected_shift: dict = field(default_factory=lambda: {
        "parent": 0.10, "teacher": 0.10, "youthworker": 0.10})
    ladder_experienced_pre: dict = field(default_factory=lambda: {
        "parent": 2.40, "teacher": 2.90, "youthworker": 3.00})
    ladder_experienced_shift: dict = field(default_factory=lambda: {
        "parent": 0.60, "teacher": 0.40, "youthworker": 0.40})
    sd_ladder_person: float = 0.70
    sd_ladder_occasion: float = 0.40
    ladder_person_correlation: float = 0.5
    zelfbeheer: bool = True
    # Epstein: latent frequency per type (1 never ... 5 very often)
    epstein_pre: dict = field(default_factory=lambda: {
        "parent": dict(zip(EPSTEIN_TYPES, (2.4, 3.2, 2.2, 2.6, 2.0, 1.9), strict=True)),
        "teacher": dict(zip(EPSTEIN_TYPES, (2.8, 3.6, 2.5, 3.0, 2.4, 2.3), strict=True)),
        "youthworker": dict(zip(EPSTEIN_TYPES, (2.9, 3.2, 2.0, 2.8, 2.5, 2.8), strict=True)),
    })
    epstein_shift: dict = field(default_factory=lambda: dict(zip(
        EPSTEIN_TYPES, (0.30, 0.40, 0.00, 0.50, 0.40, 0.10), strict=True)))
    #: item offsets within a type: two 'offered' items, then 'took part'
    epstein_offsets: tuple[float, float, float] = (0.15, -0.05, -0.30)
    # praatplaat: latent on 1 needs work ... 3 going well
    praatplaat_pre: dict = field(default_factory=lambda: {
        "parent": 2.00, "teacher": 2.30, "youthworker": 2.30})
    praatplaat_shift: dict = field(default_factory=lambda: {
        "parent": 0.25, "teacher": 0.20, "youthworker": 0.20})
    sd_praatplaat_item: float = 0.50
    praatplaat_offsets: tuple[float, ...] = (0.2, 0.0, -0.1, -0.3, -0.15, -0.35, 0.0, 0.1,
                                             0.25, 0.05, -0.2, -0.25)


@dataclass(frozen=True)
class FrameworkStudy:
    """Simulated framework responses: instrument id -> Contract 2 table (raw ids)."""

    responses: dict[str, pd.DataFrame]
    design: FrameworkDesign


def _framework_panel(seed: int, study: StudyDesign) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """The respondents of ``simulate_study(seed)``: people (with ``arm``, 1 in intervention and
    0 in control schools) and, per wave, who answered it."""
    base = simulate_study(seed=seed, design=study)
    first, *later = study.waves
    pre = base.responses.loc[base.responses["wave"] == first,
                             ["respondent_id", "role", "school_id"]]
    people = pre.reset_index(drop=True)
    schools = {s: i for i, s in enumerate(sorted(people["school_id"].unique()))}
    people["school_index"] = people["school_id"].map(schools).to_numpy()
    if base.conditions:
        people["arm"] = (people["school_id"].map(base.conditions) == "intervention").astype(float)
    answered = [np.ones(len(people), bool)]
    for wave in later:
        ids = set(base.responses.loc[base.responses["wave"] == wave, "respondent_id"])
        answered.append(people["respondent_id"].isin(ids).to_numpy())
    return people, answered


def _framework_tables(seed_seq: np.random.SeedSequence, people: pd.DataFrame,
                      answered: list[np.ndarray], n_schools: int, design: FrameworkDesign,
                      instruments: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Answers of ``people`` to the framework instruments (one independent stream each)."""
    n = len(people)
    role = people["role"].to_numpy()
    school = people["school_index"].to_numpy()
    wave_ids = design.study.waves
    T = range(len(wave_ids))
    # the share of the shift at each wave: none at the first, all at the second, part at a third
    share = [0, 1, design.follow_up_factor][:len(wave_ids)]
    if "arm" in people.columns:  # control schools: control_shift_factor of the shift
        arm = people["arm"].to_numpy()
        arm = arm + (1 - arm) * design.control_shift_factor
        gain = [share[t] * design.shift_factor * arm for t in T]
    else:  # (t * f, as before: a study without conditions keeps its numbers)
        gain = [share[t] * design.shift_factor for t in T]
    miss = design.study.item_missing
    streams = dict(zip(FRAMEWORK_INSTRUMENTS, seed_seq.spawn(len(FRAMEWORK_INSTRUMENTS)),
                       strict=True))
    extra = [c for c in ("replication",) if c in people.columns]
    people = people.drop(columns=[c for c in ("arm",) if c in people.columns])

    def per_role(values: dict) -> np.ndarray:
        return np.array([values[r] for r in role], dtype=float)

    def frames(answers: dict[str, np.ndarray]) -> pd.DataFrame:
        parts = []
        for t, wave in enumerate(wave_ids):
            keep = answered[t]
            frame = people.loc[keep, [*extra, "respondent_id", "role", "school_id"]].copy()
            frame.insert(len(extra) + 1, "wave", wave)
            for item, a in answers.items():
                frame[item] = a[t][keep]
            parts.append(frame)
        return pd.concat(parts, ignore_index=True)

    def answer(rng: np.random.Generator, y: np.ndarray, lo: int, hi: int) -> np.ndarray:
        a = np.clip(np.rint(y), lo, hi)
        a[rng.random(a.shape) < miss] = np.nan
        return a

    out: dict[str, pd.DataFrame] = {}
    if "gerdes" in instruments:
        rng = np.random.default_rng(streams["gerdes"])
        base = (per_role(design.gerdes_pre) + rng.normal(0, design.sd_school, n_schools)[school]
                + rng.normal(0, design.sd_person, n))
        latent = [base + rng.normal(0, design.sd_occasion, n) + gain[t] * per_role(design.gerdes_shift)
                  for t in T]
        answers = {}
        for level, prefix in enumerate(("gd_inf", "gd_dep", "gd_int")):
            for j, b in enumerate((0.10, -0.10, 0.05, -0.05), start=1):
                answers[f"{prefix}{j}"] = [
                    answer(rng, latent[t] + design.gerdes_steps[level] + b
                           + rng.normal(0, design.sd_item, n), 1, 5) for t in T]
        out["gerdes"] = frames(answers)
    if "participatieladder" in instruments:
        rng = np.random.default_rng(streams["participatieladder"])
        rho = design.ladder_person_correlation
        common = rng.normal(size=n)
        u = rng.normal(0, design.sd_school, n_schools)[school]
        top = 6 if design.zelfbeheer else 5
        answers = {}
        for item, pre, shift in (("pl_expected", design.ladder_expected_pre,
                                  design.ladder_expected_shift),
                                 ("pl_experienced", design.ladder_experienced_pre,
                                  design.ladder_experienced_shift)):
            v = design.sd_ladder_person * (np.sqrt(rho) * common
                                           + np.sqrt(1 - rho) * rng.normal(size=n))
            answers[item] = [answer(rng, per_role(pre) + u + v
                                    + rng.normal(0, design.sd_ladder_occasion, n)
                                    + gain[t] * per_role(shift), 1, top) for t in T]
        out["participatieladder"] = frames(answers)
    if "epstein" in instruments:
        rng = np.random.default_rng(streams["epstein"])
        common = rng.normal(size=n)
        answers = {}
        prefixes = ("ep_par", "ep_com", "ep_vol", "ep_lth", "ep_dec", "ep_col")
        for type_id, prefix in zip(EPSTEIN_TYPES, prefixes, strict=True):
            mean = np.array([design.epstein_pre[r][type_id] for r in role])
            v = design.sd_person * (np.sqrt(0.5) * common + np.sqrt(0.5) * rng.normal(size=n))
            base = mean + rng.normal(0, design.sd_school, n_schools)[school] + v
            latent = [base + rng.normal(0, design.sd_occasion, n)
                      + gain[t] * design.epstein_shift[type_id] for t in T]
            for suffix, b in zip(("_o1", "_o2", "_part"), design.epstein_offsets, strict=True):
                answers[prefix + suffix] = [
                    answer(rng, latent[t] + b + rng.normal(0, design.sd_item, n), 1, 5)
                    for t in T]
        out["epstein"] = frames(answers)
    if "praatplaat" in instruments:
        rng = np.random.default_rng(streams["praatplaat"])
        themes = ("pp_child", "pp_possibilities", "pp_connection", "pp_children", "pp_expertise",
                  "pp_support", "pp_equality", "pp_close", "pp_positive", "pp_results",
                  "pp_agreements", "pp_review")
        base = (per_role(design.praatplaat_pre)
                + rng.normal(0, design.sd_school * 0.6, n_schools)[school]
                + rng.normal(0, design.sd_person * 0.6, n))
        latent = [base + rng.normal(0, design.sd_occasion * 0.6, n)
                  + gain[t] * per_role(design.praatplaat_shift) for t in T]
        answers = {theme: [answer(rng, latent[t] + b + rng.normal(0, design.sd_praatplaat_item, n),
                                  1, 3) for t in T]
                   for theme, b in zip(themes, design.praatplaat_offsets, strict=True)}
        out["praatplaat"] = frames(answers)
    return out


def simulate_frameworks(seed: int = 2014, design: FrameworkDesign | None = None,
                        instruments: tuple[str, ...] = FRAMEWORK_INSTRUMENTS) -> FrameworkStudy:
    """Simulate the framework instruments for the WiSH-like study, with known true shifts.

    The respondents are those of :func:`simulate_study` with the same ``seed`` (same ids such
    as ``S01-O001``, schools, roles and the same ~20 % who did not answer at post); their
    answers come from independent random streams, so the partnerschap data of that seed are
    unchanged. About 3 % of item answers are missing completely at random.

    Generating model (respondent *i* of role *r* in school *k*, wave *t* = 0 pre, 1 post;
    school effects :math:`u_k \\sim N(0, 0.25^2)`, person effects :math:`v_i \\sim N(0, 0.55^2)`,
    occasion noise :math:`e_{it} \\sim N(0, 0.30^2)`, item noise :math:`\\varepsilon \\sim
    N(0, 0.60^2)`; answers are rounded and clipped to the response scale):

    * Gerdes: latent :math:`g = G_r + u_k + v_i + e_{it} + t\\Delta_r`; an item of level L
      answers :math:`g + s_L + b_j + \\varepsilon` with steps :math:`s = (0, -0.6, -1.2)`, so
      higher levels are harder. :math:`G` = 3.40 / 3.70 / 3.80 and the true shift
      :math:`\\Delta` = **+0.45 / +0.35 / +0.35** (parent / teacher / youthworker): Gerdes
      levels move up.
    * Participatieladder: expected rung latent 3.3 / 3.2 / 3.4 with shift **+0.10**, experienced
      rung latent 2.4 / 2.9 / 3.0 with shift **+0.60 / +0.40 / +0.40**, person effects
      :math:`N(0, 0.70^2)` correlated .5 between the two, occasion noise
      :math:`N(0, 0.40^2)`, rounded to rungs 1..6 (6 = zelfbeheer, rare): the experienced rung
      moves up and the mismatch (experienced - expected) shrinks from about -0.89 to -0.40
      rungs for parents (exact values: :func:`framework_true_shifts`).
    * Epstein: per type a latent frequency (parents: parenting 2.4, communicating 3.2,
      volunteering 2.2, learning at home 2.6, decision making 2.0, community 1.9) with true
      shifts **+0.30, +0.40, 0.00, +0.50, +0.40, +0.10** for every role (WiSH's parent
      meetings, messages, home exercises and asking parents' views; volunteering unchanged);
      'took part' items sit 0.30 below the 'offered' ones.
    * Praatplaat: latent 2.0 / 2.3 / 2.3 on the 1-3 scale with shift **+0.25 / +0.20 / +0.20**.

    ``design.shift_factor`` scales every shift (0: no true change anywhere). With a third wave
    in ``design.study`` (the demo's :data:`DEMO_DESIGN`) the shift at it is
    ``design.follow_up_factor`` (0.8) times the shift; with control schools their shift is
    ``design.control_shift_factor`` (0) times the intervention's: the frameworks do not move
    there. A study of two waves without conditions draws the same numbers as before.

    Examples
    --------
    >>> fw = simulate_frameworks(seed=1)
    >>> sorted(fw.responses)
    ['epstein', 'gerdes', 'participatieladder', 'praatplaat']
    >>> fw.responses["gerdes"]["respondent_id"].iloc[0]
    'S01-O001'
    >>> set(fw.responses["gerdes"]["respondent_id"]) == set(simulate_study(seed=1).responses["respondent_id"])
    True
    """
    design = design or FrameworkDesign()
    people, answered = _framework_panel(seed, design.study)
    seq = np.random.SeedSequence(seed, spawn_key=(7,))
    tables = _framework_tables(seq, people, answered, design.study.n_schools, design,
                               tuple(instruments))
    return FrameworkStudy(responses=tables, design=design)


def simulate_framework_replications(seed: int, n_replications: int,
                                    design: FrameworkDesign | None = None,
                                    instruments: tuple[str, ...] = ("gerdes",
                                                                    "participatieladder"),
                                    ) -> FrameworkStudy:
    """Many replications of :func:`simulate_frameworks` in one vectorised draw.

    Every replication has the respondents of ``simulate_study(seed)`` (same sizes and
    attrition) with new school effects and answers; the tables hold all replications stacked,
    with a ``replication`` column (1..n) and ids prefixed ``R001-`` ... so that ids are unique.
    Used to check that a test keeps its size when ``shift_factor = 0``.

    >>> rep = simulate_framework_replications(seed=1, n_replications=3,
    ...                                       instruments=("gerdes",))
    >>> rep.responses["gerdes"]["replication"].nunique()
    3
    """
    design = design or FrameworkDesign()
    people, answered = _framework_panel(seed, design.study)
    m = len(people)
    n_schools = design.study.n_schools
    reps = np.repeat(np.arange(n_replications), m)
    stacked = pd.DataFrame({
        "replication": reps + 1,
        "respondent_id": [f"R{r + 1:03d}-{i}" for r, i in
                          zip(reps, np.tile(people["respondent_id"].to_numpy(), n_replications),
                              strict=True)],
        "role": np.tile(people["role"].to_numpy(), n_replications),
        "school_id": np.tile(people["school_id"].to_numpy(), n_replications),
        "school_index": np.tile(people["school_index"].to_numpy(), n_replications)
        + reps * n_schools,
    })
    seq = np.random.SeedSequence(seed, spawn_key=(8, n_replications))
    if "arm" in people.columns:
        stacked["arm"] = np.tile(people["arm"].to_numpy(), n_replications)
    tables = _framework_tables(seq, stacked, [np.tile(a, n_replications) for a in answered],
                               n_schools * n_replications, design, tuple(instruments))
    return FrameworkStudy(responses=tables, design=design)


def framework_true_shifts(design: FrameworkDesign | None = None) -> pd.DataFrame:
    """The true changes built into :func:`simulate_frameworks`, per framework, role and quantity.

    Returns ``framework, role, quantity, latent_pre, latent_shift, expected_pre,
    expected_post`` where ``latent_*`` are the generating values (times ``shift_factor``) and
    ``expected_*`` the exact expected observed values where they have a closed form: the mean
    rung :math:`E[\\mathrm{clip}(\\mathrm{round}(Y))] = 1 + \\sum_c P(Y > c + 1/2)` for the
    expected and experienced rung, and their difference for the mismatch (NaN otherwise).

    >>> t = framework_true_shifts().set_index(["framework", "role", "quantity"])
    >>> round(float(t.loc[("participatieladder", "parent", "mismatch"), "expected_pre"]), 2)
    -0.89
    """
    design = design or FrameworkDesign()
    f = design.shift_factor
    rows = []
    for role in ROLES:
        rows.append(("gerdes", role, "latent_collaboration", design.gerdes_pre[role],
                     f * design.gerdes_shift[role], np.nan, np.nan))
        sd = np.sqrt(design.sd_school**2 + design.sd_ladder_person**2
                     + design.sd_ladder_occasion**2)
        top = 6 if design.zelfbeheer else 5
        expect = {}
        for q, pre, shift in (("expected_rung", design.ladder_expected_pre,
                               design.ladder_expected_shift),
                              ("experienced_rung", design.ladder_experienced_pre,
                               design.ladder_experienced_shift)):
            e_pre = float(_expected_item(pre[role], sd, 1, top))
            e_post = float(_expected_item(pre[role] + f * shift[role], sd, 1, top))
            expect[q] = (e_pre, e_post)
            rows.append(("participatieladder", role, q, pre[role], f * shift[role], e_pre, e_post))
        rows.append(("participatieladder", role, "mismatch",
                     design.ladder_experienced_pre[role] - design.ladder_expected_pre[role],
                     f * (design.ladder_experienced_shift[role]
                          - design.ladder_expected_shift[role]),
                     expect["experienced_rung"][0] - expect["expected_rung"][0],
                     expect["experienced_rung"][1] - expect["expected_rung"][1]))
        for type_id in EPSTEIN_TYPES:
            rows.append(("epstein", role, type_id, design.epstein_pre[role][type_id],
                         f * design.epstein_shift[type_id], np.nan, np.nan))
        rows.append(("praatplaat", role, "latent_praatplaat", design.praatplaat_pre[role],
                     f * design.praatplaat_shift[role], np.nan, np.nan))
    return pd.DataFrame(rows, columns=["framework", "role", "quantity", "latent_pre",
                                       "latent_shift", "expected_pre", "expected_post"])


# ---------------------------------------------------------------------------------------------
# framework exports for the demo (Epstein, Gerdes, participatieladder, praatplaat)
# ---------------------------------------------------------------------------------------------
__all__ += ["FRAMEWORK_INSTRUMENTS", "write_framework_exports"]

#: The framework instruments the demo study includes, in report order.
FRAMEWORK_INSTRUMENTS = ("gerdes", "participatieladder", "epstein", "praatplaat")


def write_framework_exports(out_dir: str | Path, seed: int = 2014,
                            design: FrameworkDesign | None = None) -> list[dict]:
    """Write the demo's framework questionnaires as one CSV per wave; return ingest specs.

    The second part of the demo questionnaire (all four framework instruments, numeric codes,
    a role column) as a survey tool would export it. Respondents, schools and dropouts are
    those of :func:`simulate_study` with the same seed and ``design.study``, so the pseudonyms
    link across instruments. Existing files are never overwritten. Each spec names the
    instrument to ingest the file with (the same file is ingested once per instrument).
    ``partnerschap-eval demo`` passes ``FrameworkDesign(study=DEMO_DESIGN)``: three waves
    (``kaders_follow-up.csv`` too), 80 % of every shift left at the follow-up and none in the
    control schools.
    """
    from .._io import write_text

    design = design or FrameworkDesign()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    study = simulate_study(seed=seed, design=design.study)
    names = dict(zip(study.schools["school_id"], study.schools["school_name"], strict=True))
    frames = simulate_frameworks(seed=seed, design=design).responses
    keys = ["respondent_id", "wave", "role", "school_id"]
    wide = frames[FRAMEWORK_INSTRUMENTS[0]]
    for inst_id in FRAMEWORK_INSTRUMENTS[1:]:
        wide = wide.merge(frames[inst_id], on=keys, how="outer")
    specs = []
    for wave in design.study.waves:
        part = wide[wide["wave"] == wave].drop(columns="wave")
        export = pd.DataFrame({
            "respondent": part["respondent_id"].to_numpy(),
            "school": part["school_id"].map(names).to_numpy(),
            "rol": [_ROLE_NL[r] for r in part["role"]],
        })
        for col in part.columns[3:]:
            export[col] = part[col].to_numpy()
        path = out / f"kaders_{wave}.csv"
        if not path.exists():
            write_text(path, export.to_csv(index=False, lineterminator="\n", float_format="%.0f"))
        specs += [{"path": path, "wave": wave, "instrument": inst_id}
                  for inst_id in FRAMEWORK_INSTRUMENTS]
    return specs
