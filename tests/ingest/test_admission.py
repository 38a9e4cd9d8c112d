"""The ingest boundary on its own: cleaning and bounds, then storing one event at a time
when the database refuses a chunk (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from rules.model import Attendee, Booking, MatchKind, PatientKey
from sync.ingest import admit, clean_line, clean_text, fit_reading, settle_quarantine, store_events
from sync.ingest import text as text_module
from sync.ingest.text import MAX_ATTENDEES, MAX_SUMMARY, Unadmissible
from sync.sources.port import ChangeSet, SkippedEvent
from sync.store.bookings import load_events
from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from sync.store.events import StoredEvent
from sync.store.quarantine import list_quarantined
from sync.store.sources import CalendarSource, Provider, add_source
from tests.store.conftest import blank_engine, engine, postgres_unreachable

__all__ = ["blank_engine", "engine", "postgres_unreachable"]

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


def _event(event_id: str, summary: str = "Botox Jane Doe", **fields: Any) -> StoredEvent:
    booking = Booking(
        id=event_id,
        uid=event_id,
        calendar="Dr Smith",
        day=date(2030, 1, 10),
        summary=summary,
        **fields,
    )
    start = datetime(2030, 1, 10, 10, tzinfo=LONDON)
    return StoredEvent(booking=booking, start=start, end=start)


def _source(engine: Engine) -> CalendarSource:
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, "default").id
        return add_source(
            session, clinic_id, Provider.GOOGLE, "dr@x", display_name="Dr", time_zone="UTC"
        )


def test_control_characters_and_lone_surrogates_are_removed_tabs_kept_in_free_text() -> None:
    assert clean_line("a\x00b\tc\nd\x7f\x85e\ud83d") == "abcde"
    assert clean_text("a\x00b\tc\nd\ud800") == "ab\tc\nd"
    assert clean_line("😀 Xéomin") == "😀 Xéomin"


def test_fields_are_cut_to_their_columns_and_named() -> None:
    event = _event(
        "e1",
        summary="Botox",
        patient_id="P" * 300,
        calendar_email="c" * 400,
        attendees=tuple(Attendee(email=f"p{n}@x.org") for n in range(MAX_ATTENDEES + 5)),
    )
    admitted = admit(event)
    assert admitted.booking.patient_id == "P" * 256
    assert len(admitted.booking.calendar_email) == 320
    assert len(admitted.booking.attendees) == MAX_ATTENDEES
    assert admitted.cut == ("attendees", "calendar_email", "patient_id")
    assert admit(_event("e2")).cut == ()


@pytest.mark.parametrize("bad", ["abc\x00def", "x" * 1025, "abc\ud83d"])
def test_ids_are_never_altered_an_event_whose_id_does_not_fit_is_refused(bad: str) -> None:
    with pytest.raises(Unadmissible, match="id"):
        admit(_event(bad))


def test_an_event_already_clean_and_within_bounds_is_admitted_as_it_is() -> None:
    attendee = Attendee(email="jane@example.com", response="accepted")
    event = replace(
        _event("e1", attendees=(attendee,), patient_id="P1"),
        etag='"1"',
        html_link="https://calendar.google.com/event?eid=e1",
        private_properties={"patient": "P1"},
    )
    assert admit(event) is event
    cleaned = admit(replace(event, html_link="https://calendar.google.com/a b"))
    assert cleaned.html_link is None
    assert cleaned.booking is event.booking, "only what changed is copied"


def test_long_patient_keys_are_cut_consistently() -> None:
    key = PatientKey(MatchKind.NAME, "jane" + "x" * 600)
    read = replace(admit(_event("e1")), patient=key, identity_keys=(key,))
    fitted = fit_reading(read)
    assert fitted.patient is not None
    assert len(fitted.patient.value) == 512
    assert fitted.identity_keys == (fitted.patient,)
    assert fitted.cut == ("patient",)


def test_a_chunk_the_database_refuses_costs_only_the_refused_event(engine: Engine) -> None:
    """An event that skipped the boundary (a lone surrogate) fails its SAVEPOINT alone."""
    source = _source(engine)
    events = [_event("good-1"), _event("bad-1", "Botox \ud83d"), _event("good-2")]
    with session_scope(engine) as session:
        stored = store_events(session, source.id, events, now=NOW)
        changes = ChangeSet(events=tuple(events), removed=(), cursor=None, full=False)
        counts = settle_quarantine(session, source.id, changes, stored.failed, stored.ids, now=NOW)
    assert sorted(stored.inserted) == ["good-1", "good-2"]
    assert [failed.event_id for failed in stored.failed] == ["bad-1"]
    assert "\ud83d" not in stored.failed[0].reason
    assert (counts.new, counts.total) == (1, 1)
    with session_scope(engine) as session:
        assert sorted(load_events(session, source.id, ["good-1", "good-2", "bad-1"])) == [
            "good-1",
            "good-2",
        ]
        (held,) = list_quarantined(session, source.clinic_id)
    assert held.event_id == "bad-1"


def test_quarantine_is_cleared_when_stored_removed_or_no_longer_listed(engine: Engine) -> None:
    source = _source(engine)
    bad = [SkippedEvent(name, "unreadable") for name in ("a", "b", "c", "\x00d" * 900)]
    incremental = ChangeSet(events=(), removed=("b",), cursor=None, full=False)
    with session_scope(engine) as session:
        counts = settle_quarantine(session, source.id, incremental, bad, [], now=NOW)
        assert (counts.new, counts.total) == (4, 4)
        counts = settle_quarantine(session, source.id, incremental, [], ["a"], now=NOW)
        assert counts.total == 2
        assert len(list_quarantined(session, source.clinic_id)[0].event_id) <= 1024
        full = ChangeSet(events=(), removed=(), cursor=None, full=True)
        counts = settle_quarantine(session, source.id, full, bad[2:3], [], now=NOW)
        assert (counts.new, counts.total) == (0, 1)
        (held,) = list_quarantined(session, source.clinic_id)
    assert (held.event_id, held.attempts) == ("c", 2)


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("https://www.google.com/calendar/event?eid=YWJj", True),
        ("javascript:alert(1)", False),
        ("http://www.google.com/calendar/event?eid=YWJj", False),
        ("https://www.google.com/calendar/event?eid=a b", False),
        ("https://www.google.com/calendar/event?eid=a\x00b", False),
        ("https://www.google.com/" + "a" * 2100, False),  # never cut: a cut link opens nothing
    ],
)
def test_only_an_exact_https_web_link_is_kept_for_the_admin_ui_to_open(
    link: str, kept: bool
) -> None:
    admitted = admit(replace(_event("e1"), html_link=link))
    assert admitted.html_link == (link if kept else None)


_FIELD_TEXT = st.text(
    st.sampled_from(["a", "é", " ", "\t", "\n", "\x00", "\x85", "\ud800", "😀"]), max_size=6
)


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(_FIELD_TEXT, min_size=9, max_size=9),
    long=st.sampled_from([None, "uid", "summary", "etag", "attendee", "property"]),
    link=st.sampled_from([None, "https://calendar.example/e", "http://x", "https://a b"]),
    patient_id=st.sampled_from([None, "", "P-1", "P\x001"]),
)
def test_the_quick_check_of_a_clean_event_agrees_with_cleaning_each_field(
    texts: list[str], long: str | None, link: str | None, patient_id: str | None
) -> None:
    """``admit`` hands back an event as it is only when cleaning it field by field would."""
    uid, calendar, summary, description, email, response, key, value, etag = texts
    limits = {"uid": 1024, "summary": MAX_SUMMARY, "etag": 256, "attendee": 320, "property": 1024}
    padding = {
        name: "x" * (limits[name] + 1 if name == long else limits[name] - 6) for name in limits
    }
    booking = Booking(
        id="e1",
        uid=uid + padding["uid"],
        calendar=calendar,
        day=date(2030, 1, 2),
        summary=summary + padding["summary"],
        description=description,
        attendees=(Attendee(email=email + padding["attendee"], response=response),),
        calendar_email=email,
        organizer_email=calendar,
        patient_id=patient_id,
    )
    event = StoredEvent(
        booking=booking,
        start=datetime(2030, 1, 2, 10, tzinfo=UTC),
        end=datetime(2030, 1, 2, 11, tzinfo=UTC),
        etag=etag + padding["etag"],
        private_properties={key: value + padding["property"]},
        html_link=link,
    )
    fieldwise = text_module._cleaned(event)
    assert admit(event) == fieldwise
    assert (admit(event) is event) == (fieldwise is event)
