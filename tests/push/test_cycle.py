"""A poll with push: channel first, the fallback interval while it lives, again at once if
notified mid-poll; and push stays off without a public URL Google can reach."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from sync.bootstrap import Services
from sync.config import Settings
from sync.emulator import EmulatorServer
from sync.push import PushAwareCycle, PushChannels, PushOptions
from sync.push.options import webhook_address
from sync.sources.google import CalendarClient, GoogleCalendarSource, RetryPolicy
from sync.usecases.cycle import CalendarCycle, run_calendar_cycle
from sync.usecases.stamps import Clock
from sync.worker.runner import Worker, WorkerOptions
from tests.cycle.conftest import make_services
from tests.google.conftest import connect
from tests.push.conftest import next_poll, stored_channels, wait_for

FALLBACK = timedelta(minutes=15)


@pytest.fixture
def source(client: CalendarClient, retry: RetryPolicy) -> GoogleCalendarSource:
    return GoogleCalendarSource(client, retry=retry)


@pytest.fixture
def services(engine: Engine, emulator: EmulatorServer, source: GoogleCalendarSource) -> Services:
    return make_services(engine, emulator, source)


def test_a_watched_calendar_is_next_polled_at_the_fallback_interval(
    services: Services, channels: PushChannels, new_calendar: Callable[..., str]
) -> None:
    source = connect(services.engine, new_calendar())
    now = datetime.now(UTC)
    PushAwareCycle(run_calendar_cycle, channels)(services, source.id, now=now)
    assert len(stored_channels(services.engine, source.id)) == 1
    assert next_poll(services.engine, source.id) == now + FALLBACK


def test_a_calendar_notified_while_it_was_pulled_is_due_again_at_once(
    services: Services,
    channels: PushChannels,
    new_calendar: Callable[..., str],
    insert: Callable[..., object],
) -> None:
    calendar = new_calendar()
    source = connect(services.engine, calendar)

    def change_during_pull(
        services: Services, source_id: int, *, now: datetime, clock: Clock | None = None
    ) -> CalendarCycle:
        cycle = run_calendar_cycle(services, source_id, now=now, clock=clock)
        insert(calendar, "Botox Jane Doe", (now + timedelta(days=3)).isoformat())
        wait_for(lambda: channels.notifications(source_id) == 1)
        return cycle

    now = datetime.now(UTC)
    cycle = PushAwareCycle(change_during_pull, channels)
    cycle(services, source.id, now=now)
    assert next_poll(services.engine, source.id) == now + FALLBACK
    assert cycle.released(source.id, now) is True
    assert next_poll(services.engine, source.id) == now
    assert cycle.released(source.id, now) is False


def test_a_calendar_not_notified_during_its_poll_keeps_the_fallback(
    services: Services, channels: PushChannels, new_calendar: Callable[..., str]
) -> None:
    source = connect(services.engine, new_calendar())
    now = datetime.now(UTC)
    cycle = PushAwareCycle(run_calendar_cycle, channels)
    cycle(services, source.id, now=now)
    assert cycle.released(source.id, now) is False
    assert next_poll(services.engine, source.id) == now + FALLBACK


def test_a_failed_pull_keeps_its_backoff(
    services: Services,
    channels: PushChannels,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
) -> None:
    source = connect(services.engine, new_calendar())
    emulator.inject_fault(status=404, method="events.list", count=1)
    now = datetime.now(UTC)
    cycle = PushAwareCycle(run_calendar_cycle, channels)(services, source.id, now=now)
    assert not cycle.pull.ok
    assert next_poll(services.engine, source.id) != now + FALLBACK


@pytest.mark.parametrize(
    ("public_url", "allow_http", "address"),
    [
        ("https://clinic.example", False, "https://clinic.example/webhooks/google"),
        ("https://clinic.example/sync/", False, "https://clinic.example/sync/webhooks/google"),
        ("http://127.0.0.1:8000", False, None),
        ("http://127.0.0.1:8000", True, "http://127.0.0.1:8000/webhooks/google"),
    ],
)
def test_push_is_on_only_where_google_can_deliver(
    public_url: str, allow_http: bool, address: str | None
) -> None:
    assert webhook_address(public_url, allow_http=allow_http) == address
    settings = Settings(public_url=public_url, push_allow_http=allow_http)
    assert PushOptions.from_settings(settings).enabled is (address is not None)


def test_a_worker_without_a_reachable_public_url_opens_no_channel(
    services: Services, emulator: EmulatorServer, new_calendar: Callable[..., str]
) -> None:
    source = connect(services.engine, new_calendar())
    settings = services.settings.model_copy(update={"public_url": "http://127.0.0.1:8000"})
    worker = Worker(services, WorkerOptions.from_settings(settings))
    assert worker.push is None
    assert worker.sweep_channels() == 0
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: next_poll(services.engine, source.id) is not None)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert "events.watch" not in emulator.stats()
