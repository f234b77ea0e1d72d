"""The command line speaks Dutch unless ``PARTNERSCHAP_EVAL_LANG=en`` or ``--lang en`` is given.

The session pins English (``tests/conftest.py``); these tests unset or override it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from partnerschap_eval import cli, i18n

SRC = Path(__file__).resolve().parents[1] / "src" / "partnerschap_eval"
CLI_MODULES = [SRC / "cli.py", SRC / "cli_study.py", SRC / "portal" / "cli.py"]
runner = CliRunner()


def _run(*args: str, lang: str | None) -> subprocess.CompletedProcess:
    """The CLI in a fresh process (help texts are worded when it starts), wide enough that no
    help text wraps."""
    env = {k: v for k, v in os.environ.items() if k != i18n.ENV_LANG} | {"COLUMNS": "400"}
    if lang is not None:
        env[i18n.ENV_LANG] = lang
    return subprocess.run([sys.executable, "-m", "partnerschap_eval.cli", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_help_is_dutch_without_the_variable():
    res = _run("--help", lang=None)
    assert res.returncode == 0, res.stderr
    text = _flat(res.stdout)
    assert i18n.t("cli.app_help", "nl") in text
    assert i18n.t("cli.keygen.help", "nl") in text
    assert i18n.t("cli.app_help", "en") not in text


def test_help_is_english_with_the_variable():
    res = _run("--help", lang="en")
    assert res.returncode == 0, res.stderr
    assert i18n.t("cli.app_help", "en") in _flat(res.stdout)


def test_study_command_help_is_dutch_and_speaks_the_users_words():
    res = _run("responses", "--help", lang=None)
    assert res.returncode == 0, res.stderr
    text = _flat(res.stdout)
    assert i18n.t("cli.study.responses.rejected", "nl") in text
    assert i18n.t("cli.study.lang", "nl") in text
    assert "Contract" not in text


def test_no_help_text_mentions_a_contract():
    for lang in i18n.LANGS:
        for key, text in i18n.keys(lang).items():
            if key.startswith("cli.") and (".help" in key or key.endswith("_help")):
                assert "Contract" not in text, (lang, key)


def test_no_inline_help_text_in_the_command_line_modules():
    # every help= is a catalogue lookup, never a literal (an English text in a Dutch CLI)
    found = []
    for path in CLI_MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "help" and (
                    isinstance(node.value, ast.JoinedStr)
                    or (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))):
                found.append(f"{path.name}:{node.value.lineno}")
    assert found == []


@pytest.fixture
def no_variable(monkeypatch):
    monkeypatch.delenv(i18n.ENV_LANG, raising=False)


def test_an_error_is_dutch_without_the_variable(no_variable, tmp_path):
    key = tmp_path / "project.key"
    key.write_text("x", encoding="utf-8")
    res = runner.invoke(cli.app, ["keygen", "--out", str(key)])
    assert res.exit_code == 2
    text = _flat(res.output)
    assert text.startswith(i18n.t("cli.error", "nl") + ":")
    assert "bestaat al" in text


def test_a_success_line_is_dutch_without_the_variable(no_variable, tmp_path):
    key = tmp_path / "project.key"
    res = runner.invoke(cli.app, ["keygen", "--out", str(key)])
    assert res.exit_code == 0, res.output
    assert _flat(res.output).startswith(_flat(i18n.t("cli.keygen.done", "nl", path=key))[:25])


def test_lang_en_gives_english_and_does_not_stick(no_variable, tmp_path):
    key = tmp_path / "project.key"
    key.write_text("x", encoding="utf-8")
    res = runner.invoke(cli.app, ["keygen", "--out", str(key), "--lang", "en"])
    assert res.exit_code == 2
    assert _flat(res.output).startswith(i18n.t("cli.error", "en") + ":")
    # the next run without --lang is Dutch again
    res = runner.invoke(cli.app, ["keygen", "--out", str(key)])
    assert _flat(res.output).startswith(i18n.t("cli.error", "nl") + ":")


def test_an_unknown_lang_is_refused(no_variable, tmp_path):
    res = runner.invoke(cli.app, ["keygen", "--out", str(tmp_path / "k"), "--lang", "fr"])
    assert res.exit_code == 2
    assert "'fr'" in res.output and not (tmp_path / "k").exists()


def test_an_unknown_variable_falls_back_to_dutch(monkeypatch):
    monkeypatch.setenv(i18n.ENV_LANG, "klingon")
    assert i18n.env_lang() == "nl"
    monkeypatch.setenv(i18n.ENV_LANG, " EN ")
    assert i18n.env_lang() == "en"
