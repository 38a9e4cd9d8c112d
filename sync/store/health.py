"""The store's state in aggregate, for the web app's ``/metrics`` (SPEC §9): read-only, bounded.

Three queries: conflicts counted by clinic and state, the poll state of the enabled
calendars (at most :data:`MAX_CALENDARS`), each with whether its provider's credential
asks the clinic to reconnect, and how many events each has in quarantine. None returns
patient data or calendar names: calendars are known by their id and provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func
from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from sync.store.credentials import CredentialState
from sync.store.quarantine import quarantine_counts
from sync.store.tables import CalendarSourceRow, ClinicRow, ConflictRow, CredentialRow

__all__ = ["MAX_CALENDARS", "CalendarHealth", "ConflictCount", "calendar_health", "conflict_counts"]

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
