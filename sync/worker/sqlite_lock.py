"""One worker per SQLite database: a lock file next to it (SPEC §9).

SQLite has one writer at a time and no row locks to share calendars with, so it serves one
worker: :func:`single_worker_lock` takes an exclusive ``flock`` on a file next to the
database (the kernel drops it when the process dies, even on SIGKILL), and a second worker
refuses to start with :class:`WorkerAlreadyRunning`. PostgreSQL needs no lock: workers
share calendars through row leases (:mod:`sync.worker.leases`).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from sync.errors import SetupError

__all__ = ["WorkerAlreadyRunning", "lock_path", "single_worker_lock"]


class WorkerAlreadyRunning(SetupError):
    """Another worker holds the SQLite database; only one may run on it."""


def lock_path(database_url: str) -> Path | None:
    """The lock file that keeps a SQLite database to one worker; ``None`` when not needed."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database).resolve()
    return database.with_name(database.name + ".worker-lock")


@contextmanager
def single_worker_lock(database_url: str) -> Iterator[None]:
    """Hold the SQLite database for this worker; :class:`WorkerAlreadyRunning` if taken."""
    path = lock_path(database_url)
    if path is None:
        yield
        return
    with path.open("a+") as handle:
        _lock_or_refuse(handle, path)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


def _lock_or_refuse(handle: IO[str], path: Path) -> None:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as err:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        raise WorkerAlreadyRunning(
            f"another worker (pid {holder}) is already running on this SQLite database "
            f"(lock {path}); SQLite serves one worker, use PostgreSQL to run several"
        ) from err
