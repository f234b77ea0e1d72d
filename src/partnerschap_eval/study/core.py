"""The study: ``study.yaml``, submissions of export files, the store, status and responses."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .._io import atomic_path, open_input, sha256_file
from ..errors import InputError, Msg, PartnerschapError, Replaced
from ..ingest import ExportSpec, ingest_exports, load_mapping
from ..instruments import Instrument, load_instrument, normalise_label
from ..privacy import DEFAULT_MIN_CELL, load_key, shown_path
from .config import KNOWN_WAVES, StudyConfig, load_config, write_config
from .feedback import CellOutcome, SubmissionFeedback, feedback_from_log
from .store import CellRecord, SQLiteStore, Store, UploadRecord

__all__ = ["KeyMismatchError", "Study", "key_fingerprint"]

STORE_FILE = "study.sqlite"
#: A submission of several files writes the accepted rows of files holding together up to about
#: this many rows to one rows file (each file still an upload of its own, with its cells, in a
#: transaction of its own): a file per small export cost more than its ingest.
BATCH_ROWS = 200_000
KEYS = ["respondent_id", "wave", "role", "school_id"]
CELL = ["school_id", "wave", "role"]
_INSTRUMENTS: dict[str, Instrument] = {}  # registered instruments by id, read once
_FINGERPRINT_MESSAGE = b"partnerschap-eval/study-key-fingerprint/v1"


class KeyMismatchError(PartnerschapError):
    """The key given is not the key the study was started with."""


def key_fingerprint(key: bytes) -> str:
    """A fingerprint of the pseudonymisation key: HMAC-SHA-256 of a fixed text, hex.

    It tells two keys apart without revealing either (it cannot be turned back into the key).

    >>> key_fingerprint(b"k" * 16)[:12]
    '297f0c90b656'
    """
    return hmac.new(key, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()


def _wave_entries(waves: Iterable[str | dict]) -> list[dict]:
    out = []
    for w in waves:
        if isinstance(w, dict):
            out.append(w)
            continue
        text = str(w).strip()
        known = next((k for k, v in KNOWN_WAVES.items()
                      if normalise_label(text) in {k, *map(normalise_label, v["aliases"]),
                                                   *map(normalise_label, v["label"].values())}),
                     None)
        if known is not None and known == normalise_label(text):
            out.append({"id": known, **KNOWN_WAVES[known]})
        elif known is not None:  # a Dutch name or alias for a known wave: keep the user's id
            entry = KNOWN_WAVES[known]
            aliases = [a for a in [known, *entry["aliases"]]
                       if normalise_label(a) != normalise_label(text)]
            out.append({"id": text, "label": entry["label"], "aliases": aliases})
        else:
            out.append({"id": text, "label": {"nl": text, "en": text}, "aliases": []})
    return out


class Study:
    """A study on disk: ``study.yaml``, the store, the raw files and the accepted rows.

    Open one with :meth:`open` (or create it with :meth:`init`); every method reads
    ``study.yaml`` again, so the researcher's edits are honoured. ``Study(path, store=...)``
    takes any :class:`~.store.Store` (default: SQLite in ``path``; a server database can
    implement the same small interface).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "wish"
    >>> study = Study.init(d, "partnerschap", waves=["pre", "post"], key=b"k" * 16,
    ...                    schools=[{"id": "S01", "name": "OBS De Linde",
    ...                                      "aliases": ["De Linde"]}])
    >>> p = d.parent / "ouders_voor.csv"
    >>> _ = p.write_text("Deelnemernummer,rec1,rec2\\n1,Mee eens,5\\n2,Eens,4\\n")
    >>> fb = study.submit([p], school="de linde", wave="voormeting", role="ouder", key=b"k" * 16)
    >>> fb[0].accepted, fb[0].unknown_labels[0].label, fb[0].unknown_labels[0].code
    (2, 'Eens', 4)
    >>> study.status()[["school_id", "wave", "role", "submissions", "accepted"]].values.tolist()
    [['S01', 'pre', 'parent', 1, 2]]
    """

    def __init__(self, path: str | os.PathLike[str], store: Store | None = None):
        self.path = Path(path)
        self._config: tuple[object, StudyConfig] | None = None
        self.config  # noqa: B018  (validated at once: a broken study.yaml is named here)
        self.store: Store = store if store is not None else SQLiteStore(self.path / STORE_FILE)

    # -- creating and opening ---------------------------------------------------------------
    @classmethod
    def init(cls, path: str | os.PathLike[str], instrument: str | os.PathLike[str], *,
             waves: Sequence[str | dict] = ("pre", "post"), key: bytes | None = None,
             name: str | None = None, schools: Sequence[dict] | None = None,
             ids: str = "per_school", min_cell: int = DEFAULT_MIN_CELL,
             roles: Sequence[str] | None = None, lang: str = "nl",
             file_names: str | None = None) -> Study:
        """Create a study in ``path``: ``study.yaml``, an empty store and the key's fingerprint.

        ``instrument`` is a registered id or a YAML path (kept as an absolute path);
        ``file_names`` a pattern such as ``"{school}_{role}_{wave}"`` (``study.yaml``'s
        ``file_names:``) by which files name what their rows lack.
        """
        path = Path(path)
        if (path / "study.yaml").exists() or (path / STORE_FILE).exists():
            raise InputError(Msg("errors.study.exists", path=path))
        key = key if key is not None else load_key()
        inst = load_instrument(instrument)
        text = str(instrument)
        ref = inst.id if not (text.lower().endswith((".yaml", ".yml")) or Path(text).exists()) \
            else str(Path(text).resolve())
        from pydantic import ValidationError

        try:
            cfg = StudyConfig(study=name or path.name, instrument=ref,
                              waves=_wave_entries(waves), ids=ids, schools=list(schools or []),
                              min_cell=min_cell, roles=list(roles) if roles else None,
                              lang=lang, file_names=file_names)
        except ValidationError as exc:
            from .config import _problems

            raise InputError(Msg("errors.study.cannot_create", problems=_problems(exc))) from None
        _check_roles(cfg, inst)
        path.mkdir(parents=True, exist_ok=True)
        for sub in ("raw", "rows"):
            (path / sub).mkdir(exist_ok=True)
        write_config(path, cfg)
        study = cls(path)
        study.store.set_fingerprint(key_fingerprint(key))
        return study

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Study:
        """Open an existing study (its ``study.yaml`` is validated)."""
        path = Path(path)
        if not (path / STORE_FILE).exists():
            load_config(path)  # the clearer message when study.yaml is missing too
            raise InputError(Msg("errors.study.no_store", path=path, file=STORE_FILE))
        return cls(path)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def config(self) -> StudyConfig:
        """``study.yaml`` as it is now, validated (read again whenever the file changed)."""
        try:
            st = (self.path / "study.yaml").stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp is None or self._config is None or self._config[0] != stamp:
            self._config = (stamp, load_config(self.path))
        return self._config[1]

    def instrument(self, cfg: StudyConfig | None = None) -> Instrument:
        cfg = cfg or self.config
        ref = cfg.instrument
        if Path(ref).suffix.lower() in (".yaml", ".yml"):
            inst = load_instrument(ref)  # cached by the file's modification time
        else:  # an id: the registry is read once per process (reading it took 0.1 s a call)
            if ref not in _INSTRUMENTS:
                _INSTRUMENTS[ref] = load_instrument(ref)
            inst = _INSTRUMENTS[ref]
        _check_roles(cfg, inst)
        return inst

    def check_key(self, key: bytes) -> None:
        """Refuse a key whose fingerprint is not the study's (nothing is changed)."""
        recorded = self.store.fingerprint()
        if recorded is not None and not hmac.compare_digest(recorded, key_fingerprint(key)):
            raise KeyMismatchError(Msg("errors.study.key_mismatch"))

    # -- submitting -------------------------------------------------------------------------
    def submit(self, paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str], *,
               school: str | None = None, wave: str | None = None, role: str | None = None,
               mapping: str | os.PathLike[str] | None = None, key: bytes | None = None,
               format: str | None = None, sheet: str | None = None,
               header_row: int | None = None,
               only_school: str | None = None) -> list[SubmissionFeedback]:
        """Submit export files; each becomes a submission of every cell it holds rows for.

        The same bytes with the same options again change nothing (``new`` is False in the
        feedback). Raises on unusable input (files before it stay submitted).

        Several files in one call are still a submission each — ingested on its own (duplicates
        within the file), recorded in a transaction of its own, in the order given — but share
        the call's set-up, and the accepted rows of files holding up to :data:`BATCH_ROWS` rows
        together go to one rows file (written before their records).

        ``only_school`` submits on behalf of one school (the portal): a file without a school
        column is that school's; in a file with one, rows whose school resolves to it (by id,
        name or alias) are taken, and rows naming any other school, declared or not, are
        rejected as ``other_school`` (counted, and kept in this school's cell: no other
        school's cell changes, and no other school's name is quoted).
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        key = key if key is not None else load_key()
        self.check_key(key)
        cfg = self.config
        inst = self.instrument(cfg)
        schools, waves = cfg.school_resolver(), cfg.wave_resolver()
        own = None
        if _space(only_school) is not None:
            own = schools(_space(only_school)) if schools else _space(only_school)
            if school is not None and (schools(_space(school)) if schools else _space(school)
                                       ) != own:
                raise InputError(Msg("errors.study.only_school", school=_space(school),
                                     only_school=_space(only_school)))
            school = None
        fixed = {"format": format, "sheet": sheet,
                 "mapping": sha256_file(mapping) if mapping is not None else None,
                 "ids": cfg.ids, "instrument": [inst.id, inst.version]}
        if header_row is not None:  # only when given: earlier submissions keep their options
            fixed["header_row"] = int(header_row)

        def options(given: dict) -> dict:
            school, wave = _space(given.get("school")), _space(given.get("wave"))
            out = {"school": schools(school) if schools and school else school,
                   "wave": waves(wave) if wave else None,
                   "role": _role(given.get("role"), inst), **fixed}
            if own is not None and out["school"] is None:  # a school column: only own rows
                out["only_school"] = own
            return out

        given = {"school": school, "wave": wave, "role": role}
        parsed_mapping = load_mapping(mapping, inst) if mapping is not None else None
        out: list[SubmissionFeedback | _Pending] = []
        pending: list[_Pending] = []  # ingested, not yet written and recorded
        held = 0  # their accepted rows
        try:
            for p in map(Path, paths):
                named = {k: v for k, v in cfg.from_file_name(p.name).items()
                         if given[k] is None}
                if own is not None:  # the submitting school, unless the file has a school column
                    named["school"] = own
                while True:
                    try:
                        out.append(self._prepare(p, options({**given, **named}), cfg, inst,
                                                 key, parsed_mapping, pending))
                        break
                    except InputError as exc:  # a column says what the name says too: the
                        found = re.search(r"--(school|wave|role) must not be given", str(exc))
                        if not found or found.group(1) not in named:  # column wins
                            raise
                        del named[found.group(1)]
                if isinstance(out[-1], _Pending):
                    held = (held if pending else 0) + out[-1].accepted.num_rows
                    pending.append(out[-1])
                    if held >= BATCH_ROWS:
                        self._commit(pending, inst)
        except Exception:
            self._commit(pending, inst)  # the files before the unusable one stay submitted
            raise
        self._commit(pending, inst)
        return [x.feedback if isinstance(x, _Pending) else x for x in out]

    def _prepare(self, path: Path, options: dict, cfg: StudyConfig, inst: Instrument,
                 key: bytes, mapping, pending: list[_Pending]
                 ) -> SubmissionFeedback | _Pending:
        """A file read, copied and ingested on its own: its feedback when the same bytes with
        the same options were recorded before, else what :meth:`_commit` writes and records."""
        data = _read_submitted(path)
        sha = hashlib.sha256(data).hexdigest()
        opts = json.dumps(options, sort_keys=True)
        if any(x.sha == sha and x.opts == opts for x in pending):
            self._commit(pending, inst)  # the same bytes twice in one call: the first counts
        found = self.store.find_upload(sha, opts)
        if found is not None:
            return self._unchanged(found, path.name, inst)

        raw = self.path / "raw" / f"{sha}{path.suffix.lower()}"
        if not raw.exists():
            with atomic_path(raw) as tmp:
                tmp.write_bytes(data)
                os.chmod(tmp, 0o444)
        del data
        spec = ExportSpec(raw, wave=options["wave"], role=options["role"],
                          school=options["school"], format=options["format"],
                          sheet=options["sheet"], header_row=options.get("header_row"))
        own = options.get("only_school")
        resolver = cfg.school_resolver()
        if own is not None:
            resolver = _own_school(resolver, own)
        try:
            # resolved names are the declared ids, which the output firewall lets through
            result = ingest_exports([spec], inst, key, mapping, id_scope=cfg.ids,
                                    schools=[s.id for s in cfg.schools], waves=cfg.wave_ids,
                                    school_resolver=resolver,
                                    wave_resolver=cfg.wave_resolver(), only_school=own)
        except InputError as exc:  # named by the file the user gave, not by its raw copy
            # The copy's name is its sha256, which messages show withheld (a long number):
            # the user's own file name goes in its place, in the catalogue text (any language).
            original: Msg | str = exc.msg or str(exc)
            text = original
            for quoted in sorted({str(raw), shown_path(raw)}):
                if quoted in str(exc):
                    text = Replaced(text, quoted, shown_path(path))
            if type(exc) is InputError and text is not original:
                raise InputError(text) from None
            raise
        log = result.log["files"][0]
        log["file"], log["path"] = path.name, str(raw.relative_to(self.path))
        for cell in log.get("cleared", []):
            cell["source_file"] = path.name
        log["options"] = options

        accepted = result.responses_table()  # to Parquet as it is: no pandas frame in between
        rejected = result.rejected
        if len(rejected):
            rejected = rejected.assign(source_file=path.name)
            if own is not None:  # every row of the file is the submitting school's
                rejected["school_id"] = own
        cleared: dict[tuple[str, str, str], int] = {}
        for key_, n in result.cleared_cells.items():  # keyed as _cells keys (missing: "")
            school_id, wave, role = ("" if v is None else str(v) for v in key_)
            cell = (own if own is not None else school_id, wave, role)
            cleared[cell] = cleared.get(cell, 0) + n
        coded = result.key_codes(CELL)  # the cells from the ingest's codes, no Arrow pass
        acc = _grouped([c for _, c in coded], [[*t, ""] for t, _ in coded]) \
            if coded is not None and accepted.num_rows else None
        accepted, cells = _plan_cells(accepted, rejected, cleared, acc)
        return _Pending(path=path, sha=sha, opts=opts, raw=raw, log=log, accepted=accepted,
                        rejected=rejected, cells=cells)

    def _commit(self, pending: list[_Pending], inst: Instrument) -> None:
        """Write and record the pending files, in order, each in a transaction of its own.

        The accepted rows of all of them go to one rows file (each cell a range of it), written
        before any record; each file's rejected rows to a file of its own. A file recorded
        meanwhile by another process (the same bytes) records nothing; a rows or rejected file
        no record refers to is removed.
        """
        if not pending:
            return
        chunk = list(pending)
        pending.clear()
        written: list[Path] = []
        offsets, at = [], 0
        for x in chunk:
            offsets.append(at)
            at += x.accepted.num_rows
        tables = [x.accepted for x in chunk if x.accepted.num_rows]
        rows_path = None
        if tables:
            rows = tables[0] if len(tables) == 1 else pa.concat_tables(
                tables, promote_options="permissive")
            rows_path = self._write_rows(chunk[0].sha[:16], rows, written)
        used = False
        try:
            for x, offset in zip(chunk, offsets, strict=True):
                own_files: list[Path] = []
                cells = [CellRecord(c.school_id, c.wave, c.role, rows_in=c.rows_in,
                                    accepted=c.accepted, rejected=c.rejected,
                                    rows_path=rows_path if c.accepted else None,
                                    row_start=offset + c.row_start if c.accepted else 0,
                                    cells_cleared=c.cells_cleared) for c in x.cells]
                rejected_path = None
                if len(x.rejected):
                    rejected_path = self._write_rows(f"{x.sha[:16]}-rejected", x.rejected,
                                                     own_files)
                log = x.log
                upload = UploadRecord(sha256=x.sha, options=x.opts, file_name=x.path.name,
                                      raw_path=str(x.raw.relative_to(self.path)),
                                      rows_in=log["rows_in"], accepted=log["accepted"],
                                      rejected=log["rejected_total"],
                                      cells_cleared=sum(log["cells_cleared"].values()),
                                      rejected_path=rejected_path, log=log)
                try:
                    upload_id, new = self.store.record(upload, cells)
                except BaseException:
                    _remove(own_files)
                    raise
                if not new:  # the same bytes were recorded by another process meanwhile
                    _remove(own_files)
                    x.feedback = self._unchanged(self.store.find_upload(x.sha, x.opts),
                                                 x.path.name, inst)
                    continue
                used = used or any(c.accepted for c in cells)
                before = self.store.earlier(upload_id)
                outcomes = [CellOutcome(c.school_id, c.wave, c.role, c.rows_in, c.accepted,
                                        c.rejected,
                                        before.get((c.school_id, c.wave, c.role), 0))
                            for c in cells]
                x.feedback = feedback_from_log(log, inst, file=x.path.name, new=True,
                                               cells=outcomes)
        finally:
            if not used:  # no record refers to the rows file
                _remove(written)

    def _write_rows(self, stem: str, frame: pd.DataFrame | pa.Table, written: list[Path]) -> str:
        import pyarrow.parquet as pq

        rel = Path("rows") / f"{stem}-{uuid.uuid4().hex[:12]}.parquet"
        target = self.path / rel
        with atomic_path(target) as tmp:
            if isinstance(frame, pa.Table):
                pq.write_table(frame, tmp)
            else:
                frame.to_parquet(tmp, index=False)
            os.chmod(tmp, 0o444)
        written.append(target)
        return str(rel)

    def _unchanged(self, found: dict, name: str, inst: Instrument) -> SubmissionFeedback:
        cells = [CellOutcome(h["school_id"], h["wave"], h["role"], h["rows_in"], h["accepted"],
                             h["rejected"], 0)
                 for h in self.store.history() if h["upload_id"] == found["id"]]
        return feedback_from_log(found["log"], inst, file=name, new=False, cells=cells)

    # -- reading ----------------------------------------------------------------------------
    def status(self, expected: bool = False) -> pd.DataFrame:
        """One row per school x wave x role with a submission: its current submission's counts.

        Columns: ``school_id, wave, role, submissions`` (how many, history included),
        ``rows_in, accepted, rejected`` and ``cells_cleared`` (answers of the cell's rows that
        the ingest left empty: unknown labels, values off the scale, formulas and cells the
        firewall kept out; missing for a submission stored before this was counted) of the
        current one, ``last_submitted``, ``file`` and ``file_cells_cleared`` (the same for the
        whole file, which may hold several cells). With ``expected=True`` the cells the study
        expects (declared schools x waves x roles) but lacks are listed too, with zeros.
        """
        cfg = self.config
        cur = pd.DataFrame(self.store.current(), columns=[
            "school_id", "wave", "role", "submissions", "rows_in", "accepted", "rejected",
            "cells_cleared", "rows_path", "row_start", "submission_id", "created_at",
            "file_name", "sha256", "file_cells_cleared"])
        cur = cur.rename(columns={"created_at": "last_submitted", "file_name": "file"})
        cur = cur.drop(columns=["rows_path", "row_start", "sha256"])
        cur["cells_cleared"] = cur["cells_cleared"].astype("Int64")  # None: stored before
        if expected and cfg.schools:
            roles = cfg.roles or list(self.instrument(cfg).roles)
            have = set(zip(cur.school_id, cur.wave, cur.role, strict=True))
            missing = [(s.id, w, r) for s in cfg.schools for w in cfg.wave_ids for r in roles
                       if (s.id, w, r) not in have]
            if missing:
                lack = pd.DataFrame(missing, columns=CELL).assign(
                    submissions=0, rows_in=0, accepted=0, rejected=0, cells_cleared=0)
                cur = pd.concat([cur, lack], ignore_index=True) if len(cur) else lack
        return self._ordered(cur, cfg).reset_index(drop=True)

    def shared_ids(self) -> pd.DataFrame:
        """Respondents in more than one current cell of one wave (``respondent_id, wave,
        cells``). With ``ids: study`` the same number in two schools is one person: such rows
        are listed here so the researcher can decide; with ``ids: per_school`` none can occur.
        """
        r = self.responses()
        keyed = r.assign(cell=r.school_id + " / " + r.role)
        dup = keyed[keyed.duplicated(["respondent_id", "wave"], keep=False)]
        return (dup.groupby(["respondent_id", "wave"], sort=False)["cell"]
                .agg(lambda c: "; ".join(sorted(c))).rename("cells").reset_index())

    def history(self) -> pd.DataFrame:
        """Every cell submission, oldest first, with ``current`` marking each cell's latest."""
        hist = pd.DataFrame(self.store.history())
        if hist.empty:
            return pd.DataFrame(columns=["submission_id", "upload_id", *CELL, "rows_in",
                                         "accepted", "rejected", "file", "current"])
        hist = hist.rename(columns={"id": "submission_id", "file_name": "file",
                                    "created_at": "submitted"})
        latest = hist.groupby(CELL)["submission_id"].transform("max")
        hist["current"] = hist["submission_id"] == latest
        return hist.drop(columns=["rows_path", "row_start"])

    def responses(self) -> pd.DataFrame:
        """The current accepted rows of every cell (Contract 2), in declared wave order."""
        cfg = self.config
        inst = self.instrument(cfg)
        import pyarrow.parquet as pq

        current = [c for c in self.store.current() if c["rows_path"]]
        tables: dict[str, object] = {}
        frames = []
        for c in current:  # each rows file read once, each cell a slice of it
            if c["rows_path"] not in tables:
                tables[c["rows_path"]] = pq.read_table(self.path / c["rows_path"])
            frames.append(tables[c["rows_path"]].slice(c["row_start"], c["accepted"]))
        # files written by pandas and from Arrow may differ in string width: widened to one
        frames = [pa.concat_tables(frames, promote_options="permissive").to_pandas()] \
            if frames else []
        if not frames:
            return pd.DataFrame({**{k: pd.Series(dtype=object) for k in KEYS},
                                 **{i: pd.Series(dtype=float) for i in inst.item_ids}})
        out = pd.concat(frames, ignore_index=True)
        return self._ordered(out, cfg, by_id=True).reset_index(drop=True)

    def rejected(self, history: bool = False, lang: str | None = None) -> pd.DataFrame:
        """The rejected rows of the current submissions, each with its reason.

        Parameters
        ----------
        history : bool
            Also the rejected rows of earlier submissions (replaced by a later file).
        lang : {"nl", "en"}, optional
            Language of ``reason``; default the study's ``lang:`` (Dutch unless set).

        Returns
        -------
        pandas.DataFrame
            ``submission_id, source_file, line, reason, reason_code`` (the stable code, see
            :mod:`partnerschap_eval.ingest.reasons`), then the row's keys (id pseudonymised)
            and answers. Per submission, its ``accepted`` plus its rows here is its ``rows_in``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> study = Study.init(d / "s", "partnerschap", key=b"k" * 16)
        >>> _ = (d / "a.csv").write_text("Deelnemernummer,rec1\\n1,4\\n1,4\\n,3\\n")
        >>> _ = study.submit([d / "a.csv"], school="A", wave="pre", role="parent", key=b"k" * 16)
        >>> study.rejected()[["line", "reason", "reason_code"]].values.tolist()
        [[3, 'precies dezelfde rij staat er al (dubbel ingevuld)', 'exact_duplicate'], [4, 'deelnemernummer ontbreekt', 'missing_id']]
        """
        import pyarrow.parquet as pq

        from ..i18n import check_lang
        from ..ingest.reasons import code_of, reason_text

        cfg = self.config
        lang = check_lang(lang if lang is not None else cfg.lang)
        hist = self.store.history()
        latest: dict[tuple[str, str, str], int] = {}
        for h in hist:
            latest[h["school_id"], h["wave"], h["role"]] = h["id"]
        submission = {(h["upload_id"], h["school_id"], h["wave"], h["role"]): h["id"]
                      for h in hist if history or latest[h["school_id"], h["wave"], h["role"]]
                      == h["id"]}
        frames = []
        for upload in self.store.uploads():
            if not upload["rejected_path"]:
                continue
            rows = pq.read_table(self.path / upload["rejected_path"]).to_pandas()
            for cell, index in _cells(rows).items():  # the cells as _write_cells made them
                sid = submission.get((upload["id"], *cell))
                if sid is not None:
                    frames.append(rows.iloc[index].assign(submission_id=sid))
        inst = self.instrument(cfg)
        if not frames:
            return pd.DataFrame({**{c: pd.Series(dtype=object) for c in
                                    ["submission_id", "source_file", "line", "reason",
                                     "reason_code", *KEYS]},
                                 **{i: pd.Series(dtype=float) for i in inst.item_ids}})
        out = pd.concat(frames, ignore_index=True)
        if "reason_code" not in out:  # rows stored before codes were kept
            out["reason_code"] = out["reason"].map(code_of)
        english = out["reason"].astype(str)
        words = {r: reason_text(r, lang) for r in english.unique()}
        out["reason"] = english.map(words)
        front = ["submission_id", "source_file", "line", "reason", "reason_code"]
        out = out[[*front, *[c for c in out.columns if c not in front]]]
        return out.sort_values(["submission_id", "line"], kind="stable").reset_index(drop=True)

    def export_rejected(self, out: str | os.PathLike[str], history: bool = False,
                        lang: str | None = None) -> Path:
        """Write :meth:`rejected` to a ``.csv`` or ``.parquet`` file, atomically."""
        return self.write_table(self.rejected(history=history, lang=lang), out)

    def export_responses(self, out: str | os.PathLike[str]) -> Path:
        """Write :meth:`responses` to a ``.csv`` or ``.parquet`` file, atomically."""
        return self.write_table(self.responses(), out)

    def write_table(self, frame: pd.DataFrame, out: str | os.PathLike[str]) -> Path:
        """Write ``frame`` to a ``.csv`` (formulas neutralised) or ``.parquet`` file, atomically."""
        from .._io import write_csv

        out = Path(out)
        suffix = out.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise InputError(Msg("errors.study.output_suffix", out=out))
        if suffix == ".csv":
            write_csv(frame, out)
        else:
            with atomic_path(out) as tmp:
                frame.to_parquet(tmp, index=False)
        return out

    def _ordered(self, frame: pd.DataFrame, cfg: StudyConfig, by_id: bool = False
                 ) -> pd.DataFrame:
        if frame.empty:
            return frame
        waves = {w: i for i, w in enumerate(cfg.wave_ids)}
        schools = {s.id: i for i, s in enumerate(cfg.schools)}
        rank = pd.DataFrame({
            "w": frame["wave"].map(waves).fillna(len(waves)),
            "s": frame["school_id"].map(schools).fillna(len(schools)),
        })
        keys = [rank["w"], rank["s"], frame["school_id"], frame["wave"], frame["role"]]
        if by_id:
            keys.append(frame["respondent_id"])
        order = pd.DataFrame({str(i): k.to_numpy() for i, k in enumerate(keys)}).sort_values(
            [str(i) for i in range(len(keys))], kind="stable").index
        return frame.iloc[order]


