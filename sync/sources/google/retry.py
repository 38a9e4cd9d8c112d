"""Retrying Google calls: exponential backoff with full jitter, honouring ``Retry-After``.

Follows https://developers.google.com/calendar/api/guides/errors and
https://developers.google.com/calendar/api/guides/quota: 403 ``rateLimitExceeded`` /
``userRateLimitExceeded``, 429 and 5xx (and a connection that fails outright) are retried
after ``random() * min(cap, base * 2**attempt)`` seconds ("full jitter"), or after
``Retry-After`` when Google sends it. 403 ``quotaExceeded`` (domain ``usageLimits``) is a
per-minute quota over a sliding window: it is not retried inline, the error carries a
``retry_after`` of one window plus up to a quarter of one in jitter, so the calendar is due
again once the window has moved, and workers that met it together come back apart.
``dailyLimitExceeded`` waits an hour. Each back-off is reported to ``observe``. Attempts and
the total time spent waiting are bounded. The client's own ``num_retries`` is not used: it
ignores ``Retry-After``.

``sleep`` and ``random`` are injectable so tests run without waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httplib2
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from sync.errors import ClinicSyncError
from sync.sources.google.errors import (
    AuthorizationFailed,
    DailyLimitExceeded,
    GoogleProviderError,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    translate_http_error,
)

__all__ = ["RetryPolicy", "call_with_retry", "retry_after_seconds"]

T = TypeVar("T")
_TRANSPORT_ERRORS = (httplib2.HttpLib2Error, OSError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one call before giving up."""

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 32.0
    max_total_wait: float = 120.0
    """Seconds of waiting, summed over the retries of one call, never exceeded."""
    quota_window: float = 60.0
    """Google's per-minute quotas are counted over this sliding window, in seconds."""
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False)
    observe: Callable[[GoogleProviderError, float], None] | None = field(
        default=None, compare=False
    )
    """Told of every back-off Google asked for (a rate limit or quota), with its wait."""

    def quota_wait(self) -> float:
        """How long to leave a calendar after a per-minute quota: the window, jittered."""
        return self.quota_window * (1.0 + 0.25 * self.random())

    def backoff(self, attempt: int) -> float:
        """The full-jitter wait before retry number ``attempt`` (0-based)."""
        return self.random() * min(self.max_delay, self.base_delay * 2.0**attempt)


def call_with_retry(
    call: Callable[[], T],
    what: str,
    policy: RetryPolicy,
    on_attempt: Callable[[], None] | None = None,
) -> T:
    """``call()``, retried on rate limits and outages; Google's errors come out translated."""
    waited = 0.0
    for attempt in range(policy.max_attempts):
        if on_attempt is not None:
            on_attempt()
        try:
            return call()
        except RefreshError as err:
            # An expired access token whose refresh Google refuses (invalid_grant, revoked
            # consent) surfaces here, outside HttpError: the clinic must reconnect.
            hint = "run `clinic-sync connect google`"
            message = f"{what}: Google refused the stored grant ({err}); {hint}"
            raise AuthorizationFailed(message, reason="invalid_grant") from err
        except (HttpError, *_TRANSPORT_ERRORS) as err:
            error = _translate(err, what)
            _wait_out_quota(error, policy)
            delay = _delay(error, attempt, policy)
            _observe(error, delay, policy)
            last = attempt + 1 == policy.max_attempts
            if delay is None or last or waited + delay > policy.max_total_wait:
                raise _giving_up(error, attempt + 1) from err
        policy.sleep(delay)
        waited += delay
    raise AssertionError("unreachable: the loop returns or raises")


def retry_after_seconds(err: HttpError, now: datetime | None = None) -> float | None:
    """Google's ``Retry-After`` (seconds or an HTTP date) as seconds, when present."""
    value = err.resp.get("retry-after") if err.resp is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _translate(err: Exception, what: str) -> ClinicSyncError:
    if isinstance(err, HttpError):
        return translate_http_error(err, what, retry_after_seconds(err))
    return ProviderUnavailable(f"{what}: cannot reach Google ({type(err).__name__}: {err})")


def _wait_out_quota(error: ClinicSyncError, policy: RetryPolicy) -> None:
    quota = isinstance(error, QuotaExhausted) and not isinstance(error, DailyLimitExceeded)
    if quota and isinstance(error, GoogleProviderError) and error.retry_after is None:
        error.retry_after = policy.quota_wait()


def _observe(error: ClinicSyncError, delay: float | None, policy: RetryPolicy) -> None:
    if policy.observe is None or not isinstance(error, RateLimited):
        return
    wait = delay if delay is not None else error.retry_after
    policy.observe(error, wait or 0.0)


def _delay(error: ClinicSyncError, attempt: int, policy: RetryPolicy) -> float | None:
    """How long to wait before trying again, or ``None`` when trying again is pointless."""
    retryable = isinstance(error, RateLimited | ProviderUnavailable)
    if not retryable or isinstance(error, QuotaExhausted):
        return None
    assert isinstance(error, GoogleProviderError)
    if error.retry_after is not None:
        return error.retry_after
    return policy.backoff(attempt)


def _giving_up(error: ClinicSyncError, attempts: int) -> ClinicSyncError:
    if attempts > 1:
        error.args = (f"{error} (gave up after {attempts} attempts)",)
    return error
