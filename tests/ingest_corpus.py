"""A generated corpus of export files — every format, valid and malformed — with expected outcomes.

Each :class:`Case` writes its file(s) into a folder at test time (nothing binary is committed) and
says what ingesting it must give: the counts (rows in, accepted, rejected by reason, cells cleared
by reason, personal-data columns) or the :class:`~partnerschap_eval.errors.InputError` message.
``tests/test_ingest_corpus.py`` runs them all.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from partnerschap_eval.instruments import load_instrument, pick_text
from partnerschap_eval.synth.exports import (
    write_csv_export,
    write_qualtrics_csv,
    write_sav_export,
    write_xlsx_export,
)

INST = load_instrument("partnerschap")
ITEMS = INST.item_ids
NL = {c: pick_text(t, "nl") for c, t in INST.response_scale.labels.items()}
EN = {c: pick_text(t, "en") for c, t in INST.response_scale.labels.items()}
#: Personal data planted in the exports; none of it may reach responses.csv or rejected.csv.
NAMES = ["Fatima El Amrani", "Jan de Vries", "Sem Bakker", "Noor van den Berg", "Liam Öztürk",
         "Tess Jansen", "Milan de Groot", "Aya Yilmaz"]
EMAILS = [f"ouder{i}@voorbeeld.nl" for i in range(8)]
PII_TOKENS = ["El Amrani", "de Vries", "Bakker", "voorbeeld.nl", "06-1234", "130.92.",
              "bel me", "111222333"]


def base(n: int = 6, seed: int = 0, blanks: bool = True) -> pd.DataFrame:
    """``n`` respondents: id (leading zeros), school, Dutch role, name, e-mail and 15 codes."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(1, 6, size=(n, len(ITEMS))).astype(float)
    if blanks:
        codes[rng.random(codes.shape) < 0.08] = np.nan
    roles = ["ouder", "leerkracht", "jeugdhulpverlener"]
    frame = pd.DataFrame({
        "respondent": [f"{i + 1:04d}" for i in range(n)],
        "school": ["OBS De Linde" if i % 2 else "Het Palet" for i in range(n)],
        "rol": [roles[i % 3] for i in range(n)],
        "naam": [NAMES[i % len(NAMES)] for i in range(n)],
        "email": [EMAILS[i % len(EMAILS)] for i in range(n)],
    })
    for j, item in enumerate(ITEMS):
        frame[item] = codes[:, j]
    return frame


def labels(frame: pd.DataFrame, table: dict[int, str]) -> pd.DataFrame:
    out = frame.copy()
    for item in ITEMS:
        out[item] = [table[int(v)] if v == v else "" for v in frame[item]]
    return out


