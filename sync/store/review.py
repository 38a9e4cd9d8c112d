"""Conflicts as admins review them: filtered, sorted, paged, and moved by hand (SPEC §8).

:func:`find_conflicts` lists conflicts with both bookings (day, calendar, title) in one
query, filtered by clinic, calendar, patient (its key or a title naming it), state, the
later booking's date and whether it is still ahead, sorted and paged; the triage view
asks for open and flagged conflicts of bookings not started yet, soonest appointment
first. :func:`acknowledge`, :func:`override` and :func:`reopen` are the admin's
transitions, the one review path of the UI and the API: each keeps who did it, when
and why on the conflict (``review_reason``, ``reviewed_by``, ``reviewed_at``) and
appends a ``review.*`` action to the audit trail, in the same unit of work as the state
change.

Which states allow which action::

    open, flagged           ── acknowledge ──▶ acknowledged   (the flag stays)
    open, flagged, ackn.    ── override ─────▶ overridden     (the flag comes off; never
                                                               flagged again while detected)
    acknowledged, overridden ─ reopen ───────▶ open           (the next cycle flags it)

A resolved conflict takes no action: it is history. Taking flags on and off the
calendar is not done here: see :mod:`sync.web.admin.calendar_writes`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, or_
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from sync.errors import InputError
from sync.store.audit import record_audit_event
from sync.store.conflicts import ConflictState, update_conflict
from sync.store.tables import AuditEventRow, BookingRow, ClinicRow, ConflictRow

__all__ = [
    "MAX_PAGE_SIZE",
    "BookingSide",
    "ConflictFilter",
    "ConflictPage",
    "ConflictSort",
    "ConflictView",
    "ReviewConflict",
    "UnknownConflict",
    "acknowledge",
    "find_conflict",
    "find_conflicts",
    "override",
    "reopen",
    "reviewed_since",
]

MAX_PAGE_SIZE = 200
REVIEW_PREFIX = "review."
_ACTIVE = (ConflictState.OPEN, ConflictState.FLAGGED)


class UnknownConflict(InputError):
    """No conflict with that public id (in the clinics searched)."""


class ReviewConflict(InputError):
    """The action does not apply to the conflict's state, or lacks its reason."""


class ConflictSort(enum.StrEnum):
    """Orders the list can take."""

    DETECTED = "detected"
    LATER_DAY = "later_day"
    EARLIER_DAY = "earlier_day"
    GAP = "gap"
    STATE = "state"
    PATIENT = "patient"
    APPOINTMENT = "appointment"
    """The later booking's start: the appointment that comes first."""


