"""Outputs as an attacker sees them: kill -9, two writers, a full disk, mixed sets, and outputs
aimed at the inputs.

Every command writes its output folder as one set (staged beside it, moved into place whole,
with a completion record), under a writer lock, and never where an input lives. These tests try
to break each of those promises from outside, through the command line where a user would.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from partnerschap_eval._outputs import MARKER, check_input_set, lock_path, writer_lock
from partnerschap_eval.cli import app
from partnerschap_eval.errors import InputError, OutputBusyError, OutputError
from partnerschap_eval.report.build import read_responses

KEY = "0123456789abcdef-test-key"
CLI = [sys.executable, "-m", "partnerschap_eval.cli"]
ITEMS = ["rec1", "rec2", "rec3", "rec4", "rec5", "twc1"]
ENV = os.environ | {"PYTHONHASHSEED": "0", "PARTNERSCHAP_EVAL_KEY": KEY}


def export(path: Path, rows: int, seed: int = 0, role: str = "ouder") -> Path:
    """A parent export of ``rows`` rows (ids unique), answers 1..5; a million rows in a second."""
    rng = np.random.default_rng(seed)
    block = min(rows, 50_000)
    answers = rng.integers(1, 6, size=(block, len(ITEMS))).astype(np.uint8) + ord("0")
    tails = [f",S{i % 7},{role}," + ",".join(map(chr, row)) + "\n" for i, row in enumerate(answers)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("respondent,school,rol," + ",".join(ITEMS) + "\n")
        for start in range(0, rows, block):
            fh.write("".join(f"r{start + i}{tails[i]}" for i in range(min(block, rows - start))))
    return path


def ingest_args(exp: Path, out: Path) -> list[str]:
    return ["ingest", str(exp), "--instrument", "partnerschap", "--wave", "pre", "--out", str(out)]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=ENV, timeout=600)


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env={"PARTNERSCHAP_EVAL_KEY": KEY})


def digests(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` by relative path -> sha256 (the whole visible state)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_paragraph(text: str) -> bool:
    return "Traceback" not in text and text.strip().count("\n\n") == 0 and "error:" in text


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".staging-" in p.name or ".old-" in p.name)


# ---------------------------------------------------------------------------------------------
# protected inputs: refused before anything runs
# ---------------------------------------------------------------------------------------------
def test_ingest_out_that_holds_the_export_is_refused_and_the_export_survives(tmp_path):
    # an export that happens to be called responses.csv, ingested into its own folder
    folder = tmp_path / "school"
    exp = export(folder / "responses.csv", 30)
    before = exp.read_bytes()
    res = invoke(*ingest_args(exp, folder))
    assert res.exit_code == 2, res.output
    assert "holds an input" in res.output and str(exp) in res.output.replace("\n", "")
    assert one_paragraph(res.output)
    assert exp.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["responses.csv"]  # nothing written
    # deeper inside the output folder, and through a symlinked output path: refused too
    deep = export(tmp_path / "a" / "b" / "export.csv", 30)
    assert invoke(*ingest_args(deep, tmp_path / "a")).exit_code == 2
    (tmp_path / "alias").symlink_to(folder)
    res = invoke(*ingest_args(exp, tmp_path / "alias"))
    assert res.exit_code == 2 and exp.read_bytes() == before
    # the key file and the mapping are inputs as well
    key = tmp_path / "k" / "key"
    key.parent.mkdir()
    key.write_text(KEY)
    ok = export(tmp_path / "e.csv", 30)
    res = invoke(*ingest_args(ok, key.parent), "--key-file", str(key))
    assert res.exit_code == 2 and key.read_text() == KEY


@pytest.mark.slow
def test_report_folder_that_holds_its_inputs_is_refused(tmp_path):
    from partnerschap_eval.synth import StudyDesign, simulate_study

    data = tmp_path / "responses.csv"
    simulate_study(seed=5, design=StudyDesign(n_schools=2, parents_invited=20)).responses.to_csv(
        data, index=False)
    before = data.read_bytes()
    res = invoke("report", "--responses", str(data), "--instrument", "partnerschap",
                 "--project", "P", "--out", str(tmp_path))
    assert res.exit_code == 2 and "holds an input" in res.output and one_paragraph(res.output)
    # a project file whose report folder is the folder of the project file itself
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "project.yaml").write_text("project: P\ninstrument: partnerschap\n"
                                       "responses: ../responses.csv\nout: .\n")
    res = invoke("report", "--config", str(proj / "project.yaml"))
    assert res.exit_code == 2 and "holds an input" in res.output, res.output
    assert "project.yaml" in res.output
    assert data.read_bytes() == before and (proj / "project.yaml").exists()
    assert leftovers(tmp_path) == []


def test_outputs_inside_data_raw_are_refused(tmp_path):
    exp = export(tmp_path / "data" / "raw" / "wave1" / "export.csv", 30)
    for out in (tmp_path / "data" / "raw" / "processed", tmp_path / "data" / "raw"):
        res = invoke(*ingest_args(exp, out))
        assert res.exit_code == 2 and "data/raw" in res.output, res.output
        assert not out.joinpath("responses.csv").exists()
    # a harmless-looking name that is a symlink into data/raw
    (tmp_path / "looks-fine").symlink_to(tmp_path / "data" / "raw" / "wave1")
    res = invoke(*ingest_args(exp, tmp_path / "looks-fine"))
    assert res.exit_code == 2 and "data/raw" in res.output
    assert sorted(p.name for p in exp.parent.iterdir()) == ["export.csv"]
    good = tmp_path / "data" / "processed"
    assert invoke(*ingest_args(exp, good)).exit_code == 0
    target = tmp_path / "data" / "raw" / "scores.csv"
    res = invoke("score", str(good / "responses.csv"), "--instrument", "partnerschap",
                 "--out", str(target))
    assert res.exit_code == 2 and not target.exists()


@pytest.mark.parametrize("command", ["score", "evaluate"])
def test_score_and_evaluate_never_overwrite_their_input(tmp_path, command):
    from partnerschap_eval.synth import StudyDesign, simulate_study

    study = simulate_study(seed=5, design=StudyDesign(n_schools=2, parents_invited=20))
    data = tmp_path / "responses.csv"
    study.responses.to_csv(data, index=False)
    before = data.read_bytes()
    hard = tmp_path / "hardlink.csv"
    os.link(data, hard)
    soft = tmp_path / "soft.csv"
    soft.symlink_to(data)
    for target in (data, hard, soft):
        res = invoke(command, str(data), "--instrument", "partnerschap", "--out", str(target))
        assert res.exit_code == 2, (target, res.output)
        assert "is one of this command's inputs" in res.output and one_paragraph(res.output)
        assert data.read_bytes() == before
    # a folder given as --out: a paragraph, not IsADirectoryError
    res = invoke(command, str(data), "--instrument", "partnerschap", "--out", str(tmp_path))
    assert res.exit_code == 2 and "is a folder" in res.output and one_paragraph(res.output)


def test_score_into_a_file_of_an_ingest_set_is_refused(tmp_path):
    exp = export(tmp_path / "e.csv", 40)
    assert invoke(*ingest_args(exp, tmp_path / "out")).exit_code == 0
    before = digests(tmp_path / "out")
    res = invoke("score", str(tmp_path / "out" / "responses.csv"), "--instrument",
                 "partnerschap", "--out", str(tmp_path / "out" / "rejected.csv"))
    assert res.exit_code == 2 and "mixed" in res.output
    assert digests(tmp_path / "out") == before


def test_a_folder_with_other_files_is_never_replaced(tmp_path):
    exp = export(tmp_path / "e.csv", 30)
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "notes.docx").write_bytes(b"months of work")
    res = invoke(*ingest_args(exp, mine))
    assert res.exit_code == 2 and "not an earlier ingest output" in res.output
    assert (mine / "notes.docx").read_bytes() == b"months of work"
    assert sorted(p.name for p in mine.iterdir()) == ["notes.docx"]
    # a file where the folder should be
    (tmp_path / "afile").write_text("x")
    res = invoke(*ingest_args(exp, tmp_path / "afile"))
    assert res.exit_code == 2 and "is a file, not a folder" in res.output


# ---------------------------------------------------------------------------------------------
# readers refuse incomplete and mixed sets
# ---------------------------------------------------------------------------------------------
def test_mixed_truncated_and_unrecorded_sets_are_refused(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke(*ingest_args(export(tmp_path / "ea.csv", 50, seed=1), a)).exit_code == 0
    assert invoke(*ingest_args(export(tmp_path / "eb.csv", 60, seed=2), b)).exit_code == 0
    read_responses(a / "responses.csv")  # complete sets pass

    def refused(folder: Path, why: str) -> None:
        with pytest.raises(InputError, match=why):
            read_responses(folder / "responses.csv")
        res = invoke("score", str(folder / "responses.csv"), "--instrument", "partnerschap",
                     "--out", str(tmp_path / "s.csv"))
        assert res.exit_code == 2 and one_paragraph(res.output), res.output
        assert not (tmp_path / "s.csv").exists()

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name in ("responses.csv", "rejected.csv", MARKER):
        (mixed / name).write_bytes((a / name).read_bytes())
    (mixed / "ingest_log.json").write_bytes((b / "ingest_log.json").read_bytes())
    refused(mixed, "incomplete or mixed")
    # the same with the other run's responses: the record catches either side
    (mixed / "ingest_log.json").write_bytes((a / "ingest_log.json").read_bytes())
    (mixed / "responses.csv").write_bytes((b / "responses.csv").read_bytes())
    refused(mixed, "incomplete or mixed")
    # responses cut short (a crash of an older, non-atomic writer)
    (mixed / "responses.csv").write_bytes((a / "responses.csv").read_bytes()[:-40])
    refused(mixed, "incomplete or mixed")
    # a set without its completion record (interrupted, or put together by hand)
    (mixed / MARKER).unlink()
    refused(mixed, "without a completion record")
    # a forged record that is not ours
    (mixed / MARKER).write_text('{"files": []}')
    refused(mixed, "unreadable or not one")
    # ... while a table made by hand, alone in its folder, is still a Contract 2 input
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "responses.csv").write_bytes((a / "responses.csv").read_bytes())
    assert len(read_responses(alone / "responses.csv")) == 50


# ---------------------------------------------------------------------------------------------
# the writer lock
# ---------------------------------------------------------------------------------------------
def test_a_held_lock_refuses_a_second_writer_with_a_paragraph(tmp_path):
    exp = export(tmp_path / "e.csv", 30)
    out = tmp_path / "out"
    with writer_lock(out):
        res = invoke(*ingest_args(exp, out))
        assert res.exit_code == 2 and "is being written by another run" in res.output
        assert str(os.getpid()) in res.output and one_paragraph(res.output)
        with pytest.raises(OutputBusyError), writer_lock(out):
            pass
    assert not out.exists() and leftovers(tmp_path) == []
    assert invoke(*ingest_args(exp, out)).exit_code == 0  # released: the next run goes ahead


@pytest.mark.slow
def test_two_concurrent_ingests_one_wins_the_other_is_refused(tmp_path):
    big = export(tmp_path / "big.csv", 1_200_000, seed=3)
    small = export(tmp_path / "small.csv", 40, seed=4)
    out = tmp_path / "out"
    first = subprocess.Popen([*CLI, *ingest_args(big, out)], env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    lock = lock_path(out.resolve())
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the first ingest never took the lock"
        time.sleep(0.02)
    second = cli(*ingest_args(small, out))
    stdout, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr
    assert first.poll() == 0 and second.returncode == 2, (second.stdout, second.stderr)
    assert "is being written by another run" in second.stderr and str(first.pid) in second.stderr
    assert "Traceback" not in second.stderr
    # the winner's set is whole: every file as recorded, and it has the winner's rows
    check_input_set(out / "responses.csv")
    record = json.loads((out / MARKER).read_text())
    assert set(record["files"]) == {"responses.csv", "rejected.csv", "ingest_log.json"}
    log = json.loads((out / "ingest_log.json").read_text())
    assert log["totals"]["rows_in"] == 1_200_000
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# kill -9 at any moment
# ---------------------------------------------------------------------------------------------
def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the command and every process it started (report kernels), by their ids."""
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    proc.send_signal(signal.SIGKILL)
    for child in family:
        try:
            child.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    proc.wait(timeout=60)


