"""The ingest path of the skeleton: accounting, pseudonymisation, PII, duplicates."""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import pandas as pd
import pytest

from partnerschap_eval.ingest import ExportSpec, ingest_exports, write_ingest_outputs

KEY = b"0123456789abcdef-test-key"
HEADER = "respondent,school,rol,Naam,rec1,rec2,rec3,rec4,rec5,twc1\n"


def write(tmp_path, text, name="export.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def ingest(tmp_path, text, **spec):
    path = write(tmp_path, text)
    return ingest_exports([ExportSpec(path=path, **spec)], "partnerschap", KEY)


def test_every_row_accounted_for(tmp_path):
    text = HEADER + (
        "r1,S1,ouder,Jan Jansen,4,5,3,2,1,4\n"      # accepted
        "r1,S1,ouder,Jan Jansen,4,5,3,2,1,4\n"      # exact duplicate -> rejected once
        ",S1,ouder,Piet,4,4,4,4,4,4\n"              # missing id
        "r2,,leerkracht,X,1,2,3,4,5,1\n"            # missing school
        "r3,S1,directeur,Y,1,2,3,4,5,1\n"           # unknown role
        "r4,S2,leerkracht,Z,3,3,3,3,3,3\n"          # conflicting duplicate ...
        "r4,S2,leerkracht,Z,4,4,4,4,4,4\n"          # ... both rejected
        "r5,S2,jeugdhulpverlener,Q,7,Soms,Weet ik niet,Mee eens,99,2\n"  # cells cleared, row kept
    )
    res = ingest(tmp_path, text, wave="pre")
    log = res.log["files"][0]
    assert log["rows_in"] == 8
    assert log["accepted"] == 2
    assert log["rejected"] == {"conflicting duplicate": 2, "exact duplicate": 1, "missing respondent id": 1,
                               "missing school": 1, "unknown role": 1}
    assert log["rows_in"] == log["accepted"] + log["rejected_total"]
    assert log["cells_cleared"] == {"out of range 1..5": 1, "unknown answer": 1}
    r5 = res.responses[res.responses["role"] == "youthworker"].iloc[0]
    assert pd.isna(r5["rec1"]) and pd.isna(r5["rec2"]) and pd.isna(r5["rec3"])
    assert r5["rec4"] == 4 and pd.isna(r5["rec5"]) and r5["twc1"] == 2
    cleared = {(c["column"], c["value"], c["line"]) for c in log["cleared"]}
    assert ("rec1", "7", 9) in cleared and ("rec2", "Soms", 9) in cleared


def test_pseudonyms_are_keyed_hmac(tmp_path):
    res = ingest(tmp_path, HEADER + "0012,S1,ouder,A,1,1,1,1,1,1\n", wave="pre")
    expected = "p-" + hmac.new(KEY, b"0012", hashlib.sha256).hexdigest()[:20]
    assert res.responses["respondent_id"].tolist() == [expected]
    other = ingest_exports([ExportSpec(path=tmp_path / "export.csv", wave="pre")], "partnerschap",
                           b"another-key-of-16+")
    assert other.responses["respondent_id"].iloc[0] != expected


def test_pii_never_written(tmp_path):
    text = HEADER.replace("\n", ",Opmerkingen\n") + "r1,S1,ouder,Jan Jansen,4,5,3,2,1,4,bel 0612345678\n"
    res = ingest(tmp_path, text, wave="pre")
    paths = write_ingest_outputs(res, tmp_path / "out")
    for p in paths.values():
        body = p.read_text()
        assert "Jansen" not in body and "0612345678" not in body and "r1," not in body
    log = json.loads(paths["log"].read_text())
    assert {c["column"] for c in log["files"][0]["pii_columns"]} == {"Naam", "Opmerkingen"}


def test_flag_conflicts_with_column(tmp_path):  # refused before any hashing starts
    from partnerschap_eval.errors import InputError

    with pytest.raises(InputError, match="must not be given"):
        ingest(tmp_path, HEADER + "r1,S1,ouder,A,1,1,1,1,1,1\n", role="parent", wave="pre")


def test_labels_decode_in_both_languages_and_dutch_excel(tmp_path):
    text = ("respondent;school;rol;rec1;rec2;rec3\r\n"
            "r1;S1;ouder; helemaal MEE eens ;Strongly disagree;4,0\r\n")
    path = write(tmp_path, text, encoding="cp1252")
    res = ingest_exports([ExportSpec(path=path, wave="post")], "partnerschap", KEY)
    row = res.responses.iloc[0]
    assert (row["rec1"], row["rec2"], row["rec3"]) == (5, 1, 4)
    assert res.log["files"][0]["details"]["delimiter"] == ";"


def test_same_file_twice_changes_nothing(tmp_path):
    path = write(tmp_path, HEADER + "r1,S1,ouder,A,1,2,3,4,5,1\n")
    once = ingest_exports([ExportSpec(path=path, wave="pre")], "partnerschap", KEY)
    twice = ingest_exports([ExportSpec(path=path, wave="pre")] * 2, "partnerschap", KEY)
    pd.testing.assert_frame_equal(once.responses, twice.responses)
    assert twice.log["totals"]["rows_in"] == twice.log["totals"]["accepted"] + twice.log["totals"]["rejected"]


def test_formula_injection_neutralised_in_rejected(tmp_path):
    res = ingest(tmp_path, HEADER + "r1,=HYPERLINK(1),directeur,A,1,1,1,1,1,1\n", wave="pre")
    paths = write_ingest_outputs(res, tmp_path / "out")
    assert "'=HYPERLINK(1)" in paths["rejected"].read_text()


# -- pseudonyms hashed by a child process (large inputs) --------------------------------------
def test_pseudonym_job_equals_in_process_pseudonyms():
    import pyarrow as pa

    from partnerschap_eval.ingest._fast import PseudonymJob
    from partnerschap_eval.privacy import pseudonym_array

    ids = pa.array(["0012", "", "zoë-7", "x" * 300, "a\nb", "12"] * 3).slice(2, 12)
    for key in (KEY, b"k" * 100):  # keys longer than the hash block are hashed first
        job = PseudonymJob(ids, key, min_ids=0)
        assert job._procs  # really the child, not the fallback
        assert job.result().equals(pseudonym_array(ids, key))
        expected = "p-" + hmac.new(key, "zoë-7".encode(), hashlib.sha256).hexdigest()[:20]
        assert job.result()[0].as_py() == expected


def test_pseudonym_job_small_or_broken_falls_back_to_in_process(monkeypatch):
    import pyarrow as pa

    from partnerschap_eval import privacy
    from partnerschap_eval.ingest import _fast

    ids = pa.array(["1", "2"])
    small = _fast.PseudonymJob(ids, KEY)
    assert not small._procs  # below the threshold: no process at all
    assert small.result().equals(privacy.pseudonym_array(ids, KEY))
    empty = _fast.PseudonymJob(pa.array([], pa.string()), KEY, min_ids=0)
    assert len(empty.result()) == 0
    monkeypatch.setattr(_fast.sys, "executable", "/nonexistent/python")
    broken = _fast.PseudonymJob(ids, KEY, min_ids=0)
    assert broken.result().equals(privacy.pseudonym_array(ids, KEY))
    monkeypatch.setattr(_fast.sys, "executable", "/usr/bin/uwsgi")  # embedded: not started
    embedded = _fast.PseudonymJob(ids, KEY, min_ids=0)
    assert not embedded._procs
    assert embedded.result().equals(privacy.pseudonym_array(ids, KEY))


def test_pseudonym_job_closed_without_result_leaves_no_child():
    import pyarrow as pa

    from partnerschap_eval.ingest._fast import PseudonymJob

    job = PseudonymJob(pa.array([str(i) for i in range(1000)]), KEY, min_ids=0)
    procs = [proc for proc, _ in job._procs]
    assert len(procs) == min(os.cpu_count() or 1, 2)  # one per core, at most two
    job.close()
    assert all(proc.returncode is not None for proc in procs)
    job.close()  # idempotent


def test_large_single_file_uses_the_child_and_matches_hmac(tmp_path, monkeypatch):
    from partnerschap_eval.ingest import _fast

    monkeypatch.setattr(_fast, "PARALLEL_MIN_IDS", 0)
    monkeypatch.setattr(_fast.PseudonymJob.__init__, "__defaults__", (0,))
    text = HEADER + "".join(f"{i:04d},De Linde,ouder,,4,4,4,4,4,4\n" for i in range(50))
    res = ingest(tmp_path, text, wave="pre")
    got = sorted(res.responses["respondent_id"])
    want = sorted("p-" + hmac.new(KEY, f"{i:04d}".encode(), hashlib.sha256).hexdigest()[:20]
                  for i in range(50))
    assert got == want


def test_threaded_paths_write_the_same_bytes(tmp_path, monkeypatch):
    """The threaded float table and CSV writer (large inputs) equal the serial ones."""
    from partnerschap_eval import _io
    from partnerschap_eval.ingest import _fast

    text = HEADER + "".join(f"{i:04d},School {i % 3},ouder,,{i % 5 + 1},,3,=x,4,{i % 2 + 1}\n"
                            for i in range(300))
    serial = write_ingest_outputs(ingest(tmp_path, text, wave="pre"), tmp_path / "serial")
    monkeypatch.setattr(_fast, "THREADED_MIN_CELLS", 0)
    monkeypatch.setattr(_io, "_THREADED_MIN_CELLS", 0)
    monkeypatch.setattr(_io, "_ROWS_PER_BLOCK", 7)  # many blocks, written in order
    monkeypatch.setattr(_io, "_ROWS_PER_FILL", 3)  # and each filled in slices
    threaded = write_ingest_outputs(ingest(tmp_path, text, wave="pre"), tmp_path / "threads")
    for name in ("responses", "rejected"):
        assert threaded[name].read_bytes() == serial[name].read_bytes()


def test_edited_responses_frame_is_what_gets_written(tmp_path):
    """Without the frame, responses.csv comes from the ingest's codes; once the frame was built
    (and perhaps edited), the frame is written."""
    text = HEADER + "".join(f"{i:04d},De Linde,ouder,,{i % 5 + 1},2,3,4,5,1\n" for i in range(20))
    untouched = write_ingest_outputs(ingest(tmp_path, text, wave="pre"), tmp_path / "codes")
    res = ingest(tmp_path, text, wave="pre")
    res.responses.loc[:, "rec2"] = 5.0
    edited = write_ingest_outputs(res, tmp_path / "frame")
    before = pd.read_csv(untouched["responses"])
    after = pd.read_csv(edited["responses"])
    assert (before["rec2"] == 2).all() and (after["rec2"] == 5).all()
    pd.testing.assert_frame_equal(before.drop(columns="rec2"), after.drop(columns="rec2"))


def test_sort_order_is_lexsort_order():
    import numpy as np

    from partnerschap_eval.ingest._fast import sort_order

    rng = np.random.default_rng(1)
    for n, span in ((0, 3), (1, 3), (500, 4), (500, 10**6), (300, 2**40)):
        keys = [rng.integers(-1, span, n) for _ in range(3)]  # ties and -1 (missing) included
        assert np.array_equal(sort_order(keys), np.lexsort(keys[::-1]))
    unique = [np.zeros(50, np.int64), rng.permutation(50)]
    assert np.array_equal(sort_order(unique), np.lexsort(unique[::-1]))


def test_pseudonym_sort_is_full_rank_order():
    import numpy as np
    import pyarrow as pa

    from partnerschap_eval.ingest._fast import pseudonym_rank, pseudonym_sort, sort_order

    rng = np.random.default_rng(2)
    for n_names, n_rows, waves, schools in ((40, 60, 2, 3), (5, 5, 1, 1), (300, 500, 2, 700)):
        digits = rng.integers(0, 16, (n_names, 20))
        digits[1, :] = digits[0, :]  # two pseudonyms sharing their leading digits
        digits[1, -1] = (digits[0, -1] + 1) % 16
        names = pa.array(["p-" + "".join("0123456789abcdef"[d] for d in row) for row in digits])
        # accepted rows: each (pseudonym, wave) at most once
        pairs = rng.choice(n_names * waves, size=min(n_rows, n_names * waves), replace=False)
        gid, wave = pairs // waves, pairs % waves
        school = rng.integers(0, schools, len(pairs))
        expected = sort_order([wave, school, pseudonym_rank(names)[gid]])
        order = pseudonym_sort(wave, school, names, gid)
        assert order is None or np.array_equal(order, expected)
    # digits that differ only below the bits left beside the row numbers: the positions of the
    # full keys are sorted instead, still in string order
    close = pa.array(["p-" + "0" * 15 + "1" + "0" * 4, "p-" + "0" * 15 + "0" + "f" * 4])
    assert pseudonym_sort(np.zeros(2, np.int64), np.zeros(2, np.int64), close,
                           np.arange(2)).tolist() == [1, 0]
    # equal leading digits in one group cannot be ordered by the packed key: the caller ranks
    same = pa.array(["p-" + "0" * 19 + "1", "p-" + "0" * 19 + "2"])
    assert pseudonym_sort(np.zeros(2, np.int64), np.zeros(2, np.int64), same,
                           np.arange(2)) is None
    assert pseudonym_sort(np.zeros(2, np.int64), np.zeros(2, np.int64), pa.array(["a", "b"]),
                           np.arange(2)) is None


@pytest.mark.parametrize("cells", [["p-0a1b", "p-ffff", "p-0a1b"], ["=1+2", "abcd"], ["a,bc", "abcd"],
                                   ['a"bc', "abcd"], ["-123", "4567"], ["+abc", "xyzw"],
                                   ["ab\ncd", "efghi"], ["zoë", "abcd"]])
def test_fixed_width_text_written_as_the_csv_module_would(tmp_path, cells):
    import pyarrow as pa

    from partnerschap_eval._io import neutralise_frame, write_table_csv

    for dtype in (object, pd.ArrowDtype(pa.string()), pd.ArrowDtype(pa.large_string())):
        df = pd.DataFrame({"c": pd.Series(cells, dtype=dtype), "x": [1] * len(cells)})
        write_table_csv(df, tmp_path / "fast.csv")
        # the reference: pandas' own writer (Python's csv module) on the neutralised cells
        neutralise_frame(df.astype({"c": object})).to_csv(tmp_path / "slow.csv", index=False,
                                                          lineterminator="\n")
        assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "slow.csv").read_bytes()