def as_int(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for item in ITEMS:
        out[item] = out[item].astype("Int64")
    return out


def text_headers(frame: pd.DataFrame, role: str = "parent", lang: str = "nl") -> pd.DataFrame:
    return frame.rename(columns={i: pick_text(INST.item(i).text[role], lang) for i in ITEMS})


@dataclass
class Case:
    """One corpus file: how to write it, how to ingest it, and what must come out."""

    name: str
    kind: str  # csv, xlsx, sav, qualtrics, limesurvey, msforms, googleforms
    write: Callable[[Path], list[Path]]
    spec: dict = field(default_factory=dict)
    rows_in: int | None = None
    accepted: int | None = None
    rejected: dict = field(default_factory=dict)
    cleared: dict = field(default_factory=dict)
    pii: set | None = None
    layout: str | None = None
    error: str | None = None  # regex of the InputError message
    mapping: dict | None = None
    codes: pd.DataFrame | None = None  # expected item codes by raw id, when checked


CASES: list[Case] = []


def case(**kw) -> Case:
    c = Case(**kw)
    CASES.append(c)
    return c


def _one(fn: Callable[[Path], object]) -> Callable[[Path], list[Path]]:
    def write(path: Path) -> list[Path]:
        fn(path)
        return [path]
    return write


def _bytes(data: bytes) -> Callable[[Path], list[Path]]:
    return _one(lambda p: p.write_bytes(data))


B = base()
PII_B = {"naam", "email"}
P = {"wave": "pre"}

# -- CSV: encodings, delimiters, line ends --------------------------------------------------------
for name, kw in {
    "utf8_comma": {},
    "utf8_bom": {"bom": True},
    "cp1252_semicolon_crlf": {"encoding": "cp1252", "delimiter": ";", "line_end": "\r\n"},
    "utf16le_bom_tab": {"encoding": "utf-16-le", "bom": True, "delimiter": "\t",
                        "line_end": "\r\n"},
    "utf16be_bom": {"encoding": "utf-16-be", "bom": True},
    "utf16le_no_bom": {"encoding": "utf-16-le"},
    "tab": {"delimiter": "\t"},
    "pipe": {"delimiter": "|"},
    "sep_line": {"delimiter": ";", "sep_line": True},
    "cr_only": {"line_end": "\r"},
    "quote_all": {"quote_all": True},
    "decimal_comma": {"delimiter": ";", "decimal_comma": True},
}.items():
    case(name=f"csv_{name}", kind="csv", spec=P, rows_in=6, accepted=6, pii=PII_B,
         layout="table", codes=B,
         write=_one(lambda p, kw=kw: write_csv_export(B, p, **kw)))

B_ACC = B.copy()
B_ACC.loc[:, "school"] = ["Basisschool Sint-Jozef", "OBS Kompas Zuid"] * 3
case(name="csv_latin1_only_bytes", kind="csv", spec=P, rows_in=6, accepted=6,
     write=_one(lambda p: p.write_bytes(
         B_ACC.assign(school=["Caf\xe9 \x81"] * 6).to_csv(index=False).encode("latin-1"))))
case(name="csv_utf32_bom", kind="csv", spec=P, rows_in=6, accepted=6,
     write=_one(lambda p: p.write_bytes(b"\xff\xfe\x00\x00"
                                        + B.to_csv(index=False).encode("utf-32-le"))))
case(name="csv_labels_dutch_mixed_case", kind="csv", spec=P, rows_in=6, accepted=6, codes=B,
     write=_one(lambda p: write_csv_export(
         labels(B, {k: f"  {v.upper()} " if k % 2 else v.lower() for k, v in NL.items()}), p)))
case(name="csv_labels_english", kind="csv", spec=P, rows_in=6, accepted=6, codes=B,
     write=_one(lambda p: write_csv_export(labels(B, EN), p)))
case(name="csv_item_text_headers_nl", kind="csv", spec=P, rows_in=6, accepted=6, codes=B,
     write=_one(lambda p: write_csv_export(text_headers(labels(B, NL)), p)))
case(name="csv_item_text_headers_en_teacher", kind="csv", spec=P, rows_in=6, accepted=6, codes=B,
     write=_one(lambda p: write_csv_export(text_headers(B, "teacher", "en"), p)))
case(name="csv_missing_codes", kind="csv", spec=P, rows_in=3, accepted=3,
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,rec1,rec2,rec3,rec4\n"
         "a,S,ouder,99,Weet ik niet,niet van toepassing,Don't know\n"
         "b,S,ouder,99.0,WEET IK NIET.,,5\n"
         "c,S,ouder,1,2,3,4\n")))
case(name="csv_out_of_range_and_unknown", kind="csv", spec=P, rows_in=3, accepted=3,
     cleared={"out of range 1..5": 3, "not a whole number": 1, "unknown answer": 2},
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,rec1,rec2,rec3,rec4\n"
         "a,S,ouder,7,0,-1,3\n"
         "b,S,ouder,\"3,5\",Soms,Vaak,4\n"
         "c,S,ouder,1,2,3,4\n")))
case(name="csv_mapping_values_and_columns", kind="csv", spec=P, rows_in=2, accepted=2,
     mapping={"columns": {"Vraag A": "rec1", "Vraag B": "rec2", "Wie": "respondent_id",
                          "Waar": "school_id", "Notities": "pii", "Oud": "drop"},
              "values": {"Soms": 3, "Nooit": 1, "Geen idee": "missing"}},
     pii={"Notities"},
     write=_one(lambda p: p.write_text(
         "Wie,Waar,rol,Vraag A,Vraag B,Notities,Oud\n"
         "x1,S,ouder,Soms,Nooit,bel me,1\n"
         "x2,S,ouder,Geen idee,5,,2\n")))
