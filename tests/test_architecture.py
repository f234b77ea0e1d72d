"""The documented direction of imports: statistics never reach for plotting, reports or the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "partnerschap_eval"
STATISTICS = ["scoring.py", "psychometrics/__init__.py", "evaluation/__init__.py", "frameworks.py", "results.py",
              "schools.py"]
FORBIDDEN = {"plots", "presentation", "reporting", "cli", "project", "matplotlib", "papermill",
             "IPython", "typer", "rich"}


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level and node.module:          # from .plots import x
                names.add(node.module.split(".")[0])
            elif node.level:                        # from . import plots
                names |= {a.name for a in node.names}
            elif node.module:
                names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", STATISTICS)
def test_statistics_modules_stay_off_plotting_reporting_and_cli(module):
    assert not (_imported(PKG / module) & FORBIDDEN), module


def test_the_check_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from . import plots\nimport matplotlib.pyplot as plt\n")
    assert {"plots", "matplotlib"} <= _imported(bad)


# The portal sits above the study, beside the CLI: only the CLI may import it, and it reaches
# the study's data only through the study's public API (never the store or ingest directly).
PORTAL = sorted((PKG / "portal").glob("*.py"))
PORTAL_MAY_NOT = {"store", "ingest", "scoring", "psychometrics", "evaluation", "results",
                  "reporting", "plots", "presentation", "synth"}


@pytest.mark.parametrize("module", PORTAL, ids=lambda p: p.name)
def test_the_portal_is_a_client_of_the_study_only(module):
    # the demo command writes the synthetic demo exports, as the CLI's `demo` does
    allowed = {"synth"} if module.name == "demo.py" else set()
    assert not (_imported(module) & (PORTAL_MAY_NOT - allowed)), module.name


def test_nothing_below_the_cli_imports_the_portal():
    users = [p.relative_to(PKG).as_posix() for p in PKG.rglob("*.py")
             if "portal" in _imported(p) and p.parent.name != "portal"]
    assert users == ["cli.py"], users
