"""Google's JSON error responses, as the emulator raises and serialises them.

Follows https://developers.google.com/calendar/api/guides/errors: every error is::

    {"error": {"errors": [{"domain", "reason", "message", "locationType", "location"}],
               "code", "message", "status"}}

``location``/``locationType`` name the parameter or header at fault (``timeMax``, ``syncToken``,
``If-Match``, ``Authorization``) and are left out when nothing in particular is. ``status`` is
the canonical code Google's APIs pair with the HTTP status
(https://cloud.google.com/apis/design/errors#handling_errors, "HTTP mapping"); it is left out
for statuses that table does not map (410, 412). Other engineers' fault modes build on
:class:`ApiError` so every error the emulator gives has this one shape.

The OAuth endpoints answer in their own shape, ``{"error": …, "error_description": …}``
(RFC 6749 §5.2, https://developers.google.com/identity/protocols/oauth2/web-server).

Error tree::

    ApiError                 one failed API call, carrying status, reason, domain and location
    OAuthError               one failed OAuth request: ``error``, ``description``, HTTP status
    └── AuthorizationError   refused by the authorization endpoint on its own page, not by
                             redirecting (a bad client or redirect URI, a malformed request)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "AuthorizationError", "OAuthError", "error_body"]

_DEFAULT_DOMAIN = {
    "rateLimitExceeded": "usageLimits",
    "userRateLimitExceeded": "usageLimits",
    "quotaExceeded": "usageLimits",
    "dailyLimitExceeded": "usageLimits",
    # The errors guide shows these under the calendar domain.
    "timeRangeEmpty": "calendar",
    "requiredAccessLevel": "calendar",
    "forbiddenForNonOrganizer": "calendar",
    "fullSyncRequired": "calendar",
}
# https://cloud.google.com/apis/design/errors#handling_errors (HTTP mapping of canonical codes).
_CANONICAL_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass
class ApiError(Exception):
    """An API call that fails with Google's status, reason, message and (optional) location."""

    status: int
    reason: str
    message: str
    domain: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    location: str | None = None
    location_type: str | None = None

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.reason}: {self.message}")
        if not self.domain:
            self.domain = _DEFAULT_DOMAIN.get(self.reason, "global")

    @classmethod
    def bad_request(
        cls, message: str, reason: str = "invalid", parameter: str | None = None
    ) -> ApiError:
        """400: the request itself is wrong; ``parameter`` names the query parameter at fault."""
        return cls(400, reason, message, location=parameter, location_type=_kind(parameter))

    @classmethod
    def invalid_value(cls, parameter: str, value: Any) -> ApiError:
        """400 for one bad query parameter, named in ``location`` as the errors guide shows."""
        return cls.bad_request(f"Invalid value for {parameter}: {value!r}", "invalid", parameter)

    @classmethod
    def time_range_empty(cls) -> ApiError:
        """400 timeRangeEmpty at ``timeMax``, the guide's own example for 400."""
        return cls.bad_request("The specified time range is empty.", "timeRangeEmpty", "timeMax")

    @classmethod
    def not_found(cls) -> ApiError:
        """404: no such calendar, event or channel."""
        return cls(404, "notFound", "Not Found")

    @classmethod
    def deleted(cls) -> ApiError:
        """410: the resource was already deleted."""
        return cls(410, "deleted", "Resource has been deleted")

    @classmethod
    def sync_token_gone(cls, parameter: str = "syncToken") -> ApiError:
        """410: https://developers.google.com/calendar/api/guides/sync (full sync required)."""
        message = "Sync token is no longer valid, a full sync is required."
        return cls(410, "fullSyncRequired", message, location=parameter, location_type="parameter")

    @classmethod
    def precondition_failed(cls) -> ApiError:
        """412: If-Match named an etag that is no longer current."""
        message = "Precondition Failed"
        return cls(412, "conditionNotMet", message, location="If-Match", location_type="header")

    @classmethod
    def duplicate(cls) -> ApiError:
        """409: an event with the requested identifier already exists."""
        return cls(409, "duplicate", "The requested identifier already exists.")

    @classmethod
    def access_required(cls, level: str) -> ApiError:
        """403 requiredAccessLevel: the account's accessRole on the calendar is too low."""
        return cls(403, "requiredAccessLevel", f"You need to have {level} access to this calendar.")


class OAuthError(Exception):
    """An OAuth error answer: ``{"error": error, "error_description": description}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def as_json(self) -> dict[str, str]:
        """The JSON body Google sends."""
        return {"error": self.error, "error_description": self.description}


class AuthorizationError(OAuthError):
    """A request the authorization endpoint refuses on its own page, not by redirecting."""


def _kind(parameter: str | None) -> str | None:
    return "parameter" if parameter else None


def error_body(error: ApiError) -> bytes:
    """The JSON body Google sends for ``error``."""
    item: dict[str, Any] = {
        "domain": error.domain,
        "reason": error.reason,
        "message": error.message,
    }
    if error.location:
        item.update({"locationType": error.location_type, "location": error.location})
    body: dict[str, Any] = {"errors": [item], "code": error.status, "message": error.message}
    status = _CANONICAL_STATUS.get(error.status)
    if status:
        body["status"] = status
    return json.dumps({"error": body}).encode()
