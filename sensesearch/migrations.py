"""Numbered schema migrations of the metadata store, applied in order, each recorded in `migrations`.

An index written by an older sensesearch is brought up to date when it is opened, in place, in
one transaction: nothing is re-embedded. Migrations are append-only: a released one is never
edited, a change is a new number. Each function brings a store from the schema before it to the
schema after it, and leaves a store that already has its change as it is (a store created by
this version's `create_all` already holds every column), so running one twice is harmless.
The same pattern as sqlite-utils' `migrations.py` and llm's `embeddings_migrations.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, Integer, MetaData, String, Table, inspect, select, text
from sqlalchemy.engine import Connection, Engine

from .lemmas import DEFAULT_LANGUAGE, Lemmatizer

log = logging.getLogger(__name__)

_own = MetaData()
migrations_table = Table(
    "migrations", _own,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),
    Column("applied_at", String(40), nullable=False),
)
LEMMA_BATCH = 5000


@dataclass(frozen=True)
class MigrationContext:
    """What a migration may need beyond the database: the index's settings."""

    lemma_language: str = DEFAULT_LANGUAGE


Migration = Callable[[Connection, MigrationContext], None]


def m001_initial(conn: Connection, context: MigrationContext) -> None:
    """The schema of sensesearch 0.1 (documents, sentences, words, occurrences, settings); made by create_all."""


def m002_word_lemmas(conn: Connection, context: MigrationContext) -> None:
    """words.lemma (indexed), filled for every stored word form with the index's lemmatiser."""
    target = qualified_name(conn, "words")
    columns = {c["name"] for c in inspect(conn).get_columns("words", schema=translated_schema(conn))}
    if "lemma" not in columns:
        conn.execute(text(f"ALTER TABLE {target} ADD COLUMN lemma TEXT"))
    lemma_of = Lemmatizer(context.lemma_language)
    # Lemmatise a spelling as it stands in the text (case matters to the lemmatiser in some languages).
    surface = (f"(SELECT substr(s.text, o.start + 1, o.\"end\" - o.start) FROM {qualified_name(conn, 'occurrences')} o "
               f"JOIN {qualified_name(conn, 'sentences')} s ON s.id = o.sentence_id WHERE o.word_id = w.id LIMIT 1)")
    last = 0
    while True:
        rows = conn.execute(text(f"SELECT w.id, w.form, {surface} FROM {target} w WHERE w.lemma IS NULL "
                                 "AND w.id > :last ORDER BY w.id LIMIT :n"), {"last": last, "n": LEMMA_BATCH}).all()
        if not rows:
            break
        conn.execute(text(f"UPDATE {target} SET lemma = :lemma WHERE id = :id"),
                     [{"id": row[0], "lemma": lemma_of(row[2] or row[1])} for row in rows])
        last = rows[-1][0]
    indexes = {ix["name"] for ix in inspect(conn).get_indexes("words", schema=translated_schema(conn))}
    if "ix_words_lemma" not in indexes:
        conn.execute(text(f"CREATE INDEX ix_words_lemma ON {target} (lemma)"))


def m003_document_ranges(conn: Connection, context: MigrationContext) -> None:
    """An index on documents.first_occurrence: finds an occurrence's document for --where in one seek."""
    indexes = {ix["name"] for ix in inspect(conn).get_indexes("documents", schema=translated_schema(conn))}
    if "ix_documents_first_occurrence" not in indexes:
        conn.execute(text(f"CREATE INDEX ix_documents_first_occurrence ON {qualified_name(conn, 'documents')} "
                          "(first_occurrence)"))


def m004_partial_documents(conn: Connection, context: MigrationContext) -> None:
    """documents.sentences_total: set while a document is partly indexed (checkpoints may fall inside one)."""
    columns = {c["name"] for c in inspect(conn).get_columns("documents", schema=translated_schema(conn))}
    if "sentences_total" not in columns:
        conn.execute(text(f"ALTER TABLE {qualified_name(conn, 'documents')} ADD COLUMN sentences_total INTEGER"))


def m005_document_digests(conn: Connection, context: MigrationContext) -> None:
    """documents.digest, computed for every stored document from its rows as they are now.

    Computing them (rather than leaving older documents "not checkable") protects an older index from
    every change made after the upgrade; damage done before it cannot be told apart from the data.
    """
    from .digests import fill_missing  # the digests module reads through store's tables, which import this one

    columns = {c["name"] for c in inspect(conn).get_columns("documents", schema=translated_schema(conn))}
    if "digest" not in columns:
        conn.execute(text(f"ALTER TABLE {qualified_name(conn, 'documents')} ADD COLUMN digest VARCHAR(64)"))
    fill_missing(conn)


