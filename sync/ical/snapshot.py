"""What an iCalendar source saw last time, kept in the pull cursor (SPEC §9).

Sources that read whole iCalendar documents (an .ics subscription, CalDAV resources
without RFC 6578 sync tokens) find what changed by comparing with what they saw before.
That snapshot travels in the opaque cursor the port already stores for each calendar:
JSON, zlib-compressed and base64url-encoded behind a ``kind:`` prefix, so a cursor of
another kind or version — or a damaged one — reads as "no cursor" and the source lists
in full. Event hashes are :func:`sync.store.events.content_columns`' hash, which leaves
out the ETag and the provider's timestamps: a re-served unchanged event is unchanged.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sync.store.events import StoredEvent, content_columns

__all__ = ["EventDiff", "decode_cursor", "diff_events", "encode_cursor", "event_hashes"]

_HASH_LENGTH = 20  # 80 bits: collisions between two versions of one event are not a concern


def encode_cursor(kind: str, state: Mapping[str, Any]) -> str:
    """``state`` as an opaque cursor of ``kind``."""
    packed = zlib.compress(json.dumps(state, separators=(",", ":"), sort_keys=True).encode())
    return f"{kind}:{base64.urlsafe_b64encode(packed).decode('ascii')}"


def decode_cursor(kind: str, cursor: str | None) -> dict[str, Any] | None:
    """The state in a cursor of ``kind``; ``None`` when it is absent, foreign or damaged."""
    if not cursor or not cursor.startswith(f"{kind}:"):
        return None
    try:
        packed = base64.urlsafe_b64decode(cursor[len(kind) + 1 :].encode("ascii"))
        state = json.loads(zlib.decompress(packed))
    except (binascii.Error, zlib.error, ValueError, UnicodeError):
        return None
    return state if isinstance(state, dict) else None


def event_hashes(events: Iterable[StoredEvent]) -> dict[str, str]:
    """Booking id → a hash of what the booking holds."""
    return {
        event.booking.id: content_columns(event)["content_hash"][:_HASH_LENGTH] for event in events
    }


@dataclass(frozen=True, slots=True)
class EventDiff:
    """The events that are new or changed against a snapshot, the ids gone, the new hashes."""

    changed: tuple[StoredEvent, ...]
    removed: tuple[str, ...]
    hashes: dict[str, str]


def diff_events(before: Mapping[str, str], now: Iterable[StoredEvent]) -> EventDiff:
    """Compare the events read now with the hashes seen before."""
    events = list(now)
    hashes = event_hashes(events)
    changed = [
        event for event in events if before.get(event.booking.id) != hashes[event.booking.id]
    ]
    removed = [booking_id for booking_id in before if booking_id not in hashes]
    return EventDiff(tuple(changed), tuple(removed), hashes)