def test_shared_keys_is_duplicated_keep_false():
    import numpy as np

    from partnerschap_eval.ingest._fast import shared_keys

    rng = np.random.default_rng(2)
    for keys in (np.zeros(0, np.int64), rng.integers(0, 50, 80), rng.integers(-3, 5, 30),
                 rng.integers(0, 2**40, 50), np.array([7, 7]), np.array([3])):
        assert np.array_equal(shared_keys(keys), pd.Series(keys).duplicated(keep=False).to_numpy())


def test_error_after_the_child_started_ends_it(tmp_path, monkeypatch):
    from partnerschap_eval.errors import InputError
    from partnerschap_eval.ingest import _fast, pipeline

    monkeypatch.setattr(_fast, "THREADED_MIN_CELLS", 0)
    monkeypatch.setattr(_fast.PseudonymJob.__init__, "__defaults__", (0,))
    children = []
    real_init = _fast.PseudonymJob.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        children.extend(proc for proc, _ in self._procs)

    def fail(*args, **kwargs):
        raise InputError("a problem found after hashing began")

    monkeypatch.setattr(_fast.PseudonymJob, "__init__", init)
    monkeypatch.setattr(pipeline, "_check_and_decode", fail)
    text = "respondent,school,rol,meting,rec1\n" + "".join(
        f"{i:04d},De Linde,ouder,voormeting,4\n" for i in range(50))
    with pytest.raises(InputError, match="after hashing began"):
        ingest(tmp_path, text)
    assert children
    assert all(c.returncode is not None for c in children)  # ended and reaped, not left running


