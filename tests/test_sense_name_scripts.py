"""Sense names in any script a reader can tell apart: joiners where they shape letters (Persian, Indic scripts), one
space for a run of spaces (fake encoder; Python API)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.errors import UsageError
from sensesearch.inventory import check_name

from .test_sense_inventory import define, examples, tagged, two_word_corpus  # noqa: F401  (fixtures)

PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want": the prefix mi- kept apart by a ZWNJ
JOINED = [
    PERSIAN,
    "\u0915\u094d\u200d\u0937",  # Devanagari ka, virama, ZWJ, ssa: the half form of ka before ssa
    "\u0915\u094d\u200c\u0937",  # the same with ZWNJ: the virama shown, no conjunct
    "\u0646\u0627\u0645\u0647\u200c\u0647\u0627",  # Persian "letters": heh, ZWNJ, the plural suffix -ha
]


@pytest.mark.parametrize("name", JOINED)
def test_a_joiner_that_shapes_the_letters_beside_it_is_kept(name: str) -> None:
    """ZWNJ and ZWJ had been refused wherever they stood, so a Persian lexicographer could not name a sense with a word
    written with one, PERSIAN (IDNA CONTEXTJ: after a virama, or ZWNJ between joining letters)."""
    assert check_name(name) == name


@pytest.mark.parametrize("name, named", [
    ("bank\u200c", "U+200C ZERO WIDTH NON-JOINER at character 5"),
    ("ba\u200cnk", "U+200C ZERO WIDTH NON-JOINER at character 3"),
    ("\u200c\u0645\u06cc", "U+200C ZERO WIDTH NON-JOINER at character 1"),
    ("\u0645\u06cc\u200c", "U+200C ZERO WIDTH NON-JOINER at character 3"),
    ("\u062e\u200d\u062e", "U+200D ZERO WIDTH JOINER at character 2"),  # ZWJ shapes only after a virama
    ("fin\u2065ance", "U+2065 an unassigned character at character 4"),  # had been named "a lone surrogate"
])
def test_a_joiner_where_it_joins_nothing_is_refused_as_before(name: str, named: str) -> None:
    with pytest.raises(UsageError, match="a sense name must show every character") as refused:
        check_name(name)
    assert str(refused.value).endswith(f"it holds {named}")


def test_a_persian_sense_is_made_and_found(tagged: SenseIndex) -> None:  # noqa: F811
    senses = tagged.sense("bank")
    senses.add(PERSIAN, examples("bank", "finance"))
    assert PERSIAN in senses.inventory().sense_names()
    assert senses.usages(PERSIAN) == senses.usages(f" {PERSIAN} ")


def test_a_run_of_spaces_is_one_space(tagged: SenseIndex) -> None:  # noqa: F811
    """"river  side" had been a sense apart from "river side", which a listing prints alike."""
    assert check_name("  river   side  ") == "river side"
    senses = tagged.sense("bank")
    senses.add("river  side", examples("bank", "river")[:1])
    senses.add("river side", examples("bank", "river")[1:])
    assert senses.inventory().sense_names() == ["finance", "river", "river side"]
    assert len(senses.inventory().senses[2].examples) == 2
    assert senses.usages("river   side") == senses.usages("River Side")


def test_an_inventory_holding_a_run_of_spaces_opens_and_is_added_to(
        tmp_path: Path, two_word_corpus: Path, fake_settings: EncoderSettings) -> None:  # noqa: F811
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([two_word_corpus])
        define(index)
    db = sqlite3.connect(tmp_path / "idx" / "meta.sqlite")
    with db:
        db.execute("UPDATE inventory_senses SET name = 'river  side' WHERE word = 'bank' AND name = 'river'")
        db.execute("UPDATE inventory_words SET revision = 'older' WHERE word = 'bank'")
    db.close()
    with SenseIndex.open(tmp_path / "idx") as index:
        senses = index.sense("bank")
        assert senses.usages("river side") == senses.usages("river  side") != []
        senses.add("river side", [examples("bank", "river")[0].replace("grassy", "muddy")])
        assert senses.inventory().sense_names() == ["finance", "river  side"]
        assert senses.remove("River Side") == ["river  side"]
