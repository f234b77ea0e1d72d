"""Every user error a paragraph (issue 13): hostile YAML, OS errors, absurd XLSX, corrupt Parquet,
undeclared wave orders and silent losses — each attack through the command line, as a user (or an
attacker) would run it.

A refusal must be: exit status 2, one paragraph on stderr (``error: ...``, no blank line, no
"Traceback"), naming the file or the waves, within a time bound; the YAML attacks also under
500 MB of memory (the child's peak resident set, from ``wait4``).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval.errors import InputError
from partnerschap_eval.scoring import wave_order

CLI = [sys.executable, "-m", "partnerschap_eval.cli"]
KEY = {"PARTNERSCHAP_EVAL_KEY": "attack-tests-key-0123456789"}
TIME_LIMIT = 30.0  # seconds, CLI start-up included, on a shared 2-core machine
MEMORY_LIMIT_MB = 500


# A fresh interpreter per command costs two seconds of imports; ~80 commands would add minutes to
# `make test`. So the commands go to one long-lived child process that imports the CLI once and
# runs each command line through its real entry point (``cli.main``: typer, the exit codes, the
# printing), with the command's environment, working directory and captured stdout/stderr.
# Memory per command: the child resets its peak resident set before each command (Linux's
# /proc/self/clear_refs) and reports what the command added to its resident set at the peak, on
# top of the footprint of the CLI and the libraries the commands import (what a fresh process
# holds once it runs a command). A few attacks also
# run in a fresh process of their own (``fresh=True``). Should a command crash the child (an abort
# in native code), the test fails with what the child printed, and a new child serves the next.
SERVER = r"""
import builtins, contextlib, errno, io, json, os, sys, time, traceback
from partnerschap_eval.cli import main
# what the commands import lazily, counted in the footprint a command starts from
import pandas, pyarrow.parquet, python_calamine, partnerschap_eval.ingest, partnerschap_eval.results

def status(key):
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith(key + ":")) / 1024

imports_mb = status("VmRSS")
real_open = builtins.open
real_os_open = os.open
reply = sys.stdout
for line in sys.stdin:
    req = json.loads(line)
    env, cwd = dict(os.environ), os.getcwd()
    os.environ.update(req["env"])
    os.chdir(req["cwd"] or cwd)
    deny = req["deny"]
    if deny:  # permission denied on this one path, as the kernel says it to a normal user
        def guarded(file, *args, **kwargs):
            if str(file) == deny:
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)
        def guarded_os(file, *args, **kwargs):  # readers that open with O_NOFOLLOW
            if str(file) == deny:
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return real_os_open(file, *args, **kwargs)
        builtins.open = guarded
        os.open = guarded_os
    with real_open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # the peak resident set (VmHWM) starts again from the current one
    before = status("VmRSS")
    out, err = io.StringIO(), io.StringIO()
    start, code = time.perf_counter(), None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            sys.argv = ["partnerschap-eval", *req["argv"]]
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        err.write(traceback.format_exc())
        code = -1
    finally:
        builtins.open, os.open = real_open, real_os_open
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
    added = max(status("VmHWM") - before, 0.0)
    reply.write(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue(),
                            "seconds": time.perf_counter() - start,
                            "rss_mb": imports_mb + added}) + "\n")
    reply.flush()
