"""User errors of the library are worded from the catalogue (``errors.po``), in Dutch and English.

``str(exc)`` stays English (other tests assert on it); the CLI prints the same error in the
user's language (``PARTNERSCHAP_EVAL_LANG`` or ``report --lang``).
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from partnerschap_eval import cli, i18n
from partnerschap_eval.errors import Joined, Msg, PartnerschapError

SRC = Path(__file__).resolve().parents[1] / "src" / "partnerschap_eval"
runner = CliRunner()


def _module_names() -> list[str]:
    """Every module of the package, dotted below ``partnerschap_eval`` (``ingest.readers``)."""
    names = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__")
    return names


MODULES = _module_names()


def _file(mod: str) -> Path:
    if mod == "__init__":
        return SRC / "__init__.py"
    path = SRC.joinpath(*mod.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


# Inline texts that stay, each with its reason: (module, part of the text) -> why.
MUST_STAY = {
    ("i18n", "unknown language"): "raised before a language is known (check_lang)",
    ("_io", "floats must be"): "programming error: the package's own writer option",
    ("ingest.identity", "id_scope must be"): "programming error: an internal invariant",
    ("privacy", "unknown kind"): "programming error: the package names the kind of a cell",
    ("report.pdf", "not a file of the report"): "WeasyPrint's fetcher contract: logged, not shown",
    ("evaluation.mixed_design", "interaction needs"): "programming error: no label arrays",
    ("evaluation.mixed_design", "unknown term(s)"): "programming error: a contrast names no term",
    ("evaluation.mixed_design", "a contrast needs"): "programming error: contrast length",
    ("evaluation.mixed_design", "y must be (n,)"): "programming error: array shapes",
    ("evaluation.mixed_design", "term names for"): "programming error: array shapes",
    ("evaluation.mixed_design", "at least one grouping"): "programming error: no grouping factor",
    ("evaluation.mixed_design", "labels for"): "programming error: array shapes",
}



def test_every_error_key_exists_in_both_languages_with_the_same_placeholders():
    nl = {k: v for k, v in i18n.keys("nl").items() if k.startswith("errors.")}
    en = {k: v for k, v in i18n.keys("en").items() if k.startswith("errors.")}
    assert len(nl) >= 40 and set(nl) == set(en)
    for key in nl:
        assert i18n.placeholders(nl[key]) == i18n.placeholders(en[key]), key
        assert nl[key] != en[key], key  # a real translation, not a copy


def _msg_keys() -> set[str]:
    """Literal keys of ``Msg("errors....")`` anywhere in the package (f-string prefixes too)."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Msg"
                    and node.args):
                arg = node.args[0]
                if isinstance(arg, ast.Constant):
                    found.add(arg.value)
                elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
                    found.add(arg.values[0].value + "*")
    return found


def test_every_key_the_code_raises_with_exists():
    known = set(i18n.keys("nl"))
    for key in _msg_keys():
        if key.endswith("*"):
            assert any(k.startswith(key[:-1]) for k in known), key
        else:
            assert key in known, key


def _is_sentence(node: ast.AST) -> bool:
    """A literal text a person would read: a string with a space, an f-string, or a sum of them."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return " " in node.value.strip()
    if isinstance(node, ast.BinOp):
        return _is_sentence(node.left) or _is_sentence(node.right)
    if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "format":
        return _is_sentence(node.func.value)  # "... {x}".format(x=x)
    return False


def _sentences(node: ast.AST) -> list[ast.AST]:
    """The inline texts of an error's argument, looking into lists and tuples (an instrument's
    ``[(key, problem)]``)."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return [s for elt in node.elts for s in _sentences(elt)]
    return [node] if _is_sentence(node) else []


