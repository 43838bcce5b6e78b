"""The PostgreSQL server for back-end tests: a throwaway database on the server in SENSESEARCH_TEST_PG_URL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from sensesearch.dburl import engine_url

PG_URL_ENV = "SENSESEARCH_TEST_PG_URL"


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; in CI (env CI set) a missing server is a failure, not a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}")
    pytest.skip(f"no PostgreSQL server: {reason}")


def throwaway_database() -> Iterator[str]:
    """Create a fresh database on the server, yield its URL, drop it afterwards."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        unavailable(f"set {PG_URL_ENV}=postgresql://user@127.0.0.1:PORT/postgres (see .ci/run)")
    try:
        admin_url = engine_url(base)
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
        name = f"sensesearch_test_{os.getpid()}_{secrets.token_hex(3)}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except (ImportError, SQLAlchemyError) as exc:
        unavailable(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
