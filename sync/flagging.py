"""Putting flags on the calendar and taking them off, through the calendar-source port (SPEC §6).

:func:`plan_flags` decides, from the store alone, which bookings need a write: the later
booking of every conflict that wants a flag gets one block naming all its conflicts, and a
booking that carries a flag no conflict wants any more loses it. A booking whose stored
state already holds what it should needs no request at all — which is why a second pass,
or the service's own write coming back through sync, writes nothing.

:func:`apply_flags` performs the writes: read the event, compute the patch against what it
holds *now* (:func:`rules.flag.flag_patch`), write it with If-Match; when a staff edit
lands in between (:class:`~sync.calendar_source.EventChanged`) read again and decide
again, a bounded number of times. The event as written is stored so its echo is
recognised. Nothing is written to a booking that has started, in dry-run mode, or to a
read-only calendar: those are recorded in the audit trail instead (SPEC §5, §8), once.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from rules.flag import (
    CONFLICT_PROPERTY,
    FLAG_HASH_PROPERTY,
    EventFlagState,
    flag_patch,
    render_flag,
)
from rules.model import Conflict, Policy
from sync.calendar_source import CalendarReadOnly, CalendarSource, EventChanged, RemoteEvent
from sync.detect import ACTOR, Detection
from sync.errors import ClinicSyncError
from sync.pull import BookingReader
from sync.store.audit import list_audit_events, record_audit_event
from sync.store.bookings import upsert_bookings
from sync.store.conflicts import BookingCopy, ConflictState, StoredConflict, update_conflict
from sync.store.database import session_scope

__all__ = [
    "FlagOptions",
    "FlagTally",
    "FlagTarget",
    "Outcome",
    "apply_flags",
    "plan_flags",
    "settle_states",
]

MAX_ATTEMPTS = 3
"""Reads and writes of one event before giving up on a calendar that keeps changing."""


@dataclass(frozen=True, slots=True)
class FlagOptions:
    """How flags are written: colour, review link, dry run, and the instant of the cycle."""

    color: str
    link_base: str
    """The admin UI's base; a flag links to ``{link_base}/conflicts/{conflict id}``."""
    now: datetime
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class FlagTarget:
    """One booking copy whose flag must change: to ``block``, or off when it is ``None``."""

    copy: BookingCopy
    conflicts: tuple[tuple[StoredConflict, Conflict], ...]
    block: str | None

    @property
    def calendar_id(self) -> str:
        return self.copy.event.booking.calendar_email

    @property
    def event_id(self) -> str:
        return self.copy.event.booking.id


class Outcome(enum.StrEnum):
    """What became of one target."""

    WRITTEN = "written"
    ALREADY = "already"
    SKIPPED = "skipped"
    GAVE_UP = "gave up"
    FAILED = "failed"
    GONE = "gone"


@dataclass
class FlagTally:
    """Counts of one pass of :func:`apply_flags`."""

    flagged: int = 0
    unflagged: int = 0
    skipped: int = 0
    failed: int = 0
    gave_up: int = 0
    requests: int = 0
    """Reads and writes of events made to the calendar source."""
    flagged_changes: list[datetime] = field(default_factory=list)
    """The provider's ``updated`` stamp, as pulled, of each booking flagged (for latency)."""

    def count(self, target: FlagTarget, outcome: Outcome) -> None:
        if outcome is Outcome.WRITTEN:
            if target.block is None:
                self.unflagged += 1
            else:
                self.flagged += 1
                if target.copy.event.updated is not None:
                    self.flagged_changes.append(target.copy.event.updated)
        elif outcome is Outcome.SKIPPED:
            self.skipped += 1
        elif outcome is Outcome.GAVE_UP:
            self.skipped += 1
            self.gave_up += 1
        elif outcome is Outcome.FAILED:
            self.failed += 1


def plan_flags(
    detection: Detection,
    active: Sequence[tuple[StoredConflict, Conflict]],
    policy: Policy,
    options: FlagOptions,
) -> list[FlagTarget]:
    """The booking copies whose stored state differs from the flag they should carry."""
    wanted: dict[str, list[tuple[StoredConflict, Conflict]]] = {}
    for stored, conflict in active:
        if stored.state.wants_flag:
            wanted.setdefault(conflict.later.id, []).append((stored, conflict))
    flagged = {bid for bid, c in detection.chosen.items() if _stored_state(c, options).flagged}
    targets = []
    for booking_id in sorted(wanted.keys() | flagged):
        pairs = tuple(wanted.get(booking_id, ()))
        block = _block(pairs, policy, options)
        target = FlagTarget(detection.chosen[booking_id], pairs, block)
        if _needs_write(target, options):
            targets.append(target)
    return targets