def _inline_sentences(mod: str) -> list[str]:
    """``module:line`` of every user error (a PartnerschapError or ValueError) raised with an
    inline text, except those in :data:`MUST_STAY`."""
    module = importlib.import_module(f"partnerschap_eval.{mod}" if mod != "__init__"
                                     else "partnerschap_eval")
    found = []
    for node in ast.walk(ast.parse(_file(mod).read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        cls = getattr(module, name or "", None)
        if name == "ValueError" or (isinstance(cls, type) and issubclass(cls, PartnerschapError)):
            for arg in node.args:
                for text in _sentences(arg):
                    if not any(m == mod and p in ast.unparse(text) for m, p in MUST_STAY):
                        found.append(f"{mod}:{text.lineno}")
    return found


@pytest.mark.parametrize("mod", MODULES)
def test_no_inline_sentence_is_passed_to_a_user_error(mod):
    assert _inline_sentences(mod) == []


def _inline_problems(tree: ast.AST) -> list[int]:
    """Lines where a ``(key, text)`` problem for a user error has an inline text: an instrument's
    problems are gathered in lists (``problems.append((key, ...))``, ``[(key, ...) for ...]``)
    before one error words them all. The key (a place in the file, ``items[0].id``) is no text."""
    def texts(node: ast.AST) -> list[int]:
        if isinstance(node, ast.List):
            return [line for elt in node.elts for line in texts(elt)]
        if isinstance(node, ast.Tuple) and len(node.elts) == 2:
            return [t.lineno for t in _sentences(node.elts[1])]
        return []

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "append" and \
                "problems" in ast.unparse(node.func.value):
            found += [line for a in node.args for line in texts(a)]
        elif isinstance(node, ast.ListComp):
            found += texts(node.elt)
        elif isinstance(node, ast.Return) and isinstance(node.value, ast.BinOp):
            found += texts(node.value.right)
    return found


def test_no_problem_list_holds_an_inline_text():
    found = {path.name: _inline_problems(ast.parse(path.read_text(encoding="utf-8")))
             for path in [SRC / "instruments.py"]}
    assert found == {"instruments.py": []}
    probe = ast.parse("def f(problems):\n    problems.append((f'k{1}', f'{1} is wrong'))\n"
                      "    return problems + [('k', 'no rule here')]\n")
    assert sorted(_inline_problems(probe)) == [2, 3]  # the scan can fail


def test_every_must_stay_entry_is_still_used():
    for mod, prefix in MUST_STAY:
        text = _file(mod).read_text(encoding="utf-8")
        assert prefix.strip() in text, (mod, prefix)


def test_the_scan_finds_an_inline_sentence(tmp_path, monkeypatch):
    # the scan must be able to fail: a module raising user errors with inline English texts
    pkg = SRC / "_scan_probe.py"
    try:
        pkg.write_text("from .errors import InputError, InstrumentError\n\n\ndef f(x):\n"
                       "    raise InputError(f'{x} is wrong')\n\n\ndef g(x):\n"
                       "    raise ValueError('x is ' + x)\n\n\ndef h(x):\n"
                       "    raise InstrumentError(x, [('', 'file not found')])\n",
                       encoding="utf-8")
        assert _inline_sentences("_scan_probe") == [
            "_scan_probe:5", "_scan_probe:9", "_scan_probe:13"]
    finally:
        pkg.unlink()
        sys.modules.pop("partnerschap_eval._scan_probe", None)


def test_str_is_english_and_render_is_dutch():
    exc = PartnerschapError(Msg("errors.report.malformed", path="m.json",
                                why=Msg("errors.report.why.missing", key="lock_sha256")))
    assert str(exc).startswith("m.json cannot be used to reproduce the report: 'lock_sha256' is "
                               "missing.")
    assert exc.render("nl").startswith("m.json is niet bruikbaar om het rapport te reproduceren: "
                                       "'lock_sha256' ontbreekt.")
    assert exc.render("en") == str(exc)
    assert PartnerschapError("plain").render("nl") == "plain"  # no key: its own text
    assert Joined([Msg("errors.privacy.not_declared.role"), "x"]).render("nl") == (
        "geen rol van het instrument is; x")


# -- the CLI words each module's errors in Dutch ------------------------------------------------


@pytest.fixture
def dutch(monkeypatch):
    monkeypatch.setenv("PARTNERSCHAP_EVAL_LANG", "nl")  # read again by every run of the CLI


def _paragraph(result) -> str:
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())


def test_privacy_key_exists_in_dutch(dutch, tmp_path):
    key = tmp_path / "project.key"
    key.write_text("x", encoding="utf-8")
    text = _paragraph(runner.invoke(cli.app, ["keygen", "--out", str(key)]))
    assert "fout:" in text and "bestaat al; een projectsleutel wordt nooit overschreven." in text


def test_min_cell_in_dutch_with_report_lang(tmp_path):
    text = _paragraph(runner.invoke(cli.app, [
        "report", "--responses", str(tmp_path / "r.csv"), "--instrument", "partnerschap",
        "--project", "P", "--out", str(tmp_path / "out"), "--min-cell", "0", "--lang", "nl"]))
    assert "maar de minimale celgrootte moet een geheel getal van 1 tot en met" in text


def test_report_build_not_a_folder_in_dutch(dutch, tmp_path):
    text = _paragraph(runner.invoke(cli.app, ["reproduce", str(tmp_path / "nothing")]))
    assert "is geen map; geef de map van een rapport." in text


def test_report_manifest_in_dutch_through_the_environment(tmp_path):
    # the language is read when the command starts: a fresh process with the variable set
    env = {**os.environ, "PARTNERSCHAP_EVAL_LANG": "nl"}
    res = subprocess.run([sys.executable, "-m", "partnerschap_eval.cli", "reproduce",
                          str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "geen manifest.json; is dit wel een rapportmap?" in " ".join(res.stderr.split())


def test_report_date_in_dutch():
    from partnerschap_eval.report.build import ReportError, check_date

    with pytest.raises(ReportError) as caught:
        check_date("gisteren")
    assert str(caught.value) == ("Report date 'gisteren' is not a date; write it as YYYY-MM-DD, "
                                 "for example 2026-11-24.")
    assert caught.value.render("nl").startswith("Rapportdatum 'gisteren' is geen datum")


def test_os_error_in_dutch(dutch, tmp_path, monkeypatch):
    import errno

    from partnerschap_eval import privacy
    from partnerschap_eval.errors import OutputError, os_error_message

    def full(path):
        raise OutputError(os_error_message(OSError(errno.ENOSPC, "No space"), path))

    monkeypatch.setattr(privacy, "keygen", full)
    text = _paragraph(runner.invoke(cli.app, ["keygen", "--out", str(tmp_path / "k")]))
    assert "Kon het schrijven van" in text and "de schijf is vol" in text


def test_disclosure_leak_in_dutch(dutch, monkeypatch, tmp_path):
    from types import SimpleNamespace

    from partnerschap_eval.privacy import disclosure
    from partnerschap_eval.report import build

    leaks = [SimpleNamespace(describe=lambda i=i: f"cel {i}") for i in range(5)]
    monkeypatch.setattr(disclosure, "audit", lambda results, min_cell: SimpleNamespace(leaks=leaks))
    with pytest.raises(disclosure.DisclosureError) as caught:
        disclosure.require_clean_audit({}, 10)
    assert str(caught.value).startswith("The disclosure audit found 5 suppressed number(s)")

    def leak(settings, protect=()):
        raise caught.value

    monkeypatch.setattr(build, "build_report", leak)
    text = _paragraph(runner.invoke(cli.app, [
        "report", "--responses", str(tmp_path / "r.csv"), "--instrument", "partnerschap",
        "--project", "P", "--out", str(tmp_path / "out")]))
    assert "De onthullingscontrole vond 5 onderdrukt(e) getal(len)" in text
    assert "cel 0; cel 1; cel 2 (en nog 2)." in text


def test_firewall_refusal_in_dutch():
    import pandas as pd

    from partnerschap_eval.errors import InputError
    from partnerschap_eval.privacy import screen_responses

    table = pd.DataFrame({"respondent_id": ["a"], "wave": ["pre"], "role": ["jan@example.org"],
                          "school_id": ["S01"]})
    with pytest.raises(InputError) as caught:
        screen_responses(table, ["parent", "teacher"], where="responses.csv")
    assert "row(s) have a role that is not a role of the instrument" in str(caught.value)
    assert "rij(en) hebben een role die geen rol van het instrument is" in caught.value.render("nl")


def test_outputs_refusal_in_dutch(dutch, tmp_path):
    export = tmp_path / "export.csv"
    export.write_text("a\n1\n", encoding="utf-8")
    blocker = tmp_path / "uit"
    blocker.write_text("x", encoding="utf-8")
    text = _paragraph(runner.invoke(cli.app, ["ingest", str(export), "--instrument",
                                              "partnerschap", "--out", str(blocker)]))
    assert "is een bestand, geen map. Geef een pad naar een map" in text


def test_outputs_mixed_set_in_dutch(tmp_path):
    from partnerschap_eval._outputs import check_input_set, seal_set

    (tmp_path / "responses.csv").write_text("a\n", encoding="utf-8")
    (tmp_path / "rejected.csv").write_text("b\n", encoding="utf-8")
    seal_set(tmp_path, "ingest", ["responses.csv", "rejected.csv"])
    (tmp_path / "rejected.csv").write_text("changed\n", encoding="utf-8")
    with pytest.raises(PartnerschapError) as caught:
        check_input_set(tmp_path / "responses.csv")
    assert "(rejected.csv differs from the recorded run)" in str(caught.value)
    assert "(rejected.csv wijkt af van de vastgelegde run)" in caught.value.render("nl")


def test_safe_read_missing_responses_in_dutch(dutch, tmp_path):
    text = _paragraph(runner.invoke(cli.app, ["reproduce", str(tmp_path)]))  # warm-up: a folder
    assert "geen manifest.json" in text
    from partnerschap_eval._safe_read import load_yaml

    bad = tmp_path / "m.yaml"
    bad.write_bytes(b"a: caf\xe9\n")
    with pytest.raises(PartnerschapError) as caught:
        load_yaml(bad, Msg("errors.what.mapping_file"))
    assert "is not UTF-8 text: byte 6 is 0xe9" in str(caught.value)
    assert "(regel 1) is geen UTF-8-tekst: byte 6 is 0xe9" in caught.value.render("nl")
    assert caught.value.render("nl").startswith("Het koppelbestand ")  # not "the mapping file"
    assert str(caught.value).startswith("The mapping file ")


def test_safe_read_refusal_in_dutch_through_the_cli(tmp_path):
    text = _paragraph(runner.invoke(cli.app, [
        "report", "--responses", str(tmp_path / "r.csv"), "--instrument", "partnerschap",
        "--project", "P", "--out", str(tmp_path / "out"), "--lang", "nl"]))
    assert "r.csv bestaat niet. Controleer het pad en de spelling. Maak het met" in text


# -- the statistics' options and tables (evaluation.*, synth) -----------------------------------


def _caught(call, *args, **kwargs) -> PartnerschapError:
    with pytest.raises(PartnerschapError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_a_bad_option_of_the_statistics_is_worded_in_dutch_and_stays_a_value_error():
    import numpy as np

    from partnerschap_eval.evaluation import change_distribution, hedges_j
    from partnerschap_eval.evaluation.ordinal import sign_test
    from partnerschap_eval.synth import true_effects

    exc = _caught(hedges_j, 9, "exakt")
    assert isinstance(exc, ValueError)  # callers that catch a ValueError keep working
    assert str(exc) == "method must be 'approx' or 'exact', not 'exakt'"
    assert exc.render("nl") == "method moet 'approx' of 'exact' zijn, niet 'exakt'"
    exc = _caught(change_distribution, np.array([1.0, 2]), np.array([1.3, 2]), edges=(0.5,),
                  resolution=0.25)
    assert "0.3" in str(exc) and "is not a multiple of the score resolution 0.25" in str(exc)
    assert "is geen veelvoud van de stapgrootte van de scores (0.25)" in exc.render("nl")
    exc = _caught(sign_test, -1, 2)
    assert isinstance(exc, ValueError)
    assert exc.render("nl").startswith("n_up en n_down zijn aantallen") and "-1, 2" in str(exc)
    exc = _caught(true_effects, condition="controle")
    assert exc.render("nl") == "condition moet 'intervention' of 'control' zijn, niet 'controle'"


def test_a_design_refusal_words_its_nested_sample_in_dutch():
    import pandas as pd

    from partnerschap_eval.evaluation.designs import baseline_equivalence

    scores = pd.DataFrame({"respondent_id": ["a", "b", "c"], "wave": "pre",
                           "school_id": ["S1", "S1", "S2"], "s": [3.0, 4.0, 2.0]})
    exc = _caught(baseline_equivalence, scores, "s", first="pre", last="post",
                  conditions={"S1": "intervention", "S2": "control"}, sample="baseline")
    assert str(exc) == ("Baseline equivalence of 's' needs at least 2 respondents per condition "
                        "in the baseline sample; found intervention 2, control 1.")
    assert "in de steekproef van de voormeting; gevonden: intervention 2, control 1." in \
        exc.render("nl")


def test_an_imputation_refusal_in_dutch():
    import pandas as pd

    from partnerschap_eval.evaluation.imputation import pool_paired_contrasts

    exc = _caught(pool_paired_contrasts, [pd.DataFrame({"pre": [1.0], "post": [None]})],
                  ["pre", "post"])
    assert str(exc) == "A completed table still has missing values."
    assert exc.render("nl") == "Een aangevulde tabel heeft nog ontbrekende waarden."


def test_a_study_yaml_problem_is_worded_in_dutch_with_pydantic_around_it(tmp_path):
    from partnerschap_eval.study.config import load_config

    (tmp_path / "study.yaml").write_text(
        "study: s\ninstrument: partnerschap\nwaves:\n  - {id: pre}\n  - {id: post}\n"
        "schools:\n  - {id: S1, start_wave: later}\n", encoding="utf-8")
    exc = _caught(load_config, tmp_path)
    assert "Value error" not in str(exc)  # our own text, not pydantic's wrapping of it
    assert "schools: start_wave must be one of the declared wave ids ['pre', 'post'] (found " \
        "['S1: later'])" in str(exc)
    assert exc.render("nl").endswith(
        "klopt niet: schools: start_wave moet een van de opgegeven metingen ['pre', 'post'] zijn "
        "(gevonden: ['S1: later']). Verbeter het bestand en voer de opdracht opnieuw uit.")
    exc = _caught(load_config, tmp_path / "elders")
    assert exc.render("nl").startswith(f"{tmp_path / 'elders'} is geen studie: er staat geen "
                                       "study.yaml in.")
