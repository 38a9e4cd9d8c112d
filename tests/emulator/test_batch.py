"""Batch requests (https://developers.google.com/calendar/api/guides/batch)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from sync.emulator import EmulatorServer

Insert = Callable[..., dict[str, Any]]


def test_batch_of_patches_applies_each_and_answers_each(
    emulator: EmulatorServer, insert: Insert, service: Any, calendar_id: str
) -> None:
    events = [insert(f"#{n}") for n in range(5)]
    emulator.reset_stats()
    answers: dict[str, Any] = {}
    batch = BatchHttpRequest(batch_uri=emulator.batch_url)
    for event in events:
        body = {"colorId": "11", "extendedProperties": {"private": {"flag": event["summary"]}}}
        request = service.events().patch(calendarId=calendar_id, eventId=event["id"], body=body)
        batch.add(request, callback=lambda rid, resp, err: answers.update({rid: (resp, err)}))
    batch.add(
        service.events().get(calendarId=calendar_id, eventId="missing00"),
        request_id="missing",
        callback=lambda rid, resp, err: answers.update({rid: (resp, err)}),
    )
    batch.execute()

    assert [answers[str(n + 1)][0]["colorId"] for n in range(5)] == ["11"] * 5
    assert isinstance(answers["missing"][1], HttpError)
    assert answers["missing"][1].status_code == 404
    listed = (
        service.events().list(calendarId=calendar_id, privateExtendedProperty="flag=#3").execute()
    )
    assert [e["id"] for e in listed["items"]] == [events[3]["id"]]
    assert emulator.stats() == {"batch": 1, "events.get": 1, "events.list": 1, "events.patch": 5}


def test_batch_is_also_served_at_the_short_path(emulator: EmulatorServer, service: Any) -> None:
    seen = []
    batch = BatchHttpRequest(batch_uri=f"{emulator.url}batch")
    batch.add(service.calendarList().list(), callback=lambda rid, resp, err: seen.append(resp))
    batch.execute()
    assert seen[0]["kind"] == "calendar#calendarList"


def test_more_than_fifty_calls_in_a_batch_is_a_bad_request(
    emulator: EmulatorServer, service: Any, calendar_id: str
) -> None:
    batch = BatchHttpRequest(batch_uri=emulator.batch_url)
    for _ in range(51):
        batch.add(service.calendars().get(calendarId=calendar_id))
    with pytest.raises(HttpError) as caught:
        batch.execute()
    assert caught.value.status_code == 400
