"""Concordance lines sorted by context: words only, in Unicode collation order, over every usage before a limit."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import sensesearch
from sensesearch import SenseIndex, UsageError
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.kwicsort import sort_hits
from sensesearch.records import Hit
from sensesearch.server import TOTAL_HEADER, create_app

CITIES = ["The bank of Zurich.", "The bank of Écosse.", "The bank of Edinburgh.", "The bank (of Berlin).",
          "The bank, Aachen.", "A 😀 bank of Oslo."]


def hit(sentence: str, number: int = 0) -> Hit:
    start = sentence.index("bank")
    return Hit(occurrence_id=number, word="bank", sentence=sentence, start=start, end=start + 4, document="d",
               sentence_id=number, position=0, doc_start=start)


def test_context_sort_reads_words_in_collation_order_not_code_points_or_punctuation() -> None:
    hits = [hit(s, i) for i, s in enumerate(CITIES)]
    assert [h.right for h in sort_hits(hits, "right")] == [
        ", Aachen.", " (of Berlin).", " of Écosse.", " of Edinburgh.", " of Oslo.", " of Zurich."]
    # The emoji is no word: the word nearest the keyword on the left is "A".
    assert [h.left for h in sort_hits(hits, "left")][0] == "A 😀 "


@pytest.fixture
def cities_index(tmp_path: Path, fake_settings: EncoderSettings) -> Path:
    (tmp_path / "cities.txt").write_text("\n\n".join(CITIES) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([tmp_path / "cities.txt"])
    return tmp_path / "idx"


def test_limit_is_taken_after_sorting_everywhere(cities_index: Path) -> None:
    """`usages --sort right --limit 2` is the first two lines of the sorted concordance, not the first two
    usages in corpus order sorted (which gave Écosse and Zurich)."""
    with SenseIndex.open(cities_index, read_only=True) as index:
        page = index.usage_page("bank", limit=2, sort="right")
        assert [h.right for h in page.hits] == [", Aachen.", " (of Berlin)."] and page.total == 6
        assert index.usages("bank", limit=2, sort="right") == page.hits
        assert len(index.usages("bank", limit=2)) == 2
        with pytest.raises(UsageError, match="sort must be one of position, left, right"):
            index.usages("bank", sort="score")
    result = CliRunner().invoke(app, ["usages", "bank", "--index", str(cities_index), "--sort", "right",
                                      "--limit", "2"])
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "Aachen" in result.stdout and "Berlin" in result.stdout and "Zurich" not in result.stdout
    assert "2 of 6 usages shown (--limit sets how many)" in result.stderr
    application = create_app(cities_index)
    with TestClient(application, base_url="http://127.0.0.1") as client:
        response = client.get("/api/usages", params={"word": "bank", "limit": 2, "sort": "right"})
    application.state.service.close()
    assert response.status_code == 200, response.text
    assert [h["right"] for h in response.json()] == [", Aachen.", " (of Berlin)."]
    assert response.headers[TOTAL_HEADER] == "6"


def test_shell_usages_follow_sort_and_say_what_was_cut(cities_index: Path) -> None:
    result = CliRunner().invoke(app, ["shell", "--index", str(cities_index)], input=":k 1\n:sort left\n:usages bank\n")
    assert result.exit_code == 0 and result.exception is None, result.output
    lines = [line for line in result.stdout.splitlines() if "bank" in line]
    assert len(lines) == 5 and "A 😀" in lines[0]
    assert "5 of 6 usages shown" in result.stderr


@pytest.mark.parametrize("args", [["usages", ","], ["query", "The [[.]]"], ["usages", "«»"]])
def test_punctuation_is_refused_as_no_word_without_a_useless_hint(cities_index: Path, args: list[str]) -> None:
    """`query "[[.]]"` said "does not occur; try --any-word", which cannot help: punctuation is never stored."""
    result = CliRunner().invoke(app, [*args, "--index", str(cities_index)])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output
    assert "is punctuation or symbols, which the index does not store" in result.output
    assert "any-word" not in result.output


@pytest.mark.parametrize("args", [["query", "The [[bank]]", "--where", "year=1800"],
                                  ["query", "The [[zebra]]", "--where", "year=1800"]])
def test_no_any_word_hint_where_no_document_meets_the_conditions(cities_index: Path, args: list[str]) -> None:
    """"'bank' has no usage where year=1800 (no indexed document meets it) ...; try --any-word": a search of every
    word's usages is kept to the same documents, so it finds nothing either."""
    result = CliRunner().invoke(app, [*args, "--index", str(cities_index)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    # No document has a year: the message says so (a misspelt field reads the same).
    assert "no indexed document has the field 'year'" in result.output and "any-word" not in result.output
    application = create_app(cities_index)
    with TestClient(application, base_url="http://127.0.0.1") as client:
        response = client.post("/api/query", json={"text": args[1], "where": ["year=1800"]})
    application.state.service.close()
    assert response.status_code == 404 and "any_word" not in response.text, response.text


def test_the_any_word_hint_stays_where_it_can_help(cities_index: Path) -> None:
    result = CliRunner().invoke(app, ["query", "The [[zebra]]", "--index", str(cities_index)])
    assert result.exit_code == 1 and "does not occur in the index; try --any-word" in result.output, result.output


def test_letters_decide_before_case_or_accents_over_the_whole_context() -> None:
    """Word-by-word full keys let the capital of the nearest word split a concordance in two blocks:
    "the apple, the zebra, The apple, The zebra"."""
    rights = ["bank the apple", "bank The zebra", "bank The apple", "bank the zebra", "bank Écosse", "bank ecosse"]
    hits = [hit(s, i) for i, s in enumerate(rights)]
    assert [h.right for h in sort_hits(hits, "right")] == [
        " ecosse", " Écosse", " the apple", " The apple", " the zebra", " The zebra"]
    lefts = ["Zany central bank", "The Central bank", "the central bank"]
    assert [h.left for h in sort_hits([hit(s, i) for i, s in enumerate(lefts)], "left")] == [
        "the central ", "The Central ", "Zany central "]


NODE = shutil.which("node")
CONTEXTS = ["the ba\u00adnz", "the ba\u200dnz", "ba\u200bz up", "x\u00b2 b", "H\u2082O\u00b2 in", "bank\u2122 Acme",
            "ba\u00ad\r\n  nk fell", "\uff22\uff41\uff4e\uff4b \ufb01ne \u216b", "cafe\u0301 \u202ebank\u202c",
            "\U0001d41b\U0001d41a\U0001d427\U0001d424 \U00020000x \U0001f600y", "a\u034fb c\ufe0fd \u00a0e\u3000f",
            "don\u02bct O\u02bcbrien \u22125 well\u2212known Hawai\u02bbi"]


@pytest.mark.skipif(NODE is None, reason="no node to run the page's JavaScript")
def test_the_page_reads_context_words_as_the_command_line_sorts_them() -> None:
    """The page sorts query hits itself; NFKC alone read "ba\u00adnk" as the words "ba" and "nk", "ba\u200bz" as one
    word and "x\u00b2" as "x2", where kwicsort (normalize.fold_text) reads "bank", "ba" "z" and "x" "2": the same
    lines came out in another order on the page than on the command line."""
    from sensesearch.kwicsort import _CONTEXT_WORD
    from sensesearch.normalize import fold_text

    script = (Path(sensesearch.__file__).parent / "static" / "text.js").read_text(encoding="utf-8")
    program = script + "\nconst lines = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n" \
        "process.stdout.write(JSON.stringify(lines.map(contextWords)));\n"
    done = subprocess.run([NODE, "-e", program], input=json.dumps(CONTEXTS), capture_output=True, text=True,
                          check=True, timeout=60)
    assert json.loads(done.stdout) == [_CONTEXT_WORD.findall(fold_text(text)) for text in CONTEXTS]
