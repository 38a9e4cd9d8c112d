"""The pull use case: bring a clinic's stored bookings up to date with its calendars (SPEC §9).

For each enabled Google calendar of a clinic: pull what changed since the stored cursor
(:class:`~sync.calendar_source.CalendarSource`), read each event with the rules engine
(treatment categories, patient identity: SPEC §3, §4), upsert the bookings, mark the
removed ones deleted, then store the new cursor and the poll's outcome in one unit of
work — so a process killed half-way leaves the old cursor and the next pass converges.
A calendar that fails (a 500 storm outlasting the retries, a revoked grant) has its
error recorded and the pass goes on with the others; the next pass retries it.

Each calendar's result names the bookings that changed: the seam where conflict
detection and flags (SPEC §5, §6) plug in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from rules.model import Booking, MatchKind, PatientKey
from rules.patients import Identity, IdentityOptions, TitleNames, identify
from rules.vocabulary import Matcher
from sync.calendar_source import CalendarSource, ChangeSet, SkippedEvent
from sync.errors import ClinicSyncError
from sync.google.errors import GoogleProviderError
from sync.leases import check_lease
from sync.store.bookings import list_bookings, mark_bookings_deleted, upsert_bookings
from sync.store.clinics import get_clinic
from sync.store.database import session_scope
from sync.store.events import StoredEvent
from sync.store.sources import CalendarSource as ConnectedCalendar
from sync.store.sources import (
    list_sources,
    record_poll_failure,
    record_poll_success,
)

__all__ = [
    "BookingReader",
    "CalendarPull",
    "LiveBookings",
    "PullReport",
    "identity_keys",
    "pull_calendar",
    "pull_clinic",
]

_log = logging.getLogger(__name__)
_UPSERT_CHUNK = 500


@dataclass(frozen=True, slots=True)
class BookingReader:
    """Reads what the rules engine needs out of an event: its categories and its patient."""

    matcher: Matcher
    options: IdentityOptions = field(default_factory=IdentityOptions)

    def read(self, events: Iterable[StoredEvent]) -> list[StoredEvent]:
        """Each event with its categories, patient key, identity keys and how it was matched."""
        titles = TitleNames(self.matcher)  # one per batch: titles repeat, memory stays bounded
        return [self._read(event, titles) for event in events]

    def keys(self, bookings: Iterable[Booking]) -> list[tuple[PatientKey, ...]]:
        """The identity keys of each booking, as :meth:`read` stores them."""
        titles = TitleNames(self.matcher)
        return [identity_keys(identify(booking, titles, self.options)) for booking in bookings]

    def _read(self, event: StoredEvent, titles: TitleNames) -> StoredEvent:
        booking = event.booking
        identity = identify(booking, titles, self.options)
        categories = self.matcher.categories(booking.summary, booking.description)
        return replace(
            event,
            categories=tuple(sorted(categories)),
            patient=patient_key(identity),
            match=identity.kind,
            identity_keys=identity_keys(identity),
        )


def patient_key(identity: Identity) -> PatientKey | None:
    """The strongest key an identity offers (SPEC §4): id, else an e-mail, else the name."""
    if identity.patient_id:
        return PatientKey(MatchKind.ID, identity.patient_id)
    if identity.emails:
        return PatientKey(MatchKind.EMAIL, min(identity.emails))
    name = identity.name_key
    return PatientKey(MatchKind.NAME, name) if name else None


def identity_keys(identity: Identity) -> tuple[PatientKey, ...]:
    """Every key an identity offers: its id, each e-mail and its name, as linking compares them.

    Two bookings that :func:`rules.patients.link_patients` puts together always share one
    of these, directly or through other bookings: what lets detection find a patient's
    bookings from one of them (:mod:`sync.affected`).
    """
    keys = [PatientKey(MatchKind.ID, identity.patient_id)] if identity.patient_id else []
    keys += [PatientKey(MatchKind.EMAIL, email) for email in sorted(identity.emails)]
    keys += [PatientKey(MatchKind.NAME, identity.name_key)] if identity.name_key else []
    return tuple(keys)


class LiveBookings:
    """The live stored bookings of a clinic by calendar id, read once when first needed.

    The store has no per-source listing yet; a Google booking carries its calendar id as
    ``calendar_email`` (see :mod:`sync.google.mapping`), which singles out a source's
    bookings. Within one pass each calendar is pulled once, so its entry stays true until
    its own pull, the only writer of its bookings.
    """

    def __init__(self) -> None:
        self._by_calendar: dict[str, dict[str, date]] | None = None

    def of(self, session: Session, source: ConnectedCalendar) -> dict[str, date]:
        """Booking id → day of the live bookings of ``source``."""
        if self._by_calendar is None:
            self._by_calendar = {}
            for booking in list_bookings(session, source.clinic_id):
                self._by_calendar.setdefault(booking.calendar_email, {})[booking.id] = booking.day
        return self._by_calendar.get(source.external_id, {})


@dataclass(frozen=True, slots=True)
class CalendarPull:
    """What one poll of one calendar did."""

    source_id: int
    calendar_id: str
    name: str
    full: bool = False
    seen: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    requests: int = 0
    skipped: tuple[SkippedEvent, ...] = ()
    changed: tuple[str, ...] = ()
    """Ids of the bookings inserted, updated or deleted: what detection must look at."""
    retired_keys: tuple[PatientKey, ...] = ()
    """Identity keys updated bookings no longer carry: detection must reach the patients they
    left, whose other bookings may no longer be linked without them."""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class PullReport:
    """One pass over a clinic's calendars."""

    clinic: str
    calendars: tuple[CalendarPull, ...]

    @property
    def all_failed(self) -> bool:
        """True when there were calendars and none of them could be pulled."""
        return bool(self.calendars) and not any(pull.ok for pull in self.calendars)


