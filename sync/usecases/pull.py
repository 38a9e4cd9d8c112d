"""The pull use case: bring a clinic's stored bookings up to date with its calendars (SPEC §9).

For each enabled calendar of a clinic, on any provider: pull what changed since the stored
cursor (:class:`~sync.sources.port.CalendarSource`), pass the events through the ingest
boundary (:mod:`sync.ingest`: text cleaned and bounded, read by the rules engine for
treatment categories and patient identity, SPEC §3, §4), upsert the bookings, quarantine
what cannot be read or stored, mark the removed ones deleted, then store the new cursor
and the poll's outcome in one unit of work — so a process killed half-way leaves the old
cursor and the next pass converges. A calendar that fails (a 500 storm outlasting the
retries, a revoked grant, a store error, a fault in an adapter) has its error recorded
and the pass goes on with the others; the next pass retries it.

Once per ``reconcile_every`` (a day by default) the calendar is listed in full rather than
incrementally and compared with the store: what that inserted, updated or deleted is what
push and incremental sync missed, counted and audited (normally nothing).

Each calendar's result names the bookings that changed: the seam where conflict
detection and flags (SPEC §5, §6) plug in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from rules.model import Booking, MatchKind, PatientKey
from rules.patients import Identity, IdentityOptions, TitleNames, identify
from rules.vocabulary import Matcher
from sync.errors import ClinicSyncError, ProviderError
from sync.ingest.admission import admit_events, settle_quarantine, store_events
from sync.sources.google.errors import GoogleProviderError
from sync.sources.port import CalendarSource, ChangeSet, SkippedEvent
from sync.store.audit import record_audit_event
from sync.store.bookings import (
    LiveBooking,
    live_of_source,
    live_removed,
    mark_bookings_deleted,
)
from sync.store.clinics import get_clinic
from sync.store.data_version import bump_data_version
from sync.store.database import session_scope
from sync.store.errors import StoreError
from sync.store.events import StoredEvent
from sync.store.sources import CalendarSource as ConnectedCalendar
from sync.store.sources import (
    list_sources,
    record_poll_failure,
    record_poll_success,
    record_reconciliation,
)
from sync.usecases.collector import fewer_collections
from sync.worker.leases import check_lease

__all__ = [
    "MANY_EVENTS",
    "RECONCILE_EVERY",
    "BookingReader",
    "CalendarPull",
    "LiveBookings",
    "PullReport",
    "identity_keys",
    "pull_calendar",
    "pull_clinic",
]

_log = logging.getLogger(__name__)
ACTOR = "service"
RECONCILE_EVERY = timedelta(days=1)
"""How often a calendar is listed in full by default (``CLINIC_SYNC_RECONCILE_INTERVAL``)."""
MANY_EVENTS = 1_000
"""A pull bringing at least this many events is stored with fewer young collections
(:func:`~sync.usecases.collector.fewer_collections`)."""


@dataclass(frozen=True, slots=True)
class BookingReader:
    """Reads what the rules engine needs out of an event: its categories and its patient."""

    matcher: Matcher
    options: IdentityOptions = field(default_factory=IdentityOptions)
    titles: TitleNames | None = field(default=None, compare=False, repr=False)
    """The titles read so far, shared by every batch this reader reads (see
    :meth:`for_pass`); ``None``: each batch remembers its own."""

    def for_pass(self) -> BookingReader:
        """This reader remembering the titles it reads until it is dropped: one clinic pass
        over its calendars, whose bookings share titles (a patient's treatments on several
        practitioners' calendars) — never a worker's lifetime, so memory stays bounded."""
        return replace(self, titles=TitleNames(self.matcher))

    def read(self, events: Iterable[StoredEvent]) -> list[StoredEvent]:
        """Each event with its categories, patient key, identity keys and how it was matched."""
        # One per batch unless shared: titles repeat, memory stays bounded.
        titles = self.titles or TitleNames(self.matcher)
        return [self._read(event, titles) for event in events]

    def keys(self, bookings: Iterable[Booking]) -> list[tuple[PatientKey, ...]]:
        """The identity keys of each booking, as :meth:`read` stores them."""
        titles = TitleNames(self.matcher)
        return [identity_keys(identify(booking, titles, self.options)) for booking in bookings]

    def _read(self, event: StoredEvent, titles: TitleNames) -> StoredEvent:
        booking = event.booking
        identity = identify(booking, titles, self.options)
        categories = titles.categories(booking)
        return event.read_as(
            tuple(sorted(categories)), patient_key(identity), identity.kind, identity_keys(identity)
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
    bookings from one of them (:mod:`sync.usecases.affected`).
    """
    keys = [PatientKey(MatchKind.ID, identity.patient_id)] if identity.patient_id else []
    keys += [PatientKey(MatchKind.EMAIL, email) for email in sorted(identity.emails)]
    keys += [PatientKey(MatchKind.NAME, identity.name_key)] if identity.name_key else []
    return tuple(keys)


class LiveBookings:
    """The live stored bookings of each calendar source, read when first needed.

    Only the calendar being pulled is read, by its own index: a 410 or a reconciliation of
    one calendar costs that calendar's bookings, not the clinic's. Within one pass each
    calendar is pulled once, so its entry stays true until its own pull, the only writer of
    its bookings.
    """

    def __init__(self) -> None:
        self._by_source: dict[int, dict[str, LiveBooking]] = {}

    def of(self, session: Session, source: ConnectedCalendar) -> dict[str, LiveBooking]:
        """Booking id → day and series of the live bookings of ``source``."""
        found = self._by_source.get(source.id)
        if found is None:
            found = self._by_source[source.id] = live_of_source(session, source.id)
        return found


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
    """Events that could not be read or stored: each one is quarantined."""
    ignored: tuple[SkippedEvent, ...] = ()
    """Events that are not bookings (out-of-office, birthdays...), with why."""
    changed: tuple[str, ...] = ()
    """Ids of the bookings inserted, updated or deleted: what detection must look at."""
    retired_keys: tuple[PatientKey, ...] = ()
    """Identity keys updated bookings no longer carry: detection must reach the patients they
    left, whose other bookings may no longer be linked without them."""
    quarantined: int = 0
    """Events newly put in quarantine by this poll."""
    in_quarantine: int | None = 0
    """Events of the calendar in quarantine after this poll; ``None`` when the poll brought
    nothing, so the quarantine was left as it was and not counted."""
    cut: int = 0
    """Bookings stored with a field cut to fit the store."""
    reconciled: bool = False
    """Whether this poll was the periodic full reconciliation."""
    corrections: int = 0
    """What a reconciliation corrected: bookings inserted, updated or deleted."""
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
    reconcile_every: timedelta | None = RECONCILE_EVERY,
    now: datetime | None = None,
) -> PullReport:
    """Pull every enabled calendar of ``clinic`` once, one after the other, on any provider.

    A calendar that brought changes is stored in its own unit of work, as
    :func:`pull_calendar` does; the calendars that brought none (an idle poll) only move
    their cursors, all in one unit of work at the end of the pass.
    """
    with session_scope(engine) as session:
        clinic_id = get_clinic(session, clinic).id
        sources = list_sources(session, clinic_id, enabled_only=True)
    live, reader = LiveBookings(), reader.for_pass()
    pulls: dict[int, CalendarPull] = {}
    quiet: list[_Fetched] = []
    for source in sources:
        fetched = _fetch(
            engine,
            remote,
            source,
            now=now,
            poll_interval=poll_interval,
            reconcile_every=reconcile_every,
        )
        if isinstance(fetched, CalendarPull):
            pulls[source.id] = fetched
        elif fetched.quiet:
            quiet.append(fetched)
        else:
            pulls[source.id] = _store(engine, reader, fetched, live)
    pulls.update(_store_quiet(engine, quiet))
    return PullReport(clinic, tuple(pulls[source.id] for source in sources))