def test_number_columns_in_slices_written_as_before(tmp_path, monkeypatch):
    import numpy as np

    from partnerschap_eval import _io

    nan = float("nan")
    df = pd.DataFrame({"a": [1.0, nan, 3.0, -2.0, 5.0], "b": [1.0, 2.0, 3.0, 4.0, 4.5],
                       "c": pd.array([1, None, 7, 2, 2], dtype="Int64"),
                       "d": np.array([0, 1, 2, 3, 4], dtype=np.int8), "e": [nan] * 5})
    _io.write_table_csv(df, tmp_path / "whole.csv")
    monkeypatch.setattr(_io, "_NUMBER_SLICE", 2)  # the non-whole 4.5 lies in a later slice
    _io.write_table_csv(df, tmp_path / "sliced.csv")
    text = (tmp_path / "sliced.csv").read_text()
    assert text == (tmp_path / "whole.csv").read_text()
    assert text.splitlines()[1:3] == ["1,1,1,0,", ",2,,1,"] and "4.5" in text


def test_large_tables_mapped_in_at_once_behave_as_arrays(monkeypatch):
    import pickle

    import numpy as np

    from partnerschap_eval.ingest import _fast

    monkeypatch.setattr(_fast, "POPULATE_MIN_BYTES", 0)
    table = _fast.new_table((5, 3), np.int16)
    assert table.shape == (5, 3) and table.dtype == np.int16 and table.flags.f_contiguous
    table[:, 1] = 7
    answers = np.asfortranarray(np.array([[0, -1], [2, 1], [-1, 0]], dtype=np.int16))
    out = _fast.take_rows(answers, np.array([2, 0]), 1, 5)
    assert out.flags.writeable
    frame = pd.DataFrame(out, copy=False)
    assert pickle.loads(pickle.dumps(frame)).equals(frame)
    np.testing.assert_array_equal(out, [[np.nan, 1.0], [1.0, np.nan]])  # offset -1 is NaN