def pull_clinic(
    engine: Engine,
    remote: CalendarSource,
    reader: BookingReader,
    clinic: str,
    *,
    poll_interval: timedelta = timedelta(seconds=60),
    now: datetime | None = None,
) -> PullReport:
    """Pull every enabled calendar of ``clinic`` once, one after the other, on any provider."""
    with session_scope(engine) as session:
        clinic_id = get_clinic(session, clinic).id
        sources = list_sources(session, clinic_id, enabled_only=True)
    live = LiveBookings()
    pulls = tuple(
        pull_calendar(
            engine, remote, reader, source, poll_interval=poll_interval, now=now, live=live
        )
        for source in sources
    )
    return PullReport(clinic, pulls)


def pull_calendar(
    engine: Engine,
    remote: CalendarSource,
    reader: BookingReader,
    source: ConnectedCalendar,
    *,
    poll_interval: timedelta = timedelta(seconds=60),
    now: datetime | None = None,
    live: LiveBookings | None = None,
) -> CalendarPull:
    """Pull one calendar and store the outcome; a provider failure is recorded, not raised.

    ``live`` shares one read of the clinic's stored bookings between the calendars of a pass.
    """
    at = now or datetime.now(UTC)
    try:
        changes = remote.pull(source.external_id, source.sync_token)
    except ClinicSyncError as err:
        return _record_failure(engine, source, err, at, poll_interval)
    with session_scope(engine) as session:
        check_lease(session, "committing a pull")
        pull = _apply(session, source, changes, reader, at=at, live=live or LiveBookings())
        record_poll_success(
            session, source.id, now=at, next_poll_at=at + poll_interval, sync_token=changes.cursor
        )
    for skipped in changes.skipped:
        _log.warning(
            "%s: skipped event %s: %s", source.external_id, skipped.event_id, skipped.reason
        )
    return pull


def _record_failure(
    engine: Engine,
    source: ConnectedCalendar,
    err: ClinicSyncError,
    at: datetime,
    interval: timedelta,
) -> CalendarPull:
    _log.warning("%s: pull failed: %s", source.external_id, err)
    wait = interval
    if isinstance(err, GoogleProviderError) and err.retry_after is not None:
        wait = max(interval, timedelta(seconds=err.retry_after))
    with session_scope(engine) as session:
        record_poll_failure(session, source.id, str(err), now=at, next_poll_at=at + wait)
    return CalendarPull(source.id, source.external_id, source.display_name, error=str(err))


def _apply(
    session: Session,
    source: ConnectedCalendar,
    changes: ChangeSet,
    reader: BookingReader,
    *,
    at: datetime,
    live: LiveBookings,
) -> CalendarPull:
    inserted: list[str] = []
    updated: list[str] = []
    retired: set[PatientKey] = set()
    for chunk in _chunks(reader.read(changes.events), _UPSERT_CHUNK):
        result = upsert_bookings(session, source.id, chunk, now=at)
        inserted += result.inserted
        updated += result.updated
        retired.update(result.retired_keys)
    gone = _gone(session, source, changes, live)
    if gone:
        mark_bookings_deleted(session, source.id, gone, now=at)
    return CalendarPull(
        source_id=source.id,
        calendar_id=source.external_id,
        name=source.display_name,
        full=changes.full,
        seen=len(changes.events) + len(changes.removed),
        inserted=len(inserted),
        updated=len(updated),
        deleted=len(gone),
        requests=changes.requests,
        skipped=changes.skipped,
        changed=(*inserted, *updated, *sorted(gone)),
        retired_keys=tuple(sorted(retired, key=str)),
    )


def _gone(
    session: Session, source: ConnectedCalendar, changes: ChangeSet, live: LiveBookings
) -> set[str]:
    """Live stored bookings the provider no longer has.

    Those reported removed, the instances of a removed recurring series (Google reports the
    series, whose instance ids are ``{series id}_{original start}``), and, after a full
    listing, the bookings of the listed days that the listing did not contain.
    """
    if source.last_sync_at is None or not (changes.removed or changes.full):
        return set()  # bookings are only ever stored by a successful poll, with last_sync_at
    stored = live.of(session, source)
    removed = set(changes.removed)
    gone = {key for key in stored if key in removed or key.partition("_")[0] in removed}
    if changes.full and changes.window is not None:
        first, last = changes.window
        seen = {event.booking.id for event in changes.events}
        gone |= {key for key, day in stored.items() if first <= day <= last and key not in seen}
    return gone


def _chunks(items: Sequence[StoredEvent], size: int) -> Iterator[Sequence[StoredEvent]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
