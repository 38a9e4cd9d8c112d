"""The request budget: how many Google requests a worker may make per minute (SPEC §9).

Google limits Calendar API use per project and per user per minute
(https://developers.google.com/calendar/api/guides/quota); going over costs 403
``rateLimitExceeded`` / 429 answers and backoff (:mod:`sync.google.retry`). The worker
stays under the limit instead of hitting it: a :class:`TokenBucket` refills at the
configured rate and a calendar is only claimed while a token is left. A poll's real cost
(its pull pages and flag writes) is charged afterwards and may put the bucket in debt, which
holds back the next claims; so with more calendars than the budget allows, polls spread out
and calendars wait past their due time rather than Google answering 429.

The bucket belongs to one process. ``CLINIC_SYNC_GOOGLE_REQUESTS_PER_MINUTE`` is therefore
a per-worker figure: workers sharing a Google account each get their share (the account's
budget divided by the number of workers). Over any minute a worker spends at most its
burst plus its rate, plus the cost of the poll in hand beyond one token.

Pure logic with an injected clock (seconds, monotonic), thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["BURST_SECONDS", "TokenBucket"]

BURST_SECONDS = 10.0
"""A full bucket holds this many seconds' worth of requests: a short burst, never a minute's."""


class TokenBucket:
    """A token bucket: ``rate`` tokens a second, holding at most ``capacity``, debt allowed."""

    def __init__(
        self, rate: float, capacity: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a token bucket needs a positive rate and room for one token")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = capacity
        self._at = clock()

    @classmethod
    def per_minute(
        cls, requests: float, *, clock: Callable[[], float] = time.monotonic
    ) -> TokenBucket:
        """``requests`` a minute, starting full with :data:`BURST_SECONDS` of them."""
        rate = requests / 60.0
        return cls(rate, max(1.0, rate * BURST_SECONDS), clock=clock)

    def available(self) -> float:
        """Tokens in the bucket now; negative while in debt."""
        with self._lock:
            return self._refill()

    def try_take(self, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if the bucket holds them; False (and nothing taken) if not."""
        with self._lock:
            if self._refill() < cost:
                return False
            self._tokens -= cost
            return True

    def charge(self, cost: float) -> None:
        """Spend ``cost`` tokens already used, going into debt if need be."""
        with self._lock:
            self._refill()
            self._tokens -= max(0.0, cost)

    def wait_time(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are available (0 when they are now)."""
        with self._lock:
            missing = min(cost, self.capacity) - self._refill()
        return max(0.0, missing / self.rate)

    def _refill(self) -> float:
        now = self._clock()
        elapsed = max(0.0, now - self._at)  # a clock that steps back must not mint tokens
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._at = max(self._at, now)
        return self._tokens
