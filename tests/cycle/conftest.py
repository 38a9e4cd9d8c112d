"""Fixtures for the heartbeat: the real Google client against the emulator, a real store.

A clinic ("default") has two calendars, Dr Smith's and Room 2, connected in the store.
``services`` wires them like :func:`sync.bootstrap.open_services` does, with a source that
sees a fixed "now" (2030-01-01 12:00 UTC) and retries that never sleep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine

from sync.bootstrap import Services, booking_reader
from sync.config import Settings
from sync.emulator import EmulatorServer
from sync.sources.google import CalendarClient, GoogleCalendarSource, RetryPolicy
from tests.clinics import clinic_profile
from tests.google.conftest import (
    NOW,
    _server,
    blank_engine,
    client,
    connect,
    emulator,
    engine,
    insert,
    new_calendar,
    postgres_unreachable,
    retry,
    service,
    sleeps,
)

__all__ = [
    "NOW",
    "_server",
    "blank_engine",
    "client",
    "emulator",
    "engine",
    "insert",
    "new_calendar",
    "postgres_unreachable",
    "retry",
    "service",
    "sleeps",
]

Json = dict[str, Any]
PATIENT = [{"email": "jane.doe@example.com"}]


def make_services(
    engine: Engine,
    emulator: EmulatorServer,
    source: GoogleCalendarSource,
    clinic: dict[str, Any] | None = None,
    **settings: Any,
) -> Services:
    """Services on ``engine`` and the emulator; ``settings`` override the process defaults,
    ``clinic`` the clinic's own (stored as an admin would set them)."""
    config = Settings(
        database_url=str(engine.url),
        google_api_endpoint=emulator.url,
        google_auth="none",
        public_url="https://clinic.example",
        **settings,
    )
    profile = clinic_profile(engine, **(clinic or {}))
    return Services(config, engine, profile, booking_reader(profile), source)


@pytest.fixture
def source(client: CalendarClient, retry: RetryPolicy) -> GoogleCalendarSource:
    return GoogleCalendarSource(client, retry=retry, now=lambda: NOW)


@pytest.fixture
def calendars(new_calendar: Callable[..., str], engine: Engine) -> tuple[str, str]:
    """Dr Smith's calendar and Room 2, both connected to the clinic."""
    smith, room = new_calendar("Dr Smith", "Europe/London"), new_calendar("Room 2", "Europe/London")
    connect(engine, smith)
    connect(engine, room)
    return smith, room


@pytest.fixture
def services(engine: Engine, emulator: EmulatorServer, source: GoogleCalendarSource) -> Services:
    return make_services(engine, emulator, source)


@pytest.fixture
def dry_services(services: Services) -> Services:
    return replace(services, clinic=clinic_profile(services.engine, dry_run=True))
