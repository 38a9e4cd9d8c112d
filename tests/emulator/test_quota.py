"""The emulator's quota mode: Google's per-minute per-user and per-project limits (SPEC §9)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from sync.emulator import EmulatorServer
from sync.emulator.quota import Quota
from sync.sources.google import CalendarClient, ClientConfig, GoogleAuth


def _list(service: Any) -> None:
    service.calendarList().list().execute()


def _reason(err: HttpError) -> tuple[int, str, str]:
    item = json.loads(err.content)["error"]["errors"][0]
    return err.status_code, item["reason"], item["domain"]


@pytest.fixture
def service(emulator: EmulatorServer) -> Any:
    client = CalendarClient(ClientConfig(endpoint=emulator.url, auth=GoogleAuth.NONE))
    yield client.service()
    client.close()


def test_calls_over_the_users_minute_get_googles_user_rate_limit_body(
    emulator: EmulatorServer, service: Any
) -> None:
    emulator.account.api.quota.set(Quota(per_user=3))
    for _ in range(3):
        _list(service)
    with pytest.raises(HttpError) as refused:
        _list(service)
    assert _reason(refused.value) == (403, "userRateLimitExceeded", "usageLimits")


def test_the_projects_minute_is_shared_and_answered_as_a_rate_limit(
    emulator: EmulatorServer, service: Any
) -> None:
    emulator.account.api.quota.set(Quota(per_project=2))
    _list(service)
    _list(service)
    with pytest.raises(HttpError) as refused:
        _list(service)
    assert _reason(refused.value) == (403, "rateLimitExceeded", "usageLimits")


def test_each_part_of_a_batch_counts(emulator: EmulatorServer) -> None:
    emulator.account.api.quota.set(Quota(per_user=3))
    client = CalendarClient(ClientConfig(endpoint=emulator.url, auth=GoogleAuth.NONE))
    answers: list[Exception | None] = []
    batch = client.new_batch(callback=lambda _id, _resp, exc: answers.append(exc))
    for _ in range(4):
        batch.add(client.service().calendarList().get(calendarId="primary"))
    batch.execute()
    client.close()
    assert [a is None for a in answers] == [True, True, True, False]


def test_a_bad_quota_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="positive integer"):
        Quota.from_json({"per_user": 0})
