"""What every command shares: one way to end on clinic-sync's own errors, and settings.

Bad input or set-up ends in one clear line on stderr and exit status 2 — tracebacks
are for bugs (STYLE: one place per entry point turns errors into a message).
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from sync.config import Settings, load_settings
from sync.errors import ClinicSyncError

__all__ = ["fail", "settings_or_exit"]


def fail(err: Exception) -> NoReturn:
    """Print ``err`` as one line on stderr and exit with status 2."""
    console = Console(stderr=True, highlight=False)
    console.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True)
    raise typer.Exit(code=2)


def settings_or_exit() -> Settings:
    """The settings from the environment, or a clear exit when they do not validate."""
    try:
        return load_settings()
    except ClinicSyncError as err:
        fail(err)
