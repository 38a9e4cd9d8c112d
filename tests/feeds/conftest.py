"""Fixtures for feeds: a clinic in a real store, a settable clock, the app and its client.

Bookings go in through the store's own repository (``upsert_bookings``), read first as
the sync reads them (categories, patient, identity keys), and bump the clinic's data
version as the pull use case does. ``engine`` (SQLite and
PostgreSQL) comes from tests/store/conftest.py; ``sqlite_engine`` is a migrated SQLite
file for the HTTP tests, which talk to a real uvicorn server on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from rules.model import Attendee, Booking
from rules.vocabulary import Matcher
from sync.clinics.directory import ClinicDirectory
from sync.config import Settings
from sync.feeds.scope import FeedScope, ScopeKind
from sync.feeds.service import FeedOptions, FeedService
from sync.feeds.tokens import issue_token
from sync.policy_file import load_policy
from sync.store.bookings import mark_bookings_deleted, upsert_bookings
from sync.store.clinics import get_or_create_clinic
from sync.store.data_version import bump_data_version
from sync.store.database import make_engine, session_scope
from sync.store.events import StoredEvent
from sync.store.sources import Provider, add_source
from sync.usecases.pull import BookingReader
from sync.web.app import create_app
from sync.web.server import WebServer
from tests.clinics import clinic_profile
from tests.conftest import copy_migrated
from tests.store.conftest import blank_engine, engine, postgres_unreachable

__all__ = ["blank_engine", "engine", "postgres_unreachable"]

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TODAY = START.date()


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class ClinicData:
    """One clinic with two calendars, written through the store's repositories."""

    engine: Engine
    clock: Clock
    clinic_id: int = 0
    slug: str = "rivera"
    sources: dict[str, int] = field(default_factory=dict)

    def setup(self) -> ClinicData:
        with session_scope(self.engine) as session:
            self.clinic_id = get_or_create_clinic(session, self.slug, "Rivera Aesthetics").id
            for name in ("Dr Smith", "Nurse Kim"):
                source = add_source(
                    session,
                    self.clinic_id,
                    Provider.GOOGLE,
                    f"{name.lower().replace(' ', '.')}@clinic.example",
                    display_name=name,
                    time_zone="UTC",
                )
                self.sources[name] = source.id
        return self

    def book(
        self,
        event_id: str,
        day: date | str,
        summary: str,
        *,
        calendar: str = "Dr Smith",
        description: str = "",
        patient_email: str | None = None,
        patient_id: str | None = None,
    ) -> None:
        """Insert or change one booking, stamped with the clock's time."""
        day = date.fromisoformat(day) if isinstance(day, str) else day
        own = f"{calendar.lower().replace(' ', '.')}@clinic.example"
        guests = (Attendee(patient_email, response="accepted"),) if patient_email else ()
        booking = Booking(
            id=event_id,
            uid=f"{event_id}@google.com",
            calendar=calendar,
            day=day,
            summary=summary,
            description=description,
            attendees=guests,
            calendar_email=own,
            organizer_email=own,
            patient_id=patient_id,
        )
        start = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
        event = StoredEvent(booking=booking, start=start, end=start + timedelta(hours=1))
        [event] = _READER.read([event])  # read as a pull reads it: categories, identity keys
        with session_scope(self.engine) as session:
            result = upsert_bookings(session, self.sources[calendar], [event], now=self.clock())
            if result.inserted or result.updated:  # as a pull does (sync.usecases.pull)
                bump_data_version(session, self.clinic_id, self.clock())

    def delete(self, event_id: str, calendar: str = "Dr Smith") -> None:
        with session_scope(self.engine) as session:
            mark_bookings_deleted(session, self.sources[calendar], [event_id], now=self.clock())
            bump_data_version(session, self.clinic_id, self.clock())

    def issue(self, kind: str, value: str = "", label: str | None = None) -> tuple[int, str]:
        """A token for a scope: its id and its secret."""
        with session_scope(self.engine) as session:
            scope = FeedScope(ScopeKind(kind), value)
            issued = issue_token(
                session, self.clinic_id, scope, actor="test", now=self.clock(), label=label
            )
        return issued.token.id, issued.secret


_READER = BookingReader(Matcher(load_policy()))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sqlite_engine(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Engine]:
    """A migrated SQLite database in a temporary file."""
    database = make_engine(copy_migrated(migrated_sqlite, tmp_path / "feeds.db"))
    yield database
    database.dispose()


@pytest.fixture
def clinic(sqlite_engine: Engine, clock: Clock) -> ClinicData:
    return ClinicData(sqlite_engine, clock).setup()


def feed_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"feed_recheck_seconds": 0}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def service_for(data: ClinicData, **clinic: object) -> FeedService:
    """A fresh feed service (empty cache) over the clinic's store, on the shipped policy.

    ``clinic`` sets the clinic's own settings (label mode ``full`` unless given).
    """
    clinic_profile(data.engine, data.slug, **{"feed_patient_label": "full", **clinic})
    directory = ClinicDirectory(data.engine, recheck_seconds=0)
    return FeedService(data.engine, directory, FeedOptions(), clock=data.clock)


@pytest.fixture
def app(clinic: ClinicData) -> FastAPI:
    clinic_profile(clinic.engine, clinic.slug, feed_patient_label="full")
    return create_app(feed_settings(), clinic.engine, clock=clinic.clock)


@pytest.fixture
def server(app: FastAPI) -> Iterator[WebServer]:
    """The app served by uvicorn on a loopback port."""
    with WebServer(app) as running:
        yield running


@pytest.fixture
def client(server: WebServer) -> Iterator[httpx.Client]:
    """A real HTTP client for the served app (no automatic decompression surprises)."""
    with httpx.Client(base_url=server.url, headers={"Accept-Encoding": "identity"}) as http:
        yield http
