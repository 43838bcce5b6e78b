"""`sensesearch verify [--repair]` and `sensesearch remove` on indexes damaged on purpose, in-process."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, event, func, insert
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from sensesearch import IndexCorruptError, SenseIndex, SenseSearchError, codec, reencode
from sensesearch import encoder as encoder_module
from sensesearch.cli import app
from sensesearch.config import EncoderSettings, IndexConfig
from sensesearch.errors import ConfigMismatchError, ModelLoadError
from sensesearch.index import acquire_write_lock
from sensesearch.schema import occurrences, sentences
from sensesearch.vectors import VECTORS_FILE, VectorStore

from .conftest import write_look_alike_corpus
from .fake_encoder import FakeEncoder
from .robust_util import snapshot, write_corpus

runner = CliRunner()


@pytest.fixture
def built(tmp_path: Path, fake_settings: EncoderSettings) -> tuple[Path, Path]:
    corpus = write_corpus(tmp_path / "c", 8, 5)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([corpus])
    return corpus, tmp_path / "idx"


def _verify(target: Path, *extra: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["verify", "--index", str(target), "--json", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, json.loads(result.stdout)


def _edit_vectors(target: Path, change: Callable[[VectorStore], object]) -> None:
    store = VectorStore.load(target / VECTORS_FILE)
    change(store)
    store.save(target / VECTORS_FILE)


def _reindex_matches_fresh(corpus: Path, target: Path, tmp_path: Path, settings: EncoderSettings) -> None:
    with SenseIndex.open(target) as index:
        index.add([corpus])
    with SenseIndex.create(tmp_path / "fresh", settings=settings, compression="flat") as fresh:
        fresh.add([corpus])
    got, expected = snapshot(target), snapshot(tmp_path / "fresh")
    assert got.documents == expected.documents and got.occurrences == expected.occurrences
    assert np.array_equal(got.row_ids, got.vector_ids)
    assert _verify(target)[0] == 0


def test_sound_index_verifies(built: tuple[Path, Path]) -> None:
    code, report = _verify(built[1])
    assert code == 0 and report["sound"] and report["documents"] == 8
    assert report["occurrences"] == report["vectors"] > 0
    text = runner.invoke(app, ["verify", "--index", str(built[1])])
    assert text.exit_code == 0 and "sound" in text.stdout


def test_stray_and_duplicate_vectors_are_found_and_mended(built: tuple[Path, Path], tmp_path: Path) -> None:
    target = built[1]
    top = max(VectorStore.load(target / VECTORS_FILE).ids())
    _edit_vectors(target, lambda s: s.add(np.array([top + 1, top + 2, 3]), np.ones((3, 32), dtype=np.float32)))
    code, report = _verify(target)
    kinds = sorted(p["kind"] for p in report["problems"])
    assert code == 1 and kinds == ["stray vectors", "vectors"], report
    assert any("several vectors" in p["detail"] for p in report["problems"])
    text = runner.invoke(app, ["verify", "--index", str(target)])
    assert "2 problems:" in text.stdout and "--repair" in text.stdout
    code, repaired = _verify(target, "--repair")
    assert code == 0 and repaired["sound"], repaired
    # The document holding occurrence 3 had two vectors for it: its rows are sound, so it keeps them and its
    # vectors are made anew from its stored sentences (it used to be dropped, to be indexed again).
    assert repaired["dropped_documents"] == [] and repaired["documents"] == 8, repaired
    assert any(a.startswith("re-encoded ") and "of 1 document whose" in a for a in repaired["repaired"]), repaired
    assert "removed 2 vectors without a trustworthy occurrence row" in repaired["repaired"], repaired
    assert repaired["occurrences"] == repaired["vectors"]
    assert _same_vectors_as_fresh(built[0], target, tmp_path) == 1.0


def test_doubled_vectors_of_an_ivf_index_are_mended_in_one_repair(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    # An IVF store's hash-table direct map holds one place an id: removing a doubled id through it left the other
    # copy, so every repair re-encoded the document, put the copy back beside it and reported it again.
    monkeypatch.setattr(codec, "IVF_THRESHOLD", 100)
    corpus = write_corpus(tmp_path / "c", 8, 5)
    target = tmp_path / "idx"
    with SenseIndex.create(target, settings=fake_settings, compression="flat") as index:
        index.add([corpus])
        victim = index.store.all_documents()[2]
    assert VectorStore.load(target / VECTORS_FILE).ivf is not None
    doubled = np.arange(victim.first_occurrence, victim.first_occurrence + 3)
    _edit_vectors(target, lambda s: s.add(doubled, np.ones((3, 32), dtype=np.float32)))
    code, repaired = _verify(target, "--repair")
    assert code == 0 and repaired["sound"] and repaired["dropped_documents"] == [], repaired
    assert repaired["occurrences"] == repaired["vectors"]
    assert _verify(target, "--repair")[1]["repaired"] == []
    assert _same_vectors_as_fresh(corpus, target, tmp_path) == 1.0


def _same_vectors_as_fresh(corpus: Path, target: Path, tmp_path: Path) -> float:
    """The share of `target`'s vectors equal (by id) to those of a fresh build of `corpus` (flat codes: exact)."""
    settings = IndexConfig.load(target).encoder
    with SenseIndex.create(tmp_path / "fresh", settings=settings, compression="flat") as fresh:
        fresh.add([corpus])
    got, expected = VectorStore.load(target / VECTORS_FILE), VectorStore.load(tmp_path / "fresh" / VECTORS_FILE)
    ids = np.sort(got.ids())
    assert np.array_equal(ids, np.sort(expected.ids()))
    same = [np.allclose(got.index.reconstruct(int(i)), expected.index.reconstruct(int(i)), atol=1e-6) for i in ids]
    return sum(same) / len(same)


