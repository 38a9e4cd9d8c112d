"""Every error the emulator gives has the body Google's errors guide documents.

https://developers.google.com/calendar/api/guides/errors: ``error.code`` and ``error.message``,
``error.errors[]`` with ``domain``, ``reason``, ``message`` and, where one parameter or header
is at fault, ``location`` and ``locationType``; ``status`` as in
https://cloud.google.com/apis/design/errors#handling_errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from sync.emulator import EmulatorServer

Insert = Callable[..., dict[str, Any]]
Json = dict[str, Any]


def _error(request: Any) -> tuple[int, Json]:
    with pytest.raises(HttpError) as caught:
        request.execute()
    body = json.loads(caught.value.content)
    return caught.value.status_code, body["error"]


def _check_shape(status: int, error: Json) -> Json:
    """The invariants of the guide's format; returns the one ``errors[]`` item."""
    [item] = error["errors"]
    assert error["code"] == status
    assert error["message"] == item["message"]
    assert {"domain", "reason", "message"} <= set(item)
    assert ("location" in item) == ("locationType" in item)
    return item


def test_time_range_empty_is_the_guides_own_example(service: Any, calendar_id: str) -> None:
    request = service.events().list(
        calendarId=calendar_id, timeMin="2030-01-02T00:00:00Z", timeMax="2030-01-01T00:00:00Z"
    )
    status, error = _error(request)
    assert status == 400
    assert error == {
        "errors": [
            {
                "domain": "calendar",
                "reason": "timeRangeEmpty",
                "message": "The specified time range is empty.",
                "locationType": "parameter",
                "location": "timeMax",
            }
        ],
        "code": 400,
        "message": "The specified time range is empty.",
        "status": "INVALID_ARGUMENT",
    }


def test_a_stale_if_match_names_the_header(insert: Insert, service: Any, calendar_id: str) -> None:
    event = insert()
    request = service.events().patch(calendarId=calendar_id, eventId=event["id"], body={})
    request.headers["If-Match"] = '"stale"'
    status, error = _error(request)
    item = _check_shape(status, error)
    assert (status, item["reason"], item["domain"]) == (412, "conditionNotMet", "global")
    assert (item["location"], item["locationType"]) == ("If-Match", "header")
    assert "status" not in error  # 412 has no canonical code in the mapping


@pytest.mark.parametrize(
    ("make", "status", "reason", "domain", "location"),
    [
        (lambda s, c, e: s.events().get(calendarId=c, eventId="missing00"), 404, "notFound",
         "global", None),
        (lambda s, c, e: s.events().insert(calendarId=c, body={**e, "id": e["id"]}), 409,
         "duplicate", "global", None),
        (lambda s, c, e: s.events().list(calendarId=c, maxResults=0), 400, "invalid", "global",
         "maxResults"),
        (lambda s, c, e: s.events().list(calendarId=c, syncToken="nope"), 410,
         "fullSyncRequired", "calendar", "syncToken"),
        (lambda s, c, e: s.events().list(calendarId=c, syncToken="x", q="botox"), 400,
         "invalid", "global", "q"),
        (lambda s, c, e: s.events().list(calendarId=c, pageToken="%%%"), 400, "invalid",
         "global", "pageToken"),
        (lambda s, c, e: s.events().insert(calendarId=c, body={"summary": "no times"}), 400,
         "required", "global", None),
        (lambda s, c, e: s.calendars().delete(calendarId="primary"), 400,
         "cannotDeletePrimaryCalendar", "global", None),
    ],
)  # fmt: skip
def test_each_error_has_the_documented_reason_domain_and_location(
    insert: Insert,
    service: Any,
    calendar_id: str,
    make: Callable[[Any, str, Json], Any],
    status: int,
    reason: str,
    domain: str,
    location: str | None,
) -> None:
    got, error = _error(make(service, calendar_id, insert()))
    item = _check_shape(got, error)
    assert (got, item["reason"], item["domain"], item.get("location")) == (
        status,
        reason,
        domain,
        location,
    )


def test_a_second_delete_is_410_deleted(insert: Insert, service: Any, calendar_id: str) -> None:
    event = insert()
    service.events().delete(calendarId=calendar_id, eventId=event["id"]).execute()
    status, error = _error(service.events().delete(calendarId=calendar_id, eventId=event["id"]))
    item = _check_shape(status, error)
    assert (status, item["reason"], item["domain"]) == (410, "deleted", "global")


@pytest.mark.parametrize(
    ("fault", "reason", "domain", "canonical"),
    [
        ({"status": 403, "reason": "rateLimitExceeded"}, "rateLimitExceeded", "usageLimits",
         "PERMISSION_DENIED"),
        ({"status": 403, "reason": "quotaExceeded"}, "quotaExceeded", "usageLimits",
         "PERMISSION_DENIED"),
        ({"status": 429}, "rateLimitExceeded", "usageLimits", "RESOURCE_EXHAUSTED"),
        ({"status": 500}, "backendError", "global", "INTERNAL"),
        ({"status": 503}, "backendError", "global", "UNAVAILABLE"),
    ],
)  # fmt: skip
def test_injected_faults_answer_in_the_same_format(
    emulator: EmulatorServer,
    service: Any,
    fault: Json,
    reason: str,
    domain: str,
    canonical: str,
) -> None:
    emulator.inject_fault(fault)
    status, error = _error(service.calendarList().list())
    item = _check_shape(status, error)
    assert (status, item["reason"], item["domain"], error["status"]) == (
        fault["status"],
        reason,
        domain,
        canonical,
    )
