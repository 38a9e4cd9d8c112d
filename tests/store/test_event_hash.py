"""The content hash of a stored event is the one rows already hold (sync.store.events)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

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


_TEXT = st.text(
    st.sampled_from(["a", "é", '"', "\\", "\n", "\x00", "\ud800", "😀", "ß"]), max_size=5
)


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(_TEXT, min_size=4, max_size=4),
    attendees=st.lists(st.builds(Attendee, email=_TEXT, response=_TEXT), max_size=2),
    properties=st.dictionaries(_TEXT, _TEXT, max_size=2),
    categories=st.lists(_TEXT, max_size=2),
    patient=st.none() | st.builds(PatientKey, st.sampled_from(MatchKind), _TEXT),
    all_day=st.booleans(),
    cancelled=st.booleans(),
    patient_id=st.none() | _TEXT,
)
def test_hash_is_the_json_of_the_columns_whatever_they_hold(
    texts: list[str],
    attendees: list[Attendee],
    properties: dict[str, str],
    categories: list[str],
    patient: PatientKey | None,
    all_day: bool,
    cancelled: bool,
    patient_id: str | None,
) -> None:
    """The hash's text, written a column at a time, is the JSON the store always hashed."""
    summary, description, uid, series = texts
    base = _event()
    booking = replace(
        base.booking,
        uid=uid,
        summary=summary,
        description=description,
        attendees=tuple(attendees),
        cancelled=cancelled,
        patient_id=patient_id,
    )
    event = replace(
        base,
        booking=booking,
        all_day=all_day,
        recurring_event_id=series or None,
        private_properties=properties,
        categories=tuple(categories),
        patient=patient,
        match=patient.kind if patient else None,
    )
    columns = content_columns(event)
    assert columns["content_hash"] == _as_before(columns)


def test_an_event_read_as_the_engine_read_it_is_the_event_with_those_fields_replaced() -> None:
    """``read_as`` keeps every other field: it is ``dataclasses.replace`` spelt out."""
    event = _event(
        updated=datetime(2026, 3, 1, tzinfo=UTC),
        etag='"1"',
        recurring_event_id="series",
        private_properties={"a": "1"},
        cut=("description",),
        html_link="https://calendar.example/e",
        all_day=True,
    )
    key = PatientKey(MatchKind.ID, "P-1")
    read = event.read_as(("neurotoxin",), key, MatchKind.ID, (key,))
    expected = replace(
        event, categories=("neurotoxin",), patient=key, match=MatchKind.ID, identity_keys=(key,)
    )
    assert read == expected
    assert {f.name: getattr(read, f.name) for f in fields(read)} == {
        f.name: getattr(expected, f.name) for f in fields(expected)
    }
