"""Google event JSON → bookings (sync.sources.google.mapping), on resources as Google sends them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rules.model import Attendee
from sync.sources.google.mapping import CalendarView, MalformedEvent, is_removed, read_event
from sync.store.events import EventStatus

LONDON = CalendarView("dr-smith@clinic.example", "Dr Smith", ZoneInfo("Europe/London"))


def event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "evt00001",
        "status": "confirmed",
        "summary": "Botox Jane Doe",
        "start": {"dateTime": "2030-03-01T10:00:00Z"},
        "end": {"dateTime": "2030-03-01T11:00:00Z"},
    }
    return base | fields


def test_a_late_evening_utc_event_lands_on_the_next_london_day_in_summer() -> None:
    item = event(
        start={"dateTime": "2030-07-01T23:30:00Z"}, end={"dateTime": "2030-07-02T00:30:00Z"}
    )
    read = read_event(item, LONDON)
    assert read.booking.day == date(2030, 7, 2)
    assert read.start == datetime.fromisoformat("2030-07-01T23:30:00+00:00")


def test_the_same_instant_in_winter_stays_on_its_day() -> None:
    item = event(
        start={"dateTime": "2030-01-01T23:30:00Z"}, end={"dateTime": "2030-01-02T00:30:00Z"}
    )
    assert read_event(item, LONDON).booking.day == date(2030, 1, 1)


def test_a_local_time_with_its_zone_is_read_in_that_zone() -> None:
    item = event(
        start={"dateTime": "2030-07-01T20:00:00", "timeZone": "America/New_York"},
        end={"dateTime": "2030-07-01T21:00:00", "timeZone": "America/New_York"},
    )
    assert read_event(item, LONDON).booking.day == date(2030, 7, 2)  # 01:00 in London


def test_all_day_events_start_at_local_midnight_on_their_date() -> None:
    read = read_event(event(start={"date": "2030-07-03"}, end={"date": "2030-07-04"}), LONDON)
    assert (read.booking.day, read.all_day) == (date(2030, 7, 3), True)
    assert read.start == datetime(2030, 7, 3, tzinfo=ZoneInfo("Europe/London"))
    assert read.end == datetime(2030, 7, 4, tzinfo=ZoneInfo("Europe/London"))


def test_people_calendar_and_explicit_patient_id_are_kept() -> None:
    item = event(
        organizer={"email": "reception@clinic.example"},
        attendees=[
            {"email": "jane@example.com", "responseStatus": "declined"},
            {"email": "dr-smith@clinic.example", "self": True, "organizer": True},
            {"email": "room-1@resource.calendar.google.com", "resource": True},
            {"displayName": "no address"},
        ],
        extendedProperties={"private": {"patient_id": " P-42 ", "other": 7}},
    )
    booking = read_event(item, LONDON).booking
    assert booking.patient_id == "P-42"
    assert booking.calendar_email == "dr-smith@clinic.example"
    assert booking.organizer_email == "reception@clinic.example"
    assert booking.attendees == (
        Attendee("jane@example.com", response="declined"),
        Attendee("dr-smith@clinic.example", organizer=True, is_self=True, response="needsAction"),
        Attendee("room-1@resource.calendar.google.com", resource=True),
    )


def test_the_patient_id_property_is_configurable() -> None:
    view = CalendarView(LONDON.id, LONDON.name, LONDON.zone, patient_id_property="mrn")
    item = event(extendedProperties={"private": {"mrn": "M7", "patient_id": "ignored"}})
    assert read_event(item, view).booking.patient_id == "M7"


def test_an_instance_is_its_own_booking_sharing_the_series_uid() -> None:
    item = event(
        id="series01_20300301T100000Z",
        recurringEventId="series01",
        iCalUID="series01@google.com",
        originalStartTime={"dateTime": "2030-03-01T10:00:00Z"},
    )
    read = read_event(item, LONDON)
    assert (read.booking.id, read.booking.uid) == (
        "series01_20300301T100000Z",
        "series01@google.com",
    )
    assert read.recurring_event_id == "series01"


def test_tentative_status_and_server_fields_are_kept() -> None:
    item = event(status="tentative", etag='"123"', updated="2029-12-01T10:00:00.000Z")
    read = read_event(item, LONDON)
    assert (read.status, read.etag) == (EventStatus.TENTATIVE, '"123"')
    assert read.updated == datetime.fromisoformat("2029-12-01T10:00:00+00:00")


def test_cancelled_events_are_removals() -> None:
    assert is_removed({"id": "evt00001", "status": "cancelled"})
    assert not is_removed(event())


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"start": None}, "the event has no start"),
        ({"start": {}}, "the event has no start"),
        ({"id": None}, "the event has no id"),
        ({"start": {"date": "2030-02-30"}}, "the start date '2030-02-30' is not a date"),
        ({"start": {"dateTime": "tomorrow"}}, "the start time 'tomorrow' is not an RFC 3339 time"),
        (
            {"start": {"dateTime": "2030-03-01T10:00:00", "timeZone": "Mars/Olympus"}},
            "the start time zone 'Mars/Olympus' is unknown",
        ),
    ],
)
def test_malformed_events_are_refused_with_a_reason(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(MalformedEvent, match=f"^{reason}$".replace("(", r"\(")):
        read_event(event(**fields), LONDON)
