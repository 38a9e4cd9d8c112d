"""An admin app that can connect Google for real: the emulator's OAuth client, the callback's port.

Google only sends the browser back to a redirect URI registered on the OAuth client, so
the app's public URL (and the callback under it) must be known before the emulator
registers the client: the port is chosen first and the app served on it. Connecting
goes the way a browser goes: Connect Google, the emulator's consent page (read and
submitted as a form by :func:`tests.emulator.browser.answer_consent`), the callback.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from sync.config import Settings
from sync.emulator import EmulatorServer, OAuthClient
from sync.secrets import new_key
from sync.sources.google.web_oauth import CALLBACK_PATH
from sync.web.app import create_app
from sync.web.server import WebServer
from tests.admin.conftest import Clock, csrf_of
from tests.emulator.browser import Redirect, answer_consent

__all__ = ["Connecting", "back_from_google", "connecting", "start_google", "through_consent"]

CLIENT_ID = "web-clinic.apps.googleusercontent.com"
CLIENT_SECRET = "web-clinic-secret"


@dataclass
class Connecting:
    """The served app, its settings and the emulator behind it."""

    server: WebServer
    settings: Settings
    emulator: EmulatorServer
    engine: Engine
    clock: Clock

    @property
    def url(self) -> str:
        return self.server.url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def connecting(engine: Engine, emulator: EmulatorServer, tmp_path: Path) -> Iterator[Connecting]:
    """The admin app on a known port, with Connect Google pointed at the emulator."""
    port = _free_port()
    public = f"http://127.0.0.1:{port}"
    callback = f"{public}{CALLBACK_PATH}"
    emulator.add_oauth_client(OAuthClient(CLIENT_ID, CLIENT_SECRET, (callback,), "Clinic Sync"))
    secrets_file = tmp_path / "client_secret.json"
    web = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [callback]}
    secrets_file.write_text(json.dumps({"web": web}))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=str(engine.url),
        google_api_endpoint=emulator.url,
        google_auth="oauth",
        google_client_secrets=secrets_file,
        google_oauth_base_url=emulator.url,
        google_retry_attempts=1,
        public_url=public,
        secret_key=new_key(),
    )
    clock = Clock()
    app: FastAPI = create_app(settings, engine, clock=clock)
    with WebServer(app, port=port) as server:
        yield Connecting(server, settings, emulator, engine, clock)


def start_google(web: httpx.Client) -> httpx.Response:
    """Press Connect Google on the Connections page."""
    csrf = csrf_of(web.get("/admin/connect").text)
    return web.post("/admin/connect/google", data={"csrf_token": csrf})


def through_consent(web: httpx.Client, press: str = "Allow") -> Redirect:
    """Connect Google, answer the consent page: where Google sends the browser back."""
    started = start_google(web)
    assert started.status_code == 303, started.text
    with httpx.Client() as google_side:
        return answer_consent(google_side, started.headers["location"], press=press)


def back_from_google(web: httpx.Client, redirect: Redirect) -> httpx.Response:
    """Follow Google's redirect to the callback and on, to the page the app ends on."""
    answer = web.get(redirect.location)
    for _ in range(3):
        if answer.status_code != 303 or answer.headers["location"].startswith("/admin/login"):
            return answer
        answer = web.get(answer.headers["location"])
    return answer
