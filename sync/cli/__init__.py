"""The ``clinic-sync`` command line (Typer + Rich): one module per group of commands."""

from __future__ import annotations

import typer

from sync.cli.audit import audit
from sync.cli.db import db_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="clinic-sync",
    help="Calendar safety net for aesthetic clinics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Calendar safety net for aesthetic clinics: see README.md."""


app.command()(audit)
app.add_typer(db_app, name="db")


def main() -> None:
    """Console-script entry point."""
    app()
