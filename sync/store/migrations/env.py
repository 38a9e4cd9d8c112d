"""Alembic environment: runs revisions on the connection ``sync.store.migrate`` hands in.

Run through :func:`sync.store.migrate.upgrade`, never with an ``alembic.ini``: the
caller puts an open connection in ``config.attributes["connection"]``. SQLite gets
``render_as_batch`` because it can alter a table only by copying it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from sync.store.tables import StoreModel


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=StoreModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=StoreModel.metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    _run(context.config.attributes["connection"])
