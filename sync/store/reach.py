"""One step of a change's reach in one statement: what rows lead to (SPEC §4, §5).

:mod:`sync.usecases.affected` grows the set of bookings a change can reach to a fixpoint;
each step asks, of the rows it just added, their identity keys, the live copies of their
events on the clinic's calendars, and both bookings of the unresolved conflicts they are
in. :func:`neighbours` answers them with two statements built once (their lists expanding
bind parameters), so a step costs two round trips and no statement building, however many
rows it starts from: one ``UNION ALL`` gives the rows' keys, their event ids and their
conflicts; the second gives the clinic's live rows of those event ids.
Each goes through an index of its own: keys by ``(booking_id, kind, value)``, event ids by
the primary key, conflicts by each side's booking index (the clinic is checked on the
result, as :func:`sync.store.conflicts.conflicts_touching` does), copies by
``(source_id, provider_event_id)`` with both columns given. The copies were once a join on
the event id inside the first statement: PostgreSQL, before the bookings table had
statistics (a first sync, or autovacuum off), drove that join from every live row of the
clinic and probed the other side by event id alone, a whole scan of the unique index per
row (5.7 s a step at 400,000 bookings). The rows sharing an id or an e-mail are left to
:func:`sync.store.identity_keys.rows_with_keys`, once the keys are known: joined into this
statement, SQLite's planner walks every strong key of the clinic instead.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, literal, null, select, union_all
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Session, col

from rules.model import MatchKind, PatientKey
from sync.store.conflicts import ConflictState
from sync.store.identity_keys import chunked
from sync.store.tables import BookingIdentityKeyRow, BookingRow, CalendarSourceRow, ConflictRow

__all__ = ["Neighbours", "neighbours"]

_KINDS = {kind.value: kind for kind in MatchKind}
_UNRESOLVED = frozenset(s.value for s in ConflictState if s is not ConflictState.RESOLVED)
_KEY, _EVENT, _CONFLICT = 0, 1, 2


@dataclass(slots=True)
class Neighbours:
    """What a set of rows leads to: their keys, and the rows they join the reach with."""

    keys: dict[int, set[PatientKey]] = field(default_factory=dict)
    """The stored identity keys of each row asked about (rows without keys left out)."""
    rows: set[int] = field(default_factory=set)
    """Live copies of the same events, and both rows of every unresolved conflict of the
    clinic one of the rows is in."""


def neighbours(session: Session, clinic_id: int, row_ids: Collection[int]) -> Neighbours:
    """The keys of ``row_ids`` and the rows they reach in one step (see the module docstring)."""
    found = Neighbours()
    events: set[str] = set()
    for chunk in chunked(sorted(row_ids)):
        params = {"rows": chunk}
        for tag, first, second, text, owner in session.execute(_STATEMENT, params):
            if tag == _KEY:
                found.keys.setdefault(first, set()).add(PatientKey(_KINDS[text], owner))
            elif tag == _EVENT:
                events.add(text)
            elif text in _UNRESOLVED and int(owner) == clinic_id:
                found.rows.update((first, second))
    for event_chunk in chunked(sorted(events)):
        params_copies = {"events": event_chunk, "clinic": clinic_id}
        found.rows.update(session.scalars(_COPIES, params_copies))
    return found


def _statement() -> Any:
    rows: BindParameter[Any] = bindparam("rows", expanding=True)
    keys = aliased(BookingIdentityKeyRow)
    booking = aliased(BookingRow)
    no_int, no_text = cast(null(), Integer), cast(null(), String)
    own_keys = select(
        literal(_KEY), col(keys.booking_id), no_int, col(keys.kind), col(keys.value)
    ).where(col(keys.booking_id).in_(rows))
    own_events = select(
        literal(_EVENT), col(booking.id), no_int, col(booking.provider_event_id), no_text
    ).where(col(booking.id).in_(rows))
    sides = [
        select(
            literal(_CONFLICT),
            col(ConflictRow.earlier_booking_id),
            col(ConflictRow.later_booking_id),
            col(ConflictRow.state),
            cast(col(ConflictRow.clinic_id), String),
        ).where(col(side).in_(rows))
        for side in (ConflictRow.earlier_booking_id, ConflictRow.later_booking_id)
    ]
    return union_all(own_keys, own_events, *sides)


def _copies() -> Any:
    """The clinic's live rows of some event ids, by ``(source_id, provider_event_id)``."""
    events: BindParameter[Any] = bindparam("events", expanding=True)
    clinic: BindParameter[int] = bindparam("clinic")
    sources = select(col(CalendarSourceRow.id)).where(col(CalendarSourceRow.clinic_id) == clinic)
    return select(col(BookingRow.id)).where(
        col(BookingRow.source_id).in_(sources),
        col(BookingRow.provider_event_id).in_(events),
        col(BookingRow.deleted_at).is_(None),
    )


_STATEMENT = _statement()
_COPIES = _copies()