def _listing(folder: Path) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except FileNotFoundError:
        return []


def _run_killed(args: list[str], after: float, watch: Path | None = None) -> int | None:
    """Start the command and SIGKILL it ``after`` seconds after its start, or, with ``watch``,
    after the first change in that folder's listing (the moment writing begins); return its
    exit status if it finished first."""
    proc = subprocess.Popen([*CLI, *args], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    if watch is not None:
        seen = _listing(watch)
        while proc.poll() is None and _listing(watch) == seen:
            time.sleep(0.002)
    try:
        proc.wait(timeout=after)
        return proc.returncode
    except subprocess.TimeoutExpired:
        _kill_tree(proc)
        return None


@pytest.mark.slow
def test_kill_9_during_ingest_never_leaves_a_set_a_reader_accepts(tmp_path):
    """Property over moments: whenever ingest dies, the folder holds the earlier set or the new
    one, whole; a reader accepts nothing else; a re-run succeeds and clears the debris.

    Moments are drawn over the whole run and, to hit the writing itself, just after the first
    change in the output folder. The new set has many accepted and many rejected rows, so its
    files take a while to write."""
    old_exp = export(tmp_path / "old.csv", 30_000, seed=7)
    new_exps = [export(tmp_path / "new.csv", 60_000, seed=8),
                export(tmp_path / "bad.csv", 60_000, seed=9, role="directeur")]
    new_args = ["ingest", *map(str, new_exps), "--instrument", "partnerschap", "--wave", "pre"]
    out, ref = tmp_path / "out", tmp_path / "ref"
    assert cli(*ingest_args(old_exp, out)).returncode == 0
    start = time.monotonic()
    # bad.csv gives no row (an unknown role): the set is written whole and ingest exits 3
    assert cli(*new_args, "--out", str(ref)).returncode == 3
    duration = time.monotonic() - start
    old_state, new_state = digests(out), digests(ref)
    rng = random.Random(20261202)
    moments = [(rng.uniform(0.05, 1.1) * duration, None) for _ in range(2)]
    moments += [(rng.uniform(0, 0.3), out) for _ in range(4)]
    seen = set()
    for after, watch in moments:
        status = _run_killed([*new_args, "--out", str(out)], after, watch)
        state = digests(out)
        assert state in (old_state, new_state), f"mixed set after kill at {after:.2f} s"
        seen.add("new" if state == new_state else "old")
        assert status in (None, 3)
        # the reader: it accepts exactly what is whole, and nothing left in a staging folder
        table = read_responses(out / "responses.csv")
        assert len(table) == (60_000 if state == new_state else 30_000)
        for debris in leftovers(tmp_path):
            staged = tmp_path / debris / "responses.csv"
            if staged.exists():
                with pytest.raises(InputError, match="did not complete"):
                    read_responses(staged)
        if state == new_state:  # back to the old set for the next moment
            assert cli(*ingest_args(old_exp, out)).returncode == 0
    assert "old" in seen, "no kill landed before the swap: the moments test nothing"
    assert cli(*new_args, "--out", str(out)).returncode == 3
    assert digests(out) == new_state and leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory):
    from partnerschap_eval.synth import StudyDesign, simulate_study

    base = tmp_path_factory.mktemp("studies")
    paths = []
    for seed, schools in ((3, 3), (4, 2)):
        study = simulate_study(seed=seed, design=StudyDesign(n_schools=schools,
                                                             parents_invited=30,
                                                             response_rate=0.6))
        path = base / f"responses{seed}.csv"
        study.responses.to_csv(path, index=False)
        paths.append(path)
    return paths


