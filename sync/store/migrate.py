"""Schema migrations, run programmatically from the revisions packaged in ``sync.store``.

``clinic-sync db upgrade`` calls :func:`upgrade`; no ``alembic.ini`` is needed. After
an upgrade, :func:`check_schema` compares the live tables with the SQLModel tables
(Alembic's autogenerate comparison) so a migration that forgot a column is caught.

On SQLite a migration runs with foreign keys off and checked before it commits, as
SQLite's own procedure for schema changes asks: it alters a table by copying it, and
dropping the old copy with foreign keys on would run the ``ON DELETE CASCADE`` of every
table pointing at it (a clinic's calendars, bookings and conflicts; a user's memberships).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from sync.store.database import database_name, make_engine, translate_error
from sync.store.errors import MigrationError, SchemaDrift
from sync.store.tables import StoreModel

__all__ = [
    "HEAD",
    "MIGRATIONS_DIR",
    "alembic_config",
    "check_schema",
    "current_revision",
    "head_revision",
    "schema_differences",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HEAD = "0029"
"""The newest revision in :data:`MIGRATIONS_DIR` (``tests/store/test_migrations.py`` holds the
two together). A store already there is left as it is without Alembic reading its scripts:
every process opening the store upgrades it, and reading and compiling two dozen revision
files to find nothing to do was 0.17 s of each start (a fifth of a small ``sync --once``)."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations, bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this version of the code ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Bring the database at ``target`` (a URL or an engine) up to ``revision``; idempotent."""
    if revision == "head" and isinstance(target, Engine) and _stored_revision(target) == HEAD:
        return
    _migrate(target, lambda config: command.upgrade(config, revision))


def _stored_revision(engine: Engine) -> str | None:
    """The one revision ``alembic_version`` records, read as plain SQL; ``None`` when there is
    no such table (a new store) or it records none or several (Alembic's business then)."""
    try:
        with engine.connect() as connection:
            found = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except SQLAlchemyError:
        return None
    return str(found[0][0]) if len(found) == 1 else None


def downgrade(target: str | Engine, revision: str) -> None:
    """Take the database at ``target`` back to ``revision`` (rolling a release back).

    Runs like :func:`upgrade`, foreign keys deferred on SQLite, so a table copied on the
    way down keeps the rows that point at it.
    """
    _migrate(target, lambda config: command.downgrade(config, revision))


def _migrate(target: str | Engine, run: Callable[[Config], None]) -> None:
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with _connection(engine) as connection:
            run(alembic_config(connection))
    finally:
        if isinstance(target, str):
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` when it was never migrated."""
    with _connection(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_differences(engine: Engine) -> list[str]:
    """What autogenerate would change to make the tables match the models (empty: in step)."""
    with _connection(engine) as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [_describe(diff) for diff in compare_metadata(context, StoreModel.metadata)]


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaDrift` unless the tables match the SQLModel tables exactly."""
    differences = schema_differences(engine)
    if differences:
        raise SchemaDrift(differences, database=database_name(engine))


@contextmanager
def _connection(engine: Engine) -> Iterator[Connection]:
    try:
        with (
            engine.connect() as connection,
            _foreign_keys_deferred(connection),
            connection.begin(),
        ):
            yield connection
            _check_foreign_keys(connection)
    except CommandError as err:
        raise MigrationError(f"migration failed: {err}", database=database_name(engine)) from err
    except SQLAlchemyError as err:
        raise translate_error(err, engine) from err


@contextmanager
def _foreign_keys_deferred(connection: Connection) -> Iterator[None]:
    """SQLite's foreign keys off around the migration (the pragma is a no-op in a transaction)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def _check_foreign_keys(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise MigrationError(f"migration left rows pointing at nothing: {broken[:5]}")


def _describe(diff: Any) -> str:
    # Alembic reports a tuple per change, or a list of tuples for the columns of one table.
    if isinstance(diff, list):
        return ", ".join(_describe(item) for item in diff)
    kind, *rest = diff
    return f"{kind} {' '.join(_short(item) for item in rest)}"


def _short(item: Any) -> str:
    name = getattr(item, "name", None)
    return str(name) if isinstance(name, str) else repr(item)
