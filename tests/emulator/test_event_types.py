"""``eventType`` and its rules (https://developers.google.com/calendar/api/guides/event-types,
https://developers.google.com/calendar/api/guides/calendar-status)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from sync.emulator import EmulatorServer
from tests.emulator.conftest import timed

Insert = Callable[..., dict[str, Any]]
OOO = timed("2030-01-02T09:00:00Z", "2030-01-02T17:00:00Z", summary="Out of office")
BIRTHDAY = {
    "summary": "Jane's birthday",
    "start": {"date": "2030-01-03"},
    "end": {"date": "2030-01-04"},
    "recurrence": ["RRULE:FREQ=YEARLY"],
    "visibility": "private",
    "transparency": "transparent",
}
BIRTHDAY_EVENT = {**BIRTHDAY, "eventType": "birthday"}


def timed_zoned(start: str, end: str) -> dict[str, Any]:
    zone = "Europe/London"
    return {
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
    }


def _reason(request: Any) -> tuple[int, str]:
    with pytest.raises(HttpError) as caught:
        request.execute()
    [error] = json.loads(caught.value.content)["error"]["errors"]
    return caught.value.status_code, error["reason"]


def _types(service: Any, calendar_id: str, **params: Any) -> list[str]:
    items = service.events().list(calendarId=calendar_id, **params).execute()["items"]
    return sorted(e["eventType"] for e in items)


def test_every_event_has_a_type_default_unless_set(insert: Insert) -> None:
    assert insert()["eventType"] == "default"


def test_status_events_live_only_on_the_primary_calendar(service: Any, calendar_id: str) -> None:
    for kind in ("outOfOffice", "focusTime", "workingLocation"):
        body = {**OOO, "eventType": kind}
        refused = service.events().insert(calendarId=calendar_id, body=body)
        assert _reason(refused) == (400, "eventTypeRestriction")
        made = service.events().insert(calendarId="primary", body=body).execute()
        assert made["eventType"] == kind


def test_events_types_filter_keeps_the_named_types(service: Any, emulator: EmulatorServer) -> None:
    for body in ({**OOO, "summary": "Botox"}, {**OOO, "eventType": "outOfOffice"}, BIRTHDAY_EVENT):
        service.events().insert(calendarId="primary", body=body).execute()
    assert _types(service, "primary") == ["birthday", "default", "outOfOffice"]
    assert _types(service, "primary", eventTypes="default") == ["default"]
    both = ["outOfOffice", "birthday"]
    assert _types(service, "primary", eventTypes=both) == ["birthday", "outOfOffice"]
    # The client checks the enum itself; any other HTTP client meets the server's 400.
    url = f"{emulator.url}calendar/v3/calendars/primary/events?eventTypes=holiday"
    error = httpx.get(url).json()["error"]
    assert (error["code"], error["errors"][0]["location"]) == (400, "eventTypes")


def test_a_birthday_is_one_all_day_date_recurring_yearly(service: Any, calendar_id: str) -> None:
    made = service.events().insert(calendarId=calendar_id, body=BIRTHDAY_EVENT)
    assert made.execute()["eventType"] == "birthday"
    timed_birthday = {
        **timed_zoned("2030-01-03T09:00:00", "2030-01-03T10:00:00"),
        "eventType": "birthday",
        "recurrence": ["RRULE:FREQ=YEARLY"],
    }
    refused = service.events().insert(calendarId=calendar_id, body=timed_birthday)
    assert _reason(refused) == (400, "eventTypeRestriction")
    weekly = {**BIRTHDAY, "eventType": "birthday", "recurrence": ["RRULE:FREQ=WEEKLY"]}
    assert _reason(service.events().insert(calendarId=calendar_id, body=weekly))[0] == 400


def test_from_gmail_events_cannot_be_made_through_the_api(service: Any, calendar_id: str) -> None:
    refused = service.events().insert(
        calendarId=calendar_id, body={**OOO, "eventType": "fromGmail"}
    )
    assert _reason(refused) == (400, "eventTypeRestriction")


def test_the_type_cannot_change_once_the_event_exists(
    insert: Insert, service: Any, calendar_id: str
) -> None:
    event = insert()
    patch = service.events().patch(
        calendarId=calendar_id, eventId=event["id"], body={"eventType": "focusTime"}
    )
    assert _reason(patch) == (400, "eventTypeRestriction")
    unknown = service.events().patch(
        calendarId=calendar_id, eventId=event["id"], body={"eventType": "holiday"}
    )
    assert _reason(unknown)[0] == 400


def test_seeds_keep_gmail_events_and_their_type(seeded: Any) -> None:
    gmail = {
        "id": "_6tlnaqrle5p6cpb4dhmj4phpeeoj2d1o6ooj4chh",
        "eventType": "fromGmail",
        **timed("2030-01-02T09:00:00Z", "2030-01-02T10:00:00Z", summary="Flight to Lisbon"),
    }
    _, client = seeded([{"id": "owner@clinic.example", "events": [gmail]}])
    [item] = client.events().list(calendarId="primary", eventTypes="fromGmail").execute()["items"]
    assert (item["id"], item["eventType"]) == (gmail["id"], "fromGmail")
