"""``clinic-sync sync --once``: one pass over every calendar of a clinic (SPEC §5, §6, §9).

Each calendar of the clinic (``--clinic``, default ``CLINIC_SYNC_CLINIC``) is pulled, then
the clinic's conflicts are detected, stored, flagged and unflagged
(:func:`sync.usecases.cycle.run_clinic_pass`). ``--dry-run``, or the clinic's own
``dry_run`` setting, records what would be written and writes nothing. On SQLite it
refuses to run beside a worker, which holds the database. Prints a per-calendar summary;
exits 1 only when every calendar failed (one failing calendar is recorded on it and does
not stop the others). The polling worker is ``clinic-sync worker``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sync.bootstrap import Services, clinic_services, open_store
from sync.cli.common import ClinicOption, chosen_clinic, settings_or_exit
from sync.cli.services import clean_errors
from sync.clinics.profile import ClinicProfile, load_profile
from sync.config import Settings
from sync.errors import InputError, SetupError
from sync.store.database import session_scope
from sync.store.errors import RecordNotFound
from sync.usecases.cycle import CalendarCycle, PassReport, run_clinic_pass
from sync.worker.runner import single_worker_lock

__all__ = ["sync_command"]


def sync_command(
    once: Annotated[
        bool, typer.Option("--once", help="Pull, detect and flag every calendar once, then exit.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Record what would be written to calendars; write nothing."),
    ] = False,
    clinic: ClinicOption = None,
) -> None:
    """Bring the stored bookings up to date with the clinic's calendars."""
    settings = settings_or_exit()
    with clean_errors():
        if not once:
            raise InputError(
                "use `clinic-sync sync --once`, or `clinic-sync worker` to keep polling"
            )
        name, report = _pull_once(settings, clinic, dry_run=dry_run)
    Console().print(_table(name, report))
    if report.all_failed:
        raise typer.Exit(code=1)


def _pull_once(settings: Settings, clinic: str | None, *, dry_run: bool) -> tuple[str, PassReport]:
    hint = "run `clinic-sync calendars discover` or `calendars add ID` first"
    # On SQLite a pass and a running worker would poll the same calendars at once.
    with (
        single_worker_lock(settings.database_url),
        _services(settings, clinic, dry_run) as services,
    ):
        try:
            report = run_clinic_pass(services, now=datetime.now(UTC))
        except RecordNotFound as err:
            raise SetupError(f"{err}: {hint}") from err
    if not report.cycles:
        raise SetupError(f"clinic {services.clinic.slug!r} has no calendars: {hint}")
    return services.clinic.name, report


def _services(settings: Settings, clinic: str | None, dry_run: bool) -> Services:
    """The chosen clinic's services; ``dry_run`` holds for this pass only, not stored."""
    engine = open_store(settings)
    try:
        with session_scope(engine) as session:
            profile = load_profile(session, chosen_clinic(session, settings, clinic))
        if dry_run:
            profile = _dry(profile)
        return clinic_services(settings, engine, profile)
    except BaseException:
        engine.dispose()
        raise


def _dry(profile: ClinicProfile) -> ClinicProfile:
    settings = replace(profile.settings, dry_run=True)
    return replace(profile, clinic=replace(profile.clinic, settings=settings))


def _table(clinic: str, report: PassReport) -> Table:
    table = Table(title=Text(f"Sync of {clinic}"))
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
