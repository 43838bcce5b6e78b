"""Lemmas (issue 14 item 1): the lemmatiser, lemma-widened search and the numbered migration that adds lemmas."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from sensesearch import SenseIndex, WordNotFoundError
from sensesearch import migrations
from sensesearch.config import EncoderSettings, IndexConfig
from sensesearch.errors import ConfigMismatchError
from sensesearch.lemmas import Lemmatizer, parse_language
from sensesearch.dbengine import make_engine

BANKS = """The bank raised its rates.
Two banks merged last year.
The pilot banked the plane sharply.
Our banking laws are old.
"""


@pytest.fixture
def banks_index(tmp_path: Path, fake_settings: EncoderSettings, db_url: str | None) -> Path:
    """A small index on each metadata back end (SQLite; PostgreSQL where a test server is set)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "banks.txt").write_text(BANKS)
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        index.add([corpus])
    return tmp_path / "idx"


def test_lemmatizer_maps_inflected_forms_to_their_lemma() -> None:
    lemma = Lemmatizer("en")
    assert [lemma(w) for w in ("bank", "banks", "banked", "children", "ran")] == ["bank", "bank", "bank", "child", "run"]
    assert Lemmatizer("de")("häuser") == "haus"


def test_warm_loads_the_dictionary_on_its_own_thread_and_the_first_word_waits_for_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import simplemma

    calls: list[tuple[str, str, float, float]] = []

    def slow_load(word: str, lang: object) -> str:
        started = time.perf_counter()
        if threading.current_thread().name == "sensesearch-lemmas":
            time.sleep(0.3)  # the dictionary's load
        calls.append((threading.current_thread().name, word, started, time.perf_counter()))
        return word

    monkeypatch.setattr(simplemma, "lemmatize", slow_load)
    lemma = Lemmatizer("en")
    lemma.warm()
    lemma.warm()
    assert lemma("Banks") == "banks"
    assert [(thread, word) for thread, word, _, _ in calls] == [("sensesearch-lemmas", "a"),
                                                                 ("MainThread", "banks")]
    assert calls[1][2] >= calls[0][3]  # the word waited for the load, instead of loading a second copy beside it


def test_unknown_language_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigMismatchError, match="no lemmatiser for language xx.*en"):
        parse_language("xx")
    assert parse_language("de, en") == ("de", "en")


def test_usages_with_lemma_list_every_form_and_without_only_the_word(banks_index: Path) -> None:
    with SenseIndex.open(banks_index, read_only=True) as index:
        plain = index.usages("bank")
        widened = index.usages("bank", lemma=True)
        from_inflected = index.usages("Banks", lemma=True)
        hits = index.query("a [[bank]] account", k=10, lemma=True)
    assert [h.word for h in plain] == ["bank"]
    assert [h.word for h in widened] == ["bank", "banks", "banked"]
    assert [h.word for h in from_inflected] == ["bank", "banks", "banked"]
    assert sorted(h.word for h in hits) == ["bank", "banked", "banks"]


def test_lemma_search_names_the_lemma_when_nothing_matches(banks_index: Path) -> None:
    with SenseIndex.open(banks_index, read_only=True) as index, \
            pytest.raises(WordNotFoundError, match="'rivers' \\(lemma 'river'\\)"):
        index.usages("rivers", lemma=True)