def m006_form_lemmas(conn: Connection, context: MigrationContext) -> None:
    """words.lemma made again from each word's form alone (lemmas.Lemmatizer), not from the spelling met first.

    Documents holding a word whose lemma changes get the digest of their new rows (digests.remade_after), those
    whose rows matched their digest before; a document damaged before keeps its digest, and verify still says so.
    """
    from .digests import remade_after  # the digests module reads through store's tables, which import this one

    words_table, lemma_of = qualified_name(conn, "words"), Lemmatizer(context.lemma_language)
    lemmas: dict[int, str] = {}
    last = 0
    while rows := conn.execute(text(f"SELECT id, form, lemma FROM {words_table} WHERE id > :last ORDER BY id "
                                    "LIMIT :n"), {"last": last, "n": LEMMA_BATCH}).all():
        lemmas.update((int(row[0]), lemma) for row in rows if (lemma := lemma_of(row[1])) != row[2])
        last = rows[-1][0]
    if not lemmas:
        return
    changed, held = sorted(lemmas), set()
    for start in range(0, len(changed), LEMMA_BATCH):
        listed = ", ".join(map(str, changed[start:start + LEMMA_BATCH]))
        held.update(conn.execute(text(
            f"SELECT DISTINCT s.document_id FROM {qualified_name(conn, 'occurrences')} o JOIN "
            f"{qualified_name(conn, 'sentences')} s ON s.id = o.sentence_id WHERE o.word_id IN ({listed})")).scalars())

    def update() -> None:
        conn.execute(text(f"UPDATE {words_table} SET lemma = :lemma WHERE id = :id"),
                     [{"id": i, "lemma": lemmas[i]} for i in changed])

    remade_after(conn, sorted(held), update)


MIGRATIONS: tuple[tuple[int, Migration], ...] = ((1, m001_initial), (2, m002_word_lemmas), (3, m003_document_ranges),
                                                 (4, m004_partial_documents), (5, m005_document_digests),
                                                 (6, m006_form_lemmas))
LATEST = MIGRATIONS[-1][0]
READABLE_WITHOUT = frozenset({6})
"""Migrations that change data, not the schema: a reader may read a store still without them (its lemmas are then
those the older rule made), so indexes on read-only media keep working; the next writer's open applies them."""
SCHEMA_LEVEL = max(number for number, _ in MIGRATIONS if number not in READABLE_WITHOUT)
"""The schema_version a store records: its last migration that changed the schema. A data-only migration leaves it,
so an older sensesearch of the same schema still opens the store after a newer one migrated it."""


def applied(conn: Connection) -> set[int]:
    """Numbers of the migrations recorded in the store (empty for a store that predates the table)."""
    if not inspect(conn).has_table("migrations", schema=translated_schema(conn)):
        return set()
    return set(conn.execute(select(migrations_table.c.number)).scalars())


def migrate(engine: Engine, context: MigrationContext) -> list[str]:
    """Apply every migration not yet recorded, in number order, in one transaction; returns their names.

    A store that is up to date is only read, so read-only users never write. When something is
    pending, the transaction takes the write lock first and looks again, so two processes opening
    one old index at once apply each migration once. Raises whatever the database raises; the
    transaction is then rolled back and the store left as it was.
    """
    with engine.connect() as conn:
        if not _pending(applied(conn)):
            return []
    done: list[str] = []
    with engine.begin() as conn:
        # A write first: on SQLite it takes the writer's lock before the applied set is read again, and
        # it opens the transaction (pysqlite runs DDL outside one otherwise), so DDL rolls back too.
        conn.execute(text(f"UPDATE {qualified_name(conn, 'settings')} SET value = value WHERE key = 'schema_version'"))
        migrations_table.create(conn, checkfirst=True)
        for number, function in _pending(applied(conn)):
            log.info("migrating the metadata store: %s", function.__name__)
            function(conn, context)
            conn.execute(migrations_table.insert().values(
                number=number, name=function.__name__, applied_at=datetime.now(timezone.utc).isoformat()))
            done.append(function.__name__)
        conn.execute(text(f"UPDATE {qualified_name(conn, 'settings')} SET value = :v WHERE key = 'schema_version'"),
                     {"v": str(SCHEMA_LEVEL)})
    return done


def pending(conn: Connection, reading: bool = False) -> list[str]:
    """Names of the migrations the store still needs, in order (`reading`: those a reader cannot do without);
    only reads (a read-only open asks this)."""
    return [function.__name__ for number, function in _pending(applied(conn))
            if not (reading and number in READABLE_WITHOUT)]


def _pending(numbers: set[int]) -> list[tuple[int, Migration]]:
    return [(number, function) for number, function in MIGRATIONS if number not in numbers]


def translated_schema(conn: Connection) -> str | None:
    """The schema the engine translates unqualified tables into (PostgreSQL ?schema=NAME), if any."""
    translate = conn.get_execution_options().get("schema_translate_map") or {}
    return translate.get(None)


def qualified_name(conn: Connection, table: str) -> str:
    """A table name quoted for raw SQL, with the translated schema (text() bypasses the translation)."""
    quote = conn.dialect.identifier_preparer.quote
    schema = translated_schema(conn)
    return f"{quote(schema)}.{quote(table)}" if schema else quote(table)
