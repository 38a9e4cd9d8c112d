"""One worker for every clinic: each clinic polled with its own settings, fairly, in isolation.

A :class:`~sync.worker.runner.Worker` given the whole store (:class:`~sync.worker.clinics.Fleet`)
runs on a thread against the emulator and a SQLite file (PostgreSQL where two workers
share the clinics).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httplib2
import pytest
from googleapiclient.discovery import Resource
from sqlalchemy import Engine

from sync.config import Settings
from sync.emulator import EmulatorServer
from sync.errors import SetupError
from sync.policy_file import default_policy_text
from sync.secrets import SecretBox, new_key
from sync.sources.google.grants import save_service_account
from sync.sources.port import CalendarSource as ProviderSource
from sync.sources.router import CalendarRouter
from sync.store.clinics import clinic_policy, set_clinic_policy
from sync.store.database import make_engine, session_scope
from sync.store.sources import CalendarSource, Provider, add_source, get_source
from sync.usecases.cycle import CalendarCycle, run_calendar_cycle
from sync.usecases.stamps import Clock
from sync.worker.clinics import Fleet
from sync.worker.leases import Turns, claim_due
from sync.worker.runner import Worker, WorkerOptions
from tests.clinics import clinic_profile
from tests.connect.conftest import private_key_pem, service_account_key, token_endpoint
from tests.google.conftest import client, new_calendar, service
from tests.worker.conftest import NOW, add_calendars

__all__ = [
    "client",
    "new_calendar",
    "private_key_pem",
    "service",
    "service_account_key",
    "token_endpoint",
]

Json = dict[str, Any]


def _settings(database_url: str, emulator: EmulatorServer, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "google_api_endpoint": emulator.url,
        "google_auth": "none",
        "poll_interval_seconds": 60,
        "worker_claim_seconds": 0.05,
        "worker_lease_seconds": 5,
        "google_retry_attempts": 1,
        "worker_clinic_recheck_seconds": 0,
    }
    return Settings(**(values | extra))


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()


def _wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _connect(engine: Engine, clinic: str, calendar_id: str, zone: str) -> CalendarSource:
    with session_scope(engine) as session:
        clinic_id = clinic_profile(engine, clinic).id
        return add_source(
            session,
            clinic_id,
            Provider.GOOGLE,
            calendar_id,
            display_name=calendar_id,
            time_zone=zone,
            now=NOW,
        )


def _polled(engine: Engine, source_id: int) -> bool:
    with session_scope(engine) as session:
        return get_source(session, source_id).next_poll_at is not None


def _state(engine: Engine, source_id: int) -> CalendarSource:
    with session_scope(engine) as session:
        return get_source(session, source_id)


def _book(service: Any, calendar_id: str, summary: str, day: int, who: str = "jane.doe") -> str:
    start = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    start += timedelta(days=day)
    body = {
        "summary": summary,
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
        "attendees": [{"email": f"{who}@example.com"}],
    }
    return str(service.events().insert(calendarId=calendar_id, body=body).execute()["id"])


def _color(service: Any, calendar_id: str, event_id: str) -> str | None:
    event = service.events().get(calendarId=calendar_id, eventId=event_id).execute()
    return event.get("colorId")


def test_one_worker_flags_each_clinic_by_its_own_policy_zone_and_colour(
    store: Engine,
    sqlite_url: str,
    emulator: EmulatorServer,
    service: Any,
    new_calendar: Callable[..., str],
) -> None:
    """Botox 21 days after microneedling is too soon only where the policy asks for 30 days;
    7 days is too soon in both, and each clinic's flag has its own colour."""
    stricter = default_policy_text().replace("min_days = 14", "min_days = 30")
    stricter = stricter.replace("ideal_days = [14, 28]", "ideal_days = [30, 42]")
    clinic_profile(store, "alpha", time_zone="Europe/London", flag_color="11")
    clinic_profile(
        store, "beta", time_zone="Australia/Sydney", flag_color="5", policy_text=stricter
    )
    events: dict[str, tuple[str, str]] = {}
    soon: dict[str, tuple[str, str]] = {}
    sources = []
    for slug, zone in (("alpha", "Europe/London"), ("beta", "Australia/Sydney")):
        calendar = new_calendar(f"Room {slug}", zone)
        sources.append(_connect(store, slug, calendar, zone).id)
        _book(service, calendar, "Microneedling Jane Doe", 2)
        events[slug] = (calendar, _book(service, calendar, "Botox Jane Doe", 23))
        _book(service, calendar, "Microneedling Mia Wong", 2, who="mia")
        soon[slug] = (calendar, _book(service, calendar, "Botox Mia Wong", 9, who="mia"))
    worker = Worker(Fleet(_settings(sqlite_url, emulator), store), _options(sqlite_url, emulator))
    with running(worker):
        _wait_for(lambda: all(_polled(store, source) for source in sources))
        assert len(worker.clinics) == 2
    assert _color(service, *events["alpha"]) is None  # 21 days is enough under 14
    assert _color(service, *events["beta"]) == "5"  # beta's colour, beta's 30 days
    assert _color(service, *soon["alpha"]) == "11"
    assert _color(service, *soon["beta"]) == "5"


