"""Putting flags on the calendar and taking them off, through the calendar-source port (SPEC §6).

:func:`plan_flags` decides, from the store alone, which bookings need a write: the later
booking of every conflict that wants a flag gets one block naming all its conflicts, and a
booking that carries a flag no conflict wants any more loses it. A booking whose stored
state already holds what it should needs no request at all — which is why a second pass,
or the service's own write coming back through sync, writes nothing.

:func:`apply_flags` performs the writes: read the event, compute the patch against what it
holds *now* (:func:`rules.flag.flag_patch`), write it with If-Match; when a staff edit
lands in between (:class:`~sync.sources.port.EventChanged`) read again and decide
again, a bounded number of times. The event as written is stored so its echo is
recognised. Nothing is written to a booking that has started, in dry-run mode, or to a
read-only calendar: those are recorded in the audit trail instead (SPEC §5, §8), once.

The safe date each conflict's entry names (the first free slots to rebook on,
:mod:`sync.usecases.safe_date`) is planned from the line the stored flag already carries;
free/busy is read only when a write is about to be sent anyway — a new flag, or a real
change to one — and only for the conflicts whose line is missing or no longer holds. So
slots that change on the calendar never rewrite a flag, and a skipped write asks nothing.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from rules.flag import (
    CONFLICT_PROPERTY,
    FLAG_HASH_PROPERTY,
    EventFlagState,
    FlagPatch,
    carries_flag,
    conflict_id,
    flag_patch,
    render_flag,
)
from rules.model import Conflict, Policy
from rules.slots import SafeDate
from sync.errors import ClinicSyncError
from sync.ingest.admission import admit_events, store_events
from sync.sources.port import CalendarReadOnly, CalendarSource, EventChanged, RemoteEvent
from sync.store.audit import AuditEntry, last_details, record_audit_event, record_audit_events
from sync.store.conflicts import (
    BookingCopy,
    ConflictState,
    StoredConflict,
    copies_by_row,
    lock_conflicts,
    update_conflict_if,
)
from sync.store.data_version import bump_source_clinic
from sync.store.database import session_scope
from sync.store.flag_writes import FlagWrite, WriteOutcome, record_write
from sync.usecases.detect import ACTOR, Detection
from sync.usecases.flag_settlement import (
    WRITE_PROPERTY,
    carried_ids,
    prove_from_event,
    settle,
    settle_from_event,
)
from sync.usecases.pull import BookingReader
from sync.usecases.safe_date import SafeDateFinder, conflict_days, kept_safe_dates
from sync.worker.leases import WRITE_STAGE, LeaseLost, check_lease

__all__ = [
    "FlagOptions",
    "FlagTally",
    "FlagTarget",
    "Outcome",
    "apply_flags",
    "carried_conflicts",
    "plan_flags",
    "settle_states",
]

_UTC = ZoneInfo("UTC")
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
    clock: Callable[[], datetime] | None = field(default=None, compare=False)
    """The instant as the cycle goes on (``now`` plus the time elapsed), for audit stamps:
    records carry the moment they happened, not the cycle's start."""
    safe_dates: SafeDateFinder | None = field(default=None, compare=False)
    """Reads free/busy for the safe date of a flag about to be written; ``None``: the
    flags keep the safe dates they carry and new ones name none."""

    def stamp(self) -> datetime:
        """The moment to record something at: now, as the cycle runs."""
        return self.now if self.clock is None else max(self.now, self.clock())


@dataclass(frozen=True, slots=True)
class FlagTarget:
    """One booking copy whose flag must change: to ``block``, or off when it is ``None``."""

    copy: BookingCopy
    conflicts: tuple[tuple[StoredConflict, Conflict], ...]
    block: str | None
    policy: Policy | None = field(default=None, compare=False)
    """The policy the block was rendered with, to render it again with new safe dates."""

    @property
    def calendar_id(self) -> str:
        return self.copy.booking.calendar_email

    @property
    def event_id(self) -> str:
        return self.copy.booking.id


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
    flagged = {
        bid
        for bid, c in detection.chosen.items()
        if carries_flag(c.booking.description, c.private_properties)
    }
    targets = []
    for booking_id in sorted(wanted.keys() | flagged):
        pairs = tuple(wanted.get(booking_id, ()))
        copy = detection.chosen[booking_id]
        block = _block(pairs, policy, options, _kept(copy, pairs, options))
        target = FlagTarget(copy, pairs, block, policy)
        if _needs_write(target, options):
            targets.append(target)
    _announce(targets, options)
    return targets


