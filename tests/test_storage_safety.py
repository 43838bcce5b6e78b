"""Never create over an index, never repair on the word of the least trustworthy file (issue 17 items 1, 2, 6, 8)."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import faiss
import numpy as np
import pytest

from typer.testing import CliRunner

from sensesearch import (ConfigMismatchError, IndexCorruptError, ReadOnlyError, SenseIndex, SenseSearchError,
                         StorageError, StorageUnavailableError, WordNotFoundError)
from sensesearch.cli import app as cli_app
from sensesearch.config import EncoderSettings
from sensesearch.durable import failure_kind
from sensesearch.verify import verify_index
from sensesearch.vectors import VECTORS_FILE, VectorStore

from .robust_util import run_cli, snapshot, start_cli, write_corpus


def build(tmp_path: Path, corpus: Path, settings: EncoderSettings) -> Path:
    with SenseIndex.create(tmp_path / "idx", settings=settings) as index:
        index.add([corpus])
    return tmp_path / "idx"


def test_two_processes_creating_one_index_make_one(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c", 6, 8)
    target = tmp_path / "new"
    slow = {"FAKE_ENCODE_DELAY": "0.3", "FAKE_CHUNK_SENTENCES": "8"}
    first = start_cli("index", corpus, "--index", target, "--model", "fake:race", "--quiet", "--wait", "60", **slow)
    second = start_cli("index", corpus, "--index", target, "--model", "fake:race", "--quiet", "--wait", "60", **slow)
    outs = [first.communicate(timeout=120), second.communicate(timeout=120)]
    assert first.returncode == 0 and second.returncode == 0, outs
    final = snapshot(target)
    assert len(final.documents) == 6 and len(final.vector_ids) > 0
    assert list(final.row_ids) == list(final.vector_ids)
    answer = run_cli("query", "Sentence 1 of [[doc]] 2", "--index", target, "--json")
    assert answer.returncode == 0 and json.loads(answer.stdout), answer.stderr


def test_index_never_creates_over_data_without_config(tmp_path: Path, bank_corpus: Path,
                                                      fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    before = (target / VECTORS_FILE).read_bytes()
    (target / "config.json").unlink()
    for attempt in (lambda: SenseIndex.open_or_create(target, fake_settings),
                    lambda: SenseIndex.create(target, settings=fake_settings)):
        with pytest.raises(IndexCorruptError, match="no config.json"):
            attempt()
    assert (target / VECTORS_FILE).read_bytes() == before and not (target / "config.json").exists()
    result = run_cli("index", bank_corpus, "--index", target, "--model", "fake:x", "--quiet")
    assert result.returncode == 1 and "no config.json" in result.stderr
    assert (target / VECTORS_FILE).read_bytes() == before


def test_only_files_that_provably_hold_nothing_are_taken_for_an_interrupted_create(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    """A create killed before config.json leaves an empty metadata store and vectors file: the next create
    removes them. Any row, any vector or an unreadable file keeps the folder refused, its files untouched."""
    with SenseIndex.create(tmp_path / "empty", settings=fake_settings):
        pass
    (tmp_path / "empty" / "config.json").unlink()
    (tmp_path / "empty" / "vectors.faiss.tmp").write_bytes(b"half a file")
    with SenseIndex.create(tmp_path / "empty", settings=fake_settings) as index:
        assert index.add([bank_corpus]).documents_indexed > 0
    assert not (tmp_path / "empty" / "vectors.faiss.tmp").exists()

    target = build(tmp_path, bank_corpus, fake_settings)
    (target / "config.json").unlink()
    dim = faiss.read_index(str(target / VECTORS_FILE)).d
    VectorStore.create(dim, "sq8").save(target / VECTORS_FILE)  # no vectors, but the rows remain
    meta = (target / "meta.sqlite").read_bytes()
    with pytest.raises(IndexCorruptError, match="no config.json"):
        SenseIndex.create(target, settings=fake_settings)
    assert (target / "meta.sqlite").read_bytes() == meta

    foreign = tmp_path / "foreign"  # someone's database whose tables only share the bookkeeping tables' names
    foreign.mkdir()
    with closing(sqlite3.connect(foreign / "meta.sqlite")) as conn, conn:
        conn.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO settings VALUES ('theme', 'my important setting')")
    with pytest.raises(IndexCorruptError, match="no config.json"):
        SenseIndex.create(foreign, settings=fake_settings)
    with closing(sqlite3.connect(foreign / "meta.sqlite")) as conn:
        assert conn.execute("SELECT value FROM settings").fetchall() == [("my important setting",)]
    with SenseIndex.create(tmp_path / "view", settings=fake_settings):
        pass
    (tmp_path / "view" / "config.json").unlink()
    with closing(sqlite3.connect(tmp_path / "view" / "meta.sqlite")) as conn, conn:
        conn.execute("CREATE VIEW notes AS SELECT 'account 12345' AS note")  # text held in the schema, in no row
    with pytest.raises(IndexCorruptError, match="no config.json"):
        SenseIndex.create(tmp_path / "view", settings=fake_settings)

    for name, content in (("garbage", b"not a faiss index"), ("vectors", None)):
        folder = tmp_path / name
        with SenseIndex.create(folder, settings=fake_settings) as index:
            if content is None:
                index.add([bank_corpus])
        if content is None:
            index_rows_deleted(folder)  # rows gone, vectors kept: still data
        else:
            (folder / VECTORS_FILE).write_bytes(content)
        (folder / "config.json").unlink()
        vectors = (folder / VECTORS_FILE).read_bytes()
        with pytest.raises(IndexCorruptError, match="no config.json"):
            SenseIndex.create(folder, settings=fake_settings)
        assert (folder / VECTORS_FILE).read_bytes() == vectors, name


def index_rows_deleted(folder: Path) -> None:
    with closing(sqlite3.connect(folder / "meta.sqlite")) as conn, conn:
        for table in ("occurrences", "sentences", "words", "documents"):
            conn.execute(f"DELETE FROM {table}")


def test_reader_whose_rows_lack_vectors_reports_damage(tmp_path: Path, bank_corpus: Path,
                                                       fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    VectorStore.create(32, "sq8").save(target / VECTORS_FILE)
    with SenseIndex.open(target, read_only=True) as index:
        with pytest.raises(IndexCorruptError, match="no vector"):
            index.query("the [[bank]] of the river")
        with pytest.raises(IndexCorruptError, match="no vectors"):
            index.query("the [[bank]] of the river", any_word=True)


def test_any_word_on_an_empty_index_is_a_clear_error(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    SenseIndex.create(tmp_path / "idx", settings=fake_settings).close()
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        with pytest.raises(WordNotFoundError, match="no usages yet"):
            index.query("the [[bank]]", any_word=True)
    result = run_cli("query", "the [[bank]]", "--any-word", "--index", tmp_path / "idx")
    assert result.returncode == 1 and "Traceback" not in result.stderr and "no usages yet" in result.stderr


def test_bad_compression_creates_nothing(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    with pytest.raises(ConfigMismatchError, match="compression"):
        SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="zip")
    assert not (tmp_path / "idx").exists()


def test_wrong_dim_in_config_is_repaired_from_the_data(tmp_path: Path, bank_corpus: Path,
                                                       fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    before = snapshot(target)
    config = json.loads((target / "config.json").read_text())
    config["dim"] = 999
    (target / "config.json").write_text(json.dumps(config))
    with pytest.raises(IndexCorruptError, match="dimension"):
        SenseIndex.open(target)
    report = verify_index(target, check_model=False)
    kinds = [p.kind for p in report.problems]
    assert kinds == ["dimension", "checksum"] and "999" in report.problems[0].detail, kinds
    repaired = verify_index(target, repair=True, check_model=False)
    assert repaired.sound and not repaired.dropped_documents
    after = snapshot(target)
    assert after.documents == before.documents and list(after.vector_ids) == list(before.vector_ids)
    with SenseIndex.open(target) as index:
        assert index.config.dim == 32 and len(index.query("the [[bank]] of the river", k=3)) == 3


@pytest.mark.parametrize("damage", ["empty", "garbage", "missing"])
def test_damaged_vectors_file_is_never_an_empty_index(tmp_path: Path, bank_corpus: Path,
                                                      fake_settings: EncoderSettings, damage: str) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    with SenseIndex.open(target, read_only=True) as index:
        expected = [(h.document, h.doc_start) for h in index.query("the [[bank]] of the river", k=4)]
    path = target / VECTORS_FILE
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(b"" if damage == "empty" else b"\x00garbage" * 10)
    with pytest.raises(IndexCorruptError):
        SenseIndex.open(target)
    report = verify_index(target, repair=True)
    assert report.sound and not report.dropped_documents, report
    with SenseIndex.open(target, read_only=True) as index:
        assert [(h.document, h.doc_start) for h in index.query("the [[bank]] of the river", k=4)] == expected


def test_full_disk_while_saving_vectors_leaves_no_tmp(tmp_path: Path, bank_corpus: Path,
                                                      fake_settings: EncoderSettings,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    before = (target / VECTORS_FILE).read_bytes()

    def disk_full(index: faiss.Index, writer: faiss.PyCallbackIOWriter) -> None:
        # The vectors go through a Python file (already made, so a partial one is left): a full disk fails its write.
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", disk_full)
    with SenseIndex.open(target) as index:
        with pytest.raises(SenseSearchError, match="space"):
            index.remove([str(bank_corpus / "bank.txt")])
    assert (target / VECTORS_FILE).read_bytes() == before
    assert not (target / (VECTORS_FILE + ".tmp")).exists()
    # A new index has no previous file to keep: it says that none was written (it had claimed one was unchanged).
    with pytest.raises(SenseSearchError, match="space.*no vectors file was written"):
        SenseIndex.create(tmp_path / "new", settings=fake_settings)
    assert not (tmp_path / "new").exists()


def test_whole_file_saves_flush_the_data_before_the_rename_and_the_folder_after(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """config.json used to be renamed into place unflushed: a power loss could leave the new name over no data."""
    import os

    from sensesearch.config import IndexConfig

    target = build(tmp_path, bank_corpus, fake_settings)
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("flush " + Path(os.readlink(f"/proc/self/fd/{fd}")).name)
        real_fsync(fd)

    def replace(source: str | Path, destination: str | Path) -> None:
        events.append(f"rename {Path(source).name}")
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    IndexConfig.load(target).save(target)
    assert events == ["flush config.json.tmp", "rename config.json.tmp", f"flush {target.name}"]
    events.clear()
    VectorStore.load(target / VECTORS_FILE).save(target / VECTORS_FILE)
    assert events == ["flush vectors.faiss.tmp", "flush vectors.faiss.sum.tmp", "rename vectors.faiss.sum.tmp",
                      "rename vectors.faiss.tmp", f"flush {target.name}"]


def test_reader_follows_an_index_rebuilt_in_place_as_one_generation(tmp_path: Path, bank_corpus: Path,
                                                                    fake_settings: EncoderSettings) -> None:
    import shutil

    target = build(tmp_path, bank_corpus, fake_settings)
    other = tmp_path / "other"
    other.mkdir()
    (other / "o.txt").write_text("A heron stood by the bank. " * 3 + "\n\nThe river bank was muddy.\n")
    with SenseIndex.open(target, read_only=True) as reader:
        assert len(reader.query("the [[bank]] of the river", k=10)) == 6
        shutil.rmtree(target)
        with SenseIndex.create(target, settings=fake_settings) as writer:
            writer.add([other])
        hits = reader.query("the [[bank]] of the river", k=10)
        assert len(hits) == 4 and all(h.document.endswith("o.txt") and h.word == "bank" for h in hits)


def test_damaged_database_says_what_is_wrong_and_what_to_do(tmp_path: Path, bank_corpus: Path,
                                                            fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    meta = target / "meta.sqlite"
    data = bytearray(meta.read_bytes())
    data[4096 * 2:4096 * 2 + 3000] = b"\x55" * len(data[4096 * 2:4096 * 2 + 3000])
    meta.write_bytes(bytes(data))
    (bank_corpus / "more.txt").write_text("Another bank opened.\n")
    written = run_cli("index", bank_corpus, "--index", target, "--quiet")
    assert written.returncode == 1 and len(written.stderr.strip().splitlines()) == 1, written.stderr
    assert "metadata database" in written.stderr and "restore meta.sqlite" in written.stderr
    assert "verify --repair" not in written.stderr and "Traceback" not in written.stderr
    # verify reports the damage as its one problem, with what to do, and no dead-end --repair hint.
    checked = run_cli("verify", "--index", target, "--repair")
    report = " ".join(checked.stdout.split())
    assert checked.returncode == 1 and "1 problem:" in report and "- database:" in report
    assert "restore meta.sqlite" in report and "verify --repair" not in report
    assert "Traceback" not in checked.stdout + checked.stderr


def test_changed_bytes_are_found_by_checksums(tmp_path: Path, bank_corpus: Path,
                                              fake_settings: EncoderSettings) -> None:
    target = build(tmp_path, bank_corpus, fake_settings)
    assert verify_index(target, check_model=False).sound
    config = json.loads((target / "config.json").read_text())
    config["encoder"]["layers"] = [-1]
    (target / "config.json").write_text(json.dumps(config))
    report = verify_index(target, check_model=False)
    assert [p.kind for p in report.problems] == ["checksum"] and "config.json" in report.problems[0].detail
    with pytest.raises(IndexCorruptError, match="config.json"):
        SenseIndex.open(target)
    target = build(tmp_path / "second", bank_corpus, fake_settings)
    vectors = target / VECTORS_FILE
    data = bytearray(vectors.read_bytes())
    data[-40] ^= 0xFF
    vectors.write_bytes(bytes(data))
    report = verify_index(target, check_model=False)
    assert "checksum" in [p.kind for p in report.problems]
    with pytest.raises(IndexCorruptError, match="vectors.faiss does not match"):
        SenseIndex.open(target)


def test_an_index_from_before_claims_keeps_its_config_checksum_and_a_new_one_names_its_claim(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    from sqlalchemy import create_engine

    from sensesearch.checksums import text_digest
    from sensesearch.claim import owner
    from sensesearch.config import IndexConfig

    target = build(tmp_path, bank_corpus, fake_settings)
    config = json.loads((target / "config.json").read_text())
    engine = create_engine(f"sqlite:///{target / 'meta.sqlite'}")
    with engine.connect() as conn:
        assert len(config["index_id"]) == 32 and owner(conn) == config["index_id"]
    engine.dispose()
    # As sensesearch wrote config.json before claims: no index_id, the checksum over the text without it.
    del config["index_id"], config["checksum"]
    config["checksum"] = text_digest(json.dumps(config, indent=2, sort_keys=True))
    (target / "config.json").write_text(json.dumps(config))
    assert IndexConfig.checksum_problem(target) is None and IndexConfig.load(target).index_id is None
    assert verify_index(target, check_model=False).sound
    with SenseIndex.open(target) as index:
        assert index.info().occurrences == 61


def test_vectors_sums_of_the_older_blake2b_format_still_check_and_carry_over(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    import hashlib

    from sensesearch import checksums

    target = build(tmp_path, bank_corpus, fake_settings)
    vectors = target / VECTORS_FILE
    sums = vectors.with_name(VECTORS_FILE + checksums.SUFFIX)
    assert json.loads(sums.read_text())["algorithm"] == "sha256"
    assert json.loads(sums.read_text())["digest"] == hashlib.sha256(vectors.read_bytes()).hexdigest()
    old_bytes = vectors.read_bytes()
    old_digest = hashlib.blake2b(old_bytes, digest_size=32).hexdigest()
    sums.write_text(json.dumps({"blake2b": old_digest, "previous": ""}))  # as an index from before SHA-256
    assert verify_index(target, check_model=False).sound
    sums.write_text(json.dumps({"blake2b": "0" * 64, "previous": ""}))
    assert "checksum" in [p.kind for p in verify_index(target, check_model=False).problems]
    sums.write_text(json.dumps({"blake2b": old_digest, "previous": ""}))
    (bank_corpus / "more.txt").write_text("Another bank opened by the river.\n")
    with SenseIndex.open(target) as index:
        index.add([bank_corpus])
    written = json.loads(sums.read_text())
    assert written["previous_algorithm"] == "blake2b" and written["previous"] == old_digest
    # A crash between the two renames leaves the old file beside the new sum: still sound.
    vectors.write_bytes(old_bytes)
    assert checksums.mismatch(vectors) is None
    vectors.write_bytes(old_bytes[:-1] + bytes([old_bytes[-1] ^ 1]))
    assert "does not match" in (checksums.mismatch(vectors) or "")


def test_vectors_sum_check_hashes_once_and_names_an_algorithm_it_cannot_compute(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    from sensesearch import checksums

    target = build(tmp_path, bank_corpus, fake_settings)
    with SenseIndex.open(target) as index:  # a second save: both digests in the sum are SHA-256 ones
        index.add([bank_corpus])
    vectors = target / VECTORS_FILE
    sums = vectors.with_name(VECTORS_FILE + checksums.SUFFIX)
    assert json.loads(sums.read_text())["previous_algorithm"] == "sha256"
    calls: list[str] = []
    digest = checksums.file_digest
    monkeypatch.setattr(checksums, "file_digest",
                        lambda path, algorithm: calls.append(algorithm) or digest(path, algorithm))
    data = vectors.read_bytes()
    vectors.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # matches neither digest: both are tried
    assert "does not match" in (checksums.mismatch(vectors) or "") and calls == ["sha256"]
    sums.write_text(json.dumps({"algorithm": "sha3_1024", "digest": "ab" * 32}))
    assert "cannot compute (sha3_1024)" in (checksums.mismatch(vectors) or "")


def test_writer_on_read_only_media_fails_with_one_line_before_changing_anything(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    import filelock

    target = build(tmp_path, bank_corpus, fake_settings)
    before = snapshot(target)

    def read_only(self: filelock.BaseFileLock, *args: object, **kwargs: object) -> None:
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(filelock.FileLock, "acquire", read_only)
    with pytest.raises(SenseSearchError, match="read-only media") as caught:
        SenseIndex.open(target).remove([str(bank_corpus / "bank.txt")])
    assert "\n" not in str(caught.value)
    monkeypatch.undo()
    after = snapshot(target)
    assert after.documents == before.documents and list(after.vector_ids) == list(before.vector_ids)


def test_a_leftover_of_an_interrupted_create_that_cannot_be_removed_is_one_line(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings):
        pass
    (tmp_path / "idx" / "config.json").unlink()
    (tmp_path / "idx" / "vectors.faiss.tmp").mkdir()  # not a file: unlink fails
    result = run_cli("index", bank_corpus, "--index", tmp_path / "idx", "--model", "fake:x", "--quiet")
    assert result.returncode == 1 and "cannot remove" in result.stderr and "unexpected" not in result.stderr


def test_a_save_records_the_digest_of_the_bytes_on_disk_hashed_as_they_were_written(tmp_path: Path) -> None:
    """The checksum is computed beside the write (checksums.HashingWriter), not by reading the file back: it must
    still be the file's own digest, over many pieces, and a failed write must not leave the hashing thread."""
    import threading

    import numpy as np

    from sensesearch import checksums

    store = VectorStore.create(64, "flat")
    rng = np.random.default_rng(0)
    store.add(np.arange(40_000, dtype=np.int64), rng.standard_normal((40_000, 64), dtype=np.float32))  # 10 MB
    path = tmp_path / VECTORS_FILE
    store.save(path)
    assert checksums.mismatch(path) is None
    recorded = json.loads(path.with_name(VECTORS_FILE + checksums.SUFFIX).read_text())["digest"]
    assert recorded == checksums.file_digest(path)
    with open(tmp_path / "other", "wb") as handle, checksums.HashingWriter(handle) as out:
        for piece in (b"a" * 5000, b"", b"b" * 3):
            out.write(piece)
        assert out.hexdigest() == checksums.FILE_HASHES[checksums.FILE_ALGORITHM](b"a" * 5000 + b"bbb").hexdigest()
    with pytest.raises(ZeroDivisionError), open(tmp_path / "third", "wb") as handle, \
            checksums.HashingWriter(handle) as out:
        out.write(b"x" * 100)
        raise ZeroDivisionError
    assert not [t for t in threading.enumerate() if t.name == "sensesearch-hash"]


