"""A real Radicale server on loopback (a subprocess, storage in a temporary folder).

Every test gets a fresh calendar of its own, so tests never see each other's events.
Radicale runs with ``--auth-type none``: any user name and password sign in.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from caldav.collection import Calendar
from caldav.davclient import DAVClient

from sync.sources.caldav import CalDavSource

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("radicale exited at start-up")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("radicale did not start listening")


@pytest.fixture(scope="session")
def radicale_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a Radicale server that lives for the whole session."""
    storage: Path = tmp_path_factory.mktemp("radicale")
    port = _free_port()
    command = [
        sys.executable, "-m", "radicale",
        "--server-hosts", f"127.0.0.1:{port}",
        "--auth-type", "none",
        "--storage-filesystem-folder", str(storage / "collections"),
        "--logging-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def dav_client(radicale_url: str) -> Iterator[DAVClient]:
    client = DAVClient(url=radicale_url, username="clinic", password="secret", timeout=10)
    yield client
    client.close()


@pytest.fixture
def new_calendar(dav_client: DAVClient) -> Callable[..., Calendar]:
    """Make a calendar as staff would: ``new_calendar("Dr Smith")``."""

    def _make(name: str = "Dr Smith", zone: str | None = "Europe/London") -> Calendar:
        principal = dav_client.principal()
        calendar = principal.make_calendar(name=name, cal_id=uuid.uuid4().hex)
        if zone:
            _set_zone(dav_client, calendar, zone)
        return calendar

    return _make


def _set_zone(client: DAVClient, calendar: Calendar, zone: str) -> None:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:test", "BEGIN:VTIMEZONE"]
    vtimezone = "\n".join([*head, f"TZID:{zone}", "END:VTIMEZONE", "END:VCALENDAR"])
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<d:propertyupdate xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        f"<d:set><d:prop><c:calendar-timezone>{vtimezone}</c:calendar-timezone></d:prop></d:set>"
        "</d:propertyupdate>"
    )
    response = client.proppatch(str(calendar.url), body)
    assert response.status in (200, 207)


@pytest.fixture
def calendar(new_calendar: Callable[..., Calendar]) -> Calendar:
    return new_calendar()


@pytest.fixture(params=["sync-collection", "ctag-etag"])
def caldav_source(request: Any, dav_client: DAVClient) -> CalDavSource:
    """The source, once with RFC 6578 sync tokens and once comparing CTags and ETags."""
    return CalDavSource(
        dav_client, use_sync_collection=request.param == "sync-collection", now=lambda: NOW
    )


def vcalendar(*events: str) -> str:
    return (
        "\r\n".join(
            ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", *events, "END:VCALENDAR"]
        )
        + "\r\n"
    )


def vevent(uid: str, summary: str, start: str, *extra: str) -> str:
    """A VEVENT block; ``start`` is a UTC time like ``20300110T100000Z``."""
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20291201T000000Z", f"DTSTART:{start}"]
    return "\r\n".join([*lines, "DURATION:PT1H", f"SUMMARY:{summary}", *extra, "END:VEVENT"])


def put_event(calendar: Calendar, uid: str, summary: str, start: str, *extra: str) -> Any:
    """Add or replace the resource of ``uid`` as a calendar app would."""
    return calendar.save_event(vcalendar(vevent(uid, summary, start, *extra)))
