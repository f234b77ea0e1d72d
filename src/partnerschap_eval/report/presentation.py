"""Turning results into words and tables for readers: Dutch first, English on request.

Nothing here computes a statistic: every number comes from a Contract 4 results dictionary.
Numbers are formatted the Dutch way in Dutch reports (decimal comma, thousands dot,
``p < 0,001``); every string that came from data is HTML-escaped.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from ..instruments import Instrument, pick_text

__all__ = ["fmt_number", "fmt_p", "fmt_ci", "t", "paired_table", "reliability_table",
           "summary_sentences", "html_table", "effect_label"]

_TEXT = {
    "title": {"nl": "Evaluatierapport", "en": "Evaluation report"},
    "scale": {"nl": "Schaal", "en": "Scale"},
    "role": {"nl": "Rol", "en": "Role"},
    "group": {"nl": "Groep", "en": "Group"},
    "all": {"nl": "Iedereen", "en": "Everyone"},
    "n_pairs": {"nl": "n (paren)", "en": "n (pairs)"},
    "pre": {"nl": "Voor", "en": "Pre"},
    "post": {"nl": "Na", "en": "Post"},
    "diff": {"nl": "Verschil", "en": "Difference"},
    "ci": {"nl": "95%-BI", "en": "95% CI"},
    "p_adj": {"nl": "p (BH)", "en": "p (BH)"},
    "n": {"nl": "n", "en": "n"},
    "wave": {"nl": "Meting", "en": "Wave"},
    "alpha": {"nl": "Cronbachs alfa", "en": "Cronbach's alpha"},
    "omega": {"nl": "Omega", "en": "Omega"},
    "suppressed": {"nl": "minder dan {n} personen: niet getoond",
                   "en": "fewer than {n} people: not shown"},
    "parent": {"nl": "Ouders", "en": "Parents"},
    "teacher": {"nl": "Leerkrachten", "en": "Teachers"},
    "youthworker": {"nl": "Jeugdhulpverleners", "en": "Youth-care workers"},
    "coordinator": {"nl": "Intern begeleiders", "en": "Care coordinators"},
    "pupil": {"nl": "Leerlingen", "en": "Pupils"},
    "fig_pre_post": {"nl": "Gemiddelde schaalscore voor en na, per rol",
                     "en": "Mean scale score before and after, per role"},
    "fig_forest": {"nl": "Effectgrootte d_z met 95%-betrouwbaarheidsinterval per schaal en rol",
                   "en": "Effect size d_z with 95% confidence interval per scale and role"},
    "fig_school": {"nl": "Gemiddelde van de ouders van deze school en van alle ouders, voor en na",
                   "en": "Mean of this school's parents and of all parents, before and after"},
    "fig_schools": {"nl": "Verandering bij ouders per school met 95%-betrouwbaarheidsinterval",
                    "en": "Change among parents per school with 95% confidence interval"},
    "gap": {"nl": "Verschil", "en": "Gap"},
    "narrowing": {"nl": "Kleiner geworden met", "en": "Narrowed by"},
    "conclusion": {"nl": "Conclusie", "en": "Conclusion"},
    "n_completers": {"nl": "n gebleven", "en": "n stayed"},
    "mean_completers": {"nl": "Voor (gebleven)", "en": "Pre (stayed)"},
    "n_dropouts": {"nl": "n uitgevallen", "en": "n dropped out"},
    "mean_dropouts": {"nl": "Voor (uitgevallen)", "en": "Pre (dropped out)"},
    "fig_gerdes": {"nl": "Verdeling over de niveaus van samenwerking, voor en na, per rol",
                   "en": "Distribution over the levels of collaboration, before and after, per role"},
    "fig_ladder": {"nl": "Ervaren trede op de participatieladder, voor en na, per rol",
                   "en": "Experienced rung on the participation ladder, before and after, per role"},
    "fig_change": {"nl": "Verandering per persoon (na − voor) per schaal: aantal personen per half punt",
                   "en": "Change per person (post − pre) per scale: number of people per half point"},
    "fig_epstein": {"nl": "Gemiddelde frequentie per type betrokkenheid, voor en na, per rol",
                    "en": "Mean frequency per type of involvement, before and after, per role"},
    "wave_effect": {"nl": "Effect meting (multilevel)", "en": "Wave effect (multilevel)"},
    "improved": {"nl": "betrouwbaar verbeterd", "en": "reliably improved"},
    "deteriorated": {"nl": "betrouwbaar verslechterd", "en": "reliably deteriorated"},
    "unchanged": {"nl": "niet betrouwbaar veranderd", "en": "no reliable change"},
}

_EFFECT_WORDS = {
    "nl": ["nauwelijks", "klein", "middelgroot", "groot"],
    "en": ["negligible", "small", "medium", "large"],
}


def t(key: str, lang: str = "nl", **fmt: Any) -> str:
    """Translated interface text (falls back to the key itself)."""
    text = _TEXT.get(key, {}).get(lang) or _TEXT.get(key, {}).get("nl") or key
    return text.format(**fmt) if fmt else text


def fmt_number(x: float | int | None, lang: str = "nl", digits: int = 2) -> str:
    """Format a number for readers; ``None`` (suppressed or not computable) becomes a dash.

    >>> fmt_number(1234.567, "nl"), fmt_number(1234.567, "en"), fmt_number(-0.5, "nl", 1)
    ('1.234,57', '1,234.57', '−0,5')
    >>> fmt_number(None)
    '–'
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    text = f"{abs(x):,.{digits}f}"
    if lang == "nl":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return ("−" if x < 0 and float(text.replace(".", "").replace(",", "")) != 0 else "") + text


