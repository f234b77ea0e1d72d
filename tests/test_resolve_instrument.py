"""One resolver for every public function's ``instrument``: ``instruments.resolve``."""

from __future__ import annotations

import inspect
import re

import pytest

from partnerschap_eval import instruments, psychometrics, synth
from partnerschap_eval.errors import InstrumentError
from partnerschap_eval.ingest import pipeline
from partnerschap_eval.results import frameworks, quality, scales

MODULES = [psychometrics, pipeline, frameworks, quality, scales, synth]


def test_an_instrument_is_returned_as_it_is_and_an_id_is_loaded():
    inst = instruments.resolve("partnerschap")
    assert instruments.resolve(inst) is inst
    assert inst.id == "partnerschap"


def test_an_unknown_id_is_refused_with_the_known_ids():
    with pytest.raises(InstrumentError, match="partnerschap"):
        instruments.resolve("no-such-instrument")


@pytest.mark.parametrize("mod", MODULES, ids=lambda m: m.__name__)
def test_no_public_function_resolves_an_instrument_by_hand(mod):
    src = inspect.getsource(mod)
    assert not re.search(r"load_instrument\(instrument\)|isinstance\(instrument, Instrument\)",
                         src)
