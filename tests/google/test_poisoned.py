"""A poisoned event costs only itself: the ingest boundary and quarantine (SPEC §9, issue 11).

Hostile text reaches the store through the emulator and the real client, on SQLite and
PostgreSQL: control characters and lone surrogates are removed, over-long fields cut (and
the booking marked), and what still cannot be stored is quarantined while the rest of the
calendar, and the other calendars, are pulled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from sync.sources.google import GoogleCalendarSource
from sync.store.bookings import load_events
from sync.store.database import session_scope
from sync.store.quarantine import list_quarantined
from sync.usecases.pull import BookingReader, PullReport, pull_clinic
from tests.google.conftest import NOW, connect

Insert = Callable[..., dict[str, Any]]
START = "2030-01-10T10:00:00+00:00"

POISONS = {
    "nul in title": {"summary": "Botox\x00 Jane Doe"},
    "600-character word in the name": {"summary": "Botox " + "Jane" + "x" * 600},
    "300-character patient id": {
        "summary": "Botox Jane Doe",
        "extendedProperties": {"private": {"patient_id": "P" * 300}},
    },
    "lone surrogate in title": {"summary": "Botox Jane Doe \ud83d"},
    "nul in an attendee and a property": {
        "summary": "Botox Jane Doe",
        "attendees": [{"email": "jane\x00@example.com"}],
        "extendedProperties": {"private": {"note\x00": "a\x00b"}},
    },
}


def run(engine: Engine, source: GoogleCalendarSource, reader: BookingReader) -> PullReport:
    return pull_clinic(engine, source, reader, "default", now=NOW)


@pytest.mark.parametrize("poison", list(POISONS), ids=list(POISONS))
def test_a_hostile_event_is_stored_cleaned_and_the_calendar_goes_on(
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    new_calendar: Callable[..., str],
    insert: Insert,
    poison: str,
) -> None:
    fields = dict(POISONS[poison])
    summary = fields.pop("summary")
    first, second = new_calendar("Dr A"), new_calendar("Dr B")
    connected = connect(engine, first)
    connect(engine, second)
    bad = insert(first, summary, START, **fields)
    good = insert(first, "Microneedling Ann Lee", START)
    other = insert(second, "Botox Ann Lee", START)
    report = run(engine, source, reader)
    assert [pull.ok for pull in report.calendars] == [True, True]
    assert [pull.inserted for pull in report.calendars] == [2, 1]
    with session_scope(engine) as session:
        events = load_events(session, connected.id, [bad["id"], good["id"]])
        assert list_quarantined(session, connected.clinic_id) == []
    stored = events[bad["id"]]
    assert "\x00" not in stored.booking.summary
    assert stored.booking.summary.encode("utf-8")  # no lone surrogate left
    assert stored.booking.summary.startswith("Botox")
    assert other["id"]


def test_cut_fields_are_marked_on_the_booking(
    engine: Engine, source: GoogleCalendarSource, reader: BookingReader, london: str, insert: Insert
) -> None:
    connected = connect(engine, london)
    event = insert(
        london,
        "Botox Jane Doe",
        START,
        extendedProperties={"private": {"patient_id": "P" * 300}},
    )
    run(engine, source, reader)
    with session_scope(engine) as session:
        stored = load_events(session, connected.id, [event["id"]])[event["id"]]
    assert stored.booking.patient_id == "P" * 256
    assert stored.cut == ("patient_id",)
