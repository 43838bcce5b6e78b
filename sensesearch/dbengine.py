"""SQLAlchemy engines for the metadata store: SQLite pragmas, read-only connections, failures as domain errors.

The one dialect-specific spot of the store. A writer's SQLite connection runs in WAL mode so readers
never block it; a reader's is opened read-only through a SQLite URI (`mode=ro`, and `immutable=1`
on read-only media, see sensesearch.access), so no reader can write or create a file by mistake.
A read-only PostgreSQL engine runs every transaction READ ONLY and never creates the index's schema.
`cancel_statement` stops a statement in hand through the driver itself (psycopg's cancel, SQLite's interrupt).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import case, create_engine, event, func, inspect, literal_column, text
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.elements import ColumnElement

from . import access, dburl
from .errors import (IndexCorruptError, IndexNotFoundError, ReadOnlyError, SenseSearchError, SetupError, StorageError,
                     StorageUnavailableError, UsageError)
from .normalize import nfc

DAMAGED_DATABASE_ADVICE = ("restore meta.sqlite (with its -wal file) from a backup, or index the corpus again "
                           "into a new folder and delete this one")


SQLITE_NFC = "sensesearch_nfc"
"""The SQL function installed on every SQLite connection: its text argument in NFC (normalize.nfc; NULL stays)."""


def nfc_column(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """A text column read in Unicode NFC (`--where` compares text so, sensesearch.filters): SQLite through
    SQLITE_NFC, PostgreSQL through its normalize(), which a database not in UTF8 refuses (there, as stored)."""
    if dialect == "sqlite":
        return getattr(func, SQLITE_NFC)(column)
    return case((func.current_setting("server_encoding") == "UTF8", func.normalize(column, literal_column("NFC"))),
                else_=column)


def _nfc_or_null(value: str | None) -> str | None:
    return None if value is None else nfc(value)


def _sqlite_functions(dbapi_connection: Any) -> None:
    dbapi_connection.create_function(SQLITE_NFC, 1, _nfc_or_null, deterministic=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    _sqlite_functions(dbapi_connection)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    _sqlite_functions(dbapi_connection)
    # Only the wait for a writer's checkpoint: setting the journal mode would be a write.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


INSUFFICIENT_PRIVILEGE = "42501"
"""PostgreSQL's SQLSTATE for a statement the role has no right to (PostgreSQL manual, Appendix A, class 42)."""

PASSING_SQLSTATES = ("08", "40", "53", "55P03", "57014", "57P01", "57P02", "57P03")
"""SQLSTATEs (or their classes) of failures that may pass when tried again (PostgreSQL manual, Appendix A): a lost
or refused connection, a deadlock or serialization failure, a full disk or too many connections, a lock not
available, a statement timeout, a server shutting down or starting."""

PASSING_WORDS = ("database is locked", "database table is locked", "database or disk is full", "could not connect",
                 "connection refused", "server closed the connection", "timeout expired")
"""What the drivers say of such failures where they give no SQLSTATE (SQLite; psycopg before a connection)."""


