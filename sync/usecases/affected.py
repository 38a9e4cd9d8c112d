"""Which stored bookings a change can reach, bounded by the change (SPEC §4, §5).

Detection after a pull re-assesses only the *reach* of the changed bookings, not the whole
clinic, found from the indexed identity keys (:mod:`sync.store.identity_keys`) with a few
set-based queries per step and without loading the clinic. It is grown in two phases.

1. **The changed components.** From the rows of the changed events (live or deleted, on
   every calendar of the clinic) and the keys the updated bookings gave up, add to a
   fixpoint every live booking carrying an id or an e-mail of a booking in the set (or
   one given up), every live copy of an event in the set (detection keeps one copy of
   each event and must see all of them to keep the same one), and both bookings of every
   unresolved stored conflict involving a booking in the set. Call the result *C0*: it
   is closed under shared ids and e-mails, so every booking outside it sits in an
   id/e-mail component the change did not touch, the same before and after it.
2. **The names.** :func:`rules.patients.link` joins a name-only booking to the one
   identified patient carrying its name, or to the other name-only bookings of that name
   when none does, and links nobody through a name two identified patients or more carry.
   For each compared name a booking of the set carries (or gave up): when two identified
   patients *outside C0* carry it — two live, in-view, not-cancelled bookings with an id
   or e-mail, each the copy detection keeps of its event, in different id/e-mail
   components — the name is ambiguous before and after the change, whatever the change
   did, and links nobody: it is passed to the engine as *ambiguous* and none of its
   other carriers is read. Otherwise every live carrier of the name is added, and
   phase 1's rules are applied to them in turn.

Why the reach gives the clinic's groups. Every name a booking of the reach carries is
either shown ambiguous (in the clinic, so in the reach too, by being passed in) or has
all its carriers in the reach, with their whole id/e-mail components; so for those names
the reach counts the same identified patients as the clinic, and links the same way. An
id/e-mail component is whole in the reach (phase 1 follows every id and e-mail). So a
patient group with a booking in the reach lies in the reach and is grouped as over the
clinic. Which bookings are left out (cancelled, declined, out of view) is decided booking
by booking, so it is the same in the reach as in the clinic.

Why the rest needs no look. A booking outside the reach lies in an untouched component;
every name it shares with the reach is ambiguous in the clinic (it was not linked through
it before the change and is not after), and every other name it carries is carried by no
booking of the reach, so by no changed booking before or after the change: its group,
and so its stored conflicts, are what the last detection found. The stored conflicts to
reconcile are therefore those involving a booking of the reach, and those detected now —
found by public id, since the stored row may name another copy of the same event.

"Today" also moves what is in view (SPEC §5's horizon); :mod:`sync.usecases.cycle`
re-checks the whole clinic when the date changes, and after anything went wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session

from rules.assess import Scope, read_bookings
from rules.model import MatchKind, PatientKey
from sync.store.conflicts import BookingCopy, copies_by_row, live_copies, rows_of_events
from sync.store.identity_keys import keys_by_row, name_carriers, rows_with_keys, stored_key
from sync.store.reach import neighbours
from sync.usecases.pull import BookingReader

__all__ = ["Changes", "Reach", "choose_copies", "reach"]

_PAGE = 16
"""Carriers of a name read at a time while looking for two identified patients."""


@dataclass(frozen=True, slots=True)
class Changes:
    """What a pull changed in a clinic: what detection starts from."""

    booking_ids: tuple[str, ...]
    """Provider event ids of the bookings inserted, updated or deleted."""
    retired_keys: tuple[PatientKey, ...] = ()
    """Identity keys the updated bookings no longer carry."""


@dataclass(frozen=True, slots=True)
class Reach:
    """The booking rows a re-assessment of a change reads, and the names it links nobody by."""

    rows: frozenset[int]
    ambiguous: frozenset[str] = frozenset()
    """Compared names identified patients outside ``rows`` show to be shared."""


def reach(
    session: Session, clinic_id: int, changes: Changes, reader: BookingReader, scope: Scope
) -> Reach:
    """The rows and names a re-assessment of ``changes`` needs (see the module docstring)."""
    walk = _Walk(session, clinic_id)
    walk.grow(rows_of_events(session, clinic_id, changes.booking_ids), changes.retired_keys)
    untouched = _Witnesses(session, clinic_id, frozenset(walk.rows), reader, scope)
    ambiguous: set[str] = set()
    decided: set[str] = set()
    while pending := walk.names - decided:
        decided |= pending
        shared = {name for name in sorted(pending) if untouched.shared(name)}
        ambiguous |= shared
        followed = [PatientKey(MatchKind.NAME, name) for name in pending - shared]
        walk.grow(rows_with_keys(session, clinic_id, followed), ())
    return Reach(frozenset(walk.rows), frozenset(ambiguous))


def choose_copies(copies: Iterable[BookingCopy]) -> dict[str, BookingCopy]:
    """The copy detection keeps of each event among live ``copies``: by calendar, then source."""
    chosen: dict[str, BookingCopy] = {}
    for copy in copies:
        kept = chosen.get(copy.booking.id)
        if kept is None or _rank(copy) < _rank(kept):
            chosen[copy.booking.id] = copy
    return chosen


def _rank(copy: BookingCopy) -> tuple[str, int]:
    return (copy.booking.calendar, copy.source_id)


@dataclass
class _Walk:
    """Phase 1: rows closed under shared ids and e-mails, live copies and stored conflicts."""

    session: Session
    clinic_id: int
    rows: set[int] = field(default_factory=set)
    keys: set[PatientKey] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    """Compared names (as stored) of the rows, and given up."""

    def grow(self, rows: Collection[int], keys: Iterable[PatientKey]) -> None:
        """Add ``rows`` and the rows carrying ``keys``, then close the set (two statements a
        step: :func:`sync.store.reach.neighbours`, then the rows sharing its new ids and
        e-mails)."""
        new_keys = set(keys) - self.keys
        self._add_keys(new_keys)
        strong = {key for key in new_keys if key.kind is not MatchKind.NAME}
        new_rows = (set(rows) | rows_with_keys(self.session, self.clinic_id, strong)) - self.rows
        while new_rows:
            self.rows |= new_rows
            step = neighbours(self.session, self.clinic_id, new_rows)
            found = set().union(*step.keys.values()) - self.keys
            self._add_keys(found)
            strong = {key for key in found if key.kind is not MatchKind.NAME}
            reached = step.rows | rows_with_keys(self.session, self.clinic_id, strong)
            new_rows = reached - self.rows

    def _add_keys(self, keys: Iterable[PatientKey]) -> None:
        for key in keys:
            self.keys.add(key)
            if key.kind is MatchKind.NAME:
                self.names.add(key.value)


class _Witnesses:
    """Tells whether two identified patients outside the changed components carry a name."""

    def __init__(
        self,
        session: Session,
        clinic_id: int,
        changed: frozenset[int],
        reader: BookingReader,
        scope: Scope,
    ) -> None:
        self.session = session
        self.clinic_id = clinic_id
        self.changed = changed
        self.reader = reader
        self.scope = scope
        self.days = (
            scope.today - timedelta(days=scope.days_back),
            scope.today + timedelta(days=scope.days_ahead),
        )

    def shared(self, name: str) -> bool:
        """Whether ``name`` (as stored) is carried by two identified patients left untouched."""
        if name.startswith("sha256:"):
            return False  # a digest: the engine compares the text, which is not at hand
        first: set[int] | None = None
        after = 0
        while page := name_carriers(
            self.session, self.clinic_id, name, days=self.days, after=after, limit=_PAGE
        ):
            after = page[-1]
            for row in self._roots(name, [row for row in page if row not in self.changed]):
                if first is None:
                    first = self._component(row)
                elif row not in first:
                    return True
        return False

    def _roots(self, name: str, rows: list[int]) -> list[int]:
        """The ``rows`` linking would count as identified patients carrying ``name``."""
        if not rows:
            return []
        copies = copies_by_row(
            self.session, set(rows) | live_copies(self.session, self.clinic_id, rows)
        )
        chosen = choose_copies(copy for copy in copies.values() if not copy.deleted)
        kept = [copy for copy in chosen.values() if copy.row_id in rows]
        read, _ = read_bookings(
            (copy.booking for copy in kept),
            self.reader.matcher,
            self.scope,
            self.reader.options,
        )
        row_of = {copy.booking.id: copy.row_id for copy in kept}
        return sorted(
            row_of[item.booking.id]
            for item in read
            if item.identity.strong and _stored_name(item.identity.name_key) == name
        )

    def _component(self, row: int) -> set[int]:
        """The live rows joined to ``row`` by shared ids and e-mails (at least its patient's)."""
        rows, keys, new_rows = set[int](), set[PatientKey](), {row}
        while new_rows:
            rows |= new_rows
            found = set().union(*keys_by_row(self.session, new_rows).values())
            strong = {key for key in found if key.kind is not MatchKind.NAME} - keys
            keys |= strong
            new_rows = rows_with_keys(self.session, self.clinic_id, strong) - rows
        return rows


def _stored_name(name: str | None) -> str | None:
    return None if name is None else stored_key(PatientKey(MatchKind.NAME, name)).value
