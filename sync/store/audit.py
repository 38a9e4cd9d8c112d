"""The append-only audit trail: detections, flags, overrides, setting changes (SPEC §8).

This module offers only :func:`record_audit_event` and :func:`list_audit_events`; there
is deliberately no way to change or remove an entry through the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from sync.store.tables import AuditEventRow

__all__ = ["AuditEvent", "list_audit_events", "record_audit_event"]


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Who did what, when, to which clinic (and conflict or calendar, when one is concerned)."""

    id: int
    at: datetime
    actor: str
    action: str
    clinic_id: int
    conflict_id: int | None = None
    calendar_source_id: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict, hash=False)


def record_audit_event(
    session: Session,
    clinic_id: int,
    actor: str,
    action: str,
    *,
    conflict_id: int | None = None,
    calendar_source_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one entry to the trail; ``detail`` must be JSON-serialisable."""
    row = AuditEventRow(
        at=at or datetime.now(UTC),
        actor=actor,
        action=action,
        clinic_id=clinic_id,
        conflict_id=conflict_id,
        calendar_source_id=calendar_source_id,
        detail=dict(detail or {}),
    )
    session.add(row)
    session.flush()
    return audit_event(row)


def list_audit_events(
    session: Session, clinic_id: int, *, conflict_id: int | None = None
) -> list[AuditEvent]:
    """A clinic's trail (or one conflict's history), oldest first."""
    if conflict_id is not None:
        # By the conflict's own index alone: with the clinic in the WHERE clause too, SQLite
        # walks the clinic's whole trail by (clinic, at) to spare itself a sort of a few rows.
        query = select(AuditEventRow).where(col(AuditEventRow.conflict_id) == conflict_id)
    else:
        query = select(AuditEventRow).where(col(AuditEventRow.clinic_id) == clinic_id)
    query = query.order_by(col(AuditEventRow.at), col(AuditEventRow.id))
    return [audit_event(row) for row in session.exec(query) if row.clinic_id == clinic_id]


def audit_event(row: AuditEventRow) -> AuditEvent:
    """A stored trail row as the record the rest of the service reads (store modules only)."""
    assert row.id is not None, "a stored audit event has an id"
    return AuditEvent(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        clinic_id=row.clinic_id,
        conflict_id=row.conflict_id,
        calendar_source_id=row.calendar_source_id,
        detail=dict(row.detail),
    )