def _block(
    pairs: Sequence[tuple[StoredConflict, Conflict]], policy: Policy, options: FlagOptions
) -> str | None:
    return render_flag([c for _, c in pairs], policy, options.link_base) if pairs else None


def _stored_state(copy: BookingCopy, options: FlagOptions) -> EventFlagState:
    # The store keeps no colour: an event carrying our flag hash is taken to wear our
    # colour (a colour staff chose since is theirs to keep), any other to wear none.
    private = copy.event.private_properties
    color = options.color if FLAG_HASH_PROPERTY in private else None
    return EventFlagState(copy.event.booking.description, color, private)


def _needs_write(target: FlagTarget, options: FlagOptions) -> bool:
    conflicts = [c for _, c in target.conflicts]
    state = _stored_state(target.copy, options)
    return flag_patch(state, conflicts, target.block, options.color) is not None


def apply_flags(
    engine: Engine,
    source: CalendarSource,
    reader: BookingReader,
    clinic_id: int,
    targets: Sequence[FlagTarget],
    *,
    options: FlagOptions,
    known: Mapping[str, StoredConflict],
) -> FlagTally:
    """Write each target's flag (or record why not); ``known`` maps public ids to conflicts."""
    tally = FlagTally()
    for target in targets:
        writer = _Writer(engine, source, reader, clinic_id, options=options, known=known)
        outcome = writer.apply(target)
        tally.count(target, outcome)
        tally.requests += writer.requests
    return tally


class _Writer:
    """Applies one target: reads, decides, writes, stores and audits."""

    def __init__(
        self,
        engine: Engine,
        source: CalendarSource,
        reader: BookingReader,
        clinic_id: int,
        *,
        options: FlagOptions,
        known: Mapping[str, StoredConflict],
    ) -> None:
        self.engine = engine
        self.source = source
        self.reader = reader
        self.clinic_id = clinic_id
        self.options = options
        self.known = known
        self.requests = 0

    def apply(self, target: FlagTarget) -> Outcome:
        skip = self._reason_to_skip(target)
        if skip is not None:
            self._record_skip(target, skip)
            return Outcome.SKIPPED
        try:
            return self._write(target)
        except CalendarReadOnly as err:
            self._record_skip(target, f"read-only calendar: {err}")
            return Outcome.SKIPPED
        except ClinicSyncError as err:
            self._record(target, "flag.failed", {"error": str(err)})
            return Outcome.FAILED

    def _reason_to_skip(self, target: FlagTarget) -> str | None:
        if target.copy.event.start <= self.options.now:
            return "booking already started: recorded for audit only"
        if self.options.dry_run:
            return "dry run: " + ("would flag" if target.block else "would remove the flag")
        return None

    def _write(self, target: FlagTarget) -> Outcome:
        conflicts = [c for _, c in target.conflicts]
        for _ in range(MAX_ATTEMPTS):
            self.requests += 1
            remote = self.source.get_event(target.calendar_id, target.event_id)
            if remote is None:
                return Outcome.GONE
            patch = flag_patch(remote.flag_state, conflicts, target.block, self.options.color)
            if patch is None:
                self._store(target, remote, remote)
                return Outcome.ALREADY
            self.requests += 1
            try:
                written = self.source.write_flag(
                    target.calendar_id, target.event_id, patch, etag=remote.etag
                )
            except EventChanged:
                continue  # a staff edit landed since the read: read it and decide again
            self._store(target, remote, written)
            return Outcome.WRITTEN
        self._record_skip(target, f"the event kept changing: gave up after {MAX_ATTEMPTS} tries")
        return Outcome.GAVE_UP

    def _store(self, target: FlagTarget, before: RemoteEvent, after: RemoteEvent) -> None:
        with session_scope(self.engine) as session:
            _store_event(session, target.copy, after, self.reader, self.options.now)
            removed = _ids(before) - _ids(after)
            for public_id in sorted(removed):
                self._audit_removed(session, target, public_id)

    def _audit_removed(self, session: Session, target: FlagTarget, public_id: str) -> None:
        stored = self.known.get(public_id)
        detail = {"conflict": public_id, **_where(target)}
        record_audit_event(
            session,
            self.clinic_id,
            ACTOR,
            "flag.removed",
            conflict_id=stored.id if stored else None,
            calendar_source_id=target.copy.source_id,
            detail=detail,
            at=self.options.now,
        )

    def _record_skip(self, target: FlagTarget, reason: str) -> None:
        self._record(target, "flag.skipped", {"reason": reason}, once=True)

    def _record(
        self, target: FlagTarget, action: str, detail: Mapping[str, Any], *, once: bool = False
    ) -> None:
        digest = _digest(target.block)
        with session_scope(self.engine) as session:
            for conflict in self._concerned(target):
                full = {"conflict": conflict.facts.public_id, "block": digest, **_where(target)}
                full.update(detail)
                if once and _repeat(session, self.clinic_id, conflict.id, action, full):
                    continue
                record_audit_event(
                    session,
                    self.clinic_id,
                    ACTOR,
                    action,
                    conflict_id=conflict.id,
                    calendar_source_id=target.copy.source_id,
                    detail=full,
                    at=self.options.now,
                )

    def _concerned(self, target: FlagTarget) -> list[StoredConflict]:
        """The conflicts a write is about: those it adds, or those whose flag it removes."""
        if target.conflicts:
            return [stored for stored, _ in target.conflicts]
        carried = target.copy.event.private_properties.get(CONFLICT_PROPERTY, "")
        return [self.known[i] for i in carried.split(",") if i in self.known]