def pull_calendar(
    engine: Engine,
    remote: CalendarSource,
    reader: BookingReader,
    source: ConnectedCalendar,
    *,
    poll_interval: timedelta = timedelta(seconds=60),
    reconcile_every: timedelta | None = RECONCILE_EVERY,
    now: datetime | None = None,
    live: LiveBookings | None = None,
) -> CalendarPull:
    """Pull one calendar and store the outcome; a provider or store failure is recorded.

    Every ``reconcile_every`` (``None``: never) the calendar is listed in full instead of
    incrementally, and what that corrected is counted. ``live`` shares one read of the
    clinic's stored bookings between the calendars of a pass.
    """
    fetched = _fetch(
        engine,
        remote,
        source,
        now=now,
        poll_interval=poll_interval,
        reconcile_every=reconcile_every,
    )
    if isinstance(fetched, CalendarPull):
        return fetched
    if fetched.quiet:
        return _store_quiet(engine, [fetched])[source.id]
    return _store(engine, reader, fetched, live or LiveBookings())


@dataclass(frozen=True, slots=True)
class _Fetched:
    """What a calendar's provider answered, waiting to be stored."""

    source: ConnectedCalendar
    changes: ChangeSet
    at: datetime
    reconciling: bool
    poll_interval: timedelta

    @property
    def quiet(self) -> bool:
        """Nothing to store but the cursor: no event, removal or skip, not a full listing
        (so nothing to quarantine, release or mark deleted)."""
        changes = self.changes
        return not (changes.full or changes.events or changes.removed or changes.skipped)

    def record_success(self, session: Session) -> None:
        at = self.at
        record_poll_success(
            session,
            self.source.id,
            now=at,
            next_poll_at=at + self.poll_interval,
            sync_token=self.changes.cursor,
            full=self.changes.full,
        )


