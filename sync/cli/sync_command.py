"""``clinic-sync sync --once``: pull every calendar of the clinic once (SPEC §9).

Prints a per-calendar summary; exits 1 only when every calendar failed (one failing
calendar is recorded on it and does not stop the others). The polling worker comes later.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sync.bootstrap import open_services
from sync.cli.common import settings_or_exit
from sync.cli.services import clean_errors
from sync.config import Settings
from sync.errors import InputError, SetupError
from sync.pull import PullReport, pull_clinic
from sync.store.errors import RecordNotFound

__all__ = ["sync_command"]


def sync_command(
    once: Annotated[
        bool, typer.Option("--once", help="Pull every calendar once, then exit.")
    ] = False,
) -> None:
    """Bring the stored bookings up to date with the clinic's Google calendars."""
    settings = settings_or_exit()
    with clean_errors():
        if not once:
            raise InputError("only `clinic-sync sync --once` exists so far (no polling worker)")
        report = _pull_once(settings)
    Console().print(_table(report))
    if report.all_failed:
        raise typer.Exit(code=1)


def _pull_once(settings: Settings) -> PullReport:
    hint = "run `clinic-sync calendars discover` or `calendars add ID` first"
    with open_services(settings) as services:
        try:
            report = pull_clinic(
                services.engine,
                services.google,
                services.reader,
                settings.clinic,
                poll_interval=services.poll_interval,
            )
        except RecordNotFound as err:
            raise SetupError(f"{err}: {hint}") from err
    if not report.calendars:
        raise SetupError(f"clinic {settings.clinic!r} has no calendars: {hint}")
    return report


def _table(report: PullReport) -> Table:
    table = Table(title=f"Sync of {report.clinic}")
    table.add_column("calendar")
    for column in ("kind", "seen", "new", "changed", "deleted", "skipped", "requests"):
        table.add_column(column, justify="right")
    table.add_column("error")
    for pull in report.calendars:
        counts = (pull.seen, pull.inserted, pull.updated, pull.deleted, len(pull.skipped))
        table.add_row(
            pull.name,
            "full" if pull.full else "incremental",
            *(str(count) for count in counts),
            str(pull.requests),
            "" if pull.ok else f"[red]{pull.error}[/]",
        )
    return table
