"""Word boundaries past the pre-tokenizer's: white space off word spans, punctuation pieces words of their own.

A word is what a tokenizer's pre-tokenizer yields, and BERT's splits at white space and at every
punctuation character, so "bank." is the word "bank" and the word ".". Other tokenizers stop short:
SentencePiece-style ones (XLM-R, ALBERT, DeBERTa-v2: Metaspace) split at white space only, so
"bank." and "(bank)" are one pre-tokenizer word each, and byte-level BPE without offset trimming
(GPT-2, Llama 3, ModernBERT-style post-processors) counts the space before a word as part of its
first piece. Left so, "bank" followed by a full stop is stored as another word than "bank", and a
word's span starts with a space. Here, for such tokenizers:

- within a pre-tokenizer word, a new word starts wherever the pieces change between punctuation and
  anything else (punctuation as BERT's basic tokenizer defines it: Unicode category P*, and the ASCII
  symbols $+<=>^`|~ too); pieces stay whole, so a piece mixing both ("'s", "n't") is one piece of a word;
- a piece of white space alone separates words: it joins the piece after it (the one before, at a word's end);
- a word's span leaves out white space at both ends, and a word of white space alone is no word.

For a tokenizer with BERT's pre-tokenizer all three change nothing, and `needed` says so, sparing the work.
Source: Devlin et al. (2019), BERT, google-research/bert tokenization.py (`_is_punctuation`,
`_is_whitespace`); Kudo and Richardson (2018), SentencePiece (the "▁" piece that stands for a space).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np


def needed(backend: Any) -> bool:
    """False for a tokenizers.Tokenizer whose pre-tokenizer is BERT's, which already splits as this module does."""
    from tokenizers.pre_tokenizers import BertPreTokenizer

    return not isinstance(backend.pre_tokenizer, BertPreTokenizer)


def is_punctuation_char(char: str) -> bool:
    """BERT's punctuation: Unicode category P*, or ASCII 33-47, 58-64, 91-96, 123-126 (symbols such as $ and ^)."""
    code = ord(char)
    return 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126 \
        or unicodedata.category(char).startswith("P")


class CharClasses:
    """White space and punctuation of the characters of several texts laid end to end.

    `start`: (n_texts + 1,) int64, text i's characters are positions start[i]:start[i + 1]; counts come
    from running sums, so a range of characters is classified in O(1).
    """

    def __init__(self, texts: Sequence[str]) -> None:
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        self.start = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        # Each distinct character is classified once in Python (a chunk holds a few hundred of them).
        distinct, inverse = np.unique(codes, return_inverse=True)
        chars = [chr(c) for c in distinct.tolist()]
        white = np.fromiter((c.isspace() for c in chars), dtype=bool, count=len(chars))[inverse]
        punct = np.fromiter((is_punctuation_char(c) for c in chars), dtype=bool, count=len(chars))[inverse]
        self.white_sum = np.concatenate([[0], np.cumsum(white)])
        self.punct_sum = np.concatenate([[0], np.cumsum(punct)])
        positions = np.arange(len(codes), dtype=np.int64)
        # The first non-white position at or after each position, the last at or before it.
        self.next_solid = np.minimum.accumulate(np.where(white, len(codes), positions)[::-1])[::-1]
        self.last_solid = np.maximum.accumulate(np.where(white, -1, positions))

    def trimmed(self, spans: np.ndarray) -> np.ndarray:
        """(n, 2) global [start, end) spans without white space at either end (start == end: white space only)."""
        out = spans.copy()
        solid = spans[:, 1] > spans[:, 0]
        starts = self.next_solid[spans[solid, 0]]
        ends = self.last_solid[spans[solid, 1] - 1] + 1
        out[solid, 0] = np.minimum(starts, spans[solid, 1])
        out[solid, 1] = np.maximum(ends, out[solid, 0])
        return out


def split_words(word_ids: np.ndarray, offsets: np.ndarray, sentence_of_piece: np.ndarray,
                classes: CharClasses) -> np.ndarray:
    """(n_pieces,) int64 word numbers after the splits the module docstring gives, -1 for no word.

    word_ids: the pre-tokenizer's word number of each piece (-1: none), non-decreasing within a
    sentence; offsets: (n_pieces, 2) character offsets in each piece's own text. Numbers rise within
    each sentence (they need not start at 0 there).
    """
    total = len(word_ids)
    if total == 0:
        return word_ids
    span = offsets + classes.start[sentence_of_piece][:, None]
    size = span[:, 1] - span[:, 0]
    white = classes.white_sum[span[:, 1]] - classes.white_sum[span[:, 0]]
    punct = classes.punct_sum[span[:, 1]] - classes.punct_sum[span[:, 0]]
    blank = size == white
    is_punct = ~blank & (punct == size - white)
    in_word = word_ids >= 0
    key = np.where(in_word, sentence_of_piece * (int(word_ids.max()) + 2) + word_ids, -1)
    previous_key = np.concatenate([[-2], key[:-1]])
    begins = in_word & (key != previous_key)
    # The nearest non-blank piece before each piece; a solid piece of another class than it, in the same
    # pre-tokenizer word, begins a word. A word's leading blank pieces are then in the word they lead into.
    order = np.arange(total, dtype=np.int64)
    last_solid = np.maximum.accumulate(np.where(blank | ~in_word, -1, order))
    before = np.concatenate([[-1], last_solid[:-1]])
    has_before = before >= 0
    same = np.zeros(total, dtype=bool)
    same[has_before] = key[before[has_before]] == key[has_before]
    turns = in_word & ~blank & same & ((is_punct != np.where(has_before, is_punct[np.maximum(before, 0)], False))
                                       | (before + 1 < order))
    # A solid piece after white space inside a pre-tokenizer word (a tab or a line end that Metaspace does not split
    # at) begins a word too. A piece that begins a word so, or by turning, with blank pieces just before it (after
    # the previous solid piece), takes those blank pieces along: the word boundary moves back to the first of them.
    first_blank = np.where(turns, before + 1, order)
    starts = begins.copy()
    starts[first_blank[turns]] = True
    starts[order[turns][first_blank[turns] != order[turns]]] = False
    number = np.cumsum(starts) - 1
    words = np.where(in_word, number, -1)
    # A word of blank pieces only is no word.
    solid_count = np.bincount(number[in_word], weights=(~blank[in_word]).astype(np.float64),
                              minlength=int(number.max()) + 1)
    words[in_word & (solid_count[np.maximum(number, 0)] == 0)] = -1
    return words.astype(np.int64)
