"""One calendar source over every provider a clinic connected (SPEC §9).

The pull, detection and flags speak to a single :class:`~sync.sources.port.CalendarSource`
and never ask which provider a calendar lives on. :class:`CalendarRouter` is that source:
it looks up each calendar's provider among the clinic's calendars in the store (Google,
CalDAV or a read-only .ics URL) and hands the call to that provider's source, opened on
first use — a clinic that connected no CalDAV account never needs CalDAV credentials.
What it remembers is the clinic's own calendars, never the store's: a worker keeps a router
for each clinic it serves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import Engine

from rules.flag import FlagPatch
from rules.slots import BusyPeriod
from sync.errors import SetupError
from sync.sources.port import CalendarSource, ChangeSet, RemoteCalendar, RemoteEvent
from sync.store.database import session_scope
from sync.store.sources import Provider, list_sources

__all__ = ["CalendarRouter", "SourceFactory"]

SourceFactory = Callable[[], CalendarSource]
"""Opens one provider's source (credentials are read then, not before)."""


class CalendarRouter:
    """Routes each call to the source of the provider the calendar belongs to."""

    def __init__(
        self, engine: Engine, clinic_id: int, factories: Mapping[Provider, SourceFactory]
    ) -> None:
        self._engine = engine
        self._clinic_id = clinic_id
        self._factories = dict(factories)
        self._opened: dict[Provider, CalendarSource] = {}
        self._providers: dict[str, Provider] = {}
        self._lock = threading.Lock()

    def source(self, provider: Provider) -> CalendarSource:
        """The source of ``provider``, opened once."""
        with self._lock:
            opened = self._opened.get(provider)
            if opened is None:
                factory = self._factories.get(provider)
                if factory is None:
                    raise SetupError(f"no {provider.value} connection is configured")
                opened = self._opened[provider] = factory()
            return opened

    def list_calendars(self) -> list[RemoteCalendar]:
        """Every calendar of every configured provider."""
        return [
            cal for provider in self._factories for cal in self.source(provider).list_calendars()
        ]

    def get_calendar(self, calendar_id: str) -> RemoteCalendar:
        return self._route(calendar_id).get_calendar(calendar_id)

    def pull(self, calendar_id: str, cursor: str | None) -> ChangeSet:
        return self._route(calendar_id).pull(calendar_id, cursor)

    def get_event(self, calendar_id: str, event_id: str) -> RemoteEvent | None:
        return self._route(calendar_id).get_event(calendar_id, event_id)

    def write_flag(
        self, calendar_id: str, event_id: str, patch: FlagPatch, *, etag: str
    ) -> RemoteEvent:
        return self._route(calendar_id).write_flag(calendar_id, event_id, patch, etag=etag)

    def free_busy(self, calendar_id: str, start: datetime, end: datetime) -> list[BusyPeriod]:
        return self._route(calendar_id).free_busy(calendar_id, start, end)

    def close(self) -> None:
        """Close every provider source that was opened."""
        with self._lock:
            opened, self._opened = list(self._opened.values()), {}
        for source in opened:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    def _route(self, calendar_id: str) -> CalendarSource:
        provider = self._providers.get(calendar_id)
        if provider is None:
            self._providers = self._known_calendars()
            provider = self._providers.get(calendar_id)
        if provider is None:
            raise SetupError(f"calendar {calendar_id!r} is not connected to this clinic")
        return self.source(provider)

    def _known_calendars(self) -> dict[str, Provider]:
        with session_scope(self._engine) as session:
            sources = list_sources(session, self._clinic_id)
            return {s.external_id: s.provider for s in sources}
