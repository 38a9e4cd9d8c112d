"""What goes wrong with a CalDAV server, split by who must act (SPEC §9)::

    ProviderError (sync.errors)
    ├── CalDavUnavailable     5xx, 429, timeouts, refused connections: retry later
    └── EventChanged          (sync.sources.port) 412 on If-Match: read again
    SetupError (sync.errors)
    └── CalDavSetupError      the clinic's CalDAV connection must be fixed
        ├── CalDavAuthFailed  401/403: wrong password, or no access to the calendar
        └── CalendarGone      404: the calendar (or the event) is not on the server

Every error of the ``caldav`` package or its HTTP library is translated here, at the
boundary, by :func:`translate`.
"""

from __future__ import annotations

from caldav.lib import error as dav_error

from sync.errors import ClinicSyncError, ProviderError, SetupError

__all__ = [
    "CalDavAuthFailed",
    "CalDavSetupError",
    "CalDavUnavailable",
    "CalendarGone",
    "translate",
]


class CalDavUnavailable(ProviderError):
    """The server failed or could not be reached; the next poll retries."""


class CalDavSetupError(SetupError):
    """The clinic's CalDAV connection must be fixed before this calendar can sync."""


class CalDavAuthFailed(CalDavSetupError):
    """The server refused the account: a changed password, or a calendar no longer shared."""


class CalendarGone(CalDavSetupError):
    """The calendar is not on the server (deleted, or the URL is wrong)."""


def translate(err: Exception, what: str) -> ClinicSyncError:
    """The clinic-sync error for ``err``, raised while doing ``what``."""
    detail = f"{what}: {type(err).__name__}: {_first_line(err)}"
    if isinstance(err, dav_error.AuthorizationError):
        return CalDavAuthFailed(f"{detail} (check the account and its access)")
    if isinstance(err, dav_error.NotFoundError):
        return CalendarGone(f"{detail} (not on the server)")
    if isinstance(err, dav_error.DAVError) and _status(err) in range(400, 500):
        return CalDavSetupError(f"{detail} (the server refused the request)")
    return CalDavUnavailable(f"{detail} (retrying at the next poll)")


def _status(err: dav_error.DAVError) -> int:
    reason = str(getattr(err, "reason", "") or "")
    digits = reason.strip().split(" ", 1)[0]
    return int(digits) if digits.isdigit() else 0


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:300] if lines else ""
