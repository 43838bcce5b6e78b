"""Ingest bookkeeping in-process: checkpoint placement, replacement of changed documents, removal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sensesearch import InputError, SenseIndex, SenseSearchError, ingest
from sensesearch.config import EncoderSettings

from .robust_util import snapshot, write_corpus


def _count_checkpoints(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record (committed documents so far, vectors) at each checkpoint."""
    seen: list[tuple[int, int]] = []
    original = ingest.Ingestor._checkpoint

    def counting(self: ingest.Ingestor, last: bool = False) -> None:
        seen.append((self.counters.indexed, self.writer.ntotal))
        original(self, last)

    monkeypatch.setattr(ingest.Ingestor, "_checkpoint", counting)
    return seen


def test_checkpoints_fall_due_between_documents_that_do_not_align_with_chunks(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a 512-sentence chunk ending mid-document used to postpone every checkpoint to the end."""
    monkeypatch.setenv("SENSESEARCH_CHECKPOINT_OCCURRENCES", "100")
    monkeypatch.setattr(ingest, "CHUNK_SENTENCES", 512)
    corpus = write_corpus(tmp_path / "c", 200, 7)  # 1,400 sentences; 512 and 1,024 fall inside documents
    checkpoints = _count_checkpoints(monkeypatch)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        report = index.add([corpus])
    assert report.documents_indexed == 200
    assert len(checkpoints) >= 3, checkpoints
    assert checkpoints[0][0] < 200 and checkpoints[-1][0] == 200


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_bad_checkpoint_setting_is_a_domain_error(value: str, tmp_path: Path, fake_settings: EncoderSettings,
                                                  bank_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENSESEARCH_CHECKPOINT_OCCURRENCES", value)
    with (SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index,
          pytest.raises(SenseSearchError, match="SENSESEARCH_CHECKPOINT_OCCURRENCES")):
        index.add([bank_corpus])


def test_reindexing_changed_files_replaces_their_occurrences(tmp_path: Path, fake_settings: EncoderSettings,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENSESEARCH_CHECKPOINT_OCCURRENCES", "50")
    corpus = write_corpus(tmp_path / "c", 12, 6)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([corpus])
        (corpus / "d003.txt").write_text("Only one riverbank sentence now.\n")
        (corpus / "d007.txt").write_text("A sentence with a riverbank. And another riverbank sentence.\n")
        report = index.add([corpus])
        assert (report.documents_replaced, report.documents_unchanged) == (2, 10)
        assert [h.document for h in index.usages("riverbank")] == [str(corpus / "d003.txt")] + [
            str(corpus / "d007.txt")] * 2
        assert not [h for h in index.usages("doc") if h.document.endswith(("d003.txt", "d007.txt"))]
    with SenseIndex.create(tmp_path / "fresh", settings=fake_settings, compression="flat") as fresh:
        fresh.add([corpus])
    got, expected = snapshot(tmp_path / "idx"), snapshot(tmp_path / "fresh")
    assert got.documents == expected.documents and got.occurrences == expected.occurrences
    assert np.array_equal(got.row_ids, got.vector_ids)


def test_jsonl_records_sharing_an_id_are_not_silently_merged(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    """Regression: a second record with the same id used to count as "unchanged" and vanish without a word."""
    data = tmp_path / "dup.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in (
        {"id": "a", "text": "The first bank."}, {"id": "a", "text": "A different river bank."},
        {"id": "b", "text": "Another bank."})) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        report = index.add([data])
        assert report.documents_indexed == 2 and report.documents_unchanged == 0
        assert [s.path for s in report.skipped] == [f"{data}:2"] and "same document" in report.skipped[0].reason
        again = index.add([data, data])
        assert again.documents_unchanged == 4 and again.documents_indexed == 0


def test_remove_by_path_folder_and_label(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    corpus = write_corpus(tmp_path / "c", 4, 3)
    sub = write_corpus(tmp_path / "c" / "sub", 2, 3, tag="s")
    (tmp_path / "c" / "r.jsonl").write_text('{"id": "rec-1", "text": "A record."}\n{"id": "rec-2", "text": "B."}\n')
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        total = index.vectors.ntotal
        removed = index.remove([str(sub), str(corpus / "d001.txt"), "rec-2"])
        assert sorted(removed) == sorted([str(sub / "d000.txt"), str(sub / "d001.txt"), str(corpus / "d001.txt"),
                                          "rec-2"])
        with pytest.raises(InputError, match="no indexed document matches 'nothing-like-this'; nothing was removed"):
            index.matching_documents(["nothing-like-this"])
        left = {d["document"] for d in index.documents()}
        assert left == {str(corpus / f"d00{i}.txt") for i in (0, 2, 3)} | {"rec-1"}
        assert index.vectors.ntotal == index.info().occurrences < total
        assert sorted(index.vectors.ids().tolist()) == index.store.all_occurrence_ids()


def test_any_word_search_of_a_reader_skips_stray_vectors_and_still_returns_k(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    """Regression: stray vectors (a crash, or a writer between save and commit) used to crowd hits out."""
    from sensesearch.vectors import VECTORS_FILE, VectorStore

    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([bank_corpus])
        _, query_vector = index.searcher.embed_marked("the [[river]] bank")
    stored = VectorStore.load(tmp_path / "idx" / VECTORS_FILE)
    stray_ids = np.arange(10_000, 10_040)
    stored.add(stray_ids, np.repeat(query_vector[None, :], len(stray_ids), axis=0))
    stored.save(tmp_path / "idx" / VECTORS_FILE)
    with SenseIndex.open(tmp_path / "idx", read_only=True) as reader:
        hits = reader.query("the [[river]] bank", k=5, any_word=True)
        assert len(hits) == 5 and all(h.occurrence_id < 10_000 for h in hits)
        assert len(reader.query("the [[river]] bank", k=1000, any_word=True)) == reader.info().occurrences


def test_checkpoints_fall_inside_one_long_document(tmp_path: Path, fake_settings: EncoderSettings,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17.15: pending work is bounded by occurrences; a single document no longer is one transaction."""
    monkeypatch.setenv("SENSESEARCH_CHECKPOINT_OCCURRENCES", "100")
    corpus = write_corpus(tmp_path / "c", 1, 200)
    checkpoints = _count_checkpoints(monkeypatch)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        report = index.add([corpus])
        (doc,) = index.store.all_documents()
    assert report.documents_indexed == 1 and not doc.interrupted and doc.n_sentences == 200
    inside = [vectors for done, vectors in checkpoints if done == 0]
    assert len(inside) >= 5 and all(v < report.occurrences for v in inside), checkpoints


def test_an_encoder_error_reaches_the_caller_and_leaves_the_index_as_it_was(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Encoding runs ahead on its own thread; its errors are raised in the caller, nothing half-written stays."""
    corpus = write_corpus(tmp_path / "c", 6, 5)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
    before = snapshot(tmp_path / "idx")
    write_corpus(tmp_path / "c", 6, 5, tag="x")
    calls = []

    def failing(self: ingest.Ingestor, chunks):  # type: ignore[no-untyped-def]
        for chunk in chunks:
            calls.append(len(chunk))
            if len(calls) == 2:
                raise SenseSearchError("encoder broke")
            yield self.encoder.encode(chunk)

    monkeypatch.setattr(ingest.Ingestor, "_encode_in_process", failing)
    monkeypatch.setattr(ingest, "CHUNK_SENTENCES", 5)
    with SenseIndex.open(tmp_path / "idx") as index, pytest.raises(SenseSearchError, match="encoder broke"):
        index.add([corpus])
    after = snapshot(tmp_path / "idx")
    assert after.documents == before.documents and np.array_equal(after.vector_ids, before.vector_ids)


@pytest.mark.parametrize("emptied", ["", "  \n\t\n", "\ufeff", "\u200b\ufeff\u00ad \ufeff"])
def test_a_file_or_record_emptied_since_it_was_indexed_is_dropped(tmp_path: Path, fake_settings: EncoderSettings,
                                                                  emptied: str) -> None:
    """An emptied file used to be skipped before its stored version was looked up, which then stayed searchable."""
    corpus = write_corpus(tmp_path / "c", 3, 4)
    records = tmp_path / "r.jsonl"
    lines = [{"id": "kept", "text": "The river bank flooded."}, {"id": "emptied", "text": "The money bank lent."}]
    records.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([corpus, records])
        (corpus / "d001.txt").write_text(emptied)
        lines[1]["text"] = emptied
        records.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
        report = index.add([corpus, records])
        assert sorted(s.reason for s in report.skipped) == ["empty document; the version indexed before is removed"] * 2
        assert report.documents_indexed == 0 and report.documents_unchanged == 3
        labels = {d.label for d in index.store.all_documents()}
        assert all("d001" not in label for label in labels) and "emptied" not in labels
        assert {h.document for h in index.query("the [[doc]] of sentence", k=50)} == {
            str(corpus / name) for name in ("d000.txt", "d002.txt")}
    (corpus / "d001.txt").unlink()
    lines.pop()
    records.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    with SenseIndex.create(tmp_path / "fresh", settings=fake_settings, compression="flat") as fresh:
        fresh.add([corpus, records])
    got, expected = snapshot(tmp_path / "idx"), snapshot(tmp_path / "fresh")
    assert got.documents == expected.documents and got.occurrences == expected.occurrences


def test_nul_characters_are_stored_as_replacement_characters_and_verify_passes(
        tmp_path: Path, fake_settings: EncoderSettings, db_url: str | None) -> None:
    """A NUL (a JSON "\\u0000", or in a text file past the binary check's first 64 KiB) used to be stored as is:
    SQLite's length() stops at it, so verify took the sentence for too short for its words, and PostgreSQL
    refuses it. The reader now puts U+FFFD in its place, one character for one, so offsets stay right."""
    from sensesearch.verify import verify_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "records.jsonl").write_text(json.dumps({"id": "nul", "text": "A nul \u0000 beside the bank."}) + "\n")
    (corpus / "long.txt").write_text("The river bank is green. " * 3000 + "Then a nul \u0000 by the bank.\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        assert index.add([corpus]).documents_indexed == 2
        texts = [hit.sentence for hit in index.usages("nul")]
        hits = [hit for hit in index.usages("bank") if "\ufffd" in hit.sentence]
    assert sorted(texts) == ["A nul \ufffd beside the bank.", "Then a nul \ufffd by the bank."]
    assert all(hit.sentence[hit.start:hit.end] == "bank" for hit in hits) and len(hits) == 2
    assert verify_index(tmp_path / "idx", check_model=False).sound


def test_nul_in_metadata_and_in_what_is_typed_agrees_with_what_was_indexed(
        tmp_path: Path, fake_settings: EncoderSettings, db_url: str | None) -> None:
    """Metadata kept its NULs (PostgreSQL then failed every --where on the index, calling it damaged), and a word,
    query or filter typed with a NUL could not find text indexed with one. Both now read NUL as U+FFFD."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    record = {"id": "d1", "text": "The ba\u0000nk lent money. The bank was closed.", "source": "x\u0000y",
              "k\u0000ey": 1}
    (corpus / "records.jsonl").write_text(json.dumps(record) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        index.add([corpus])
        assert index.catalog()[0].meta == {"source": "x\ufffdy", "k\ufffdey": 1}
        assert [h.sentence for h in index.usages("ba\u0000nk")] == ["The ba\ufffdnk lent money."]
        assert len(index.usages("bank", where=["source=x\u0000y"])) == 1
        assert len(index.usages("bank", where=["k\u0000ey=1"])) == 1
        assert [h.sentence for h in index.query("the [[ba\u0000nk]] lent")][:1] == ["The ba\ufffdnk lent money."]


def test_a_value_the_database_cannot_take_is_a_usage_error_not_damage() -> None:
    """PostgreSQL refuses a NUL in text with a DataError, which was reported as a damaged metadata database (with
    the advice to restore a backup); the value given is at fault."""
    import sqlite3

    from sensesearch.dbengine import domain_error
    from sensesearch.errors import UsageError

    error = domain_error(sqlite3.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes"), sqlite3, "db")
    assert isinstance(error, UsageError) and "damaged" not in str(error)


@pytest.mark.parametrize("name", ["fin\u0000ance", "red\u001b[31m", "tab\there", "lone\udcff"])
def test_sense_names_hold_no_control_characters(name: str) -> None:
    from sensesearch.errors import UsageError
    from sensesearch.inventory import check_name

    with pytest.raises(UsageError, match="control characters"):
        check_name(name)
