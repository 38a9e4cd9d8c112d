"""``clinic-sync worker`` as a real process: signals, leases across processes, the budget.

Workers are subprocesses running the command line against the emulator (the real Google
client over loopback) on a SQLite file or a PostgreSQL schema. What they did is checked
from outside: the calls the emulator answered (calendar, start, end) and the store.
"""

from __future__ import annotations

import signal

from sqlalchemy import Engine
from sqlmodel import col, select

from sync.emulator import EmulatorServer
from sync.store.bookings import list_bookings
from sync.store.clinics import get_clinic
from sync.store.database import make_engine, session_scope
from sync.store.sources import CalendarSource, list_sources
from sync.store.tables import CalendarSourceRow
from tests.worker.conftest import google_calendars
from tests.worker.processes import GoogleLog, Workers, worker_env


def _sources(engine: Engine) -> dict[str, CalendarSource]:
    with session_scope(engine) as session:
        return {source.external_id: source for source in list_sources(session)}


def test_sigterm_mid_poll_finishes_the_calendar_and_exits_0(
    sqlite_url: str, emulator: EmulatorServer, google_log: GoogleLog, workers: Workers
) -> None:
    engine = make_engine(sqlite_url)
    (calendar,) = google_calendars(engine, emulator, 1)
    google_log.latency = 1.5
    worker = workers.start(worker_env(sqlite_url, emulator))
    assert google_log.started.wait(20), worker.text()
    worker.process.send_signal(signal.SIGTERM)
    assert worker.stop(timeout=20) == 0
    (call,) = google_log.of(calendar)
    assert call.status == 200
    log = worker.text()
    assert "received SIGTERM: finishing 1 calendar(s) in hand, then stopping" in log
    assert "stopped cleanly" in log
    (source,) = _sources(engine).values()
    assert source.last_sync_at is not None
    assert _bookings(engine) == 3
    assert _leased(engine) == []
    engine.dispose()


def test_a_second_worker_on_one_sqlite_database_refuses_to_start(
    sqlite_url: str, emulator: EmulatorServer, workers: Workers
) -> None:
    env = worker_env(sqlite_url, emulator)
    first = workers.start(env)
    first.wait_for_log("started")
    second = workers.start(env)
    assert second.process.wait(timeout=20) == 2
    message = second.text()
    assert "another worker (pid" in message
    assert "SQLite serves one worker, use PostgreSQL" in message
    assert "Traceback" not in message
    assert first.process.poll() is None
    assert first.stop() == 0


def test_sigkill_mid_poll_a_new_worker_takes_over_after_the_lease_and_converges(
    sqlite_url: str, emulator: EmulatorServer, google_log: GoogleLog, workers: Workers
) -> None:
    """The killed worker's lease blocks its calendar until it expires; then state converges."""
    engine = make_engine(sqlite_url)
    (calendar,) = google_calendars(engine, emulator, 1)
    google_log.latency = 1.0
    env = worker_env(sqlite_url, emulator, worker_lease_seconds=2)
    doomed = workers.start(env)
    assert google_log.started.wait(20), doomed.text()
    doomed.kill()
    (held,) = _leased(engine)
    assert held.lease_expires_at is not None
    assert held.last_sync_at is None  # killed before the poll could record anything
    google_log.latency = 0.0
    heir = workers.start(env)
    google_log.wait_for(lambda calls: len([c for c in calls if c.calendar == calendar]) >= 2)
    taken_over = google_log.of(calendar)[1]
    assert taken_over.start >= held.lease_expires_at.timestamp()
    heir.wait_for_log('"calendar": 1,')
    assert heir.stop() == 0
    assert _bookings(engine) == 3
    assert _leased(engine) == []
    (source,) = _sources(engine).values()
    assert source.sync_token is not None
    engine.dispose()


def _bookings(engine: Engine) -> int:
    with session_scope(engine) as session:
        return len(list_bookings(session, get_clinic(session, "default").id))


def _leased(engine: Engine) -> list[CalendarSourceRow]:
    with session_scope(engine) as session:
        query = select(CalendarSourceRow).where(col(CalendarSourceRow.lease_owner).is_not(None))
        return list(session.exec(query))
