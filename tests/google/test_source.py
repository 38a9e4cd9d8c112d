"""GoogleCalendarSource against the emulator: full and incremental sync, 410, pages, recurrence.

Follows https://developers.google.com/calendar/api/guides/sync.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sync.emulator import EmulatorServer
from sync.sources.google import CalendarClient, GoogleCalendarSource
from sync.sources.google.client import batch_uri_for
from tests.google.conftest import NOW

Insert = Callable[..., dict[str, Any]]


def days(change_set: Any) -> dict[str, date]:
    return {e.booking.id: e.booking.day for e in change_set.events}


def test_calendars_are_listed_with_zone_and_access(
    source: GoogleCalendarSource, new_calendar: Callable[..., str]
) -> None:
    paris = new_calendar("Room 2", "Europe/Paris")
    listed = {c.id: c for c in source.list_calendars()}
    assert listed[paris].summary == "Room 2"
    assert listed[paris].time_zone == "Europe/Paris"
    assert listed[paris].writable
    assert listed["owner@clinic.example"].primary


def test_first_pull_is_full_and_later_ones_only_bring_changes(
    source: GoogleCalendarSource, london: str, insert: Insert, service: Any
) -> None:
    first = insert(london, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00")
    full = source.pull(london, None)
    assert (full.full, list(days(full)), full.cursor is not None) == (True, [first["id"]], True)

    second = insert(london, "Botox Jane Doe", "2030-01-20T10:00:00+00:00")
    service.events().patch(calendarId=london, eventId=first["id"], body={"summary": "MN"}).execute()
    changes = source.pull(london, full.cursor)
    assert not changes.full
    assert sorted(days(changes)) == sorted([first["id"], second["id"]])

    service.events().delete(calendarId=london, eventId=second["id"]).execute()
    gone = source.pull(london, changes.cursor)
    assert (gone.events, gone.removed) == ((), (second["id"],))


def test_an_expired_sync_token_falls_back_to_a_full_listing(
    source: GoogleCalendarSource, london: str, insert: Insert, emulator: EmulatorServer
) -> None:
    kept = insert(london, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
    cursor = source.pull(london, None).cursor
    emulator.expire_sync_tokens()
    emulator.reset_stats()
    again = source.pull(london, cursor)
    assert again.full
    assert list(days(again)) == [kept["id"]]
    assert again.requests == 2  # the 410, then the full listing
    assert emulator.stats() == {"events.list": 2}


def test_a_full_listing_follows_every_page(
    client: CalendarClient, london: str, emulator: EmulatorServer, retry: Any
) -> None:
    for n in range(2600):
        day = 1 + n % 28
        body = {
            "summary": f"Botox patient {n}",
            "start": {"dateTime": f"2030-02-{day:02d}T10:00:00Z"},
            "end": {"dateTime": f"2030-02-{day:02d}T11:00:00Z"},
        }
        emulator.store.insert_event(london, body)
    source = GoogleCalendarSource(client, retry=retry, now=lambda: NOW)
    full = source.pull(london, None)
    assert (len(full.events), full.requests) == (2600, 2)
    idle = source.pull(london, full.cursor)
    assert (idle.events, idle.requests) == ((), 1)


def test_recurring_instances_come_expanded_with_their_exceptions(
    source: GoogleCalendarSource, london: str, service: Any
) -> None:
    series = (
        service.events()
        .insert(
            calendarId=london,
            body={
                "summary": "Botox Jane Doe",
                "start": {"dateTime": "2030-01-07T09:00:00", "timeZone": "Europe/London"},
                "end": {"dateTime": "2030-01-07T10:00:00", "timeZone": "Europe/London"},
                "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
            },
        )
        .execute()
    )
    instances = service.events().instances(calendarId=london, eventId=series["id"]).execute()
    second, third = instances["items"][1], instances["items"][2]
    moved = {
        "start": {"dateTime": "2030-01-16T23:30:00Z"},
        "end": {"dateTime": "2030-01-17T00:30:00Z"},
    }
    service.events().patch(calendarId=london, eventId=second["id"], body=moved).execute()
    service.events().delete(calendarId=london, eventId=third["id"]).execute()

    full = source.pull(london, None)
    assert sorted(days(full).values()) == [date(2030, 1, 7), date(2030, 1, 16), date(2030, 1, 28)]
    assert {e.booking.uid for e in full.events} == {series["iCalUID"]}
    assert {e.recurring_event_id for e in full.events} == {series["id"]}

    fourth = instances["items"][3]
    service.events().delete(calendarId=london, eventId=fourth["id"]).execute()
    assert source.pull(london, full.cursor).removed == (fourth["id"],)


def test_an_idle_incremental_poll_costs_one_request_per_calendar(
    source: GoogleCalendarSource,
    new_calendar: Callable[..., str],
    insert: Insert,
    emulator: EmulatorServer,
) -> None:
    calendars = [new_calendar(f"Dr {n}") for n in range(3)]
    for calendar_id in calendars:
        insert(calendar_id, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
    cursors = {c: source.pull(c, None).cursor for c in calendars}
    emulator.reset_stats()
    for calendar_id, cursor in cursors.items():
        assert source.pull(calendar_id, cursor).requests == 1
    assert emulator.stats() == {"events.list": 3}


def test_batches_go_to_the_endpoints_own_batch_url(
    client: CalendarClient, london: str, emulator: EmulatorServer
) -> None:
    assert client.batch_uri == emulator.batch_url
    assert batch_uri_for("https://www.googleapis.com/calendar/v3/") == (
        "https://www.googleapis.com/batch/calendar/v3"
    )
    answers: list[Any] = []
    batch = client.new_batch(callback=lambda _id, response, error: answers.append(error))
    for _ in range(3):
        batch.add(client.service().events().list(calendarId=london))
    batch.execute()
    assert answers == [None, None, None]
    assert emulator.stats() == {"batch": 1, "calendars.insert": 1, "events.list": 3}
