"""The calendar-source port: what the sync worker asks of any calendar provider (SPEC §9).

The worker speaks to a :class:`CalendarSource`, never to Google directly (STYLE: a port is
a small Protocol; each provider implements it). A source lists the calendars it can reach
and pulls what changed on one calendar since an opaque cursor — for Google, a sync token
(https://developers.google.com/calendar/api/guides/sync). Changes come back as
provider-neutral :class:`~sync.store.events.StoredEvent` records, ids of events that are
gone, the next cursor, and whether this was a full listing (first sync, or after the
provider dropped the cursor), so the caller knows that events it holds and did not see
are gone too.

Not yet part of the protocol: ``get_event``, ``write_flag`` and ``remove_flag``
(SPEC §6) arrive with flags; sources must not grow them ad hoc before then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sync.store.events import StoredEvent

__all__ = ["CalendarSource", "ChangeSet", "RemoteCalendar", "SkippedEvent"]


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
    """An event that could not be read, and why (never silently dropped)."""

    event_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What changed on one calendar since a cursor.

    ``events`` are new or changed events (``categories`` and ``patient`` not yet read);
    ``removed`` are ids of events deleted or cancelled on the calendar. When ``full`` is
    true the listing covered every event from ``window[0]`` to ``window[1]`` (local days),
    so a stored event of those days missing from ``events`` is gone as well.
    ``requests`` counts the HTTP requests the pull made, retries included.
    """

    events: tuple[StoredEvent, ...]
    removed: tuple[str, ...]
    cursor: str | None
    full: bool
    window: tuple[date, date] | None = None
    skipped: tuple[SkippedEvent, ...] = ()
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
