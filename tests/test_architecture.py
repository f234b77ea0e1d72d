"""The documented direction of imports: every module imports only from its own layer and below.

The layers, bottom up, are the README's "map of the package". Imports inside function bodies
count as much as those at the top of a module (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "partnerschap_eval"

#: Bottom up; a module may import from its own layer and the ones before it. The key is the
#: first part of the module path below ``partnerschap_eval`` ("" is the package itself).
LAYERS: list[tuple[str, set[str]]] = [
    ("base", {"", "_blas", "_contract", "_display", "_io", "_outputs", "_safe_read", "_validate",
              "errors", "i18n", "instruments"}),
    ("privacy", {"privacy"}),
    ("ingest", {"ingest"}),
    ("study", {"study"}),  # DESIGN.md: study -> ingest; results and report may read a study
    ("scoring", {"scoring"}),
    ("statistics", {"psychometrics", "evaluation"}),
    ("results", {"results"}),
    ("report", {"report"}),
    ("synth", {"synth"}),  # demo and test data: nothing in the pipeline may depend on it
    ("cli", {"_start", "cli", "cli_study", "portal"}),  # DESIGN.md: cli, portal -> report
]
LEVEL = {name: i for i, (_, names) in enumerate(LAYERS) for name in names}

#: Statistics and results never reach for plotting, notebooks or the CLI's libraries.
STATISTICS = ["scoring.py", "psychometrics", "evaluation", "results"]
FORBIDDEN = {"matplotlib", "papermill", "IPython", "typer", "rich", "nbconvert"}


def _module(path: Path) -> list[str]:
    parts = list(path.relative_to(PKG).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module or ``pkg.name``) of every import, relative ones resolved."""
    mod = _module(path)
    package = mod if path.name == "__init__.py" else mod[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(["partnerschap_eval", *base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if node.module is None or target == "partnerschap_eval":  # from . import x: x may be a module
                found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
    return found


def _layer_key(target: str) -> str | None:
    parts = target.split(".")
    if parts[0] != "partnerschap_eval":
        return None
    key = parts[1] if len(parts) > 1 else ""
    return "" if key.startswith("__") else key  # __version__ and the like live in the package


def _violations(path: Path) -> list[str]:
    own = _module(path)
    level = LEVEL[own[0] if own else ""]
    bad = []
    for line, target in _imports(path):
        key = _layer_key(target)
        if key is not None and LEVEL.get(key, len(LAYERS)) > level:
            bad.append(f"{path.relative_to(PKG)}:{line} imports {target}")
    return bad


SOURCES = sorted(PKG.rglob("*.py"))


def test_every_module_has_a_layer():
    keys = {(_module(p)[:1] or [""])[0] for p in SOURCES}
    assert keys <= set(LEVEL), sorted(keys - set(LEVEL))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_only_go_down_the_layers(path):
    assert not _violations(path)


@pytest.mark.parametrize("entry", STATISTICS)
def test_statistics_stay_off_plotting_reporting_and_cli(entry):
    target = PKG / entry
    for path in ([target] if target.is_file() else sorted(target.rglob("*.py"))):
        roots = {t.split(".")[0] for _, t in _imports(path)}
        assert not roots & FORBIDDEN, (path.name, roots & FORBIDDEN)


def test_the_check_sees_an_upward_import_also_inside_a_function(tmp_path, monkeypatch):
    fake = tmp_path / "partnerschap_eval"
    (fake / "results").mkdir(parents=True)
    bad = fake / "results" / "scales.py"
    bad.write_text("import numpy as np\nfrom ..privacy import screen\n\n"
                   "def f():\n    from ..report.build import read_responses\n"
                   "    from .. import cli\n    import matplotlib.pyplot as plt\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    assert _violations(bad) == ["results/scales.py:5 imports partnerschap_eval.report.build",
                                "results/scales.py:6 imports partnerschap_eval.cli"]
    assert "matplotlib.pyplot" in {t for _, t in _imports(bad)}


def _private_names_from_other_packages(path: Path) -> list[str]:
    """``from ..results.scales import _x``: a private name taken across a package boundary."""
    own = (_module(path)[:1] or [""])[0]
    mod = _module(path)
    package = mod if path.name == "__init__.py" else mod[:-1]
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = [*base, *(node.module.split(".") if node.module else [])]
            if (target[:1] or [""])[0] != own:
                bad += [f"{'.'.join(target)}.{a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
    return bad


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_private_name_crosses_a_package(path):
    assert not _private_names_from_other_packages(path)


def test_the_private_name_check_bites(tmp_path, monkeypatch):
    fake = tmp_path / "partnerschap_eval"
    (fake / "report").mkdir(parents=True)
    bad = fake / "report" / "build.py"
    bad.write_text("from ..results.scales import _clean, evaluate\nfrom .. import __version__\n"
                   "from ._helpers import _ok\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    assert _private_names_from_other_packages(bad) == ["results.scales._clean"]


def test_statistics_take_no_minimum_cell_size():
    """DESIGN.md: disclosure control happens once, in results/; the statistics never see it."""
    import importlib
    import inspect

    offenders = []
    for name in ("psychometrics", "psychometrics.longitudinal", "evaluation",
                 "evaluation.designs", "evaluation.imputation", "evaluation.resolution",
                 "scoring"):
        mod = importlib.import_module(f"partnerschap_eval.{name}")
        for attr in getattr(mod, "__all__", []):
            f = getattr(mod, attr)
            if callable(f) and not inspect.isclass(f):
                params = set(inspect.signature(f).parameters)
                offenders += [f"{name}.{attr}({p})" for p in params
                              & {"min_cell", "protect_below", "suppress_below"}]
    assert not offenders
    for entry in ("psychometrics", "evaluation", "scoring.py"):
        target = PKG / entry
        for path in ([target] if target.is_file() else sorted(target.rglob("*.py"))):
            assert not [t for _, t in _imports(path) if _layer_key(t) == "privacy"], path.name


# The portal sits above the study, beside the CLI: only the CLI may import it, and it reaches
# the study's data only through the study's public API (never the store or ingest directly).
PORTAL = sorted((PKG / "portal").glob("*.py"))
PORTAL_MAY_NOT = {"study.store", "ingest", "scoring", "psychometrics", "evaluation", "results",
                  "report", "synth"}


def _reaches(target: str, names: set[str]) -> set[str]:
    parts = target.split(".")[1:]
    return {n for n in names if parts[: len(n.split("."))] == n.split(".")}


@pytest.mark.parametrize("module", PORTAL, ids=lambda p: p.name)
def test_the_portal_is_a_client_of_the_study_only(module):
    # the demo command writes the synthetic demo exports, as the CLI's `demo` does
    allowed = {"synth"} if module.name == "demo.py" else set()
    reached = set().union(*[_reaches(t, PORTAL_MAY_NOT - allowed) for _, t in _imports(module)])
    assert not reached, module.name


def test_nothing_below_the_cli_imports_the_portal():
    users = [p.relative_to(PKG).as_posix() for p in SOURCES
             if any(_layer_key(t) == "portal" for _, t in _imports(p)) and p.parent.name != "portal"]
    assert users == ["cli.py"], users


def _sqlite_users(paths) -> list[str]:
    return sorted(p.relative_to(PKG).as_posix() for p in paths
                  if any(t.split(".")[0] == "sqlite3" for _, t in _imports(p)))


def test_only_the_store_module_opens_sqlite():
    """The study's store and the portal's records are reached through their protocols
    (``study/store.py``: ``Store``, ``PortalStore``): no other module imports ``sqlite3``, not
    even to catch its errors (``STORE_ERRORS``), so a server database can replace both."""
    assert _sqlite_users(SOURCES) == ["study/store.py"]


def test_the_sqlite_check_sees_a_lazy_import(tmp_path, monkeypatch):
    fake = tmp_path / "partnerschap_eval"
    (fake / "portal").mkdir(parents=True)
    bad = fake / "portal" / "links.py"
    bad.write_text("def f():\n    import sqlite3\n    return sqlite3.connect(':memory:')\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    assert _sqlite_users([bad]) == ["portal/links.py"]


#: Imports that mark a fast path: threads, child processes, memory mapped in at once.
FAST_PATH_MODULES = {"concurrent.futures", "threading", "subprocess", "mmap", "multiprocessing"}


@pytest.mark.parametrize("path", [PKG / "ingest" / "pipeline.py",
                                  *sorted((PKG / "privacy").glob("*.py"))],
                         ids=lambda p: str(p.relative_to(PKG)))
def test_the_ingest_fast_paths_sit_behind_one_private_module(path):
    """The pipeline reaches its threads, hashing children and byte tables through
    ``ingest/_fast.py`` only, and privacy (pseudonyms, firewall) starts no process or thread."""
    assert not {t for _, t in _imports(path)} & FAST_PATH_MODULES
