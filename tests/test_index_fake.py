"""Index, query, usages and info through the Python API with the fake encoder."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from sensesearch import ConfigMismatchError, IndexClosedError, IndexLockedError, QueryError, SenseIndex, WordNotFoundError
from sensesearch.config import EncoderSettings
from sensesearch.verify import verify_index


def test_add_stores_every_word_occurrence(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        report = index.add([bank_corpus])
        info = index.info()
    words = [w for line in (bank_corpus / "bank.txt").read_text().splitlines() for w in line.rstrip(".").split()]
    assert report.documents_indexed == 1 and report.sentences == 6
    assert info.occurrences == len(words) == report.occurrences
    assert info.documents == 1 and info.dim == 32


def test_same_word_query_ranks_same_sense_first(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([bank_corpus])
        hits = index.query("They fished from the [[bank]] of the river.", k=6)
    assert [h.word.lower() for h in hits] == ["bank"] * 6
    assert all("river" in h.sentence or "stream" in h.sentence for h in hits[:3])
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for hit in hits:
        assert hit.sentence[hit.start:hit.end] == hit.word


def test_any_word_query_returns_other_words(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([bank_corpus])
        hits = index.query("the [[river]] bank", k=20, any_word=True)
    assert len(hits) == 20 and len({h.word.lower() for h in hits}) > 1


def test_reindexing_unchanged_file_adds_nothing_and_changed_file_replaces(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        first = index.add([bank_corpus])
        again = index.add([bank_corpus])
        assert again.documents_unchanged == 1 and again.occurrences == 0
        (bank_corpus / "bank.txt").write_text("A new bank opened.\n")
        changed = index.add([bank_corpus])
        assert changed.documents_replaced == 1
        info = index.info()
        assert info.occurrences == 4 < first.occurrences
        assert index.vectors.ntotal == 4
        assert len(index.usages("bank")) == 1


def test_reopen_and_mismatched_settings(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([bank_corpus])
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert index.info().occurrences > 0
        assert len(index.usages("BANK")) == 6
    other = EncoderSettings(model="fake:test", pooling="first")
    with pytest.raises(ConfigMismatchError, match="pooling"):
        SenseIndex.open_or_create(tmp_path / "idx", other)


def test_second_writer_is_refused(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings):
        with pytest.raises(IndexLockedError):
            SenseIndex.open(tmp_path / "idx")
        with SenseIndex.open(tmp_path / "idx", read_only=True) as reader:
            assert reader.info().occurrences == 0


def test_a_closed_index_refuses_writes_and_reads_while_another_writer_holds_the_folder(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    (tmp_path / "more.txt").write_text("The bank closed early. We walked along the river bank.\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as closed:
        closed.add([bank_corpus])
    with SenseIndex.open(tmp_path / "idx") as writer:
        for use in (lambda: closed.add([tmp_path / "more.txt"]), lambda: closed.remove("bank.txt"),
                    lambda: closed.reindex(), lambda: closed.usages("bank"), lambda: closed.info(),
                    lambda: closed.query("the [[bank]] of the river"), lambda: closed.encoder,
                    lambda: closed.vectors):
            with pytest.raises(IndexClosedError, match="was closed; open it again"):
                use()
        writer.add([tmp_path / "more.txt"])
    assert verify_index(tmp_path / "idx").problems == ()
    with SenseIndex.open(tmp_path / "idx") as index:
        assert index.info().documents == 2


def test_a_huge_k_costs_what_the_index_holds_not_what_k_says(tmp_path: Path, bank_corpus: Path,
                                                            fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([bank_corpus])
        everything = index.query("the [[river]] bank", k=index.info().occurrences, any_word=True)
        started = time.perf_counter()
        # FAISS allocated k results: 10**8 took 16 s and 1.2 GB, 2**62 raised numpy's "array is too big".
        for k in (10**8, 2**62):
            assert index.query("the [[river]] bank", k=k, any_word=True) == everything
        assert time.perf_counter() - started < 2


def test_threads_first_queries_at_once_load_the_model_once(tmp_path: Path, bank_corpus: Path,
                                                           fake_settings: EncoderSettings,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from sensesearch import encoder as encoder_module

    from .fake_encoder import FakeEncoder

    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([bank_corpus])
    loads = []

    def slow_load(settings: EncoderSettings, device: str | None) -> FakeEncoder:
        loads.append(1)
        time.sleep(0.3)
        return FakeEncoder(settings)

    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake", slow_load)
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index, ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: index.query("the [[bank]] of the river", k=3), range(4)))
    assert len(loads) == 1 and all(answer == answers[0] for answer in answers)


def test_query_errors(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([bank_corpus])
        with pytest.raises(QueryError):
            index.query("no marker here")
        with pytest.raises(WordNotFoundError, match="does not occur in the index"):
            index.query("the [[zebra]] ran")


def test_long_document_spans_many_checkpoints(tmp_path: Path, fake_settings: EncoderSettings,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from sensesearch import ingest

    monkeypatch.setattr(ingest, "MIN_CHECKPOINT_OCCURRENCES", 50)
    corpus = tmp_path / "c"
    corpus.mkdir()
    for i in range(5):
        (corpus / f"d{i}.txt").write_text(" ".join(f"Sentence {j} of doc {i} ends here." for j in range(40)))
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        report = index.add([corpus])
        ids = np.sort(index.vectors.ids())
        assert report.documents_indexed == 5
        assert len(ids) == report.occurrences == index.info().occurrences
    with SenseIndex.open(tmp_path / "idx") as index:
        assert index.vectors.ntotal == report.occurrences
