"""Ingest the exports schools submit: detect, read, map, decode, validate, pseudonymise, account.

Formats: CSV of any delimiter and encoding (Dutch Excel CSV included), Excel workbooks (.xlsx,
read safely with python-calamine), SPSS (.sav/.zsav, value labels and user-missing values), and
the layouts of Qualtrics (current and legacy), LimeSurvey, Microsoft Forms and Google Forms —
detected from the file, or named with ``format=`` / ``--format``.

Every input row ends up either accepted (in ``responses.csv``) or rejected (in ``rejected.csv``
with its reason); ``ingest_log.json`` holds the counts per file, and for every file
``rows_in == accepted + rejected``.
"""

from .mapping import ColumnMap, MappingFile, load_mapping, map_columns
from .pipeline import (
    ExportSpec,
    IngestResult,
    ingest_exports,
    ingest_output,
    write_ingest_files,
    write_ingest_outputs,
)
from .readers import FORMATS, RawTable, detect_format, read_export

__all__ = ["ColumnMap", "ExportSpec", "FORMATS", "IngestResult", "MappingFile", "RawTable",
           "detect_format", "ingest_exports", "load_mapping", "map_columns", "read_export",
           "write_ingest_files", "write_ingest_outputs", "ingest_output"]
