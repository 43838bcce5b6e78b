"""Split a document into sentences, as (start, end) character spans of the document text.

Blank lines are hard paragraph breaks; inside a paragraph, Bling Fire's sentence breaker
(a compiled finite-state model, fast enough to cost nothing next to the encoder) decides.
Spans longer than `max_chars` (text without punctuation, tables, logs) are cut at white space
so that one "sentence" never swallows a whole file; nothing is dropped. Paragraphs longer than
`block_chars` go to Bling Fire a block at a time (its Python wrapper allocates some 20 bytes of
buffers per character of input, 200 MB for a 10 MB paragraph); the last sentence of each block is
redone at the start of the next, so block edges do not move sentence boundaries.

Bling Fire's own Python wrapper maps its UTF-8 byte offsets to characters in a loop over every
byte, which cost more than the breaker itself (about 2 s per MB); `sentence_offsets` calls the
library directly and maps offsets with one numpy cumulative sum.
"""

from __future__ import annotations

import re
from ctypes import byref, c_char_p, c_int, c_int32, create_string_buffer

import blingfire
import numpy as np

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
        offsets = sentence_offsets(block)
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


def sentence_offsets(text: str) -> list[tuple[int, int]]:
    """Character (start, end) spans of Bling Fire's sentences in `text`."""
    data = text.encode("utf-8")
    size = len(data) * 2
    out = create_string_buffer(size)
    starts, ends = (c_int32 * size)(), (c_int32 * size)()
    found = blingfire.blingfire.TextToSentencesWithOffsets(c_char_p(data), c_int(len(data)), byref(out),
                                                          byref(starts), byref(ends), c_int(size))
    if found < 0 or found > size:
        return []
    count = out.value.count(b"\n") + 1
    # Characters before each byte position: lead bytes are those that do not match 10xxxxxx.
    raw = np.frombuffer(data, dtype=np.uint8)
    chars_before = np.concatenate([[0], np.cumsum((raw & 0xC0) != 0x80)])
    first = chars_before[np.ctypeslib.as_array(starts)[:count]]
    # Bling Fire's end offsets point at the last byte of a sentence, inclusive.
    last = chars_before[np.minimum(np.ctypeslib.as_array(ends)[:count] + 1, len(data))]
    return list(zip(first.tolist(), last.tolist()))
