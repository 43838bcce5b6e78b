"""Sense names in any script a reader can tell apart: joiners where they shape letters (Persian, Indic scripts), one
space for a run of spaces, look-alike letters of another script refused (fake encoder; Python API and command line)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch import SenseIndex
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.errors import UsageError
from sensesearch.inventory import check_name

from .test_sense_inventory import define, examples, tagged, two_word_corpus  # noqa: F401  (fixtures)
from .test_sense_names import built  # noqa: F401  (fixture)

runner = CliRunner()
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want": the prefix mi- kept apart by a ZWNJ
JOINED = [
    PERSIAN,
    "\u0915\u094d\u200d\u0937",  # Devanagari ka, virama, ZWJ, ssa: the half form of ka before ssa
    "\u0915\u094d\u200c\u0937",  # the same with ZWNJ: the virama shown, no conjunct
    "\u0646\u0627\u0645\u0647\u200c\u0647\u0627",  # Persian "letters": heh, ZWNJ, the plural suffix -ha
    "\U0001f469\u200d\u2695\ufe0f",  # emoji ZWJ sequences (Unicode TS #51): woman + staff of Aesculapius, a health worker
    "\U0001f3f3\ufe0f\u200d\U0001f308 pride",  # white flag, emoji form + rainbow
    "\U0001f9d1\U0001f3fd\u200d\U0001f33e farmer",  # person, medium skin tone + sheaf of rice
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # a family: three emoji, two joiners
    "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # England's flag: a tag sequence
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
    ("\U0001f469\u200d", "U+200D ZERO WIDTH JOINER at character 2"),  # no emoji after it
    ("a\u200d\U0001f308", "U+200D ZERO WIDTH JOINER at character 2"),  # no emoji before it
    ("\U0001f469\u200c\U0001f308", "U+200C ZERO WIDTH NON-JOINER at character 2"),  # emoji take ZWJ only
    ("\U0001f469\U000e0067\U000e007f", "U+E0067 TAG LATIN SMALL LETTER G at character 2"),  # tags make flags only
    ("\U0001f3f4\U000e0067\U000e0062", "U+E0067 TAG LATIN SMALL LETTER G at character 2"),  # no cancel tag
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
    # Without its ZWNJ the word reads as the same name (TS #39 skeletons drop default ignorables): not a second sense.
    bare = PERSIAN.replace("\u200c", "")
    with pytest.raises(UsageError) as refused:
        senses.add(bare, examples("bank", "finance")[:1])
    assert str(refused.value).startswith(f"'bank' has the sense {PERSIAN!r}, which '{bare}' reads as (the two differ "
                                         f"only in characters that look alike or do not show)")


def test_a_sense_named_with_an_emoji_zwj_sequence_is_made_and_found(tagged: SenseIndex) -> None:  # noqa: F811
    senses = tagged.sense("bank")
    name = "\U0001f3f3\ufe0f\u200d\U0001f308 river"
    senses.add(name, examples("bank", "river"))
    assert name in senses.inventory().sense_names()
    assert senses.usages(name) == senses.usages(f"  {name} ")


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


LOOK_ALIKES = [
    ("bank", "b\u0430nk", "U+0430 CYRILLIC SMALL LETTER A at character 2"),
    ("river", "riv\u0435r", "U+0435 CYRILLIC SMALL LETTER IE at character 4"),
    ("river", "\u0280\u0456ver", "U+0280 LATIN LETTER SMALL CAPITAL R at character 1"),
    ("finance", "\u0192inance", "U+0192 LATIN SMALL LETTER F WITH HOOK at character 1"),
]


@pytest.mark.parametrize("stored, name, named", LOOK_ALIKES)
def test_a_name_that_reads_as_a_sense_of_the_word_is_refused_naming_it(tagged: SenseIndex,  # noqa: F811
                                                                       stored: str, name: str, named: str) -> None:
    """"b\\u0430nk" (a Cyrillic \\u0430) beside "bank" had been two senses that print alike (Unicode TS #39)."""
    senses = tagged.sense("bank")
    senses.add(stored, examples("bank", "river")[:1])
    before = senses.inventory().sense_names()
    with pytest.raises(UsageError) as refused:
        senses.add(name, examples("bank", "river")[1:])
    assert str(refused.value) == (f"'bank' has the sense '{stored}', which '{name}' reads as ({named} looks like a "
                                  f"letter of it): add to it as it is spelt, or give the new sense a name of its own")
    assert senses.inventory().sense_names() == before


def test_names_wholly_in_another_script_are_senses_of_their_own(tagged: SenseIndex) -> None:  # noqa: F811
    senses = tagged.sense("bank")
    for name in ("bank", "\u0431\u0430\u043d\u043a", "\u03c4\u03c1\u03ac\u03c0\u03b5\u03b6\u03b1", PERSIAN):
        senses.add(name, examples("bank", "finance")[:1])
    assert senses.inventory().sense_names() == sorted(["bank", "finance", "river", "\u0431\u0430\u043d\u043a",
                                                       "\u03c4\u03c1\u03ac\u03c0\u03b5\u03b6\u03b1", PERSIAN])


def test_the_command_line_refuses_a_look_alike_and_keeps_a_persian_name(built: Path) -> None:  # noqa: F811
    refused = runner.invoke(app, ["sense", "add", "bank", "fin\u0430nce", examples("bank", "finance")[0],
                                  "--index", str(built)])
    assert refused.exit_code == 2
    assert ("'bank' has the sense 'finance', which 'fin\u0430nce' reads as (U+0430 CYRILLIC SMALL LETTER A at "
            "character 4") in " ".join(refused.output.split()), refused.output
    kept = runner.invoke(app, ["sense", "add", "bank", PERSIAN, examples("bank", "finance")[0], "--index", str(built)])
    assert kept.exit_code == 0, kept.output
    listed = runner.invoke(app, ["sense", "list", "bank", "--index", str(built), "--json"])
    assert [s["name"] for s in json.loads(listed.stdout)[0]["senses"]] == ["finance", "river", PERSIAN]
