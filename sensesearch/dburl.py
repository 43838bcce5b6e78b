"""Metadata database URLs: one PostgreSQL schema per index, driver choice and password redaction.

Many indexes can share one PostgreSQL database: each keeps its tables in its own schema, named
by a `schema=` query parameter of the URL. When an index is created without one, the schema is
derived from the index folder (its name plus a hash of its absolute path) and written into the
URL stored in config.json, so later opens find the same schema even if the folder moves.
SQLite needs no namespace: its file lives in the index folder, or where `--db` names it. SQLite reads a relative
path from the current folder, so a new index stores the path made absolute (`with_absolute_path`): kept relative, a
later run from another folder made an empty store there and dropped the index's vectors.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import UsageError

SCHEMA_PARAM = "schema"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
DEFAULT_PG_DRIVER = "postgresql+psycopg"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def parse(url: str) -> URL:
    """The URL as SQLAlchemy reads it; a malformed one is the user's error."""
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"cannot read database URL {url!r}: {exc}") from None


def check_url(url: str) -> None:
    """UsageError for a `--db` URL that SQLAlchemy cannot read or that names a database other than the two the
    metadata store's SQL is written for (SQLite and PostgreSQL: `--where` and the digests have a form for each)."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError as exc:
        raise UsageError(f"cannot read the database URL ({exc}); write e.g. postgresql://HOST/DB") from None
    if backend not in SUPPORTED_BACKENDS:
        raise UsageError(f"{backend} databases are not supported: use postgresql://HOST/DB, or leave --db out for "
                         "SQLite in the index folder")
    _check_sqlite_file(url)
    _check_schema(url)


def _check_sqlite_file(url: str) -> None:
    """UsageError for a SQLite URL that names no plain file. An in-memory database (`sqlite://`, `sqlite:///:memory:`)
    is gone when the command's connection closes: indexing into one said it succeeded, then every later command
    found a store with no tables. SQLite's URI form (`?uri=true`, pysqlite's switch for it) can be one too
    (`mode=memory`), and its file name is not a path the readers' read-only open (sensesearch.access) can take."""
    parsed = parse(url)
    if parsed.get_backend_name() != "sqlite":
        return
    if parsed.database in (None, "", ":memory:"):
        raise UsageError("an in-memory SQLite database (sqlite://, sqlite:///:memory:) is gone when the command ends: "
                         "name a file (sqlite:///PATH), or leave --db out for SQLite in the index folder")
    if "uri" in parsed.query:
        raise UsageError("a SQLite URI (uri=true) is not taken: name the file as a plain path (sqlite:///PATH)")


def _check_schema(url: str) -> None:
    """UsageError for a schema= that a SQLite URL cannot have or that is not one plain identifier: checked with the
    rest of `--db`, before a model loads, and again where a new index takes its namespace."""
    if SCHEMA_PARAM in parse(url).query and parse(url).get_backend_name() == "sqlite":
        raise UsageError("a SQLite metadata store takes no schema= parameter")
    schema_of(url)


def is_postgres(url: str) -> bool:
    return parse(url).get_backend_name() == "postgresql"


def with_namespace(url: str, folder: Path) -> str:
    """`url` with a schema for the index at `folder` (PostgreSQL only; other URLs are returned as given)."""
    _check_schema(url)
    parsed = parse(url)
    if not is_postgres(url) or SCHEMA_PARAM in parsed.query:
        return url
    return parsed.update_query_dict({SCHEMA_PARAM: derived_schema(folder)}).render_as_string(hide_password=False)


def with_absolute_path(url: str) -> str:
    """`url` with its SQLite file's relative path made absolute as SQLite reads it now, from the current folder
    (symbolic links resolved, as for the folder's own store, folder.sqlite_url); other URLs as given. What a new
    index stores."""
    parsed = parse(url)
    if not _names_file(parsed) or Path(parsed.database or "").is_absolute():
        return url
    return _with_resolved_path(parsed)


def _names_file(parsed: URL) -> bool:
    return parsed.get_backend_name() == "sqlite" and bool(parsed.database)


def _with_resolved_path(parsed: URL) -> str:
    """A SQLite URL as text, its path made absolute with symbolic links resolved. Rendered around a stand-in (see
    redact) and quoted as SQLAlchemy quotes a URL's database (url.URL.render_as_string), but for PEP 383 surrogates
    (bytes that are not UTF-8), kept as they are: SQLAlchemy cannot render them, and make_url reads them back so."""
    path = str(Path(parsed.database or "").resolve())
    quoted = "".join(char if "\udc80" <= char <= "\udcff" else quote(char, safe=" +/") for char in path)
    return parsed.set(database=_STAND_IN).render_as_string(hide_password=False).replace(_STAND_IN, quoted)


def derived_schema(folder: Path) -> str:
    """A legal, stable schema name for an index folder: readable prefix, then a hash of the full path."""
    slug = re.sub(r"[^a-z0-9_]+", "_", folder.name.lower()).strip("_")[:30] or "index"
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:10]
    return f"sensesearch_{slug}_{digest}"


def schema_of(url: str) -> str | None:
    """The schema named in `url`, checked to be a plain identifier (it is quoted into DDL)."""
    value = parse(url).query.get(SCHEMA_PARAM)
    if value is None:
        return None
    if isinstance(value, tuple) or not _SCHEMA_NAME.match(value):
        raise UsageError(f"schema {value!r} must be one lower-case identifier (letters, digits, _)")
    return value


def engine_url(url: str) -> URL:
    """The URL handed to SQLAlchemy: our schema parameter removed, psycopg (v3) as the PostgreSQL driver."""
    return _with_driver(parse(url).difference_update_query([SCHEMA_PARAM]))


_STAND_IN = "sensesearch-database-path"


def redact(url: str | URL) -> str:
    """The URL with any password replaced by ***, for messages and `info`.

    A database path holding bytes that are not UTF-8 (a folder's name may, PEP 383) is shown with \\xNN escapes:
    SQLAlchemy cannot render it, and an error message must never fail on its way out.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unreadable URL>"
    database = parsed.database
    shown = database.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") if database else database
    if shown == database:
        return parsed.render_as_string(hide_password=True)
    # Rendered around a stand-in, which the escaped path then replaces (rendering would quote its backslashes).
    return parsed.set(database=_STAND_IN).render_as_string(hide_password=True).replace(_STAND_IN, shown or "")


def same_database(stored: str, given: str) -> bool:
    """Whether `given` (as a user types it again) names the database an index was created with: SQLite paths are
    compared made absolute (with_absolute_path), as SQLite reads them from the current folder."""
    a, b = _comparable(stored), _comparable(given)
    if SCHEMA_PARAM not in b.query:
        a = a.difference_update_query([SCHEMA_PARAM])
    return _with_driver(a) == _with_driver(b)


def _comparable(url: str) -> URL:
    parsed = parse(url)
    return parse(_with_resolved_path(parsed)) if _names_file(parsed) else parsed


def _with_driver(url: URL) -> URL:
    return url.set(drivername=DEFAULT_PG_DRIVER) if url.drivername == "postgresql" else url
