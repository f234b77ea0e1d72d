"""Personal-data patterns: the linear e-mail pattern finds what the plain one finds."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from partnerschap_eval.privacy import _EMAIL, pii_reason, safe_log_value

# The textbook form, quadratic on long cells without "@"; fine as a reference on short text.
PLAIN = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.text(alphabet="ab1.+-@ _x", max_size=40))
def test_same_verdict_as_the_plain_pattern(text):
    assert bool(_EMAIL.search(text)) == bool(PLAIN.search(text))
    if PLAIN.search(text):
        assert _EMAIL.search(text).group(0) == PLAIN.search(text).group(0)


def test_addresses_inside_text_are_still_found():
    assert _EMAIL.search("mail naar j.devries+school@voorbeeld.nl graag")
    assert safe_log_value("ouder1@voorbeeld.nl") == "<withheld: looks like an e-mail address>"
    assert pii_reason("Kolom 3", ["a@b.nl", "c@d.nl", "e@f.nl"]) == \
        "values look like e-mail addresses"


def test_long_cells_are_withheld_not_searched_forever():
    # 100,000 digits took ~40 s with the plain pattern; the answer itself is unchanged
    assert safe_log_value("1" * 100_000) == "<withheld: looks like a BSN>"
    assert safe_log_value("x" * 100_000) == "<withheld: 100000 characters>"
