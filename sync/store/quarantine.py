"""Quarantined events: what a calendar holds that could not be read or stored (SPEC §9).

A booking clinic-sync cannot read is a conflict nobody is warned about, so it is never
dropped in silence: the pull keeps one row per such event (its calendar, the provider's
id, the reason, when it was first and last met, how many times it was tried) and the admin
UI, ``clinic-sync calendars list`` and the metrics show them. An event is tried again each
time the provider hands it over — on an incremental sync, when it changed — and its row
goes as soon as it is stored, is deleted at the provider, or a full listing no longer has it.

Rows are keyed by a SHA-256 of the id as received (:func:`event_key`), so an id the
``bookings`` table could not hold (too long, control characters) still has exactly one
row; ``provider_event_id`` holds a printable form of it, as the caller made it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from sync.store.tables import CalendarSourceRow, QuarantinedEventRow

__all__ = [
    "MAX_LISTED",
    "QuarantineEntry",
    "QuarantinedEvent",
    "event_key",
    "keep_only_quarantined",
    "list_quarantined",
    "quarantine_counts",
    "quarantine_events",
    "release_quarantined",
]

_CHUNK = 500
MAX_LISTED = 500
"""Quarantined events listed at most, so a page stays small whatever a calendar holds."""


def event_key(event_id: str) -> str:
    """The key of a provider's event id, whatever characters it holds."""
    return hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """An event to quarantine: its id as received, a printable form of it, and why."""

    event_id: str
    shown_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class QuarantinedEvent:
    """A quarantined event as the admin sees it."""

    source_id: int
    calendar: str
    event_id: str
    reason: str
    first_seen_at: datetime
    last_seen_at: datetime
    attempts: int


def quarantine_events(
    session: Session, source_id: int, entries: Iterable[QuarantineEntry], *, now: datetime
) -> int:
    """Record ``entries`` (again) on ``source_id``; returns how many were not quarantined yet."""
    batch = {event_key(entry.event_id): entry for entry in entries}
    if not batch:
        return 0
    source = session.get(CalendarSourceRow, source_id)
    assert source is not None, "quarantined events belong to a stored source"
    keys = list(batch)
    known: dict[str, QuarantinedEventRow] = {}
    for start in range(0, len(keys), _CHUNK):
        known |= _rows(session, source_id, keys[start : start + _CHUNK])
    for key, entry in batch.items():
        row = known.get(key)
        if row is None:
            session.add(_new_row(source.clinic_id, source_id, key, entry, now))
            continue
        row.reason, row.provider_event_id = entry.reason, entry.shown_id
        row.last_seen_at = now
        row.attempts += 1
    session.flush()
    return len(batch) - len(known)


def release_quarantined(session: Session, source_id: int, event_ids: Collection[str]) -> int:
    """Clear the quarantine of these events (stored now, or gone); returns how many were."""
    return _delete_keys(session, source_id, [event_key(event_id) for event_id in event_ids])


def _delete_keys(session: Session, source_id: int, keys: list[str]) -> int:
    deleted = 0
    for start in range(0, len(keys), _CHUNK):  # bounded IN lists, whatever a pull brought
        statement = (
            delete(QuarantinedEventRow)
            .where(col(QuarantinedEventRow.source_id) == source_id)
            .where(col(QuarantinedEventRow.event_key).in_(keys[start : start + _CHUNK]))
        )
        deleted += int(session.exec(statement).rowcount)
    return deleted


def keep_only_quarantined(session: Session, source_id: int, event_ids: Collection[str]) -> int:
    """After a full listing: clear every quarantined event of the source but ``event_ids``."""
    keep = {event_key(event_id) for event_id in event_ids}
    query = select(QuarantinedEventRow.event_key).where(
        col(QuarantinedEventRow.source_id) == source_id
    )
    stale = [key for key in session.exec(query) if key not in keep]
    return _delete_keys(session, source_id, stale)


def list_quarantined(
    session: Session, clinic_id: int, *, source_id: int | None = None, limit: int = MAX_LISTED
) -> list[QuarantinedEvent]:
    """A clinic's quarantined events (or one calendar's), most recently met first."""
    query = (
        select(QuarantinedEventRow, CalendarSourceRow.external_id)
        .join(CalendarSourceRow, col(CalendarSourceRow.id) == col(QuarantinedEventRow.source_id))
        .where(col(QuarantinedEventRow.clinic_id) == clinic_id)
        .order_by(col(QuarantinedEventRow.last_seen_at).desc(), col(QuarantinedEventRow.id))
        .limit(limit)
    )
    if source_id is not None:
        query = query.where(col(QuarantinedEventRow.source_id) == source_id)
    return [_event(row, calendar) for row, calendar in session.exec(query)]


def quarantine_counts(
    session: Session, clinic_id: int | None = None, *, source_id: int | None = None
) -> dict[int, int]:
    """How many events each calendar has in quarantine (calendars with none left out)."""
    statement = sql_select(col(QuarantinedEventRow.source_id), func.count()).group_by(
        col(QuarantinedEventRow.source_id)
    )
    if clinic_id is not None:
        statement = statement.where(col(QuarantinedEventRow.clinic_id) == clinic_id)
    if source_id is not None:
        statement = statement.where(col(QuarantinedEventRow.source_id) == source_id)
    return {int(source): int(count) for source, count in session.execute(statement)}


def _rows(
    session: Session, source_id: int, keys: Collection[str]
) -> dict[str, QuarantinedEventRow]:
    query = (
        select(QuarantinedEventRow)
        .where(col(QuarantinedEventRow.source_id) == source_id)
        .where(col(QuarantinedEventRow.event_key).in_(list(keys)))
    )
    return {row.event_key: row for row in session.exec(query)}


def _new_row(
    clinic_id: int, source_id: int, key: str, entry: QuarantineEntry, now: datetime
) -> QuarantinedEventRow:
    return QuarantinedEventRow(
        clinic_id=clinic_id,
        source_id=source_id,
        event_key=key,
        provider_event_id=entry.shown_id,
        reason=entry.reason,
        first_seen_at=now,
        last_seen_at=now,
        attempts=1,
    )


def _event(row: QuarantinedEventRow, calendar: str) -> QuarantinedEvent:
    return QuarantinedEvent(
        source_id=row.source_id,
        calendar=calendar,
        event_id=row.provider_event_id,
        reason=row.reason,
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
        attempts=row.attempts,
    )