def report_args(responses: Path, out: Path, *extra: str) -> list[str]:
    return ["report", "--responses", str(responses), "--instrument", "partnerschap", "--project",
            "Kill test", "--out", str(out), "--date", "2026-01-01", "--min-cell", "5", *extra]


def _whole_report(folder: Path) -> bool:
    """Every recorded file as recorded, nothing unrecorded: reproduce's own first check."""
    from partnerschap_eval.report.build import _file_drift, read_manifest

    bad_inputs, problems = _file_drift(folder, read_manifest(folder))
    return not bad_inputs and not problems


def test_kill_9_during_report_leaves_the_earlier_report_whole(tmp_path, two_studies):
    old_data, new_data = two_studies
    out = tmp_path / "report"
    start = time.monotonic()
    assert cli(*report_args(old_data, out)).returncode == 0
    duration = time.monotonic() - start
    old_state = digests(out)
    assert _whole_report(out)
    for fraction in (0.5, 0.95):
        status = _run_killed(report_args(new_data, out), fraction * duration)
        if status == 0 or digests(out) != old_state:
            # finished before the kill, or killed between the swap and its exit (a loaded
            # machine): then it must be the whole new report, never a mix
            assert _whole_report(out), f"mixed report after a kill at {fraction:.0%}"
            assert len(list((out / "schools").iterdir())) == 2  # the new study's two schools
            assert cli(*report_args(old_data, out)).returncode == 0
            old_state = digests(out)
    (out / "schools" / "withdrawn-school.html").write_text("<p>an earlier run's page</p>")
    res = cli(*report_args(new_data, out))
    assert res.returncode == 0, res.stderr
    assert _whole_report(out) and leftovers(tmp_path) == []
    assert len(list((out / "schools").iterdir())) == 2  # the third school's page is gone


