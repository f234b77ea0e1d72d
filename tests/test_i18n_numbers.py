"""``i18n.integer`` groups whole numbers as Babel does, without loading Babel for them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from babel.numbers import format_decimal, get_group_symbol

from partnerschap_eval import i18n

VALUES = [0, 1, -1, 7, 999, 1000, -1000, 12345, 999_999, 1_000_000, -1_234_567, 10**12,
          -(10**15) - 7, np.int64(1_000_000), np.int32(-4321), np.uint16(65535)]


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_whole_numbers_are_grouped_as_babel_groups_them(lang):
    locale = i18n.LOCALES[lang]
    assert i18n._GROUP[lang] == get_group_symbol(locale)
    for x in VALUES:
        babel = format_decimal(int(x), format="#,##0", locale=locale).replace("-", "\u2212")
        assert i18n.integer(x, lang) == babel, (x, lang)


def test_floats_bools_and_missing_values_keep_babels_path():
    assert i18n.integer(2.6, "nl") == "3"  # rounded as number() rounds
    assert i18n.integer(None) == "–"
    assert i18n.integer(float("nan")) == "–"
    assert i18n.integer(True, "nl") == "1"  # a bool is not a count: Babel decides


def test_a_count_in_a_fresh_process_does_not_load_babel():
    code = ("import sys\nfrom partnerschap_eval import i18n\n"
            "assert i18n.integer(1000000, 'nl') == '1.000.000'\n"
            "assert not any(m.startswith('babel') for m in sys.modules), 'babel loaded'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