def _read_submitted(path: Path) -> bytes:
    """A submitted file's bytes: a regular file up to the ingest's size limit.

    Opened without waiting (a named pipe nobody writes to would block the open for ever) and
    read with a bound: a pipe or device (``/dev/zero``) is refused as no regular file, and a
    file above the limit is refused before it fills the memory.
    """
    from ..ingest.readers import MAX_FILE_BYTES

    try:
        with open_input(path) as fh:  # a folder raises IsADirectoryError here
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise InputError(Msg("errors.ingest.not_regular", path=shown_path(path)))
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(Msg("errors.study.unreadable", path=path,
                             reason=exc.strerror)) from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(Msg("errors.ingest.too_large", path=shown_path(path),
                             gb=MAX_FILE_BYTES >> 30))
    return data


@dataclass
class _Pending:
    """A file ingested on its own, to be written and recorded (:meth:`Study._commit`)."""

    path: Path
    sha: str
    opts: str
    raw: Path
    log: dict
    accepted: pa.Table  # the accepted rows, grouped by cell
    rejected: pd.DataFrame
    cells: list[CellRecord]  # row_start within ``accepted``; rows_path not yet known
    feedback: SubmissionFeedback | None = None


def _plan_cells(accepted: pa.Table, rejected: pd.DataFrame,
                cleared: dict[tuple[str, str, str], int],
                acc: dict[tuple[str, str, str], np.ndarray] | None = None
                ) -> tuple[pa.Table, list[CellRecord]]:
    """The cells of one upload (sorted), with the accepted rows grouped by cell: each cell's
    rows are a range of the table returned (``row_start``, ``accepted`` rows). ``acc``: the
    accepted rows' cells when known (else read from the table)."""
    acc, rej = (acc if acc is not None else _table_cells(accepted)), _cells(rejected)
    if set(cleared) - set(acc) - set(rej):  # a bug, never user error: answers unaccounted
        raise RuntimeError(f"cleared answers outside the file's cells: {sorted(cleared)}")
    keys = sorted(set(acc) | set(rej))
    with_rows = [k for k in keys if k in acc]
    # the ingest orders rows by wave and school, so a cell is usually a range already;
    # otherwise the rows are put in cell order first
    contiguous = all(acc[k][-1] - acc[k][0] + 1 == len(acc[k]) for k in with_rows)
    start = {k: int(acc[k][0]) for k in with_rows}
    if not contiguous:
        accepted = accepted.take(np.concatenate([acc[k] for k in with_rows]))
        sizes = np.cumsum([0, *(len(acc[k]) for k in with_rows)])
        start = {k: int(sizes[i]) for i, k in enumerate(with_rows)}
    cells = []
    for cell in keys:
        n_acc = len(acc[cell]) if cell in acc else 0
        n_rej = len(rej[cell]) if cell in rej else 0
        cells.append(CellRecord(*map(str, cell), rows_in=n_acc + n_rej, accepted=n_acc,
                                rejected=n_rej, rows_path=None, row_start=start.get(cell, 0),
                                cells_cleared=cleared.get(cell, 0)))
    return accepted, cells