# ---------------------------------------------------------------------------------------------
# a full disk
# ---------------------------------------------------------------------------------------------
def _limited(limit: int):
    def apply() -> None:  # in the child: a file-size limit, and EFBIG instead of SIGXFSZ
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.slow
def test_full_disk_mid_file_leaves_the_earlier_set_and_says_so(tmp_path):
    """The kernel stops writes past a size limit in the middle of responses.csv (EFBIG, what
    a full disk does to a file): one paragraph naming the output, the earlier set intact."""
    old_exp = export(tmp_path / "old.csv", 200, seed=1)
    new_exp = export(tmp_path / "new.csv", 50_000, seed=2)
    # the disk fills up with the *second* file: responses.csv (small) is whole by then
    rejects = export(tmp_path / "bad.csv", 30_000, seed=3, role="directeur")
    out = tmp_path / "out"
    assert cli(*ingest_args(old_exp, out)).returncode == 0
    before = digests(out)
    limit = 1_000_000
    assert cli(*ingest_args(export(tmp_path / "few.csv", 2_000), tmp_path / "probe"),
               ).returncode == 0
    assert (tmp_path / "probe" / "responses.csv").stat().st_size < limit
    res = subprocess.run([*CLI, "ingest", str(tmp_path / "few.csv"), str(rejects),
                          "--instrument", "partnerschap", "--wave", "pre", "--out", str(out)],
                         capture_output=True, text=True, env=ENV, timeout=600,
                         preexec_fn=_limited(limit))
    assert res.returncode == 2, res.stderr
    assert "Could not finish writing" in res.stderr and "Traceback" not in res.stderr
    assert str(out) in res.stderr.replace("\n", "")
    assert digests(out) == before and leftovers(tmp_path) == []
    read_responses(out / "responses.csv")
    # scores: the earlier file survives a write that runs out of space
    scores = tmp_path / "scores.csv"
    assert cli("score", str(out / "responses.csv"), "--instrument", "partnerschap",
               "--out", str(scores)).returncode == 0
    before_scores = scores.read_bytes()
    big = tmp_path / "big"
    assert cli(*ingest_args(new_exp, big)).returncode == 0
    res = subprocess.run([*CLI, "score", str(big / "responses.csv"), "--instrument",
                          "partnerschap", "--out", str(scores)], capture_output=True, text=True,
                         env=ENV, timeout=600, preexec_fn=_limited(limit))
    assert res.returncode == 2 and "Could not finish writing" in res.stderr, res.stderr
    assert scores.read_bytes() == before_scores
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".scores.csv.")]


