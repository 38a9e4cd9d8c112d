"""Conflicts as the store keeps them, and the booking copies detection reads (SPEC §5, §8).

A conflict row is found by its public id (:func:`rules.flag.conflict_id`, a hash of
rule, earlier and later booking) and moves through the states of SPEC §8: ``open``
(detected, no flag on the calendar yet), ``flagged``, ``acknowledged`` and
``overridden`` (set by an admin; an overridden conflict is never flagged again) and
``resolved``. Its booking columns point at the copies detection chose (one event can
sit on several calendars of a clinic); deleted bookings are kept, so a resolved
conflict still names them.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from sync.store.errors import RecordNotFound
from sync.store.events import StoredEvent, event_from_row
from sync.store.tables import BookingRow, ConflictRow

__all__ = [
    "BookingCopy",
    "ConflictFacts",
    "ConflictState",
    "StoredConflict",
    "copies_by_row",
    "insert_conflict",
    "list_conflicts",
    "load_copies",
    "update_conflict",
]


class ConflictState(enum.StrEnum):
    """Where a conflict stands (SPEC §8)."""

    OPEN = "open"
    FLAGGED = "flagged"
    ACKNOWLEDGED = "acknowledged"
    OVERRIDDEN = "overridden"
    RESOLVED = "resolved"

    @property
    def wants_flag(self) -> bool:
        """Whether the later booking should carry this conflict's flag."""
        return self in (ConflictState.OPEN, ConflictState.FLAGGED, ConflictState.ACKNOWLEDGED)


@dataclass(frozen=True, slots=True)
class BookingCopy:
    """One stored copy of a booking: the event as one calendar (source) holds it."""

    row_id: int
    source_id: int
    event: StoredEvent
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class ConflictFacts:
    """What detection says about a conflict; stored as it is last seen."""

    public_id: str
    rule_name: str
    earlier_row_id: int
    later_row_id: int
    patient_kind: str
    patient_value: str
    match_kind: str
    gap_days: int


@dataclass(frozen=True, slots=True)
class StoredConflict:
    """A conflict row as plain data."""

    id: int
    facts: ConflictFacts
    state: ConflictState
    detected_at: datetime
    resolved_at: datetime | None = None
    resolution_reason: str | None = None
    flagged_at: datetime | None = None


def load_copies(
    session: Session, clinic_id: int, *, also_rows: Collection[int] = ()
) -> list[BookingCopy]:
    """Every live booking copy of a clinic, plus the rows ``also_rows`` (deleted or not)."""
    live = col(BookingRow.deleted_at).is_(None)
    wanted = or_(live, col(BookingRow.id).in_(list(also_rows))) if also_rows else live
    query = (
        select(BookingRow)
        .where(col(BookingRow.clinic_id) == clinic_id)
        .where(wanted)
        .order_by(col(BookingRow.id))
    )
    return [_copy(row) for row in session.exec(query)]


def copies_by_row(session: Session, row_ids: Collection[int]) -> dict[int, BookingCopy]:
    """The copies stored under ``row_ids`` (live or deleted), by row id."""
    if not row_ids:
        return {}
    query = select(BookingRow).where(col(BookingRow.id).in_(list(row_ids)))
    return {copy.row_id: copy for copy in map(_copy, session.exec(query))}


def _copy(row: BookingRow) -> BookingCopy:
    assert row.id is not None, "a stored booking has an id"
    return BookingCopy(row.id, row.source_id, event_from_row(row), row.deleted_at is not None)


def list_conflicts(
    session: Session, clinic_id: int, *, states: Iterable[ConflictState] | None = None
) -> list[StoredConflict]:
    """A clinic's conflicts (those in ``states`` when given), oldest detection first."""
    query = select(ConflictRow).where(col(ConflictRow.clinic_id) == clinic_id)
    if states is not None:
        query = query.where(col(ConflictRow.state).in_([state.value for state in states]))
    query = query.order_by(col(ConflictRow.detected_at), col(ConflictRow.id))
    return [_conflict(row) for row in session.exec(query)]


def insert_conflict(
    session: Session, clinic_id: int, facts: ConflictFacts, *, now: datetime
) -> StoredConflict:
    """Store a newly detected conflict, ``open``."""
    row = ConflictRow(
        clinic_id=clinic_id,
        state=ConflictState.OPEN.value,
        detected_at=now,
        **_fact_columns(facts),
    )
    session.add(row)
    session.flush()
    return _conflict(row)


def update_conflict(
    session: Session,
    conflict_id: int,
    *,
    facts: ConflictFacts | None = None,
    **values: Any,
) -> StoredConflict:
    """Change a conflict's facts and/or columns (``state``, ``resolved_at``, ...)."""
    row = session.get(ConflictRow, conflict_id)
    if row is None:
        raise RecordNotFound(f"no conflict with id {conflict_id}")
    columns = {**(_fact_columns(facts) if facts else {}), **values}
    for name, value in columns.items():
        setattr(row, name, value.value if isinstance(value, ConflictState) else value)
    session.flush()
    return _conflict(row)


def _fact_columns(facts: ConflictFacts) -> dict[str, Any]:
    return {
        "public_id": facts.public_id,
        "rule_name": facts.rule_name,
        "earlier_booking_id": facts.earlier_row_id,
        "later_booking_id": facts.later_row_id,
        "patient_kind": facts.patient_kind,
        "patient_value": facts.patient_value,
        "match_kind": facts.match_kind,
        "gap_days": facts.gap_days,
    }


def _conflict(row: ConflictRow) -> StoredConflict:
    assert row.id is not None, "a stored conflict has an id"
    facts = ConflictFacts(
        public_id=row.public_id or f"row{row.id}",
        rule_name=row.rule_name,
        earlier_row_id=row.earlier_booking_id,
        later_row_id=row.later_booking_id,
        patient_kind=row.patient_kind,
        patient_value=row.patient_value,
        match_kind=row.match_kind,
        gap_days=row.gap_days,
    )
    return StoredConflict(
        id=row.id,
        facts=facts,
        state=ConflictState(row.state),
        detected_at=row.detected_at,
        resolved_at=row.resolved_at,
        resolution_reason=row.resolution_reason,
        flagged_at=row.flagged_at,
    )
