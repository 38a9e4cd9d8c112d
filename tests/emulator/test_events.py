"""Event resources and CRUD (https://developers.google.com/calendar/api/v3/reference/events)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from tests.emulator.conftest import timed

Insert = Callable[..., dict[str, Any]]


def _status(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HttpError) as caught:
        call.execute()
    content = caught.value.content
    return caught.value.status_code, json.loads(content) if content else {}


def test_inserted_event_has_google_server_fields(insert: Insert, calendar_id: str) -> None:
    event = insert(summary="Botox 20u")
    assert re.fullmatch(r"[a-v0-9]{26}", event["id"])
    assert event["status"] == "confirmed"
    assert event["kind"] == "calendar#event"
    assert re.fullmatch(r'"\d+"', event["etag"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["updated"])
    assert event["created"] == event["updated"]
    assert event["iCalUID"] == f"{event['id']}@google.com"
    assert event["organizer"] == {"email": calendar_id, "self": True}
    assert event["htmlLink"].startswith("https://www.google.com/calendar/event?eid=")
    assert event["sequence"] == 0


def test_client_chosen_id_is_kept(insert: Insert) -> None:
    assert insert(id="booking00042")["id"] == "booking00042"


@pytest.mark.parametrize("bad_id", ["abc", "has_underscore1", "UPPERCASE1", "wxyz12345"])
def test_ids_outside_base32hex_are_refused(service: Any, calendar_id: str, bad_id: str) -> None:
    body = timed("2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z", id=bad_id)
    status, _ = _status(service.events().insert(calendarId=calendar_id, body=body))
    assert status == 400


def test_duplicate_id_conflicts(insert: Insert, service: Any, calendar_id: str) -> None:
    insert(id="booking00042")
    body = timed("2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z", id="booking00042")
    status, error = _status(service.events().insert(calendarId=calendar_id, body=body))
    assert (status, error["error"]["errors"][0]["reason"]) == (409, "duplicate")


def test_event_without_end_is_refused(service: Any, calendar_id: str) -> None:
    body = {"summary": "x", "start": {"dateTime": "2030-01-01T10:00:00Z"}}
    assert _status(service.events().insert(calendarId=calendar_id, body=body))[0] == 400


def test_event_ending_before_it_starts_is_refused(service: Any, calendar_id: str) -> None:
    body = timed("2030-01-01T10:00:00Z", "2030-01-01T09:00:00Z")
    status, error = _status(service.events().insert(calendarId=calendar_id, body=body))
    assert (status, error["error"]["errors"][0]["reason"]) == (400, "timeRangeEmpty")


def test_all_day_event_round_trips(service: Any, calendar_id: str) -> None:
    body = {"summary": "Closed", "start": {"date": "2030-01-01"}, "end": {"date": "2030-01-02"}}
    created = service.events().insert(calendarId=calendar_id, body=body).execute()
    fetched = service.events().get(calendarId=calendar_id, eventId=created["id"]).execute()
    assert fetched["start"] == {"date": "2030-01-01"}


def test_attendees_get_flags_and_a_response_status(insert: Insert, calendar_id: str) -> None:
    event = insert(attendees=[{"email": "pat@example.com"}, {"email": calendar_id}])
    patient, own = event["attendees"]
    assert patient == {"email": "pat@example.com", "responseStatus": "needsAction"}
    assert own["self"] is True
    assert own["organizer"] is True


def test_unknown_event_is_not_found_in_googles_error_format(service: Any, calendar_id: str) -> None:
    status, body = _status(service.events().get(calendarId=calendar_id, eventId="missing00"))
    assert status == 404
    assert body == {
        "error": {
            "errors": [{"domain": "global", "reason": "notFound", "message": "Not Found"}],
            "code": 404,
            "message": "Not Found",
            "status": "NOT_FOUND",
        }
    }


def test_deleted_event_reads_as_cancelled_and_cannot_be_deleted_twice(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    event = insert()
    service.events().delete(calendarId=calendar_id, eventId=event["id"]).execute()
    fetched = service.events().get(calendarId=calendar_id, eventId=event["id"]).execute()
    assert fetched["status"] == "cancelled"
    status, body = _status(service.events().delete(calendarId=calendar_id, eventId=event["id"]))
    assert (status, body["error"]["errors"][0]["reason"]) == (410, "deleted")


def test_every_modification_changes_the_etag(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    event = insert()
    etags = {event["etag"]}
    for colour in ("1", "2", "2"):
        patched = service.events().patch(
            calendarId=calendar_id, eventId=event["id"], body={"colorId": colour}
        )
        etags.add(patched.execute()["etag"])
    assert len(etags) == 4


def test_if_match_with_a_stale_etag_fails_the_precondition(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    event = insert()
    service.events().patch(
        calendarId=calendar_id, eventId=event["id"], body={"summary": "staff edit"}
    ).execute()
    for make in (
        lambda: service.events().patch(
            calendarId=calendar_id, eventId=event["id"], body={"colorId": "11"}
        ),
        lambda: service.events().update(calendarId=calendar_id, eventId=event["id"], body=event),
        lambda: service.events().delete(calendarId=calendar_id, eventId=event["id"]),
    ):
        request = make()
        request.headers["If-Match"] = event["etag"]
        status, body = _status(request)
        assert (status, body["error"]["errors"][0]["reason"]) == (412, "conditionNotMet")
    current = service.events().get(calendarId=calendar_id, eventId=event["id"]).execute()
    assert current["summary"] == "staff edit"


def test_if_match_with_the_current_etag_succeeds(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    event = insert()
    request = service.events().patch(
        calendarId=calendar_id, eventId=event["id"], body={"colorId": "11"}
    )
    request.headers["If-Match"] = event["etag"]
    assert request.execute()["colorId"] == "11"


def test_if_none_match_with_the_current_etag_is_not_modified(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    event = insert()
    request = service.events().get(calendarId=calendar_id, eventId=event["id"])
    request.headers["If-None-Match"] = event["etag"]
    assert _status(request)[0] == 304
    stale = service.events().get(calendarId=calendar_id, eventId=event["id"])
    stale.headers["If-None-Match"] = '"0"'
    assert stale.execute()["id"] == event["id"]


def test_patch_merges_extended_properties_and_null_removes_a_key(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    event = insert(
        extendedProperties={"private": {"patient_id": "p1", "old": "x"}, "shared": {"s": "1"}}
    )
    body = {"extendedProperties": {"private": {"flag": "conflict-1", "old": None}}}
    patched = (
        service.events().patch(calendarId=calendar_id, eventId=event["id"], body=body).execute()
    )
    assert patched["extendedProperties"] == {
        "private": {"patient_id": "p1", "flag": "conflict-1"},
        "shared": {"s": "1"},
    }


def test_patch_replaces_attendees_wholesale(insert: Insert, service: Any, calendar_id: str) -> None:
    event = insert(attendees=[{"email": "a@example.com"}, {"email": "b@example.com"}])
    body = {"attendees": [{"email": "c@example.com"}]}
    patched = (
        service.events().patch(calendarId=calendar_id, eventId=event["id"], body=body).execute()
    )
    assert [a["email"] for a in patched["attendees"]] == ["c@example.com"]


def test_patch_changing_times_bumps_the_sequence(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    event = insert()
    moved = timed("2030-01-02T10:00:00Z", "2030-01-02T11:00:00Z")
    patched = (
        service.events().patch(calendarId=calendar_id, eventId=event["id"], body=moved).execute()
    )
    assert patched["sequence"] == 1
    assert patched["start"] == moved["start"]


def test_update_replaces_the_resource_but_keeps_server_fields(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    event = insert(description="notes", location="Room 1")
    body = timed("2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z", summary="Dysport")
    updated = (
        service.events().update(calendarId=calendar_id, eventId=event["id"], body=body).execute()
    )
    assert updated["summary"] == "Dysport"
    assert "description" not in updated
    assert "location" not in updated
    assert (updated["id"], updated["created"], updated["iCalUID"]) == (
        event["id"],
        event["created"],
        event["iCalUID"],
    )


def test_unknown_time_zone_is_refused(insert: Insert) -> None:
    """https://developers.google.com/calendar/api/v3/reference/events: timeZone is an IANA name."""
    with pytest.raises(HttpError) as caught:
        insert(
            start={"dateTime": "2026-12-01T10:00:00Z", "timeZone": "Mars/Olympus"},
            end={"dateTime": "2026-12-01T11:00:00Z"},
        )
    assert caught.value.status_code == 400
