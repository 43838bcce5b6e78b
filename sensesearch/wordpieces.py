"""Text into word pieces and word spans: the one place the planner's text goes into the tokenizer.

`chunk_pieces` folds each sentence (normalize.fold), hands the chunk to the Rust tokenizer in one batch,
groups the pieces into words as whole arrays (with wordbounds' boundaries past the pre-tokenizer's,
for tokenizers that need them), and maps the spans back to the original text. `ChunkPieces` holds the result as flat arrays;
`TokenizedSentence` is one sentence of it. The planner (planner.py) cuts these into windows and batches;
wordsplit.py finds word spans with it from a bare tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from .batching import run_starts
from .normalize import fold
from .wordbounds import CharClasses, split_words


@dataclass(frozen=True)
class TokenizedSentence:
    """One sentence's word pieces (no special tokens) and its words.

    ids: (n_pieces,) int64 vocabulary ids; word_of_piece: (n_pieces,) int64 word row of each piece,
    -1 for a piece that belongs to no word; first_piece, last_piece: (n_words,) int64 each word's
    first and last piece; spans: (n_words, 2) int32 character offsets [start, end) of each word in
    the original sentence (characters, not UTF-16 units).
    """

    ids: np.ndarray
    word_of_piece: np.ndarray
    first_piece: np.ndarray
    last_piece: np.ndarray
    spans: np.ndarray


@dataclass(frozen=True)
class ChunkPieces:
    """The word pieces of a chunk of sentences as flat arrays (the planner's working form).

    ids, word_of_piece: (n_pieces,) int64, as in TokenizedSentence, all sentences end to end;
    piece_start: (n_sentences + 1,) int64, sentence i's pieces are ids[piece_start[i]:piece_start[i + 1]];
    first_piece, last_piece: (n_words,) int64 chunk-wide piece indexes; word_start: (n_sentences + 1,)
    int64, sentence i's words are rows word_start[i]:word_start[i + 1]; spans: (n_words, 2) int32 character
    offsets in the original sentence.
    """

    ids: np.ndarray
    word_of_piece: np.ndarray
    piece_start: np.ndarray
    first_piece: np.ndarray
    last_piece: np.ndarray
    word_start: np.ndarray
    spans: np.ndarray

    def sentence(self, i: int) -> TokenizedSentence:
        """Sentence i on its own, piece indexes counted from its first piece."""
        pieces = slice(self.piece_start[i], self.piece_start[i + 1])
        words = slice(self.word_start[i], self.word_start[i + 1])
        offset = self.piece_start[i]
        return TokenizedSentence(self.ids[pieces], self.word_of_piece[pieces], self.first_piece[words] - offset,
                                 self.last_piece[words] - offset, self.spans[words])


def chunk_pieces(backend: Any, splits_words: bool, sentences: Sequence[str]) -> ChunkPieces:
    """Word pieces and word spans of a chunk of sentences: the one place text goes into the tokenizer.

    `backend`: a tokenizers.Tokenizer (a transformers tokenizer's `backend_tokenizer`, or one read from
    tokenizer.json) with truncation and padding off; `splits_words`: wordbounds.needed(backend).

    The batch goes to the Rust tokenizer itself (`backend_tokenizer`: transformers' __call__ adds
    a Python conversion per sentence), and its pieces are grouped into words as one array: the
    23,044 sentences of both corpora, in chunks of 2,048, took 1.2 s against 2.2 s sentence by sentence.
    """
    folded = [fold(s) for s in sentences]
    encodings = backend.encode_batch([f.text for f in folded], add_special_tokens=False)
    counts = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
    total = int(counts.sum())
    ids = np.fromiter(chain.from_iterable(e.ids for e in encodings), dtype=np.int64, count=total)
    word_ids = _word_ids(encodings, total)
    offsets = np.fromiter(chain.from_iterable(chain.from_iterable(e.offsets for e in encodings)),
                          dtype=np.int64, count=2 * total).reshape(-1, 2)
    sentence_of_piece = np.repeat(np.arange(len(encodings), dtype=np.int64), counts)
    classes = CharClasses([f.text for f in folded]) if splits_words else None
    if classes is not None:
        word_ids = split_words(word_ids, offsets, sentence_of_piece, classes)
    in_word = np.flatnonzero(word_ids >= 0)
    # Words are numbered by the pre-tokenizer within each sentence; rows number the words that kept a piece,
    # in (sentence, word number) order.
    base = int(word_ids.max(initial=0)) + 1
    words, word_of_piece = np.unique(sentence_of_piece[in_word] * base + word_ids[in_word], return_inverse=True)
    first = np.full(len(words), total, dtype=np.int64)
    np.minimum.at(first, word_of_piece, in_word)
    last = np.full(len(words), -1, dtype=np.int64)
    np.maximum.at(last, word_of_piece, in_word)
    word_start = np.searchsorted(words // base, np.arange(len(encodings) + 1))
    rows = np.full(total, -1, dtype=np.int64)
    rows[in_word] = word_of_piece - word_start[sentence_of_piece[in_word]]
    spans = np.stack([offsets[first, 0], offsets[last, 1]], axis=1)
    if classes is not None:
        text_start = classes.start[words // base][:, None]
        spans = classes.trimmed(spans + text_start) - text_start
    spans = spans.astype(np.int32)
    mapped = [i for i, sentence in enumerate(folded) if sentence.maps_spans]
    for i in mapped:
        kept = slice(word_start[i], word_start[i + 1])
        spans[kept] = folded[i].spans(spans[kept])
    if mapped:
        # One original character can fold into several words ("⑴" into "(1)", "ﷺ" into four Arabic words), and
        # words the tokenizer cut inside one grapheme cluster share it: one word of the text, one occurrence.
        sentence_of_word = words // base
        # The furthest end so far in each word's sentence (ends shifted by sentence, so one running maximum).
        shift = sentence_of_word * (int(spans[:, 1].max(initial=0)) + 1)
        reach = np.maximum.accumulate(spans[:, 1] + shift) - shift
        repeated = np.flatnonzero((spans[1:, 0] < reach[:-1])
                                  & (sentence_of_word[1:] == sentence_of_word[:-1])) + 1
        if len(repeated):
            merged = np.cumsum(np.isin(np.arange(len(words)), repeated, invert=True)) - 1
            kept_words = np.setdiff1d(np.arange(len(words)), repeated)
            group_last = np.full(len(kept_words), -1, dtype=np.int64)
            np.maximum.at(group_last, merged, last)
            group_end = np.zeros(len(kept_words), dtype=np.int64)
            np.maximum.at(group_end, merged, spans[:, 1])
            first, last, spans = first[kept_words], group_last, spans[kept_words]
            spans[:, 1] = group_end
            word_start = np.searchsorted(sentence_of_word[kept_words], np.arange(len(encodings) + 1))
            rows[in_word] = merged[word_of_piece] - word_start[sentence_of_piece[in_word]]
    return ChunkPieces(ids, rows, run_starts(counts), first, last, word_start.astype(np.int64), spans)


def _word_ids(encodings: Sequence[Any], total: int) -> np.ndarray:
    """(total,) int64 pre-tokenizer word number of every piece, -1 for a piece of no word (None: special tokens,
    which the planner does not ask for, so the int fast path almost always holds)."""
    try:
        return np.fromiter(chain.from_iterable(e.word_ids for e in encodings), dtype=np.int64, count=total)
    except TypeError:
        return np.fromiter((-1 if w is None else w for w in chain.from_iterable(e.word_ids for e in encodings)),
                           dtype=np.int64, count=total)
