"""Every flag change on a calendar is audited once, in order, whatever is lost (SPEC §6, §8).

Answers are lost at the transport: the real client sends the PATCH, the emulator applies it,
and the connection drops before the answer is read, so the retry meets 412. Kills are a
``KeyboardInterrupt`` raised right after a write reached the calendar, before anything
about it was stored.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from rules.flag import FLAG_BEGIN, FlagPatch
from sync.bootstrap import Services
from sync.emulator import EmulatorServer
from sync.sources.google import CalendarClient, GoogleCalendarSource, RetryPolicy
from sync.sources.port import RemoteEvent
from sync.store.audit import AuditEvent, list_audit_events
from sync.store.database import session_scope
from sync.store.sources import list_sources, set_source_enabled
from sync.usecases.cycle import run_calendar_cycle, run_clinic_pass
from tests.cycle.conftest import NOW

Json = dict[str, Any]
FLAG_ACTIONS = ("flag.written", "flag.changed", "flag.removed")


class AnswerDropped(ConnectionResetError):
    """The connection closed after the request was sent, before the answer was read."""


class _DroppingHttp:
    """An ``httplib2.Http`` that loses the answer to the next ``drops`` PATCH requests."""

    def __init__(self, http: Any, drops: list[int]) -> None:
        self._http = http
        self._drops = drops

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        answer = self._http.request(uri, method, *args, **kwargs)
        if method == "PATCH" and self._drops and self._drops[0] > 0:
            self._drops[0] -= 1
            raise AnswerDropped("connection reset by peer")
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)


class DroppingClient(CalendarClient):
    """The real client over a transport that drops answers while ``drops[0]`` > 0."""

    def __init__(self, base: CalendarClient) -> None:
        super().__init__(base.config)
        self.drops = [0]

    def _http(self) -> Any:
        return _DroppingHttp(super()._http(), self.drops)


class _KilledAfterWrite(GoogleCalendarSource):
    """Google, with the process dying right after a write reached the calendar."""

    def write_flag(
        self, calendar_id: str, event_id: str, patch: FlagPatch, *, etag: str
    ) -> RemoteEvent:
        super().write_flag(calendar_id, event_id, patch, etag=etag)
        raise KeyboardInterrupt("killed after the write, before its record")


def _trail(services: Services) -> list[AuditEvent]:
    with session_scope(services.engine) as session:
        return list_audit_events(session, 1)


def _flag_actions(services: Services) -> list[str]:
    return [e.action for e in _trail(services) if e.action in FLAG_ACTIONS]


def _book(insert: Callable[..., Json], calendars: tuple[str, str], n: int = 0) -> Json:
    smith, room = calendars
    who = [{"email": f"p{n}@example.com"}]
    insert(smith, f"Microneedling P{n}", "2030-01-10T10:00:00+00:00", attendees=who)
    return insert(room, f"Botox P{n}", "2030-01-17T10:00:00+00:00", attendees=who)


def _move_out(service: Any, room: str, event: Json) -> None:
    moved = {"start": {"dateTime": "2030-01-30T10:00:00+00:00"}}
    moved["end"] = {"dateTime": "2030-01-30T11:00:00+00:00"}
    service.events().patch(calendarId=room, eventId=event["id"], body=moved).execute()


@pytest.fixture
def dropping(services: Services, source: GoogleCalendarSource, retry: RetryPolicy) -> Any:
    """Services whose Google transport loses answers on demand (``.drops[0] = n``)."""
    client = DroppingClient(source.client)
    lossy = GoogleCalendarSource(client, retry=retry, now=lambda: NOW)
    yield replace(services, google_source=lossy), client
    client.close()


def test_a_removal_whose_answer_was_lost_is_audited_once(
    dropping: tuple[Services, DroppingClient],
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
) -> None:
    services, client = dropping
    botox = _book(insert, calendars)
    run_clinic_pass(services, now=NOW)
    _move_out(service, calendars[1], botox)
    client.drops[0] = 1
    report = run_clinic_pass(services, now=NOW + timedelta(minutes=1))
    assert client.drops == [0]
    assert sum(c.unflagged for c in report.cycles) == 1
    event = service.events().get(calendarId=calendars[1], eventId=botox["id"]).execute()
    assert FLAG_BEGIN not in event.get("description", "")
    assert _flag_actions(services) == ["flag.written", "flag.removed"]
    run_clinic_pass(services, now=NOW + timedelta(minutes=2))
    assert _flag_actions(services) == ["flag.written", "flag.removed"]


def test_an_addition_whose_answer_was_lost_is_audited_once(
    dropping: tuple[Services, DroppingClient],
    calendars: tuple[str, str],
    insert: Callable[..., Json],
) -> None:
    services, client = dropping
    _book(insert, calendars)
    client.drops[0] = 1
    report = run_clinic_pass(services, now=NOW)
    assert sum(c.flagged for c in report.cycles) == 1
    assert _flag_actions(services) == ["flag.written"]


class _UnreachableAfterWrite(_DroppingHttp):
    """Loses the answer to the next PATCH, then cannot reach Google for any other PATCH."""

    unreachable = False

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        if method == "PATCH" and self.unreachable:
            raise ConnectionRefusedError("Google unreachable")
        if method == "PATCH" and self._drops and self._drops[0] > 0:
            self.unreachable = True
        return super().request(uri, method, *args, **kwargs)


class _UnreachableClient(DroppingClient):
    def _http(self) -> Any:
        return _UnreachableAfterWrite(CalendarClient._http(self), self.drops)


def test_a_write_whose_answer_was_lost_and_retry_never_sent_is_audited_by_a_later_pass(
    services: Services,
    source: GoogleCalendarSource,
    retry: RetryPolicy,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
) -> None:
    # The write reached the calendar; its writer never learnt it (no answer, no retry sent,
    # no read after): it stays open, and a later pass proves it from the event, once.
    client = _UnreachableClient(source.client)
    lossy = replace(
        services, google_source=GoogleCalendarSource(client, retry=retry, now=lambda: NOW)
    )
    botox = _book(insert, calendars)
    client.drops[0] = 1
    report = run_clinic_pass(lossy, now=NOW)
    client.close()
    assert sum(c.flagged for c in report.cycles) == 0
    assert "flag.failed" in [e.action for e in _trail(services)]
    event = service.events().get(calendarId=calendars[1], eventId=botox["id"]).execute()
    assert FLAG_BEGIN in event.get("description", "")
    assert _flag_actions(services) == []
    for minutes in (1, 3, 4):
        run_clinic_pass(services, now=NOW + timedelta(minutes=minutes))
    assert _flag_actions(services) == ["flag.written"]


@pytest.mark.parametrize("step", ["flag", "unflag"])
def test_a_write_whose_writer_died_before_recording_it_is_audited_once(
    step: str,
    services: Services,
    source: GoogleCalendarSource,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
) -> None:
    botox = _book(insert, calendars)
    killed = replace(
        services,
        google_source=_KilledAfterWrite(source.client, retry=source.retry, now=lambda: NOW),
    )
    if step == "unflag":
        run_clinic_pass(services, now=NOW)
        _move_out(service, calendars[1], botox)
    with pytest.raises(KeyboardInterrupt):
        run_clinic_pass(killed, now=NOW + timedelta(minutes=1))
    for minutes in (2, 3, 6):
        run_clinic_pass(services, now=NOW + timedelta(minutes=minutes))
    expected = ["flag.written"] if step == "flag" else ["flag.written", "flag.removed"]
    assert _flag_actions(services) == expected


def test_concurrent_polls_in_one_worker_audit_each_flag_once_and_in_order(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    new_calendar: Callable[..., str],
) -> None:
    from tests.google.conftest import connect

    for extra in ("Laser", "Room 3"):
        connect(services.engine, new_calendar(extra, "Europe/London"))
    for n in range(5):
        _book(insert, calendars, n)
    with session_scope(services.engine) as session:
        sources = [s.id for s in list_sources(session, 1)]
    barrier = threading.Barrier(len(sources), timeout=20)

    def poll(source_id: int) -> None:
        barrier.wait()
        run_calendar_cycle(services, source_id, now=NOW)

    with ThreadPoolExecutor(len(sources)) as pool:
        for future in [pool.submit(poll, s) for s in sources]:
            future.result(timeout=120)
    run_clinic_pass(services, now=NOW + timedelta(minutes=1))
    trail = _trail(services)
    written = Counter(e.detail["conflict"] for e in trail if e.action == "flag.written")
    detected = {e.detail.get("conflict"): e for e in trail if e.action == "conflict.detected"}
    assert len(written) == 5
    assert set(written.values()) == {1}
    assert len(detected) == 5
    for event in trail:
        if event.action == "flag.written":
            assert event.at >= detected[event.detail["conflict"]].at
            assert trail.index(event) > trail.index(detected[event.detail["conflict"]])


def test_concurrent_dry_run_polls_record_each_skip_once(
    dry_services: Services, calendars: tuple[str, str], insert: Callable[..., Json]
) -> None:
    for n in range(3):
        _book(insert, calendars, n)
    with session_scope(dry_services.engine) as session:
        sources = [s.id for s in list_sources(session, 1)]
    barrier = threading.Barrier(len(sources), timeout=20)

    def poll(source_id: int) -> None:
        barrier.wait()
        run_calendar_cycle(dry_services, source_id, now=NOW)

    for minutes in (0, 1):  # the second round finds every skip already recorded
        barrier.reset()
        with ThreadPoolExecutor(len(sources)) as pool:
            for future in [pool.submit(poll, s) for s in sources]:
                future.result(timeout=120)
        run_clinic_pass(dry_services, now=NOW + timedelta(minutes=minutes))
    skipped = Counter(
        e.detail["conflict"] for e in _trail(dry_services) if e.action == "flag.skipped"
    )
    assert sorted(skipped.values()) == [1, 1, 1]


class _TimedHttp(_DroppingHttp):
    """Notes the moment each PATCH is handed to the network (epoch seconds)."""

    def __init__(self, http: Any, sent: list[float]) -> None:
        super().__init__(http, [0])
        self._sent = sent

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        if method == "PATCH":
            self._sent.append(time.time())
        return super().request(uri, method, *args, **kwargs)


class _TimedClient(DroppingClient):
    def __init__(self, base: CalendarClient) -> None:
        super().__init__(base)
        self.sent: list[float] = []

    def _http(self) -> Any:
        return _TimedHttp(CalendarClient._http(self), self.sent)


def test_a_flag_record_carries_the_moment_its_write_was_sent_however_long_the_pulls_took(
    services: Services,
    source: GoogleCalendarSource,
    retry: RetryPolicy,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    emulator: EmulatorServer,
) -> None:
    # Each pull waits (Google slow, or the budget full): the write goes out seconds after
    # the pass read its "now", and the trail must say so, not the moment the pass began.
    client = _TimedClient(source.client)
    timed = replace(
        services, google_source=GoogleCalendarSource(client, retry=retry, now=lambda: NOW)
    )
    _book(insert, calendars)
    emulator.inject_fault(delay=1.5, count=2, method="events.list")
    began = time.time()
    report = run_clinic_pass(timed, now=NOW)
    client.close()
    assert sum(c.flagged for c in report.cycles) == 1
    [written] = [e for e in _trail(services) if e.action == "flag.written"]
    [sent] = client.sent
    assert sent - began > 2.5
    assert abs((written.at - NOW).total_seconds() - (sent - began)) < 0.5
    assert [e.at for e in _trail(services)] == sorted(e.at for e in _trail(services))


def test_a_write_left_open_by_a_dead_writer_is_read_once_by_its_calendars_poll_alone(
    services: Services,
    source: GoogleCalendarSource,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    new_calendar: Callable[..., str],
    emulator: EmulatorServer,
) -> None:
    from tests.google.conftest import connect

    connect(services.engine, new_calendar("Laser", "Europe/London"))
    _book(insert, calendars)
    killed = replace(
        services,
        google_source=_KilledAfterWrite(source.client, retry=source.retry, now=lambda: NOW),
    )
    with pytest.raises(KeyboardInterrupt):
        run_clinic_pass(killed, now=NOW)
    with session_scope(services.engine) as session:
        by_calendar = {s.external_id: s.id for s in list_sources(session, 1)}
    later = NOW + timedelta(minutes=3)
    emulator.reset_stats()
    run_calendar_cycle(services, by_calendar[calendars[0]], now=later, dry_run=True)
    assert emulator.stats().get("events.get", 0) == 0  # Room 2's write: not Dr Smith's poll's
    assert _flag_actions(services) == []
    barrier = threading.Barrier(len(by_calendar), timeout=20)

    def poll(source_id: int) -> None:
        barrier.wait()
        # dry runs: the only events read are the ones settled
        run_calendar_cycle(services, source_id, now=later, dry_run=True)

    with ThreadPoolExecutor(len(by_calendar)) as pool:
        for future in [pool.submit(poll, s) for s in by_calendar.values()]:
            future.result(timeout=120)
    assert emulator.stats().get("events.get", 0) == 1
    assert _flag_actions(services) == ["flag.written"]


def test_a_write_left_open_on_a_calendar_no_longer_polled_is_settled_by_another_poll(
    services: Services,
    source: GoogleCalendarSource,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
) -> None:
    _book(insert, calendars)
    killed = replace(
        services,
        google_source=_KilledAfterWrite(source.client, retry=source.retry, now=lambda: NOW),
    )
    with pytest.raises(KeyboardInterrupt):
        run_clinic_pass(killed, now=NOW)
    with session_scope(services.engine) as session:
        by_calendar = {s.external_id: s.id for s in list_sources(session, 1)}
        set_source_enabled(session, by_calendar[calendars[1]], enabled=False)
    later = NOW + timedelta(minutes=3)
    run_calendar_cycle(services, by_calendar[calendars[0]], now=later, dry_run=True)
    assert _flag_actions(services) == ["flag.written"]