def _announce(targets: Sequence[FlagTarget], options: FlagOptions) -> None:
    """Tell the finder which days the flags to write will search, so each calendar's
    free/busy is read once for all of them."""
    finder = options.safe_dates
    if finder is None:
        return
    for target in targets:
        conflicts = [c for _, c in target.conflicts]
        kept = _kept(target.copy, target.conflicts, options)
        for conflict in conflicts:
            if conflict_id(conflict) not in kept:
                finder.expect(target.calendar_id, conflict_days(conflict))


def _block(
    pairs: Sequence[tuple[StoredConflict, Conflict]],
    policy: Policy,
    options: FlagOptions,
    safe: Mapping[str, SafeDate],
) -> str | None:
    if not pairs:
        return None
    return render_flag([c for _, c in pairs], policy, options.link_base, safe)


def _kept(
    copy: BookingCopy, pairs: Sequence[tuple[StoredConflict, Conflict]], options: FlagOptions
) -> dict[str, SafeDate]:
    """The safe dates the booking's stored flag names that still hold."""
    zone = options.safe_dates.zone if options.safe_dates is not None else _UTC
    return kept_safe_dates(copy.booking.description, [c for _, c in pairs], zone)


def _with_safe_dates(target: FlagTarget, options: FlagOptions) -> FlagTarget:
    """``target`` with a free/busy read for each conflict whose safe date is not kept."""
    finder = options.safe_dates
    if finder is None or target.block is None or target.policy is None:
        return target
    conflicts = [c for _, c in target.conflicts]
    kept = _kept(target.copy, target.conflicts, options)
    if len(kept) == len(conflicts):
        return target
    safe = finder.for_conflicts(target.calendar_id, conflicts, kept)
    block = _block(target.conflicts, target.policy, options, safe)
    return replace(target, block=block)


def _stored_state(copy: BookingCopy, options: FlagOptions) -> EventFlagState:
    # The store keeps no colour: an event carrying our flag hash is taken to wear our
    # colour (a colour staff chose since is theirs to keep), any other to wear none.
    private = copy.private_properties
    color = options.color if FLAG_HASH_PROPERTY in private else None
    return EventFlagState(copy.booking.description, color, private)


def _needs_write(target: FlagTarget, options: FlagOptions) -> bool:
    conflicts = [c for _, c in target.conflicts]
    state = _stored_state(target.copy, options)
    return flag_patch(state, conflicts, target.block, options.color) is not None


def carried_conflicts(targets: Sequence[FlagTarget]) -> set[str]:
    """Public ids of the conflicts the flags of ``targets`` name now: what a removal concerns.

    The ``known`` conflicts :func:`apply_flags` needs are these, not the clinic's.
    """
    return {
        public_id
        for target in targets
        for public_id in target.copy.private_properties.get(CONFLICT_PROPERTY, "").split(",")
        if public_id
    }


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
    """Write each target's flag (or record why not); ``known`` maps public ids to conflicts.

    Targets skipped before any request (a dry run, a booking already started) have their
    skips recorded together, in one transaction, before the next target is written: the
    trail keeps the targets' order and a dry run of a clinic costs a few statements.
    """
    tally = FlagTally()
    skipped: list[tuple[FlagTarget, str]] = []
    for target in _with_events(engine, targets):
        reason = _reason_to_skip(target, options)
        if reason is not None:
            skipped.append((target, reason))
            tally.count(target, Outcome.SKIPPED)
            continue
        _record_skips(engine, clinic_id, skipped, options=options, known=known)
        skipped = []
        writer = _Writer(engine, source, reader, clinic_id, options=options, known=known)
        outcome = writer.apply(target)
        tally.count(target, outcome)
        tally.requests += writer.requests
    _record_skips(engine, clinic_id, skipped, options=options, known=known)
    return tally


def _with_events(engine: Engine, targets: Sequence[FlagTarget]) -> Sequence[FlagTarget]:
    """``targets`` with copies that hold their stored event: a full re-check reads the
    copies it detects over without it (:class:`~sync.store.conflicts.BookingCopy`)."""
    lean = {target.copy.row_id for target in targets if target.copy.row is None}
    if not lean:
        return targets
    with session_scope(engine) as session:
        whole = copies_by_row(session, lean)
    return [
        target if target.copy.row is not None else replace(target, copy=whole[target.copy.row_id])
        for target in targets
        if target.copy.row is not None or target.copy.row_id in whole
    ]


def _reason_to_skip(target: FlagTarget, options: FlagOptions) -> str | None:
    """Why ``target`` is recorded without a request, if it is."""
    if target.copy.event.start <= options.now:
        return "booking already started: recorded for audit only"
    if options.dry_run:
        return "dry run: " + ("would flag" if target.block else "would remove the flag")
    return None


