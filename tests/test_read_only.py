"""Read-only media and protected files (issue 17 item 9): readers never write, writers fail in one line first.

Two ways, both honest about what they prove: on real read-only media (a read-only bind mount in a
child's own namespace, tests/readonly_media.py; skipped where user namespaces are not allowed), and
with the same errors raised at the OS boundary (sensesearch.access's checks, os.replace) so that
every machine runs the logic. The tests run as root, for whom chmod stops nothing.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from filelock import FileLock
from typer.testing import CliRunner

from sensesearch import ReadOnlyError, SenseIndex, SenseSearchError, access
from sensesearch import encoder as encoder_module
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.folder import LOCK_FILE, writer_active
from sensesearch.verify import verify_index

from . import readonly_media
from .fake_encoder import FakeEncoder
from .robust_util import REPO, snapshot

QUERY = "money in the [[bank]]"
needs_media = pytest.mark.skipif(not readonly_media.available(), reason="read-only bind mounts need unshare -rm")
needs_chattr = pytest.mark.skipif(not readonly_media.immutable_available(), reason="chattr +i is not allowed here")

# Run inside the child that sees the media read-only: the API and the CLI (CliRunner, in that process).
CHILD = f"""
import errno, json, sys
sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
from typer.testing import CliRunner
from sensesearch import SenseIndex, access, encoder
from sensesearch.cli import app
from tests.fake_encoder import FakeEncoder
loads = []
encoder.ENCODER_FACTORIES["fake"] = lambda settings, device: loads.append(1) or FakeEncoder(settings)
folder = Path(sys.argv[1])
try:
    open(folder / "probe", "w")
    refused = None
except OSError as exc:
    refused = errno.errorcode[exc.errno]
try:
    uri = access.sqlite_read_uri(folder / "idx" / "meta.sqlite")
except Exception as exc:
    uri = str(exc)
out = {{"refused": refused, "uri": uri, "cli": []}}
if sys.argv[2] == "api":
    with SenseIndex.open(folder / "idx", read_only=True) as index:
        out["hits"] = [(h.document, h.sentence, round(h.score, 5)) for h in index.query({QUERY!r}, k=4)]
        out["settings"] = dict(index.store.engine.connect().exec_driver_sql("SELECT key, value FROM settings").all())
else:
    for args in json.loads(sys.argv[2]):
        before = len(loads)
        result = CliRunner().invoke(app, args)
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        out["cli"].append({{"args": args, "code": result.exit_code, "output": result.output,
                           "crashed": repr(result.exception) if crashed else None, "loads": len(loads) - before}})
