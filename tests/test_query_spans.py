"""A marked span means whole words as the index stores them: a marker that cuts a word is refused, punctuation in it
is left out of the vector as ingest leaves it out, stray brackets are named; lemmas hang on the word, not on the
Unicode spelling it came in first, and lemma search widens single words only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sensesearch import EncoderSettings, QueryError, SenseIndex
from sensesearch.cli import app
from sensesearch.query import is_punctuation, parse_marked, span_vector

from .fake_encoder import FakeEncoder

runner = CliRunner()


def _index(tmp_path: Path, text: str) -> str:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text(text)
    index = str(tmp_path / "idx")
    result = runner.invoke(app, ["index", str(corpus), "--index", index, "--model", "fake:test", "--quiet"])
    assert result.exit_code == 0, result.output
    return index


@pytest.mark.parametrize("query, cut", [("The b[[a]]nk raised rates.", "bank"), ("The [[ban]]k raised rates.", "bank"),
                                        ("We [[went to the ba]]nk.", "bank"), ("The [[ba]]\u00adnk rose.", "bank"),
                                        ("The [[bank]]\u2060s rose.", "banks")])
def test_a_marker_that_cuts_a_word_is_refused_naming_it(tmp_path: Path, query: str, cut: str) -> None:
    index = _index(tmp_path, "The bank raised rates. A cat sat.\n")
    with SenseIndex.open(index) as opened, pytest.raises(QueryError, match=f"cuts the word '{cut}'"):
        opened.query(query, k=1)
    result = runner.invoke(app, ["query", query, "--index", index])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit) and "cuts the word" in result.output


def test_compare_refuses_a_marker_that_cuts_a_word(tmp_path: Path) -> None:
    lines = tmp_path / "l.txt"
    lines.write_text("The [[ban]]k lent money.\nThe river bank flooded.\n")
    result = runner.invoke(app, ["compare", "bank", str(lines), "--model", "fake:test"])
    assert result.exit_code == 1 and "cuts the word 'bank'" in result.output


@pytest.mark.parametrize("marked", ["We went to the [[bank.]] anyway.", "We went to the [[(bank)]] anyway.",
                                    "We went to the [[ bank, ]] anyway."])
def test_punctuation_inside_the_marker_leaves_the_vector_of_the_word(marked: str) -> None:
    encoder = FakeEncoder()
    plain = parse_marked(marked.replace("[[", "").replace("]]", "").replace("bank", "[[bank]]", 1))
    query = parse_marked(marked)
    assert query.text == plain.text
    _, want = span_vector(encoder.encode([plain.text])[0], plain.start, plain.end, plain.text)
    _, got = span_vector(encoder.encode([query.text])[0], query.start, query.end, query.text)
    np.testing.assert_array_equal(got, want)


def test_a_query_identical_to_a_stored_sentence_scores_one_with_punctuation_in_the_marker(tmp_path: Path) -> None:
    index = _index(tmp_path, "We went to the bank, anyway.\n")
    with SenseIndex.open(index) as opened:
        hit = opened.query("We went to the [[bank,]] anyway.", k=1)[0]
    assert hit.word == "bank" and hit.score == pytest.approx(1.0, abs=1e-4)


def test_a_marker_of_punctuation_only_still_has_a_vector() -> None:
    encoder = FakeEncoder()
    marked = parse_marked("Wait [[...]] what?")
    rows, vector = span_vector(encoder.encode([marked.text])[0], marked.start, marked.end, marked.text)
    assert len(rows) == 3 and np.linalg.norm(vector) == pytest.approx(1.0)


@pytest.mark.parametrize("text", ["bank]] x [[y]]", "the [[bank", "the bank]] rose", "[[a]] b ]]", "the [[bank]]] x",
                                  "the [[[bank]] x"])
def test_stray_brackets_are_named_as_an_unbalanced_marker(text: str) -> None:
    with pytest.raises(QueryError, match="unbalanced"):
        parse_marked(text)


@pytest.mark.parametrize("token, stored", [("❤️", False), ("🏳️\u200d🌈", False), ("👋🏽", False), ("1️⃣", True),
                                           ("café", True), ("cafe\u0301", True), ("\u337b", True), ("\u338f", True),
                                           ("\u2122", True), ("\u2026", False)])
def test_tokens_are_words_or_symbols_as_the_model_reads_them(token: str, stored: bool) -> None:
    """Emoji with a variation selector are symbols like the rest; "㍻" (a symbol folding into 平成), "㎏" and "™" are
    words the model reads, and were never stored, so `usages ㍻` found nothing in a text holding it."""
    assert is_punctuation(token) is not stored


def test_a_lemma_does_not_hang_on_the_spelling_a_word_came_in_first(tmp_path: Path) -> None:
    index = _index(tmp_path, "The \ufb01les were lost. The files were found. He \uff32\uff21\uff2e fast. She ran home.\n")
    for word, forms in (("file", {"ﬁles", "files"}), ("run", {"ＲＡＮ", "ran"})):
        result = runner.invoke(app, ["usages", word, "--lemma", "--index", index, "--json"])
        assert result.exit_code == 0, result.output
        assert {hit["word"] for hit in json.loads(result.stdout)} == forms


def test_lemma_search_of_a_phrase_matches_the_phrase_as_written(tmp_path: Path) -> None:
    index = _index(tmp_path, "I do it. She does it. They did it. I don't know.\n")
    result = runner.invoke(app, ["usages", "don't", "--lemma", "--index", index, "--json"])
    assert result.exit_code == 0, result.output
    assert [hit["word"] for hit in json.loads(result.stdout)] == ["don't"]
    widened = runner.invoke(app, ["usages", "does,", "--lemma", "--index", index, "--json"])
    # "don" is a stored word too (of "don't"), and simplemma's English dictionary gives it the lemma "do".
    assert {hit["word"] for hit in json.loads(widened.stdout)} >= {"did", "do", "does"}


def test_a_marked_word_in_punctuation_is_the_word_everywhere(tmp_path: Path) -> None:
    """`[[bank.]]`: sense add refused it as "not a form of 'bank'", and a filtered query said it did not occur at all."""
    index = _index(tmp_path, "The bank rose. We sat on the bank.\n")
    added = runner.invoke(app, ["sense", "add", "bank", "geo", "The [[bank.]] of it.", "--index", index])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["sense", "list", "--index", index, "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout)[0]["forms"] == ["bank"]
    filtered = runner.invoke(app, ["query", "the [[(bank)]] ran", "--index", index, "--where", "year>1995"])
    assert filtered.exit_code == 1 and "no usage where year>1995 (no indexed document has the field 'year'" in filtered.output
    assert "though the index has 2" in filtered.output
    with SenseIndex.open(index) as opened:
        assert [hit.word for hit in opened.query("We sat on the [[“bank”]].", k=2)] == ["bank", "bank"]
        assert len(opened.sense("bank").query("the [[bank.]] x", "geo", k=5)) == 2


def test_text_values_may_start_with_an_operator_mark_numbers_may_not() -> None:
    from sensesearch.conditions import parse_condition

    assert str(parse_condition("tag=!urgent")) == "tag=!urgent" and str(parse_condition("title=<none>")) == "title=<none>"
    with pytest.raises(QueryError, match="one operator"):
        parse_condition("year=>1900")


def test_sense_commands_read_a_word_in_punctuation_as_the_word(tmp_path: Path) -> None:
    index = _index(tmp_path, "The bank rose. We sat on the bank.\n")
    with SenseIndex.open(index) as opened:
        opened.sense("bank.").add("geo", ["The [[bank]] of it."])
        assert opened.sense("(bank)").inventory() is not None
        assert len(opened.sense("bank,").usages("geo")) == 2


def test_the_python_api_refuses_a_database_other_than_sqlite_and_postgresql(tmp_path: Path) -> None:
    from sensesearch import UsageError

    with pytest.raises(UsageError, match="mysql databases are not supported"):
        SenseIndex.create(tmp_path / "idx", "fake:test", db_url="mysql://u@h/db")
    assert not (tmp_path / "idx").exists()


def test_compare_checks_lines_as_it_reads_them() -> None:
    """A line with "]]" but no "[[" holds no marker for compare; its check refused it as an unbalanced marker."""
    from sensesearch.compare import check_lines

    assert check_lines("bank", ["x = a[b[0]] at the bank", "the [[bank]] rose"]) == [
        "x = a[b[0]] at the bank", "the [[bank]] rose"]


def test_compare_names_lines_as_the_file_numbers_them() -> None:
    """Blank lines were not counted: line 6 of the file was reported as line 5."""
    from sensesearch.compare import check_lines, compare

    lines = ["The bank rose.", "", "A bank fell.", "", "", "Rivers flow."]
    with pytest.raises(QueryError, match="^line 6: 'bank' does not occur"):
        check_lines("bank", lines)
    with pytest.raises(QueryError, match="^line 4: "):
        compare(FakeEncoder(EncoderSettings(model="fake:test")), "bank", ["The bank rose.", "", "", "Banks fell."])


def test_a_query_or_compared_line_is_encoded_as_the_index_cuts_its_text(tmp_path: Path) -> None:
    """A corpus line of two sentences given as the query found its own usage at 0.995, not 1.0, and `compare`
    encoded whole lines, so neither reproduced the index's vectors: the index encodes sentence by sentence."""
    from sensesearch.compare import compare
    from sensesearch.segment import sentence_holding

    line = "The steel beam swung from the crane. Workers watched the tall tower."
    index = _index(tmp_path, line + "\nA crane waded through the marsh.\n")
    with SenseIndex.open(index) as opened:
        hits = opened.query(line.replace("crane", "[[crane]]"), k=1)
        assert hits[0].sentence == "The steel beam swung from the crane." and hits[0].score == pytest.approx(1, abs=1e-4)
        # The second sentence marked: its words' context is their own sentence, as stored.
        assert opened.query(line.replace("Workers", "[[Workers]]"), k=1)[0].score == pytest.approx(1, abs=1e-4)
        stored = opened.word_vectors("crane")[1]
        encoder = opened.searcher.encoder()
    found = compare(encoder, "crane", [line, "A crane waded through the marsh."]).similarity
    assert found[0][1] == pytest.approx(float(stored[0] @ stored[1]), abs=2e-3)  # stored codes are sq8
    assert found[0][1] == compare(encoder, "crane", ["The steel beam swung from the crane.",
                                                     "A crane waded through the marsh."]).similarity[0][1]
    assert sentence_holding(line, 30, 35) == (0, 36) and sentence_holding(line, 37, 44) == (37, len(line))
    assert sentence_holding(line, 30, 44) == (0, len(line)) and sentence_holding("   ", 1, 2) is None


