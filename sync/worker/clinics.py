"""The clinics a worker serves: each clinic's services, built when first polled (SPEC §2, §9).

A worker serving every clinic polls each claimed calendar with its own clinic's
:class:`~sync.bootstrap.Services` (policy, time zone, flag colour, Google grant), all over
the worker's one engine. :class:`WorkerClinics` builds them on first use and keeps the
most recently used in a bounded LRU (cachetools), so what a worker holds follows the
threads it polls with, never the number of clinics in the database. An entry is trusted
for ``recheck_seconds``; then its clinic's ``version`` (raised by every settings or policy
change) is read again — one indexed row — and a changed clinic is built anew, so an
admin's change is in force without a restart. Clinics with the same policy share one
:class:`~rules.vocabulary.Matcher` (most run the shipped default).

Services leave the cache (evicted, or replaced by a newer version) but are closed — their
Google client's connections with them — only once no poll uses them any more
(:meth:`WorkerClinics.serving` counts users). Building a clinic's services can fail: a
stored policy that no longer parses, a Google grant Google refused. That error is the
clinic's own: it is raised to the poll of that clinic's calendar, which records it there
(visible on sync health), and nothing is cached, so the next poll tries again.

Every Google client is metered by the worker's :class:`~sync.worker.budget.RequestBudget`
under its *grant*: the user Google counts the quota against. A service account acting as a
user (or a key without a subject) is that account, shared by every clinic using it; one
authorised-user file set for the process is one user for all; each clinic's own stored
grant (or, on the emulator, no credentials) is that clinic's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from time import monotonic

from cachetools import LRUCache
from sqlalchemy import Engine

from rules.model import Policy
from rules.vocabulary import Matcher
from sync.bootstrap import Services, clinic_services
from sync.clinics.profile import ClinicProfile, load_profile
from sync.config import Settings
from sync.metrics import CycleMetrics
from sync.push import PushChannels, PushOptions
from sync.sources.google.errors import GoogleProviderError
from sync.sources.google.source import GoogleCalendarSource
from sync.sources.google.watch import CalendarWatch
from sync.store.clinics import clinic_by_id, clinic_version
from sync.store.database import session_scope
from sync.usecases.pull import BookingReader
from sync.worker.budget import RequestBudget

__all__ = ["Fleet", "WorkerClinics", "grant_of"]

_MATCHERS = 16
"""Distinct policies whose matcher is kept: clinics sharing a policy share its matcher."""


@dataclass(frozen=True, slots=True)
class Fleet:
    """Every clinic of one store: what a worker with no clinic named serves."""

    settings: Settings
    engine: Engine


@dataclass(slots=True, eq=False)
class _Served:
    services: Services
    grant: str | None
    """The budget key of the clinic's Google grant; ``None`` without Google."""
    push: PushChannels | None
    checked_at: float
    users: int = 0
    retired: bool = False
    closed: bool = field(default=False, repr=False)

    @property
    def version(self) -> int:
        return self.services.clinic.version


class _ClosingCache(LRUCache[int, _Served]):
    """An LRU whose evicted entries are retired: closed once their last poll ends."""

    def popitem(self) -> tuple[int, _Served]:
        clinic_id, served = super().popitem()
        served.retired = True
        _close_if_unused(served)
        return clinic_id, served


def _close_if_unused(served: _Served) -> None:
    if served.retired and served.users == 0 and not served.closed:
        served.closed = True
        served.services.close()


def grant_of(settings: Settings, clinic_id: int, google: GoogleCalendarSource) -> str:
    """The budget key of the Google user a clinic's requests count against."""
    account = google.client.account
    if account != "default":
        return account  # a named user: shared by every clinic acting as it
    if settings.google_credentials is not None:
        return "default"  # one authorised-user file for the process: one user for all
    return f"clinic-{clinic_id}"


