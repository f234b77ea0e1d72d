"""``score``'s pandas-free path gives the general path's results, byte for byte.

The command scores a plain Contract 2 CSV without pandas (``cli._score_plain_csv``: an Arrow
table, ``scoring.arrow_responses``, ``privacy.withheld_key_values``, ``scoring.scale_scores``,
``_io.write_columns_csv``) and hands anything else to the general path (a frame,
``validate_responses``, ``screen_responses``, ``score_scales``, ``write_csv``). Each file here is
scored both ways: the exit code, everything printed and the bytes of ``scores.csv`` must be the
same, and the files the fast path is meant for must take it. The corpus holds valid files (and
spellings of them: BOM, CRLF, quotes, ids of any length, items left out, ``--waves``) and
invalid ones (bad codes, missing columns, repeated pairs, empty key cells, formula-looking and
personal-data cells in the key columns, undeclared roles and waves); Hypothesis mixes them.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from partnerschap_eval import cli

KEYS = ["respondent_id", "wave", "role", "school_id"]
ITEMS = [f"{s}{i}" for s in ("rec", "twc", "sdm") for i in range(1, 6)]
runner = CliRunner()


def _csv(rows: list[list[object]], header: list[str], *, crlf: bool = False, bom: bool = False,
         quote_all: bool = False) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n" if crlf else "\n",
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8")


def _base(n: int = 30, ids: str = "pseudonym") -> tuple[list[str], list[list[object]]]:
    rows = []
    for i in range(n):
        rid = f"p-{i * 7919:020x}" if ids == "pseudonym" else f"r{i * 37}"
        answers = [((i * 3 + j * 5) % 6) or "" for j in range(len(ITEMS))]  # 1..5 and empty
        rows.append([rid, ("pre", "post")[i % 2], ("parent", "teacher", "youthworker")[i % 3],
                     f"Basisschool {i % 4}", *answers])
    return KEYS + ITEMS, rows


def _with(rows, col: int, value: object, row: int = 3) -> list[list[object]]:
    rows = [list(r) for r in rows]
    rows[row][col] = value
    return rows


HEADER, ROWS = _base()
SCHOOL, ROLE, WAVE, ID, REC1 = 3, 2, 1, 0, 4
# name -> (file bytes, extra arguments, whether the fast path must take it)
CORPUS: dict[str, tuple[bytes, list[str], bool]] = {
    "plain": (_csv(ROWS, HEADER), [], True),
    "crlf": (_csv(ROWS, HEADER, crlf=True), [], True),
    "bom": (_csv(ROWS, HEADER, bom=True), [], True),
    "quoted": (_csv(ROWS, HEADER, quote_all=True), [], True),
    "short_ids": (_csv(_base(ids="short")[1], HEADER), [], True),
    "items_left_out": (_csv([r[:4] + r[4:12] for r in ROWS], HEADER[:12]), [], True),
    "one_scale_empty": (_csv([r[:4] + [""] * 5 + r[9:] for r in ROWS], HEADER), [], True),
    "codes_as_floats": (_csv([r[:4] + [f"{v}.0" if v != "" else "" for v in r[4:]]
                              for r in ROWS], HEADER), [], True),
    "extra_column": (_csv([[*r, "x"] for r in ROWS], [*HEADER, "note"]), [], True),
    "school_with_comma": (_csv(_with(ROWS, SCHOOL, "School, De Linde"), HEADER), [], True),
    "school_formula": (_csv(_with(ROWS, SCHOOL, "=1+1"), HEADER), [], True),
    "school_minus": (_csv(_with(ROWS, SCHOOL, "-3"), HEADER), [], True),
    "school_quote": (_csv(_with(ROWS, SCHOOL, 'De "Linde"'), HEADER), [], True),
    "waves_declared": (_csv(ROWS, HEADER), ["--waves", "pre,post"], True),
    "waves_reversed": (_csv(ROWS, HEADER), ["--waves", "post,pre"], True),
    "voormeting": (_csv([[r[0], {"pre": "voormeting", "post": "nameting"}[r[1]], *r[2:]]
                         for r in ROWS], HEADER), [], True),
    "one_row": (_csv(ROWS[:1], HEADER), [], True),
    # the general path decides (and, for most, refuses)
    "waves_missing_one": (_csv(ROWS, HEADER), ["--waves", "pre"], True),
    "waves_empty_name": (_csv(ROWS, HEADER), ["--waves", "pre,"], True),
    "waves_twice": (_csv(ROWS, HEADER), ["--waves", "pre,post,pre"], True),
    "bad_code": (_csv(_with(ROWS, REC1, 9), HEADER), [], False),
    "zero_code": (_csv(_with(ROWS, REC1, 0), HEADER), [], False),
    "half_code": (_csv(_with(ROWS, REC1, 2.5), HEADER), [], False),
    "text_code": (_csv(_with(ROWS, REC1, "x"), HEADER), [], False),
    "spaced_code": (_csv(_with(ROWS, REC1, " 3"), HEADER), [], True),  # Arrow reads 3
    "yes_code": (_csv(_with(ROWS, REC1, "True"), HEADER), [], False),
    "formula_code": (_csv(_with(ROWS, REC1, "=1+2"), HEADER), [], False),
    "huge_code": (_csv(_with(ROWS, REC1, 2**60), HEADER), [], False),
    "missing_key": (_csv([r[1:] for r in ROWS], HEADER[1:]), [], False),
    "no_items": (_csv([r[:4] for r in ROWS], HEADER[:4]), [], False),
    "duplicate_pair": (_csv([*ROWS, ROWS[0]], HEADER), [], False),
    "duplicate_short_ids": (_csv([*_base(ids="short")[1], _base(ids="short")[1][5]], HEADER),
                            [], False),
    "empty_id": (_csv(_with(ROWS, ID, ""), HEADER), [], False),
    "na_school": (_csv(_with(ROWS, SCHOOL, "NA"), HEADER), [], False),
    "role_undeclared": (_csv(_with(ROWS, ROLE, "directeur"), HEADER), [], False),
    "wave_undeclared": (_csv(_with(ROWS, WAVE, "Jan Jansen"), HEADER), [], False),
    "wave_case": (_csv(_with(ROWS, WAVE, "Pre"), HEADER), ["--waves", "pre,post"], True),
    "school_name": (_csv(_with(ROWS, SCHOOL, "Jan de Vries"), HEADER), [], False),
    "school_email": (_csv(_with(ROWS, SCHOOL, "j.devries@mail.nl"), HEADER), [], False),
    "school_phone": (_csv(_with(ROWS, SCHOOL, "0612345678"), HEADER), [], False),
    "school_bsn": (_csv(_with(ROWS, SCHOOL, "111222333"), HEADER), [], False),
    "header_only": (_csv([], HEADER), [], False),
    "empty_file": (b"", [], False),
    "repeated_header": (_csv([r[:5] + [r[4]] for r in ROWS], [*HEADER[:5], "rec1"]), [],
                        False),
    "short_row": (_csv(ROWS, HEADER) + b"p-1,pre,parent\n", [], False),
    "long_row": (_csv(ROWS, HEADER) + b"p-1,pre,parent,S,1" + b",1" * 15 + b"\n", [], False),
    "bad_utf8": (_csv(ROWS, HEADER) + b"p-1,pre,parent,Sch\xe9,1\n", [], False),
    "date_column": (_csv([[*r, "2024-01-01"] for r in ROWS], [*HEADER, "when"]), [], False),
}
# respondent ids: pseudonyms and other codes are written as they are; an id that looks like
# personal data is refused by both paths (Contract 5: identifiers in outputs are pseudonyms)
CORPUS |= {
    "uuid_ids": (_csv([[f"550e8400-e29b-41d4-a716-{i:012d}", *r[1:]] for i, r in
                       enumerate(ROWS)], HEADER), [], True),
    "hash_ids": (_csv([[f"{i * 7919:020x}", *r[1:]] for i, r in enumerate(ROWS)], HEADER), [],
                 True),
    "number_ids": (_csv([[str(1000 + i), *r[1:]] for i, r in enumerate(ROWS)], HEADER), [],
                   True),
    "email_id": (_csv(_with(ROWS, ID, "j.devries@mail.nl"), HEADER), [], False),
    "name_id": (_csv(_with(ROWS, ID, "Jan de Vries"), HEADER), [], False),
    "bsn_id": (_csv(_with(ROWS, ID, "111222333"), HEADER), [], False),
    "phone_id": (_csv(_with(ROWS, ID, "06-12345678"), HEADER), [], False),
}
# Beyond the first 64 KB, which decide the narrow column types of the fast path's read: a cell
# that does not fit them makes the file be parsed again as Arrow infers it (or go to the general
# path), with the same result either way
LONG_HEADER, LONG_ROWS = _base(1400)
LATE = 1350
CORPUS |= {
    "long": (_csv(LONG_ROWS, LONG_HEADER), [], True),
    "late_float": (_csv(_with(LONG_ROWS, REC1, "4.0", LATE), LONG_HEADER), [], True),
    "late_na": (_csv(_with(LONG_ROWS, REC1, "NA", LATE), LONG_HEADER), [], True),
    "late_spaced": (_csv(_with(LONG_ROWS, REC1, " 3", LATE), LONG_HEADER), [], True),
    "late_big": (_csv(_with(LONG_ROWS, REC1, 300, LATE), LONG_HEADER), [], False),
    "late_negative": (_csv(_with(LONG_ROWS, REC1, -128, LATE), LONG_HEADER), [], False),
    "late_text": (_csv(_with(LONG_ROWS, REC1, "vaak", LATE), LONG_HEADER), [], False),
    "late_duplicate": (_csv([*LONG_ROWS, LONG_ROWS[2]], LONG_HEADER), [], False),
    "late_na_school": (_csv(_with(LONG_ROWS, SCHOOL, "NA", LATE), LONG_HEADER), [], False),
    "late_new_wave": (_csv(_with(LONG_ROWS, WAVE, "follow-up", LATE), LONG_HEADER),
                      ["--waves", "pre,post"], True),
}


def _instrument_sum_rescale(folder) -> str:
    """partnerschap with a summed scale and a rescaled one: every branch of the scoring."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    data = yaml.safe_load((root / "instruments" / "partnerschap.yaml").read_text("utf-8"))
    data["scales"][1]["score"] = "sum"
    data["scales"][2]["rescale"] = [0, 100]
    data["id"] = "partnerschap_sum"
    path = folder / "sum.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


