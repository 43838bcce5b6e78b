"""Line structure: list items, headings and one-line units end a sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensesearch import SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.segment import split_sentences

ITEMS = ["The canoe drifted to the muddy bank of the river", "The bank raised the interest on my savings",
         "Herons waited on the bank of the stream"]


def _pieces(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


@pytest.mark.parametrize("marker", ["- ", "* ", "+ ", "\u2022 ", "\u2013 ", "1. ", "1) ", "a) "])
def test_each_list_item_is_its_own_sentence(marker: str) -> None:
    lines = [marker.replace("1", str(i + 1)).replace("a", "abc"[i]) + item for i, item in enumerate(ITEMS)]
    assert _pieces("Shopping notes:\n" + "\n".join(lines) + "\n") == ["Shopping notes:", *lines]


def test_wrapped_list_item_keeps_its_continuation() -> None:
    text = "- The canoe drifted to the\n  muddy bank of the river\n- The bank raised rates"
    assert _pieces(text) == ["- The canoe drifted to the\n  muddy bank of the river", "- The bank raised rates"]


@pytest.mark.parametrize(("text", "want"), [
    ("# River banks\nThe canoe drifted to the muddy bank.", ["# River banks", "The canoe drifted to the muddy bank."]),
    ("River banks\n===========\nThe canoe drifted to the bank.", ["River banks\n===========",
                                                                  "The canoe drifted to the bank."]),
    ("Introduction\nThe canoe drifted slowly to the muddy bank of the river.",
     ["Introduction", "The canoe drifted slowly to the muddy bank of the river."]),
    ("\u7b2c\u4e00\u7ae0\n\u6211\u4eec\u5728\u6cb3\u8fb9\u7684\u94f6\u884c\u9644\u8fd1\u6563\u6b65\u7136\u540e\u56de\u5bb6\u4e86",
     ["\u7b2c\u4e00\u7ae0", "\u6211\u4eec\u5728\u6cb3\u8fb9\u7684\u94f6\u884c\u9644\u8fd1\u6563\u6b65\u7136\u540e\u56de\u5bb6\u4e86"]),
])
def test_headings_and_one_line_units_end_a_sentence(text: str, want: list[str]) -> None:
    assert _pieces(text) == want


@pytest.mark.parametrize("text", [
    "The canoe drifted to the muddy\nbank of the river and stopped.",
    "We saw the bank of the river, and\nthe herons there were waiting.",
    "He said that\nMr. Smith had paid.",
])
def test_hard_wrapped_prose_is_not_cut(text: str) -> None:
    assert _pieces(text) == [text]


def test_list_without_blank_lines_scores_like_separate_paragraphs(tmp_path: Path,
                                                                   fake_settings: EncoderSettings) -> None:
    listed = "\n".join("- " + item for item in ITEMS) + "\n"
    spaced = "\n\n".join("- " + item for item in ITEMS) + "\n"
    scores = []
    for name, text in (("listed", listed), ("spaced", spaced)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "l.txt").write_text(text)
        with SenseIndex.create(tmp_path / f"idx-{name}", settings=fake_settings, compression="flat") as index:
            index.add([tmp_path / name])
            hits = index.query("We sat on the [[bank]] of the river.", k=3)
            assert index.info().sentences == 3
            scores.append([(h.sentence, h.score) for h in hits])
    assert scores[0] == scores[1]
    assert "river" in scores[0][0][0] and scores[0][0][1] > scores[0][-1][1]


@pytest.mark.slow
def test_list_items_score_like_paragraphs_with_the_real_model(tmp_path: Path, minilm) -> None:
    scores = []
    for name, joint in (("listed", "\n"), ("spaced", "\n\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "l.txt").write_text(joint.join("- " + item for item in ITEMS) + "\n")
        with SenseIndex.create(tmp_path / f"idx-{name}", settings=EncoderSettings(), encoder=minilm,
                               compression="flat") as index:
            index.add([tmp_path / name])
            scores.append({h.sentence: h.score for h in index.query("We sat on the [[bank]] of the river.", k=3)})
    assert scores[0].keys() == scores[1].keys() == {"- " + item for item in ITEMS}
    for sentence, score in scores[0].items():
        assert score == pytest.approx(scores[1][sentence], abs=1e-4)
    assert scores[0]["- " + ITEMS[0]] > scores[0]["- " + ITEMS[1]]


WRAPPED = ("River Notes\n\nThe bank raised its rates on a grey\nmorning in May. We sat on the grassy bank.\n\n"
           "- one item\n- another item\n")


@pytest.mark.parametrize("line_end", ["\r", "\r\n", "\u2028", "\x85", "\x0b"])
def test_every_line_end_gives_the_sentences_of_lf(line_end: str) -> None:
    text = WRAPPED.replace("\n", line_end)
    expected = [text_piece.replace("\n", line_end) for text_piece in
                ["River Notes", "The bank raised its rates on a grey\nmorning in May.", "We sat on the grassy bank.",
                 "- one item", "- another item"]]
    assert [text[a:b] for a, b in split_sentences(text)] == expected


def test_a_page_break_or_line_separator_inside_a_sentence_does_not_end_it() -> None:
    # pdftotext ends a page's last line and starts the next page with a form feed: "\n\f" is no blank line.
    for text in ("The old bank\u2028rose from the river.", "The old bank\x0crose from the river.",
                 "The members agreed to\n\x0cpostpone the vote until spring."):
        assert split_sentences(text) == [(0, len(text))]
    assert [t[a:b] for t in ["One para.\u2029Two para."] for a, b in split_sentences(t)] == ["One para.", "Two para."]


@pytest.mark.parametrize("blank", ["\u00a0", "\u3000", " \u2009\t\u202f", "\u200b", "\ufeff", "\u00a0\u200b "])
def test_a_line_with_nothing_visible_on_it_is_a_blank_line(blank: str) -> None:
    """A line of no-break spaces (HTML exports write &nbsp; paragraphs), of ideographic spaces or of invisible
    characters looks blank and is: the sentence before it ran on across it into the next paragraph."""
    text = f"the river ran past the old mill\n{blank}\nthe bank was steep and wet here."
    assert _pieces(text) == ["the river ran past the old mill", "the bank was steep and wet here."]
    assert len(_pieces("the river ran past the old mill\nx\nthe bank was steep and wet here.")) == 1


def test_sentences_leave_out_white_space_at_their_edges() -> None:
    text = "It was alike.[1]\nThe bank is here.[2] \nEnd."
    assert [text[a:b] for a, b in split_sentences(text)] == ["It was alike.[1]", "The bank is here.[2]", "End."]


URL_PARAGRAPH = ("Last week a letter from Mr. Harold Smith of the Farmers\nTrust wrote to us about the bank and its plans for"
                 " the\nnew branch, which you can read at this address:\n"
                 "https://www.example.org/archive/letters/2024/harold-smith-farmers-trust-bank-branch-plans.html\n"
                 "We will reply soon.")


@pytest.mark.parametrize(("text", "want"), [
    # One unbreakable line (a URL) had made every wrapped line "short", cutting "...of the Farmers" / "Trust wrote".
    (URL_PARAGRAPH, [URL_PARAGRAPH]),
    # A cross-reference or a spaced dash at a line start is no list item when the sentence goes on in lower case.
    ("Except as provided in paragraph\n(2) of this subsection, the bank shall file a report.",
     ["Except as provided in paragraph\n(2) of this subsection, the bank shall file a report."]),
    ("It was a fine stone building\n\u2013 the finest in the county \u2013 and it was\nowned by the bank.",
     ["It was a fine stone building\n\u2013 the finest in the county \u2013 and it was\nowned by the bank."]),
    ("Items\n- apples\n- oranges", ["Items", "- apples", "- oranges"]),  # a run of items is a list, lower case or not
    ("Things we need\n- bread", ["Things we need", "- bread"]),  # a one-item list: the item is short
    # An item's wrapped line is no prose going on: the list stays a list, its later items too.
    ("Shopping list\n- eggs from the farm\n  on Sunday\n- milk",
     ["Shopping list", "- eggs from the farm\n  on Sunday", "- milk"]),
    ("Shopping list\n1. eggs from the farm\n   on Sunday\n2. milk\n3. bread",
     ["Shopping list", "1. eggs from the farm\n   on Sunday", "2. milk", "3. bread"]),
    # An underlined heading's title had joined the line before it.
    ("We walked to the bank\nHistory of the bank\n-------\nIt was founded in 1820.",
     ["We walked to the bank", "History of the bank\n-------", "It was founded in 1820."]),
    # A transcript's timed turns and a subtitle cue's timing line are units of their own: four turns of two
    # speakers had been one sentence, and a cue's timing had joined its text.
    ("[00:00:01] A: We walked to the bank.\n[00:00:05] B: Which one, the river or the money one\n"
     "[00:00:10] B: Nobody knew.",
     ["[00:00:01] A: We walked to the bank.", "[00:00:05] B: Which one, the river or the money one",
      "[00:00:10] B: Nobody knew."]),
    ("1\n00:00:01,000 --> 00:00:04,000\nWe sat on the bank\nof the river.",
     ["1", "00:00:01,000 --> 00:00:04,000", "We sat on the bank\nof the river."]),
    ("The meeting began at 10:30 and the bank\n(12:30) closed its doors early.",  # a time inside a sentence
     ["The meeting began at 10:30 and the bank\n(12:30) closed its doors early."]),
    # A sentence does not start in lower case after a quoted question.
    ('"Why?" he asked. "Because the bank closed!" she said. Then they left.',
     ['"Why?" he asked.', '"Because the bank closed!" she said.', "Then they left."]),
])
def test_line_structure_and_sentence_starts_of_real_text(text: str, want: list[str]) -> None:
    assert _pieces(text) == want
