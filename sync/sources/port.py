"""The calendar-source port: what the sync worker asks of any calendar provider (SPEC §9).

The worker speaks to a :class:`CalendarSource`, never to Google directly (STYLE: a port is
a small Protocol; each provider implements it). A source lists the calendars it can reach
and pulls what changed on one calendar since an opaque cursor — for Google, a sync token
(https://developers.google.com/calendar/api/guides/sync). Changes come back as
provider-neutral :class:`~sync.sources.events.StoredEvent` records, ids of events that are
gone, the next cursor, and whether this was a full listing (first sync, or after the
provider dropped the cursor), so the caller knows that events it holds and did not see
are gone too.

Flags (SPEC §6) go through two more calls: :meth:`CalendarSource.get_event` reads what
an event holds now (description, colour, private properties, ETag) and
:meth:`CalendarSource.write_flag` applies a :class:`~rules.flag.FlagPatch` — putting a
flag on or taking it off — only if the event still has the ETag it was read with
(If-Match). A staff edit made in between makes it raise :class:`EventChanged`; the caller
re-reads and decides again, so a staff edit is never overwritten.

:meth:`CalendarSource.free_busy` says when a calendar is busy, for the free slots a flag
offers to rebook on (SPEC §6, §7): Google answers it with freebusy.query
(https://developers.google.com/calendar/api/v3/reference/freebusy/query); other providers
from the calendar's own events. A failure raises a :class:`~sync.errors.ClinicSyncError`,
which the caller turns into a flag that names only the earliest eligible day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from rules.flag import EventFlagState, FlagPatch
from rules.slots import BusyPeriod
from sync.errors import ProviderError, SetupError
from sync.sources.events import EventStatus, StoredEvent

__all__ = [
    "CalendarReadOnly",
    "CalendarSource",
    "ChangeSet",
    "EventChanged",
    "RemoteCalendar",
    "RemoteEvent",
    "SkippedEvent",
    "busy_of_events",
]


class EventChanged(ProviderError):
    """The event changed since it was read (HTTP 412 on If-Match): read it again."""


class CalendarReadOnly(SetupError):
    """The connected account may read this calendar but not write to it."""


@dataclass(frozen=True, slots=True)
class RemoteEvent:
    """What an event holds now, as far as a flag is concerned, and its version."""

    event_id: str
    etag: str
    flag_state: EventFlagState


@dataclass(frozen=True, slots=True)
class RemoteCalendar:
    """A calendar the connected account can see, as the provider lists it."""

    id: str
    summary: str
    time_zone: str
    access_role: str
    """Google's ``accessRole``: owner, writer, reader or freeBusyReader."""
    primary: bool = False

    @property
    def writable(self) -> bool:
        """Whether flags could be written to this calendar (SPEC §6)."""
        return self.access_role in ("owner", "writer")


@dataclass(frozen=True, slots=True)
class SkippedEvent:
    """An event that could not be read or is not a booking, and why (never silently dropped)."""

    event_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What changed on one calendar since a cursor.

    ``events`` are new or changed events (``categories`` and ``patient`` not yet read);
    ``removed`` are ids of events deleted or cancelled on the calendar. When ``full`` is
    true the listing covered every event from ``window[0]`` to ``window[1]`` (local days),
    so a stored event of those days missing from ``events`` is gone as well.
    ``skipped`` are events that could not be read (the pull quarantines them); ``ignored``
    are events that are not bookings (Google's out-of-office, birthdays...), whose ids are
    in ``removed`` too, so a booking that became one leaves the store.
    ``requests`` counts the HTTP requests the pull made, retries included.
    """

    events: tuple[StoredEvent, ...]
    removed: tuple[str, ...]
    cursor: str | None
    full: bool
    window: tuple[date, date] | None = None
    skipped: tuple[SkippedEvent, ...] = ()
    ignored: tuple[SkippedEvent, ...] = ()
    requests: int = 0
    time_zone: str | None = None


class CalendarSource(Protocol):
    """A calendar provider, as the sync worker uses it."""

    def list_calendars(self) -> list[RemoteCalendar]:
        """Every calendar the connected account can see."""
        ...

    def get_calendar(self, calendar_id: str) -> RemoteCalendar:
        """One calendar by id; a :class:`~sync.errors.SetupError` when it cannot be reached."""
        ...

    def pull(self, calendar_id: str, cursor: str | None) -> ChangeSet:
        """Changes on ``calendar_id`` since ``cursor`` (``None``: list everything)."""
        ...

    def get_event(self, calendar_id: str, event_id: str) -> RemoteEvent | None:
        """The event as it is now; ``None`` when it is deleted or cancelled."""
        ...

    def write_flag(
        self, calendar_id: str, event_id: str, patch: FlagPatch, *, etag: str
    ) -> RemoteEvent:
        """Apply ``patch`` if the event still has ``etag``; :class:`EventChanged` if not.

        :class:`CalendarReadOnly` when the account may not write to the calendar.
        """
        ...

    def free_busy(self, calendar_id: str, start: datetime, end: datetime) -> list[BusyPeriod]:
        """When ``calendar_id`` is busy between ``start`` and ``end``: merged, sorted periods."""
        ...


def busy_of_events(
    events: Sequence[StoredEvent], start: datetime, end: datetime
) -> list[BusyPeriod]:
    """The busy periods ``events`` make between ``start`` and ``end``, cut to them and merged.

    For the providers without a free/busy query: a cancelled event leaves its time free,
    as Google's freebusy.query does.
    """
    spans = sorted(
        (max(event.start, start), min(event.end, end))
        for event in events
        if event.status is not EventStatus.CANCELLED
        and not event.booking.cancelled
        and event.start < end
        and event.end > start
    )
    merged: list[BusyPeriod] = []
    for begin, finish in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged
