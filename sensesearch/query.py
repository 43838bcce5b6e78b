"""Query texts: the one span marked as [[word]], word keys for lookup, and phrases as runs of stored words."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
import regex

from .errors import QueryError
from .normalize import (CLUSTER, GLUING, IGNORABLE, clean_text, fold_text, only_ignorables, raised, same_marks,
                        word_key)
from .records import EncodedSentence
from .segment import sentence_holding

_MARKER = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)
_IGNORED = regex.compile(IGNORABLE)
# Not the GLUING look-alikes (the modifier letter apostrophe is a letter): fold makes them marks that part words.
_WORD_CHAR = regex.compile(rf"(?![\p{{Han}}{GLUING}])[\p{{L}}\p{{M}}\p{{N}}]")
_MARK = regex.compile(r"\p{M}")


@dataclass(frozen=True)
class MarkedQuery:
    """A query sentence without its brackets, and the character span of the marked word in it."""

    text: str
    start: int
    end: int

    @property
    def word(self) -> str:
        return self.text[self.start : self.end]


def parse_marked(text: str) -> MarkedQuery:
    """Strip the single [[...]] marker from `text`; QueryError if there is none, several, or an empty one.

    The text is taken as indexed text is (normalize.clean_text: NUL and lone surrogates become U+FFFD).
    """
    text = clean_text(text)
    markers = list(_MARKER.finditer(text))
    if not markers:
        if "[[" in text or "]]" in text:
            raise QueryError("unbalanced [[ ]] marker in the query")
        raise QueryError('mark the word to search for with double brackets, e.g. "the [[bank]] raised its rates"')
    if len(markers) > 1:
        raise QueryError(f"mark exactly one word; found {len(markers)} markers: "
                         + ", ".join(repr(m.group(0)) for m in markers))
    marker = markers[0]
    inner = marker.group(1)
    if not inner.strip():
        raise QueryError("the marked word is empty: put a word between [[ and ]]")
    if ("[[" in inner or "]]" in text[:marker.start()] or "]]" in text[marker.end():] or "[[" in text[marker.end():]
            or inner.startswith("[") or text[marker.end():marker.end() + 1] == "]"):
        raise QueryError("unbalanced [[ ]] marker in the query")
    return marked_span(text[: marker.start()] + inner + text[marker.end():], marker.start(),
                       marker.start() + len(inner))


def marked_span(text: str, start: int, end: int) -> MarkedQuery:
    """The span [start, end) of `text` (character offsets) as a marked query, white space around it left out; the
    checks `parse_marked` makes of a marker's span: QueryError when it is empty, out of range or cuts a word.
    The text is taken as indexed text is (normalize.clean_text, which keeps every offset)."""
    text = clean_text(text)
    if not 0 <= start < end <= len(text):
        raise QueryError(f"the span {start}..{end} is not within the text's {len(text)} characters")
    inner = text[start:end]
    if not inner.strip():
        raise QueryError("the marked word is empty: put a word between [[ and ]]")
    start += len(inner) - len(inner.lstrip())
    marked = MarkedQuery(text=text, start=start, end=start + len(inner.strip()))
    cut = _cut_word(text, marked.start, marked.end)
    if cut is not None:
        raise QueryError(f"the marker cuts the word {cut!r}: mark whole words, e.g. [[{cut}]]")
    return marked


def _cut_word(text: str, start: int, end: int) -> str | None:
    """The word [start, end) cuts, seen without a tokenizer: a BERT-style pre-tokenizer never parts two letters,
    marks or digits that touch (a CJK ideograph is a word of its own), so a marker edge between two is inside one."""
    for edge in (start, end):
        # Characters fold drops (a zero-width space, a soft hyphen) do not part words: look past them.
        before, after = edge - 1, edge
        while before >= 0 and _IGNORED.fullmatch(text[before]):
            before -= 1
        if before >= 0 and _baseless(text, before):
            # A mark with no letter under it (after white space) is no part of the word after it: an uncased
            # tokenizer strips it, and the index stores "bank" in "The \u0301bank", which the page marks so.
            continue
        while after < len(text) and _IGNORED.fullmatch(text[after]):
            after += 1
        if before >= 0 and after < len(text) and _in_word(text[before], raised(text[after])) and _in_word(
                text[after], raised(text[after])):
            level = raised(text[after])
            first = edge
            while first > 0 and (_in_word(text[first - 1], level) or _IGNORED.fullmatch(text[first - 1])):
                first -= 1
            last = edge
            while last < len(text) and (_in_word(text[last], level) or _IGNORED.fullmatch(text[last])):
                last += 1
            return fold_text(text[first:last])
    return None


def _baseless(text: str, at: int) -> bool:
    """Whether text[at] is a combining mark with no base: only marks (and ignorables) lie between it and white space
    or the start of the text."""
    if not _MARK.fullmatch(text[at]):
        return False
    while at >= 0 and (_MARK.fullmatch(text[at]) or _IGNORED.fullmatch(text[at])):
        at -= 1
    return at < 0 or text[at].isspace()


def _in_word(char: str, level: str) -> bool:
    """Whether `char` continues a word written at `level` (normalize.raised): a letter, mark or digit on the same line,
    since a superscript or subscript is a word apart from the text beside it ("bank¹" is bank and ¹)."""
    return bool(_WORD_CHAR.fullmatch(char)) and raised(char) == level


def normalize_form(word: str) -> str:
    """The lookup key of a word (normalize.word_key: Unicode-folded and case-folded); the one key function."""
    return word_key(word)


def is_punctuation(word: str) -> bool:
    """True for tokens made only of punctuation and symbols as the model reads them (normalize.fold_text: NFKC, so
    "㍻" is the word 平成 and "㎏" the word kg, not symbols); those are not stored as occurrences.

    Marks count as what they sit on: emoji variation selector 16 (U+FE0F, a mark) makes "❤️" no more a word than
    "❤", and the keycap mark leaves "1️⃣" a digit.
    """
    return all(unicodedata.category(ch)[0] in "PSZCM" for ch in (word if word.isascii() else fold_text(word)))


def bare_word(text: str) -> str:
    """`text` without the white space, punctuation and symbols around it (whole grapheme clusters that
    `is_punctuation`), so "bank.", "(bank)" and “bank” ask for the word bank as the index stores it; text of
    nothing else is left as it is."""
    clusters = CLUSTER.findall(text)
    first = next((i for i, c in enumerate(clusters) if not is_punctuation(c)), None)
    if first is None:
        return text
    last = next(i for i in range(len(clusters) - 1, -1, -1) if not is_punctuation(clusters[i]))
    return "".join(clusters[first:last + 1])


def bare_key(text: str) -> str:
    """The lookup key of the word `text` names, punctuation around it left out: normalize_form(bare_word(text))."""
    return normalize_form(bare_word(text))


def words_in_span(spans: np.ndarray, start: int, end: int) -> list[int]:
    """Rows of word spans that overlap the character range [start, end)."""
    return [i for i, (s, e) in enumerate(spans.tolist()) if s < end and e > start]


def own_sentence(text: str, start: int, end: int) -> tuple[str, int, int]:
    """The sentence of `text` holding [start, end) as the index cuts text (segment.sentence_holding; all of `text`
    where it lies in none), and the span's offsets in it: what is encoded for a query or a compared line, so that a
    corpus sentence given in its paragraph gets the very vector the index stored for it (cosine 1.0, not 0.995)."""
    found = sentence_holding(text, start, end)
    if found is None:
        return text, start, end
    return text[found[0]:found[1]], start - found[0], end - found[0]


def span_vector(encoded: EncodedSentence, start: int, end: int, text: str) -> tuple[list[int], np.ndarray]:
    """Rows of the words of `text` (the encoded sentence) that [start, end) marks, and the unit mean of their vectors.

    Punctuation among them is left out, as ingest leaves it out of a stored phrase, unless the span holds nothing
    else: "[[bank.]]" is the word "bank" as the index stores it. QueryError when the span cuts a word ("b[[a]]nk":
    the lookup would be of "a", the vector of "bank") or holds no word the model reads (only spaces, say).
    """
    rows = words_in_span(encoded.spans, start, end)
    if not rows:
        raise QueryError(f"the marked text {text[start:end]!r} holds no word the model reads")
    for s, e in encoded.spans[rows].tolist():
        # A word's span holds the invisible characters of its clusters that fold removes (the variation selector of
        # "bank\ufe0f"): a marker that leaves them out marks the whole word still.
        if (s < start and not only_ignorables(text[s:start])) or (e > end and not only_ignorables(text[end:e])):
            raise QueryError(f"the marker cuts the word {text[s:e]!r}: mark whole words, e.g. [[{text[s:e]}]]")
    stored = [row for row in rows if not is_punctuation(text[encoded.spans[row][0]:encoded.spans[row][1]])]
    rows = stored or rows
    vector = encoded.vectors[rows].mean(axis=0)
    return rows, (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)


_SPACE_RUN = re.compile(r"\s+")


@dataclass(frozen=True)
class Phrase:
    """A user's word or words as stored words: (row offset, key) of each, and the text between them."""

    text: str
    words_at: tuple[tuple[int, str], ...]
    gaps: tuple[str, ...]

    @property
    def keys(self) -> list[str]:
        return [key for _, key in self.words_at]


