"""The encoder's CPU half: sentences to words, word offsets, model windows and padded batches (tokenizer only).

A `Planner` needs nothing but a fast Hugging Face tokenizer, so everything it decides (which pieces
form a word, which window a word takes its vector from, which rows of a padded batch pool into
which word, where the special tokens go) is testable without a model. The model runner
(runner.py) turns its `Batch`es into vectors.

Text enters the tokenizer in one place, `Planner.tokenize`; Unicode folding (normalize.fold) runs
there first, and its offset map takes word spans back to the original sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import EncoderSettings
from .errors import ModelLoadError
from .normalize import fold
from .windows import best_window, plan_windows

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
class Segment:
    """One model input: a window of one sentence's pieces wrapped in the tokenizer's special tokens.

    ids: the model input ids, special tokens included; positions: (n,) int64 rows of `ids` whose
    hidden states feed a word; word_rows: (n,) int64 the sentence's word row each of them feeds.
    """

    sentence: int
    ids: np.ndarray
    positions: np.ndarray
    word_rows: np.ndarray


@dataclass(frozen=True)
class EncodingPlan:
    """Sentences cut into model segments, with each sentence's word spans and piece count.

    spans[i]: (n_words_i, 2) int32 char offsets; pieces[i]: word pieces of sentence i (no special
    tokens); word_offsets: (n_sentences + 1,) int64, sentence i's words are rows
    word_offsets[i]:word_offsets[i + 1] of the plan's (n_words, dim) vector matrix.
    """

    segments: list[Segment]
    spans: list[np.ndarray]
    pieces: list[int]
    word_offsets: np.ndarray

    @property
    def n_words(self) -> int:
        return int(self.word_offsets[-1])


@dataclass(frozen=True)
class Batch:
    """Padded model input and the pooling map of its pieces.

    ids, mask: (rows, width) int64, pad id / 0 after each segment's end; flat: (n,) int64 indexes
    into the row-major flattened (rows * width) batch of the pieces that feed words; words: (n,)
    int64 the plan's word row each of them pools into.
    """

    ids: np.ndarray
    mask: np.ndarray
    flat: np.ndarray
    words: np.ndarray

    @property
    def padded_tokens(self) -> int:
        return int(self.ids.size)


class Planner:
    """Tokenises sentences, covers long ones with overlapping windows, packs segments into batches.

    `max_length` counts special tokens (BERT: [CLS] and [SEP]); each window holds up to
    `width` = max_length - specials word pieces and consecutive windows share `overlap` pieces.
    `pooling` "mean" feeds every piece of a word (inside its chosen window), "first" only its first.
    `batch_tokens` bounds rows x padded width of a batch.
    """

    def __init__(self, tokenizer: Any, *, max_length: int, stride: int, pooling: str, batch_tokens: int) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise ModelLoadError("the tokenizer is not a fast (Rust) tokenizer; word offsets need one")
        self.tokenizer = tokenizer
        self.backend = tokenizer.backend_tokenizer
        # transformers turns these off on every call that does not ask for them; the planner calls the backend
        # itself, so it does the same once: every piece of a sentence is planned, unpadded.
        if self.backend.truncation is not None:
            self.backend.no_truncation()
        if self.backend.padding is not None:
            self.backend.no_padding()
        self.pooling = pooling
        self.batch_tokens = batch_tokens
        self.prefix, self.suffix = special_token_template(tokenizer)
        limit = min(max_length, getattr(tokenizer, "model_max_length", max_length) or max_length)
        self.width = limit - len(self.prefix) - len(self.suffix)
        if self.width < 2:
            raise ModelLoadError(f"a model window of {limit} tokens leaves no room for words")
        self.overlap = min(stride, self.width // 2)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def tokenize(self, sentences: Sequence[str]) -> list[TokenizedSentence]:
        """Word pieces and word spans of each sentence: the one place text goes into the tokenizer.

        The batch goes to the Rust tokenizer itself (`backend_tokenizer`: transformers' __call__ adds
        a Python conversion per sentence), and its pieces are grouped into words as one array: the
        23,044 sentences of both corpora, in chunks of 2,048, took 1.2 s against 2.2 s sentence by sentence.
        """
        if not sentences:
            return []
        folded = [fold(s) for s in sentences]
        encodings = self.backend.encode_batch([f.text for f in folded], add_special_tokens=False)
        counts = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        total = int(counts.sum())
        ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64, count=total)
        word_ids = np.fromiter((-1 if w is None else w for e in encodings for w in e.word_ids), dtype=np.int64,
                               count=total)
        offsets = np.fromiter((o for e in encodings for pair in e.offsets for o in pair), dtype=np.int64,
                              count=2 * total).reshape(-1, 2)
        sentence_of_piece = np.repeat(np.arange(len(encodings), dtype=np.int64), counts)
        in_word = np.flatnonzero(word_ids >= 0)
        # Words are numbered by the pre-tokenizer within each sentence; rows number the words that kept a piece,
        # in (sentence, word number) order.
        base = int(word_ids.max(initial=0)) + 1
        words, word_of_piece = np.unique(sentence_of_piece[in_word] * base + word_ids[in_word], return_inverse=True)
        first = np.full(len(words), total, dtype=np.int64)
        np.minimum.at(first, word_of_piece, in_word)
        last = np.full(len(words), -1, dtype=np.int64)
        np.maximum.at(last, word_of_piece, in_word)
        piece_start = np.concatenate([[0], np.cumsum(counts)])
        word_start = np.searchsorted(words // base, np.arange(len(encodings) + 1))
        rows = np.full(total, -1, dtype=np.int64)
        rows[in_word] = word_of_piece - word_start[sentence_of_piece[in_word]]
        spans = np.stack([offsets[first, 0], offsets[last, 1]], axis=1)
        out = []
        for i, sentence in enumerate(folded):
            pieces = slice(piece_start[i], piece_start[i + 1])
            kept = slice(word_start[i], word_start[i + 1])
            out.append(TokenizedSentence(ids[pieces], rows[pieces], first[kept] - piece_start[i],
                                         last[kept] - piece_start[i],
                                         sentence.spans(spans[kept]).astype(np.int32).reshape(-1, 2)))
        return out

    def plan(self, sentences: Sequence[str]) -> EncodingPlan:
        """Tokenise `sentences` and cut them into model segments (all the CPU work before batching)."""
        tokenized = self.tokenize(sentences)
        segments: list[Segment] = []
        for index, sentence in enumerate(tokenized):
            segments.extend(self.segments(index, sentence))
        counts = [len(t.spans) for t in tokenized]
        word_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return EncodingPlan(segments, [t.spans for t in tokenized], [len(t.ids) for t in tokenized], word_offsets)

    def segments(self, index: int, sentence: TokenizedSentence) -> list[Segment]:
        """The windows of one sentence that feed at least one word, in window order."""
        ids, rows = sentence.ids, sentence.word_of_piece
        if not len(sentence.spans):
            return []
        windows = plan_windows(len(ids), self.width, self.overlap)
        if self.pooling == "first":
            feeds = np.zeros(len(ids), dtype=bool)
            feeds[sentence.first_piece] = True
        else:
            feeds = rows >= 0
        if len(windows) == 1:
            pieces = np.flatnonzero(feeds)
            return [self._segment(index, ids, 0, len(ids), pieces, rows[pieces])]
        pieces_of_window: list[list[int]] = [[] for _ in windows]
        chosen = [best_window(first, last, windows)
                  for first, last in zip(sentence.first_piece.tolist(), sentence.last_piece.tolist())]
        for piece in np.flatnonzero(feeds).tolist():
            window = chosen[rows[piece]]
            # A word longer than a whole window keeps only the pieces inside its chosen window.
            if piece < windows[window][1]:
                pieces_of_window[window].append(piece)
        return [self._segment(index, ids, start, end, np.asarray(p, dtype=np.int64), rows[p])
                for (start, end), p in zip(windows, pieces_of_window) if p]

    def _segment(self, index: int, ids: np.ndarray, start: int, end: int, pieces: np.ndarray,
                 word_rows: np.ndarray) -> Segment:
        wrapped = np.concatenate([self.prefix, ids[start:end], self.suffix]).astype(np.int64)
        return Segment(index, wrapped, pieces - start + len(self.prefix), np.asarray(word_rows, dtype=np.int64))

    def batches(self, plan: EncodingPlan) -> list[Batch]:
        """Segments sorted by length and packed so that rows x padded width <= batch_tokens."""
        segments = plan.segments
        order = sorted(range(len(segments)), key=lambda i: len(segments[i].ids))
        out = []
        for chunk in token_budget_chunks([len(segments[i].ids) for i in order], self.batch_tokens):
            chosen = [segments[order[i]] for i in chunk]
            width = max(len(s.ids) for s in chosen)
            ids = np.full((len(chosen), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(chosen), width), dtype=np.int64)
            for row, seg in enumerate(chosen):
                ids[row, : len(seg.ids)] = seg.ids
                mask[row, : len(seg.ids)] = 1
            flat = np.concatenate([row * width + seg.positions for row, seg in enumerate(chosen)])
            words = np.concatenate([plan.word_offsets[seg.sentence] + seg.word_rows for seg in chosen])
            out.append(Batch(ids, mask, flat.astype(np.int64), words.astype(np.int64)))
        return out


def make_planner(tokenizer: Any, settings: EncoderSettings, batch_tokens: int, *, max_positions: int | None = None) -> Planner:
    """The planner for an encoder recipe; `max_positions` is the model's position limit, if below max_length."""
    max_length = min(settings.max_length, max_positions or settings.max_length)
    return Planner(tokenizer, max_length=max_length, stride=settings.stride, pooling=settings.pooling,
                   batch_tokens=batch_tokens)


def special_token_template(tokenizer: Any) -> tuple[np.ndarray, np.ndarray]:
    """The ids the tokenizer itself puts before and after a single sequence (BERT: [CLS] and [SEP]).

    Read from the tokenizer's own post-processing of a probe text, so models with other templates
    (RoBERTa's <s> ... </s>, none at all) are wrapped as they were trained.
    """
    probe = tokenizer(["x"], add_special_tokens=True, return_special_tokens_mask=True,
                      return_attention_mask=False, return_token_type_ids=False, verbose=False)
    ids, special = probe["input_ids"][0], probe["special_tokens_mask"][0]
    content = [i for i, s in enumerate(special) if not s]
    if not content:
        raise ModelLoadError("the tokenizer turns text into special tokens only")
    return (np.asarray(ids[: content[0]], dtype=np.int64), np.asarray(ids[content[-1] + 1:], dtype=np.int64))


def token_budget_chunks(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Group consecutive items (sorted by length) so that count x longest stays within `budget`."""
    chunks: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i, length in enumerate(lengths):
        if current and max(longest, length) * (len(current) + 1) > budget:
            chunks.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, length)
    if current:
        chunks.append(current)
    return chunks