def domain_error(original: BaseException, dbapi: Any, where: str) -> SenseSearchError | None:
    """The domain error for a driver exception a user can meet (a damaged file, a full disk, read-only
    media, a value the database cannot take, a database role without the rights asked for), by the driver's
    own PEP 249 classes and SQLSTATE; None for the rest (constraint and programming errors). A database that
    fails otherwise is a StorageError, the system's fault, and one that may pass (locked, busy, full,
    unreachable: `_may_pass`) a StorageUnavailableError.

    `where` names the database (a redacted URL). For everything SQLAlchemy runs (through the engine's
    handle_error hook) and, through `driver_errors`, for work on the driver's own cursor.
    """
    if not isinstance(original, dbapi.Error):
        return None
    detail = str(original).splitlines()[0] if str(original) else type(original).__name__
    if getattr(original, "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
        return ReadOnlyError(f"the metadata database {where} refuses this database role ({detail}); reading needs "
                             "USAGE on the index's schema and SELECT on its tables, adding to the index INSERT, "
                             "UPDATE and DELETE too, and sense commands CREATE on the schema: ask its owner")
    if isinstance(original, (dbapi.IntegrityError, dbapi.ProgrammingError)):
        return None
    if isinstance(original, dbapi.DataError):
        # A value the database cannot hold or compare (PostgreSQL: a NUL in text or in a JSON escape): the value
        # given is at fault, not the stored data.
        # Only a control character's fault calls for leaving them out: a regular expression too complex had
        # been told so too.
        hint = "; leave out the control characters" if any(
            word in detail.lower() for word in ("0x00", "\\u0000", "null character", "invalid byte")) else ""
        return UsageError(f"the metadata database {where} cannot take a value it was given ({detail}){hint}")
    if any(words in detail.lower() for words in ("readonly database", "read-only transaction")):
        return ReadOnlyError(f"the metadata database {where} cannot be written ({detail}): it is on read-only "
                             "media or protected; nothing more was changed")
    if any(words in detail.lower() for words in ("disk i/o error", "disk is full")):
        full = _full_folder(where)
        if full is not None:
            # A reader fails so too: SQLite needs room beside the file for its -shm even to read a WAL database.
            return StorageUnavailableError(
                f"the metadata database {where} failed: {detail}: the disk holding {full} is full (SQLite needs "
                "some room beside meta.sqlite even to read it); free disk space, then run it again")
    damaged = not isinstance(original, dbapi.OperationalError) or any(
        word in detail.lower() for word in ("malformed", "not a database", "corrupt"))
    if not damaged:
        kind = StorageUnavailableError if _may_pass(original, detail) else StorageError
        return kind(f"the metadata database {where} failed: {detail}")
    return IndexCorruptError(f"the metadata database {where} is damaged: {detail}. The vectors file is not at fault "
                             f"and repair cannot rebuild the sentences: {DAMAGED_DATABASE_ADVICE}")


def _may_pass(original: BaseException, detail: str) -> bool:
    """Whether a database failure may pass when tried again (PASSING_SQLSTATES, PASSING_WORDS)."""
    sqlstate = getattr(original, "sqlstate", None) or ""
    return (sqlstate[:2] in PASSING_SQLSTATES or sqlstate in PASSING_SQLSTATES
            or any(words in detail.lower() for words in PASSING_WORDS))


@contextmanager
def driver_errors(dbapi: Any, where: str) -> Iterator[None]:
    """Driver exceptions raised in the block as their domain errors (`domain_error`), for work done on the driver's
    own cursor, which bypasses the engine's handle_error hook (digests' SQLite reads, PostgreSQL COPY)."""
    try:
        yield
    except dbapi.Error as exc:
        error = domain_error(exc, dbapi, where)
        if error is None:
            raise
        raise error from None


def _domain_error(context: ExceptionContext) -> None:
    if not isinstance(context.sqlalchemy_exception, DBAPIError) or context.original_exception is None:
        return
    where = dburl.redact(context.engine.url) if context.engine is not None else "store"
    error = domain_error(context.original_exception, context.dialect.dbapi, where)
    if error is not None:
        raise error from None


FULL_BELOW = 1 << 20
"""Free bytes below which a SQLite I/O failure is put down to a full disk."""


def _full_folder(where: str) -> Path | None:
    """The folder of the SQLite database `where` names when its disk has less than FULL_BELOW bytes free; else None
    (another back end, a name that is no URL, or room enough, where an I/O error has some other cause)."""
    try:
        database = sqlite_file(where)
        if database is None:
            return None
        stats = os.statvfs(database.parent)
    except (SenseSearchError, ValueError, OSError, AttributeError):
        return None
    return database.parent if stats.f_bavail * stats.f_frsize < FULL_BELOW else None


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for other back ends and in-memory databases."""
    parsed = dburl.parse(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def schema_ddl_lock(conn: Connection, schema: str | None) -> None:
    """On PostgreSQL, hold a lock on `schema`'s name until `conn`'s transaction ends, so that two processes making
    the same schema or its tables take turns: made at once, the second's CREATE failed on the catalog's unique
    key ("duplicate key value violates unique constraint pg_type_typname_nsp_index") instead of finding them made.
    A transaction-level advisory lock (PostgreSQL manual, "Advisory Locks"); nothing elsewhere.
    """
    if conn.dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.blake2b(f"sensesearch schema {schema}".encode(), digest_size=8).digest(), "big",
                         signed=True)
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})



def cancel_statement(conn: Connection | None) -> None:
    """Ask the database to stop the statement `conn` has in hand: on PostgreSQL one waiting for another session's lock
    would otherwise hold a write session's rollback (and a Ctrl-C) until that lock goes. psycopg's cancel is made to
    be called from another thread; SQLite's interrupt too, though it does not end a wait for a lock, which ends with
    the busy timeout, as it does in the calling thread."""
    raw = conn.connection.driver_connection if conn is not None else None
    for name in ("cancel_safe", "cancel", "interrupt"):
        method = getattr(raw, name, None)
        if callable(method):
            # Best effort: a connection too broken to cancel on fails its statement anyway, and the rollback
            # must go on to drop the session's vectors.
            with suppress(Exception):
                method()
            return


def make_engine(url: str, read_only: bool = False) -> Engine:
    """An engine for `url`, with the SQLite pragmas where it is SQLite and the index's own schema where named.

    `read_only`: SQLite through a read-only URI (IndexNotFoundError when the file is missing: a reader
    never creates one), PostgreSQL with READ ONLY transactions and no CREATE SCHEMA.
    """
    schema = dburl.schema_of(url)
    database = sqlite_file(url) if read_only else None
    options: dict[str, Any] = {}
    if database is not None:
        if not database.is_file():
            raise IndexNotFoundError(f"the metadata database {database} does not exist")

        def connect() -> sqlite3.Connection:
            # The URI is chosen at each connect, so a -wal that appears later is read, never skipped.
            return sqlite3.connect(access.sqlite_read_uri(database), uri=True, check_same_thread=False)
        options["creator"] = connect
        if access.folder_write_problem(database.parent) is not None:
            # immutable=1 connections never look for changes; a read-only mount may still be written
            # elsewhere (a container's :ro volume), so each use gets a fresh connection and view.
            options["poolclass"] = NullPool
    engine = _engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _reader_pragmas if read_only else _sqlite_pragmas)
    if read_only and engine.dialect.name == "postgresql":
        engine = engine.execution_options(postgresql_readonly=True)
    if schema is not None:
        if not read_only:
            with engine.begin() as conn:
                schema_ddl_lock(conn, schema)
                # Look first: CREATE SCHEMA IF NOT EXISTS still needs the CREATE right, which readers may lack.
                if not inspect(conn).has_schema(schema):
                    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        engine = engine.execution_options(schema_translate_map={None: schema})
    return engine


def _engine(url: str, **options: Any) -> Engine:
    """A SQLAlchemy engine for `url` whose database errors are raised as the domain's (_domain_error)."""
    try:
        engine = create_engine(dburl.engine_url(url), **options)
    except ImportError as exc:
        raise SetupError(f"no database driver for {dburl.redact(url)} ({exc}); for PostgreSQL install "
                         "the extra: pip install 'sensesearch[postgres]'") from None
    event.listen(engine, "handle_error", _domain_error)
    return engine


def check_reachable(url: str) -> None:
    """Raise what making a store at `url` would, before a new index loads its model, and make nothing: StorageError
    for a SQLite file that cannot be made or written (sqlite_write_problem), the connection's own error
    (make_engine's) for a PostgreSQL server that does not answer or refuses the login. Both had been said after
    "loading the model" (some 4-6 s with the bundled MiniLM, minutes with a large model on a slow disk)."""
    database = sqlite_file(url)
    if database is not None:
        # Not a connection: SQLite would make the file, and a failed command leaves the disk as it was.
        problem = sqlite_write_problem(database)
        if problem is not None:
            raise StorageError(f"the metadata database {dburl.redact(url)} cannot be {problem}")
        return
    if not dburl.is_postgres(url):
        return
    engine = _engine(url, poolclass=NullPool)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


def sqlite_write_problem(database: Path) -> str | None:
    """How a writer's SQLite file `database` cannot be had, as "made in FOLDER: why" or "written: why"; None when
    it can. Its folder must take new files (the file itself, its -wal and -shm), and a file already there must be
    one that can be written: the folder alone had been asked, so an existing write-protected file, a folder in the
    file's place or an (executable) file in the folder's had passed, to fail after the model loaded."""
    folder = database.parent
    if folder.exists() and not folder.is_dir():
        return f"made in {folder}: a file, not a folder"
    problem = access.folder_write_problem(folder)
    if problem is not None:
        return f"made in {folder}: {problem}"
    if database.is_dir():
        return "made: a folder has its name"
    problem = access.file_write_problem(database)
    return None if problem is None else f"written: {problem}"
