"""Google's HTTP errors, translated into clinic-sync's error tree at the adapter boundary.

Statuses and reasons follow https://developers.google.com/calendar/api/guides/errors;
410 on a sync token follows https://developers.google.com/calendar/api/guides/sync.
Each class says who must act and drives behaviour (a 410 means "drop the token and
sync in full", a rate limit means "back off", an authorisation failure means "the
clinic must reconnect")::

    ProviderError (sync.errors)
    └── GoogleProviderError      Google failed a call; ``status`` and ``reason`` say how
        ├── SyncTokenExpired     410: the sync token is gone, a full sync is required
        ├── RateLimited          403 rateLimitExceeded / userRateLimitExceeded, 429
        │   └── QuotaExhausted   403 quotaExceeded / dailyLimitExceeded: not soon
        ├── ProviderUnavailable  5xx, timeouts, refused connections
        └── RequestRejected      any other 4xx: a request Google would not take
    SetupError (sync.errors)
    └── GoogleSetupError         the clinic's Google connection must be fixed
        ├── AuthorizationFailed  401, 403 forbidden: the clinic must reconnect
        ├── CalendarNotFound     404: the calendar is gone or no longer shared
        └── CredentialsError     the credentials file cannot be read or used

``retry_after`` is the number of seconds Google (or our backoff) says to wait before
trying again, when known.
"""

from __future__ import annotations

import json

from googleapiclient.errors import HttpError

from sync.errors import ClinicSyncError, ProviderError, SetupError

__all__ = [
    "AuthorizationFailed",
    "CalendarNotFound",
    "CredentialsError",
    "GoogleProviderError",
    "GoogleSetupError",
    "ProviderUnavailable",
    "QuotaExhausted",
    "RateLimited",
    "RequestRejected",
    "SyncTokenExpired",
    "error_reason",
    "translate_http_error",
]

RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_QUOTA_RETRY_AFTER = 3600.0  # Google resets daily quotas; an hour is a polite first wait


class GoogleProviderError(ProviderError):
    """Google failed a call; the operation may be retried later."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class SyncTokenExpired(GoogleProviderError):
    """HTTP 410: the sync token is no longer valid; drop it and sync in full."""


class RateLimited(GoogleProviderError):
    """Google asked us to slow down (403 rate limit or 429)."""


class QuotaExhausted(RateLimited):
    """The project's or user's quota is used up; retrying soon only burns more of it."""


class ProviderUnavailable(GoogleProviderError):
    """Google answered 5xx, or could not be reached at all."""


class RequestRejected(GoogleProviderError):
    """Google refused a request for a reason we did not expect (400, 409, 412...)."""


class GoogleSetupError(SetupError):
    """The clinic's Google connection must be fixed before this calendar can sync."""

    def __init__(
        self, message: str, *, status: int | None = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class AuthorizationFailed(GoogleSetupError):
    """401, or 403 other than a rate limit: the grant is revoked or lacks access."""


class CalendarNotFound(GoogleSetupError):
    """404: the calendar was deleted or is no longer shared with the account."""


class CredentialsError(GoogleSetupError):
    """The credentials file is missing, unreadable or not the expected kind."""


def error_reason(err: HttpError) -> str | None:
    """The ``reason`` of the first error in Google's JSON body, if there is one."""
    try:
        body = json.loads(err.content or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    errors = body.get("error", {}).get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = errors[0].get("reason")
        return str(reason) if reason else None
    return None


def translate_http_error(
    err: HttpError, what: str, retry_after: float | None = None
) -> ClinicSyncError:
    """The clinic-sync error for ``err``, raised while doing ``what`` ("listing events of X")."""
    status, reason = err.status_code, error_reason(err)
    detail = f"{what}: HTTP {status}" + (f" {reason}" if reason else "")
    kind, note = _classify(status, reason)
    if issubclass(kind, GoogleSetupError):
        return kind(f"{detail} ({note})", status=status, reason=reason)
    if kind is QuotaExhausted and retry_after is None:
        retry_after = _QUOTA_RETRY_AFTER
    return kind(f"{detail} ({note})", status=status, reason=reason, retry_after=retry_after)


_Kind = type[GoogleProviderError] | type[GoogleSetupError]


def _classify(status: int, reason: str | None) -> tuple[_Kind, str]:
    rules: list[tuple[bool, _Kind, str]] = [
        (status == 410, SyncTokenExpired, "full sync required"),
        (reason in QUOTA_REASONS, QuotaExhausted, "quota used up"),
        (status == 429 or reason in RATE_LIMIT_REASONS, RateLimited, "rate limited"),
        (status >= 500, ProviderUnavailable, "Google is failing"),
        (status in (401, 403), AuthorizationFailed, "the clinic must reconnect Google"),
        (status == 404, CalendarNotFound, "calendar deleted or no longer shared"),
    ]
    for applies, kind, note in rules:
        if applies:
            return kind, note
    return RequestRejected, "request refused"
