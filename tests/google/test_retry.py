"""Backoff on Google's rate limits and outages, against the emulator's injected faults.

Follows https://developers.google.com/calendar/api/guides/errors: 403 rate limits, 429 and
5xx are retried with jittered exponential backoff (or after Retry-After); quota
exhaustion is not retried soon. Sleeps are recorded, never waited.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httplib2
import pytest
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from sync.emulator import EmulatorServer
from sync.sources.google import (
    CalendarClient,
    ClientConfig,
    GoogleAuth,
    GoogleCalendarSource,
    RetryPolicy,
)
from sync.sources.google.errors import (
    AuthorizationFailed,
    CalendarNotFound,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
)
from sync.sources.google.retry import call_with_retry, retry_after_seconds


def test_a_429_with_retry_after_waits_that_long_then_succeeds(
    source: GoogleCalendarSource, london: str, emulator: EmulatorServer, sleeps: list[float]
) -> None:
    emulator.inject_fault(status=429, retry_after=7, method="events.list")
    emulator.reset_stats()
    pulled = source.pull(london, None)
    assert (pulled.requests, sleeps) == (2, [7.0])
    assert emulator.stats() == {"events.list": 2}


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded"])
def test_403_rate_limits_back_off_exponentially_with_jitter(
    source: GoogleCalendarSource,
    london: str,
    emulator: EmulatorServer,
    sleeps: list[float],
    reason: str,
) -> None:
    emulator.inject_fault(status=403, reason=reason, count=3, method="events.list")
    assert source.pull(london, None).requests == 4
    assert sleeps == [0.5, 1.0, 2.0]  # random() = 0.5 of 1, 2, 4 seconds


def test_a_500_storm_gives_up_after_the_allowed_attempts(
    source: GoogleCalendarSource, london: str, emulator: EmulatorServer, sleeps: list[float]
) -> None:
    emulator.inject_fault(status=500, count=10, method="events.list")
    with pytest.raises(ProviderUnavailable, match=r"HTTP 500 backendError.*gave up after 4"):
        source.pull(london, None)
    assert len(sleeps) == 3
    assert emulator.stats()["events.list"] == 4


def test_the_total_wait_is_bounded(
    client: CalendarClient, london: str, emulator: EmulatorServer, sleeps: list[float]
) -> None:
    policy = RetryPolicy(max_attempts=10, max_total_wait=30, sleep=sleeps.append)
    emulator.inject_fault(status=503, retry_after=20, count=5, method="events.list")
    with pytest.raises(ProviderUnavailable):
        GoogleCalendarSource(client, retry=policy).pull(london, None)
    assert sleeps == [20.0]


def test_quota_exhaustion_is_not_retried_and_says_when_to_come_back(
    source: GoogleCalendarSource, london: str, emulator: EmulatorServer, sleeps: list[float]
) -> None:
    emulator.inject_fault(status=403, reason="quotaExceeded", count=5, method="events.list")
    with pytest.raises(QuotaExhausted) as caught:
        source.pull(london, None)
    assert (sleeps, emulator.stats()["events.list"]) == ([], 1)
    assert isinstance(caught.value, RateLimited)
    assert caught.value.retry_after == 60 * 1.125  # the per-minute window, jittered


@pytest.mark.parametrize(
    ("status", "reason", "kind", "retried"),
    [
        (403, "rateLimitExceeded", RateLimited, True),
        (403, "userRateLimitExceeded", RateLimited, True),
        (429, "rateLimitExceeded", RateLimited, True),
        (403, "quotaExceeded", QuotaExhausted, False),
    ],
)
def test_googles_slow_down_answers_are_told_apart_as_its_errors_guide_does(
    status: int,
    reason: str,
    kind: type[RateLimited],
    retried: bool,
    source: GoogleCalendarSource,
    london: str,
    emulator: EmulatorServer,
    sleeps: list[float],
) -> None:
    emulator.inject_fault(status=status, reason=reason, count=9, method="events.list")
    with pytest.raises(kind) as caught:
        source.pull(london, None)
    assert type(caught.value) is kind
    assert bool(sleeps) is retried
    if not retried:
        assert caught.value.retry_after == 60 * 1.125


def test_forbidden_means_the_clinic_must_reconnect(
    source: GoogleCalendarSource, london: str, emulator: EmulatorServer, sleeps: list[float]
) -> None:
    emulator.inject_fault(status=403, reason="forbidden", method="events.list")
    with pytest.raises(AuthorizationFailed, match="reconnect"):
        source.pull(london, None)
    assert sleeps == []


def test_an_unknown_calendar_is_a_setup_error(source: GoogleCalendarSource) -> None:
    with pytest.raises(CalendarNotFound, match="HTTP 404"):
        source.pull("nobody@clinic.example", None)


def test_an_unreachable_endpoint_is_retried_then_reported(
    sleeps: list[float], retry: RetryPolicy
) -> None:
    with EmulatorServer() as gone:
        url = gone.url
    client = CalendarClient(ClientConfig(endpoint=url, auth=GoogleAuth.NONE, timeout=2))
    try:
        with pytest.raises(ProviderUnavailable, match="cannot reach Google"):
            GoogleCalendarSource(client, retry=retry).pull("primary", None)
    finally:
        client.close()
    assert len(sleeps) == 3


def test_retry_after_may_be_an_http_date() -> None:
    response = httplib2.Response({"status": 503, "retry-after": "Wed, 01 Jan 2030 12:00:30 GMT"})
    error = HttpError(response, b"{}")
    assert retry_after_seconds(error, now=datetime(2030, 1, 1, 12, tzinfo=UTC)) == 30.0


def test_a_refused_token_refresh_means_reconnect_not_a_crash() -> None:
    """google-auth raises RefreshError outside HttpError when a grant is revoked."""

    def refused() -> None:
        raise RefreshError("invalid_grant: Token has been expired or revoked.")

    with pytest.raises(AuthorizationFailed, match="connect google") as caught:
        call_with_retry(refused, "events.list", RetryPolicy(sleep=lambda _: None))
    assert caught.value.reason == "invalid_grant"
