"""Key files named with ``~`` (``--key-file ~/wish.key``, ``load_key("~/wish.key")``) are found in
the home folder, as a shell would find them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from partnerschap_eval import cli
from partnerschap_eval.errors import KeyMissingError
from partnerschap_eval.privacy import keygen, load_key


@pytest.fixture
def home(tmp_path, monkeypatch):
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.chdir(tmp_path)  # a folder called "~" here must not be the one used
    return folder


def test_load_key_expands_the_home_folder(home):
    written = keygen("~/wish.key")
    assert written == home / "wish.key" and written.is_file()
    assert not Path("~").exists()
    assert load_key("~/wish.key") == written.read_bytes().strip()
    assert load_key(Path("~") / "wish.key") == load_key(written)


def test_a_missing_key_under_home_names_the_expanded_path(home):
    with pytest.raises(KeyMissingError) as caught:
        load_key("~/nothing.key")
    assert str(home / "nothing.key") in str(caught.value)


def test_the_cli_reads_a_key_file_under_home(home):
    keygen("~/wish.key")
    export = home.parent / "export.csv"
    export.write_text("respondent_id;wave;role;school_id;rec1\n1;pre;parent;S01;4\n",
                      encoding="utf-8")
    res = CliRunner().invoke(cli.app, ["ingest", str(export), "--instrument", "partnerschap",
                                       "--out", str(home.parent / "out"),
                                       "--key-file", "~/wish.key"])
    assert res.exit_code == 0, res.output
