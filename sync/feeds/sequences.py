"""SEQUENCE numbers that rise when an event's content changes (RFC 5545 §3.8.7.4, SPEC §7).

Each UID's last published content hash and sequence are kept in the store. An event
seen for the first time is published with 0; when its content hash differs from the
stored one its sequence goes up by one; otherwise it stays, so unchanged data renders
the same bytes. One UID has one sequence in every feed it appears in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlmodel import Session

from sync.feeds.events import FeedEvent
from sync.store.feeds import EventSequence, load_event_sequences, save_event_sequences

__all__ = ["next_sequences", "publish_sequences"]


def next_sequences(
    events: Iterable[FeedEvent], stored: Mapping[str, EventSequence]
) -> tuple[dict[str, int], list[EventSequence]]:
    """Each event's sequence, and the records that must be saved (new or changed)."""
    numbers: dict[str, int] = {}
    changed: list[EventSequence] = []
    for event in events:
        digest = event.content_hash
        known = stored.get(event.uid)
        if known is not None and known.content_hash == digest:
            numbers[event.uid] = known.sequence
            continue
        number = 0 if known is None else known.sequence + 1
        numbers[event.uid] = number
        changed.append(EventSequence(event.uid, digest, number))
    return numbers, changed


def publish_sequences(
    session: Session, clinic_id: int, events: list[FeedEvent], *, now: datetime
) -> dict[str, int]:
    """The sequences to publish ``events`` with, recording any new or changed ones."""
    stored = load_event_sequences(session, clinic_id, {event.uid for event in events})
    numbers, changed = next_sequences(events, stored)
    if changed:
        save_event_sequences(session, clinic_id, changed, now=now)
    return numbers
