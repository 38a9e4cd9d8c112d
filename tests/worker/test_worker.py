"""The worker in this process: failures never stop it, calendars come and go, leases hold.

A :class:`~sync.worker.runner.Worker` runs on a thread against the emulator and a SQLite file;
a cycle that raises stands in for a bug in one calendar's poll.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sync.bootstrap import Services, open_services
from sync.config import Settings, load_settings
from sync.emulator import EmulatorServer
from sync.errors import ConfigError
from sync.metrics import CycleMetrics
from sync.store.audit import AuditEvent, list_audit_events
from sync.store.clinics import get_clinic
from sync.store.database import session_scope
from sync.store.sources import get_source, list_sources, set_source_enabled
from sync.usecases.cycle import CalendarCycle, run_calendar_cycle
from sync.usecases.stamps import Clock
from sync.worker.leases import claim_due
from sync.worker.runner import Worker, WorkerOptions, lock_path, single_worker_lock
from tests.worker.conftest import google_calendars
from tests.worker.processes import GoogleLog


@pytest.fixture
def settings(sqlite_url: str, emulator: EmulatorServer) -> Settings:
    return Settings(
        database_url=sqlite_url,
        google_api_endpoint=emulator.url,
        google_auth="none",
        poll_interval_seconds=1,
        worker_claim_seconds=0.05,
        worker_lease_seconds=0.6,
        google_retry_attempts=1,
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    with open_services(settings) as opened:
        yield opened


@contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(timeout=20)
        assert not thread.is_alive()


def _source_ids(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return {source.external_id: source.id for source in list_sources(session)}


def test_a_crashing_calendar_backs_off_and_the_others_keep_polling(
    services: Services,
    settings: Settings,
    emulator: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Polled at 0 s and 1 s, the crashing calendar then waits 2 s: at most two crashes."""
    broken, healthy = google_calendars(services.engine, emulator, 2)
    ids = _source_ids(services.engine)

    def cycle(
        services: Services, source_id: int, *, now: datetime, clock: Clock | None = None
    ) -> CalendarCycle:
        if source_id == ids[broken]:
            raise KeyError("items")
        return run_calendar_cycle(services, source_id, now=now, clock=clock)

    worker = Worker(services, WorkerOptions.from_settings(settings), cycle=cycle)
    with caplog.at_level(logging.DEBUG, logger="sync.worker.runner"), running(worker):
        time.sleep(2.6)
    with session_scope(services.engine) as session:
        failing = get_source(session, ids[broken])
        fine = get_source(session, ids[healthy])
    assert 1 <= failing.consecutive_failures <= 2  # without backoff: three, at 0, 1 and 2 s
    assert failing.last_error == "KeyError: 'items'"
    assert failing.next_poll_at is not None
    assert failing.last_error_at is not None
    wait = failing.next_poll_at - failing.last_error_at
    assert wait >= 0.95 * WorkerOptions.from_settings(settings).schedule.backoff(
        failing.consecutive_failures
    )
    assert fine.consecutive_failures == 0
    crashes = [r for r in caplog.records if "failed unexpectedly" in r.getMessage()]
    assert crashes
    assert all(r.exc_info for r in crashes)  # a bug keeps its traceback
    polled = [r for r in caplog.records if getattr(r, "calendar", None) == ids[healthy]]
    assert len(polled) >= 2


def test_calendars_added_and_disabled_while_running_are_picked_up_and_dropped(
    services: Services, settings: Settings, emulator: EmulatorServer
) -> None:
    google_log = GoogleLog(emulator)
    try:
        (first,) = google_calendars(services.engine, emulator, 1)
        worker = Worker(services, WorkerOptions.from_settings(settings))
        with running(worker):
            google_log.wait_for(lambda calls: any(c.calendar == first for c in calls))
            (added,) = google_calendars(services.engine, emulator, 1)
            google_log.wait_for(lambda calls: any(c.calendar == added for c in calls))
            with session_scope(services.engine) as session:
                set_source_enabled(session, _source_ids(services.engine)[first], False)
            polls_when_disabled = len(google_log.of(first))
            time.sleep(1.5)
        assert len(google_log.of(first)) <= polls_when_disabled + 1  # one may be under way
        assert len(google_log.of(added)) >= 2
    finally:
        google_log.close()


def test_a_poll_longer_than_the_lease_keeps_its_lease_by_renewing_it(
    services: Services, settings: Settings, emulator: EmulatorServer
) -> None:
    """Lease 0.6 s, renewed every 0.2 s; a 1.5 s poll is never up for grabs meanwhile."""
    (calendar,) = google_calendars(services.engine, emulator, 1)
    google_log = GoogleLog(emulator)
    google_log.latency = 1.5
    stolen: list[object] = []
    try:
        with running(Worker(services, WorkerOptions.from_settings(settings))):
            assert google_log.started.wait(10)
            deadline = time.monotonic() + 1.3
            while time.monotonic() < deadline:
                stolen += claim_due(
                    services.engine, "thief", now=_now(), ttl=timedelta(seconds=1), limit=5
                )
                time.sleep(0.05)
    finally:
        google_log.close()
    assert stolen == []
    assert len(google_log.of(calendar)) >= 1


