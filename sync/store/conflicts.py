"""Conflicts as the store keeps them, and the booking copies detection reads (SPEC §5, §8).

A conflict row is found by its public id (:func:`rules.flag.conflict_id`, a hash of
rule, earlier and later booking) and moves through the states of SPEC §8: ``open``
(detected, no flag on the calendar yet), ``flagged``, ``acknowledged`` and
``overridden`` (set by an admin; an overridden conflict is never flagged again) and
``resolved``. Its booking columns point at the copies detection chose (one event can
sit on several calendars of a clinic); deleted bookings are kept, so a resolved
conflict still names them.

Several workers may detect over one clinic at once, so the writes that would clash
are made safe to repeat: :func:`insert_conflict` leaves a conflict another detection
stored first as it is and returns that one, and :func:`update_conflict_if` changes a
conflict only while it is still in the state the caller saw, so an opening, a reopening
or a resolution happens — and is audited — once.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, or_, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from rules.model import Booking
from rules.patients import Identity
from sync.store.bulk import insert_if_absent
from sync.store.errors import RecordNotFound
from sync.store.events import StoredEvent, booking_from_row, event_from_row, plain_records
from sync.store.identity_keys import chunked
from sync.store.tables import BookingRow, CalendarSourceRow, ConflictRow

__all__ = [
    "BookingCopy",
    "ConflictFacts",
    "ConflictState",
    "ReadCopy",
    "StoredConflict",
    "conflict_ends",
    "conflicts_by_id",
    "conflicts_by_public_id",
    "conflicts_touching",
    "copies_by_row",
    "flag_properties",
    "insert_conflict",
    "list_conflicts",
    "live_copies",
    "load_copies",
    "lock_conflicts",
    "rows_of_events",
    "update_conflict",
    "update_conflict_if",
]


class ConflictState(enum.StrEnum):
    """Where a conflict stands (SPEC §8)."""

    OPEN = "open"
    FLAGGED = "flagged"
    ACKNOWLEDGED = "acknowledged"
    OVERRIDDEN = "overridden"
    RESOLVED = "resolved"

    @property
    def wants_flag(self) -> bool:
        """Whether the later booking should carry this conflict's flag."""
        return self in (ConflictState.OPEN, ConflictState.FLAGGED, ConflictState.ACKNOWLEDGED)

    def reason(self, *, review: str | None, resolution: str | None) -> str | None:
        """Why a conflict in this state stands where it does (SPEC §8): the review's reason
        while acknowledged or overridden, detection's once resolved, none while it waits
        for a review. Every list of conflicts (page, CSV, API, CLI) says this one."""
        if self in (ConflictState.ACKNOWLEDGED, ConflictState.OVERRIDDEN):
            return review
        return resolution if self is ConflictState.RESOLVED else None


@dataclass(frozen=True, slots=True)
class BookingCopy:
    """One stored copy of a booking: the event as one calendar (source) holds it.

    Detection reads the booking of every copy and a flag's stored state its properties;
    only the copies a flag is written to read the rest of the event. So the event is made
    from the stored row when first asked for: about 3 µs a copy, over every copy of a
    clinic on a full re-check, for the few a flag write concerns. A copy made from fewer
    columns than a row (``row`` is ``None``: the stream of a full re-check, which reads
    only what detection needs) has no event: :func:`copies_by_row` reads it whole.
    """

    row_id: int
    source_id: int
    booking: Booking
    private_properties: Mapping[str, str]
    """The event's private extended properties (where a flag keeps its state)."""
    deleted: bool = False
    row: Any = field(default=None, repr=False, compare=False)
    """The stored row's columns, read by attribute (:func:`event_from_row`)."""
    identity: Identity | None = field(default=None, repr=False, compare=False)
    """The patient identity already read from ``booking`` (the stream of a full re-check
    reads every booking's), for detection not to read it again; ``None``: not read yet."""
    _event: StoredEvent | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def event(self) -> StoredEvent:
        """The stored event, with its provider extras (made once)."""
        event = self._event
        if event is None:
            if self.row is None:
                raise LookupError(f"booking row {self.row_id} was read without its event")
            event = event_from_row(self.row, booking=self.booking)
            object.__setattr__(self, "_event", event)  # frozen: set once, on first use
        return event


