"""Injected failures: make the next N calls answer like an overloaded or failing Google.

The statuses and reasons are those of https://developers.google.com/calendar/api/guides/errors
(403 rateLimitExceeded / userRateLimitExceeded / quotaExceeded, 429 rateLimitExceeded,
500 and 503 backendError), optionally with ``Retry-After`` and an added delay, and optionally
limited to one API method (``events.list``, ``batch``, ...).
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

from sync.emulator.errors import ApiError

__all__ = ["Fault", "FaultInjector"]

_DEFAULT_REASON = {
    400: "badRequest",
    403: "rateLimitExceeded",
    404: "notFound",
    409: "conflict",
    410: "deleted",
    429: "rateLimitExceeded",
    500: "backendError",
    503: "backendError",
}
_MESSAGES = {
    "rateLimitExceeded": "Rate Limit Exceeded",
    "userRateLimitExceeded": "User Rate Limit Exceeded",
    "quotaExceeded": "Calendar usage limits exceeded.",
    "backendError": "Backend Error",
}


@dataclass(frozen=True)
class Fault:
    """One kind of injected failure, to be served ``count`` times."""

    status: int | None = None
    reason: str | None = None
    count: int = 1
    retry_after: float | None = None
    delay: float = 0.0
    method: str | None = None
    message: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        """A fault from its JSON form; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("a fault must be a JSON object")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        fault = cls(**data)
        fault.check()
        return fault

    def check(self) -> None:
        """ValueError unless the fault is one the emulator can serve."""
        if self.status is not None and not (
            isinstance(self.status, int) and 400 <= self.status <= 599
        ):
            raise ValueError(f"status must be an HTTP error status, not {self.status!r}")
        if self.status is None and not self.delay:
            raise ValueError("a fault needs a status, a delay or both")
        if not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"count must be a positive integer, not {self.count!r}")
        if not isinstance(self.delay, int | float) or self.delay < 0:
            raise ValueError(f"delay must be a non-negative number of seconds, not {self.delay!r}")

    def error(self) -> ApiError | None:
        """The error this fault answers with, or None for a delay-only fault."""
        if self.status is None:
            return None
        reason = self.reason or _DEFAULT_REASON.get(self.status, "backendError")
        message = self.message or _MESSAGES.get(reason, reason)
        headers = (
            {} if self.retry_after is None else {"Retry-After": str(math.ceil(self.retry_after))}
        )
        return ApiError(self.status, reason, message, headers=headers)

    def as_json(self) -> dict[str, Any]:
        """The JSON form, as accepted by :meth:`from_json`."""
        return asdict(self)


class FaultInjector:
    """The armed faults, consumed first-armed-first by matching calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[tuple[Fault, int]] = []

    def add(self, fault: Fault) -> None:
        """Arm ``fault`` for its next ``count`` matching calls."""
        fault.check()
        with self._lock:
            self._armed.append((fault, fault.count))

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()

    def pending(self) -> list[dict[str, Any]]:
        """The armed faults, each with its remaining count."""
        with self._lock:
            return [{**f.as_json(), "count": left} for f, left in self._armed]

    def take(self, method: str) -> Fault | None:
        """The fault to serve to one call of ``method``, consuming one of its uses."""
        with self._lock:
            for index, (fault, left) in enumerate(self._armed):
                if fault.method in (None, method):
                    if left > 1:
                        self._armed[index] = (fault, left - 1)
                    else:
                        del self._armed[index]
                    return fault
        return None
