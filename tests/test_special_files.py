"""A named pipe or a device given as an input is refused at once, by every command.

``open`` of a named pipe that nobody writes to waits for a writer: ``score``, ``evaluate``,
``report --responses``, ``ingest`` and ``submit`` would hang for ever on one (``score`` also in
its early read), and ``submit`` read ``/dev/zero`` without end. Each command must exit with code
2 and say the file is no regular file, within the time limit of the subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

KEY = "abcdefghijklmnopqrstu"
SCRIPT = [sys.executable, "-c", "import sys; from partnerschap_eval._start import main; "
          "sys.argv[0] = 'partnerschap-eval'; main()"]


def _commands(special: str, tmp) -> dict[str, list[str]]:
    return {
        "score": ["score", special, "--instrument", "partnerschap", "--out", str(tmp / "s.csv")],
        "evaluate": ["evaluate", special, "--instrument", "partnerschap",
                     "--out", str(tmp / "r.json")],
        "report": ["report", "--responses", special, "--instrument", "partnerschap",
                   "--project", "x", "--out", str(tmp / "rep")],
        "ingest": ["ingest", special, "--instrument", "partnerschap", "--out",
                   str(tmp / "ing")],
        "submit": ["submit", str(tmp / "study"), special, "--school", "S", "--wave", "pre",
                   "--role", "parent"],
    }


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_pipes_and_devices_are_refused_without_waiting(tmp_path, kind):
    if kind == "fifo":
        special = tmp_path / "export.csv"
        os.mkfifo(special)
    else:
        special = "/dev/zero"
    env = {**os.environ, "PARTNERSCHAP_EVAL_KEY": KEY, "PARTNERSCHAP_EVAL_LANG": "nl"}
    init = subprocess.run([*SCRIPT, "study", "init", str(tmp_path / "study"), "--instrument",
                           "partnerschap", "--waves", "pre,post"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert init.returncode == 0, init.stderr
    for name, args in _commands(str(special), tmp_path).items():
        done = _refused_at_once(args, env, f"{name} waited on a {kind}")
        assert "geen gewoon bestand" in done.stderr, (name, done.stderr)


def _refused_at_once(args: list[str], env: dict, waited: str) -> subprocess.CompletedProcess:
    """The command run to its end within a minute, refused with exit code 2."""
    try:
        done = subprocess.run([*SCRIPT, *args], capture_output=True, text=True, env=env,
                              timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(waited)
    assert done.returncode == 2, (args, done.stdout, done.stderr)
    return done


@pytest.mark.slow
def test_a_named_pipe_as_a_yaml_file_is_read_without_waiting(tmp_path):
    fifo = tmp_path / "instrument.yaml"
    os.mkfifo(fifo)
    (tmp_path / "r.csv").write_text("respondent_id,wave,role,school_id,rec1\nr1,pre,parent,S,3\n")
    env = {**os.environ, "PARTNERSCHAP_EVAL_LANG": "nl"}
    for args in (["score", str(tmp_path / "r.csv"), "--instrument", str(fifo), "--out",
                  str(tmp_path / "s.csv")],
                 ["report", "--config", str(fifo)]):
        _refused_at_once(args, env, f"{args[0]} waited on a named pipe given as YAML")
