"""Out-of-office, focus time, working location, birthdays and Gmail events are not bookings.

Google returns every ``eventType`` when the listing names none
(https://developers.google.com/calendar/api/guides/event-types); the pull leaves those out
with a recorded reason, and a booking that becomes one leaves the store. Emulator, real
client, SQLite and PostgreSQL. Google does not let an event's type change (the emulator
refuses it as Google does), so a type is only ever met on arrival or deletion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from sync.emulator import EmulatorServer
from sync.sources.google import GoogleCalendarSource
from sync.sources.google.mapping import NOT_BOOKINGS
from sync.store.clinics import get_clinic
from sync.store.database import session_scope
from sync.store.quarantine import list_quarantined
from sync.usecases.pull import BookingReader, pull_clinic
from tests.google.conftest import NOW, connect, live_summaries

Insert = Callable[..., dict[str, Any]]
Json = dict[str, Any]
START = "2030-01-10T10:00:00+00:00"


def _not_a_booking(kind: str, emulator: EmulatorServer, service: Any, calendar: str) -> Json:
    """An event of ``kind`` made the way Google allows it: status events on the primary
    calendar, a birthday as a yearly all-day event, a Gmail event only by Gmail (a seed)."""
    body: Json = {"summary": "Botox out of office", "eventType": kind}
    if kind == "birthday":
        day = {"start": {"date": "2030-01-10"}, "end": {"date": "2030-01-11"}}
        body |= {**day, "recurrence": ["RRULE:FREQ=YEARLY"]}
    else:
        body |= {
            "start": {"dateTime": START},
            "end": {"dateTime": "2030-01-10T11:00:00+00:00"},
        }
    if kind == "fromGmail":
        return dict(emulator.account.store.insert_event(calendar, body, imported=True))
    return dict(service.events().insert(calendarId=calendar, body=body).execute())


@pytest.mark.parametrize("kind", sorted(NOT_BOOKINGS))
def test_an_event_that_is_not_a_booking_is_skipped_with_its_reason(
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    emulator: EmulatorServer,
    service: Any,
    insert: Insert,
    kind: str,
) -> None:
    primary = emulator.account.store.owner
    connect(engine, primary)
    booking = insert(primary, "Botox Jane Doe", START)
    other = _not_a_booking(kind, emulator, service, primary)
    (pull,) = pull_clinic(engine, source, reader, "default", now=NOW).calendars
    assert list(live_summaries(engine)) == [booking["id"]]
    assert pull.ignored  # a birthday comes as its yearly instances, ids {series id}_{day}
    assert all(s.event_id.startswith(other["id"]) for s in pull.ignored)
    assert all(kind in s.reason for s in pull.ignored)
    assert pull.skipped == ()
    with session_scope(engine) as session:
        assert list_quarantined(session, get_clinic(session, "default").id) == []


def test_a_status_event_arriving_and_leaving_incrementally_never_touches_the_store(
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    emulator: EmulatorServer,
    service: Any,
    insert: Insert,
) -> None:
    primary = emulator.account.store.owner
    connect(engine, primary)
    booking = insert(primary, "Botox Jane Doe", START)
    pull_clinic(engine, source, reader, "default", now=NOW)
    away = _not_a_booking("outOfOffice", emulator, service, primary)
    (pull,) = pull_clinic(engine, source, reader, "default", now=NOW).calendars
    assert (pull.full, pull.inserted, [s.event_id for s in pull.ignored]) == (
        False,
        0,
        [away["id"]],
    )
    service.events().delete(calendarId=primary, eventId=away["id"]).execute()
    (pull,) = pull_clinic(engine, source, reader, "default", now=NOW).calendars
    assert (pull.deleted, pull.changed) == (0, ())
    assert list(live_summaries(engine)) == [booking["id"]]
