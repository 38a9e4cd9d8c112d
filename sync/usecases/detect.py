"""Detection over a clinic's stored bookings, and the conflicts it opens and resolves (SPEC §5).

:func:`detect` merges the copies of one event held by several calendars (one booking per
id, like :func:`sync.usecases.audit.merge_copies`, remembering which copy it kept so its flag goes
there), runs :func:`rules.assess.assess` once over the clinic, and returns the conflicts.
:func:`reconcile` compares them with the stored ones: new conflicts are opened (and a
resolved one that comes back is reopened), conflicts no longer detected are resolved with
the plain reason :func:`rules.resolution.resolution_reason` gives. Every change is
recorded in the audit trail (SPEC §8) in the same unit of work.

:func:`load_detection` reads either the whole clinic (a full re-check) or, given what a
pull changed, only the bookings that change can reach and the names it must link nobody
by: the reach of :mod:`sync.usecases.affected`, whose docstring argues why it yields the
same patient groups — so the same conflicts — as the whole clinic. Only the stored
conflicts about those bookings are reconciled. Both paths read, detect and reconcile the
same way; the full one also rewrites the identity keys that no longer agree with how the
bookings read now (the first detection after the keys table was added, or after the
policy or the staff domains changed), which is what lets the incremental path trust them.

Two workers may detect over one clinic at the same time: opening, reopening and resolving
a conflict are each done once whoever gets there first (:func:`sync.store.conflicts.
insert_conflict`, :func:`~sync.store.conflicts.update_conflict_if`), and audited once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from rules.assess import Assessment, Scope, assess
from rules.flag import conflict_id
from rules.model import Booking, Conflict, Policy, Rule
from rules.patients import ReadBooking, TitleNames, identify
from rules.resolution import resolution_reason
from sync.store.audit import list_audit_events, record_audit_event
from sync.store.conflicts import (
    BookingCopy,
    ConflictFacts,
    ConflictState,
    ReadCopy,
    StoredConflict,
    conflicts_by_id,
    conflicts_by_public_id,
    conflicts_touching,
    copies_by_row,
    insert_conflict,
    list_conflicts,
    load_copies,
    update_conflict,
    update_conflict_if,
)
from sync.store.data_version import clinic_data_version
from sync.store.identity_keys import refresh_keys
from sync.store.review import REVIEW_PREFIX
from sync.usecases.affected import Changes, choose_copies, reach
from sync.usecases.pull import BookingReader

__all__ = [
    "ACTOR",
    "Changes",
    "Detection",
    "Reconciled",
    "detect",
    "load_detection",
    "load_part",
    "reconcile",
]

ACTOR = "service"
_UNRESOLVED = tuple(state for state in ConflictState if state is not ConflictState.RESOLVED)


@dataclass(frozen=True, slots=True)
class Detection:
    """What the rules engine found over a clinic's bookings, with the copies it read."""

    assessment: Assessment
    chosen: Mapping[str, BookingCopy]
    """The copy kept for each booking id: where that booking's flag is written."""
    rows: Mapping[int, BookingCopy]
    """Every copy read, live or deleted, by row id."""
    version: int | None = None
    """The clinic's data version (:mod:`sync.store.data_version`) read before its copies
    were: while the clinic is still at it, no stored row differs from its copy here."""
    conflicts: Mapping[str, Conflict] = field(init=False, repr=False, compare=False)
    """The conflicts found, by public id: hashed once here, not on every look-up (a
    reconciliation looks each stored conflict up)."""

    def __post_init__(self) -> None:
        found = {conflict_id(c): c for c in self.assessment.conflicts}
        object.__setattr__(self, "conflicts", found)  # frozen: set once, at construction


@dataclass(frozen=True, slots=True)
class Reconciled:
    """The stored conflicts after a reconciliation, and what changed."""

    active: list[tuple[StoredConflict, Conflict]] = field(default_factory=list)
    """Conflicts detected now, with their stored row (any state but resolved)."""
    opened: int = 0
    resolved: int = 0


def load_detection(
    session: Session,
    clinic_id: int,
    policy: Policy,
    reader: BookingReader,
    scope: Scope,
    *,
    changes: Changes | None = None,
) -> tuple[Detection, list[StoredConflict]]:
    """Run detection over the bookings ``changes`` can reach, or the whole clinic without them.

    Returns the detection and the stored conflicts it must be reconciled with: those about
    a booking it read, and those it detected, in any state.
    """
    if changes is None:
        return _load_clinic(session, clinic_id, policy, reader, scope)
    reached = reach(session, clinic_id, changes, reader, scope)
    return load_part(
        session, clinic_id, policy, reader, scope, rows=reached.rows, ambiguous=reached.ambiguous
    )


