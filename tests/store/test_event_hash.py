"""The content hash of a stored event is the one rows already hold (sync.store.events)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rules.model import Attendee, Booking, MatchKind, PatientKey
from sync.store.events import StoredEvent, content_columns


def _as_before(columns: dict[str, Any]) -> str:
    """The hash as the store has always computed it: the columns as JSON, instants by value."""

    def plain(value: Any) -> str:
        return value.timestamp().hex() if isinstance(value, datetime) else str(value)

    # The web link came later and was never hashed: where an event opens is not what it says.
    body = {k: v for k, v in columns.items() if k not in ("content_hash", "html_link")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=plain)
    return hashlib.sha256(text.encode()).hexdigest()


def _event(**extra: Any) -> StoredEvent:
    zone = ZoneInfo("Europe/Paris")
    start = datetime(2026, 3, 29, 1, 30, tzinfo=zone)
    booking = Booking(
        id="evt1",
        uid="evt1@google.com",
        calendar="room1@clinic.example",
        day=date(2026, 3, 29),
        summary="Botox Jane Doe — 20u",
        description="<b>notes</b>",
        attendees=(
            Attendee("jane@example.com", response="accepted"),
            Attendee("room1@clinic.example", organizer=True, is_self=True, resource=True),
        ),
        patient_id="P-1",
    )
    return StoredEvent(booking=booking, start=start, end=start + timedelta(hours=2), **extra)


def test_hash_is_unchanged_for_events_with_attendees_zones_and_extras() -> None:
    events = [
        _event(),
        _event(
            updated=datetime(2026, 3, 1, tzinfo=UTC),
            private_properties={"b": "2", "a": "1"},
            categories=("neurotoxin", "neurotoxin"),
            patient=PatientKey(MatchKind.ID, "P-1"),
            match=MatchKind.ID,
            cut=("description",),
        ),
    ]
    for event in events:
        columns = content_columns(event)
        assert columns["content_hash"] == _as_before(columns)
        assert columns["attendees"] == [asdict(a) for a in event.booking.attendees]


def test_same_instant_in_another_zone_hashes_the_same_and_another_instant_does_not() -> None:
    event = _event()
    in_utc = StoredEvent(
        booking=event.booking, start=event.start.astimezone(UTC), end=event.end.astimezone(UTC)
    )
    later = StoredEvent(booking=event.booking, start=event.start, end=event.end + timedelta(1))
    assert content_columns(in_utc)["content_hash"] == content_columns(event)["content_hash"]
    assert content_columns(later)["content_hash"] != content_columns(event)["content_hash"]
