"""Metadata store: documents, sentences, words and occurrences behind one SQLAlchemy URL.

SQLite in the index folder by default (WAL mode, so readers never block the writer); any other
SQLAlchemy URL (PostgreSQL) works the same, since the only dialect-specific code is the engine setup
(sensesearch.dbengine). A reader opens it read-only: nothing created, nothing migrated.
Ids are allocated by the writer, not the database, so that FAISS ids are known before rows are
written and shards built apart can be merged by offsetting ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Integer, Table, func, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from . import dburl, filters, migrations
from .conditions import BUILTIN_FIELDS, Condition, meta_name
from .claim import refuse_foreign_tables
from .dbengine import driver_errors, make_engine, schema_ddl_lock
from .errors import IndexCorruptError, ReadOnlyError
from .lemmas import DEFAULT_LANGUAGE
from .metafield import MetaField, field_names
from .schema import (ID_BATCH, DocumentRow, OccurrenceRow, documents, executemany_rows, json_insert_rows, metadata,
                     occurrences, sentences, settings, words)
from .foldchanges import FOLD_VERSION
from .wordrows import FOLD_VERSION_KEY, WordRows

SCHEMA_VERSION = migrations.SCHEMA_LEVEL
DOCUMENT_ROW = (documents.c.id, documents.c.key, documents.c.label, documents.c.path, documents.c.content_hash,
                documents.c.first_sentence, documents.c.n_sentences, documents.c.first_occurrence,
                documents.c.n_occurrences, documents.c.sentences_total)
"""The columns of a DocumentRow, in its fields' order: every query that makes one selects these."""


def _check_readable(conn: Connection, url: str, schema: str | None) -> None:
    """IndexCorruptError for a store without our tables or from a newer sensesearch; ReadOnlyError when it needs a migration."""
    if not inspect(conn).has_table(documents.name, schema=schema):
        raise IndexCorruptError(f"metadata store {dburl.redact(url)} holds no sensesearch tables")
    found = conn.execute(select(settings.c.value).where(settings.c.key == "schema_version")).scalar()
    if found is not None and int(found) > migrations.LATEST:
        raise IndexCorruptError(f"metadata schema {found} is newer than this sensesearch ({migrations.LATEST})")
    pending = migrations.pending(conn, reading=True)
    if pending:
        raise ReadOnlyError(f"the metadata store {dburl.redact(url)} was written by an older sensesearch and needs "
                            f"migration {', '.join(pending)}, which a read-only open never makes: run "
                            "`sensesearch verify --repair --no-model` on the index once with write access")