def test_missing_vectors_stop_a_writer_and_repair_encodes_them_again(
        built: tuple[Path, Path], tmp_path: Path, fake_settings: EncoderSettings) -> None:
    corpus, target = built
    with SenseIndex.open(target, read_only=True) as index:
        victim = index.store.all_documents()[2]
    _edit_vectors(target, lambda s: s.remove_range(victim.first_occurrence, victim.first_occurrence + 3))
    with pytest.raises(IndexCorruptError, match="verify --repair"):
        SenseIndex.open(target)
    code, report = _verify(target)
    assert code == 1 and "3 occurrences have no vector" in report["problems"][0]["detail"]
    assert victim.label in report["problems"][0]["detail"]
    code, repaired = _verify(target, "--repair")
    # The rows are the record of what was indexed: the lost vectors are made anew, no document is dropped.
    assert code == 0 and repaired["sound"] and repaired["dropped_documents"] == [], repaired
    assert f"re-encoded {victim.n_occurrences} vectors of 1 document whose vectors were lost or doubled, " \
           "from the stored sentences" in repaired["repaired"], repaired
    assert _same_vectors_as_fresh(corpus, target, tmp_path) == 1.0
    with SenseIndex.open(target) as index:
        assert index.add([corpus]).documents_unchanged == 8