def _options(database_url: str, emulator: EmulatorServer, **extra: Any) -> WorkerOptions:
    return WorkerOptions.from_settings(_settings(database_url, emulator, **extra))


def test_a_clinic_with_many_due_calendars_cannot_starve_a_small_one(
    store: Engine, sqlite_url: str, emulator: EmulatorServer
) -> None:
    """50 calendars overdue longer than the small clinic's 2: the small ones go in the
    first round of claims, not after the 50 (a poll takes 50 ms, two at a time)."""
    add_calendars(store, 50, clinic="big", provider=Provider.ICS)
    small = add_calendars(store, 2, clinic="small", provider=Provider.ICS)
    order: list[int] = []

    def cycle(
        services: Any, source_id: int, *, now: datetime, clock: Clock | None = None
    ) -> CalendarCycle:
        order.append(source_id)
        time.sleep(0.05)
        raise KeyError("not polled in this test")

    options = _options(sqlite_url, emulator, worker_threads=2)
    worker = Worker(Fleet(_settings(sqlite_url, emulator), store), options, cycle=cycle)
    with running(worker):
        _wait_for(lambda: set(small) <= set(order))
    assert max(order.index(source_id) for source_id in small) < 4


def test_claims_take_every_clinics_most_overdue_calendar_first(engine: Engine) -> None:
    """Ranked within each clinic, on SQLite and PostgreSQL alike."""
    big = add_calendars(engine, 50, clinic="big")
    small = add_calendars(engine, 2, clinic="small")
    leases = claim_due(engine, "w", now=NOW, ttl=timedelta(seconds=30), limit=4)
    claimed = [lease.source_id for lease in leases]
    assert set(small) <= set(claimed)
    assert set(claimed) - set(small) == set(big[:2])
    assert {lease.clinic_id for lease in leases if lease.source_id in small} != {
        lease.clinic_id for lease in leases if lease.source_id in big
    }


def test_a_clinic_whose_policy_no_longer_parses_fails_only_its_own_calendars(
    store: Engine,
    sqlite_url: str,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
) -> None:
    healthy = _connect(store, "alpha", new_calendar("Alpha"), "Europe/London").id
    broken = _connect(store, "beta", new_calendar("Beta"), "Europe/London").id
    beta = clinic_profile(store, "beta").id
    with session_scope(store) as session:  # saved by an older release, now refused
        set_clinic_policy(session, beta, "[[rules]]\nname = ", by=None, now=NOW)
    worker = Worker(Fleet(_settings(sqlite_url, emulator), store), _options(sqlite_url, emulator))
    with running(worker):
        _wait_for(lambda: _polled(store, healthy) and _polled(store, broken))
    assert _state(store, healthy).consecutive_failures == 0
    failed = _state(store, broken)
    assert failed.consecutive_failures == 1
    assert "clinic beta policy v1" in (failed.last_error or "")