def test_a_cut_short_vectors_file_is_named_with_the_command_that_makes_it_again(tmp_path: Path) -> None:
    path = tmp_path / VECTORS_FILE
    store = VectorStore.create(16, "flat")
    store.add(np.arange(50, dtype=np.int64), np.eye(50, 16, dtype=np.float32))
    store.save(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(IndexCorruptError) as caught:
        VectorStore.load(path)
    message = str(caught.value)
    assert f"sensesearch verify --index {tmp_path} --repair" in message and "faiss::" not in message


def test_a_run_that_changes_no_vector_leaves_the_vectors_file_as_it_was(tmp_path: Path, bank_corpus: Path,
                                                                        fake_settings: EncoderSettings) -> None:
    """Every unchanged input, a failed run (nothing to index) or a remove that matches nothing rewrote the whole
    vectors file and overwrote the `previous` digest in its checksum file: the disk did not stay as it was."""
    index = build(tmp_path, bank_corpus, fake_settings)
    files = [index / VECTORS_FILE, index / (VECTORS_FILE + ".sum")]

    def state() -> list[tuple[int, bytes]]:
        return [(path.stat().st_mtime_ns, path.read_bytes()) for path in files]

    before = state()
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert run_cli("index", bank_corpus, "--index", index, "--model", "fake:test").returncode == 0  # all unchanged
    assert run_cli("index", empty, "--index", index, "--model", "fake:test").returncode == 1  # nothing to index
    assert run_cli("remove", tmp_path / "nowhere.txt", "--index", index).returncode == 1
    with SenseIndex.open(index, encoder=None) as opened:
        opened.save_vectors()
    assert state() == before
    (bank_corpus / "more.txt").write_text("Another bank of the river.\n")
    assert run_cli("index", bank_corpus, "--index", index, "--model", "fake:test").returncode == 0
    assert state()[0] != before[0] and verify_index(index, check_model=False).sound


def test_failed_commit_says_what_the_saved_vectors_hold_and_repair_mends_it(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk at the SQL commit, after the vectors were saved: the error named only the database, not the
    vectors left without rows."""
    from sensesearch.storage_writer import StoreWriter

    target = build(tmp_path, bank_corpus, fake_settings)
    more = write_corpus(tmp_path / "more", 3, 4)

    def full(self: StoreWriter) -> None:
        raise SenseSearchError("the metadata database meta.sqlite failed: database or disk is full")

    monkeypatch.setattr(StoreWriter, "_commit", full)
    with SenseIndex.open(target) as index, pytest.raises(SenseSearchError, match="disk is full.*without their rows.*"
                                                                                 "verify --repair. drops them"):
        index.add([more])
    monkeypatch.undo()
    assert not verify_index(target, check_model=False).sound
    verify_index(target, repair=True, check_model=False)
    assert verify_index(target, check_model=False).sound


def test_full_disk_at_the_checksum_write_leaves_no_sum_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sensesearch import checksums

    path = tmp_path / "vectors.faiss"
    path.write_bytes(b"x")
    real_fsync = __import__("os").fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("os.fsync", full)
    with pytest.raises(OSError):
        checksums.record(path, "0" * 64)
    monkeypatch.setattr("os.fsync", real_fsync)
    assert not (tmp_path / "vectors.faiss.sum.tmp").exists()


def test_a_sqlite_failure_on_a_full_disk_says_the_disk_is_full(tmp_path: Path, fake_settings: EncoderSettings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """On a full disk a reader of an index without a -shm file failed with "disk I/O error" alone (SQLite needs room
    for the -shm even to read), and no reading command worked: the line now says the disk is full."""
    import os

    from sensesearch import dbengine

    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([write_corpus(tmp_path / "c", 2, 3)])
    url = f"sqlite:///{tmp_path / 'idx' / 'meta.sqlite'}"
    failure = sqlite3.OperationalError("disk I/O error")
    roomy = dbengine.domain_error(failure, sqlite3, url)
    assert roomy is not None and "full" not in str(roomy)  # room enough: the I/O error has another cause

    class Full:
        f_bavail, f_frsize = 3, 4096

    monkeypatch.setattr(os, "statvfs", lambda _path: Full())
    error = dbengine.domain_error(failure, sqlite3, url)
    assert error is not None and "disk I/O error" in str(error)
    assert f"the disk holding {tmp_path / 'idx'} is full" in str(error) and "free disk space" in str(error)
    assert dbengine.domain_error(failure, sqlite3, "store") is not None  # no URL to look at: the plain line


def test_a_value_the_database_refuses_is_advised_on_only_for_control_characters() -> None:
    """A regular expression PostgreSQL found too complex had been told to "leave out the control characters"."""
    from sensesearch import UsageError, dbengine

    class Driver:
        class Error(Exception):
            pass

        class DataError(Error):
            pass

        IntegrityError = ProgrammingError = type("Never", (Exception,), {})

    nul = dbengine.domain_error(Driver.DataError('invalid byte sequence for encoding "UTF8": 0x00'), Driver, "pg")
    assert isinstance(nul, UsageError) and str(nul).endswith("leave out the control characters")
    regex = dbengine.domain_error(Driver.DataError("invalid regular expression: regular expression is too complex"),
                                  Driver, "pg")
    assert isinstance(regex, UsageError) and "control characters" not in str(regex) and "too complex" in str(regex)


@pytest.mark.parametrize("code, kind", [(errno.ENOSPC, StorageUnavailableError), (errno.EDQUOT, StorageUnavailableError),
                                        (errno.EROFS, ReadOnlyError), (errno.EIO, StorageError)])
def test_a_save_the_disk_refuses_is_the_systems_failure_of_its_kind(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch,
        code: int, kind: type[SenseSearchError]) -> None:
    """A vectors file that could not be saved (a full disk, read-only media, an I/O error) was a bare
    SenseSearchError, which the server answers as the client's mistake: now a storage failure (a full disk one
    that may pass), the command line's exit 1 and one line unchanged."""
    target = build(tmp_path, bank_corpus, fake_settings)
    more = write_corpus(tmp_path / "more", 2, 3)
    real_replace = Path.replace

    def refused(self: Path, into: Path) -> Path:
        if self.name == VECTORS_FILE + ".tmp":
            raise OSError(code, os.strerror(code))
        return real_replace(self, into)

    monkeypatch.setattr(Path, "replace", refused)
    with SenseIndex.open(target) as index, pytest.raises(kind, match=f"cannot save .*{VECTORS_FILE} "
                                                                     f"\\({os.strerror(code)}\\)") as raised:
        index.add([more])
    printed = CliRunner().invoke(cli_app, ["index", str(more), "--index", str(target), "--quiet"])
    assert printed.exit_code == 1 and printed.stderr.count("\n") == 1
    assert printed.stderr.startswith(f"Error: cannot save {target / VECTORS_FILE} ({os.strerror(code)})")
    assert str(raised.value) in printed.stderr


def test_faiss_saying_the_disk_is_full_is_a_full_disk() -> None:
    """FAISS reports a failed write as a RuntimeError holding strerror's text, with no errno."""
    said = f"Error in faiss::FileIOWriter: fwrite failed (ret == n): {os.strerror(errno.ENOSPC)}"
    assert failure_kind(RuntimeError(said)) is StorageUnavailableError
    assert failure_kind(RuntimeError("Error in faiss::FileIOWriter: fwrite failed")) is StorageError
