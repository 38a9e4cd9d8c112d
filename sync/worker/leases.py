"""Row leases: how workers share the calendars and never poll one twice at once (SPEC §9).

A calendar is *due* when it is enabled and its ``next_poll_at`` has passed (or was never
set), and *free* when nobody holds its lease or the lease has expired. :func:`claim_due`
takes due, free calendars in one statement — ``UPDATE … WHERE id IN (SELECT … FOR UPDATE
SKIP LOCKED)`` on PostgreSQL, so concurrent claimers skip each other's rows instead of
waiting (https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE);
SQLite has one writer at a time, which serialises claims by itself. The guard on the lease
is repeated in the ``UPDATE`` so a row can only change hands while it is free.

Every claim raises the calendar's ``lease_token`` by one: a fencing token
(https://martin.kleppmann.com/2016/02/08/how-to-do-distributed-locking.html). The poll runs
:func:`holding` its lease, and whatever it is about to record or send checks the lease in
the transaction that records it (:func:`check_lease`): the row is locked, its owner and
token compared, and enough of the lease must be left for the step to finish inside it.
A worker paused past its lease therefore fails that check (:class:`LeaseLost`) and writes
nothing more, instead of finishing a stale poll beside the worker that took it over.

The holder :func:`renew`\\ s its leases while it polls and :func:`release`\\ s each one with
the calendar's next due time: the one the poll recorded, pushed back by exponential backoff
while the calendar keeps failing, plus jitter (:class:`PollSchedule`). A worker that dies
keeps nothing: its leases expire and another worker takes the calendars over.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Engine,
    ScalarSelect,
    case,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlmodel import Session, col

from sync.errors import ClinicSyncError
from sync.store.database import session_scope
from sync.store.sources import Provider, record_poll_failure
from sync.store.tables import CalendarSourceRow, ClinicRow

__all__ = [
    "WRITE_STAGE",
    "Lease",
    "LeaseLost",
    "PollSchedule",
    "Turns",
    "check_lease",
    "claim_due",
    "current_lease",
    "dead_holders",
    "holding",
    "new_owner",
    "release",
    "renew",
]

_Row = CalendarSourceRow


@dataclass(frozen=True, slots=True)
class Lease:
    """The right to poll one calendar until ``expires_at``."""

    source_id: int
    owner: str
    expires_at: datetime
    token: int = 0
    """The fencing token this claim was given."""
    ttl: timedelta = field(default=timedelta(seconds=60), compare=False)
    clock: Callable[[], datetime] = field(
        default=lambda: datetime.now(UTC), compare=False, repr=False
    )
    clinic_id: int = field(default=0, compare=False)
    """The clinic the calendar belongs to: whose services poll it."""


class LeaseLost(ClinicSyncError):
    """The calendar's lease is no longer this worker's: stop, record and send nothing more."""

    def __init__(self, lease: Lease, stage: str, why: str) -> None:
        super().__init__(f"calendar {lease.source_id}: lease lost before {stage} ({why})")
        self.lease = lease
        self.stage = stage


WRITE_STAGE = "a flag write"
"""The step :func:`check_lease` names before a write to a calendar: refusing it fences it."""

_held: ContextVar[Lease | None] = ContextVar("clinic_sync_lease", default=None)

MARGIN = 1 / 3
"""The share of the lease that must be left before a step starts: a renewal is due every
third of it, so a worker still renewing always passes, one paused past that never does."""


@contextmanager
def holding(lease: Lease) -> Iterator[None]:
    """Run the block under ``lease``: :func:`check_lease` then fences what it records."""
    token = _held.set(lease)
    try:
        yield
    finally:
        _held.reset(token)


def current_lease() -> Lease | None:
    """The lease the calling thread's poll runs under, if any."""
    return _held.get()


def check_lease(session: Session, stage: str) -> Lease | None:
    """Lock the calendar's row and raise :class:`LeaseLost` unless the lease is still ours.

    Called in the transaction that records a step, so nothing is recorded by a worker that
    lost its lease. Without a lease (``sync --once``, the web app) there is nothing to check.
    """
    lease = _held.get()
    if lease is None:
        return None
    query = select(_Row).where(col(_Row.id) == lease.source_id).with_for_update()
    row = session.execute(query).scalar_one_or_none()
    why = _lost(row, lease)
    if why is not None:
        raise LeaseLost(lease, stage, why)
    return lease


def _lost(row: CalendarSourceRow | None, lease: Lease) -> str | None:
    if row is None:
        return "the calendar was removed"
    if row.lease_owner != lease.owner or row.lease_token != lease.token:
        return f"now held by {row.lease_owner or 'nobody'} under token {row.lease_token}"
    left = (row.lease_expires_at or lease.clock()) - lease.clock()
    if left < lease.ttl * MARGIN:
        return f"{max(0.0, left.total_seconds()):.1f} s left, too little to finish"
    return None