def test_enospc_at_flush_removes_the_staging_folder(tmp_path, monkeypatch):
    """A disk that fills up at fsync (delayed allocation, network disks): nothing moves."""
    from partnerschap_eval.ingest import ExportSpec, ingest_exports, write_ingest_outputs

    exp = export(tmp_path / "e.csv", 100)
    result = ingest_exports([ExportSpec(path=exp, wave="pre")], "partnerschap", KEY.encode())
    out = tmp_path / "out"
    write_ingest_outputs(result, out)
    before = digests(out)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="disk is full") as info:
        write_ingest_outputs(result, out)
    assert str(out) in str(info.value)
    monkeypatch.undo()
    assert digests(out) == before and leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# OS errors while writing: one paragraph naming the path
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code, advice", [
    (errno.EROFS, "read-only"), (errno.EACCES, "fix its permissions"),
    (errno.EEXIST, "already exists"), (errno.ENOSPC, "disk is full"),
    (errno.EISDIR, "not a file")])
def test_os_errors_on_the_final_rename_become_a_paragraph(tmp_path, monkeypatch, code, advice):
    """The system refuses the last step (moving the finished file into place): the command
    prints one paragraph naming the file, leaves the earlier file and no temporary file."""
    from partnerschap_eval.synth import StudyDesign, simulate_study

    data = tmp_path / "responses.csv"
    simulate_study(seed=5, design=StudyDesign(n_schools=2, parents_invited=20)).responses.to_csv(
        data, index=False)
    target = tmp_path / "scores.csv"
    target.write_text("earlier scores\n")
    real_replace = os.replace

    def refuse(src, dst, *args, **kwargs):
        if Path(dst) == target:
            raise OSError(code, os.strerror(code))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", refuse)
    res = invoke("score", str(data), "--instrument", "partnerschap", "--out", str(target))
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output
    assert advice in res.output and str(target) in res.output.replace("\n", "")
    assert one_paragraph(res.output)
    assert target.read_text() == "earlier scores\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["responses.csv", "scores.csv"]


