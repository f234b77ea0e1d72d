"""The compiled catalogues (``.json`` beside each ``.po``) are the ``.po`` files' messages.

``i18n`` reads a domain's ``.json`` when it was compiled from the ``.po`` as it is (the same
sha256), so a command does not load Babel and parse the ``.po`` at every start; a missing or
stale ``.json`` falls back to the ``.po``. This test fails when a ``.po`` changed without
``make catalogues``, and checks that a stale file is never used.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from partnerschap_eval import i18n

PO_FILES = sorted((Path(i18n.__file__).parent / "locale").glob("*/LC_MESSAGES/*.po"))


@pytest.mark.parametrize("po", PO_FILES, ids=lambda p: f"{p.parents[1].name}/{p.stem}")
def test_each_po_file_has_its_compiled_messages(po):
    compiled = po.with_suffix(".json")
    assert compiled.exists(), f"{compiled} is missing: run `make catalogues`"
    data = json.loads(compiled.read_text(encoding="utf-8"))
    source = po.read_bytes()
    assert data["po_sha256"] == hashlib.sha256(source).hexdigest(), \
        f"{po} changed after {compiled.name} was compiled: run `make catalogues`"
    assert data["messages"] == i18n.parse_po(source, po.parents[1].name, po.stem)


def test_a_stale_compiled_file_is_not_used(tmp_path, monkeypatch):
    folder = tmp_path / "nl" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "cli.po").write_text('msgid ""\nmsgstr ""\n\nmsgid "cli.x"\nmsgstr "nieuw"\n',
                                   encoding="utf-8")
    (folder / "cli.json").write_text(json.dumps(
        {"po_sha256": "0" * 64, "messages": {"cli.x": "oud"}}), encoding="utf-8")
    monkeypatch.setattr(i18n, "_DIR", tmp_path)
    i18n._catalogue.cache_clear()
    try:
        assert i18n._catalogue("cli", "nl") == {"cli.x": "nieuw"}
        (folder / "cli.json").write_text("{not json", encoding="utf-8")
        i18n._catalogue.cache_clear()
        assert i18n._catalogue("cli", "nl") == {"cli.x": "nieuw"}
    finally:
        i18n._catalogue.cache_clear()
