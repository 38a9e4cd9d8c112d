"""Fixtures of the admin UI and API (SPEC §8): the emulator, a real store, a served app, users.

A conflict is seeded the way production makes one: bookings go into the emulator
through the real Google client and the real cycle detects and flags them
(tests/cycle does the same). The app runs under uvicorn on loopback; tests talk to
it with httpx or a real browser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from sync.accounts.service import Actor, create_user, issue_api_token
from sync.bootstrap import Services, booking_reader
from sync.config import Settings
from sync.emulator import EmulatorServer
from sync.sources.google import GoogleCalendarSource
from sync.store.clinics import get_or_create_clinic
from sync.store.conflicts import list_conflicts
from sync.store.database import make_engine, session_scope
from sync.store.users import Role
from sync.usecases.cycle import run_clinic_pass
from sync.web.app import create_app
from sync.web.server import WebServer
from tests.clinics import clinic_profile
from tests.conftest import copy_migrated
from tests.cycle.conftest import (
    PATIENT,
    _server,
    calendars,
    client,
    emulator,
    insert,
    new_calendar,
    retry,
    service,
    sleeps,
    source,
)

__all__ = [
    "_server",
    "calendars",
    "client",
    "emulator",
    "insert",
    "new_calendar",
    "retry",
    "service",
    "sleeps",
    "source",
]

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
PASSWORD = "a long enough password"
ADMIN = "ana.admin@clinic.example"
AUDITOR = "oli.auditor@clinic.example"
HOSTILE = '<script>alert("x")</script> Botox <img src=x onerror=alert(1)> Jane Doe'
Json = dict[str, Any]


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def engine(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Engine]:
    """A migrated SQLite file (the web app and the cycle share it, as in production)."""
    database = make_engine(copy_migrated(migrated_sqlite, tmp_path / "admin.db"))
    yield database
    database.dispose()


@pytest.fixture
def settings(engine: Engine, emulator: EmulatorServer) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=str(engine.url),
        google_api_endpoint=emulator.url,
        google_auth="none",
        google_retry_attempts=1,
        public_url="http://clinic.example",
    )


@pytest.fixture
def services(settings: Settings, engine: Engine, source: GoogleCalendarSource) -> Services:
    profile = clinic_profile(engine)
    return Services(settings, engine, profile, booking_reader(profile), source)


@dataclass
class Accounts:
    admin_token: str
    auditor_token: str


@pytest.fixture
def accounts(engine: Engine) -> Accounts:
    """An admin and an auditor, each with a password and an API token."""
    with session_scope(engine) as session:
        clinic_id = get_or_create_clinic(session, "default").id
        actor = Actor("cli", clinic_id, NOW)
        create_user(session, actor, ADMIN, Role.ADMIN, PASSWORD)
        create_user(session, actor, AUDITOR, Role.AUDITOR, PASSWORD)
        admin = issue_api_token(session, actor, ADMIN).secret
        auditor = issue_api_token(session, actor, AUDITOR).secret
    return Accounts(admin, auditor)


@dataclass
class Seeded:
    public_id: str
    calendar: str
    event_id: str


def seed_conflict(
    services: Services,
    insert: Callable[..., Json],
    calendars: tuple[str, str],
    title: str = "Botox Jane Doe",
) -> Seeded:
    """Microneedling on Dr Smith's calendar, Botox a week later in Room 2: one flagged conflict."""
    smith, room = calendars
    insert(smith, "Microneedling Jane Doe", "2030-01-10T10:00:00+00:00", attendees=PATIENT)
    botox = insert(room, title, "2030-01-17T10:00:00+00:00", attendees=PATIENT)
    # The pass stamps its records on the app's frozen clock, as a worker and the web app
    # share the wall clock: otherwise its records, stamped NOW plus the pass's own time,
    # would sort after what an admin does at NOW.
    run_clinic_pass(services, now=NOW, clock=lambda: NOW)
    with session_scope(services.engine) as session:
        [conflict] = list_conflicts(session, 1)
    return Seeded(conflict.facts.public_id, room, botox["id"])


@pytest.fixture
def seeded(services: Services, insert: Callable[..., Json], calendars: tuple[str, str]) -> Seeded:
    return seed_conflict(services, insert, calendars)


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine, clock=Clock())


@pytest.fixture
def server(app: FastAPI) -> Iterator[WebServer]:
    with WebServer(app) as running:
        yield running


@pytest.fixture
def web(server: WebServer) -> Iterator[httpx.Client]:
    """A cookie-keeping client that does not follow redirects."""
    with httpx.Client(base_url=server.url) as http:
        yield http


def api(server: WebServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found is not None, "the page has a form with a CSRF token"
    return found.group(1)


def sign_in(web: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    form = web.get("/admin/login")
    data = {"email": email, "password": password, "csrf_token": csrf_of(form.text)}
    return web.post("/admin/login", data=data)
