"""Report texts come from the catalogue: no Dutch or English sentence is written in the report
modules or notebooks, every key the report builds exists in both languages with the same
placeholders, and the words follow the instrument and the study (a 1-7 scale, three waves)."""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

import pytest

from partnerschap_eval import i18n
from partnerschap_eval.instruments import load_instrument
from partnerschap_eval.report import presentation as pres

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "partnerschap_eval"
#: The modules and notebooks that put words in front of a report's readers.
#: (found wherever they live in the package, so a move into a subpackage keeps them scanned)
SCANNED = [*sorted(PKG.rglob("presentation.py")), *sorted(PKG.rglob("plots.py")),
           *sorted((ROOT / "notebooks").glob("*.py"))]
#: Layout words of matplotlib (legend positions), not text for a reader.
LAYOUT = {"upper center", "lower center"}
WORDS = re.compile(r"[A-Za-zÀ-ÿ]{2,}[\s\u00a0]+[A-Za-zÀ-ÿ]{2,}")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def literal_texts(source: str) -> list[str]:
    """String literals in ``source`` that read as words for a person (docstrings excepted).

    A literal counts when, with HTML tags removed, it holds two words in a row, or it is
    itself one of the catalogue's texts (a single-word label such as ``Schaal``).
    """
    tree = ast.parse(source)
    skip = _docstrings(tree)
    catalogue = {v for lang in i18n.LANGS for v in i18n.keys(lang).values()
                 if len(v) >= 3 and re.search(r"[A-Za-z]", v)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = re.sub(r"<[^>]*>?", " ", node.value)
            text = re.sub(r"\{[^}]*\}", " ", text)
            code = re.fullmatch(r"[a-z_ ]+", node.value) and " " not in node.value.strip()
            if node.value in LAYOUT:
                continue
            if WORDS.search(text) or (node.value.strip() in catalogue and not code):
                found.append(node.value)
    return found


def test_the_scan_finds_inline_text_pairs():
    # what the report modules held before the catalogue: it must be caught
    old = ('x = {"nl": "Kleiner geworden met", "en": "Narrowed by"}\n'
           'head = "Wat is er veranderd?" if lang == "nl" else "What changed?"\n'
           'col = "Schaal"\n')
    assert len(literal_texts(old)) == 5
    # keys, codes, HTML and doc strings are not text
    fine = ('"""Docstring with words."""\nk = t("report.col.scale", lang)\n'
            'h = f"<h2 id=\'{key}\'>{title}</h2>"\nc = "mean_pre"\n')
    assert literal_texts(fine) == []


def test_the_scan_covers_the_report_modules_and_notebooks():
    assert len(SCANNED) >= 4


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: p.name)
def test_no_literal_reader_text_in_report_code(path):
    found = literal_texts(path.read_text(encoding="utf-8"))
    assert found == [], f"{path.name} writes text itself; put it in report.po: {found[:5]}"


