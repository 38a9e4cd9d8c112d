"""Detection, flags and unflags through the emulator with the real Google client (SPEC §5, §6)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from rules.flag import CONFLICT_PROPERTY, FLAG_BEGIN, FLAG_END, PREVIOUS_COLOR_PROPERTY
from sync.bootstrap import Services
from sync.emulator import EmulatorServer
from sync.store.audit import AuditEvent, list_audit_events
from sync.store.conflicts import ConflictState, StoredConflict, list_conflicts, update_conflict
from sync.store.database import session_scope
from sync.store.review import find_conflict, override
from sync.usecases.cycle import run_clinic_pass
from sync.usecases.flag_settlement import WRITE_PROPERTY
from tests.cycle.conftest import NOW, PATIENT

Json = dict[str, Any]
STAFF_NOTE = "Bring the consent form.\nParking at the back."


def _conflicts(engine: Engine) -> list[StoredConflict]:
    with session_scope(engine) as session:
        return list_conflicts(session, 1)


def _audit(engine: Engine) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list_audit_events(session, 1)


def _get(service: Any, calendar: str, event: Json) -> Json:
    return dict(service.events().get(calendarId=calendar, eventId=event["id"]).execute())


def _book_pair(
    insert: Callable[..., Json], calendars: tuple[str, str], botox_day: str = "2030-01-17"
) -> tuple[Json, Json]:
    smith, room = calendars
    mn = insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    botox = insert(
        room,
        "Botox Jane Doe",
        f"{botox_day}T10:00:00+00:00",
        attendees=PATIENT,
        description=STAFF_NOTE,
        colorId="5",
    )
    return mn, botox


def test_botox_a_week_after_microneedling_is_flagged_around_staff_text(
    services: Services, calendars: tuple[str, str], insert: Callable[..., Json], service: Any
) -> None:
    _, botox = _book_pair(insert, calendars)
    report = run_clinic_pass(services, now=NOW)
    assert sum(c.detected for c in report.cycles) == 1
    event = _get(service, calendars[1], botox)
    description = event["description"]
    assert description.startswith(STAFF_NOTE + "\n\n" + FLAG_BEGIN)
    assert description.endswith(FLAG_END)
    assert "booked 7 days after" in description
    assert "Earliest eligible date: 2030-01-24" in description
    [conflict] = _conflicts(services.engine)
    assert f"https://clinic.example/admin/conflicts/{conflict.facts.public_id}" in description
    assert event["colorId"] == "11"
    private = event["extendedProperties"]["private"]
    assert private[CONFLICT_PROPERTY] == conflict.facts.public_id
    assert private[PREVIOUS_COLOR_PROPERTY] == "5"
    assert conflict.state is ConflictState.FLAGGED
    actions = [e.action for e in _audit(services.engine)]
    assert actions == ["conflict.detected", "flag.written"]


def test_a_second_pass_writes_nothing(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
    emulator: EmulatorServer,
) -> None:
    """The service's own write comes back through sync and causes no new write."""
    _, botox = _book_pair(insert, calendars)
    run_clinic_pass(services, now=NOW)
    etag = _get(service, calendars[1], botox)["etag"]
    emulator.reset_stats()
    for minutes in (1, 2):
        report = run_clinic_pass(services, now=NOW + timedelta(minutes=minutes))
        assert all(c.flagged == c.unflagged == 0 for c in report.cycles)
    assert emulator.stats().get("events.patch", 0) == 0
    assert emulator.stats().get("events.get", 0) == 0
    assert _get(service, calendars[1], botox)["etag"] == etag
    assert len(_audit(services.engine)) == 2


