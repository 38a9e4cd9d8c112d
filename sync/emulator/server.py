"""Running the emulator: on a background thread for tests, or in the foreground for the CLI.

:class:`EmulatorServer` binds its socket in :meth:`start` (port 0 picks a free port), serves
with uvicorn on a daemon thread and returns once it is listening; nothing starts on import.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import uvicorn

from sync.emulator.app import create_app
from sync.emulator.faults import Fault
from sync.emulator.oauth_clients import OAuthClient
from sync.emulator.seed import Seed, load_seed
from sync.emulator.service import EmulatedAccount
from sync.emulator.store import DEFAULT_OWNER, CalendarStore
from sync.serving import ServerThread

__all__ = ["EmulatorServer", "run_emulator"]

_log = logging.getLogger(__name__)


class EmulatorServer:
    """A Google Calendar API v3 emulator listening on ``host:port`` in a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: Path | Seed | None = None,
        owner: str = DEFAULT_OWNER,
    ) -> None:
        self.host = host
        self.port = port
        loaded = load_seed(seed) if isinstance(seed, Path) else seed
        self.account = EmulatedAccount(loaded, owner)
        self._thread: ServerThread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the client as ``api_endpoint`` (ends with ``/``)."""
        return f"http://{self.host}:{self.port}/"

    @property
    def batch_url(self) -> str:
        """The URL to give ``BatchHttpRequest(batch_uri=...)``."""
        return f"{self.url}batch/calendar/v3"

    @property
    def auth_uri(self) -> str:
        """Google's authorization endpoint, emulated (the consent page)."""
        return f"{self.url}o/oauth2/v2/auth"

    @property
    def token_uri(self) -> str:
        """Google's token endpoint, emulated."""
        return f"{self.url}token"

    @property
    def revoke_uri(self) -> str:
        """Google's revocation endpoint, emulated."""
        return f"{self.url}revoke"

    @property
    def store(self) -> CalendarStore:
        """Direct access to the calendars, e.g. to bulk-load events in tests."""
        return self.account.store

    def start(self) -> Self:
        """Bind, serve on a daemon thread and return once the server accepts connections."""
        self.account.notifier.start()
        self._thread = ServerThread(_config(self.account, "warning"), "emulator-http")
        self.port = self._thread.start(self.host, self.port)
        return self

    def stop(self) -> None:
        """Stop serving and stop delivering push notifications."""
        if self._thread is not None:
            self._thread.stop()
        self._thread = None
        self.account.notifier.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # The admin endpoints, as Python calls -------------------------------------------------

    def inject_fault(self, fault: Fault | dict[str, Any] | None = None, **fields: Any) -> None:
        """Arm a fault: ``inject_fault(status=429, count=1, method="events.list")``."""
        self.account.inject_fault(fault if fault is not None else fields)

    def clear_faults(self) -> None:
        """Disarm every injected fault."""
        self.account.faults.clear()

    def stats(self) -> dict[str, int]:
        """Request counts per API method."""
        return self.account.stats.counts()

    def reset_stats(self) -> None:
        """Start counting requests from zero."""
        self.account.stats.reset()

    def set_access_role(self, calendar_id: str, access_role: str) -> None:
        """Share ``calendar_id`` with the account as ``access_role`` instead."""
        self.account.set_access_role(calendar_id, access_role)

    def expire_sync_tokens(self) -> None:
        """Make every sync token answer 410 fullSyncRequired."""
        self.account.expire_sync_tokens()

    def reset(self) -> None:
        """Back to the seeded state."""
        self.account.reset()

    def add_oauth_client(self, client: OAuthClient | dict[str, Any]) -> OAuthClient:
        """Register an OAuth client (an :class:`OAuthClient` or its JSON form)."""
        registered = client if isinstance(client, OAuthClient) else OAuthClient.from_json(client)
        self.account.oauth.add_client(registered)
        return registered

    def require_auth(self, required: bool = True) -> None:
        """Make every Calendar call need a live access token (or stop needing one)."""
        self.account.oauth.required = required

    def advance_oauth_clock(self, seconds: float) -> None:
        """Move the OAuth clock on, so codes and access tokens expire."""
        self.account.oauth.advance(seconds)

    def remove_app_access(self) -> None:
        """The account removes every app's access, as from its Google Account page."""
        self.account.oauth.revoke_all()


def run_emulator(host: str, port: int, seed: Path | None) -> None:
    """Serve the emulator on ``host:port`` in the foreground until interrupted (Ctrl-C)."""
    account = EmulatedAccount(load_seed(seed) if seed is not None else None)
    account.notifier.start()
    _log.info("Google Calendar emulator on http://%s:%d/ (batch: /batch/calendar/v3)", host, port)
    try:
        config = _config(account, "info")
        config.host, config.port = host, port
        uvicorn.Server(config).run()
    finally:
        account.notifier.stop()


def _config(account: EmulatedAccount, log_level: str) -> uvicorn.Config:
    # log_config=None: uvicorn would otherwise install its own text handlers on start-up,
    # taking its lines (and the web app's, in the same process) out of the JSON stream.
    return uvicorn.Config(
        create_app(account),
        log_level=log_level,
        log_config=None,
        lifespan="off",
        ws="none",
        access_log=False,
    )
