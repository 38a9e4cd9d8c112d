"""``POST /webhooks/google``: only a stored channel with its token makes a calendar due.

Notifications are posted to the real web app on loopback, the way Google (or the emulator)
sends them; each forged one gets the same bare 404 and leaves the store as it was.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from sync.store.channels import PushChannel, add_channel
from sync.store.clinics import get_or_create_clinic
from sync.store.database import session_scope
from sync.store.sources import CalendarSource, record_poll_failure, record_poll_success
from sync.store.tables import PushChannelRow
from sync.web.server import WebServer
from tests.google.conftest import connect
from tests.push.conftest import next_poll, stored_channels

LATER = datetime.now(UTC) + timedelta(hours=1)
TOKEN = secrets.token_urlsafe(32)


@pytest.fixture
def calendar(engine: Engine) -> CalendarSource:
    """A calendar polled a moment ago, next due in an hour, with a channel open."""
    source = connect(engine, "smith@clinic.example")
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        record_poll_success(session, source.id, now=now, next_poll_at=LATER)
        channel = PushChannel(
            channel_id="chan-1",
            resource_id="res-1",
            clinic_id=get_or_create_clinic(session, "default").id,
            source_id=source.id,
            opened_at=now,
            expires_at=now + timedelta(days=7),
            notifications=0,
        )
        add_channel(session, channel, TOKEN)
    return source


def _post(web: WebServer, state: str = "exists", number: int = 2, **changed: str) -> int:
    headers = {"X-Goog-Resource-State": state, "X-Goog-Message-Number": str(number), **changed}
    return _send(web, headers).status_code


def _send(web: WebServer, changed: dict[str, str]) -> httpx.Response:
    """A notification as Google sends it, with ``changed`` headers (empty ones left out)."""
    headers = {
        "X-Goog-Channel-ID": "chan-1",
        "X-Goog-Channel-Token": TOKEN,
        "X-Goog-Resource-ID": "res-1",
        "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/x/events",
        "X-Goog-Resource-State": "exists",
        "X-Goog-Message-Number": "2",
        **changed,
    }
    sent = {name: value for name, value in headers.items() if value}
    return httpx.post(f"{web.url}/webhooks/google", headers=sent, timeout=5)


def test_a_change_makes_the_calendar_due_now(
    web: WebServer, engine: Engine, calendar: CalendarSource
) -> None:
    assert _post(web) == 200
    due = next_poll(engine, calendar.id)
    assert due is not None
    assert due <= datetime.now(UTC)
    assert stored_channels(engine, calendar.id)[0].notifications == 1


def test_not_exists_counts_as_a_change(
    web: WebServer, engine: Engine, calendar: CalendarSource
) -> None:
    assert _post(web, "not_exists") == 200
    assert next_poll(engine, calendar.id) != LATER


def test_the_sync_message_is_acknowledged_and_ignored(
    web: WebServer, engine: Engine, calendar: CalendarSource
) -> None:
    assert _post(web, "sync", number=1) == 200
    assert next_poll(engine, calendar.id) == LATER
    assert stored_channels(engine, calendar.id)[0].notifications == 0


@pytest.mark.parametrize(
    "forged",
    [
        {"X-Goog-Channel-Token": "guessed"},
        {"X-Goog-Channel-Token": TOKEN[:-1]},
        {"X-Goog-Channel-Token": ""},
        {"X-Goog-Channel-ID": "chan-unknown"},
        {"X-Goog-Channel-ID": ""},
        {"X-Goog-Resource-ID": "res-other"},
    ],
    ids=["wrong-token", "truncated-token", "no-token", "unknown-channel", "no-channel", "resource"],
)
def test_a_forged_notification_gets_404_and_triggers_nothing(
    web: WebServer, engine: Engine, calendar: CalendarSource, forged: dict[str, str]
) -> None:
    response = _send(web, forged)
    assert (response.status_code, response.text) == (404, "Not Found\n")
    assert next_poll(engine, calendar.id) == LATER
    assert stored_channels(engine, calendar.id)[0].notifications == 0


def test_repeated_and_out_of_order_messages_are_harmless(
    web: WebServer, engine: Engine, calendar: CalendarSource
) -> None:
    assert [_post(web, number=n) for n in (5, 5, 3, 7)] == [200] * 4
    [channel] = stored_channels(engine, calendar.id)
    assert channel.notifications == 4
    with session_scope(engine) as session:
        row = session.exec(select(PushChannelRow)).one()
        assert row.last_message_number == 7


def test_a_calendar_backing_off_after_failures_keeps_its_backoff(
    web: WebServer, engine: Engine, calendar: CalendarSource
) -> None:
    with session_scope(engine) as session:
        record_poll_failure(
            session, calendar.id, "HTTP 429", now=datetime.now(UTC), next_poll_at=LATER
        )
    assert _post(web) == 200
    assert next_poll(engine, calendar.id) == LATER