"""

# a fresh process, reporting the peak resident set of the command alone (RUSAGE_CHILDREN of a
# process with exactly one child)
PEAK = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as fh:
    fh.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""

_server: subprocess.Popen | None = None


def _serve() -> subprocess.Popen:
    global _server
    if _server is None or _server.poll() is not None:
        _server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=os.environ | {"PYTHONHASHSEED": "0", "COLUMNS": "200"})
    return _server


@pytest.fixture(scope="module", autouse=True)
def _stop_server():
    yield
    if _server is not None and _server.poll() is None:
        _server.stdin.close()
        _server.wait(timeout=60)


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None,
            deny: Path | None = None, fresh: bool = False) -> tuple[int, str, str, float, float]:
    """Run one command line; return exit status, stdout, stderr, seconds and peak memory in MB
    (the resident set of a fresh CLI process plus what the command added at its peak).

    ``deny`` makes opening that path fail with EACCES (the tests run as root, whom file modes do
    not stop).
    """
    if fresh:
        assert deny is None
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            peak = Path(tmp) / "peak"
            start = time.perf_counter()
            res = subprocess.run([sys.executable, "-c", PEAK, str(peak), *CLI, *args],
                                 capture_output=True, text=True, cwd=cwd, timeout=300,
                                 env=os.environ | {"PYTHONHASHSEED": "0", "COLUMNS": "200"}
                                 | (env or {}))
            seconds = time.perf_counter() - start
            rss = int(peak.read_text()) / 1024 if peak.exists() else float("nan")
        return res.returncode, res.stdout, res.stderr, seconds, rss
    server = _serve()
    server.stdin.write(json.dumps({"argv": list(args), "env": env or {},
                                   "cwd": str(cwd) if cwd else None,
                                   "deny": str(deny) if deny else None}) + "\n")
    server.stdin.flush()
    line = server.stdout.readline()
    if not line:  # the child died: report what it printed
        server.wait(timeout=60)
        pytest.fail(f"the CLI process died (status {server.returncode}): "
                    f"{server.stderr.read()[-3000:]}")
    r = json.loads(line)
    return r["code"], r["out"], r["err"], r["seconds"], r["rss_mb"]


def refused(res, *needles: str) -> str:
    """Assert a one-paragraph refusal and return its text."""
    code, out, err, seconds, _ = res
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err, err
    text = err.strip()
    assert text.startswith("error:"), err
    assert "\n\n" not in text, f"more than one paragraph: {err!r}"
    assert len(text) < 2500, err
    assert seconds < TIME_LIMIT, f"took {seconds:.1f} s"
    flat = " ".join(text.split())
    for needle in needles:
        assert needle in flat, (needle, flat)
    return flat


# ---------------------------------------------------------------------------------------------
# inputs the attacks need
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def responses_csv(tmp_path_factory) -> Path:
    from partnerschap_eval.synth import simulate_study

    path = tmp_path_factory.mktemp("resp") / "responses.csv"
    simulate_study(seed=5).responses.to_csv(path, index=False)
    return path


def _laughs(levels: int = 9) -> str:
    """The classic 'billion laughs': 9 levels of 9 aliases each, 9**9 values when expanded."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghij"
    for prev, name in zip(names[:levels - 1], names[1:levels], strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


YAML_ATTACKS = {
    "billion_laughs": (_laughs().encode(), "billion laughs"),
    "deep_flow": (b"id: x\nitems: " + b"[" * 20_000 + b"]" * 20_000 + b"\n", "nests more than"),
    "deep_block": (b"id: x\nitems:\n" + b"- " * 20_000 + b"x\n", "nests more than"),
    "deep_flow_mapping": (b"{a: " * 20_000 + b"x" + b"}" * 20_000, "nests more than"),
    "latin1": ("id: x\ntitle: {nl: Vragenlijst ouders én leerkrachten}\n".encode("latin-1"),
               "not UTF-8"),
    "python_tag": (b"id: !!python/object/apply:os.system ['touch PWNED']\n", "!!python"),
    "python_name": (b"id: !!python/name:os.system\n", "!!python"),
    "cycle": (b"a: &a [1, *a]\n", "cycle"),
}


def _yaml_target(kind: str, bad: Path, responses: Path, tmp: Path) -> list[str]:
    """The command that reads ``bad`` as an instrument, mapping or project file."""
    export = tmp / "export.csv"
    export.write_text("respondent_id,rec1\n1,4\n", encoding="utf-8")
    if kind == "instrument":
        return ["score", str(responses), "--instrument", str(bad), "--out", str(tmp / "s.csv")]
    if kind == "mapping":
        return ["ingest", str(export), "--instrument", "partnerschap", "--wave", "pre",
                "--role", "parent", "--school", "S1", "--mapping", str(bad),
                "--out", str(tmp / "out")]
    return ["report", "--config", str(bad)]


@pytest.mark.parametrize("kind", ["instrument", "mapping", "project"])
@pytest.mark.parametrize("attack", sorted(YAML_ATTACKS))
def test_yaml_attack_is_a_paragraph_within_seconds_and_memory(attack, kind, responses_csv,
                                                               tmp_path):
    data, needle = YAML_ATTACKS[attack]
    bad = tmp_path / "hostile.yaml"
    bad.write_bytes(data)
    # the worst attacks also in a process of their own: its memory is theirs alone
    fresh = kind == "instrument" and attack in ("billion_laughs", "deep_flow", "deep_block")
    res = run_cli(*_yaml_target(kind, bad, responses_csv, tmp_path), cwd=tmp_path, env=KEY,
                  fresh=fresh)
    refused(res, str(bad), needle)
    assert res[4] < MEMORY_LIMIT_MB, f"peak memory {res[4]:.0f} MB"
    assert not (tmp_path / "PWNED").exists(), "a Python tag was executed"
    assert not (tmp_path / "out").exists() and not (tmp_path / "s.csv").exists()


def test_yaml_of_200_mb_is_refused_unread(responses_csv, tmp_path):
    bad = tmp_path / "huge.yaml"
    with open(bad, "wb") as fh:
        fh.write(b"id: x\nnotes: |\n")
        line = b"  " + b"lol " * 255 + b"\n"
        for _ in range((200 << 20) // len(line)):
            fh.write(line)
    assert bad.stat().st_size >= 199 << 20
    res = run_cli(*_yaml_target("instrument", bad, responses_csv, tmp_path), env=KEY,
                  fresh=True)
    refused(res, str(bad), "larger than 1 MB")
    assert res[4] < MEMORY_LIMIT_MB, f"peak memory {res[4]:.0f} MB"


def test_limits_leave_real_instruments_alone():
    """The limits are far from what the bundled instruments need (so they cannot be tighter
    than a real file)."""
    from partnerschap_eval._safe_read import MAX_YAML_BYTES, load_yaml
    from partnerschap_eval.instruments import instrument_dirs

    files = sorted({f for d in instrument_dirs() for f in d.glob("*.yaml")})
    assert files
    for f in files:
        assert f.stat().st_size < MAX_YAML_BYTES / 20
        assert isinstance(load_yaml(f), dict)


def test_aliases_within_limits_still_load(tmp_path):
    """Anchors are legal YAML: a file that reuses a text is not an attack."""
    from partnerschap_eval._safe_read import load_yaml

    p = tmp_path / "ok.yaml"
    p.write_text("t: &t {nl: Wel, en: Quite}\nu: *t\nv: [*t, *t]\n", encoding="utf-8")
    same = {"nl": "Wel", "en": "Quite"}
    assert load_yaml(p) == {"t": same, "u": same, "v": [same, same]}


# ---------------------------------------------------------------------------------------------
# operating-system errors on the reading side
# ---------------------------------------------------------------------------------------------
def test_a_folder_given_as_any_input_file_is_a_paragraph(responses_csv, tmp_path):
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    out = str(tmp_path / "o.csv")
    refused(run_cli("score", str(folder), "--instrument", "partnerschap", "--out", out),
            str(folder), "is a folder")
    refused(run_cli("score", str(responses_csv), "--instrument", str(folder), "--out", out),
            str(folder), "is a folder")
    refused(run_cli("ingest", str(folder), "--instrument", "partnerschap", "--wave", "pre",
                    "--role", "parent", "--school", "S", "--out", str(tmp_path / "i"), env=KEY),
            str(folder), "is a folder")
    refused(run_cli("report", "--config", str(folder)), str(folder), "is a folder")
    refused(run_cli("ingest", str(responses_csv), "--instrument", "partnerschap", "--wave",
                    "pre", "--role", "parent", "--school", "S", "--key-file", str(folder),
                    "--out", str(tmp_path / "i")), str(folder), "is a folder")
    assert not Path(out).exists()


def test_a_path_through_a_file_is_a_paragraph(responses_csv, tmp_path):
    inside = responses_csv / "responses.csv"  # a "folder" that is a file
    refused(run_cli("score", str(inside), "--instrument", "partnerschap", "--out",
                    str(tmp_path / "o.csv")), str(inside), "not a folder")


def test_a_missing_file_is_a_paragraph(tmp_path):
    gone = tmp_path / "nope.csv"
    refused(run_cli("evaluate", str(gone), "--instrument", "partnerschap", "--out",
                    str(tmp_path / "r.json")), str(gone), "does not exist")


@pytest.mark.parametrize("what", ["responses", "instrument", "key", "export", "project"])
def test_permission_denied_is_a_paragraph(what, responses_csv, tmp_path):
    """Permission denied on each kind of input. The tests run as root, whom chmod does not stop
    (and the interpreter lives under /root, so the CLI cannot run as another user): the CLI
    process's ``open`` refuses that one path with EACCES as the kernel would (see ``SERVER``);
    nothing of the package is replaced. Run as another user, the file is also made unreadable
    for real."""
    target = tmp_path / {"responses": "r.csv", "instrument": "i.yaml", "key": "k.key",
                         "export": "e.csv", "project": "p.yaml"}[what]
    target.write_text("respondent_id,rec1\n1,4\n", encoding="utf-8")
    if os.geteuid() != 0:
        target.chmod(0)
    out = str(tmp_path / "o.csv")
    args = {
        "responses": ["score", str(target), "--instrument", "partnerschap", "--out", out],
        "instrument": ["score", str(responses_csv), "--instrument", str(target), "--out", out],
        "key": ["ingest", str(responses_csv), "--instrument", "partnerschap", "--key-file",
                str(target), "--out", str(tmp_path / "i")],
        "export": ["ingest", str(target), "--instrument", "partnerschap", "--wave", "pre",
                   "--role", "parent", "--school", "S", "--out", str(tmp_path / "i")],
        "project": ["report", "--config", str(target)],
    }[what]
    res = run_cli(*args, env=KEY, deny=target)
    refused(res, str(target), "permission denied")


@pytest.mark.parametrize("size", [4097, 50 << 20])
def test_an_oversized_key_file_is_refused_unread(size, responses_csv, tmp_path):
    key = tmp_path / "big.key"
    with open(key, "wb") as fh:
        fh.write(b"0123456789abcdef" * (size // 16 + 1))
    res = run_cli("ingest", str(responses_csv), "--instrument", "partnerschap", "--key-file",
                  str(key), "--out", str(tmp_path / "i"))
    refused(res, str(key), "larger than 4 kB")
    assert res[4] < MEMORY_LIMIT_MB
    assert not (tmp_path / "i").exists()


def test_an_endless_key_file_is_not_read_for_ever(responses_csv, tmp_path):
    """/dev/zero never ends: the bounded read stops after 4 kB + 1 byte."""
    res = run_cli("ingest", str(responses_csv), "--instrument", "partnerschap", "--key-file",
                  "/dev/zero", "--out", str(tmp_path / "i"))
    refused(res, "/dev/zero", "larger than 4 kB")


# ---------------------------------------------------------------------------------------------
# absurd workbooks, corrupt Parquet
# ---------------------------------------------------------------------------------------------
def _workbook(tmp_path: Path, patch=None, name: str = "export.xlsx") -> Path:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["respondent_id", "rec1", "rec2", "rec3"])
    ws.append(["r1", 4, "=1+1", 3])  # a formula openpyxl stores without a cached value
    ws.append(["r2", 3, 2, "=B2"])
    ws.append(["r3", 5, 5, 5])
    buf = io.BytesIO()
    book.save(buf)
    path = tmp_path / name
    if patch is None:
        path.write_bytes(buf.getvalue())
        return path
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                patched = patch(data)
                assert patched != data, "the patch did not apply"
                data = patched
            out.writestr(info, data)
    return path


def _far_cell(ref: bytes):
    return lambda xml: xml.replace(
        b"</sheetData>", b'<row r="5"><c ' + ref + b' t="inlineStr"><is><t>x</t></is></c></row>'
                         b"</sheetData>")


ABSURD = {
    "dimension": lambda xml: xml.replace(xml[xml.index(b"<dimension"):xml.index(
        b"/>", xml.index(b"<dimension")) + 2], b'<dimension ref="A1:XFD1048576"/>'),
    "cell_XFD1048576": _far_cell(b'r="XFD1048576"'),
    "single_quotes": _far_cell(b"r='XFD1048576'"),
    "spaces_around_equals": _far_cell(b'r = "XFD1048576"'),
    "lower_case": _far_cell(b'r="xfd1048576"'),
    "zero_padded": _far_cell(b'r="XFD' + b"0" * 30 + b'1048576"'),
    "beyond_any_sheet": _far_cell(b'r="A99999999999999999999"'),
    "row_element": lambda xml: xml.replace(
        b"</sheetData>", b'<row r="1048576"><c t="inlineStr"><is><t>x</t></is></c>'
                         + b'<c t="inlineStr"><is><t>x</t></is></c>' * 60 + b"</row></sheetData>"),
}


@pytest.mark.parametrize("attack", sorted(ABSURD))
def test_absurd_workbook_extent_refused_before_the_reader_allocates(attack, tmp_path):
    path = _workbook(tmp_path, ABSURD[attack])
    res = run_cli("ingest", str(path), "--instrument", "partnerschap", "--wave", "pre",
                  "--role", "parent", "--school", "S", "--out", str(tmp_path / "out"), env=KEY,
                  fresh=attack == "cell_XFD1048576")
    refused(res, str(path), "cells from A1")
    # the reader would need gigabytes (or abort the process) for this rectangle
    assert res[4] < MEMORY_LIMIT_MB, f"peak memory {res[4]:.0f} MB"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("boundary", ["read", "cut"])
@pytest.mark.parametrize("shift", [-9, -5, -1, 0, 1, 3, 7])
def test_a_far_reference_across_a_block_boundary_is_seen(shift, boundary, tmp_path):
    """The sheet's XML is scanned block by block as it is decompressed (and each block up to
    its last 64 kB, the rest carried over): a reference split at either seam must not slip
    through."""
    from partnerschap_eval.ingest.excel import _CHUNK, _OVERLAP, check_zip

    seam = _CHUNK if boundary == "read" else _CHUNK - _OVERLAP

    def patch(xml: bytes) -> bytes:
        head, tail = xml.split(b"</sheetData>")
        ref = b' r="XFD1048576"'
        filler_cell = b'<c t="inlineStr"><is><t>%s</t></is></c>'
        pad = seam - len(head) - len(b'<row r="5">') - 33 + shift  # ref straddles the seam
        # random letters: a compressible filler would be refused as a zip bomb first
        noise = np.random.default_rng(shift + 10).integers(97, 123, max(pad, 1), dtype=np.uint8)
        filler = filler_cell % noise.tobytes()
        return (head + b'<row r="5">' + filler + b"<c" + ref + b' t="inlineStr"><is><t>x</t>'
                b"</is></c></row></sheetData>" + tail)

    path = _workbook(tmp_path, patch)
    with pytest.raises(InputError, match="cells from A1"):
        check_zip(path.read_bytes(), path)


def test_an_ordinary_workbook_passes_the_extent_check(tmp_path):
    from partnerschap_eval.ingest.excel import inspect_zip

    path = _workbook(tmp_path)
    _, sheets = inspect_zip(path.read_bytes(), path)
    (facts,) = sheets.values()
    assert (facts.max_row, facts.max_col) == (4, 4)
    assert sorted(facts.formula_cells) == [(2, 3), (3, 4)]


def _corruptions(good: bytes) -> dict[str, bytes]:
    return {"truncated": good[: len(good) // 2],
            "flipped_pages": good[:8] + bytes(b ^ 0xFF for b in good[8:200]) + good[200:],
            "footer_lies": good[:-8] + (2**31 - 1).to_bytes(4, "little") + b"PAR1",
            "only_magic": b"PAR1" + b"\0" * 64 + b"PAR1",
            "not_parquet": b"respondent_id,wave\nx,pre\n"}


@pytest.mark.parametrize("damage", ["truncated", "flipped_pages", "footer_lies", "only_magic",
                                    "not_parquet"])
@pytest.mark.parametrize("command", ["score", "evaluate", "report"])
def test_corrupt_parquet_is_a_paragraph(damage, command, responses_csv, tmp_path):
    good = io.BytesIO()
    pd.read_csv(responses_csv, dtype=str).to_parquet(good)
    path = tmp_path / "responses.parquet"
    path.write_bytes(_corruptions(good.getvalue())[damage])
    out = tmp_path / "out"
    args = {"score": ["score", str(path), "--instrument", "partnerschap", "--out", str(out)],
            "evaluate": ["evaluate", str(path), "--instrument", "partnerschap", "--out",
                         str(out)],
            "report": ["report", "--responses", str(path), "--instrument", "partnerschap",
                       "--project", "P", "--out", str(out)]}[command]
    fresh = (damage, command) == ("truncated", "evaluate")
    refused(run_cli(*args, fresh=fresh), str(path), "not a readable Parquet file")
    assert not out.exists() or not any(out.iterdir())


def test_a_parquet_file_named_csv_is_read_as_parquet(responses_csv, tmp_path):
    """Recognised by its magic bytes, not by the name."""
    from partnerschap_eval.report.build import read_responses

    path = tmp_path / "responses.csv"
    pd.read_csv(responses_csv, dtype=str).to_parquet(path)
    back = read_responses(path)
    assert len(back) == len(pd.read_csv(responses_csv))
    assert pd.api.types.is_string_dtype(back["wave"]) and set(back["wave"]) == {"pre", "post"}


# ---------------------------------------------------------------------------------------------
# never guess an order
# ---------------------------------------------------------------------------------------------
def _three_waves(responses_csv: Path, tmp_path: Path, names=("T0", "T1", "T2")) -> Path:
    data = pd.read_csv(responses_csv, dtype={"respondent_id": str, "school_id": str})
    pre, post = data[data["wave"] == "pre"], data[data["wave"] == "post"]
    frame = pd.concat([pre.assign(wave=names[0]), pre.assign(wave=names[1]),
                       post.assign(wave=names[2])], ignore_index=True)
    path = tmp_path / "three.csv"
    frame.to_csv(path, index=False)
    return path


def test_three_undeclared_waves_are_refused_with_the_list_and_the_fix(responses_csv, tmp_path):
    # names chosen so that alphabetical and "natural" order would both be wrong: a guess would
    # compare the wrong waves
    path = _three_waves(responses_csv, tmp_path, names=("voor", "midden", "na"))
    text = refused(run_cli("evaluate", str(path), "--instrument", "partnerschap", "--out",
                           str(tmp_path / "r.json"), fresh=True),
                   "'voor'", "'midden'", "'na'", "--waves")
    assert "never" in text
    refused(run_cli("report", "--responses", str(path), "--instrument", "partnerschap",
                    "--project", "P", "--out", str(tmp_path / "rep")), "--waves")
    assert not (tmp_path / "r.json").exists()


def test_declared_waves_decide_first_and_last(responses_csv, tmp_path):
    path = _three_waves(responses_csv, tmp_path, names=("voor", "midden", "na"))
    out = tmp_path / "r.json"
    res = run_cli("evaluate", str(path), "--instrument", "partnerschap", "--out", str(out),
                  "--waves", "voor,midden,na")
    assert res[0] == 0, res[2]
    results = json.loads(out.read_text())
    assert results["waves"] == ["voor", "midden", "na"]
    assert results["compared"] == {"first": "voor", "last": "na"}


def test_a_wave_missing_from_the_declaration_is_refused(responses_csv, tmp_path):
    path = _three_waves(responses_csv, tmp_path)
    refused(run_cli("evaluate", str(path), "--instrument", "partnerschap", "--out",
                    str(tmp_path / "r.json"), "--waves", "T0,T2"), "'T1'", "does not name")
    refused(run_cli("score", str(path), "--instrument", "partnerschap", "--out",
                    str(tmp_path / "s.csv"), "--waves", "T0,T2"), "'T1'")


def test_pre_beside_Pre_is_refused(responses_csv, tmp_path):
    data = pd.read_csv(responses_csv, dtype=str)
    data.loc[data.index[:40], "wave"] = data.loc[data.index[:40], "wave"].str.capitalize()
    path = tmp_path / "cases.csv"
    data.to_csv(path, index=False)
    for args in (["evaluate", str(path), "--instrument", "partnerschap", "--out",
                  str(tmp_path / "r.json")],
                 ["evaluate", str(path), "--instrument", "partnerschap", "--out",
                  str(tmp_path / "r.json"), "--waves", "pre,post"],
                 ["report", "--responses", str(path), "--instrument", "partnerschap",
                  "--project", "P", "--out", str(tmp_path / "rep")]):
        refused(run_cli(*args), "'pre'", "'Pre'", "capitals")


@pytest.mark.parametrize("seed", range(20))
def test_wave_order_is_the_declaration_never_the_names(seed):
    """Any names, any declared order: the order returned is the declaration's, whatever sorting
    the names would give; the same names undeclared are refused (unless one of the known pairs)."""
    rng = np.random.default_rng(seed)
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 _-")
    names = list(dict.fromkeys("".join(rng.choice(alphabet, rng.integers(1, 8))).strip() or "w"
                               for _ in range(rng.integers(2, 6))))
    names = [n for n in dict.fromkeys(names)
             if n.casefold() not in {m.casefold() for m in names if m != n}]
    if len(names) < 2:
        names = ["zz", "aa"]
    declared = list(rng.permutation(names))
    data = list(rng.choice(names, 50)) + names
    assert wave_order(data, declared) == declared
    if {n.casefold() for n in names} not in ({"pre", "post"}, {"voormeting", "nameting"}):
        with pytest.raises(InputError, match="no declared order"):
            wave_order(data)


def test_known_pairs_and_single_wave_need_no_declaration():
    assert wave_order(["post", "pre"]) == ["pre", "post"]
    assert wave_order(["Nameting", "Voormeting"]) == ["Voormeting", "Nameting"]
    assert wave_order(["T0"]) == ["T0"]
    with pytest.raises(InputError, match="no declared order"):
        wave_order(["pre", "post", "follow_up"])  # a known pair plus one: not known
    with pytest.raises(InputError, match="more than once"):
        wave_order(["pre", "post"], ["pre", "post", "PRE"])


def test_project_file_waves_are_the_declaration(responses_csv, tmp_path):
    from partnerschap_eval.report.project import load_project

    (tmp_path / "p.yaml").write_text("project: P\ninstrument: partnerschap\nresponses: r.csv\n"
                                     "out: o\nwaves: [T0, T1, T2]\n", encoding="utf-8")
    assert load_project(tmp_path / "p.yaml").waves == ("T0", "T1", "T2")


# ---------------------------------------------------------------------------------------------
# silent losses
# ---------------------------------------------------------------------------------------------
def test_formula_without_cached_value_is_logged_as_cleared_and_counted(tmp_path):
    path = _workbook(tmp_path)
    res = run_cli("ingest", str(path), "--instrument", "partnerschap", "--wave", "pre",
                  "--role", "parent", "--school", "S", "--out", str(tmp_path / "out"), env=KEY)
    assert res[0] == 0, res[2]
    log = json.loads((tmp_path / "out" / "ingest_log.json").read_text())
    f = log["files"][0]
    reason = "formula without a cached value"
    assert f["cells_cleared"] == {reason: 2}
    assert f["cells_cleared_by_column"] == {"rec2": 1, "rec3": 1}
    assert sorted((c["line"], c["column"], c["reason"]) for c in f["cleared"]) == [
        (2, "rec2", reason), (3, "rec3", reason)]
    assert all("1+1" not in c["value"] and "B2" not in c["value"] for c in f["cleared"])
    assert log["totals"]["cells_cleared"] == 2 and log["totals"]["accepted"] == 3
    # the numbers around them are kept
    resp = pd.read_csv(tmp_path / "out" / "responses.csv")
    assert resp["rec1"].tolist() == [4, 3, 5] or sorted(resp["rec1"]) == [3, 4, 5]


@pytest.mark.parametrize("lang, words", [("en", "no row of"), ("nl", "geen enkele rij")])
def test_a_file_with_no_row_accepted_exits_3_and_keeps_every_row(tmp_path, lang, words):
    """A typo in --role rejects every row: before, ingest said "2 rows read: 0 accepted" and
    exited 0. Now it still writes the outputs (every row in rejected.csv with its reason) but
    names the file and exits 3, as `submit` does; a second, good file does not hide it."""
    bad, good = tmp_path / "ouders_voor.csv", tmp_path / "good.csv"
    bad.write_text("respondent_id,rec1,rec2\nr1,4,3\nr2,3,3\n", encoding="utf-8")
    res = run_cli("ingest", str(bad), "--instrument", "partnerschap", "--wave", "pre",
                  "--role", "oudres", "--school", "S", "--out", str(tmp_path / "out"),
                  env=KEY | {"PARTNERSCHAP_EVAL_LANG": lang})
    assert res[0] == 3, res[2]
    assert words in res[2] and "ouders_voor.csv" in res[2] and "Traceback" not in res[2]
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv")
    assert len(rejected) == 2 and rejected["reason"].notna().all()
    # with a good file beside it, the empty one still sets the exit code
    good.write_text("respondent_id,role,rec1,rec2\nr3,parent,4,3\n", encoding="utf-8")
    res = run_cli("ingest", str(good), str(bad), "--instrument", "partnerschap", "--wave",
                  "pre", "--school", "S", "--out", str(tmp_path / "out2"), env=KEY)
    assert res[0] == 3 and "ouders_voor.csv" in res[2]
    assert len(pd.read_csv(tmp_path / "out2" / "responses.csv")) == 1


@pytest.mark.parametrize("header", [
    "respondent_id,rec1,rec2,rec1",          # the same item id twice
    "respondent_id,rec1,rec2, rec1 ",        # with spaces
    "respondent_id,Q1,rec2,Q2",              # two headers mapped to one item (mapping file)
])
def test_a_header_claiming_an_item_twice_is_refused(header, tmp_path):
    export = tmp_path / "dup.csv"
    export.write_text(header + "\nr1,4,3,2\nr2,3,3,3\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns: {Q1: rec1, Q2: rec1}\n", encoding="utf-8")
    res = run_cli("ingest", str(export), "--instrument", "partnerschap", "--wave", "pre",
                  "--role", "parent", "--school", "S", "--mapping", str(mapping),
                  "--out", str(tmp_path / "out"), env=KEY)
    refused(res, "rec1 <-", "would be lost")
    assert not (tmp_path / "out").exists()


def test_a_repeated_header_can_be_resolved_by_its_numbered_name(tmp_path):
    export = tmp_path / "dup.csv"
    export.write_text("respondent_id,rec1,rec2,rec1\nr1,4,3,2\nr2,3,3,3\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text('columns: {"rec1 (2)": drop}\n', encoding="utf-8")
    res = run_cli("ingest", str(export), "--instrument", "partnerschap", "--wave", "pre",
                  "--role", "parent", "--school", "S", "--mapping", str(mapping),
                  "--out", str(tmp_path / "out"), env=KEY)
    assert res[0] == 0, res[2]
    assert sorted(pd.read_csv(tmp_path / "out" / "responses.csv")["rec1"]) == [3, 4]


def test_mixed_encodings_are_refused_not_split_into_two_schools(tmp_path):
    export = tmp_path / "mixed.csv"
    export.write_bytes(b"respondent_id,school_id,rec1\n"
                       + "r1,Basisschool Zoë,4\n".encode()
                       + "r2,Basisschool Zoë,3\n".encode("cp1252"))
    res = run_cli("ingest", str(export), "--instrument", "partnerschap", "--wave", "pre",
                  "--role", "parent", "--out", str(tmp_path / "out"), env=KEY)
    text = refused(res, str(export), "mixes text encodings", "line 2", "line 3")
    assert "Basisschool" not in text  # no cell is quoted
    assert not (tmp_path / "out").exists()


def test_a_windows_1252_file_is_still_read(tmp_path):
    """The mixed-encoding check must not refuse a file that is Windows-1252 throughout."""
    export = tmp_path / "cp.csv"
    export.write_bytes("respondent_id,school_id,rec1\nr1,Basisschool Zoë,4\nr2,Café,3\n"
                       .encode("cp1252"))
    res = run_cli("ingest", str(export), "--instrument", "partnerschap", "--wave", "pre",
                  "--role", "parent", "--out", str(tmp_path / "out"), env=KEY)
    assert res[0] == 0, res[2]
    schools = set(pd.read_csv(tmp_path / "out" / "responses.csv")["school_id"])
    assert schools == {"Basisschool Zoë", "Café"}


@pytest.mark.parametrize("seed", range(12))
def test_the_vectorised_extent_scan_agrees_with_a_plain_reading(seed):
    """Random cell references in random order, quoting, case and spacing, fed in blocks of
    random size: the scan's farthest row and column are exactly those of a plain reading."""
    import re

    from partnerschap_eval.ingest.excel import _letters_value, _SheetScan

    rng = np.random.default_rng(seed)
    parts, refs = [b"<worksheet><sheetData>"], []
    for r in range(int(rng.integers(50, 3000))):  # up to ~500 kB: several carried blocks
        parts.append(b'<row r="%d">' % (r + 1))
        for _ in range(int(rng.integers(1, 6))):
            letters = "".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                                         int(rng.integers(1, 4))))
            row = int(rng.integers(1, 10 ** int(rng.integers(1, 7))))
            refs.append((letters, row))
            text = letters.lower() if rng.random() < 0.1 else letters
            quote = b"'" if rng.random() < 0.2 else b'"'
            # spaces around "=" (read by the exact fallback) in a third of the sheets only, so
            # that the vectorised reading is tested on its own in the others
            eq = b" = " if seed % 3 == 0 and rng.random() < 0.01 else b"="
            parts.append(b"<c r" + eq + quote + f"{text}{row}".encode() + quote
                         + b' t="n"><v>%d</v></c>' % int(rng.integers(0, 9)))
        parts.append(b"</row>")
    parts.append(b"</sheetData></worksheet>")
    xml = b"".join(parts)
    scan = _SheetScan()
    pos = 0
    while pos < len(xml):
        step = int(rng.integers(1, 100_000))
        scan.feed(xml[pos:pos + step])
        pos += step
    scan.feed(b"", final=True)
    assert scan.facts.max_row == max(max(r for _, r in refs),
                                     max(int(m) for m in re.findall(rb'<row r="(\d+)"', xml)))
    assert scan.facts.max_col == max(_letters_value(c) for c, _ in refs)


@pytest.mark.parametrize("command", ["score", "ingest"])
def test_a_device_given_as_responses_or_export_is_refused_not_read(command, tmp_path):
    """/dev/zero never ends: reading it as a CSV would not stop (or fill the memory)."""
    args = (["score", "/dev/zero", "--instrument", "partnerschap", "--out",
             str(tmp_path / "s.csv")] if command == "score" else
            ["ingest", "/dev/zero", "--instrument", "partnerschap", "--wave", "pre", "--role",
             "parent", "--school", "S", "--out", str(tmp_path / "out")])
    res = run_cli(*args, env=KEY)
    refused(res, "/dev/zero", "not a regular file")
    assert res[4] < MEMORY_LIMIT_MB
