"""``clinic-sync worker`` as a real process: signals, leases across processes, the budget.

Workers are subprocesses running the command line against the emulator (the real Google
client over loopback) on a SQLite file or a PostgreSQL schema. What they did is checked
from outside: the calls the emulator answered (calendar, start, end) and the store.
"""

from __future__ import annotations

import signal
import time
from itertools import pairwise

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from sync.emulator import EmulatorServer
from sync.store.bookings import list_bookings
from sync.store.clinics import get_clinic
from sync.store.database import make_engine, session_scope
from sync.store.sources import CalendarSource, list_sources
from sync.store.tables import CalendarSourceRow
from tests.worker.conftest import google_calendars
from tests.worker.processes import GoogleLog, Workers, overlaps, worker_env


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


def test_a_worker_for_an_unknown_clinic_says_so_in_one_line(
    sqlite_url: str, emulator: EmulatorServer, workers: Workers
) -> None:
    worker = workers.start(worker_env(sqlite_url, emulator), "--clinic", "nosuch")
    assert worker.process.wait(timeout=20) == 2
    assert "no clinic with slug 'nosuch'" in worker.text()
    assert "Traceback" not in worker.text()


def test_a_worker_with_no_clinic_named_polls_every_clinics_calendars(
    sqlite_url: str, emulator: EmulatorServer, google_log: GoogleLog, workers: Workers
) -> None:
    engine = make_engine(sqlite_url)
    calendars = google_calendars(engine, emulator, 1)
    calendars += google_calendars(engine, emulator, 1, clinic="beta")
    worker = workers.start(worker_env(sqlite_url, emulator))
    google_log.wait_for(lambda calls: {c.calendar for c in calls} >= set(calendars), timeout=30)
    assert worker.stop() == 0
    assert "started (every clinic)" in worker.text()
    assert (_bookings(engine), _bookings(engine, "beta")) == (3, 3)
    engine.dispose()


def test_sigkill_mid_poll_a_new_worker_takes_over_after_the_lease_and_converges(
    sqlite_url: str, emulator: EmulatorServer, google_log: GoogleLog, workers: Workers
) -> None:
    """The killed worker's lease blocks its calendar until it expires, and its budget the
    heir's for a minute; then state converges."""
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
    # the heir also waits out the minute of requests the dead worker may have sent
    google_log.wait_for(
        lambda calls: len([c for c in calls if c.calendar == calendar]) >= 2, timeout=90
    )
    taken_over = google_log.of(calendar)[1]
    assert taken_over.start >= held.lease_expires_at.timestamp()
    heir.wait_for_log('"calendar": 1,')
    assert heir.stop() == 0
    assert _bookings(engine) == 3
    assert _leased(engine) == []
    (source,) = _sources(engine).values()
    assert source.sync_token is not None
    engine.dispose()


def _bookings(engine: Engine, clinic: str = "default") -> int:
    with session_scope(engine) as session:
        return len(list_bookings(session, get_clinic(session, clinic).id))


def _leased(engine: Engine) -> list[CalendarSourceRow]:
    with session_scope(engine) as session:
        query = select(CalendarSourceRow).where(col(CalendarSourceRow.lease_owner).is_not(None))
        return list(session.exec(query))


# Measures the gaps between polls to a tenth of a second: beside another test process on
# the machine a poll's request was seen 0.56 s after the one before (`make test` runs it alone).
@pytest.mark.alone
def test_three_workers_on_postgresql_never_poll_one_calendar_at_once(
    postgres: tuple[Engine, str], emulator: EmulatorServer, google_log: GoogleLog, workers: Workers
) -> None:
    """Three workers, four calendars due every second, for a few seconds: shared, never doubled."""
    engine, url = postgres
    calendars = google_calendars(engine, emulator, 4)
    google_log.latency = 0.15
    # Polls that change nothing are logged at DEBUG; this test counts every poll.
    env = worker_env(url, emulator, worker_threads=2, worker_lease_seconds=5, log_level="DEBUG")
    for _ in range(3):
        workers.start(env).wait_for_log("started")
    time.sleep(4.0)
    assert [worker.stop() for worker in workers] == [0, 0, 0]
    for calendar in calendars:
        calls = google_log.of(calendar)
        assert len(calls) >= 3, calls
        assert overlaps(calls) == []
        gaps = [b.start - a.start for a, b in pairwise(calls)]
        assert min(gaps) >= 0.9, gaps  # one poll per interval (1 s), jitter ±5 %
    pollers = {poll["worker"] for worker in workers for poll in worker.polls()}
    assert len(pollers) >= 2
    assert _leased(engine) == []


def test_a_low_budget_spreads_polls_out_instead_of_hitting_rate_limits(
    sqlite_url: str, emulator: EmulatorServer, google_log: GoogleLog, workers: Workers
) -> None:
    """24 requests a minute for 12 calendars due each second (over 700 requests a minute).

    The emulator answers 429 beyond 24 calls in any 60 s, as Google does beyond its
    per-minute limit; the worker counts each request at its transport and never gets there.
    """
    engine = make_engine(sqlite_url)
    calendars = google_calendars(engine, emulator, 12, events=1)
    google_log.quota = (24, 60.0)
    env = worker_env(sqlite_url, emulator, google_requests_per_minute=24)
    worker = workers.start(env)
    worker.wait_for_log("started")
    time.sleep(6.0)
    assert worker.stop() == 0
    calls = sorted(google_log.calls, key=lambda call: call.start)
    assert [call for call in calls if call.status >= 400] == []
    assert len(calls) == 24  # all of the minute's budget, and not one request more
    polls = [len(google_log.of(calendar)) for calendar in calendars]
    assert min(polls) >= 1, polls  # every calendar had its turn...
    assert max(polls) - min(polls) <= 1, polls  # ...most overdue first: spread evenly
    engine.dispose()
