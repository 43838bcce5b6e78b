"""Which index a metadata store belongs to: claimed when the index is made, given up when that is undone.

A store outside the index folder (a PostgreSQL schema, a SQLite file named with --db) outlives the
folder. Without a record of whose rows it holds, a second index could adopt a store another one
had just made (its tables still empty), and a run that made an index, committed rows and then was
stopped left rows that the same command run again took for another index's and refused. So the
index's identity (config.json's `index_id`, a random UUID) is written into the store's `settings`
table in the transaction that checks the store is free: of two indexes made on one store at once,
the second's insert meets the first's key and fails. Undoing a failed make drops the store's tables
only while that claim is still its own, and a store holding another program's tables under sensesearch's
names (a shared schema with its own `settings`) is refused before anything is written into them.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from sqlalchemy import Table, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from . import dburl
from .config import IndexConfig
from .dbengine import make_engine
from .errors import IndexExistsError, SenseSearchError
from .migrations import migrations_table, translated_schema
from .schema import documents, metadata, occurrences, sentences, settings, words

log = logging.getLogger(__name__)

INDEX_ID_KEY = "index_id"
"""The `settings` key under which a store names the index it belongs to."""
RELEASE_LOCK_TIMEOUT = "5s"
"""How long giving a PostgreSQL store up waits for a reader's lock on its tables before it leaves them."""


def new_index_id() -> str:
    """A fresh index identity: 32 hexadecimal digits of a random UUID (RFC 9562, version 4)."""
    return uuid.uuid4().hex


def owner(conn: Connection) -> str | None:
    """The identity of the index that claimed the store `conn` reads, None for an unclaimed store
    (a new one, or one made before sensesearch recorded claims)."""
    return conn.execute(select(settings.c.value).where(settings.c.key == INDEX_ID_KEY)).scalar()


def claim(engine: Engine, index_id: str, url: str) -> None:
    """Record `index_id` as the owner of the store behind `engine` (whose URL is `url`).

    IndexExistsError when the store is claimed already or holds rows (an index made before claims).
    """
    # SQLite has no schemas (dburl refuses schema= there): its advice is a file of the index's own.
    free = "a file of the index's own" if not dburl.is_postgres(url) else "a free schema with ?schema=NAME"
    refused = IndexExistsError(f"{dburl.redact(url)} already holds another index's metadata; "
                               f"name {free} or drop that one")
    try:
        with engine.begin() as conn:
            if owner(conn) is not None or _holds_rows(conn):
                raise refused
            conn.execute(settings.insert().values(key=INDEX_ID_KEY, value=index_id))
    except IntegrityError:
        raise refused from None


def refuse_foreign_tables(conn: Connection, url: str) -> None:
    """IndexExistsError when the store `conn` writes to holds tables named like sensesearch's (a `settings` or
    `words` of another program's, in a schema shared with it) that are not a sensesearch store's: sensesearch
    would write its rows into them, and undoing a failed create would drop them. Called before any table is
    made, in the transaction that makes them.

    A sensesearch store holds its four tables of rows and a `settings` that records its schema version (all
    made together since the first version); a store whose making was cut short (SQLite makes tables outside
    the transaction) holds some of them, each with our columns and no row. Anything else is someone else's.
    """
    schema = translated_schema(conn)
    present = set(inspect(conn).get_table_names(schema=schema))
    named_like_ours = [t for t in [*metadata.sorted_tables, migrations_table] if t.name in present]
    if not named_like_ours or _is_a_store(conn, present, schema):
        return
    if all(_fits(conn, table, schema) and conn.execute(select(1).select_from(table).limit(1)).first() is None
           for table in named_like_ours):
        return
    raise IndexExistsError(f"{dburl.redact(url)} holds tables named like sensesearch's "
                           f"({', '.join(sorted(t.name for t in named_like_ours))}) that another program made; name "
                           + ("a schema of the index's own with ?schema=NAME" if schema else "a file of the index's own"))


