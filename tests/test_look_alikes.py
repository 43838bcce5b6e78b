"""Look-alikes of the apostrophe and the hyphen: one word, one key and one phrase whichever of them a text uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.normalize import fold, older_keys, word_key
from sensesearch.query import gap_key, is_punctuation, parse_marked

from .fake_encoder import FakeEncoder
from .test_normalize import _real_planner

APOSTROPHE_SENTENCES = ["I don't think O'brien went to Hawai'i.",
                        "I don\u2019t think O\u2019brien went to Hawai\u2019i.",
                        "I don\u02bct think O\u02bcbrien went to Hawai\u02bci."]
HYPHEN_SENTENCES = ["A well-known fall to -5 degrees.", "A well\u2212known fall to \u22125 degrees.",
                    "A well\u2010known fall to \u22125 degrees."]


def test_the_modifier_letter_apostrophe_and_the_minus_sign_fold_to_the_marks_they_stand_for() -> None:
    folded = fold("I don\u02bct go to \u22125")
    assert folded.text == "I don't go to -5"
    # Offsets still point into the original text, one character for one.
    assert folded.spans(np.array([[2, 7], [14, 16]])).tolist() == [[2, 7], [14, 16]]
    assert word_key("O\u02bcBrien") == word_key("O'Brien") == "o'brien"
    assert word_key("\u22125") == "-5"
    assert older_keys("don\u02bct") == ["don\u02bct"] and older_keys("don't") == [] and older_keys("bank") == []
    # The okina is a letter of Hawaiian, Tongan and Uzbek: kept, so their words stay whole.
    assert word_key("Hawai\u02bbi") == "hawai\u02bbi" and not fold("Hawai\u02bbi").changed


@pytest.mark.parametrize("sentences", [APOSTROPHE_SENTENCES, HYPHEN_SENTENCES], ids=["apostrophes", "hyphens"])
def test_the_real_tokenizer_cuts_every_look_alike_as_the_ordinary_mark(sentences: list[str]) -> None:
    """U+02BC is a letter (Lm) and U+2212 a math symbol (Sm): BERT's pre-tokenizer kept "donʼt" and "−5" whole (the
    vocabulary holds "##ʼ" and "##−"), where ' and - part words; "−5" was a word no lookup reached."""
    planner = _real_planner()
    spans = planner.plan(sentences).spans
    keys = [[word_key(s[a:b]) for a, b in sp.tolist() if not is_punctuation(s[a:b])] for s, sp in zip(sentences, spans)]
    assert keys[1] == keys[2] == keys[0]
    assert keys[0][:5] in (["i", "don", "t", "think", "o"], ["a", "well", "known", "fall", "to"])
    assert keys[0][-2:] in (["hawai", "i"], ["5", "degrees"])
    assert [sp.tolist() for sp in spans[1:]] == [spans[0].tolist()] * 2  # one character for one: the same offsets
    fake = [e.spans.tolist() for e in FakeEncoder().encode(sentences)]
    assert fake == [sp.tolist() for sp in spans]


def test_look_alikes_between_the_words_of_a_phrase_are_one_mark() -> None:
    assert {gap_key(c) for c in ("'", "\u2019", "\u2018", "\u201b", "\u02bc", "\u2032", "\uff07")} == {"'"}
    assert {gap_key(c) for c in ("-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2212", "\uff0d")} == {"-"}
    assert gap_key("\u2014") != "-"  # an em dash parts clauses, not the parts of a compound


def test_a_marker_may_end_at_a_modifier_letter_apostrophe() -> None:
    assert parse_marked("I [[don]]\u02bct know").word == "don"


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("\n\n".join(APOSTROPHE_SENTENCES + HYPHEN_SENTENCES) + "\n", encoding="utf-8")
    return corpus


def test_usages_find_every_spelling_and_point_at_its_own_characters(tmp_path: Path,
                                                                   fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([_corpus(tmp_path)])
        for spelling in ("don't", "don\u2019t", "don\u02bct", "DON\u02bcT"):
            assert sorted(h.word for h in index.usages(spelling)) == ["don't", "don\u02bct", "don\u2019t"]
        for spelling in ("well-known", "well\u2212known", "well\u2013known", "well\u2011known"):
            assert sorted(h.word for h in index.usages(spelling)) == ["well-known", "well\u2010known",
                                                                      "well\u2212known"]
        assert len(index.usages("Hawai\u02bci")) == 3
        assert len(index.query("They [[don\u02bct]] know.", k=5)) == 3
