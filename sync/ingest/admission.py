"""Admission: every event of a pull becomes a stored booking or a quarantined one (SPEC §9).

The pull use case (:mod:`sync.usecases.pull`) hands each calendar's changed events here, whatever
the provider:

1. :func:`admit_events` passes them through the text boundary (:mod:`sync.ingest.text`)
   and the rules engine's reading; an event whose ids cannot be stored, or that the
   reading fails on, is refused with the reason (the batch is read again one event at a
   time, so one event costs only itself);
2. :func:`store_events` upserts them a chunk at a time, each chunk inside a SAVEPOINT on
   PostgreSQL: a chunk the database refuses is rolled back alone and stored again event
   by event, so only the event the database refuses is left out, with the database's own
   first line as the reason (never the statement or its parameters, which hold patient
   data). Text that cannot be encoded is refused before any write, on both databases;
3. :func:`settle_quarantine` records what was refused in the calendar's quarantine and
   clears what is now stored, deleted, or — after a full listing — no longer listed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session

from rules.model import PatientKey
from sync.ingest.text import Unadmissible, admit, clean_line, fit_reading
from sync.sources.port import ChangeSet, SkippedEvent
from sync.store.bookings import upsert_bookings
from sync.store.events import StoredEvent, storable_columns
from sync.store.quarantine import (
    QuarantineEntry,
    keep_only_quarantined,
    quarantine_counts,
    quarantine_events,
    release_quarantined,
)

__all__ = [
    "Admission",
    "QuarantineCounts",
    "Stored",
    "admit_events",
    "settle_quarantine",
    "store_events",
]

_log = logging.getLogger(__name__)
_UPSERT_CHUNK = 500
_SHOWN_ID = 1024
_REASON = 1000

_REFUSALS = (SQLAlchemyError, ValueError)
"""What a refused row raises: the database's errors, and the driver's encoding errors
(``UnicodeEncodeError`` is a ``ValueError``) that SQLAlchemy lets through unwrapped."""

Read = Callable[[Sequence[StoredEvent]], list[StoredEvent]]


@dataclass(frozen=True, slots=True)
class Admission:
    """The events ready for the store, and those refused with why."""

    events: tuple[StoredEvent, ...]
    refused: tuple[SkippedEvent, ...] = ()


@dataclass
class Stored:
    """What storing a pull's events did."""

    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    """Every event id now stored: inserted, updated or unchanged."""
    retired: set[PatientKey] = field(default_factory=set)
    failed: list[SkippedEvent] = field(default_factory=list)
    cut: int = 0


@dataclass(frozen=True, slots=True)
class QuarantineCounts:
    """Events newly quarantined by a pull, and the calendar's total after it."""

    new: int
    total: int


def admit_events(events: Iterable[StoredEvent], read: Read) -> Admission:
    """Clean and bound ``events``, then have ``read`` (the rules engine) read them."""
    admitted: list[StoredEvent] = []
    refused: list[SkippedEvent] = []
    for event in events:
        try:
            admitted.append(admit(event))
        except Unadmissible as err:
            refused.append(SkippedEvent(event.booking.id, str(err)))
    read_events, unread = _read(admitted, read)
    return Admission(tuple(fit_reading(e) for e in read_events), (*refused, *unread))


def _read(
    events: Sequence[StoredEvent], read: Read
) -> tuple[list[StoredEvent], list[SkippedEvent]]:
    try:
        return read(events), []
    except Exception:
        _log.exception("reading %d events failed; reading them one at a time", len(events))
    done: list[StoredEvent] = []
    failed: list[SkippedEvent] = []
    for event in events:
        try:
            done += read([event])
        except Exception as err:
            failed.append(SkippedEvent(event.booking.id, f"cannot be read: {type(err).__name__}"))
    return done, failed


def store_events(
    session: Session, source_id: int, events: Sequence[StoredEvent], *, now: datetime
) -> Stored:
    """Upsert ``events`` into ``source_id``; what the database refuses is left out, with why."""
    stored = Stored()
    # Each event's columns (and content hash) are worked out once, here, for the check and
    # the write alike.
    writable: list[_Row] = []
    for event in events:
        columns = storable_columns(event)
        if columns is None:
            reason = "the database refused it: text that cannot be encoded as UTF-8"
            stored.failed.append(SkippedEvent(event.booking.id, reason))
        else:
            writable.append((event, columns))
    # pysqlite's SAVEPOINTs are unsafe without changing how every transaction begins
    # (https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl):
    # a released outermost savepoint commits. On SQLite the one refusal a cleaned event
    # could still meet, text that cannot be encoded, is caught above, before any write.
    nested = session.get_bind().dialect.name != "sqlite"
    for start in range(0, len(writable), _UPSERT_CHUNK):
        chunk = writable[start : start + _UPSERT_CHUNK]
        if not nested:
            _upsert(session, source_id, chunk, now, stored)
            continue
        try:
            with session.begin_nested():
                _upsert(session, source_id, chunk, now, stored)
        except _REFUSALS:
            for row in chunk:
                _upsert_alone(session, source_id, row, now, stored)
    return stored


_Row = tuple[StoredEvent, Mapping[str, Any]]
"""An event with its content columns."""


def _upsert(
    session: Session, source_id: int, chunk: Sequence[_Row], now: datetime, stored: Stored
) -> None:
    events = [event for event, _ in chunk]
    columns = [columns for _, columns in chunk]
    result = upsert_bookings(session, source_id, events, now=now, columns=columns)
    stored.inserted += result.inserted
    stored.updated += result.updated
    stored.ids += [*result.inserted, *result.updated, *result.unchanged]
    stored.retired.update(result.retired_keys)
    stored.cut += sum(1 for event in events if event.cut)


def _upsert_alone(
    session: Session, source_id: int, row: _Row, now: datetime, stored: Stored
) -> None:
    try:
        with session.begin_nested():
            _upsert(session, source_id, [row], now, stored)
    except _REFUSALS as err:
        reason = f"the database refused it: {_first_line(err)}"
        stored.failed.append(SkippedEvent(row[0].booking.id, reason))


def _first_line(err: Exception) -> str:
    # A driver's own message, never SQLAlchemy's (which quotes the statement's parameters).
    detail = str(err.orig) if isinstance(err, DBAPIError) else type(err).__name__
    lines = detail.strip().splitlines()
    return lines[0] if lines else type(err).__name__


def settle_quarantine(
    session: Session,
    source_id: int,
    changes: ChangeSet,
    skipped: Sequence[SkippedEvent],
    stored_ids: Sequence[str],
    *,
    now: datetime,
) -> QuarantineCounts:
    """Quarantine ``skipped``; clear what was stored, removed or (on a full listing) not listed."""
    entries = [_entry(event) for event in skipped]
    if changes.full:
        keep_only_quarantined(session, source_id, [entry.event_id for entry in entries])
    else:
        release_quarantined(session, source_id, {*stored_ids, *changes.removed})
    new = quarantine_events(session, source_id, entries, now=now)
    total = quarantine_counts(session, source_id=source_id).get(source_id, 0)
    return QuarantineCounts(new, total)


def _entry(event: SkippedEvent) -> QuarantineEntry:
    return QuarantineEntry(
        event_id=event.event_id,
        shown_id=clean_line(event.event_id)[:_SHOWN_ID],
        reason=clean_line(event.reason)[:_REASON],
    )