case(name="csv_keys_missing", kind="csv", spec={}, rows_in=6, accepted=1,
     rejected={"missing respondent id": 1, "missing school": 1, "missing role": 1,
               "missing wave": 1, "unknown role": 1},
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,meting,rec1\n"
         "a,S,ouder,voormeting,1\n"
         ",S,ouder,pre,1\n"
         "b,,ouder,pre,1\n"
         "c,S,,pre,1\n"
         "d,S,ouder,,1\n"
         "e,S,directeur,pre,1\n")))
case(name="csv_id_column_all_empty", kind="csv", spec=P, rows_in=2, accepted=0,
     rejected={"missing respondent id": 2},  # a column with no value at all is still mapped
     write=_one(lambda p: p.write_text("respondent,school,rol,rec1\n,S,ouder,1\n,S,ouder,2\n")))
case(name="csv_school_column_all_empty", kind="csv", spec=P, rows_in=2, accepted=0,
     rejected={"missing school": 2},
     write=_one(lambda p: p.write_text("respondent,school,rol,rec1\na,,ouder,1\nb,,ouder,2\n")))
case(name="csv_duplicates", kind="csv", spec=P, rows_in=7, accepted=2,
     rejected={"exact duplicate": 3, "conflicting duplicate": 2},
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,rec1,rec2\n"
         "a,S,ouder,1,2\n"
         " a ,S,ouder,1,2\n"          # the same person (spaces ignored): exact copy
         "a,S,ouder,1,2\n"            # another exact copy
         "b,S,ouder,3,3\n"
         "b,S,ouder,3,4\n"            # conflicts with the row above: both rejected
         "b,S,ouder,3,3\n"            # an extra copy of a conflicting row is still an extra
         "0012,S,ouder,5,5\n")))      # copy -> b: 1 exact + 2 conflicting; a: 2 exact
case(name="csv_ids_leading_zeros_distinct", kind="csv", spec=P, rows_in=3, accepted=3,
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,rec1\n0012,S,ouder,1\n12,S,ouder,1\n012,S,ouder,1\n")))
case(name="csv_trailing_delimiters", kind="csv", spec=P, rows_in=6, accepted=6, codes=B,
     write=_one(lambda p: p.write_text(
         "\n".join(line + "," for line in B.to_csv(index=False).splitlines()) + "\n")))
case(name="csv_short_rows_padded", kind="csv", spec=P, rows_in=2, accepted=2,
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,rec1,rec2,rec3\n" "a,S,ouder,1\n" "b,S,ouder,1,2,3\n")))
case(name="csv_long_row_rejected", kind="csv", spec=P, rows_in=3, accepted=2,
     rejected={"row has more fields than the header": 1},
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,rec1\n" "a,S,ouder,1\n" "b,S,ouder,1,5,9\n" "c,S,ouder,2,,\n")))
case(name="csv_blank_lines_and_empty_rows", kind="csv", spec=P, rows_in=2, accepted=2,
     write=_one(lambda p: p.write_text(
         "\nrespondent,school,rol,rec1\n\na,S,ouder,1\n,,,\n\nb,S,ouder,2\n\n")))
case(name="csv_newline_inside_cells", kind="csv", spec=P, rows_in=2, accepted=2,
     pii={"Opmerkingen"},
     write=_one(lambda p: p.write_text(
         'respondent,school,rol,rec1,Opmerkingen\n'
         'a,S,ouder,1,"regel een\nregel twee\nbel me"\n'
         'b,S,ouder,2,"x"\n')))
case(name="csv_wave_column_dutch", kind="csv", spec={}, rows_in=2, accepted=2,
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,meetmoment,rec1\n" "a,S,ouder,Voormeting,1\n"
         "a,S,ouder,Nameting,2\n")))
case(name="csv_formula_injection_cells", kind="csv", spec={}, rows_in=3, accepted=2,
     rejected={"unknown role": 1}, cleared={"out of range 1..5": 1},  # -3 is a number, cleared
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,meting,rec1\n"
         "=1+1,\"=HYPERLINK(\"\"http://x\"\")\",ouder,pre,1\n"
         "@SUM(A1),+31 school,ouder,pre,-3\n"
         "\tb,-school,=cmd|' /C calc'!A0,pre,2\n")))
