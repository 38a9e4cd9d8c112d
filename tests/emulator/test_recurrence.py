"""Recurring events, instances and exceptions.

https://developers.google.com/calendar/api/guides/recurringevents and
https://developers.google.com/calendar/api/v3/reference/events/instances
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from googleapiclient.errors import HttpError
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.emulator.recurrence import occurrences
from sync.emulator.timefmt import event_instant

London = "Europe/London"


@pytest.fixture
def series(service: Any, calendar_id: str) -> dict[str, Any]:
    """Weekly microneedling, four times, across the end of British Summer Time (27 Oct 2030)."""
    body = {
        "summary": "Microneedling",
        "start": {"dateTime": "2030-10-15T10:00:00", "timeZone": London},
        "end": {"dateTime": "2030-10-15T11:00:00", "timeZone": London},
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"],
    }
    return dict(service.events().insert(calendarId=calendar_id, body=body).execute())


def _instances(
    service: Any, calendar_id: str, event_id: str, **params: Any
) -> list[dict[str, Any]]:
    return list(
        service.events()
        .instances(calendarId=calendar_id, eventId=event_id, **params)
        .execute()["items"]
    )


def test_instances_keep_wall_time_across_dst_and_have_google_ids(
    service: Any, calendar_id: str, series: dict[str, Any]
) -> None:
    items = _instances(service, calendar_id, series["id"])
    assert [i["id"].split("_")[1] for i in items] == [
        "20301015T090000Z",
        "20301022T090000Z",
        "20301029T100000Z",
        "20301105T100000Z",
    ]
    assert all(i["start"]["dateTime"][11:16] == "10:00" for i in items)
    assert all(i["recurringEventId"] == series["id"] for i in items)
    assert items[0]["originalStartTime"] == items[0]["start"]


def test_patching_an_instance_creates_an_exception(
    service: Any, calendar_id: str, series: dict[str, Any]
) -> None:
    second = _instances(service, calendar_id, series["id"])[1]
    body = {
        "summary": "Microneedling (moved)",
        "start": {"dateTime": "2030-10-23T12:00:00+01:00"},
        "end": {"dateTime": "2030-10-23T13:00:00+01:00"},
    }
    service.events().patch(calendarId=calendar_id, eventId=second["id"], body=body).execute()
    items = _instances(service, calendar_id, series["id"])
    moved = items[1]
    assert moved["id"] == second["id"]
    assert moved["summary"] == "Microneedling (moved)"
    assert moved["originalStartTime"] == second["originalStartTime"]
    assert items[0]["summary"] == "Microneedling"


def test_deleting_an_instance_cancels_just_that_one(
    service: Any, calendar_id: str, series: dict[str, Any]
) -> None:
    third = _instances(service, calendar_id, series["id"])[2]
    service.events().delete(calendarId=calendar_id, eventId=third["id"]).execute()
    assert len(_instances(service, calendar_id, series["id"])) == 3
    cancelled = service.events().get(calendarId=calendar_id, eventId=third["id"]).execute()
    assert cancelled["status"] == "cancelled"
    assert cancelled["recurringEventId"] == series["id"]


def test_single_events_listing_expands_series_with_exceptions(
    service: Any, calendar_id: str, series: dict[str, Any]
) -> None:
    _, second, third, _ = _instances(service, calendar_id, series["id"])
    service.events().patch(
        calendarId=calendar_id, eventId=second["id"], body={"summary": "MN + Botox"}
    ).execute()
    service.events().delete(calendarId=calendar_id, eventId=third["id"]).execute()
    listed = (
        service.events()
        .list(calendarId=calendar_id, singleEvents=True, orderBy="startTime")
        .execute()
    )
    assert [e["summary"] for e in listed["items"]] == [
        "Microneedling",
        "MN + Botox",
        "Microneedling",
    ]
    assert all("recurrence" not in e for e in listed["items"])


def test_unexpanded_listing_shows_series_and_its_exceptions(
    service: Any, calendar_id: str, series: dict[str, Any]
) -> None:
    third = _instances(service, calendar_id, series["id"])[2]
    service.events().delete(calendarId=calendar_id, eventId=third["id"]).execute()
    items = service.events().list(calendarId=calendar_id).execute()["items"]
    # A cancelled exception is listed even without showDeleted when singleEvents is false.
    assert [(e["id"], e["status"]) for e in items] == [
        (series["id"], "confirmed"),
        (third["id"], "cancelled"),
    ]


def test_exdate_and_time_window_limit_instances(service: Any, calendar_id: str) -> None:
    body = {
        "summary": "Daily",
        "start": {"dateTime": "2030-03-01T09:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2030-03-01T09:30:00Z", "timeZone": "UTC"},
        "recurrence": ["RRULE:FREQ=DAILY", "EXDATE:20300303T090000Z"],
    }
    event = service.events().insert(calendarId=calendar_id, body=body).execute()
    items = (
        service.events()
        .list(
            calendarId=calendar_id,
            singleEvents=True,
            orderBy="startTime",
            timeMin="2030-03-02T00:00:00Z",
            timeMax="2030-03-05T00:00:00Z",
        )
        .execute()["items"]
    )
    assert [i["id"] for i in items] == [f"{event['id']}_2030030{d}T090000Z" for d in (2, 4)]


def test_all_day_series_instances_use_date_ids(service: Any, calendar_id: str) -> None:
    body = {
        "summary": "Closed",
        "start": {"date": "2030-01-06"},
        "end": {"date": "2030-01-07"},
        "recurrence": ["RRULE:FREQ=WEEKLY;UNTIL=20300120"],
    }
    event = service.events().insert(calendarId=calendar_id, body=body).execute()
    items = _instances(service, calendar_id, event["id"])
    assert [i["id"] for i in items] == [
        f"{event['id']}_2030010{6}",
        f"{event['id']}_20300113",
        f"{event['id']}_20300120",
    ]
    assert items[1]["start"] == {"date": "2030-01-13"}


def test_timed_series_without_time_zone_is_refused(service: Any, calendar_id: str) -> None:
    body = {
        "start": {"dateTime": "2030-01-01T10:00:00Z"},
        "end": {"dateTime": "2030-01-01T11:00:00Z"},
        "recurrence": ["RRULE:FREQ=DAILY"],
    }
    with pytest.raises(HttpError) as caught:
        service.events().insert(calendarId=calendar_id, body=body).execute()
    assert caught.value.status_code == 400


_FREQS = ["SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]
_PARTS = [
    "",
    ";BYDAY=MO,WE",
    ";BYMONTHDAY=31",
    ";BYDAY=-1FR",
    ";BYMONTH=2,11",
    ";BYSETPOS=1;BYDAY=MO,TU",
]


@settings(max_examples=120, deadline=None)
@given(
    freq=st.sampled_from(_FREQS[3:]),  # sub-daily: see test_listing's hourly series
    interval=st.integers(1, 5),
    part=st.sampled_from(_PARTS),
    first_day=st.integers(0, 3000),
    offset_days=st.integers(0, 4000),
    span_days=st.integers(1, 60),
    all_day=st.booleans(),
)
def test_a_window_late_in_a_series_sees_exactly_what_full_expansion_sees(
    freq: str,
    interval: int,
    part: str,
    first_day: int,
    offset_days: int,
    span_days: int,
    all_day: bool,
) -> None:
    """The fast-forward to a window is exact: same instances as expanding from the start."""
    first = datetime(2020, 1, 31, 9, 30, tzinfo=UTC) + timedelta(days=first_day)
    series = _series_at(first, all_day, f"RRULE:FREQ={freq};INTERVAL={interval}{part}")
    since = first + timedelta(days=offset_days)
    until = since + timedelta(days=span_days)
    fast = [o.suffix for o in occurrences(series, until, since)]
    every = list(occurrences(series, until))
    full = [o.suffix for o in every if _ends_after(o, since)]
    assert set(fast) <= {o.suffix for o in every}
    assert [s for s in fast if s in set(full)] == full


def _series_at(first: datetime, all_day: bool, rule: str) -> dict[str, Any]:
    if all_day:
        day = first.date()
        start, end = {"date": day.isoformat()}, {"date": (day + timedelta(days=1)).isoformat()}
    else:
        local = first.astimezone(ZoneInfo("Europe/London")).replace(tzinfo=None)
        zone = {"timeZone": "Europe/London"}
        start = {"dateTime": local.isoformat(), **zone}
        end = {"dateTime": (local + timedelta(minutes=45)).isoformat(), **zone}
    return {"id": "series01", "start": start, "end": end, "recurrence": [rule]}


def _ends_after(occ: Any, since: datetime) -> bool:
    return event_instant(occ.end, "UTC") > since
