"""Fixtures for talking to the Calendar emulator with the real google-api-python-client.

``emulator`` is self-contained (a session server, reset before each test) so it can be
lifted into tests/conftest.py as is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httplib2
import pytest
from googleapiclient.discovery import build

from sync.emulator import EmulatorServer


@pytest.fixture(scope="session")
def _emulator_server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def emulator(_emulator_server: EmulatorServer) -> EmulatorServer:
    """A running emulator, reset: no faults, zero counts, only the primary calendar."""
    _emulator_server.reset()
    return _emulator_server


def calendar_client(server: EmulatorServer) -> Any:
    """The real Calendar v3 client pointed at ``server``."""
    return build(
        "calendar",
        "v3",
        http=httplib2.Http(),
        static_discovery=True,
        client_options={"api_endpoint": server.url},
    )


@pytest.fixture
def service(emulator: EmulatorServer) -> Iterator[Any]:
    """The client; its connections are closed afterwards (unclosed sockets warn)."""
    client = calendar_client(emulator)
    yield client
    client.close()


@pytest.fixture
def calendar_id(service: Any) -> str:
    """A fresh calendar in Europe/London."""
    body = {"summary": "Dr Smith", "timeZone": "Europe/London"}
    return str(service.calendars().insert(body=body).execute()["id"])


def timed(start: str, end: str, **fields: Any) -> dict[str, Any]:
    """An event body with UTC dateTimes."""
    return {"start": {"dateTime": start}, "end": {"dateTime": end}, **fields}


@pytest.fixture
def insert(service: Any, calendar_id: str) -> Callable[..., dict[str, Any]]:
    """Insert an event into ``calendar_id``: ``insert(summary="Botox", day=3)``."""

    def _insert(summary: str = "Botox", day: int = 1, **fields: Any) -> dict[str, Any]:
        body = timed(f"2030-01-{day:02d}T10:00:00Z", f"2030-01-{day:02d}T11:00:00Z")
        body.update(summary=summary, **fields)
        return dict(service.events().insert(calendarId=calendar_id, body=body).execute())

    return _insert


@pytest.fixture
def seeded(tmp_path: Any) -> Iterator[Callable[[Any], tuple[EmulatorServer, Any]]]:
    """Start an emulator from seed JSON written to a file, as the CLI reads it."""
    opened: list[tuple[EmulatorServer, Any]] = []

    def _start(data: Any) -> tuple[EmulatorServer, Any]:
        path = tmp_path / f"seed{len(opened)}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        server = EmulatorServer(seed=path).start()
        opened.append((server, calendar_client(server)))
        return opened[-1]

    yield _start
    for server, client in opened:
        client.close()
        server.stop()
