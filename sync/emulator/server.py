"""Running the emulator: on a background thread for tests, or in the foreground for the CLI.

:class:`EmulatorServer` binds its socket in :meth:`start` (port 0 picks a free port), serves
with uvicorn on a daemon thread and returns once it is listening; nothing starts on import.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import uvicorn

from sync.emulator.app import create_app
from sync.emulator.faults import Fault
from sync.emulator.seed import Seed, load_seed
from sync.emulator.service import EmulatedAccount
from sync.emulator.store import DEFAULT_OWNER, CalendarStore

__all__ = ["EmulatorServer", "run_emulator"]

_log = logging.getLogger(__name__)
_START_TIMEOUT = 10.0


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
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the client as ``api_endpoint`` (ends with ``/``)."""
        return f"http://{self.host}:{self.port}/"

    @property
    def batch_url(self) -> str:
        """The URL to give ``BatchHttpRequest(batch_uri=...)``."""
        return f"{self.url}batch/calendar/v3"

    @property
    def store(self) -> CalendarStore:
        """Direct access to the calendars, e.g. to bulk-load events in tests."""
        return self.account.store

    def start(self) -> Self:
        """Bind, serve on a daemon thread and return once the server accepts connections."""
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.account.notifier.start()
        self._server = uvicorn.Server(_config(self.account, "warning"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="emulator-http", daemon=True
        )
        self._thread.start()
        self._wait_until_started()
        return self

    def stop(self) -> None:
        """Stop serving and stop delivering push notifications."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=_START_TIMEOUT)
        self._server = self._thread = None
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

    def expire_sync_tokens(self) -> None:
        """Make every sync token answer 410 fullSyncRequired."""
        self.account.expire_sync_tokens()

    def reset(self) -> None:
        """Back to the seeded state."""
        self.account.reset()

    def _wait_until_started(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while self._server is not None and not self._server.started:
            if time.monotonic() > deadline or not (self._thread and self._thread.is_alive()):
                raise RuntimeError(f"the emulator did not start on {self.host}:{self.port}")
            time.sleep(0.01)


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
    return uvicorn.Config(
        create_app(account), log_level=log_level, lifespan="off", ws="none", access_log=False
    )