def test_digit_codes_match_a_cell_by_cell_reading():
    import random

    import numpy as np
    import pyarrow as pa

    from partnerschap_eval.ingest.columns import _arrow_digit_codes

    def reference(cells):
        filled = [c for c in cells if c]
        if not filled or any(not (c.isascii() and c.isdigit() and len(c) <= 2) for c in filled):
            return None
        lo, hi = min(map(int, filled)), max(map(int, filled))
        return [int(c) - lo if c else -1 for c in cells], [str(v) for v in range(lo, hi + 1)]

    rng = random.Random(3)
    alphabet = ["", None, "0", "1", "3", "5", "9", "/", ":", "a", " ", "é", "12", "07"]
    for _ in range(3000):
        cells = [rng.choice(alphabet[:rng.randint(2, len(alphabet))])
                 for _ in range(rng.randint(1, 8))]
        arr, shown = pa.array(cells, pa.string()), cells
        if rng.random() < 0.3 and len(cells) > 2:  # an array that starts inside its buffers
            arr, shown = arr.slice(1, len(cells) - 2), cells[1:-1]
        got, want = _arrow_digit_codes(arr), reference(shown)
        if want is None:
            assert got is None, shown
        else:
            assert got is not None and got.codes.dtype == np.int16, shown
            assert (got.codes.tolist(), got.values) == want, shown


