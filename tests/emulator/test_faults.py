"""Injected failures in Google's error format (https://developers.google.com/calendar/api/guides/errors)
and request counting."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from sync.emulator import EmulatorServer


def _admin(emulator: EmulatorServer, path: str, method: str = "GET", body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{emulator.url}_emulator/{path}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def test_one_429_then_success(emulator: EmulatorServer, service: Any, calendar_id: str) -> None:
    emulator.inject_fault(status=429, count=1)
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id).execute()
    assert caught.value.status_code == 429
    assert caught.value.error_details[0]["reason"] == "rateLimitExceeded"
    assert service.events().list(calendarId=calendar_id).execute()["items"] == []


@pytest.mark.parametrize(
    ("status", "reason", "domain"),
    [
        (403, "rateLimitExceeded", "usageLimits"),
        (403, "userRateLimitExceeded", "usageLimits"),
        (403, "quotaExceeded", "usageLimits"),
        (500, "backendError", "global"),
        (503, "backendError", "global"),
    ],
)
def test_fault_answers_in_googles_error_format(
    emulator: EmulatorServer, service: Any, status: int, reason: str, domain: str
) -> None:
    emulator.inject_fault(status=status, reason=reason)
    with pytest.raises(HttpError) as caught:
        service.calendarList().list().execute()
    error = json.loads(caught.value.content)["error"]
    assert (error["code"], error["errors"][0]["reason"], error["errors"][0]["domain"]) == (
        status,
        reason,
        domain,
    )


def test_client_retry_gets_through_a_rate_limit(emulator: EmulatorServer, service: Any) -> None:
    emulator.inject_fault(status=403, reason="rateLimitExceeded", count=1)
    assert service.calendarList().list().execute(num_retries=1)["items"]
    assert emulator.stats() == {"calendarList.list": 2}


def test_fault_limited_to_one_method_spares_the_others(
    emulator: EmulatorServer, service: Any, calendar_id: str
) -> None:
    emulator.inject_fault(status=500, method="events.patch", count=2)
    service.events().list(calendarId=calendar_id).execute()
    assert emulator.account.faults.pending()[0]["count"] == 2


def test_retry_after_and_delay(emulator: EmulatorServer, service: Any) -> None:
    emulator.inject_fault(status=429, retry_after=7, delay=0.2)
    began = time.monotonic()
    with pytest.raises(HttpError) as caught:
        service.calendarList().list().execute()
    assert time.monotonic() - began >= 0.2
    assert caught.value.resp["retry-after"] == "7"


def test_admin_endpoint_arms_faults_and_counts_requests(
    emulator: EmulatorServer, service: Any, calendar_id: str
) -> None:
    emulator.reset_stats()
    armed = _admin(emulator, "faults", "POST", {"status": 503, "method": "events.list", "count": 1})
    assert armed["faults"][0]["status"] == 503
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id).execute()
    assert caught.value.status_code == 503
    service.events().list(calendarId=calendar_id).execute()
    assert _admin(emulator, "stats") == {"events.list": 2}
    _admin(emulator, "stats/reset", "POST")
    assert _admin(emulator, "stats") == {}


def test_admin_endpoint_refuses_a_bad_fault(emulator: EmulatorServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        _admin(emulator, "faults", "POST", {"status": 200})
    assert caught.value.code == 400
    caught.value.close()


def test_admin_endpoints_expire_tokens_and_reset(
    emulator: EmulatorServer, service: Any, calendar_id: str
) -> None:
    token = service.events().list(calendarId=calendar_id).execute()["nextSyncToken"]
    _admin(emulator, "sync-tokens/expire", "POST")
    with pytest.raises(HttpError) as caught:
        service.events().list(calendarId=calendar_id, syncToken=token).execute()
    assert caught.value.status_code == 410
    _admin(emulator, "reset", "POST")
    assert [c["id"] for c in service.calendarList().list().execute()["items"]] == [
        emulator.store.owner
    ]
