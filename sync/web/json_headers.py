"""Headers every JSON answer carries: no MIME sniffing, and no caching of patient data.

The API's answers name patients and their bookings (SPEC §8); a shared cache or the
browser's history must not keep them, and a browser must never take them for HTML.
Answers that chose their own ``Cache-Control`` keep it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["JsonHeaders"]


class JsonHeaders:
    """ASGI middleware: ``nosniff`` and ``no-store`` on ``application/json`` answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("application/json"):
                    headers["X-Content-Type-Options"] = "nosniff"
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, sending)
