"""``score``'s start and read: the early parse, the narrow columns, the exit without teardown.

The console script (``partnerschap_eval._start.main``) starts parsing ``score``'s CSV file
before the command line's libraries load, and ends ``score`` with ``os._exit`` once its output
is written. The read keeps answers as ``int8`` where the file's first 64 KB allow it. Each
promise is tried where it could break: arguments the early read misreads, a file that changes
in between, answers outside ``lo..hi`` that wrap around in ``int8``, output not flushed at exit.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_score_fast import CORPUS

from partnerschap_eval import _io, _start, scoring
from partnerschap_eval._contract import CODED_KEYS, KEY_COLUMNS
from partnerschap_eval.instruments import load_instrument

SCRIPT = [sys.executable, "-c", "import sys; from partnerschap_eval._start import main; "
          "sys.argv[0] = 'partnerschap-eval'; main()"]


@pytest.mark.parametrize(("args", "expected"), [
    (["score", "r.csv", "--instrument", "x", "--out", "s.csv"], "r.csv"),
    (["score", "--instrument", "x", "--out", "s.csv", "r.csv"], "r.csv"),
    (["score", "--instrument=x", "r.csv"], "r.csv"),
    (["score", "--lang", "en", "--waves", "pre,post", "r.csv"], "r.csv"),
    (["score", "--", "-r.csv"], "-r.csv"),
    (["score", "--help"], None),
    (["score"], None),
    (["evaluate", "r.csv"], None),
    ([], None),
])
def test_the_responses_argument_is_found_as_typer_finds_it(args, expected):
    assert _start.responses_argument(args) == expected


def _run(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*SCRIPT, *args], capture_output=True, text=True, cwd=cwd, timeout=120,
                          env={**os.environ, "PARTNERSCHAP_EVAL_LANG": "nl", **(env or {})})


def test_score_through_the_console_script_prints_flushes_and_exits_as_the_command(tmp_path):
    data = CORPUS["long"][0]
    (tmp_path / "r.csv").write_bytes(data)
    done = _run(["score", "r.csv", "--instrument", "partnerschap", "--out", "s.csv"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1.400 rijen gescoord" in done.stdout  # flushed before os._exit, Dutch grouping
    reference = _run(["score", "r.csv", "--instrument", "partnerschap", "--out", "t.csv",
                      "--lang", "en"], tmp_path)
    assert "1,400 rows scored" in reference.stdout
    assert (tmp_path / "s.csv").read_bytes() == (tmp_path / "t.csv").read_bytes()
    # a refusal after the early read: the message on stderr and exit code 2, nothing written
    refused = _run(["score", "r.csv", "--instrument", "partnerschap", "--out", "r.csv"],
                   tmp_path)
    assert refused.returncode == 2 and "invoerbestanden" in refused.stderr, refused.stderr
    assert (tmp_path / "r.csv").read_bytes() == data
    # a usage error: typer's words in Dutch, though typer loaded them only for the error
    usage = _run(["score", "r.csv"], tmp_path)
    assert usage.returncode == 2 and "Ontbrekende optie" in usage.stderr, usage.stderr
    helped = _run(["score", "--help"], tmp_path)
    assert helped.returncode == 0 and "Gebruik" in helped.stdout and "Opties" in helped.stdout


def test_a_plain_score_run_loads_neither_babel_nor_typers_help_module(tmp_path):
    (tmp_path / "r.csv").write_bytes(CORPUS["plain"][0])
    code = ("import os, sys\nfrom partnerschap_eval import _start\n"
            "def leave(code):\n"
            "    heavy = [m for m in sys.modules if m.startswith(('babel', 'typer.rich_utils', "
            "'pandas', 'pyarrow.compute'))]\n"
            "    print('LOADED', heavy, code, flush=True)\n"
            "    os._exit(0)\n"
            "_start._leave = leave\n"
            "sys.argv = ['partnerschap-eval', 'score', 'r.csv', '--instrument', 'partnerschap',"
            " '--out', 's.csv']\n_start.main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert "LOADED [] 0" in done.stdout, done.stdout + done.stderr


def test_the_early_read_is_the_commands_read_and_a_changed_file_is_read_again(
        tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    path.write_bytes(CORPUS["plain"][0])
    parsed = []
    real = _io._answers_table
    monkeypatch.setattr(_io, "_answers_table", lambda *a: parsed.append(a) or real(*a))
    monkeypatch.setattr(sys, "argv", ["partnerschap-eval", "score", str(path), "--instrument",
                                      "partnerschap", "--out", str(tmp_path / "s.csv")])
    codes = []

    def leave(code):
        codes.append(code)
        raise SystemExit(code)  # instead of os._exit: the test process goes on

    monkeypatch.setattr(_start, "_leave", leave)
    with pytest.raises(SystemExit):
        _start.main()
    assert codes == [0] and len(parsed) == 1  # parsed once, before the command, used by it
    # the same file, changed after an early read: its new cells are read
    _io.prefetch_table_csv(path, KEY_COLUMNS, CODED_KEYS)
    text = path.read_text().replace("Basisschool 1", "Basisschool 9")
    path.write_text(text)
    os.utime(path, ns=(1, 1))  # even with a size the same and an old time, the key differs
    table = _io.arrow_answers_csv(path, KEY_COLUMNS, CODED_KEYS)
    assert "Basisschool 9" in table.column("school_id").chunk(0).dictionary.to_pylist()
    _io.release_table_csv(path, KEY_COLUMNS)


def test_answers_are_read_narrow_where_the_sample_allows_and_wide_after_a_late_surprise(
        tmp_path):
    for name, wide in (("long", False), ("late_float", True), ("late_big", True)):
        path = tmp_path / f"{name}.csv"
        path.write_bytes(CORPUS[name][0])
        table = _io.arrow_answers_csv(path, KEY_COLUMNS, CODED_KEYS)
        assert pa.types.is_int8(table.schema.field("rec1").type) != wide, name
        assert pa.types.is_dictionary(table.schema.field("school_id").type)
        assert pa.types.is_string(table.schema.field("respondent_id").type)


@settings(max_examples=60, deadline=None)
@given(lo=st.integers(-128, 127), span=st.integers(0, 120), width=st.sampled_from([8, 16, 64]),
       values=st.lists(st.one_of(st.none(), st.integers(-128, 127)), min_size=1, max_size=40))
def test_answers_are_coded_or_refused_exactly_by_the_rule_of_validate_responses(
        lo, span, width, values):
    hi = lo + span
    kind = {8: pa.int8(), 16: pa.int16(), 64: pa.int64()}[width]
    column = pa.chunked_array([pa.array(values[:3], kind), pa.array(values[3:], kind)])
    coded = scoring._coded_answers(column, lo, hi)
    present = [v for v in values if v is not None]
    if any(v < lo or v > hi for v in present):
        assert coded is None
    else:
        assert coded.tolist() == [-1 if v is None else v - lo for v in values]


def test_ids_in_different_chunks_are_compared_across_chunks():
    ids = [f"p-{i:020x}" for i in range(3000)]
    inst = load_instrument("partnerschap")
    text = "respondent_id,wave,role,school_id,rec1\n" + "".join(
        f"{r},pre,parent,S1,3\n" for r in ids)
    def read(body: str, block: int):
        return pacsv.read_csv(io.BytesIO(body.encode()), read_options=pacsv.ReadOptions(
            block_size=block), convert_options=pacsv.ConvertOptions(
            column_types={k: pa.string() for k in scoring.KEY_COLUMNS}))
    table = read(text, 1 << 14)
    assert table.column("respondent_id").num_chunks > 2
    assert scoring.arrow_responses(table, inst) is not None
    repeated = read(text + f"{ids[5]},pre,parent,S2,4\n", 1 << 14)
    assert scoring.arrow_responses(repeated, inst) is None
    other_wave = read(text + f"{ids[5]},post,parent,S1,4\n", 1 << 14)
    assert scoring.arrow_responses(other_wave, inst) is not None
    # ids of one length that differ only in their last byte, or only in an inner one
    near = read("respondent_id,wave,role,school_id,rec1\n" + "".join(
        f"abcdefghij{c},pre,parent,S1,3\n" for c in "0123456789"), 1 << 14)
    assert scoring.arrow_responses(near, inst) is not None
    np.testing.assert_array_equal(
        np.unique(scoring._fold_chunks(near.column("respondent_id"),
                                       np.zeros(10, np.int32))).size, 10)