@dataclass(frozen=True, slots=True)
class ConflictFacts:
    """What detection says about a conflict; stored as it is last seen."""

    public_id: str
    rule_name: str
    earlier_row_id: int
    later_row_id: int
    patient_kind: str
    patient_value: str
    match_kind: str
    gap_days: int


@dataclass(frozen=True, slots=True)
class StoredConflict:
    """A conflict row as plain data."""

    id: int
    facts: ConflictFacts
    state: ConflictState
    detected_at: datetime
    resolved_at: datetime | None = None
    resolution_reason: str | None = None
    flagged_at: datetime | None = None
    review_reason: str | None = None
    """Why an admin last acknowledged, overrode or re-opened it."""

    @property
    def reason(self) -> str | None:
        """Why it stands where it does (:meth:`ConflictState.reason`)."""
        return self.state.reason(review=self.review_reason, resolution=self.resolution_reason)


def load_copies(
    session: Session, clinic_id: int, *, also_rows: Collection[int] = ()
) -> list[BookingCopy]:
    """Every live booking copy of a clinic, plus the rows ``also_rows`` (deleted or not)."""
    live = col(BookingRow.deleted_at).is_(None)
    wanted = or_(live, col(BookingRow.id).in_(list(also_rows))) if also_rows else live
    # Plain rows, not ORM objects: the session would otherwise hold every booking of the
    # clinic a second time in its identity map for as long as detection runs.
    query = (
        sql_select(*_copy_columns())
        .where(col(BookingRow.clinic_id) == clinic_id)
        .where(wanted)
        .order_by(col(BookingRow.id))
    )
    result = session.execute(query)
    record = plain_records(result)
    return [_copy(record(row)) for row in result]


class ReadCopy(NamedTuple):
    """A copy as it was read, with the row's revision then: still the stored copy while the
    row's revision is the same (every change of a booking's content, its deletion and its
    revival bump it: :mod:`sync.store.bookings`). A pair, made for every row of a clinic
    on a full re-check: a third of what a frozen dataclass costs to make."""

    revision: int
    copy: BookingCopy


def copies_by_row(
    session: Session,
    row_ids: Collection[int],
    *,
    read: Mapping[int, ReadCopy] | None = None,
    current: bool = False,
) -> dict[int, BookingCopy]:
    """The copies stored under ``row_ids`` (live or deleted), by row id.

    ``read``: copies of some of these rows read before; those whose row has not changed
    since are returned as they were (its revision is all that is read of such a row), the
    others read afresh. ``current``: the caller knows no row has changed since (its clinic's
    data version has not moved), so not even the revisions are read.
    """
    found: dict[int, BookingCopy] = {}
    wanted = set(row_ids)
    if read and current:
        found = {row: read[row].copy for row in wanted if row in read}
        wanted -= found.keys()
    elif read:
        found = _unchanged(session, [row for row in wanted if row in read], read)
        wanted -= found.keys()
    table = BookingRow.__table__  # type: ignore[attr-defined]
    columns = _copy_columns()
    for chunk in chunked(sorted(wanted)):
        query = sql_select(*columns).where(table.c.id.in_(chunk))  # plain rows: see load_copies
        result = session.execute(query)
        record = plain_records(result)
        rows = result.all()  # one fetch of the chunk, not a row at a time
        found.update((copy.row_id, copy) for copy in (_copy(record(row)) for row in rows))
    return found


def flag_properties(
    session: Session, clinic_id: int, row_ids: Collection[int]
) -> dict[str, Mapping[str, str]]:
    """The private properties (where a flag keeps its state) stored on the clinic's rows
    among ``row_ids``, by their provider event ids: what settling a part's conflicts reads
    after flagging, two columns of each row rather than its whole copy."""
    table = BookingRow.__table__  # type: ignore[attr-defined]
    found: dict[str, Mapping[str, str]] = {}
    for chunk in chunked(sorted(row_ids)):
        query = sql_select(table.c.provider_event_id, table.c.private_properties).where(
            table.c.clinic_id == clinic_id, table.c.id.in_(chunk)
        )
        found.update((event_id, properties) for event_id, properties in session.execute(query))
    return found


