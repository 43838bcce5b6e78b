"""Compare usages of one word across sentences: the pairwise cosine similarity matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import regex

from .arguments import word_argument
from .encoder import Encoder
from .errors import QueryError
from .lemmas import lemmatizer
from .records import reported_cosine
from .query import (bare_key, is_punctuation, normalize_form, own_sentence, parse_marked, phrase_of, span_vector,
                    word_spans)

_LETTER = regex.compile(r"[\p{L}\p{N}]")


@dataclass(frozen=True)
class Comparison:
    """Sentences (as given, markers removed) and their word vectors' cosine similarity matrix; `lines`: the line
    number of each sentence as an editor shows it (blank lines counted), as error messages name lines."""

    word: str
    sentences: list[str]
    similarity: list[list[float]]
    lines: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"word": self.word, "sentences": self.sentences, "lines": self.lines, "similarity": self.similarity}


def locate(word: str, line: str, encoder: Encoder) -> tuple[str, int, int]:
    """The sentence and the span of the target: a [[marked]] span, else the first run of the line's words
    whose keys are those of `word` (words as the encoder splits them, keys as the index stores them, so
    any spelling, case or Unicode form of the word is found)."""
    if "[[" in line:
        marked = parse_marked(line)
        return marked.text, marked.start, marked.end
    target = phrase_of(word, word_spans(encoder, word)).keys
    spans = [(s, e) for s, e in word_spans(encoder, line).tolist() if not is_punctuation(line[s:e])]
    keys = [normalize_form(line[s:e]) for s, e in spans]
    for i in range(len(spans) - len(target) + 1) if target else ():
        if keys[i:i + len(target)] == target:
            return line, spans[i][0], spans[i + len(target) - 1][1]
    raise QueryError(f"{word!r} does not occur in: {line[:80]!r}")


def check_lines(word: str, lines: Sequence[str]) -> list[str]:
    """The non-blank lines, stripped, once each is seen to be able to hold `word`: QueryError (naming the line)
    for a bad marker, a marked word that is another word, not a form of it (_a_form_of), or an unmarked line whose
    letters and digits do not even contain the word's (a necessary condition for `locate`, checked without a
    tokenizer, so before any model loads).
    """
    word = word_argument(word)
    if is_punctuation(word):  # its letters are none, so every line "held" it: refused only after the model loaded
        raise QueryError(f"{word!r} is punctuation or symbols, which is not a word: name a word")
    numbered = _numbered(lines)
    if not numbered:
        raise QueryError("no sentences to compare")
    wanted = _letters(normalize_form(word))
    for number, line in numbered:
        try:
            if "[[" in line:  # as `locate` reads a line: "a[b[0]] at the bank" holds no marker
                marked = parse_marked(line).word
                # The marker picks which usage of the word a line gives (a form of it, such as banks, too); one that
                # marks another word compared that word's usage under this word's name.
                if not _a_form_of(word, marked, wanted):
                    raise QueryError(f"the marked word {marked!r} is not {word!r}: mark a usage of {word!r}, "
                                     f"or leave the line unmarked")
            elif wanted not in _letters(normalize_form(line)):
                raise QueryError(f"{word!r} does not occur in: {line[:80]!r}")
        except QueryError as exc:
            raise QueryError(f"line {number}: {exc}") from None
    return [line for _, line in numbered]


def _a_form_of(word: str, marked: str, wanted: str) -> bool:
    """Whether the marked text is `word` or a form of it: as many words, holding its letters and digits (banks,
    Bank's) or sharing its lemma (ran for run; English, as compare knows no index's language)."""
    if len(marked.split()) != len(word.split()):  # [[river bank]] for bank: a phrase's vector, not the word's
        return False
    return wanted in _letters(normalize_form(marked)) or lemmatizer()(bare_key(marked)) == lemmatizer()(bare_key(word))


def _numbered(lines: Sequence[str]) -> list[tuple[int, str]]:
    """The non-blank lines, stripped, with their line numbers as an editor shows them (blank lines counted)."""
    return [(number, line.strip()) for number, line in enumerate(lines, start=1) if line.strip()]


def _letters(key: str) -> str:
    """A word key's letters and digits, in order: what stays of a phrase whatever splits it into words."""
    return "".join(_LETTER.findall(key))


def compare(encoder: Encoder, word: str, lines: Sequence[str]) -> Comparison:
    """Embed `word` in each line and return all pairwise cosines (lines as `check_lines` keeps them)."""
    check_lines(word, lines)
    located = []
    numbered = _numbered(lines)
    for number, line in numbered:
        try:
            located.append(locate(word, line, encoder))
        except QueryError as exc:
            raise QueryError(f"line {number}: {exc}") from None
    # Each line is encoded as the index would encode it: the sentence holding the target, not the whole line.
    cut = [own_sentence(*place) for place in located]
    encoded = encoder.encode([text for text, _, _ in cut])
    vectors = []
    for (text, start, end), enc in zip(cut, encoded):
        try:
            vectors.append(span_vector(enc, start, end, text)[1])
        except QueryError as exc:
            raise QueryError(f"{exc}, in {text[:60]!r}") from None
    matrix = np.stack(vectors) @ np.stack(vectors).T
    similarity = [[reported_cosine(v, 4) for v in row] for row in matrix]
    return Comparison(word=word, sentences=[text for text, _, _ in located], similarity=similarity,
                      lines=[number for number, _ in numbered])
