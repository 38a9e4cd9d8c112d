"""One heartbeat of the service: pull a calendar, then detect, flag and unflag (SPEC §5, §6, §9).

:func:`run_calendar_cycle` is what a scheduler calls for one calendar: it pulls what changed
(:func:`sync.usecases.pull.pull_calendar`), re-evaluates the patients whose bookings changed across
every calendar of the clinic (the bookings the change can reach: :mod:`sync.usecases.affected`),
stores the conflicts' states, writes or removes the flags on the calendars, and records
each step in the audit trail (SPEC §8).
:func:`run_clinic_pass` runs it once for every enabled calendar (``sync --once``).

Every step is idempotent and reads its state from the store and the calendar, so a
process killed at any point converges on the next run (SPEC §9).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import partial
from weakref import WeakKeyDictionary

from cachetools import LRUCache
from sqlalchemy import Engine
from sqlmodel import Session

from rules.assess import Scope
from sync.bootstrap import Services
from sync.store.conflicts import StoredConflict, conflicts_by_public_id, flag_properties
from sync.store.data_version import clinic_data_version
from sync.store.database import session_scope
from sync.store.review import reviewed_since
from sync.store.sources import CalendarSource, get_source, list_sources
from sync.usecases.collector import fewer_collections
from sync.usecases.detect import (
    Changes,
    Detection,
    Reconciled,
    load_detection,
    load_part,
    reconcile,
)
from sync.usecases.flag_settlement import settle_orphans
from sync.usecases.flagging import (
    FlagOptions,
    FlagTally,
    apply_flags,
    carried_conflicts,
    plan_flags,
    settle_states,
)
from sync.usecases.partition import partition_clinic
from sync.usecases.pull import CalendarPull, LiveBookings, pull_calendar
from sync.usecases.safe_date import SafeDateFinder
from sync.usecases.stamps import Clock, recording, since
from sync.worker.leases import check_lease

__all__ = [
    "SETTLED_CLINICS",
    "CalendarCycle",
    "PassReport",
    "run_calendar_cycle",
    "run_clinic_pass",
]

_log = logging.getLogger(__name__)

# Clinics whose conflicts and flags were fully reconciled through this engine, with the
# clinic's date they were reconciled for. A new process (a new engine) starts with none,
# so its first cycle of each clinic re-checks everything: that is how changes pulled by a
# run killed before detection are not lost, and how identity keys are brought in line
# with this process's policy. After that, a cycle re-assesses only what its pull changed.
# A cycle that fails or leaves writes undone drops its clinic, to be re-checked next time;
# a new day re-checks everything too, as the scan horizon moved. A worker serving every
# clinic keeps at most SETTLED_CLINICS marks per engine (least recently polled dropped
# first): a dropped clinic is re-checked in full once, which is always correct, so the
# memory stays flat however many clinics the worker has served.
SETTLED_CLINICS = 16_384
"""Clinics whose reconciled mark one process keeps per store (about 250 bytes each)."""

_Mark = tuple[date, datetime, int]
_settled: WeakKeyDictionary[Engine, LRUCache[int, _Mark]] = WeakKeyDictionary()
"""Per clinic: the day it was last fully reconciled by this process, when, and at which
version of the clinic's settings and policy (a changed policy re-checks everything)."""
_settled_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class CalendarCycle:
    """What one cycle of one calendar did: its pull, then detection and flag writes."""

    pull: CalendarPull
    detected: int = 0
    """Conflicts seen for the first time."""
    resolved: int = 0
    flagged: int = 0
    """Events whose flag was written (or rewritten)."""
    unflagged: int = 0
    skipped_writes: int = 0
    """Writes left out on purpose: dry run, already started, read-only, gave up on 412."""
    write_failures: int = 0
    gave_up: int = 0
    """Writes abandoned because the event kept changing under them (HTTP 412)."""
    assessed: int = 0
    """Bookings detection re-assessed: the whole clinic on a full re-check, else those the
    pull's changes can reach."""
    flag_requests: int = 0
    """Reads and writes of events the flag step made."""
    flagged_changes: tuple[datetime, ...] = ()
    """When each booking flagged last changed at the provider (``updated``, as pulled)."""

    @property
    def ok(self) -> bool:
        return self.pull.ok and self.write_failures == 0

    @property
    def complete(self) -> bool:
        """Whether every write this cycle wanted was done or deliberately left out."""
        return self.ok and self.gave_up == 0


@dataclass(frozen=True, slots=True)
class PassReport:
    """One pass over every enabled calendar of a clinic."""

    clinic: str
    cycles: tuple[CalendarCycle, ...]

    @property
    def all_failed(self) -> bool:
        """True when there were calendars and none of them could be pulled."""
        return bool(self.cycles) and not any(cycle.pull.ok for cycle in self.cycles)