def test_a_path_through_a_file_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "afile").write_text("x")
    exp = export(tmp_path / "e.csv", 30)
    for args in (ingest_args(exp, tmp_path / "afile" / "out"),
                 ["score", str(exp), "--instrument", "partnerschap", "--out",
                  str(tmp_path / "afile" / "s.csv")]):
        res = invoke(*args)
        assert res.exit_code == 2 and "is a file, not a folder" in res.output, res.output
        assert one_paragraph(res.output)
    assert (tmp_path / "afile").read_text() == "x"


def test_without_an_atomic_exchange_the_set_is_still_replaced_whole(tmp_path, monkeypatch):
    """Systems without renameat2 take the two-rename path: same end state, no debris."""
    from partnerschap_eval import _outputs
    from partnerschap_eval.ingest import ExportSpec, ingest_exports, write_ingest_outputs

    results = [ingest_exports([ExportSpec(path=export(tmp_path / f"e{n}.csv", n), wave="pre")],
                              "partnerschap", KEY.encode()) for n in (20, 35)]
    out = tmp_path / "out"
    write_ingest_outputs(results[0], out)
    (out / "stale.csv").write_text("x")  # not part of a set: the folder is not replaceable
    with pytest.raises(OutputError, match="not an earlier ingest output"):
        write_ingest_outputs(results[1], out)
    (out / "stale.csv").unlink()
    monkeypatch.setattr(_outputs, "_exchange", lambda a, b: False)
    write_ingest_outputs(results[1], out)
    assert len(read_responses(out / "responses.csv")) == 35
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["responses.csv", "rejected.csv", "ingest_log.json", MARKER])
    assert leftovers(tmp_path) == []