def _unchanged(
    session: Session, row_ids: list[int], read: Mapping[int, ReadCopy]
) -> dict[int, BookingCopy]:
    """The copies of ``read`` among ``row_ids`` whose rows still have the revision read."""
    table = BookingRow.__table__  # type: ignore[attr-defined]
    found: dict[int, BookingCopy] = {}
    for chunk in chunked(sorted(row_ids)):
        query = sql_select(table.c.id, table.c.revision).where(table.c.id.in_(chunk))
        for row_id, revision in session.execute(query).all():
            was = read[row_id]
            if was.revision == revision:
                found[row_id] = was.copy
    return found


def rows_of_events(session: Session, clinic_id: int, event_ids: Collection[str]) -> set[int]:
    """Every row, live or deleted, on any calendar of a clinic, of the events ``event_ids``."""
    found: set[int] = set()
    for chunk in chunked(sorted(event_ids)):
        query = (
            select(col(BookingRow.id))
            .where(col(BookingRow.source_id).in_(_sources_of(clinic_id)))
            .where(col(BookingRow.provider_event_id).in_(chunk))
        )
        found.update(row_id for row_id in session.exec(query) if row_id is not None)
    return found


def live_copies(session: Session, clinic_id: int, row_ids: Collection[int]) -> set[int]:
    """The live rows of a clinic holding the same events as the rows ``row_ids``.

    Detection keeps one copy of each event (:func:`sync.usecases.detect.detect`), so it must see
    all of them to keep the same one. The events are read first, by primary key, so the
    copies are then found through the (source, event id) index.
    """
    events: set[str] = set()
    for chunk in chunked(sorted(row_ids)):
        named = select(col(BookingRow.provider_event_id)).where(col(BookingRow.id).in_(chunk))
        events.update(session.exec(named))
    found: set[int] = set()
    for ids in chunked(sorted(events)):
        query = (
            select(col(BookingRow.id))
            .where(col(BookingRow.source_id).in_(_sources_of(clinic_id)))
            .where(col(BookingRow.provider_event_id).in_(ids))
            .where(col(BookingRow.deleted_at).is_(None))
        )
        found.update(row_id for row_id in session.exec(query) if row_id is not None)
    return found


def _sources_of(clinic_id: int) -> Any:
    # Through the clinic's sources, bookings are found by the (source, event id) index.
    return select(col(CalendarSourceRow.id)).where(col(CalendarSourceRow.clinic_id) == clinic_id)


_BOOKKEEPING = frozenset(
    {"clinic_id", "content_hash", "revision", "first_seen_at", "last_seen_at", "changed_at"}
)
"""Columns of a booking row no copy holds: reading them would only convert them for nothing
(three timestamps of each row, on a full re-check of a clinic)."""


def _copy_columns() -> list[Any]:
    table = BookingRow.__table__  # type: ignore[attr-defined]
    return [column for column in table.columns if column.name not in _BOOKKEEPING]


def _copy(row: Any) -> BookingCopy:  # an ORM row, or a plain record of its columns
    assert row.id is not None, "a stored booking has an id"
    booking = booking_from_row(row)
    deleted = row.deleted_at is not None
    return BookingCopy(row.id, row.source_id, booking, row.private_properties, deleted, row)


def list_conflicts(
    session: Session, clinic_id: int, *, states: Iterable[ConflictState] | None = None
) -> list[StoredConflict]:
    """A clinic's conflicts (those in ``states`` when given), oldest detection first."""
    query = select(ConflictRow).where(col(ConflictRow.clinic_id) == clinic_id)
    if states is not None:
        query = query.where(col(ConflictRow.state).in_([state.value for state in states]))
    query = query.order_by(col(ConflictRow.detected_at), col(ConflictRow.id))
    return [_conflict(row) for row in session.exec(query)]


