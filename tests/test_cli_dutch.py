"""A Dutch user reads Dutch everywhere the command line speaks: the status table, click's and
typer's own texts (usage, panels, parse errors), pydantic's validation problems and the firewall's
placeholders. The session pins English (``tests/conftest.py``); these tests unset it or ask for
Dutch explicitly.
"""

from __future__ import annotations

import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from partnerschap_eval import cli, cli_study, i18n
from partnerschap_eval.study import Study

KEY = b"dutch cli test key, not secret 0123"
runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def dutch(monkeypatch):
    """The command line without the variable: Dutch."""
    monkeypatch.delenv(i18n.ENV_LANG, raising=False)


# -- 1. status ------------------------------------------------------------------------------------

@pytest.fixture
def submitted(tmp_path):
    study = Study.init(tmp_path / "wish", "partnerschap", key=KEY, waves=("pre", "post"))
    path = tmp_path / "ouders_voor.csv"
    path.write_text("Deelnemernummer,rec1,rec2\n1,Mee eens,5\n2,Eens,4\n", encoding="utf-8")
    study.submit([path], school="De Linde", wave="pre", role="ouders", key=KEY)
    study.close()
    return tmp_path / "wish"


def test_status_table_has_dutch_heads_and_labels(dutch, submitted, monkeypatch):
    monkeypatch.setattr(cli_study, "out", Console(width=300))
    res = runner.invoke(cli.app, ["status", str(submitted)])
    assert res.exit_code == 0, res.output
    text = res.output
    for col in ("school_id", "wave", "role", "submissions", "rows_in", "cells_cleared",
                "last_submitted"):
        assert col not in text
        assert i18n.t(f"study.status.col.{col}", "nl") in text
    assert "Voormeting" in text and "Ouders" in text  # the wave's label, the role's name
    assert "parent" not in text and " pre " not in text


