"""A submitted file that cannot be read is named by the path the user gave, in their language.

The study reads its content-addressed copy (``raw/<sha256>.csv``); a message about that copy named
it ``raw/<withheld: looks like an identifier>`` (the firewall withholds the long hash), and the
re-raise that put the user's path back worked on English text only. Now the catalogue text keeps
its language and names the user's file -- screened by the firewall like any path.
"""

from __future__ import annotations

import pytest

from partnerschap_eval.errors import InputError
from partnerschap_eval.study import Study

KEY = b"file-error test key, not secret 0123456789"
BROKEN = {
    "leeg.csv": (b"", "leeg", "empty"),
    "binair.csv": (b"\x00\x01\x02" * 100, "binaire", "binary"),
    "gemengd.csv": (b"respondent_id,rec1\nr1,4\n" + "r2,Zoë\n".encode("cp1252")
                    + "r3,Zoë\n".encode(), "tekstcoderingen", "encodings"),
}


@pytest.fixture()
def study(tmp_path):
    s = Study.init(tmp_path / "wish", "partnerschap", key=KEY,
                   schools=[{"id": "S01", "name": "De Linde"}])
    yield s
    s.close()


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_an_unreadable_file_is_named_as_given_in_dutch_and_english(study, tmp_path, name):
    data, dutch, english = BROKEN[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        study.submit([path], school="S01", wave="pre", role="parent", key=KEY)
    nl, en = info.value.render("nl"), info.value.render("en")
    assert str(path) in nl and dutch in nl
    assert str(path) in en and english in en and str(info.value) == en
    for text in (nl, en):
        assert "withheld" not in text and "raw" not in text.replace(str(path), "")


def test_a_personal_name_as_file_name_is_still_withheld(study, tmp_path):
    path = tmp_path / "Jan de Vries.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError) as info:
        study.submit([path], school="S01", wave="pre", role="parent", key=KEY)
    nl, en = info.value.render("nl"), info.value.render("en")
    assert "Vries" not in nl and "<achtergehouden: lijkt op een naam van een persoon>" in nl
    assert "Vries" not in en and "<withheld: looks like a person's name>" in en