def fmt_p(p: float | None, lang: str = "nl") -> str:
    """APA-style p-value: ``p < 0,001`` or ``p = 0,023`` (three decimals).

    >>> fmt_p(0.0002, "nl"), fmt_p(0.0234, "en")
    ('p < 0,001', 'p = 0.023')
    """
    if p is None:
        return "–"
    if p < 0.001:
        return "p < " + fmt_number(0.001, lang, 3)
    return "p = " + fmt_number(p, lang, 3)


def fmt_ci(ci: list | None, lang: str = "nl", digits: int = 2) -> str:
    """``[lo; hi]`` in Dutch (the comma is the decimal sign), ``[lo, hi]`` in English."""
    if not ci or ci[0] is None:
        return "–"
    sep = "; " if lang == "nl" else ", "
    return f"[{fmt_number(ci[0], lang, digits)}{sep}{fmt_number(ci[1], lang, digits)}]"


def effect_label(d: float | None, lang: str = "nl") -> str:
    """Cohen's (1988) rough benchmarks for |d|: < .2, < .5, < .8, larger."""
    if d is None:
        return "–"
    size = abs(d)
    idx = 0 if size < 0.2 else 1 if size < 0.5 else 2 if size < 0.8 else 3
    return _EFFECT_WORDS.get(lang, _EFFECT_WORDS["en"])[idx]


def _scales(results: dict, inst: Instrument) -> list[tuple[str, dict]]:
    """Scales in the instrument's order (results.json sorts keys alphabetically)."""
    return [(s, results["scales"][s]) for s in inst.scale_ids if s in results["scales"]]


def _roles(block: dict, inst: Instrument) -> list[tuple[str, dict]]:
    by_role = block.get("by_role", {})
    return [(r, by_role[r]) for r in inst.roles if r in by_role]


def _waves(results: dict) -> list[str]:
    return list(results.get("waves", {}).get("order") or results.get("counts", {}).keys())


def _scale_name(inst: Instrument, scale_id: str, lang: str) -> str:
    return pick_text(inst.scale(scale_id).name, lang)


def paired_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Pre/post per scale and role as display strings (suppressed cells show a dash)."""
    rows = []
    for scale_id, block in _scales(results, inst):
        groups = [("all", block["paired"])] + [(r, v["paired"]) for r, v in _roles(block, inst)]
        for role, p in groups:
            rows.append({
                t("scale", lang): _scale_name(inst, scale_id, lang),
                t("role", lang): t(role, lang),
                t("n_pairs", lang): fmt_number(p.get("n"), lang, 0),
                t("pre", lang): fmt_number(p.get("mean_pre"), lang),
                t("post", lang): fmt_number(p.get("mean_post"), lang),
                t("diff", lang): fmt_number(p.get("mean_diff"), lang),
                t("ci", lang): fmt_ci(p.get("ci95"), lang),
                "d_z": fmt_number(p.get("d_z"), lang),
                "d_z " + t("ci", lang): fmt_ci(p.get("d_z_ci95"), lang),
                "d_av": fmt_number(p.get("d_av"), lang),
                "p": fmt_p(p.get("p"), lang),
                t("p_adj", lang): fmt_p(p.get("p_adj"), lang),
            })
    return pd.DataFrame(rows)


def reliability_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Alpha (Feldt CI) and omega per scale and wave as display strings."""
    rows = []
    for scale_id, block in _scales(results, inst):
        for wave in _waves(results):
            if wave not in block["reliability"]:
                continue
            r = block["reliability"][wave]
            rows.append({
                t("scale", lang): _scale_name(inst, scale_id, lang),
                t("wave", lang): t(wave, lang) if wave in ("pre", "post") else wave,
                t("n", lang): fmt_number(r.get("n"), lang, 0),
                t("alpha", lang): fmt_number(r.get("alpha"), lang),
                t("ci", lang): fmt_ci(r.get("alpha_ci95"), lang),
                t("omega", lang): fmt_number(r.get("omega"), lang),
            })
    return pd.DataFrame(rows)


def summary_sentences(results: dict, inst: Instrument, lang: str = "nl") -> list[str]:
    """Plain-language findings, one sentence per scale (what changed and how sure we are)."""
    out = []
    for scale_id, block in _scales(results, inst):
        p = block["paired"]
        name = _scale_name(inst, scale_id, lang)
        if p.get("n") is None:
            out.append(f"{name}: " + t("suppressed", lang, n=results.get("min_cell", 10)) + ".")
            continue
        up = p["mean_diff"] > 0
        sure = p.get("p_adj") is not None and p["p_adj"] < 0.05
        size = effect_label(p["d_z"], lang)
        diff = fmt_number(abs(p["mean_diff"]), lang)
        if lang == "nl":
            direction = "gestegen" if up else "gedaald"
            certainty = ("Dat is vrijwel zeker geen toeval" if sure
                         else "Dit verschil kan op toeval berusten")
            out.append(f"**{name}** is van voor- naar nameting {direction} met {diff} punt "
                       f"(op een schaal van 1 tot 5; {p['n']} personen met beide metingen). Het "
                       f"effect is {size} (d_z = {fmt_number(p['d_z'], lang)}). {certainty} "
                       f"({fmt_p(p['p_adj'], lang)}, gecorrigeerd voor meerdere schalen).")
        else:
            direction = "rose" if up else "fell"
            certainty = ("This is very unlikely to be chance" if sure
                         else "This difference may be due to chance")
            out.append(f"**{name}** {direction} by {diff} points from pre to post (on a 1-5 "
                       f"scale; {p['n']} people answered both times). The effect is {size} "
                       f"(d_z = {fmt_number(p['d_z'], lang)}). {certainty} "
                       f"({fmt_p(p['p_adj'], lang)}, adjusted for several scales).")
    return out


