"""Fixtures for the worker: SQLite and PostgreSQL stores, calendars, the emulator, processes.

Worker processes run the real command line against the emulator served from this process
(:mod:`tests.worker.processes`), on a SQLite file or a PostgreSQL schema of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from sync.emulator import EmulatorServer
from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from sync.store.migrate import upgrade
from sync.store.sources import Provider, add_source
from tests.conftest import copy_migrated
from tests.google.conftest import _server, emulator
from tests.store.conftest import (
    POSTGRES_URL,
    _postgres_schema,
    blank_engine,
    engine,
    postgres_unreachable,
)
from tests.worker.processes import GoogleLog, Workers

__all__ = [
    "_server",
    "add_calendars",
    "blank_engine",
    "emulator",
    "engine",
    "google_calendars",
    "postgres_unreachable",
]

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def add_calendars(
    engine: Engine,
    count: int,
    *,
    clinic: str = "default",
    provider: Provider = Provider.GOOGLE,
    prefix: str = "room",
) -> list[int]:
    """Connect ``count`` calendars to ``clinic``; their ids, in order."""
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, clinic).id
        return [
            add_source(
                session,
                clinic_id,
                provider,
                f"{prefix}{number}@{clinic}.example",
                display_name=f"{prefix.title()} {number}",
                time_zone="Europe/London",
                now=NOW,
            ).id
            for number in range(count)
        ]


# Worker processes against the emulator -------------------------------------------------


@pytest.fixture
def google_log(emulator: EmulatorServer) -> Iterator[GoogleLog]:
    """Every call the emulator answers during the test, with its calendar and times."""
    log = GoogleLog(emulator)
    yield log
    log.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    """Start worker subprocesses; any still running at the end is killed."""
    started = Workers(tmp_path, [])
    yield started
    for worker in started:
        worker.kill()


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A migrated SQLite database file."""
    return copy_migrated(migrated_sqlite, tmp_path / "clinic.db")


@pytest.fixture
def postgres(postgres_unreachable: str | None) -> Iterator[tuple[Engine, str]]:
    """A migrated PostgreSQL schema of its own: an engine on it and the URL workers use."""
    if postgres_unreachable:
        pytest.skip(postgres_unreachable)
    for schema_engine in _postgres_schema():
        upgrade(schema_engine)
        with schema_engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        yield schema_engine, f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def google_calendars(
    engine: Engine,
    emulator: EmulatorServer,
    count: int,
    *,
    events: int = 3,
    clinic: str = "default",
) -> list[str]:
    """``count`` calendars in the emulator, each with a few bookings, connected to ``clinic``."""
    ids, soon = [], datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    for number in range(count):
        calendar = emulator.store.insert_calendar(
            {"summary": f"Room {number}", "timeZone": "Europe/London"}
        )
        ids.append(str(calendar["id"]))
        for day in range(events):
            start = soon + timedelta(days=day + 1, hours=number)
            emulator.store.insert_event(
                ids[-1],
                {
                    "summary": f"Consultation {number}-{day}",
                    "start": {"dateTime": start.isoformat()},
                    "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
                },
            )
    _connect(engine, ids, clinic)
    return ids


def _connect(engine: Engine, calendar_ids: list[str], clinic: str = "default") -> None:
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, clinic).id
        for calendar_id in calendar_ids:
            add_source(
                session,
                clinic_id,
                Provider.GOOGLE,
                calendar_id,
                display_name=calendar_id,
                time_zone="Europe/London",
                now=NOW,
            )
