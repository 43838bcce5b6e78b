"""The metadata store and the index on each back end: SQLite in the folder, and PostgreSQL (issue 7).

PostgreSQL runs need a server (env SENSESEARCH_TEST_PG_URL, started by .ci/run); they are skipped
without one on a developer's machine and fail in CI.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch import IndexExistsError, SenseIndex, SenseSearchError, ingest
from sensesearch.cli import app
from sensesearch.config import EncoderSettings
from sensesearch.dburl import derived_schema, engine_url, redact, same_database, schema_of, with_namespace
from sensesearch.records import EncodedSentence
from sensesearch.schema import documents, occurrences, sentences, words
from sensesearch.store import MetaStore

from .fake_encoder import FakeEncoder
from .snapshots import assert_same_index, snapshot, write_corpus


def test_build_query_usages_info_and_reopen(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings,
                                           db_url: str | None) -> None:
    (bank_corpus / "notes.jsonl").write_text(
        json.dumps({"id": "n1", "text": "The bank of the Ganges flooded.", "lang": "en", "tags": ["ü", 3]}) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        report = index.add([bank_corpus])
        info = index.info()
        hits = index.query("They fished from the [[bank]] of the river.", k=3)
    assert report.documents_indexed == 2 and report.sentences == 7
    assert info.occurrences == report.occurrences == 61 + 6 and info.documents == 2 and info.bytes_meta > 0
    assert [h.word for h in hits] == ["bank"] * 3 and all(h.score is not None for h in hits)
    with SenseIndex.open(tmp_path / "idx", read_only=True) as reader:
        assert reader.config.db_url == (with_namespace(db_url, tmp_path / "idx") if db_url else None)
        listed = reader.usages("BANK")
        assert len(listed) == 7
        ganges = [h for h in listed if "Ganges" in h.sentence]
        assert ganges[0].meta == {"lang": "en", "tags": ["ü", 3]} and ganges[0].document == "n1"
        assert len(reader.usages("bank", documents=["n1"])) == 1


def test_replace_and_remove(tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings,
                            db_url: str | None) -> None:
    (bank_corpus / "other.txt").write_text("A second bank opened downtown.\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        first = index.add([bank_corpus])
        (bank_corpus / "bank.txt").write_text("The bank closed early.\n")
        changed = index.add([bank_corpus])
        assert changed.documents_replaced == 1 and changed.documents_unchanged == 1
        assert index.info().occurrences == 4 + 5 < first.occurrences
        removed = index.remove([str(bank_corpus / "other.txt")])
        assert removed == [str(bank_corpus / "other.txt")]
        assert index.info().occurrences == 4 == index.vectors.ntotal
        assert [h.sentence for h in index.usages("bank")] == ["The bank closed early."]
    with SenseIndex.open(tmp_path / "idx") as index:
        assert index.recover() == 0 and index.info().documents == 1


def _crash_after(n_chunks: int, inner: Callable[[Iterator[Sequence[str]]], Iterator[list[EncodedSentence]]]):
    def encode(chunks: Iterator[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
        for i, result in enumerate(inner(chunks)):
            if i == n_chunks:
                raise RuntimeError("simulated crash")
            yield result
    return encode


def test_interrupted_run_resumes_to_the_index_a_clean_run_builds(
        tmp_path: Path, fake_settings: EncoderSettings, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MIN_CHECKPOINT_OCCURRENCES", 50)
    monkeypatch.setattr(ingest, "CHUNK_SENTENCES", 512)
    # Chunks as long as 512 sentences, not capped by the small checkpoint size (four whole documents).
    monkeypatch.setattr(ingest, "CHARS_PER_OCCURRENCE", 10_000)
    corpus = write_corpus(tmp_path / "corpus", n_docs=6)
    encoder = FakeEncoder(fake_settings)

    def in_process(chunks: Iterator[Sequence[str]]) -> Iterator[list[EncodedSentence]]:
        return (encoder.encode(texts) for texts in chunks)

    with pytest.raises(RuntimeError, match="simulated crash"), \
            SenseIndex.create(tmp_path / "crashed", settings=fake_settings, db_url=db_url) as index:
        index.add([corpus], chunk_encoder=_crash_after(1, in_process))
    with SenseIndex.open(tmp_path / "crashed") as index:
        assert index.info().documents == 4  # the first chunk (four whole documents) was committed
        resumed = index.add([corpus])
        assert resumed.documents_unchanged == 4 and resumed.documents_indexed == 2
        after_resume = snapshot(index)
    with SenseIndex.create(tmp_path / "clean", settings=fake_settings) as index:
        index.add([corpus])
        clean = snapshot(index)
    assert assert_same_index(after_resume, clean) < 1e-6


def test_store_handles_big_ids_json_and_long_id_lists(tmp_path: Path, db_url: str | None) -> None:
    url = with_namespace(db_url, tmp_path / "store") if db_url else f"sqlite:///{tmp_path / 'meta.sqlite'}"
    store = MetaStore(url)
    base = 3 * 2**31  # past 32-bit integers, as a 4 B-occurrence corpus needs
    n = 2500  # more than one IN batch
    awkward = "bank " * n + "tab\there, back\\slash,\nnew line, \\N"
    with store.begin() as conn:
        conn.execute(words.insert(), [{"id": 1, "form": "bank"}, {"id": 2, "form": "banks"}])
        conn.execute(documents.insert().values(
            id=1, key="k", label="doc", path="p", content_hash="h", meta={"year": 1999, "title": "Zürich ✓"},
            first_sentence=base, n_sentences=1, first_occurrence=base, n_occurrences=n, n_pieces=base))
        # Bulk path (COPY on PostgreSQL): tabs, backslashes and newlines must survive it.
        store.insert_rows(conn, sentences, ("id", "document_id", "start", "text"), [(base, 1, 0, awkward)])
        store.insert_rows(conn, occurrences, ("id", "sentence_id", "word_id", "position", "start", "end"), [
            (base + i, base, 1 + (i % 2), i, 5 * i, 5 * i + 4) for i in range(n)])
    assert store.next_ids() == (2, base + 1, base + n, 3)
    found = store.occurrences_by_id([base + i for i in range(n)] + [7])
    assert len(found) == n and found[base + n - 1].meta == {"year": 1999, "title": "Zürich ✓"}
    assert found[base].sentence_text == awkward and found[base + 1].form == "banks"
    assert store.occurrence_ids("bank")[:2] == [base, base + 2]
    assert store.top_forms("ban") == ["bank", "banks"]
    assert store.size_bytes() > 0
    assert store.counts() == {"documents": 1, "sentences": 1, "occurrences": n, "words": 2}
    with store.begin() as conn:
        store.delete_document(conn, store.all_documents()[0])
    # The word rows stay, and count no more: no usage is left of them.
    assert store.counts() == {"documents": 0, "sentences": 0, "occurrences": 0, "words": 0}
    store.close()


def test_indexes_on_one_postgres_database_keep_apart(tmp_path: Path, bank_corpus: Path,
                                                     fake_settings: EncoderSettings, pg_url: str) -> None:
    with SenseIndex.create(tmp_path / "a", settings=fake_settings, db_url=pg_url) as a:
        a.add([bank_corpus])
    with SenseIndex.create(tmp_path / "b", settings=fake_settings, db_url=pg_url + "?schema=team_b") as b:
        assert b.info().occurrences == 0 and schema_of(b.config.db_url) == "team_b"
    with SenseIndex.open(tmp_path / "a", read_only=True) as a:
        assert a.info().occurrences == 61 and schema_of(a.config.db_url) == derived_schema(tmp_path / "a")
    # A new folder pointed at a schema that holds rows must not adopt (and then contradict) them.
    with pytest.raises(SenseSearchError, match="already holds"):
        SenseIndex.create(tmp_path / "c", settings=fake_settings, db_url=with_namespace(pg_url, tmp_path / "a"))
    with pytest.raises(SenseSearchError, match="identifier"):
        SenseIndex.create(tmp_path / "d", settings=fake_settings, db_url=pg_url + "?schema=Bad-Name")


def test_cli_index_with_db_then_query_and_info(tmp_path: Path, bank_corpus: Path, db_url: str | None) -> None:
    runner = CliRunner()
    idx = str(tmp_path / "idx")
    db_args = ["--db", db_url] if db_url else []
    result = runner.invoke(app, ["index", str(bank_corpus), "-i", idx, "-m", "fake:test", "-q", *db_args])
    assert result.exit_code == 0, result.output
    again = runner.invoke(app, ["index", str(bank_corpus), "-i", idx, "-q"])
    assert again.exit_code == 0, again.output
    info = json.loads(runner.invoke(app, ["info", "-i", idx, "--json"]).stdout)
    assert info["occurrences"] == 61 and info["documents"] == 1
    assert info["db_url"].startswith("postgresql") == bool(db_url)
    hits = json.loads(runner.invoke(app, ["query", "a loan from the [[bank]]", "-i", idx, "--json", "-k", "2"]).stdout)
    assert [h["word"] for h in hits] == ["bank", "bank"]
    other = runner.invoke(app, ["index", str(bank_corpus), "-i", idx, "--db", "sqlite:////nonexistent/other.db"])
    message = " ".join(other.output.split())
    assert other.exit_code == 1 and "keeps its metadata in" in message and isinstance(other.exception, SystemExit)


def test_unreachable_server_is_one_clear_error_without_the_password(tmp_path: Path,
                                                                    fake_settings: EncoderSettings) -> None:
    with pytest.raises(SenseSearchError) as caught:
        SenseIndex.create(tmp_path / "idx", settings=fake_settings,
                          db_url="postgresql://someone:s3cret@127.0.0.1:1/nothing?connect_timeout=2")
    assert "s3cret" not in str(caught.value) and "127.0.0.1" in str(caught.value)


def test_url_helpers(tmp_path: Path) -> None:
    url = "postgresql://u:pw@db.example:5432/senses"
    named = with_namespace(url, tmp_path / "My Index!")
    assert schema_of(named) == derived_schema(tmp_path / "My Index!")
    assert schema_of(named).startswith("sensesearch_my_index_") and len(schema_of(named)) <= 63
    assert derived_schema(tmp_path / "x") != derived_schema(tmp_path / "sub" / "x")
    assert with_namespace(url + "?schema=mine", tmp_path) == url + "?schema=mine"
    assert with_namespace("sqlite:///a.db", tmp_path) == "sqlite:///a.db"
    assert engine_url(named).drivername == "postgresql+psycopg" and "schema" not in engine_url(named).query
    assert "pw" not in redact(named) and "***" in redact(named)
    assert same_database(named, url) and same_database(named, named)
    assert not same_database(named, url + "?schema=other") and not same_database(named, "sqlite:///x.db")
    with pytest.raises(SenseSearchError):
        with_namespace("not a url", tmp_path)


@contextlib.contextmanager
def _index_read_by_a_select_only_role(folder: Path, corpus: Path, settings: EncoderSettings, pg_url: str,
                                      monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An index made by the server's own user on a URL naming no user, then PGUSER set to a new role holding only
    USAGE on its schema and SELECT on its tables (yielded); the role goes, and PGUSER is the owner's, afterwards."""
    from sqlalchemy import URL, create_engine, make_url, text

    owner = make_url(pg_url)
    shared = URL.create(owner.drivername, host=owner.host, port=owner.port, database=owner.database).render_as_string()
    monkeypatch.setenv("PGUSER", owner.username or "postgres")
    with SenseIndex.create(folder, settings=settings, db_url=shared) as index:
        index.add([corpus])
        schema = schema_of(index.config.db_url)
    reader = f"sensesearch_reader_{folder.parent.name[-12:].lower()}".replace("-", "_")
    admin = create_engine(engine_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{reader}" LOGIN'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{reader}"'))
        conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{reader}"'))
    try:
        monkeypatch.setenv("PGUSER", reader)
        yield reader
    finally:
        monkeypatch.setenv("PGUSER", owner.username or "postgres")
        with admin.connect() as conn:
            conn.execute(text(f'DROP OWNED BY "{reader}"'))
            conn.execute(text(f'DROP ROLE "{reader}"'))
        admin.dispose()


def test_each_user_connects_as_themselves_and_a_reader_needs_no_create_right(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings, pg_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import text

    with _index_read_by_a_select_only_role(tmp_path / "idx", bank_corpus, fake_settings, pg_url,
                                           monkeypatch) as reader:
        with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
            assert len(index.usages("bank")) == 6
            with index.store.engine.connect() as conn:
                assert conn.execute(text("SELECT current_user")).scalar() == reader


def _schemas(pg_url: str) -> set[str]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(engine_url(pg_url))
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_schema_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("outside", ["postgresql", "sqlite file"])
def test_an_index_run_that_creates_an_index_with_an_outside_store_and_is_stopped_leaves_no_rows_behind(
        tmp_path: Path, outside: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Ctrl-C after a checkpoint committed rows: the folder goes, and so do the store's tables (and the schema
    derived for the folder), so the same command run again builds the index (it used to fail: "already holds
    another index's metadata")."""
    from sensesearch import encoder as encoder_module

    url = request.getfixturevalue("pg_url") if outside == "postgresql" else f"sqlite:///{tmp_path / 'outside.db'}"

    monkeypatch.setattr(ingest, "MIN_CHECKPOINT_OCCURRENCES", 50)
    monkeypatch.setattr(ingest, "CHARS_PER_OCCURRENCE", 1)  # chunks of about 50 characters
    corpus = write_corpus(tmp_path / "corpus", n_docs=6)

    class StoppedByHand(FakeEncoder):
        def encode(self, sentences: Sequence[str]) -> list[EncodedSentence]:
            if self.calls == 5:
                raise KeyboardInterrupt
            return super().encode(sentences)

    monkeypatch.setitem(encoder_module.ENCODER_FACTORIES, "stopped", lambda settings, device: StoppedByHand(settings))
    folder = tmp_path / "idx"
    args = ["index", str(corpus), "--index", str(folder), "--db", url, "-q"]
    stopped = CliRunner().invoke(app, [*args, "--model", "stopped:test"])
    assert stopped.exit_code == 130 and "Interrupted" in stopped.output
    assert not folder.exists()
    if outside == "postgresql":
        assert derived_schema(folder) not in _schemas(url)
    else:
        assert sqlite3.connect(tmp_path / "outside.db").execute("SELECT name FROM sqlite_master").fetchall() == []
    again = CliRunner().invoke(app, [*args, "--model", "fake:test"])
    assert again.exit_code == 0, again.output
    with SenseIndex.open(folder, read_only=True) as index:
        assert index.info().documents == 6


def test_a_schema_claimed_by_an_index_is_refused_to_another_even_while_it_holds_no_rows(
        tmp_path: Path, fake_settings: EncoderSettings, pg_url: str) -> None:
    url = pg_url + "?schema=team_claimed"
    with SenseIndex.create(tmp_path / "a", settings=fake_settings, db_url=url) as first:
        assert first.info().occurrences == 0
    with pytest.raises(SenseSearchError, match="already holds another index's metadata"):
        SenseIndex.create(tmp_path / "b", settings=fake_settings, db_url=url)
    assert not (tmp_path / "b").exists()
    with SenseIndex.open(tmp_path / "a") as first:
        assert first.info().documents == 0


def test_of_two_indexes_made_at_once_on_one_schema_one_is_refused(tmp_path: Path, fake_settings: EncoderSettings,
                                                                  pg_url: str) -> None:
    url = pg_url + "?schema=team_race"
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def make(name: str) -> None:
        start.wait()
        try:
            SenseIndex.create(tmp_path / name, settings=fake_settings, db_url=url).close()
            outcomes[name] = "made"
        except SenseSearchError as exc:
            outcomes[name] = str(exc)

    threads = [threading.Thread(target=make, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(outcomes.values()).count("made") == 1, outcomes
    refused = [name for name, outcome in outcomes.items() if outcome != "made"]
    assert len(refused) == 1 and "already holds another index's metadata" in outcomes[refused[0]]
    assert not (tmp_path / refused[0]).exists()


def test_a_create_that_fails_after_making_its_schema_gives_it_up(tmp_path: Path, fake_settings: EncoderSettings,
                                                                pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sensesearch.config import IndexConfig

    def full_disk(self: IndexConfig, folder: Path) -> None:
        raise SenseSearchError("cannot write config.json: No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(IndexConfig, "save", full_disk)
        with pytest.raises(SenseSearchError, match="No space left"):
            SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=pg_url)
    assert not (tmp_path / "idx").exists() and derived_schema(tmp_path / "idx") not in _schemas(pg_url)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=pg_url) as index:
        assert index.info().documents == 0


def test_a_run_that_indexes_nothing_into_a_new_postgres_index_leaves_the_server_as_it_was(
        tmp_path: Path, pg_url: str) -> None:
    (tmp_path / "empty.txt").write_text("")
    folder = tmp_path / "idx"
    result = CliRunner().invoke(app, ["index", str(tmp_path / "empty.txt"), "--index", str(folder),
                                      "--model", "fake:test", "--db", pg_url])
    assert result.exit_code == 1 and "nothing to index" in " ".join(result.output.split())
    assert not folder.exists() and derived_schema(folder) not in _schemas(pg_url)


def test_a_run_that_finds_the_index_made_meanwhile_by_another_run_never_removes_it_on_failing(
        tmp_path: Path, bank_corpus: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run looked for config.json before it held the folder's lock; another run made the index in between, and
    this one, asked for other settings, fails on it: it must not undo what it did not make (the folder, the tables)."""
    folder = tmp_path / "idx"
    real = SenseIndex.open_or_create.__func__  # type: ignore[attr-defined]

    def made_meanwhile(cls: type[SenseIndex], path: Path, *args: object, **kwargs: object) -> SenseIndex:
        with SenseIndex.create(path, settings=EncoderSettings(model="fake:other"), db_url=db_url) as other:
            other.add([bank_corpus])
        return real(cls, path, *args, **kwargs)

    monkeypatch.setattr(SenseIndex, "open_or_create", classmethod(made_meanwhile))
    result = CliRunner().invoke(app, ["index", str(bank_corpus), "--index", str(folder), "--model", "fake:test",
                                      *(["--db", db_url] if db_url else [])])
    assert result.exit_code == 1 and "built with other settings" in " ".join(result.output.split())
    monkeypatch.undo()
    with SenseIndex.open(folder, read_only=True) as index:
        assert index.info().occurrences == 61


@pytest.mark.parametrize("rows", [[("theme", "dark")], [("schema_version", "1"), ("theme", "dark")]],
                         ids=["its own keys", "a schema_version of its own too"])
def test_a_schema_holding_another_programs_tables_named_like_ours_is_refused_and_left_alone(
        tmp_path: Path, fake_settings: EncoderSettings, pg_url: str, rows: list[tuple[str, str]]) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(engine_url(pg_url))
    with admin.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS shop CASCADE"))
        conn.execute(text("CREATE SCHEMA shop"))
        conn.execute(text("CREATE TABLE shop.settings (key varchar(64) PRIMARY KEY, value text NOT NULL)"))
        conn.execute(text("INSERT INTO shop.settings VALUES (:key, :value)"), [dict(key=k, value=v) for k, v in rows])
        conn.execute(text("CREATE TABLE shop.orders (id int PRIMARY KEY)"))
    with pytest.raises(SenseSearchError, match=r"tables named like sensesearch's \(settings\) that another program"):
        SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=pg_url + "?schema=shop")
    with admin.connect() as conn:
        assert conn.execute(text("SELECT key, value FROM shop.settings ORDER BY key")).all() == rows
        assert conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'shop' ORDER BY 1")
                            ).scalars().all() == ["orders", "settings"]
    admin.dispose()
    assert not (tmp_path / "idx").exists()


def test_a_stopped_create_whose_tables_a_reader_holds_empties_them_instead(
        tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """DROP TABLE waits for a reader's lock; past the timeout the tables are emptied (DELETE takes no lock a reader
    holds), which frees the schema for the same command as well."""
    from sqlalchemy import create_engine, text

    from sensesearch import claim
    from sensesearch.config import IndexConfig

    monkeypatch.setattr(claim, "RELEASE_LOCK_TIMEOUT", "200ms")
    folder = tmp_path / "idx"
    url = pg_url + "?schema=held"
    with SenseIndex.create(folder, settings=EncoderSettings(model="fake:test"), db_url=url) as index:
        index.add([write_corpus(tmp_path / "corpus", n_docs=2)])
    reader = create_engine(engine_url(pg_url))
    with reader.connect() as held:
        assert held.execute(text("SELECT count(*) FROM held.documents")).scalar() == 2  # its transaction stays open
        assert claim.release_outside_store(folder, IndexConfig.load(folder))
    with reader.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM held.documents")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM held.settings WHERE key = 'index_id'")).scalar() == 0
    reader.dispose()
    shutil.rmtree(folder)
    with SenseIndex.create(folder, settings=EncoderSettings(model="fake:test"), db_url=url) as index:
        assert index.info().documents == 0


def test_an_outside_sqlite_store_whose_making_was_cut_short_is_made_on_the_next_run(
        tmp_path: Path, fake_settings: EncoderSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite makes tables outside the transaction: a create stopped right after them leaves tables with no
    schema version, which the next run completes instead of taking them for another program's."""
    from sqlalchemy import event

    from sensesearch.schema import metadata

    url = f"sqlite:///{tmp_path / 'outside.db'}"

    def stopped(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    event.listen(metadata, "after_create", stopped)
    try:
        with pytest.raises(KeyboardInterrupt):
            SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=url)
    finally:
        event.remove(metadata, "after_create", stopped)
    assert sqlite3.connect(tmp_path / "outside.db").execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=url) as index:
        assert index.info().documents == 0


def test_a_role_with_read_rights_only_adding_to_an_index_gets_one_line_naming_the_rights(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings, pg_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with _index_read_by_a_select_only_role(tmp_path / "idx", bank_corpus, fake_settings, pg_url, monkeypatch):
        (bank_corpus / "more.txt").write_text("The bank by the river flooded in spring.\n")
        result = CliRunner().invoke(app, ["index", str(bank_corpus), "--index", str(tmp_path / "idx"), "-q"])
        errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
        assert len(errors) == 1 and "refuses this database role" in " ".join(result.output.split())
        assert "unexpected" not in result.output
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert index.info().documents == 1


def test_a_sqlite_file_holding_another_index_is_refused_with_advice_that_sqlite_can_follow(
        tmp_path: Path, fake_settings: EncoderSettings) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    with SenseIndex.create(tmp_path / "a", settings=fake_settings, db_url=url):
        pass
    # The user's choice of place (IndexExistsError, HTTP 409), not a failure of the system's (500).
    with pytest.raises(IndexExistsError, match="already holds another index's metadata") as refused:
        SenseIndex.create(tmp_path / "b", settings=fake_settings, db_url=url)
    # A SQLite URL with schema= is refused, so the advice must name another file instead.
    assert "schema" not in str(refused.value) and "a file of the index's own" in str(refused.value)
    assert not (tmp_path / "b").exists()
    with pytest.raises(IndexExistsError, match="already holds an index; open it instead"):
        SenseIndex.create(tmp_path / "a", settings=fake_settings)


def test_info_counts_the_same_metadata_bytes_however_the_sqlite_store_is_named(
        tmp_path: Path, bank_corpus: Path, fake_settings: EncoderSettings) -> None:
    """The store in the folder and the same store named by an explicit sqlite URL hold the same rows, so `info`
    gives them one size; and a reader's coordination file (`-shm`, an index into the WAL) is no metadata."""
    sizes = []
    for name, url in (("folder", None), ("url", f"sqlite:///{tmp_path / 'elsewhere.sqlite'}")):
        with SenseIndex.create(tmp_path / name, settings=fake_settings, db_url=url) as index:
            index.add([bank_corpus])
        with SenseIndex.open(tmp_path / name, read_only=True) as reader:
            sizes.append(reader.info().bytes_meta)
    (tmp_path / "folder" / "meta.sqlite-shm").write_bytes(b"\0" * 32768)
    with SenseIndex.open(tmp_path / "folder", read_only=True) as reader:
        sizes.append(reader.info().bytes_meta)
    assert sizes[0] > 0 and sizes == [sizes[0]] * 3
