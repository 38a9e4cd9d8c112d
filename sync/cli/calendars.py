"""``clinic-sync calendars``: connect, list and disconnect Google calendars (SPEC §8, §9).

``list`` shows each calendar's sync health, its last reconciliation, and the events in
quarantine (could not be read or stored) with why.

The clinic is ``--clinic`` (default ``CLINIC_SYNC_CLINIC``, created on first use); Google
is reached as configured by the ``CLINIC_SYNC_GOOGLE_*`` settings and the clinic's grant.
A calendar of another clinic answers exactly like one that is not connected. Adding and
removing go through :mod:`sync.usecases.connect`, as the admin UI's calendar picker
does, and are recorded in the audit trail as made by ``cli``.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sync.accounts.service import Actor
from sync.cli.common import ClinicOption, chosen_clinic, settings_or_exit
from sync.cli.conflicts import safe_text
from sync.cli.services import clean_errors, google, store, when
from sync.cli.users import CLI_ACTOR
from sync.errors import InputError
from sync.sources.port import RemoteCalendar
from sync.store.database import session_scope
from sync.store.quarantine import QuarantinedEvent, list_quarantined
from sync.store.sources import CalendarSource, Provider, list_sources
from sync.usecases import connect

__all__ = ["calendars_app"]

calendars_app = typer.Typer(
    help="The Google calendars a clinic syncs: discover, add, list, remove.", no_args_is_help=True
)


@calendars_app.command("discover")
def discover(
    include_primary: Annotated[
        bool,
        typer.Option(
            help="Also connect the account owner's own primary calendar (usually a person's "
            "diary, not a practitioner's or room's bookings)."
        ),
    ] = False,
    clinic: ClinicOption = None,
) -> None:
    """Connect every calendar the Google account can see (its owner's primary one if asked)."""
    settings = settings_or_exit()
    with clean_errors():
        with google(settings, clinic) as source:
            listed = source.list_calendars()
        remote = [c for c in listed if include_primary or not c.primary]
        with store(settings) as engine, session_scope(engine) as session:
            chosen = chosen_clinic(session, settings, clinic)
            added = connect.add_calendars(session, _actor(chosen.id), Provider.GOOGLE, remote)
    left_out = "" if include_primary else _primary_note(listed)
    already = len(remote) - len(added)
    Console().print(f"{len(added)} calendar(s) added, {already} already connected{left_out}")


def _primary_note(listed: list[RemoteCalendar]) -> str:
    primary = [c for c in listed if c.primary]
    return f"; left out the primary calendar {primary[0].id} (--include-primary)" if primary else ""


@calendars_app.command("add")
def add(
    calendar_id: Annotated[str, typer.Argument(help="Google calendar id.")],
    clinic: ClinicOption = None,
) -> None:
    """Connect one calendar by its Google id (checked against the account's calendar list)."""
    settings = settings_or_exit()
    with clean_errors():
        with google(settings, clinic) as source:
            remote = source.get_calendar(calendar_id)
        with store(settings) as engine, session_scope(engine) as session:
            chosen = chosen_clinic(session, settings, clinic)
            if not connect.add_calendars(session, _actor(chosen.id), Provider.GOOGLE, [remote]):
                raise InputError(f"calendar {remote.id} is already connected to {chosen.name}")
    Console().print(f"added {remote.summary} ({remote.id}, {remote.time_zone})")


@calendars_app.command("list")
def list_calendars(clinic: ClinicOption = None) -> None:
    """The clinic's calendars and their sync health."""
    settings = settings_or_exit()
    with clean_errors(), store(settings) as engine, session_scope(engine) as session:
        chosen = chosen_clinic(session, settings, clinic)
        sources = list_sources(session, chosen.id)
        held = list_quarantined(session, chosen.id)
    console = Console()
    console.print(_table(chosen.name, sources, Counter(event.source_id for event in held)))
    if held:
        console.print(_quarantine_table(held))


@calendars_app.command("remove")
def remove(
    calendar_id: Annotated[str, typer.Argument(help="Google calendar id.")],
    clinic: ClinicOption = None,
) -> None:
    """Disconnect a calendar; its stored bookings go with it (the audit trail stays)."""
    settings = settings_or_exit()
    with clean_errors(), store(settings) as engine, session_scope(engine) as session:
        chosen = chosen_clinic(session, settings, clinic)
        found = [s for s in list_sources(session, chosen.id) if s.external_id == calendar_id]
        if not found:
            raise InputError(f"calendar {calendar_id} is not connected to {chosen.name}")
        connect.remove_calendar(session, _actor(chosen.id), found[0].id)
    Console().print(f"removed {calendar_id}")


def _actor(clinic_id: int) -> Actor:
    """The command acting for the clinic, now, as the audit trail names it."""
    return Actor(CLI_ACTOR, clinic_id, datetime.now(UTC))


def _table(clinic: str, sources: list[CalendarSource], held: Counter[int]) -> Table:
    table = Table(title=safe_text(f"Calendars of {clinic}"))
    columns = ("id", "name", "zone", "last sync", "last error", "next poll", "quarantined")
    for column in (*columns, "reconciled"):
        # Folded, never cut with an ellipsis: an operator copies the id into `calendars remove`.
        table.add_column(column, overflow="fold")
    for source in sources:
        error = source.last_error if source.consecutive_failures else None
        table.add_row(
            safe_text(source.external_id),
            safe_text(source.display_name + ("" if source.enabled else " (paused)")),
            safe_text(source.time_zone),
            when(source.last_sync_at),
            _error(error, source.consecutive_failures),
            when(source.next_poll_at),
            str(held.get(source.id, 0)),
            _reconciled(source),
        )
    return table


def _error(error: str | None, failures: int) -> Text | str:
    """The provider's error text, shown literally (it can carry brackets Rich would read)."""
    if error is None:
        return "—"
    shown = safe_text(error)
    shown.stylize("red")
    return Text.assemble(shown, f" ({failures}×)")


def _reconciled(source: CalendarSource) -> str:
    if source.last_reconciled_at is None:
        return "—"
    return f"{when(source.last_reconciled_at)}, {source.reconcile_corrections} corrected"


def _quarantine_table(held: list[QuarantinedEvent]) -> Table:
    """Events that could not be read or stored: the provider's text shown, never interpreted."""
    table = Table(title="Quarantined events (not read: no conflict is found for them)")
    for column in ("calendar", "event id", "reason", "first seen", "last tried", "tries"):
        table.add_column(column, overflow="fold")
    for event in held:
        table.add_row(
            safe_text(event.calendar),
            safe_text(event.event_id),
            safe_text(event.reason),
            when(event.first_seen_at),
            when(event.last_seen_at),
            str(event.attempts),
        )
    return table
