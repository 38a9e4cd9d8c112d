"""``clinic-sync db``: the database schema (Alembic migrations shipped in the package)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from sync.cli.common import fail, settings_or_exit
from sync.store.database import database_name, make_engine
from sync.store.errors import StoreError
from sync.store.migrate import current_revision, downgrade, head_revision, upgrade

__all__ = ["db_app"]

db_app = typer.Typer(help="Database schema: apply and inspect migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to CLINIC_SYNC_DATABASE_URL."""
    settings = settings_or_exit()
    try:
        upgrade(settings.database_url)
    except StoreError as err:
        fail(err)
    Console().print(f"{database_name(settings.database_url)} is at revision {head_revision()}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="The revision to go back to, e.g. 0012.")],
) -> None:
    """Take CLINIC_SYNC_DATABASE_URL back to a revision, before running an older release."""
    settings = settings_or_exit()
    try:
        downgrade(settings.database_url, revision)
    except StoreError as err:
        fail(err)
    Console().print(f"{database_name(settings.database_url)} is at revision {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision (none before the first upgrade)."""
    settings = settings_or_exit()
    try:
        revision = current_revision(make_engine(settings.database_url))
    except StoreError as err:
        fail(err)
    Console().print(revision or "none (run `clinic-sync db upgrade`)")
