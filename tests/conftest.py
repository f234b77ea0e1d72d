"""Shared fixtures. Heavy objects are built once per session and only read by the tests.

The session builds, at most once each and only when a selected test asks for it: the demo study
(``demo_study``), its framework questionnaires (``demo_frameworks``), the demo run end to end
through the command line (``demo_dir``, as ``make demo`` runs it) and the evaluation of the demo
study (``demo_results``). A test that changes one of them works on a copy.

Tests that take more than a few seconds on two cores carry the ``slow`` marker (registered in
pyproject.toml): ``make test`` runs ``pytest -m "not slow"`` (the quick suite, under 5 minutes),
``make test-slow`` the rest, and CI both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# The command line speaks Dutch unless told otherwise; the tests that read its output were
# written against its English texts, so the whole session (and every subprocess it starts) runs
# with English pinned. tests/test_cli_lang.py unsets it to check the Dutch default.
os.environ["PARTNERSCHAP_EVAL_LANG"] = "en"

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures" / "real"


@pytest.fixture(scope="session")
def instrument():
    from partnerschap_eval.instruments import load_instrument

    return load_instrument("partnerschap")


@pytest.fixture(scope="session")
def demo_study():
    from partnerschap_eval.synth import simulate_study

    return simulate_study(seed=2014)


@pytest.fixture(scope="session")
def r_values():
    import json

    return json.loads((REFERENCE / "r_values.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def demo_frameworks():
    """The framework questionnaires (Gerdes, ladder, Epstein, praatplaat) of the demo study."""
    from partnerschap_eval.synth import simulate_frameworks

    return simulate_frameworks(seed=2014)


@pytest.fixture(scope="session")
def demo_results(demo_study):
    """``evaluate`` of the demo study (min_cell 10, mixed models on)."""
    from partnerschap_eval.results import evaluate

    return evaluate(demo_study.responses, "partnerschap", min_cell=10)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """``partnerschap-eval demo`` run once, through the CLI in a fresh process, as ``make demo``
    runs it (relative paths; pages render in parallel threads): ``raw/`` and ``report/``."""
    base = tmp_path_factory.mktemp("demo")
    env = os.environ | {"PYTHONHASHSEED": "0"}
    res = subprocess.run([sys.executable, "-m", "partnerschap_eval.cli", "demo", "--out",
                          "report", "--raw", "raw"], capture_output=True, text=True, cwd=base,
                         env=env, timeout=900)
    assert res.returncode == 0, res.stderr + res.stdout
    return base


# Fixtures that run the pipeline through the CLI (a demo, a report, a hostile study): a test
# that uses one is slow. Other slow tests carry @pytest.mark.slow themselves.
SLOW_FIXTURES = {"demo_dir", "attacked", "two_studies", "small_report"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
