"""The report command: --version, options on the command line override the project file, and
help texts in the user's words from the catalogue (cli.po)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from partnerschap_eval import __version__, i18n
from partnerschap_eval.cli import app

runner = CliRunner()


@pytest.fixture
def captured(monkeypatch):
    """build_report replaced by a recorder: the settings the command line produced."""
    import partnerschap_eval.reporting as reporting

    seen = []

    class Done:
        html = Path("index.html")
        school_pages = ()

    def fake(settings, protect=()):
        seen.append(settings)
        return Done()

    monkeypatch.setattr(reporting, "build_report", fake)
    return seen


def _project(tmp_path: Path) -> Path:
    (tmp_path / "responses.csv").write_text("x\n", encoding="utf-8")
    path = tmp_path / "project.yaml"
    path.write_text("project: Uit bestand\ninstrument: partnerschap\nresponses: responses.csv\n"
                    "out: out\nlanguage: nl\nmin_cell: 12\ndate: 2026-06-30\n"
                    "waves: [pre, post]\n", encoding="utf-8")
    return path


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"partnerschap-eval {__version__}"


def test_the_project_file_alone(captured, tmp_path):
    res = runner.invoke(app, ["report", "--config", str(_project(tmp_path))])
    assert res.exit_code == 0, res.output
    s = captured[0]
    assert (s.lang, s.min_cell, s.report_date, s.project) == ("nl", 12, "2026-06-30", "Uit bestand")


def test_command_line_options_override_the_project_file(captured, tmp_path):
    res = runner.invoke(app, ["report", "--config", str(_project(tmp_path)), "--lang", "EN",
                              "--min-cell", "15", "--date", "2027-01-02", "--project", "Anders",
                              "--out", str(tmp_path / "elders"), "--waves", "post,pre"])
    assert res.exit_code == 0, res.output
    s = captured[0]
    assert (s.lang, s.min_cell, s.report_date, s.project) == ("en", 15, "2027-01-02", "Anders")
    assert s.out_dir == tmp_path / "elders" and s.waves == ("post", "pre")
    # what was not given still comes from the file
    assert s.instrument == "partnerschap" and s.responses == (tmp_path / "responses.csv").resolve()


def test_defaults_without_a_project_file(captured, tmp_path):
    res = runner.invoke(app, ["report", "--responses", "r.csv", "--instrument", "partnerschap",
                              "--project", "P", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert (captured[0].lang, captured[0].min_cell) == ("nl", 10)


@pytest.mark.parametrize("args", [["--lang", "de"], ["--min-cell", "0"]])
def test_bad_overrides_are_refused_before_anything_runs(captured, tmp_path, args):
    res = runner.invoke(app, ["report", "--config", str(_project(tmp_path)), *args])
    assert res.exit_code == 2 and captured == [] and "Traceback" not in res.output


def test_help_speaks_the_users_words():
    # the commands of this module (study commands word their own help, in cli_study)
    for command in (["report"], ["ingest"], ["score"], ["evaluate"], ["reproduce"], ["demo"],
                    ["keygen"]):
        text = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"}).output
        assert text and not re.search(r"Contract \d", text), (command, text)
    text = runner.invoke(app, ["report", "--help"], env={"COLUMNS": "300"}).output
    assert i18n.t("cli.report.lang", "en").split(":")[0] in text


def test_every_cli_text_the_command_line_asks_for_exists_in_both_languages():
    import ast

    import partnerschap_eval.cli as cli

    tree = ast.parse(Path(cli.__file__).read_text(encoding="utf-8"))
    asked = {n.args[0].value for n in ast.walk(tree)
             if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "m" and n.args
             and isinstance(n.args[0], ast.Constant)}
    assert len(asked) > 40
    for lang in i18n.LANGS:
        assert not asked - set(i18n.keys(lang)), sorted(asked - set(i18n.keys(lang)))
