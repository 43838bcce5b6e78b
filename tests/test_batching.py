"""Ragged segment tables and batch packing (batching.py), on hand-made tables: no tokenizer."""

from __future__ import annotations

import numpy as np

from sensesearch.batching import Segment, SegmentTable, pack_batches, ragged_index, run_starts


WORD_START = np.array([0, 2, 3, 3, 5])


def table() -> SegmentTable:
    segments = [Segment(0, np.array([101, 5, 6, 102]), np.array([1, 2]), np.array([0, 1])),
                Segment(1, np.array([101, 7, 102]), np.array([1]), np.array([0])),
                Segment(3, np.array([101, 8, 9, 10, 11, 102]), np.array([1, 3, 4]), np.array([0, 1, 1]))]
    return SegmentTable.of(segments, WORD_START)


def test_ragged_index_gathers_runs_in_the_order_asked() -> None:
    starts = run_starts([2, 0, 3])
    assert starts.tolist() == [0, 2, 2, 5]
    index, lengths = ragged_index(starts, np.array([2, 0, 1]))
    assert index.tolist() == [2, 3, 4, 0, 1] and lengths.tolist() == [3, 2, 0]
    index, lengths = ragged_index(starts, np.zeros(0, dtype=np.int64))
    assert index.tolist() == [] and lengths.tolist() == []


def test_a_table_holds_each_segment_with_the_plans_word_rows() -> None:
    t = table()
    assert t.lengths.tolist() == [4, 3, 6]
    assert t.feed_words.tolist() == [0, 1, 2, 3, 4, 4]  # the plan's rows
    third = t.segment(2, WORD_START)
    assert third.sentence == 3 and third.ids.tolist() == [101, 8, 9, 10, 11, 102]
    assert third.positions.tolist() == [1, 3, 4] and third.word_rows.tolist() == [0, 1, 1]
    third.ids[0] = 0  # a copy: the table is what batching reads
    assert t.ids[t.id_start[2]] == 101


def test_take_and_concat_keep_every_segment_whole() -> None:
    t = table()
    taken = t.take(np.array([2, 0]))
    assert [taken.segment(j, WORD_START).ids.tolist() for j in range(2)] == [[101, 8, 9, 10, 11, 102],
                                                                              [101, 5, 6, 102]]
    assert taken.feed_words.tolist() == [3, 4, 4, 0, 1]
    both = SegmentTable.concat([taken, t.take(np.array([1]))])
    assert both.sentence.tolist() == [3, 0, 1]
    assert both.segment(2, WORD_START).ids.tolist() == [101, 7, 102] and both.feed_words.tolist()[-1] == 2


def test_packing_pads_rows_sorts_by_length_and_maps_pieces_to_words() -> None:
    batches = pack_batches(table(), batch_tokens=8, pad_id=0)
    assert [b.ids.shape for b in batches] == [(2, 4), (1, 6)]  # 3 + 4 ids fit two rows of 4; 6 goes alone
    first = batches[0]
    assert first.ids.tolist() == [[101, 7, 102, 0], [101, 5, 6, 102]]
    assert first.mask.tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]
    assert first.ids.reshape(-1)[first.flat].tolist() == [7, 5, 6] and first.words.tolist() == [2, 0, 1]
    assert batches[1].ids.reshape(-1)[batches[1].flat].tolist() == [8, 10, 11]
    assert batches[1].words.tolist() == [3, 4, 4]