class MetaStore(WordRows):
    """Reads and writes the metadata tables; one instance per open index."""

    def __init__(self, url: str, lemma_language: str = DEFAULT_LANGUAGE, read_only: bool = False) -> None:
        """Open the store at `url`, creating its tables and applying pending migrations.

        `read_only`: a reader's open (sensesearch.dbengine): nothing is created or migrated, and
        ReadOnlyError says which command brings a store that needs a migration up to date.
        """
        self.url = url
        self.schema = dburl.schema_of(url)
        self.read_only = read_only
        try:
            self.engine = make_engine(url, read_only=read_only)
            if read_only:
                with self.engine.connect() as conn:
                    _check_readable(conn, url, self.schema)
                return
            with self.engine.begin() as conn:
                schema_ddl_lock(conn, self.schema)
                refuse_foreign_tables(conn, url)
                metadata.create_all(conn)
                found = conn.execute(select(settings.c.value).where(settings.c.key == "schema_version")).scalar()
                if found is None:
                    conn.execute(settings.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
                    # A new store's words will be cut by today's word rules (WordRows.fold_version).
                    conn.execute(settings.insert().values(key=FOLD_VERSION_KEY, value=str(FOLD_VERSION)))
                elif int(found) > migrations.LATEST:
                    raise IndexCorruptError(f"metadata schema {found} is newer than this sensesearch ({migrations.LATEST})")
            migrations.migrate(self.engine, migrations.MigrationContext(lemma_language=lemma_language))
        except SQLAlchemyError as exc:
            raise IndexCorruptError(f"metadata store {dburl.redact(url)} cannot be opened: {exc.orig or exc}") from None

    def close(self) -> None:
        self.engine.dispose()

    def begin(self) -> Any:
        return self.engine.begin()

    def insert_rows(self, conn: Connection, table: Table, columns: Sequence[str],
                    rows: Sequence[tuple[Any, ...]], beside_python: bool = False) -> None:
        """Bulk insert of tuples (in `columns` order) in the caller's transaction.

        COPY on PostgreSQL with psycopg 3 (about 8x faster than executemany there, measured); a
        driver-level executemany on SQLite; SQLAlchemy's executemany elsewhere, which also applies the
        schema translation that a hand-compiled statement would miss. `beside_python`: the caller's thread
        runs beside others, so whole numbers go to SQLite as one statement (schema.json_insert_rows).
        """
        if not rows:
            return
        dialect = conn.dialect
        if dialect.name == "sqlite" and beside_python and all(isinstance(table.c[n].type, Integer) for n in columns):
            json_insert_rows(conn, table, columns, rows)
        elif dialect.name == "sqlite":
            executemany_rows(conn, table, columns, rows)
        elif dialect.name == "postgresql" and dialect.driver == "psycopg":
            quote = dialect.identifier_preparer.quote
            target = f"{quote(self.schema)}.{quote(table.name)}" if self.schema else quote(table.name)
            statement = f"COPY {target} ({', '.join(quote(n) for n in columns)}) FROM STDIN"
            with (driver_errors(dialect.dbapi, dburl.redact(self.url)),
                  conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy):
                for row in rows:
                    copy.write_row(row)
        else:
            conn.execute(table.insert(), [dict(zip(columns, row)) for row in rows])

    def next_ids(self) -> tuple[int, int, int, int]:
        """The next free (document, sentence, occurrence, word) ids."""
        with self.engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                int(conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar()) + 1
                for t in (documents, sentences, occurrences, words)
            )

    def word_ids(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {form: wid for wid, form in conn.execute(select(words.c.id, words.c.form))}

    def word_entries(self, conn: Connection, ids: Iterable[int]) -> dict[int, tuple[str, str | None]]:
        """(form, lemma) of the words with `ids`, as `conn` sees them (ids not found are left out)."""
        wanted = sorted(ids)
        found: dict[int, tuple[str, str | None]] = {}
        for first in range(0, len(wanted), ID_BATCH):
            batch = wanted[first:first + ID_BATCH]
            query = select(words.c.id, words.c.form, words.c.lemma).where(words.c.id.in_(batch))
            found.update((int(i), (form, lemma)) for i, form, lemma in conn.execute(query))
        return found

    def documents_by_keys(self, keys: Sequence[str]) -> dict[str, DocumentRow]:
        """The committed documents stored under `keys`, by key (keys not stored are left out); ID_BATCH keys a query,
        since one query a document was most of a re-run over many unchanged small files (11 of 27 s for 20,000)."""
        found: dict[str, DocumentRow] = {}
        with self.engine.connect() as conn:
            for first in range(0, len(keys), ID_BATCH):
                query = select(*DOCUMENT_ROW).where(documents.c.key.in_(keys[first:first + ID_BATCH]))
                found.update((row.key, DocumentRow(*row)) for row in conn.execute(query))
        return found

    def document_meta(self, document_id: int) -> dict[str, Any]:
        """The stored metadata fields of a document (empty when it has none)."""
        with self.engine.connect() as conn:
            meta = conn.execute(select(documents.c.meta).where(documents.c.id == document_id)).scalar()
        return (json.loads(meta or "{}") if isinstance(meta, str) else meta) or {}

    def metadata_fields(self) -> list[str]:
        """Every metadata field name some document has, sorted (NFC, as corpus.py stores keys)."""
        with self.engine.connect() as conn:
            return sorted(conn.execute(field_names(documents.c.meta, self.engine.dialect.name)).scalars())

    def nested_fields(self, names: Sequence[str]) -> list[str]:
        """Those of the metadata keys `names` that some document holds as a JSON list or object, which no condition
        compares and no `--by` bin takes: said when nothing is found, as `tags=x` found nothing without a word why."""
        dialect = self.engine.dialect.name
        found = []
        with self.engine.connect() as conn:
            for name in dict.fromkeys(names):
                kind = MetaField.of(documents.c.meta, name, dialect).kind
                if conn.execute(select(documents.c.id).where(kind.in_(("array", "object"))).limit(1)).first():
                    found.append(name)
        return found

    def why_none_meet(self, where: Sequence[Condition]) -> str:
        """"" when some document meets every condition (or there is none); else why none does (filters.unmet)."""
        if not where or self.documents_where(where):
            return ""
        named = [meta_name(c.field) for c in where if c.field not in BUILTIN_FIELDS]
        return filters.unmet(where, self.metadata_fields(), self.nested_fields(named))

    def documents_where(self, where: Sequence[Condition]) -> list[DocumentRow]:
        """The documents meeting every condition (see sensesearch.filters), in id order."""
        query = (select(*DOCUMENT_ROW)
                 .where(filters.document_clause(where, documents, self.engine.dialect.name)).order_by(documents.c.id))
        with self.engine.connect() as conn:
            return [DocumentRow(*r) for r in conn.execute(query)]

    def all_documents(self) -> list[DocumentRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*DOCUMENT_ROW).order_by(documents.c.id)).all()
        return [DocumentRow(*r) for r in rows]

    def corpus_order(self, ids: np.ndarray) -> np.ndarray:
        """The permutation (int64) that puts occurrence `ids` in corpus order (schema.corpus_order), as SQL's
        ORDER BY would; for ids gathered from several queries. Ids of no document sort last, by id."""
        docs = sorted(self.all_documents(), key=lambda d: d.first_occurrence)
        starts = np.asarray([d.first_occurrence for d in docs], dtype=np.int64)
        ends = starts + np.asarray([d.n_occurrences for d in docs], dtype=np.int64)
        key_rank = np.argsort(np.argsort([d.key for d in docs], kind="stable"), kind="stable")
        at = np.searchsorted(starts, ids, side="right") - 1
        inside = (at >= 0) & (ids < ends[np.maximum(at, 0)]) if len(docs) else np.zeros(len(ids), dtype=bool)
        rank = np.where(inside, key_rank[np.maximum(at, 0)] if len(docs) else 0, len(docs))
        return np.lexsort((ids, rank)).astype(np.int64)

    @staticmethod
    def delete_document(conn: Connection, doc: DocumentRow) -> None:
        """Delete a document's rows (its id ranges are contiguous by construction)."""
        conn.execute(occurrences.delete().where(occurrences.c.id.between(
            doc.first_occurrence, doc.first_occurrence + doc.n_occurrences - 1)))
        conn.execute(sentences.delete().where(sentences.c.id.between(
            doc.first_sentence, doc.first_sentence + doc.n_sentences - 1)))
        conn.execute(documents.delete().where(documents.c.id == doc.id))

    def counts(self) -> dict[str, int]:
        """Rows of each table; "words" counts the word forms that still have a usage. A removed or replaced
        document leaves its words' rows behind, and counting those made `info` depend on the index's history."""
        used = select(occurrences.c.id).where(occurrences.c.word_id == words.c.id).exists()
        with self.engine.connect() as conn:
            found = {name: int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
                     for name, table in (("documents", documents), ("sentences", sentences),
                                         ("occurrences", occurrences))}
            found["words"] = int(conn.execute(select(func.count()).select_from(words).where(used)).scalar() or 0)
        return found

    def holds_usages(self) -> bool:
        """Whether any occurrence is stored (one row read, where counts() counts every table)."""
        with self.engine.connect() as conn:
            return conn.execute(select(occurrences.c.id).limit(1)).first() is not None

    def all_occurrence_ids(self) -> list[int]:
        with self.engine.connect() as conn:
            return [int(r) for r in conn.execute(select(occurrences.c.id).order_by(occurrences.c.id)).scalars()]

    def occurrences_by_id(self, ids: Sequence[int]) -> dict[int, OccurrenceRow]:
        """Occurrences with their sentence and document, keyed by id (missing ids are left out)."""
        found: dict[int, OccurrenceRow] = {}
        query = (select(occurrences.c.id, words.c.form, occurrences.c.position, occurrences.c.start,
                        occurrences.c.end, sentences.c.id, sentences.c.start, sentences.c.text, documents.c.label,
                        documents.c.meta, documents.c.path)
                 .join(words, words.c.id == occurrences.c.word_id)
                 .join(sentences, sentences.c.id == occurrences.c.sentence_id)
                 .join(documents, documents.c.id == sentences.c.document_id))
        with self.engine.connect() as conn:
            for batch_start in range(0, len(ids), 900):
                batch = [int(i) for i in ids[batch_start:batch_start + 900]]
                for row in conn.execute(query.where(occurrences.c.id.in_(batch))):
                    meta = row[9] if isinstance(row[9], dict) else json.loads(row[9] or "{}")
                    found[int(row[0])] = OccurrenceRow(int(row[0]), row[1], row[2], row[3], row[4], int(row[5]),
                                                       row[6], row[7], row[8], meta, row[10])
        return found

    def integrity_problems(self) -> list[str]:
        """What the database's own consistency check finds (SQLite quick_check); empty when sound."""
        if self.engine.dialect.name != "sqlite":
            return []
        with self.engine.connect() as conn:
            found = [str(r) for r in conn.execute(text("PRAGMA quick_check")).scalars()]
        return [] if found == ["ok"] else found

    def size_bytes(self) -> int:
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:
                pages = conn.execute(text("PRAGMA page_count")).scalar() or 0
                size = conn.execute(text("PRAGMA page_size")).scalar() or 0
                return int(pages) * int(size)
        if self.engine.dialect.name == "postgresql":
            # Only this index's tables: other indexes may share the database in their own schemas.
            schema = dburl.schema_of(self.url)
            query = text("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                         "JOIN pg_namespace n ON n.oid = c.relnamespace "
                         "WHERE c.relkind = 'r' AND n.nspname = coalesce(:schema, current_schema())")
            with self.engine.connect() as conn:
                return int(conn.execute(query, {"schema": schema}).scalar() or 0)
        return 0