case(name="csv_nul_bytes_in_cells", kind="csv", spec=P, rows_in=2, accepted=2,
     cleared={"unknown answer": 1},
     write=_one(lambda p: p.write_bytes(
         b"respondent,school,rol,rec1\na,S\x00x,ouder,1\x00\nb,S,ouder,2\n")))
case(name="csv_huge_cell_in_pii_column", kind="csv", spec=P, rows_in=2, accepted=2,
     pii={"Opmerkingen"},
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,rec1,Opmerkingen\n"
         f"a,S,ouder,1,\"{'lange tekst ' * 800_000}\"\nb,S,ouder,2,kort\n")))
case(name="csv_huge_id_and_answer", kind="csv", spec=P, rows_in=2, accepted=1,
     rejected={"respondent id longer than 200 characters": 1}, cleared={"unknown answer": 1},
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,rec1\n"
         f"{'x' * 300},S,ouder,1\nb,S,ouder,{'4' * 100_000}x\n")))
case(name="csv_huge_digit_run_in_unnamed_column", kind="csv", spec=P, rows_in=2, accepted=2,
     pii=set(),  # a run of digits is no e-mail, phone or name: unmapped, and found so quickly
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,rec1,Kolom X\n"
         f"a,S,ouder,1,{'1' * 200_000}\nb,S,ouder,2,{'12345678' * 20_000}\n")))
case(name="csv_pii_heuristics", kind="csv", spec=P, rows_in=4, accepted=4,
     pii={"Kolom A", "Kolom B", "Kolom C", "Kolom D", "Kolom E", "Kolom F"},
     write=_one(lambda p: p.write_text(
         "respondent,school,rol,rec1,Kolom A,Kolom B,Kolom C,Kolom D,Kolom E,Kolom F\n"
         "a,S,ouder,1,Fatima El Amrani,x@voorbeeld.nl,06-12345678,111222333,130.92.34.66,5211 AB\n"
         "b,S,ouder,2,Jan de Vries,y@voorbeeld.nl,06-12345679,123456782,10.0.0.1,5212 CD\n"
         "c,S,ouder,3,Sem Bakker,z@voorbeeld.nl,0612345670,111222333,10.0.0.2,1011 AA\n"
         "d,S,ouder,4,Noor van den Berg,w@voorbeeld.nl,+31612345678,123456782,10.0.0.3,9999 ZZ\n")))
case(name="csv_header_only", kind="csv", spec=P, error="headers but no answers",
     write=_one(lambda p: p.write_text("respondent,school,rol,rec1\n")))
case(name="csv_empty_file", kind="csv", spec=P, error="empty",
     write=_bytes(b""))
case(name="csv_whitespace_only", kind="csv", spec=P, error="empty",
     write=_bytes(b"  \r\n\n \t\n"))
case(name="csv_binary_garbage", kind="csv", spec=P, error="binary data",
     write=_bytes(bytes(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8))))
case(name="csv_no_item_columns", kind="csv", spec=P, error="no column could be matched",
     write=_one(lambda p: p.write_text("respondent,school,rol,Vraag 1\na,S,ouder,1\n")))
case(name="csv_no_id_column", kind="csv", spec=P, error="no respondent id column",
     write=_one(lambda p: p.write_text("school,rol,rec1\nS,ouder,1\n")))
case(name="csv_flag_and_column", kind="csv", spec={"wave": "pre"}, error="must not be given",
     write=_one(lambda p: p.write_text("respondent,school,rol,meting,rec1\na,S,ouder,pre,1\n")))
case(name="csv_clashing_id_columns", kind="csv", spec=P, error="Several columns map",
     write=_one(lambda p: p.write_text(
         "respondent,deelnemernummer,school,rol,rec1\na,a,S,ouder,1\n")))
case(name="csv_unknown_format_name", kind="csv", spec={**P, "format": "wordperfect"},
     error="unknown format",
     write=_one(lambda p: write_csv_export(B, p)))
case(name="csv_sheet_option_on_csv", kind="csv", spec={**P, "sheet": "Data"},
     error="only applies to Excel",
     write=_one(lambda p: write_csv_export(B, p)))

# -- Excel ---------------------------------------------------------------------------------------
case(name="xlsx_numbers", kind="xlsx", spec=P, rows_in=6, accepted=6, codes=B, pii=PII_B,
     layout="table", write=_one(lambda p: write_xlsx_export(B, p)))
