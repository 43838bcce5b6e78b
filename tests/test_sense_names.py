"""Sense names a reader can tell apart: hidden characters refused (fake encoder)."""

from __future__ import annotations

import pytest

from sensesearch import SenseIndex
from sensesearch.errors import UsageError
from sensesearch.inventory import check_name

from .test_sense_inventory import examples, tagged, two_word_corpus  # noqa: F401  (fixtures)

HIDDEN = [
    ("finance\u200b", "U+200B ZERO WIDTH SPACE at character 8"),
    ("fin\u200dance", "U+200D ZERO WIDTH JOINER at character 4"),
    ("\ufefffinance", "U+FEFF ZERO WIDTH NO-BREAK SPACE at character 1"),
    ("\u202eecnanif", "U+202E RIGHT-TO-LEFT OVERRIDE at character 1"),
    ("fin\u2066ance\u2069", "U+2066 LEFT-TO-RIGHT ISOLATE at character 4"),
    ("river\u00a0bank", "U+00A0 NO-BREAK SPACE at character 6"),
    ("fin\u00adance", "U+00AD SOFT HYPHEN at character 4"),
    ("tab\there", "U+0009 a control character at character 4"),
    ("red\x1b[31m", "U+001B a control character at character 4"),
]


@pytest.mark.parametrize("name, named", HIDDEN)
def test_a_name_holding_a_character_that_does_not_show_is_refused_naming_it(name: str, named: str) -> None:
    """"finance\\u200b" (a zero-width space pasted from a web page) had been a second sense printed "finance", and
    "\\u202eecnanif" one printed as "finance" reversed by the override."""
    with pytest.raises(UsageError, match="a sense name must show every character") as refused:
        check_name(name)
    assert str(refused.value).endswith(f"it holds {named}")


def test_names_that_show_as_written_are_kept_stripped_and_in_nfc() -> None:
    assert check_name(" river bank ") == "river bank"
    assert check_name("cafe\u0301") == "caf\u00e9"
    assert check_name("\u2764\ufe0f") == "\u2764\ufe0f"  # a variation selector picks the glyph; it hides nothing
    for name in ("   ", "\u3000", "a:b"):
        with pytest.raises(UsageError, match="a sense name must"):
            check_name(name)


def test_a_name_with_a_hidden_character_is_refused_before_anything_is_stored(tagged: SenseIndex) -> None:  # noqa: F811
    with pytest.raises(UsageError, match="U\\+200B ZERO WIDTH SPACE"):
        tagged.sense("bank").add("finance\u200b", examples("bank", "finance"))
    assert tagged.sense("bank").inventory().sense_names() == ["finance", "river"]
