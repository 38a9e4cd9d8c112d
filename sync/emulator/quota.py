"""Google's per-minute Calendar API quotas, enforced when asked (a fault mode of the emulator).

https://developers.google.com/calendar/api/guides/quota: two quotas, per minute per project
and per minute per user per project, counted over a sliding window; a batch of ``n``
requests counts as ``n`` (https://developers.google.com/calendar/api/guides/batch), which
holds here because every part of a batch is admitted like a call of its own. A call over
a quota is answered as https://developers.google.com/calendar/api/guides/errors shows:
403 ``userRateLimitExceeded`` over the user's share, 403 ``rateLimitExceeded`` over the
project's, both in the ``usageLimits`` domain. Refused calls are not counted.

The user is told apart by the grant behind the access token when tokens are required
(:mod:`sync.emulator.oauth`: a refreshed token is still the same user), else by the
``Authorization`` header; calls without one are one anonymous user.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from sync.emulator.errors import ApiError

__all__ = ["Quota", "QuotaLimiter"]


@dataclass(frozen=True)
class Quota:
    """Limits per window (60 s, like Google's); ``None`` leaves that quota unenforced."""

    per_user: int | None = None
    per_project: int | None = None
    window: int = 60

    @classmethod
    def from_json(cls, data: Any) -> Quota:
        """A quota from its JSON form; ValueError says what is wrong."""
        if not isinstance(data, dict) or set(data) - {"per_user", "per_project", "window"}:
            raise ValueError("a quota is an object of per_user, per_project and window")
        quota = cls(**data)
        for name in ("per_user", "per_project", "window"):
            value = getattr(quota, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        return quota

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class QuotaLimiter:
    """Counts calls against the armed quota and refuses those over it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._quota = Quota()
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self.refused = 0
        self.busiest = 0
        """The most calls admitted in any one window so far (60 s unless set otherwise)."""
        self._recent: deque[float] = deque()

    @property
    def quota(self) -> Quota:
        return self._quota

    def set(self, quota: Quota) -> None:
        """Enforce ``quota`` from now on, with empty windows."""
        with self._lock:
            self._quota = quota
            self._limiter = MovingWindowRateLimiter(MemoryStorage())
            self.refused = 0
            self.busiest = 0
            self._recent.clear()

    def admit(self, user: str) -> None:
        """Count one call by ``user``; :class:`ApiError` when it is over a quota."""
        with self._lock:
            quota = self._quota
            checks = [
                (_item(quota.per_user, quota.window), f"user:{user}", "userRateLimitExceeded"),
                (_item(quota.per_project, quota.window), "project", "rateLimitExceeded"),
            ]
            armed = [(item, key, reason) for item, key, reason in checks if item is not None]
            for item, key, reason in armed:
                if not self._limiter.test(item, key):
                    self.refused += 1
                    raise ApiError(403, reason, _MESSAGES[reason])
            for item, key, _ in armed:
                self._limiter.hit(item, key)
            self._count(quota.window)

    def _count(self, window: int) -> None:
        now = time.monotonic()
        self._recent.append(now)
        while self._recent[0] <= now - window:
            self._recent.popleft()
        self.busiest = max(self.busiest, len(self._recent))


_MESSAGES = {
    "userRateLimitExceeded": "User Rate Limit Exceeded",
    "rateLimitExceeded": "Rate Limit Exceeded",
}


def _item(limit: int | None, window: int) -> RateLimitItem | None:
    return None if limit is None else RateLimitItemPerSecond(limit, window)