def test_the_sqlite_lock_is_taken_once_and_freed_on_exit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/clinic.db"
    lock = lock_path(url)
    assert lock == tmp_path / "clinic.db.worker-lock"
    with single_worker_lock(url):
        assert lock.read_text().strip().isdigit()
    with single_worker_lock(url):  # a finished (or killed) worker leaves nothing held
        pass
    assert lock_path("sqlite://") is None
    assert lock_path("postgresql://db.example/clinic") is None


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize("name", ["CLINIC_SYNC_POLL_SECONDS", "CLINIC_SYNC_POLL_INTERVAL_SECONDS"])
def test_the_poll_interval_is_read_under_either_name(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env file
    monkeypatch.setenv(name, "7")
    assert load_settings().poll_interval_seconds == 7
    assert load_settings(poll_interval_seconds=9).poll_interval_seconds == 9
    monkeypatch.setenv(name, "0")
    with pytest.raises(ConfigError, match="CLINIC_SYNC_POLL_INTERVAL_SECONDS: Input should be"):
        load_settings()


def test_a_poll_paused_past_its_lease_says_lease_lost_and_counts_it(
    settings: Settings, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The cycle stalls 8 lease-lengths before its pull commits; a thief claims meanwhile."""
    metrics = CycleMetrics()
    with open_services(settings, metrics=metrics) as services:
        google_calendars(services.engine, emulator, 1)
        stalled = threading.Event()

        def stalling_cycle(
            services: Services, source_id: int, *, now: datetime, clock: Clock | None = None
        ) -> CalendarCycle:
            if not stalled.is_set():
                stalled.set()
                later = _now() + timedelta(seconds=5)
                claim_due(services.engine, "thief", now=later, ttl=timedelta(minutes=5), limit=1)
            return run_calendar_cycle(services, source_id, now=now, clock=clock)

        worker = Worker(services, WorkerOptions.from_settings(settings), cycle=stalling_cycle)
        with caplog.at_level(logging.WARNING), running(worker):
            deadline = time.monotonic() + 10
            while "lease lost" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)
    assert "lease lost (committing a pull)" in caplog.text
    exposition = metrics.exposition().decode()
    assert 'clinic_sync_leases_lost_total{stage="committing a pull"} 1.0' in exposition
    assert "clinic_sync_fenced_writes_total 0.0" in exposition
    with session_scope(services.engine) as session:
        (source,) = list_sources(session)
    assert source.last_sync_at is None  # the stale pull recorded nothing


class _SlowSink(logging.Handler):
    """A log sink that stalls on the first "polled" record: the poll has released its
    lease by then, so the claim loop may lease the calendar again meanwhile."""

    def __init__(self, stall: float) -> None:
        super().__init__(logging.DEBUG)
        self.stall = stall
        self.polls: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "polled in" in record.getMessage():
            self.polls.append(time.monotonic())
            if len(self.polls) == 1:
                time.sleep(self.stall)


def test_a_calendar_claimed_again_while_its_last_poll_winds_down_is_polled(
    sqlite_url: str, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Polls every second, a lease of 30 s: the second poll is claimed while the first is
    still logging. It must run then, not wait for its lease to expire unused."""
    settings = Settings(
        database_url=sqlite_url,
        google_api_endpoint=emulator.url,
        google_auth="none",
        poll_interval_seconds=1,
        worker_claim_seconds=0.05,
        worker_lease_seconds=30,
        google_retry_attempts=1,
    )
    sink = _SlowSink(stall=1.5)
    runner_log = logging.getLogger("sync.worker.runner")
    with open_services(settings) as services:
        google_calendars(services.engine, emulator, 1)
        runner_log.addHandler(sink)
        try:
            with (
                caplog.at_level(logging.DEBUG),
                running(Worker(services, WorkerOptions.from_settings(settings))),
            ):
                deadline = time.monotonic() + 6
                while len(sink.polls) < 2 and time.monotonic() < deadline:
                    time.sleep(0.05)
        finally:
            runner_log.removeHandler(sink)
    assert "maximum number of running instances" not in caplog.text
    assert len(sink.polls) >= 2


def test_a_workers_flag_records_carry_the_moment_each_write_reached_the_calendar(
    services: Services, settings: Settings, emulator: EmulatorServer
) -> None:
    """Its pulls slowed by 1.5 s (as a budget wait slows them), each record still says when."""
    from tests.worker.test_fault_runs import LeaseWitness, _seed

    _seed(emulator, services.engine)
    witness = LeaseWitness(emulator, services.engine)
    emulator.inject_fault(delay=1.5, count=6, method="events.list")
    try:
        with running(Worker(services, WorkerOptions.from_settings(settings))):
            deadline = time.monotonic() + 30
            while len(_written(services.engine)) < 6 and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        witness.close()
    written = _written(services.engine)
    assert len(written) >= 6
    for event in written:
        arrived = datetime.fromtimestamp(witness.arrived[event.detail["write"]], UTC)
        assert abs((event.at - arrived).total_seconds()) < 0.5, (event.at, arrived)


def _written(engine: Engine) -> list[AuditEvent]:
    with session_scope(engine) as session:
        clinic = get_clinic(session, "default").id
        return [e for e in list_audit_events(session, clinic) if e.action == "flag.written"]


def test_a_worker_with_more_due_than_threads_claims_again_as_each_poll_ends(
    services: Services, settings: Settings, emulator: EmulatorServer
) -> None:
    """A full claim means more may be due: the next comes when a thread is free, not a
    claim interval later (at 2 s and a few threads, a worker polled two calendars a second
    however many were due)."""
    google_calendars(services.engine, emulator, 12)
    ids = set(_source_ids(services.engine).values())
    slow = settings.model_copy(update={"worker_claim_seconds": 30.0, "worker_threads": 2})
    polled: list[int] = []

    def cycle(
        services: Services, source_id: int, *, now: datetime, clock: Clock | None = None
    ) -> CalendarCycle:
        polled.append(source_id)
        return run_calendar_cycle(services, source_id, now=now, clock=clock)

    worker = Worker(services, WorkerOptions.from_settings(slow), cycle=cycle)
    with running(worker):
        deadline = time.monotonic() + 15
        while set(polled) != ids and time.monotonic() < deadline:
            time.sleep(0.05)
    assert set(polled) == ids  # within one claim interval: never waited for the next
