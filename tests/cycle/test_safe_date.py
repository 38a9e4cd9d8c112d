"""The safe date a flag names: earliest eligible day and first free slots (SPEC §6, §7).

Through the emulator with the real Google client: the slots come from freebusy.query on the
booking's calendar, are written once, and stay as they are while the calendar fills up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from sync.bootstrap import Services
from sync.emulator import EmulatorServer
from sync.store.conflicts import ConflictState, list_conflicts
from sync.store.database import session_scope
from sync.usecases.cycle import run_clinic_pass
from tests.cycle.conftest import NOW, PATIENT, make_services
from tests.cycle.test_flags import _book_pair, _get

Json = dict[str, Any]
SLOTS = (
    "First free slots (from 2030-01-24 to 2030-02-07): "
    "Thu 2030-01-24 10:00, Thu 2030-01-24 10:30, Thu 2030-01-24 11:00"
)


def _busy_morning(insert: Callable[..., Json], room: str) -> None:
    insert(room, "Team meeting", "2030-01-24T09:00:00+00:00")


def test_the_flag_names_the_earliest_eligible_day_and_the_first_free_slots(
    services: Services, calendars: tuple[str, str], insert: Callable[..., Json], service: Any
) -> None:
    _, botox = _book_pair(insert, calendars)
    _busy_morning(insert, calendars[1])
    run_clinic_pass(services, now=NOW)
    description = _get(service, calendars[1], botox)["description"]
    assert "Earliest eligible date: 2030-01-24" in description
    assert SLOTS in description.split("\n")


def test_the_slots_follow_the_clinics_opening_hours(
    engine: Engine,
    emulator: EmulatorServer,
    source: Any,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
) -> None:
    services = make_services(
        engine, emulator, source, clinic={"opening_hours": "Mon-Fri 14:00-16:00/45"}
    )
    _, botox = _book_pair(insert, calendars)
    run_clinic_pass(services, now=NOW)
    description = _get(service, calendars[1], botox)["description"]
    assert (
        "First free slots (from 2030-01-24 to 2030-02-07): "
        "Thu 2030-01-24 14:00, Thu 2030-01-24 14:45, Fri 2030-01-25 14:00"
    ) in description


def test_slots_taken_on_the_calendar_later_do_not_rewrite_the_flag(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
    emulator: EmulatorServer,
) -> None:
    _, botox = _book_pair(insert, calendars)
    _busy_morning(insert, calendars[1])
    run_clinic_pass(services, now=NOW)
    etag = _get(service, calendars[1], botox)["etag"]
    insert(calendars[1], "Filler Ann Lee", "2030-01-24T10:00:00+00:00", hours=3)
    emulator.reset_stats()
    for minutes in (1, 2):
        report = run_clinic_pass(services, now=NOW + timedelta(minutes=minutes))
        assert all(c.flagged == c.unflagged == 0 for c in report.cycles)
    assert emulator.stats().get("events.patch", 0) == 0
    assert emulator.stats().get("freebusy.query", 0) == 0
    assert _get(service, calendars[1], botox)["etag"] == etag


def test_a_moved_earlier_booking_reads_new_slots_for_the_new_days(
    services: Services, calendars: tuple[str, str], insert: Callable[..., Json], service: Any
) -> None:
    microneedling, botox = _book_pair(insert, calendars)
    run_clinic_pass(services, now=NOW)
    moved = {
        "start": {"dateTime": "2030-01-08T10:00:00+00:00"},
        "end": {"dateTime": "2030-01-08T11:00:00+00:00"},
    }
    service.events().patch(
        calendarId=calendars[0], eventId=microneedling["id"], body=moved
    ).execute()
    run_clinic_pass(services, now=NOW + timedelta(minutes=1))
    description = _get(service, calendars[1], botox)["description"]
    assert "First free slots (from 2030-01-22 to 2030-02-05): Tue 2030-01-22 09:00," in description


def test_when_free_busy_fails_the_flag_is_written_naming_only_the_days(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
    emulator: EmulatorServer,
) -> None:
    _, botox = _book_pair(insert, calendars)
    emulator.inject_fault(status=500, count=20, method="freebusy.query")
    run_clinic_pass(services, now=NOW)
    description = _get(service, calendars[1], botox)["description"]
    assert "Earliest eligible date: 2030-01-24" in description
    assert (
        "First free slots (from 2030-01-24 to 2030-02-07): "
        "not known (the calendar's free/busy could not be read)"
    ) in description
    with session_scope(services.engine) as session:
        [conflict] = list_conflicts(session, 1)
    assert conflict.state is ConflictState.FLAGGED


def test_several_conflicts_on_one_booking_share_one_free_busy_query(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    emulator: EmulatorServer,
) -> None:
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    insert(smith, "Microneedling Jane Doe", "2030-01-10T15:00:00+00:00", attendees=PATIENT)
    insert(room, "Botox Jane Doe", "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    emulator.reset_stats()
    run_clinic_pass(services, now=NOW)
    assert emulator.stats().get("freebusy.query") == 1


def test_flags_on_one_calendar_in_one_pass_share_one_free_busy_query(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    emulator: EmulatorServer,
) -> None:
    smith, room = calendars
    kim = [{"email": "kim.lee@example.com"}]
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    insert(room, "Botox Jane Doe", "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    insert(smith, "Microneedling Kim Lee", "2030-01-20T10:00:00+00:00", attendees=kim)
    insert(room, "Botox Kim Lee", "2030-01-25T10:00:00+00:00", attendees=kim)
    emulator.reset_stats()
    report = run_clinic_pass(services, now=NOW)
    assert sum(c.flagged for c in report.cycles) == 2
    assert emulator.stats().get("freebusy.query") == 1
