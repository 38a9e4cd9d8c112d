"""The pull use case (sync.usecases.pull) end to end: emulator → real client → rules → store.

Runs on SQLite and PostgreSQL through the store's ``engine`` fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.event import listen, remove

from rules.model import MatchKind, PatientKey
from sync.emulator import EmulatorServer
from sync.sources.google import GoogleCalendarSource
from sync.store.bookings import list_bookings, load_events
from sync.store.clinics import get_clinic
from sync.store.database import session_scope
from sync.usecases.pull import BookingReader, PullReport, pull_clinic
from tests.google.conftest import NOW, connect, source_state

Insert = Callable[..., dict[str, Any]]


def run(engine: Engine, source: GoogleCalendarSource, reader: BookingReader) -> PullReport:
    return pull_clinic(engine, source, reader, "default", now=NOW)


def stored(engine: Engine) -> dict[str, tuple[date, str]]:
    with session_scope(engine) as session:
        bookings = list_bookings(session, get_clinic(session, "default").id)
    return {b.id: (b.day, b.summary) for b in bookings}


state = source_state


def test_first_sync_stores_bookings_read_by_the_rules_engine(
    engine: Engine, source: GoogleCalendarSource, reader: BookingReader, london: str, insert: Insert
) -> None:
    connected = connect(engine, london)
    event = insert(
        london,
        "Microneedling (SkinPen)",
        "2030-07-01T23:30:00+00:00",
        extendedProperties={"private": {"patient_id": "P-7"}},
    )
    report = run(engine, source, reader)
    (pull,) = report.calendars
    assert (pull.ok, pull.full, pull.inserted, pull.requests) == (True, True, 1, 1)
    assert pull.changed == (event["id"],)
    with session_scope(engine) as session:
        read = load_events(session, connected.id, [event["id"]])[event["id"]]
    assert read.booking.day == date(2030, 7, 2)
    assert read.categories == ("microneedling",)
    assert (read.patient, read.match) == (PatientKey(MatchKind.ID, "P-7"), MatchKind.ID)
    after = state(engine, connected)
    assert (after.last_sync_at, after.next_poll_at) == (NOW, NOW + timedelta(seconds=60))
    assert after.sync_token is not None


def test_inserts_patches_and_deletes_arrive_incrementally(
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    london: str,
    insert: Insert,
    service: Any,
) -> None:
    connect(engine, london)
    first = insert(london, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00")
    run(engine, source, reader)
    second = insert(london, "Botox Jane Doe", "2030-01-20T10:00:00+00:00")
    moved = {
        "start": {"dateTime": "2030-01-11T10:00:00Z"},
        "end": {"dateTime": "2030-01-11T11:00:00Z"},
    }
    service.events().patch(calendarId=london, eventId=first["id"], body=moved).execute()
    (pull,) = run(engine, source, reader).calendars
    assert (pull.full, pull.inserted, pull.updated, pull.deleted) == (False, 1, 1, 0)
    assert stored(engine) == {
        first["id"]: (date(2030, 1, 11), "Microneedling Jane Doe"),
        second["id"]: (date(2030, 1, 20), "Botox Jane Doe"),
    }

    service.events().delete(calendarId=london, eventId=second["id"]).execute()
    (pull,) = run(engine, source, reader).calendars
    assert (pull.deleted, pull.changed) == (1, (second["id"],))
    assert list(stored(engine)) == [first["id"]]


def test_after_a_410_the_full_resync_also_catches_deletions_made_meanwhile(
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    london: str,
    insert: Insert,
    service: Any,
    emulator: EmulatorServer,
) -> None:
    connect(engine, london)
    kept = insert(london, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
    dropped = insert(london, "Botox John Roe", "2030-01-12T10:00:00+00:00")
    run(engine, source, reader)
    emulator.expire_sync_tokens()
    service.events().delete(calendarId=london, eventId=dropped["id"]).execute()
    added = insert(london, "Microneedling Jane Doe", "2030-01-02T10:00:00+00:00")
    (pull,) = run(engine, source, reader).calendars
    assert (pull.full, pull.inserted, pull.deleted, pull.requests) == (True, 1, 1, 2)
    assert sorted(stored(engine)) == sorted([kept["id"], added["id"]])


def test_deleting_a_series_deletes_its_stored_instances(
    engine: Engine, source: GoogleCalendarSource, reader: BookingReader, london: str, service: Any
) -> None:
    connect(engine, london)
    series = (
        service.events()
        .insert(
            calendarId=london,
            body={
                "summary": "Botox Jane Doe",
                "start": {"dateTime": "2030-01-07T09:00:00", "timeZone": "Europe/London"},
                "end": {"dateTime": "2030-01-07T10:00:00", "timeZone": "Europe/London"},
                "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
            },
        )
        .execute()
    )
    run(engine, source, reader)
    assert len(stored(engine)) == 3
    service.events().delete(calendarId=london, eventId=series["id"]).execute()
    (pull,) = run(engine, source, reader).calendars
    assert (pull.deleted, stored(engine)) == (3, {})


def test_a_failing_calendar_is_recorded_and_the_others_still_sync(
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    new_calendar: Callable[..., str],
    insert: Insert,
    emulator: EmulatorServer,
) -> None:
    failing, healthy = connect(engine, new_calendar("Dr A")), connect(engine, new_calendar("Dr B"))
    insert(healthy.external_id, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
    emulator.inject_fault(status=500, count=4, method="events.list")  # every attempt of Dr A
    report = run(engine, source, reader)
    assert [pull.ok for pull in report.calendars] == [False, True]
    assert not report.all_failed
    broken = state(engine, failing)
    assert broken.consecutive_failures == 1
    assert "HTTP 500" in str(broken.last_error)
    assert broken.sync_token is None

    report = run(engine, source, reader)
    assert all(pull.ok for pull in report.calendars)
    assert state(engine, failing).consecutive_failures == 0


@pytest.mark.parametrize(
    ("reason", "wait"),
    [
        # a per-minute quota: one 60 s window plus a quarter of one in jitter (random() 0.5)
        ("quotaExceeded", timedelta(seconds=60 * 1.125)),
        ("dailyLimitExceeded", timedelta(hours=1)),
    ],
)
def test_a_quota_postpones_the_next_poll_by_its_own_window(
    reason: str,
    wait: timedelta,
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    london: str,
    emulator: EmulatorServer,
) -> None:
    connected = connect(engine, london)
    emulator.inject_fault(status=403, reason=reason, method="events.list")
    assert run(engine, source, reader).all_failed
    assert state(engine, connected).next_poll_at == NOW + wait


def test_an_idle_pass_costs_one_request_per_calendar(
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    new_calendar: Callable[..., str],
    insert: Insert,
    emulator: EmulatorServer,
) -> None:
    for n in range(3):
        calendar_id = new_calendar(f"Dr {n}")
        connect(engine, calendar_id)
        insert(calendar_id, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
    run(engine, source, reader)
    emulator.reset_stats()
    report = run(engine, source, reader)
    assert [(p.requests, p.seen) for p in report.calendars] == [(1, 0)] * 3
    assert emulator.stats() == {"events.list": 3}


def test_one_pass_of_full_resyncs_finds_deletions_on_every_calendar(
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    new_calendar: Callable[..., str],
    insert: Insert,
    service: Any,
    emulator: EmulatorServer,
) -> None:
    doomed = []
    for name in ("Dr A", "Dr B"):
        calendar_id = new_calendar(name)
        connect(engine, calendar_id)
        insert(calendar_id, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
        doomed.append(
            (calendar_id, insert(calendar_id, "Botox Ann Lee", "2030-01-11T10:00:00+00:00"))
        )
    run(engine, source, reader)
    emulator.expire_sync_tokens()
    for calendar_id, event in doomed:
        service.events().delete(calendarId=calendar_id, eventId=event["id"]).execute()
    report = run(engine, source, reader)
    assert [(p.full, p.deleted) for p in report.calendars] == [(True, 1), (True, 1)]
    assert {summary for _, summary in stored(engine).values()} == {"Botox Jane Doe"}


def test_calendars_that_brought_nothing_move_their_cursors_in_one_unit_of_work(
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    new_calendar: Callable[..., str],
    insert: Insert,
) -> None:
    calendars = [connect(engine, new_calendar(f"Dr {n}")) for n in range(3)]
    for connected in calendars:
        insert(connected.external_id, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
    run(engine, source, reader)
    insert(calendars[1].external_id, "Botox Ann Lee", "2030-01-12T10:00:00+00:00")
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    listen(engine, "commit", committed)
    later = NOW + timedelta(minutes=1)
    try:
        report = pull_clinic(engine, source, reader, "default", now=later)
    finally:
        remove(engine, "commit", committed)
    assert [pull.inserted for pull in report.calendars] == [0, 1, 0]
    assert [pull.in_quarantine for pull in report.calendars] == [None, 0, None]
    assert [state(engine, c).last_sync_at for c in calendars] == [later] * 3
    assert len(commits) == 3  # reading the calendars, the one that changed, the quiet two
