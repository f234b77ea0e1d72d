"""Turning results into words and tables for readers: Dutch first, English on request.

Nothing here computes a statistic: every number comes from a Contract 4 results dictionary, and
every word comes from the message catalogue (``report.po``, :func:`partnerschap_eval.i18n.t`).
Numbers, percentages and dates are formatted by Babel through :mod:`partnerschap_eval.i18n`
(decimal comma and ``p < 0,001`` in Dutch). Scale ranges come from the instrument, wave and role
labels from the catalogue or, when it has none, from the study's own codes; every string that
came from data is HTML-escaped.

Examples
--------
>>> fmt_ci([0.1, -0.25], "nl"), fmt_ci([0.1, -0.25], "en")
('[0,10; −0,25]', '[0.10, −0.25]')
>>> wave_label("pre", "nl"), wave_label("T2", "nl")
('voormeting', 'T2')
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd

from .. import i18n
from .._contract import FEW_ROLES, NOT_CONVERGED, TOO_FEW_TO_FIT, result_waves
from ..instruments import Instrument, load_instrument, pick_text

__all__ = ["did_html", "did_part", "did_table", "arm_paired_table", "baseline_table", "arm_attrition_table", "fmt_number", "fmt_p", "fmt_ci", "fmt_percent", "fmt_date", "paired_table",
           "reliability_table", "summary_sentences", "html_table", "effect_label", "wave_label",
           "role_label", "text_params", "project_sections", "section", "toc_html",
           "overview_html", "school_sentences", "school_starters_html", "school_method_html",
           "rule_sentence", "N_PER_PARAMETER", "over_time_sentences", "over_time_html",
           "over_time_table", "has_imputation", "imputation_html", "imputation_table"]


def t(key: str, lang: str = "nl", /, **params: Any) -> str:
    """The report text ``key`` (a ``report.`` key of the catalogue) in ``lang``."""
    return i18n.t(key, lang, **params)


def _opt(key: str, lang: str, default: str, **params: Any) -> str:
    """The catalogue text of ``key``, or ``default`` when the catalogue has none (data codes)."""
    try:
        return i18n.t(key, lang, **params)
    except i18n.MissingMessageError:
        return default


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


# -- numbers ------------------------------------------------------------------------------------
def fmt_number(x: float | int | None, lang: str = "nl", digits: int = 2) -> str:
    """A number for readers (Babel); ``None`` (suppressed or not computable) becomes a dash.

    >>> fmt_number(1234.567, "nl"), fmt_number(1234.567, "en"), fmt_number(-0.5, "nl", 1)
    ('1.234,57', '1,234.57', '−0,5')
    >>> fmt_number(None)
    '–'
    """
    try:
        return i18n.number(x, lang, digits)
    except (TypeError, ValueError):  # a non-finite number from a hand-made dictionary
        return "–"


def fmt_p(p: float | None, lang: str = "nl") -> str:
    """APA-style p-value: ``p < 0,001`` or ``p = 0,023`` (three decimals).

    >>> fmt_p(0.0002, "nl"), fmt_p(0.0234, "en")
    ('p < 0,001', 'p = 0.023')
    """
    if p is None:
        return "–"
    if p < 0.001:
        return t("report.p_below", lang, p=fmt_number(0.001, lang, 3))
    return t("report.p_equals", lang, p=fmt_number(p, lang, 3))


def fmt_ci(ci: list | None, lang: str = "nl", digits: int = 2) -> str:
    """``[lo; hi]`` in Dutch (the comma is the decimal sign), ``[lo, hi]`` in English."""
    if not ci or ci[0] is None:
        return "–"
    return t("report.ci", lang, lo=fmt_number(ci[0], lang, digits), hi=fmt_number(ci[1], lang, digits))


def fmt_percent(x: float | None, lang: str = "nl") -> str:
    """A share as a whole percentage: ``0,483`` -> ``48%``.

    >>> fmt_percent(0.4834, "nl"), fmt_percent(None)
    ('48%', '–')
    """
    try:
        return i18n.percent(x, lang)
    except (TypeError, ValueError):
        return "–"


def fmt_date(iso: str | None, lang: str = "nl") -> str:
    """A date as readers write it: ``24 november 2026`` in Dutch, ``24 November 2026`` in English.

    >>> fmt_date("2026-03-05", "nl"), fmt_date("2026-03-05", "en"), fmt_date(None)
    ('5 maart 2026', '5 March 2026', '–')
    """
    return i18n.date(iso, lang)


def _score(x: float | None, lang: str) -> str:
    """A bound or threshold with the decimals it has: ``5``, ``3,5`` (not ``5,00``, ``3,50``)."""
    if x is None:
        return "–"
    x = float(x)
    return fmt_number(x, lang, 0 if x.is_integer() else 1 if round(x, 1) == x else 2)


_EFFECTS = ("negligible", "small", "medium", "large")


def effect_label(d: float | None, lang: str = "nl") -> str:
    """Cohen's (1988) rough benchmarks for |d|: < .2, < .5, < .8, larger.

    >>> effect_label(0.3, "nl"), effect_label(-0.9, "en")
    ('klein', 'large')
    """
    if d is None:
        return "–"
    size = abs(d)
    idx = 0 if size < 0.2 else 1 if size < 0.5 else 2 if size < 0.8 else 3
    return t(f"report.effect.{_EFFECTS[idx]}", lang)


# -- labels from the catalogue, the instrument and the study ------------------------------------
def wave_label(wave: object, lang: str = "nl") -> str:
    """The readers' name of a wave: the catalogue's for the usual codes, else the study's code."""
    return _opt(f"report.wave.{wave}", lang, str(wave))


def _cap(text: str) -> str:
    """``text`` with a capital first letter (a sentence or heading that starts with a label)."""
    return text[:1].upper() + text[1:]


def wave_head(wave: object, lang: str = "nl") -> str:
    """A wave's name as a column heading or table cell (capitalised)."""
    return _cap(wave_label(wave, lang))


def role_label(role: object, lang: str = "nl") -> str:
    """The readers' name of a role (plural: ``Ouders``), else the instrument's code."""
    if not isinstance(role, str):
        return "–"
    return _opt(f"report.role.{role}", lang, role)


def _join(words: list[str], lang: str) -> str:
    """``a, b en c`` / ``a, b and c``."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + t("report.list_and", lang) + words[-1]


def _scales(results: dict, inst: Instrument) -> list[tuple[str, dict]]:
    """Scales in the instrument's order (results.json sorts keys alphabetically)."""
    return [(s, results["scales"][s]) for s in inst.scale_ids if s in results["scales"]]


def _roles(block: dict, inst: Instrument) -> list[tuple[str, dict]]:
    by_role = block.get("by_role", {})
    return [(r, by_role[r]) for r in inst.roles if r in by_role]


def _waves(results: dict) -> list[str]:
    """The declared waves of a result (Contract 4: ``waves``), else those it counts."""
    return list(result_waves(results).order or results.get("counts", {}).keys())


def _first_last(results: dict) -> tuple[str, str]:
    """The waves the v1 keys compare (Contract 4 v2: ``compared``)."""
    waves = result_waves(results)
    order = _waves(results)
    return (waves.first or order[0]), (waves.last or order[-1])


def _scale_name(inst: Instrument, scale_id: str, lang: str) -> str:
    return pick_text(inst.scale(scale_id).name, lang)


def scale_range(inst: Instrument, scale_id: str | None = None) -> tuple[float, float]:
    """Lowest and highest possible score of a scale (of the response scale when no scale).

    >>> scale_range(load_instrument("partnerschap"), "reciprocity")
    (1.0, 5.0)
    """
    lo, hi = inst.response_scale.min, inst.response_scale.max
    if scale_id is None:
        return float(lo), float(hi)
    return inst.scale(scale_id).score_range(lo, hi)


def text_params(results: dict, inst: Instrument, lang: str = "nl") -> dict[str, str]:
    """The values section texts may name: waves, the score range and the minimum cell size."""
    first, last = _first_last(results)
    lo, hi = scale_range(inst, inst.scale_ids[0] if inst.scale_ids else None)
    return {"first": wave_label(first, lang), "last": wave_label(last, lang),
            "lo": _score(lo, lang), "hi": _score(hi, lang),
            "min_cell": i18n.integer(results.get("min_cell", 10), lang)}


# -- tables -------------------------------------------------------------------------------------
_NUMERIC = re.compile(r"^[\s\d.,;:\[\]()\u2212\-–%<>=≥p]+$")


