"""Ingest the exports schools submit: read, map, decode, validate, pseudonymise, account.

Every input row ends up either accepted (in ``responses.csv``) or rejected (in ``rejected.csv``
with its reason); ``ingest_log.json`` holds the counts per file, and for every file
``rows_in == accepted + rejected``.
"""

from .pipeline import ExportSpec, IngestResult, ingest_exports, write_ingest_outputs
from .readers import RawTable, read_export

__all__ = ["ExportSpec", "IngestResult", "RawTable", "ingest_exports", "read_export",
           "write_ingest_outputs"]