@dataclass(frozen=True, slots=True)
class PollSchedule:
    """When a calendar is next due: each interval, backing off while it fails, with jitter."""

    interval: timedelta
    jitter: float = 0.1
    """Total spread, as a fraction of the interval, centred on the due time."""
    max_backoff: timedelta = timedelta(hours=1)
    random: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, failures: int) -> timedelta:
        """The wait after ``failures`` failed polls in a row: the interval, doubled each time."""
        if failures <= 0:
            return self.interval
        doubled: timedelta = self.interval * 2 ** min(failures - 1, 20)
        return max(self.interval, min(doubled, self.max_backoff))

    def next_due(self, recorded: datetime | None, *, now: datetime, failures: int) -> datetime:
        """The due time the poll ``recorded`` (if any), no sooner than the backoff, jittered."""
        if failures > 0:
            due = max(recorded or now, now + self.backoff(failures))
        else:
            due = recorded or now + self.interval
        return due + self.interval * (self.jitter * (self.random() - 0.5))


def dead_holders(
    engine: Engine, *, now: datetime, within: timedelta, clinic: str | None = None
) -> dict[str, set[int]]:
    """Owners of leases left behind by a worker that died less than ``within`` ago, with
    the clinics whose calendars each held.

    A worker that stops cleanly releases its leases, so a lease whose owner is a process of
    this host that no longer runs was left by a dead worker (SIGKILL, a crash). Owners on
    other hosts cannot be told from live ones here and are left out.
    """
    query = select(col(_Row.lease_owner), col(_Row.clinic_id)).where(
        col(_Row.lease_owner).is_not(None), col(_Row.lease_expires_at) > now - within
    )
    if clinic is not None:
        slug = select(col(ClinicRow.id)).where(col(ClinicRow.slug) == clinic)
        query = query.where(col(_Row.clinic_id).in_(slug.scalar_subquery()))
    with session_scope(engine) as session:
        rows = session.execute(query).all()
    dead: dict[str, set[int]] = {}
    for owner, clinic_id in rows:
        if not _alive_here(str(owner)):
            dead.setdefault(str(owner), set()).add(int(clinic_id))
    return dead


def _alive_here(owner: str) -> bool:
    """False only for an owner of this host whose process is gone."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_owner() -> str:
    """A name for this worker's leases, unique across hosts and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def claim_due(
    engine: Engine,
    owner: str,
    *,
    now: datetime,
    ttl: timedelta,
    limit: int,
    clinic: str | None = None,
    providers: Collection[Provider] = tuple(Provider),
    google_room: Mapping[int, int] | None = None,
    after_clinic: int = 0,
    per_turn: int = 1,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Lease]:
    """Lease up to ``limit`` due, free calendars to ``owner``, fairly across clinics.

    Each clinic's due calendars are ranked by how overdue they are, and the claim takes
    every clinic's first ``per_turn`` before any clinic's next: a clinic with 50 calendars
    due cannot keep one with 2 waiting. Within a round, clinics take turns: those numbered
    above ``after_clinic`` (the last clinic the caller claimed for) come first, so small
    claims go round the clinics instead of always to the lowest-numbered. A ``per_turn``
    above one keeps a claim's calendars together by clinic, so a worker polls several
    calendars with one clinic's services before it needs another's (:class:`Turns` keeps
    the turn across claims). ``clinic`` (a slug) limits the claim to one clinic. ``google_room``
    caps the Google calendars claimed of the clinics it names (their grant's room in the
    request budget; 0 leaves them alone), their other calendars still claimed.
    """
    if limit <= 0:
        return []
    expires = now + ttl
    candidates = _due(
        now,
        limit,
        clinic=clinic,
        providers=providers,
        google_room=google_room or {},
        after_clinic=after_clinic,
        per_turn=max(1, per_turn),
    )
    claim = (
        update(_Row)
        .where(col(_Row.id).in_(candidates), _free(now))
        .values(lease_owner=owner, lease_expires_at=expires, lease_token=_Row.lease_token + 1)
        .returning(col(_Row.id), col(_Row.lease_token), col(_Row.clinic_id))
        .execution_options(synchronize_session=False)
    )
    with session_scope(engine) as session:
        claimed = sorted((row[0], row[1], row[2]) for row in session.execute(claim))
    return [
        Lease(source_id, owner, expires, token, ttl, clock, clinic_id=clinic_id)
        for source_id, token, clinic_id in claimed
    ]


