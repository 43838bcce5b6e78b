"""Where ingest encodes: in turn with the writing for an encoder on the host CPU, on a read-ahead thread off it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from sensesearch import SenseIndex, pending
from sensesearch.config import EncoderSettings
from sensesearch.corpus import read_corpus
from sensesearch.encoder import runs_on_host
from sensesearch.ingest import Ingestor
from sensesearch.readahead import ReadAhead
from sensesearch.records import EncodedChunk, EncodedSentence
from sensesearch.storage import OccurrenceStore
from sensesearch.storage_writer import StoreWriter

from .fake_encoder import FakeEncoder
from .robust_util import write_corpus
from .test_storage import _config


class ThreadRecordingEncoder(FakeEncoder):
    def __init__(self, settings: EncoderSettings, on_host: bool) -> None:
        super().__init__(settings)
        self.runs_on_host = on_host
        self.threads: set[str] = set()

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        self.threads.add(threading.current_thread().name)
        return super().encode(sentences)


@pytest.mark.parametrize("on_host", [True, False])
def test_a_host_encoder_runs_in_the_calling_thread_and_an_off_host_one_ahead_of_it(
        tmp_path: Path, fake_settings: EncoderSettings, on_host: bool) -> None:
    corpus = write_corpus(tmp_path / "corpus", 4, 30)
    encoder = ThreadRecordingEncoder(fake_settings, on_host)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, encoder=encoder) as index:
        report = index.add([corpus])
        assert report.documents_indexed == 4 and report.sentences == 120
    expected = {threading.current_thread().name} if on_host else {"sensesearch-encode"}
    assert encoder.threads == expected
    # Same content either way.
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert index.info().occurrences == report.occurrences


def test_encoders_run_on_the_host_unless_they_say_otherwise(fake_settings: EncoderSettings) -> None:
    assert runs_on_host(object())  # type: ignore[arg-type]
    assert runs_on_host(FakeEncoder(fake_settings))
    assert not runs_on_host(ThreadRecordingEncoder(fake_settings, on_host=False))


def test_read_ahead_of_depth_zero_runs_in_the_consumer_and_closes_its_source() -> None:
    produced_in: list[str] = []
    closed: list[bool] = []

    def items() -> Iterator[int]:
        try:
            for i in range(5):
                produced_in.append(threading.current_thread().name)
                yield i
        finally:
            closed.append(True)

    ahead = ReadAhead(items, 0)
    taken = []
    for item in ahead:
        taken.append(item)
        if item == 2:
            break
    ahead.close()
    assert taken == [0, 1, 2] and closed == [True]
    assert set(produced_in) == {threading.current_thread().name} and len(produced_in) == 3


def test_read_ahead_of_depth_zero_raises_the_source_error_in_the_consumer() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise ValueError("bad chunk")

    with pytest.raises(ValueError, match="bad chunk"):
        list(ReadAhead(items, 0))


class JoinedChunkEncoder(FakeEncoder):
    """Hands each chunk back as an EncodedChunk, its sentences' vectors views of one array, as PlannedEncoder does."""

    def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
        encoded = super().encode(sentences)
        joined = np.concatenate([e.vectors for e in encoded]) if encoded else np.zeros((0, self.dim), np.float32)
        ends = np.cumsum([len(e.spans) for e in encoded]).tolist()
        return EncodedChunk((EncodedSentence(e.spans, joined[end - len(e.spans):end], e.n_pieces)
                             for e, end in zip(encoded, ends)), joined)


def test_chunks_handed_back_joined_are_written_exactly_as_sentence_lists_are(
        tmp_path: Path, fake_settings: EncoderSettings) -> None:
    """The writer takes an EncodedChunk's vectors at once (no join); rows, ids, digests and vectors are the same,
    with punctuation-only sentences, words new to the run repeated within a chunk, and small chunks."""
    corpus = write_corpus(tmp_path / "corpus", 5, 20)
    (corpus / "marks.txt").write_text("!!! ... ?\n-- ; !\nThe quay. The quay, again! Quay?\n")
    built = {}
    for name, encoder in (("lists", FakeEncoder(fake_settings)), ("joined", JoinedChunkEncoder(fake_settings))):
        with SenseIndex.create(tmp_path / name, settings=fake_settings, encoder=encoder, compression="flat") as index:
            index.add([corpus])
            stored = list(index.vectors.stored())
        with closing(sqlite3.connect(tmp_path / name / "meta.sqlite")) as conn:
            rows = {table: conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
                    for table in ("sentences", "words", "occurrences")}
            rows["documents"] = conn.execute("SELECT id, key, first_sentence, n_sentences, first_occurrence, "
                                             "n_occurrences, n_pieces, digest FROM documents ORDER BY id").fetchall()
        built[name] = (rows, np.concatenate([ids for ids, _ in stored]), np.concatenate([v for _, v in stored]))
    (rows, ids, vectors), (joined_rows, joined_ids, joined_vectors) = built["lists"], built["joined"]
    assert rows == joined_rows and len(rows["occurrences"]) > 400
    assert np.array_equal(ids, joined_ids) and np.array_equal(vectors, joined_vectors)


def test_document_lookups_never_wait_for_a_chunk_being_written(tmp_path: Path, fake_settings: EncoderSettings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: the read-ahead thread looked documents up under the lock the calling thread holds while it writes
    a chunk, so it planned nothing while a chunk was written (6.9 s of an 11.4 s ingest of both corpora)."""
    corpus = write_corpus(tmp_path / "corpus", 30, 4)
    config = _config(fake_settings)
    (tmp_path / "idx").mkdir()
    storage = OccurrenceStore.create(tmp_path / "idx", config)
    looked_up = threading.Event()
    writing = threading.Event()
    waited: list[bool] = []
    original_lookup, original_add = StoreWriter.documents_by_keys, StoreWriter.add

    def lookup(self: StoreWriter, keys: list[str]) -> object:
        if writing.is_set():
            looked_up.set()
        return original_lookup(self, keys)

    def add(self: StoreWriter, *args: object) -> None:
        if not waited:
            writing.set()
            waited.append(looked_up.wait(10))
        original_add(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(StoreWriter, "documents_by_keys", lookup)
    monkeypatch.setattr(pending, "LOOKUP_DOCUMENTS", 2)  # lookups all through the run, not one for all 30 at its start
    monkeypatch.setattr(StoreWriter, "add", add)
    encoder = ThreadRecordingEncoder(fake_settings, on_host=False)
    report = Ingestor(storage.writer(), encoder, config.lemma_language,
                      chunk_sentences=8).run(read_corpus([corpus]))
    storage.close()
    assert report.documents_indexed == 30
    assert waited == [True]