def conflicts_touching(
    session: Session,
    clinic_id: int,
    row_ids: Collection[int],
    *,
    states: Iterable[ConflictState] | None = None,
) -> list[StoredConflict]:
    """A clinic's conflicts (in ``states`` when given) with a booking row in ``row_ids``.

    One query per side, each by that side's index alone: with the clinic or the state in
    the WHERE clause the planner may walk the clinic's conflicts by (clinic, state)
    instead. A booking row belongs to one clinic, so the clinic is checked on the rows.
    """
    wanted = None if states is None else {state.value for state in states}
    found: dict[int, StoredConflict] = {}
    for side in (ConflictRow.earlier_booking_id, ConflictRow.later_booking_id):
        for chunk in chunked(sorted(row_ids)):
            query = sql_select(_CONFLICTS).where(col(side).in_(chunk))  # plain rows
            for row in session.execute(query).all():
                if row.clinic_id == clinic_id and (wanted is None or row.state in wanted):
                    found.setdefault(row.id, _conflict(row))
    return sorted(found.values(), key=lambda c: (c.detected_at, c.id))


_CONFLICTS = ConflictRow.__table__  # type: ignore[attr-defined]
"""Conflicts read as plain rows where many are read: no ORM object (and identity-map entry)
is made for each, only the record the rest of the service reads."""


def conflict_ends(session: Session, clinic_id: int) -> list[tuple[int, int, int, ConflictState]]:
    """Each of a clinic's stored conflicts as (id, earlier row, later row, state), plain rows:
    what a full re-check reads of them all to join each conflict's bookings into one part
    and to know which conflicts each batch must load (:func:`conflicts_by_id`)."""
    table = _CONFLICTS
    query = sql_select(
        table.c.id, table.c.earlier_booking_id, table.c.later_booking_id, table.c.state
    ).where(table.c.clinic_id == clinic_id)
    states = {state.value: state for state in ConflictState}
    return [
        (conflict_id, earlier, later, states[state])
        for conflict_id, earlier, later, state in session.connection().execute(query)
    ]


def conflicts_by_id(
    session: Session, clinic_id: int, conflict_ids: Collection[int]
) -> list[StoredConflict]:
    """A clinic's conflicts among ``conflict_ids`` (another clinic's are left out), oldest
    detection first, as :func:`conflicts_touching` orders them."""
    found: list[StoredConflict] = []
    for chunk in chunked(sorted(conflict_ids)):
        query = (
            sql_select(_CONFLICTS)
            .where(col(ConflictRow.id).in_(chunk))
            .where(col(ConflictRow.clinic_id) == clinic_id)
        )
        found += map(_conflict, session.execute(query).all())
    return sorted(found, key=lambda c: (c.detected_at, c.id))


def conflicts_by_public_id(
    session: Session, clinic_id: int, public_ids: Collection[str]
) -> list[StoredConflict]:
    """A clinic's conflicts among ``public_ids``, in any state."""
    found: list[StoredConflict] = []
    for chunk in chunked(sorted(public_ids)):
        query = (
            sql_select(_CONFLICTS)
            .where(col(ConflictRow.clinic_id) == clinic_id)
            .where(col(ConflictRow.public_id).in_(chunk))
        )
        found += map(_conflict, session.execute(query).all())
    return found


def insert_conflict(
    session: Session, clinic_id: int, facts: ConflictFacts, *, now: datetime
) -> tuple[StoredConflict, bool]:
    """Store a newly detected conflict, ``open``; ``True`` with it when this call stored it.

    When another detection stored the same conflict first (same public id, or same rule and
    bookings), that row is returned as it is, with ``False``: the database's unique
    constraints decide, so two workers racing on one clinic never fail on each other.
    """
    columns = {
        "clinic_id": clinic_id,
        "state": ConflictState.OPEN.value,
        "detected_at": now,
        **_fact_columns(facts),
    }
    statement = (
        insert_if_absent(session.get_bind().dialect, ConflictRow)
        .values(**columns)
        .returning(col(ConflictRow.id))
    )
    new_id = session.exec(statement).scalar_one_or_none()
    if new_id is not None:
        return _conflict(_row(session, new_id)), True
    return _existing(session, clinic_id, facts), False


def _existing(session: Session, clinic_id: int, facts: ConflictFacts) -> StoredConflict:
    same_id = col(ConflictRow.public_id) == facts.public_id
    same_pair = (
        (col(ConflictRow.rule_name) == facts.rule_name)
        & (col(ConflictRow.earlier_booking_id) == facts.earlier_row_id)
        & (col(ConflictRow.later_booking_id) == facts.later_row_id)
    )
    query = select(ConflictRow).where(col(ConflictRow.clinic_id) == clinic_id)
    row = session.exec(query.where(or_(same_id, same_pair)).order_by(col(ConflictRow.id))).first()
    if row is None:
        raise RecordNotFound(f"conflict {facts.public_id} was neither stored nor found")
    session.refresh(row)
    return _conflict(row)


