"""Bookings round-trip as core records; batches upsert by content hash in one lookup."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime, Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from rules.model import Attendee, Booking, MatchKind, PatientKey
from sync.store import bulk
from sync.store.bookings import (
    list_bookings,
    list_patient_bookings,
    live_pages,
    live_removed,
    load_events,
    mark_bookings_cancelled,
    mark_bookings_deleted,
    upsert_bookings,
)
from sync.store.clinics import get_or_create_clinic
from sync.store.columns import NaiveDatetimeError, UtcDateTime
from sync.store.conflicts import copies_by_row, flag_properties, load_copies
from sync.store.database import session_scope
from sync.store.errors import ConstraintViolation
from sync.store.events import EventStatus, StoredEvent, booking_from_row
from sync.store.sources import CalendarSource, Provider, add_source
from sync.store.tables import BookingRow

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
ANNA = PatientKey(MatchKind.EMAIL, "anna@example.com")


def _source(engine: Engine, external_id: str = "room1@clinic.example") -> CalendarSource:
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, "rivera")
        return add_source(
            session,
            clinic.id,
            Provider.GOOGLE,
            external_id,
            display_name=external_id,
            time_zone="Europe/Paris",
        )


def _event(event_id: str, day: date, summary: str = "Botox 20u", **extra: Any) -> StoredEvent:
    start = datetime(day.year, day.month, day.day, 10, 0, tzinfo=PARIS)
    booking = Booking(
        id=event_id,
        uid=f"{event_id}@google.com",
        calendar="room1@clinic.example",
        day=day,
        summary=summary,
        description="Service: Botox\nPatient: Anna Lopez",
        attendees=(
            Attendee("room1@clinic.example", organizer=True, is_self=True),
            Attendee("anna@example.com", response="accepted"),
        ),
        calendar_email="room1@clinic.example",
        organizer_email="room1@clinic.example",
        patient_id="P-17",
    )
    values: dict[str, Any] = {
        "start": start,
        "end": start + timedelta(minutes=45),
        "etag": '"3181161784712000"',
        "updated": NOW,
        "private_properties": {"patient_id": "P-17"},
        "categories": ("neuromodulator",),
        "patient": ANNA,
        "match": MatchKind.EMAIL,
    }
    values.update(extra)
    return StoredEvent(booking=booking, **values)


@contextmanager
def _counting_selects(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _revisions(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(col(BookingRow.provider_event_id), col(BookingRow.revision))
        )
        return {str(event_id): int(revision) for event_id, revision in rows}


def test_booking_round_trips_with_attendees_zones_and_extras(engine: Engine) -> None:
    source = _source(engine)
    stored = _event("evt1", date(2025, 3, 30))  # the day Paris moves to summer time
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [stored], now=NOW)
    with session_scope(engine) as session:
        assert list_bookings(session, source.clinic_id) == [stored.booking]
        loaded = load_events(session, source.id, ["evt1"])["evt1"]
    assert loaded == stored
    assert loaded.start.tzinfo is UTC
    assert loaded.start == datetime(2025, 3, 30, 8, 0, tzinfo=UTC)
    assert loaded.updated == NOW


def test_a_copy_makes_its_stored_event_from_the_row_when_first_asked(engine: Engine) -> None:
    source = _source(engine)
    stored = _event("evt1", date(2025, 3, 30))
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [stored], now=NOW)
    with session_scope(engine) as session:
        [copy] = load_copies(session, source.clinic_id)
        assert copies_by_row(session, [copy.row_id]) == {copy.row_id: copy}
    assert copy.booking == stored.booking
    assert copy.private_properties == stored.private_properties
    assert copy.event == stored
    assert copy.event is copy.event, "made once"
    assert copy.event.booking is copy.booking


def test_live_pages_read_a_clinics_live_rows_in_order_with_dates_and_documents_decoded(
    engine: Engine,
) -> None:
    ours, theirs = _source(engine), _source(engine, "room2@clinic.example")
    with session_scope(engine) as session:
        other = get_or_create_clinic(session, "other").id
        elsewhere = add_source(
            session, other, Provider.GOOGLE, "x@clinic.example", display_name="x", time_zone="UTC"
        )
    events = [_event(f"evt{n}", date(2025, 3, 1 + n)) for n in range(7)]
    bare = replace(events[6].booking, attendees=())
    events[6] = replace(events[6], booking=bare, private_properties={})
    with session_scope(engine) as session:
        for n, stored in enumerate(events):  # the clinics' rows interleaved
            upsert_bookings(session, (ours, theirs)[n % 2].id, [stored], now=NOW)
            upsert_bookings(session, elsewhere.id, [_event(f"far{n}", stored.booking.day)], now=NOW)
        mark_bookings_deleted(session, ours.id, ["evt2"], now=NOW)
        columns = (
            *("id", "provider_event_id", "ical_uid", "calendar", "day", "summary"),
            *("description", "status", "attendees", "calendar_email", "organizer_email"),
            *("explicit_patient_id", "private_properties"),
        )
        pages = list(live_pages(session, ours.clinic_id, columns, size=2))
        whole = {copy.row_id: copy for copy in load_copies(session, ours.clinic_id)}
    assert [len(page) for page in pages] == [2, 2, 2]
    records = [record for page in pages for record in page]
    assert [r.provider_event_id for r in records] == [f"evt{n}" for n in (0, 1, 3, 4, 5, 6)]
    assert [r.id for r in records] == sorted(r.id for r in records)
    for record in records:
        copy = whole[record.id]
        assert record.day == copy.booking.day
        assert isinstance(record.day, date)
        assert record.private_properties == copy.private_properties
        assert booking_from_row(record) == copy.booking
    assert records[0].attendees == [
        {
            "email": "room1@clinic.example",
            "organizer": True,
            "is_self": True,
            "resource": False,
            "response": "needsAction",
        },
        {
            "email": "anna@example.com",
            "organizer": False,
            "is_self": False,
            "resource": False,
            "response": "accepted",
        },
    ]
    assert records[-1].attendees == []
    assert records[-1].private_properties == {}


def test_flag_properties_read_what_each_row_carries_by_event_id(engine: Engine) -> None:
    source = _source(engine)
    flagged = _event("evt1", date(2025, 3, 3), private_properties={"clinic_sync_conflicts": "c1"})
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [flagged, _event("evt2", date(2025, 3, 4))], now=NOW)
        rows = {copy.booking.id: copy.row_id for copy in load_copies(session, source.clinic_id)}
        assert flag_properties(session, source.clinic_id, rows.values()) == {
            "evt1": {"clinic_sync_conflicts": "c1"},
            "evt2": {"patient_id": "P-17"},
        }
        assert flag_properties(session, source.clinic_id, [rows["evt2"]]) == {
            "evt2": {"patient_id": "P-17"}
        }
        assert flag_properties(session, source.clinic_id, []) == {}
        other = get_or_create_clinic(session, "other").id
        assert flag_properties(session, other, rows.values()) == {}, "another clinic's rows"


def test_unchanged_events_keep_their_revision_and_changed_ones_bump_it(engine: Engine) -> None:
    source = _source(engine)
    first = [_event(f"evt{n}", date(2025, 4, n)) for n in (1, 2, 3)]
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, first, now=NOW)
    second = [first[0], replace(first[1], etag='"new"'), _event("evt3", date(2025, 4, 4))]
    second.append(_event("evt4", date(2025, 4, 5)))
    with session_scope(engine) as session:
        result = upsert_bookings(session, source.id, second, now=NOW + timedelta(minutes=1))
    assert result.inserted == ("evt4",)
    assert result.updated == ("evt3",)
    assert set(result.unchanged) == {"evt1", "evt2"}, "an ETag alone is not a content change"
    assert _revisions(engine) == {"evt1": 1, "evt2": 1, "evt3": 2, "evt4": 1}
    with session_scope(engine) as session:
        assert load_events(session, source.id, ["evt2"])["evt2"].etag == '"new"'


def test_batch_loads_existing_rows_in_one_query(engine: Engine) -> None:
    source = _source(engine)
    events = [_event(f"evt{n}", date(2025, 5, n)) for n in range(1, 21)]
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, events, now=NOW)
    with _counting_selects(engine) as selects, session_scope(engine) as session:
        upsert_bookings(session, source.id, events, now=NOW)
    booking_selects = [s for s in selects if "FROM bookings" in s]
    assert len(booking_selects) == 1


@contextmanager
def _counting_writes(engine: Engine) -> Iterator[list[str]]:
    """Each round trip that writes: an executemany counts once, as the database sees it."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_page_of_new_changed_and_seen_again_events_takes_a_handful_of_statements(
    engine: Engine,
) -> None:
    """300 new, then 100 changed, 100 seen again and 100 new: a handful of statements each."""
    source = _source(engine)
    first = [_event(f"evt{n}", date(2025, 5, 1) + timedelta(days=n % 60)) for n in range(300)]
    with _counting_writes(engine) as writes, session_scope(engine) as session:
        result = upsert_bookings(session, source.id, first, now=NOW)
    assert len(result.inserted) == 300
    assert len(writes) <= 3  # the bookings, their identity keys
    second = [replace(e, booking=replace(e.booking, summary="Dysport")) for e in first[:100]]
    second += first[100:200]
    second += [_event(f"new{n}", date(2025, 6, 1)) for n in range(100)]
    with _counting_writes(engine) as writes, session_scope(engine) as session:
        result = upsert_bookings(session, source.id, second, now=NOW + timedelta(minutes=1))
    assert (len(result.inserted), len(result.updated), len(result.unchanged)) == (100, 100, 100)
    assert len(writes) <= 4  # changed and new, seen again, the new rows' keys
    revisions = _revisions(engine)
    assert (revisions["evt0"], revisions["evt150"], revisions["new0"]) == (2, 1, 1)
    with session_scope(engine) as session:
        assert load_events(session, source.id, ["evt0"])["evt0"].booking.summary == "Dysport"


