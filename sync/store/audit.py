"""The append-only audit trail: detections, flags, overrides, setting changes (SPEC §8).

This module offers only appends (:func:`record_audit_event`, or :func:`record_audit_events`
for many in one statement) and reads (:func:`list_audit_events`, :func:`last_details`);
there is deliberately no way to change or remove an entry through the store.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from sync.store.identity_keys import chunked
from sync.store.tables import AuditEventRow

__all__ = [
    "AuditEntry",
    "AuditEvent",
    "last_details",
    "list_audit_events",
    "record_audit_event",
    "record_audit_events",
]


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


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry about to be appended (:func:`record_audit_events`)."""

    at: datetime
    actor: str
    action: str
    clinic_id: int
    conflict_id: int | None = None
    calendar_source_id: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict, hash=False)


def record_audit_events(session: Session, entries: Sequence[AuditEntry]) -> None:
    """Append ``entries`` in their order, in one statement (ids follow that order)."""
    if not entries:
        return
    table = AuditEventRow.__table__  # type: ignore[attr-defined]
    values = [
        {
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "clinic_id": entry.clinic_id,
            "conflict_id": entry.conflict_id,
            "calendar_source_id": entry.calendar_source_id,
            "detail": dict(entry.detail),
        }
        for entry in entries
    ]
    session.execute(insert(table), values)  # the table, not the class: a plain executemany


def last_details(
    session: Session, clinic_id: int, action: str, conflict_ids: Collection[int]
) -> dict[int, dict[str, Any]]:
    """The detail of the latest ``action`` entry of each of ``conflict_ids`` that has one.

    "Latest" as :func:`list_audit_events` orders a history: by time, then id.
    """
    found: dict[int, tuple[tuple[datetime, int], dict[str, Any]]] = {}
    table = AuditEventRow
    columns = (
        col(table.conflict_id),
        col(table.at),
        col(table.id),
        col(table.clinic_id),
        col(table.detail),
    )
    for chunk in chunked(sorted(conflict_ids)):
        # By the conflict index alone; the clinic is checked on the rows (see below).
        query = sql_select(*columns).where(col(table.conflict_id).in_(chunk))
        query = query.where(col(table.action) == action)
        for conflict_id, at, row_id, clinic, detail in session.execute(query).all():
            assert conflict_id is not None, "selected by conflict"
            assert row_id is not None, "a stored audit event has an id"
            if clinic != clinic_id:
                continue
            seen = found.get(conflict_id)
            if seen is None or (at, row_id) > seen[0]:
                found[conflict_id] = ((at, row_id), dict(detail))
    return {conflict_id: detail for conflict_id, (_, detail) in found.items()}


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
