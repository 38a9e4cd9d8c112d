"""An unreadable event of an .ics subscription is quarantined, visible, and cleared once fixed.

The real .ics URL source over loopback, the pull use case, SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Engine

from rules.vocabulary import Matcher
from sync.policy_file import load_policy
from sync.sources.icsurl import IcsUrlSource
from sync.store.bookings import list_bookings
from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from sync.store.quarantine import list_quarantined
from sync.store.sources import CalendarSource, Provider, add_source, get_source
from sync.usecases.pull import BookingReader, pull_calendar
from tests.icsurl.conftest import NOW, FeedServer, vevent
from tests.store.conftest import blank_engine, engine, postgres_unreachable

__all__ = ["blank_engine", "engine", "postgres_unreachable"]

READER = BookingReader(Matcher(load_policy()))
BROKEN = "\r\n".join(
    [
        "BEGIN:VEVENT",
        "UID:broken-1",
        "DTSTAMP:20291201T000000Z",
        "SUMMARY:Botox Ann Lee",
        "END:VEVENT",
    ]
)


def _connect(engine: Engine, url: str) -> CalendarSource:
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, "default").id
        return add_source(
            session, clinic_id, Provider.ICS, url, display_name="Dr Smith", time_zone="UTC", now=NOW
        )


def _pull(engine: Engine, source: IcsUrlSource, connected: CalendarSource) -> None:
    with session_scope(engine) as session:
        current = get_source(session, connected.id)
    assert pull_calendar(engine, source, READER, current, now=NOW).ok


def test_a_broken_event_is_quarantined_then_cleared_when_fixed(
    engine: Engine, feed: FeedServer, ics_source: IcsUrlSource
) -> None:
    good = vevent("good-1", "Botox Jane Doe", "20300110T100000Z")
    feed.serve(good, BROKEN)
    connected = _connect(engine, feed.url)
    _pull(engine, ics_source, connected)
    with session_scope(engine) as session:
        assert [b.id for b in list_bookings(session, connected.clinic_id)] == ["good-1"]
        (held,) = list_quarantined(session, connected.clinic_id)
    assert (held.event_id, held.calendar, held.attempts) == ("broken-1", feed.url, 1)
    assert held.reason

    feed.serve(good, vevent("broken-1", "Botox Ann Lee", "20300111T100000Z"))
    _pull(engine, ics_source, connected)
    with session_scope(engine) as session:
        assert sorted(b.id for b in list_bookings(session, connected.clinic_id)) == [
            "broken-1",
            "good-1",
        ]
        assert list_quarantined(session, connected.clinic_id) == []


def test_a_parser_fault_costs_its_calendar_a_recorded_failure_never_the_pass(
    engine: Engine, feed: FeedServer, ics_source: IcsUrlSource
) -> None:
    """Whatever a provider adapter raises, the pull records it instead of raising."""
    broken = "\r\n".join(
        ["BEGIN:VEVENT", "UID:broken-2", "DTSTART:not-a-date", "SUMMARY:Botox", "END:VEVENT"]
    )
    feed.serve(vevent("good-1", "Botox Jane Doe", "20300110T100000Z"), broken)
    connected = _connect(engine, feed.url)
    pull = pull_calendar(engine, ics_source, READER, connected, now=NOW)
    with session_scope(engine) as session:
        state = get_source(session, connected.id)
        held = [event.event_id for event in list_quarantined(session, connected.clinic_id)]
    if pull.ok:  # the parser skips the broken event: it is quarantined
        assert held == ["broken-2"]
    else:  # the parser failed as a whole: the calendar's failure is recorded, with why
        assert (state.consecutive_failures, state.last_error) == (1, pull.error)