def test_cancelled_bookings_stay_listed_as_cancelled(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [_event("evt1", date(2025, 4, 1))], now=NOW)
        result = mark_bookings_cancelled(session, source.id, ["evt1", "unknown"], now=NOW)
    assert result.updated == ("evt1",)
    with session_scope(engine) as session:
        (booking,) = list_bookings(session, source.clinic_id)
        status = load_events(session, source.id, ["evt1"])["evt1"].status
    assert booking.cancelled
    assert status is EventStatus.CANCELLED


def test_deleted_bookings_leave_the_listings_and_come_back_when_seen_again(engine: Engine) -> None:
    source = _source(engine)
    stored = _event("evt1", date(2025, 4, 1))
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [stored], now=NOW)
        assert mark_bookings_deleted(session, source.id, ["evt1"], now=NOW) == 1
        assert mark_bookings_deleted(session, source.id, ["evt1"], now=NOW) == 0
        assert list_bookings(session, source.clinic_id) == []
        assert load_events(session, source.id, ["evt1"]) == {}
        assert upsert_bookings(session, source.id, [stored], now=NOW).updated == ("evt1",)
        assert list_bookings(session, source.clinic_id) == [stored.booking]


def test_a_removal_finds_the_event_and_its_series_instances_by_index(engine: Engine) -> None:
    source, other = _source(engine), _source(engine, "room2@clinic.example")
    days = [date(2025, 4, n) for n in range(1, 6)]
    events = [
        _event("single", days[0]),
        *(_event(f"ser_{n}", day, recurring_event_id="ser") for n, day in enumerate(days[1:4])),
        _event("ser_R20250410", days[4], recurring_event_id="ser_R20250410"),  # another series
        _event("kept", days[0]),
    ]
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, events, now=NOW)
        upsert_bookings(session, other.id, [_event("single", days[0])], now=NOW)
        mark_bookings_deleted(session, source.id, ["ser_2"], now=NOW)
        with _counting_selects(engine) as statements:
            gone = live_removed(session, source.id, ["single", "ser", "unknown"])
    assert gone == {"single", "ser_0", "ser_1"}
    assert len(statements) == 1
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            plan = connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statements[0]}",
                (source.id, "single", "ser", "unknown", source.id, "single", "ser", "unknown"),
            ).all()
        reads = [step[-1] for step in plan if " bookings " in f"{step[-1]} "]
        # each branch one index range of the removed ids, not the calendar's (source_id=?)
        assert len(reads) == 2, plan
        assert all("source_id=? AND" in read for read in reads), plan