case(name="xlsx_labels_text_headers", kind="xlsx", spec=P, rows_in=6, accepted=6, codes=B,
     write=_one(lambda p: write_xlsx_export(text_headers(labels(B, NL)), p)))
case(name="xlsx_sheet_option", kind="xlsx", spec={**P, "sheet": "Antwoorden"}, rows_in=3,
     accepted=3,
     write=_one(lambda p: write_xlsx_export(pd.DataFrame({"Info": ["export van 2025"]}), p,
                                            sheet="Uitleg",
                                            extra_sheets={"Antwoorden": B.head(3)})))
case(name="xlsx_sheet_by_number", kind="xlsx", spec={**P, "sheet": "2"}, rows_in=4, accepted=4,
     write=_one(lambda p: write_xlsx_export(B.head(2), p, extra_sheets={"Tweede": B.head(4)})))
case(name="xlsx_first_sheet_empty", kind="xlsx", spec=P, rows_in=5, accepted=5,
     write=_one(lambda p: write_xlsx_export(pd.DataFrame(), p, sheet="Leeg",
                                            extra_sheets={"Data": B.head(5)})))
case(name="xlsx_missing_sheet", kind="xlsx", spec={**P, "sheet": "Nope"}, error="no sheet",
     write=_one(lambda p: write_xlsx_export(B, p)))
case(name="xlsx_ids_as_text_and_float_codes", kind="xlsx", spec=P, rows_in=6, accepted=6,
     codes=B, write=_one(lambda p: write_xlsx_export(B.assign(rec1=B["rec1"] + 0.0), p)))
case(name="xlsx_header_only", kind="xlsx", spec=P, error="headers but no answers",
     write=_one(lambda p: write_xlsx_export(B.head(0), p)))
case(name="xlsx_formula_text_cells", kind="xlsx", spec=P, rows_in=2, accepted=2,
     write=_one(lambda p: write_xlsx_export(
         pd.DataFrame({"respondent": ["=1+1", "@x"], "school": ["+S", "-S"], "rol": ["ouder"] * 2,
                       "rec1": [1, 2]}), p, neutralise=False)))


def _msforms(frame: pd.DataFrame, dutch: bool = False) -> pd.DataFrame:
    start = pd.Timestamp("2025-03-01 09:00")
    head = (["Id", "Begintijd", "Tijd van voltooien", "E-mail", "Naam"] if dutch else
            ["ID", "Start time", "Completion time", "Email", "Name"])
    out = pd.DataFrame({
        head[0]: range(1, len(frame) + 1),
        head[1]: [start + pd.Timedelta(minutes=i) for i in range(len(frame))],
        head[2]: [start + pd.Timedelta(minutes=i + 5) for i in range(len(frame))],
        head[3]: frame["email"], head[4]: frame["naam"],
        "Deelnemernummer": frame["respondent"], "Naam van de school": frame["school"]})
    return pd.concat([out, text_headers(labels(frame, NL))[
        [pick_text(INST.item(i).text["parent"], "nl") for i in ITEMS]]], axis=1)


case(name="msforms_english", kind="msforms", spec={**P, "role": "parent"}, rows_in=6, accepted=6,
     layout="msforms", pii={"Email", "Name"}, codes=B,
     write=_one(lambda p: write_xlsx_export(_msforms(B), p, sheet="Form1")))
case(name="msforms_dutch", kind="msforms", spec={**P, "role": "parent"}, rows_in=6, accepted=6,
     layout="msforms", pii={"E-mail", "Naam"}, codes=B,
     write=_one(lambda p: write_xlsx_export(_msforms(B, dutch=True), p)))
case(name="msforms_without_participant_number", kind="msforms",
     spec={**P, "role": "parent", "school": "S"}, error="Microsoft Forms' 'ID' only numbers",
     write=_one(lambda p: write_xlsx_export(
         _msforms(B).drop(columns=["Deelnemernummer", "Naam van de school"]), p)))


def _xlsx_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and v != v) else v for v in row])
    book.save(buf)
    return buf.getvalue()


