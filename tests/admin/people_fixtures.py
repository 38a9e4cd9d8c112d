"""Fixtures of the people pages: the app with SMTP on a real aiosmtpd server on loopback.

The clock is the test's own (:class:`Clock`), stepped to expire links and waits. Links
are read back from the e-mails that arrived, as a person would follow them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from sync.config import Settings
from sync.web.app import create_app
from sync.web.server import WebServer
from tests.admin.conftest import Clock
from tests.notify.conftest import Inbox

_LINK = re.compile(r"https?://\S+?(/admin/(?:invite|reset)/[\w-]+)")


def people_settings(settings: Settings, port: int | None, **overrides: Any) -> Settings:
    """``settings`` with SMTP on loopback at ``port`` (``None``: no SMTP server)."""
    values: dict[str, Any] = {"smtp_from": "people@clinic.example", "smtp_security": "none"}
    if port is not None:
        values |= {"smtp_host": "127.0.0.1", "smtp_port": port}
    return settings.model_copy(update=values | overrides)


def link_in(mail: EmailMessage) -> str:
    """The path of the one link an account e-mail carries."""
    body = mail.get_body(("plain",))
    assert body is not None
    found = _LINK.findall(body.get_content())
    assert len(found) == 1, body.get_content()
    return str(found[0])


def arrived(inbox: Inbox, address: str, count: int = 1) -> list[EmailMessage]:
    """The messages to ``address`` once ``count`` arrived (a reset is sent after the answer)."""
    deadline = time.monotonic() + 10
    while len(inbox.to(address)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return inbox.to(address)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mail_app(settings: Settings, engine: Engine, smtp: tuple[Inbox, int], clock: Clock) -> FastAPI:
    return create_app(people_settings(settings, smtp[1]), engine, clock=clock)


@pytest.fixture
def inbox(smtp: tuple[Inbox, int]) -> Inbox:
    return smtp[0]


@pytest.fixture
def mail_server(mail_app: FastAPI) -> Iterator[WebServer]:
    with WebServer(mail_app) as running:
        yield running


@pytest.fixture
def browser_client(mail_server: WebServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mail_server.url) as http:
        yield http
