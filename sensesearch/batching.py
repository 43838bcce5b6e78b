"""Model segments as ragged arrays, and their packing into padded batches under a token budget.

A plan's segments (planner.py) live in one `SegmentTable`: every segment's input ids end to end,
and every fed piece's position and word row end to end, cut by run starts. Packing gathers a
batch's rows out of it with index arithmetic (`ragged_index`), not a Python loop per segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Segment:
    """One model input: a window of one sentence's pieces wrapped in the tokenizer's special tokens.

    ids: the model input ids, special tokens included; positions: (n,) int64 rows of `ids` whose
    hidden states feed a word; word_rows: (n,) int64 the sentence's word row each of them feeds (counted
    within the sentence; a SegmentTable holds them as the plan's rows).
    """

    sentence: int
    ids: np.ndarray
    positions: np.ndarray
    word_rows: np.ndarray


@dataclass(frozen=True)
class SegmentTable:
    """Segments as ragged arrays: what batching reads.

    sentence: (n_segments,) int64; ids: every segment's input ids end to end, segment j's being
    ids[id_start[j]:id_start[j + 1]]; feed_positions: (n_feeds,) int64 rows of its segment's ids whose
    hidden states feed a word, and feed_words: (n_feeds,) int64 the plan's word row each feeds, segment j's
    being [feed_start[j]:feed_start[j + 1]].
    """

    sentence: np.ndarray
    ids: np.ndarray
    id_start: np.ndarray
    feed_positions: np.ndarray
    feed_words: np.ndarray
    feed_start: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        """(n_segments,) int64 input ids per segment."""
        return np.diff(self.id_start)

    @staticmethod
    def of(segments: Sequence[Segment], word_start: np.ndarray) -> SegmentTable:
        """Segment objects as a table; `word_start[i]` is sentence i's first row among the plan's words."""
        def joined(arrays: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(arrays).astype(np.int64, copy=False) if arrays else np.zeros(0, dtype=np.int64)

        return SegmentTable(np.array([s.sentence for s in segments], dtype=np.int64),
                            joined([s.ids for s in segments]), run_starts([len(s.ids) for s in segments]),
                            joined([s.positions for s in segments]),
                            joined([word_start[s.sentence] + s.word_rows for s in segments]),
                            run_starts([len(s.positions) for s in segments]))

    @staticmethod
    def concat(parts: Sequence[SegmentTable]) -> SegmentTable:
        """The segments of `parts`, one table after another."""
        def joined(column: str) -> np.ndarray:
            return np.concatenate([getattr(p, column) for p in parts])

        return SegmentTable(joined("sentence"), joined("ids"), run_starts(np.concatenate([p.lengths for p in parts])),
                            joined("feed_positions"), joined("feed_words"),
                            run_starts(np.concatenate([np.diff(p.feed_start) for p in parts])))

    def take(self, order: np.ndarray) -> SegmentTable:
        """The segments listed in `order` ((k,) int64 segment numbers), in that order."""
        ids, lengths = ragged_index(self.id_start, order)
        feeds, feed_counts = ragged_index(self.feed_start, order)
        return SegmentTable(self.sentence[order], self.ids[ids], run_starts(lengths), self.feed_positions[feeds],
                            self.feed_words[feeds], run_starts(feed_counts))

    def segment(self, j: int, word_start: np.ndarray) -> Segment:
        """Segment j on its own, in copies, its word rows counted within its sentence again (`of`'s inverse)."""
        feeds = slice(self.feed_start[j], self.feed_start[j + 1])
        sentence = int(self.sentence[j])
        return Segment(sentence, self.ids[self.id_start[j]:self.id_start[j + 1]].copy(),
                       self.feed_positions[feeds].copy(), self.feed_words[feeds] - word_start[sentence])


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


def pack_batches(table: SegmentTable, batch_tokens: int, pad_id: int) -> list[Batch]:
    """Segments sorted by length (ties in table order) and packed so that rows x padded width <= batch_tokens;
    sorting first keeps padding low."""
    lengths = table.lengths
    order = np.argsort(lengths, kind="stable")
    out = []
    for members in token_budget_chunks(lengths[order].tolist(), batch_tokens):
        chosen = order[members[0]:members[-1] + 1]
        source, row_lengths = ragged_index(table.id_start, chosen)
        width = int(row_lengths.max())
        row_start = np.arange(len(chosen), dtype=np.int64) * width
        target = np.repeat(row_start - run_starts(row_lengths)[:-1], row_lengths) + np.arange(len(source))
        ids = np.full(len(chosen) * width, pad_id, dtype=np.int64)
        ids[target] = table.ids[source]
        mask = np.zeros(len(chosen) * width, dtype=np.int64)
        mask[target] = 1
        feeds, feed_counts = ragged_index(table.feed_start, chosen)
        flat = np.repeat(row_start, feed_counts) + table.feed_positions[feeds]
        out.append(Batch(ids.reshape(-1, width), mask.reshape(-1, width), flat, table.feed_words[feeds]))
    return out


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


def ragged_index(starts: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indexes into a ragged array's flat values of the runs `chosen` (run j is [starts[j], starts[j + 1])), in the
    order given, and the runs' lengths: (sum of lengths,) int64 and (len(chosen),) int64."""
    lengths = starts[chosen + 1] - starts[chosen]
    shift = np.repeat(starts[chosen] - run_starts(lengths)[:-1], lengths)
    return np.arange(len(shift), dtype=np.int64) + shift, lengths


def run_starts(lengths: Sequence[int] | np.ndarray) -> np.ndarray:
    """(n + 1,) int64 starts of consecutive runs of these lengths: 0, then the running totals."""
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out
