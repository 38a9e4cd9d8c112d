"""Periodic full reconciliation: what push or incremental sync missed is corrected, and counted.

Google: push notifications are "not 100% reliable" (https://developers.google.com/calendar/api/guides/push).
Changes are lost here the way a crashed or buggy consumer loses them: the sync token moves
on without them being applied. Emulator, real client, SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from sync.sources.google import GoogleCalendarSource
from sync.store.audit import list_audit_events
from sync.store.database import session_scope
from sync.store.events import content_columns, event_from_row
from sync.store.sources import save_sync_token
from sync.store.tables import BookingRow
from sync.usecases.pull import BookingReader, CalendarPull, pull_clinic
from tests.google.conftest import NOW, connect, live_summaries, source_state

Insert = Callable[..., dict[str, Any]]
DAY = timedelta(days=1)


def _pull(
    engine: Engine, source: GoogleCalendarSource, reader: BookingReader, after: timedelta, **kw: Any
) -> CalendarPull:
    (pull,) = pull_clinic(engine, source, reader, "default", now=NOW + after, **kw).calendars
    assert pull.ok
    return pull


def test_an_untouched_calendar_reconciles_daily_with_nothing_to_correct(
    engine: Engine, source: GoogleCalendarSource, reader: BookingReader, london: str, insert: Insert
) -> None:
    connected = connect(engine, london)
    insert(london, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
    assert not _pull(engine, source, reader, timedelta(0)).reconciled  # first sync: full anyway
    assert not _pull(engine, source, reader, timedelta(hours=23)).full
    pull = _pull(engine, source, reader, DAY)
    assert (pull.full, pull.reconciled, pull.corrections, pull.requests) == (True, True, 0, 1)
    after = source_state(engine, connected)
    assert (after.last_reconciled_at, after.reconcile_corrections) == (NOW + DAY, 0)
    assert not _pull(engine, source, reader, DAY + timedelta(hours=1)).full
    with session_scope(engine) as session:
        assert list_audit_events(session, connected.clinic_id) == []


def test_changes_incremental_sync_missed_are_corrected_and_recorded(
    engine: Engine,
    source: GoogleCalendarSource,
    reader: BookingReader,
    london: str,
    insert: Insert,
    service: Any,
) -> None:
    connected = connect(engine, london)
    moved = insert(london, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
    dropped = insert(london, "Botox Ann Lee", "2030-01-11T10:00:00+00:00")
    _pull(engine, source, reader, timedelta(0))
    added = insert(london, "Microneedling Jane Doe", "2030-01-02T10:00:00+00:00")
    service.events().delete(calendarId=london, eventId=dropped["id"]).execute()
    body = {"summary": "Botox Jane Doe (moved)"}
    service.events().patch(calendarId=london, eventId=moved["id"], body=body).execute()
    lost = source.pull(london, source_state(engine, connected).sync_token)  # read, never applied
    with session_scope(engine) as session:
        save_sync_token(session, connected.id, lost.cursor)

    assert _pull(engine, source, reader, timedelta(hours=2)).seen == 0  # missed
    pull = _pull(engine, source, reader, DAY)
    assert (pull.reconciled, pull.inserted, pull.updated, pull.deleted) == (True, 1, 1, 1)
    assert pull.corrections == 3
    with session_scope(engine) as session:
        (audit,) = list_audit_events(session, connected.clinic_id)
    assert live_summaries(engine) == {
        added["id"]: "Microneedling Jane Doe",
        moved["id"]: "Botox Jane Doe (moved)",
    }
    assert (audit.action, audit.calendar_source_id) == ("calendar.reconciled", connected.id)
    assert audit.detail == {"corrections": 3, "inserted": 1, "updated": 1, "deleted": 1}
    assert source_state(engine, connected).reconcile_corrections == 3


def test_reconciliation_can_be_turned_off(
    engine: Engine, source: GoogleCalendarSource, reader: BookingReader, london: str
) -> None:
    connect(engine, london)
    _pull(engine, source, reader, timedelta(0))
    assert not _pull(engine, source, reader, 30 * DAY, reconcile_every=None).full


def _hashed_before_links(row: Any) -> str:
    """The content hash a booking was stored with before bookings kept Google's htmlLink."""
    columns = content_columns(event_from_row(row))
    del columns["html_link"], columns["content_hash"]

    def plain(value: Any) -> str:
        return value.timestamp().hex() if isinstance(value, datetime) else str(value)

    text = json.dumps(columns, sort_keys=True, separators=(",", ":"), default=plain)
    return hashlib.sha256(text.encode()).hexdigest()


def _links(engine: Engine) -> dict[str, str | None]:
    with session_scope(engine) as session:
        rows = session.execute(select(BookingRow.provider_event_id, BookingRow.html_link))
        return dict(rows.all())


def test_an_upgrade_to_stored_links_corrects_nothing_yet_fills_every_link(
    engine: Engine, source: GoogleCalendarSource, reader: BookingReader, london: str, insert: Insert
) -> None:
    connected = connect(engine, london)
    first = insert(london, "Botox Jane Doe", "2030-01-10T10:00:00+00:00")
    second = insert(london, "Microneedling Ann Lee", "2030-01-12T10:00:00+00:00")
    _pull(engine, source, reader, timedelta(0))
    with session_scope(engine) as session:  # the rows as the release before links left them
        for row in session.execute(select(BookingRow.__table__)).all():
            old = {"html_link": None, "content_hash": _hashed_before_links(row)}
            session.execute(update(BookingRow).where(BookingRow.id == row.id).values(**old))

    pull = _pull(engine, source, reader, DAY)
    assert (pull.reconciled, pull.updated, pull.corrections) == (True, 0, 0)
    assert source_state(engine, connected).reconcile_corrections == 0
    assert _links(engine) == {first["id"]: first["htmlLink"], second["id"]: second["htmlLink"]}
    with session_scope(engine) as session:
        assert list_audit_events(session, connected.clinic_id) == []
