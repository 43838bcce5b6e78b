"""Split a document into sentences, as (start, end) character spans of the document text.

Blank lines are hard paragraph breaks; inside a paragraph, Bling Fire's sentence breaker
(a compiled finite-state model, fast enough to cost nothing next to the encoder) decides.
Spans longer than `max_chars` (text without punctuation, tables, logs) are cut at white space
so that one "sentence" never swallows a whole file; nothing is dropped.
"""

from __future__ import annotations

import re

import blingfire

MAX_SENTENCE_CHARS = 2000
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_LAST_SPACE = re.compile(r"\s(?=\S*$)")


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """Sentence spans covering every non-blank stretch of `text`, in order."""
    spans: list[tuple[int, int]] = []
    start = 0
    for brk in _PARAGRAPH_BREAK.finditer(text):
        spans.extend(_split_paragraph(text, start, brk.start(), max_chars))
        start = brk.end()
    spans.extend(_split_paragraph(text, start, len(text), max_chars))
    return spans


def _split_paragraph(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    paragraph = text[start:end]
    if not paragraph.strip():
        return []
    _, offsets = blingfire.text_to_sentences_and_offsets(paragraph)
    spans: list[tuple[int, int]] = []
    for s, e in offsets:
        spans.extend(_cut_long(text, start + s, start + e, max_chars))
    return spans


def _cut_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        space = _LAST_SPACE.search(window.rstrip())
        cut = start + (space.start() if space and space.start() > max_chars // 2 else max_chars)
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces
