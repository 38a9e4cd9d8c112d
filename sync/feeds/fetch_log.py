"""Every fetch of a feed recorded — time, token id (none when unknown), status (SPEC §7).

Writing a row per request would make each cheap 304 wait for a database commit, so
fetches are buffered in memory and written in one transaction per second (or sooner
when many pile up) by a background thread that the web app starts and stops. The
presented token is never part of a record: only the id of the token it matched.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from sync.feeds.service import Clock, utc_now
from sync.store.database import session_scope
from sync.store.errors import StoreError
from sync.store.feeds import FeedFetch, record_fetches

__all__ = ["FetchLog"]

_log = logging.getLogger(__name__)


class FetchLog:
    """Buffers fetch records and writes them in batches; ``stop`` writes what is left."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = utc_now,
        interval: float = 1.0,
        max_pending: int = 1000,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._interval = interval
        self._max_pending = max_pending
        self._pending: list[FeedFetch] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, token_id: int | None, status: int) -> None:
        """Note one fetch now; it is written within ``interval`` seconds."""
        with self._lock:
            self._pending.append(FeedFetch(self._clock(), token_id, status))
            full = len(self._pending) >= self._max_pending
        if full:
            self._wake.set()

    def flush(self) -> int:
        """Write the pending records now; returns how many were written."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return 0
        try:
            with session_scope(self._engine) as session:
                record_fetches(session, batch)
        except StoreError as err:
            _log.warning("could not record %d feed fetches: %s", len(batch), err)
            return 0
        return len(batch)

    def start(self) -> None:
        """Write batches from a background thread until :meth:`stop`."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="feed-fetch-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write what is still pending."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            self.flush()