def test_moving_botox_out_removes_the_flag_and_restores_the_event(
    services: Services, calendars: tuple[str, str], insert: Callable[..., Json], service: Any
) -> None:
    _, botox = _book_pair(insert, calendars)
    run_clinic_pass(services, now=NOW)
    moved = {"start": {"dateTime": "2030-01-26T10:00:00+00:00"}}
    moved["end"] = {"dateTime": "2030-01-26T11:00:00+00:00"}
    service.events().patch(calendarId=calendars[1], eventId=botox["id"], body=moved).execute()
    report = run_clinic_pass(services, now=NOW + timedelta(minutes=1))
    assert sum(c.resolved for c in report.cycles) == 1
    assert sum(c.unflagged for c in report.cycles) == 1
    event = _get(service, calendars[1], botox)
    assert event["description"] == STAFF_NOTE
    assert event["colorId"] == "5"
    # only the nonce of the last write stays, private: the proof of what reached the event
    assert set(event["extendedProperties"]["private"]) == {WRITE_PROPERTY}
    [conflict] = _conflicts(services.engine)
    assert conflict.state is ConflictState.RESOLVED
    assert conflict.resolution_reason == "moved: the gap is now 16 days (minimum 14)"
    assert [e.action for e in _audit(services.engine)][-2:] == ["conflict.resolved", "flag.removed"]


def test_deleting_the_microneedling_resolves_with_the_reason(
    services: Services, calendars: tuple[str, str], insert: Callable[..., Json], service: Any
) -> None:
    mn, botox = _book_pair(insert, calendars)
    run_clinic_pass(services, now=NOW)
    service.events().delete(calendarId=calendars[0], eventId=mn["id"]).execute()
    run_clinic_pass(services, now=NOW + timedelta(minutes=1))
    [conflict] = _conflicts(services.engine)
    assert conflict.state is ConflictState.RESOLVED
    assert conflict.resolution_reason == "earlier booking deleted"
    assert FLAG_BEGIN not in _get(service, calendars[1], botox)["description"]


def test_a_booking_whose_patient_changes_resolves(
    services: Services, calendars: tuple[str, str], insert: Callable[..., Json], service: Any
) -> None:
    _, botox = _book_pair(insert, calendars)
    run_clinic_pass(services, now=NOW)
    other = {"summary": "Botox Mary Major", "attendees": [{"email": "mary@example.com"}]}
    service.events().patch(calendarId=calendars[1], eventId=botox["id"], body=other).execute()
    run_clinic_pass(services, now=NOW + timedelta(minutes=1))
    [conflict] = _conflicts(services.engine)
    assert conflict.resolution_reason == "the two bookings are no longer the same patient"
    event = _get(service, calendars[1], botox)
    assert event["description"] == STAFF_NOTE
    assert event["colorId"] == "5"


def test_dry_run_writes_nothing_and_records_what_it_would_do(
    dry_services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    service: Any,
    emulator: EmulatorServer,
) -> None:
    _, botox = _book_pair(insert, calendars)
    run_clinic_pass(dry_services, now=NOW)
    run_clinic_pass(dry_services, now=NOW + timedelta(minutes=1))
    assert emulator.stats().get("events.patch", 0) == 0
    assert _get(service, calendars[1], botox)["description"] == STAFF_NOTE
    [conflict] = _conflicts(dry_services.engine)
    assert conflict.state is ConflictState.OPEN
    skips = [e for e in _audit(dry_services.engine) if e.action == "flag.skipped"]
    assert [e.detail["reason"] for e in skips] == ["dry run: would flag"]


def test_past_bookings_are_recorded_but_never_written(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    emulator: EmulatorServer,
) -> None:
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2029-12-01T10:00:00+00:00", attendees=PATIENT)
    insert(room, "Botox Jane Doe", "2029-12-05T10:00:00+00:00", attendees=PATIENT)
    run_clinic_pass(services, now=NOW)
    run_clinic_pass(services, now=NOW + timedelta(minutes=1))
    assert emulator.stats().get("events.patch", 0) == 0
    [conflict] = _conflicts(services.engine)
    assert conflict.state is ConflictState.OPEN
    skips = [e.detail["reason"] for e in _audit(services.engine) if e.action == "flag.skipped"]
    assert skips == ["booking already started: recorded for audit only"]


def test_a_read_only_calendar_is_recorded_as_skipped(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    emulator: EmulatorServer,
) -> None:
    _book_pair(insert, calendars)
    emulator.inject_fault(status=403, reason="requiredAccessLevel", method="events.patch")
    report = run_clinic_pass(services, now=NOW)
    assert sum(c.skipped_writes for c in report.cycles) == 1
    [skip] = [e for e in _audit(services.engine) if e.action == "flag.skipped"]
    assert skip.detail["reason"].startswith("read-only calendar")


