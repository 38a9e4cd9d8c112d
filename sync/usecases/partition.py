"""A full re-check of a clinic a part at a time, in independent parts (SPEC §4, §5).

A new process, a new day or a failed cycle re-checks the whole clinic. Holding every
booking of the clinic as objects at once is what made that cost hundreds of megabytes, so
:func:`partition_clinic` first streams the clinic's live bookings from the store a page at
a time, in row order, keeping only a few facts of each (its keys, how linking would count
it), and splits them into *parts*: sets of bookings that detection can assess on their
own and find what it would find over the whole clinic. :mod:`sync.usecases.cycle` then
detects, reconciles and flags one part after the other (:func:`sync.usecases.detect.load_part`).

While streaming, each booking is read once by the engine's own identity reading
(:func:`rules.patients.identify`): its identity keys are rewritten where they no longer
agree with the policy and staff domains (what lets the incremental path trust them), and
linking's own count of identified patients per name is made over the whole clinic — the
bookings in view, not cancelled, not declined, the copy detection keeps of each event,
joined by ids and e-mails like :func:`rules.patients.link` does. A name carried by two
such patients or more links nobody (SPEC §4): it is *ambiguous*, passed to every part.

The parts are the components of the bookings joined by a shared id or e-mail, a shared
name that is not ambiguous, copies of one event, and the two bookings of an unresolved
stored conflict (with the deleted bookings such conflicts name). Each part is thus closed
like a change's reach (:mod:`sync.usecases.affected`, whose docstring gives the argument):
every patient group lies whole in one part and is grouped there as over the clinic. Small
parts are gathered into batches of about ``batch_rows`` bookings, in order of their first
row, so what detection holds is bounded by a batch, not by the clinic.

The stream also keeps the copy it made of each row — the booking and its flag's
properties, about 1 KiB a row (:class:`~sync.store.conflicts.ReadCopy`), up to
``KEPT_ROWS`` of them — so a batch reads only the revisions of its rows and reads again
just those that changed since (:func:`sync.store.conflicts.copies_by_row`): reading a row
whole a second time cost a third of a full re-check. While the clinic's data version has
not moved since the stream began, no row can have changed, and not even the revisions are
read, nor the stored conflicts searched by row: the stream names each batch's
(:attr:`Partition.touching`). A kept copy carries the identity the stream read, which
detection takes as it is. A batch's copies are let go once it is detected. Rows past
``KEPT_ROWS`` (a clinic of a million bookings) are read again.

Given the policy, the stream recalls the titles read under the same policy and reader
code by an earlier re-check, in this process or another (:mod:`sync.store.title_readings`),
and keeps what it read for the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlmodel import Session

from rules.assess import Scope
from rules.model import Booking, MatchKind, PatientKey, Policy
from rules.patients import Identity, TitleNames, identify, patients_declined
from rules.titles import TitleReading
from sync.store.bookings import live_pages
from sync.store.conflicts import BookingCopy, ConflictState, ReadCopy, conflict_ends
from sync.store.data_version import clinic_data_version
from sync.store.events import booking_from_row
from sync.store.identity_keys import (
    KeyPair,
    key_pairs_by_row,
    keys_of,
    replace_keys,
    stored_key,
    stored_value,
)
from sync.store.title_readings import keep_readings, load_readings, reading_version, title_digest
from sync.usecases.pull import BookingReader

__all__ = ["BATCH_ROWS", "Partition", "partition_clinic"]

BATCH_ROWS = 5000
"""Bookings detected together at most (unless one part is larger)."""
KEPT_ROWS = 200_000
"""Copies the stream keeps for detection at most (about 200 MB)."""
_PAGE = 2000


@dataclass(frozen=True, slots=True)
class Partition:
    """A clinic's bookings in batches of independent parts, and the names that link nobody."""

    batches: list[list[int]]
    """Booking row ids, a batch of whole parts each."""
    ambiguous: frozenset[str]
    """Compared names several identified patients of the clinic carry."""
    titles: TitleNames
    """The clinic's titles as the stream read them, for detection to read each once: one
    reading per distinct title (a clinic's titles repeat), far less than its bookings."""
    refreshed: int = 0
    """Bookings whose stored identity keys were rewritten."""
    version: int | None = None
    """The clinic's data version (:mod:`sync.store.data_version`) before the stream read its
    rows: every insert, change or deletion of a booking moves it, so while it has not moved
    every copy the stream made is still the stored one."""
    touching: list[frozenset[int]] = field(default_factory=list)
    """For each batch (same index), the ids of the clinic's stored conflicts, in any state,
    with one of its rows: what the batch reconciles with, while :attr:`version` stands."""
    read: dict[int, ReadCopy] = field(default_factory=dict, repr=False, compare=False)
    """The copies the stream made, by row id, for the batches to take (:meth:`take`)."""

    def take(self, batch: list[int]) -> dict[int, ReadCopy]:
        """The copies the stream made of ``batch``'s rows, no longer kept here."""
        read = self.read
        return {row: read.pop(row) for row in batch if row in read}