def load_part(
    session: Session,
    clinic_id: int,
    policy: Policy,
    reader: BookingReader,
    scope: Scope,
    *,
    rows: Collection[int],
    ambiguous: Collection[str] = (),
    titles: TitleNames | None = None,
    read: Mapping[int, ReadCopy] | None = None,
    read_version: int | None = None,
    touching: Collection[int] | None = None,
) -> tuple[Detection, list[StoredConflict]]:
    """Run detection over ``rows``, a part of the clinic closed like a change's reach
    (:mod:`sync.usecases.affected`, :mod:`sync.usecases.partition`), with the stored conflicts
    to reconcile: those about a booking it read, and those it detected, in any state.
    ``titles``: titles already read with ``reader``'s matcher, shared between parts;
    ``read``: copies of some of the rows read before (those unchanged since are used), when
    the clinic's data version was ``read_version`` (still that version: all of them are);
    ``touching``: the ids of the stored conflicts with a row among ``rows``, found when the
    data version was ``read_version`` (while it stands, loaded by id, not searched by row)."""
    version = clinic_data_version(session, clinic_id).counter  # before any copy is read
    current = version == read_version
    copies = copies_by_row(session, rows, read=read, current=current).values()
    detection = detect(
        copies,
        policy,
        reader,
        scope,
        ambiguous=ambiguous,
        titles=titles,
        version=version,
        eligibility=False,  # what the cycle and its callers store and flag: conflicts
    )
    if current and touching is not None:
        by_row = conflicts_by_id(session, clinic_id, touching)
    else:
        by_row = conflicts_touching(session, clinic_id, rows)
    stored = {c.id: c for c in by_row}
    found = conflicts_by_public_id(session, clinic_id, detection.conflicts.keys())
    stored.update((c.id, c) for c in found)
    return detection, sorted(stored.values(), key=lambda c: (c.detected_at, c.id))


def _load_clinic(
    session: Session, clinic_id: int, policy: Policy, reader: BookingReader, scope: Scope
) -> tuple[Detection, list[StoredConflict]]:
    """The closure of everything: every live booking, and every row a stored conflict names."""
    stored = list_conflicts(session, clinic_id)
    referenced = {row for c in stored for row in (c.facts.earlier_row_id, c.facts.later_row_id)}
    copies = load_copies(session, clinic_id, also_rows=referenced)
    live = [copy for copy in copies if not copy.deleted]
    fresh = reader.keys(copy.booking for copy in live)
    refresh_keys(
        session, clinic_id, {copy.row_id: keys for copy, keys in zip(live, fresh, strict=True)}
    )
    return detect(copies, policy, reader, scope), stored


def detect(
    copies: Iterable[BookingCopy],
    policy: Policy,
    reader: BookingReader,
    scope: Scope,
    *,
    ambiguous: Collection[str] = (),
    titles: TitleNames | None = None,
    version: int | None = None,
    eligibility: bool = True,
) -> Detection:
    """Merge copies, then assess them once.

    ``ambiguous``: names shown shared by bookings not among ``copies``
    (:class:`~sync.usecases.affected.Reach`). ``version``: the clinic's data version read
    before ``copies`` were (:attr:`Detection.version`). ``eligibility=False``: conflicts
    only (:func:`rules.assess.assess`).
    """
    rows = {copy.row_id: copy for copy in copies}
    chosen = choose_copies(copy for copy in rows.values() if not copy.deleted)
    bookings = [copy.booking for copy in chosen.values()]
    result = assess(
        bookings,
        policy,
        scope,
        matcher=reader.matcher,
        options=reader.options,
        ambiguous=ambiguous,
        titles=titles,
        identities=[copy.identity for copy in chosen.values()],
        eligibility=eligibility,
    )
    return Detection(result, chosen, rows, version)


def reconcile(
    session: Session,
    clinic_id: int,
    detection: Detection,
    stored: Sequence[StoredConflict],
    *,
    policy: Policy,
    reader: BookingReader,
    now: datetime,
) -> Reconciled:
    """Open, refresh, reopen and resolve stored conflicts to match ``detection``."""
    by_id = {c.facts.public_id: c for c in stored}
    active: list[tuple[StoredConflict, Conflict]] = []
    opened = 0
    for public_id, conflict in detection.conflicts.items():
        facts = _facts(public_id, conflict, detection)
        row, new = _store(session, clinic_id, by_id.get(public_id), facts, conflict, now=now)
        opened += new
        active.append((row, conflict))
    resolved = 0
    gone = [c for c in stored if c.state is not ConflictState.RESOLVED]
    for row in gone:
        if row.facts.public_id not in detection.conflicts:
            reason = _reason(row, detection, policy, reader)
            resolved += _resolve(session, clinic_id, row, reason, now)
    return Reconciled(active, opened, resolved)


def _store(
    session: Session,
    clinic_id: int,
    row: StoredConflict | None,
    facts: ConflictFacts,
    conflict: Conflict,
    *,
    now: datetime,
) -> tuple[StoredConflict, bool]:
    if row is None:
        row, new = insert_conflict(session, clinic_id, facts, now=now)
        if new:
            _audit(
                session, clinic_id, row, "conflict.detected", now=now, detail=_describe(conflict)
            )
            return row, True
    if row.state is ConflictState.RESOLVED:
        reopened = _reopen(session, clinic_id, row, facts)
        if reopened is not None:
            _audit(
                session,
                clinic_id,
                reopened,
                "conflict.reopened",
                now=now,
                detail=_describe(conflict),
            )
            return reopened, True
        row = _current(session, clinic_id, row)  # another worker reopened it first
    if row.facts != facts:
        row = update_conflict(session, row.id, facts=facts)
    return row, False


