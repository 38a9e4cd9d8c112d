"""Google's JSON error responses, as the emulator raises and serialises them.

Follows https://developers.google.com/calendar/api/guides/errors: every error is
``{"error": {"errors": [{"domain", "reason", "message"}], "code", "message"}}``.

Error tree::

    ApiError                 one failed API call, carrying status, reason and domain
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = ["ApiError", "error_body"]

_DEFAULT_DOMAIN = {
    "rateLimitExceeded": "usageLimits",
    "userRateLimitExceeded": "usageLimits",
    "quotaExceeded": "usageLimits",
    "dailyLimitExceeded": "usageLimits",
}


@dataclass
class ApiError(Exception):
    """An API call that fails with Google's status, reason and message."""

    status: int
    reason: str
    message: str
    domain: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.reason}: {self.message}")
        if not self.domain:
            self.domain = _DEFAULT_DOMAIN.get(self.reason, "global")

    @classmethod
    def bad_request(cls, message: str, reason: str = "invalid") -> ApiError:
        """400: the request itself is wrong."""
        return cls(400, reason, message)

    @classmethod
    def not_found(cls) -> ApiError:
        """404: no such calendar, event or channel."""
        return cls(404, "notFound", "Not Found")

    @classmethod
    def deleted(cls) -> ApiError:
        """410: the resource was already deleted."""
        return cls(410, "deleted", "Resource has been deleted")

    @classmethod
    def sync_token_gone(cls) -> ApiError:
        """410: https://developers.google.com/calendar/api/guides/sync (full sync required)."""
        return cls(
            410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."
        )

    @classmethod
    def precondition_failed(cls) -> ApiError:
        """412: If-Match named an etag that is no longer current."""
        return cls(412, "conditionNotMet", "Precondition Failed", domain="global")

    @classmethod
    def duplicate(cls) -> ApiError:
        """409: an event with the requested identifier already exists."""
        return cls(409, "duplicate", "The requested identifier already exists.")


def error_body(error: ApiError) -> bytes:
    """The JSON body Google sends for ``error``."""
    item = {"domain": error.domain, "reason": error.reason, "message": error.message}
    body = {"error": {"errors": [item], "code": error.status, "message": error.message}}
    return json.dumps(body).encode()