def gap_key(text: str) -> str:
    """What must agree between two words of a phrase: white space of any kind and amount is one space, and look-alike
    apostrophes and hyphens that word processors substitute are one mark (normalize.same_marks)."""
    return same_marks(word_key(_SPACE_RUN.sub(" ", text)))


_ONE_WORD = regex.compile(r"(?:(?!\p{Han})[\p{L}\p{M}\p{N}])+")


def is_one_word(text: str) -> bool:
    """True when every pre-tokenizer keeps `text` whole: letters, marks and digits, no CJK ideograph.

    Lets a lookup that found nothing skip loading the model just to split the word.
    """
    return _ONE_WORD.fullmatch(word_key(text).strip()) is not None


def word_spans(encoder: Any, text: str) -> np.ndarray:
    """(n, 2) character spans of the words the encoder's pre-tokenizer finds in `text`.

    Tokenizer only where `encoder` is a word splitter (wordsplit.TokenizerSplitter: `word_spans`) or has a planner
    (`plan`); otherwise the encoder is run.
    """
    spans_of = getattr(encoder, "word_spans", None)
    if spans_of is not None:
        return np.asarray(spans_of(text)).reshape(-1, 2)
    plan = getattr(encoder, "plan", None)
    if plan is not None:
        return np.asarray(plan([text]).spans[0]).reshape(-1, 2)
    return np.asarray(encoder.encode([text])[0].spans).reshape(-1, 2)


def phrase_of(text: str, spans: np.ndarray) -> Phrase:
    """The stored words (punctuation left out, as ingest does) among the word `spans` of `text`."""
    rows = [(row, s, e) for row, (s, e) in enumerate(spans.tolist()) if not is_punctuation(text[s:e])]
    if not rows:
        return Phrase(text, (), ())
    first = rows[0][0]
    words_at = tuple((row - first, normalize_form(text[s:e])) for row, s, e in rows)
    gaps = tuple(gap_key(text[a[2]:b[1]]) for a, b in zip(rows, rows[1:]))
    return Phrase(text, words_at, gaps)
