"""Fixtures for operations tests: the heartbeat's (emulator, store, services), worker processes."""

from __future__ import annotations

from tests.cycle.conftest import (
    _server,
    blank_engine,
    calendars,
    client,
    emulator,
    engine,
    insert,
    new_calendar,
    postgres_unreachable,
    retry,
    service,
    services,
    sleeps,
    source,
)
from tests.worker.conftest import sqlite_url, workers

__all__ = [
    "_server",
    "blank_engine",
    "calendars",
    "client",
    "emulator",
    "engine",
    "insert",
    "new_calendar",
    "postgres_unreachable",
    "retry",
    "service",
    "services",
    "sleeps",
    "source",
    "sqlite_url",
    "workers",
]
