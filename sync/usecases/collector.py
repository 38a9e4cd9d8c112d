"""Python's cyclic garbage collector while a process starts and while a whole clinic is
re-checked (SPEC §5, §9).

Starting a command imports its code: some 200,000 objects the collector tracks (modules,
classes, the tables' models), every one of them alive for the life of the process, so
each collection during the imports scans what it cannot free (0.2 s of a 0.85 s start-up
of ``sync --once``, two full passes among them). :func:`collection_free_start` turns the
collector off while they are made and then freezes them (:func:`gc.freeze`): later full
passes, a worker's and a re-check's alike, scan what the process made since, not its code.

A full re-check allocates a few objects for every booking of the clinic, most of them
short-lived (a row, its booking, its copy), some kept to the end (what the partition keeps
of each booking). With the interpreter's default threshold a young collection runs every
700 allocations, so many short-lived objects are still alive when it runs: they are
promoted, and the old generation, which holds every module and the services, fills up and
is scanned again and again. That was about a third of a full re-check's CPU at 100k
bookings. :func:`fewer_collections` raises the young threshold for as long as a re-check
runs: objects mostly die before a collection sees them, and cycles are still collected.
It raises the middle generation's too: what the partition keeps of each booking survives
its young collection into the middle generation, which with its default threshold is
collected every ten young ones and feeds the old one, so those objects were scanned there
again and again (in a new process re-checking 100k bookings, the collector's CPU was
0.78 s, and 0.42 s with the middle threshold raised). Young cycles are still collected.
A pull of many events (a large calendar's first sync or re-list, a run of pages:
:mod:`sync.usecases.pull`) holds the same raise while it is stored.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["OLDER_THRESHOLD", "RECHECK_THRESHOLD", "collection_free_start", "fewer_collections"]

RECHECK_THRESHOLD = 10_000
"""Allocations between two young collections during a re-check (the default is 700)."""
OLDER_THRESHOLD = 1000
"""Young collections between two of the middle generation during a re-check (default 10)."""


class _Raise:
    """The one raise of the process's threshold, held by however many re-checks run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._saved: tuple[int, int, int] | None = None

    def enter(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._saved = young, older, oldest = gc.get_threshold()
                if young:  # 0: automatic collection is off, and stays so
                    raised = max(young, RECHECK_THRESHOLD), max(older, OLDER_THRESHOLD)
                    gc.set_threshold(*raised, oldest)
            self._holders += 1

    def leave(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0 and self._saved is not None:
                gc.set_threshold(*self._saved)
                self._saved = None


_raise = _Raise()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect the young generation every :data:`RECHECK_THRESHOLD` allocations, not 700.

    The threshold is the process's: re-checks running at once in several threads share one
    raise, and the threshold found before the first is put back when the last ends.
    """
    _raise.enter()
    try:
        yield
    finally:
        _raise.leave()


@contextmanager
def collection_free_start() -> Iterator[None]:
    """No automatic collection while the block imports and wires a process's code; what it
    made is frozen when it ends (the objects of start-up are never garbage), and the
    collector is back as it was found."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
