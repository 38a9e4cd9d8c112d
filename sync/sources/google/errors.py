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
        │   └── QuotaExhausted   403 quotaExceeded (domain usageLimits): the minute's quota
        │       └── DailyLimitExceeded  403 dailyLimitExceeded: not before tomorrow
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
    "DailyLimitExceeded",
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

# https://developers.google.com/calendar/api/guides/errors: rateLimitExceeded (the
# per-calendar or per-user request rate) and userRateLimitExceeded (a per-user limit of the
# project) ask for exponential backoff; quotaExceeded, whose domain is usageLimits
# ("Calendar usage limits exceeded"), is a quota counted over a sliding per-minute window
# (https://developers.google.com/calendar/api/guides/quota), so waiting out that window is
# enough; only dailyLimitExceeded waits long.
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
QUOTA_REASONS = frozenset({"quotaExceeded"})
QUOTA_DOMAIN = "usageLimits"
DAILY_REASONS = frozenset({"dailyLimitExceeded"})
_DAILY_RETRY_AFTER = 3600.0  # Google resets daily quotas; an hour is a polite first wait


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
    """The project's or user's per-minute quota is used up: wait for the window to move."""


class DailyLimitExceeded(QuotaExhausted):
    """The project's daily quota is used up; retrying soon only burns more of it."""


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
    return _first_error(err).get("reason")


def error_domain(err: HttpError) -> str | None:
    """The ``domain`` of the first error in Google's JSON body (``usageLimits``...)."""
    return _first_error(err).get("domain")


def _first_error(err: HttpError) -> dict[str, str]:
    try:
        body = json.loads(err.content or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    errors = error.get("errors") if isinstance(error, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return {k: str(v) for k, v in errors[0].items() if k in ("reason", "domain") and v}
    return {}


def translate_http_error(
    err: HttpError, what: str, retry_after: float | None = None
) -> ClinicSyncError:
    """The clinic-sync error for ``err``, raised while doing ``what`` ("listing events of X")."""
    status, reason = err.status_code, error_reason(err)
    detail = f"{what}: HTTP {status}" + (f" {reason}" if reason else "")
    kind, note = _classify(status, reason, error_domain(err))
    if issubclass(kind, GoogleSetupError):
        return kind(f"{detail} ({note})", status=status, reason=reason)
    if kind is DailyLimitExceeded and retry_after is None:
        retry_after = _DAILY_RETRY_AFTER
    return kind(f"{detail} ({note})", status=status, reason=reason, retry_after=retry_after)


_Kind = type[GoogleProviderError] | type[GoogleSetupError]


def _classify(status: int, reason: str | None, domain: str | None) -> tuple[_Kind, str]:
    limited = status == 429 or reason in RATE_LIMIT_REASONS
    rules: list[tuple[bool, _Kind, str]] = [
        (status == 410, SyncTokenExpired, "full sync required"),
        (reason in DAILY_REASONS, DailyLimitExceeded, "daily quota used up"),
        (reason in QUOTA_REASONS, QuotaExhausted, "this minute's quota used up"),
        (limited, RateLimited, "rate limited"),
        (status == 403 and domain == QUOTA_DOMAIN, QuotaExhausted, "Calendar usage limits"),
        (status >= 500, ProviderUnavailable, "Google is failing"),
        (status in (401, 403), AuthorizationFailed, "the clinic must reconnect Google"),
        (status == 404, CalendarNotFound, "calendar deleted or no longer shared"),
    ]
    for applies, kind, note in rules:
        if applies:
            return kind, note
    return RequestRejected, "request refused"
