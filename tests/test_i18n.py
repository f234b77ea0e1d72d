"""The message catalogue: both languages hold the same keys with the same placeholders, every key
the code asks for exists, and numbers and dates follow the locale."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from partnerschap_eval import i18n

SRC = Path(__file__).resolve().parents[1] / "src" / "partnerschap_eval"


def test_both_languages_hold_the_same_domains_and_keys():
    nl_domains = i18n.domains()
    en_domains = sorted(p.stem for p in (SRC / "locale" / "en" / "LC_MESSAGES").glob("*.po"))
    assert nl_domains and nl_domains == en_domains
    nl, en = i18n.keys("nl"), i18n.keys("en")
    assert set(nl) == set(en), sorted(set(nl) ^ set(en))[:20]


def test_every_key_lives_in_the_file_its_prefix_names():
    from babel.messages.pofile import read_po

    for lang in i18n.LANGS:
        for po in (SRC / "locale" / lang / "LC_MESSAGES").glob("*.po"):
            with po.open("rb") as fh:
                cat = read_po(fh)
            for msg in cat:
                if msg.id:
                    assert str(msg.id).split(".", 1)[0] == po.stem, (po.name, msg.id)
                    assert str(msg.string).strip(), f"empty translation of {msg.id} in {lang}"


def test_placeholders_agree_between_languages():
    nl, en = i18n.keys("nl"), i18n.keys("en")
    for key in nl:
        assert i18n.placeholders(nl[key]) == i18n.placeholders(en[key]), key


def _literal_keys() -> set[str]:
    """Keys passed as a literal first argument to ``t(...)`` anywhere in the package."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and node.args
                    and isinstance(node.func, ast.Name | ast.Attribute)
                    and (getattr(node.func, "id", None) == "t" or getattr(node.func, "attr", None) == "t")
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                    and "." in node.args[0].value):
                found.add(node.args[0].value)
    return found


def test_every_key_the_code_asks_for_exists():
    known = set(i18n.keys("nl"))
    asked = {k for k in _literal_keys() if k.split(".", 1)[0] in i18n.domains()}
    assert not (asked - known), sorted(asked - known)


def test_a_missing_key_is_an_error_not_a_silent_blank():
    with pytest.raises(i18n.MissingMessageError):
        i18n.t("core.no_such_message_anywhere", "nl")
    with pytest.raises(ValueError):
        i18n.t("core.withheld", "de")


def test_placeholders_are_filled_and_languages_differ():
    nl = i18n.t("core.suppressed", "nl", min_cell=10)
    en = i18n.t("core.suppressed", "EN", min_cell=10)
    assert "10" in nl and "10" in en and nl != en


@pytest.mark.parametrize(("x", "lang", "digits", "want"), [
    (1234.567, "nl", 2, "1.234,57"),
    (1234.567, "en", 2, "1,234.57"),
    (-0.5, "nl", 1, "\u22120,5"),
    (0.0, "nl", 2, "0,00"),
    (-0.001, "nl", 2, "0,00"),       # no "minus zero" after rounding
    (float("nan"), "nl", 2, "–"),
])
def test_numbers_follow_the_locale(x, lang, digits, want):
    assert i18n.number(x, lang, digits) == want


def test_dates_and_percentages_follow_the_locale():
    assert i18n.date("2026-03-01T10:00:00Z", "nl") == "1 maart 2026"
    assert i18n.date("2026-03-01", "en") == "1 March 2026"
    assert i18n.percent(0.47, "nl") == "47%"
    assert i18n.integer(1000000, "nl") == "1.000.000"