def _table_cells(table: pa.Table) -> dict[tuple[str, str, str], np.ndarray]:
    """:func:`_cells` of an Arrow table, from Arrow's dictionary codes (no pandas)."""
    import pyarrow.compute as pc

    if not len(table):
        return {}
    codes, texts = [], []
    for column in CELL:
        encoded = table[column].combine_chunks().dictionary_encode()  # missing -> null
        codes.append(pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64))
        texts.append([*map(str, encoded.dictionary.to_pylist()), ""])
    return _grouped(codes, texts)


def _cells(frame: pd.DataFrame) -> dict[tuple[str, str, str], np.ndarray]:
    """The rows of each school x wave x role (a missing value keys as "")."""
    if not len(frame):
        return {}
    codes, texts = [], []
    for column in CELL:
        code, unique = pd.factorize(frame[column])  # missing -> -1
        codes.append(code.astype(np.int64))
        texts.append([*map(str, unique), ""])
    return _grouped(codes, texts)


def _grouped(codes: list[np.ndarray], texts: list[list[str]]
             ) -> dict[tuple[str, str, str], np.ndarray]:
    """Rows per combination of codes (-1: missing, the last text, "")."""
    n = len(codes[0])
    if all(len(t) == 2 and (c >= 0).all() for c, t in zip(codes, texts, strict=True)):
        return {(texts[0][0], texts[1][0], texts[2][0]): np.arange(n)}  # one cell
    combo = np.zeros(n, dtype=np.int64)
    for code, text in zip(codes, texts, strict=True):
        combo = combo * len(text) + (code + 1)
    order = np.argsort(combo, kind="stable")
    _, starts = np.unique(combo[order], return_index=True)
    out = {}
    for rows in np.split(order, starts[1:]):
        first = rows[0]
        out[tuple(texts[i][codes[i][first]] for i in range(3))] = rows
    return out


