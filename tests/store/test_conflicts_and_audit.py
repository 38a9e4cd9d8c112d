"""Conflicts are unique per (rule, earlier, later); the audit trail only ever grows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

import sync.store.audit
from rules.model import Booking, MatchKind, Patient, PatientKey
from sync.store.audit import (
    AuditEntry,
    last_details,
    list_audit_events,
    record_audit_event,
    record_audit_events,
)
from sync.store.bookings import upsert_bookings
from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from sync.store.errors import ConstraintViolation
from sync.store.events import StoredEvent
from sync.store.patients import list_patients, save_patient
from sync.store.sources import CalendarSource, Provider, add_source
from sync.store.tables import BookingRow, ConflictRow

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


def _source(engine: Engine) -> CalendarSource:
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, "rivera")
        return add_source(
            session,
            clinic.id,
            Provider.ICS,
            "https://x.example/a.ics",
            display_name="A",
            time_zone="UTC",
        )


def _booking_ids(engine: Engine, source: CalendarSource) -> tuple[int, int]:
    events = [
        StoredEvent(Booking(id=name, uid=name, calendar="a", day=date(2025, 4, day)), start, start)
        for name, day, start in (
            ("mn", 1, datetime(2025, 4, 1, 9, tzinfo=UTC)),
            ("botox", 5, datetime(2025, 4, 5, 9, tzinfo=UTC)),
        )
    ]
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, events, now=NOW)
        rows = {row.provider_event_id: row.id or 0 for row in session.exec(select(BookingRow))}
    return rows["mn"], rows["botox"]


def _conflict(clinic_id: int, earlier: int, later: int, **extra: Any) -> ConflictRow:
    values: dict[str, Any] = {
        "clinic_id": clinic_id,
        "rule_name": "botox-after-microneedling",
        "earlier_booking_id": earlier,
        "later_booking_id": later,
        "state": "open",
        "patient_kind": "email",
        "patient_value": "anna@example.com",
        "match_kind": "email",
        "gap_days": 4,
        "detected_at": NOW,
    }
    values.update(extra)
    return ConflictRow(**values)


def test_a_conflict_is_recorded_once_per_rule_and_pair(engine: Engine) -> None:
    source = _source(engine)
    earlier, later = _booking_ids(engine, source)
    with session_scope(engine) as session:
        session.add(_conflict(source.clinic_id, earlier, later))
        session.add(_conflict(source.clinic_id, earlier, later, rule_name="other-rule"))
    with pytest.raises(ConstraintViolation), session_scope(engine) as session:
        session.add(_conflict(source.clinic_id, earlier, later, state="flagged"))


def test_conflict_state_outside_the_known_ones_is_refused(engine: Engine) -> None:
    source = _source(engine)
    earlier, later = _booking_ids(engine, source)
    with pytest.raises(ConstraintViolation), session_scope(engine) as session:
        session.add(_conflict(source.clinic_id, earlier, later, state="ignored"))


def test_audit_events_read_back_in_order(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        second = record_audit_event(
            session,
            source.clinic_id,
            "worker",
            "flag",
            conflict_id=7,
            calendar_source_id=source.id,
            detail={"gap_days": 4},
            at=NOW + timedelta(seconds=1),
        )
        first = record_audit_event(session, source.clinic_id, "worker", "detect", at=NOW)
    with session_scope(engine) as session:
        assert list_audit_events(session, source.clinic_id) == [first, second]
        assert list_audit_events(session, source.clinic_id, conflict_id=7) == [second]
    assert second.detail == {"gap_days": 4}
    assert second.at.tzinfo is UTC


def test_many_entries_are_appended_in_their_order_and_the_latest_detail_is_read_back(
    engine: Engine,
) -> None:
    source = _source(engine)
    clinic_id = source.clinic_id
    entries = [
        AuditEntry(NOW, "worker", "flag.skipped", clinic_id, 7, source.id, {"reason": "a"}),
        AuditEntry(NOW, "worker", "flag.skipped", clinic_id, 8, source.id, {"reason": "b"}),
        AuditEntry(NOW, "worker", "flag.skipped", clinic_id, 7, source.id, {"reason": "c"}),
        AuditEntry(NOW, "worker", "flag.failed", clinic_id, 7, source.id, {"reason": "d"}),
    ]
    with session_scope(engine) as session:
        record_audit_events(session, entries)
    with session_scope(engine) as session:
        trail = list_audit_events(session, clinic_id)
        assert [e.detail["reason"] for e in trail] == ["a", "b", "c", "d"]
        assert [e.conflict_id for e in trail] == [7, 8, 7, 7]
        assert last_details(session, clinic_id, "flag.skipped", [7, 8, 9]) == {
            7: {"reason": "c"},
            8: {"reason": "b"},
        }
        assert last_details(session, clinic_id + 1, "flag.skipped", [7]) == {}


def test_audit_repository_offers_no_update_or_delete() -> None:
    assert set(sync.store.audit.__all__) == {
        "AuditEntry",
        "AuditEvent",
        "last_details",
        "list_audit_events",
        "record_audit_event",
        "record_audit_events",
    }


def test_patients_are_saved_once_per_key_and_keep_the_latest_name(engine: Engine) -> None:
    source = _source(engine)
    key = PatientKey(MatchKind.ID, "P-17")
    with session_scope(engine) as session:
        save_patient(session, source.clinic_id, Patient(key, name="Anna"), now=NOW)
        save_patient(session, source.clinic_id, Patient(key, name="Anna Lopez"), now=NOW)
        assert list_patients(session, source.clinic_id) == [Patient(key, name="Anna Lopez")]