def html_table(df: pd.DataFrame, caption: str = "") -> str:
    """An HTML table typeset for reading, every cell escaped (data may hold hostile text).

    Columns whose cells are all numbers (counts, means, intervals, p-values) are right-aligned
    and never wrap; text columns are left-aligned. Each cell carries its column name
    (``data-label``) so that a narrow screen shows every row as a card.
    """
    if df.empty:
        return ""
    heads = [str(c) for c in df.columns]
    numeric = []
    for col in df.columns:
        cells = [str(v) for v in df[col] if str(v) not in ("–", "", "nan")]
        numeric.append(bool(cells) and all(_NUMERIC.match(c) for c in cells))
    th = "".join(f"<th class='{'pe-num' if n else 'pe-text'}' scope='col'>{escape(h)}</th>"
                 for h, n in zip(heads, numeric, strict=True))
    rows = []
    for values in df.itertuples(index=False):
        tds = "".join(
            f"<td class='{'pe-num' if n else 'pe-text'}' data-label='{escape(h)}'>"
            f"{escape('–' if v is None or (isinstance(v, float) and v != v) else v)}</td>"
            for h, n, v in zip(heads, numeric, values, strict=True))
        rows.append(f"<tr>{tds}</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return (f"<div class='pe-table-wrap'><table class='pe-table'>{cap}<thead><tr>{th}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def details(inner: str, lang: str = "nl") -> str:
    """A table folded away on screen (``Tabel tonen``), printed open."""
    if not inner:
        return ""
    return (f"<details class='pe-details'><summary>{escape(t('report.show_table', lang))}</summary>"
            f"{inner}</details>")


def _change_cells(p: dict, first: str, last: str, lang: str) -> dict[str, str]:
    """A paired block's pairs, means at the first and last wave, change with its CI and d_z, as
    display cells (suppressed: a dash)."""
    return {
        t("report.col.n_pairs", lang): fmt_number(p.get("n"), lang, 0),
        wave_head(first, lang): fmt_number(p.get("mean_pre"), lang),
        wave_head(last, lang): fmt_number(p.get("mean_post"), lang),
        t("report.col.diff", lang): fmt_number(p.get("mean_diff"), lang),
        t("report.col.ci", lang): fmt_ci(p.get("ci95"), lang),
        t("report.col.d_z", lang): fmt_number(p.get("d_z"), lang),
    }


def paired_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """First and last wave per scale and role as display strings (suppressed cells: a dash)."""
    first, last = _first_last(results)
    rows = []
    for scale_id, block in _scales(results, inst):
        groups = [("all", block["paired"])] + [(r, v["paired"]) for r, v in _roles(block, inst)]
        for role, p in groups:
            rows.append({
                t("report.col.scale", lang): _scale_name(inst, scale_id, lang),
                t("report.col.group", lang): t("report.role.all", lang) if role == "all"
                else role_label(role, lang),
                **_change_cells(p, first, last, lang),
                t("report.col.d_z_ci", lang): fmt_ci(p.get("d_z_ci95"), lang),
                t("report.col.d_av", lang): fmt_number(p.get("d_av"), lang),
                t("report.col.p", lang): fmt_p(p.get("p"), lang),
                t("report.col.p_adj", lang): fmt_p(p.get("p_adj"), lang),
            })
    return pd.DataFrame(rows)


def waves_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Every declared wave per scale (a run with three or more: Contract 4 v2's ``waves`` and
    ``contrasts``): its respondents, mean and SD, and for a later wave the paired change since
    the first wave (all roles) as display strings; suppressed cells: a dash. Empty without
    ``waves``."""
    first = _first_last(results)[0]
    rows = []
    for scale_id, block in _scales(results, inst):
        waves = block.get("waves")
        if not isinstance(waves, dict):
            continue
        for wave in [w for w in _waves(results) if w in waves]:
            w = waves[wave] or {}
            c = ((block.get("contrasts") or {}).get(f"{wave}-{first}") or {}).get("paired")
            later = isinstance(c, dict) and wave != first
            rows.append({
                t("report.col.scale", lang): _scale_name(inst, scale_id, lang),
                t("report.col.wave", lang): wave_head(wave, lang),
                t("report.col.n", lang): fmt_number(w.get("n"), lang, 0),
                t("report.col.mean", lang): fmt_number(w.get("mean"), lang),
                t("report.col.sd", lang): fmt_number(w.get("sd"), lang),
                t("report.col.n_pairs", lang): fmt_number(c.get("n"), lang, 0) if later else "",
                t("report.col.diff", lang): fmt_number(c.get("mean_diff"), lang) if later else "",
                t("report.col.ci", lang): fmt_ci(c.get("ci95"), lang) if later else "",
                t("report.col.d_z", lang): fmt_number(c.get("d_z"), lang) if later else "",
                t("report.col.p_adj", lang): fmt_p(c.get("p_adj"), lang) if later else "",
            })
    return pd.DataFrame(rows)


def _contrast_waves(results: dict, name: str) -> tuple[str, str] | None:
    """``(later, earlier)`` of a Contract 4 v2 contrast name, from the declared waves."""
    order = _waves(results)
    for i, later in enumerate(order):
        for earlier in order[:i]:
            if name == f"{later}-{earlier}":
                return later, earlier
    return None


def wave_contrasts_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Every wave contrast per scale (Contract 4 v2 ``contrasts``: each later wave against the
    first, and consecutive waves when the run asked for them), the paired change (those present
    at both waves) beside the wave model's (everyone at any wave: ``contrasts.<c>.mixed``), as
    display strings; withheld cells: a dash. Empty without ``contrasts``."""
    rows = []
    for scale_id, block in _scales(results, inst):
        contrasts = block.get("contrasts")
        if not isinstance(contrasts, dict):
            continue
        for name, c in contrasts.items():
            waves = _contrast_waves(results, name)
            if waves is None or not isinstance(c, dict):
                continue
            p = c.get("paired") or {}
            mm = c.get("mixed") if isinstance(c.get("mixed"), dict) else {}
            rows.append({
                t("report.col.scale", lang): _scale_name(inst, scale_id, lang),
                t("report.col.comparison", lang): t("report.waves.contrast", lang,
                                                    later=wave_label(waves[0], lang),
                                                    earlier=wave_label(waves[1], lang)),
                t("report.col.n_pairs", lang): fmt_number(p.get("n"), lang, 0),
                t("report.col.diff", lang): fmt_number(p.get("mean_diff"), lang),
                t("report.col.ci", lang): fmt_ci(p.get("ci95"), lang),
                t("report.col.p_adj", lang): fmt_p(p.get("p_adj"), lang),
                t("report.col.model_diff", lang): fmt_number(mm.get("estimate"), lang),
                t("report.col.model_ci", lang): fmt_ci(mm.get("ci95"), lang),
                t("report.col.model_df", lang): fmt_number(mm.get("df"), lang, 1),
                t("report.col.model_p", lang): fmt_p(mm.get("p"), lang),
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
                t("report.col.scale", lang): _scale_name(inst, scale_id, lang),
                t("report.col.wave", lang): wave_head(wave, lang),
                t("report.col.n", lang): fmt_number(r.get("n"), lang, 0),
                t("report.col.alpha", lang): fmt_number(r.get("alpha"), lang),
                t("report.col.ci", lang): fmt_ci(r.get("alpha_ci95"), lang),
                t("report.col.omega", lang): fmt_number(r.get("omega"), lang),
            })
    return pd.DataFrame(rows)


# -- words: the summary ---------------------------------------------------------------------------
def _sure(p: dict) -> bool:
    return p.get("p_adj") is not None and p["p_adj"] < 0.05


def summary_sentences(results: dict, inst: Instrument, lang: str = "nl") -> list[str]:
    """Plain-language findings, one per scale: what changed, for whom, how sure (HTML)."""
    first, last = _first_last(results)
    out = []
    for scale_id, block in _scales(results, inst):
        p = block["paired"]
        name = f"<strong>{escape(_scale_name(inst, scale_id, lang))}</strong>"
        if p.get("n") is None or p.get("mean_diff") is None:
            out.append(t("report.summary.suppressed", lang, name=name,
                         min_cell=i18n.integer(results.get("min_cell", 10), lang)))
            continue
        lo, hi = scale_range(inst, scale_id)
        key = "up" if p["mean_diff"] > 0 else "down"
        text = t(f"report.summary.{key}", lang, name=name, diff=fmt_number(abs(p["mean_diff"]), lang),
                 first=wave_label(first, lang), last=wave_label(last, lang), lo=_score(lo, lang),
                 hi=_score(hi, lang), n=i18n.integer(p["n"], lang),
                 size=effect_label(p.get("d_z"), lang), d=fmt_number(p.get("d_z"), lang))
        text += " " + t("report.summary.sure" if _sure(p) else "report.summary.unsure", lang,
                        p=fmt_p(p.get("p_adj"), lang))
        clear = [role_label(r, lang) for r, v in _roles(block, inst)
                 if _sure(v.get("paired", {})) and (v["paired"].get("mean_diff") or 0) * p["mean_diff"] > 0]
        if clear:
            text += " " + t("report.summary.for_whom", lang, roles=escape(_join(clear, lang).lower()))
        out.append(text)
    return out


def summary_html(results: dict, inst: Instrument, lang: str = "nl") -> str:
    """The plain-language findings as an HTML list under "What changed?"."""
    items = "".join(f"<li>{s}</li>" for s in summary_sentences(results, inst, lang))
    return f"<h3>{escape(t('report.summary.head', lang))}</h3><ul class='pe-summary'>{items}</ul>"


def _dated(report_date: str | None, lang: str) -> str:
    if not report_date:
        return ""
    return " " + escape(t("report.report_date", lang, date=fmt_date(report_date, lang)))


def report_header(project: str, inst: Instrument, results: dict, lang: str = "nl",
                  report_date: str | None = None) -> str:
    """Title block: project name, instrument, the waves compared, the date."""
    first, last = _first_last(results)
    sub = t("report.header.sub", lang, title=pick_text(inst.title, lang), version=inst.version,
            first=wave_label(first, lang), last=wave_label(last, lang))
    sub += " " + t("report.header.suppression", lang,
                   min_cell=i18n.integer(results.get("min_cell", 10), lang))
    return (f"<h1>{escape(t('report.title', lang))}: {escape(project)}</h1>"
            f"<p class='pe-note'>{escape(sub)}{_dated(report_date, lang)}</p>")


def overview_html(results: dict, inst: Instrument, lang: str = "nl") -> str:
    """The one-screen summary: what was measured, the headline changes, the response."""
    first, last = _first_last(results)
    counts = results.get("counts", {})
    roles = [role_label(r, lang).lower() for r in inst.roles
             if any(r in counts.get(w, {}).get("by_role", {}) for w in _waves(results))]
    lo, hi = scale_range(inst, inst.scale_ids[0] if inst.scale_ids else None)
    measured = t("report.overview.measured", lang, roles=_join(roles, lang),
                 n_schools=i18n.integer(len(results.get("schools", {})), lang),
                 title=pick_text(inst.title, lang),
                 waves=_join([wave_label(w, lang) for w in _waves(results)], lang),
                 scales=_join([_scale_name(inst, s, lang).lower() for s, _ in _scales(results, inst)],
                              lang), lo=_score(lo, lang), hi=_score(hi, lang))
    per_wave = "; ".join(t("report.overview.wave_n", lang, wave=wave_label(w, lang),
                           n=fmt_number(counts.get(w, {}).get("n"), lang, 0))
                         for w in _waves(results))
    pairs = [b["paired"].get("n") for _, b in _scales(results, inst) if b["paired"].get("n")]
    response = t("report.overview.response", lang, per_wave=per_wave)
    if pairs:
        response += " " + t("report.overview.pairs", lang, n=i18n.integer(max(pairs), lang),
                            first=wave_label(first, lang), last=wave_label(last, lang))
    return (f"<section class='pe-overview' id='overview'><h2>{escape(t('report.overview.head', lang))}"
            f"</h2><p>{escape(_cap(measured))}</p>{summary_html(results, inst, lang)}"
            f"<p>{escape(response)}</p></section>")


# -- sections and the table of contents ---------------------------------------------------------
#: Project report sections in page order; ``project_sections`` keeps those the results have.
SECTIONS = ("counts", "attrition", "paired", "waves", "change_distribution", "forest", "gap",
            "change", "did", "reliability", "psychometrics", "over_time", "items", "gerdes", "ladder", "ordinal", "epstein",
            "praatplaat", "schools", "sensitivity", "methods", "provenance")


def _fw(results: dict, name: str) -> list[dict]:
    return results.get("frameworks", {}).get("tables", {}).get(name, [])


def project_sections(results: dict) -> list[str]:
    """The sections of :data:`SECTIONS` this study's results have (in page order)."""
    scales = list(results.get("scales", {}).values())
    levels = {r.get("classification") for r in _fw(results, "level_distribution")}
    has = {
        "attrition": any(b.get("attrition", {}).get("n_dropouts") is not None
                         or b.get("attrition", {}).get("n_completers") is not None for b in scales),
        "change_distribution": any("change_distribution" in b for b in scales),
        "gap": any(b.get("gap", {}).get("by_wave") for b in scales),
        "change": any(b.get("reliable_change") or b.get("mixed_model") for b in scales),
        "did": any(b.get("did") for b in scales),
        "waves": any(b.get("waves") for b in scales),
        "psychometrics": bool(results.get("psychometrics", {}).get("cfa")),
        "over_time": any("means_comparable" in b or "longitudinal_invariance" in b
                         for b in scales),
        "items": bool(results.get("psychometrics", {}).get("items")),
        "gerdes": "gerdes_level" in levels,
        "ladder": "ladder_experienced" in levels or bool(_fw(results, "ladder_mismatch")),
        "ordinal": bool(_fw(results, "ordinal_tests")),
        "epstein": bool(_fw(results, "epstein_change")),
        "praatplaat": bool(_fw(results, "praatplaat")),
        "schools": bool(results.get("schools")),
        "sensitivity": any(b.get("sensitivity", {}).get("min_d_z") is not None for b in scales),
    }
    return [s for s in SECTIONS if has.get(s, True)]


def section(key: str, lang: str = "nl", /, **params: Any) -> str:
    """A section heading with its anchor (``id``) and, when the catalogue has one, its note."""
    title = _cap(t(f"report.section.{key}.title", lang, **params))
    note = _opt(f"report.section.{key}.note", lang, "", **params)
    return (f"<h2 id='{escape(key)}'>{escape(title)}</h2>"
            + (f"<p class='pe-note'>{escape(note)}</p>" if note else ""))


def toc_html(sections: list[str], lang: str = "nl", /, **params: Any) -> str:
    """The table of contents: a link to every section shown."""
    items = "".join(f"<li><a href='#{escape(s)}'>{escape(_cap(t(f'report.section.{s}.title', lang, **params)))}"
                    "</a></li>" for s in sections)
    return (f"<nav class='pe-toc' aria-label='{escape(t('report.toc', lang))}'>"
            f"<h2>{escape(t('report.toc', lang))}</h2><ol>{items}</ol></nav>")


def counts_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Respondents per wave and role (suppressed counts show a dash)."""
    rows = []
    for wave in _waves(results):
        c = results.get("counts", {}).get(wave, {})
        row = {t("report.col.wave", lang): wave_head(wave, lang),
               t("report.role.all", lang): fmt_number(c.get("n"), lang, 0)}
        for role in inst.roles:
            if role in c.get("by_role", {}):
                row[role_label(role, lang)] = fmt_number(c["by_role"][role], lang, 0)
        rows.append(row)
    return pd.DataFrame(rows)


def change_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Reliable change counts and the multilevel wave effect per scale."""
    rows = []
    for scale_id, block in _scales(results, inst):
        rc, mm = block.get("reliable_change", {}), block.get("mixed_model", {})
        rows.append({
            t("report.col.scale", lang): _scale_name(inst, scale_id, lang),
            t("report.col.improved", lang): fmt_number(rc.get("improved"), lang, 0),
            t("report.col.unchanged", lang): fmt_number(rc.get("unchanged"), lang, 0),
            t("report.col.deteriorated", lang): fmt_number(rc.get("deteriorated"), lang, 0),
            t("report.col.wave_effect", lang): fmt_number(mm.get("wave_effect"), lang),
            t("report.col.ci", lang): fmt_ci(mm.get("ci95"), lang),
            t("report.col.p", lang): fmt_p(mm.get("p"), lang),
            t("report.col.icc_school", lang): fmt_number(mm.get("icc_school"), lang),
        })
    return pd.DataFrame(rows)


_METHOD_PARTS = ("paired", "effect", "wilcoxon", "bh", "gap", "attrition", "reliability", "cfa",
                 "over_time", "rc", "mixed", "mi")


def methods_html(lang: str = "nl") -> str:
    """The methods appendix (anchor ``#methods``): formulas, privacy and references."""
    items = "".join(f"<li>{t(f'report.methods.{p}', lang)}</li>" for p in _METHOD_PARTS)
    return (section("methods", lang) + f"<p>{t('report.methods.intro', lang)}</p><ul>{items}</ul>"
            f"<p class='pe-note'>{t('report.methods.privacy', lang)}</p>"
            f"<p class='pe-note'>{t('report.methods.references', lang)}</p>")


def provenance_html(results: dict, lang: str = "nl") -> str:
    """Package version, instrument and input checksums, so a reader can trace every number."""
    prov = results.get("provenance", {})
    inst = prov.get("instrument", {})
    rows = "".join(f"<li><code>{escape(i.get('path'))}</code> sha256 <code>{escape(i.get('sha256'))}</code></li>"
                   for i in prov.get("inputs", []))
    return (section("provenance", lang) + "<ul class='pe-provenance'>"
            f"<li>partnerschap-eval {escape(prov.get('package_version'))}</li>"
            f"<li>{escape(inst.get('id'))} {escape(inst.get('version'))}</li>{rows}</ul>")


# -- per-school pages (parents only) ---------------------------------------------------------
def school_header(project: str, results: dict, school_key: str, lang: str = "nl",
                  report_date: str | None = None) -> str:
    """Title block of a school page; the school name is data, so it is escaped."""
    school = results["schools"][school_key]
    return (f"<p class='pe-note pe-back'><a href='../index.html'>{escape(t('report.school.back', lang))}"
            f"</a></p><h1>{escape(school['name'])}</h1><p class='pe-note'>{escape(project)}. "
            f"{escape(t('report.school.sub', lang))}{_dated(report_date, lang)}</p>")


def _parents(results: dict, scale_id: str) -> dict:
    return results["scales"].get(scale_id, {}).get("by_role", {}).get("parent", {}).get("paired", {})


def school_table(results: dict, school_key: str, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """This school's parents beside all parents of the project, per scale."""
    school = results["schools"][school_key]
    first, last = _first_last(results)
    here, everyone = t("report.school.this_school", lang), t("report.school.all_parents", lang)
    rows = []
    for scale_id in inst.scale_ids:
        mine = school["scales"].get(scale_id, {})
        for label, p in ((here, mine), (everyone, _parents(results, scale_id))):
            rows.append({
                t("report.col.scale", lang): _scale_name(inst, scale_id, lang),
                t("report.col.group", lang): label,
                t("report.col.n_pairs", lang): fmt_number(p.get("n"), lang, 0),
                wave_head(first, lang): fmt_number(p.get("mean_pre"), lang),
                wave_head(last, lang): fmt_number(p.get("mean_post"), lang),
                t("report.col.diff", lang): fmt_number(p.get("mean_diff"), lang),
                t("report.col.ci", lang): fmt_ci(p.get("ci95"), lang),
            })
    return pd.DataFrame(rows)


def school_waves_table(results: dict, school_key: str, inst: Instrument,
                       lang: str = "nl") -> pd.DataFrame:
    """A run with three or more waves: per scale and later wave, this school's parents' change
    since the first wave beside all parents' (Contract 4 v2 ``contrasts.<wave>-<first>``, the
    parents' block), as display strings; withheld cells: a dash. Empty otherwise."""
    school = results["schools"][school_key]
    contrasts = school.get("contrasts")
    if not isinstance(contrasts, dict):
        return pd.DataFrame()
    first = _first_last(results)[0]
    here, everyone = t("report.school.this_school", lang), t("report.school.all_parents", lang)
    rows = []
    for scale_id in inst.scale_ids:
        project = (results["scales"].get(scale_id) or {}).get("contrasts") or {}
        for wave in _waves(results)[1:]:
            name = f"{wave}-{first}"
            if name not in contrasts:
                continue
            mine = (contrasts[name] or {}).get(scale_id) or {}
            theirs = (((project.get(name) or {}).get("by_role") or {}).get("parent")
                      or {}).get("paired") or {}
            for label, p in ((here, mine), (everyone, theirs)):
                rows.append({
                    t("report.col.scale", lang): _scale_name(inst, scale_id, lang),
                    t("report.col.comparison", lang): t(
                        "report.waves.contrast", lang, later=wave_label(wave, lang),
                        earlier=wave_label(first, lang)),
                    t("report.col.group", lang): label,
                    t("report.col.n_pairs", lang): fmt_number(p.get("n"), lang, 0),
                    t("report.col.diff", lang): fmt_number(p.get("mean_diff"), lang),
                    t("report.col.ci", lang): fmt_ci(p.get("ci95"), lang),
                })
    return pd.DataFrame(rows)


def _shown_scales(school: dict, inst: Instrument) -> list[tuple[str, dict]]:
    return [(s, school["scales"][s]) for s in inst.scale_ids
            if school["scales"].get(s, {}).get("mean_diff") is not None]


def school_sentences(results: dict, school_key: str, inst: Instrument, lang: str = "nl") -> list[str]:
    """Three plain sentences for a director: what changed for this school's parents, how sure,
    and how it compares with all parents. Only numbers the page shows anyway are used: when the
    school's group is below the minimum cell size, one sentence says so instead."""
    school = results["schools"][school_key]
    shown = _shown_scales(school, inst)
    min_cell = i18n.integer(results.get("min_cell", 10), lang)
    if not shown:
        return [t("report.school.too_few", lang, min_cell=min_cell)]
    first, last = _first_last(results)
    scale_id, b = max(shown, key=lambda kv: abs(kv[1]["mean_diff"]))
    lo, hi = scale_range(inst, scale_id)
    up = sum(1 for _, v in shown if v["mean_diff"] > 0)
    name = _scale_name(inst, scale_id, lang)
    common = {"name": name, "first": wave_label(first, lang), "last": wave_label(last, lang),
              "pre": fmt_number(b["mean_pre"], lang), "post": fmt_number(b["mean_post"], lang),
              "lo": _score(lo, lang), "hi": _score(hi, lang), "k": i18n.integer(up, lang),
              "m": i18n.integer(len(shown), lang), "n": i18n.integer(b.get("n"), lang),
              "ci": fmt_ci(b.get("ci95"), lang)}
    out = [t("report.school.s1_up" if b["mean_diff"] > 0 else "report.school.s1_down", lang, **common)]
    ci = b.get("ci95") or [None, None]
    if ci[0] is not None and (ci[0] > 0 or ci[1] < 0):
        out.append(t("report.school.s2_sure", lang, **common))
    else:
        out.append(t("report.school.s2_unsure", lang, **common))
    everyone = _parents(results, scale_id).get("mean_diff")
    if everyone is None:
        out.append(t("report.school.s3_none", lang, **common))
    else:
        common["all"] = fmt_number(everyone, lang)
        common["here"] = fmt_number(b["mean_diff"], lang)
        if ci[0] is not None and ci[0] <= everyone <= ci[1]:
            out.append(t("report.school.s3_same", lang, **common))
        elif b["mean_diff"] > everyone:
            out.append(t("report.school.s3_more", lang, **common))
        else:
            out.append(t("report.school.s3_less", lang, **common))
    return out


def school_summary_html(results: dict, school_key: str, inst: Instrument, lang: str = "nl") -> str:
    """The three sentences and the response per wave, at the top of a school page."""
    sentences = "".join(f"<p>{escape(s)}</p>" for s in school_sentences(results, school_key, inst, lang))
    n = results["schools"][school_key].get("n_parents", {})
    min_cell = i18n.integer(results.get("min_cell", 10), lang)
    per_wave = "; ".join(
        t("report.overview.wave_n", lang, wave=wave_label(w, lang),
          n=i18n.integer(n[w], lang) if n.get(w) is not None
          else t("report.school.fewer_than", lang, min_cell=min_cell))
        for w in _waves(results) if w in n)
    response = t("report.school.response", lang, per_wave=per_wave) if per_wave else ""
    return (f"<section class='pe-overview' id='overview'><h2>{escape(t('report.overview.head', lang))}"
            f"</h2>{sentences}" + (f"<p class='pe-note'>{escape(response)}</p>" if response else "")
            + "</section>")


def school_suppressed_note(results: dict, school_key: str, lang: str = "nl") -> str:
    """A note when too few parents of this school answered both times (kept for old callers)."""
    school = results["schools"][school_key]
    if all(b.get("n") is not None for b in school["scales"].values()):
        return ""
    text = t("report.school.too_few", lang, min_cell=i18n.integer(results.get("min_cell", 10), lang))
    return f"<p class='pe-note'><strong>{escape(text)}</strong></p>"


def _praatplaat_themes(inst: Instrument, scale_id: str) -> list:
    """Praatplaat themes whose ``relates_to`` names this instrument's scale (or one of its items)."""
    try:
        pp = load_instrument("praatplaat")
    except Exception:  # noqa: BLE001 - no praatplaat instrument installed: no starters
        return []
    wanted = {scale_id, *inst.scale(scale_id).items}
    return [item for item in pp.items
            if wanted & set((getattr(item, "relates_to", None) or {}).get(inst.id, ()))]


def school_starters_html(results: dict, school_key: str, inst: Instrument, lang: str = "nl") -> str:
    """Conversation starters from the praatplaat for the scale where this school's parents score
    lowest at the last wave (only when that score is shown on the page)."""
    shown = [(s, b) for s, b in _shown_scales(results["schools"][school_key], inst)
             if b.get("mean_post") is not None]
    if not shown:
        return ""

    def position(kv: tuple[str, dict]) -> float:  # relative to the scale's range
        lo, hi = scale_range(inst, kv[0])
        return (kv[1]["mean_post"] - lo) / (hi - lo) if hi > lo else 0.0

    scale_id, _b = min(shown, key=position)
    themes = _praatplaat_themes(inst, scale_id)
    if not themes:
        return ""
    items = "".join(
        f"<li><strong>{escape(pick_text(it.label or {'nl': it.id}, lang))}</strong>: "
        f"{escape(pick_text(it.text.get('parent') or next(iter(it.text.values())), lang))}</li>"
        for it in themes)
    intro = t("report.school.starters_intro", lang, name=_scale_name(inst, scale_id, lang))
    questions = t("report.school.starters_questions", lang)
    return (section("starters", lang) + f"<p>{escape(intro)}</p>"
            f"<ul class='pe-starters'>{items}</ul><p><em>{escape(questions)}</em></p>")


def school_method_html(results: dict, lang: str = "nl") -> str:
    """One paragraph on how the page was made, linking to the project report's methods."""
    min_cell = i18n.integer(results.get("min_cell", 10), lang)
    text = t("report.school.method", lang, min_cell=min_cell) + " " + t("report.school.dash", lang,
                                                                        min_cell=min_cell)
    link = t("report.school.method_link", lang)
    return (section("school_method", lang) + f"<p class='pe-note'>{escape(text)} "
            f"<a href='../index.html#methods'>{escape(link)}</a></p>")


def schools_index_html(results: dict, lang: str = "nl") -> str:
    """Links to every school page, with the number of parents per wave (suppressed: dash)."""
    first, last = _first_last(results)
    parents = role_label("parent", lang)
    heads = [t("report.col.school", lang),
             t("report.col.role_wave", lang, role=parents, wave=wave_label(first, lang)),
             t("report.col.role_wave", lang, role=parents, wave=wave_label(last, lang))]
    head = ("<tr><th class='pe-text' scope='col'>" + escape(heads[0]) + "</th>"
            + "".join(f"<th class='pe-num' scope='col'>{escape(h)}</th>" for h in heads[1:]) + "</tr>")
    rows = []
    ordered = sorted(results.get("schools", {}).items(), key=lambda kv: kv[1]["name"].casefold())
    for key, school in ordered:
        n = school.get("n_parents", {})
        counts = "".join(f"<td class='pe-num' data-label='{escape(h)}'>{fmt_number(n.get(w), lang, 0)}"
                         "</td>" for h, w in zip(heads[1:], (first, last), strict=True))
        rows.append(f"<tr><td class='pe-text' data-label='{escape(heads[0])}'>"
                    f"<a href='schools/{escape(key)}.html'>{escape(school['name'])}</a></td>"
                    f"{counts}</tr>")
    return (f"<div class='pe-table-wrap'><table class='pe-table'><thead>{head}</thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


# -- gap, attrition, sensitivity ---------------------------------------------------------------
#: The gap directions results.json records (with spaces), as catalogue key suffixes.
_DIRECTIONS = ("narrowed", "widened", "no_clear_change")


def gap_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Parents minus professionals per wave, and whether the gap narrowed (DiD)."""
    first, last = _first_last(results)
    f_label, l_label = wave_label(first, lang), wave_label(last, lang)
    rows = []
    for scale_id, block in _scales(results, inst):
        gap = block.get("gap", {})
        by_wave = gap.get("by_wave", {})
        change = gap.get("change", {})
        code = str(change.get("direction") or "").replace(" ", "_")
        direction = code if code in _DIRECTIONS else None
        rows.append({
            t("report.col.scale", lang): _scale_name(inst, scale_id, lang),
            t("report.col.gap_at", lang, wave=f_label): fmt_number(by_wave.get(first, {}).get("gap"), lang),
            t("report.col.ci_at", lang, wave=f_label): fmt_ci(by_wave.get(first, {}).get("ci95"), lang),
            t("report.col.gap_at", lang, wave=l_label): fmt_number(by_wave.get(last, {}).get("gap"), lang),
            t("report.col.ci_at", lang, wave=l_label): fmt_ci(by_wave.get(last, {}).get("ci95"), lang),
            t("report.col.narrowing", lang): fmt_number(change.get("narrowing"), lang),
            t("report.col.ci", lang): fmt_ci(change.get("narrowing_ci95"), lang),
            t("report.col.conclusion", lang): t(f"report.gap.{direction}", lang) if direction else "–",
        })
    return pd.DataFrame(rows)


def attrition_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """First-wave scores of those who stayed versus those who dropped out."""
    first, _last = _first_last(results)
    w = wave_head(first, lang)
    rows = []
    for scale_id, block in _scales(results, inst):
        a = block.get("attrition", {})
        rows.append({
            t("report.col.scale", lang): _scale_name(inst, scale_id, lang),
            t("report.col.n_completers", lang): fmt_number(a.get("n_completers"), lang, 0),
            t("report.col.mean_completers", lang, wave=w): fmt_number(a.get("mean_completers"), lang),
            t("report.col.n_dropouts", lang): fmt_number(a.get("n_dropouts"), lang, 0),
            t("report.col.mean_dropouts", lang, wave=w): fmt_number(a.get("mean_dropouts"), lang),
            t("report.col.hedges_g", lang): fmt_number(a.get("hedges_g"), lang),
            t("report.col.ci", lang): fmt_ci(a.get("hedges_g_ci95"), lang),
            t("report.col.p", lang): fmt_p(a.get("p"), lang),
        })
    return pd.DataFrame(rows)


# -- a design with comparison schools: difference in differences ------------------------------
_WWC = ("equivalent", "adjust", "not_equivalent")


def condition_label(condition: object, lang: str = "nl") -> str:
    """The readers' name of a condition (``interventiescholen``), else the study's code."""
    return _opt(f"report.condition.{condition}", lang, str(condition))


def _design(results: dict) -> tuple[str, str]:
    d = results.get("design") or {}
    return str(d.get("treatment") or "intervention"), str(d.get("reference") or "control")


def _contrasts(block: dict, results: dict) -> list[tuple[str, str, dict]]:
    """``(contrast, later wave, row)`` of a scale's ``did`` block in the declared wave order."""
    first = _first_last(results)[0]
    did = block.get("did") or {}
    return [(f"{w}-{first}", w, did[f"{w}-{first}"]) for w in _waves(results)
            if f"{w}-{first}" in did]


def did_sentences(results: dict, inst: Instrument, lang: str = "nl") -> list[str]:
    """Per scale and later wave, in plain words: how much more the intervention schools changed
    than the comparison schools, how sure, and how large against the first-wave spread (HTML)."""
    treatment, reference = _design(results)
    first = _first_last(results)[0]
    out = []
    for scale_id, block in _scales(results, inst):
        name = f"<strong>{escape(_scale_name(inst, scale_id, lang))}</strong>"
        for _c, wave, row in _contrasts(block, results):
            common = {"name": name, "first": escape(wave_label(first, lang)),
                      "last": escape(wave_label(wave, lang)),
                      "treatment": escape(condition_label(treatment, lang)),
                      "reference": escape(condition_label(reference, lang))}
            if row.get("estimate") is None:
                out.append(t("report.did.suppressed", lang, **common))
                continue
            key = "more" if row["estimate"] > 0 else "less"
            text = t(f"report.did.{key}", lang, **common,
                     diff=fmt_number(abs(row["estimate"]), lang), ci=fmt_ci(row.get("ci95"), lang),
                     size=effect_label(row.get("d"), lang), d=fmt_number(row.get("d"), lang))
            sure = row.get("p") is not None and row["p"] < 0.05
            text += " " + t("report.did.sure" if sure else "report.did.unsure", lang,
                            p=fmt_p(row.get("p"), lang), df=fmt_number(row.get("df"), lang, 1))
            out.append(text)
    return out


def did_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """The difference in differences per scale and later wave (suppressed cells: a dash)."""
    rows = []
    for scale_id, block in _scales(results, inst):
        for _c, wave, r in _contrasts(block, results):
            rows.append({
                t("report.col.scale", lang): _scale_name(inst, scale_id, lang),
                t("report.col.wave", lang): wave_head(wave, lang),
                t("report.col.did", lang): fmt_number(r.get("estimate"), lang),
                t("report.col.ci", lang): fmt_ci(r.get("ci95"), lang),
                t("report.col.df", lang): fmt_number(r.get("df"), lang, 1),
                t("report.col.p", lang): fmt_p(r.get("p"), lang),
                t("report.col.d", lang): fmt_number(r.get("d"), lang),
            })
    return pd.DataFrame(rows)


def baseline_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Baseline equivalence per scale: the arms' sizes and means, Hedges' g and the WWC band."""
    treatment, reference = _design(results)
    first = wave_head(_first_last(results)[0], lang)
    rows = []
    for scale_id, block in _scales(results, inst):
        b = block.get("baseline_equivalence")
        if not isinstance(b, dict):
            continue
        band = b.get("category")
        rows.append({
            t("report.col.scale", lang): _scale_name(inst, scale_id, lang),
            t("report.col.n_arm", lang, arm=condition_label(treatment, lang)):
                fmt_number(b.get("n_treatment"), lang, 0),
            t("report.col.mean_arm", lang, arm=condition_label(treatment, lang), wave=first):
                fmt_number(b.get("mean_treatment"), lang),
            t("report.col.n_arm", lang, arm=condition_label(reference, lang)):
                fmt_number(b.get("n_reference"), lang, 0),
            t("report.col.mean_arm", lang, arm=condition_label(reference, lang), wave=first):
                fmt_number(b.get("mean_reference"), lang),
            t("report.col.hedges_g", lang): fmt_number(b.get("g"), lang),
            t("report.col.ci", lang): fmt_ci(b.get("ci95"), lang),
            t("report.col.wwc", lang): t(f"report.wwc.{band}", lang) if band in _WWC else "–",
        })
    return pd.DataFrame(rows)


def arm_attrition_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Attrition per condition and scale, with the differential attrition of the two arms
    compared when both rates are shown (their difference: nothing withheld is used)."""
    treatment, reference = _design(results)
    rows = []
    for scale_id, block in _scales(results, inst):
        a = (block.get("attrition_by_condition") or {}).get("by_condition")
        if not isinstance(a, dict):
            continue
        rates = [(a.get(arm) or {}).get("attrition") for arm in (treatment, reference)]
        diff = abs(rates[0] - rates[1]) if None not in rates else None
        arms = [treatment, reference] + sorted(set(a) - {treatment, reference})
        for i, arm in enumerate(c for c in arms if c in a):
            r = a[arm]
            rows.append({
                t("report.col.scale", lang): _scale_name(inst, scale_id, lang) if i == 0 else "",
                t("report.col.condition", lang): _cap(condition_label(arm, lang)),
                t("report.col.n_baseline", lang): fmt_number(r.get("baseline"), lang, 0),
                t("report.col.n_analytic", lang): fmt_number(r.get("analytic"), lang, 0),
                t("report.col.attrition", lang): fmt_percent(r.get("attrition"), lang),
                t("report.col.differential", lang): fmt_percent(diff, lang) if i == 0 else "",
            })
    return pd.DataFrame(rows)


def arm_paired_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """First vs last wave within each arm (Contract 4 v2 ``conditions.<c>.paired``) per scale,
    treatment first, then the reference, then other arms; suppressed cells: a dash. Empty when
    no scale has ``conditions``."""
    treatment, reference = _design(results)
    first, last = _first_last(results)
    rows = []
    for scale_id, block in _scales(results, inst):
        arms = block.get("conditions")
        if not isinstance(arms, dict):
            continue
        order = [treatment, reference] + sorted(set(arms) - {treatment, reference})
        for i, arm in enumerate(c for c in order if isinstance(arms.get(c), dict)):
            p = arms[arm].get("paired") or {}
            rows.append({
                t("report.col.scale", lang): _scale_name(inst, scale_id, lang) if i == 0 else "",
                t("report.col.condition", lang): _cap(condition_label(arm, lang)),
                **_change_cells(p, first, last, lang),
                t("report.col.p_adj", lang): fmt_p(p.get("p_adj"), lang),
            })
    return pd.DataFrame(rows)


def did_part(part: str, lang: str = "nl") -> str:
    """A sub-heading of the design section (``baseline``, ``attrition``) with its note."""
    return (f"<h3>{escape(t(f'report.did.{part}.head', lang))}</h3>"
            f"<p class='pe-note'>{escape(t(f'report.did.{part}.note', lang))}</p>")


def did_html(results: dict, inst: Instrument, lang: str = "nl") -> str:
    """The plain-language findings of the design, its method in one paragraph and, when
    schools started in different waves, that limitation."""
    treatment, reference = _design(results)
    design = results.get("design") or {}
    arms = {"treatment": escape(condition_label(treatment, lang)),
            "reference": escape(condition_label(reference, lang))}
    items = "".join(f"<li>{s}</li>" for s in did_sentences(results, inst, lang))
    out = f"<ul class='pe-summary'>{items}</ul>" if items else ""
    out += f"<p class='pe-note'>{t('report.did.method', lang, **arms)}</p>"
    starts = design.get("start_waves") or {}
    if len(set(starts.values())) > 1:
        out += f"<p class='pe-note'>{t('report.did.staggered', lang, **arms)}</p>"
    out += _without_condition_html(design, arms, lang)
    return out


def _without_condition_html(design: dict, arms: dict, lang: str) -> str:
    """One sentence when schools without a declared condition were left out of the design."""
    n = design.get("schools_without_condition")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        return ""
    text = t("report.did.without_condition", lang, n=i18n.integer(n, lang), **arms)
    return f"<p class='pe-note'>{text}</p>"


def sensitivity_html(results: dict, inst: Instrument, lang: str = "nl") -> str:
    """One sentence per scale: the smallest effect the study could detect reliably."""
    items = []
    for scale_id, block in _scales(results, inst):
        s = block.get("sensitivity", {})
        if s.get("min_d_z") is None:
            continue
        items.append("<li>" + escape(t("report.sensitivity.item", lang,
                                          name=_scale_name(inst, scale_id, lang),
                                          n=i18n.integer(s["n"], lang),
                                          d=fmt_number(s["min_d_z"], lang),
                                          alpha=fmt_number(0.05, lang))) + "</li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


# -- frameworks: Epstein, Gerdes, participatieladder, praatplaat -------------------------------
def framework_table(results: dict, name: str) -> pd.DataFrame:
    """One framework table from results.json as a DataFrame (empty when absent)."""
    return pd.DataFrame.from_records(_fw(results, name))


def _role_label(role: object, lang: str) -> str:
    return role_label(role, lang)


def classification_label(name: object, lang: str = "nl") -> str:
    return _opt(f"report.classification.{name}", lang, str(name))


def ordinal_tests_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """Who moved up or down a level or rung, with the sign test and Stuart-Maxwell test."""
    rows = []
    for r in framework_table(results, "ordinal_tests").to_dict(orient="records"):
        rows.append({
            t("report.col.classification", lang): classification_label(r["classification"], lang),
            t("report.col.role", lang): role_label(r.get("role"), lang),
            t("report.col.n_pairs", lang): fmt_number(r.get("n"), lang, 0),
            t("report.col.up", lang): fmt_percent(r.get("share_up"), lang),
            t("report.col.same", lang): fmt_percent(r.get("share_same"), lang),
            t("report.col.down", lang): fmt_percent(r.get("share_down"), lang),
            t("report.col.net_up", lang): fmt_percent(r.get("net_up"), lang),
            t("report.col.ci", lang): fmt_ci([r.get("net_up_ci_low"), r.get("net_up_ci_high")], lang),
            t("report.col.sign_test", lang): fmt_p(r.get("sign_test_p"), lang),
            t("report.col.stuart_maxwell", lang): fmt_p(r.get("stuart_maxwell_p"), lang),
        })
    return pd.DataFrame(rows)


def transition_matrix(results: dict, classification: str, role: str,
                      lang: str = "nl") -> pd.DataFrame:
    """First (rows) by last wave (columns) counts for one classification and role; '–' = suppressed."""
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
    first, last = _first_last(results)
    head = _cap(t("report.col.from_to", lang, first=wave_label(first, lang),
                  last=wave_label(last, lang)))
    return table.rename(columns={"from_label": head}).fillna("–")


def ladder_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """Expected and experienced rung and their mismatch per role and wave."""
    rows = []
    for r in framework_table(results, "ladder_mismatch").to_dict(orient="records"):
        rows.append({
            t("report.col.role", lang): role_label(r.get("role"), lang),
            t("report.col.wave", lang): wave_head(r.get("wave"), lang),
            t("report.col.n", lang): fmt_number(r.get("n"), lang, 0),
            t("report.col.expected", lang): fmt_number(r.get("mean_expected"), lang),
            t("report.col.experienced", lang): fmt_number(r.get("mean_experienced"), lang),
            t("report.col.mismatch", lang): fmt_number(r.get("mean_mismatch"), lang),
            t("report.col.less_say", lang): fmt_percent(r.get("share_less"), lang),
        })
    return pd.DataFrame(rows)


def epstein_change_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """Mean frequency per Epstein type before and after, per role, with the paired change."""
    first, last = _first_last(results)
    rows = []
    for r in framework_table(results, "epstein_change").to_dict(orient="records"):
        rows.append({
            t("report.col.epstein_type", lang): r.get("type_label"),
            t("report.col.role", lang): role_label(r.get("role"), lang),
            t("report.col.n_pairs", lang): fmt_number(r.get("n"), lang, 0),
            wave_head(first, lang): fmt_number(r.get("mean_pre"), lang),
            wave_head(last, lang): fmt_number(r.get("mean_post"), lang),
            t("report.col.diff", lang): fmt_number(r.get("mean_diff"), lang),
            t("report.col.ci", lang): fmt_ci([r.get("ci_low"), r.get("ci_high")], lang),
            t("report.col.p", lang): fmt_p(r.get("p"), lang),
        })
    return pd.DataFrame(rows)


def praatplaat_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """Mean per praatplaat theme per role and wave."""
    df = framework_table(results, "praatplaat")
    if df.empty:
        return df
    means = df.drop_duplicates(["role", "wave", "theme"])
    means = means.assign(col=[t("report.col.role_wave", lang, role=role_label(r, lang),
                                wave=wave_label(w, lang))
                              for r, w in zip(means["role"], means["wave"], strict=True)],
                         value=[fmt_number(m, lang) for m in means["mean"]])
    table = means.pivot_table(index=["theme_order", "theme_label"], columns="col", values="value",
                              aggfunc="first", sort=False)
    table = table.reset_index(level=0, drop=True).reset_index()
    table.columns.name = None
    return table.rename(columns={"theme_label": t("report.col.theme", lang)}).fillna("–")


def framework_notes_html(results: dict, lang: str = "nl") -> str:
    """The notes that must accompany the framework results (e.g. the Gerdes operationalisation)."""
    notes = results.get("frameworks", {}).get("notes", [])
    return "".join(f"<p class='pe-note'>{escape(n)}</p>" for n in notes)


def _subject(ref: str, inst: Instrument, lang: str) -> str:
    """A scale's or item's name (an item by its label, else its id)."""
    if ref in inst.scale_ids:
        return _scale_name(inst, ref, lang)
    try:
        item = inst.item(ref)
    except KeyError:
        return ref
    return pick_text(item.label, lang) if item.label else ref


def _value(x: float, ref: str, inst: Instrument, lang: str) -> str:
    """An answer code by its label when ``ref`` is an item (``'Raadplegen'``), else a number."""
    if ref not in inst.scale_ids and float(x).is_integer() and int(x) in inst.response_scale.labels:
        return "‘" + pick_text(inst.response_scale.labels[int(x)], lang) + "’"
    return _score(x, lang)


def rule_sentence(rule: dict | None, inst: Instrument, lang: str = "nl") -> str:
    """A classification rule in words (``gemiddeld minstens 3,5 op Uitwisseling``).

    >>> gerdes = load_instrument("gerdes")
    >>> rule_sentence({"scale": "gerdes_exchange", "min": 3.5}, gerdes, "nl")
    'gemiddeld minstens 3,5 op Kennis en informatie uitwisselen'
    """
    if rule is None:
        return t("report.rule.base", lang)
    for key in ("all", "any"):
        if key in rule:
            return t(f"report.rule.join_{key}", lang).join(rule_sentence(p, inst, lang) for p in rule[key])
    if "difference" in rule:
        a, b = rule["difference"]
        subject = t("report.rule.difference", lang, a=_subject(a, inst, lang), b=_subject(b, inst, lang))
        ref = a
        kind = "difference"
    else:
        ref = rule.get("scale", rule.get("item"))
        subject = _subject(ref, inst, lang)
        kind = "scale" if "scale" in rule else "item"
    parts = []
    for cond in ("min", "max", "equals"):
        if cond in rule:
            value = _score(rule[cond], lang) if kind != "item" else _value(rule[cond], ref, inst, lang)
            parts.append(t(f"report.rule.{kind}_{cond}", lang, subject=subject, x=value))
    if "in" in rule:
        values = [_value(v, ref, inst, lang) if kind == "item" else _score(v, lang) for v in rule["in"]]
        parts.append(t("report.rule.in", lang, subject=subject, values=_join(values, lang)))
    return t("report.rule.join_all", lang).join(parts)


def rules_html(results: dict, lang: str = "nl") -> str:
    """The classification rules as they were applied, written as sentences, per classification."""
    records = _fw(results, "rules")
    if not records:
        return ""
    blocks: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        blocks.setdefault((r["instrument"], r["classification"]), []).append(r)
    out = [f"<h3 id='rules'>{escape(t('report.rules.head', lang))}</h3>"]
    for (inst_id, cl_id), rows in blocks.items():
        try:
            inst = load_instrument(inst_id)
            levels = {lv.level: lv for lv in inst.classification(cl_id).levels}
            cumulative = inst.classification(cl_id).cumulative
        except Exception:  # noqa: BLE001 - an instrument not installed here: the recorded text
            inst, levels, cumulative = None, {}, bool(rows[0].get("cumulative"))
        lines = []
        for r in rows:
            lv = levels.get(r["level"])
            rule = rule_sentence(lv.rule, inst, lang) if inst is not None and lv is not None \
                else str(r.get("rule"))
            lines.append(f"<li>{escape(t('report.rules.level', lang, label=r['label'], rule=rule))}</li>")
        how = t("report.rules.cumulative" if cumulative else "report.rules.first_match", lang)
        out.append(f"<p><strong>{escape(rows[0].get('name') or cl_id)}</strong>. {escape(how)}</p>"
                   f"<ul>{''.join(lines)}</ul>")
    return "".join(out)


# -- psychometrics: items, factor structure, invariance across roles ---------------------------
def _psy(results: dict, name: str) -> list[dict]:
    return results.get("psychometrics", {}).get(name, [])


def _wave_label(wave: object, lang: str) -> str:
    return wave_label(wave, lang)


def _item_label(inst: Instrument, item_id: str, lang: str) -> str:
    """The item's text as parents read it (the parallel forms say the same thing)."""
    try:
        item = inst.item(item_id)
    except KeyError:  # an item the instrument no longer has: show its id
        return item_id
    texts = item.text
    form = texts.get("parent") or next(iter(texts.values()))
    text = f"{item_id}: {pick_text(form, lang)}"
    return text + " " + t("report.item.reverse_mark", lang) if item.reverse else text


def item_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Item statistics per scale and wave, with the items that weaken their scale marked."""
    r_min = results.get("psychometrics", {}).get("r_rest_min", 0.30)
    rows = []
    for r in _psy(results, "items"):
        why = []
        if r.get("raises_alpha"):
            why.append(t("report.item.raises_alpha", lang))
        if r.get("weak_r_rest"):
            why.append(t("report.item.weak_r_rest", lang, r=fmt_number(r_min, lang)))
        if r.get("reason"):
            why = [t("report.suppressed", lang, min_cell=results.get("min_cell", 10))]
        rows.append({
            t("report.col.scale", lang): _scale_name(inst, r["scale"], lang),
            t("report.col.wave", lang): wave_head(r.get("wave"), lang),
            t("report.col.item", lang): _item_label(inst, r["item"], lang),
            t("report.col.n", lang): fmt_number(r.get("n"), lang, 0),
            t("report.col.mean", lang): fmt_number(r.get("mean"), lang),
            t("report.col.sd", lang): fmt_number(r.get("sd"), lang),
            t("report.col.pct_missing", lang): fmt_number(r.get("pct_missing"), lang, 1),
            t("report.col.pct_floor", lang): fmt_number(r.get("pct_floor"), lang, 1),
            t("report.col.pct_ceiling", lang): fmt_number(r.get("pct_ceiling"), lang, 1),
            t("report.col.r_rest", lang): fmt_number(r.get("r_rest"), lang),
            t("report.col.alpha_if_deleted", lang): fmt_number(r.get("alpha_if_deleted"), lang),
            t("report.col.check", lang): "; ".join(why),
        })
    return pd.DataFrame(rows)


#: People per free parameter below which a CFA's fit is flagged as uncertain (Bentler & Chou,
#: 1987, Sociol. Methods Res. 16, 78-117).
N_PER_PARAMETER = 5


#: The reasons results/quality.py gives for a factor model without numbers (English, in
#: results.json) -> the note the report shows in their place.
_FIT_NOTES = {NOT_CONVERGED: "report.fit_note.not_converged",
              FEW_ROLES: "report.fit_note.few_roles"}


def _fit_note(reason: object, results: dict, lang: str) -> str:
    """The note beside a CFA or invariance row in ``lang``: results.json keeps its reason in
    English (a suppression, a fit that did not converge, a model that could not be fitted with
    the error's own text); the report words it from the catalogue, never in that English."""
    reason = str(reason or "")
    if not reason:
        return ""
    if reason.startswith("suppressed"):
        return t("report.suppressed", lang, min_cell=results.get("min_cell", 10))
    key = next((k for start, k in _FIT_NOTES.items() if reason.startswith(start)),
               "report.over_time.not_fitted")
    return t(key, lang)


def cfa_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """Fit of the three-scale factor model, per wave, for everyone and per role."""
    rows = []
    for r in _psy(results, "cfa"):
        reason = _fit_note(r.get("reason"), results, lang)
        if not str(r.get("reason") or "").startswith("suppressed") and r.get("n") and \
                r.get("npar") and r["n"] < N_PER_PARAMETER * r["npar"]:
            # Bentler & Chou (1987): fewer than ~5 people per free parameter makes ML fit
            # indices unstable; the numbers are shown, with the warning beside them.
            reason = t("report.cfa.few_people", lang, npar=r["npar"], per=N_PER_PARAMETER)
        chisq = (t("report.cfa.chisq_df", lang, chisq=fmt_number(r.get("chisq"), lang),
                   df=fmt_number(r.get("df"), lang, 0)) if r.get("chisq") is not None else "–")
        rows.append({
            t("report.col.wave", lang): wave_head(r.get("wave"), lang),
            t("report.col.group", lang): t("report.role.all", lang) if r.get("group") == "all"
            else role_label(r.get("group"), lang),
            t("report.col.n", lang): fmt_number(r.get("n"), lang, 0),
            t("report.col.chisq_df", lang): chisq,
            t("report.col.cfi", lang): fmt_number(r.get("cfi"), lang, 3),
            t("report.col.tli", lang): fmt_number(r.get("tli"), lang, 3),
            t("report.col.rmsea", lang): fmt_number(r.get("rmsea"), lang, 3),
            t("report.col.rmsea_ci", lang):
                fmt_ci([r.get("rmsea_ci_low"), r.get("rmsea_ci_high")], lang, 3),
            t("report.col.srmr", lang): fmt_number(r.get("srmr"), lang, 3),
            t("report.col.note", lang): reason,
        })
    return pd.DataFrame(rows)


def invariance_table(results: dict, lang: str = "nl") -> pd.DataFrame:
    """Measurement invariance across roles: each step's fit and its change (Chen, 2007)."""
    rows = []
    for r in _psy(results, "invariance"):
        if r.get("level") is None:
            rows.append({t("report.col.wave", lang): wave_head(r.get("wave"), lang),
                         t("report.col.step", lang): "–",
                         t("report.col.note", lang): _fit_note(r.get("reason"), results, lang)})
            continue
        ok = r.get("supported")
        verdict = "–" if ok is None else t("report.yes" if ok else "report.no", lang)
        rows.append({
            t("report.col.wave", lang): wave_head(r.get("wave"), lang),
            t("report.col.step", lang): _opt(f"report.invariance.{r['level']}", lang, r["level"]),
            t("report.col.cfi", lang): fmt_number(r.get("cfi"), lang, 3),
            t("report.col.rmsea", lang): fmt_number(r.get("rmsea"), lang, 3),
            t("report.col.delta_cfi", lang): fmt_number(r.get("delta_cfi"), lang, 3),
            t("report.col.delta_rmsea", lang): fmt_number(r.get("delta_rmsea"), lang, 3),
            t("report.col.invariant", lang): verdict,
            t("report.col.note", lang): _fit_note(r.get("reason"), results, lang),
        })
    return pd.DataFrame(rows)


def invariance_conclusion(results: dict, lang: str = "nl") -> str:
    """One sentence per wave: may parents' and professionals' scores be compared directly?"""
    out = []
    by_wave: dict[str, dict[str, object]] = {}
    for r in _psy(results, "invariance"):
        if r.get("level"):
            by_wave.setdefault(r["wave"], {})[r["level"]] = r.get("supported")
    for wave, levels in by_wave.items():
        w = wave_head(wave, lang)
        key = ("scalar_ok" if levels.get("metric") and levels.get("scalar")
               else "metric_only" if levels.get("metric") else "none")
        out.append(t(f"report.invariance.conclusion_{key}", lang, wave=w))
    rule = results.get("psychometrics", {}).get("invariance_rule") or {}
    note = t("report.invariance.rule", lang,
             cfi=fmt_number(abs(rule.get("delta_cfi_min", -0.01)), lang, 3),
             rmsea=fmt_number(rule.get("delta_rmsea_max", 0.015), lang, 3))
    items = "".join(f"<li>{escape(s)}</li>" for s in out)
    return (f"<ul>{items}</ul>" if items else "") + f"<p class='pe-note'>{escape(note)}</p>"


# -- measurement over time and multiple imputation (Contract 4 v2) -----------------------------
#: The verdicts of ``means_comparable`` the catalogue words (``report.over_time.<verdict>``).
_OVER_TIME_VERDICTS = ("comparable", "intercepts_differ", "loadings_differ", "configural_misfit",
                       "not_converged")


def _waves_words(results: dict, lang: str) -> str:
    """The declared waves as readers say them: ``voormeting en nameting``."""
    return _join([wave_label(w, lang) for w in _waves(results)], lang)


def over_time_sentences(results: dict, inst: Instrument, lang: str = "nl") -> list[str]:
    """Per scale, in plain words: may its means (and their differences) be compared across the
    waves? From ``means_comparable`` (longitudinal invariance, Chen's rule); a scale that was
    not tested says why (HTML: the scale's name in bold)."""
    waves = escape(_waves_words(results, lang))
    out = []
    for scale_id, block in _scales(results, inst):
        verdict = block.get("means_comparable")
        if not isinstance(verdict, dict):
            continue
        name = f"<strong>{escape(_scale_name(inst, scale_id, lang))}</strong>"
        value = verdict.get("value")
        if value in _OVER_TIME_VERDICTS:
            out.append(t(f"report.over_time.{value}", lang, name=name, waves=waves))
            continue
        why = str(verdict.get("value_reason") or verdict.get("reason") or "")
        why = (t("report.suppressed", lang, min_cell=results.get("min_cell", 10))
               if why.startswith("suppressed")
               else t("report.over_time.too_few", lang) if why.startswith(TOO_FEW_TO_FIT)
               else t("report.over_time.not_fitted", lang))
        out.append(t("report.over_time.withheld", lang, name=name, why=escape(why)))
    return out


def over_time_html(results: dict, inst: Instrument, lang: str = "nl") -> str:
    """The verdict per scale and the decision rule (the fit table follows, folded)."""
    items = "".join(f"<li>{s}</li>" for s in over_time_sentences(results, inst, lang))
    rule = next((b["means_comparable"].get("rule") for _, b in _scales(results, inst)
                 if isinstance(b.get("means_comparable"), dict)
                 and b["means_comparable"].get("rule")), None) or {}
    note = t("report.over_time.rule", lang,
             cfi=fmt_number(abs(rule.get("delta_cfi_min", -0.01)), lang, 3),
             rmsea=fmt_number(rule.get("delta_rmsea_max", 0.015), lang, 3),
             cfi_min=fmt_number(rule.get("configural_cfi_min", 0.90), lang, 2),
             rmsea_max=fmt_number(rule.get("configural_rmsea_max", 0.08), lang, 2))
    return ((f"<ul class='pe-summary'>{items}</ul>" if items else "")
            + f"<p class='pe-note'>{escape(note)}</p>")


def over_time_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Configural, metric and scalar fit over the waves per scale, with the changes and
    Chen's decision (as the roles' invariance table)."""
    rows = []
    for scale_id, block in _scales(results, inst):
        steps = block.get("longitudinal_invariance")
        if not isinstance(steps, list):
            continue
        for i, r in enumerate(steps):
            ok = r.get("supported")
            chisq = (t("report.cfa.chisq_df", lang, chisq=fmt_number(r.get("chi2"), lang),
                       df=fmt_number(r.get("df"), lang, 0)) if r.get("chi2") is not None else "–")
            rows.append({
                t("report.col.scale", lang): _scale_name(inst, scale_id, lang) if i == 0 else "",
                t("report.col.step", lang): _opt(f"report.invariance.{r.get('step')}", lang,
                                                 str(r.get("step"))),
                t("report.col.n", lang): fmt_number(r.get("n"), lang, 0),
                t("report.col.chisq_df", lang): chisq,
                t("report.col.cfi", lang): fmt_number(r.get("cfi"), lang, 3),
                t("report.col.tli", lang): fmt_number(r.get("tli"), lang, 3),
                t("report.col.rmsea", lang): fmt_number(r.get("rmsea"), lang, 3),
                t("report.col.srmr", lang): fmt_number(r.get("srmr"), lang, 3),
                t("report.col.delta_cfi", lang): fmt_number(r.get("delta_cfi"), lang, 3),
                t("report.col.delta_rmsea", lang): fmt_number(r.get("delta_rmsea"), lang, 3),
                t("report.col.invariant", lang):
                    "–" if ok is None else t("report.yes" if ok else "report.no", lang),
            })
    return pd.DataFrame(rows)


def has_imputation(results: dict) -> bool:
    """Whether the results have the imputation blocks (Contract 4 v2 ``imputation``)."""
    return any(b.get("imputation") for b in results.get("scales", {}).values())


def _estimate_ci(value: float | None, ci: list | None, lang: str) -> str:
    """``0,22 [0,17; 0,28]``; a dash when withheld."""
    if value is None:
        return "–"
    return t("report.mi.estimate_ci", lang, value=fmt_number(value, lang), ci=fmt_ci(ci, lang))


def imputation_html(results: dict, lang: str = "nl") -> str:
    """The sub-heading of the change section's imputation table and what it shows."""
    ms = [c.get("m") for b in results.get("scales", {}).values()
          for c in (b.get("imputation") or {}).values() if isinstance(c, dict)]
    m = next((x for x in ms if x is not None), None)
    return (f"<h3>{escape(t('report.mi.head', lang))}</h3><p class='pe-note'>"
            f"{escape(t('report.mi.note', lang, m=fmt_number(m, lang, 0)))}</p>")


def imputation_table(results: dict, inst: Instrument, lang: str = "nl") -> pd.DataFrame:
    """Per scale and later wave, the change three ways: complete pairs (``paired``, or the
    contrast's), the multilevel model (first against last wave) and after multiple imputation,
    with the fraction of missing information."""
    first, last = _first_last(results)
    rows = []
    for scale_id, block in _scales(results, inst):
        mi = block.get("imputation")
        if not isinstance(mi, dict):
            continue
        for wave in _waves(results)[1:]:
            r = mi.get(f"{wave}-{first}")
            if not isinstance(r, dict):
                continue
            cc = (block.get("paired") if wave == last else
                  (block.get("contrasts", {}).get(f"{wave}-{first}") or {}).get("paired")) or {}
            mm = block.get("mixed_model") if wave == last else None
            mm = mm if isinstance(mm, dict) else {}
            rows.append({
                t("report.col.scale", lang): _scale_name(inst, scale_id, lang),
                t("report.col.wave", lang): wave_head(wave, lang),
                t("report.col.mi_n_pairs", lang): fmt_number(cc.get("n"), lang, 0),
                t("report.col.mi_complete", lang): _estimate_ci(cc.get("mean_diff"),
                                                                cc.get("ci95"), lang),
                t("report.col.mi_mixed", lang): _estimate_ci(mm.get("wave_effect"),
                                                             mm.get("ci95"), lang),
                t("report.col.mi_n", lang): fmt_number(r.get("n"), lang, 0),
                t("report.col.mi_estimate", lang): _estimate_ci(r.get("estimate"),
                                                                r.get("ci95"), lang),
                t("report.col.p", lang): fmt_p(r.get("p"), lang),
                t("report.col.fmi", lang): fmt_percent(r.get("fmi"), lang),
            })
    return pd.DataFrame(rows)