def _own_school(resolver, own: str):
    """A school resolver for a file one school submits: its own names give its id; any other
    text, declared or not, stays as written (its row is then rejected as another school's,
    and no declared name is proposed: the submitter must not learn the other schools)."""
    from .config import UnknownNameError, name_key

    def resolve(text: str) -> str:
        if not text:
            return text
        if resolver is None:
            return own if name_key(text) == name_key(own) else text
        try:
            return resolver(text)
        except UnknownNameError:
            return text
    return resolve


def _role(text: str | None, inst: Instrument) -> str | None:
    """A role option as the instrument's role when it is one or a known alias (so ``ouders``
    and ``parent`` are the same submission options); otherwise as written."""
    from ..ingest.pipeline import ROLE_ALIASES

    text = _space(text)
    if text is None:
        return None
    norm = normalise_label(text)
    for role, names in ROLE_ALIASES.items():
        if role in inst.roles and (norm == role or norm in map(normalise_label, names)):
            return role
    return text


def _space(text: str | None) -> str | None:
    return " ".join(text.split()) if text is not None and text.strip() else None


def _check_roles(cfg: StudyConfig, inst: Instrument) -> None:
    unknown = [r for r in cfg.roles or [] if r not in inst.roles]
    if unknown:
        raise InputError(Msg("errors.study.roles", unknown=unknown, instrument=inst.id,
                             roles=list(inst.roles)))


def _remove(paths: list[Path]) -> None:
    for p in paths:
        try:
            os.chmod(p, 0o644)
            p.unlink()
        except OSError:
            pass
