"""Fixtures for notifications: a real SMTP server and a real webhook receiver on loopback.

Conflicts come the real way: bookings inserted in the emulator, a clinic pass with the
real Google client flags them, the audit trail records ``flag.written``. The SMTP server
is aiosmtpd (messages read back as parsed e-mails); the webhook receiver is a small
threaded HTTP server answering the statuses a test queues (200 once the queue is empty).
The clock is the heartbeat's: 2030-01-01 12:00 UTC, the Botox booking on 17 January.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine

from sync.config import Settings
from sync.notify.channel import Channel
from sync.notify.job import NotifyRun, open_channels, run_notifications
from sync.secrets import SecretBox, new_key
from sync.store.database import session_scope
from sync.store.memberships import Role, grant_membership
from sync.store.notifications import NotifyMode, add_webhook, set_preference
from sync.store.users import add_user
from tests.cycle.conftest import (
    NOW,
    PATIENT,
    _server,
    blank_engine,
    calendars,
    client,
    emulator,
    engine,
    insert,
    make_services,
    new_calendar,
    postgres_unreachable,
    retry,
    service,
    services,
    sleeps,
    source,
)
from tests.loopback import serving

__all__ = [
    "NOW",
    "PATIENT",
    "_server",
    "blank_engine",
    "calendars",
    "client",
    "emulator",
    "engine",
    "insert",
    "make_services",
    "new_calendar",
    "postgres_unreachable",
    "retry",
    "service",
    "services",
    "sleeps",
    "source",
]

KEY = new_key()


class Inbox:
    """What the SMTP server received, in order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if any(rcpt.startswith("gone@") for rcpt in envelope.rcpt_tos):
            return "550 5.1.1 mailbox unavailable"
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages sent to ``address``."""
        return [
            m for m, rcpt in zip(self.messages, self.recipients, strict=True) if address in rcpt
        ]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd checks it is up by connecting: no port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@dataclass
class Receiver:
    """A webhook endpoint: the requests it got, and statuses to answer next."""

    url: str = ""
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver()

    def handler(_base: str) -> type[BaseHTTPRequestHandler]:
        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = got.statuses.pop(0) if got.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        return Hook

    with serving(handler) as base:
        got.url = f"{base}/hook"
        yield got


@pytest.fixture
def settings(engine: Engine, smtp: tuple[Inbox, int]) -> Settings:
    return notify_settings(engine, smtp[1])


def notify_settings(engine: Engine, port: int, **overrides: Any) -> Settings:
    """Settings with SMTP on loopback, a secret key, and loopback webhooks allowed."""
    values: dict[str, Any] = {
        "database_url": str(engine.url),
        "public_url": "https://clinic.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": "alerts@clinic.example",
        "secret_key": KEY,
        "notify_allow_http": True,
        "notify_allow_private": True,
        **overrides,
    }
    return Settings(**values)


def add_admin(
    engine: Engine, email: str, clinic_id: int = 1, mode: NotifyMode | None = None
) -> int:
    """A user who is an admin of ``clinic_id``, told as ``mode`` (default: not chosen)."""
    with session_scope(engine) as session:
        user = add_user(session, email, "x", now=NOW)
        grant_membership(session, user.id, clinic_id, Role.ADMIN, now=NOW)
        if mode is not None:
            set_preference(session, user.id, clinic_id, mode, now=NOW)
        return user.id


def add_hook(engine: Engine, url: str, secret: str, clinic_id: int = 1, fmt: str = "json") -> int:
    """A webhook of ``clinic_id`` signing with ``secret``."""
    with session_scope(engine) as session:
        box = SecretBox.from_setting(KEY)
        return add_webhook(session, clinic_id, url, box.encrypt(secret), fmt, now=NOW).id


Notify = Callable[..., NotifyRun]


@pytest.fixture
def notify(engine: Engine, settings: Settings) -> Iterator[Notify]:
    """One notification run at ``now`` (default: the test's fixed now)."""
    with open_channels(engine, settings) as channels:

        def run(
            now: datetime = NOW,
            *,
            using: Settings | None = None,
            wrap: Callable[[dict[str, Channel]], dict[str, Channel]] | None = None,
            owner: str = "worker-a",
            clinic_id: int | None = None,
        ) -> NotifyRun:
            chosen = wrap(dict(channels)) if wrap else channels
            return run_notifications(
                engine, using or settings, now, channels=chosen, owner=owner, clinic_id=clinic_id
            )

        yield run
