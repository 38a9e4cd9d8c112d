"""One contract for every calendar source (SPEC §9 "other sources behind the same interface").

The same tests run against Google (the real client against the emulator), CalDAV (a real
Radicale server) and an .ics subscription (a real HTTP server): list and get calendars,
a first pull returns the events, a second pull with its cursor returns nothing, changes
and deletions show up, and flags round-trip where the calendar is writable.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest
from caldav.collection import Calendar
from caldav.davclient import DAVClient

from rules.flag import FlagPatch
from sync.emulator import EmulatorServer
from sync.sources.caldav import CalDavSource
from sync.sources.google import (
    CalendarClient,
    ClientConfig,
    GoogleAuth,
    GoogleCalendarSource,
    RetryPolicy,
)
from sync.sources.icsurl import IcsUrlSource
from sync.sources.port import CalendarReadOnly, CalendarSource, EventChanged
from tests.caldav.conftest import NOW, dav_client, new_calendar, radicale_url, vcalendar, vevent
from tests.icsurl.conftest import FeedServer, feed

__all__ = ["dav_client", "feed", "new_calendar", "radicale_url"]

_uids = itertools.count()


class Backend(Protocol):
    """A calendar behind one source, and how staff change it."""

    source: CalendarSource
    calendar_id: str
    writable: bool

    def add(self, summary: str, start: str) -> str: ...
    def change(self, key: str, summary: str) -> None: ...
    def delete(self, key: str) -> None: ...


def _utc(start: str) -> str:
    """``20300110T100000Z`` → ``2030-01-10T10:00:00+00:00``."""
    return f"{start[:4]}-{start[4:6]}-{start[6:8]}T{start[9:11]}:{start[11:13]}:00+00:00"


class GoogleBackend:
    writable = True

    def __init__(self, client: CalendarClient) -> None:
        self.service = client.service()
        self.source = GoogleCalendarSource(
            client, retry=RetryPolicy(max_attempts=1), now=lambda: NOW
        )
        body = {"summary": "Dr Smith", "timeZone": "Europe/London"}
        self.calendar_id = str(self.service.calendars().insert(body=body).execute()["id"])
        self.starts: dict[str, str] = {}

    def add(self, summary: str, start: str) -> str:
        when = {"dateTime": _utc(start)}
        body = {"summary": summary, "start": when, "end": when}
        events = self.service.events()
        return str(events.insert(calendarId=self.calendar_id, body=body).execute()["id"])

    def change(self, key: str, summary: str) -> None:
        events = self.service.events()
        events.patch(calendarId=self.calendar_id, eventId=key, body={"summary": summary}).execute()

    def delete(self, key: str) -> None:
        self.service.events().delete(calendarId=self.calendar_id, eventId=key).execute()


class CalDavBackend:
    writable = True

    def __init__(self, client: DAVClient, calendar: Calendar) -> None:
        self.source = CalDavSource(client, now=lambda: NOW)
        self.calendar = calendar
        self.calendar_id = str(calendar.url)
        self.starts: dict[str, str] = {}

    def add(self, summary: str, start: str) -> str:
        uid = f"event-{next(_uids)}"
        self.starts[uid] = start
        self.calendar.save_event(vcalendar(vevent(uid, summary, start)))
        return uid

    def change(self, key: str, summary: str) -> None:
        self.calendar.save_event(vcalendar(vevent(key, summary, self.starts[key])))

    def delete(self, key: str) -> None:
        self.calendar.get_event_by_uid(key).delete()


class IcsBackend:
    writable = False

    def __init__(self, feed: FeedServer) -> None:
        self.source = IcsUrlSource([feed.url], now=lambda: NOW)
        self.feed = feed
        self.calendar_id = feed.url
        self.events: dict[str, tuple[str, str]] = {}
        self._publish()

    def add(self, summary: str, start: str) -> str:
        uid = f"event-{next(_uids)}"
        self.events[uid] = (summary, start)
        self._publish()
        return uid

    def change(self, key: str, summary: str) -> None:
        self.events[key] = (summary, self.events[key][1])
        self._publish()

    def delete(self, key: str) -> None:
        del self.events[key]
        self._publish()

    def _publish(self) -> None:
        self.feed.serve(*(vevent(uid, s, start) for uid, (s, start) in self.events.items()))


@pytest.fixture(scope="module")
def _emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(params=["google", "caldav", "ics"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "google":
        emulator: EmulatorServer = request.getfixturevalue("_emulator")
        emulator.reset()
        client = CalendarClient(ClientConfig(endpoint=emulator.url, auth=GoogleAuth.NONE))
        yield GoogleBackend(client)
        client.close()
    elif request.param == "caldav":
        make: Callable[..., Calendar] = request.getfixturevalue("new_calendar")
        yield CalDavBackend(request.getfixturevalue("dav_client"), make())
    else:
        yield IcsBackend(request.getfixturevalue("feed"))


def _summaries(events: Any) -> list[str]:
    return sorted(event.booking.summary for event in events)


def test_calendar_is_listed_and_can_be_read(backend: Backend) -> None:
    assert backend.calendar_id in {c.id for c in backend.source.list_calendars()}
    calendar = backend.source.get_calendar(backend.calendar_id)
    assert calendar.id == backend.calendar_id
    assert calendar.writable is backend.writable


def test_first_pull_returns_the_events(backend: Backend) -> None:
    backend.add("Microneedling Jane Doe", "20300103T100000Z")
    backend.add("Botox Jane Doe", "20300110T100000Z")
    changes = backend.source.pull(backend.calendar_id, None)
    assert changes.full
    assert _summaries(changes.events) == ["Botox Jane Doe", "Microneedling Jane Doe"]


def test_second_pull_with_the_cursor_returns_nothing(backend: Backend) -> None:
    backend.add("Botox Jane Doe", "20300110T100000Z")
    first = backend.source.pull(backend.calendar_id, None)
    second = backend.source.pull(backend.calendar_id, first.cursor)
    assert (second.events, second.removed, second.full) == ((), (), False)


def test_a_change_shows_up(backend: Backend) -> None:
    key = backend.add("Botox Jane Doe", "20300110T100000Z")
    backend.add("Microneedling Jane Doe", "20300103T100000Z")
    first = backend.source.pull(backend.calendar_id, None)
    backend.change(key, "Botox 20u Jane Doe")
    second = backend.source.pull(backend.calendar_id, first.cursor)
    assert _summaries(second.events) == ["Botox 20u Jane Doe"]


def test_a_delete_shows_up(backend: Backend) -> None:
    key = backend.add("Botox Jane Doe", "20300110T100000Z")
    first = backend.source.pull(backend.calendar_id, None)
    (event_id,) = (event.booking.id for event in first.events)
    backend.delete(key)
    second = backend.source.pull(backend.calendar_id, first.cursor)
    assert second.removed == (event_id,)
    assert second.events == ()


def test_flags_round_trip_where_the_calendar_is_writable(backend: Backend) -> None:
    backend.add("Botox Jane Doe", "20300110T100000Z")
    (event,) = backend.source.pull(backend.calendar_id, None).events
    patch = FlagPatch(description="FLAG", color_id="11", private={"clinicSyncConflict": "c1"})
    if not backend.writable:
        with pytest.raises(CalendarReadOnly):
            backend.source.write_flag(backend.calendar_id, event.booking.id, patch, etag='"x"')
        return
    current = backend.source.get_event(backend.calendar_id, event.booking.id)
    assert current is not None
    backend.source.write_flag(backend.calendar_id, event.booking.id, patch, etag=current.etag)
    after = backend.source.get_event(backend.calendar_id, event.booking.id)
    assert after is not None
    assert (after.flag_state.description, after.flag_state.color_id) == ("FLAG", "11")
    assert after.flag_state.private["clinicSyncConflict"] == "c1"
    with pytest.raises(EventChanged):
        backend.source.write_flag(backend.calendar_id, event.booking.id, patch, etag=current.etag)
