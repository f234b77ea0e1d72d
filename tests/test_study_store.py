"""The store is one small interface: the study reaches its store through :class:`Store` only, so
a server database can implement it in place of SQLite (not implemented here)."""

from __future__ import annotations

import inspect

from partnerschap_eval.study import SQLiteStore, Store, Study

KEY = b"store test key, not secret 0123456789"
PROTOCOL = sorted(n for n, v in vars(Store).items() if not n.startswith("_") and callable(v))


class OnlyTheProtocol:
    """A store that offers the Protocol's methods of a real one, and nothing else."""

    def __init__(self, inner: SQLiteStore):
        self._inner, self.used = inner, set()

    def __getattr__(self, name: str):
        if name not in PROTOCOL:
            raise AttributeError(f"the study used {name!r}, which Store does not declare")
        self.used.add(name)
        return getattr(self._inner, name)


def test_sqlite_store_implements_every_method_of_the_protocol_with_its_signature():
    assert {"record", "current", "history", "find_upload", "close"} <= set(PROTOCOL)
    for name in PROTOCOL:
        want = inspect.signature(getattr(Store, name))
        got = inspect.signature(getattr(SQLiteStore, name))
        assert list(got.parameters) == list(want.parameters), name


def test_the_study_works_through_the_protocol_alone(tmp_path):
    Study.init(tmp_path / "s", "partnerschap", key=KEY, ids="study").close()
    store = OnlyTheProtocol(SQLiteStore(tmp_path / "s" / "study.sqlite"))
    study = Study(tmp_path / "s", store=store)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("Deelnemernummer,School,rec1\n1,A,4\n1,A,4\n2,B,9\n")
    b.write_text("Deelnemernummer,School,rec1\n1,A,5\n")
    first = study.submit([a], wave="pre", role="parent", key=KEY)[0]
    assert study.submit([a], wave="pre", role="parent", key=KEY)[0].new is False
    study.submit([b], wave="pre", role="parent", key=KEY)
    assert (first.accepted, first.rejected_total) == (2, 1)
    status = study.status().set_index("school_id")
    assert status.loc["A", "submissions"] == 2 and status.loc["B", "cells_cleared"] == 1
    assert len(study.responses()) == 2 and len(study.history()) == 3
    assert study.rejected(history=True).reason_code.tolist() == ["exact_duplicate"]
    assert len(study.shared_ids()) == 0
    study.close()
    # every declared method is one the study needs (set_fingerprint: by Study.init)
    assert store.used | {"set_fingerprint"} == set(PROTOCOL)