def html_table(df: pd.DataFrame) -> str:
    """An HTML table with every cell escaped (data may hold hostile text)."""
    return df.to_html(index=False, escape=True, border=0, classes="pe-table", na_rep="–")


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


# -- report sections (HTML strings; every value from data is escaped) ---------------------------
_MONTHS = {"nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
                   "september", "oktober", "november", "december"],
           "en": ["January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December"]}


def fmt_date(iso: str | None, lang: str = "nl") -> str:
    """A date as readers write it: ``24 november 2026`` in Dutch, ``24 November 2026`` in English.

    >>> fmt_date("2026-03-05", "nl"), fmt_date("2026-03-05", "en"), fmt_date(None)
    ('5 maart 2026', '5 March 2026', '–')
    """
    if not iso:
        return "–"
    year, month, day = (int(x) for x in str(iso)[:10].split("-"))
    return f"{day} {_MONTHS.get(lang, _MONTHS['en'])[month - 1]} {year}"


def _dated(report_date: str | None, lang: str) -> str:
    if not report_date:
        return ""
    return f" {'Rapportdatum' if lang == 'nl' else 'Report date'}: {fmt_date(report_date, lang)}."


def report_header(project: str, inst: Instrument, results: dict, lang: str = "nl",
                  report_date: str | None = None) -> str:
    """Title block: project name, date, instrument, waves compared and the minimum cell size."""
    waves = results.get("waves", {})
    title = t("title", lang)
    if lang == "nl":
        sub = (f"Vragenlijst: {escape(pick_text(inst.title, lang))} (versie {escape(inst.version)})."
               f" Vergeleken: {escape(waves.get('first'))} → {escape(waves.get('last'))}."
               f" Groepen kleiner dan {results.get('min_cell')} personen worden niet getoond.")
    else:
        sub = (f"Questionnaire: {escape(pick_text(inst.title, lang))} (version {escape(inst.version)})."
               f" Compared: {escape(waves.get('first'))} → {escape(waves.get('last'))}."
               f" Groups smaller than {results.get('min_cell')} people are not shown.")
    sub += _dated(report_date, lang)
    return f"<h1>{title}: {escape(project)}</h1><p class='pe-note'>{sub}</p>"


def _md_bold(text: str) -> str:
    import re

    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escape(text))


def summary_html(results: dict, inst: Instrument, lang: str = "nl") -> str:
    """The plain-language findings as an HTML list."""
    head = "Wat is er veranderd?" if lang == "nl" else "What changed?"
    items = "".join(f"<li>{_md_bold(s)}</li>" for s in summary_sentences(results, inst, lang))
    return f"<h2>{head}</h2><ul class='pe-summary'>{items}</ul>"


def section(title_nl: str, title_en: str, lang: str, note_nl: str = "", note_en: str = "") -> str:
    """A section heading with an optional explanatory note."""
    title = title_nl if lang == "nl" else title_en
    note = note_nl if lang == "nl" else note_en
    return f"<h2>{escape(title)}</h2>" + (f"<p class='pe-note'>{escape(note)}</p>" if note else "")


def counts_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Respondents per wave and role (suppressed counts show a dash)."""
    rows = []
    for wave in _waves(results):
        c = results.get("counts", {}).get(wave, {})
        row = {t("wave", lang): t(wave, lang) if wave in ("pre", "post") else wave,
               t("all", lang): fmt_number(c.get("n"), lang, 0)}
        for role in inst.roles:
            if role in c.get("by_role", {}):
                row[t(role, lang)] = fmt_number(c["by_role"][role], lang, 0)
        rows.append(row)
    return pd.DataFrame(rows)


def change_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Reliable change counts and the multilevel wave effect per scale."""
    rows = []
    for scale_id, block in _scales(results, inst):
        rc, mm = block.get("reliable_change", {}), block.get("mixed_model", {})
        rows.append({
            t("scale", lang): _scale_name(inst, scale_id, lang),
            t("improved", lang): fmt_number(rc.get("improved"), lang, 0),
            t("unchanged", lang): fmt_number(rc.get("unchanged"), lang, 0),
            t("deteriorated", lang): fmt_number(rc.get("deteriorated"), lang, 0),
            t("wave_effect", lang): fmt_number(mm.get("wave_effect"), lang),
            t("ci", lang): fmt_ci(mm.get("ci95"), lang),
            "p": fmt_p(mm.get("p"), lang),
            "ICC school": fmt_number(mm.get("icc_school"), lang),
        })
    return pd.DataFrame(rows)


