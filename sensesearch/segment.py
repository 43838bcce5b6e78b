"""Split a document into sentences, as (start, end) character spans of the document text.

Blank lines are hard paragraph breaks. Line structure is kept too: a list item (a line starting with
-, *, +, •, ◦, ▪, –, — or a number or letter like "1." "2)" "a)") starts a new unit, and so does
the line after a heading ("# Title", a line underlined with === or ---) or after a short line
without sentence-final punctuation (under 60% of the paragraph's longest line) when the next
line starts with a capital letter or digit: a title, a label, an address line. No sentence
crosses a unit boundary; a list item's wrapped continuation lines stay with it. Inside a unit,
Bling Fire's sentence breaker
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
import regex

from .normalize import IGNORABLE, has_visible

MAX_SENTENCE_CHARS = 2000
LONG_TOKEN = 40
"""Characters from which a token (a URL, a path) counts as unbreakable when judging a paragraph's line width."""
BLOCK_CHARS = 100_000
_CLUSTER = regex.compile(r"\X", regex.DOTALL)
_PARAGRAPH_BREAK = regex.compile(rf"(?:\n(?:[^\S\n]|\u200b|{IGNORABLE})*\n|\u2029)\s*")
"""A blank line (nothing visible on it: a line of no-break or ideographic spaces, as HTML exports and Japanese text
write one, or of a zero-width space or BOM, is blank too; sentences had run across it) or a paragraph separator."""
_LINE_BREAKS = str.maketrans({**dict.fromkeys("\r\x0b\x1c\x1d\x1e\x85\u2028", "\n"), "\x0c": " "})
"""Line ends other than LF (Unicode's mandatory breaks, UAX #14, and what Python's str.splitlines ends lines at; the
paragraph separator U+2029 stays, a paragraph break of its own), read as LF. A form feed is a page break, read as a
space: pdftotext ends a page's last line with LF and starts the next page with one, inside a sentence as often as
not, and two line ends there made a paragraph break."""
_LAST_SPACE = re.compile(r"\s(?=\S*$)")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+\u2022\u25e6\u25aa\u2023\u2013\u2014]|\(?(?:\d{1,3}|[a-z])[.)])[ \t]+(?=\S)")
_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]+\S")
_UNDERLINE = re.compile(r"[ \t]*(?:={3,}|-{3,})[ \t]*")
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_TIMED = re.compile(rf"[ \t]*[\[(]{_TIME}[\])]")
"""A transcript line's start: a bracketed time ("[00:01:05]", "(12:30)"), each such line a turn of its own."""
_TIMING = re.compile(rf"[ \t]*{_TIME}[ \t]*-->[ \t]*{_TIME}.*")
"""A subtitle cue's timing line (SRT, WebVTT: "00:00:01,000 --> 00:00:04,000"), a unit apart from its text."""
_TERMINAL = regex.compile(r"((?![.!?])\p{Sentence_Terminal}[\p{Pe}\p{Pf}\"']*)\s+")
_ASKED = re.compile(r"[?!\u203d][\"'\u201d\u2019\u00bb)\]]*\s*$")
_FINAL = re.compile(r"[.!?;:,\u2026\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*$")


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS,
                    block_chars: int = BLOCK_CHARS) -> list[tuple[int, int]]:
    """Sentence spans covering every non-blank stretch of `text`, in order, white space at their edges left out.

    Lines end at LF, CR, CRLF and every other line end of Unicode (_LINE_BREAKS): a classic Mac file (CR) kept its
    headings and paragraphs, and a form feed or U+2028 inside a sentence no longer ends it.
    """
    text = text.replace("\r\n", " \n").translate(_LINE_BREAKS)  # character for character: spans are the same
    spans: list[tuple[int, int]] = []
    start = 0
    paragraphs = []
    for brk in _PARAGRAPH_BREAK.finditer(text):
        paragraphs.append((start, brk.start()))
        start = brk.end()
    paragraphs.append((start, len(text)))
    for first, last in paragraphs:
        for unit_start, unit_end in line_units(text, first, last):
            # A list marker ("1.", "a)") is no sentence of its own: the breaker reads the item after it.
            marker = _LIST_ITEM.match(text, unit_start, unit_end)
            pieces = _split_paragraph(text, marker.end() if marker else unit_start, unit_end, max_chars, block_chars)
            if marker and pieces:
                pieces[0] = (unit_start, pieces[0][1])
            spans.extend(pieces)
    # Trimmed first: str.isspace takes U+001C..U+001F for white space, Unicode's White_Space (has_visible) does not,
    # so "\x1f" alone was visible before trimming and an empty sentence (0, 0) after it.
    trimmed = (_trimmed(text, start, end) for start, end in spans)
    return [(start, end) for start, end in trimmed if start < end and has_visible(text, start, end)]