@pytest.mark.parametrize("model", ["unloadable", "changed"])
def test_repair_keeps_documents_whose_lost_vectors_the_model_cannot_remake(
        model: str, built: tuple[Path, Path], tmp_path: Path, fake_settings: EncoderSettings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A model folder moved aside (or other weights under its name) dropped every document with lost vectors: their
    # rows, the only record of what was indexed, were deleted for a failure of the model, not of the rows.
    corpus, target = built
    with SenseIndex.open(target, read_only=True) as index:
        lost, doubled = index.store.all_documents()[2:4]
    top = max(VectorStore.load(target / VECTORS_FILE).ids())
    _edit_vectors(target, lambda s: s.remove_range(lost.first_occurrence, lost.first_occurrence + 3))
    _edit_vectors(target, lambda s: s.add(np.array([doubled.first_occurrence, top + 1]), np.ones((2, 32), np.float32)))
    before = VectorStore.load(target / VECTORS_FILE)

    def unavailable(*_: object) -> None:
        raise ModelLoadError("fake:test is not on this machine")

    def other_weights(settings: EncoderSettings, _: object) -> FakeEncoder:
        return FakeEncoder(settings, context_weight=0.5)

    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake", unavailable if model == "unloadable" else other_weights)
    code, repaired = _verify(target, "--repair", "--no-model")
    assert code == 1 and repaired["dropped_documents"] == [] and repaired["documents"] == 8, repaired
    assert [a for a in repaired["repaired"] if a.startswith("left the rows and vectors of 2 documents whose vectors were "
            "lost or doubled as they are: the index's model could not be used (")
            and a.endswith("run `sensesearch verify --repair` again where it loads")], repaired
    # The repair that needs no model is done (the stray vector); the kept documents' vectors are as they were.
    assert "removed 1 vectors without a trustworthy occurrence row" in repaired["repaired"], repaired
    after = VectorStore.load(target / VECTORS_FILE)
    assert sorted(after.ids().tolist()) == sorted(i for i in before.ids().tolist() if i != top + 1)
    assert sorted(p["kind"] for p in repaired["problems"]) == ["vectors", "vectors"], repaired
    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake", lambda settings, _: FakeEncoder(settings))
    code, repaired = _verify(target, "--repair")
    assert code == 0 and repaired["sound"] and repaired["dropped_documents"] == [], repaired
    assert _same_vectors_as_fresh(corpus, target, tmp_path) == 1.0


def test_repair_drops_only_the_documents_whose_words_the_model_no_longer_finds(
        built: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One document whose stored spans the model no longer yields failed the whole encode, and every document with
    # lost vectors was dropped with it.
    target = built[1]
    with SenseIndex.open(target, read_only=True) as index:
        docs = index.store.all_documents()
    moved, sound = docs[2], docs[3:6]
    for doc in (moved, *sound):
        _edit_vectors(target, lambda s, d=doc: s.remove_range(d.first_occurrence, d.first_occurrence + 3))
    real = reencode.stored_row_vector

    def shifted(encoded: object, position: int, word: object, occurrence_id: int, sentence_id: int) -> np.ndarray:
        if moved.first_sentence <= sentence_id < moved.first_sentence + moved.n_sentences:
            raise ConfigMismatchError(f"the model no longer finds occurrence {occurrence_id}")
        return real(encoded, position, word, occurrence_id, sentence_id)

    monkeypatch.setattr(reencode, "stored_row_vector", shifted)
    code, repaired = _verify(target, "--repair")
    assert code == 0 and repaired["sound"] and repaired["dropped_documents"] == [moved.label], repaired
    assert f"re-encoded {sum(d.n_occurrences for d in sound)} vectors of 3 documents whose vectors were lost or " \
           "doubled, from the stored sentences" in repaired["repaired"], repaired
    assert repaired["documents"] == 7 and repaired["vectors"] == repaired["occurrences"]


def test_repair_never_remakes_vectors_from_rows_that_fail_their_digest(built: tuple[Path, Path]) -> None:
    # Rows whose file no longer holds their text are kept ("repair keeps it"); their lost vectors were re-encoded from
    # the damaged text, and where the damage moved a word the failed encode dropped them with every other document
    # that had lost vectors, blaming the model.
    target = built[1]
    with SenseIndex.open(target) as index:
        damaged, healthy = index.store.all_documents()[2:4]
        with index.store.begin() as conn:  # "S entence": the stored words no longer lie where the text has them
            conn.execute(sentences.update().where(sentences.c.id == damaged.first_sentence)
                         .values(text="S entence" + func.substr(sentences.c.text, 9)))
    for doc in (damaged, healthy):
        _edit_vectors(target, lambda s, d=doc: s.remove_range(d.first_occurrence, d.first_occurrence + 3))
    Path(damaged.key).write_text("A newer text of this document.\n")
    code, repaired = _verify(target, "--repair")
    assert code == 1 and repaired["dropped_documents"] == [] and repaired["documents"] == 8, repaired
    assert repaired["repaired"][0].startswith("left the vectors lost from 1 document whose rows fail their content "
                                              "digest"), repaired
    assert f"re-encoded {healthy.n_occurrences} vectors of 1 document whose vectors were lost or doubled, from the " \
           "stored sentences" in repaired["repaired"], repaired
    kinds = sorted(p["kind"] for p in repaired["problems"])
    assert kinds == ["content", "vectors"] and damaged.label in repaired["problems"][1]["detail"], repaired
    assert repaired["vectors"] == repaired["occurrences"] - 3


def test_repair_remakes_the_lost_vectors_of_more_documents_than_sqlite_binds_at_once(
        tmp_path: Path, fake_settings: EncoderSettings) -> None:
    # One IN list of every such document passed SQLite's 999 (or 32,766, or PostgreSQL's 65,535) bound values; the
    # database's error was taken for the model's, and every one of them was dropped.
    corpus = write_corpus(tmp_path / "c", 1000, 1)
    target = tmp_path / "idx"
    with SenseIndex.create(target, settings=fake_settings, compression="flat") as index:
        index.add([corpus])
    _edit_vectors(target, lambda s: s.remove(s.ids()))

    def oldest_limit(connection: object, _: object) -> None:
        if isinstance(connection, sqlite3.Connection):
            connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

    event.listen(Engine, "connect", oldest_limit)
    try:
        code, repaired = _verify(target, "--repair")
    finally:
        event.remove(Engine, "connect", oldest_limit)
    assert code == 0 and repaired["sound"] and repaired["dropped_documents"] == [], repaired["repaired"]
    assert repaired["documents"] == 1000 and repaired["vectors"] == repaired["occurrences"], repaired["repaired"]


def test_repair_that_fails_for_the_database_drops_nothing(built: tuple[Path, Path],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    target = built[1]
    with SenseIndex.open(target, read_only=True) as index:
        victim = index.store.all_documents()[2]
    _edit_vectors(target, lambda s: s.remove_range(victim.first_occurrence, victim.first_occurrence + 3))

    def failing(*_: object) -> None:
        raise SenseSearchError("the metadata database failed: disk I/O error")

    monkeypatch.setattr(reencode, "encoded_occurrences", failing)
    result = runner.invoke(app, ["verify", "--index", str(target), "--repair"])
    assert result.exit_code == 1 and "disk I/O error" in result.output, result.output
    monkeypatch.undo()
    code, report = _verify(target)
    assert code == 1 and report["documents"] == 8 and "3 occurrences have no vector" in report["problems"][0]["detail"]


def test_rows_disagreeing_with_bookkeeping_and_orphans(
        built: tuple[Path, Path], tmp_path: Path, fake_settings: EncoderSettings) -> None:
    corpus, target = built
    with SenseIndex.open(target) as index:
        doc = index.store.all_documents()[4]
        with index.store.begin() as conn:
            conn.execute(delete(occurrences).where(occurrences.c.id == doc.first_occurrence + 1))
            conn.execute(insert(sentences).values(id=10_000, document_id=999, start=0, text="lost"))
            conn.execute(insert(occurrences).values(id=20_000, sentence_id=30_000, word_id=1, position=0,
                                                    start=0, end=1))
    code, report = _verify(target)
    details = " | ".join(p["detail"] for p in report["problems"])
    assert code == 1 and doc.label in details
    assert "1 sentences belong to no document" in details and "1 occurrences belong to no sentence" in details
    code, repaired = _verify(target, "--repair")
    assert code == 0 and repaired["dropped_documents"] == [doc.label], repaired
    _reindex_matches_fresh(corpus, target, tmp_path, fake_settings)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "missing"])
def test_unreadable_vectors_file(damage: str, built: tuple[Path, Path], tmp_path: Path,
                                 fake_settings: EncoderSettings) -> None:
    corpus, target = built
    path = target / VECTORS_FILE
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    elif damage == "garbage":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    else:
        path.unlink()
    query = runner.invoke(app, ["query", "the [[doc]] here", "--index", str(target)])
    assert query.exit_code == 1 and query.stderr.startswith("Error: ") and len(query.stderr.splitlines()) == 1
    code, report = _verify(target)
    assert code == 1 and report["problems"][0]["kind"] == "vectors"
    code, repaired = _verify(target, "--repair")
    # Issue 17.2: a damaged vectors file is never an empty index; the rows stay and their vectors are re-encoded.
    assert code == 0 and repaired["dropped_documents"] == [] and repaired["documents"] == 8
    assert any("re-encoded" in action for action in repaired["repaired"])
    _reindex_matches_fresh(corpus, target, tmp_path, fake_settings)


def test_changed_model_fingerprint_is_reported_and_not_repairable(built: tuple[Path, Path]) -> None:
    # Written by sensesearch itself (a valid checksum): the model changed, not the file (that is a checksum problem).
    stored = IndexConfig.load(built[1])
    replace(stored, model_fingerprint="0123456789abcdef").save(built[1])
    for extra in ((), ("--repair",)):
        code, report = _verify(built[1], *extra)
        assert code == 1 and [p["kind"] for p in report["problems"]] == ["model"], report
    code, report = _verify(built[1], "--no-model")
    assert code == 0


def test_verify_refuses_what_it_cannot_check(tmp_path: Path, built: tuple[Path, Path]) -> None:
    for folder, expected in ((tmp_path / "nowhere", "does not exist"), (tmp_path / "c", "not a sensesearch index")):
        result = runner.invoke(app, ["verify", "--index", str(folder)])
        assert result.exit_code == 1 and expected in result.stderr and len(result.stderr.splitlines()) == 1
    lock = acquire_write_lock(built[1], 0)
    try:
        busy = runner.invoke(app, ["verify", "--index", str(built[1]), "--repair"])
        assert busy.exit_code == 1 and "another process is writing" in busy.stderr
        noted = runner.invoke(app, ["verify", "--index", str(built[1])])
        assert noted.exit_code == 0 and "another process is writing" in noted.stdout
    finally:
        lock.release()


def test_repair_of_a_damaged_vectors_file_where_the_model_cannot_load_changes_nothing(
        built: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    # The file was moved aside first, then the model failed: the error said "run it again once there is room".
    target = built[1]
    data = bytearray((target / VECTORS_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (target / VECTORS_FILE).write_bytes(bytes(data))

    def unavailable(*_: object) -> None:
        raise ModelLoadError("fake:test is not on this machine")

    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake", unavailable)
    result = runner.invoke(app, ["verify", "--index", str(target), "--repair"])
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, result.output
    assert "fake:test is not on this machine" in result.stderr and "room" not in result.stderr
    assert "again where the index's model loads" in result.stderr
    assert (target / VECTORS_FILE).read_bytes() == bytes(data) and not (target / (VECTORS_FILE + ".corrupt")).exists()
    (target / VECTORS_FILE).unlink()  # a missing file too: the bare load error named no way on
    result = runner.invoke(app, ["verify", "--index", str(target), "--repair"])
    assert result.exit_code == 1 and "again where the index's model loads" in result.stderr, result.output


def test_remove_command(built: tuple[Path, Path]) -> None:
    corpus, target = built
    none = runner.invoke(app, ["remove", str(corpus / "d001.txt"), "no-such-doc", "--index", str(target)])
    assert none.exit_code == 1 and "no-such-doc" in none.stderr and "nothing was removed" in none.stderr
    with SenseIndex.open(target, read_only=True) as index:
        assert index.info().documents == 8
    gone = runner.invoke(app, ["remove", str(corpus / "d001.txt"), str(corpus / "d002.txt"), "--index", str(target),
                               "--json"])
    assert gone.exit_code == 0 and json.loads(gone.stdout)["removed"] == [str(corpus / f"d00{i}.txt") for i in (1, 2)]
    with SenseIndex.open(target, read_only=True) as index:
        assert index.info().documents == 6
        assert {h.document for h in index.usages("doc")}.isdisjoint({str(corpus / "d001.txt"), str(corpus / "d002.txt")})
    assert _verify(target)[0] == 0
    missing_index = runner.invoke(app, ["remove", "x", "--index", str(target.parent / "nope")])
    assert missing_index.exit_code == 1 and "does not exist" in missing_index.stderr


@pytest.mark.parametrize("command", [["usages", "w0"], ["query", "the [[w0]] here"], ["info"]])
def test_readers_refuse_damaged_vectors_instead_of_answering(built: tuple[Path, Path], command: list[str]) -> None:
    """Bytes changed in the middle of vectors.faiss (disk damage): `query` answered with wrong scores and exit 0;
    only verify and writers checked the checksum."""
    target = built[1]
    path = target / VECTORS_FILE
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(255 - b for b in data[middle:middle + 64])
    path.write_bytes(bytes(data))
    result = runner.invoke(app, [*command, "--index", str(target)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "does not match the checksum written with it" in result.output
    with pytest.raises(IndexCorruptError, match="checksum"):
        SenseIndex.open(target, read_only=True)
    assert _verify(target)[0] == 1


@pytest.mark.parametrize("damaged", ["", "garbage", "[1]", "{}", '{"sha256": 5}', '{"digest": 5}', '{"digest": "zz"}'])
def test_a_sum_file_that_holds_no_checksum_is_named_as_such_not_as_missing_or_as_changed_vectors(
        built: tuple[Path, Path], damaged: str) -> None:
    """A sum file that is not JSON had been called "missing"; one that is an object without a digest passed readers
    unchecked while verify said the vectors' bytes had changed, though they were as saved."""
    target = built[1]
    (target / (VECTORS_FILE + ".sum")).write_text(damaged)
    expected = "vectors.faiss.sum holds no checksum that sensesearch writes (damaged or edited)"
    with pytest.raises(IndexCorruptError, match=re.escape(expected)):
        SenseIndex.open(target, read_only=True)
    code, report = _verify(target)
    details = [problem["detail"] for problem in report["problems"]]
    assert code == 1 and any(detail.startswith(expected) for detail in details), details
    assert not any("does not match the checksum" in detail for detail in details), details
    code, _ = _verify(target, "--repair")
    assert code == 0 and _verify(target)[0] == 0


def test_readers_refuse_vectors_whose_sum_was_deleted(built: tuple[Path, Path]) -> None:
    target = built[1]
    (target / (VECTORS_FILE + ".sum")).unlink()
    with pytest.raises(IndexCorruptError, match="is missing although config.json carries a checksum"):
        SenseIndex.open(target, read_only=True)


def test_repair_that_cannot_save_says_where_the_damaged_file_went(built: tuple[Path, Path],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """On a full disk, repair moved the damaged file aside, then failed saying only "no vectors file was written"."""
    from sensesearch import SenseSearchError

    target = built[1]
    (target / VECTORS_FILE).write_bytes(b"garbage" * 100)

    def full(self: VectorStore, path: Path) -> None:
        raise SenseSearchError(f"cannot save {path} (No space left on device); no vectors file was written")

    monkeypatch.setattr(VectorStore, "save", full)
    result = runner.invoke(app, ["verify", "--repair", "--no-model", "--index", str(target)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "moved aside to vectors.faiss.corrupt" in result.output and "again once there is room" in result.output
    assert (target / (VECTORS_FILE + ".corrupt")).exists()


@pytest.mark.parametrize("damage", ["changed bytes", "sum deleted"])
def test_repair_remakes_vectors_that_fail_their_checksum(damage: str, built: tuple[Path, Path], tmp_path: Path,
                                                         fake_settings: EncoderSettings) -> None:
    """A readable vectors file whose bytes changed (or whose sum was deleted): every reader refused it and sent the
    user to `verify --repair`, which reported the checksum problem again, changed nothing and exited 1."""
    corpus, target = built
    path = target / VECTORS_FILE
    if damage == "changed bytes":
        data = bytearray(path.read_bytes())
        middle = len(data) // 2
        data[middle:middle + 64] = bytes(255 - b for b in data[middle:middle + 64])
        path.write_bytes(bytes(data))
    else:
        (target / (VECTORS_FILE + ".sum")).unlink()
    assert _verify(target)[0] == 1
    code, repaired = _verify(target, "--repair")
    assert code == 0 and repaired["sound"] and repaired["dropped_documents"] == [], repaired
    assert any("re-encoded" in action for action in repaired["repaired"])
    assert (target / (VECTORS_FILE + ".corrupt")).exists()
    with SenseIndex.open(target, read_only=True) as index:
        assert index.query("the [[doc]] here", k=3)
    _reindex_matches_fresh(corpus, target, tmp_path, fake_settings)


def test_an_index_whose_model_folder_moved_says_so(tmp_path: Path) -> None:
    # transformers took the absolute path for a hub id: "Repo id must be in the form 'repo_name' or ...".
    settings = EncoderSettings(model=str(tmp_path / "moved-model"))
    with pytest.raises(ModelLoadError, match="no such model folder: .*moved-model$"):
        encoder_module.load_encoder(settings, "cpu")


def _look_alikes_with_rows_lost(folder: Path, settings: EncoderSettings) -> tuple[Path, list[tuple[str, str]]]:
    """An index of look_alike_corpus and a record whose id holds a line break, each record missing an occurrence
    row (a "document" problem: repair drops them); returns the index and the damaged documents' labels and paths."""
    corpus = write_look_alike_corpus(folder / "c")
    (corpus / "c").mkdir()
    (corpus / "c" / "y.jsonl").write_text('{"id": "line\\nbreak", "text": "The bank closed early."}\n')
    with SenseIndex.create(folder / "idx", settings=settings, compression="flat") as index:
        index.add([corpus])
        path_of = {entry.id: entry.path for entry in index.catalog()}
        damaged = [d for d in index.store.all_documents() if path_of[d.id].endswith(".jsonl")]
        with index.store.begin() as conn:
            conn.execute(delete(occurrences).where(occurrences.c.id.in_([d.first_occurrence for d in damaged])))
    return folder / "idx", [(d.label, path_of[d.id]) for d in damaged]


def test_verify_and_repair_tell_apart_records_of_one_id_in_two_files(tmp_path: Path,
                                                                     fake_settings: EncoderSettings) -> None:
    # Both problem lines began 'r1' should hold..., and the repair listed what it dropped as "r1, r1, line" with
    # "break" on a line of its own; each is quoted, so a ", " inside one never reads as two.
    target, damaged = _look_alikes_with_rows_lost(tmp_path / "text", fake_settings)
    assert sorted(label for label, _ in damaged) == ["line\nbreak", "r1", "r1"]
    code, report = _verify(target)
    details = sorted(p["detail"].split(" should hold")[0] for p in report["problems"] if p["kind"] == "document")
    assert code == 1 and details == ["'a/x.jsonl#r1'", "'b/x.jsonl#r1'", "'line\\nbreak'"], report
    text = runner.invoke(app, ["verify", "--index", str(target), "--repair"])
    dropped = [line for line in text.stdout.splitlines() if line.startswith("dropped")]
    assert text.exit_code == 0 and len(dropped) == 1, text.stdout
    assert sorted(dropped[0].split(": ", 1)[1].split(", ")) == ["'a/x.jsonl#r1'", "'b/x.jsonl#r1'", "'line\\nbreak'"]
    target, damaged = _look_alikes_with_rows_lost(tmp_path / "json", fake_settings)
    code, repaired = _verify(target, "--repair")
    assert code == 0 and repaired["sound"], repaired
    assert sorted(zip(repaired["dropped_documents"], repaired["dropped_paths"])) == sorted(damaged)
    assert len(set(repaired["dropped_paths"])) == 3


def test_content_problem_lines_name_records_of_one_id_in_two_files_apart(tmp_path: Path,
                                                                       fake_settings: EncoderSettings) -> None:
    # Both lines had begun "'r1': its stored sentences ...", the file each meant named only after it, unquoted.
    corpus = write_look_alike_corpus(tmp_path / "c")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([corpus])
        with index.store.begin() as conn:  # the same length: no check but the content digest sees it
            conn.execute(sentences.update().where(sentences.c.text.in_(["The bank lent money.",
                                                                        "Reeds grew on the muddy bank."]))
                         .values(text=func.replace(sentences.c.text, "bank", "bonk")))
    lines = [f"'{folder}/x.jsonl#r1': its stored sentences, offsets or words no longer match the digest written with "
             "them (disk damage or an edit), so its answers may be wrong; `sensesearch verify --repair` drops it, then "
             f"index {str(corpus / folder / 'x.jsonl')!r} again" for folder in ("a", "b")]
    code, report = _verify(tmp_path / "idx")
    assert code == 1 and sorted(p["detail"] for p in report["problems"] if p["kind"] == "content") == lines, report
    text = runner.invoke(app, ["verify", "--index", str(tmp_path / "idx")])
    assert sorted(line for line in text.stdout.splitlines() if line.startswith("  - content: ")) == [
        f"  - content: {line}" for line in lines], text.stdout
