"""An ASGI app served by uvicorn on a daemon thread, bound before :meth:`start` returns.

The web app (:class:`sync.web.server.WebServer`) and the Google Calendar emulator
(:class:`sync.emulator.server.EmulatorServer`) both run this way in tests, benchmarks and
the demo: the socket is bound first (port 0 picks a free port), so the caller knows the
address before the first request, and :meth:`ServerThread.start` returns only once the
server accepts connections.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from sync.errors import ConfigError

__all__ = ["ServerThread", "bind"]

_START_TIMEOUT = 10.0


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0 picks a free port); :class:`ConfigError` if taken."""
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY on accepted sockets only
    # when their proto says TCP, and without it Nagle's algorithm meets the client's
    # delayed ACK, holding back every keep-alive answer by ~40 ms.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror or err}") from err
    return sock


class ServerThread:
    """One uvicorn server on a daemon thread."""

    def __init__(self, config: uvicorn.Config, name: str) -> None:
        self._config = config
        self._name = name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> int:
        """Bind ``host:port``, serve, and return the bound port once connections are accepted."""
        sock = bind(host, port)
        bound = int(sock.getsockname()[1])
        self._server = uvicorn.Server(self._config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=self._name, daemon=True
        )
        self._thread.start()
        self._wait_until_started(f"{host}:{bound}")
        return bound

    def stop(self) -> None:
        """Ask the server to exit (the app's shutdown runs) and wait for its thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=_START_TIMEOUT)
        self._server = self._thread = None

    def _wait_until_started(self, address: str) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while self._server is not None and not self._server.started:
            if time.monotonic() > deadline or not (self._thread and self._thread.is_alive()):
                raise RuntimeError(f"{self._name} did not start on {address}")
            time.sleep(0.01)
