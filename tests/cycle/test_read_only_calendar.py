"""A calendar shared read-only with the clinic's Google account, end to end (SPEC §5–§8).

A practitioner shares her calendar with the clinic as *reader*. The clinic connects it
(``calendars add``) and runs ``sync --once``: the conflict is detected and recorded, the
patient's feed lists her eligibility, no write request reaches Google (the emulator's request
counts), and the conflict's page in the admin UI says why the flag is not on the calendar.
Google reports the role in calendarList and every events.list page
(https://developers.google.com/calendar/api/v3/reference/calendarList).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from rules.flag import FLAG_BEGIN, FlagPatch
from sync.accounts.service import Actor, create_user
from sync.cli import app
from sync.config import Settings
from sync.emulator import EmulatorServer
from sync.sources.google import CalendarClient, ClientConfig, GoogleAuth, GoogleCalendarSource
from sync.sources.port import CalendarReadOnly
from sync.store.clinics import get_or_create_clinic
from sync.store.database import make_engine, session_scope
from sync.store.users import Role
from sync.web.app import create_app
from sync.web.server import WebServer
from tests.admin.conftest import ADMIN, PASSWORD, sign_in
from tests.cycle.test_cli import cli

__all__ = ["cli"]

SHARED = "dr-jones@partner-clinic.example"
PATIENT = [{"email": "jane.doe@example.com"}]
# freebusy.query is a read too: the safe date a flag would name is read before the write
# is refused (sync.usecases.flagging).
READ_METHODS = {
    "calendarList.list",
    "calendarList.get",
    "events.list",
    "events.get",
    "freebusy.query",
}


def _booking(event_id: str, summary: str, days: int) -> dict[str, Any]:
    day = (datetime.now(UTC) + timedelta(days=days)).date().isoformat()
    return {
        "id": event_id,
        "summary": summary,
        "start": {"dateTime": f"{day}T10:00:00Z"},
        "end": {"dateTime": f"{day}T11:00:00Z"},
        "attendees": PATIENT,
    }


@pytest.fixture
def reader_calendar(tmp_path: Path) -> Iterator[EmulatorServer]:
    """The emulator with Dr Jones's calendar, which the account may only read."""
    seed = [
        {
            "id": SHARED,
            "summary": "Dr Jones",
            "timeZone": "Europe/London",
            "accessRole": "reader",
            "events": [
                _booking("microneedling01", "Microneedling Jane Doe", 10),
                _booking("botoxbooking01", "Botox Jane Doe", 17),
            ],
        }
    ]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed), encoding="utf-8")
    with EmulatorServer(seed=path) as server:
        yield server


@pytest.fixture
def emulator(reader_calendar: EmulatorServer) -> EmulatorServer:
    """The CLI fixture of tests/cycle/test_cli.py, pointed at the seeded emulator."""
    return reader_calendar


def _run(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_a_reader_calendar_is_watched_and_never_written(
    cli: CliRunner, reader_calendar: EmulatorServer, tmp_path: Path
) -> None:
    """Detected, recorded and in the feed; never written; the admin page says why."""
    assert "added Dr Jones" in _run(cli, "calendars", "add", SHARED)
    reader_calendar.reset_stats()
    _run(cli, "sync", "--once")

    assert set(reader_calendar.stats()) <= READ_METHODS, reader_calendar.stats()
    event = reader_calendar.store.get_event(SHARED, "botoxbooking01")
    assert "description" not in event
    assert "colorId" not in event

    [conflict] = json.loads(_run(cli, "conflicts", "list", "--format", "json"))
    assert (conflict["state"], conflict["gap_days"]) == ("open", 7)
    history = json.loads(_run(cli, "audit-log", "--conflict", conflict["id"], "--format", "json"))
    skipped = [e for e in history if e["action"] == "flag.skipped"]
    assert "reader access" in skipped[0]["detail"]["reason"]

    feed_url = _run(cli, "feeds", "issue", "patient", "email:jane.doe@example.com")
    _run(cli, "sync", "--once")  # a second pass: still nothing written, nothing new recorded
    assert set(reader_calendar.stats()) <= READ_METHODS

    # Plain http, so the admin session cookie travels over the loopback connection.
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{tmp_path}/clinic.db",
        google_api_endpoint=reader_calendar.url,
        google_auth="none",
        public_url="http://clinic.example/",
    )
    _check_web(settings, feed_url, conflict["id"])


def _check_web(settings: Settings, feed_url: str, conflict_id: str) -> None:
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            clinic_id = get_or_create_clinic(session, settings.clinic).id
            actor = Actor("cli", clinic_id, datetime.now(UTC))
            create_user(session, actor, ADMIN, Role.ADMIN, PASSWORD)
        with (
            WebServer(create_app(settings, engine)) as server,
            httpx.Client(base_url=server.url) as web,
        ):
            secret = re.search(r"/feeds/([^/\s]+)\.ics", feed_url)
            assert secret is not None, feed_url
            feed = web.get(f"/feeds/{secret.group(1)}.ics")
            assert feed.status_code == 200
            assert "Eligible for Botox from" in feed.text.replace("\r\n ", "")
            sign_in(web, ADMIN)
            page = web.get(f"/admin/conflicts/{conflict_id}")
            assert page.status_code == 200
            assert "not written by the worker" in page.text  # the history's flag.skipped
            assert "read-only calendar: the connected Google account has reader access" in page.text
    finally:
        engine.dispose()


def test_the_google_source_reports_the_real_access_role_and_refuses_writes_unsent(
    reader_calendar: EmulatorServer,
) -> None:
    client = CalendarClient(ClientConfig(endpoint=reader_calendar.url, auth=GoogleAuth.NONE))
    source = GoogleCalendarSource(client)
    try:
        roles = {c.id: (c.access_role, c.writable) for c in source.list_calendars()}
        assert roles[SHARED] == ("reader", False)
        assert roles["owner@clinic.example"] == ("owner", True)
        reader_calendar.reset_stats()
        patch = FlagPatch(description="x", color_id="11", private={})
        with pytest.raises(CalendarReadOnly, match="reader access"):
            source.write_flag(SHARED, "botoxbooking01", patch, etag='"1"')
        assert reader_calendar.stats() == {}
    finally:
        source.close()


def test_once_the_share_becomes_writer_the_next_pass_writes_the_flag(
    cli: CliRunner, reader_calendar: EmulatorServer
) -> None:
    _run(cli, "calendars", "add", SHARED)
    _run(cli, "sync", "--once")
    reader_calendar.set_access_role(SHARED, "writer")
    reader_calendar.reset_stats()
    _run(cli, "sync", "--once")
    assert reader_calendar.stats().get("events.patch") == 1
    assert FLAG_BEGIN in reader_calendar.store.get_event(SHARED, "botoxbooking01")["description"]
    [conflict] = json.loads(_run(cli, "conflicts", "list", "--format", "json"))
    assert conflict["state"] == "flagged"
