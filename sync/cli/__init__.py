"""The ``clinic-sync`` command line (Typer + Rich): one module per group of commands."""

from __future__ import annotations

import typer

from sync.cli.audit import audit
from sync.cli.audit_log import audit_log
from sync.cli.calendars import calendars_app
from sync.cli.config_command import config_app
from sync.cli.conflicts import conflicts_app
from sync.cli.connect import connect_app, secrets_app
from sync.cli.db import db_app
from sync.cli.demo import demo
from sync.cli.doctor import doctor
from sync.cli.emulator import emulator
from sync.cli.feeds import feeds_app
from sync.cli.notify import notify_app
from sync.cli.probe import probe
from sync.cli.serve import serve
from sync.cli.sync_command import sync_command
from sync.cli.users import users_app
from sync.cli.worker import worker

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


# In the order a newcomer meets them: try it, run it, review it, connect, operate.
app.command("demo")(demo)
app.command("worker")(worker)
app.command("serve")(serve)
app.command("sync")(sync_command)
app.command()(audit)
app.add_typer(conflicts_app, name="conflicts")
app.command("audit-log")(audit_log)
app.add_typer(calendars_app, name="calendars")
app.add_typer(connect_app, name="connect")
app.add_typer(feeds_app, name="feeds")
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(secrets_app, name="secrets")
app.add_typer(notify_app, name="notify")
app.command("doctor")(doctor)
app.command("probe")(probe)
app.command("emulator")(emulator)


def main() -> None:
    """Console-script entry point."""
    app()
