"""The request budget at the transport: per account, per project, batch parts (SPEC §9)."""

from __future__ import annotations

from typing import Any

import pytest

from sync.emulator import EmulatorServer
from sync.sources.google import CalendarClient, ClientConfig, GoogleAuth
from sync.worker.budget import RequestBudget


def test_a_window_never_lets_more_than_its_limit_through() -> None:
    slept: list[float] = []
    budget = RequestBudget(3, sleep=slept.append)
    for _ in range(3):
        assert budget.acquire("clinic") == 0.0
    assert budget.room("clinic") == 0
    budget = RequestBudget(3, sleep=lambda s: (_ for _ in ()).throw(TimeoutError(s)))
    for _ in range(3):
        budget.acquire("clinic")
    with pytest.raises(TimeoutError) as waited:
        budget.acquire("clinic")
    assert 61.0 < waited.value.args[0] <= 62.1  # the oldest leaves the window (a minute + margin)


def test_accounts_have_windows_of_their_own_and_share_the_projects() -> None:
    budget = RequestBudget(2, per_project=3)
    budget.acquire("a", 2)
    assert budget.room("a") == 0
    assert budget.room("b") == 1  # the project's window has one left
    budget.acquire("b")
    assert budget.room("b") == 0


def test_nonsense_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RequestBudget(0)


def test_every_request_the_client_sends_is_counted_batch_parts_included(
    emulator: EmulatorServer,
) -> None:
    budget = RequestBudget(1000)
    client = CalendarClient(ClientConfig(endpoint=emulator.url, auth=GoogleAuth.NONE))
    client.meter(budget)
    try:
        service: Any = client.service()
        service.calendarList().list().execute()
        batch = client.new_batch()
        for _ in range(3):
            batch.add(service.calendarList().get(calendarId="primary"))
        batch.execute()
    finally:
        client.close()
    assert budget.sent == 1 + 3
    assert budget.room(client.account) == 1000 - 4
