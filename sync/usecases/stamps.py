"""The moments the audit trail records: when each thing happened, never going back (SPEC §8).

A cycle decides with one ``now``, read as it began: the clinic's day, the scan window,
which bookings have started. What it records happens later — after the pull, after each
wait for the request budget (:mod:`sync.worker.budget`: a worker taking over from one
that died waits out a minute before its first request) — so each record is stamped from
a clock read as the record is made: the caller's clock (the worker's), or ``now`` plus
the time elapsed since it was read (:func:`since`).

Stamps of one store never go back within a process (:func:`recording`): the trail is read
by time, then id (:func:`sync.store.audit.list_audit_events`), and cycles that share one
``now`` (the calendars of one ``sync --once`` pass, threads of a worker) or a wall clock
stepped back would otherwise put a later record before an earlier one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from sqlalchemy import Engine

__all__ = ["Clock", "recording", "since"]

Clock = Callable[[], datetime]
"""The time now, as an aware datetime: the port a cycle reads its stamps from."""


def since(now: datetime) -> Clock:
    """A clock that reads ``now`` at this call and moves on with the time elapsed."""
    started = time.perf_counter()
    return lambda: now + timedelta(seconds=time.perf_counter() - started)


class _Forward:
    """Stamps that never go back: each at least the one before.

    A tie is left a tie: the trail breaks it by id, which is the order records were
    made, and a stamp pushed past its clock would sort after what another writer (the web
    app, on the same clock) records at that same moment."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: datetime | None = None

    def next(self, candidate: datetime) -> datetime:
        with self._lock:
            if self._last is not None and candidate < self._last:
                candidate = self._last
            self._last = candidate
            return candidate


_forward: WeakKeyDictionary[Engine, _Forward] = WeakKeyDictionary()
"""Per store (engine): the last stamp given to a record of it."""
_forward_lock = threading.Lock()


def recording(engine: Engine, clock: Clock) -> Clock:
    """``clock`` as the stamps of records into ``engine``'s store: never earlier than the
    last one this process gave."""
    with _forward_lock:
        forward = _forward.get(engine)
        if forward is None:
            forward = _forward[engine] = _Forward()
    return lambda: forward.next(clock())