def test_bookings_list_by_day_range_across_calendars(engine: Engine) -> None:
    room1, room2 = _source(engine), _source(engine, "room2@clinic.example")
    with session_scope(engine) as session:
        upsert_bookings(session, room2.id, [_event("b", date(2025, 4, 3))], now=NOW)
        upsert_bookings(session, room1.id, [_event("a", date(2025, 4, 1))], now=NOW)
        upsert_bookings(session, room1.id, [_event("c", date(2025, 6, 1))], now=NOW)
        within = list_bookings(
            session, room1.clinic_id, first_day=date(2025, 4, 1), last_day=date(2025, 4, 30)
        )
    assert [booking.id for booking in within] == ["a", "b"]


def test_bookings_are_found_by_patient_keys(engine: Engine) -> None:
    source = _source(engine)
    ben = PatientKey(MatchKind.NAME, "ben ortiz")
    events = [
        _event("anna", date(2025, 4, 1)),
        _event("ben", date(2025, 4, 2), patient=ben, match=MatchKind.NAME),
        _event("nobody", date(2025, 4, 3), patient=None, match=None),
    ]
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, events, now=NOW)
        found = list_patient_bookings(session, source.clinic_id, [ANNA, ben])
        only_ben = list_patient_bookings(session, source.clinic_id, [ben])
        assert list_patient_bookings(session, source.clinic_id, []) == []
    assert [booking.id for booking in found] == ["anna", "ben"]
    assert [booking.id for booking in only_ben] == ["ben"]


