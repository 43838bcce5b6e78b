"""The encoder's CPU half: sentences to words, word offsets, model windows and padded batches (tokenizer only).

A `Planner` needs nothing but a fast Hugging Face tokenizer, so everything it decides (which pieces
form a word, which window a word takes its vector from, which rows of a padded batch pool into
which word, where the special tokens go) is testable without a model. The model runner
(runner.py) turns its `Batch`es into vectors.

Text enters the tokenizer in one place, `Planner.pieces` (wordpieces.chunk_pieces); Unicode folding
(normalize.fold) runs there first, and its offset map takes word spans back to the original sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .batching import Batch, Segment, SegmentTable, pack_batches, ragged_index, run_starts
from .config import EncoderSettings
from .errors import ModelLoadError
from .windows import best_window, plan_windows
from .wordbounds import needed
from .wordpieces import ChunkPieces, TokenizedSentence, chunk_pieces

@dataclass(frozen=True)
class EncodingPlan:
    """Sentences cut into model segments, with each sentence's word spans and piece count.

    table: the segments in (sentence, window) order, their word rows the plan's (batching.SegmentTable);
    spans[i]: (n_words_i, 2) int32 char offsets; pieces[i]: word pieces of sentence i (no special
    tokens); word_offsets: (n_sentences + 1,) int64, sentence i's words are rows
    word_offsets[i]:word_offsets[i + 1] of the plan's (n_words, dim) vector matrix.
    """

    table: SegmentTable
    spans: list[np.ndarray]
    pieces: list[int]
    word_offsets: np.ndarray

    @property
    def n_words(self) -> int:
        return int(self.word_offsets[-1])

    @property
    def segments(self) -> list[Segment]:
        """The segments one by one (copies, for inspection: batching reads `table`)."""
        return [self.table.segment(j, self.word_offsets) for j in range(len(self.table.sentence))]


class Planner:
    """Tokenises sentences, covers long ones with overlapping windows, packs segments into batches.

    `max_length` counts special tokens (BERT: [CLS] and [SEP]); each window holds up to
    `width` = max_length - specials word pieces and consecutive windows share `overlap` pieces.
    `pooling` "mean" feeds every piece of a word (inside its chosen window), "first" only its first.
    `batch_tokens` bounds rows x padded width of a batch.

    Work is done on whole-chunk arrays, sentence by sentence only for sentences longer than a window:
    for both corpora (575,124 word pieces, chunks of 2,048 sentences, plan and batches, best of 5) the
    Python part took 0.33-0.47 s against 0.78-1.08 s when each sentence and segment was a Python object
    of its own (2 runs each on 2 cores; the Rust tokenizer's 0.84-1.06 s apart, which runs on every core
    with the GIL released). The one-thread planning rate is bench_gpu.py's "planning".
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
        self.splits_words = needed(self.backend)

    def tokenize(self, sentences: Sequence[str]) -> list[TokenizedSentence]:
        """Word pieces and word spans of each sentence: the chunk's `pieces`, cut sentence by sentence."""
        chunk = self.pieces(sentences)
        return [chunk.sentence(i) for i in range(len(sentences))]

    def pieces(self, sentences: Sequence[str]) -> ChunkPieces:
        """Word pieces and word spans of a chunk of sentences (chunk_pieces with this planner's tokenizer)."""
        return chunk_pieces(self.backend, self.splits_words, sentences)

    def plan(self, sentences: Sequence[str]) -> EncodingPlan:
        """Tokenise `sentences` and cut them into model segments (all the CPU work before batching)."""
        chunk = self.pieces(sentences)
        counts = np.diff(chunk.piece_start)
        has_words = np.diff(chunk.word_start) > 0
        table = self._single_window_segments(chunk, np.flatnonzero(has_words & (counts <= self.width)))
        long = np.flatnonzero(has_words & (counts > self.width)).tolist()
        if long:
            table = SegmentTable.concat(
                [table, *(SegmentTable.of(self.segments(i, chunk.sentence(i)), chunk.word_start) for i in long)])
            table = table.take(np.argsort(table.sentence, kind="stable"))
        spans = np.split(chunk.spans, chunk.word_start[1:-1]) if len(sentences) else []
        return EncodingPlan(table, spans, counts.tolist(), chunk.word_start)

    def _single_window_segments(self, chunk: ChunkPieces, chosen: np.ndarray) -> SegmentTable:
        """The one segment of each sentence in `chosen` (all of which fit one window), built as whole arrays."""
        head, tail = len(self.prefix), len(self.suffix)
        starts = chunk.piece_start[chosen]
        lengths = chunk.piece_start[chosen + 1] - starts
        id_start = run_starts(lengths + head + tail)
        pieces, _ = ragged_index(chunk.piece_start, chosen)
        ids = np.empty(int(id_start[-1]), dtype=np.int64)
        body = id_start[:-1] + head
        ids[np.repeat(body - starts, lengths) + pieces] = chunk.ids[pieces]
        ids[(id_start[:-1, None] + np.arange(head)).ravel()] = np.tile(self.prefix, len(chosen))
        ids[((body + lengths)[:, None] + np.arange(tail)).ravel()] = np.tile(self.suffix, len(chosen))
        feeds = self._feeds(chunk.word_of_piece, chunk.first_piece)
        keep = feeds[pieces]
        fed = pieces[keep]
        segment_of_fed = np.repeat(np.arange(len(chosen)), lengths)[keep]
        return SegmentTable(chosen.astype(np.int64), ids, id_start, fed - starts[segment_of_fed] + head,
                            chunk.word_start[chosen[segment_of_fed]] + chunk.word_of_piece[fed],
                            run_starts(np.bincount(segment_of_fed, minlength=len(chosen))))

    def segments(self, index: int, sentence: TokenizedSentence) -> list[Segment]:
        """The windows of one sentence that feed at least one word, in window order. `plan` uses it for sentences
        longer than one window; the whole-array segments of the others must equal what it gives them."""
        ids, rows = sentence.ids, sentence.word_of_piece
        if not len(sentence.spans):
            return []
        windows = plan_windows(len(ids), self.width, self.overlap)
        feeds = self._feeds(rows, sentence.first_piece)
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

    def batches(self, plan: EncodingPlan) -> list[Batch]:
        """The plan's segments packed into padded batches of at most batch_tokens (batching.pack_batches)."""
        return pack_batches(plan.table, self.batch_tokens, self.pad_id)

    def _feeds(self, word_of_piece: np.ndarray, first_piece: np.ndarray) -> np.ndarray:
        """(n_pieces,) bool: the pieces whose hidden states feed their word under the pooling chosen."""
        if self.pooling == "first":
            feeds = np.zeros(len(word_of_piece), dtype=bool)
            feeds[first_piece] = True
            return feeds
        return word_of_piece >= 0

    def _segment(self, index: int, ids: np.ndarray, start: int, end: int, pieces: np.ndarray,
                 word_rows: np.ndarray) -> Segment:
        wrapped = np.concatenate([self.prefix, ids[start:end], self.suffix]).astype(np.int64)
        return Segment(index, wrapped, pieces - start + len(self.prefix), np.asarray(word_rows, dtype=np.int64))


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