def test_index_in_another_language_stores_that_languages_lemmas(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    (tmp_path / "de.txt").write_text("Die Häuser sind alt. Das Haus ist neu.\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, lemma_language="de") as index:
        index.add([tmp_path / "de.txt"])
        assert [h.word for h in index.usages("haus", lemma=True)] == ["Häuser", "Haus"]
    with SenseIndex.open(tmp_path / "idx", read_only=True) as index:
        assert index.config.lemma_language == "de"


def _make_version_1(folder: Path) -> None:
    """Turn a store back into what sensesearch 0.1 wrote: no lemma column, no migrations table."""
    config = IndexConfig.load(folder)
    engine = make_engine(config.db_url or f"sqlite:///{folder / 'meta.sqlite'}")
    with engine.begin() as conn:
        name = migrations.qualified_name
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP INDEX ix_words_lemma"))
        schema = migrations.translated_schema(conn)
        conn.execute(text(f"DROP INDEX {schema + '.' if schema else ''}ix_documents_first_occurrence"))
        conn.execute(text(f"ALTER TABLE {name(conn, 'words')} DROP COLUMN lemma"))
        conn.execute(text(f"ALTER TABLE {name(conn, 'documents')} DROP COLUMN sentences_total"))
        conn.execute(text(f"ALTER TABLE {name(conn, 'documents')} DROP COLUMN digest"))
        conn.execute(text(f"DROP TABLE {name(conn, 'migrations')}"))
        conn.execute(text(f"UPDATE {name(conn, 'settings')} SET value = '1' WHERE key = 'schema_version'"))
    engine.dispose()


def _index_names(folder: Path) -> set[str]:
    config = IndexConfig.load(folder)
    engine = make_engine(config.db_url or f"sqlite:///{folder / 'meta.sqlite'}")
    with engine.connect() as conn:
        names = {ix["name"] for ix in inspect(conn).get_indexes("documents", schema=migrations.translated_schema(conn))}
    engine.dispose()
    return names


def _columns_and_tables(folder: Path, table: str = "words") -> tuple[set[str], set[str]]:
    config = IndexConfig.load(folder)
    engine = make_engine(config.db_url or f"sqlite:///{folder / 'meta.sqlite'}")
    with engine.connect() as conn:
        schema = migrations.translated_schema(conn)
        found = inspect(conn)
        columns = {c["name"] for c in found.get_columns(table, schema=schema)}
        tables = set(found.get_table_names(schema=schema))
    engine.dispose()
    return columns, tables


def test_old_index_gets_lemmas_by_numbered_migration_without_rebuild(banks_index: Path) -> None:
    _make_version_1(banks_index)
    vectors_before = (banks_index / "vectors.faiss").read_bytes()
    with SenseIndex.open(banks_index) as index:  # a writer's open migrates; a reader's never does
        assert [h.word for h in index.usages("bank", lemma=True)] == ["bank", "banks", "banked"]
        with index.store.engine.connect() as conn:
            name = migrations.qualified_name
            rows = conn.execute(text(f"SELECT number, name FROM {name(conn, 'migrations')} ORDER BY number")).all()
            version = conn.execute(text(f"SELECT value FROM {name(conn, 'settings')} "
                                        "WHERE key = 'schema_version'")).scalar()
            missing = conn.execute(text(f"SELECT count(*) FROM {name(conn, 'words')} WHERE lemma IS NULL")).scalar()
    assert [tuple(r) for r in rows] == [(n, f.__name__) for n, f in migrations.MIGRATIONS]
    assert version == str(migrations.SCHEMA_LEVEL) and missing == 0
    assert (banks_index / "vectors.faiss").read_bytes() == vectors_before
    assert "ix_documents_first_occurrence" in _index_names(banks_index)
    assert "sentences_total" in _columns_and_tables(banks_index, "documents")[0]
    with SenseIndex.open(banks_index, read_only=True) as index:
        assert migrations.migrate(index.store.engine, migrations.MigrationContext()) == []


def test_failed_migration_leaves_the_store_as_it_was(banks_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _make_version_1(banks_index)

    def broken(conn, context):  # type: ignore[no-untyped-def]
        migrations.m002_word_lemmas(conn, context)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(migrations, "MIGRATIONS", ((1, migrations.m001_initial), (2, broken),
                                                   (3, migrations.m003_document_ranges)))
    with pytest.raises(Exception, match="disk on fire"):
        SenseIndex.open(banks_index)
    columns, tables = _columns_and_tables(banks_index)
    assert "lemma" not in columns and "migrations" not in tables and "words" in tables


def test_read_only_open_never_migrates_and_says_what_to_run(banks_index: Path) -> None:
    """Issue 17 item 9: a reader never writes, not even a migration; it names the command that migrates."""
    from typer.testing import CliRunner

    from sensesearch import ReadOnlyError
    from sensesearch.cli import app

    _make_version_1(banks_index)
    before = {p.name: p.read_bytes() for p in banks_index.iterdir()}
    with pytest.raises(ReadOnlyError, match="needs migration m001_initial.*verify --repair") as caught:
        SenseIndex.open(banks_index, read_only=True)
    assert "\n" not in str(caught.value)
    result = CliRunner().invoke(app, ["usages", "bank", "--index", str(banks_index)])
    assert result.exit_code == 1 and result.exception is not None and "verify --repair" in result.output
    result = CliRunner().invoke(app, ["verify", "--no-model", "--index", str(banks_index)])
    assert result.exit_code == 1 and "verify --repair" in result.output
    after = {p.name: p.read_bytes() for p in banks_index.iterdir()}
    # Writable media: a WAL reader may add SQLite's (empty) coordination files; every other byte is as it was.
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) <= {"meta.sqlite-wal", "meta.sqlite-shm"} and not after.get("meta.sqlite-wal")
    assert "lemma" not in _columns_and_tables(banks_index)[0]
    result = CliRunner().invoke(app, ["verify", "--repair", "--no-model", "--index", str(banks_index)])
    assert result.exit_code == 0, result.output
    with SenseIndex.open(banks_index, read_only=True) as index:
        assert [h.word for h in index.usages("bank", lemma=True)] == ["bank", "banks", "banked"]


def test_lemma_does_not_depend_on_the_spelling_indexed_first(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    """simplemma keeps capitalised "States" as it is: an index that met "United States" first stored the lemma
    "states" for the form, and lemma search then missed "the several states" (or the other way round)."""
    (tmp_path / "a.txt").write_text("The United States signed the treaty.\n")
    (tmp_path / "b.txt").write_text("The several states kept their state laws.\n")
    found = []
    for name, order in (("ab", ["a.txt", "b.txt"]), ("ba", ["b.txt", "a.txt"])):
        with SenseIndex.create(tmp_path / name, settings=fake_settings) as index:
            for file in order:
                index.add([tmp_path / file])
            found.append(sorted((Path(h.document).name, h.word) for h in index.usages("state", lemma=True)))
    assert found[0] == found[1] == [("a.txt", "States"), ("b.txt", "state"), ("b.txt", "states")]
    assert Lemmatizer("en")("States") == Lemmatizer("en")("states") == "state"
    assert Lemmatizer("de")("haus") == Lemmatizer("de")("Haus") == "haus"


def test_migration_makes_lemmas_from_forms_and_keeps_digests_honest(tmp_path: Path,
                                                                   fake_settings: EncoderSettings) -> None:
    """An index written before m006: a lemma taken from the first spelling is made again from the form; a document
    whose rows matched its digest gets the new rows' digest, one damaged before still fails the check."""
    from sensesearch import digests

    (tmp_path / "a.txt").write_text("The United States signed the treaty.\n")
    (tmp_path / "b.txt").write_text("The several states kept their laws.\n")
    (tmp_path / "c.txt").write_text("The states met.\n")
    folder = tmp_path / "idx"
    with SenseIndex.create(folder, settings=fake_settings) as index:
        index.add([tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.txt"])
    engine = make_engine(f"sqlite:///{folder / 'meta.sqlite'}")
    with engine.begin() as conn:  # what the earlier rule stored, digests made over it, m006 not applied
        conn.execute(text("UPDATE words SET lemma = 'states' WHERE form = 'states'"))
        conn.execute(text("UPDATE documents SET digest = NULL"))
        digests.fill_missing(conn)
        conn.execute(text("DELETE FROM migrations WHERE number = 6"))
        conn.execute(text("UPDATE sentences SET text = 'The states MET.' WHERE text = 'The states met.'"))
    assert migrations.migrate(engine, migrations.MigrationContext()) == ["m006_form_lemmas"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT lemma FROM words WHERE form = 'states'")).scalar() == "state"
        named = {i: repr(label) for i, label in conn.execute(text("SELECT id, label FROM documents"))}
        damaged = [line for line, _ in digests.content_problems(conn, named)[0]]
    engine.dispose()
    assert len(damaged) == 1 and "c.txt" in damaged[0]


def test_reader_reads_a_store_that_lacks_only_the_lemma_migration(banks_index: Path) -> None:
    """m006 changes data, not the schema: an index on read-only media made before it still answers."""
    config = IndexConfig.load(banks_index)
    engine = make_engine(config.db_url or f"sqlite:///{banks_index / 'meta.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {migrations.qualified_name(conn, 'migrations')} WHERE number = 6"))
    engine.dispose()
    with SenseIndex.open(banks_index, read_only=True) as index:
        assert [h.word for h in index.usages("bank", lemma=True)] == ["bank", "banks", "banked"]
    with SenseIndex.open(banks_index) as index, index.store.engine.connect() as conn:
        assert migrations.pending(conn) == []
        # A data-only migration leaves the schema level, so an older sensesearch of that schema still opens it.
        assert conn.execute(text(f"SELECT value FROM {migrations.qualified_name(conn, 'settings')} "
                                 "WHERE key = 'schema_version'")).scalar() == "5"
