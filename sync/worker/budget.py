"""The request budget: how many Google requests a worker may send per minute (SPEC §9).

Google limits Calendar API use per minute, per project and per user within the project,
over a sliding window (https://developers.google.com/calendar/api/guides/quota); a set of
``n`` requests in one batch counts as ``n``
(https://developers.google.com/calendar/api/guides/batch). The worker stays under both
limits instead of meeting them: every HTTP request its Google client sends passes through
:meth:`RequestBudget.acquire` at the transport (:mod:`sync.sources.google.client`), which waits
until the request fits in the last 60 seconds for its Google account *and* for the
project. Nothing is charged after the fact, so nothing can be undercounted.

The windows are ``limits``' moving-window strategy
(https://limits.readthedocs.io/en/stable/strategies.html#moving-window): no 60-second span
ever holds more than the limit, which is the property Google checks. The claim loop asks
:meth:`RequestBudget.room` before taking calendars, so with more calendars than the budget
allows, polls spread out and calendars wait past their due time rather than Google
answering 403 or 429.

A worker serving every clinic keeps one window per Google grant — each clinic's OAuth
grant, or the user a service account acts as: Google's "user" — and one for the project
(the OAuth client, every grant together). The claim loop takes no more of a clinic's
Google calendars than its grant has room for (:meth:`RequestBudget.room`; none when it
has none) and claims nothing for Google while the project has none
(:meth:`RequestBudget.project_room`), so one busy clinic never stops another. Windows of
grants not used for a minute are empty and cost nothing: ``limits``' memory storage
expires them.

The budget belongs to one process: ``CLINIC_SYNC_GOOGLE_REQUESTS_PER_MINUTE`` and
``CLINIC_SYNC_GOOGLE_PROJECT_REQUESTS_PER_MINUTE`` are per-worker shares of the grant's
and the project's limits (workers sharing them each get their share).
A worker starting less than a minute after another died holding leases cannot see what
that one sent, so it counts its own window as spent (:meth:`RequestBudget.assume_spent`)
and waits the minute out; a clean restart (SIGTERM) costs nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from sync.errors import ProviderError

__all__ = ["GOOGLE_PROJECT_PER_MINUTE", "WINDOW_SECONDS", "BudgetClosed", "RequestBudget"]


class BudgetClosed(ProviderError):
    """The worker is stopping: a request still waiting for room is not sent."""


GOOGLE_PROJECT_PER_MINUTE = 10_000
"""Google's default per-minute, per-project Calendar API quota."""

WINDOW_SECONDS = 62
"""Google's minute, and a margin: Google counts a request when it arrives, the worker when
it sends it, and a request slow on the way (a lost answer's, one queued at Google) must not
be counted in two of Google's minutes while ours has moved on."""


class RequestBudget:
    """Per-minute windows for each Google account and for the project, thread-safe."""

    def __init__(
        self,
        per_account: int,
        per_project: int = GOOGLE_PROJECT_PER_MINUTE,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_account < 1 or per_project < 1:
            raise ValueError("a request budget needs at least one request a minute")
        self.per_account = per_account
        self.per_project = per_project
        self._account: RateLimitItem = RateLimitItemPerSecond(per_account, WINDOW_SECONDS)
        self._project: RateLimitItem = RateLimitItemPerSecond(per_project, WINDOW_SECONDS)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()
        self._sleep = sleep
        self._closed = threading.Event()
        self.sent = 0
        """Requests let through, all accounts together."""
        self.waited = 0.0
        """Seconds requests spent waiting for room."""

    def acquire(self, account: str, cost: int = 1) -> float:
        """Wait until ``cost`` requests for ``account`` fit both windows, then count them.

        Returns the seconds waited. A batch larger than a whole window is counted as the
        window: it could never pass otherwise, and the worker never builds one.
        """
        cost = max(1, min(cost, self.per_account, self.per_project))
        waited = 0.0
        while True:
            with self._lock:
                wait = self._wait(account, cost)
                if wait <= 0:
                    self._limiter.hit(self._account, account, cost=cost)
                    self._limiter.hit(self._project, "project", cost=cost)
                    self.sent += cost
                    self.waited += waited
                    return waited
            self._pause(wait)
            waited += wait

    def close(self) -> None:
        """Stop waiting: requests waiting for room, and any after, raise :class:`BudgetClosed`."""
        self._closed.set()

    def _pause(self, seconds: float) -> None:
        if self._sleep is time.sleep:
            self._closed.wait(seconds)
        else:
            self._sleep(seconds)
        if self._closed.is_set():
            raise BudgetClosed("the worker is stopping: request not sent")

    def assume_spent(self, account: str) -> None:
        """Count ``account``'s whole window as spent now: what a dead predecessor may have
        sent in the minute before this process started is invisible to it."""
        with self._lock:
            self._limiter.hit(self._account, account, cost=self.per_account)

    def room(self, account: str) -> int:
        """Requests ``account`` may send right now without waiting."""
        with self._lock:
            mine = self._limiter.get_window_stats(self._account, account).remaining
            shared = self._limiter.get_window_stats(self._project, "project").remaining
        return max(0, min(mine, shared))

    def project_room(self) -> int:
        """Requests the project may send right now without waiting, every grant together."""
        with self._lock:
            return int(self._limiter.get_window_stats(self._project, "project").remaining)

    def _wait(self, account: str, cost: int) -> float:
        pairs = ((self._account, account), (self._project, "project"))
        waits = [
            self._limiter.get_window_stats(item, key).reset_time - time.time()
            for item, key in pairs
            if not self._limiter.test(item, key, cost=cost)
        ]
        # The window frees its oldest request at ``reset_time``; a small step past it
        # keeps the loop from spinning on a clock a hair short.
        return max(waits) + 0.01 if waits else 0.0
