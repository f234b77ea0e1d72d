"""``summary()`` of a frozen result is English researcher notation for a notebook (see
``_display``); no command, portal page or report may print it to a person reading Dutch."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "partnerschap_eval"
READER_FACING = [SRC / "cli.py", SRC / "cli_study.py", *sorted((SRC / "portal").rglob("*.py")),
                 *sorted((SRC / "report").rglob("*.py")), *sorted((SRC / "study").rglob("*.py"))]


def test_no_reader_facing_module_calls_summary():
    found = []
    for path in READER_FACING:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "summary" \
                    and not node.args and not node.keywords:
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert len(READER_FACING) > 10
    assert not found, found
