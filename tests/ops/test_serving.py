"""The in-process uvicorn server answers keep-alive requests without Nagle's delay.

Without ``TCP_NODELAY`` on the accepted socket, a response written in two sends (headers,
then body) waits for the client's delayed ACK: about 40 ms per request on Linux.
"""

from __future__ import annotations

import http.client
import statistics
import time

import uvicorn
from starlette.types import Receive, Scope, Send

from sync.serving import ServerThread


async def _two_writes(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "http"
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"6")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"pong\r\n"})


def _round_trips(port: int, count: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    seconds = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", "/")
            assert connection.getresponse().read() == b"pong\r\n"
            seconds.append(time.perf_counter() - started)
    finally:
        connection.close()
    return seconds


def test_keep_alive_requests_are_not_held_back_by_delayed_acks() -> None:
    config = uvicorn.Config(_two_writes, log_level="warning", lifespan="off")
    server = ServerThread(config, "nodelay-test")
    port = server.start("127.0.0.1", 0)
    try:
        seconds = _round_trips(port, 12)[2:]  # the first requests warm the connection up
    finally:
        server.stop()
    # ~44 ms each before TCP_NODELAY was set; well under a millisecond after.
    assert statistics.median(seconds) < 0.015, seconds