def _score(folder, data: bytes, args: list[str], fast: bool, instrument: str,
           monkeypatch) -> tuple[int, str, bytes | None, object]:
    """One run of ``score``: exit code, what it printed, the scores file, the fast path's answer
    (``"off"`` when it was not tried)."""
    taken: list[object] = []
    real = cli._score_plain_csv

    def spy(*a, **k):
        try:
            taken.append(real(*a, **k))
        except BaseException:
            taken.append("raised")
            raise
        return taken[-1]

    monkeypatch.setattr(cli, "_SCORE_FAST", fast)
    monkeypatch.setattr(cli, "_score_plain_csv", spy)
    path, out = folder / "responses.csv", folder / "out" / "scores.csv"
    path.write_bytes(data)
    out.unlink(missing_ok=True)
    result = runner.invoke(cli.app, ["score", str(path), "--instrument", instrument,
                                     "--out", str(out), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return (result.exit_code, result.output, out.read_bytes() if out.exists() else None,
            taken[0] if taken else "off")


def _compare(folder, data, args, instrument, monkeypatch):
    fast = _score(folder, data, args, True, instrument, monkeypatch)
    general = _score(folder, data, args, False, instrument, monkeypatch)
    assert general[3] == "off"
    assert fast[:3] == general[:3]
    return fast


@pytest.mark.parametrize("name", list(CORPUS))
def test_fast_path_gives_the_general_paths_bytes_and_errors(name, tmp_path, monkeypatch):
    data, args, meant = CORPUS[name]
    code, _, scores, taken = _compare(tmp_path, data, args, "partnerschap", monkeypatch)
    if meant:  # the files it is there for take it (and the --waves errors come from it)
        rows = {"one_row": 1}.get(name, len(LONG_ROWS) if name.startswith(("long", "late"))
                                  else len(ROWS))
        assert taken == rows if code == 0 else taken == "raised"
    else:  # the rest is left to the general path
        assert taken is None


def test_summed_and_rescaled_scales_the_same_both_ways(tmp_path, monkeypatch):
    inst = _instrument_sum_rescale(tmp_path)
    for data, args in [(CORPUS["plain"][0], []), (CORPUS["waves_reversed"][0],
                                                   ["--waves", "post,pre"])]:
        code, _, scores, taken = _compare(tmp_path, data, args, inst, monkeypatch)
        assert code == 0 and taken == len(ROWS) and b"." in scores


_cells = {
    "id": st.sampled_from(["p-00000000000000000001", "p-00000000000000000002", "r1", "r22",
                           "p-0000000000000000000a", "", "j@x.nl"]),
    "wave": st.sampled_from(["pre", "post", "pre", "post", "T0", "Pre", "Jan Jansen"]),
    "role": st.sampled_from(["parent", "teacher", "youthworker", "parent", "directeur"]),
    "school": st.sampled_from(["S1", "Basisschool 2", "=cmd", "a,b", 'q"q', "-3", "",
                               "Jan de Vries", "0612345678", "NA"]),
    "answer": st.sampled_from([1, 2, 3, 4, 5, "", 1, 2, 3, 4, 5, "", 9, "x", 2.5, "3.0"]),
}


@st.composite
def _tables(draw):
    n = draw(st.integers(1, 12))
    valid = draw(st.booleans())  # half the examples stay valid, so the fast path is exercised
    rows = []
    for i in range(n):
        if valid:
            row = [f"p-{i:020x}", draw(st.sampled_from(["pre", "post"])),
                   draw(st.sampled_from(["parent", "teacher"])),
                   draw(st.sampled_from(["S1", "=cmd", "a,b", "-3"])),
                   *draw(st.lists(st.sampled_from([1, 2, 3, 4, 5, ""]), min_size=15,
                                  max_size=15))]
        else:
            row = [draw(_cells["id"]), draw(_cells["wave"]), draw(_cells["role"]),
                   draw(_cells["school"]),
                   *draw(st.lists(_cells["answer"], min_size=15, max_size=15))]
        rows.append(row)
    keep = draw(st.lists(st.sampled_from(range(len(HEADER))), min_size=1, max_size=3,
                         unique=True)) if draw(st.integers(0, 5)) == 0 else []
    cols = [c for c in range(len(HEADER)) if c not in keep]
    data = _csv([[r[c] for c in cols] for r in rows], [HEADER[c] for c in cols],
                crlf=draw(st.booleans()), bom=draw(st.booleans()),
                quote_all=draw(st.booleans()))
    args = draw(st.sampled_from([[], [], ["--waves", "pre,post"], ["--waves", "post,pre"]]))
    return data, args


@pytest.mark.slow
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_tables())
def test_fast_path_and_general_path_agree_on_any_table(tmp_path, monkeypatch, table):
    data, args = table
    _compare(tmp_path, data, args, "partnerschap", monkeypatch)


def test_score_of_a_plain_file_does_not_import_pandas(tmp_path):
    (tmp_path / "r.csv").write_bytes(CORPUS["plain"][0])
    code = ("import sys\nfrom partnerschap_eval.cli import app\n"
            "try:\n    app(sys.argv[1:])\nexcept SystemExit as exc:\n    assert not exc.code\n"
            "heavy = {'pandas', 'scipy', 'statsmodels'} & set(sys.modules)\n"
            "assert not heavy, heavy\n")
    done = subprocess.run([sys.executable, "-c", code, "score", str(tmp_path / "r.csv"),
                           "--instrument", "partnerschap", "--out", str(tmp_path / "s.csv")],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s.csv").read_bytes().count(b"\n") == len(ROWS) + 1


@pytest.mark.parametrize("planted", ["j.devries@mail.nl", "Jan de Vries", "111222333",
                                     "06-12345678", "+31 6 12345678", "Dorpsstraat 3",
                                     "192.168.10.20", "1234 AB"])
def test_personal_data_in_the_id_column_is_refused_never_quoted_and_nothing_written(
        planted, tmp_path):
    rows = [[planted if i in (0, 7) else r[0], *r[1:]] for i, r in enumerate(ROWS)]  # pre, post
    path, out = tmp_path / "r.csv", tmp_path / "s.csv"
    path.write_bytes(_csv(rows, HEADER))
    result = runner.invoke(cli.app, ["score", str(path), "--instrument", "partnerschap",
                                     "--out", str(out), "--lang", "nl"])
    assert result.exit_code == 2, result.output
    assert planted not in result.output and "respondent_id" in result.output
    assert "2 rij(en)" in result.output
    assert not out.exists()
