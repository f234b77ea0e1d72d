"""docs/results-v2.md names the keys results.json holds beyond DESIGN.md's Contract 4 v2.

Each path in its tables must occur in the demo's results.json (a three-wave study with a control
arm): a key renamed or dropped in the code, or misspelt on the page, fails here. Placeholders in a
path (``<scale>``, ``<wave>-<first>``, ``<school>``, ``[]``) match any key or list element.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT

DOC = ROOT / "docs" / "results-v2.md"
ROW = re.compile(r"^\| `([^|]+)` \|", re.M)
# The demo has neither: each is checked by its own tests (test_waves_settings.py,
# test_design_without_condition.py).
NOT_IN_DEMO = {"contrasts.<wave_k>-<wave_k-1>", "design.schools_without_condition"}


def documented_paths(text: str) -> list[tuple[str, list[str]]]:
    """(table prefix, path parts) of every path in the first column, ``a.b``, ``a``, ``c`` split."""
    prefix = ""
    out = []
    for line in text.splitlines():
        if line.startswith("## Per scale"):
            prefix = "scales.<scale>."
        elif line.startswith("## Top level"):
            prefix = ""
        m = ROW.match(line)
        if not m:
            continue
        cell = m.group(1)
        paths = [p.strip(" `") for p in cell.split(",")]
        head = paths[0].rsplit(".", 1)[0] if "." in paths[0] else ""
        for i, p in enumerate(paths):
            if i and p.startswith(".") and head:
                p = head + p
            out.append((cell, (prefix + p).replace("[]", ".[]").split(".")))
    return out


def _has(node, parts: list[str]) -> bool:
    if not parts:
        return True
    part, rest = parts[0], parts[1:]
    if part == "[]":
        return isinstance(node, list) and any(_has(x, rest) for x in node)
    if not isinstance(node, dict):
        return False
    if part.startswith("<"):
        return any(_has(v, rest) for v in node.values())
    return part in node and _has(node[part], rest)


def test_the_page_parses_into_paths():
    paths = documented_paths(DOC.read_text(encoding="utf-8"))
    assert len(paths) >= 20
    assert (["scales", "<scale>", "contrasts", "<wave>-<first>", "mixed"]
            in [p for _, p in paths])


def test_a_missing_key_is_noticed():
    assert not _has({"scales": {"a": {"contrasts": {"post-pre": {}}}}},
                    ["scales", "<scale>", "contrasts", "<wave>-<first>", "mixed"])
    assert _has({"a": [{"n": 1}]}, ["a", "[]", "n"])


@pytest.mark.slow
def test_every_documented_key_is_in_the_demo(demo_dir):
    results = json.loads((demo_dir / "report" / "results.json").read_text(encoding="utf-8"))
    missing = [".".join(p) for cell, p in documented_paths(DOC.read_text(encoding="utf-8"))
               if cell not in NOT_IN_DEMO and not _has(results, p)]
    assert not missing
