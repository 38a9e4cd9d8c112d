"""Engines and sessions: the one place that opens a database (SPEC §2, §9).

SQLite serves one clinic in one process; PostgreSQL (through psycopg 3) serves many
workers. :func:`make_engine` builds an engine from a URL and never connects;
:func:`session_scope` is the unit of work every repository call runs inside, and the
boundary where SQLAlchemy's errors become :mod:`sync.store.errors`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)
from sqlmodel import Session

from sync.store.columns import NaiveDatetimeError
from sync.store.errors import ConstraintViolation, DatabaseUnavailable, StoreError

__all__ = ["database_name", "make_engine", "normalize_url", "session_scope", "translate_error"]

SQLITE_BUSY_TIMEOUT_MS = 5000


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``; a bare ``postgresql://`` URL is pointed at the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


def database_name(target: Engine | URL | str) -> str:
    """The URL of ``target`` with its password hidden, for messages and logs."""
    url = target.url if isinstance(target, Engine) else make_url(target)
    return url.render_as_string(hide_password=True)


def make_engine(url: str | URL, **options: Any) -> Engine:
    """Build an engine for ``url`` (SQLite or PostgreSQL) without connecting to it."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        options.setdefault("json_deserializer", json_document_from_text)
        engine = create_engine(parsed, **options)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    return create_engine(parsed, pool_pre_ping=True, **options)


def json_document_from_text(text: str) -> Any:
    """A JSON column's document from the text SQLite hands back.

    Most documents of a booking row are empty (no attendees, no private properties, no
    categories): a fresh empty one each, without the decoder, saves most of what reading
    a clinic's rows spends on JSON."""
    if text == "[]":
        return []
    if text == "{}":
        return {}
    return json.loads(text)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the web app read while the
    # worker writes; busy_timeout waits for a lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commits when the block ends, rolls back when it raises.

    SQLAlchemy errors raised inside the block come out as :class:`StoreError`.
    """
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    except StatementError as err:
        if isinstance(err.orig, NaiveDatetimeError):
            raise err.orig from err  # a caller's bug, not a database problem
        raise translate_error(err, engine) from err
    except SQLAlchemyError as err:
        raise translate_error(err, engine) from err


def translate_error(err: SQLAlchemyError, engine: Engine) -> StoreError:
    """The store error that tells an operator or caller what went wrong in ``err``."""
    name = database_name(engine)
    if isinstance(err, IntegrityError):
        return ConstraintViolation(f"constraint violated: {_first_line(err)}", database=name)
    if isinstance(err, OperationalError | InterfaceError) or (
        isinstance(err, DBAPIError) and err.connection_invalidated
    ):
        return DatabaseUnavailable(f"cannot reach the database: {_first_line(err)}", database=name)
    return StoreError(f"database error: {_first_line(err)}", database=name)


def _first_line(err: SQLAlchemyError) -> str:
    detail = str(err.orig) if isinstance(err, DBAPIError) else str(err)
    return detail.strip().splitlines()[0] if detail.strip() else type(err).__name__
