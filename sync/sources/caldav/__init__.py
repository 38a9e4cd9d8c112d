"""CalDAV (RFC 4791) behind the calendar-source port (SPEC §9): iCloud, Fastmail, Nextcloud.

Modules, one concept each: ``source`` (:class:`CalDavSource`: discovery, RFC 6578 or
CTag/ETag sync, conditional writes), ``resource`` (one booking's VEVENT in a resource),
``flags`` (a flag as DESCRIPTION, RFC 7986 COLOR and X- properties), ``connection``
(building the client from a stored credential) and ``errors``. Importing this package
opens no connection.
"""

from __future__ import annotations

from sync.sources.caldav.errors import (
    CalDavAuthFailed,
    CalDavSetupError,
    CalDavUnavailable,
    CalendarGone,
)
from sync.sources.caldav.source import CalDavSource

__all__ = [
    "CalDavAuthFailed",
    "CalDavSetupError",
    "CalDavSource",
    "CalDavUnavailable",
    "CalendarGone",
]
