"""The fast reader and writer of ``score`` give what pandas gives, byte for byte."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from partnerschap_eval._io import neutralise_frame, read_table_csv, write_csv, write_table_csv

KEYS = ["respondent_id", "wave", "role", "school_id"]
HEAD = "respondent_id,wave,role,school_id,rec1"


def test_write_csv_bytes_as_pandas_to_csv(tmp_path):
    rng = np.random.default_rng(1)
    n = 3000
    df = pd.DataFrame({
        "id": pd.Series([f"p-{i:04d}" for i in range(n)], dtype="str"),
        "text": pd.Series(rng.choice(["=x", "a,b", 'q"q', "-3", "ok", None, "zoë", "\x00a"], n),
                          dtype=object),
        "wide": rng.normal(size=n) * 10.0 ** rng.integers(-20, 20, n),
        "whole": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 6, n)).astype(float),
        "zeros": np.where(rng.random(n) < 0.5, -0.0, 0.0),
        "odd": np.r_[np.nan, np.inf, -np.inf, 1e16, 1e-5, 0.1, 2 / 3, 123456789.0,
                     rng.random(n - 8)],
        "single": rng.random(n).astype(np.float32),
        "int": rng.integers(-5, 5, n), "bool": rng.random(n) < 0.5,
        "nullable": pd.array(np.where(rng.random(n) < 0.3, None, rng.integers(0, 9, n)),
                             dtype="Int64")})
    write_csv(df, tmp_path / "ours.csv")
    neutralise_frame(df).to_csv(tmp_path / "pandas.csv", index=False, lineterminator="\n")
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    with pytest.raises(ValueError, match="floats must be"):
        write_table_csv(df, tmp_path / "x.csv", floats="short")


@pytest.mark.parametrize("body", [
    "007,pre,parent,S1,3\n008,post,teacher,S2,\n",
    "\ufeff" + HEAD + "\n007,pre,parent,S1,3\n",  # a byte-order mark before the header
    "007,pre,parent,S1, 3 \n008,pre,parent,S1,x\n",
    '"007","pre",parent,S1,"3"\n',
    "1,pre,parent,S1,3.0\n2,pre,parent,S1,inf\n3,pre,parent,S1,1e0\n",
    "1,pre,parent,S1,True\n",
    "NA,pre,parent,NULL,n/a\n,pre,parent,S1,#N/A\n",
    "1,pre,parent\n",  # a short row: pandas fills it
    "1,pre,parent,S1,3,4\n",  # a long row: pandas refuses it
    "1,pre,parent,S1,2024-01-01\n",  # a date stays text
    "1,pre,parent,S1,\n",  # a column of empty cells
    "1,pre,parent,S1,3\r\n\r\n2,post,parent,S1,4\r\n",
])
def test_read_table_csv_as_pandas_read_csv(tmp_path, body):
    path = tmp_path / "r.csv"
    path.write_text(body if body.startswith("\ufeff") else HEAD + "\n" + body, encoding="utf-8")
    try:
        expected = pd.read_csv(path, dtype={k: str for k in KEYS}, keep_default_na=True)
    except (pd.errors.ParserError, ValueError) as exc:
        with pytest.raises(type(exc)):
            read_table_csv(path, KEYS)
        return
    pd.testing.assert_frame_equal(read_table_csv(path, KEYS), expected)


def test_read_table_csv_repeated_header_and_bad_bytes(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,a,b\n1,2,x\n", encoding="utf-8")
    pd.testing.assert_frame_equal(read_table_csv(path, ["b"]),
                                  pd.read_csv(path, dtype={"b": str}))
    path.write_bytes(b"a,b\n1,Sch\xe9\n")
    with pytest.raises(UnicodeDecodeError):
        read_table_csv(path, ["b"])


def test_missing_markers_are_pandas_own():
    from pandas._libs.parsers import STR_NA_VALUES

    from partnerschap_eval._io import PANDAS_NA_VALUES

    assert set(PANDAS_NA_VALUES) == set(STR_NA_VALUES)


def test_the_cli_prefetch_is_what_read_responses_takes(tmp_path, monkeypatch):
    from partnerschap_eval import _io, cli
    from partnerschap_eval.report.build import read_responses

    path = tmp_path / "responses.csv"
    path.write_text(HEAD + "\n007,pre,parent,S1,3\n", encoding="utf-8")
    parsed = []
    real = _io._arrow_table
    monkeypatch.setattr(_io, "_arrow_table", lambda *a: parsed.append(a) or real(*a))
    cli._prefetch(path)
    assert len(_io._PREFETCHED) == 1
    frame = read_responses(path)
    assert not _io._PREFETCHED and len(parsed) == 1  # parsed once, in the background
    assert frame["respondent_id"].tolist() == ["007"]
    # a file changed after the prefetch is read again, as it is now
    cli._prefetch(path)
    path.write_text(HEAD + "\n008,pre,parent,S1,4\n009,pre,parent,S1,5\n", encoding="utf-8")
    assert read_responses(path)["respondent_id"].tolist() == ["008", "009"]
    _io._PREFETCHED.clear()