def run_calendar_cycle(
    services: Services,
    source_id: int,
    *,
    now: datetime,
    clock: Clock | None = None,
    dry_run: bool | None = None,
    live: LiveBookings | None = None,
) -> CalendarCycle:
    """Pull calendar ``source_id`` once, then reconcile the clinic's conflicts and flags.

    The cycle decides with ``now``; it stamps what it records with ``clock`` (by default
    ``now`` and the time elapsed since: :mod:`sync.usecases.stamps`), read as each
    record is made. ``dry_run`` (default: the settings' ``dry_run``) records what would
    be written and writes nothing. A provider failure of the pull is recorded on the
    calendar, not raised; detection and flags run only when something changed or the
    clinic was not yet fully reconciled by this process. The cycle is counted in
    ``services.metrics`` when set.
    """
    started = time.perf_counter()
    stamp = recording(services.engine, clock or since(now))
    with session_scope(services.engine) as session:
        source = get_source(session, source_id)
    cycle = _cycle(services, source, now=now, stamp=stamp, dry_run=dry_run, live=live)
    if services.metrics is not None:
        seconds = time.perf_counter() - started
        ended = now + timedelta(seconds=seconds)
        services.metrics.record(cycle, provider=source.provider, seconds=seconds, ended=ended)
    return cycle


def _cycle(
    services: Services,
    source: CalendarSource,
    *,
    now: datetime,
    stamp: Clock,
    dry_run: bool | None,
    live: LiveBookings | None,
) -> CalendarCycle:
    pull = pull_calendar(
        services.engine,
        services.calendars,
        services.reader,
        source,
        poll_interval=services.poll_interval,
        reconcile_every=services.settings.reconcile_interval,
        now=now,
        live=live,
    )
    # Writes a dead writer left open on this calendar are settled by its poll, idle ones
    # too: a quiet calendar would otherwise never have them read, nor their audit records
    # made. Only by its poll: the lease makes that one thread of all the workers'.
    settle_orphans(services.engine, services.calendars, source, clock=stamp)
    scope = _scope(services, now)
    settled = _marks(services.engine)
    with _settled_lock:
        mark = settled.get(source.clinic_id)
    up_to_date = _up_to_date(services, source.clinic_id, mark, scope)
    if not pull.ok or (not pull.changed and up_to_date):
        return CalendarCycle(pull=pull)
    with _settled_lock:
        settled.pop(source.clinic_id, None)
    changes = Changes(pull.changed, pull.retired_keys) if up_to_date else None
    dry = services.clinic.settings.dry_run if dry_run is None else dry_run
    cycle = _reconcile_clinic(
        services, source.clinic_id, pull, now=now, stamp=stamp, changes=changes, dry_run=dry
    )
    if cycle.complete:
        with _settled_lock:
            settled[source.clinic_id] = (scope.today, now, services.clinic.version)
    return cycle


def _marks(engine: Engine) -> LRUCache[int, _Mark]:
    """The reconciled marks of the clinics of ``engine``'s store (an LRU: reads reorder it,
    so every use holds the lock)."""
    with _settled_lock:
        marks = _settled.get(engine)
        if marks is None:
            marks = _settled[engine] = LRUCache(maxsize=SETTLED_CLINICS)
        return marks


def _up_to_date(services: Services, clinic_id: int, mark: _Mark | None, scope: Scope) -> bool:
    """Reconciled today under the clinic's current settings and policy, and no admin review
    (an override the web app could not write) since."""
    if mark is None or mark[0] != scope.today or mark[2] != services.clinic.version:
        return False
    with session_scope(services.engine) as session:
        return not reviewed_since(session, clinic_id, mark[1])


def _scope(services: Services, now: datetime) -> Scope:
    clinic = services.clinic
    return Scope(
        today=clinic.today(now),
        days_back=clinic.settings.scan_days_back,
        days_ahead=clinic.settings.scan_days_ahead,
    )


_Load = Callable[[Session], tuple[Detection, list[StoredConflict]]]


def _reconcile_clinic(
    services: Services,
    clinic_id: int,
    pull: CalendarPull,
    *,
    now: datetime,
    stamp: Clock,
    changes: Changes | None,
    dry_run: bool,
) -> CalendarCycle:
    """Detect over what ``changes`` reach (everything when ``None``, a part at a time),
    store, then flag."""
    settings = services.settings
    options = FlagOptions(
        color=services.clinic.settings.flag_color,
        link_base=f"{settings.public_url}/admin",
        now=now,
        dry_run=dry_run,
        clock=stamp,
        safe_dates=SafeDateFinder(
            services.calendars,
            services.clinic.zone,
            now,
            hours=services.clinic.settings.opening_hours,
        ),
    )
    cycle = CalendarCycle(pull=pull)
    with fewer_collections() if changes is None else nullcontext():
        for load in _parts(services, clinic_id, _scope(services, now), changes):
            cycle = _part(services, clinic_id, load, cycle, options=options)
    return cycle


