"""Read-only .ics URL subscriptions behind the calendar-source port (SPEC §9).

Modules: ``source`` (:class:`IcsUrlSource`: conditional GET, snapshot diff) and ``errors``.
Importing this package opens no connection.
"""

from __future__ import annotations

from sync.sources.icsurl.errors import FeedRejected, FeedUnavailable, ReadOnlySource
from sync.sources.icsurl.source import IcsUrlSource

__all__ = ["FeedRejected", "FeedUnavailable", "IcsUrlSource", "ReadOnlySource"]