def _fetch(
    engine: Engine,
    remote: CalendarSource,
    source: ConnectedCalendar,
    *,
    now: datetime | None,
    poll_interval: timedelta,
    reconcile_every: timedelta | None,
) -> _Fetched | CalendarPull:
    """Ask the provider what changed; a failure is recorded and returned as the pull."""
    at = now or datetime.now(UTC)
    reconciling = _reconcile_due(source, at, reconcile_every)
    try:
        changes = remote.pull(source.external_id, None if reconciling else source.sync_token)
    except ClinicSyncError as err:
        return _record_failure(engine, source, err, at, poll_interval)
    except Exception as err:  # a provider adapter's bug must cost this calendar only
        _log.exception("%s: pull failed unexpectedly", source.external_id)
        failure = ProviderError(f"unexpected error reading the calendar: {type(err).__name__}")
        return _record_failure(engine, source, failure, at, poll_interval)
    return _Fetched(source, changes, at, reconciling, poll_interval)


def _store(
    engine: Engine, reader: BookingReader, fetched: _Fetched, live: LiveBookings
) -> CalendarPull:
    """Store one calendar's changes and its new cursor in one unit of work."""
    source, changes, at = fetched.source, fetched.changes, fetched.at
    try:
        with _collector_for(changes), session_scope(engine) as session:
            check_lease(session, "committing a pull")
            pull = _apply(session, source, changes, reader, at=at, live=live)
            if fetched.reconciling:
                pull = _reconciled(session, source, pull, at)
            fetched.record_success(session)
    except StoreError as err:
        return _record_failure(engine, source, err, at, fetched.poll_interval)
    _log_skips(source, pull)
    return pull


def _collector_for(changes: ChangeSet) -> AbstractContextManager[None]:
    """Fewer young collections while a pull of many events is stored (a first sync or a
    re-list of a large calendar, a run of pages). Anything smaller keeps the interpreter's
    default: the raise is the process's, and held for every small first sync of a fleet's
    clinics it cost a worker serving 50 clinics a fifth more peak memory (308 → 374 MB)."""
    if len(changes.events) >= MANY_EVENTS:
        return fewer_collections()
    return nullcontext()


def _store_quiet(engine: Engine, quiet: list[_Fetched]) -> dict[int, CalendarPull]:
    """Move the cursors of calendars that brought nothing, in one unit of work.

    Their quarantine is left as it was, so it is not counted (``in_quarantine`` is ``None``).
    """
    if not quiet:
        return {}
    try:
        with session_scope(engine) as session:
            check_lease(session, "committing a pull")
            for fetched in quiet:
                fetched.record_success(session)
    except StoreError as err:
        return {
            fetched.source.id: _record_failure(
                engine, fetched.source, err, fetched.at, fetched.poll_interval
            )
            for fetched in quiet
        }
    return {fetched.source.id: _quiet_pull(fetched) for fetched in quiet}


def _quiet_pull(fetched: _Fetched) -> CalendarPull:
    source, changes = fetched.source, fetched.changes
    return CalendarPull(
        source_id=source.id,
        calendar_id=source.external_id,
        name=source.display_name,
        requests=changes.requests,
        ignored=changes.ignored,
        in_quarantine=None,
    )


def _reconcile_due(source: ConnectedCalendar, at: datetime, every: timedelta | None) -> bool:
    """Whether the periodic full listing is due (a first sync is a full listing anyway)."""
    if every is None or source.sync_token is None:
        return False
    last = source.last_full_sync_at
    return last is None or at - last >= every


