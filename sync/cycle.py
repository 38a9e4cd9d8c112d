"""One heartbeat of the service: pull a calendar, then detect, flag and unflag (SPEC §5, §6, §9).

:func:`run_calendar_cycle` is what a scheduler calls for one calendar: it pulls what changed
(:func:`sync.pull.pull_calendar`), re-evaluates the patients whose bookings changed across
every calendar of the clinic, stores the conflicts' states, writes or removes the flags on
the calendars, and records each step in the audit trail (SPEC §8).
:func:`run_clinic_pass` runs it once for every enabled calendar (``sync --once``).

Every step is idempotent and reads its state from the store and the calendar, so a
process killed at any point converges on the next run (SPEC §9).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sync.bootstrap import Services
from sync.pull import CalendarPull, LiveBookings, pull_calendar
from sync.store.clinics import get_clinic
from sync.store.database import session_scope
from sync.store.sources import Provider, get_source, list_sources

__all__ = ["CalendarCycle", "PassReport", "run_calendar_cycle", "run_clinic_pass"]


@dataclass(frozen=True, slots=True)
class CalendarCycle:
    """What one cycle of one calendar did: its pull, then detection and flag writes."""

    pull: CalendarPull
    detected: int = 0
    """Conflicts seen for the first time."""
    resolved: int = 0
    flagged: int = 0
    """Events whose flag was written (or rewritten)."""
    unflagged: int = 0
    skipped_writes: int = 0
    """Writes left out on purpose: dry run, already started, read-only, gave up on 412."""
    write_failures: int = 0

    @property
    def ok(self) -> bool:
        return self.pull.ok and self.write_failures == 0


@dataclass(frozen=True, slots=True)
class PassReport:
    """One pass over every enabled calendar of a clinic."""

    clinic: str
    cycles: tuple[CalendarCycle, ...]

    @property
    def all_failed(self) -> bool:
        """True when there were calendars and none of them could be pulled."""
        return bool(self.cycles) and not any(cycle.pull.ok for cycle in self.cycles)


def run_calendar_cycle(
    services: Services,
    source_id: int,
    *,
    now: datetime,
    dry_run: bool | None = None,
    live: LiveBookings | None = None,
) -> CalendarCycle:
    """Pull calendar ``source_id`` once, then reconcile the clinic's conflicts and flags.

    ``dry_run`` (default: the settings' ``dry_run``) records what would be written and
    writes nothing. A provider failure of the pull is recorded on the calendar, not raised.
    """
    with session_scope(services.engine) as session:
        source = get_source(session, source_id)
    pull = pull_calendar(
        services.engine,
        services.google,
        services.reader,
        source,
        poll_interval=services.poll_interval,
        now=now,
        live=live,
    )
    return CalendarCycle(pull=pull)


def run_clinic_pass(services: Services, *, now: datetime) -> PassReport:
    """Run one cycle for every enabled Google calendar of the configured clinic."""
    clinic = services.settings.clinic
    with session_scope(services.engine) as session:
        sources = list_sources(session, get_clinic(session, clinic).id, enabled_only=True)
    live = LiveBookings()
    cycles = tuple(
        run_calendar_cycle(services, source.id, now=now, live=live)
        for source in sources
        if source.provider is Provider.GOOGLE
    )
    return PassReport(clinic, cycles)
