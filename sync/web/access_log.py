"""An access log that never writes a feed's token (SPEC §7: tokens are secrets).

uvicorn's own access log prints the request path, which for a feed holds the token;
the server turns it off and this middleware logs method, redacted path, status and
duration instead, on the ``sync.web.access`` logger.
"""

from __future__ import annotations

import logging
import re
from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RedactedAccessLog", "redact"]

_log = logging.getLogger("sync.web.access")
_FEED_PATH = re.compile(r"^/feeds/[^/]*")


def redact(path: str) -> str:
    """``path`` with any feed token replaced by ``…``."""
    return _FEED_PATH.sub("/feeds/…", path)


class RedactedAccessLog:
    """ASGI middleware: one log line per HTTP request, token-free."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = (perf_counter() - started) * 1000
            path = redact(str(scope.get("path", "")))
            _log.info("%s %s %d %.1fms", scope.get("method", "?"), path, status, elapsed)