def test_an_override_the_web_app_could_not_write_is_applied_on_the_next_idle_cycle(
    services: Services, calendars: tuple[str, str], insert: Callable[..., Json], service: Any
) -> None:
    """SPEC §8: an override removes the flag; the worker catches up with nothing pulled."""
    _, botox = _book_pair(insert, calendars)
    run_clinic_pass(services, now=NOW)
    (stored,) = _conflicts(services.engine)
    with session_scope(services.engine) as session:
        view = find_conflict(session, stored.facts.public_id)
        override(
            session, view, "admin@clinic.example", "consented", now=NOW + timedelta(seconds=30)
        )
    report = run_clinic_pass(services, now=NOW + timedelta(minutes=1))
    assert sum(c.unflagged for c in report.cycles) == 1
    event = _get(service, calendars[1], botox)
    assert FLAG_BEGIN not in event.get("description", "")
    assert event.get("colorId") == "5"
    (after,) = _conflicts(services.engine)
    assert after.state is ConflictState.OVERRIDDEN


def _move(service: Any, calendar: str, event: Json, day: str) -> None:
    body = {
        "start": {"dateTime": f"{day}T10:00:00+00:00"},
        "end": {"dateTime": f"{day}T11:00:00+00:00"},
    }
    service.events().patch(calendarId=calendar, eventId=event["id"], body=body).execute()


def test_an_overridden_pair_that_resolves_and_returns_is_not_flagged_again(
    services: Services, calendars: tuple[str, str], insert: Callable[..., Json], service: Any
) -> None:
    """SPEC §8: an override is remembered, so the same pair is not flagged again."""
    _, botox = _book_pair(insert, calendars)
    run_clinic_pass(services, now=NOW)
    (stored,) = _conflicts(services.engine)
    with session_scope(services.engine) as session:
        view = find_conflict(session, stored.facts.public_id)
        override(session, view, "admin@clinic.example", "consented", now=NOW + timedelta(seconds=5))
    _move(service, calendars[1], botox, "2030-01-30")
    run_clinic_pass(services, now=NOW + timedelta(minutes=1))
    assert _conflicts(services.engine)[0].state is ConflictState.RESOLVED
    _move(service, calendars[1], botox, "2030-01-17")
    report = run_clinic_pass(services, now=NOW + timedelta(minutes=2))
    assert sum(c.flagged for c in report.cycles) == 0
    (back,) = _conflicts(services.engine)
    assert back.state is ConflictState.OVERRIDDEN
    assert FLAG_BEGIN not in _get(service, calendars[1], botox).get("description", "")


def _set_state(engine: Engine, conflict: StoredConflict, state: ConflictState) -> None:
    with session_scope(engine) as session:
        update_conflict(session, conflict.id, state=state)


def test_a_full_recheck_settles_a_state_left_behind_by_a_kill_without_writing(
    services: Services,
    calendars: tuple[str, str],
    insert: Callable[..., Json],
    emulator: EmulatorServer,
) -> None:
    """Killed between writing a flag and moving the conflict's state: the next full re-check
    finds the flag on the calendar, writes nothing, and settles the state from it."""
    _book_pair(insert, calendars)
    run_clinic_pass(services, now=NOW)
    [conflict] = _conflicts(services.engine)
    _set_state(services.engine, conflict, ConflictState.OPEN)
    emulator.reset_stats()
    report = run_clinic_pass(services, now=NOW + timedelta(days=1))  # a new day: everything
    assert sum(c.assessed for c in report.cycles) == 2
    assert emulator.stats().get("events.patch", 0) == 0
    [settled] = _conflicts(services.engine)
    assert settled.state is ConflictState.FLAGGED


def test_a_full_recheck_in_a_dry_run_takes_back_a_state_no_flag_carries(
    dry_services: Services, calendars: tuple[str, str], insert: Callable[..., Json]
) -> None:
    _book_pair(insert, calendars)
    run_clinic_pass(dry_services, now=NOW)
    [conflict] = _conflicts(dry_services.engine)
    assert conflict.state is ConflictState.OPEN
    _set_state(dry_services.engine, conflict, ConflictState.FLAGGED)
    run_clinic_pass(dry_services, now=NOW + timedelta(days=1))
    [settled] = _conflicts(dry_services.engine)
    assert settled.state is ConflictState.OPEN
