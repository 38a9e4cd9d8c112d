"""A real HTTP server on loopback serving one .ics file that tests change between pulls.

It answers conditional GETs as a well-behaved server does (RFC 9110 §13): ETag and
Last-Modified on every 200, 304 when ``If-None-Match`` matches. ``validators=False``
turns that off (a server that always answers 200), ``status`` forces an error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from sync.sources.icsurl import IcsUrlSource
from tests.loopback import serving

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


@dataclass
class FeedServer:
    """The file being served and the requests that came in."""

    base: str
    body: bytes = b""
    content_type: str = "text/calendar; charset=utf-8"
    validators: bool = True
    status: int = 200
    modified: datetime = NOW
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.base}/clinic.ics"

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'

    def serve(self, *events: str, name: str = "Dr Smith", zone: str = "Europe/London") -> None:
        """Serve a calendar holding ``events`` (VEVENT blocks)."""
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//feed//EN"]
        lines += [f"X-WR-CALNAME:{name}", f"X-WR-TIMEZONE:{zone}", *events, "END:VCALENDAR"]
        self.body = ("\r\n".join(lines) + "\r\n").encode()


def vevent(uid: str, summary: str, start: str, *extra: str) -> str:
    """A VEVENT block; ``start`` is a UTC time like ``20300110T100000Z``."""
    return "\r\n".join(
        [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20291201T000000Z",
            f"DTSTART:{start}",
            "DURATION:PT1H",
            f"SUMMARY:{summary}",
            *extra,
            "END:VEVENT",
        ]
    )


def _handler(feed: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            feed.requests.append(dict(self.headers.items()))
            if feed.status != 200:
                self._answer(feed.status, b"failure", {})
            elif feed.validators and self.headers.get("If-None-Match") == feed.etag:
                self._answer(304, b"", {"ETag": feed.etag})
            else:
                headers = {"Content-Type": feed.content_type}
                if feed.validators:
                    headers |= {
                        "ETag": feed.etag,
                        "Last-Modified": format_datetime(feed.modified, usegmt=True),
                    }
                self._answer(200, feed.body, headers)

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    feeds: list[FeedServer] = []

    def handler(base: str) -> type[BaseHTTPRequestHandler]:
        feeds.append(FeedServer(base=base))
        feeds[0].serve()
        return _handler(feeds[0])

    with serving(handler):
        yield feeds[0]


@pytest.fixture
def ics_source() -> Iterator[IcsUrlSource]:
    source = IcsUrlSource(timeout=5.0, now=lambda: NOW)
    yield source
    source.close()
