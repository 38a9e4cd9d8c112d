"""events.list filters (https://developers.google.com/calendar/api/v3/reference/events/list)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from tests.emulator.conftest import timed

Insert = Callable[..., dict[str, Any]]


def _summaries(service: Any, calendar_id: str, **params: Any) -> list[str]:
    items = service.events().list(calendarId=calendar_id, **params).execute()["items"]
    return sorted(e["summary"] for e in items)


def test_time_window_keeps_events_overlapping_it(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    for day in (1, 2, 3):
        insert(f"day {day}", day=day)
    window = {"timeMin": "2030-01-01T10:30:00Z", "timeMax": "2030-01-02T10:00:00Z"}
    assert _summaries(service, calendar_id, **window) == ["day 1"]


def test_free_text_search_looks_at_summary_description_and_attendees(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    insert("Botox 20u")
    insert("Follow-up", description="Service: Microneedling")
    insert("Consult", attendees=[{"email": "jane.doe@example.com"}])
    assert _summaries(service, calendar_id, q="botox") == ["Botox 20u"]
    assert _summaries(service, calendar_id, q="MICRONEEDLING") == ["Follow-up"]
    assert _summaries(service, calendar_id, q="jane.doe") == ["Consult"]


def test_extended_property_filters_match_all_constraints(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    insert("a", extendedProperties={"private": {"patient_id": "p1", "flag": "1"}})
    insert("b", extendedProperties={"private": {"patient_id": "p1"}, "shared": {"room": "2"}})
    assert _summaries(service, calendar_id, privateExtendedProperty="patient_id=p1") == ["a", "b"]
    both = ["patient_id=p1", "flag=1"]
    assert _summaries(service, calendar_id, privateExtendedProperty=both) == ["a"]
    assert _summaries(service, calendar_id, sharedExtendedProperty="room=2") == ["b"]
    assert _summaries(service, calendar_id, sharedExtendedProperty="patient_id=p1") == []


def test_ical_uid_and_updated_min_filters(insert: Insert, service: Any, calendar_id: str) -> None:
    first = insert("first")
    second = insert("second")
    assert _summaries(service, calendar_id, iCalUID=first["iCalUID"]) == ["first"]
    assert _summaries(service, calendar_id, updatedMin=second["updated"]) == ["second"]


def test_order_by_updated(insert: Insert, service: Any, calendar_id: str) -> None:
    a, _ = insert("a"), insert("b")
    service.events().patch(calendarId=calendar_id, eventId=a["id"], body={"colorId": "2"}).execute()
    items = service.events().list(calendarId=calendar_id, orderBy="updated").execute()["items"]
    assert [e["summary"] for e in items] == ["b", "a"]


def test_order_by_start_time_needs_single_events(service: Any, calendar_id: str) -> None:
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id, orderBy="startTime").execute()
    assert caught.value.status_code == 400


def test_max_results_must_be_positive(service: Any, calendar_id: str) -> None:
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id, maxResults=0).execute()
    assert caught.value.status_code == 400


def test_list_envelope_describes_the_calendar(service: Any, calendar_id: str) -> None:
    body = service.events().list(calendarId=calendar_id).execute()
    assert body["kind"] == "calendar#events"
    assert (body["summary"], body["timeZone"], body["accessRole"]) == (
        "Dr Smith",
        "Europe/London",
        "owner",
    )


def test_time_max_not_after_time_min_is_time_range_empty(service: Any, calendar_id: str) -> None:
    for time_max in ("2030-01-01T10:00:00Z", "2030-01-01T09:00:00Z"):
        request = service.events().list(
            calendarId=calendar_id, timeMin="2030-01-01T10:00:00Z", timeMax=time_max
        )
        with pytest.raises(HttpError) as caught:
            request.execute()
        assert caught.value.status_code == 400
        assert b"timeRangeEmpty" in caught.value.content


def test_updated_min_lists_entries_deleted_since_whatever_show_deleted_says(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    kept, gone = insert("kept"), insert("gone")
    service.events().delete(calendarId=calendar_id, eventId=gone["id"]).execute()
    since = kept["updated"]
    items = service.events().list(calendarId=calendar_id, updatedMin=since).execute()["items"]
    assert sorted((e["summary"], e["status"]) for e in items) == [
        ("gone", "cancelled"),
        ("kept", "confirmed"),
    ]
    plain = service.events().list(calendarId=calendar_id).execute()["items"]
    assert [e["summary"] for e in plain] == ["kept"]


def test_a_long_series_is_expanded_in_any_window_at_the_cost_of_the_window(
    service: Any, calendar_id: str
) -> None:
    """No cap at 1,000 occurrences: an hourly series begun in 1990 has ~350,000 by 2030."""
    zone = "Europe/London"
    body = {
        "summary": "Room booked",
        "start": {"dateTime": "1990-01-01T00:00:00", "timeZone": zone},
        "end": {"dateTime": "1990-01-01T00:30:00", "timeZone": zone},
        "recurrence": ["RRULE:FREQ=HOURLY"],
    }
    service.events().insert(calendarId=calendar_id, body=body).execute()
    started = time.perf_counter()
    week = service.events().list(
        calendarId=calendar_id,
        singleEvents=True,
        timeMin="2030-06-03T00:00:00Z",
        timeMax="2030-06-10T00:00:00Z",
        maxResults=2500,
    )
    items = week.execute()["items"]
    assert time.perf_counter() - started < 2.0
    assert len(items) == 7 * 24
    assert items[0]["start"]["dateTime"] == "2030-06-03T01:00:00+01:00"  # BST
    assert items[0]["id"].endswith("_20300603T000000Z")


def test_a_window_wider_than_a_thousand_occurrences_lists_them_all(
    service: Any, calendar_id: str
) -> None:
    body = {
        "summary": "Daily huddle",
        "start": {"dateTime": "2030-01-01T08:00:00", "timeZone": "Europe/London"},
        "end": {"dateTime": "2030-01-01T08:15:00", "timeZone": "Europe/London"},
        "recurrence": ["RRULE:FREQ=DAILY"],
    }
    service.events().insert(calendarId=calendar_id, body=body).execute()
    items = (
        service.events()
        .list(
            calendarId=calendar_id,
            singleEvents=True,
            timeMin="2030-01-01T00:00:00Z",
            timeMax="2034-01-01T00:00:00Z",
            maxResults=2500,
        )
        .execute()["items"]
    )
    assert len(items) == 1461


def test_date_times_come_back_with_the_offset_of_the_event_or_calendar_zone(
    service: Any,
) -> None:
    body = {"summary": "New York clinic", "timeZone": "America/New_York"}
    calendar = service.calendars().insert(body=body).execute()["id"]
    in_utc = timed("2030-01-15T15:00:00Z", "2030-01-15T16:00:00Z", summary="a")
    in_tokyo = {
        "summary": "b",
        "start": {"dateTime": "2030-07-01T09:00:00", "timeZone": "Asia/Tokyo"},
        "end": {"dateTime": "2030-07-01T10:00:00", "timeZone": "Asia/Tokyo"},
    }
    a = service.events().insert(calendarId=calendar, body=in_utc).execute()
    b = service.events().insert(calendarId=calendar, body=in_tokyo).execute()
    assert a["start"]["dateTime"] == "2030-01-15T10:00:00-05:00"
    assert b["start"]["dateTime"] == "2030-07-01T09:00:00+09:00"
    listed = service.events().list(calendarId=calendar).execute()["items"]
    assert [e["end"]["dateTime"] for e in listed] == [
        "2030-01-15T11:00:00-05:00",
        "2030-07-01T10:00:00+09:00",
    ]
