"""``clinic-sync config``: the settings, as the service reads them."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from sync.cli.common import settings_or_exit
from sync.env_example import render_env_example

__all__ = ["config_app"]

config_app = typer.Typer(
    help="Settings: the example file and the values in force.", no_args_is_help=True
)

_SECRET_WORDS = ("secret", "password", "key", "credentials", "token")


@config_app.command("example")
def example() -> None:
    """Print .env.example: every setting with its default and what it does."""
    sys.stdout.write(render_env_example())


@config_app.command("show")
def show() -> None:
    """Print the settings in force (secrets hidden); exits 2 if they do not validate."""
    settings = settings_or_exit()
    table = Table(title="clinic-sync settings")
    table.add_column("setting")
    table.add_column("value", overflow="fold")
    for name, value in settings.model_dump(mode="json").items():
        hidden = value and any(word in name for word in _SECRET_WORDS)
        table.add_row(f"CLINIC_SYNC_{name.upper()}", "•••" if hidden else str(value))
    Console(highlight=False).print(table)
