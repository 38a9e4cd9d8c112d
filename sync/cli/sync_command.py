"""``clinic-sync sync --once``: one pass over every calendar of the clinic (SPEC §5, §6, §9).

Each calendar is pulled, then the clinic's conflicts are detected, stored, flagged and
unflagged (:func:`sync.usecases.cycle.run_clinic_pass`; ``CLINIC_SYNC_DRY_RUN=true`` writes
nothing). On SQLite it refuses to run beside a worker, which holds the database. Prints a
per-calendar summary; exits 1 only when every calendar failed (one
failing calendar is recorded on it and does not stop the others). The polling worker is
``clinic-sync worker``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sync.bootstrap import open_services
from sync.cli.common import settings_or_exit
from sync.cli.services import clean_errors
from sync.config import Settings
from sync.errors import InputError, SetupError
from sync.store.errors import RecordNotFound
from sync.usecases.cycle import CalendarCycle, PassReport, run_clinic_pass
from sync.worker.runner import single_worker_lock

__all__ = ["sync_command"]


def sync_command(
    once: Annotated[
        bool, typer.Option("--once", help="Pull, detect and flag every calendar once, then exit.")
    ] = False,
) -> None:
    """Bring the stored bookings up to date with the clinic's Google calendars."""
    settings = settings_or_exit()
    with clean_errors():
        if not once:
            raise InputError(
                "use `clinic-sync sync --once`, or `clinic-sync worker` to keep polling"
            )
        report = _pull_once(settings)
    Console().print(_table(report))
    if report.all_failed:
        raise typer.Exit(code=1)


def _pull_once(settings: Settings) -> PassReport:
    hint = "run `clinic-sync calendars discover` or `calendars add ID` first"
    # On SQLite a pass and a running worker would poll the same calendars at once.
    with single_worker_lock(settings.database_url), open_services(settings) as services:
        try:
            report = run_clinic_pass(services, now=datetime.now(UTC))
        except RecordNotFound as err:
            raise SetupError(f"{err}: {hint}") from err
    if not report.cycles:
        raise SetupError(f"clinic {settings.clinic!r} has no calendars: {hint}")
    return report


def _table(report: PassReport) -> Table:
    table = Table(title=f"Sync of {report.clinic}")
    table.add_column("calendar")
    columns = ("kind", "seen", "new", "changed", "deleted", "skipped", "requests")
    for column in (*columns, "conflicts", "resolved", "flagged", "unflagged", "not written"):
        table.add_column(column, justify="right")
    table.add_column("error")
    for cycle in report.cycles:
        pull = cycle.pull
        counts = (pull.seen, pull.inserted, pull.updated, pull.deleted, len(pull.skipped))
        flags = (cycle.detected, cycle.resolved, cycle.flagged, cycle.unflagged)
        table.add_row(
            Text(pull.name),
            "full" if pull.full else "incremental",
            *(str(count) for count in (*counts, pull.requests, *flags, cycle.skipped_writes)),
            _errors(cycle),
        )
    return table


def _errors(cycle: CalendarCycle) -> Text:
    problems = [cycle.pull.error] if cycle.pull.error else []
    if cycle.write_failures:
        problems.append(f"{cycle.write_failures} flag write(s) failed: see `clinic-sync audit-log`")
    return Text("; ".join(problems), style="red")