def _rezip(data: bytes, replace: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, body in replace.items():
            if name not in src.namelist():
                dst.writestr(name, body)
    return out.getvalue()


GOOD_XLSX = _xlsx_bytes(B)
case(name="xlsx_zip_bomb_member", kind="xlsx", spec=P, error="decompression bomb",
     write=_bytes(_rezip(GOOD_XLSX, {"xl/worksheets/sheet1.xml": b" " * 20_000_000})))
case(name="xlsx_truncated", kind="xlsx", spec=P, error="damaged or truncated",
     write=_bytes(GOOD_XLSX[: len(GOOD_XLSX) // 2]))
case(name="xlsx_corrupted_member", kind="xlsx", spec=P, error="damaged or truncated",
     write=_bytes(GOOD_XLSX[:200] + bytes(200) + GOOD_XLSX[400:]))
case(name="xlsx_entity_attack", kind="xlsx", spec=P, error="DTD or XML entities",
     write=_bytes(_rezip(GOOD_XLSX, {"xl/worksheets/sheet1.xml": (
         b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
         b'"&lol;&lol;&lol;&lol;">]><worksheet><sheetData><row><c t="inlineStr"><is><t>&lol2;'
         b"</t></is></c></row></sheetData></worksheet>")})))
case(name="zip_not_a_workbook", kind="xlsx", spec=P, error="not an Excel workbook",
     write=_bytes(_rezip(_rezip(b"PK\x05\x06" + bytes(18), {"readme.txt": b"hallo"}), {})))
case(name="ods_spreadsheet", kind="xlsx", spec=P, error="OpenDocument",
     write=_bytes(_rezip(b"PK\x05\x06" + bytes(18), {
         "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
         "content.xml": b"<office:document-content/>"})))
case(name="xls_ole2_or_password", kind="xlsx", spec=P, error="old Excel workbook",
     write=_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4000)))
case(name="xlsx_forced_as_csv", kind="xlsx", spec={**P, "format": "csv"}, error="binary data",
     write=_bytes(GOOD_XLSX))

# -- SPSS ----------------------------------------------------------------------------------------
SAV_LABELS = {i: {**{float(k): v for k, v in NL.items()}, 99.0: "Weet ik niet"} for i in ITEMS}


def _sav_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.drop(columns=["rol"]).copy()
    out["rol"] = [{"ouder": 1.0, "leerkracht": 2.0, "jeugdhulpverlener": 3.0}[r]
                  for r in frame["rol"]]
    return out


case(name="sav_codes", kind="sav", spec=P, rows_in=6, accepted=6, codes=B, layout="spss",
     pii=PII_B,
     write=_one(lambda p: write_sav_export(B.drop(columns=["rol"]).assign(rol="ouder"), p)))
case(name="sav_value_labels_user_missing", kind="sav", spec=P, rows_in=6, accepted=6, codes=B,
     write=_one(lambda p: write_sav_export(
         _sav_frame(B).fillna({ITEMS[0]: 99.0, ITEMS[1]: 98.0}), p,
         value_labels={**SAV_LABELS, "rol": {1.0: "ouder", 2.0: "leerkracht",
                                             3.0: "jeugdhulpverlener"}},
         missing_ranges={ITEMS[0]: [99], ITEMS[1]: [{"lo": 97, "hi": 99}]})))
case(name="sav_variable_labels_as_question_text", kind="sav", spec=P, rows_in=6, accepted=6,
     codes=B,
     write=_one(lambda p: write_sav_export(
         B.rename(columns={i: f"V{j + 1}" for j, i in enumerate(ITEMS)}), p,
         variable_labels={f"V{j + 1}": pick_text(INST.item(i).text["parent"], "nl")
                          for j, i in enumerate(ITEMS)})))
case(name="sav_unlabelled_out_of_range", kind="sav", spec=P, rows_in=2, accepted=2,
     cleared={"out of range 1..5": 1},
     write=_one(lambda p: write_sav_export(pd.DataFrame({
         "respondent": ["a", "b"], "school": ["S", "S"], "rol": ["ouder", "ouder"],
         "rec1": [1.0, 6.0]}), p)))
case(name="sav_truncated", kind="sav", spec=P, error="SPSS file cannot be read",
     write=lambda p: [p] if p.write_bytes(_sav_bytes(B)[:300]) else [p])
case(name="sav_garbage_after_magic", kind="sav", spec=P, error="SPSS file cannot be read",
     write=_bytes(b"$FL2" + bytes(np.random.default_rng(1).integers(0, 256, 3000,
                                                                     dtype=np.uint8))))


def _sav_bytes(frame: pd.DataFrame) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.sav"
        write_sav_export(frame, path)
        return path.read_bytes()


# -- Qualtrics -----------------------------------------------------------------------------------
def _qualtrics(frame: pd.DataFrame, choice_text: bool = False, preview: int = 0) -> tuple:
    n = len(frame)
    q = {f"Q1_{j + 1}": i for j, i in enumerate(ITEMS)}
    data = {
        "StartDate": ["2025-02-01 10:00:00"] * n, "EndDate": ["2025-02-01 10:07:00"] * n,
        "Status": ["IP Address"] * n, "IPAddress": ["130.92.34.66"] * n, "Progress": ["100"] * n,
        "Duration (in seconds)": ["420"] * n, "Finished": ["True"] * n,
        "RecordedDate": ["2025-02-01 10:07:00"] * n,
        "ResponseId": [f"R_{i:015d}" for i in range(n)],
        "RecipientLastName": ["de Vries"] * n, "RecipientFirstName": ["Jan"] * n,
        "RecipientEmail": frame["email"].tolist(), "ExternalReference": frame["respondent"].tolist(),
        "LocationLatitude": ["51.69"] * n, "LocationLongitude": ["5.30"] * n,
        "DistributionChannel": ["email"] * n, "UserLanguage": ["NL"] * n,
    }
    for col, item in q.items():
        data[col] = [(NL[int(v)] if choice_text else str(int(v))) if v == v else ""
                     for v in frame[item]]
    data["Q2_TEXT"] = ["bel me op 06-12345678"] * n
    data["school"] = frame["school"].tolist()
    out = pd.DataFrame(data)
    if preview:
        extra = out.head(preview).assign(Status="Survey Preview", ExternalReference="")
        out = pd.concat([out, extra], ignore_index=True)
    text = {c: "Hoe eens bent u het met deze uitspraken?\n(één antwoord) - "
            + pick_text(INST.item(i).text["parent"], "nl") for c, i in q.items()}
    text["Q2_TEXT"] = "Opmerkingen?"
    return out, text


def _write_qualtrics(path: Path, frame_text: tuple, legacy: bool = False) -> Path:
    frame, text = frame_text
    if legacy:  # the legacy layout's own names for the response id and external reference
        frame = frame.rename(columns={"ResponseId": "ResponseID",
                                      "ExternalReference": "ExternalDataReference"})
    return write_qualtrics_csv(frame, path, text, legacy=legacy)


case(name="qualtrics_numeric", kind="qualtrics", spec={**P, "role": "parent"}, rows_in=6,
     accepted=6, layout="qualtrics", codes=B,
     pii={"IPAddress", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
          "LocationLatitude", "LocationLongitude", "Q2_TEXT"},
     write=_one(lambda p: _write_qualtrics(p, _qualtrics(B))))
case(name="qualtrics_choice_text_with_preview", kind="qualtrics", spec={**P, "role": "parent"},
     rows_in=8, accepted=6, rejected={"survey preview, test or spam response": 2},
     layout="qualtrics", codes=B,
     write=_one(lambda p: _write_qualtrics(p, _qualtrics(B, True, preview=2))))
case(name="qualtrics_legacy", kind="qualtrics", spec={**P, "role": "parent"}, rows_in=6,
     accepted=6, layout="qualtrics-legacy", codes=B,
     write=_one(lambda p: _write_qualtrics(p, _qualtrics(B), legacy=True)))
case(name="qualtrics_forced_on_plain_csv", kind="qualtrics", spec={**P, "format": "qualtrics"},
     error="has 3 header rows",
     write=_one(lambda p: p.write_text("respondent,school,rol,rec1\na,S,ouder,1\n")))
case(name="qualtrics_header_rows_only", kind="qualtrics", spec={**P, "role": "parent"},
     error="headers but no answers",
     write=_one(lambda p: write_qualtrics_csv(_qualtrics(B)[0].head(0), p, _qualtrics(B)[1])))


# -- LimeSurvey ----------------------------------------------------------------------------------
def _lime(frame: pd.DataFrame, style: str = "A") -> pd.DataFrame:
    n = len(frame)
    out = pd.DataFrame({"id": range(1, n + 1), "submitdate": ["2025-02-03 10:00:00"] * n,
                        "lastpage": [2] * n, "startlanguage": ["nl"] * n, "seed": ["123"] * n,
                        "token": frame["respondent"].tolist(), "ipaddr": ["10.0.0.9"] * n,
                        "school": frame["school"].tolist()})
    for item in ITEMS:
        if style == "A":
            col, vals = f"G01Q01[{item}]", [f"A{int(v)}" if v == v else "" for v in frame[item]]
        elif style == "AO":
            col, vals = f"G01Q01[{item}]", [f"AO{int(v):02d}" if v == v else ""
                                            for v in frame[item]]
        else:
            col = ("Hoe eens bent u het met deze uitspraken? "
                   f"[{pick_text(INST.item(item).text['parent'], 'nl')}]")
            vals = [NL[int(v)] if v == v else "" for v in frame[item]]
        out[col] = vals
    out["G01Q02[other]"] = ["bel me"] * n
    return out


case(name="limesurvey_answer_codes_A", kind="limesurvey", spec={**P, "role": "parent"}, rows_in=6,
     accepted=6, layout="limesurvey", codes=B, pii={"ipaddr", "G01Q02[other]"},
     write=_one(lambda p: write_csv_export(_lime(B), p, quote_all=True)))
case(name="limesurvey_answer_codes_AO", kind="limesurvey", spec={**P, "role": "parent"},
     rows_in=6, accepted=6, layout="limesurvey", codes=B,
     write=_one(lambda p: write_csv_export(_lime(B, "AO"), p, delimiter=";")))
case(name="limesurvey_full_answers", kind="limesurvey", spec={**P, "role": "parent"}, rows_in=6,
     accepted=6, layout="limesurvey", codes=B,
     write=_one(lambda p: write_csv_export(_lime(B, "full"), p)))
case(name="limesurvey_codes_reversed_by_mapping", kind="limesurvey",
     spec={**P, "role": "parent"}, rows_in=6, accepted=6, layout="limesurvey",
     codes=B.assign(**{i: 6 - B[i] for i in ITEMS}),
     mapping={"values": {"A1": 5, "A2": 4, "A3": 3, "A4": 2, "A5": 1}},
     write=_one(lambda p: write_csv_export(_lime(B), p)))
case(name="limesurvey_without_token", kind="limesurvey", spec={**P, "role": "parent"},
     error="LimeSurvey's 'id' only numbers",
     write=_one(lambda p: write_csv_export(_lime(B).drop(columns=["token"]), p)))


# -- Google Forms --------------------------------------------------------------------------------
def _google(frame: pd.DataFrame, english: bool = False) -> pd.DataFrame:
    n = len(frame)
    out = pd.DataFrame({
        ("Timestamp" if english else "Tijdstempel"): ["2025/02/03 10:00:00 CET"] * n,
        ("Email Address" if english else "E-mailadres"): frame["email"].tolist(),
        "Deelnemernummer": frame["respondent"].tolist(), "School": frame["school"].tolist()})
    table = EN if english else NL
    for item in ITEMS:
        text = pick_text(INST.item(item).text["parent"], "en" if english else "nl")
        col = f"Hoe eens bent u het hiermee? [{text}]"
        out[col] = [table[int(v)] if v == v else "" for v in frame[item]]
    out["Opmerkingen" if not english else "Comments"] = ["bel me"] + [""] * (n - 1)
    return out


case(name="googleforms_dutch_grid", kind="googleforms", spec={**P, "role": "parent"}, rows_in=6,
     accepted=6, layout="googleforms", codes=B, pii={"E-mailadres", "Opmerkingen"},
     write=_one(lambda p: write_csv_export(_google(B), p)))
case(name="googleforms_english", kind="googleforms", spec={**P, "role": "parent"}, rows_in=6,
     accepted=6, layout="googleforms", codes=B, pii={"Email Address", "Comments"},
     write=_one(lambda p: write_csv_export(_google(B, english=True), p)))
case(name="googleforms_double_submit", kind="googleforms", spec={**P, "role": "parent"},
     rows_in=7, accepted=6, rejected={"exact duplicate": 1}, layout="googleforms",
     write=_one(lambda p: write_csv_export(
         pd.concat([_google(B), _google(B).iloc[[2]]], ignore_index=True), p)))
