"""Reading the audit trail the way an auditor does: filtered, newest first, paged (SPEC §8).

The trail itself stays append-only (:mod:`sync.store.audit`); this module only reads.
Filters: clinic, action (exact, or a prefix ending in ``.`` such as ``review.``),
actor, conflict, and a date range (inclusive days, UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from sync.store.audit import AuditEvent
from sync.store.tables import AuditEventRow

__all__ = ["MAX_PAGE_SIZE", "AuditFilter", "AuditPage", "find_audit_events"]

MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What to list; every field narrows, ``None`` does not (empty ``clinic_ids``: nothing)."""

    clinic_ids: tuple[int, ...] | None = None
    action: str | None = None
    actor: str | None = None
    conflict_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    per_page: int = 100


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of the trail, newest first, and how many entries match in all."""

    items: list[AuditEvent]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def find_audit_events(session: Session, wanted: AuditFilter) -> AuditPage:
    """The page of audit entries ``wanted`` asks for."""
    per_page = min(max(wanted.per_page, 1), MAX_PAGE_SIZE)
    page = max(wanted.page, 1)
    conditions = _conditions(wanted)
    count = sql_select(func.count()).select_from(AuditEventRow).where(*conditions)
    total = int(session.execute(count).scalar_one())
    query = (
        sql_select(AuditEventRow)
        .where(*conditions)
        .order_by(col(AuditEventRow.at).desc(), col(AuditEventRow.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    items = [_event(row) for row in session.execute(query).scalars()]
    return AuditPage(items, total, page, per_page)


def _conditions(wanted: AuditFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if wanted.clinic_ids is not None:
        found.append(col(AuditEventRow.clinic_id).in_(wanted.clinic_ids))
    if wanted.action:
        found.append(_action(wanted.action))
    if wanted.actor:
        found.append(col(AuditEventRow.actor) == wanted.actor.strip().casefold())
    if wanted.conflict_id is not None:
        found.append(col(AuditEventRow.conflict_id) == wanted.conflict_id)
    if wanted.date_from:
        found.append(col(AuditEventRow.at) >= _midnight(wanted.date_from))
    if wanted.date_to:
        found.append(col(AuditEventRow.at) < _midnight(wanted.date_to + timedelta(days=1)))
    return found


def _action(action: str) -> ColumnElement[bool]:
    if action.endswith("."):
        return col(AuditEventRow.action).startswith(action, autoescape=True)
    return col(AuditEventRow.action) == action


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _event(row: AuditEventRow) -> AuditEvent:
    assert row.id is not None, "a stored audit event has an id"
    detail: dict[str, Any] = dict(row.detail)
    return AuditEvent(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        clinic_id=row.clinic_id,
        conflict_id=row.conflict_id,
        calendar_source_id=row.calendar_source_id,
        detail=detail,
    )