print(json.dumps(out))
"""


@pytest.fixture
def media(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> Path:
    """tmp/media/idx: an index built with the fake encoder, with a sense inventory for `bank`."""
    with SenseIndex.create(tmp_path / "media" / "idx", settings=fake_settings) as index:
        index.add([bank_corpus])
        index.sense("bank").add("finance", ["the [[bank]] raised its interest rates"])
        index.sense("bank").add("river", ["the grassy [[bank]] of the river"])
    return tmp_path / "media"


def in_child(media: Path, mode: str | list[list[str]]) -> dict:
    import sys

    result = readonly_media.run(media, [sys.executable, "-c", CHILD, media, mode if isinstance(mode, str)
                                        else json.dumps(mode)])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def reader_commands(idx: Path, corpus: Path) -> list[list[str]]:
    where = ["--index", str(idx)]
    return [["query", QUERY, "--json", *where], ["usages", "bank", "--json", *where], ["info", "--json", *where],
            ["documents", "--json", *where], ["senses", "bank", "--k", "2", *where], ["verify", "--no-model", *where],
            ["remove", str(corpus / "bank.txt"), "--dry-run", *where], ["sense", "tags", "bank", "--json", *where],
            ["sense", "list", *where], ["documents", "--sense", "bank:finance", *where]]


@needs_media
def test_reader_on_read_only_media_answers_and_creates_nothing(media: Path) -> None:
    before = readonly_media.listing(media)
    with SenseIndex.open(media / "idx", read_only=True) as index:
        expected = [[h.document, h.sentence, round(h.score, 5)] for h in index.query(QUERY, k=4)]
    for extra in ("meta.sqlite-wal", "meta.sqlite-shm"):  # what the writable-media reader just left
        (media / "idx" / extra).unlink(missing_ok=True)
    before = readonly_media.listing(media)
    got = in_child(media, "api")
    assert got["refused"] == "EROFS", "the media must really be read-only"
    assert got["uri"].endswith("?mode=ro&immutable=1")
    assert got["hits"] == expected and expected
    assert readonly_media.listing(media) == before


@needs_media
def test_every_reading_command_works_on_read_only_media(media: Path, bank_corpus: Path) -> None:
    for extra in ("meta.sqlite-wal", "meta.sqlite-shm"):
        (media / "idx" / extra).unlink(missing_ok=True)
    before = readonly_media.listing(media)
    got = in_child(media, reader_commands(media / "idx", bank_corpus))
    assert got["refused"] == "EROFS"
    for run in got["cli"]:
        assert run["code"] == 0 and run["crashed"] is None, run
        assert "Traceback" not in run["output"] and "WARNING" not in run["output"], run
    assert json.loads(got["cli"][0]["output"])
    assert readonly_media.listing(media) == before


@needs_media
def test_writers_on_read_only_media_fail_in_one_line_before_the_model_loads(media: Path, bank_corpus: Path) -> None:
    idx = str(media / "idx")
    before = readonly_media.listing(media)
    got = in_child(media, [
        ["index", str(bank_corpus), "--index", idx, "--quiet"],
        ["index", str(bank_corpus), "--index", str(media / "new"), "--model", "fake:x", "--quiet"],
        ["remove", str(bank_corpus / "bank.txt"), "--index", idx],
        ["verify", "--repair", "--no-model", "--index", idx],
        ["sense", "add", "bank", "money", "a [[bank]] loan", "--index", idx]])
    for run in got["cli"]:
        lines = run["output"].strip().splitlines()
        assert run["code"] == 1 and run["crashed"] is None and run["loads"] == 0, run
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "read-only" in lines[0], run
    assert readonly_media.listing(media) == before


def _with_pending_wal(media: Path) -> Path:
    """A copy of the index taken while a writer had commits only in meta.sqlite-wal (not yet checkpointed)."""
    source, copy = media / "idx", media / "copy"
    writer = sqlite3.connect(source / "meta.sqlite")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO settings (key, value) VALUES ('probe', 'only in the wal')")
    writer.commit()
    shutil.copytree(source, copy)
    writer.close()
    assert (copy / "meta.sqlite-wal").stat().st_size > 0
    return copy


@needs_media
def test_commits_still_in_the_wal_are_read_on_read_only_media_never_skipped(media: Path) -> None:
    copy = _with_pending_wal(media)
    shutil.rmtree(media / "idx")
    copy.rename(media / "idx")
    got = in_child(media, "api")
    assert got["uri"].endswith("?mode=ro"), "immutable=1 would ignore the -wal file"
    assert got["settings"]["probe"] == "only in the wal" and got["hits"]
    (media / "idx" / "meta.sqlite-shm").unlink()
    before = readonly_media.listing(media)
    got = in_child(media, [["usages", "bank", "--index", str(media / "idx")]])
    run = got["cli"][0]
    assert run["code"] == 1 and run["crashed"] is None and "-shm" in run["output"], run
    assert len(run["output"].strip().splitlines()) == 1
    assert readonly_media.listing(media) == before


@needs_chattr
def test_reader_of_an_immutable_index_answers_in_process_and_creates_nothing(media: Path, bank_corpus: Path) -> None:
    idx = media / "idx"
    for extra in ("meta.sqlite-wal", "meta.sqlite-shm"):
        (idx / extra).unlink(missing_ok=True)
    before = readonly_media.listing(media)
    with readonly_media.immutable([idx, *idx.iterdir()]):
        assert access.sqlite_read_uri(idx / "meta.sqlite").endswith("?mode=ro&immutable=1")
        with SenseIndex.open(idx, read_only=True) as index:
            assert index.query(QUERY, k=3)
        for args in reader_commands(idx, bank_corpus):
            result = CliRunner().invoke(app, args)
            assert result.exit_code == 0 and result.exception is None, (args, result.output)
    assert readonly_media.listing(media) == before


@needs_chattr
@pytest.mark.parametrize("name", ["vectors.faiss", "meta.sqlite", "vectors.faiss.sum"])
def test_one_immutable_file_stops_every_writer_before_any_change(media: Path, bank_corpus: Path, name: str) -> None:
    idx = media / "idx"
    (bank_corpus / "more.txt").write_text("The bank opened a new branch.\n")
    before = readonly_media.listing(media)
    with readonly_media.immutable([idx / name]):
        for args in (["index", str(bank_corpus), "--index", str(idx), "--quiet"],
                     ["remove", str(bank_corpus / "bank.txt"), "--index", str(idx)],
                     ["verify", "--repair", "--no-model", "--index", str(idx)],
                     ["sense", "add", "bank", "money", "a [[bank]] loan", "--index", str(idx)]):
            result = CliRunner().invoke(app, args)
            lines = result.output.strip().splitlines()
            assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (args, result.output)
            assert len(lines) == 1 and f"{name}: write-protected" in lines[0], (args, result.output)
    assert readonly_media.listing(media) == before


@needs_chattr
def test_a_protected_config_stops_no_writer_that_leaves_it_alone(media: Path, bank_corpus: Path) -> None:
    idx = media / "idx"
    with readonly_media.immutable([idx / "config.json"]):
        result = CliRunner().invoke(app, ["remove", str(bank_corpus / "bank.txt"), "--index", str(idx)])
        assert result.exit_code == 0, result.output
        assert verify_index(idx, check_model=False).sound


# ---- the same errors at the OS boundary: runs everywhere ------------------------------------------------------

@pytest.fixture
def read_only_folder(media: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The index folder as sensesearch.access sees read-only media (statvfs ST_RDONLY), its files as EROFS."""
    real_folder, real_file = access.folder_write_problem, access.file_write_problem
    monkeypatch.setattr(access, "folder_write_problem",
                        lambda folder: "read-only file system" if media in (folder, *folder.parents)
                        else real_folder(folder))
    monkeypatch.setattr(access, "file_write_problem",
                        lambda path: "read-only file system" if media in path.parents and path.exists()
                        else real_file(path))
    for extra in ("meta.sqlite-wal", "meta.sqlite-shm", LOCK_FILE):
        (media / "idx" / extra).unlink(missing_ok=True)
    return media


