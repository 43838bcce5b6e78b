"""Changed rows in the metadata store are found, named and never served unnoticed (issue 17 item 4, metadata part)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from sensesearch import IndexCorruptError, SenseIndex, SenseSearchError
from sensesearch.config import EncoderSettings
from sensesearch.digests import damaged_documents, quick_problem, quick_sample
from sensesearch.migrations import MIGRATIONS
from sensesearch.schema import documents, sentences
from sensesearch.store import MetaStore
from sensesearch.verify import verify_index

from .robust_util import run_cli

OTHER = "Apples grow on trees in the orchard.\nThe orchard lies beyond the hill.\n"


def build(tmp_path: Path, corpus: Path, settings: EncoderSettings, db_url: str | None = None) -> Path:
    (corpus / "other.txt").write_text(OTHER)
    with SenseIndex.create(tmp_path / "idx", settings=settings, db_url=db_url) as index:
        index.add([corpus])
    return tmp_path / "idx"


def change(target: Path, statement: str) -> None:
    with sqlite3.connect(target / "meta.sqlite") as conn:
        assert conn.execute(statement).rowcount >= 1
    # The WAL is folded in by closing; the next open sees the changed rows as any later reader would.


def content_lines(target: Path) -> list[str]:
    report = verify_index(target, check_model=False)
    return [p.detail for p in report.problems if p.kind == "content"]


def test_untouched_index_is_sound_and_every_document_has_a_digest(tmp_path: Path, bank_corpus: Path,
                                                                   fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    assert verify_index(target, check_model=False).sound
    with sqlite3.connect(target / "meta.sqlite") as conn:
        assert all(len(d) == 64 for (d,) in conn.execute("SELECT digest FROM documents"))
    SenseIndex.open(target).close()


@pytest.mark.parametrize("statement", [
    # A changed letter in a sentence's text (same length: the offsets still fit, so no other check sees it).
    "UPDATE sentences SET text = replace(text, 'river', 'rivet') WHERE text LIKE '%grassy%'",
    "UPDATE occurrences SET start = start + 1, \"end\" = \"end\" + 1 WHERE id = (SELECT min(o.id) FROM occurrences o "
    "JOIN sentences s ON s.id = o.sentence_id WHERE s.text LIKE '%grassy%')",
    "UPDATE sentences SET start = start + 2 WHERE text LIKE '%grassy%'",
])
def test_changed_rows_name_their_document(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings,
                                          statement: str) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    change(target, statement)
    lines = content_lines(target)
    assert len(lines) == 1 and "bank.txt'" in lines[0] and "verify --repair" in lines[0], lines
    result = run_cli("verify", "--index", target)
    assert result.returncode == 1 and "bank.txt" in result.stdout and "other.txt" not in result.stdout


def test_changed_word_form_names_every_document_using_it(tmp_path: Path, bank_corpus: Path,
                                                         fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    change(target, "UPDATE words SET form = 'bonk' WHERE form = 'bank'")
    lines = content_lines(target)
    assert len(lines) == 1 and "bank.txt'" in lines[0], lines
    change(target, "UPDATE words SET form = 'bank' WHERE form = 'bonk'")
    change(target, "UPDATE words SET lemma = 'tre' WHERE form = 'the'")
    lines = content_lines(target)
    assert len(lines) == 2 and {"bank.txt", "other.txt"} == {Path(ln.split("'")[1]).name for ln in lines}, lines


def test_byte_flipped_inside_the_database_file_is_found(tmp_path: Path, bank_corpus: Path,
                                                        fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    with sqlite3.connect(target / "meta.sqlite") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    meta = target / "meta.sqlite"
    data = bytearray(meta.read_bytes())
    at = data.index(b"grassy")
    data[at] ^= 0x01  # "frassy": a text cell inside a page; SQLite keeps no page checksum to notice
    meta.write_bytes(bytes(data))
    report = verify_index(target, check_model=False)
    assert not any(p.kind == "database" for p in report.problems), report.problems
    lines = [p.detail for p in report.problems if p.kind == "content"]
    assert len(lines) == 1 and "bank.txt'" in lines[0], report.problems


def test_writer_refuses_changed_rows_when_opening(tmp_path: Path, bank_corpus: Path,
                                                  fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    change(target, "UPDATE sentences SET text = replace(text, 'river', 'rivet') WHERE text LIKE '%grassy%'")
    with pytest.raises(IndexCorruptError, match="bank.txt"):
        SenseIndex.open(target)
    written = run_cli("index", bank_corpus, "--index", target, "--quiet")
    assert written.returncode == 1 and "content digest" in written.stderr and "verify" in written.stderr
    # Readers still open (to query what is sound, and for verify to say what is not).
    SenseIndex.open(target, read_only=True).close()


def test_repair_drops_a_damaged_document_only_when_its_file_can_rebuild_it(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    change(target, "UPDATE sentences SET text = replace(text, 'orchard', 'orchid') WHERE text LIKE '%Apples%'")
    (bank_corpus / "other.txt").write_text(OTHER + "A new line.\n")
    change(target, "UPDATE sentences SET text = replace(text, 'river', 'rivet') WHERE text LIKE '%grassy%'")
    report = verify_index(target, repair=True, check_model=False)
    # bank.txt still holds its text: dropped, to be indexed again; other.txt changed since: kept, restore advised.
    assert [Path(d).name for d in report.dropped_documents] == ["bank.txt"], report
    lines = [p.detail for p in report.problems if p.kind == "content"]
    assert len(lines) == 1 and "other.txt'" in lines[0] and "repair keeps it" in lines[0], lines
    with sqlite3.connect(target / "meta.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM sentences WHERE text LIKE '%orchid%'").fetchone() == (1,)


def test_quick_check_is_bounded_and_reads_the_last_written_first(tmp_path: Path, bank_corpus: Path,
                                                                 fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    store = MetaStore(f"sqlite:///{target / 'meta.sqlite'}")
    try:
        with store.engine.connect() as conn:
            ids = [int(i) for i in conn.execute(select(documents.c.id).order_by(documents.c.id)).scalars()]
            assert sorted(quick_sample(conn)) == ids
            assert quick_sample(conn, budget=1) == [ids[-1]]
        with store.begin() as conn:
            conn.execute(text("UPDATE sentences SET text = 'x' || substr(text, 2) WHERE document_id = :d"),
                         {"d": ids[-1]})
        assert quick_problem(store.engine, budget=1) is not None
    finally:
        store.close()


def test_older_store_gets_digests_on_migration(tmp_path: Path, bank_corpus: Path,
                                               fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    number = next(n for n, f in MIGRATIONS if f.__name__ == "m005_document_digests")
    with sqlite3.connect(target / "meta.sqlite") as conn:
        conn.execute("ALTER TABLE documents DROP COLUMN digest")
        conn.execute("DELETE FROM migrations WHERE number = ?", (number,))
    store = MetaStore(f"sqlite:///{target / 'meta.sqlite'}")  # a writer's open migrates (readers never do)
    try:
        with store.engine.connect() as conn:
            assert damaged_documents(conn) == []
    finally:
        store.close()
    assert verify_index(target, check_model=False).sound


def test_postgres_store_writes_and_checks_digests(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings,
                                                  pg_url: str) -> None:
    target = build(tmp_path, bank_corpus, fake_settings, db_url=pg_url)
    assert verify_index(target, check_model=False).sound
    with SenseIndex.open(target) as index, index.store.begin() as conn:
        # Through the table (not raw SQL), so the index's own schema in the database is used.
        conn.execute(sentences.update().where(sentences.c.text.like("%grassy%"))
                     .values(text=func.replace(sentences.c.text, "river", "rivet")))
    lines = content_lines(target)
    assert len(lines) == 1 and "bank.txt'" in lines[0], lines


def test_deleted_vectors_sum_does_not_pass_as_an_older_index(tmp_path: Path, bank_corpus: Path,
                                                             fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    vectors = target / "vectors.faiss"
    data = bytearray(vectors.read_bytes())
    data[-40] ^= 0xFF
    vectors.write_bytes(bytes(data))
    (target / "vectors.faiss.sum").unlink()
    report = verify_index(target, check_model=False)
    assert any(p.kind == "checksum" and "vectors.faiss.sum is missing" in p.detail for p in report.problems), report
    with pytest.raises(IndexCorruptError, match="vectors.faiss.sum is missing"):
        SenseIndex.open(target)


@pytest.mark.parametrize("damage, error, words", [
    ("page", IndexCorruptError, "is damaged: database disk image is malformed"),
    ("utf8", SenseSearchError, "failed: Could not decode to UTF-8")])
def test_digest_reads_past_sqlalchemy_still_turn_database_failures_into_domain_errors(
        tmp_path: Path, damage: str, error: type[Exception], words: str) -> None:
    # The digests read rows through the SQLite driver's own cursor, past the engine's handle_error hook.
    from sensesearch.dbengine import make_engine
    from sensesearch.digests import document_digest
    from sensesearch.schema import metadata, occurrences, words as word_table

    db = tmp_path / "meta.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    metadata.create_all(engine)
    n = 3000
    with engine.begin() as conn:
        conn.execute(word_table.insert(), [{"id": 1, "form": "bank", "lemma": "bank"}])
        conn.execute(sentences.insert(), [{"id": i, "document_id": 1, "start": i * 600, "text": f"bank {i} " * 60}
                                          for i in range(n)])
        conn.execute(occurrences.insert(), [{"id": i, "sentence_id": i, "word_id": 1, "position": 0, "start": 0,
                                             "end": 4} for i in range(n)])
        row = dict(id=1, key="k", label="doc", path="/x", content_hash="h", meta={}, first_sentence=0,
                   n_sentences=n, first_occurrence=0, n_occurrences=n, n_pieces=n)
        conn.execute(documents.insert().values(**row, digest=document_digest(conn, row)))
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert not damaged_documents(conn)
    engine.dispose()
    data = bytearray(db.read_bytes())
    if damage == "utf8":
        data[data.index(b"bank 1500 ")] ^= 0x80  # invalid UTF-8 in one sentence; quick_check still passes
    else:
        page = len(data) // 4096 // 3  # a page of sentences, which fill most of the file
        data[page * 4096:(page + 1) * 4096] = b"\xff" * 4096
    db.write_bytes(bytes(data))
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn, pytest.raises(error, match=words) as caught:
        damaged_documents(conn)
    assert "\n" not in str(caught.value)
    engine.dispose()


@pytest.mark.parametrize("checkpoint", ["1000000", "150"])
def test_digests_from_the_rows_a_writer_holds_are_the_ones_verify_computes(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch, db_url: str | None,
        checkpoint: str) -> None:
    """The writer digests a document finished in its transaction from the rows it holds, not reading them back.

    Checked against verify's own reading: new words and words stored by an earlier run (their lemma read from the
    store), documents cut by checkpoints (read back, since their first rows were committed earlier), and a
    document replaced by a new version in the same transaction.
    """
    from sensesearch import storage_writer

    from .robust_util import write_corpus

    monkeypatch.setenv("SENSESEARCH_CHECKPOINT_OCCURRENCES", checkpoint)
    read_back = []
    original = storage_writer.document_digest
    monkeypatch.setattr(storage_writer, "document_digest",
                        lambda conn, values: read_back.append(values["key"]) or original(conn, values))
    first, second = write_corpus(tmp_path / "a", 6, 12), write_corpus(tmp_path / "b", 6, 12, tag="b")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        index.add([first])
        (first / "d002.txt").write_text("A new version says word3 and doc 2 again.\n")
        index.add([first, second])
        n_documents = index.info().documents
        with index.store.engine.connect() as conn:
            assert damaged_documents(conn) == []
            stored = conn.execute(select(func.count()).select_from(documents).where(documents.c.digest.isnot(None)))
            assert stored.scalar() == n_documents == 12
    if checkpoint == "1000000":
        assert read_back == []
    else:  # 12 sentences of 5 words: a checkpoint every 150 occurrences cuts some documents, not all
        assert 0 < len(read_back) < n_documents


def test_the_digest_format_stays_the_one_stored_digests_were_written_in() -> None:
    """Digests already stored in indexes must keep matching: the values below were computed by the first
    implementation (before rows were fed in islice batches), with a whole batch of 5,000 rows and an empty document."""
    from sensesearch.digests import digest_of_rows

    row = {"id": 7, "key": "a.txt", "label": "a.txt", "path": "/c/a.txt", "content_hash": "h", "meta": {"year": 1901},
           "first_sentence": 1, "n_sentences": 2, "first_occurrence": 1, "n_occurrences": 5000, "n_pieces": 5100}
    sentence_rows = [(1, 7, 0, "Bank é ŉ"), (2, 7, 9, "river")]
    occurrence_rows = [(i, 1 + i % 2, i % 4, i, i + 3, f"w{i % 7}", None if i % 3 else f"l{i % 7}")
                       for i in range(1, 5001)]
    assert digest_of_rows(row, sentence_rows, iter(occurrence_rows)) == \
        "d42248c7fbdebf1e96f526e9c4c86cd17f9bb09eb0bf4cbf62b33c139ff5c44c"
    assert digest_of_rows(row, [], []) == "dc2c77f708a8de41a6ee6eb54bd09fb89253e1bf4628d278de77f5d5376d8fc9"


@pytest.mark.parametrize("nulled, note", [(1, "1 document"), (2, "2 documents")])
def test_documents_without_a_digest_are_counted_in_good_english(tmp_path: Path, bank_corpus: Path,
                                                                fake_settings: EncoderSettings, nulled: int,
                                                                note: str) -> None:
    """verify's note had read "1 documents have no content digest"."""
    from sensesearch.digests import content_problems

    target = build(tmp_path, bank_corpus, fake_settings)
    change(target, f"UPDATE documents SET digest = NULL WHERE id IN (SELECT id FROM documents LIMIT {nulled})")
    store = MetaStore(f"sqlite:///{target / 'meta.sqlite'}", read_only=True)
    try:
        with store.engine.connect() as conn:
            _, notes = content_problems(conn, {})
    finally:
        store.close()
    assert notes == [f"not checked, having no content digest: {note}"]