def test_same_event_id_twice_in_one_source_is_refused(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [_event("evt1", date(2025, 4, 1))], now=NOW)
    with session_scope(engine) as session:
        row = session.exec(select(BookingRow)).one()
        copy = BookingRow.model_validate(row.model_dump(exclude={"id"}))
    with pytest.raises(ConstraintViolation), session_scope(engine) as session:
        session.add(copy)


def test_same_event_id_on_two_calendars_is_two_bookings(engine: Engine) -> None:
    room1, room2 = _source(engine), _source(engine, "room2@clinic.example")
    with session_scope(engine) as session:
        upsert_bookings(session, room1.id, [_event("shared", date(2025, 4, 1))], now=NOW)
        upsert_bookings(session, room2.id, [_event("shared", date(2025, 4, 1))], now=NOW)
        assert len(list_bookings(session, room1.clinic_id)) == 2


def test_naive_start_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError, match="start"):
        _event("evt1", date(2025, 4, 1), start=datetime(2025, 4, 1, 10, 0))


def test_naive_datetime_never_reaches_the_database(engine: Engine) -> None:
    """Even a row built by hand with a naive instant is refused by the column type."""
    source = _source(engine)
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [_event("evt1", date(2025, 4, 1))], now=NOW)

    def touch_with_naive_time() -> None:
        with session_scope(engine) as session:
            row = session.exec(select(BookingRow)).one()
            row.last_seen_at = datetime(2025, 4, 1, 12, 0)

    with pytest.raises(NaiveDatetimeError, match="naive"):
        touch_with_naive_time()


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from([UTC, PARIS, timezone(timedelta(hours=-9, minutes=-30))]),
    )
)
def test_an_instant_is_written_to_sqlite_as_sqlalchemy_writes_its_utc_wall_time(
    moment: datetime,
) -> None:
    """The column's one-step SQLite text is SQLAlchemy's own DATETIME text of the UTC time."""
    dialect = sqlite.dialect()
    ours = UtcDateTime().bind_processor(dialect)
    theirs = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None
    assert theirs is not None
    assert ours(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))
    with pytest.raises(NaiveDatetimeError):
        ours(moment.replace(tzinfo=None))


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.booleans(),
)
def test_an_instant_is_read_from_sqlite_as_sqlalchemy_reads_it_given_utc(
    wall: datetime, microseconds: bool
) -> None:
    """The column's one-step SQLite reading is SQLAlchemy's own DATETIME reading of the UTC
    wall time, made aware (with or without the microseconds written)."""
    dialect = sqlite.dialect()
    ours = UtcDateTime()._cached_result_processor(dialect, None)
    theirs = DateTime(timezone=True).dialect_impl(dialect).result_processor(dialect, None)
    assert ours is not None
    assert theirs is not None
    text = wall.isoformat(" ", "microseconds" if microseconds else "seconds")
    assert ours(text) == theirs(text).replace(tzinfo=UTC)
    assert ours(text).tzinfo is not None
    assert ours(None) is None


def test_an_instant_of_another_layout_is_read_from_sqlite_the_way_sqlalchemy_reads_it() -> None:
    dialect = sqlite.dialect()
    ours = UtcDateTime()._cached_result_processor(dialect, None)
    assert ours is not None
    assert ours("2030-01-01T10:00:00+02:00") == datetime(2030, 1, 1, 8, tzinfo=UTC)


_DOCUMENTS = st.recursive(
    st.none() | st.text(max_size=3) | st.integers(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()])
@given(document=_DOCUMENTS, day=st.dates())
def test_a_bulk_write_binds_documents_and_days_as_their_columns_own_processors(
    dialect: Any, document: Any, day: date
) -> None:
    """The remembered empty documents and days are what each column's processor gives."""
    for column in ("attendees", "day"):
        impl = BookingRow.__table__.c[column].type.dialect_impl(dialect)  # type: ignore[attr-defined]
        theirs, ours = impl.bind_processor(dialect), bulk._processor(impl, dialect)
        value = document if column == "attendees" else day
        for _ in range(2):  # the second time from memory
            assert _bound(ours, value) == _bound(theirs, value)


def _bound(process: Any, value: Any) -> Any:
    bound = process(value) if process else value
    return getattr(bound, "obj", bound)  # psycopg's Jsonb wrapper, compared by what it holds