_METHODS = {
    "nl": """
<h2>Verantwoording</h2>
<p>Een schaalscore is het gemiddelde van de beantwoorde items na omscoren van tegengesteld
geformuleerde items (score = min + max − antwoord); bij te weinig beantwoorde items ontbreekt de
score. Voor- en nameting worden vergeleken voor personen met een geldige score op beide metingen.</p>
<ul>
<li>Gepaarde t-toets: t = M<sub>D</sub> / (SD<sub>D</sub>/√n), df = n − 1, met 95%-betrouwbaarheidsinterval van het gemiddelde verschil.</li>
<li>Effectgroottes (Lakens, 2013): d<sub>z</sub> = M<sub>D</sub>/SD<sub>D</sub> met interval via de niet-centrale t-verdeling;
d<sub>av</sub> = M<sub>D</sub> / ((SD<sub>voor</sub> + SD<sub>na</sub>)/2); g<sub>av</sub> = d<sub>av</sub>·(1 − 3/(4df − 1)).</li>
<li>Wilcoxon-rangtekentoets (V, normale benadering met continuïteitscorrectie).</li>
<li>Benjamini–Hochberg-correctie van p-waarden over de schalen.</li>
<li>Kloof ouders–professionals: verschil in gemiddelden (Welch) per meting; verandering van de kloof als verschil in verschilscores.</li>
<li>Uitval: voormeting van wie bleef tegenover wie uitviel (Welch, Hedges' g).</li>
<li>Betrouwbaarheid: Cronbachs alfa met Feldts (1965) interval; omega (McDonald, 1999) uit een één-factormodel.</li>
<li>Factorstructuur: confirmatieve factoranalyse (maximum likelihood, complete gevallen) van het model met drie schalen,
voor iedereen en per rol; meetinvariantie tussen rollen in drie stappen (configuraal, metrisch, scalair), beoordeeld met
ΔCFI ≥ −0,010 en ΔRMSEA ≤ 0,015 (Chen, 2007). Items vallen op als de alfa zonder het item hoger is of de item-restcorrelatie onder 0,30 ligt.</li>
<li>Betrouwbare verandering (Jacobson &amp; Truax, 1991): RC = (na − voor)/S<sub>diff</sub>, S<sub>diff</sub> = √2·SD<sub>voor</sub>·√(1 − α).</li>
<li>Multilevelmodel: score ~ meting + rol met random intercepts voor school en respondent (alle beschikbare metingen; REML, Wald-intervallen);
ICC<sub>school</sub> = τ²<sub>school</sub>/(τ²<sub>school</sub> + τ²<sub>respondent</sub> + σ²).</li>
</ul>
<p class='pe-note'>Privacy: identificatiecodes zijn gepseudonimiseerd met een geheime sleutel (HMAC-SHA-256);
groepen kleiner dan de minimale celgrootte worden niet getoond; professionals worden nooit per school getoond.</p>
<p class='pe-note'>Literatuur: Feldt, L. S. (1965), Psychometrika 30, 357–370 · Jacobson, N. S. &amp; Truax, P. (1991),
J. Consult. Clin. Psychol. 59, 12–19 · Lakens, D. (2013), Front. Psychol. 4, 863 · McDonald, R. P. (1999),
Test theory · Benjamini, Y. &amp; Hochberg, Y. (1995), J. R. Stat. Soc. B 57, 289–300 ·
Chen, F. F. (2007), Struct. Equ. Modeling 14, 464–504 · Hu, L. &amp; Bentler, P. M. (1999), Struct. Equ. Modeling 6, 1–55.</p>
""",
    "en": """
<h2>Methods</h2>
<p>A scale score is the mean of the answered items after reverse keying (score = min + max − answer);
it is missing when too few items were answered. Pre and post are compared for people with a valid
score at both waves.</p>
<ul>
<li>Paired t test: t = M<sub>D</sub> / (SD<sub>D</sub>/√n), df = n − 1, with the 95% CI of the mean difference.</li>
<li>Effect sizes (Lakens, 2013): d<sub>z</sub> = M<sub>D</sub>/SD<sub>D</sub> with a noncentral-t interval;
d<sub>av</sub> = M<sub>D</sub> / ((SD<sub>pre</sub> + SD<sub>post</sub>)/2); g<sub>av</sub> = d<sub>av</sub>·(1 − 3/(4df − 1)).</li>
<li>Wilcoxon signed-rank test (V, normal approximation with continuity correction).</li>
<li>Benjamini–Hochberg adjustment of p-values across scales.</li>
<li>Parent–professional gap: difference in means (Welch) per wave; its change as a difference in differences of change scores.</li>
<li>Attrition: pre scores of those who stayed versus those who dropped out (Welch, Hedges' g).</li>
<li>Reliability: Cronbach's alpha with Feldt's (1965) interval; omega (McDonald, 1999) from a one-factor model.</li>
<li>Factor structure: confirmatory factor analysis (maximum likelihood, complete cases) of the three-scale model,
for everyone and per role; measurement invariance across roles in three steps (configural, metric, scalar), judged by
ΔCFI ≥ −.010 and ΔRMSEA ≤ .015 (Chen, 2007). Items are flagged when alpha without the item is higher or the item-rest correlation is below .30.</li>
<li>Reliable change (Jacobson &amp; Truax, 1991): RC = (post − pre)/S<sub>diff</sub>, S<sub>diff</sub> = √2·SD<sub>pre</sub>·√(1 − α).</li>
<li>Multilevel model: score ~ wave + role with random intercepts for school and respondent (all available rows; REML, Wald intervals);
ICC<sub>school</sub> = τ²<sub>school</sub>/(τ²<sub>school</sub> + τ²<sub>respondent</sub> + σ²).</li>
</ul>
<p class='pe-note'>Privacy: identifiers are pseudonymised with a secret key (HMAC-SHA-256); groups smaller
than the minimum cell size are not shown; professionals are never shown per school.</p>
<p class='pe-note'>References: Feldt, L. S. (1965), Psychometrika 30, 357–370 · Jacobson, N. S. &amp; Truax, P. (1991),
J. Consult. Clin. Psychol. 59, 12–19 · Lakens, D. (2013), Front. Psychol. 4, 863 · McDonald, R. P. (1999),
Test theory · Benjamini, Y. &amp; Hochberg, Y. (1995), J. R. Stat. Soc. B 57, 289–300 ·
Chen, F. F. (2007), Struct. Equ. Modeling 14, 464–504 · Hu, L. &amp; Bentler, P. M. (1999), Struct. Equ. Modeling 6, 1–55.</p>
""",
}


def methods_html(lang: str = "nl") -> str:
    """The methods appendix: formulas and references."""
    return _METHODS.get(lang, _METHODS["en"])