def test_a_clinic_without_a_google_grant_fails_only_its_own_calendars(
    store: Engine,
    sqlite_url: str,
    emulator: EmulatorServer,
    new_calendar: Callable[..., str],
    service_account_key: dict[str, Any],
) -> None:
    """Each clinic's grant is its own: one with none cannot stop one that has one."""
    granted = _connect(store, "alpha", new_calendar("Alpha"), "Europe/London").id
    missing = _connect(store, "beta", new_calendar("Beta"), "Europe/London").id
    key = new_key()
    alpha = clinic_profile(store, "alpha").id
    with session_scope(store) as session:
        save_service_account(
            session, alpha, service_account_key, "admin@alpha.example", SecretBox([key])
        )
    settings = _settings(sqlite_url, emulator, google_auth="service_account", secret_key=key)
    worker = Worker(Fleet(settings, store), WorkerOptions.from_settings(settings))
    with running(worker):
        _wait_for(lambda: _polled(store, granted) and _polled(store, missing))
    assert _state(store, granted).consecutive_failures == 0
    assert "no google connection" in (_state(store, missing).last_error or "")


def test_a_policy_changed_while_the_worker_runs_is_in_force_at_the_next_poll(
    store: Engine,
    sqlite_url: str,
    emulator: EmulatorServer,
    service: Any,
    new_calendar: Callable[..., str],
) -> None:
    calendar = new_calendar("Room")
    source = _connect(store, "alpha", calendar, "Europe/London").id
    _book(service, calendar, "Microneedling Jane Doe", 2)
    botox = _book(service, calendar, "Botox Jane Doe", 23)
    settings = _settings(sqlite_url, emulator, poll_interval_seconds=1)
    worker = Worker(Fleet(settings, store), WorkerOptions.from_settings(settings))
    with running(worker):
        _wait_for(lambda: _polled(store, source))
        assert _color(service, calendar, botox) is None
        stricter = default_policy_text().replace("min_days = 14", "min_days = 30")
        stricter = stricter.replace("ideal_days = [14, 28]", "ideal_days = [30, 42]")
        clinic_profile(store, "alpha", policy_text=stricter, flag_color="5")
        _wait_for(lambda: _color(service, calendar, botox) == "5")
    with session_scope(store) as session:
        stored = clinic_policy(session, clinic_profile(store, "alpha").id)
    assert stored is not None
    assert stored.version == 1


def test_a_grant_without_room_holds_back_only_its_own_clinics_google_calendars(
    store: Engine, sqlite_url: str, emulator: EmulatorServer
) -> None:
    """Room for 2 more requests: 2 of the clinic's Google calendars; none when spent."""
    busy = add_calendars(store, 3, clinic="busy")
    busy_caldav = add_calendars(store, 1, clinic="busy", provider=Provider.CALDAV, prefix="dav")
    quiet = add_calendars(store, 2, clinic="quiet")
    options = _options(sqlite_url, emulator, google_requests_per_minute=5, worker_threads=8)
    worker = Worker(Fleet(_settings(sqlite_url, emulator), store), options, clock=lambda: NOW)
    busy_id = clinic_profile(store, "busy").id
    with worker.clinics.serving(busy_id) as services:
        assert services.google_source is not None
        assert services.google_source.client.account == "default"  # no credentials...
    grant = f"clinic-{busy_id}"  # ...so each clinic counts as its own Google user
    worker.budget.acquire(grant, 3)
    assert worker.clinics.google_room(4) == {busy_id: 2}
    first = {lease.source_id for lease in worker.claim()}
    assert first >= {*quiet, *busy_caldav}
    assert len(first & set(busy)) == 2
    worker.budget.acquire(grant, 2)  # the grant's minute is spent
    assert worker.clinics.google_room(4) == {busy_id: 0}
    assert worker.claim() == []
    worker.clinics.close()