def _reopen(
    session: Session, clinic_id: int, row: StoredConflict, facts: ConflictFacts
) -> StoredConflict | None:
    return update_conflict_if(
        session,
        row.id,
        [ConflictState.RESOLVED],
        facts=facts,
        state=_state_on_return(session, clinic_id, row),
        resolved_at=None,
        resolution_reason=None,
        flagged_at=None,
    )


def _state_on_return(session: Session, clinic_id: int, row: StoredConflict) -> ConflictState:
    """An overridden pair that resolved and comes back stays overridden (SPEC §8): the
    admin's decision is about the pair, so it is not flagged again until re-opened."""
    history = list_audit_events(session, clinic_id, conflict_id=row.id)
    reviews = [event.action for event in history if event.action.startswith(REVIEW_PREFIX)]
    overridden = bool(reviews) and reviews[-1] == f"{REVIEW_PREFIX}overridden"
    return ConflictState.OVERRIDDEN if overridden else ConflictState.OPEN


def _current(session: Session, clinic_id: int, row: StoredConflict) -> StoredConflict:
    [current] = conflicts_by_public_id(session, clinic_id, [row.facts.public_id])
    return current


def _resolve(
    session: Session, clinic_id: int, row: StoredConflict, reason: str, now: datetime
) -> bool:
    """Resolve ``row``; ``False`` when another worker resolved it first (nothing to audit)."""
    done = update_conflict_if(
        session,
        row.id,
        _UNRESOLVED,
        state=ConflictState.RESOLVED,
        resolved_at=now,
        resolution_reason=reason,
    )
    if done is not None:
        _audit(session, clinic_id, row, "conflict.resolved", now=now, detail={"reason": reason})
    return done is not None


def _facts(public_id: str, conflict: Conflict, detection: Detection) -> ConflictFacts:
    return ConflictFacts(
        public_id=public_id,
        rule_name=conflict.rule.name,
        earlier_row_id=detection.chosen[conflict.earlier.id].row_id,
        later_row_id=detection.chosen[conflict.later.id].row_id,
        patient_kind=conflict.patient.key.kind.value,
        patient_value=conflict.patient.key.value,
        match_kind=conflict.match.value,
        gap_days=conflict.gap_days,
    )


def _reason(
    row: StoredConflict, detection: Detection, policy: Policy, reader: BookingReader
) -> str:
    rule = _rule(policy, row.facts.rule_name)
    if rule is None:
        return f"the rule '{row.facts.rule_name}' is no longer in the policy"
    earlier = _now_reads(detection, row.facts.earlier_row_id, reader)
    later = _now_reads(detection, row.facts.later_row_id, reader)
    same = earlier is not None and later is not None and _same_patient(detection, earlier, later)
    return resolution_reason(rule, earlier, later, same_patient=same)


def _rule(policy: Policy, name: str) -> Rule | None:
    return next((rule for rule in policy.rules if rule.name == name), None)


def _now_reads(detection: Detection, row_id: int, reader: BookingReader) -> ReadBooking | None:
    """How the booking of ``row_id`` reads now; ``None`` when it is deleted everywhere."""
    copy = detection.rows.get(row_id)
    if copy is None:
        return None
    booking = copy.booking
    current = detection.chosen.get(booking.id)
    if current is None:
        return None
    return _read(current.booking, reader)


def _read(booking: Booking, reader: BookingReader) -> ReadBooking:
    titles = TitleNames(reader.matcher)
    identity = identify(booking, titles, reader.options)
    categories = titles.categories(booking)
    return ReadBooking(booking=booking, identity=identity, categories=categories)


def _same_patient(detection: Detection, earlier: ReadBooking, later: ReadBooking) -> bool:
    wanted = {earlier.booking.id, later.booking.id}
    for group in detection.assessment.patients:
        ids = {member.booking.id for member in group.members}
        if wanted <= ids:
            return True
    return False


def _describe(conflict: Conflict) -> dict[str, Any]:
    return {
        "rule": conflict.rule.name,
        "earlier": _booking_detail(conflict.earlier),
        "later": _booking_detail(conflict.later),
        "gap_days": conflict.gap_days,
        "patient": conflict.patient.label,
        "matched_by": conflict.match.value,
    }


def _booking_detail(booking: Booking) -> dict[str, str]:
    return {
        "id": booking.id,
        "day": booking.day.isoformat(),
        "calendar": booking.calendar,
        "summary": booking.summary,
    }


def _audit(
    session: Session,
    clinic_id: int,
    row: StoredConflict,
    action: str,
    *,
    now: datetime,
    detail: Mapping[str, Any],
) -> None:
    record_audit_event(
        session,
        clinic_id,
        ACTOR,
        action,
        conflict_id=row.id,
        detail={"conflict": row.facts.public_id, **detail},
        at=now,
    )