def _part(
    services: Services,
    clinic_id: int,
    load: _Load,
    cycle: CalendarCycle,
    *,
    options: FlagOptions,
) -> CalendarCycle:
    """``cycle`` with one part detected, reconciled and flagged."""
    with session_scope(services.engine) as session:
        check_lease(session, "recording detection")
        detection, stored = load(session)
        done = reconcile(
            session,
            clinic_id,
            detection,
            stored,
            policy=services.policy,
            reader=services.reader,
            now=options.stamp(),
        )
    tally = _flag(services, clinic_id, detection, done, options)
    return _counted(cycle, detection, done, tally)


def _parts(
    services: Services, clinic_id: int, scope: Scope, changes: Changes | None
) -> Iterator[_Load]:
    """What to detect over, one part at a time: the reach of ``changes``, or the clinic's
    parts (:mod:`sync.usecases.partition`), so a full re-check never holds the whole clinic."""
    policy, reader = services.policy, services.reader
    if changes is not None:
        yield partial(
            load_detection,
            clinic_id=clinic_id,
            policy=policy,
            reader=reader,
            scope=scope,
            changes=changes,
        )
        return
    with session_scope(services.engine) as session:
        check_lease(session, "refreshing identity keys")
        parts = partition_clinic(session, clinic_id, reader, scope, policy=policy)
    for rows, touching in zip(parts.batches, parts.touching, strict=True):
        yield partial(
            load_part,
            clinic_id=clinic_id,
            policy=policy,
            reader=reader,
            scope=scope,
            rows=rows,
            ambiguous=parts.ambiguous,
            titles=parts.titles,
            read=parts.take(rows),
            read_version=parts.version,
            touching=touching,
        )


def _counted(
    cycle: CalendarCycle, detection: Detection, done: Reconciled, tally: FlagTally
) -> CalendarCycle:
    """``cycle`` with one part's detection, reconciliation and flags added."""
    return replace(
        cycle,
        detected=cycle.detected + done.opened,
        resolved=cycle.resolved + done.resolved,
        flagged=cycle.flagged + tally.flagged,
        unflagged=cycle.unflagged + tally.unflagged,
        skipped_writes=cycle.skipped_writes + tally.skipped,
        write_failures=cycle.write_failures + tally.failed,
        gave_up=cycle.gave_up + tally.gave_up,
        assessed=cycle.assessed + len(detection.chosen),
        flag_requests=cycle.flag_requests + tally.requests,
        flagged_changes=(*cycle.flagged_changes, *tally.flagged_changes),
    )


def _flag(
    services: Services,
    clinic_id: int,
    detection: Detection,
    done: Reconciled,
    options: FlagOptions,
) -> FlagTally:
    targets = plan_flags(detection, done.active, services.policy, options)
    with session_scope(services.engine) as session:
        named = conflicts_by_public_id(session, clinic_id, carried_conflicts(targets))
        known = {c.facts.public_id: c for c in named}
    tally = apply_flags(
        services.engine,
        services.calendars,
        services.reader,
        clinic_id,
        targets,
        options=options,
        known=known,
    )
    with session_scope(services.engine) as session:
        later = {stored.facts.later_row_id for stored, _ in done.active}
        carried = _carried(session, clinic_id, detection, later)
        settle_states(session, clinic_id, done.active, carried, options.now)
    return tally


def _carried(
    session: Session, clinic_id: int, detection: Detection, rows: Collection[int]
) -> Mapping[str, Mapping[str, str]]:
    """The private properties stored on ``rows`` after flagging, by event id.

    While the clinic's data version is the one detection read its copies at, nothing was
    stored since (a flag written is stored with the event, and moves the version: a dry
    run, or flags already in place, move nothing), so the copies' are the stored ones."""
    if detection.version is None or (
        clinic_data_version(session, clinic_id).counter != detection.version
    ):
        return flag_properties(session, clinic_id, rows)
    copies = detection.rows
    found = (copies[row] for row in sorted(rows) if row in copies)
    return {copy.booking.id: copy.private_properties for copy in found}


def run_clinic_pass(services: Services, *, now: datetime, clock: Clock | None = None) -> PassReport:
    """Run one cycle for every enabled calendar of the services' clinic, on any provider.

    Every cycle decides with ``now`` and stamps its records with ``clock``, by default
    ``now`` and the time elapsed since the pass began."""
    clock = clock or since(now)
    clinic = services.clinic.slug
    with session_scope(services.engine) as session:
        sources = list_sources(session, services.clinic.id, enabled_only=True)
    live = LiveBookings()
    cycles = tuple(
        run_calendar_cycle(services, source.id, now=now, clock=clock, live=live)
        for source in sources
    )
    return PassReport(clinic, cycles)
