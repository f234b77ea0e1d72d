"""Shared fixtures. Heavy objects (the demo study) are built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

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
