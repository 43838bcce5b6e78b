"""The metadata tables, their row records, and the SQL shapes the store modules share.

Tables are plain SQLAlchemy Core, so one definition serves SQLite and PostgreSQL; ids are the
writer's, never the database's (sensesearch.store says why). Columns added after the first release
come with a migration (sensesearch.migrations) that brings older stores up to this shape.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Integer, MetaData, String, Table, Text, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

metadata = MetaData()

ID_BATCH = 900
"""Ids bound in one IN (...) list at most: under SQLite's oldest limit of 999 variables per statement."""

documents = Table(
    "documents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("key", Text, nullable=False, unique=True),
    Column("label", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("meta", JSON, nullable=False),
    Column("first_sentence", BigInteger, nullable=False),
    Column("n_sentences", Integer, nullable=False),
    # Indexed (migrations.m003_document_ranges) to find an occurrence's document without its sentence row.
    Column("first_occurrence", BigInteger, nullable=False, index=True),
    Column("n_occurrences", Integer, nullable=False),
    Column("n_pieces", BigInteger, nullable=False),
    # Set only while a document is partly indexed (a checkpoint fell inside it): its whole sentence
    # count, so a crash before it is finished is seen, not taken for a complete document (m004).
    Column("sentences_total", Integer, nullable=True),
    # BLAKE2b of what answers depend on (sensesearch.digests); added to older stores by migrations.m005.
    Column("digest", String(64), nullable=True),
)
sentences = Table(
    "sentences", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("document_id", Integer, nullable=False),
    Column("start", Integer, nullable=False),
    Column("text", Text, nullable=False),
)
words = Table(
    "words", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("form", Text, nullable=False, unique=True),
    # Lemma of the form (sensesearch.lemmas); added to older stores by migrations.m002_word_lemmas.
    Column("lemma", Text, nullable=True, index=True),
)
occurrences = Table(
    "occurrences", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("sentence_id", BigInteger, nullable=False),
    Column("word_id", Integer, nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("start", Integer, nullable=False),
    Column("end", Integer, nullable=False),
)
settings = Table(
    "settings", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


def executemany_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert plain tuples (in `columns` order) with one driver-level executemany.

    SQLAlchemy's per-row parameter processing cost more than SQLite's own insert work at ingest
    rates; the statement is still compiled by the connection's dialect, so any backend works.
    """
    if not rows:
        return
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=list(columns))
    if compiled.positional:
        order = [list(columns).index(name) for name in compiled.positiontup or []]
        params: Sequence[Any] = rows if order == list(range(len(columns))) else [
            tuple(row[i] for i in order) for row in rows]
    else:
        params = [dict(zip(columns, row)) for row in rows]
    conn.exec_driver_sql(str(compiled), params)  # type: ignore[arg-type]


def json_insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[int, ...]]) -> None:
    """Insert tuples of Python ints (in `columns` order) with one SQLite statement that reads them from a JSON array.

    executemany lets go of Python's lock around every row's step, and a thread beside it that wants the lock
    then takes turns with it row by row. Here SQLite works through the whole array with the lock let go
    once, so the threads truly run side by side. Alone it is slower: 493,000 occurrence rows took 1.5-2.0 s
    against executemany's 1.1-1.4 s (json.dumps 0.3 s of it), so it is for a writer on a thread of its own.
    json_extract, not ->>: SQLite's JSON functions date from 3.9, ->> only from 3.38.
    """
    if not rows:
        return
    preparer = conn.dialect.identifier_preparer
    picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(columns)))
    statement = (f"INSERT INTO {preparer.format_table(table)} ({', '.join(preparer.quote(n) for n in columns)}) "
                 f"SELECT {picks} FROM json_each(?)")
    conn.exec_driver_sql(statement, (json.dumps(rows, separators=(",", ":")),))


def corpus_order(occurrence_id: Any) -> tuple[Any, Any]:
    """ORDER BY terms for occurrences in corpus order, in a query joined to their documents: documents by key (the
    file's absolute path, `#id` after it for a JSONL record), then text order within each (its occurrence ids
    rise in text order). Never the indexing order, so usages, ties among equal scores and the input of sense
    clustering are the same however the index was built (one run, file by file, after removals)."""
    return code_point_order(documents.c.key), occurrence_id


class code_point_order(FunctionElement[str]):
    """A text column ordered by code point on every database: SQLite's default (BINARY) already does, and
    PostgreSQL's database collation (en_US and the like) does not, so it gets COLLATE "C" (UTF-8 bytes)."""

    name = "code_point_order"
    inherit_cache = True
    type = Text()


@compiles(code_point_order)
def _code_point_order_sql(element: code_point_order, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(code_point_order, "postgresql")
def _code_point_order_postgresql(element: code_point_order, compiler: Any, **kw: Any) -> str:
    return f'{compiler.process(element.clauses, **kw)} COLLATE "C"'


def owning_document(occurrence_id: Any) -> Any:
    """SQL for the id of the document holding `occurrence_id` (a column or value).

    A document's occurrences are one id range starting at its first_occurrence, so the holder is
    the document with the greatest first_occurrence not above the id: one seek in the index on
    first_occurrence, with no occurrence or sentence row read (measured 3-10x faster than joining
    through sentences on a 1 M-occurrence index, benchmarks/bench_where.py).
    """
    holder = documents.alias("holder")
    return (select(holder.c.id).where(holder.c.first_occurrence <= occurrence_id)
            .order_by(holder.c.first_occurrence.desc()).limit(1).correlate_except(holder).scalar_subquery())


@dataclass(frozen=True)
class DocumentRow:
    """A stored document's bookkeeping: where its sentences and occurrences lie, and its names."""

    id: int
    key: str
    label: str
    path: str
    """The file it was read from: records of one id in two JSON Lines files share a label, not a path."""
    content_hash: str
    first_sentence: int
    n_sentences: int
    first_occurrence: int
    n_occurrences: int
    sentences_total: int | None = None
    """None for a complete document; else it was cut short after n_sentences of this many sentences."""

    @property
    def interrupted(self) -> bool:
        """True when an ingest run stopped inside this document (it holds only its first n_sentences)."""
        return self.sentences_total is not None


@dataclass(frozen=True)
class OccurrenceRow:
    """An occurrence joined with its sentence and document, ready to become a Hit."""

    id: int
    form: str
    position: int
    start: int
    end: int
    sentence_id: int
    sentence_start: int
    sentence_text: str
    document: str
    meta: dict[str, Any]
    path: str = ""