def provenance_html(results: dict, lang: str = "nl") -> str:
    """Package version, instrument and input checksums, so a reader can trace every number."""
    prov = results.get("provenance", {})
    head = "Herkomst" if lang == "nl" else "Provenance"
    inst = prov.get("instrument", {})
    rows = "".join(f"<li><code>{escape(i.get('path'))}</code> sha256 <code>{escape(i.get('sha256'))}</code></li>"
                   for i in prov.get("inputs", []))
    return (f"<h2>{head}</h2><ul class='pe-provenance'>"
            f"<li>partnerschap-eval {escape(prov.get('package_version'))}</li>"
            f"<li>{escape(inst.get('id'))} {escape(inst.get('version'))}</li>{rows}</ul>")


# -- per-school pages (parents only) ---------------------------------------------------------
def school_header(project: str, results: dict, school_key: str, lang: str = "nl",
                  report_date: str | None = None) -> str:
    """Title block of a school page; the school name is data, so it is escaped."""
    school = results["schools"][school_key]
    if lang == "nl":
        sub = ("Resultaten van de ouders van deze school, naast alle ouders in het project. "
               "Resultaten van leerkrachten en jeugdhulpverleners worden nooit per school getoond.")
        back = "Terug naar het projectrapport"
    else:
        sub = ("Results of this school's parents, beside all parents in the project. Results of "
               "teachers and youth-care workers are never shown per school.")
        back = "Back to the project report"
    return (f"<p class='pe-note'><a href='../index.html'>{back}</a></p>"
            f"<h1>{escape(school['name'])}</h1><p class='pe-note'>{escape(project)}. {sub}"
            f"{_dated(report_date, lang)}</p>")


