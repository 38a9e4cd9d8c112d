"""events.list filters (https://developers.google.com/calendar/api/v3/reference/events/list)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from googleapiclient.errors import HttpError

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