def partition_clinic(
    session: Session,
    clinic_id: int,
    reader: BookingReader,
    scope: Scope,
    *,
    batch_rows: int = BATCH_ROWS,
    policy: Policy | None = None,
) -> Partition:
    """Stream the clinic's bookings, refresh their keys, and split them into parts.

    ``policy``: the policy ``reader``'s matcher was built from; given, the titles are read
    once per reading version, kept between processes (:mod:`sync.store.title_readings`).
    """
    facts = _Facts()
    kept = _KeptReadings(session, clinic_id, policy) if policy is not None else None
    titles = TitleNames(reader.matcher, kept.recall if kept else None)
    version = clinic_data_version(session, clinic_id).counter  # before any row is read
    for page in live_pages(session, clinic_id, _READ_COLUMNS, size=_PAGE):
        facts.add(session, clinic_id, page, reading=(reader, titles, scope))
    if kept is not None:
        kept.keep(titles)
    conflicts = conflict_ends(session, clinic_id)
    for _, earlier, later, state in conflicts:
        if state is not ConflictState.RESOLVED:
            facts.join_rows(earlier, later)
    ambiguous = facts.ambiguous()
    facts.join_names({stored_key(PatientKey(MatchKind.NAME, name)).value for name in ambiguous})
    batches = facts.batches(batch_rows)
    return Partition(
        batches,
        frozenset(ambiguous),
        titles,
        facts.refreshed,
        version,
        _touching(batches, conflicts),
        facts.read,
    )


class _KeptReadings:
    """The clinic's title readings kept under this policy's and reader's version: what the
    stream recalls instead of reading, and, once it has read every live title, keeps."""

    def __init__(self, session: Session, clinic_id: int, policy: Policy) -> None:
        self._session, self._clinic_id = session, clinic_id
        self._version = reading_version(policy)
        self._known = load_readings(session, clinic_id, self._version)
        self._digests: dict[str, str] = {}

    def recall(self, title: str) -> TitleReading | None:
        digest = self._digests[title] = title_digest(title)  # asked once a title
        return self._known.get(digest)

    def keep(self, titles: TitleNames) -> None:
        digests = self._digests
        keep_readings(
            self._session,
            self._clinic_id,
            self._version,
            fresh={digests[title]: reading for title, reading in titles.fresh.items()},
            kept=self._known.keys(),
            live=set(digests.values()),
        )
        self._known = {}


def _touching(
    batches: list[list[int]], conflicts: list[tuple[int, int, int, ConflictState]]
) -> list[frozenset[int]]:
    """The ids of the stored conflicts, in any state, with a row in each batch."""
    batch_of = {row: number for number, batch in enumerate(batches) for row in batch}
    touching: list[set[int]] = [set() for _ in batches]
    for conflict_id, earlier, later, _ in conflicts:
        for row in (earlier, later):
            number = batch_of.get(row)
            if number is not None:
                touching[number].add(conflict_id)
    return [frozenset(found) for found in touching]


_READ_COLUMNS = (
    "id",
    "source_id",
    "provider_event_id",
    "ical_uid",
    "calendar",
    "day",
    "summary",
    "description",
    "status",
    "attendees",
    "calendar_email",
    "organizer_email",
    "explicit_patient_id",
    "private_properties",
    "revision",
)
"""What the stream reads of a row: the columns :func:`booking_from_row`, the facts and a
flag's stored state need, not the provider extras and instants, which it would decode
for nothing."""


def _stored_pairs(identity: Identity) -> frozenset[KeyPair]:
    """``identity_keys(identity)`` as the store keeps them, as the pairs its rows hold: a
    clinic's keys compared without a :class:`PatientKey` made for each."""
    pairs = [(MatchKind.EMAIL.value, stored_value(email)) for email in identity.emails]
    if identity.patient_id:
        pairs.append((MatchKind.ID.value, stored_value(identity.patient_id)))
    if identity.name_key:
        pairs.append((MatchKind.NAME.value, stored_value(identity.name_key)))
    return frozenset(pairs)


class _Counted(NamedTuple):
    """How linking counts one booking copy: identified, in view, and the name it carries
    (a tuple: one is made for each row of the clinic)."""

    rank: tuple[str, int]
    strong: tuple[str, ...]
    """Its id and e-mails as linking joins them ("id:…", "email:…"), when it counts."""
    name: str | None


