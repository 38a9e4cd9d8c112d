"""Push end to end: the emulator notifies the web app, and a worker on a thread flags.

The emulator, the web app (uvicorn on loopback) and a :class:`~sync.worker.runner.Worker` share a
SQLite file. Calendars are polled only every 300 s, so a flag within seconds of the
booking can only have come from a notification.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from rules.flag import CONFLICT_PROPERTY
from sync.bootstrap import Services, open_services
from sync.config import Settings
from sync.emulator import EmulatorServer
from sync.store.database import session_scope
from sync.store.migrate import upgrade
from sync.store.sources import get_source, remove_source
from sync.web.app import create_app
from sync.web.server import WebServer
from sync.worker.clinics import Fleet
from sync.worker.runner import Worker, WorkerOptions
from tests.google.conftest import connect
from tests.push.conftest import stored_channels, wait_for

FLAG_WITHIN = 10.0  # seconds; about 1 s is usual, the margin is for a busy CI machine


@pytest.fixture
def settings(tmp_path: Path, emulator: EmulatorServer) -> Iterator[Settings]:
    """Worker settings: long polls, push to the web app served on the same database."""
    url = f"sqlite:///{tmp_path}/clinic.db"
    upgrade(url)
    web_settings = Settings(database_url=url, google_auth="none")
    with WebServer(create_app(web_settings)) as web:
        yield Settings(
            database_url=url,
            google_api_endpoint=emulator.url,
            google_auth="none",
            google_retry_attempts=1,
            poll_interval_seconds=300,
            worker_claim_seconds=0.1,
            public_url=web.url,
            push_allow_http=True,
        )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    with open_services(settings) as opened:
        yield opened


@pytest.fixture
def worker(services: Services, settings: Settings) -> Iterator[Worker]:
    """A worker running on a thread until the test ends."""
    running = Worker(services, WorkerOptions.from_settings(settings))
    stop = threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,))
    thread.start()
    yield running
    stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive()


def _events(services: Services) -> Any:
    return services.google.client.service().events()


def _insert(services: Services, calendar: str, summary: str, start: datetime, who: str) -> str:
    body = {
        "summary": summary,
        "attendees": [{"email": who}],
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
    }
    return str(_events(services).insert(calendarId=calendar, body=body).execute()["id"])


def _flagged(services: Services, calendar: str, event_id: str) -> bool:
    item = _events(services).get(calendarId=calendar, eventId=event_id).execute()
    return CONFLICT_PROPERTY in item.get("extendedProperties", {}).get("private", {})


def _watched(services: Services, source_id: int) -> bool:
    return bool(stored_channels(services.engine, source_id))


def _polled(services: Services, source_id: int) -> bool:
    with session_scope(services.engine) as session:
        return get_source(session, source_id).last_sync_at is not None


def test_a_notified_conflict_is_flagged_within_seconds_while_polling_waits_minutes(
    services: Services,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
    worker: Worker,
) -> None:
    smith, room = new_calendar("Dr Smith"), new_calendar("Room 2")
    sources = [connect(services.engine, calendar).id for calendar in (smith, room)]
    wait_for(lambda: all(_polled(services, s) and _watched(services, s) for s in sources))
    assert emulator.stats()["events.watch"] == 2
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    latencies = []
    for n in range(5):
        who = f"patient{n}@example.com"
        _insert(services, smith, f"Microneedling Patient {n}", day + timedelta(days=10), who)
        start = time.monotonic()
        botox = _insert(services, room, f"Botox Patient {n}", day + timedelta(days=17), who)
        wait_for(partial(_flagged, services, room, botox), FLAG_WITHIN)
        latencies.append(time.monotonic() - start)
    assert statistics.median(latencies) < FLAG_WITHIN / 2
    assert "channels.stop" not in emulator.stats()


def test_removing_a_calendar_stops_its_channel_and_shutdown_leaves_the_others_open(
    services: Services,
    settings: Settings,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
) -> None:
    kept, removed = (connect(services.engine, new_calendar(name)).id for name in ("A", "B"))
    options = WorkerOptions.from_settings(settings.model_copy(update={"push_sweep_seconds": 0.2}))
    running, stop = Worker(services, options), threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: all(stored_channels(services.engine, s) for s in (kept, removed)))
        with session_scope(services.engine) as session:
            remove_source(session, removed)
        wait_for(lambda: emulator.stats().get("channels.stop") == 1)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert emulator.stats()["channels.stop"] == 1
    assert len(stored_channels(services.engine, kept)) == 1


def test_a_worker_serving_every_clinic_opens_and_sweeps_each_clinics_channels(
    services: Services,
    settings: Settings,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
) -> None:
    """Channels of two clinics: each opened with its clinic's grant, each sweep stops only
    the removed calendar's, whichever clinic it belongs to."""
    engine = services.engine
    alpha_kept, alpha_gone = (connect(engine, new_calendar(n), "alpha").id for n in "AB")
    beta_kept, beta_gone = (connect(engine, new_calendar(n), "beta").id for n in "CD")
    options = WorkerOptions.from_settings(settings.model_copy(update={"push_sweep_seconds": 0.2}))
    running, stop = Worker(Fleet(settings, engine), options), threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,))
    thread.start()
    every = (alpha_kept, alpha_gone, beta_kept, beta_gone)
    try:
        wait_for(lambda: all(stored_channels(engine, s) for s in every))
        with session_scope(engine) as session:
            remove_source(session, alpha_gone)
            remove_source(session, beta_gone)
        wait_for(lambda: emulator.stats().get("channels.stop") == 2)
    finally:
        stop.set()
        thread.join(timeout=20)
    assert emulator.stats()["channels.stop"] == 2
    assert all(len(stored_channels(engine, s)) == 1 for s in (alpha_kept, beta_kept))
