"""Rendered feeds, kept until the clinic's data or its date changes (SPEC §7: cheap to serve).

Computing eligibility over a clinic reads every booking's title, so a rendered feed is
kept per scope together with the key it was made for: the clinic's data version (a
counter bumped with every change of its bookings) and "today". A request whose key
matches is served from memory, bytes, gzip and ETag included; a changed key renders
again. One entry per scope, least recently used dropped first.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["FeedCache", "RenderedFeed"]

_GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    """A feed's bytes with what HTTP needs to serve them and answer conditional requests.

    ``etag`` is a strong validator: the SHA-256 of the bytes (RFC 9110 §8.8.3); the
    gzip form gets its own (``etag_gzip``) as a different representation must.
    """

    body: bytes
    gzipped: bytes
    etag: str
    etag_gzip: str
    last_modified: datetime

    @classmethod
    def of(cls, body: bytes, last_modified: datetime) -> RenderedFeed:
        digest = hashlib.sha256(body).hexdigest()[:40]
        return cls(
            body=body,
            gzipped=gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0),
            etag=f'"{digest}"',
            etag_gzip=f'"{digest}-gzip"',
            last_modified=last_modified,
        )


class FeedCache:
    """A bounded, thread-safe map of scope → (key, rendered feed)."""

    def __init__(self, max_entries: int = 256) -> None:
        self._max = max_entries
        self._entries: OrderedDict[Hashable, tuple[Hashable, RenderedFeed]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, scope: Hashable, key: Hashable) -> RenderedFeed | None:
        """The feed rendered for ``scope`` under ``key``, if it is still the one kept."""
        with self._lock:
            entry = self._entries.get(scope)
            if entry is None or entry[0] != key:
                return None
            self._entries.move_to_end(scope)
            return entry[1]

    def put(self, scope: Hashable, key: Hashable, feed: RenderedFeed) -> None:
        """Keep ``feed`` for ``scope`` under ``key``, replacing what was kept before."""
        with self._lock:
            self._entries[scope] = (key, feed)
            self._entries.move_to_end(scope)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (a policy or settings change)."""
        with self._lock:
            self._entries.clear()
