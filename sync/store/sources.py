"""Calendar sources: the calendars a clinic connected, with their sync cursor and poll state.

The worker (SPEC §9) reads a source, syncs it from ``sync_token``, then records the
outcome with :func:`record_poll_success` or :func:`record_poll_failure`; the admin
UI shows that state as sync health (SPEC §8). ``lease_owner``/``lease_expires_at``
are reserved for row leases between workers on PostgreSQL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from sync.store.errors import RecordNotFound
from sync.store.tables import CalendarSourceRow

__all__ = [
    "CalendarSource",
    "Provider",
    "add_source",
    "get_source",
    "list_sources",
    "record_poll_failure",
    "record_poll_success",
    "record_reconciliation",
    "remove_source",
    "save_sync_token",
    "set_source_enabled",
]


class Provider(enum.StrEnum):
    """Where a calendar lives."""

    GOOGLE = "google"
    CALDAV = "caldav"
    ICS = "ics"


@dataclass(frozen=True, slots=True)
class CalendarSource:
    """One connected calendar and the state of its polling.

    A source is failing while ``consecutive_failures`` is above zero; ``last_error`` and
    ``last_error_at`` keep the most recent failure even after a later success.
    """

    id: int
    clinic_id: int
    provider: Provider
    external_id: str
    display_name: str
    time_zone: str
    enabled: bool
    sync_token: str | None
    next_poll_at: datetime | None
    last_sync_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    last_full_sync_at: datetime | None = None
    last_reconciled_at: datetime | None = None
    reconcile_corrections: int | None = None
    """What the last periodic reconciliation corrected; normally zero."""


def add_source(
    session: Session,
    clinic_id: int,
    provider: Provider,
    external_id: str,
    *,
    display_name: str,
    time_zone: str,
    enabled: bool = True,
    now: datetime | None = None,
) -> CalendarSource:
    """Connect a calendar; :class:`ConstraintViolation` if the clinic already has it."""
    row = CalendarSourceRow(
        clinic_id=clinic_id,
        provider=provider.value,
        external_id=external_id,
        display_name=display_name,
        time_zone=time_zone,
        enabled=enabled,
        created_at=now or datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return _source(row)


def get_source(session: Session, source_id: int) -> CalendarSource:
    """The source with ``source_id``; :class:`RecordNotFound` if there is none."""
    return _source(_row(session, source_id))


def list_sources(
    session: Session, clinic_id: int | None = None, *, enabled_only: bool = False
) -> list[CalendarSource]:
    """The sources of one clinic (or of all), oldest first."""
    query = select(CalendarSourceRow).order_by(col(CalendarSourceRow.id))
    if clinic_id is not None:
        query = query.where(CalendarSourceRow.clinic_id == clinic_id)
    if enabled_only:
        query = query.where(col(CalendarSourceRow.enabled).is_(True))
    return [_source(row) for row in session.exec(query)]


def remove_source(session: Session, source_id: int) -> None:
    """Disconnect a calendar; its bookings and their conflicts go with it (audit stays)."""
    session.delete(_row(session, source_id))
    session.flush()


def set_source_enabled(session: Session, source_id: int, enabled: bool) -> None:
    """Pause or resume polling of a source without losing its cursor."""
    _update(session, source_id, enabled=enabled)


def save_sync_token(session: Session, source_id: int, sync_token: str | None) -> None:
    """Store the provider's cursor; ``None`` forces a full sync next time (after HTTP 410)."""
    _update(session, source_id, sync_token=sync_token)


def record_poll_success(
    session: Session,
    source_id: int,
    *,
    now: datetime,
    next_poll_at: datetime,
    sync_token: str | None = None,
    full: bool = False,
) -> None:
    """A poll went through: reset the failure count; store the new cursor when given.

    ``full``: the poll listed the calendar in full, which restarts the reconciliation clock.
    """
    values: dict[str, Any] = {
        "last_sync_at": now,
        "next_poll_at": next_poll_at,
        "consecutive_failures": 0,
    }
    if sync_token is not None:
        values["sync_token"] = sync_token
    if full:
        values["last_full_sync_at"] = now
    _update(session, source_id, **values)


def record_reconciliation(
    session: Session, source_id: int, corrections: int, *, now: datetime
) -> None:
    """A periodic full listing compared the calendar with the store and corrected this much."""
    _update(session, source_id, last_reconciled_at=now, reconcile_corrections=corrections)


def record_poll_failure(
    session: Session, source_id: int, error: str, *, now: datetime, next_poll_at: datetime
) -> None:
    """A poll failed with ``error``: count it (atomically) and schedule the retry."""
    _update(
        session,
        source_id,
        last_error=error,
        last_error_at=now,
        next_poll_at=next_poll_at,
        consecutive_failures=col(CalendarSourceRow.consecutive_failures) + 1,
    )


def _update(session: Session, source_id: int, **values: Any) -> None:
    statement = (
        update(CalendarSourceRow)
        .where(col(CalendarSourceRow.id) == source_id)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    if session.exec(statement).rowcount == 0:
        raise RecordNotFound(f"no calendar source with id {source_id}")


def _row(session: Session, source_id: int) -> CalendarSourceRow:
    row = session.get(CalendarSourceRow, source_id)
    if row is None:
        raise RecordNotFound(f"no calendar source with id {source_id}")
    return row


def _source(row: CalendarSourceRow) -> CalendarSource:
    assert row.id is not None, "a stored source has an id"
    return CalendarSource(
        id=row.id,
        clinic_id=row.clinic_id,
        provider=Provider(row.provider),
        external_id=row.external_id,
        display_name=row.display_name,
        time_zone=row.time_zone,
        enabled=row.enabled,
        sync_token=row.sync_token,
        next_poll_at=row.next_poll_at,
        last_sync_at=row.last_sync_at,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        consecutive_failures=row.consecutive_failures,
        last_full_sync_at=row.last_full_sync_at,
        last_reconciled_at=row.last_reconciled_at,
        reconcile_corrections=row.reconcile_corrections,
    )
