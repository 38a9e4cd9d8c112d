"""Settling flag writes: the audit trail records what reached the calendar, once (SPEC §6, §8).

Every flag write is recorded before it is sent (:mod:`sync.store.flag_writes`) and carries
a nonce into the event. It is settled from the calendar's own evidence:

- a success answer proves it arrived;
- otherwise — the answer was lost, a retry met 412, the process died — the event is read:
  it arrived if the event shows its nonce, or if a later write saw that nonce there (a
  write records the nonce it found before it is sent);
- a write settled as not arrived whose nonce later turns up on the event (a writer paused
  between its last check and its request) is corrected, once.

Settling is a compare-and-set on the write, and the write's audit records — ``flag.written``
for each conflict it adds, ``flag.removed`` for each it drops, ``flag.changed`` for each
whose block it rewrites, ``flag.warning`` for what it warns of — go into that same
transaction, stamped with the moment the write was sent. So whatever the threads, workers,
kills and lost answers, each change on a calendar appears once, in the order it happened.

:func:`settle_orphans` settles the writes their writer left open: those whose lease is gone,
each by the poll of the calendar the write went to.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from rules.flag import CONFLICT_PROPERTY
from sync.errors import ClinicSyncError
from sync.sources.port import CalendarSource, RemoteEvent
from sync.store.audit import record_audit_event
from sync.store.conflicts import conflicts_by_public_id
from sync.store.database import session_scope
from sync.store.flag_writes import (
    FlagWrite,
    WriteOutcome,
    open_writes,
    settle_write,
    was_seen,
    write_by_nonce,
)
from sync.store.sources import CalendarSource as ConnectedCalendar
from sync.store.sources import get_source
from sync.usecases.detect import ACTOR
from sync.usecases.stamps import Clock

__all__ = [
    "UNFENCED_GRACE",
    "WRITE_PROPERTY",
    "carried_ids",
    "prove_from_event",
    "settle",
    "settle_orphans",
]

_log = logging.getLogger(__name__)

WRITE_PROPERTY = "clinicSyncWrite"
"""Private extended property holding the nonce of the last flag write to the event."""

UNFENCED_GRACE = timedelta(minutes=2)
"""How old a write made without a lease must be before another run settles it for it."""


def carried_ids(remote: RemoteEvent) -> frozenset[str]:
    """The public ids of the conflicts the event's flag names now."""
    carried = remote.flag_state.private.get(CONFLICT_PROPERTY, "")
    return frozenset(part for part in carried.split(",") if part)


def settle(session: Session, write: FlagWrite, outcome: WriteOutcome, *, now: datetime) -> bool:
    """Settle an open ``write`` (or correct one wrongly settled as not arrived), with its
    audit records when it arrived; whether this call was the one that settled it."""
    done = settle_write(session, write.id, outcome, now=now)
    if not done and outcome is WriteOutcome.APPLIED:
        done = settle_write(session, write.id, outcome, now=now, was=WriteOutcome.NOT_APPLIED)
    if done and outcome is WriteOutcome.APPLIED:
        _audit(session, write)
    return done


def prove_from_event(engine: Engine, remote: RemoteEvent, *, now: datetime) -> None:
    """Settle as arrived the write whose nonce ``remote`` shows, if it is not already."""
    nonce = remote.flag_state.private.get(WRITE_PROPERTY)
    if not nonce:
        return
    with session_scope(engine) as session:
        write = write_by_nonce(session, nonce)
        if write is not None and write.outcome is not WriteOutcome.APPLIED:
            settle(session, write, WriteOutcome.APPLIED, now=now)


def settle_from_event(
    engine: Engine, write: FlagWrite, remote: RemoteEvent | None, *, now: datetime
) -> WriteOutcome:
    """Settle ``write`` from the event as read after it; the outcome decided."""
    with session_scope(engine) as session:
        outcome = _outcome(session, write, remote)
        settle(session, write, outcome, now=now)
    return outcome


def _outcome(session: Session, write: FlagWrite, remote: RemoteEvent | None) -> WriteOutcome:
    if remote is not None and remote.flag_state.private.get(WRITE_PROPERTY) == write.nonce:
        return WriteOutcome.APPLIED
    if was_seen(session, write.nonce):
        return WriteOutcome.APPLIED
    return WriteOutcome.GONE if remote is None else WriteOutcome.NOT_APPLIED


def settle_orphans(
    engine: Engine, source: CalendarSource, calendar: ConnectedCalendar, *, clock: Clock
) -> int:
    """Settle the writes to ``calendar``'s events left open by a writer that is gone (and
    those to calendars no longer enabled); how many were.

    Called by the poll holding ``calendar``'s lease, so each orphan is read by one
    thread of all the workers', not raced for by every poll of the clinic. ``clock`` is
    read when deciding which leases are gone and as each write settles.
    """
    now = clock()
    with session_scope(engine) as session:
        orphans = open_writes(
            session, calendar.clinic_id, calendar.id, now=now, unfenced_after=now - UNFENCED_GRACE
        )
        calendars = {w.source_id: get_source(session, w.source_id).external_id for w in orphans}
    for write in orphans:
        try:
            remote = source.get_event(calendars[write.source_id], write.event_id)
        except ClinicSyncError as err:
            _log.warning("flag write %s not settled yet: %s", write.nonce, err)
            continue
        outcome = settle_from_event(engine, write, remote, now=clock())
        _log.info("flag write %s left open by its writer settled: %s", write.nonce, outcome)
    return len(orphans)


def _audit(session: Session, write: FlagWrite) -> None:
    changes = _changes(write)
    ids = {public_id for public_id, _ in changes}
    known = {c.facts.public_id: c for c in conflicts_by_public_id(session, write.clinic_id, ids)}
    where = {k: write.detail[k] for k in ("event", "calendar", "day") if k in write.detail}
    for public_id, action in changes:
        stored = known.get(public_id)
        record_audit_event(
            session,
            write.clinic_id,
            ACTOR,
            action,
            conflict_id=stored.id if stored else None,
            calendar_source_id=write.source_id,
            detail=_detail(write, public_id, action, where),
            at=write.created_at,
        )


def _changes(write: FlagWrite) -> list[tuple[str, str]]:
    added = sorted(write.after - write.before)
    removed = sorted(write.before - write.after)
    # A write that neither adds nor drops a conflict still changed the event (a new block,
    # a repaired one); one that does is a change to the conflicts it kept only when the
    # block it wrote differs from the one it replaced.
    rewritten = write.detail.get("was") != write.block or not (added or removed)
    kept = sorted(write.after & write.before) if rewritten else []
    changes = [(i, "flag.written") for i in added]
    changes += [(i, "flag.changed") for i in kept]
    changes += [(i, "flag.removed") for i in removed]
    if write.detail.get("warnings"):
        changes += [(i, "flag.warning") for i in sorted(write.after | write.before)]
    return changes


def _detail(
    write: FlagWrite, public_id: str, action: str, where: Mapping[str, object]
) -> dict[str, object]:
    detail: dict[str, object] = {"conflict": public_id, **where, "write": write.nonce}
    if action == "flag.warning":
        detail["warnings"] = list(write.detail.get("warnings", ()))
    elif action != "flag.removed":
        detail["block"] = write.block
    return detail
