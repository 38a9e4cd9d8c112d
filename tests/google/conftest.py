"""Fixtures for the Google adapter: the real client against the emulator, over loopback.

``source`` sees a fixed "now" (2030-01-01) so the scan horizon is known; retries sleep
into a list instead of waiting. ``engine`` comes from the store's fixtures, so pull
tests run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from rules.vocabulary import Matcher
from sync.emulator import EmulatorServer
from sync.policy_file import load_policy
from sync.sources.google import (
    CalendarClient,
    ClientConfig,
    GoogleAuth,
    GoogleCalendarSource,
    RetryPolicy,
)
from sync.store.bookings import list_bookings
from sync.store.clinics import get_clinic, get_or_create_clinic
from sync.store.database import session_scope
from sync.store.sources import CalendarSource, Provider, add_source, get_source
from sync.usecases.pull import BookingReader
from tests.store.conftest import blank_engine, engine, postgres_unreachable

__all__ = ["blank_engine", "engine", "postgres_unreachable"]

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
Json = dict[str, Any]


@pytest.fixture(scope="session")
def _server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def emulator(_server: EmulatorServer) -> EmulatorServer:
    """The emulator in its initial state: no faults, zero counts, only the primary calendar."""
    _server.reset()
    return _server


@pytest.fixture
def client(emulator: EmulatorServer) -> Iterator[CalendarClient]:
    calendar_client = CalendarClient(ClientConfig(endpoint=emulator.url, auth=GoogleAuth.NONE))
    yield calendar_client
    calendar_client.close()


@pytest.fixture
def service(client: CalendarClient) -> Any:
    """The real google-api-python-client service, to set calendars up as staff would."""
    return client.service()


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the retry policy asked for, in order."""
    return []


@pytest.fixture
def retry(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(max_attempts=4, sleep=sleeps.append, random=lambda: 0.5)


@pytest.fixture
def source(client: CalendarClient, retry: RetryPolicy) -> GoogleCalendarSource:
    return GoogleCalendarSource(client, retry=retry, now=lambda: NOW)


@pytest.fixture(scope="session")
def reader() -> BookingReader:
    return BookingReader(Matcher(load_policy()))


@pytest.fixture
def new_calendar(service: Any) -> Callable[..., str]:
    """Create a calendar: ``new_calendar("Dr Smith", "Europe/London")`` → its id."""

    def _create(summary: str = "Dr Smith", zone: str = "Europe/London") -> str:
        body = {"summary": summary, "timeZone": zone}
        return str(service.calendars().insert(body=body).execute()["id"])

    return _create


@pytest.fixture
def london(new_calendar: Callable[..., str]) -> str:
    return new_calendar()


@pytest.fixture
def insert(service: Any) -> Callable[..., Json]:
    """Insert a timed event: ``insert(cal, "Botox Jane Doe", "2030-01-10T10:00:00Z")``."""

    def _insert(calendar_id: str, summary: str, start: str, hours: int = 1, **fields: Any) -> Json:
        begin = datetime.fromisoformat(start)
        end = begin + timedelta(hours=hours)
        body = {
            "summary": summary,
            "start": {"dateTime": begin.isoformat()},
            "end": {"dateTime": end.isoformat()},
            **fields,
        }
        return dict(service.events().insert(calendarId=calendar_id, body=body).execute())

    return _insert


def connect(engine: Engine, calendar_id: str, clinic: str = "default") -> CalendarSource:
    """Connect ``calendar_id`` to ``clinic`` in the store."""
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, clinic).id
        return add_source(
            session,
            clinic_id,
            Provider.GOOGLE,
            calendar_id,
            display_name=calendar_id,
            time_zone="Europe/London",
            now=NOW,
        )


def source_state(engine: Engine, source: CalendarSource) -> CalendarSource:
    """``source`` as the store holds it now."""
    with session_scope(engine) as session:
        return get_source(session, source.id)


def live_summaries(engine: Engine, clinic: str = "default") -> dict[str, str]:
    """The live bookings of ``clinic``: id → title."""
    with session_scope(engine) as session:
        bookings = list_bookings(session, get_clinic(session, clinic).id)
    return {booking.id: booking.summary for booking in bookings}


UNSTORABLE_REASON = "recurring event id is 1100 characters"


def seed_unstorable(emulator: EmulatorServer, calendar_id: str, start: datetime) -> Json:
    """An event replayed from an export (as a seed is) whose series id the store cannot hold."""
    body = {
        "summary": "Botox Ann Lee",
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
        "recurringEventId": "r" * 1100,
    }
    return dict(emulator.account.store.insert_event(calendar_id, body, imported=True))
