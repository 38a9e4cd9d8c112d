"""How every command ends on bad input or set-up: one clear line on stderr, exit status 2.

Tracebacks are for bugs (STYLE: one place per entry point turns errors into a message).
This module needs only Typer and Rich, so a command that touches no database — the
offline ``audit`` — can end the same way without loading the store
(:mod:`sync.cli.common` names :func:`fail` too, with what clinic commands share).
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["fail"]


def fail(err: Exception) -> NoReturn:
    """Print ``err`` as one line on stderr and exit with status 2."""
    console = Console(stderr=True, highlight=False)
    console.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True)
    raise typer.Exit(code=2)