def _is_a_store(conn: Connection, present: set[str], schema: str | None) -> bool:
    if not {settings.name, *(t.name for t in (documents, sentences, occurrences, words))} <= present:
        return False
    return _fits(conn, settings, schema) and conn.execute(
        select(settings.c.value).where(settings.c.key == "schema_version")).scalar() is not None


def _fits(conn: Connection, table: Table, schema: str | None) -> bool:
    """Whether the table of that name in the store has every column of ours (a later migration's may still be
    missing only from a store of ours, which `_is_a_store` recognises first)."""
    found = {column["name"] for column in inspect(conn).get_columns(table.name, schema=schema)}
    return {column.name for column in table.columns} <= found


def _holds_rows(conn: Connection) -> bool:
    return any(conn.execute(select(t.c.id).limit(1)).first() is not None
               for t in (documents, sentences, occurrences, words))


def release(engine: Engine, index_id: str, drop_schema: bool) -> bool:
    """Drop sensesearch's tables from the store behind `engine` if `index_id` still owns it, in one
    transaction; then its schema too when `drop_schema` and nothing else is left in it. Where they cannot
    be dropped (a database role that does not own them, a reader's lock held past RELEASE_LOCK_TIMEOUT),
    they are emptied of rows and of the claim instead, which frees the store as well. Returns whether the
    store was ours.

    `drop_schema` says the schema is the one derived from the path of the folder being undone, which no
    other index uses: there, an unclaimed store without rows (a create that failed before claiming it)
    counts as ours too. SenseSearchError (through the engine's error hook) when the database fails.
    """
    try:
        return _release(engine, index_id, drop_schema, drop=True)
    except (SQLAlchemyError, SenseSearchError) as exc:
        log.info("emptying the tables instead of dropping them: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return _release(engine, index_id, drop_schema, drop=False)


def _release(engine: Engine, index_id: str, drop_schema: bool, drop: bool) -> bool:
    with engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.execute(text(f"SET LOCAL lock_timeout = '{RELEASE_LOCK_TIMEOUT}'"))
        schema = translated_schema(conn)
        present = set(inspect(conn).get_table_names(schema=schema))
        if settings.name not in present:
            return False
        claimed = owner(conn)
        if claimed != index_id and not (claimed is None and drop_schema and not _holds_rows(conn)):
            return False
        if not drop:
            for table in reversed(metadata.sorted_tables):
                if table.name in present and table is not settings:
                    conn.execute(table.delete())
            conn.execute(settings.delete().where(settings.c.key == INDEX_ID_KEY))
            return True
        for table in [*reversed(metadata.sorted_tables), migrations_table]:
            if table.name in present:
                table.drop(conn)
        if drop_schema and postgres and schema is not None:
            left = inspect(conn)
            if not left.get_table_names(schema=schema) and not left.get_view_names(schema=schema):
                quote = conn.dialect.identifier_preparer.quote
                try:
                    with conn.begin_nested():
                        conn.execute(text(f"DROP SCHEMA {quote(schema)} RESTRICT"))
                except (SQLAlchemyError, SenseSearchError):
                    pass  # another program's sequence or function lives there: the schema stays, without our tables
    return True


def release_outside_store(folder: Path, config: IndexConfig) -> bool:
    """Give up the metadata store of the index made at `folder` (`release`) when it lies outside the folder
    (config.db_url): for a run that made the index and failed, before it removes the folder. The schema goes
    too when it is the one derived from the folder's path (dburl.with_namespace). Returns whether the store
    was still that index's and was given up. Never raises for a database failure, which must not hide the
    failure being undone: it logs a warning saying what to empty or drop by hand.
    """
    if config.db_url is None or config.index_id is None:
        return False
    schema = dburl.schema_of(config.db_url)
    try:
        engine = make_engine(config.db_url)
        try:
            return release(engine, config.index_id, drop_schema=schema == dburl.derived_schema(folder))
        finally:
            engine.dispose()
    except (SenseSearchError, SQLAlchemyError) as exc:
        log.warning("what this run wrote to %s stays (%s); empty or drop sensesearch's tables there%s before "
                    "indexing into %s again", dburl.redact(config.db_url),
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                    f" (schema {schema})" if schema else "", folder)
        return False
