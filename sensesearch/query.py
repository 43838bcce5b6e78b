"""Query texts: find the one word marked as [[word]] and normalise word forms for lookup."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from .errors import QueryError
from .normalize import word_key
from .records import EncodedSentence

_MARKER = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)


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
    """Strip the single [[...]] marker from `text`; QueryError if there is none, several, or an empty one."""
    markers = list(_MARKER.finditer(text))
    if not markers:
        raise QueryError('mark the word to search for with double brackets, e.g. "the [[bank]] raised its rates"')
    if len(markers) > 1:
        raise QueryError(f"mark exactly one word; found {len(markers)} markers: "
                         + ", ".join(repr(m.group(0)) for m in markers))
    marker = markers[0]
    inner = marker.group(1)
    stripped = inner.strip()
    if not stripped:
        raise QueryError("the marked word is empty: put a word between [[ and ]]")
    if "[[" in inner or "]]" in text[marker.end():] or "[[" in text[marker.end():]:
        raise QueryError("unbalanced [[ ]] marker in the query")
    lead = len(inner) - len(inner.lstrip())
    clean = text[: marker.start()] + inner + text[marker.end():]
    start = marker.start() + lead
    return MarkedQuery(text=clean, start=start, end=start + len(stripped))


def normalize_form(word: str) -> str:
    """The lookup key of a word (normalize.word_key: Unicode-folded and case-folded); the one key function."""
    return word_key(word)


def is_punctuation(word: str) -> bool:
    """True for tokens made only of punctuation and symbols; those are not stored as occurrences."""
    return all(unicodedata.category(ch)[0] in "PSZC" for ch in word)


def words_in_span(spans: np.ndarray, start: int, end: int) -> list[int]:
    """Rows of word spans that overlap the character range [start, end)."""
    return [i for i, (s, e) in enumerate(spans.tolist()) if s < end and e > start]


def span_vector(encoded: EncodedSentence, start: int, end: int) -> tuple[list[int], np.ndarray]:
    """Rows of the words overlapping [start, end) and the unit mean of their vectors.

    QueryError when the span holds no word the model reads (e.g. only spaces or control characters).
    """
    rows = words_in_span(encoded.spans, start, end)
    if not rows:
        raise QueryError("the marked text holds no word the model reads")
    vector = encoded.vectors[rows].mean(axis=0)
    return rows, (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)
