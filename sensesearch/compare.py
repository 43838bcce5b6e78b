"""Compare usages of one word across sentences: the pairwise cosine similarity matrix."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .encoder import Encoder
from .errors import QueryError
from .query import parse_marked, span_vector


@dataclass(frozen=True)
class Comparison:
    """Sentences (as given, markers removed) and their word vectors' cosine similarity matrix."""

    word: str
    sentences: list[str]
    similarity: list[list[float]]

    def to_dict(self) -> dict[str, object]:
        return {"word": self.word, "sentences": self.sentences, "similarity": self.similarity}


def locate(word: str, line: str) -> tuple[str, int, int]:
    """The sentence and the span of the target: a [[marked]] word, else the first whole-word match of `word`."""
    if "[[" in line:
        marked = parse_marked(line)
        return marked.text, marked.start, marked.end
    match = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", line, flags=re.IGNORECASE)
    if match is None:
        raise QueryError(f"{word!r} does not occur in: {line[:80]!r}")
    return line, match.start(), match.end()


def compare(encoder: Encoder, word: str, lines: Sequence[str]) -> Comparison:
    """Embed `word` in each line and return all pairwise cosines."""
    lines = [line.strip() for line in lines if line.strip()]
    if not lines:
        raise QueryError("no sentences to compare")
    located = []
    for number, line in enumerate(lines, start=1):
        try:
            located.append(locate(word, line))
        except QueryError as exc:
            raise QueryError(f"line {number}: {exc}") from None
    encoded = encoder.encode([text for text, _, _ in located])
    vectors = []
    for (text, start, end), enc in zip(located, encoded):
        try:
            vectors.append(span_vector(enc, start, end)[1])
        except QueryError:
            raise QueryError(f"no word the model reads at {text[start:end]!r} in {text[:60]!r}") from None
    matrix = np.stack(vectors) @ np.stack(vectors).T
    # Rounded as Python floats (float32 rounding prints 0.9599999785423279) and kept within [-1, 1].
    similarity = [[round(min(1.0, max(-1.0, float(v))), 4) for v in row] for row in matrix]
    return Comparison(word=word, sentences=[text for text, _, _ in located], similarity=similarity)
