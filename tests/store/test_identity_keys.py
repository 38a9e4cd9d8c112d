"""Bookings keep every identity key they carry; conflicts are stored once under races."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import select

from rules.model import Booking, MatchKind, PatientKey
from sync.store.bookings import mark_bookings_cancelled, mark_bookings_deleted, upsert_bookings
from sync.store.clinics import get_or_create_clinic
from sync.store.conflicts import (
    ConflictFacts,
    ConflictState,
    insert_conflict,
    live_copies,
    rows_of_events,
    update_conflict_if,
)
from sync.store.database import session_scope
from sync.store.events import StoredEvent
from sync.store.identity_keys import keys_by_row, name_carriers, refresh_keys, rows_with_keys
from sync.store.sources import CalendarSource, Provider, add_source
from sync.store.tables import BookingIdentityKeyRow, BookingRow

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
START = datetime(2025, 4, 1, 9, tzinfo=UTC)
ID = PatientKey(MatchKind.ID, "P1")
ANNA = PatientKey(MatchKind.EMAIL, "anna@example.com")
NAME = PatientKey(MatchKind.NAME, "anna rivera")


def _source(engine: Engine, url: str = "https://x.example/a.ics") -> CalendarSource:
    with session_scope(engine) as session:
        clinic = get_or_create_clinic(session, "rivera")
        return add_source(session, clinic.id, Provider.ICS, url, display_name=url, time_zone="UTC")


def _event(event_id: str, keys: tuple[PatientKey, ...] | None) -> StoredEvent:
    booking = Booking(id=event_id, uid=event_id, calendar="a", day=date(2025, 4, 1))
    return StoredEvent(booking, START, START, identity_keys=keys)


def _rows(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return {
            f"{row.source_id}/{row.provider_event_id}": row.id or 0
            for row in session.exec(select(BookingRow))
        }


def _keys(engine: Engine, row_id: int) -> frozenset[PatientKey]:
    with session_scope(engine) as session:
        return keys_by_row(session, [row_id]).get(row_id, frozenset())


def test_an_upsert_stores_every_key_of_the_booking(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [_event("b1", (ID, ANNA, NAME))], now=NOW)
    [row_id] = _rows(engine).values()
    assert _keys(engine, row_id) == {ID, ANNA, NAME}


def test_the_same_keys_again_change_nothing(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [_event("b1", (ID, NAME))], now=NOW)
        again = upsert_bookings(session, source.id, [_event("b1", (NAME, ID))], now=NOW)
    assert again.unchanged == ("b1",)
    assert again.retired_keys == ()


def test_keys_that_change_alone_count_as_an_update_and_report_what_was_lost(
    engine: Engine,
) -> None:
    """The text is the same but reads differently (another policy): detection must know."""
    source = _source(engine)
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [_event("b1", (ID, ANNA, NAME))], now=NOW)
        result = upsert_bookings(session, source.id, [_event("b1", (NAME,))], now=NOW)
    assert result.updated == ("b1",)
    assert set(result.retired_keys) == {ID, ANNA}
    [row_id] = _rows(engine).values()
    assert _keys(engine, row_id) == {NAME}


def test_events_not_read_for_keys_keep_the_stored_ones(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [_event("b1", (ID,))], now=NOW)
        cancelled = mark_bookings_cancelled(session, source.id, ["b1"], now=NOW)
    assert cancelled.updated == ("b1",)
    [row_id] = _rows(engine).values()
    assert _keys(engine, row_id) == {ID}


def test_only_live_bookings_are_found_by_key(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        events = [_event("b1", (ANNA,)), _event("b2", (ANNA, NAME)), _event("b3", (NAME,))]
        upsert_bookings(session, source.id, events, now=NOW)
        mark_bookings_deleted(session, source.id, ["b3"], now=NOW)
    rows = _rows(engine)
    with session_scope(engine) as session:
        found = rows_with_keys(session, source.clinic_id, [NAME])
        assert found == {rows[f"{source.id}/b2"]}
        assert keys_by_row(session, [rows[f"{source.id}/b3"]])  # a deleted booking keeps its keys


def test_a_page_of_a_names_carriers_is_one_index_range_not_a_sort_of_them_all(
    engine: Engine,
) -> None:
    source = _source(engine)
    events = [
        _event(f"b{n}", (PatientKey(MatchKind.EMAIL, f"p{n}@x.example"), NAME)) for n in range(6)
    ]
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, events, now=NOW)
    rows = sorted(_rows(engine).values())
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    days = (date(2025, 1, 1), date(2025, 12, 31))
    event.listen(engine, "before_cursor_execute", record)
    try:
        with session_scope(engine) as session:
            page = name_carriers(
                session, source.clinic_id, NAME.value, days=days, after=rows[1], limit=2
            )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert page == rows[2:4]
    if engine.dialect.name == "sqlite":
        [(statement, parameters)] = seen
        with engine.connect() as connection:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        # the rows after ``after`` in id order from the index, not every carrier sorted
        assert not [step for step in plan if "TEMP B-TREE" in step[-1]], plan


def test_keys_by_row_read_as_a_range_or_by_lists_give_each_asked_row_its_own(
    engine: Engine,
) -> None:
    """A page of one clinic's rows is one range of the index; rows of another clinic and
    rows not asked for inside it are left out, and scattered rows are read by lists."""
    mine, theirs = _source(engine), _source(engine, "https://x.example/b.ics")
    with session_scope(engine) as session:
        other = get_or_create_clinic(session, "other")
        theirs = add_source(
            session,
            other.id,
            Provider.ICS,
            "https://y.example/c.ics",
            display_name="c",
            time_zone="UTC",
        )
        for n in range(700):  # the two clinics' rows interleave by id
            source = mine if n % 2 else theirs
            key = PatientKey(MatchKind.EMAIL, f"p{n}@x.example")
            upsert_bookings(session, source.id, [_event(f"b{n}", (key, NAME))], now=NOW)
    rows = _rows(engine)
    ours = sorted(row for name, row in rows.items() if name.startswith(f"{mine.id}/"))
    dense, scattered = ours[10:60], ours[::70]  # one range; far apart (IN lists)
    with session_scope(engine) as session:
        for asked in (dense, scattered, ours):
            found = keys_by_row(session, asked)
            assert set(found) == set(asked)
            for row in asked:
                assert found[row] == keys_by_row(session, [row])[row]
                assert NAME in found[row]
                assert len(found[row]) == 2
        assert keys_by_row(session, []) == {}


def test_a_key_too_long_for_the_column_is_stored_as_its_digest(engine: Engine) -> None:
    source = _source(engine)
    long_name = PatientKey(MatchKind.NAME, "anna " * 200)
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [_event("b1", (long_name,))], now=NOW)
        again = upsert_bookings(session, source.id, [_event("b1", (long_name,))], now=NOW)
        assert rows_with_keys(session, source.clinic_id, [long_name])
    assert again.unchanged == ("b1",)


def test_refreshing_keys_rewrites_only_those_that_differ(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [_event("b1", None), _event("b2", (ID,))], now=NOW)
    rows = _rows(engine)
    b1, b2 = rows[f"{source.id}/b1"], rows[f"{source.id}/b2"]
    with session_scope(engine) as session:
        assert refresh_keys(session, source.clinic_id, {b1: (ANNA,), b2: (ID,)}) == 1
        assert refresh_keys(session, source.clinic_id, {b1: (ANNA,), b2: (ID,)}) == 0
    assert _keys(engine, b1) == {ANNA}


def test_copies_of_one_event_are_found_on_every_calendar(engine: Engine) -> None:
    first, second = _source(engine), _source(engine, "https://x.example/b.ics")
    with session_scope(engine) as session:
        upsert_bookings(session, first.id, [_event("b1", ()), _event("b2", ())], now=NOW)
        upsert_bookings(session, second.id, [_event("b1", ())], now=NOW)
        mark_bookings_deleted(session, second.id, ["b1"], now=NOW)
    rows = _rows(engine)
    with session_scope(engine) as session:
        every = rows_of_events(session, first.clinic_id, ["b1"])
        assert every == {rows[f"{first.id}/b1"], rows[f"{second.id}/b1"]}
        live = live_copies(session, first.clinic_id, [rows[f"{second.id}/b1"]])
        assert live == {rows[f"{first.id}/b1"]}


def test_deleting_a_booking_row_deletes_its_keys(engine: Engine) -> None:
    source = _source(engine)
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [_event("b1", (ID, ANNA))], now=NOW)
    with session_scope(engine) as session:
        for row in session.exec(select(BookingRow)):
            session.delete(row)
    with session_scope(engine) as session:
        assert list(session.exec(select(BookingIdentityKeyRow))) == []


def _facts(engine: Engine, source: CalendarSource) -> ConflictFacts:
    with session_scope(engine) as session:
        upsert_bookings(session, source.id, [_event("mn", ()), _event("botox", ())], now=NOW)
    rows = _rows(engine)
    return ConflictFacts(
        public_id="c0ffee",
        rule_name="botox-after-microneedling",
        earlier_row_id=rows[f"{source.id}/mn"],
        later_row_id=rows[f"{source.id}/botox"],
        patient_kind="email",
        patient_value="anna@example.com",
        match_kind="email",
        gap_days=0,
    )


def test_a_conflict_stored_twice_is_stored_once(engine: Engine) -> None:
    """The second insert finds the first (another worker's) instead of failing."""
    source = _source(engine)
    facts = _facts(engine, source)
    with session_scope(engine) as session:
        first, created = insert_conflict(session, source.clinic_id, facts, now=NOW)
    with session_scope(engine) as session:
        second, again = insert_conflict(session, source.clinic_id, facts, now=NOW)
    assert (created, again) == (True, False)
    assert second == first


def test_a_conditional_update_changes_a_conflict_once(engine: Engine) -> None:
    source = _source(engine)
    facts = _facts(engine, source)
    with session_scope(engine) as session:
        stored, _ = insert_conflict(session, source.clinic_id, facts, now=NOW)
        unresolved = [ConflictState.OPEN, ConflictState.FLAGGED]
        done = update_conflict_if(session, stored.id, unresolved, state=ConflictState.RESOLVED)
        again = update_conflict_if(session, stored.id, unresolved, state=ConflictState.RESOLVED)
    assert done is not None
    assert done.state is ConflictState.RESOLVED
    assert again is None
