"""Several processes on one study at once: submitters never lose each other's work, and a reader
sees the old or the new state of a submission, never a mix (Contract 6)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from partnerschap_eval.study import Study

# Real processes racing on one study (several seconds each): CI runs them, the quick loop not.
pytestmark = pytest.mark.slow

KEY = "concurrency test key, not secret 42"

SUBMITTER = textwrap.dedent("""
    import json, sys
    from partnerschap_eval.study import Study
    study_dir, go, mapping, pause, *files = sys.argv[1:]
    import os, time
    while not os.path.exists(go):  # start together
        time.sleep(0.005)
    out = []
    with Study.open(study_dir) as study:
        if pause == "batch":  # every file in one call (a submission each, one rows file)
            for fb in study.submit(files, mapping=mapping, key=KEY_TEXT.encode()):
                out.append({"file": fb.file, "new": fb.new, "accepted": fb.accepted})
            files = []
        for f in files:
            fb = study.submit([f], mapping=mapping, key=KEY_TEXT.encode())[0]
            out.append({"file": fb.file, "new": fb.new, "accepted": fb.accepted})
            time.sleep(float(pause))  # room for a reader to look between submissions
    print(json.dumps(out))
""").replace("KEY_TEXT", repr(KEY))

READER = textwrap.dedent("""
    import json, os, sys, time
    from partnerschap_eval.study import Study
    study_dir, ready, stop = sys.argv[1:]
    seen = []
    with Study.open(study_dir) as study:
        while True:
            last = os.path.exists(stop)
            r = study.responses()
            seen.append(sorted({f"{s}|{w}" for s, w in zip(r.school_id, r.wave)}))
            if len(seen) == 1:  # the writers start only once the reader reads
                open(ready, "w").close()
            if last:
                break
    print(json.dumps(seen))
""")


def _export(path: Path, school: str, n: int, value: int, waves=("voormeting", "nameting")) -> Path:
    rows = ["nr,school,meting,rol,rec1,rec2"]
    for wave in waves:
        rows += [f"{i},{school},{wave},ouder,{value},{(i % 5) + 1}" for i in range(1, n + 1)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _python(code: str, *args: object) -> subprocess.Popen:
    env = os.environ | {"PYTHONHASHSEED": "0"}
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _study(tmp_path: Path) -> Path:
    study = Study.init(tmp_path / "s", "partnerschap", key=KEY.encode())
    study.close()
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  nr: respondent_id\n  school: school_id\n  meting: wave\n"
                       "  rol: role\n")
    return tmp_path / "s"


@pytest.mark.parametrize("mode", ["0", "batch"], ids=["file_by_file", "one_call_each"])
def test_two_processes_submitting_at_once_lose_nothing(tmp_path, mode):
    study_dir = _study(tmp_path)
    files = {k: [_export(tmp_path / f"{k}{i}.csv", f"{k}{i}", 30 + i, 1 + i % 5)
                 for i in range(6)] for k in "AB"}
    # both also send a different file for one shared cell, and the very same bytes once
    files["A"].append(_export(tmp_path / "shared_a.csv", "Gedeeld", 10, 2))
    files["B"].append(_export(tmp_path / "shared_b.csv", "Gedeeld", 10, 4))
    same = _export(tmp_path / "same.csv", "Zelfde", 12, 3)
    files["A"].append(same)
    files["B"].append(same)
    go = tmp_path / "go"
    procs = [_python(SUBMITTER, study_dir, go, tmp_path / "map.yaml", mode, *files[k])
             for k in "AB"]
    go.touch()
    results = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr
        results.append(json.loads(stdout))
    new = [r for res in results for r in res if r["new"]]
    assert len(new) == 15  # 7 + 7 distinct files, and the shared bytes recorded once
    assert sum(r["file"] == "same.csv" and r["new"] for res in results for r in res) == 1

    with Study.open(study_dir) as study:
        uploads = pd.DataFrame(study.store.uploads())
        assert len(uploads) == 15 and uploads.sha256.is_unique
        status = study.status().set_index(["school_id", "wave", "role"])
        assert len(status) == 2 * (12 + 2)  # every school x (pre, post) x parent
        assert status.loc[("Gedeeld", "pre", "parent"), "submissions"] == 2
        assert status.loc[("Zelfde", "pre", "parent"), "submissions"] == 1
        responses = study.responses()
        expected = sum(2 * (30 + i) for i in range(6)) * 2 + 2 * 10 + 2 * 12
        assert len(responses) == expected
        # no row file is left behind by the process whose identical bytes lost the race
        referenced = {p for p in study.history().merge(
            pd.DataFrame(study.store.history())[["id", "rows_path"]],
            left_on="submission_id", right_on="id").rows_path if p}
        referenced |= {p for p in uploads.rejected_path if p}
        on_disk = {f"rows/{p.name}" for p in (study_dir / "rows").glob("*.parquet")}
        assert on_disk == referenced


def test_a_reader_sees_a_submission_whole_or_not_at_all(tmp_path):
    study_dir = _study(tmp_path)
    # each file holds two cells (pre and post of one school): a reader must see both or none
    files = [_export(tmp_path / f"f{i}.csv", f"School{i}", 400, 1 + i % 5) for i in range(8)]
    go, ready, stop = tmp_path / "go", tmp_path / "ready", tmp_path / "stop"
    reader = _python(READER, study_dir, ready, stop)
    writer = _python(SUBMITTER, study_dir, go, tmp_path / "map.yaml", 0.2, *files)
    deadline = time.monotonic() + 120
    while not ready.exists() and reader.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    stop.touch()
    seen_out, seen_err = reader.communicate(timeout=300)
    assert reader.returncode == 0, seen_err
    seen = json.loads(seen_out)
    assert len(seen) >= 2
    for state in seen:
        schools = {cell.split("|")[0] for cell in state}
        for school in schools:
            assert {f"{school}|pre", f"{school}|post"} <= set(state), state
    assert len(seen[-1]) == 16
    assert any(0 < len(state) < 16 for state in seen)  # it did read while submissions ran