@dataclass(frozen=True, slots=True)
class ConflictFilter:
    """What to list; every field narrows, ``None`` does not.

    ``clinic_ids`` are the clinics searched (``None``: every clinic; empty: none).
    """

    clinic_ids: tuple[int, ...] | None = None
    clinic: str | None = None
    calendar: str | None = None
    patient: str | None = None
    states: tuple[ConflictState, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    sort: ConflictSort = ConflictSort.DETECTED
    descending: bool = True
    page: int = 1
    per_page: int = 50
    starts_after: datetime | None = None
    """Only conflicts whose later booking starts at or after this instant (still ahead)."""


@dataclass(frozen=True, slots=True)
class BookingSide:
    """One booking of a conflict as the store last saw it."""

    event_id: str
    source_id: int
    calendar: str
    day: date
    start: datetime
    summary: str
    deleted: bool
    html_link: str | None = None
    """Where the booking opens in Google Calendar (``None`` for other providers)."""
    all_day: bool = False


@dataclass(frozen=True, slots=True)
class ConflictView:
    """A conflict with its clinic and both bookings."""

    id: int
    public_id: str
    clinic_id: int
    clinic: str
    """The clinic's slug."""
    clinic_name: str
    state: ConflictState
    rule_name: str
    patient_kind: str
    patient_value: str
    match_kind: str
    gap_days: int
    detected_at: datetime
    resolved_at: datetime | None
    resolution_reason: str | None
    """Why detection resolved it (SPEC §5)."""
    flagged_at: datetime | None
    earlier: BookingSide
    later: BookingSide
    later_row_id: int
    review_reason: str | None = None
    """Why an admin last acknowledged, overrode or re-opened it."""
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    time_zone: str = "UTC"
    """The clinic's time zone, in which its people read dates and times."""

    @property
    def reason(self) -> str | None:
        """Why it stands where it does (:meth:`ConflictState.reason`)."""
        return self.state.reason(review=self.review_reason, resolution=self.resolution_reason)


@dataclass(frozen=True, slots=True)
class ConflictPage:
    """One page of a filtered list, and how many there are in all."""

    items: list[ConflictView]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


_Earlier = aliased(BookingRow, name="earlier")
_Later = aliased(BookingRow, name="later")


def find_conflicts(session: Session, wanted: ConflictFilter) -> ConflictPage:
    """The page of conflicts ``wanted`` asks for."""
    per_page = min(max(wanted.per_page, 1), MAX_PAGE_SIZE)
    page = max(wanted.page, 1)
    conditions = _conditions(wanted)
    total_query = _joined(sql_select(func.count())).where(*conditions)
    total = int(session.execute(total_query).scalar_one())
    query = _joined(_columns()).where(*conditions)
    query = query.order_by(*_order(wanted)).offset((page - 1) * per_page).limit(per_page)
    items = [_view(found) for found in session.execute(query)]
    return ConflictPage(items, total, page, per_page)


def find_conflict(
    session: Session, public_id: str, *, clinic_ids: tuple[int, ...] | None = None
) -> ConflictView:
    """The conflict with ``public_id`` in ``clinic_ids`` (``None``: any clinic).

    :class:`UnknownConflict` when there is none: one of another clinic answers the same.
    """
    query = _joined(_columns())
    query = query.where(col(ConflictRow.public_id) == public_id)
    if clinic_ids is not None:
        query = query.where(col(ConflictRow.clinic_id).in_(clinic_ids))
    found = session.execute(query.order_by(col(ConflictRow.id))).first()
    if found is None:
        raise UnknownConflict(f"no conflict {public_id!r}")
    return _view(found)


def acknowledge(
    session: Session, conflict: ConflictView, actor: str, note: str, *, now: datetime
) -> ConflictView:
    """Mark a conflict seen: it keeps its flag, the note is kept in the trail."""
    _require(conflict, {ConflictState.OPEN, ConflictState.FLAGGED}, "acknowledge")
    return _move(
        session,
        conflict,
        ConflictState.ACKNOWLEDGED,
        actor=actor,
        reason=note,
        now=now,
        verb="acknowledged",
    )


def override(
    session: Session, conflict: ConflictView, actor: str, reason: str, *, now: datetime
) -> ConflictView:
    """Accept a conflict on purpose: its flag must come off and stay off while it lasts."""
    _require(conflict, {*_ACTIVE, ConflictState.ACKNOWLEDGED}, "override")
    if not reason.strip():
        raise ReviewConflict("an override needs a reason")
    return _move(
        session,
        conflict,
        ConflictState.OVERRIDDEN,
        actor=actor,
        reason=reason,
        now=now,
        verb="overridden",
    )


def reopen(
    session: Session, conflict: ConflictView, actor: str, reason: str, *, now: datetime
) -> ConflictView:
    """Undo an acknowledgement or an override: the conflict is flagged again."""
    _require(conflict, {ConflictState.ACKNOWLEDGED, ConflictState.OVERRIDDEN}, "reopen")
    return _move(
        session, conflict, ConflictState.OPEN, actor=actor, reason=reason, now=now, verb="reopened"
    )


def reviewed_since(session: Session, clinic_id: int, since: datetime) -> bool:
    """Whether an admin moved a conflict of the clinic after ``since``.

    The seam for the worker: a cycle that would skip a clinic because nothing was pulled
    can ask this, so an override whose flag the web app could not take off is applied
    on the next cycle.
    """
    query = (
        select(func.count())
        .select_from(AuditEventRow)
        .where(col(AuditEventRow.clinic_id) == clinic_id)
        .where(col(AuditEventRow.at) > since)
        .where(col(AuditEventRow.action).startswith(REVIEW_PREFIX))
    )
    return int(session.exec(query).one()) > 0


def _require(conflict: ConflictView, allowed: set[ConflictState], action: str) -> None:
    if conflict.state not in allowed:
        raise ReviewConflict(f"a conflict that is {conflict.state.value} cannot be {action}d")


def _move(
    session: Session,
    conflict: ConflictView,
    state: ConflictState,
    *,
    actor: str,
    reason: str,
    now: datetime,
    verb: str,
) -> ConflictView:
    kept = reason.strip()
    update_conflict(
        session, conflict.id, state=state, review_reason=kept or None, reviewed_by=actor,
        reviewed_at=now,
    )  # fmt: skip
    detail: dict[str, Any] = {
        "conflict": conflict.public_id,
        "from": conflict.state.value,
        "reason": kept,
    }
    record_audit_event(
        session,
        conflict.clinic_id,
        actor,
        REVIEW_PREFIX + verb,
        conflict_id=conflict.id,
        detail=detail,
        at=now,
    )
    return find_conflict(session, conflict.public_id, clinic_ids=(conflict.clinic_id,))


def _columns() -> Any:
    clinic = (col(ClinicRow.slug), col(ClinicRow.name), col(ClinicRow.time_zone))
    return sql_select(ConflictRow, *clinic, _Earlier, _Later)


def _joined(query: Any) -> Any:
    return (
        query.select_from(ConflictRow)
        .join(ClinicRow, col(ClinicRow.id) == col(ConflictRow.clinic_id))
        .join(_Earlier, col(_Earlier.id) == col(ConflictRow.earlier_booking_id))
        .join(_Later, col(_Later.id) == col(ConflictRow.later_booking_id))
    )


def _conditions(wanted: ConflictFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if wanted.clinic_ids is not None:
        found.append(col(ConflictRow.clinic_id).in_(wanted.clinic_ids))
    if wanted.clinic:
        found.append(col(ClinicRow.slug) == wanted.clinic)
    if wanted.calendar:
        pattern = f"%{_like(wanted.calendar)}%"
        found.append(
            or_(
                col(_Earlier.calendar).ilike(pattern, escape="\\"),
                col(_Later.calendar).ilike(pattern, escape="\\"),
            )
        )
    if wanted.patient:
        found.append(_names_patient(f"%{_like(wanted.patient)}%"))
    if wanted.states:
        found.append(col(ConflictRow.state).in_([state.value for state in wanted.states]))
    if wanted.date_from:
        found.append(col(_Later.day) >= wanted.date_from)
    if wanted.date_to:
        found.append(col(_Later.day) <= wanted.date_to)
    if wanted.starts_after:
        found.append(col(_Later.start_at) >= wanted.starts_after)
    return found


def _names_patient(pattern: str) -> ColumnElement[bool]:
    """The patient's key, or either booking's title, holds ``pattern``: staff search by the
    name as written ("Tom Begum"), which a name key ("begum tom") does not read like."""
    columns = (col(ConflictRow.patient_value), col(_Earlier.summary), col(_Later.summary))
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _order(wanted: ConflictFilter) -> list[Any]:
    column: Any = {
        ConflictSort.DETECTED: col(ConflictRow.detected_at),
        ConflictSort.LATER_DAY: col(_Later.day),
        ConflictSort.EARLIER_DAY: col(_Earlier.day),
        ConflictSort.GAP: col(ConflictRow.gap_days),
        ConflictSort.STATE: col(ConflictRow.state),
        ConflictSort.PATIENT: col(ConflictRow.patient_value),
        ConflictSort.APPOINTMENT: col(_Later.start_at),
    }[wanted.sort]
    tie = col(ConflictRow.id)
    return [column.desc(), tie.desc()] if wanted.descending else [column.asc(), tie.asc()]


def _side(row: BookingRow) -> BookingSide:
    deleted = row.deleted_at is not None
    return BookingSide(
        row.provider_event_id,
        row.source_id,
        row.calendar,
        row.day,
        row.start_at,
        row.summary,
        deleted,
        row.html_link,
        row.all_day,
    )


def _view(found: Row[Any]) -> ConflictView:
    """A conflict from its row, its clinic's slug, name and zone and its two bookings."""
    row: ConflictRow = found[0]
    clinic, clinic_name, time_zone, earlier, later = tuple(found)[1:]
    assert row.id is not None, "a stored conflict has an id"
    return ConflictView(
        id=row.id,
        public_id=row.public_id or f"row{row.id}",
        clinic_id=row.clinic_id,
        clinic=clinic,
        clinic_name=clinic_name,
        state=ConflictState(row.state),
        rule_name=row.rule_name,
        patient_kind=row.patient_kind,
        patient_value=row.patient_value,
        match_kind=row.match_kind,
        gap_days=row.gap_days,
        detected_at=row.detected_at,
        resolved_at=row.resolved_at,
        resolution_reason=row.resolution_reason,
        flagged_at=row.flagged_at,
        earlier=_side(earlier),
        later=_side(later),
        later_row_id=later.id or 0,
        review_reason=row.review_reason,
        reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
        time_zone=time_zone,
    )