def _repeat(
    session: Session, clinic_id: int, conflict_id: int, action: str, detail: Mapping[str, Any]
) -> bool:
    history = list_audit_events(session, clinic_id, conflict_id=conflict_id)
    same = [event for event in history if event.action == action]
    return bool(same) and dict(same[-1].detail) == dict(detail)


def _where(target: FlagTarget) -> dict[str, str]:
    booking = target.copy.event.booking
    return {"event": booking.id, "calendar": booking.calendar, "day": booking.day.isoformat()}


def _digest(block: str | None) -> str:
    return "" if block is None else hashlib.sha256(block.encode()).hexdigest()[:16]


def _ids(remote: RemoteEvent) -> set[str]:
    carried = remote.flag_state.private.get(CONFLICT_PROPERTY, "")
    return {part for part in carried.split(",") if part}


def _store_event(
    session: Session, copy: BookingCopy, remote: RemoteEvent, reader: BookingReader, now: datetime
) -> None:
    """Keep the event as written, so its echo through the next sync is no change."""
    event = copy.event
    booking = replace(event.booking, description=remote.flag_state.description)
    private = dict(remote.flag_state.private)
    refreshed = replace(event, booking=booking, etag=remote.etag, private_properties=private)
    upsert_bookings(session, copy.source_id, reader.read([refreshed]), now=now)


def settle_states(
    session: Session,
    clinic_id: int,
    active: Sequence[tuple[StoredConflict, Conflict]],
    carried: Mapping[str, Mapping[str, str]],
    now: datetime,
) -> None:
    """Set ``flagged``/``open`` from what each later booking carries now; audit new flags.

    ``carried`` maps booking ids to their stored private properties. A flag seen on the
    calendar for the first time — written just now, or by a run killed before it could
    record it — is recorded here, once.
    """
    for stored, conflict in active:
        ids = carried.get(conflict.later.id, {}).get(CONFLICT_PROPERTY, "").split(",")
        on = stored.facts.public_id in ids
        if on and stored.state is ConflictState.OPEN:
            update_conflict(session, stored.id, state=ConflictState.FLAGGED, flagged_at=now)
            _audit_flagged(session, clinic_id, stored, conflict, now)
        elif not on and stored.state is ConflictState.FLAGGED:
            update_conflict(session, stored.id, state=ConflictState.OPEN)


def _audit_flagged(
    session: Session, clinic_id: int, stored: StoredConflict, conflict: Conflict, now: datetime
) -> None:
    later = conflict.later
    record_audit_event(
        session,
        clinic_id,
        ACTOR,
        "flag.written",
        conflict_id=stored.id,
        detail={
            "conflict": stored.facts.public_id,
            "event": later.id,
            "calendar": later.calendar,
            "day": later.day.isoformat(),
        },
        at=now,
    )