def school_table(results: dict, school_key: str, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """This school's parents beside all parents of the project, per scale."""
    school = results["schools"][school_key]
    here = "Deze school" if lang == "nl" else "This school"
    everyone = "Alle ouders" if lang == "nl" else "All parents"
    rows = []
    for scale_id in inst.scale_ids:
        mine = school["scales"].get(scale_id, {})
        proj = results["scales"].get(scale_id, {}).get("by_role", {}).get("parent", {}).get("paired", {})
        for label, p in ((here, mine), (everyone, proj)):
            rows.append({
                t("scale", lang): _scale_name(inst, scale_id, lang),
                t("group", lang): label,
                t("n_pairs", lang): fmt_number(p.get("n"), lang, 0),
                t("pre", lang): fmt_number(p.get("mean_pre"), lang),
                t("post", lang): fmt_number(p.get("mean_post"), lang),
                t("diff", lang): fmt_number(p.get("mean_diff"), lang),
                t("ci", lang): fmt_ci(p.get("ci95"), lang),
                "d_z": fmt_number(p.get("d_z"), lang),
            })
    return pd.DataFrame(rows)


def school_suppressed_note(results: dict, school_key: str, lang: str = "nl") -> str:
    """A note when too few parents of this school answered both times."""
    school = results["schools"][school_key]
    if all(b.get("n") is not None for b in school["scales"].values()):
        return ""
    n = results.get("min_cell", 10)
    text = (f"Van deze school hebben minder dan {n} ouders beide vragenlijsten ingevuld; om hen "
            "niet herkenbaar te maken tonen we geen cijfers." if lang == "nl" else
            f"Fewer than {n} parents of this school answered both questionnaires; to keep them "
            "unrecognisable no figures are shown.")
    return f"<p class='pe-note'><strong>{escape(text)}</strong></p>"


def schools_index_html(results: dict, lang: str = "nl") -> str:
    """Links to every school page, with the number of parents per wave (suppressed: dash)."""
    waves = _waves(results)
    first, last = waves[0], waves[-1]
    head = ("<tr><th>School</th>"
            f"<th>{escape(t('parent', lang))}: {escape(t(first, lang))}</th>"
            f"<th>{escape(t('parent', lang))}: {escape(t(last, lang))}</th></tr>")
    rows = []
    ordered = sorted(results.get("schools", {}).items(), key=lambda kv: kv[1]["name"].casefold())
    for key, school in ordered:
        n = school.get("n_parents", {})
        rows.append(f"<tr><td><a href='schools/{escape(key)}.html'>{escape(school['name'])}</a></td>"
                    f"<td>{fmt_number(n.get(first), lang, 0)}</td>"
                    f"<td>{fmt_number(n.get(last), lang, 0)}</td></tr>")
    return f"<table class='pe-table'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


# -- gap, attrition, sensitivity ---------------------------------------------------------------
_DIRECTION = {"nl": {"narrowed": "kleiner geworden", "widened": "groter geworden",
                     "no clear change": "niet duidelijk veranderd"},
              "en": {"narrowed": "narrowed", "widened": "widened",
                     "no clear change": "no clear change"}}


def gap_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Parents minus professionals per wave, and whether the gap narrowed (DiD)."""
    waves = _waves(results)
    first, last = waves[0], waves[-1]
    rows = []
    for scale_id, block in _scales(results, inst):
        gap = block.get("gap", {})
        by_wave = gap.get("by_wave", {})
        change = gap.get("change", {})
        direction = change.get("direction")
        rows.append({
            t("scale", lang): _scale_name(inst, scale_id, lang),
            f"{t('gap', lang)} {t(first, lang).lower()}": fmt_number(by_wave.get(first, {}).get("gap"), lang),
            f"{t('ci', lang)} ({t(first, lang).lower()})": fmt_ci(by_wave.get(first, {}).get("ci95"), lang),
            f"{t('gap', lang)} {t(last, lang).lower()}": fmt_number(by_wave.get(last, {}).get("gap"), lang),
            f"{t('ci', lang)} ({t(last, lang).lower()})": fmt_ci(by_wave.get(last, {}).get("ci95"), lang),
            t("narrowing", lang): fmt_number(change.get("narrowing"), lang),
            t("ci", lang): fmt_ci(change.get("narrowing_ci95"), lang),
            t("conclusion", lang): _DIRECTION.get(lang, _DIRECTION["en"]).get(direction, "–")
            if direction else "–",
        })
    return pd.DataFrame(rows)


def attrition_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """First-wave scores of those who stayed versus those who dropped out."""
    rows = []
    for scale_id, block in _scales(results, inst):
        a = block.get("attrition", {})
        rows.append({
            t("scale", lang): _scale_name(inst, scale_id, lang),
            t("n_completers", lang): fmt_number(a.get("n_completers"), lang, 0),
            t("mean_completers", lang): fmt_number(a.get("mean_completers"), lang),
            t("n_dropouts", lang): fmt_number(a.get("n_dropouts"), lang, 0),
            t("mean_dropouts", lang): fmt_number(a.get("mean_dropouts"), lang),
            "Hedges' g": fmt_number(a.get("hedges_g"), lang),
            t("ci", lang): fmt_ci(a.get("hedges_g_ci95"), lang),
            "p": fmt_p(a.get("p"), lang),
        })
    return pd.DataFrame(rows)


def sensitivity_html(results: dict, inst: Instrument, lang: str = "nl") -> str:
    """One sentence per scale: the smallest effect the study could detect reliably."""
    items = []
    for scale_id, block in _scales(results, inst):
        s = block.get("sensitivity", {})
        if s.get("min_d_z") is None:
            continue
        name = escape(_scale_name(inst, scale_id, lang))
        d = fmt_number(s["min_d_z"], lang)
        if lang == "nl":
            items.append(f"<li>{name}: met {s['n']} paren werd een effect vanaf d<sub>z</sub> = {d} "
                         "met 80% kans opgemerkt (tweezijdig, α = 0,05).</li>")
        else:
            items.append(f"<li>{name}: with {s['n']} pairs an effect of d<sub>z</sub> = {d} or more "
                         "was detected with 80% probability (two-sided, α = .05).</li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


# -- frameworks: Epstein, Gerdes, participatieladder, praatplaat -------------------------------
def framework_table(results: dict, name: str) -> pd.DataFrame:
    """One framework table from results.json as a DataFrame (empty when absent)."""
    records = results.get("frameworks", {}).get("tables", {}).get(name, [])
    return pd.DataFrame.from_records(records)


def _role_label(role: object, lang: str) -> str:
    return t(str(role), lang) if isinstance(role, str) else "–"


def ordinal_tests_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """Who moved up or down a level or rung, with the sign test and Stuart-Maxwell test."""
    df = framework_table(results, "ordinal_tests")
    names = {"gerdes_level": ("Niveau (Gerdes)", "Level (Gerdes)"),
             "ladder_expected": ("Trede verwacht", "Rung expected"),
             "ladder_experienced": ("Trede ervaren", "Rung experienced"),
             "ladder_agreement": ("Inspraak t.o.v. verwachting", "Say versus expectation")}
    rows = []
    for r in df.to_dict(orient="records"):
        label = names.get(r["classification"], (r["classification"],) * 2)[0 if lang == "nl" else 1]
        rows.append({
            ("Indeling" if lang == "nl" else "Classification"): label,
            t("role", lang): _role_label(r.get("role"), lang),
            t("n_pairs", lang): fmt_number(r.get("n"), lang, 0),
            ("Omhoog" if lang == "nl" else "Up"): fmt_percent(r.get("share_up"), lang),
            ("Gelijk" if lang == "nl" else "Same"): fmt_percent(r.get("share_same"), lang),
            ("Omlaag" if lang == "nl" else "Down"): fmt_percent(r.get("share_down"), lang),
            ("Netto omhoog" if lang == "nl" else "Net up"): fmt_percent(r.get("net_up"), lang),
            t("ci", lang): fmt_ci([r.get("net_up_ci_low"), r.get("net_up_ci_high")], lang),
            ("Tekentoets" if lang == "nl" else "Sign test"): fmt_p(r.get("sign_test_p"), lang),
            "Stuart–Maxwell": fmt_p(r.get("stuart_maxwell_p"), lang),
        })
    return pd.DataFrame(rows)


def fmt_percent(x: float | None, lang: str = "nl") -> str:
    """A share as a whole percentage: ``0,483`` -> ``48%``.

    >>> fmt_percent(0.4834, "nl"), fmt_percent(None)
    ('48%', '–')
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{fmt_number(100 * x, lang, 0)}%"


def transition_matrix(results: dict, classification: str, role: str,
                      lang: str = "nl") -> pd.DataFrame:
    """Pre (rows) by post (columns) counts for one classification and role; '–' = suppressed."""
    df = framework_table(results, "transitions")
    if df.empty:
        return df
    df = df[(df["classification"] == classification) & (df["role"] == role)]
    if df.empty:
        return df
    order = df.drop_duplicates("to_level").sort_values("to_level")["to_label"].tolist()
    df = df.assign(cell=[fmt_number(n, lang, 0) for n in df["n"]])
    table = df.pivot_table(index=["from_level", "from_label"], columns="to_label", values="cell",
                           aggfunc="first").reindex(columns=order)
    table = table.reset_index(level=0, drop=True).reset_index()
    table.columns.name = None  # the pivot's column-axis name would show as a stray header
    head = "Voor \u2192 na" if lang == "nl" else "Pre \u2192 post"
    return table.rename(columns={"from_label": head}).fillna("–")


def ladder_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """Expected and experienced rung and their mismatch per role and wave."""
    df = framework_table(results, "ladder_mismatch")
    rows = []
    for r in df.to_dict(orient="records"):
        rows.append({
            t("role", lang): _role_label(r.get("role"), lang),
            t("wave", lang): t(r["wave"], lang) if r.get("wave") in ("pre", "post") else r.get("wave"),
            t("n", lang): fmt_number(r.get("n"), lang, 0),
            ("Verwacht" if lang == "nl" else "Expected"): fmt_number(r.get("mean_expected"), lang),
            ("Ervaren" if lang == "nl" else "Experienced"): fmt_number(r.get("mean_experienced"), lang),
            ("Ervaren − verwacht" if lang == "nl" else "Experienced − expected"):
                fmt_number(r.get("mean_mismatch"), lang),
            ("Minder inspraak dan verwacht" if lang == "nl" else "Less say than expected"):
                fmt_percent(r.get("share_less"), lang),
        })
    return pd.DataFrame(rows)


def epstein_change_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """Mean frequency per Epstein type before and after, per role, with the paired change."""
    df = framework_table(results, "epstein_change")
    rows = []
    for r in df.to_dict(orient="records"):
        rows.append({
            ("Type (Epstein)" if lang == "nl" else "Type (Epstein)"): r.get("type_label"),
            t("role", lang): _role_label(r.get("role"), lang),
            t("n_pairs", lang): fmt_number(r.get("n"), lang, 0),
            t("pre", lang): fmt_number(r.get("mean_pre"), lang),
            t("post", lang): fmt_number(r.get("mean_post"), lang),
            t("diff", lang): fmt_number(r.get("mean_diff"), lang),
            t("ci", lang): fmt_ci([r.get("ci_low"), r.get("ci_high")], lang),
            "p": fmt_p(r.get("p"), lang),
        })
    return pd.DataFrame(rows)


def praatplaat_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """Mean per praatplaat theme (1 = needs work ... 3 = goes well) per role and wave."""
    df = framework_table(results, "praatplaat")
    if df.empty:
        return df
    means = df.drop_duplicates(["role", "wave", "theme"])
    means = means.assign(col=[f"{_role_label(r, lang)}: {t(w, lang).lower()}"
                              for r, w in zip(means["role"], means["wave"], strict=True)],
                         value=[fmt_number(m, lang) for m in means["mean"]])
    table = means.pivot_table(index=["theme_order", "theme_label"], columns="col", values="value",
                              aggfunc="first", sort=False)
    table = table.reset_index(level=0, drop=True).reset_index()
    table.columns.name = None
    return table.rename(columns={"theme_label": "Thema" if lang == "nl" else "Theme"}).fillna("–")


def framework_notes_html(results: dict, lang: str = "nl") -> str:
    """The notes that must accompany the framework results (e.g. the Gerdes operationalisation)."""
    notes = results.get("frameworks", {}).get("notes", [])
    return "".join(f"<p class='pe-note'>{escape(n)}</p>" for n in notes)


def rules_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """The classification rules as they were applied (from the instruments' YAML)."""
    df = framework_table(results, "rules")
    if df.empty:
        return df
    cols = {"name": "Indeling" if lang == "nl" else "Classification",
            "level": "Niveau" if lang == "nl" else "Level",
            "label": "Label", "rule": "Regel" if lang == "nl" else "Rule"}
    return df[list(cols)].rename(columns=cols)


# -- psychometrics: items, factor structure, invariance across roles ---------------------------
def _psy(results: dict, name: str) -> list[dict]:
    return results.get("psychometrics", {}).get(name, [])


def _wave_label(wave: object, lang: str) -> str:
    return t(str(wave), lang) if wave in ("pre", "post") else escape(wave)


def _item_label(inst: Instrument, item_id: str, lang: str) -> str:
    """The item's text as parents read it (the parallel forms say the same thing)."""
    try:
        item = inst.item(item_id)
    except KeyError:  # an item the instrument no longer has: show its id
        return item_id
    texts = item.text
    form = texts.get("parent") or next(iter(texts.values()))
    return f"{item_id}: {pick_text(form, lang)}" + (" (R)" if item.reverse else "")


def item_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Item statistics per scale and wave, with the items that weaken their scale marked."""
    nl = lang == "nl"
    r_min = results.get("psychometrics", {}).get("r_rest_min", 0.30)
    rows = []
    for r in _psy(results, "items"):
        why = []
        if r.get("raises_alpha"):
            why.append("alfa stijgt zonder dit item" if nl else "alpha rises without it")
        if r.get("weak_r_rest"):
            why.append(("item-restcorrelatie < " if nl else "item-rest r < ")
                       + fmt_number(r_min, lang))
        if r.get("reason"):
            why = [t("suppressed", lang, n=results.get("min_cell", 10))]
        rows.append({
            t("scale", lang): _scale_name(inst, r["scale"], lang),
            t("wave", lang): _wave_label(r.get("wave"), lang),
            "Item": _item_label(inst, r["item"], lang),
            t("n", lang): fmt_number(r.get("n"), lang, 0),
            ("Gem." if nl else "Mean"): fmt_number(r.get("mean"), lang),
            "SD": fmt_number(r.get("sd"), lang),
            ("% leeg" if nl else "% missing"): fmt_number(r.get("pct_missing"), lang, 1),
            ("% laagste" if nl else "% floor"): fmt_number(r.get("pct_floor"), lang, 1),
            ("% hoogste" if nl else "% ceiling"): fmt_number(r.get("pct_ceiling"), lang, 1),
            ("r item-rest" if nl else "item-rest r"): fmt_number(r.get("r_rest"), lang),
            ("Alfa zonder item" if nl else "Alpha if deleted"):
                fmt_number(r.get("alpha_if_deleted"), lang),
            ("Let op" if nl else "Check"): "; ".join(why),
        })
    return pd.DataFrame(rows)


def cfa_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """Fit of the three-scale factor model, per wave, for everyone and per role."""
    nl = lang == "nl"
    rows = []
    for r in _psy(results, "cfa"):
        reason = r.get("reason") or ""
        if reason.startswith("suppressed"):
            reason = t("suppressed", lang, n=results.get("min_cell", 10))
        elif r.get("n") and r.get("npar") and r["n"] < N_PER_PARAMETER * r["npar"]:
            # Bentler & Chou (1987): fewer than ~5 people per free parameter makes ML fit
            # indices unstable; the numbers are shown, with the warning beside them.
            reason = (f"weinig personen voor {r['npar']} parameters (minder dan "
                      f"{N_PER_PARAMETER} per parameter): fit onzeker" if nl else
                      f"few people for {r['npar']} parameters (fewer than {N_PER_PARAMETER} per "
                      "parameter): fit uncertain")
        chisq = (f"{fmt_number(r.get('chisq'), lang)} ({fmt_number(r.get('df'), lang, 0)})"
                 if r.get("chisq") is not None else "–")
        rows.append({
            t("wave", lang): _wave_label(r.get("wave"), lang),
            t("group", lang): t("all", lang) if r.get("group") == "all"
            else _role_label(r.get("group"), lang),
            t("n", lang): fmt_number(r.get("n"), lang, 0),
            "χ² (df)": chisq,
            "CFI": fmt_number(r.get("cfi"), lang, 3),
            "TLI": fmt_number(r.get("tli"), lang, 3),
            "RMSEA": fmt_number(r.get("rmsea"), lang, 3),
            ("90%-BI RMSEA" if nl else "RMSEA 90% CI"):
                fmt_ci([r.get("rmsea_ci_low"), r.get("rmsea_ci_high")], lang, 3),
            "SRMR": fmt_number(r.get("srmr"), lang, 3),
            ("Opmerking" if nl else "Note"): escape(reason),
        })
    return pd.DataFrame(rows)


#: People per free parameter below which a CFA's fit is flagged as uncertain (Bentler & Chou,
#: 1987, Sociol. Methods Res. 16, 78-117).
N_PER_PARAMETER = 5

_LEVELS = {"configural": ("configuraal (zelfde structuur)", "configural (same structure)"),
           "metric": ("metrisch (zelfde ladingen)", "metric (same loadings)"),
           "scalar": ("scalair (zelfde intercepten)", "scalar (same intercepts)")}


def invariance_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """Measurement invariance across roles: each step's fit and its change (Chen, 2007)."""
    nl = lang == "nl"
    rows = []
    for r in _psy(results, "invariance"):
        if r.get("level") is None:
            rows.append({t("wave", lang): _wave_label(r.get("wave"), lang),
                         ("Stap" if nl else "Step"): "–",
                         ("Opmerking" if nl else "Note"): escape(r.get("reason") or "")})
            continue
        ok = r.get("supported")
        verdict = "–" if ok is None else (("ja" if ok else "nee") if nl else ("yes" if ok else "no"))
        rows.append({
            t("wave", lang): _wave_label(r.get("wave"), lang),
            ("Stap" if nl else "Step"): _LEVELS.get(r["level"], (r["level"],) * 2)[0 if nl else 1],
            "CFI": fmt_number(r.get("cfi"), lang, 3),
            "RMSEA": fmt_number(r.get("rmsea"), lang, 3),
            "ΔCFI": fmt_number(r.get("delta_cfi"), lang, 3),
            "ΔRMSEA": fmt_number(r.get("delta_rmsea"), lang, 3),
            ("Gelijkwaardig?" if nl else "Invariant?"): verdict,
            ("Opmerking" if nl else "Note"): escape(r.get("reason") or ""),
        })
    return pd.DataFrame(rows)


def invariance_conclusion(results: dict, lang: str = "nl") -> str:
    """One sentence per wave: may parents' and professionals' scores be compared directly?"""
    nl = lang == "nl"
    out = []
    by_wave: dict[str, dict[str, object]] = {}
    for r in _psy(results, "invariance"):
        if r.get("level"):
            by_wave.setdefault(r["wave"], {})[r["level"]] = r.get("supported")
    for wave, levels in by_wave.items():
        w = _wave_label(wave, lang)
        if levels.get("metric") and levels.get("scalar"):
            out.append(f"{w}: de rollen vullen de schalen op dezelfde manier in (scalaire "
                       "gelijkwaardigheid); hun gemiddelden mogen direct vergeleken worden."
                       if nl else f"{w}: the roles use the scales in the same way (scalar "
                       "invariance); their means may be compared directly.")
        elif levels.get("metric"):
            out.append(f"{w}: ladingen zijn gelijk, intercepten niet; vergelijk verbanden, "
                       "maar wees voorzichtig met verschillen in gemiddelden tussen rollen."
                       if nl else f"{w}: loadings are equal, intercepts are not; compare "
                       "relations, but be careful with differences in means between roles.")
        else:
            out.append(f"{w}: de rollen lijken de schalen verschillend op te vatten; het "
                       "verschil tussen ouders en professionals is lastig te duiden."
                       if nl else f"{w}: the roles appear to read the scales differently; the "
                       "gap between parents and professionals is hard to interpret.")
    rule = results.get("psychometrics", {}).get("invariance_rule") or {}
    cfi = fmt_number(abs(rule.get("delta_cfi_min", -0.01)), lang, 3)
    rmsea = fmt_number(rule.get("delta_rmsea_max", 0.015), lang, 3)
    note = (f"Beslisregel (Chen, 2007): een stap geldt als gelijkwaardig wanneer de CFI met "
            f"hooguit {cfi} daalt en de RMSEA met hooguit {rmsea} stijgt." if nl else
            f"Decision rule (Chen, 2007): a step counts as invariant when CFI drops by at most "
            f"{cfi} and RMSEA rises by at most {rmsea}.")
    items = "".join(f"<li>{escape(s)}</li>" for s in out)
    return (f"<ul>{items}</ul>" if items else "") + f"<p class='pe-note'>{escape(note)}</p>"
