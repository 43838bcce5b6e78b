"""Sense names a reader can tell apart: hidden characters refused, one name in any case, older inventories still
usable (fake encoder; Python API, command line and HTTP)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sensesearch import SenseIndex
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.errors import SenseNotFoundError, UsageError
from sensesearch.inventory import check_name
from sensesearch.server import create_app

from .test_sense_inventory import define, examples, tagged, two_word_corpus  # noqa: F401  (fixtures)

runner = CliRunner()
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
    for name in ("   ", "\u3000", "Unassigned", "UNASSIGNED", "a:b"):
        with pytest.raises(UsageError, match="a sense name must"):
            check_name(name)


def test_a_name_with_a_hidden_character_is_refused_before_anything_is_stored(tagged: SenseIndex) -> None:  # noqa: F811
    with pytest.raises(UsageError, match="U\\+200B ZERO WIDTH SPACE"):
        tagged.sense("bank").add("finance\u200b", examples("bank", "finance"))
    assert tagged.sense("bank").inventory().sense_names() == ["finance", "river"]


@pytest.mark.parametrize("name, stored", [("Finance", "finance"), ("FINANCE", "finance"), (" River ", "river")])
def test_a_second_sense_in_another_case_is_refused_naming_the_first(tagged: SenseIndex,  # noqa: F811
                                                                     name: str, stored: str) -> None:
    """"Finance" beside "finance" had been two senses, splitting the word's usages between two names a reader takes
    for one."""
    senses = tagged.sense("bank")
    expected = f"'bank' has the sense '{stored}', which '{name.strip()}' differs from only in case"
    with pytest.raises(UsageError, match=expected):
        senses.add(name, examples("bank", "finance"))
    assert senses.inventory().sense_names() == ["finance", "river"]


def test_case_is_folded_fully_not_lowered(tagged: SenseIndex) -> None:  # noqa: F811
    """"STRASSE" is "straße" in capitals (full case folding, CaseFolding.txt), though "strasse" != "straße".lower()."""
    senses = tagged.sense("bank")
    senses.add("stra\u00dfe", examples("bank", "river")[:1])
    with pytest.raises(UsageError, match="'bank' has the sense 'straße'"):
        senses.add("STRASSE", examples("bank", "river")[:1])


@pytest.mark.parametrize("first, second, refusal", [
    ("Loans", "loans", "'bank' has the sense 'Loans', which 'loans' differs from only in"),
    ("loans", "l\u043eans", "'bank' has the sense 'loans', which 'l\u043eans' reads as \\(U\\+043E CYRILLIC"),
])
def test_a_labelled_file_naming_one_sense_twice_is_refused_whole(tagged: SenseIndex, tmp_path: Path,  # noqa: F811
                                                                 first: str, second: str, refusal: str) -> None:
    """Each sense of a file had been stored in its own step: the first of two twins was in before the second. Twins
    in case, and in look-alike letters of another script (a Cyrillic \\u043e)."""
    labels = tmp_path / "labels.tsv"
    labels.write_text(f"{first}\t{examples('bank', 'finance')[0]}\n{second}\t{examples('bank', 'finance')[1]}\n")
    with pytest.raises(UsageError, match=refusal):
        tagged.sense("bank").add_from_file(labels)
    assert tagged.sense("bank").inventory().sense_names() == ["finance", "river"]


def test_a_sense_is_found_by_its_name_in_any_case(tagged: SenseIndex) -> None:  # noqa: F811
    """`usages bank --sense Finance` had answered "'bank' has no sense 'Finance'"."""
    senses = tagged.sense("bank")
    finance = [h.occurrence_id for h in senses.usages("finance")]
    assert len(finance) == 3
    assert [h.occurrence_id for h in senses.usages("FINANCE")] == finance
    assert [d.to_dict() for d in senses.documents("Finance")] == [d.to_dict() for d in senses.documents("finance")]
    assert senses.query("the [[bank]] loan", "Finance", k=3) == senses.query("the [[bank]] loan", "finance", k=3)
    assert [h.occurrence_id for h in senses.usages("Unassigned")] == []
    assert senses.remove("RIVER") == ["river"]
    assert senses.inventory().sense_names() == ["finance"]
    with pytest.raises(SenseNotFoundError, match="no sense 'nope'"):
        senses.usages("nope")


def _store_names_as_older_versions_did(path: Path) -> None:
    """Give bank the senses an older sensesearch let in: "Finance" beside "finance", "river\\u200b" (a zero-width
    space) and "cafe\\u0301" (NFD), each with an example of its own."""
    db = sqlite3.connect(path / "meta.sqlite")
    with db:
        db.execute("UPDATE inventory_senses SET name = 'river\u200b' WHERE word = 'bank' AND name = 'river'")
        sense_id = db.execute("SELECT id FROM inventory_senses WHERE word = 'bank' AND name = 'finance'").fetchone()[0]
        for name in ("Finance", "cafe\u0301"):
            new_id = db.execute("INSERT INTO inventory_senses (word, name) VALUES ('bank', ?)", (name,)).lastrowid
            db.execute("INSERT INTO inventory_examples (sense_id, text, start, end, source, occurrence_id, vector) "
                       "SELECT ?, text, start, end, source, NULL, vector FROM inventory_examples WHERE sense_id = ? "
                       "LIMIT 1", (new_id, sense_id))
        db.execute("UPDATE inventory_words SET revision = 'older' WHERE word = 'bank'")
    db.close()


def test_an_inventory_holding_names_older_versions_let_in_opens_and_is_usable(
        tmp_path: Path, two_word_corpus: Path, fake_settings: EncoderSettings) -> None:  # noqa: F811
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([two_word_corpus])
        define(index)
    _store_names_as_older_versions_did(tmp_path / "idx")
    with SenseIndex.open(tmp_path / "idx") as index:
        senses = index.sense("bank")
        assert senses.inventory().sense_names() == ["Finance", "cafe\u0301", "finance", "river\u200b"]
        assert set(senses.counts()) == {"Finance", "cafe\u0301", "finance", "river\u200b", "unassigned"}
        # Spelt as stored, each twin is found; in a third spelling, either could be meant.
        assert senses.usages("Finance") != senses.usages("finance")
        with pytest.raises(UsageError, match="'FINANCE' may name any of the senses 'Finance', 'finance'"):
            senses.usages("FINANCE")
        # What shows is enough where only one name shows so; in NFC the NFD name is found, and added to, not twinned.
        assert senses.usages("river") == senses.usages("river\u200b")
        senses.add("caf\u00e9", examples("bank", "river")[:1])
        assert senses.inventory().sense_names() == ["Finance", "cafe\u0301", "finance", "river\u200b"]
        with pytest.raises(UsageError, match="'bank' has the sense 'river\\\\u200b'"):
            senses.add("river", examples("bank", "river")[:1])
        assert senses.remove("river") == ["river\u200b"]
        assert senses.remove("Finance") == ["Finance"]
        assert senses.usages("FINANCE") == senses.usages("finance")


@pytest.fixture
def built(tmp_path: Path, two_word_corpus: Path) -> Path:  # noqa: F811
    index = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(two_word_corpus), "--index", str(index), "--model", "fake:test",
                               "-q"]).exit_code == 0
    for name in ("finance", "river"):
        added = runner.invoke(app, ["sense", "add", "bank", name, *examples("bank", name), "--index", str(index)])
        assert added.exit_code == 0, added.output
    return index


@pytest.mark.parametrize("name, message", [
    ("Finance", "'bank' has the sense 'finance', which 'Finance' differs from only in case"),
    ("fin\u200bance", "it holds U+200B ZERO WIDTH SPACE at character 4"),
    ("fin\u202eance", "it holds U+202E RIGHT-TO-LEFT OVERRIDE at character 4"),
])
def test_the_command_line_refuses_such_names_as_usage_errors(built: Path, name: str, message: str) -> None:
    result = runner.invoke(app, ["sense", "add", "bank", name, examples("bank", "finance")[0], "--index", str(built)])
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output
    listed = runner.invoke(app, ["sense", "list", "bank", "--index", str(built), "--json"])
    assert [s["name"] for s in json.loads(listed.stdout)[0]["senses"]] == ["finance", "river"]


def test_the_command_line_finds_a_sense_in_any_case(built: Path) -> None:
    by_case = [runner.invoke(app, ["usages", "bank", "--sense", sense, "--index", str(built), "--json"])
               for sense in ("river", "RIVER", " River ")]
    assert all(r.exit_code == 0 for r in by_case), [r.output for r in by_case]
    assert len(json.loads(by_case[0].stdout)) == 3 and len({r.stdout for r in by_case}) == 1
    documents = runner.invoke(app, ["sense", "documents", "bank:FINANCE", "--index", str(built), "--json"])
    assert documents.exit_code == 0 and json.loads(documents.stdout), documents.output
    removed = runner.invoke(app, ["sense", "remove", "bank", "River", "--index", str(built)])
    assert removed.exit_code == 0 and "Removed from bank: 'river'" in removed.stderr, removed.output


@pytest.fixture
def client(tmp_path: Path, two_word_corpus: Path, fake_settings: EncoderSettings) -> Iterator[TestClient]:  # noqa: F811
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([two_word_corpus])
        define(index)
    _store_names_as_older_versions_did(tmp_path / "idx")
    application = create_app(tmp_path / "idx")
    with TestClient(application, base_url="http://127.0.0.1") as test_client:
        yield test_client
    application.state.service.close()


def test_http_finds_a_sense_in_any_case_and_refuses_an_ambiguous_name(client: TestClient) -> None:
    river = client.get("/api/usages", params={"word": "bank", "sense": "river\u200b"})
    assert river.status_code == 200 and len(river.json()) == 3
    assert client.get("/api/usages", params={"word": "bank", "sense": "RIVER"}).json() == river.json()
    documents = client.get("/api/sense/documents", params={"word": "bank", "sense": "River"})
    assert documents.status_code == 200 and documents.json(), documents.text
    near = client.post("/api/query", json={"text": "The [[bank]] of the river.", "sense": "bank:RIVER", "k": 2})
    assert near.status_code == 200 and [h["occurrence_id"] for h in near.json()], near.text
    ambiguous = client.get("/api/usages", params={"word": "bank", "sense": "FINANCE"})
    assert ambiguous.status_code == 400
    assert "may name any of the senses 'Finance', 'finance'" in ambiguous.json()["error"]