def _row(session: Session, conflict_id: int) -> ConflictRow:
    row = session.get(ConflictRow, conflict_id, populate_existing=True)
    if row is None:
        raise RecordNotFound(f"no conflict with id {conflict_id}")
    return row


def update_conflict(
    session: Session,
    conflict_id: int,
    *,
    facts: ConflictFacts | None = None,
    **values: Any,
) -> StoredConflict:
    """Change a conflict's facts and/or columns (``state``, ``resolved_at``, ...)."""
    row = session.get(ConflictRow, conflict_id)
    if row is None:
        raise RecordNotFound(f"no conflict with id {conflict_id}")
    for name, value in _columns(facts, values).items():
        setattr(row, name, value)
    session.flush()
    return _conflict(row)


def lock_conflicts(session: Session, conflict_ids: Collection[int]) -> None:
    """Hold these conflicts' rows until the transaction ends, so a check-then-record on them
    (has this skip been recorded?) is made by one transaction at a time.

    A no-op UPDATE, not ``SELECT … FOR UPDATE``: it locks the rows on PostgreSQL and takes
    SQLite's write lock before anything is read, which SQLite has no other way to do. Rows
    are taken in id order: two workers locking overlapping sets take them in one order, so
    neither waits on the other in a cycle.
    """
    for chunk in chunked(sorted(set(conflict_ids))):
        statement = (
            update(ConflictRow)
            .where(col(ConflictRow.id).in_(chunk))
            .values(id=ConflictRow.id)
            .execution_options(synchronize_session=False)
        )
        session.execute(statement)


def update_conflict_if(
    session: Session,
    conflict_id: int,
    states: Collection[ConflictState],
    *,
    facts: ConflictFacts | None = None,
    **values: Any,
) -> StoredConflict | None:
    """Like :func:`update_conflict` while the conflict is in one of ``states``, else ``None``.

    The check and the change are one statement: when another worker moved the conflict
    first, this call changes nothing and says so.
    """
    session.flush()
    statement = (
        update(ConflictRow)
        .where(col(ConflictRow.id) == conflict_id)
        .where(col(ConflictRow.state).in_([state.value for state in states]))
        .values(**_columns(facts, values))
        .execution_options(synchronize_session=False)
    )
    if session.exec(statement).rowcount == 0:
        return None
    return _conflict(_row(session, conflict_id))


def _columns(facts: ConflictFacts | None, values: dict[str, Any]) -> dict[str, Any]:
    columns = {**(_fact_columns(facts) if facts else {}), **values}
    return {
        name: value.value if isinstance(value, ConflictState) else value
        for name, value in columns.items()
    }


def _fact_columns(facts: ConflictFacts) -> dict[str, Any]:
    return {
        "public_id": facts.public_id,
        "rule_name": facts.rule_name,
        "earlier_booking_id": facts.earlier_row_id,
        "later_booking_id": facts.later_row_id,
        "patient_kind": facts.patient_kind,
        "patient_value": facts.patient_value,
        "match_kind": facts.match_kind,
        "gap_days": facts.gap_days,
    }


def _conflict(row: ConflictRow | Row[Any]) -> StoredConflict:
    assert row.id is not None, "a stored conflict has an id"
    facts = ConflictFacts(
        public_id=row.public_id or f"row{row.id}",
        rule_name=row.rule_name,
        earlier_row_id=row.earlier_booking_id,
        later_row_id=row.later_booking_id,
        patient_kind=row.patient_kind,
        patient_value=row.patient_value,
        match_kind=row.match_kind,
        gap_days=row.gap_days,
    )
    return StoredConflict(
        id=row.id,
        facts=facts,
        state=ConflictState(row.state),
        detected_at=row.detected_at,
        resolved_at=row.resolved_at,
        resolution_reason=row.resolution_reason,
        flagged_at=row.flagged_at,
        review_reason=row.review_reason,
    )
