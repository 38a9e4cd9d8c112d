"""Running the web app with uvicorn: in the foreground (``clinic-sync serve``) or on a thread.

uvicorn's access log is off in both: it would print each feed URL, token included. The
app's own :mod:`sync.web.access_log` logs requests with the token redacted.
:class:`WebServer` binds in :meth:`~WebServer.start` (port 0 picks a free port) and
returns once the server accepts connections; tests and benchmarks use it.
"""

from __future__ import annotations

import gc
import socket
from types import TracebackType
from typing import Self

import uvicorn
from fastapi import FastAPI

from sync.serving import ServerThread

__all__ = ["WebServer", "run_web", "server_config"]


def server_config(
    app: FastAPI, *, log_level: str = "info", forwarded_allow_ips: str | None = None
) -> uvicorn.Config:
    """uvicorn settings for clinic-sync: no access log (it would print tokens).

    ``log_config=None`` keeps uvicorn from installing its own plain-text handlers: its
    lines propagate to the one handler :func:`sync.logs.configure_logging` sets up.
    ``forwarded_allow_ips`` names the proxies whose X-Forwarded-* headers give the client's
    address (uvicorn's own default, loopback only, when ``None``).
    """
    return uvicorn.Config(
        app,
        log_level=log_level,
        log_config=None,
        access_log=False,
        lifespan="on",
        ws="none",
        server_header=False,
        forwarded_allow_ips=forwarded_allow_ips,
    )


def run_web(app: FastAPI, sock: socket.socket, *, forwarded_allow_ips: str) -> None:
    """Serve ``app`` on the bound ``sock`` (:func:`sync.serving.bind`) until interrupted.

    What start-up made — modules, the app, its routes and services, some 200,000 objects
    the collector tracks — lives as long as the process: it is collected once and frozen
    (:func:`gc.freeze`), so the collector's full passes, which the fetch log's batches
    (promoted before they are written) set off every few seconds under load, scan what
    requests made, not all of that: such a pass held every request of the process for
    about 100 ms.
    """
    config = server_config(app, forwarded_allow_ips=forwarded_allow_ips)
    server = uvicorn.Server(config)
    gc.collect()
    gc.freeze()
    server.run(sockets=[sock])


class WebServer:
    """The app served on a background thread, on loopback by default."""

    def __init__(
        self,
        app: FastAPI,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        forwarded_allow_ips: str | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        config = server_config(app, log_level="warning", forwarded_allow_ips=forwarded_allow_ips)
        self._thread = ServerThread(config, "web-http")

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Bind, serve on a daemon thread, and return once connections are accepted."""
        self.port = self._thread.start(self.host, self.port)
        return self

    def stop(self) -> None:
        """Stop serving (the app's shutdown runs: pending fetches are written)."""
        self._thread.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