@dataclass(slots=True)
class Turns:
    """Whose turn it is among the clinics, from one claim to the next (``after_clinic``).

    A clinic keeps its turn until it has had ``per_turn`` calendars, then the next clinic
    in number (wrapping round) has it.
    """

    per_turn: int = 1
    clinic: int = 0
    """The clinic that had the turn last."""
    taken: int = 0
    """Calendars it has had in this turn; 0 once its turn is over."""

    def after(self) -> int:
        """``after_clinic`` for the next claim."""
        return self.clinic - 1 if self.taken else self.clinic

    def claimed(self, leases: Collection[Lease]) -> None:
        """Move the turn on past what a claim took."""
        if not leases:
            return
        after = self.after()
        clinics = [lease.clinic_id for lease in leases]
        wrapped = [clinic for clinic in clinics if clinic <= after]
        last = max(wrapped or clinics)  # the claim's last clinic in turn order
        taken = clinics.count(last) + (self.taken if last == self.clinic else 0)
        self.clinic, self.taken = last, taken if taken < self.per_turn else 0


def renew(
    engine: Engine, owner: str, source_ids: Collection[int], *, now: datetime, ttl: timedelta
) -> set[int]:
    """Extend ``owner``'s leases on ``source_ids``; the ids whose lease was still held."""
    if not source_ids:
        return set()
    statement = (
        update(_Row)
        .where(col(_Row.id).in_(list(source_ids)), col(_Row.lease_owner) == owner)
        .values(lease_expires_at=now + ttl)
        .returning(col(_Row.id))
        .execution_options(synchronize_session=False)
    )
    with session_scope(engine) as session:
        return set(session.execute(statement).scalars())


def release(
    engine: Engine,
    lease: Lease,
    schedule: PollSchedule,
    *,
    now: datetime,
    error: str | None = None,
) -> datetime | None:
    """Give ``lease`` back and set the calendar's next due time; ``error`` records a crash.

    Returns the next due time, or ``None`` when the lease had already been lost (expired
    and taken over) or the calendar was removed: then nothing is written.
    """
    with session_scope(engine) as session:
        row = _held_row(session, lease)
        if row is None:
            return None
        if error is not None:
            record_poll_failure(session, lease.source_id, error, now=now, next_poll_at=now)
            session.refresh(row)
        due = schedule.next_due(row.next_poll_at, now=now, failures=row.consecutive_failures)
        row.next_poll_at, row.lease_owner, row.lease_expires_at = due, None, None
        session.add(row)
    return due


def _held_row(session: Session, lease: Lease) -> CalendarSourceRow | None:
    query = select(_Row).where(
        col(_Row.id) == lease.source_id,
        col(_Row.lease_owner) == lease.owner,
        col(_Row.lease_token) == lease.token,
    )
    return session.execute(query.with_for_update()).scalar_one_or_none()


def _due(
    now: datetime,
    limit: int,
    *,
    clinic: str | None,
    providers: Collection[Provider],
    google_room: Mapping[int, int],
    after_clinic: int,
    per_turn: int,
) -> ScalarSelect[int]:
    """Ids of the calendars to claim, locked (skipping rows another claimer has locked).

    PostgreSQL refuses ``FOR UPDATE`` beside a window function, so the ranking is a
    derived table joined back to the calendars, and only the calendars' rows are locked
    (``FOR UPDATE OF``). Rows another worker locked are skipped, and the next in rank
    taken instead, so racing workers split the due calendars rather than wait.
    """
    overdue = (col(_Row.next_poll_at).asc().nulls_first(), col(_Row.id))
    conditions = [
        col(_Row.enabled).is_(True),
        col(_Row.provider).in_([provider.value for provider in providers]),
        or_(col(_Row.next_poll_at).is_(None), col(_Row.next_poll_at) <= now),
        _free(now),
    ]
    if clinic is not None:
        slug = select(col(ClinicRow.id)).where(col(ClinicRow.slug) == clinic)
        conditions.append(col(_Row.clinic_id).in_(slug.scalar_subquery()))
    rank = func.row_number().over(partition_by=col(_Row.clinic_id), order_by=overdue)
    by_provider = (col(_Row.clinic_id), col(_Row.provider))
    in_provider = func.row_number().over(partition_by=by_provider, order_by=overdue)
    ranked = (
        select(col(_Row.id).label("id"), rank.label("rank"), in_provider.label("in_provider"))
        .where(*conditions)
        .subquery()
    )
    within = [_free(now)]
    if google_room:
        room = case(google_room, value=col(_Row.clinic_id), else_=limit)
        google = col(_Row.provider) == Provider.GOOGLE.value
        within.append(or_(not_(google), ranked.c.in_provider <= room))
    turn = case((col(_Row.clinic_id) > after_clinic, 0), else_=1)
    query = (
        select(col(_Row.id))
        .join(ranked, ranked.c.id == col(_Row.id))
        .where(*within)
        .order_by((ranked.c.rank - 1) // per_turn, turn, col(_Row.clinic_id), *overdue)
        .limit(limit)
        .with_for_update(skip_locked=True, of=_Row)
    )
    return query.scalar_subquery()


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(
        col(_Row.lease_owner).is_(None),
        col(_Row.lease_expires_at).is_(None),
        col(_Row.lease_expires_at) <= now,
    )