def test_two_workers_on_postgresql_share_clinics_without_polling_a_calendar_twice_at_once(
    postgres: tuple[Engine, str], emulator: EmulatorServer
) -> None:
    engine, url = postgres
    sources = [
        source_id
        for slug in ("alpha", "beta", "gamma")
        for source_id in add_calendars(engine, 4, clinic=slug, provider=Provider.ICS)
    ]
    running_now: set[int] = set()
    polls: list[tuple[int, str]] = []
    overlaps: list[int] = []
    lock = threading.Lock()

    def cycle_of(name: str) -> Callable[..., CalendarCycle]:
        def cycle(
            services: Any, source_id: int, *, now: datetime, clock: Clock | None = None
        ) -> CalendarCycle:
            with lock:
                if source_id in running_now:
                    overlaps.append(source_id)
                running_now.add(source_id)
                polls.append((source_id, name))
            time.sleep(0.1)
            with lock:
                running_now.discard(source_id)
            return run_calendar_cycle(services, source_id, now=now, clock=clock)

        return cycle

    settings = _settings(url, emulator, poll_interval_seconds=1, worker_threads=3)
    options = WorkerOptions.from_settings(settings)
    one = Worker(Fleet(settings, engine), options, cycle=cycle_of("one"))
    two = Worker(Fleet(settings, engine), options, cycle=cycle_of("two"))
    with running(one), running(two):
        _wait_for(lambda: {source for source, _ in polls} == set(sources))
        time.sleep(1.5)
        assert len(one.clinics) + len(two.clinics) >= 3
    assert overlaps == []
    assert {name for _, name in polls} == {"one", "two"}


def test_a_turn_keeps_a_clinics_calendars_together_then_passes_to_the_next(
    engine: Engine,
) -> None:
    """Turns of two calendars, claims of one at a time: a, a, b, b, c, c, then a again."""
    ids = {slug: add_calendars(engine, 3, clinic=slug) for slug in ("a", "b", "c")}
    clinic_of = {source: slug for slug, sources in ids.items() for source in sources}
    turns, order = Turns(per_turn=2), []
    for _ in range(7):
        (lease,) = claim_due(
            engine,
            "w",
            now=NOW,
            ttl=timedelta(seconds=30),
            limit=1,
            after_clinic=turns.after(),
            per_turn=turns.per_turn,
        )
        turns.claimed([lease])
        order.append(clinic_of[lease.source_id])
    assert order == ["a", "a", "b", "b", "c", "c", "a"]


def _alive(kind: type) -> int:
    gc.collect()
    return sum(1 for thing in gc.get_objects() if isinstance(thing, kind))


def test_what_a_worker_keeps_does_not_grow_with_the_clinics_it_has_served(
    store: Engine,
    sqlite_url: str,
    emulator: EmulatorServer,
    service: Any,
    new_calendar: Callable[..., str],
) -> None:
    """Services of 2 clinics kept (the LRU's bound); after 2 clinics and after 8, the same
    transports (the 2 kept clinics', a thread's each) and the same Calendar service
    objects: the process's one service for the endpoint, not one per clinic or thread."""
    options = _options(sqlite_url, emulator, worker_threads=1, worker_clinics_cached=1)
    worker = Worker(Fleet(_settings(sqlite_url, emulator), store), options)
    sources: list[int] = []

    def serve(first: int, last: int) -> tuple[int, int]:
        for number in range(first, last):
            calendar = new_calendar(f"Room {number}", "Europe/London")
            _book(service, calendar, "Botox Jane Doe", 2)
            sources.append(_connect(store, f"clinic-{number}", calendar, "Europe/London").id)
        _wait_for(lambda: all(_polled(store, source) for source in sources))
        return _alive(Resource), _alive(httplib2.Http)

    service.calendars(), service.events(), service.calendarList()  # shared ones, built
    before = _alive(Resource)
    with running(worker):
        resources, transports = serve(0, 2)
        assert serve(2, 8) == (resources, transports)
        assert len(worker.clinics) == 2
    assert resources == before


def test_a_clinics_router_knows_its_own_calendars_only(store: Engine) -> None:
    """A worker keeps a router per clinic: it remembers that clinic's calendars, not the
    store's, and a calendar of another clinic is not routed."""
    mine = add_calendars(store, 3, clinic="alpha", provider=Provider.ICS)
    add_calendars(store, 5, clinic="beta", provider=Provider.ICS)
    routed: list[str] = []

    class _Source:
        def get_calendar(self, calendar_id: str) -> str:
            routed.append(calendar_id)
            return calendar_id

    alpha = clinic_profile(store, "alpha").id
    router = CalendarRouter(store, alpha, {Provider.ICS: lambda: cast(ProviderSource, _Source())})
    router.get_calendar("room0@alpha.example")
    with pytest.raises(SetupError, match="not connected to this clinic"):
        router.get_calendar("room0@beta.example")
    assert routed == ["room0@alpha.example"]
    assert len(router._providers) == len(mine)