def test_reader_of_an_unwritable_folder_opens_sqlite_immutable_and_creates_no_file(read_only_folder: Path,
                                                                                   bank_corpus: Path) -> None:
    idx = read_only_folder / "idx"
    before = readonly_media.listing(read_only_folder)
    assert access.sqlite_read_uri(idx / "meta.sqlite").endswith("?mode=ro&immutable=1")
    with SenseIndex.open(idx, read_only=True) as index:
        assert index.query(QUERY, k=3)
        # While open, too: a writable connection would have made -wal and -shm (and removed them on close).
        assert readonly_media.listing(read_only_folder) == before
    for args in reader_commands(idx, bank_corpus):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0 and result.exception is None, (args, result.output)
    assert readonly_media.listing(read_only_folder) == before


def test_server_on_an_unwritable_folder_serves_and_creates_no_file(read_only_folder: Path) -> None:
    from fastapi.testclient import TestClient

    from sensesearch.server import create_app

    before = readonly_media.listing(read_only_folder)
    with TestClient(create_app(read_only_folder / "idx"), base_url="http://127.0.0.1") as client:
        assert client.post("/api/query", json={"text": QUERY, "k": 3}).json()
        for path, params in (("/api/usages", {"word": "bank"}), ("/api/info", {}), ("/api/senses", {"word": "bank"}),
                             ("/api/sense/tags", {"word": "bank"}), ("/api/inventory", {"word": "bank"})):
            response = client.get(path, params=params)
            assert response.status_code == 200, (path, response.text)
        assert client.post("/api/reload", json={}).status_code == 200
        assert readonly_media.listing(read_only_folder) == before