class WorkerClinics:
    """Services of the clinics a worker polls, by clinic id: bounded, re-checked, shared.

    ``only`` is the services of one clinic given by the caller (``Worker(services, …)``):
    then that clinic is the only one served, its services are never rebuilt nor closed.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        budget: RequestBudget,
        observe: Callable[[GoogleProviderError, float], None],
        metrics: CycleMetrics,
        push: PushOptions,
        size: int = 32,
        recheck_seconds: float = 5.0,
        only: Services | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.budget = budget
        self.metrics = metrics
        self.recheck_seconds = recheck_seconds
        self._observe = observe
        self._push = push
        self._cache = _ClosingCache(maxsize=size)
        self._matchers: LRUCache[Policy, Matcher] = LRUCache(maxsize=_MATCHERS)
        self._lock = threading.Lock()
        self._spent: set[int] = set()
        self._only = None if only is None else self._served(only, owned=False)

    @property
    def only(self) -> Services | None:
        """The one clinic's services when this worker serves one clinic's given services."""
        return None if self._only is None else self._only.services

    @contextmanager
    def serving(self, clinic_id: int) -> Iterator[Services]:
        """The clinic's services for one poll; they stay open until the poll ends."""
        served = self._take(clinic_id)
        try:
            yield served.services
        finally:
            with self._lock:
                served.users -= 1
                _close_if_unused(served)

    def push_channels(self, services: Services) -> PushChannels | None:
        """The push channels of the clinic ``services`` belong to (``None``: push off)."""
        with self._lock:
            served = self._only or self._cache.get(services.clinic.id)
        if served is None or served.services is not services:
            return None
        return served.push

    def google_room(self, most: int) -> dict[int, int]:
        """Clinics whose Google grant has room for fewer than ``most`` requests right now,
        with that room (0: none). A grant shared by several clinics is offered to each."""
        with self._lock:
            entries = [(i, s.grant) for i, s in self._cache.items()]
            if self._only is not None:
                entries.append((self._only.services.clinic.id, self._only.grant))
        rooms = {grant: self.budget.room(grant) for _, grant in entries if grant is not None}
        return {
            clinic_id: rooms[grant]
            for clinic_id, grant in entries
            if grant is not None and rooms[grant] < most
        }

    def assume_spent(self, clinic_ids: set[int]) -> None:
        """A dead worker polled these clinics within the minute: count their grants spent."""
        with self._lock:
            self._spent |= clinic_ids
            entries = list(self._cache.values())
            if self._only is not None:
                entries.append(self._only)
        for served in entries:
            if served.grant is not None and served.services.clinic.id in clinic_ids:
                self.budget.assume_spent(served.grant)

    def __len__(self) -> int:
        return len(self._cache)

    def close(self) -> None:
        """Retire every clinic's services: each closes as its last poll ends."""
        with self._lock:
            entries = list(self._cache.values())
            self._cache.clear()
            for served in entries:
                served.retired = True
                _close_if_unused(served)

    def _take(self, clinic_id: int) -> _Served:
        if self._only is not None:
            if clinic_id != self._only.services.clinic.id:
                raise LookupError(f"this worker serves clinic {self._only.services.clinic.slug}")
            with self._lock:
                self._only.users += 1
            return self._only
        with self._lock:
            known = self._cache.get(clinic_id)
        fresh = self._fresh(clinic_id, known)
        with self._lock:
            current = self._cache.get(clinic_id)
            if fresh is not current:
                if current is not None and current.version >= fresh.version:
                    _discard(fresh)  # another poll built it first
                    fresh = current
                else:
                    self._replace(clinic_id, current, fresh)
            fresh.users += 1
            return fresh

    def _replace(self, clinic_id: int, old: _Served | None, new: _Served) -> None:
        self._cache[clinic_id] = new  # may evict (and retire) the least recently used
        if old is not None:
            old.retired = True
            _close_if_unused(old)

    def _fresh(self, clinic_id: int, known: _Served | None) -> _Served:
        """``known`` if its clinic has not changed since, else the clinic's services anew."""
        now = monotonic()
        if known is not None and now - known.checked_at < self.recheck_seconds:
            return known
        with session_scope(self.engine) as session:
            if known is not None and clinic_version(session, clinic_id) == known.version:
                known.checked_at = now
                return known
            profile = load_profile(session, clinic_by_id(session, clinic_id))
        return self._build(profile)

    def _build(self, profile: ClinicProfile) -> _Served:
        reader = BookingReader(self._matcher(profile.policy), profile.identity)
        services = clinic_services(
            self.settings,
            self.engine,
            profile,
            metrics=self.metrics,
            owns_engine=False,
            reader=reader,
        )
        return self._served(services, owned=True)

    def _served(self, services: Services, *, owned: bool) -> _Served:
        google = services.google_source
        grant = None
        if google is not None:
            grant = grant_of(self.settings, services.clinic.id, google)
            google.client.meter(self.budget, grant)
            google.retry = replace(google.retry, observe=self._observe)
            if services.clinic.id in self._spent:
                self.budget.assume_spent(grant)
        push = None
        if self._push.address is not None and google is not None:
            push = PushChannels(self.engine, CalendarWatch(google.client, google.retry), self._push)
        served = _Served(services, grant, push, monotonic())
        if not owned:
            served.users = 1  # the caller's: never closed here
        return served

    def _matcher(self, policy: Policy) -> Matcher:
        with self._lock:
            matcher = self._matchers.get(policy)
        if matcher is None:
            matcher = Matcher(policy)
            with self._lock:
                matcher = self._matchers.setdefault(policy, matcher)
        return matcher


def _discard(served: _Served) -> None:
    served.retired = True
    _close_if_unused(served)