def test_notebooks_are_paired_and_committed_without_outputs():
    import jupytext

    for py in sorted((ROOT / "notebooks").glob("*.py")):
        nb = json.loads(py.with_suffix(".ipynb").read_text(encoding="utf-8"))
        assert all(not c.get("outputs") for c in nb["cells"]), py.name
        from_py = jupytext.read(py)
        assert [c.source for c in from_py.cells] == [
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"]], f"{py.name} and its .ipynb differ: run jupytext --sync"


def test_report_keys_exist_in_both_languages_with_the_same_placeholders():
    nl, en = i18n.keys("nl"), i18n.keys("en")
    report = sorted(k for k in nl if k.startswith("report."))
    assert len(report) >= 200
    for key in report:
        assert key in en, key
        assert i18n.placeholders(nl[key]) == i18n.placeholders(en[key]), key
        assert nl[key] != en[key] or not WORDS.search(nl[key]), f"{key} is not translated"
    # keys the report builds from data: sections, methods, effect words
    built = [f"report.section.{s}.title" for s in
             (*pres.SECTIONS, "school_table", "starters", "school_method")]
    built += [f"report.methods.{p}" for p in pres._METHOD_PARTS]
    built += [f"report.effect.{e}" for e in pres._EFFECTS]
    for inst_id in ("partnerschap", "gerdes", "participatieladder", "epstein", "praatplaat"):
        built += [f"report.role.{r}" for r in load_instrument(inst_id).roles]
    missing = [k for k in built if k not in nl or k not in en]
    assert not missing, missing


# -- the words follow the instrument and the study ----------------------------------------------
def _paired(n, pre, post):
    diff = post - pre
    return {"n": n, "mean_pre": pre, "mean_post": post, "mean_diff": diff,
            "ci95": [diff - 0.2, diff + 0.2], "d_z": diff / 0.8,
            "d_z_ci95": [diff / 0.8 - 0.2, diff / 0.8 + 0.2], "d_av": diff / 0.9,
            "p": 0.001, "p_adj": 0.002}


def _results(waves: list[str], scales: list[str]) -> dict:
    blocks = {s: {"paired": _paired(120, 4.1, 4.6),
                  "by_role": {"parent": {"paired": _paired(90, 4.0, 4.6)}},
                  "reliability": {w: {"n": 100, "alpha": 0.8, "alpha_ci95": [0.7, 0.85],
                                      "omega": 0.81} for w in waves}}
              for s in scales}
    school = {"name": "De Regenboog", "n_parents": {w: 30 for w in waves},
              "scales": {s: _paired(25, 3.2 + i, 3.9 + i) for i, s in enumerate(scales)}}
    return {"waves": waves, "compared": {"first": waves[0], "last": waves[-1]}, "min_cell": 10,
            "counts": {w: {"n": 150, "by_role": {"parent": 100, "teacher": 50}} for w in waves},
            "scales": blocks, "schools": {"school-001": school}}


def _seven_point():
    inst = load_instrument("partnerschap")
    return inst.model_copy(update={"response_scale": inst.response_scale.model_copy(
        update={"min": 1, "max": 7, "labels": {}})})


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_seven_point_three_wave_study_is_worded_from_its_own_data(lang):
    inst = _seven_point()
    results = _results(["T0", "T1", "T2"], list(inst.scale_ids))
    params = pres.text_params(results, inst, lang)
    pages = [pres.overview_html(results, inst, lang),
             *(pres.section(s, lang, **params) for s in pres.project_sections(results)),
             pres.toc_html(pres.project_sections(results), lang, **params),
             pres.html_table(pres.paired_table(results, inst, lang)),
             pres.html_table(pres.reliability_table(results, inst, lang)),
             pres.school_summary_html(results, "school-001", inst, lang),
             pres.html_table(pres.school_table(results, "school-001", inst, lang))]
    text = re.sub(r"<[^>]+>", " ", " ".join(pages))
    scale_words = {"nl": "schaal van 1 tot 7", "en": "scale from 1 to 7"}[lang]
    assert scale_words in text
    assert not re.search(r"1 (tot|to) 5|1-5|1–5", text)
    assert not re.search(r"\b(pre|post|voormeting|nameting|pre-test|post-test)\b", text,
                         re.IGNORECASE)
    assert "T0" in text and "T2" in text


def test_pre_post_waves_get_their_catalogue_names():
    inst = load_instrument("partnerschap")
    results = _results(["pre", "post"], list(inst.scale_ids))
    table = pres.paired_table(results, inst, "nl")
    assert {"Voormeting", "Nameting"} <= set(table.columns)
    assert "schaal van 1 tot 5" in pres.overview_html(results, inst, "nl")


def test_school_sentences_never_use_a_suppressed_group():
    inst = load_instrument("partnerschap")
    results = _results(["pre", "post"], list(inst.scale_ids))
    small = copy.deepcopy(results)
    small["schools"]["school-001"]["scales"] = {
        s: {"n": None, "mean_pre": None, "mean_post": None, "mean_diff": None, "ci95": None}
        for s in inst.scale_ids}
    small["schools"]["school-001"]["n_parents"] = {"pre": 12, "post": None}
    sentences = pres.school_sentences(small, "school-001", inst, "nl")
    assert len(sentences) == 1 and "minder dan 10" in sentences[0]
    assert pres.school_starters_html(small, "school-001", inst, "nl") == ""
    summary = pres.school_summary_html(small, "school-001", inst, "nl")
    assert "nameting minder dan 10" in summary and "voormeting 12" in summary
    # with numbers: three sentences, and they name the scale that changed most
    shown = pres.school_sentences(results, "school-001", inst, "en")
    assert len(shown) == 3 and all(s.endswith(".") for s in shown)


def test_conversation_starters_come_from_the_praatplaat_relations():
    inst = load_instrument("partnerschap")
    results = _results(["pre", "post"], list(inst.scale_ids))
    # the lowest score at the last wave is on the first scale (3.9 against 4.9 and 5.9)
    lowest = inst.scale_ids[0]
    html = pres.school_starters_html(results, "school-001", inst, "nl")
    pp = load_instrument("praatplaat")
    related = [it for it in pp.items if lowest in (it.relates_to or {}).get("partnerschap", ())]
    unrelated = [it for it in pp.items if it not in related]
    assert related and unrelated
    assert all(it.label["nl"] in html for it in related)
    assert not any(f"<strong>{it.label['nl']}</strong>" in html for it in unrelated)
    assert "Hoe zit dat bij ons?" in html
    # every relation names a scale of the instrument it points to
    for it in pp.items:
        for inst_id, ids in (it.relates_to or {}).items():
            assert set(ids) <= set(load_instrument(inst_id).scale_ids), it.id


def test_rules_read_as_sentences():
    gerdes = load_instrument("gerdes")
    nl = pres.rule_sentence({"scale": "gerdes_exchange", "min": 3.5}, gerdes, "nl")
    assert nl.startswith("gemiddeld minstens 3,5 op ") and ">=" not in nl and "gerdes_" not in nl
    ladder = load_instrument("participatieladder")
    code = ladder.classification("ladder_expected").levels[1].rule
    words = pres.rule_sentence(code, ladder, "en")
    assert "pl_expected" not in words and "=" not in words


def test_table_cells_are_typeset_by_kind():
    import pandas as pd

    html = pres.html_table(pd.DataFrame({"Schaal": ["<b>x</b>"], "n": ["12"],
                                         "95%-BI": ["[−0,12; 0,40]"], "p": ["p < 0,001"]}))
    assert "&lt;b&gt;" in html and "<b>" not in html
    cells = re.findall(r"<td class='(pe-\w+)' data-label='([^']*)'", html)
    assert cells == [("pe-text", "Schaal"), ("pe-num", "n"), ("pe-num", "95%-BI"), ("pe-num", "p")]


def test_suppressed_level_shares_are_one_hatched_segment_marked_below_min_cell():
    from matplotlib.patches import Rectangle

    from partnerschap_eval.report import plots

    inst = load_instrument("partnerschap")
    cells = [(0, 0.30, None), (1, 0.45, None), (2, None, "suppressed: n < 10"),
             (3, None, "suppressed: n < 10 (complementary)")]
    rows = [{"classification": "gerdes_level", "role": "parent", "wave": w, "level": lv,
             "label": f"L{lv}", "share": share, "reason": reason}
            for w in ("pre", "post") for lv, share, reason in cells]
    results = {"waves": ["pre", "post"], "compared": {"first": "pre", "last": "post"},
               "min_cell": 10, "frameworks": {"tables": {"level_distribution": rows}}}
    fig = plots.level_bars(results, "gerdes_level", inst, "nl")
    ax = fig.axes[0]
    hatched = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
    assert len(hatched) == 2  # one per bar, not one per hidden level
    assert all(abs(p.get_width() - 0.25) < 1e-9 and abs(p.get_x() - 0.75) < 1e-9 for p in hatched)
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("< 10") == 2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("minder dan 10" in t for t in legend)
    import matplotlib.pyplot as plt

    plt.close(fig)
