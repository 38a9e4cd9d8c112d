"""Migration 0022 keeps each reviewed conflict's last review on it, read from the trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import col, select

from rules.model import Booking
from sync.store.audit import record_audit_event
from sync.store.bookings import upsert_bookings
from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from sync.store.events import StoredEvent
from sync.store.migrate import downgrade, upgrade
from sync.store.sources import Provider, add_source
from sync.store.tables import BookingRow, ConflictRow

NOW = datetime(2030, 1, 1, 9, tzinfo=UTC)


def _conflicts(engine: Engine, count: int) -> tuple[int, list[int]]:
    """A clinic with ``count`` conflicts between two bookings each, as stored before 0022."""
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, "north")
        source = add_source(
            session, clinic.id, Provider.ICS, "https://x.example/a.ics", display_name="A",
            time_zone="UTC",
        )  # fmt: skip
        events = [
            StoredEvent(
                Booking(id=f"b{n}", uid=f"b{n}", calendar="A", day=date(2030, 2, n)), at, at
            )
            for n in range(1, 2 * count + 1)
            for at in [datetime(2030, 2, n, 9, tzinfo=UTC)]
        ]
        upsert_bookings(session, source.id, events, now=NOW)
        rows = sorted(i or 0 for i in session.exec(select(col(BookingRow.id))))
        ids = []
        for n in range(count):
            conflict = ConflictRow(
                clinic_id=clinic.id, rule_name="r", earlier_booking_id=rows[2 * n],
                later_booking_id=rows[2 * n + 1], state="open", patient_kind="name",
                patient_value="doe jane", match_kind="name", gap_days=1, detected_at=NOW,
                public_id=f"c{n}",
            )  # fmt: skip
            session.add(conflict)
            session.flush()
            ids.append(conflict.id or 0)
        return clinic.id, ids


def _review(engine: Engine, clinic_id: int, conflict_id: int, verb: str, **at: object) -> None:
    with session_scope(engine) as session:
        record_audit_event(
            session, clinic_id, str(at["by"]), f"review.{verb}", conflict_id=conflict_id,
            detail={"conflict": "c", "from": "open", "reason": at["reason"]},
            at=at["at"],  # type: ignore[arg-type]
        )  # fmt: skip


def _reviewed(engine: Engine) -> dict[int, tuple[object, ...]]:
    with session_scope(engine) as session:
        return {
            row.id or 0: (row.review_reason, row.reviewed_by, row.reviewed_at)
            for row in session.exec(select(ConflictRow))
        }


def test_0022_fills_each_conflict_with_its_last_review_from_the_audit_trail(
    engine: Engine,
) -> None:
    clinic_id, (twice, once, never) = _conflicts(engine, 3)
    later = NOW + timedelta(hours=2)
    _review(engine, clinic_id, twice, "acknowledged", by="ana@x", reason="seen", at=NOW)
    _review(engine, clinic_id, twice, "overridden", by="bo@x", reason=" consultant ok ", at=later)
    _review(engine, clinic_id, once, "acknowledged", by="ana@x", reason="", at=NOW)
    with session_scope(engine) as session:
        record_audit_event(session, clinic_id, "service", "flag.written", conflict_id=never, at=NOW)
    downgrade(engine, "0018")
    upgrade(engine)
    found = _reviewed(engine)
    assert found[twice] == ("consultant ok", "bo@x", later)
    assert found[once][:2] == (None, "ana@x")  # acknowledged without a note
    assert found[never] == (None, None, None)
