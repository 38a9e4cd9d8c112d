"""Database fixtures: every store test runs on SQLite (a temporary file) and on PostgreSQL.

The PostgreSQL case is skipped, with the reason, when the server at
``CLINIC_SYNC_TEST_POSTGRES_URL`` does not answer within two seconds. Each PostgreSQL
test gets a schema of its own (dropped afterwards) so parallel runs never collide.
Nothing here is specific to ``tests/store``: the fixtures can move to ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from sync.store.database import database_name, make_engine
from sync.store.migrate import upgrade
from tests.conftest import copy_migrated

POSTGRES_URL = os.environ.get(
    "CLINIC_SYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used, or ``None`` when it answers."""
    engine = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        return f"PostgreSQL not reachable at {database_name(engine)}: {err.__class__.__name__}"
    finally:
        engine.dispose()
    return None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def blank_engine(
    request: pytest.FixtureRequest, tmp_path: os.PathLike[str], postgres_unreachable: str | None
) -> Iterator[Engine]:
    """An engine on an empty database of each backend, not migrated."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path}/store.db")
        yield engine
        engine.dispose()
        return
    if postgres_unreachable:
        pytest.skip(postgres_unreachable)
    yield from _postgres_schema()


def _postgres_schema() -> Iterator[Engine]:
    schema = f"t_{secrets.token_hex(6)}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def engine(blank_engine: Engine, migrated_sqlite: Path) -> Engine:
    """An engine on a database of each backend, migrated to the head revision.

    On SQLite the file is a copy of one migrated once per session (nothing has connected
    to ``blank_engine`` yet, so it opens the copy); PostgreSQL runs the migrations.
    """
    if blank_engine.dialect.name == "sqlite" and blank_engine.url.database:
        copy_migrated(migrated_sqlite, Path(blank_engine.url.database))
    else:
        upgrade(blank_engine)
    return blank_engine
