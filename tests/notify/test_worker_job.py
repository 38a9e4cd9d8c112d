"""The worker runs notifications on its own timer: a new booking's conflict reaches the inbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest

from sync.bootstrap import open_services
from sync.emulator import EmulatorServer
from sync.store.database import make_engine, session_scope
from sync.store.memberships import Role, grant_membership
from sync.store.migrate import upgrade
from sync.store.users import add_user
from sync.worker.runner import Worker, WorkerOptions
from tests.google.conftest import connect
from tests.notify.conftest import NOW, PATIENT, Inbox, notify_settings

Json = dict[str, Any]


def test_a_worker_mails_a_new_conflict_on_its_own_timer_and_counts_it(
    tmp_path: Path,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
    insert: Callable[..., Json],
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    engine = make_engine(f"sqlite:///{tmp_path}/worker.db")
    upgrade(engine)
    smith, room = new_calendar("Dr Smith"), new_calendar("Room 2")
    connect(engine, smith)
    connect(engine, room)
    with session_scope(engine) as session:
        user = add_user(session, "ann@clinic.example", "x", now=NOW)
        grant_membership(session, user.id, 1, Role.ADMIN, now=NOW)
    settings = notify_settings(
        engine,
        port,
        google_api_endpoint=emulator.url,
        google_auth="none",
        public_url="http://127.0.0.1:8000",
        poll_interval_seconds=1,
        worker_claim_seconds=0.1,
        notify_every_seconds=0.2,
    )
    engine.dispose()
    with open_services(settings) as services:
        worker, stop = Worker(services, WorkerOptions.from_settings(settings)), threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,))
        thread.start()
        try:
            insert(smith, "Microneedling Jane Doe", _days_ahead(10), attendees=PATIENT)
            insert(room, "Botox Jane Doe", _days_ahead(17), attendees=PATIENT)
            deadline = time.monotonic() + 20
            while not inbox.messages and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            thread.join(timeout=20)
        [mail] = inbox.to("ann@clinic.example")
        assert "Conflict flagged: Botox on " in mail["Subject"]
        assert "Jane" not in mail["Subject"]
        assert services.metrics is not None
        exposition = generate_latest(services.metrics.registry).decode()
    assert 'clinic_sync_notifications_total{channel="email",outcome="sent"} 1.0' in exposition


def _days_ahead(days: int) -> str:
    start = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    return (start + timedelta(days=days)).isoformat()
