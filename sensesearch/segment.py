"""Split a document into sentences, as (start, end) character spans of the document text.

Blank lines are hard paragraph breaks; inside a paragraph, Bling Fire's sentence breaker
(a compiled finite-state model, fast enough to cost nothing next to the encoder) decides.
Spans longer than `max_chars` (text without punctuation, tables, logs) are cut at white space
so that one "sentence" never swallows a whole file; nothing is dropped. Paragraphs longer than
`block_chars` go to Bling Fire a block at a time (its Python wrapper allocates some 20 bytes of
buffers per character of input, 200 MB for a 10 MB paragraph); the last sentence of each block is
redone at the start of the next, so block edges do not move sentence boundaries.
"""

from __future__ import annotations

import re

import blingfire

MAX_SENTENCE_CHARS = 2000
BLOCK_CHARS = 100_000
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_LAST_SPACE = re.compile(r"\s(?=\S*$)")


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS,
                    block_chars: int = BLOCK_CHARS) -> list[tuple[int, int]]:
    """Sentence spans covering every non-blank stretch of `text`, in order."""
    spans: list[tuple[int, int]] = []
    start = 0
    for brk in _PARAGRAPH_BREAK.finditer(text):
        spans.extend(_split_paragraph(text, start, brk.start(), max_chars, block_chars))
        start = brk.end()
    spans.extend(_split_paragraph(text, start, len(text), max_chars, block_chars))
    return spans


def _split_paragraph(text: str, start: int, end: int, max_chars: int, block_chars: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    while start < end:
        stop = min(end, start + max(block_chars, 2 * max_chars))
        block = text[start:stop]
        if not block.strip():
            start = stop
            continue
        _, offsets = blingfire.text_to_sentences_and_offsets(block)
        pieces = [piece for s, e in offsets for piece in _cut_long(text, start + s, start + e, max_chars)]
        if stop < end and len(pieces) > 1:
            pieces.pop()
        spans.extend(pieces)
        start = pieces[-1][1] if pieces else stop
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
