"""The README's "map of the package" names exactly the packages and modules in ``src``."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "partnerschap_eval"
_ENTRY = re.compile(r"^(?P<indent>[│ ]*)[├└]── (?P<name>[\w.]+/?)(?:\s|$)")


def map_entries(readme: str) -> set[str]:
    """Paths (``pkg/``, ``pkg/module.py``, ``module.py``) in the tree under the map's heading."""
    section = readme.split("## Map of the package", 1)[1]
    tree = section.split("```", 2)[1]
    entries, parents = set(), []
    for line in tree.splitlines():
        m = _ENTRY.match(line)
        if not m:
            continue
        depth = len(m["indent"]) // 4
        parents = parents[:depth]
        path = "".join(parents) + m["name"]
        entries.add(path)
        if m["name"].endswith("/"):
            parents.append(m["name"])
    return entries


def code_entries() -> set[str]:
    """Every Python package (``pkg/``) and module (``__init__.py`` aside) under src."""
    out = set()
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if "__pycache__" in rel.parts:
            continue
        out |= {"/".join(rel.parts[: i + 1]) + "/" for i in range(len(rel.parts) - 1)}
        if path.name != "__init__.py":
            out.add(rel.as_posix())
    return out


def test_the_map_and_the_code_name_the_same_modules():
    in_map = map_entries((ROOT / "README.md").read_text(encoding="utf-8"))
    in_code = code_entries()
    assert not in_code - in_map, f"missing from the README map: {sorted(in_code - in_map)}"
    assert not in_map - in_code, f"in the README map but not in src: {sorted(in_map - in_code)}"


def test_the_parser_sees_nesting_and_a_missing_module():
    readme = ("## Map of the package\n\n```\nsrc/partnerschap_eval/\n├── a.py   x\n├── p/  y\n"
              "│   ├── q.py  z\n│   └── r/   w\n│       └── s.py\n└── t.py\n```\n")
    assert map_entries(readme) == {"a.py", "p/", "p/q.py", "p/r/", "p/r/s.py", "t.py"}
    assert "privacy/disclosure.py" in code_entries()
