"""Access roles: what an account may read and write on a calendar it sees.

A calendarList entry's ``accessRole`` is one of ``freeBusyReader``, ``reader``, ``writer``
and ``owner`` (https://developers.google.com/calendar/api/v3/reference/calendarList):

- ``freeBusyReader`` reads free/busy information only, so events come back as busy blocks
  without their details;
- ``reader`` reads events, but private ones (``visibility: private``) without their details;
- ``writer`` also writes events; ``owner`` also manages the calendar itself.

Writes below the needed level answer 403 ``requiredAccessLevel``
(https://developers.google.com/calendar/api/guides/errors).
"""

from __future__ import annotations

from typing import Any

from sync.emulator.errors import ApiError

__all__ = ["ROLES", "require", "role_at_least", "visible_part"]

Json = dict[str, Any]
ROLES = ("freeBusyReader", "reader", "writer", "owner")
# What a busy block keeps: enough to place and identify it, none of what staff wrote.
_BUSY_FIELDS = frozenset(
    {
        "kind", "etag", "id", "status", "start", "end", "recurringEventId",
        "originalStartTime", "updated", "created", "transparency", "eventType",
        "iCalUID", "sequence", "visibility",
    }
)  # fmt: skip


def role_at_least(role: str, level: str) -> bool:
    """Whether ``role`` grants at least what ``level`` grants."""
    return ROLES.index(role) >= ROLES.index(level)


def require(role: str, level: str) -> None:
    """403 requiredAccessLevel unless ``role`` reaches ``level``."""
    if not role_at_least(role, level):
        raise ApiError.access_required(level)


def visible_part(event: Json, role: str) -> Json:
    """``event`` as an account with ``role`` sees it."""
    hidden = role == "freeBusyReader" or (
        role == "reader" and event.get("visibility") in ("private", "confidential")
    )
    if not hidden:
        return event
    return {k: v for k, v in event.items() if k in _BUSY_FIELDS}