def _reconciled(
    session: Session, source: ConnectedCalendar, pull: CalendarPull, at: datetime
) -> CalendarPull:
    """Count and record what a reconciliation corrected: normally nothing."""
    corrections = pull.inserted + pull.updated + pull.deleted
    record_reconciliation(session, source.id, corrections, now=at)
    if corrections:
        # Push and incremental sync missed these (Google: notifications are not 100%
        # reliable, https://developers.google.com/calendar/api/guides/push).
        _log.warning(
            "%s: reconciliation corrected %d booking(s): %d inserted, %d updated, %d deleted",
            source.external_id,
            corrections,
            pull.inserted,
            pull.updated,
            pull.deleted,
        )
        detail = {"inserted": pull.inserted, "updated": pull.updated, "deleted": pull.deleted}
        record_audit_event(
            session,
            source.clinic_id,
            ACTOR,
            "calendar.reconciled",
            calendar_source_id=source.id,
            detail={"corrections": corrections, **detail},
            at=at,
        )
    return replace(pull, reconciled=True, corrections=corrections)


def _log_skips(source: ConnectedCalendar, pull: CalendarPull) -> None:
    for skipped in pull.skipped:
        _log.warning(
            "%s: quarantined event %s: %s", source.external_id, skipped.event_id, skipped.reason
        )
    for ignored in pull.ignored:
        _log.info("%s: skipped event %s: %s", source.external_id, ignored.event_id, ignored.reason)


def _record_failure(
    engine: Engine,
    source: ConnectedCalendar,
    err: ClinicSyncError | StoreError,
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
    admission = admit_events(changes.events, reader.read)
    stored = store_events(session, source.id, admission.events, now=at)
    gone = _gone(session, source, changes, live)
    if gone:
        mark_bookings_deleted(session, source.id, gone, now=at)
    if stored.inserted or stored.updated or gone:
        bump_data_version(session, source.clinic_id, at)
    skipped = (*changes.skipped, *admission.refused, *stored.failed)
    counts = settle_quarantine(session, source.id, changes, skipped, stored.ids, now=at)
    return CalendarPull(
        source_id=source.id,
        calendar_id=source.external_id,
        name=source.display_name,
        full=changes.full,
        seen=len(changes.events) + len(changes.removed),
        inserted=len(stored.inserted),
        updated=len(stored.updated),
        deleted=len(gone),
        requests=changes.requests,
        skipped=skipped,
        ignored=changes.ignored,
        changed=(*stored.inserted, *stored.updated, *sorted(gone)),
        retired_keys=tuple(sorted(stored.retired, key=str)),
        quarantined=counts.new,
        in_quarantine=counts.total,
        cut=stored.cut,
    )


def _gone(
    session: Session, source: ConnectedCalendar, changes: ChangeSet, live: LiveBookings
) -> set[str]:
    """Live stored bookings the provider no longer has.

    Those reported removed; the instances of a removed recurring series, found by the
    series id each instance was stored with — Google's ``recurringEventId``, "the id of the
    recurring event to which this instance belongs"
    (https://developers.google.com/calendar/api/v3/reference/events), never by parsing
    instance ids, which may hold ``_`` anywhere (a series split "this and following" is
    ``{id}_R{start}``; imported events may begin with ``_``). With ``singleEvents=true``
    Google may report the deletion as each instance cancelled instead
    (https://developers.google.com/calendar/api/guides/sync), which the ids catch. After a
    full listing, the bookings of the listed days that the listing did not contain.
    An incremental listing reads only the rows of what it removed and of those series'
    instances (:func:`~sync.store.bookings.live_removed`), so one deletion costs the same in
    a calendar of 2,000 bookings as of 20,000; a full one reads the calendar's live bookings.
    """
    if source.last_sync_at is None or not (changes.removed or changes.full):
        return set()  # bookings are only ever stored by a successful poll, with last_sync_at
    if not changes.full:  # what was removed, by the index: not the calendar's bookings
        return live_removed(session, source.id, changes.removed)
    stored = live.of(session, source)
    removed = set(changes.removed)
    gone = {
        key
        for key, booking in stored.items()
        if key in removed or (booking.series is not None and booking.series in removed)
    }
    if changes.window is not None:
        first, last = changes.window
        seen = {event.booking.id for event in changes.events}
        gone |= {
            key
            for key, booking in stored.items()
            if first <= booking.day <= last and key not in seen
        }
    return gone
