"""The store's state in aggregate, for ``/metrics`` and the operator view (SPEC §8, §9).

Read-only and bounded: conflicts counted by clinic and state, the poll state of the
enabled calendars (at most :data:`MAX_CALENDARS`), each with whether its provider's
credential asks the clinic to reconnect, and how many events each has in quarantine;
and :func:`clinic_overview`, one row of counts per clinic for operators, in a fixed
number of grouped queries whatever the number of clinics. None returns patient data or
calendar names: calendars are known by their id and provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from sync.store.conflicts import ConflictState
from sync.store.credentials import CredentialState
from sync.store.quarantine import quarantine_counts
from sync.store.tables import (
    CalendarSourceRow,
    ClinicRow,
    ConflictRow,
    CredentialRow,
    QuarantinedEventRow,
)

__all__ = [
    "MAX_CALENDARS",
    "CalendarHealth",
    "ClinicOverview",
    "ConflictCount",
    "calendar_health",
    "clinic_overview",
    "conflict_counts",
]
_OPEN_STATES = (ConflictState.OPEN.value, ConflictState.FLAGGED.value)

MAX_CALENDARS = 2000
"""Calendars reported at most, so a scrape stays cheap whatever the deployment's size."""


@dataclass(frozen=True, slots=True)
class ConflictCount:
    """How many conflicts of one clinic are in one state."""

    clinic: str
    state: str
    count: int


@dataclass(frozen=True, slots=True)
class CalendarHealth:
    """How polling one enabled calendar goes."""

    source_id: int
    clinic: str
    provider: str
    last_sync_at: datetime | None
    consecutive_failures: int
    reconnect_required: bool
    quarantined: int = 0
    """Events of the calendar in quarantine (:mod:`sync.store.quarantine`)."""


def conflict_counts(session: Session) -> list[ConflictCount]:
    """Conflicts by clinic (slug) and state."""
    statement = (
        sql_select(col(ClinicRow.slug), col(ConflictRow.state), func.count())
        .join(ClinicRow, col(ClinicRow.id) == col(ConflictRow.clinic_id))
        .group_by(ClinicRow.slug, ConflictRow.state)
    )
    return [ConflictCount(slug, state, int(n)) for slug, state, n in session.execute(statement)]


def calendar_health(session: Session, *, limit: int = MAX_CALENDARS) -> list[CalendarHealth]:
    """The enabled calendars' last successful sync and failures, lowest ids first."""
    credential = and_(
        col(CredentialRow.clinic_id) == col(CalendarSourceRow.clinic_id),
        col(CredentialRow.provider) == col(CalendarSourceRow.provider),
    )
    statement = (
        sql_select(
            col(CalendarSourceRow.id),
            col(ClinicRow.slug),
            col(CalendarSourceRow.provider),
            col(CalendarSourceRow.last_sync_at),
            col(CalendarSourceRow.consecutive_failures),
            col(CredentialRow.state),
        )
        .join(ClinicRow, col(ClinicRow.id) == col(CalendarSourceRow.clinic_id))
        .outerjoin(CredentialRow, credential)
        .where(col(CalendarSourceRow.enabled))
        .order_by(col(CalendarSourceRow.id))
        .limit(limit)
    )
    held = quarantine_counts(session)
    return [
        CalendarHealth(
            source_id=int(source_id),
            clinic=slug,
            provider=provider,
            last_sync_at=last_sync_at,
            consecutive_failures=failures,
            reconnect_required=state == CredentialState.RECONNECT_REQUIRED,
            quarantined=held.get(int(source_id), 0),
        )
        for source_id, slug, provider, last_sync_at, failures, state in session.execute(statement)
    ]


@dataclass(frozen=True, slots=True)
class ClinicOverview:
    """One clinic's counts: what an operator watches, with no patient in it."""

    clinic_id: int
    slug: str
    name: str
    calendars: int
    failing_calendars: int
    quarantined_events: int
    open_conflicts: int
    last_sync_at: datetime | None


def clinic_overview(session: Session) -> list[ClinicOverview]:
    """Every clinic by name with its calendars (failing ones: failures or reconnect),
    quarantined events, open conflicts and last successful sync."""
    calendars = _calendar_counts(session)
    held = _grouped(session, QuarantinedEventRow.clinic_id, None)
    open_conflicts = _grouped(
        session, ConflictRow.clinic_id, col(ConflictRow.state).in_(_OPEN_STATES)
    )
    clinics = session.execute(
        sql_select(col(ClinicRow.id), col(ClinicRow.slug), col(ClinicRow.name)).order_by(
            col(ClinicRow.name), col(ClinicRow.id)
        )
    )
    rows = []
    for clinic_id, slug, name in clinics:
        total, failing, last_sync = calendars.get(clinic_id, (0, 0, None))
        rows.append(
            ClinicOverview(
                clinic_id=clinic_id,
                slug=slug,
                name=name,
                calendars=total,
                failing_calendars=failing,
                quarantined_events=held.get(clinic_id, 0),
                open_conflicts=open_conflicts.get(clinic_id, 0),
                last_sync_at=last_sync,
            )
        )
    return rows


def _calendar_counts(session: Session) -> dict[int, tuple[int, int, datetime | None]]:
    credential = and_(
        col(CredentialRow.clinic_id) == col(CalendarSourceRow.clinic_id),
        col(CredentialRow.provider) == col(CalendarSourceRow.provider),
    )
    failing = and_(
        col(CalendarSourceRow.enabled),
        or_(
            col(CalendarSourceRow.consecutive_failures) > 0,
            col(CredentialRow.state) == CredentialState.RECONNECT_REQUIRED.value,
        ),
    )
    statement = (
        sql_select(
            col(CalendarSourceRow.clinic_id),
            func.count(),
            func.count().filter(failing),
            func.max(col(CalendarSourceRow.last_sync_at)),
        )
        .outerjoin(CredentialRow, credential)
        .group_by(col(CalendarSourceRow.clinic_id))
    )
    return {
        int(clinic_id): (int(total), int(bad), last)
        for clinic_id, total, bad, last in session.execute(statement)
    }


def _grouped(session: Session, column: Any, condition: Any) -> dict[int, int]:
    statement = sql_select(column, func.count()).group_by(column)
    if condition is not None:
        statement = statement.where(condition)
    return {int(clinic_id): int(n) for clinic_id, n in session.execute(statement)}