@pytest.mark.parametrize("query, word", [("We sat by the [[bank]]\u00b9 of the river.", "bank"),
                                         ("Water is [[H]]\u2082O here.", "H"), ("[[bank\u00b9]] x", "bank\u00b9")])
def test_a_marker_beside_a_superscript_or_subscript_marks_a_whole_word(query: str, word: str) -> None:
    """A superscript is a word apart ("bank¹" is bank and ¹), but the marker check still took "[[bank]]¹" for a cut
    of the word "bank 1" (quoting folded text the user never typed)."""
    assert parse_marked(query).word == word
    with pytest.raises(QueryError, match="cuts the word '12'"):
        parse_marked("note\u00b9[[\u00b2]] x")


def test_a_stray_mark_after_white_space_is_no_part_of_the_word_marked_after_it() -> None:
    """An uncased tokenizer strips a combining mark that follows a space (it has no letter to sit on), so the index
    stores "bank" in "The \u0301bank is", and the page and a KWIC line mark it so; the marker check read the mark as
    part of the word and refused the index's own word ("the marker cuts the word '\u0301bank'")."""
    from .test_normalize import _real_planner

    sentence = "The \u0301bank is"
    s, e = _real_planner().plan([sentence]).spans[0].tolist()[1]
    assert sentence[s:e] == "bank"
    assert parse_marked(f"{sentence[:s]}[[{sentence[s:e]}]]{sentence[e:]}").word == "bank"
    with pytest.raises(QueryError, match="cuts the word"):
        parse_marked("The [[bank]]\u0301 is")  # a mark on the word's last letter is part of it


def test_compare_refuses_punctuation_for_a_word_before_the_model_loads() -> None:
    """compare '!!' FILE loaded the model, then said "'!!' does not occur in" the first line."""
    from sensesearch.compare import check_lines

    for word in ("!!", "\u2192"):
        with pytest.raises(QueryError, match="is punctuation or symbols"):
            check_lines(word, ["The bank is here!! \u2192"])
    result = CliRunner().invoke(app, ["compare", "!!", "-", "--model", "fake:test"], input="The bank!!\n")
    assert result.exit_code == 1 and "loading the model" not in result.output
