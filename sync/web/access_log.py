"""An access log with a request id and the signed-in user, never a feed's token (SPEC §7).

uvicorn's own access log prints the request path, which for a feed holds the token;
the server turns it off and this middleware logs method, redacted path, status and
duration instead, on the ``sync.web.access`` logger. Each request gets an id — the
``X-Request-ID`` a proxy in front sent, when it looks like one, else a new one — that
is answered in the same header and bound (:func:`sync.logs.bind_request`) to every log
line written while the request runs. The admin area's authentication notes who asked
(:func:`note_user`); the access line carries it as ``user``.
"""

from __future__ import annotations

import logging
import re
import uuid
from time import perf_counter

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.logs import bind_request

__all__ = ["REQUEST_ID_HEADER", "RedactedAccessLog", "note_user", "redact"]

_log = logging.getLogger("sync.web.access")
_FEED_PATH = re.compile(r"^/feeds/[^/]*")
REQUEST_ID_HEADER = "X-Request-ID"
# Only ids that cannot smuggle anything into a log line (or look like a token) are kept.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_USER = "clinic_sync_user"


def redact(path: str) -> str:
    """``path`` with any feed token replaced by ``…``."""
    return _FEED_PATH.sub("/feeds/…", path)


def note_user(request: Request, email: str) -> None:
    """Record who this request is from, for its access log line."""
    setattr(request.state, _USER, email)


def _request_id(scope: Scope) -> str:
    sent = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
    return sent if _SAFE_ID.match(sent) else uuid.uuid4().hex


class RedactedAccessLog:
    """ASGI middleware: one log line per HTTP request, token-free, with its id and user."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500
        request_id = _request_id(scope)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with bind_request(request_id=request_id):
            try:
                await self.app(scope, receive, sending)
            finally:
                self._log(scope, status, started, request_id)

    @staticmethod
    def _log(scope: Scope, status: int, started: float, request_id: str) -> None:
        elapsed = (perf_counter() - started) * 1000
        path = redact(str(scope.get("path", "")))
        user = scope.get("state", {}).get(_USER)
        method = scope.get("method", "?")
        extra = {
            "request_id": request_id,
            "method": method,
            "path": path,
            "status": status,
            "user": user,
        }
        _log.info("%s %s %d %.1fms", method, path, status, elapsed, extra=extra)