@pytest.mark.parametrize("out_dtype", ["int8", "int16"])
def test_one_character_columns_decode_as_the_general_path(monkeypatch, out_dtype):
    """decode_chars (byte lookup, in slices) gives decode_column's answers, cleared cells,
    reasons and logged texts, for random columns; anything longer than one byte is left to
    the general path."""
    import random

    import numpy as np
    import pyarrow as pa

    from partnerschap_eval.ingest import decode as decode_mod
    from partnerschap_eval.ingest.columns import as_coded
    from partnerschap_eval.ingest.decode import AnswerDecoder
    from partnerschap_eval.instruments import load_instrument

    monkeypatch.setattr(decode_mod, "_SLICE", 3)  # many slices, each with its own bitmap start
    dec = AnswerDecoder(load_instrument("partnerschap"))
    rng = random.Random(11)
    alphabet = ["", None, "0", "1", "3", "5", "7", "9", " ", "\t", ".", "a", "A", "?", "é", "12",
                "4 "]
    for _ in range(2000):
        cells = [rng.choice(alphabet[:rng.randint(2, len(alphabet))])
                 for _ in range(rng.randint(1, 12))]
        arr = pa.array(cells, pa.string())
        if rng.random() < 0.3 and len(cells) > 2:  # an array that starts inside its buffers
            arr, cells = arr.slice(1, len(cells) - 2), cells[1:-1]
        # as a reader returns it: in chunks (some empty), each chunk decoded as it is
        cuts = sorted(rng.randint(0, len(cells)) for _ in range(rng.randint(0, 3)))
        chunked = pa.chunked_array([arr.slice(a, b - a) for a, b in
                                    zip([0, *cuts], [*cuts, len(cells)], strict=True)],
                                   type=pa.string())
        for codes in (None, "limesurvey"):
            out = np.full(len(cells), 99, dtype=out_dtype)
            got = dec.decode_chars(chunked, codes, out)
            want = dec.decode_column(as_coded(arr, answer_codes=True), codes)
            if any(c is not None and len(c.encode()) > 1 for c in cells):
                assert got is None, cells
                continue
            assert got is not None, cells
            assert got.answers is out and got.answers.tolist() == want.answers.tolist(), cells
            assert got.rows.tolist() == want.rows.tolist(), cells
            assert [got.reasons[w] for w in got.why] == [want.reasons[w] for w in want.why]
            assert set(got.reasons) == {want.reasons[w] for w in want.why}  # only those found
            assert [got.text_at(r) for r in got.rows] == [want.text_at(r) for r in want.rows]


