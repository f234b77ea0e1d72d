"""The lector's CI recipe (``docs/reproduce-report.yml``) installs a pinned partnerschap-eval and
runs commands that exist, in a layout where ``reproduce`` finds the lock file it checks."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
import yaml

from partnerschap_eval import __version__, cli

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "docs" / "reproduce-report.yml"


@pytest.fixture(scope="module")
def recipe() -> dict:
    return yaml.safe_load(RECIPE.read_text(encoding="utf-8"))


def _steps(recipe: dict) -> list[dict]:
    (job,) = recipe["jobs"].values()
    return job["steps"]


def _run_lines(recipe: dict) -> list[str]:
    env = recipe["env"]
    lines = []
    for step in _steps(recipe):
        for line in step.get("run", "").splitlines():
            for name, value in env.items():
                line = line.replace(f'"${name}"', str(value)).replace(f"${name}", str(value))
            lines.append(line.strip())
    return [line for line in lines if line]


def _makefile(name: str) -> str:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return re.search(rf"^{name}\s*:?=\s*(\S+)", text, re.M).group(1)


def test_partnerschap_eval_is_pinned_to_a_release_or_a_commit(recipe):
    ref = recipe["env"]["PE_REF"]
    assert ref == f"v{__version__}" or re.fullmatch(r"[0-9a-f]{40}", ref), ref
    checkout = [s for s in _steps(recipe) if s.get("with", {}).get("repository")]
    assert len(checkout) == 1
    assert checkout[0]["with"]["ref"] == "${{ env.PE_REF }}"
    assert checkout[0]["with"]["repository"] == "${{ env.PE_REPOSITORY }}"


def test_it_installs_the_checkout_from_its_lock_file_as_make_does(recipe):
    path = next(s for s in _steps(recipe) if s.get("with", {}).get("repository"))["with"]["path"]
    lines = _run_lines(recipe)
    assert f"-r {path}/requirements.lock" in " ".join(lines)
    # editable: reproduce finds requirements.lock beside the package it runs (see below)
    assert any(line.endswith(f"--no-deps -e {path}") for line in lines), lines
    assert f"uv=={_makefile('UV_VERSION')}" in " ".join(lines)
    assert f"--name {_makefile('KERNEL')}" in " ".join(lines)
    assert recipe["env"]["PYTHONHASHSEED"] == _makefile("export PYTHONHASHSEED")


def _command(words: list[str]):
    """The click command that ``partnerschap-eval WORDS...`` runs; every option must exist."""
    command = typer.main.get_command(cli.app)
    rest = list(words)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        assert name in command.commands, f"no command {name!r}"
        command = command.commands[name]
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)} | {"--help"}
    if hasattr(command, "commands"):
        known |= {"--version"}
    for word in rest:
        if word.startswith("--"):
            assert word.split("=")[0] in known, f"{word} is no option of {command.name}"
    return command


def test_every_command_it_runs_exists_with_its_options(recipe):
    commands = [shlex.split(line)[1:] for line in _run_lines(recipe)
                if shlex.split(line)[0].endswith("/partnerschap-eval")]
    assert [c[0] for c in commands] == ["--version", "reproduce"]
    for words in commands:
        _command(words)


def test_the_check_of_commands_can_fail():
    with pytest.raises(AssertionError, match="no command"):
        _command(["reproduse", "x"])
    with pytest.raises(AssertionError, match="no option"):
        _command(["reproduce", "x", "--strict"])


def test_reproduce_finds_the_lock_file_of_an_editable_checkout(tmp_path, monkeypatch):
    # the lector's repository (the working folder) has no requirements.lock of its own
    from partnerschap_eval._io import sha256_file
    from partnerschap_eval.report import build

    monkeypatch.chdir(tmp_path)
    assert build._lock_hash() == sha256_file(ROOT / "requirements.lock")