def sentence_holding(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of `text` an index encodes [start, end) in: the sentence of split_sentences holding it (the run of
    sentences from the first to the last it overlaps, for a span across a boundary); None where it lies in none.
    Whatever is encoded to be compared with indexed usages (a query, an evaluation item, a compared line) is cut
    so, since a word's vector depends on all of the text encoded with it."""
    inside = [(s, e) for s, e in split_sentences(text) if s < max(end, start + 1) and start < e]
    return (inside[0][0], inside[-1][1]) if inside else None


def line_units(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The paragraph text[start:end] cut before list items and timed transcript lines, around subtitle timings, and
    after headings and one-line units."""
    if text.find("\n", start, end) < 0:
        return [(start, end)]
    lines: list[tuple[int, int]] = []
    at = start
    while at < end:
        stop = text.find("\n", at, end)
        stop = end if stop < 0 else stop
        lines.append((at, stop))
        at = stop + 1
    texts = [text[a:b] for a, b in lines]
    width = _wrap_width(texts)
    units: list[tuple[int, int]] = []
    unit_start = lines[0][0]
    in_list = _LIST_ITEM.match(texts[0]) is not None  # the unit being built is a list item (with its wrapped lines)
    for i in range(len(lines) - 1):
        this, following = texts[i], texts[i + 1]
        after = texts[i + 2] if i + 2 < len(lines) else ""
        titled = _UNDERLINE.fullmatch(after) is not None  # `following` is a heading's title
        continued = not in_list and _continues(this, following, after, width)
        if ((_LIST_ITEM.match(following) and not continued) or _HEADING.match(following) or _HEADING.match(this)
                or _UNDERLINE.fullmatch(this) or titled or _timed_turn(this, following)
                or _TIMING.fullmatch(this) or _TIMING.fullmatch(following)
                or (not continued and _is_one_line_unit(this, following, width))):
            units.append((unit_start, lines[i][1]))
            unit_start = lines[i + 1][0]
            in_list = _LIST_ITEM.match(following) is not None
    units.append((unit_start, end))
    return [(a, _trimmed_end(text, a, b)) for a, b in units]


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) without white space at either edge (Bling Fire keeps a line end after "[1]")."""
    end = _trimmed_end(text, start, end)
    while start < end and text[start].isspace():
        start += 1
    return start, end


def _trimmed_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _wrap_width(lines: list[str]) -> int:
    """The paragraph's line width: its longest line among those without a token of LONG_TOKEN characters or more,
    which runs past the width because it cannot be broken (a URL line had made every wrapped line "short")."""
    lengths = [len(line.strip()) for line in lines]
    breakable = [n for n, line in zip(lengths, lines) if not any(len(t) >= LONG_TOKEN for t in line.split())]
    return max(breakable or lengths)


def _timed_turn(line: str, following: str) -> bool:
    """Whether `following` starts a transcript turn with a bracketed time ("[00:00:05] B: ..."), unless the sentence
    of `line` (no final punctuation) goes on after the time in lower case ("... the bank" / "(12:30) closed ...")."""
    timed = _TIMED.match(following)
    return timed is not None and not _goes_on(line, following[timed.end():].lstrip()[:1])


def _goes_on(line: str, head: str) -> bool:
    """Whether the sentence of `line` goes on in the next line's text, which starts with `head`: `line` stops without
    final punctuation and `head` is a lower-case letter."""
    stripped = line.strip()
    return bool(stripped) and not _FINAL.search(stripped) and head.islower()


def _continues(line: str, item: str, after: str, width: int) -> bool:
    """Whether `item`, a line that starts like a list item, goes on with the sentence of `line` (a line of no list
    item) instead, as in "... in paragraph" / "(2) of this subsection, ..." or "... a fine stone building" / "– the
    finest in the county – and ...": `line` stops without final punctuation, the item's text starts in lower case,
    and the text goes on as prose: the line `after` is neither an item nor an item's indented wrapped line (a list
    has a run of them), and it holds text or the item runs to the paragraph's width (a one-item list "- bread" is
    short)."""
    marker = _LIST_ITEM.match(item)
    return (_goes_on(line, item[marker.end():marker.end() + 1] if marker else "")
            and not _LIST_ITEM.match(after) and not after.startswith((" ", "\t"))
            and (bool(after.strip()) or len(item.strip()) >= 0.6 * width))


def _is_one_line_unit(line: str, following: str, width: int) -> bool:
    """A short line without final punctuation, followed by a line that starts like a new unit."""
    stripped = line.strip()
    if not stripped or _FINAL.search(stripped) or len(stripped) >= 0.6 * width:
        return False
    head = following.lstrip(" \t\"'\u201c\u2018(")[:1]
    # Upper case, a digit, or a letter of a script without case (CJK, Arabic, ...).
    return head.isupper() or head.isdigit() or (head.isalpha() and head.lower() == head.upper())


def _split_paragraph(text: str, start: int, end: int, max_chars: int, block_chars: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    while start < end:
        stop = min(end, start + max(block_chars, 2 * max_chars))
        block = text[start:stop]
        if not block.strip():
            start = stop
            continue
        offsets = _rejoined(block, sentence_offsets(block))
        pieces = [piece for s, e in offsets for part in _split_at_terminals(text, start + s, start + e)
                  for piece in _cut_long(text, *part, max_chars)]
        if stop < end and len(pieces) > 1:
            pieces.pop()
        spans.extend(pieces)
        start = pieces[-1][1] if pieces else stop
    return spans


def _rejoined(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Bling Fire's sentences with a sentence that starts in lower case after a question or exclamation mark (and
    closing quotes) joined to the one before: '"Why?" he asked.' is one sentence, not '"Why?"' and 'he asked.'."""
    joined: list[tuple[int, int]] = []
    for start, end in spans:
        if joined and _ASKED.search(text, joined[-1][0], joined[-1][1]) and text[start:start + 1].islower():
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def _split_at_terminals(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The span [start, end) cut after each non-ASCII sentence terminal followed by white space, which Bling Fire
    does not break at: the Devanagari danda "।", the Arabic question mark "؟", the Armenian, Ethiopic, Myanmar and
    Khmer full stops (Unicode's Sentence_Terminal property, UAX #29; ". ! ?" stay Bling Fire's to judge)."""
    spans = []
    for found in _TERMINAL.finditer(text, start, end):
        if found.end() < end:
            spans.append((start, found.end(1)))
            start = found.end()
    spans.append((start, end))
    return spans


def _cut_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        space = _LAST_SPACE.search(window.rstrip())
        cut = start + space.start() if space and space.start() > max_chars // 2 else _cluster_cut(text, start, max_chars)
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append((start, end))
    return pieces


def _cluster_cut(text: str, start: int, max_chars: int) -> int:
    """The last grapheme cluster boundary (Unicode UAX #29, regex's \\X) within max_chars of `start`: a cut with no
    space to take never parts a letter from its accents or an emoji from its skin tone."""
    cut = start
    for cluster in _CLUSTER.finditer(text, start, start + max_chars + 1):
        if cluster.end() - start > max_chars:
            break
        cut = cluster.end()
    return cut if cut > start else start + max_chars


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
