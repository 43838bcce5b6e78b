"""Sentence spans and long-sentence windows."""

from __future__ import annotations

import unicodedata

import pytest

from sensesearch.segment import split_sentences
from sensesearch.windows import best_window, plan_windows


def test_sentences_and_paragraph_breaks() -> None:
    text = "The bank closed. It reopened later!\n\nA new paragraph starts here"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["The bank closed.", "It reopened later!", "A new paragraph starts here"]


def test_offsets_are_character_offsets_with_non_ascii() -> None:
    text = "Café ünïcode «quoted». Second sentence here."
    assert [text[s:e] for s, e in split_sentences(text)] == ["Café ünïcode «quoted».", "Second sentence here."]


def test_very_long_span_is_cut_without_losing_text() -> None:
    text = " ".join(f"word{i}" for i in range(3000))
    spans = split_sentences(text, max_chars=500)
    assert all(e - s <= 500 for s, e in spans)
    assert " ".join(text[s:e] for s, e in spans) == text


def test_text_without_spaces_is_cut_hard() -> None:
    assert split_sentences("x" * 1050, max_chars=500) == [(0, 500), (500, 1000), (1000, 1050)]


def test_blank_text_has_no_sentences() -> None:
    assert split_sentences(" \n\n \t") == []


@pytest.mark.parametrize("separator", ["\x1c", "\x1d", "\x1e", "\x1f"])
def test_an_information_separator_alone_is_no_empty_sentence(separator: str) -> None:
    """Found by the fuzz test: "\x1f\x1b" gave the empty sentence (0, 0). str.isspace takes U+001C..U+001F for white
    space (trimming) and Unicode's White_Space does not (has_visible), so the separator was a sentence until trimmed."""
    assert split_sentences(separator + "\x1b") == [(1, 2)]
    assert split_sentences(separator + "\x1b", max_chars=8, block_chars=10) == [(1, 2)]
    assert split_sentences(separator) == []


def test_windows_cover_every_piece_with_overlap() -> None:
    windows = plan_windows(1000, 510, 128)
    assert windows[0][0] == 0 and windows[-1][1] == 1000
    for (a0, b0), (a1, _) in zip(windows, windows[1:]):
        assert b0 - a1 == 128
    assert plan_windows(20, 510, 128) == [(0, 20)]


def test_best_window_maximises_context_on_both_sides() -> None:
    windows = plan_windows(1000, 510, 128)
    assert best_window(400, 401, windows) == 0
    assert best_window(500, 505, windows) == 1
    assert best_window(999, 999, windows) == len(windows) - 1



@pytest.mark.parametrize("text, cluster", [("a" * 1993 + "e\u0301" * 10 + " end.", "e\u0301"),
                                           ("x" * 1999 + "\U0001f44b\U0001f3fd" + "y" * 30, "\U0001f44b\U0001f3fd")])
def test_a_cut_with_no_space_to_take_keeps_grapheme_clusters_whole(text: str, cluster: str) -> None:
    spans = split_sentences(text)
    assert len(spans) == 2 and spans[0][1] == spans[1][0]
    assert all(unicodedata.category(text[start])[0] != "M" and text[start] != "\U0001f3fd" for start, _ in spans)
    assert sum(text[s:e].count(cluster) for s, e in spans) == text.count(cluster)


def test_sentences_end_at_terminals_of_other_scripts() -> None:
    """Bling Fire runs Hindi sentences ending in the danda together (and Arabic ones ending in "؟")."""
    text = "मैं घर जा रहा हूँ। वह बाज़ार गया। 银行很好。 Hello there. مرحبا؟ كيف حالك. Ու՞ր ես։ Լավ եմ։"
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "मैं घर जा रहा हूँ।", "वह बाज़ार गया।", "银行很好。", "Hello there.", "مرحبا؟", "كيف حالك.", "Ու՞ր ես։",
        "Լավ եմ։"]
