"""calendars and calendarList (https://developers.google.com/calendar/api/v3/reference/calendars)."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from sync.emulator import EmulatorServer


def test_inserted_calendar_can_be_read_back(service: Any) -> None:
    created = (
        service.calendars()
        .insert(body={"summary": "Room 1", "timeZone": "Europe/London"})
        .execute()
    )
    fetched = service.calendars().get(calendarId=created["id"]).execute()
    assert fetched["summary"] == "Room 1"
    assert fetched["timeZone"] == "Europe/London"
    assert fetched["kind"] == "calendar#calendar"
    assert created["id"].endswith("@group.calendar.google.com")


def test_primary_is_an_alias_of_the_owner_calendar(service: Any, emulator: EmulatorServer) -> None:
    assert service.calendars().get(calendarId="primary").execute()["id"] == emulator.store.owner


def test_calendar_list_pages_through_every_calendar(service: Any) -> None:
    for n in range(4):
        service.calendars().insert(body={"summary": f"Room {n}"}).execute()
    seen, token, pages = [], None, 0
    while True:
        page = service.calendarList().list(maxResults=2, pageToken=token).execute()
        seen += [c["summary"] for c in page["items"]]
        pages += 1
        token = page.get("nextPageToken")
        if token is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(["owner@clinic.example", *(f"Room {n}" for n in range(4))])


def test_calendar_list_marks_the_primary_calendar(service: Any) -> None:
    items = service.calendarList().list().execute()["items"]
    assert [c["id"] for c in items if c.get("primary")] == ["owner@clinic.example"]
    assert all(c["accessRole"] == "owner" for c in items)


def test_deleted_calendar_is_not_found(service: Any, calendar_id: str) -> None:
    service.calendars().delete(calendarId=calendar_id).execute()
    with pytest.raises(HttpError) as caught:
        service.calendars().get(calendarId=calendar_id).execute()
    assert caught.value.status_code == 404
    assert caught.value.error_details[0]["reason"] == "notFound"


def test_calendar_without_summary_is_refused(service: Any) -> None:
    with pytest.raises(HttpError) as caught:
        service.calendars().insert(body={"timeZone": "Europe/London"}).execute()
    assert caught.value.status_code == 400
