"""The study (Contract 6): the unit the package works on.

A study is a folder with ``study.yaml`` (instrument, waves in time order, schools, how ids are
scoped, min_cell), a store (SQLite in WAL mode by default), the raw export files as submitted
(``raw/``, content-addressed, read-only) and each submission's accepted rows (``rows/``,
immutable Parquet files the store catalogues).

>>> from partnerschap_eval.study import Study  # doctest: +SKIP
>>> study = Study.open("wish")                  # doctest: +SKIP
>>> study.submit(["ouders_voor.csv"], school="De Linde", wave="voormeting", role="ouder")
... # doctest: +SKIP
"""

from .config import StudyConfig, UnknownNameError, load_config
from .core import KeyMismatchError, Study, key_fingerprint
from .feedback import CellOutcome, LabelProposal, SubmissionFeedback, propose_code
from .store import STORE_ERRORS, PortalStore, SQLitePortalStore, SQLiteStore, Store

__all__ = ["STORE_ERRORS", "CellOutcome", "KeyMismatchError", "LabelProposal", "PortalStore",
           "SQLitePortalStore", "SQLiteStore", "Store", "Study",
           "StudyConfig", "SubmissionFeedback", "UnknownNameError", "key_fingerprint",
           "load_config", "propose_code"]
