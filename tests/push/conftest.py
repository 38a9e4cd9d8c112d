"""Fixtures for push: the emulator, a real store, and the web app served on loopback.

The emulator posts notifications from its own thread to the webhook of a real uvicorn
:class:`~sync.web.server.WebServer`, over plain http on 127.0.0.1 (``push_allow_http``
stands in for the https a real deployment needs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from sync.config import Settings
from sync.push import PushChannels, PushOptions
from sync.push.options import webhook_address
from sync.sources.google import CalendarClient, RetryPolicy
from sync.sources.google.watch import CalendarWatch
from sync.store.channels import PushChannel, channels_of_source
from sync.store.database import session_scope
from sync.store.sources import get_source
from sync.web.app import create_app
from sync.web.server import WebServer
from tests.google.conftest import (
    _server,
    blank_engine,
    client,
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

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
TTL = timedelta(days=7)
RENEW_BEFORE = timedelta(hours=6)


@pytest.fixture
def web(engine: Engine) -> Iterator[WebServer]:
    """The clinic-sync web app on loopback, on the test's store."""
    settings = Settings(database_url="sqlite://", google_auth="none")
    with WebServer(create_app(settings, engine)) as server:
        yield server


@pytest.fixture
def options(web: WebServer) -> PushOptions:
    return PushOptions(
        address=webhook_address(web.url, allow_http=True),
        ttl=TTL,
        renew_before=RENEW_BEFORE,
        poll_interval=timedelta(minutes=15),
    )


@pytest.fixture
def channels(
    engine: Engine, client: CalendarClient, retry: RetryPolicy, options: PushOptions
) -> PushChannels:
    return PushChannels(engine, CalendarWatch(client, retry), options)


def stored_channels(engine: Engine, source_id: int) -> list[PushChannel]:
    with session_scope(engine) as session:
        return channels_of_source(session, source_id)


def next_poll(engine: Engine, source_id: int) -> datetime | None:
    with session_scope(engine) as session:
        return get_source(session, source_id).next_poll_at


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> float:
    """Seconds until ``check()`` holds; fails the test after ``timeout``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"still not true after {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - start
