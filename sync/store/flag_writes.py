"""Flag writes as the store keeps them: recorded before they are sent, settled once (SPEC §6, §8).

A write is *open* from the moment it is decided until its effect on the calendar is known.
Its ``nonce`` travels into the event as a private property and ``seen_nonce`` is the one the
event carried when the write was decided, so the calendar itself proves which writes
reached it: a write arrived when the event shows its nonce, or when a later write saw it
there (:func:`was_seen`). :func:`settle_write` sets the outcome with a compare-and-set, so
of all the threads and workers that may settle one write, one does — and the caller adds
the write's audit records in that same transaction, which is how each appears once.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, or_, update
from sqlmodel import Session, col, select

from sync.store.tables import CalendarSourceRow, FlagWriteRow

__all__ = [
    "FlagWrite",
    "WriteOutcome",
    "open_writes",
    "record_write",
    "settle_write",
    "was_seen",
    "write_by_nonce",
]


class WriteOutcome(enum.StrEnum):
    """What became of a write on the calendar."""

    APPLIED = "applied"
    NOT_APPLIED = "not applied"
    GONE = "gone"
    """The event disappeared before the write's effect could be read."""


@dataclass(frozen=True, slots=True)
class FlagWrite:
    """One flag write and what it changes: the conflicts named ``before`` and ``after``."""

    id: int
    clinic_id: int
    source_id: int
    event_id: str
    nonce: str
    seen_nonce: str | None
    before: frozenset[str]
    after: frozenset[str]
    block: str
    created_at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict, hash=False)
    fence: tuple[int, int] | None = None
    outcome: WriteOutcome | None = None


def record_write(session: Session, write: FlagWrite) -> FlagWrite:
    """Store ``write`` (its ``id`` is ignored) as open; the stored one, with its id."""
    row = FlagWriteRow(
        clinic_id=write.clinic_id,
        source_id=write.source_id,
        event_id=write.event_id,
        nonce=write.nonce,
        seen_nonce=write.seen_nonce,
        before=",".join(sorted(write.before)),
        after=",".join(sorted(write.after)),
        block=write.block,
        detail=dict(write.detail),
        fence_source_id=write.fence[0] if write.fence else None,
        fence_token=write.fence[1] if write.fence else None,
        created_at=write.created_at,
    )
    session.add(row)
    session.flush()
    return _write(row)


def settle_write(
    session: Session,
    write_id: int,
    outcome: WriteOutcome,
    *,
    now: datetime,
    was: WriteOutcome | None = None,
) -> bool:
    """Set the outcome of a write still open (or still ``was``); whether this call did it."""
    still = (
        col(FlagWriteRow.settled_at).is_(None)
        if was is None
        else col(FlagWriteRow.outcome) == was.value
    )
    statement = (
        update(FlagWriteRow)
        .where(col(FlagWriteRow.id) == write_id, still)
        .values(settled_at=now, outcome=outcome.value)
        .execution_options(synchronize_session=False)
    )
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return result.rowcount == 1


def was_seen(session: Session, nonce: str) -> bool:
    """Whether a later write found ``nonce`` on its event: proof that it reached it."""
    query = select(col(FlagWriteRow.id)).where(col(FlagWriteRow.seen_nonce) == nonce).limit(1)
    return session.exec(query).first() is not None


def write_by_nonce(session: Session, nonce: str) -> FlagWrite | None:
    """The write that carried ``nonce``, if it is one of ours."""
    row = session.exec(select(FlagWriteRow).where(col(FlagWriteRow.nonce) == nonce)).first()
    return None if row is None else _write(row)


def open_writes(
    session: Session,
    clinic_id: int,
    source_id: int,
    *,
    now: datetime,
    unfenced_after: datetime,
) -> list[FlagWrite]:
    """The open writes nobody is still making to events of calendar ``source_id`` (or of
    a calendar of its clinic no longer enabled, which nothing polls), oldest first.

    A write made under a lease is orphaned once that lease is gone: released, expired or
    claimed again (a new token). A write made without a lease (``sync --once``) is taken
    for orphaned once older than ``unfenced_after``.
    """
    lease = CalendarSourceRow
    disabled = (
        select(col(CalendarSourceRow.id))
        .where(
            col(CalendarSourceRow.id) == col(FlagWriteRow.source_id),
            col(CalendarSourceRow.enabled).is_(False),
        )
        .exists()
    )
    held = (
        select(col(lease.id))
        .where(
            col(lease.id) == col(FlagWriteRow.fence_source_id),
            col(lease.lease_token) == col(FlagWriteRow.fence_token),
            col(lease.lease_owner).is_not(None),
            col(lease.lease_expires_at) > now,
        )
        .exists()
    )
    query = (
        select(FlagWriteRow)
        .where(
            col(FlagWriteRow.clinic_id) == clinic_id,
            col(FlagWriteRow.settled_at).is_(None),
            or_(col(FlagWriteRow.source_id) == source_id, disabled),
            or_(
                (col(FlagWriteRow.fence_token).is_not(None)) & ~held,
                (col(FlagWriteRow.fence_token).is_(None))
                & (col(FlagWriteRow.created_at) < unfenced_after),
            ),
        )
        .order_by(col(FlagWriteRow.id))
    )
    return [_write(row) for row in session.exec(query)]


def _ids(text: str) -> frozenset[str]:
    return frozenset(part for part in text.split(",") if part)


def _write(row: FlagWriteRow) -> FlagWrite:
    assert row.id is not None, "a stored write has an id"
    fence = None
    if row.fence_source_id is not None and row.fence_token is not None:
        fence = (row.fence_source_id, row.fence_token)
    return FlagWrite(
        id=row.id,
        clinic_id=row.clinic_id,
        source_id=row.source_id,
        event_id=row.event_id,
        nonce=row.nonce,
        seen_nonce=row.seen_nonce,
        before=_ids(row.before),
        after=_ids(row.after),
        block=row.block,
        created_at=row.created_at,
        detail=dict(row.detail),
        fence=fence,
        outcome=WriteOutcome(row.outcome) if row.outcome else None,
    )
