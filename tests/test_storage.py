"""The occurrence store on its own: the writer's checkpoint and rollback, batched removal, snapshots, id ranges."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from sensesearch import IndexCorruptError, SenseIndex, SenseSearchError
from sensesearch.config import EncoderSettings, IndexConfig
from sensesearch.corpus import read_corpus
from sensesearch.folder import read_index_config
from sensesearch.ingest import Ingestor
from sensesearch.storage import OccurrenceStore
from sensesearch.idrange import IdRange
from sensesearch.storage_writer import StoreWriter
from sensesearch.vectors import VECTORS_FILE, VectorStore

from .fake_encoder import FakeEncoder
from .robust_util import write_corpus

DIM = FakeEncoder().dim


def _config(settings: EncoderSettings) -> IndexConfig:
    encoder = FakeEncoder(settings)
    return IndexConfig(encoder=settings, model_fingerprint=encoder.fingerprint, dim=encoder.dim, compression="flat")


def _unit(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _write_document(writer: StoreWriter, doc_id: int, first: int, n: int, key: str, word_id: int,
                    new_word: bool) -> None:
    """One document of one sentence holding n occurrences of one word, ids from `first` (= the sentence id)."""
    text = " ".join(["bank"] * n)
    words = [(word_id, "bank", "bank")] if new_word else []
    occurrences = [(first + i, first, word_id, i, 5 * i, 5 * i + 4) for i in range(n)]
    writer.add(words, [(first, doc_id, 0, text)], occurrences, np.arange(first, first + n, dtype=np.int64),
               _unit(n, first))
    writer.add_document(id=doc_id, key=key, label=key, path=key, content_hash=key, meta=None, first_sentence=first,
                        n_sentences=1, first_occurrence=first, n_occurrences=n, n_pieces=n)


def _agree(path: Path, config: IndexConfig) -> tuple[list[int], list[int]]:
    """(row ids, vector ids) as a fresh reader finds them on disk."""
    reader = OccurrenceStore.open(path, config, read_only=True)
    try:
        return sorted(reader.meta.all_occurrence_ids()), sorted(reader.vectors.ids().tolist())
    finally:
        reader.close()


def test_writer_checkpoint_and_rollback_leave_rows_and_vectors_agreeing(tmp_path: Path,
                                                                        fake_settings: EncoderSettings) -> None:
    config = _config(fake_settings)
    storage = OccurrenceStore.create(tmp_path, config)
    with storage.writer() as writer:
        _write_document(writer, 1, 1, 4, "a", 1, True)
        assert _agree(tmp_path, config) == ([], [])  # nothing durable before the checkpoint
        writer.checkpoint()
        assert _agree(tmp_path, config) == ([1, 2, 3, 4], [1, 2, 3, 4])
    with pytest.raises(RuntimeError), storage.writer() as writer:
        _write_document(writer, 2, 5, 3, "b", 1, False)
        raise RuntimeError("the encoder failed")
    assert storage.vectors.ntotal == 4  # the rolled-back vectors are gone from memory too
    assert _agree(tmp_path, config) == ([1, 2, 3, 4], [1, 2, 3, 4])
    with storage.writer() as writer:  # the ids of the rolled-back document are free again
        assert writer.next_ids() == (2, 2, 5, 2)
    storage.close()


def test_a_crash_between_vector_save_and_commit_is_recovered_on_open(tmp_path: Path,
                                                                    fake_settings: EncoderSettings) -> None:
    config = _config(fake_settings)
    storage = OccurrenceStore.create(tmp_path, config)
    writer = storage.writer().__enter__()
    _write_document(writer, 1, 1, 4, "a", 1, True)
    storage.save_vectors()  # the first half of a checkpoint; the process dies before the commit
    writer.conn.close()  # type: ignore[union-attr]
    storage.close()
    assert _agree(tmp_path, config) == ([], [1, 2, 3, 4])
    reopened = OccurrenceStore.open(tmp_path, config)
    assert reopened.vectors.ntotal == 0
    reopened.close()
    assert _agree(tmp_path, config) == ([], [])


def test_removing_documents_is_one_faiss_pass_after_the_rows(tmp_path: Path, fake_settings: EncoderSettings,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(fake_settings)
    storage = OccurrenceStore.create(tmp_path, config)
    with storage.writer() as writer:
        for doc in range(5):
            _write_document(writer, doc + 1, 1 + 10 * doc, 3, f"d{doc}", 1, doc == 0)
        writer.checkpoint()
    passes: list[int] = []
    original = VectorStore._drop
    monkeypatch.setattr(VectorStore, "_drop", lambda self, selector: passes.append(1) or original(self, selector))
    storage.remove_documents([d for d in storage.meta.all_documents() if d.label != "d2"])
    assert passes == [1]
    assert _agree(tmp_path, config) == ([21, 22, 23], [21, 22, 23])
    storage.close()


def test_a_snapshot_takes_an_index_rebuilt_in_place_as_a_new_generation(tmp_path: Path,
                                                                         fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([write_corpus(tmp_path / "old", 2, 2)])
    with SenseIndex.create(tmp_path / "new", settings=fake_settings, compression="flat") as index:
        index.add([write_corpus(tmp_path / "fresh", 3, 2, tag="x")])
    config = read_index_config(tmp_path / "idx")
    reader = OccurrenceStore.open(tmp_path / "idx", config, read_only=True)
    before = reader.snapshot()
    assert reader.snapshot().generation == before.generation  # nothing changed: the same generation
    for name in ("meta.sqlite", "config.json", VECTORS_FILE, VECTORS_FILE + ".sum"):  # a rebuild swaps every file in
        os.replace(tmp_path / "new" / name, tmp_path / "idx" / name)
    after = reader.snapshot(refresh=False)
    assert after.generation == before.generation and after.meta is before.meta  # only a refresh takes it up
    after = reader.snapshot()
    assert after.generation != before.generation and after.meta is not before.meta
    assert len(after.meta.all_documents()) == 3
    assert sorted(after.vectors.ids().tolist()) == sorted(after.meta.all_occurrence_ids())
    reader.close()


def test_a_refresh_that_cannot_load_the_new_vectors_keeps_the_whole_old_generation(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    # The new metadata store and config were taken up before the new vectors loaded: a failed load left new rows
    # over old vectors, and the next refresh, seeing the same files, took the rows as current.
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([write_corpus(tmp_path / "old", 2, 2)])
    with SenseIndex.create(tmp_path / "new", settings=fake_settings, compression="flat") as index:
        index.add([write_corpus(tmp_path / "fresh", 3, 2, tag="x")])
    reader = OccurrenceStore.open(tmp_path / "idx", read_index_config(tmp_path / "idx"), read_only=True)
    before = reader.snapshot()
    for name in ("meta.sqlite", "config.json", VECTORS_FILE, VECTORS_FILE + ".sum"):
        os.replace(tmp_path / "new" / name, tmp_path / "idx" / name)

    def failing(*_: object, **__: object) -> VectorStore:
        raise IndexCorruptError("vectors.faiss cannot be read (input/output error)")

    monkeypatch.setattr(VectorStore, "load", failing)
    with pytest.raises(IndexCorruptError, match="input/output error"):
        reader.snapshot()
    kept = reader.snapshot(refresh=False)
    assert (kept.meta, kept.vectors, kept.config, kept.generation) == \
        (before.meta, before.vectors, before.config, before.generation)
    assert len(kept.meta.all_documents()) == 2  # the old store is still open and usable
    monkeypatch.undo()
    after = reader.snapshot()
    assert after.generation != before.generation and len(after.meta.all_documents()) == 3
    assert sorted(after.vectors.ids().tolist()) == sorted(after.meta.all_occurrence_ids())
    reader.close()


def test_a_refresh_refuses_vectors_whose_sum_was_deleted_as_opening_does(tmp_path: Path,
                                                                         fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([write_corpus(tmp_path / "old", 2, 2)])
    reader = OccurrenceStore.open(tmp_path / "idx", read_index_config(tmp_path / "idx"), read_only=True)
    before = reader.snapshot()
    with SenseIndex.open(tmp_path / "idx") as index:
        index.add([write_corpus(tmp_path / "more", 2, 2, tag="y")])
    (tmp_path / "idx" / (VECTORS_FILE + ".sum")).unlink()
    with pytest.raises(IndexCorruptError, match="is missing although config.json carries a checksum"):
        OccurrenceStore.open(tmp_path / "idx", read_index_config(tmp_path / "idx"), read_only=True)
    with pytest.raises(IndexCorruptError, match="is missing although config.json carries a checksum"):
        reader.snapshot()
    assert reader.snapshot(refresh=False).vectors is before.vectors
    reader.close()


def test_ids_come_from_the_store_range(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    config = _config(fake_settings)
    shard = IdRange(first=1_000_001, size=1_000_000)
    storage = OccurrenceStore.create(tmp_path, config, id_range=shard)
    assert storage.next_ids() == (1_000_001,) * 4
    encoder = FakeEncoder(fake_settings)
    Ingestor(storage.writer(), encoder, config.lemma_language).run(read_corpus([write_corpus(tmp_path / "c", 3, 2)]))
    rows = sorted(storage.meta.all_occurrence_ids())
    assert rows[0] == 1_000_001 and rows == sorted(storage.vectors.ids().tolist())
    assert min(d.id for d in storage.meta.all_documents()) == 1_000_001
    document, sentence, occurrence, word = storage.next_ids()
    assert (document, sentence, occurrence) == (1_000_004, 1_000_007, rows[-1] + 1)
    storage.close()
    # Ids of another range (another shard's rows) do not move this range's next ids, and a full range refuses.
    other = OccurrenceStore.open(tmp_path, config, id_range=IdRange(first=1, size=1_000_000))
    assert other.next_ids() == (1, 1, 1, 1)
    other.close()
    tiny = OccurrenceStore.open(tmp_path, config, id_range=IdRange(first=1, size=3))
    with pytest.raises(SenseSearchError, match="id range"), tiny.writer() as writer:
        _write_document(writer, 1, 1, 4, "a", 1, True)
    assert tiny.next_ids() == (1, 1, 1, 1) and tiny.vectors.ntotal == len(rows)
    tiny.close()


def test_the_default_range_starts_at_one_and_is_unbounded() -> None:
    assert IdRange().first == 1 and IdRange().stop >= 2**62
    with pytest.raises(SenseSearchError):
        IdRange(first=0)


def test_a_save_while_a_reader_opens_is_taken_up_by_its_next_snapshot(tmp_path: Path, fake_settings: EncoderSettings,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: the stamp was read after loading the vectors, so a writer's save (and then commit) in between
    was taken for the file already loaded, and the reader answered with the new rows over the old vectors."""
    config = _config(fake_settings)
    storage = OccurrenceStore.create(tmp_path, config)
    with storage.writer() as writer:
        _write_document(writer, 1, 1, 4, "a", 1, True)
        writer.checkpoint()
    original = VectorStore.load

    def load_then_a_writer_saves(path: Path, compression: str | None = None, check: bool = False) -> VectorStore:
        loaded = original(path, compression, check)
        monkeypatch.setattr(VectorStore, "load", original)
        with storage.writer() as racing:
            _write_document(racing, 2, 5, 3, "b", 1, False)
            racing.checkpoint()
        return loaded

    monkeypatch.setattr(VectorStore, "load", load_then_a_writer_saves)
    reader = OccurrenceStore.open(tmp_path, config, read_only=True)
    assert reader.vectors.ntotal == 4 and len(reader.meta.all_occurrence_ids()) == 7
    snapshot = reader.snapshot()
    assert sorted(snapshot.vectors.ids().tolist()) == sorted(snapshot.meta.all_occurrence_ids()) == list(range(1, 8))
    reader.close()
    storage.close()
