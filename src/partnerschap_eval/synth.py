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

from .instruments import Instrument, load_instrument, pick_text

__all__ = ["StudyDesign", "SyntheticStudy", "simulate_study", "true_effects", "write_demo_exports",
           "PRE_MEANS", "LATENT_EFFECTS"]

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


@dataclass(frozen=True)
class SyntheticStudy:
    """The simulated study: tidy responses (raw ids) and the personal data an export would hold."""

    responses: pd.DataFrame  # Contract 2 columns with raw (not pseudonymised) respondent ids
    people: pd.DataFrame  # respondent_id, school_id, role, name, email, phone
    schools: pd.DataFrame  # school_id, school_name
    design: StudyDesign


def _school_names(n: int, rng: np.random.Generator) -> list[str]:
    prefixes = ["Basisschool", "OBS", "RK Basisschool", "CBS", "Kindcentrum"]
    names: list[str] = []
    for i in range(n):
        word = _SCHOOL_WORDS[i % len(_SCHOOL_WORDS)]
        prefix = prefixes[int(rng.integers(len(prefixes)))]
        suffix = "" if i < len(_SCHOOL_WORDS) else " Noord"
        names.append(f"{prefix} {word}{suffix}")
    return names


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
    """
    design = design or StudyDesign()
    inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
    rng = np.random.default_rng(seed)
    schools = pd.DataFrame({
        "school_id": [f"S{k + 1:02d}" for k in range(design.n_schools)],
        "school_name": _school_names(design.n_schools, rng),
    })

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

    role_arr = people["role"].to_numpy()
    m = np.array([[design.pre_means[r][s.id] for s in scales] for r in role_arr])
    delta = np.array([[design.effects[r][s.id] for s in scales] for r in role_arr])
    base = m + u[people["school_index"].to_numpy()] + v

    lo, hi = inst.response_scale.min, inst.response_scale.max
    waves = []
    for t, wave in enumerate(("pre", "post")):
        keep = np.ones(n, bool) if t == 0 else completes_post
        e = rng.normal(0, design.sd_occasion, (n, n_scales))
        latent = base + e + t * (delta + w)
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
    return SyntheticStudy(responses=responses, people=people, schools=schools, design=design)


def _expected_item(mu: np.ndarray | float, sd: float, lo: int = 1, hi: int = 5) -> np.ndarray:
    # E[clip(round(Y), lo, hi)] for Y ~ N(mu, sd^2) = lo + sum_{c=lo}^{hi-1} P(Y > c + 1/2)
    mu = np.asarray(mu, dtype=float)
    return lo + sum(norm.sf((c + 0.5 - mu) / sd) for c in range(lo, hi))


def true_effects(design: StudyDesign | None = None) -> pd.DataFrame:
    """Expected change in the observed scale score per role and scale (post minus pre).

    Returns a tidy frame with columns ``role, scale, latent_effect, expected_pre,
    expected_post, true_effect``. The scale score's expectation is the mean of its items'
    expectations (missingness is completely at random, so this holds for the mean of the
    answered items too).

    >>> te = true_effects()
    >>> float(te.set_index(["role", "scale"]).loc[("parent", "two_way_communication"), "latent_effect"])
    0.4
    """
    design = design or StudyDesign()
    sd_pre = np.sqrt(design.sd_school**2 + design.sd_person**2 + design.sd_occasion**2
                     + design.sd_item**2)
    sd_post = np.sqrt(sd_pre**2 + design.sd_change**2)
    rows = []
    for role in ROLES:
        for scale in SCALES:
            m, d = design.pre_means[role][scale], design.effects[role][scale]
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


def write_demo_exports(out_dir: str | Path, seed: int = 2014) -> list[dict]:
    """Write the demo study as the exports schools submit; return the ingest specs for them.

    Files that already exist are left untouched (``data/raw/`` is read-only for the package).

    Parents answered a Dutch online form (one CSV per wave, item text as header, answer labels,
    "Weet ik niet" for some missing answers, names and e-mail addresses included); professionals
    were exported as a Dutch Excel CSV (semicolon, item ids, numeric codes, a role column).
    """
    from ._io import write_bytes, write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    study = simulate_study(seed=seed)
    inst = load_instrument("partnerschap")
    rng = np.random.default_rng(seed + 1)
    resp = study.responses.merge(study.people[["respondent_id", "name", "email", "phone"]],
                                 on="respondent_id")
    resp = resp.merge(study.schools, on="school_id")
    specs = []
    for wave in ("pre", "post"):
        part = resp[resp["wave"] == wave]
        parents = part[part["role"] == "parent"]
        cols = {
            "Tijdstempel": [f"2025-{'02' if wave == 'pre' else '06'}-{1 + i % 27:02d} 19:{i % 60:02d}"
                            for i in range(len(parents))],
            "Deelnemernummer": parents["respondent_id"].to_numpy(),
            "School": parents["school_name"].to_numpy(),
            "Naam ouder": parents["name"].to_numpy(),
            "E-mailadres": parents["email"].to_numpy(),
        }
        for item in inst.items:
            labels = [_label(v, inst) for v in parents[item.id].to_numpy()]
            # Half of the missing answers were given as "Weet ik niet" rather than left blank.
            labels = [("Weet ik niet" if (lab == "" and rng.random() < 0.5) else lab) for lab in labels]
            cols[pick_text(item.text["parent"], "nl")] = labels
        cols["Opmerkingen"] = ["" if rng.random() < 0.8 else "Fijn dat er aandacht voor is, bel me gerust"
                               for _ in range(len(parents))]
        frame = pd.DataFrame(cols)
        path = out / f"ouders_{wave}.csv"
        if not path.exists():  # raw data is never modified: an existing export is kept as is
            write_text(path, frame.to_csv(index=False, lineterminator="\n"))
        specs.append({"path": path, "wave": wave, "role": "parent"})

        prof = part[part["role"] != "parent"]
        pcols = {
            "respondent": prof["respondent_id"].to_numpy(),
            "schoolnaam": prof["school_name"].to_numpy(),
            "rol": [_ROLE_NL[r] for r in prof["role"]],
            "naam": prof["name"].to_numpy(),
        }
        for item in inst.items:
            pcols[item.id] = prof[item.id].to_numpy()
        pframe = pd.DataFrame(pcols)
        ppath = out / f"professionals_{wave}.csv"
        # Dutch Excel: semicolon-separated, cp1252; codes written as integers.
        text = pframe.to_csv(index=False, sep=";", lineterminator="\r\n", float_format="%.0f")
        if not ppath.exists():
            write_bytes(ppath, text.encode("cp1252", errors="replace"))
        specs.append({"path": ppath, "wave": wave})
    return specs