def test_writers_on_an_unwritable_folder_fail_before_the_model_loads(read_only_folder: Path, bank_corpus: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "fake",
                        lambda settings, device: loads.append(settings.model) or FakeEncoder(settings))
    idx = read_only_folder / "idx"
    before = readonly_media.listing(read_only_folder)
    for args in (["index", str(bank_corpus), "--index", str(idx), "--quiet"],
                 ["index", str(bank_corpus), "--index", str(read_only_folder / "new"), "--model", "fake:x"],
                 ["remove", str(bank_corpus / "bank.txt"), "--index", str(idx)],
                 ["verify", "--repair", "--no-model", "--index", str(idx)]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (args, result.output)
        assert len(result.output.strip().splitlines()) == 1 and "read-only" in result.output, (args, result.output)
    with pytest.raises(ReadOnlyError, match="read-only"):
        SenseIndex.create(read_only_folder / "other", settings=EncoderSettings(model="fake:y"))
    with pytest.raises(ReadOnlyError, match="read-only"):
        SenseIndex.open(idx)
    assert loads == [] and readonly_media.listing(read_only_folder) == before


def test_an_immutable_file_stops_a_writer_before_it_changes_anything(media: Path, bank_corpus: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    idx = media / "idx"
    real_access = os.access

    def kernel_says(path: object, mode: int, *args: object, **kwargs: object) -> bool:
        if Path(str(path)) == idx / "vectors.faiss" and mode & os.W_OK:
            return False  # access(2) answers EPERM for chattr +i, even to root
        return real_access(path, mode, *args, **kwargs)

    before = snapshot(idx)
    with monkeypatch.context() as patch:
        patch.setattr(os, "access", kernel_says)
        result = CliRunner().invoke(app, ["remove", str(bank_corpus / "bank.txt"), "--index", str(idx)])
    assert result.exit_code == 1 and "vectors.faiss: write-protected" in result.output, result.output
    after = snapshot(idx)
    assert after.documents == before.documents and list(after.vector_ids) == list(before.vector_ids)


def test_remove_whose_vectors_cannot_be_saved_is_finished_by_the_next_writer(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "money.txt").write_text("The bank raised its interest rates.\nShe asked the bank for a loan.\n")
    (corpus / "river.txt").write_text("Herons stood on the far bank of the stream.\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])

    def refused(*args: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    with SenseIndex.open(tmp_path / "idx") as index, monkeypatch.context() as patch:
        patch.setattr(os, "replace", refused)
        with pytest.raises(SenseSearchError) as caught:
            index.remove([str(corpus / "money.txt")])
    message = str(caught.value)
    assert "\n" not in message and "Read-only file system" in message and "next writer" in message
    assert "run it again" not in message  # the names would now match nothing
    with SenseIndex.open(tmp_path / "idx", read_only=True) as reader:
        # The removed document's vectors are still in the file, but never answer.
        assert {Path(h.document).name for h in reader.query(QUERY, k=10)} == {"river.txt"}
    assert [p.kind for p in verify_index(tmp_path / "idx", check_model=False).problems] == ["stray vectors"]
    SenseIndex.open(tmp_path / "idx").close()  # any writer's recover finishes the removal
    assert verify_index(tmp_path / "idx", check_model=False).sound
    after = snapshot(tmp_path / "idx")
    assert list(after.row_ids) == list(after.vector_ids) and [d[0] for d in after.documents] == [
        str((corpus / "river.txt").resolve())]


def test_verify_without_repair_never_creates_the_lock_file_and_still_sees_a_writer(media: Path) -> None:
    idx = media / "idx"
    (idx / LOCK_FILE).unlink(missing_ok=True)
    assert verify_index(idx, check_model=False).sound
    assert not (idx / LOCK_FILE).exists()
    assert not writer_active(idx)
    with FileLock(str(idx / LOCK_FILE)):
        assert writer_active(idx)
        assert any("another process" in note for note in verify_index(idx, check_model=False).notes)
    assert not writer_active(idx)


def test_reader_never_writes_the_sense_tag_cache(media: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), SenseIndex.open(media / "idx", read_only=True) as index:
        assert index.sense("bank").tagged()
    assert "not cached" not in caplog.text
    with sqlite3.connect(media / "idx" / "meta.sqlite") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "sense_tags" not in tables or not conn.execute("SELECT count(*) FROM sense_tags").fetchone()[0]


def test_reader_that_follows_a_rebuilt_index_stays_read_only(media: Path, bank_corpus: Path,
                                                             fake_settings: EncoderSettings) -> None:
    idx = media / "idx"
    with SenseIndex.open(idx, read_only=True) as reader:
        shutil.rmtree(idx)
        with SenseIndex.create(idx, settings=fake_settings) as writer:
            writer.add([bank_corpus])
        assert reader.refresh()
        assert reader.store.read_only and reader.query(QUERY, k=2)


def test_a_readers_store_refuses_writes_at_the_database(tmp_path: Path, bank_corpus: Path,
                                                        fake_settings: EncoderSettings, db_url: str | None) -> None:
    from sensesearch.schema import settings

    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        index.add([bank_corpus])
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert index.usages("bank")
        with pytest.raises(ReadOnlyError, match="cannot be written"), index.store.begin() as conn:
            conn.execute(settings.insert().values(key="probe", value="x"))


def test_config_that_cannot_be_saved_is_one_error_and_the_old_file_stays(media: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from sensesearch.config import IndexConfig

    idx = media / "idx"
    before = (idx / "config.json").read_bytes()
    real_replace = Path.replace

    def refused(self: Path, target: Path) -> Path:
        if self.name == "config.json.tmp":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", refused)
    with pytest.raises(SenseSearchError, match="cannot save .*config.json \\(Read-only file system\\)"):
        IndexConfig.load(idx).save(idx)
    assert (idx / "config.json").read_bytes() == before and not (idx / "config.json.tmp").exists()


def test_writers_fill_the_sense_tag_cache_that_readers_only_read(media: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sensesearch import sensetags

    def recomputed(*args: object, **kwargs: object) -> None:
        raise AssertionError("a reader recomputed tags that `sense add` should have stored")

    monkeypatch.setattr(sensetags, "compute_tags", recomputed)
    with SenseIndex.open(media / "idx", read_only=True) as index:
        assert {sense for _, sense, _ in index.sense("bank").tagged()} >= {"finance", "river"}


def test_reader_of_an_unwritable_folder_sees_what_a_writer_elsewhere_adds(read_only_folder: Path, tmp_path: Path) -> None:
    """A read-only mount of a folder another system writes (a container's :ro volume): no stale immutable view."""
    from .robust_util import run_cli

    idx = read_only_folder / "idx"
    more = tmp_path / "more"
    more.mkdir()
    (more / "loan.txt").write_text("The bank approved the loan.\nThe bank closed early.\n")
    with SenseIndex.open(idx, read_only=True) as reader:
        before = len(reader.usages("bank"))
        written = run_cli("index", more, "--index", idx, "--quiet")  # another process: not under this test's patch
        assert written.returncode == 0, written.stderr
        assert reader.refresh()
        assert len(reader.usages("bank")) == before + 2


def test_a_long_lived_reader_never_answers_from_an_index_deleted_under_it(tmp_path: Path, bank_corpus: Path,
                                                                           fake_settings: EncoderSettings) -> None:
    """In `shell`, after the index folder was deleted a query said so, but `:usages bank` and `:documents` went on
    answering from the still-open database file."""
    import shutil

    from sensesearch import IndexNotFoundError

    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([bank_corpus])
    with SenseIndex.open(tmp_path / "idx", read_only=True) as reader:
        assert reader.usages("bank") and reader.documents() and reader.info().documents == 1
        shutil.rmtree(tmp_path / "idx")
        for read in (lambda: reader.usages("bank"), reader.documents, reader.catalog, reader.info,
                     lambda: reader.query("The [[bank]] rose.", k=1)):
            with pytest.raises(IndexNotFoundError):
                read()
