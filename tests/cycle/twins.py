"""Two clinics in one store fed the same edits: one detected incrementally, one in full.

:class:`Twins` writes each edit the way a pull does (the reader, then the store's upsert or
soft delete) into both clinics, collecting for the incremental one what a pull would
report (changed event ids, keys given up). :meth:`Twins.detect` then detects and
reconciles both: one over the reach of those changes
(:func:`sync.usecases.detect.load_detection`), one re-checked in full a few bookings at a
time, as a cycle does (:func:`sync.usecases.partition.partition_clinic`,
:func:`sync.usecases.detect.load_part`) — and :meth:`Twins.conflicts` reads what each
stored, comparable across the two clinics (booking ids, not row ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import Engine

from rules.assess import Scope
from rules.model import Booking, PatientKey, Policy
from rules.vocabulary import Matcher
from sync.policy_file import load_policy
from sync.store.bookings import mark_bookings_deleted, upsert_bookings
from sync.store.clinics import get_or_create_clinic
from sync.store.conflicts import copies_by_row, list_conflicts
from sync.store.data_version import bump_data_version
from sync.store.database import session_scope
from sync.store.events import StoredEvent
from sync.store.sources import Provider, add_source
from sync.usecases.affected import Changes
from sync.usecases.detect import load_detection, load_part, reconcile
from sync.usecases.partition import partition_clinic
from sync.usecases.pull import BookingReader

TODAY = date(2030, 1, 1)
NOW = datetime.combine(TODAY, time(12), tzinfo=UTC)
CALENDARS = ("smith", "room", "laser")

Row = tuple[str, str, str, str, str | None, str, str, str, int]
"""public id, earlier and later (calendar/id), state, reason, patient, match, rule, gap."""


@dataclass
class _Clinic:
    id: int
    sources: dict[str, int]
    pending: set[str] = field(default_factory=set)
    retired: set[PatientKey] = field(default_factory=set)
    assessed: int = 0


class Twins:
    """The same clinic twice: ``incremental`` and ``full`` detection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.policy = load_policy()
        self.reader = BookingReader(Matcher(self.policy))
        self.scope = Scope(today=TODAY)
        self.incremental = self._clinic("incremental")
        self.full = self._clinic("full")

    def _clinic(self, slug: str) -> _Clinic:
        with session_scope(self.engine) as session:
            clinic_id = get_or_create_clinic(session, slug).id
            sources = {
                name: add_source(
                    session, clinic_id, Provider.GOOGLE, name, display_name=name, time_zone="UTC"
                ).id
                for name in CALENDARS
            }
        return _Clinic(clinic_id, sources)

    def put(self, booking: Booking) -> None:
        """Insert or change ``booking`` on its calendar, as a pull stores it."""
        start = datetime.combine(booking.day, time(10), tzinfo=UTC)
        [event] = self.reader.read([StoredEvent(booking, start, start)])
        for clinic in (self.incremental, self.full):
            with session_scope(self.engine) as session:
                done = upsert_bookings(session, clinic.sources[booking.calendar], [event], now=NOW)
                bump_data_version(session, clinic.id, NOW)
            clinic.pending.update(done.inserted + done.updated)
            clinic.retired.update(done.retired_keys)

    def delete(self, calendar: str, booking_id: str) -> None:
        """Remove the event ``booking_id`` from ``calendar``, as a pull does."""
        for clinic in (self.incremental, self.full):
            with session_scope(self.engine) as session:
                mark_bookings_deleted(session, clinic.sources[calendar], [booking_id], now=NOW)
                bump_data_version(session, clinic.id, NOW)
            clinic.pending.add(booking_id)

    def detect(self, *, full_first: bool = False) -> None:
        """Detect over both clinics: the incremental one from its pending changes only."""
        changes = Changes(
            tuple(sorted(self.incremental.pending)),
            tuple(sorted(self.incremental.retired, key=str)),
        )
        self._run(self.incremental, None if full_first else changes)
        self._run(self.full, None)
        for clinic in (self.incremental, self.full):
            clinic.pending.clear()
            clinic.retired.clear()

    def _run(self, clinic: _Clinic, changes: Changes | None) -> None:
        """The incremental twin from ``changes``; a full check a part at a time, as a cycle
        does (:mod:`sync.usecases.partition`), in parts of a few bookings so many are made."""
        with session_scope(self.engine) as session:
            if changes is not None:
                found = [load_detection(session, clinic.id, *self._rules, changes=changes)]
            else:
                parts = partition_clinic(
                    session, clinic.id, self.reader, self.scope, batch_rows=3, policy=self.policy
                )
                found = (
                    load_part(
                        session,
                        clinic.id,
                        *self._rules,
                        rows=rows,
                        ambiguous=parts.ambiguous,
                        titles=parts.titles,
                        read=parts.take(rows),
                        read_version=parts.version,
                        touching=touching,
                    )
                    for rows, touching in zip(parts.batches, parts.touching, strict=True)
                )
            clinic.assessed = 0
            for detection, stored in found:
                clinic.assessed += len(detection.chosen)
                reconcile(
                    session,
                    clinic.id,
                    detection,
                    stored,
                    policy=self.policy,
                    reader=self.reader,
                    now=NOW,
                )

    @property
    def _rules(self) -> tuple[Policy, BookingReader, Scope]:
        return self.policy, self.reader, self.scope

    def conflicts(self, clinic: _Clinic) -> set[Row]:
        """The clinic's stored conflicts, named by booking ids."""
        with session_scope(self.engine) as session:
            stored = list_conflicts(session, clinic.id)
            rows = {c.facts.earlier_row_id for c in stored} | {c.facts.later_row_id for c in stored}
            copies = copies_by_row(session, rows)
        return {
            (
                c.facts.public_id,
                _where(copies[c.facts.earlier_row_id].event.booking),
                _where(copies[c.facts.later_row_id].event.booking),
                c.state.value,
                c.resolution_reason,
                f"{c.facts.patient_kind}:{c.facts.patient_value}",
                c.facts.match_kind,
                c.facts.rule_name,
                c.facts.gap_days,
            )
            for c in stored
        }

    def assert_same(self) -> set[Row]:
        """Both clinics hold the same conflicts in the same states; returns them."""
        incremental, full = self.conflicts(self.incremental), self.conflicts(self.full)
        assert incremental == full
        return full

    def open(self) -> set[tuple[str, str]]:
        """(earlier, later) booking ids of the conflicts not resolved, from the full twin."""
        return {
            (row[1].partition("/")[2], row[2].partition("/")[2])
            for row in self.conflicts(self.full)
            if row[3] != "resolved"
        }


def _where(booking: Booking) -> str:
    return f"{booking.calendar}/{booking.id}"
