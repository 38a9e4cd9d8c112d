"""The worker: poll every calendar once per interval, sharing them with other workers (SPEC §9).

A worker with no clinic named serves every clinic of the database (SPEC §2): one fleet of
workers on PostgreSQL for any number of clinics. The main thread is a claim loop: every
``worker_claim_seconds`` it leases the calendars of any clinic that are due and free,
each clinic's most overdue first (:func:`sync.worker.leases.claim_due`), as many as it has
idle threads and project budget for, and no more of a clinic's Google calendars than its
grant has room for (:mod:`sync.worker.budget`); each poll runs with its clinic's services
(:mod:`sync.worker.clinics`: bounded, rebuilt when the clinic's settings change). It hands
each calendar to an APScheduler 3
``BackgroundScheduler`` as a one-off job. Because claims go through the database, calendars
added, enabled or removed while the worker runs are picked up (or dropped) at the next
claim, and several workers on PostgreSQL share the calendars without ever polling one
twice at once. Each poll calls :func:`sync.usecases.cycle.run_calendar_cycle`; provider failures are
recorded by the cycle, anything unexpected is logged with its traceback and recorded on
the calendar, which then backs off (:class:`sync.worker.leases.PollSchedule`). No failure stops
the worker.

APScheduler 3 (https://apscheduler.readthedocs.io/en/3.x/userguide.html) is configured so:

- each claim is its own one-off job, id ``calendar-<id>-<token>`` (the lease's fencing
  token). A job keyed by the calendar alone, with ``max_instances=1`` ("Limiting the number
  of concurrently executing instances of a job"), was *skipped* when the calendar was claimed
  again while its last poll was still winding down after releasing its lease: the new lease
  then sat unused until it expired, and a notified change waited for it. The lease is the
  one guard against polling a calendar twice at once, inside the process as across them;
- ``coalesce=True``: a lease-renewal run missed while the process stalled runs once, not
  once per missed interval ("Missed job executions and coalescing"); calendars coalesce by
  construction, since a calendar overdue by many intervals is simply due, once;
- ``misfire_grace_time=None`` on calendar jobs: a claimed calendar is polled however late
  its job starts, so its lease is never left to expire unused;
- ``shutdown(wait=True)`` lets running jobs finish ("Shutting down the scheduler").

On SIGTERM or SIGINT the claim loop stops claiming, calendars claimed but not started are
released untouched, the calendars in hand are finished, and the process exits with status
0. Jobs never call back into the scheduler, so shutdown cannot deadlock on its locks.

With push on (:mod:`sync.push`: an https ``CLINIC_SYNC_PUBLIC_URL``), each poll of a Google
calendar first opens or renews its events.watch channel, under the calendar's lease, and a
calendar with a live channel is polled only every ``push_poll_seconds`` as a fallback; the
webhook makes a notified calendar due at once, and the claim loop picks it up. A
``push`` job stops the channels of removed or disabled calendars, clinic by clinic, each
with its clinic's grant. Channels are left open on shutdown: they expire by themselves
(https://developers.google.com/calendar/api/guides/push).

SQLite serves one worker (:mod:`sync.worker.sqlite_lock`).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from sync.bootstrap import Services, store_scope
from sync.clinics.profile import open_profile
from sync.config import Settings
from sync.errors import ClinicSyncError
from sync.metrics import metrics_in_scope
from sync.notify.job import schedule_notifications
from sync.push import PushAwareCycle, PushOptions
from sync.sources.google.errors import GoogleProviderError
from sync.store.channels import clinics_to_sweep
from sync.store.clinics import clinic_by_id, get_clinic
from sync.store.database import session_scope
from sync.store.errors import RecordNotFound, StoreError
from sync.store.sources import Provider
from sync.usecases.cycle import CalendarCycle, run_calendar_cycle
from sync.usecases.stamps import Clock
from sync.worker.budget import GOOGLE_PROJECT_PER_MINUTE, RequestBudget
from sync.worker.clinics import Fleet, WorkerClinics
from sync.worker.leases import (
    WRITE_STAGE,
    Lease,
    LeaseLost,
    PollSchedule,
    Turns,
    claim_due,
    dead_holders,
    holding,
    new_owner,
    release,
    renew,
)
from sync.worker.sqlite_lock import WorkerAlreadyRunning, lock_path, single_worker_lock

__all__ = [
    "CycleRunner",
    "Worker",
    "WorkerAlreadyRunning",
    "WorkerOptions",
    "cycle_requests",
    "lock_path",
    "run_worker",
    "single_worker_lock",
]

_log = logging.getLogger(__name__)
_STOP_CHECK_SECONDS = 0.5
"""How long a worker waiting for a free thread goes without looking whether it must stop."""


class CycleRunner(Protocol):
    """What the worker calls for one calendar: :func:`sync.usecases.cycle.run_calendar_cycle`.

    It decides with ``now`` and stamps its records with ``clock``, the worker's own.
    """

    def __call__(
        self, services: Services, source_id: int, *, now: datetime, clock: Clock | None = None
    ) -> CalendarCycle: ...


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How a worker paces itself, read from the settings."""

    threads: int
    lease: timedelta
    claim_every: float
    schedule: PollSchedule
    requests_per_minute: int
    """Per Google grant (Google's per-user quota), this worker's share."""
    project_requests_per_minute: int = GOOGLE_PROJECT_PER_MINUTE
    """For the whole project (the OAuth client), this worker's share."""
    push: PushOptions = field(default_factory=PushOptions)
    """Push channels for Google calendars; off (every calendar polled) by default."""
    clinic: str | None = None
    """The one clinic to serve (a slug); ``None`` serves every clinic."""
    clinics_cached: int = 32
    clinic_recheck_seconds: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings, *, clinic: str | None = None) -> WorkerOptions:
        return cls(
            threads=settings.worker_threads,
            lease=timedelta(seconds=settings.worker_lease_seconds),
            claim_every=settings.worker_claim_seconds,
            schedule=PollSchedule(timedelta(seconds=settings.poll_interval_seconds)),
            requests_per_minute=settings.google_requests_per_minute,
            project_requests_per_minute=settings.google_project_requests_per_minute,
            push=PushOptions.from_settings(settings),
            clinic=clinic,
            clinics_cached=settings.worker_clinics_cached,
            clinic_recheck_seconds=settings.worker_clinic_recheck_seconds,
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Worker:
    """Claims due calendars and polls them on an APScheduler thread pool until stopped.

    Given a :class:`~sync.worker.clinics.Fleet` it serves every clinic of the store (or the
    one ``options.clinic`` names), each calendar polled with its clinic's services; given
    one clinic's :class:`~sync.bootstrap.Services` it serves that clinic with them.
    """

    def __init__(
        self,
        served: Services | Fleet,
        options: WorkerOptions,
        *,
        cycle: CycleRunner = run_calendar_cycle,
        owner: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        only = served if isinstance(served, Services) else None
        self.settings, self.engine = served.settings, served.engine
        self.options = options
        self.owner = owner or new_owner()
        self.budget = RequestBudget(
            options.requests_per_minute, options.project_requests_per_minute
        )
        self.metrics = only.metrics if only is not None else metrics_in_scope()
        self.clinics = WorkerClinics(
            self.settings,
            self.engine,
            budget=self.budget,
            observe=self._quota_backoff,
            metrics=self.metrics or metrics_in_scope(),
            push=options.push,
            size=max(options.clinics_cached, 2 * options.threads),
            recheck_seconds=options.clinic_recheck_seconds,
            only=only,
        )
        self.clinic = options.clinic or (only.clinic.slug if only is not None else None)
        """The slug of the one clinic served, or ``None`` for every clinic."""
        self.push = options.push if options.push.enabled else None
        self._push_cycle = None
        if self.push is not None:
            self._push_cycle = PushAwareCycle(cycle, self.clinics.push_channels)
        self._cycle: CycleRunner = self._push_cycle or cycle
        self._clock = clock
        # Clinics take turns (claim_due); a turn is a thread pool's worth of one clinic's
        # calendars, polled with its services before the next clinic's are needed.
        self._turns = Turns(per_turn=options.threads)
        self._in_hand: dict[int, Lease] = {}
        self._lock = threading.Condition()  # guards _in_hand; notified as calendars finish
        self._stopping = threading.Event()
        self._scheduler = _scheduler(options.threads)

    def run(self, stop: threading.Event, why: Callable[[], str] = lambda: "asked to stop") -> None:
        """Claim and poll until ``stop`` is set, then finish the calendars in hand.

        ``why`` says what stopped it, for the log ("received SIGTERM").
        """
        self._scheduler.add_job(
            self._renew, "interval", seconds=self.options.lease.total_seconds() / 3, id="renew"
        )
        self._add_push_sweep()
        # Notifications: tell people of the served clinics' conflicts and trouble, on its
        # own timer.
        schedule_notifications(
            self._scheduler,
            self.engine,
            self.settings,
            self.owner,
            self.metrics,
            clinic_id=self._served_clinic_id(),
        )
        self._scheduler.start()
        _log.info("worker %s started (%s)", self.owner, _serving(self.clinic))
        self._wait_out_the_dead()
        try:
            while not stop.is_set():
                self._wait_for_room(stop, more_due=self._claim_safely())
        finally:
            self._stop(why())

    def _wait_out_the_dead(self) -> None:
        """A worker that died within the minute may have spent its clinics' grants' budget."""
        try:
            dead = dead_holders(
                self.engine, now=self._clock(), within=timedelta(minutes=1), clinic=self.clinic
            )
        except StoreError as err:
            _log.warning("cannot look for workers that died: %s", err)
            return
        if dead:
            self.clinics.assume_spent(set().union(*dead.values()))
            _log.warning(
                "worker(s) %s died within the last minute holding leases; "
                "waiting out the minute's request budget they may have spent",
                ", ".join(sorted(dead)),
            )

    def claim(self) -> list[Lease]:
        """Lease what is due, within idle threads and budget, and schedule a poll of each."""
        return self._claim(*self._room())

    def _claim(self, limit: int, providers: tuple[Provider, ...]) -> list[Lease]:
        leases = claim_due(
            self.engine,
            self.owner,
            now=self._clock(),
            ttl=self.options.lease,
            limit=limit,
            clinic=self.clinic,
            providers=providers,
            google_room=self.clinics.google_room(limit),
            after_clinic=self._turns.after(),
            per_turn=self._turns.per_turn,
            clock=self._clock,
        )
        self._turns.claimed(leases)
        for lease in leases:
            self._schedule(lease)
        return leases

    def sweep_channels(self) -> int:
        """Stop the push channels of removed or disabled calendars of every clinic served;
        how many were stopped. Each clinic's are stopped with its own grant."""
        if self.push is None:
            return 0
        now = self._clock()
        try:
            with session_scope(self.engine) as session:
                wanted = clinics_to_sweep(session, now)
                if self.clinic is not None:
                    wanted = [i for i in wanted if clinic_by_id(session, i).slug == self.clinic]
        except StoreError as err:
            _log.warning("cannot sweep push channels, trying again later: %s", err)
            return 0
        return sum(self._sweep_clinic(clinic_id, now) for clinic_id in wanted)

    def _sweep_clinic(self, clinic_id: int, now: datetime) -> int:
        try:
            with self.clinics.serving(clinic_id) as services:
                channels = self.clinics.push_channels(services)
                return 0 if channels is None else channels.sweep(clinic_id, now)
        except (ClinicSyncError, StoreError, LookupError) as err:
            _log.warning(
                "clinic %d: push channels not swept, trying again later: %s", clinic_id, err
            )
            return 0

    def in_hand(self) -> list[int]:
        """The calendars this worker holds right now."""
        with self._lock:
            return sorted(self._in_hand)

    def _add_push_sweep(self) -> None:
        if self.push is not None:
            every = self.options.push.sweep_every.total_seconds()
            first = datetime.now(UTC)  # the scheduler's own clock, not the injected one
            self._scheduler.add_job(
                self.sweep_channels, "interval", seconds=every, id="push", next_run_time=first
            )

    def _room(self) -> tuple[int, tuple[Provider, ...]]:
        """How many calendars to claim, and of which providers: Google's only while the
        project's budget has room (each poll is a request at least)."""
        with self._lock:
            idle = max(0, self.options.threads - len(self._in_hand))
        project = self.budget.project_room()
        if project <= 0:
            return idle, tuple(p for p in Provider if p is not Provider.GOOGLE)
        return min(idle, project), tuple(Provider)

    def _claim_safely(self) -> bool:
        """Claim; whether the claim took all the room it had (so more may be due)."""
        limit, providers = self._room()
        try:
            leases = self._claim(limit, providers)
        except StoreError as err:
            _log.warning("cannot claim calendars, trying again shortly: %s", err)
            return False
        return limit > 0 and len(leases) >= limit

    def _wait_for_room(self, stop: threading.Event, *, more_due: bool) -> None:
        """Until the next claim: one claim interval, or — while more may be due — only
        until a thread is free. At a fixed interval a worker polled at most its threads'
        worth of calendars an interval (two a second at the defaults) however many were
        due, and a fleet's calendars waited their turn for minutes."""
        if not more_due:
            stop.wait(self.options.claim_every)
            return
        deadline = time.monotonic() + self.options.claim_every
        with self._lock:
            while len(self._in_hand) >= self.options.threads and not stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._lock.wait(min(left, _STOP_CHECK_SECONDS))

    def _schedule(self, lease: Lease) -> None:
        with self._lock:
            self._in_hand[lease.source_id] = lease
        self._scheduler.add_job(
            self._poll,
            args=[lease],
            id=f"calendar-{lease.source_id}-{lease.token}",
            misfire_grace_time=None,
        )

    def _poll(self, lease: Lease) -> None:
        try:
            if self._stopping.is_set():
                self._release(lease)  # claimed but not started: leave it to the next worker
                return
            started = time.time()
            with holding(lease):
                cycle = self._run_cycle(lease)
            if cycle is not None:
                self._log_poll(lease, cycle, started, self._release(lease))
                self._poll_again_if_notified(lease)
        finally:
            with self._lock:
                if self._in_hand.get(lease.source_id) is lease:  # not a newer claim's
                    del self._in_hand[lease.source_id]
                self._lock.notify_all()

    def _poll_again_if_notified(self, lease: Lease) -> None:
        """Push: a notification that came in during the poll makes the calendar due now."""
        if self._push_cycle is None:
            return
        try:
            if self._push_cycle.released(lease.source_id, self._clock()):
                _log.info("calendar %d changed while it was polled; due again", lease.source_id)
        except StoreError as err:
            _log.warning("calendar %d: next push poll not set: %s", lease.source_id, err)

    def _log_poll(
        self, lease: Lease, cycle: CalendarCycle, started: float, due: datetime | None
    ) -> None:
        ended = time.time()
        # A poll that changed nothing is the usual case: INFO stays quiet when nothing happens.
        _log.log(
            logging.DEBUG if _idle(cycle) else logging.INFO,
            "calendar %d polled in %.2f s (%s); next poll %s",
            lease.source_id,
            ended - started,
            _outcome(cycle),
            "unknown" if due is None else due.isoformat(timespec="seconds"),
            extra={
                "calendar": lease.source_id,
                "worker": self.owner,
                "started": started,
                "ended": ended,
                "requests": cycle_requests(cycle),
            },
        )

    def _run_cycle(self, lease: Lease) -> CalendarCycle | None:
        """The cycle's report; ``None`` when it raised (then recorded and released here).

        The clinic's services are built here when needed, so a clinic that cannot be set
        up (a stored policy that no longer parses, a refused grant) fails its calendar's
        poll, recorded on that calendar like any other failure, and no other clinic's.
        """
        try:
            with self.clinics.serving(lease.clinic_id) as services:
                # The records are stamped as they are made, by this clock: a poll may
                # wait long for the request budget (a minute, after a predecessor died).
                return self._cycle(services, lease.source_id, now=self._clock(), clock=self._clock)
        except RecordNotFound:
            _log.info("calendar %d was removed while it was due", lease.source_id)
            return None
        except LeaseLost as err:
            self._lease_lost(lease, err.stage, str(err))
            return None  # the new holder owns the calendar's state now: release nothing
        except (ClinicSyncError, StoreError) as err:
            _log.warning("calendar %d: poll failed: %s", lease.source_id, err)
            self._release(lease, error=str(err))
            return None
        except Exception as err:  # a bug: keep the traceback, keep the worker alive
            _log.exception("calendar %d: poll failed unexpectedly", lease.source_id)
            self._release(lease, error=f"{type(err).__name__}: {err}")
            return None

    def _release(self, lease: Lease, error: str | None = None) -> datetime | None:
        try:
            due = release(self.engine, lease, self.options.schedule, now=self._clock(), error=error)
        except StoreError as err:
            _log.warning(
                "calendar %d: lease not released (expires itself): %s", lease.source_id, err
            )
            return None
        if due is None:
            _log.warning("calendar %d: lease was lost before the poll ended", lease.source_id)
        return due

    def _served_clinic_id(self) -> int | None:
        """The id of the one clinic served, or ``None`` when the worker serves every clinic."""
        if self.clinic is None:
            return None
        with session_scope(self.engine) as session:
            return get_clinic(session, self.clinic).id

    def _renew(self) -> None:
        with self._lock:
            held = list(self._in_hand)
        try:
            kept = renew(self.engine, self.owner, held, now=self._clock(), ttl=self.options.lease)
        except StoreError as err:
            _log.warning("cannot renew leases: %s", err)
            return
        with self._lock:
            lost = [self._in_hand[i] for i in sorted(set(held) - kept) if i in self._in_hand]
        for lease in lost:
            self._lease_lost(lease, "renewal", "taken by another worker")

    def _lease_lost(self, lease: Lease, stage: str, why: str) -> None:
        _log.warning(
            "calendar %d: lease lost (%s): %s",
            lease.source_id,
            stage,
            why,
            extra={"calendar": lease.source_id, "worker": self.owner, "token": lease.token},
        )
        if self.metrics is not None:
            self.metrics.lease_lost(stage, fenced_write=stage == WRITE_STAGE)

    def _quota_backoff(self, error: GoogleProviderError, wait: float) -> None:
        _log.warning(
            "Google asked to slow down (%s); backing off %.1f s",
            error.reason or error.status,
            wait,
            extra={"worker": self.owner, "reason": error.reason, "wait": wait},
        )
        if self.metrics is not None:
            self.metrics.quota_backoff(str(error.reason or error.status))

    def _stop(self, why: str) -> None:
        """Claim nothing more, finish what is in hand (leases still renewed), shut down."""
        self._stopping.set()
        self.budget.close()  # a poll waiting for budget gives up now, to be polled again
        with self._lock:
            _log.info(
                "worker %s %s: finishing %d calendar(s) in hand, then stopping",
                self.owner,
                why,
                len(self._in_hand),
            )
            self._lock.wait_for(lambda: not self._in_hand)
        self._scheduler.shutdown(wait=True)
        self.clinics.close()
        _log.info("worker %s stopped cleanly", self.owner)


def _serving(clinic: str | None) -> str:
    return "every clinic" if clinic is None else f"clinic {clinic}"


def cycle_requests(cycle: CalendarCycle) -> int:
    """Google requests a cycle made: its pull's, plus at least one per flag written."""
    writes = cycle.flagged + cycle.unflagged + cycle.write_failures
    return max(1, cycle.pull.requests + writes)


def _idle(cycle: CalendarCycle) -> bool:
    """A successful incremental poll that found no change, and detection nothing to do."""
    pull = cycle.pull
    quiet_pull = not (pull.full or pull.changed or pull.skipped)
    acted = cycle.detected or cycle.resolved or cycle.flagged or cycle.unflagged
    return cycle.complete and quiet_pull and not acted


def _outcome(cycle: CalendarCycle) -> str:
    pull = cycle.pull
    if not pull.ok:
        return f"failed: {pull.error}"
    kind = "full" if pull.full else "incremental"
    return f"{kind}, {len(pull.changed)} changed, {pull.requests} request(s)"


def _scheduler(threads: int) -> BackgroundScheduler:
    return BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(threads + 1)},  # one more for renewals
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=UTC,
    )


# Running it as a process -------------------------------------------------------------


def run_worker(
    settings: Settings, stop: threading.Event | None = None, *, clinic: str | None = None
) -> None:
    """Run a worker until SIGTERM or SIGINT (or ``stop``); clinic-sync errors are raised.

    It serves every clinic of the database, or only ``clinic`` (a slug) when given.
    """
    stop = stop or threading.Event()
    with single_worker_lock(settings.database_url), store_scope(settings) as engine:
        if clinic is not None:
            open_profile(engine, slug=clinic)  # "no such clinic" before anything starts
        worker = Worker(
            Fleet(settings, engine), WorkerOptions.from_settings(settings, clinic=clinic)
        )
        with _stopping_on_signals(stop) as received:
            worker.run(stop, why=lambda: f"received {received[0]}" if received else "asked to stop")


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[list[str]]:
    """Set ``stop`` on SIGTERM/SIGINT; yields the names of the signals received."""
    received: list[str] = []

    def handle(signum: int, _frame: FrameType | None) -> None:
        # Only flag it: logging here could re-enter a stream the main thread is writing to.
        received.append(signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
