"""Out-of-office, focus time, working location, birthdays and Gmail events are not bookings.

Google returns every ``eventType`` when the listing names none
(https://developers.google.com/calendar/api/guides/event-types); the pull leaves those out
with a recorded reason, and a booking that becomes one leaves the store. Emulator, real
client, SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from sync.google import GoogleCalendarSource
from sync.google.mapping import NOT_BOOKINGS
from sync.pull import BookingReader, pull_clinic
from sync.store.clinics import get_clinic
from sync.store.database import session_scope
from sync.store.quarantine import list_quarantined
from tests.google.conftest import NOW, connect, live_summaries

Insert = Callable[..., dict[str, Any]]
START = "2030-01-10T10:00:00+00:00"


@pytest.mark.parametrize("kind", sorted(NOT_BOOKINGS))
def test_an_event_that_is_not_a_booking_is_skipped_with_its_reason(
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    london: str,
    insert: Insert,
    kind: str,
) -> None:
    connect(engine, london)
    booking = insert(london, "Botox Jane Doe", START)
    other = insert(london, "Botox out of office", START, eventType=kind)
    (pull,) = pull_clinic(engine, source, reader, "default", now=NOW).calendars
    assert list(live_summaries(engine)) == [booking["id"]]
    assert [(s.event_id, kind in s.reason) for s in pull.ignored] == [(other["id"], True)]
    assert pull.skipped == ()
    with session_scope(engine) as session:
        assert list_quarantined(session, get_clinic(session, "default").id) == []


def test_a_booking_whose_type_changes_leaves_the_store_and_comes_back(
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    london: str,
    insert: Insert,
    service: Any,
) -> None:
    connect(engine, london)
    event = insert(london, "Botox Jane Doe", START)
    pull_clinic(engine, source, reader, "default", now=NOW)
    events = service.events()
    events.patch(calendarId=london, eventId=event["id"], body={"eventType": "focusTime"}).execute()
    (pull,) = pull_clinic(engine, source, reader, "default", now=NOW).calendars
    assert (pull.full, pull.deleted, live_summaries(engine)) == (False, 1, {})
    events.patch(calendarId=london, eventId=event["id"], body={"eventType": "default"}).execute()
    (pull,) = pull_clinic(engine, source, reader, "default", now=NOW).calendars
    assert (pull.updated, live_summaries(engine)) == (1, {event["id"]: "Botox Jane Doe"})
