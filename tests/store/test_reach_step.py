"""One step of a change's reach in one statement, on SQLite and PostgreSQL (sync.store.reach)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import select

from rules.model import Booking, MatchKind, PatientKey
from sync.store.bookings import mark_bookings_deleted, upsert_bookings
from sync.store.clinics import get_or_create_clinic
from sync.store.conflicts import ConflictFacts, ConflictState, insert_conflict, update_conflict_if
from sync.store.database import session_scope
from sync.store.events import StoredEvent
from sync.store.reach import neighbours
from sync.store.sources import CalendarSource, Provider, add_source
from sync.store.tables import BookingRow

NOW = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
START = datetime(2025, 4, 1, 9, tzinfo=UTC)
ANNA = PatientKey(MatchKind.EMAIL, "anna@example.com")
ANNA_ID = PatientKey(MatchKind.ID, "P1")
NAME = PatientKey(MatchKind.NAME, "anna rivera")


def _source(engine: Engine, clinic: str, url: str) -> CalendarSource:
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, clinic).id
        return add_source(session, clinic_id, Provider.ICS, url, display_name=url, time_zone="UTC")


def _store(engine: Engine, source: CalendarSource, event_id: str, *keys: PatientKey) -> None:
    booking = Booking(id=event_id, uid=event_id, calendar=str(source.id), day=date(2025, 4, 1))
    with session_scope(engine) as session:
        upsert_bookings(
            session, source.id, [StoredEvent(booking, START, START, identity_keys=keys)]
        )


def _rows(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return {
            f"{row.source_id}/{row.provider_event_id}": row.id or 0
            for row in session.exec(select(BookingRow))
        }


def test_a_step_gives_the_rows_keys_and_the_live_copies_of_their_events(engine: Engine) -> None:
    room, hall = _source(engine, "c", "https://x.example/a"), _source(engine, "c", "https://x/b")
    other = _source(engine, "elsewhere", "https://y.example/a")
    _store(engine, room, "b1", ANNA, NAME)
    _store(engine, room, "b2", ANNA)  # the same e-mail: followed by its key, not here
    _store(engine, room, "b3", NAME)  # the same name
    _store(engine, hall, "b1", ANNA_ID)  # a copy of b1 on another calendar
    _store(engine, room, "gone", ANNA)
    _store(engine, other, "b1", ANNA)  # another clinic's event of the same id
    with session_scope(engine) as session:
        mark_bookings_deleted(session, room.id, ["gone"], now=NOW)
    rows = _rows(engine)
    with session_scope(engine) as session:
        step = neighbours(session, room.clinic_id, [rows[f"{room.id}/b1"]])
    assert step.keys == {rows[f"{room.id}/b1"]: {ANNA, NAME}}
    assert step.rows == {rows[f"{room.id}/b1"], rows[f"{hall.id}/b1"]}


def test_a_step_gives_both_rows_of_unresolved_conflicts_only(engine: Engine) -> None:
    room = _source(engine, "c", "https://x.example/a")
    for event_id in ("mn", "botox", "peel", "laser"):
        _store(engine, room, event_id)
    rows = {key.split("/")[1]: row for key, row in _rows(engine).items()}
    with session_scope(engine) as session:
        for public_id, earlier, later in (("c1", "mn", "botox"), ("c2", "peel", "botox")):
            stored, _ = insert_conflict(
                session, room.clinic_id, _facts(public_id, rows, earlier, later), now=NOW
            )
        update_conflict_if(session, stored.id, [ConflictState.OPEN], state=ConflictState.RESOLVED)
        for_later = neighbours(session, room.clinic_id, [rows["botox"]])
        for_earlier = neighbours(session, room.clinic_id, [rows["mn"]])
        for_resolved = neighbours(session, room.clinic_id, [rows["peel"]])
    assert for_later.rows == {rows["botox"], rows["mn"]}
    assert for_earlier.rows == {rows["botox"], rows["mn"]}
    assert for_resolved.rows == {rows["peel"]}


def _facts(public_id: str, rows: dict[str, int], earlier: str, later: str) -> ConflictFacts:
    return ConflictFacts(
        public_id=public_id,
        rule_name="botox-after-microneedling",
        earlier_row_id=rows[earlier],
        later_row_id=rows[later],
        patient_kind="email",
        patient_value="anna@example.com",
        match_kind="email",
        gap_days=0,
    )


def test_a_step_finds_copies_through_the_calendar_and_event_index_without_statistics(
    engine: Engine,
) -> None:
    """Every lookup of bookings in a step goes through an index with its leading column given.

    PostgreSQL plans a step before a large first sync has given the table statistics (or
    with autovacuum off). A join on the event id alone was planned there as a probe of the
    ``(source_id, provider_event_id)`` index by its second column: a scan of the whole index
    for every live row of the clinic (5.7 s a step at 400,000 bookings).
    """
    room, hall = _source(engine, "c", "https://x.example/a"), _source(engine, "c", "https://x/b")
    events = [f"e{n}" for n in range(1500)]
    for source in (room, hall):
        with session_scope(engine) as session:
            upsert_bookings(
                session,
                source.id,
                [
                    StoredEvent(
                        Booking(id=e, uid=e, calendar=str(source.id), day=date(2025, 4, 1)),
                        START,
                        START,
                    )
                    for e in events
                ],
            )
    rows = _rows(engine)
    asked = [rows[f"{room.id}/{e}"] for e in events[:200]]
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    with session_scope(engine) as session:
        event.listen(engine, "before_cursor_execute", record)
        try:
            step = neighbours(session, room.clinic_id, asked)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert step.rows == set(asked) | {rows[f"{hall.id}/{e}"] for e in events[:200]}
        for statement, parameters in statements:
            plan = session.connection().exec_driver_sql("EXPLAIN " + statement, parameters)
            lines = [str(line[-1]) for line in plan]
            assert not _probes_by_event_alone(lines, engine.dialect.name), "\n".join(lines)


def _probes_by_event_alone(plan: list[str], dialect: str) -> bool:
    """Whether a plan searches bookings' unique index without its leading ``source_id``."""
    if dialect == "sqlite":
        return any("SCAN" in line and "bookings" in line for line in plan)
    conditions = [line for line in plan if "Index Cond" in line and "provider_event_id" in line]
    return any("source_id" not in line for line in conditions)
