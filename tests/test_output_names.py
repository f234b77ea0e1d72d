"""How messages name an output or an input file ("Het scorebestand", "The scores file"): a
catalogue text in the user's language that starts the sentence with its own article, never an
English phrase (``what="scores file"``) dropped into a Dutch sentence."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

from partnerschap_eval import cli, i18n
from partnerschap_eval._outputs import check_output, output_set, writer_lock
from partnerschap_eval._safe_read import load_yaml, os_error_msg
from partnerschap_eval.errors import InstrumentError, Msg, OutputError, PartnerschapError
from partnerschap_eval.instruments import load_instrument_file

SRC = Path(__file__).resolve().parents[1] / "src" / "partnerschap_eval"
runner = CliRunner()
ENGLISH = ("file", "folder", "output", "report", "scores", "results", "the ")


def _flat(text: str) -> str:
    return " ".join(text.split())


def _what_keys() -> list[str]:
    return sorted(k.removeprefix("errors.what.") for k in i18n.keys("nl")
                  if k.startswith("errors.what."))


def test_every_name_carries_its_article_in_both_languages():
    keys = _what_keys()
    assert len(keys) >= 14
    for suffix in keys:
        nl = i18n.t(f"errors.what.{suffix}", "nl")
        en = i18n.t(f"errors.what.{suffix}", "en")
        assert nl.split()[0] in ("De", "Het"), nl
        assert en.startswith("The "), en
        assert not any(word in nl.lower() for word in ENGLISH), nl


@pytest.mark.parametrize("command, lang, expected", [
    ("score", "nl", "Het scorebestand r.csv is een van de invoerbestanden van deze opdracht (r.csv)"),
    ("score", "en", "The scores file r.csv is one of this command's inputs (r.csv)"),
    ("evaluate", "nl", "Het resultatenbestand r.csv is een van de invoerbestanden"),
    ("evaluate", "en", "The results file r.csv is one of this command's inputs"),
])
def test_a_command_onto_its_input_names_its_output(tmp_path, monkeypatch, command, lang,
                                                    expected):
    monkeypatch.chdir(tmp_path)
    Path("r.csv").write_text("respondent_id,wave,role,school_id\n", encoding="utf-8")
    res = runner.invoke(cli.app, [command, "r.csv", "--instrument", "partnerschap",
                                  "--out", "r.csv", "--lang", lang])
    text = _flat(res.output)
    assert res.exit_code == 2, text
    assert expected in text
    if lang == "nl":
        assert "scores file" not in text and "results file" not in text and "De scores" not in text


def test_each_output_phrase_in_dutch():
    cases = {"pdf_file": "Het pdf-bestand", "report_folder": "De rapportmap",
             "demo_folder": "De demomap", "ingest_folder": "De uitvoermap van ingest",
             "output": "De uitvoer"}
    for key, head in cases.items():
        msg = Msg("errors.outputs.raw", what=Msg(f"errors.what.{key}"), out="o", raw="data/raw")
        assert msg.render("nl").startswith(f"{head} o ligt in data/raw"), key


def test_default_output_name_is_worded(tmp_path):
    (tmp_path / "in.csv").write_text("x\n", encoding="utf-8")
    with pytest.raises(OutputError) as caught:
        check_output(tmp_path / "in.csv", [tmp_path / "in.csv"], folder=False)
    assert caught.value.msg.render("nl").startswith("De uitvoer ")
    assert str(caught.value).startswith("The output ")


def test_busy_starts_with_the_output_in_both_languages(tmp_path):
    out = tmp_path / "out"
    with writer_lock(out, Msg("errors.what.ingest_folder")):
        with pytest.raises(OutputError) as caught, \
                writer_lock(out, Msg("errors.what.ingest_folder")):
            pass
    nl = caught.value.msg.render("nl")
    assert nl.startswith(f"De uitvoermap van ingest {out.resolve()} wordt op dit moment door "
                         "een andere run geschreven"), nl
    assert str(caught.value).startswith(f"The ingest output folder {out.resolve()} is being "
                                        "written by another run")


def test_foreign_folder_names_the_kind_in_dutch(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me\n", encoding="utf-8")
    with pytest.raises(OutputError) as caught, output_set(out, kind="report"):
        pass
    nl = caught.value.msg.render("nl")
    assert nl.startswith(f"De rapportmap {out} bevat al bestanden die geen eerdere "
                         "rapportuitvoer van partnerschap-eval zijn"), nl
    assert "report" not in nl.replace(str(out), "")
    assert "not an earlier report output" in str(caught.value)


def test_read_errors_name_the_file_in_the_language(tmp_path):
    missing = tmp_path / "x.yaml"
    with pytest.raises(PartnerschapError) as caught:
        load_yaml(missing)
    assert caught.value.msg.render("nl").startswith(f"Het YAML-bestand {missing} bestaat niet.")
    assert str(caught.value).startswith(f"The YAML file {missing} does not exist.")
    msg = os_error_msg(missing, FileNotFoundError(2, "No such file or directory"))
    assert msg.render("nl").startswith("Het bestand ") and str(msg).startswith("The file ")


def test_instrument_yaml_error_names_the_line_in_dutch(tmp_path):
    bad = tmp_path / "inst.yaml"
    bad.write_text("id: x\nitems: [\n", encoding="utf-8")
    with pytest.raises(InstrumentError) as caught:
        load_instrument_file(bad)
    nl = caught.value.msg.render("nl")
    assert "regel " in nl and "line " not in nl, nl
    assert "line " in str(caught.value)


_NAMED = {"check_output", "output_set", "writer_lock", "load_yaml", "read_limited",
          "os_error_msg", "os_error_text", "YamlFileError"}


def test_no_english_phrase_is_passed_as_what():
    """A plain string given as ``what`` (by keyword or position) would be English in Dutch."""
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in _NAMED:
                continue
            given = [k.value for k in node.keywords if k.arg == "what"]
            if name in ("load_yaml", "writer_lock"):
                given += node.args[1:2]
            elif name in ("read_limited", "os_error_msg", "os_error_text", "YamlFileError"):
                given += node.args[2:3] if name != "YamlFileError" else node.args[1:2]
            found += [f"{path.name}:{node.lineno}" for v in given
                      if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    assert not found, found


@pytest.mark.parametrize("lang, blank, hidden", [("nl", "(kolom 9)", "kolom 10 <achtergehouden:"),
                                                 ("en", "(column 9)", "column 10 <withheld:")])
def test_ingest_notes_name_headerless_columns_in_the_language(tmp_path, monkeypatch, lang, blank,
                                                             hidden):
    """A column with an empty header, and one whose header the firewall withholds, are named by
    their position in the ingest's notes, in the user's language."""
    monkeypatch.setenv("PARTNERSCHAP_EVAL_KEY", "0123456789abcdef-test-key")
    items = ["rec1", "rec2", "rec3", "rec4", "rec5"]
    rows = [f"r{i},S1,ouder," + ",".join(str(1 + (i + j) % 5) for j in range(5)) + ",x,y"
            for i in range(12)]
    export = tmp_path / "e.csv"
    export.write_text("respondent,school,rol," + ",".join(items) + ",,jan.devries@example.nl\n"
                      + "\n".join(rows) + "\n", encoding="utf-8")
    res = runner.invoke(cli.app, ["ingest", str(export), "--instrument", "partnerschap",
                                  "--wave", "pre", "--out", str(tmp_path / "out"),
                                  "--lang", lang])
    text = _flat(res.output)
    assert res.exit_code == 0, text
    assert blank in text and hidden in text, text
    if lang == "nl":
        assert "column" not in text and "withheld" not in text