@dataclass
class _Facts:
    """What the stream keeps of each booking: union–find over rows, and linking's counts."""

    rows: list[int] = field(default_factory=list)
    index: dict[int, int] = field(default_factory=dict)
    parent: list[int] = field(default_factory=list)
    first_of_key: dict[str, int] = field(default_factory=dict)
    """The first row index carrying each id, e-mail or event id: later ones join it."""
    by_name: dict[str, list[int]] = field(default_factory=dict)
    """Row indices carrying each stored name key: joined once ambiguity is known."""
    kept: dict[str, _Counted] = field(default_factory=dict)
    """Per event id, the copy detection keeps, as linking counts it."""
    read: dict[int, ReadCopy] = field(default_factory=dict)
    """The copies made of the rows, up to ``KEPT_ROWS``."""
    refreshed: int = 0

    def add(
        self,
        session: Session,
        clinic_id: int,
        page: list[Any],
        *,
        reading: tuple[BookingReader, TitleNames, Scope],
    ) -> None:
        reader, titles, scope = reading
        options = reader.options
        stored = key_pairs_by_row(session, [row.id for row in page])
        stale: dict[int, frozenset[PatientKey]] = {}
        none: frozenset[KeyPair] = frozenset()
        # The loop runs once for every booking of the clinic: what it calls is bound once.
        read, by_name, new_row, join_key, count = (
            self.read,
            self.by_name,
            self._row,
            self._join_key,
            self._count,
        )
        for row in page:
            row_id = row.id
            booking = booking_from_row(row)
            identity = identify(booking, titles, options)
            pairs = _stored_pairs(identity)
            if pairs != stored.get(row_id, none):
                stale[row_id] = keys_of(pairs)
            at = new_row(row_id)
            join_key(f"event:{booking.id}", at)
            for kind, value in pairs:
                if kind == "name":
                    by_name.setdefault(value, []).append(at)
                else:
                    join_key(f"{kind}:{value}", at)
            source_id = int(row.source_id)
            count(booking, source_id, identity, scope)
            if len(read) < KEPT_ROWS:
                copy = BookingCopy(
                    row_id, source_id, booking, row.private_properties, identity=identity
                )
                read[row_id] = ReadCopy(row.revision, copy)
        replace_keys(session, clinic_id, stale)
        self.refreshed += len(stale)

    def _count(self, booking: Booking, source_id: int, identity: Identity, scope: Scope) -> None:
        rank = (booking.calendar, source_id)
        kept = self.kept.get(booking.id)
        if kept is not None and not rank < kept.rank:
            return  # another copy of the event is the one detection keeps
        counts = (
            scope.covers(booking.day)
            and not booking.cancelled
            and not patients_declined(booking, identity)
        )
        if not counts:
            self.kept[booking.id] = _Counted(rank, (), None)
            return
        strong = [f"id:{identity.patient_id}"] if identity.patient_id else []
        if identity.emails:
            strong += [f"email:{email}" for email in sorted(identity.emails)]
        self.kept[booking.id] = _Counted(rank, tuple(strong), identity.name_key)

    def ambiguous(self) -> set[str]:
        """Names two identified patients or more carry, counted as :func:`rules.patients.link`."""
        entries = [c for c in self.kept.values() if c.strong]  # all of them join patients
        patients = _Joined()
        for number, entry in enumerate(entries):
            for key in entry.strong:
                patients.join(key, number)
        roots: dict[str, set[int]] = {}
        for number, entry in enumerate(entries):
            if entry.name is not None:
                roots.setdefault(entry.name, set()).add(patients.root(number))
        return {name for name, found in roots.items() if len(found) > 1}

    def join_rows(self, first: int, second: int) -> None:
        self._union(self._row(first), self._row(second))

    def join_names(self, ambiguous: set[str]) -> None:
        for name, carriers in self.by_name.items():
            if name not in ambiguous:
                for at in carriers[1:]:
                    self._union(carriers[0], at)

    def batches(self, size: int) -> list[list[int]]:
        parts: dict[int, list[int]] = {}
        for at, row_id in enumerate(self.rows):
            parts.setdefault(self._find(at), []).append(row_id)
        batches: list[list[int]] = [[]]
        for part in parts.values():  # in order of each part's first row
            if batches[-1] and len(batches[-1]) + len(part) > size:
                batches.append([])
            batches[-1] += part
        return [batch for batch in batches if batch]

    def _row(self, row_id: int) -> int:
        at = self.index.get(row_id)
        if at is None:
            at = self.index[row_id] = len(self.rows)
            self.rows.append(row_id)
            self.parent.append(at)
        return at

    def _join_key(self, key: str, at: int) -> None:
        self._union(self.first_of_key.setdefault(key, at), at)

    def _find(self, at: int) -> int:
        parent = self.parent
        while parent[at] != at:
            parent[at] = parent[parent[at]]
            at = parent[at]
        return at

    def _union(self, first: int, second: int) -> None:
        a, b = self._find(first), self._find(second)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


class _Joined:
    """Identified patients as linking joins them: entries sharing an id or an e-mail."""

    def __init__(self) -> None:
        self._parent: dict[int, int] = {}
        self._first: dict[str, int] = {}

    def join(self, key: str, entry: int) -> None:
        self._parent.setdefault(entry, entry)
        first = self._first.setdefault(key, entry)
        a, b = self.root(first), self.root(entry)
        if a != b:
            self._parent[max(a, b)] = min(a, b)

    def root(self, entry: int) -> int:
        parent = self._parent
        while parent.setdefault(entry, entry) != entry:
            parent[entry] = parent[parent[entry]]
            entry = parent[entry]
        return entry
