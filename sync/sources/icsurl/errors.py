"""What goes wrong with an .ics subscription, split by who must act (SPEC §9)::

ProviderError (sync.errors)
└── FeedUnavailable    the server failed (5xx, 429, timeout, refused): retry later
SetupError (sync.errors)
├── FeedRejected       the URL is wrong, gone or forbidden (4xx), or not iCalendar
└── CalendarReadOnly (sync.sources.port)
    └── ReadOnlySource a subscription cannot be written: flags are skipped
"""

from __future__ import annotations

from sync.errors import ProviderError, SetupError
from sync.sources.port import CalendarReadOnly

__all__ = ["FeedRejected", "FeedUnavailable", "ReadOnlySource"]


class FeedUnavailable(ProviderError):
    """The subscription's server failed or could not be reached; the next poll retries."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FeedRejected(SetupError):
    """The subscription URL does not serve a calendar: the clinic must fix it."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ReadOnlySource(CalendarReadOnly):
    """An .ics subscription is read-only: a flag cannot be written to it (record it as skipped)."""