def test_chunked_key_columns_code_as_one_array():
    """Key columns are dictionary-encoded chunk by chunk (no joined copy): same codes and
    distinct texts as the joined column."""
    import random

    import pyarrow as pa

    from partnerschap_eval.ingest.columns import as_coded

    rng = random.Random(5)
    alphabet = ["", None, "a", " a", "b ", "0012", "12", "  ", "c"]
    for _ in range(500):
        cells = [rng.choice(alphabet) for _ in range(rng.randint(0, 10))]
        cuts = sorted(rng.randint(0, len(cells)) for _ in range(rng.randint(0, 4)))
        chunked = pa.chunked_array([pa.array(cells[a:b], pa.string()) for a, b in
                                    zip([0, *cuts], [*cuts, len(cells)], strict=True)],
                                   type=pa.string())
        got, want = as_coded(chunked), as_coded(pa.array(cells, pa.string()))
        assert got.codes.tolist() == want.codes.tolist(), cells
        assert got.values == want.values, cells


@pytest.mark.parametrize("quoted", [False, True])
def test_lines_after_blank_lines_are_physical_lines(tmp_path, quoted):
    """Blank lines are not rows, yet every later row keeps its physical line (with and without
    quotes in the file, which decide whether lines are counted or follow from the rows)."""
    school = '"De Linde"' if quoted else "De Linde"
    text = (HEADER + f"0001,{school},ouder,,4,4,4,4,4,4\n\n\n"
            f",{school},ouder,,1,1,1,1,1,1\n\n0002,{school},ouder,,2,2,2,2,2,2\n")
    res = ingest(tmp_path, text, wave="pre")
    assert res.rejected["line"].tolist() == [5]  # header 1, row 2, blanks 3-4, no id on 5
    assert res.log["files"][0]["details"].get("blank_rows") == 3
    assert len(res.responses) == 2


def test_digit_ids_code_as_texts_do():
    """Ids of digits of one width are coded through their numbers: the same codes and distinct
    texts (first appearance order) as hashing the texts; anything else is left to that."""
    import random

    import pyarrow as pa

    from partnerschap_eval.ingest.columns import _dictionary_codes, _digit_id_codes

    rng = random.Random(8)
    for _ in range(1500):
        width = rng.choice([1, 3, 7, 18, 19])
        pool = ["".join(rng.choice("0123456789") for _ in range(width)) for _ in range(5)]
        pool += [None, "", "0" * width]
        if rng.random() < 0.3:  # something that is not an id of that width
            pool.append(rng.choice(["12a", " 12", "1" * (width + 1), "-" + "1" * (width - 1),
                                    "é" * width]))
        cells = [rng.choice(pool) for _ in range(rng.randint(1, 12))]
        cuts = sorted(rng.randint(0, len(cells)) for _ in range(rng.randint(0, 3)))
        arr = pa.array(cells, pa.string())
        if rng.random() < 0.3 and len(cells) > 2:  # an array that starts inside its buffers
            arr, cells = arr.slice(1, len(cells) - 2), cells[1:-1]
            cuts = [min(c, len(cells)) for c in cuts]
        chunked = pa.chunked_array([arr.slice(a, b - a) for a, b in
                                    zip([0, *cuts], [*cuts, len(cells)], strict=True)],
                                   type=pa.string())
        got = _digit_id_codes(chunked)
        filled = [c for c in cells if c]
        plain = (filled and len(filled[0]) <= 18
                 and all(c.isascii() and c.isdigit() for c in filled)
                 and len({len(c) for c in filled}) == 1)
        if not plain:
            assert got is None, cells
            continue
        codes, distinct = _dictionary_codes(pa.array([c or None for c in cells], pa.string()))
        assert got is not None, cells
        assert got.codes.tolist() == codes.tolist(), cells
        assert got.values == distinct.to_pylist(), cells
