"""A re-run of `index` over a corpus of many unchanged files: one walk of the inputs, stored versions looked up in
batches, folders resolved once (it took 26 s over 20,000 one-line files, 6 s since)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch import SenseIndex, inputs, pending
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.corpus import read_corpus, resolved
from sensesearch.storage_writer import StoreWriter

from .robust_util import write_corpus

runner = CliRunner()


def test_a_rerun_looks_stored_documents_up_in_batches(tmp_path: Path, fake_settings: EncoderSettings,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write_corpus(tmp_path / "c", 600, 1)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([corpus])
    (corpus / "d005.txt").write_text("A changed text of the fifth document.\n")
    (corpus / "d599.txt").write_text("A changed text of the last document.\n")
    batches: list[int] = []
    lookup = StoreWriter.documents_by_keys

    def counted(self: StoreWriter, keys: list[str]) -> object:
        batches.append(len(keys))
        return lookup(self, keys)

    monkeypatch.setattr(StoreWriter, "documents_by_keys", counted)
    with SenseIndex.open(tmp_path / "idx") as index:
        report = index.add([corpus])
    assert (report.documents_unchanged, report.documents_replaced, report.documents_indexed) == (598, 2, 2)
    assert batches == [pending.LOOKUP_DOCUMENTS, pending.LOOKUP_DOCUMENTS, 600 - 2 * pending.LOOKUP_DOCUMENTS]


def test_large_files_are_not_read_far_ahead_for_a_lookup(tmp_path: Path, fake_settings: EncoderSettings,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    for i in range(5):
        (corpus / f"big{i}.txt").write_text("A long document about the bank of the river. " * 12)  # 552 characters
    batches: list[int] = []
    lookup = StoreWriter.documents_by_keys
    monkeypatch.setattr(StoreWriter, "documents_by_keys",
                        lambda self, keys: batches.append(len(keys)) or lookup(self, keys))
    monkeypatch.setattr(pending, "LOOKUP_CHARS", 1000)  # the 64,000 of a run, scaled down with the files
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        assert index.add([corpus]).documents_indexed == 5
    assert batches == [2, 2, 1]  # LOOKUP_CHARS reached at every second file


def test_byte_progress_follows_the_encoding_not_the_lookups(tmp_path: Path, fake_settings: EncoderSettings,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # A front end's byte progress counts what `read` saw go by: the lookups' read-ahead must not have it (and
    # "saving" announced) run far ahead of the encoding, as 1,000,000 characters read ahead did.
    monkeypatch.setenv("SENSESEARCH_CHECKPOINT_OCCURRENCES", "2000")  # chunks of 8,000 characters
    corpus = tmp_path / "c"
    corpus.mkdir()
    for i in range(40):
        (corpus / f"d{i:02d}.txt").write_text(f"Document {i} tells of the bank of the river. " * 90)  # 4,000 chars
    total = sum(len(p.read_text()) for p in corpus.iterdir())
    read_chars = [0]
    at_updates: list[int] = []

    def read(items: object) -> object:
        for item in items:  # type: ignore[attr-defined]
            read_chars[0] += len(getattr(item, "text", ""))
            yield item

    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, compression="flat") as index:
        index.add([corpus], read=read, progress=lambda *_: at_updates.append(read_chars[0]))  # type: ignore[arg-type]
    assert read_chars[0] == total and len(at_updates) > 10
    assert at_updates[0] < total / 2, (at_updates[0], total)


def test_index_walks_its_inputs_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = write_corpus(tmp_path / "c", 3, 2)
    walks: list[Path] = []
    walk = inputs._walk
    monkeypatch.setattr(inputs, "_walk", lambda folder, scan: walks.append(folder) or walk(folder, scan))
    result = runner.invoke(app, ["index", str(corpus), "--index", str(tmp_path / "idx"), "--model", "fake:test",
                                 "--quiet"])
    assert result.exit_code == 0 and result.exception is None, result.output
    # The CLI's check, its byte total, SenseIndex.add's check and the reading each walked the folder (4 walks).
    assert walks == [corpus]
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert index.info().documents == 3


def test_keys_resolve_as_path_resolve_does(tmp_path: Path) -> None:
    real = write_corpus(tmp_path / "real", 2, 1)
    (tmp_path / "linked").symlink_to(real, target_is_directory=True)
    (real / "alias.txt").symlink_to(real / "d000.txt")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "other.txt").write_text("Another bank.\n")
    (real / "out.txt").symlink_to(tmp_path / "elsewhere" / "other.txt")
    folders: dict[Path, Path] = {}
    for path in [real / "d000.txt", tmp_path / "linked" / "d001.txt", real / "alias.txt", real / "out.txt",
                 tmp_path / "linked" / "alias.txt", tmp_path / "linked" / ".." / "real" / "d001.txt",
                 Path(os.path.relpath(real / "d000.txt"))]:
        assert resolved(path, folders) == path.resolve(), path
    keys = sorted(d.key for d in read_corpus([real, tmp_path / "linked" / "out.txt"]) if hasattr(d, "key"))
    assert keys == sorted(str(p) for p in [real / "d000.txt", real / "d001.txt", real / "d000.txt",
                                           tmp_path / "elsewhere" / "other.txt",
                                           tmp_path / "elsewhere" / "other.txt"])