def _record_skips(
    engine: Engine,
    clinic_id: int,
    skipped: Sequence[tuple[FlagTarget, str]],
    *,
    options: FlagOptions,
    known: Mapping[str, StoredConflict],
) -> None:
    """Audit why each target was not written, once: a conflict whose latest skip says the
    same again gets no new entry. The conflicts are locked first, so racing cycles check
    and record one after the other."""
    entries = [
        (target, conflict, _detail(target, conflict, {"reason": reason}))
        for target, reason in skipped
        for conflict in _concerned(target, known)
    ]
    if not entries:
        return
    with session_scope(engine) as session:
        ids = {conflict.id for _, conflict, _ in entries}
        lock_conflicts(session, ids)
        last = last_details(session, clinic_id, _SKIPPED, ids)
        new = []
        for target, conflict, detail in entries:
            if last.get(conflict.id) == detail:
                continue
            last[conflict.id] = detail
            new.append(_entry(clinic_id, target, conflict, detail, options.stamp()))
        record_audit_events(session, new)


_SKIPPED = "flag.skipped"


def _detail(
    target: FlagTarget, conflict: StoredConflict, extra: Mapping[str, Any]
) -> dict[str, Any]:
    """An entry's detail about ``target``: the conflict, the flag's digest, where, and ``extra``."""
    return {
        "conflict": conflict.facts.public_id,
        "block": _digest(target.block),
        **_where(target),
        **extra,
    }


def _entry(
    clinic_id: int,
    target: FlagTarget,
    conflict: StoredConflict,
    detail: Mapping[str, Any],
    at: datetime,
) -> AuditEntry:
    return AuditEntry(
        at=at,
        actor=ACTOR,
        action=_SKIPPED,
        clinic_id=clinic_id,
        conflict_id=conflict.id,
        calendar_source_id=target.copy.source_id,
        detail=detail,
    )


def _concerned(target: FlagTarget, known: Mapping[str, StoredConflict]) -> list[StoredConflict]:
    """The conflicts a write is about: those it adds, or those whose flag it removes."""
    if target.conflicts:
        return [stored for stored, _ in target.conflicts]
    carried = target.copy.private_properties.get(CONFLICT_PROPERTY, "")
    return [known[i] for i in carried.split(",") if i in known]


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
        self.arrived = False
        """Whether one of this target's writes reached the calendar."""

    def apply(self, target: FlagTarget) -> Outcome:
        """Write ``target`` (one :func:`_reason_to_skip` lets through)."""
        try:
            return self._write(_with_safe_dates(target, self.options))
        except LeaseLost:
            raise  # not a failure of the write: this worker must stop
        except CalendarReadOnly as err:
            self._record_skip(target, f"read-only calendar: {err}")
            return Outcome.SKIPPED
        except ClinicSyncError as err:
            self._record(target, "flag.failed", {"error": str(err)})
            return Outcome.FAILED

    def _write(self, target: FlagTarget) -> Outcome:
        conflicts = [c for _, c in target.conflicts]
        pending: FlagWrite | None = None  # sent, answer lost or refused: settled on next read
        for _ in range(MAX_ATTEMPTS):
            self.requests += 1
            remote = self.source.get_event(target.calendar_id, target.event_id)
            if pending is not None:
                self.arrived |= self._settled(pending, remote)
                pending = None
            if remote is None:
                return Outcome.WRITTEN if self.arrived else Outcome.GONE
            prove_from_event(self.engine, remote, now=self.options.stamp())
            patch = flag_patch(remote.flag_state, conflicts, target.block, self.options.color)
            if patch is None:
                self._store(target, remote)
                return Outcome.WRITTEN if self.arrived else Outcome.ALREADY
            write = self._intend(target, remote, patch)
            self.requests += 1
            try:
                written = self.source.write_flag(
                    target.calendar_id, target.event_id, _stamped(patch, write), etag=remote.etag
                )
            except EventChanged:
                pending = write  # a staff edit, another writer, or our own lost answer
                continue
            with session_scope(self.engine) as session:
                settle(session, write, WriteOutcome.APPLIED, now=self.options.stamp())
            self._store(target, written)
            return Outcome.WRITTEN
        if pending is not None:
            self.requests += 1
            remote = self.source.get_event(target.calendar_id, target.event_id)
            self.arrived |= self._settled(pending, remote)
        self._record_skip(target, f"the event kept changing: gave up after {MAX_ATTEMPTS} tries")
        return Outcome.GAVE_UP

    def _settled(self, write: FlagWrite, remote: RemoteEvent | None) -> bool:
        outcome = settle_from_event(self.engine, write, remote, now=self.options.stamp())
        return outcome is WriteOutcome.APPLIED

    def _intend(self, target: FlagTarget, remote: RemoteEvent, patch: FlagPatch) -> FlagWrite:
        """Record the write about to be sent, under the lease (checked in this transaction)."""
        with session_scope(self.engine) as session:
            lease = check_lease(session, WRITE_STAGE)
            intended = FlagWrite(
                id=0,
                clinic_id=self.clinic_id,
                source_id=target.copy.source_id,
                event_id=target.event_id,
                nonce=secrets.token_hex(16),
                seen_nonce=remote.flag_state.private.get(WRITE_PROPERTY),
                before=carried_ids(remote),
                after=_named(patch),
                block=patch.private.get(FLAG_HASH_PROPERTY) or "",
                created_at=self.options.stamp(),
                detail={
                    **_where(target),
                    "was": remote.flag_state.private.get(FLAG_HASH_PROPERTY) or "",
                    "warnings": list(patch.warnings),
                },
                fence=None if lease is None else (lease.source_id, lease.token),
            )
            return record_write(session, intended)

    def _store(self, target: FlagTarget, after: RemoteEvent) -> None:
        with session_scope(self.engine) as session:
            _store_event(session, target.copy, after, self.reader, self.options.now)

    def _record_skip(self, target: FlagTarget, reason: str) -> None:
        _record_skips(
            self.engine, self.clinic_id, [(target, reason)], options=self.options, known=self.known
        )

    def _record(self, target: FlagTarget, action: str, detail: Mapping[str, Any]) -> None:
        with session_scope(self.engine) as session:
            for conflict in _concerned(target, self.known):
                record_audit_event(
                    session,
                    self.clinic_id,
                    ACTOR,
                    action,
                    conflict_id=conflict.id,
                    calendar_source_id=target.copy.source_id,
                    detail=_detail(target, conflict, detail),
                    at=self.options.stamp(),
                )


