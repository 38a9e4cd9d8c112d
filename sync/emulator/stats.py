"""Request counts per API method (``events.list``, ``events.patch``, ``batch``...).

Lets tests and benchmarks check how many calls a sync cost, the point of incremental sync and
batching (https://developers.google.com/calendar/api/guides/batch). Calls inside a batch count
under their own method, and the batch itself once.
"""

from __future__ import annotations

import threading
from collections import Counter

__all__ = ["RequestStats"]


class RequestStats:
    """A thread-safe counter of API calls by method name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def record(self, method: str) -> None:
        """Count one call of ``method``."""
        with self._lock:
            self._counts[method] += 1

    def counts(self) -> dict[str, int]:
        """The counts so far, by method name."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._counts.clear()