def test_status_json_keeps_its_keys(dutch, submitted):
    res = runner.invoke(cli.app, ["status", str(submitted), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert {k: rows[0][k] for k in ("school_id", "wave", "role", "accepted")} == {
        "school_id": "De Linde", "wave": "pre", "role": "parent", "accepted": 2}


def test_status_table_in_english_uses_words_too(submitted, monkeypatch):
    monkeypatch.setattr(cli_study, "out", Console(width=300))
    res = runner.invoke(cli.app, ["status", str(submitted), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "Pre" in res.output and "Parents" in res.output and "Rows read" in res.output


# -- 2. typer's own texts ---------------------------------------------------------------------------

def test_help_speaks_dutch_in_typers_own_words(dutch, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    res = runner.invoke(cli.app, ["status", "--help"])
    assert res.exit_code == 0, res.output
    text = _flat(res.output)
    for key in ("usage", "help_option", "arguments", "options", "required", "options_metavar"):
        assert i18n.t(f"cli.click.{key}", "nl") in text, key
    for english in ("Usage:", "Show this message and exit.", "Options", "Arguments",
                    "[required]", "[OPTIONS]"):
        assert english not in text, english
    res = runner.invoke(cli.app, ["--help"])
    assert "Commando's" in res.output and "Commands" not in res.output


def test_help_stays_english_with_the_variable(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    text = _flat(runner.invoke(cli.app, ["status", "--help"]).output)
    assert "Usage:" in text and "Show this message and exit." in text and "Options" in text


PARSE_ERRORS = [
    (["status", "--bogus"], "Onbekende optie: --bogus", "No such option"),
    (["status", "--js"], "(mogelijke opties: --json)", "Possible options"),
    (["evaluate"], "Ontbrekend argument 'responses'.", "Missing argument"),
    (["evaluate", "x", "--out", "o"], "Ontbrekende optie '--instrument'.", "Missing option"),
    (["evaluate", "x", "--instrument", "p", "--out", "o", "--min-cell", "abc"],
     "Ongeldige waarde voor '--min-cell': moet een geheel getal zijn.", "Invalid value"),
    (["stat"], "Onbekend commando 'stat'. Bedoelde u 'status'?", "No such command"),
    (["study", "int"], "Onbekend commando 'int'. Bedoelde u 'init'?", "Did you mean"),
    (["status", "a", "b"], "Onverwacht extra argument: b", "unexpected extra"),
    (["evaluate", "x", "--out"], "Optie '--out' heeft een waarde nodig.", "requires"),
]


@pytest.mark.parametrize(("args", "dutch_text", "english"), PARSE_ERRORS)
def test_parse_errors_are_dutch(dutch, monkeypatch, args, dutch_text, english):
    monkeypatch.setenv("COLUMNS", "300")
    res = runner.invoke(cli.app, args)
    assert res.exit_code == 2, res.output
    text = _flat(res.output)
    assert dutch_text in text
    assert english not in text and "Error" not in text and "Try " not in text
    assert "Fout" in text
    if "Usage" in english or "Gebruik:" in text:  # the usage line, when typer shows one
        assert "Usage:" not in text and "voor hulp" in text


def test_parse_errors_in_english_with_the_variable(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    res = runner.invoke(cli.app, ["status", "--bogus"])
    text = _flat(res.output)
    assert "No such option: --bogus" in text and "Usage:" in text and "for help" in text


def test_typers_constants_are_put_back_after_a_run(dutch):
    from typer import rich_utils

    runner.invoke(cli.app, ["status", "--bogus"])
    assert rich_utils.OPTIONS_PANEL_TITLE == "Options" and rich_utils.ERRORS_PANEL_TITLE == "Error"


# -- 3. pydantic's validation problems -----------------------------------------------------------------

PYDANTIC_ENGLISH = ("Input should", "Extra inputs are not permitted", "Field required",
                    "greater than or equal", "at least 1 item", "valid integer", "valid string")


def _english_free(text: str) -> None:
    for english in PYDANTIC_ENGLISH:
        assert english not in text, english


def test_study_yaml_problems_are_dutch_with_the_field(dutch, tmp_path):
    from partnerschap_eval.errors import InputError
    from partnerschap_eval.study import load_config

    (tmp_path / "study.yaml").write_text(
        "study: x\ninstrument: partnerschap\nwaves: []\nlang: fr\nmin_cell: 0\nbogus: 1\n",
        encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_config(tmp_path)
    text = caught.value.render("nl")
    _english_free(text)
    for want in ("waves: moet minstens 1 element(en) hebben", "min_cell: moet minstens 1 zijn",
                 "lang: moet een van deze zijn: 'nl', 'en'", "bogus: onbekende sleutel"):
        assert want in text, want
    # the command line says the same, in Dutch
    res = runner.invoke(cli.app, ["status", str(tmp_path)])
    assert res.exit_code == 2 and "min_cell: moet minstens 1 zijn" in _flat(res.output)


def test_project_file_problems_are_dutch_with_the_field(tmp_path):
    from partnerschap_eval.errors import InputError
    from partnerschap_eval.report.project import load_project

    path = tmp_path / "project.yaml"
    path.write_text("project: 3\nlanguage: fr\nmin_cell: x\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_project(path)
    text = caught.value.render("nl")
    _english_free(text)
    for want in ("project: moet tekst zijn", "instrument: ontbreekt", "min_cell: moet een geheel "
                 "getal zijn", "language: moet een van deze zijn"):
        assert want in text, want


def test_instrument_problems_are_dutch_with_the_field():
    from partnerschap_eval.errors import InstrumentError
    from partnerschap_eval.instruments import parse_instrument

    with pytest.raises(InstrumentError) as caught:
        parse_instrument({"id": 3, "roles": "x", "scales": 5}, "eigen.yaml")
    text = caught.value.render("nl")
    _english_free(text)
    assert "id: moet tekst zijn" in text and "roles: moet een lijst zijn" in text


def test_an_unknown_pydantic_type_reads_as_a_generic_catalogue_sentence():
    from partnerschap_eval.errors import field_problem, field_problems

    err = {"type": "uuid_parsing", "loc": ("id",), "msg": "Input should be a valid UUID"}
    assert field_problem(err).render("nl") == i18n.t("errors.field.invalid", "nl")
    assert field_problem(err).render("en") == i18n.t("errors.field.invalid", "en")

    class Fake:
        def errors(self):
            return [{**err, "loc": ("scales", 0, "id")}]

    assert [(where, msg.render("nl")) for where, msg in field_problems(Fake())] == [
        ("scales[0].id", i18n.t("errors.field.invalid", "nl"))]


def test_every_error_type_the_map_names_is_one_pydantic_has():
    from typing import get_args

    from pydantic_core import ErrorTypeInfo  # noqa: F401 (pydantic 2)
    from pydantic_core.core_schema import ErrorType

    from partnerschap_eval import errors

    assert set(errors._FIELD_TYPES) <= set(get_args(ErrorType))


# -- 4. the firewall's placeholder ----------------------------------------------------------------

def test_placeholder_is_dutch_in_messages_and_english_in_files(dutch, tmp_path, monkeypatch):
    monkeypatch.setenv("PARTNERSCHAP_EVAL_KEY", "0123456789abcdef0123456789")
    folder = tmp_path / "Piet Jansen"
    folder.mkdir()
    (folder / "ouders.csv").write_text(
        "Deelnemernummer,Jan de Vries,rec1,rec2\n1,x,Mee eens,5\n2,y,Eens,4\n", encoding="utf-8")
    res = runner.invoke(cli.app, ["ingest", str(folder / "ouders.csv"), "--instrument",
                                  "partnerschap", "--out", str(tmp_path / "out"), "--wave", "pre",
                                  "--role", "parent", "--school", "S1"])
    assert res.exit_code == 0, res.output
    text = _flat(res.output)
    assert "kolom 2 <achtergehouden: lijkt op een naam van een persoon>" in text
    assert "<withheld" not in text and "Jan de Vries" not in text and "column" not in text
    # the log is a file: its placeholder stays as the firewall wrote it
    log = (tmp_path / "out" / "ingest_log.json").read_text(encoding="utf-8")
    assert "<withheld: looks like a person's name>" in log and "achtergehouden" not in log
    # a path in an error message, and the reason a --school is refused
    res = runner.invoke(cli.app, ["ingest", str(folder / "ouders.csv"), "--instrument",
                                  "partnerschap", "--out", str(tmp_path / "o2"), "--wave", "pre",
                                  "--role", "parent", "--school", "S1", "--sheet", "x"])
    assert res.exit_code == 2
    assert "<achtergehouden: lijkt op een naam van een persoon>" in _flat(res.output)
    res = runner.invoke(cli.app, ["ingest", str(tmp_path / "out" / "responses.csv"),
                                  "--instrument", "partnerschap", "--out", str(tmp_path / "o3"),
                                  "--wave", "pre", "--role", "parent", "--school", "Jan de Vries"])
    assert res.exit_code == 2
    text = _flat(res.output)
    assert "lijkt op een naam van een persoon" in text and "looks like" not in text


def test_every_reason_the_firewall_gives_has_a_dutch_wording():
    from partnerschap_eval.privacy import screen

    samples = [("0012", "id"), ("directeur", "role"), ("x" * 90, "answer"), ("T99x", "wave"),
               ("a b c d e f g h i j", "school"), ("j.devries@mail.nl", "file"),
               ("bel 06-12345678", "answer"), ("10.0.0.1", "answer"), ("1234 AB", "answer"),
               ("Kerkstraat 12", "answer"), ("111222333", "answer"), ("1234567", "answer"),
               ("Jan de Vries", "answer"), ("fe80::1:2", "answer")]
    for value, kind in samples:
        verdict = screen(value, kind)
        assert not verdict.allowed, value
        dutch = i18n.withheld(f"<withheld: {verdict.reason}>", "nl")
        assert dutch != i18n.withheld("<withheld: ?>", "nl"), verdict.reason  # not the fallback
        assert "withheld" not in dutch and verdict.reason not in dutch
    assert i18n.withheld(i18n.t("core.withheld", "en"), "nl") == i18n.t("core.withheld", "nl")