def _where(target: FlagTarget) -> dict[str, str]:
    booking = target.copy.booking
    return {"event": booking.id, "calendar": booking.calendar, "day": booking.day.isoformat()}


def _digest(block: str | None) -> str:
    return "" if block is None else hashlib.sha256(block.encode()).hexdigest()[:16]


def _named(patch: FlagPatch) -> frozenset[str]:
    named = patch.private.get(CONFLICT_PROPERTY) or ""
    return frozenset(part for part in named.split(",") if part)


def _stamped(patch: FlagPatch, write: FlagWrite) -> FlagPatch:
    """``patch`` carrying the write's nonce, the calendar's proof that it arrived."""
    return replace(patch, private={**patch.private, WRITE_PROPERTY: write.nonce})


def _store_event(
    session: Session, copy: BookingCopy, remote: RemoteEvent, reader: BookingReader, now: datetime
) -> None:
    """Keep the event as written, so its echo through the next sync is no change.

    The description and properties come back from the calendar, with whatever staff typed
    there: they pass the same ingest boundary as a pull's events. One it refuses keeps the
    stored copy; the next pull quarantines it with the reason.
    """
    event = copy.event
    booking = replace(event.booking, description=remote.flag_state.description)
    private = dict(remote.flag_state.private)
    refreshed = replace(event, booking=booking, etag=remote.etag, private_properties=private)
    admission = admit_events([refreshed], reader.read)
    stored = store_events(session, copy.source_id, admission.events, now=now)
    if stored.inserted or stored.updated:
        bump_source_clinic(session, copy.source_id, now)


def settle_states(
    session: Session,
    clinic_id: int,
    active: Sequence[tuple[StoredConflict, Conflict]],
    carried: Mapping[str, Mapping[str, str]],
    now: datetime,
) -> None:
    """Set ``flagged``/``open`` from what each later booking carries now.

    ``carried`` maps booking ids to their stored private properties. The flag writes
    themselves are audited as they settle (:mod:`sync.usecases.flag_settlement`); this only moves
    each conflict's state, with a compare-and-set so racing cycles move it once.
    """
    for stored, conflict in active:
        ids = carried.get(conflict.later.id, {}).get(CONFLICT_PROPERTY, "").split(",")
        on = stored.facts.public_id in ids
        if on and stored.state is ConflictState.OPEN:
            update_conflict_if(
                session,
                stored.id,
                [ConflictState.OPEN],
                state=ConflictState.FLAGGED,
                flagged_at=now,
            )
        elif not on and stored.state is ConflictState.FLAGGED:
            update_conflict_if(
                session, stored.id, [ConflictState.FLAGGED], state=ConflictState.OPEN
            )
